"""Select pseudo-labels from a teacher n-best list and write a pseudo-labelled data dir.

Usage::

    python -m espnet_kd.bin.select --nbest_jsonl exp/teacher/nbest_train/nbest.jsonl \\
        --data_dir data/train --method topk:4 --out_dir data/train_topk4 \\
        [--weights {none,softmax}] [--temperature T] [--on_empty {reference,drop}] \\
        [--reference_text text|none] [--source_text text.en] \\
        [--filter_max_wer PCT] [--filter_min_bleu BLEU] [--filter_action {reference,drop}] \\
        [--confidence {none,logp,qe}] [--confidence_min X] [--confidence_keep_fraction F] \\
        [--qe_backward_config C --qe_backward_model M] [--qe_fit_combined W.json | \\
         --qe_combined_weights W.json] [--allow_missing]

Methods (docs/selection.md):

- ``1best``: Seq-KD, the rank-1 hypothesis under the same id;
- ``topk:K``: every hypothesis of rank r <= K as utterance ``U-nb{r}``; with
  ``--weights softmax`` an ``utt2weight`` of softmax(score / T) per utterance;
- ``interp:bleu``, ``interp:chrf``, ``interp:wer``: Seq-Inter, the hypothesis
  closest to the reference (``--reference_text``) by smoothed sentence BLEU or
  chrF (sacrebleu) or by WER (jiwer);
- ``qe:logp``, ``qe:backward``, ``qe:combined``: the hypothesis a reference-free
  quality estimate ranks best (teacher log-prob per token; log P(source | hyp)
  by a backward MT model, source transcript from ``--source_text``; their
  weighted sum, fitted to sentence BLEU with ``--qe_fit_combined`` on data with
  references or loaded with ``--qe_combined_weights``).

Any method can be filtered: ``--filter_max_wer`` / ``--filter_min_bleu`` reject
a label too far from the reference, which is then replaced by the reference or
dropped (``--filter_action``). An empty hypothesis is replaced by the reference
(``--on_empty reference``, the default, when there is one) or dropped
(``--on_empty drop``). Without references (``--reference_text none``, or a data dir
without ``text``: untranscribed audio), the confidence filter stands in:
``--confidence logp`` (the teacher's length-normalised log-prob of the label's
hypothesis) or ``--confidence qe`` (the QE score of a ``qe:*`` method), with
``--confidence_min X`` and/or ``--confidence_keep_fraction F`` (the best F of the
labels of the set), drops the labels below the threshold; it works with references
too. Every replacement and drop is counted in
``OUT_DIR/select_report.json``, with the labels' WER/BLEU against the
references and, for QE methods, the correlation of the QE score with sentence
BLEU, and under ``made_with`` what the labels were made from (the options, the
n-best list's sha256 with its teacher's decoding options and model, the data dir's
fingerprint). The output dir is written atomically (built under a temporary name, then
renamed).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet_kd.nbest.format import NBestFormatError, read_nbest_jsonl
from espnet_kd.select.abs_selector import AbsSelector, SelectorError
from espnet_kd.select.confidence_filter import CONFIDENCE_OPTIONS, ConfidenceFilter
from espnet_kd.select.label_filter import FILTER_ACTIONS, FilteredSelector, LabelFilter
from espnet_kd.select.options import Option
from espnet_kd.select.pseudo_dir import build_pseudo_dir
from espnet_kd.select.registry import build_selector_from_cli, known_methods, selector_cli_options
from espnet_kd.select.report import build_select_report, write_select_report
from espnet_kd.select.runner import SelectionInputError, run_selection
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import InputError, atomic_dir
from espnet_kd.utils.kaldi_dir import TEXT_OPTIONAL, DataDirError, KaldiDataDir
from espnet_kd.utils.lock import locked_out_dir

PROG = "select"
REPORT_NAME = "select_report.json"
HANDLED_FILES = ("wav.scp", "utt2spk", "spk2utt", "segments")
NO_TABLE = "none"


def get_parser() -> argparse.ArgumentParser:
    """The command-line interface (``--name_with_underscores`` or ``--name-with-dashes``)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m espnet_kd.bin.{PROG}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(
        parser,
        [
            ("nbest_jsonl", dict(type=Path, required=True, help="the teacher n-best list")),
            ("data_dir", dict(type=Path, required=True, help="the source data dir")),
            ("method", dict(required=True, help=f"one of: {', '.join(known_methods())}")),
            ("out_dir", dict(type=Path, required=True, help="the pseudo-labelled data dir")),
        ],
    )
    for option in method_options(grouped=False):  # the methods' own options (topk's, on_empty)
        option.add_to(parser)
    add_arguments(
        parser,
        [
            (
                "allow_missing",
                dict(action="store_true", help="drop data dir utts with no n-best entry"),
            ),
            (
                "reference_text",
                dict(
                    default="text",
                    help="the data dir's reference table, or 'none' if the data has no references",
                ),
            ),
            (
                "source_text",
                dict(default=None, help="the data dir's source transcript table (qe:backward)"),
            ),
            ("filter_max_wer", dict(type=float, default=None, help="reject labels above this WER (%%)")),
            (
                "filter_min_bleu",
                dict(type=float, default=None, help="reject labels below this sentence BLEU"),
            ),
            (
                "filter_action",
                dict(
                    choices=FILTER_ACTIONS,
                    default="reference",
                    help="a rejected label: use the reference or drop it",
                ),
            ),
        ],
    )
    for option in CONFIDENCE_OPTIONS:   # the confidence filter's (espnet_kd/select/confidence_filter.py)
        option.add_to(parser)
    for option in method_options(grouped=True):  # the options of option groups (the QE scorers')
        option.add_to(parser)
    return parser


def method_options(grouped: bool) -> List[Option]:
    """The command-line options the registered methods declare: their own (``grouped=False``)
    or those of their option groups (``grouped=True``: the QE scorers' options)."""
    return [option for option, group in selector_cli_options() if (group is not None) == grouped]


def table_name(value: Optional[str]) -> Optional[str]:
    """A ``--*_text`` option's table name (``None`` for ``none`` or unset)."""
    return None if value is None or value == NO_TABLE else value


def build_cli_selector(args: argparse.Namespace) -> AbsSelector:
    """The selector the options describe, wrapped in a filter if thresholds are given."""
    selector = build_selector_from_cli(args.method, given_method_options(args))
    label_filter = LabelFilter(
        max_wer=args.filter_max_wer, min_bleu=args.filter_min_bleu, action=args.filter_action
    )
    return FilteredSelector(selector, label_filter) if label_filter.active else selector


def cli_confidence_filter(args: argparse.Namespace) -> ConfidenceFilter:
    """The confidence filter the options describe (inactive without ``--confidence``)."""
    return ConfidenceFilter.from_cli(args.confidence, args.confidence_min, args.confidence_keep_fraction)


def given_method_options(args: argparse.Namespace) -> Dict[str, object]:
    """The methods' options the user gave, by name (unset ones are left to the method's defaults)."""
    names = [option.name for option, _ in selector_cli_options()]
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def files_not_carried(data_dir: Path) -> List[str]:
    """Files of the source dir that the pseudo-labelled dir does not reproduce."""
    return sorted(
        child.name
        for child in data_dir.iterdir()
        if child.is_file()
        and not child.name.startswith(".")
        and child.name not in HANDLED_FILES
        and not child.name.startswith(("text", "utt2"))
    )


def made_with(args: argparse.Namespace) -> Dict[str, object]:
    """What the selection was made from: every option that changes it, the n-best list's sha256
    (and the teacher's options and model, from the ``summary.json`` beside it) and the data dir's
    fingerprint (the sha256 of its files); recorded in ``select_report.json``."""
    import json

    from espnet_kd.utils.fingerprint import DigestCache, file_sha256, path_digest

    option_names = ("method", *(option.name for option in method_options(grouped=False)), "allow_missing",
                    "reference_text", "source_text", "filter_max_wer", "filter_min_bleu", "filter_action",
                    *(option.name for option in CONFIDENCE_OPTIONS),
                    *(option.name for option in method_options(grouped=True)))
    options = {name: getattr(args, name) for name in option_names}
    options = {name: str(value) if isinstance(value, Path) else value for name, value in options.items()}
    nbest: Dict[str, object] = {"file": str(args.nbest_jsonl), "sha256": file_sha256(args.nbest_jsonl)}
    summary_path = args.nbest_jsonl.parent / "summary.json"
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            nbest.update({key: summary[key] for key in ("options", "model") if key in summary})
        except (OSError, ValueError):
            pass
    data = {"dir": str(args.data_dir), "fingerprint": path_digest(args.data_dir, DigestCache(None))}
    return {"options": options, "nbest": nbest, "data_dir": data}


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the selection; exits with ``ERROR: <message>`` and status 1 on bad input."""
    setup_logging()
    args = get_parser().parse_args(argv)
    with locked_out_dir(args.out_dir):   # one selection at a time per --out_dir (espnet_kd/utils/lock.py)
        run_select(args)


def run_select(args: argparse.Namespace) -> None:
    """The selection of :func:`main`, its options parsed and its --out_dir locked."""
    reference_name = table_name(args.reference_text)
    try:
        if args.out_dir.resolve() == args.data_dir.resolve():
            raise SelectionInputError(f"--out_dir must differ from --data_dir ({args.data_dir})")
        # an unlabeled set has no text; without references, a source transcript may be empty (an ASR 1-best of
        # untranscribed audio: its empty translation is dropped as an empty hypothesis without a reference)
        data_dir = KaldiDataDir.load(args.data_dir, text=TEXT_OPTIONAL, allow_empty_text=reference_name is None)
        nbest = read_nbest_jsonl(args.nbest_jsonl)
        selector = build_cli_selector(args)
        confidence_filter = cli_confidence_filter(args)
        result = run_selection(
            selector,
            nbest,
            data_dir,
            allow_missing=args.allow_missing,
            reference_name=reference_name,
            source_name=table_name(args.source_text),
            confidence_filter=confidence_filter,
        )
        pseudo = build_pseudo_dir(data_dir, result.selections)
        not_carried = files_not_carried(args.data_dir)
        report = build_select_report(
            method={"spec": args.method, **selector.describe(),
                    **({"confidence": confidence_filter.describe()} if confidence_filter.active else {})},
            data_dir=data_dir,
            nbest=nbest,
            result=result,
            reference_name=reference_name,
            sources={"nbest_jsonl": str(args.nbest_jsonl), "data_dir": str(args.data_dir)},
            hypothesis_scores=selector.hypothesis_scores(),
        )
        report["not_carried"] = not_carried
        report["made_with"] = made_with(args)
        with atomic_dir(args.out_dir) as tmp_dir:
            pseudo.write(tmp_dir)
            write_select_report(tmp_dir / REPORT_NAME, report)
    except (SelectorError, SelectionInputError, NBestFormatError, DataDirError, InputError) as error:
        fail(f"{PROG}: {error}")
    counts = report["counts"]
    logging.info(
        "%s: %d of %d utterances -> %d pseudo-labelled utterances in %s",
        args.method,
        counts["source_utts_kept"],
        counts["input_utts"],
        counts["output_utts"],
        args.out_dir,
    )
    for reason, count in report["reasons"].items():
        logging.info("  %s: %d", reason, count)
    if not_carried:
        logging.info("not carried over from %s: %s", args.data_dir, ", ".join(not_carried))
    wer = report["wer"]
    if wer:
        for name, numbers in wer.items():
            if numbers:
                logging.info("  WER %s: %.2f%%", name, 100 * numbers["wer"])
    for name, numbers in (report["scores"] or {}).items():
        if numbers:
            logging.info(
                "  %s: mean sentence BLEU %.2f, corpus BLEU %.2f",
                name,
                numbers["mean_sentence_bleu"],
                numbers["corpus_bleu"],
            )
    if report["confidence"]:
        confidence = report["confidence"]
        logging.info("  confidence %s: threshold %s, kept %d of %d judged labels", confidence["measure"],
                     confidence["threshold"], confidence["kept"], confidence["judged"])
    if report["qe"]:
        for name, numbers in report["qe"]["correlations"].items():
            logging.info(
                "  QE %s vs sentence BLEU: Spearman %s, Pearson %s",
                name,
                numbers["spearman"],
                numbers["pearson"],
            )


if __name__ == "__main__":
    main()

"""Select pseudo-labels from a teacher n-best list and write a pseudo-labelled data dir.

Usage::

    python -m espnet_kd.bin.select --nbest_jsonl exp/teacher/nbest_train/nbest.jsonl \\
        --data_dir data/train --method topk:4 --out_dir data/train_topk4 \\
        [--weights {none,softmax}] [--temperature T] [--on_empty {reference,drop}] \\
        [--allow_missing]

Methods: ``1best`` (Seq-KD: the rank-1 hypothesis under the same id) and
``topk:K`` (every hypothesis of rank r <= K as utterance ``U-nb{r}``; with
``--weights softmax`` an ``utt2weight`` of softmax(score / T) per utterance).
An empty hypothesis is replaced by the reference (``--on_empty reference``,
the default, when there is one) or dropped (``--on_empty drop``); either way it
is counted in ``OUT_DIR/select_report.json``. The output dir is written
atomically (built under a temporary name, then renamed).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet_kd.nbest.format import NBestFormatError, read_nbest_jsonl
from espnet_kd.select.abs_selector import ON_EMPTY_CHOICES, SelectorError
from espnet_kd.select.pseudo_dir import build_pseudo_dir
from espnet_kd.select.registry import build_selector, known_methods
from espnet_kd.select.report import build_select_report, write_select_report
from espnet_kd.select.runner import SelectionInputError, run_selection
from espnet_kd.select.topk import WEIGHT_CHOICES
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import atomic_dir
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir

PROG = "select"
REPORT_NAME = "select_report.json"
HANDLED_FILES = ("wav.scp", "utt2spk", "spk2utt", "segments")


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
            ("weights", dict(choices=WEIGHT_CHOICES, default=None, help="topk: weights")),
            ("temperature", dict(type=float, default=None, help="topk: softmax temperature")),
            (
                "on_empty",
                dict(
                    choices=ON_EMPTY_CHOICES,
                    default="reference",
                    help="an empty hypothesis: use the reference (if any) or drop it",
                ),
            ),
            (
                "allow_missing",
                dict(action="store_true", help="drop data dir utts with no n-best entry"),
            ),
        ],
    )
    return parser


def selector_options(args: argparse.Namespace) -> Dict[str, object]:
    """The selector options the user gave (unset ones are left to the method's defaults)."""
    options: Dict[str, object] = {"on_empty": args.on_empty}
    if args.weights is not None:
        options["weights"] = args.weights
    if args.temperature is not None:
        options["temperature"] = args.temperature
    return options


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


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the selection; exits with ``ERROR: <message>`` and status 1 on bad input."""
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        selector = build_selector(args.method, **selector_options(args))
        if args.out_dir.resolve() == args.data_dir.resolve():
            raise SelectionInputError(f"--out_dir must differ from --data_dir ({args.data_dir})")
        data_dir = KaldiDataDir.load(args.data_dir)
        nbest = read_nbest_jsonl(args.nbest_jsonl)
        result = run_selection(selector, nbest, data_dir, allow_missing=args.allow_missing)
        pseudo = build_pseudo_dir(data_dir, result.selections)
        not_carried = files_not_carried(args.data_dir)
        report = build_select_report(
            method={"spec": args.method, **selector.describe()},
            data_dir=data_dir,
            nbest=nbest,
            result=result,
            sources={"nbest_jsonl": str(args.nbest_jsonl), "data_dir": str(args.data_dir)},
        )
        report["not_carried"] = not_carried
        with atomic_dir(args.out_dir) as tmp_dir:
            pseudo.write(tmp_dir)
            write_select_report(tmp_dir / REPORT_NAME, report)
    except (SelectorError, SelectionInputError, NBestFormatError, DataDirError) as error:
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


if __name__ == "__main__":
    main()

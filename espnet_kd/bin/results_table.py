"""Write the paper-style results table of an ASR compression recipe (RESULTS.md).

Reads ``<model>/config.yaml`` (to count parameters with ESPnet's own model builder),
``<model>/decode_<set>/text`` with the references named in ``decode_<set>/score.json``
(per-utterance word errors, jiwer), and ``<model>/train.log`` (learning curves) for the
teacher and every student; a student given several times (one model dir per seed) is
reported as mean ± sd over its seeds. Writes a Markdown table: model, training labels,
parameters, compression vs the teacher, WER per test set, the relative WER increase over
the teacher and the WER change vs the baseline student, each with a 95 % paired-bootstrap
interval over test utterances pooled over seeds (:mod:`espnet_kd.utils.significance`);
then per-seed scores, the convergence check of every model (validation accuracy over its
last 20 % of epochs, :mod:`espnet_kd.utils.train_log`) and a learning-curve PNG beside
the table.

    python -m espnet_kd.bin.results_table --teacher exp/teacher \
        --student baseline=exp/student_baseline --student baseline=exp/student_baseline_seed1 \
        --student seqkd=exp/student_seqkd --test_sets dev test --kd_methods 1best --out RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet_kd.methods import MethodError, method_label, method_tag, student_methods
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import InputError, atomic_write, read_json, read_yaml_mapping
from espnet_kd.utils.kaldi_dir import DataDirError, read_table
from espnet_kd.utils.significance import (
    PairedDifference,
    SeedSummary,
    paired_bootstrap,
    seed_summary,
    wer_from_statistics,
    wer_statistics,
)
from espnet_kd.utils.results_page import (
    DECODE_PREFIX, add_decode_prefix_option, check_and_plot, convergence_section, decode_dir, parse_model_specs,
)
from espnet_kd.utils.results_warnings import by_name, result_warnings, warnings_section
from espnet_kd.utils.train_log import PlateauCheck
from espnet_kd.utils.unlabeled_rows import unlabeled_comparison

TASK = "asr"


@dataclass
class ModelRow:
    """One row of the table: a model trained at one or more seeds."""

    name: str
    label: str
    model_dirs: List[Path]
    params: int
    # per test set: one (utterances, 2) array of [word errors, reference words] per seed
    stats: Dict[str, List[np.ndarray]]
    num_utts: Dict[str, int]
    seeds: List[Optional[int]] = field(default_factory=list)

    def score_cell(self, test_set: str) -> str:
        """The WER on ``test_set`` as the table prints it."""
        return self.wer(test_set).format()

    def difference_to(self, other: "ModelRow", test_set: str, n_resamples: int) -> PairedDifference:
        """WER minus ``other``'s on ``test_set``, with its paired-bootstrap interval."""
        return paired_bootstrap(self.stats[test_set], other.stats[test_set], wer_from_statistics,
                                n_resamples=n_resamples)

    def wer(self, test_set: str) -> SeedSummary:
        return seed_summary(self.stats[test_set], wer_from_statistics)


def student_labels(kd_methods: List[str]) -> Dict[str, str]:
    """The "training labels" of each row by student name (a method's tag), from :mod:`espnet_kd.methods`.

    Every method that is no selection (``baseline``, ``wordkd``, ``wordkd_ft``, ``wordkd_ctc``) is
    labelled as the table names it; a student whose name is none of those nor the tag of a
    ``--kd_methods`` method is labelled with its name.
    """
    labels = {"teacher": "references"}
    labels.update({student.name: student.labels[TASK] for student in student_methods().values()
                   if TASK in student.tasks})
    labels.update({method_tag(method): method_label(method, TASK) for method in kd_methods})
    return labels


def count_parameters(model_dir: Path) -> int:
    """Trainable parameters of the ESPnet2 ASR model described by ``model_dir/config.yaml``."""
    from espnet2.tasks.asr import ASRTask

    config_path = model_dir / "config.yaml"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found")
    read_yaml_mapping(config_path)  # a one-line error naming the file for one that is not a YAML mapping
    try:
        model, _ = ASRTask.build_model_from_file(config_path, None, "cpu")
    except Exception as error:  # ESPnet raises many types for a config it cannot build
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise InputError(
            f"{config_path}: cannot build an ESPnet ASR model from it ({type(error).__name__}: {first_line})"
        ) from None
    return sum(param.numel() for param in model.parameters())


def read_seed(model_dir: Path) -> Optional[int]:
    """The training seed recorded in ``config.yaml`` (None if absent)."""
    config_path = model_dir / "config.yaml"
    if not config_path.is_file():
        return None
    seed = read_yaml_mapping(config_path).get("seed")
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"{config_path}: seed {seed!r} is not an integer")
    return seed


def read_utterance_stats(model_dir: Path, test_set: str,
                         decode_prefix: str = DECODE_PREFIX) -> Tuple[List[str], np.ndarray]:
    """Utterance ids and per-utterance [word errors, reference words] of one decoding."""
    score_path = decode_dir(model_dir, test_set, decode_prefix) / "score.json"
    if not score_path.is_file():
        raise FileNotFoundError(f"{score_path} not found (run the decoding and scoring stages)")
    score = read_json(score_path)
    if not isinstance(score, dict) or not isinstance(score.get("ref"), str):
        raise InputError(f"{score_path}: not a score_wer score file (it names no 'ref', the references scored against)")
    ref_path = Path(score["ref"])
    hyp_path = decode_dir(model_dir, test_set, decode_prefix) / "text"
    for path in (ref_path, hyp_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (named by {score_path})")
    nlsyms = score.get("nlsyms_removed") or []   # the non-linguistic symbols score_wer removed, if any
    if not isinstance(nlsyms, list) or not all(isinstance(symbol, str) for symbol in nlsyms):
        raise InputError(f"{score_path}: 'nlsyms_removed' is not a list of symbols")
    return wer_statistics(read_table(ref_path, allow_empty_value=True), read_table(hyp_path, allow_empty_value=True),
                          nlsyms)


def load_row(name: str, label: str, model_dirs: List[Path], test_sets: List[str],
             decode_prefix: str = DECODE_PREFIX) -> ModelRow:
    """Scores of every seed's model dir (they must share test sets and parameter counts)."""
    stats: Dict[str, List[np.ndarray]] = {test_set: [] for test_set in test_sets}
    utts_by_set: Dict[str, List[str]] = {}
    params = None
    for model_dir in model_dirs:
        for test_set in test_sets:
            utts, utt_stats = read_utterance_stats(model_dir, test_set, decode_prefix)
            if utts_by_set.setdefault(test_set, utts) != utts:
                raise DataDirError(f"{decode_dir(model_dir, test_set, decode_prefix)}: other utterances than "
                                   f"{model_dirs[0]}")
            stats[test_set].append(utt_stats)
        model_params = count_parameters(model_dir)
        if params is not None and model_params != params:
            raise ValueError(f"{name}: {model_dir} has {model_params} parameters, {model_dirs[0]} {params}")
        params = model_params
    num_utts = {test_set: len(utts) for test_set, utts in utts_by_set.items()}
    return ModelRow(name, label, model_dirs, params or 0, stats, num_utts, [read_seed(d) for d in model_dirs])


def differences(row: ModelRow, teacher: ModelRow, baseline: Optional[ModelRow], test_set: str,
                n_resamples: int) -> Tuple[Optional[PairedDifference], Optional[PairedDifference]]:
    """(relative WER change vs the teacher, WER change vs the baseline) on one test set."""
    vs_teacher = vs_baseline = None
    if row is not teacher:
        vs_teacher = paired_bootstrap(row.stats[test_set], teacher.stats[test_set], wer_from_statistics,
                                      n_resamples=n_resamples, relative=True)
    if baseline is not None and row not in (teacher, baseline):
        vs_baseline = paired_bootstrap(row.stats[test_set], baseline.stats[test_set], wer_from_statistics,
                                       n_resamples=n_resamples)
    return vs_teacher, vs_baseline


def format_table(title: str, rows: List[ModelRow], test_sets: List[str], n_resamples: int = 1000,
                 convergence: Optional[Dict[Path, PlateauCheck]] = None, curves_png: Optional[str] = None,
                 findings: Sequence[str] = (), sections: Sequence[str] = ()) -> str:
    """The Markdown page (teacher first): main table, ``sections`` (lines: the untranscribed-audio
    comparison), per-seed scores, convergence, warnings."""
    teacher, baseline = rows[0], next((row for row in rows if row.name == "baseline"), None)
    last = test_sets[-1]
    header = ["Model", "Labels", "Params", "Compression", "Seeds"] + [f"{s} WER (%)" for s in test_sets]
    header += [f"Δ {last} WER vs teacher, relative [95% CI]"]
    if baseline is not None:
        header += [f"Δ {last} WER vs baseline [95% CI]"]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        vs_teacher, vs_baseline = differences(row, teacher, baseline, last, n_resamples)
        cells = [row.name, row.label, f"{row.params / 1e6:.3f} M", f"{teacher.params / row.params:.1f}×",
                 str(len(row.model_dirs))]
        cells += [row.wer(s).format() for s in test_sets]
        cells += ["—" if vs_teacher is None else vs_teacher.format(digits=1, unit="%", verdict=False)]
        if baseline is not None:
            cells += ["—" if vs_baseline is None else vs_baseline.format()]
        lines.append("| " + " | ".join(cells) + " |")
    sizes = ", ".join(f"{s}: {teacher.num_utts[s]} utterances" for s in test_sets)
    lines += [
        "",
        f"WER scored with jiwer {importlib.metadata.version('jiwer')} over whole sets ({sizes}); "
        "mean ± sample sd over seeds. Compression = teacher parameters / model parameters. "
        f"Intervals: paired bootstrap over the {last} utterances ({n_resamples} resamples, scipy), "
        "every seed's errors pooled; a difference is *resolved* when its interval excludes 0. "
        "The relative change is 100·(WER − teacher WER) / teacher WER.",
    ]
    lines += list(sections)
    if any(len(row.model_dirs) > 1 for row in rows):
        lines += ["", "## Per seed", "", "| Model | Seed | dir | " + " | ".join(f"{s} WER (%)" for s in test_sets) + " |",
                  "|---|---|---|" + "---|" * len(test_sets)]
        for row in rows:
            for index, model_dir in enumerate(row.model_dirs):
                seed = row.seeds[index] if index < len(row.seeds) else None
                wers = [f"{wer_from_statistics(row.stats[s][index].sum(axis=0)):.2f}" for s in test_sets]
                lines.append(f"| {row.name} | {'' if seed is None else seed} | `{model_dir}` | " + " | ".join(wers) + " |")
    lines += convergence_section(rows, convergence or {}, curves_png)
    lines += warnings_section(findings)
    lines += ["", f"Written {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by espnet_kd.bin.results_table.", ""]
    return "\n".join(lines)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("title", dict(default="ASR compression by sequence-level KD")),
        ("teacher", dict(type=Path, required=True)),
        ("student", dict(action="append", default=[],
                         help="NAME=MODEL_DIR (repeatable; a NAME given again is another seed)")),
        ("test_sets", dict(nargs="+", required=True)),
        ("kd_methods", dict(nargs="*", default=[], help="selection methods, to name the students")),
        ("n_resamples", dict(type=int, default=1000, help="bootstrap resamples per interval")),
        ("curves", dict(default="learning_curves.png",
                        help="learning-curve PNG written beside --out ('none': no plot)")),
        ("out", dict(type=Path, required=True)),
    ])
    add_decode_prefix_option(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    if args.n_resamples < 100:
        fail(f"--n_resamples must be at least 100, not {args.n_resamples}")
    try:
        labels = student_labels(args.kd_methods)
    except MethodError as error:
        fail(f"--kd_methods: {error}")
    try:
        students = parse_model_specs(args.student, "--student")
    except ValueError as error:
        fail(str(error))
    if "teacher" in students:
        fail("--student: 'teacher' is the --teacher's name")
    entries: Dict[str, List[Path]] = {"teacher": [args.teacher], **students}
    rows = []
    for name, model_dirs in entries.items():
        try:
            rows.append(load_row(name, labels.get(name, name), model_dirs, args.test_sets, args.decode_prefix))
        except (FileNotFoundError, KeyError, ValueError, DataDirError) as error:
            fail(str(error))
    try:
        sections = unlabeled_comparison(rows, args.test_sets[-1], "WER (%)", args.n_resamples)
    except InputError as error:
        fail(str(error))
    checks, curves_png = check_and_plot(rows, args.out, args.curves, args.title)
    findings = result_warnings(by_name(rows), args.test_sets, checks, decode_prefix=args.decode_prefix,
                               wers={row.name: row.wer(args.test_sets[-1]).mean for row in rows})
    for finding in findings:
        logging.warning("%s", finding)
    table = format_table(args.title, rows, args.test_sets, args.n_resamples, checks, curves_png, findings, sections)
    with atomic_write(args.out) as handle:
        handle.write(table)


if __name__ == "__main__":
    main()

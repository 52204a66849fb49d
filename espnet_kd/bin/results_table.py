"""Write the paper-style results table of an ASR compression recipe (RESULTS.md).

Reads ``<model>/config.yaml`` (to count parameters with ESPnet's own model builder)
and ``<model>/decode_<set>/score.json`` for the teacher and every student; writes a
Markdown table: model, training labels, parameters, compression vs the teacher,
WER per test set, and the change in WER vs the teacher and vs the baseline student.

    python -m espnet_kd.bin.results_table --teacher exp/teacher \
        --student baseline=exp/student_baseline --student seqkd=exp/student_seqkd \
        --test_sets dev test --kd_methods 1best --out RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import atomic_write


@dataclass
class ModelRow:
    """One row of the table."""

    name: str
    label: str
    model_dir: Path
    params: int
    wer: Dict[str, float]
    num_utts: Dict[str, int]


def method_tag(method: str) -> str:
    """The directory-name form of a selection method, as the stage scripts' ``method_tag``."""
    if method == "1best":
        return "seqkd"
    return re.sub(r"[^A-Za-z0-9_]", "_", re.sub(r"[:,=]", "", method))


def method_label(method: str) -> str:
    """A reader's name for a selection method."""
    if method == "1best":
        return "Seq-KD (teacher 1-best)"
    if method.startswith("topk:"):
        return f"Multi-hypothesis Seq-KD (teacher top-{method.split(':', 1)[1].split(',')[0]})"
    if method.startswith("interp:"):
        return f"Seq-Inter ({method.split(':', 1)[1].upper()})"
    if method.startswith("qe:"):
        return f"Seq-Inter with QE ({method.split(':', 1)[1]})"
    return method


def count_parameters(model_dir: Path) -> int:
    """Trainable parameters of the ESPnet2 ASR model described by ``model_dir/config.yaml``."""
    from espnet2.tasks.asr import ASRTask

    model, _ = ASRTask.build_model_from_file(model_dir / "config.yaml", None, "cpu")
    return sum(param.numel() for param in model.parameters())


def read_scores(model_dir: Path, test_sets: List[str]) -> tuple:
    """WER and utterance count per test set from ``decode_<set>/score.json``."""
    wer: Dict[str, float] = {}
    num_utts: Dict[str, int] = {}
    for test_set in test_sets:
        score_path = model_dir / f"decode_{test_set}" / "score.json"
        if not score_path.is_file():
            raise FileNotFoundError(f"{score_path} not found (run the decoding and scoring stages)")
        score = json.loads(score_path.read_text())
        wer[test_set] = float(score["wer"])
        num_utts[test_set] = int(score["num_utts"])
    return wer, num_utts


def format_table(title: str, rows: List[ModelRow], test_sets: List[str]) -> str:
    """The Markdown table (teacher first)."""
    teacher, baseline = rows[0], next((row for row in rows if row.name == "baseline"), None)
    last = test_sets[-1]
    header = ["Model", "Labels", "Params", "Compression"] + [f"{s} WER (%)" for s in test_sets]
    header += [f"Δ {last} WER vs teacher (abs / rel)"]
    if baseline is not None:
        header += [f"Δ {last} WER vs baseline"]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.name, row.label, f"{row.params / 1e6:.3f} M", f"{teacher.params / row.params:.1f}×"]
        cells += [f"{row.wer[s]:.2f}" for s in test_sets]
        delta = row.wer[last] - teacher.wer[last]
        relative = 100.0 * delta / teacher.wer[last] if teacher.wer[last] > 0 else float("nan")
        cells += ["—" if row is teacher else f"{delta:+.2f} / {relative:+.1f}%"]
        if baseline is not None:
            cells += ["—" if row in (teacher, baseline) else f"{row.wer[last] - baseline.wer[last]:+.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    sizes = ", ".join(f"{s}: {teacher.num_utts[s]} utterances" for s in test_sets)
    lines += [
        "",
        f"WER scored with jiwer {importlib.metadata.version('jiwer')} over whole sets ({sizes}). "
        "Compression = teacher parameters / model parameters. "
        f"Written {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by espnet_kd.bin.results_table.",
        "",
    ]
    return "\n".join(lines)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("title", dict(default="ASR compression by sequence-level KD")),
        ("teacher", dict(type=Path, required=True)),
        ("student", dict(action="append", default=[], help="NAME=MODEL_DIR (repeatable)")),
        ("test_sets", dict(nargs="+", required=True)),
        ("kd_methods", dict(nargs="*", default=[], help="selection methods, to name the students")),
        ("out", dict(type=Path, required=True)),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    labels = {"teacher": "references", "baseline": "references"}
    labels.update({method_tag(method): method_label(method) for method in args.kd_methods})
    entries = [("teacher", args.teacher)]
    for spec in args.student:
        if "=" not in spec:
            fail(f"--student expects NAME=MODEL_DIR, got '{spec}'")
        name, model_dir = spec.split("=", 1)
        entries.append((name, Path(model_dir)))
    rows = []
    for name, model_dir in entries:
        try:
            wer, num_utts = read_scores(model_dir, args.test_sets)
        except (FileNotFoundError, KeyError, ValueError) as error:
            fail(str(error))
        rows.append(ModelRow(name, labels.get(name, name), model_dir, count_parameters(model_dir), wer, num_utts))
    table = format_table(args.title, rows, args.test_sets)
    with atomic_write(args.out) as handle:
        handle.write(table)


if __name__ == "__main__":
    main()

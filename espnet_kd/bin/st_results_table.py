"""Write the results table of an ST distillation recipe (RESULTS.md), in the shape of Gaido et al. 2020.

Reads ``<model>/decode_<set>/score.json`` (from ``espnet_kd.bin.score_bleu``) for the MT
teacher (decoded on the transcripts) and every ST student, and each model's
``config.yaml`` to count its parameters with ESPnet's own builder; writes a Markdown
table: one row per method with BLEU and chrF per test set and the change in BLEU vs
the baseline student, the MT teacher's own scores above them, and the sacrebleu
signatures below.

    python -m espnet_kd.bin.st_results_table --teacher exp/mt_teacher \\
        --student baseline=exp/st_baseline --student seqkd=exp/st_seqkd \\
        --test_sets dev test --src_lang en --tgt_lang it --out RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import atomic_write

# method → what its student learned from (the labels of Gaido et al.'s table)
METHOD_LABELS = {
    "baseline": "Baseline (references)",
    "seqkd": "Seq-KD (teacher 1-best)",
    "wordkd": "Word KD",
    "wordkd_ft": "Word KD + fine-tuning",
}


@dataclass
class ResultRow:
    """One model's scores per test set."""

    name: str
    label: str
    params: Optional[int]
    bleu: Dict[str, float]
    chrf: Dict[str, float]
    num_utts: Dict[str, int]
    signatures: Tuple[str, str]


def method_label(method: str) -> str:
    """A reader's name for a method (``interp:bleu`` → ``Seq-Inter (BLEU)``)."""
    if method in METHOD_LABELS:
        return METHOD_LABELS[method]
    if method.startswith("interp:"):
        return f"Seq-Inter ({method.split(':', 1)[1].upper().replace('CHRF', 'chrF')})"
    if method.startswith("qe:"):
        return f"Seq-Inter with QE ({method.split(':', 1)[1]})"
    return method


def read_model_config(model_dir: Path) -> Dict[str, Any]:
    """The ``config.yaml`` ESPnet's trainer wrote in ``model_dir`` (every option it trained with), or {}."""
    config_path = model_dir / "config.yaml"
    if not config_path.is_file():
        return {}
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    return config if isinstance(config, dict) else {}


def kd_settings(model_dir: Path) -> str:
    """`` (λ=…, T=…, top-k)`` for a word-KD student (its ``config.yaml`` has ``kd_lambda``), else ``""``."""
    config = read_model_config(model_dir)
    if "kd_lambda" not in config:
        return ""
    return (f" (λ={float(config['kd_lambda']):g}, T={float(config.get('kd_temperature', 1.0)):g}, "
            f"top-{config.get('kd_topk', '?')})")


def read_translation_scores(model_dir: Path, test_sets: List[str]) -> Tuple[Dict[str, float], Dict[str, float],
                                                                            Dict[str, int], Tuple[str, str]]:
    """BLEU, chrF and utterance count per test set, and the signatures, from ``decode_<set>/score.json``."""
    bleu, chrf, num_utts = {}, {}, {}
    signatures = ("", "")
    for test_set in test_sets:
        path = model_dir / f"decode_{test_set}" / "score.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (run the decoding and scoring stages)")
        try:
            score = json.loads(path.read_text(encoding="utf-8"))
            bleu[test_set], chrf[test_set] = float(score["bleu"]), float(score["chrf"])
            num_utts[test_set] = int(score["num_utts"])
            signatures = (str(score["bleu_signature"]), str(score["chrf_signature"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: not a score_bleu score file ({error})") from None
    return bleu, chrf, num_utts, signatures


def count_parameters(model_dir: Path, task: str) -> Optional[int]:
    """Parameters of the ESPnet2 ``task`` model (``mt`` or ``st``) of ``model_dir/config.yaml``; None if unbuildable."""
    if task == "mt":
        from espnet2.tasks.mt import MTTask as Task
    else:
        from espnet2.tasks.st import STTask as Task
    try:
        model, _ = Task.build_model_from_file(model_dir / "config.yaml", None, "cpu")
    except Exception as error:  # a model type this task cannot build (e.g. a KD wrapper): leave the cell blank
        logging.warning("%s: cannot count parameters with %s (%s)", model_dir, Task.__name__, error)
        return None
    return sum(param.numel() for param in model.parameters())


# Gaido et al. 2020 (MuST-C, their table of KD methods): word KD is the best single method and
# fine-tuning it on the references adds a little; sequence-level methods gain less.
GAIDO_ORDER = ["wordkd_ft", "wordkd", "seqkd", "baseline"]


def ranking_line(students: List[ResultRow], test_set: str) -> str:
    """The students ranked by BLEU on ``test_set``, and where that agrees with Gaido et al.'s order."""
    ranked = sorted(students, key=lambda row: -row.bleu[test_set])
    order = " > ".join(f"{row.name} ({row.bleu[test_set]:.2f})" for row in ranked)
    bleu = {row.name: row.bleu[test_set] for row in students}
    pairs = [(better, worse) for i, better in enumerate(GAIDO_ORDER) for worse in GAIDO_ORDER[i + 1:]
             if better in bleu and worse in bleu]
    line = f"Students by {test_set} BLEU: {order}."
    if pairs:
        kept = [f"{better} > {worse}" for better, worse in pairs if bleu[better] > bleu[worse]]
        broken = [f"{better} ≤ {worse}" for better, worse in pairs if bleu[better] <= bleu[worse]]
        line += (f" Gaido et al. 2020 found {' > '.join(m for m in GAIDO_ORDER if m in bleu)}:"
                 f" {len(kept)} of {len(pairs)} of those pairs hold here"
                 + (f" (not: {', '.join(broken)})." if broken else "."))
    return line


def _params_cell(params: Optional[int]) -> str:
    return "—" if params is None else f"{params / 1e6:.2f} M"


def format_table(title: str, teacher: ResultRow, students: List[ResultRow], test_sets: List[str],
                 src_lang: str, tgt_lang: str) -> str:
    """The Markdown table: the MT teacher, then one row per student, Δ BLEU vs the baseline."""
    baseline = next((row for row in students if row.name == "baseline"), None)
    header = ["Model", "Trained on", "Params"]
    for test_set in test_sets:
        header += [f"{test_set} BLEU", f"{test_set} chrF"]
    if baseline is not None:
        header += [f"Δ {test_set} BLEU vs baseline" for test_set in test_sets]
    lines = [f"# {title}", "", f"Speech translation {src_lang} → {tgt_lang}.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def cells(row: ResultRow, model: str, deltas: bool) -> List[str]:
        out = [model, row.label, _params_cell(row.params)]
        for test_set in test_sets:
            out += [f"{row.bleu[test_set]:.2f}", f"{row.chrf[test_set]:.2f}"]
        if baseline is not None:
            for test_set in test_sets:
                if not deltas or row is baseline:
                    out.append("—")
                else:
                    out.append(f"{row.bleu[test_set] - baseline.bleu[test_set]:+.2f}")
        return out

    teacher_cells = cells(teacher, f"MT teacher ({src_lang} transcripts → {tgt_lang})", deltas=False)
    lines.append("| " + " | ".join(teacher_cells) + " |")
    for row in students:
        lines.append("| " + " | ".join(cells(row, f"ST {row.name}", deltas=True)) + " |")
    sizes = ", ".join(f"{s}: {teacher.num_utts[s]} utterances" for s in test_sets)
    lines += ["", ranking_line(students, test_sets[-1])] if students else []
    lines += [
        "",
        "The MT teacher reads the reference transcripts (an upper bound for the ST students, not a "
        "competitor); every ST student has the same architecture and hears the audio.",
        f"Corpus-level scores with sacrebleu over whole sets ({sizes}); "
        f"BLEU signature `{teacher.signatures[0]}`, chrF signature `{teacher.signatures[1]}`.",
        f"Written {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by espnet_kd.bin.st_results_table.",
        "",
    ]
    return "\n".join(lines)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.st_results_table", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("title", dict(default="Speech translation by knowledge distillation from an MT teacher")),
        ("teacher", dict(type=Path, required=True, help="the MT teacher's dir")),
        ("student", dict(action="append", default=[], help="METHOD=MODEL_DIR (repeatable, table order)")),
        ("test_sets", dict(nargs="+", required=True)),
        ("src_lang", dict(default="en")),
        ("tgt_lang", dict(default="?")),
        ("count_params", dict(choices=("true", "false"), default="true",
                              help="count parameters with ESPnet's builders (imports espnet2)")),
        ("out", dict(type=Path, required=True)),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    entries = []
    for spec in args.student:
        if "=" not in spec:
            fail(f"--student expects METHOD=MODEL_DIR, got '{spec}'")
        method, model_dir = spec.split("=", 1)
        entries.append((method, Path(model_dir)))
    counting = args.count_params == "true"
    rows = []
    for method, model_dir, task in [("teacher", args.teacher, "mt")] + [(m, d, "st") for m, d in entries]:
        try:
            bleu, chrf, num_utts, signatures = read_translation_scores(model_dir, args.test_sets)
        except (FileNotFoundError, ValueError) as error:
            fail(str(error))
        params = count_parameters(model_dir, task) if counting else None
        if method == "teacher":
            label = "references (MT: transcript → translation)"
        else:
            label = method_label(method) + kd_settings(model_dir)
        rows.append(ResultRow(method, label, params, bleu, chrf, num_utts, signatures))
    table = format_table(args.title, rows[0], rows[1:], args.test_sets, args.src_lang, args.tgt_lang)
    with atomic_write(args.out) as handle:
        handle.write(table)


if __name__ == "__main__":
    main()

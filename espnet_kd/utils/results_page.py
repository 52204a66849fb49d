"""Parts shared by the recipes' results pages (``results_table`` for ASR, ``st_results_table`` for ST).

A page's rows are models, each trained at one or more seeds (one model dir per seed);
here: the ``NAME=MODEL_DIR`` options that list them, and the convergence section (each
model dir's plateau check from its ``train.log`` and the learning-curve PNG).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Protocol, Sequence, Tuple

from espnet_kd.utils.train_log import (
    EpochRecord, PlateauCheck, check_plateau, plot_learning_curves, read_curves, unchecked_reason,
)


#: the decode dirs' names: <model>/<prefix><test set> (asr.sh/st.sh --inference_tag T: "decode_T_")
DECODE_PREFIX = "decode_"


def decode_dir(model_dir: Path, test_set: str, prefix: str = DECODE_PREFIX) -> Path:
    """Where a model's decoding of ``test_set`` is: ``<model_dir>/<prefix><test_set>``."""
    return Path(model_dir) / f"{prefix}{test_set}"


def add_decode_prefix_option(parser) -> None:
    """``--decode_prefix`` (the decode dirs' name before the test set) on a results-table parser."""
    parser.add_argument("--decode_prefix", "--decode-prefix", default=DECODE_PREFIX,
                        help="decode dirs are <model>/<prefix><test set> (default: %(default)s; a recipe's "
                             "--inference_tag T: decode_T_)")


class SeededRow(Protocol):
    """What this module reads of a table row."""

    name: str
    model_dirs: List[Path]
    seeds: List[Optional[int]]


def parse_model_specs(specs: Sequence[str], option: str) -> Dict[str, List[Path]]:
    """``NAME=MODEL_DIR`` specs → model dirs per name, in order (a name given again is another seed)."""
    entries: Dict[str, List[Path]] = {}
    for spec in specs:
        if "=" not in spec:
            raise ValueError(f"{option} expects NAME=MODEL_DIR, got '{spec}'")
        name, model_dir = spec.split("=", 1)
        dirs = entries.setdefault(name, [])
        if Path(model_dir) in dirs:
            raise ValueError(f"{option} {spec}: given twice")
        dirs.append(Path(model_dir))
    return entries


def convergence_checks(rows: Sequence[SeededRow]) -> Tuple[Dict[Path, PlateauCheck], Dict[str, List[EpochRecord]]]:
    """Every model dir's plateau check and learning curve (dirs without a usable log are left out)."""
    checks: Dict[Path, PlateauCheck] = {}
    curves: Dict[str, List[EpochRecord]] = {}
    for row in rows:
        for index, model_dir in enumerate(row.model_dirs):
            try:
                records = read_curves(model_dir)
                checks[model_dir] = check_plateau(records)
            except (FileNotFoundError, ValueError):
                continue
            name = row.name if len(row.model_dirs) == 1 else f"{row.name} (seed {row.seeds[index]})"
            curves[name] = records
    return checks, curves


def check_and_plot(rows: Sequence[SeededRow], out: Path, curves_name: str,
                   title: str) -> Tuple[Dict[Path, PlateauCheck], Optional[str]]:
    """Plateau checks and the curves PNG beside ``out``.

    ``curves_name``: the PNG's file name, or ``none`` for no plot. Returns the checks and the
    PNG's name (None when nothing was drawn).
    """
    checks, curves = convergence_checks(rows)   # (a model that has not converged: results_warnings says so)
    if curves_name == "none" or not curves:
        return checks, None
    plot_learning_curves(curves, out.parent / curves_name, title=title)
    return checks, curves_name


def convergence_section(rows: Sequence[SeededRow], checks: Dict[Path, PlateauCheck],
                        curves_png: Optional[str]) -> List[str]:
    """The Markdown lines of the convergence section (none without checks)."""
    if not checks:
        return []
    lines = ["", "## Convergence", "",
             "Converged = validation accuracy rose by at most 0.5 points over the last 20 % of epochs "
             "(best in that window against the epoch before it; from each model's `train.log`).", "",
             "| Model | dir | Epochs | Converged |", "|---|---|---|---|"]
    for row in rows:
        for model_dir in row.model_dirs:
            check = checks.get(model_dir)
            epochs = "—" if check is None else str(check.epochs)
            verdict = f"not checked ({unchecked_reason(model_dir)})" if check is None else check.format()
            lines.append(f"| {row.name} | `{model_dir}` | {epochs} | {verdict} |")
    if curves_png:
        lines += ["", f"Learning curves (validation accuracy and loss per epoch): [{curves_png}]({curves_png})",
                  "", f"![learning curves]({curves_png})"]
    return lines

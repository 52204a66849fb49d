"""What makes a results table mean nothing, found in the recipe's outputs and said under the table.

A table can rank students by differences that mean nothing: hypotheses cut off at the decoding
length limit, pseudo-labels that are truncated teacher hypotheses, models that stopped learning
before they converged (or never started), a teacher too weak to teach. :func:`result_warnings`
looks for each in the files the recipe wrote and returns one line per finding; both results
tables print them in a "Warnings" section and log them, so the stage that writes RESULTS.md
ends with them too.

- decoding: ``<model>/decode_<set>/summary.json`` (written by ``espnet_kd.bin.nbest``): its
  ``not_ended`` hypotheses stopped at the length limit without ``<eos>``;
- pseudo-labels: the model's training text (``config.yaml``) → ``select_report.json`` beside it (or
  beside each part of a combined dir, ``combine_report.json``: a ``+unlabeled`` student's) → the teacher
  n-best list it was selected from → that list's ``summary.json``;
- convergence: the plateau check of :mod:`espnet_kd.utils.train_log`;
- scores (ASR): a teacher above :data:`TEACHER_WER_LIMIT` % WER, a model above 100 % WER (worse
  than producing nothing, which scores 100 %: every reference word deleted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.utils.results_page import DECODE_PREFIX, decode_dir
from espnet_kd.utils.train_log import PlateauCheck, unchecked_reason

TEACHER_WER_LIMIT = 50.0        # % WER above which a teacher's labels teach mostly errors
TRUNCATED_SHARE_LIMIT = 0.01    # a share of hypotheses at the length limit worth a warning
EMPTY_OUTPUT_WER = 100.0        # the WER of producing nothing


def read_summary(path: Path) -> Optional[dict]:
    """A ``summary.json`` as a dict, or None when it is missing or not a JSON object."""
    try:
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def truncated_share(summary: Optional[dict]) -> Optional[Tuple[int, int]]:
    """(hypotheses that stopped at the length limit, hypotheses) of a decoding summary, if it says."""
    if summary is None or not isinstance(summary.get("not_ended"), list) or not summary.get("hypotheses"):
        return None
    return len(summary["not_ended"]), int(summary["hypotheses"])


def resolve(path: str, model_dir: Path) -> Path:
    """A path a recipe output names (relative to the recipe dir, where the stages run)."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    recipe_dir = Path(model_dir).parent.parent   # exp/<model> → the recipe dir
    return recipe_dir / candidate


def training_text_dir(model_dir: Path) -> Optional[Path]:
    """The dir of the ``text`` stream the model trained on (from its ``config.yaml``), if it names one."""
    config_path = Path(model_dir) / "config.yaml"
    if not config_path.is_file():
        return None
    import yaml

    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return None
    for entry in config.get("train_data_path_and_name_and_type") or []:
        if isinstance(entry, (list, tuple)) and len(entry) >= 2 and entry[1] == "text":
            return resolve(str(entry[0]), model_dir).parent
    return None


def label_dirs(text_dir: Path, model_dir: Path) -> List[Path]:
    """The dirs whose ``select_report.json`` describe the labels of ``text_dir``: ``text_dir`` itself, or,
    for a dir that ``espnet_kd.bin.combine_data_dirs`` made (``combine_report.json``), each of its parts."""
    combined = read_summary(text_dir / "combine_report.json")
    if combined is None or not isinstance(combined.get("parts"), list):
        return [text_dir]
    return [resolve(str(part["dir"]), model_dir) for part in combined["parts"]
            if isinstance(part, dict) and part.get("dir")]


def pseudo_label_truncation(model_dir: Path) -> List[Tuple[Path, int, int]]:
    """(a teacher n-best list, its truncated hypotheses, its hypotheses) for each n-best list the model's
    training labels were selected from (a ``select_report.json`` beside its training text, or beside each
    part of a combined dir); empty when it trained on references."""
    text_dir = training_text_dir(model_dir)
    if text_dir is None:
        return []
    found = []
    for label_dir in label_dirs(text_dir, model_dir):
        report = read_summary(label_dir / "select_report.json")
        nbest_file = ((report or {}).get("made_with") or {}).get("nbest", {})
        if not isinstance(nbest_file, dict) or not nbest_file.get("file"):
            continue
        nbest_path = resolve(str(nbest_file["file"]), model_dir)
        share = truncated_share(read_summary(nbest_path.parent / "summary.json"))
        if share is not None:
            found.append((nbest_path, *share))
    return found


def percent(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.0f} %)"


def result_warnings(model_dirs: Mapping[str, Sequence[Path]], test_sets: Sequence[str],
                    checks: Mapping[Path, PlateauCheck], teacher: str = "teacher",
                    wers: Optional[Mapping[str, float]] = None, decode_prefix: str = DECODE_PREFIX) -> List[str]:
    """One line per finding, for the models ``model_dirs`` (row name → its seeds' dirs).

    ``checks``: each model dir's plateau check (a dir without one gets the reason); ``wers``:
    row name → its mean WER (%) on the last test set, for the ASR score checks; ``decode_prefix``: the
    decode dirs are ``<model>/<prefix><test set>``.
    """
    findings: List[str] = []
    for name, dirs in model_dirs.items():
        for model_dir in dirs:
            truncated = []
            for test_set in test_sets:
                share = truncated_share(read_summary(decode_dir(model_dir, test_set, decode_prefix) / "summary.json"))
                if share is not None and share[1] and share[0] / share[1] >= TRUNCATED_SHARE_LIMIT:
                    truncated.append(f"{percent(*share)} {test_set}")
            if truncated:
                findings.append(
                    f"{name} (`{model_dir}`): {', '.join(truncated)} hypotheses stopped at the decoding length "
                    "limit without <eos> (raise maxlenratio in the decode config, or use 0.0: the encoder length)")
            for labels in pseudo_label_truncation(Path(model_dir)):
                if labels[2] and labels[1] / labels[2] >= TRUNCATED_SHARE_LIMIT:
                    findings.append(
                        f"{name} (`{model_dir}`) trained on pseudo-labels from `{labels[0]}`, where "
                        f"{percent(*labels[1:])} teacher hypotheses stopped at the length limit: its labels are "
                        "cut-off sentences")
            check = checks.get(Path(model_dir))
            if check is None:
                findings.append(f"{name} (`{model_dir}`): convergence not checked ({unchecked_reason(model_dir)})")
            elif not check.converged:
                findings.append(f"{name} (`{model_dir}`) has not converged: {check.format().replace('**', '')}")
    for name, wer in (wers or {}).items():
        if name == teacher and wer > TEACHER_WER_LIMIT:
            findings.append(f"the teacher's WER is {wer:.1f} % (over {TEACHER_WER_LIMIT:.0f} %): "
                            "its hypotheses teach mostly errors, and no comparison of students means much")
        elif wer > EMPTY_OUTPUT_WER:
            findings.append(f"{name}: {wer:.1f} % WER is worse than producing nothing ({EMPTY_OUTPUT_WER:.0f} %)")
    return findings


def warnings_section(findings: Sequence[str]) -> List[str]:
    """The Markdown lines of the "Warnings" section (none without findings)."""
    if not findings:
        return []
    return ["", "## Warnings", "", "Read the table with these in mind:", ""] + [f"- {line}" for line in findings]


def by_name(rows: Sequence[object]) -> Dict[str, Sequence[Path]]:
    """Row name → its model dirs, for rows with ``name`` and ``model_dirs``."""
    return {row.name: row.model_dirs for row in rows}  # type: ignore[attr-defined]

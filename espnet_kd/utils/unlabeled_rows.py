"""The results tables' rows for students trained with untranscribed audio (``<method>+unlabeled``).

Such a student (tag ``<base tag>_unl``, :data:`espnet_kd.methods.UNLABELED_TAG_SUFFIX`) trains on a
dir that ``espnet_kd.bin.combine_data_dirs`` made: the training set's pseudo-labels plus those of the
unlabeled sets, described by its ``combine_report.json``. This module finds that report through the
student's ``config.yaml`` (its training text's dir), names the row "… + unlabeled (N utts)"
(N: the unlabeled utterances it trained on, after the confidence filter) and writes the section that
compares each such row with the same method without the unlabeled sets (the row ``<base tag>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Protocol, Sequence

from espnet_kd.methods import UNLABELED_TAG_SUFFIX, MethodError, resolve_method
from espnet_kd.utils.fileio import InputError, read_json
from espnet_kd.utils.results_warnings import training_text_dir
from espnet_kd.utils.significance import PairedDifference

COMBINE_REPORT = "combine_report.json"


class LabelledRow(Protocol):
    """What this module reads of a table row."""

    name: str
    label: str
    model_dirs: List[Path]

    def score_cell(self, test_set: str) -> str:
        """The row's score on ``test_set`` as its table prints it (mean ± sd over seeds)."""

    def difference_to(self, other: "LabelledRow", test_set: str, n_resamples: int) -> PairedDifference:
        """The paired-bootstrap difference of the row's score to ``other``'s on ``test_set``."""


@dataclass(frozen=True)
class UnlabeledShare:
    """What a ``+unlabeled`` student trained on: the labelled part's utterances, and of the unlabeled
    sets the utterances kept as labels and those the teacher decoded."""

    labelled_utts: int
    unlabeled_utts: int
    unlabeled_input_utts: Optional[int]

    def describe(self) -> str:
        """``720 of 800 utts`` (or ``720 utts`` when the input count is not known)."""
        if self.unlabeled_input_utts is None:
            return f"{self.unlabeled_utts} utts"
        return f"{self.unlabeled_utts} of {self.unlabeled_input_utts} utts"


def row_tag(name: str) -> str:
    """The method tag of a row: its name is a tag (the ASR table's ``seqkd_unl``) or a method as
    ``--methods`` spells it (the ST table's ``seqkd+unlabeled``)."""
    try:
        return resolve_method(name).tag
    except MethodError:
        return name


def base_name(name: str) -> Optional[str]:
    """The tag of the same method without unlabeled sets (``seqkd_unl``, ``1best+unlabeled`` → ``seqkd``),
    or None for a row that is not a ``+unlabeled`` student."""
    tag = row_tag(name)
    if tag.endswith(UNLABELED_TAG_SUFFIX) and len(tag) > len(UNLABELED_TAG_SUFFIX):
        return tag[: -len(UNLABELED_TAG_SUFFIX)]
    return None


def unlabeled_share(model_dir: Path) -> UnlabeledShare:
    """What the student of ``model_dir`` trained on, from its training dir's ``combine_report.json``."""
    text_dir = training_text_dir(model_dir)
    if text_dir is None:
        raise InputError(f"{model_dir}/config.yaml: no training text (train_data_path_and_name_and_type)")
    report_path = text_dir / COMBINE_REPORT
    if not report_path.is_file():
        raise InputError(f"{model_dir}: its training dir has no {COMBINE_REPORT} ({report_path}); a +unlabeled "
                         "student trains on a dir that espnet_kd.bin.combine_data_dirs made")
    parts = read_json(report_path).get("parts", [])
    if len(parts) < 2:
        raise InputError(f"{report_path}: fewer than two parts (the training set's labels, then the unlabeled sets')")
    unlabeled = parts[1:]
    inputs = [part.get("selection_input_utts") for part in unlabeled]
    return UnlabeledShare(
        labelled_utts=int(parts[0]["utts"]),
        unlabeled_utts=sum(int(part["utts"]) for part in unlabeled),
        unlabeled_input_utts=None if None in inputs else sum(int(count) for count in inputs),
    )


def label_unlabeled_rows(rows: Sequence[LabelledRow]) -> Dict[str, UnlabeledShare]:
    """Append ``(N utts)`` to the label of every ``+unlabeled`` row (its first seed's training data: all
    seeds share it); returns the shares by row name."""
    shares: Dict[str, UnlabeledShare] = {}
    for row in rows:
        if base_name(row.name) is None:
            continue
        share = unlabeled_share(row.model_dirs[0])
        shares[row.name] = share
        row.label = f"{row.label} ({share.describe()})"
    return shares


def unlabeled_section(rows: Sequence[LabelledRow], shares: Dict[str, UnlabeledShare], test_set: str, metric: str,
                      n_resamples: int) -> List[str]:
    """The Markdown section comparing each ``+unlabeled`` row with its method's row without them (the row
    of tag ``base_name``; none when the table has no ``+unlabeled`` row): ``metric`` on ``test_set``, the
    difference with its paired-bootstrap interval (``n_resamples``)."""
    by_tag = {row_tag(row.name): row for row in rows}
    pairs = [(row, by_tag[base_name(row.name) or ""]) for row in rows
             if row.name in shares and base_name(row.name) in by_tag]
    missing = [row.name for row in rows if row.name in shares and base_name(row.name) not in by_tag]
    if not pairs and not missing:
        return []
    lines = ["", "## Untranscribed audio", "",
             "Each student trained with the teacher's labels of untranscribed audio, against the same method "
             "without it (same teacher, same labelled set; paired bootstrap over the test utterances, seeds "
             "pooled).", "",
             f"| Model | Labels | Labelled utts | Unlabeled utts kept | {test_set} {metric} | without unlabeled | "
             "Δ vs without [95% CI] |", "|---|---|---|---|---|---|---|"]
    for row, base in pairs:
        share = shares[row.name]
        difference = row.difference_to(base, test_set, n_resamples).format()
        lines.append(f"| {row.name} | {row.label} | {share.labelled_utts} | {share.describe()} | "
                     f"{row.score_cell(test_set)} | {base.score_cell(test_set)} | {difference} |")
    if missing:
        lines += ["", f"No row without the unlabeled sets to compare {', '.join(missing)} with "
                      "(train the method without +unlabeled too)."]
    return lines


def unlabeled_comparison(rows: Sequence[LabelledRow], test_set: str, metric: str, n_resamples: int) -> List[str]:
    """Label the ``+unlabeled`` rows (:func:`label_unlabeled_rows`) and return their section
    (:func:`unlabeled_section`); :class:`InputError` when a row's training dir does not say what it held."""
    return unlabeled_section(rows, label_unlabeled_rows(rows), test_set, metric, n_resamples)

"""Apply a selector to every utterance of a data dir."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Counter, Dict, List, Mapping, Sequence

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import AbsSelector, Selected
from espnet_kd.utils.kaldi_dir import KaldiDataDir, c_sorted

REASON_NO_NBEST = "no_nbest_entry"
SHOWN_IDS = 5


class SelectionInputError(ValueError):
    """The n-best list and the data dir do not match."""


@dataclass
class SelectionResult:
    """What a selection run produced.

    ``selections`` are the pseudo-labels in data-dir order; ``missing_utts`` the
    data dir utterances that had no n-best entry (allowed with ``allow_missing``);
    ``reasons`` counts every hypothesis or utterance that was replaced or dropped.
    """

    selections: List[Selected]
    missing_utts: List[str]
    reasons: Counter[str] = field(default_factory=collections.Counter)


def check_nbest_matches(
    nbest_utts: Sequence[str], data_utts: Sequence[str], allow_missing: bool
) -> List[str]:
    """Check n-best utterances against the data dir; return data utts with no n-best entry.

    Raises :class:`SelectionInputError` if the n-best list names an utterance
    the data dir lacks, or (unless ``allow_missing``) if a data dir utterance
    has no n-best entry.
    """
    data_set = set(data_utts)
    nbest_set = set(nbest_utts)
    unknown = c_sorted(nbest_set - data_set)
    if unknown:
        raise SelectionInputError(
            f"{len(unknown)} n-best utterance id(s) are not in the data dir, "
            f"e.g. {unknown[:SHOWN_IDS]}; n-best list and data dir do not match"
        )
    missing = c_sorted(data_set - nbest_set)
    if missing and not allow_missing:
        raise SelectionInputError(
            f"{len(missing)} of {len(data_set)} data dir utterance(s) have no n-best entry, "
            f"e.g. {missing[:SHOWN_IDS]}; pass --allow_missing to drop them"
        )
    return missing


def run_selection(
    selector: AbsSelector,
    nbest: Mapping[str, Sequence[NBestEntry]],
    data_dir: KaldiDataDir,
    allow_missing: bool = False,
    reference_name: str = "text",
) -> SelectionResult:
    """Select pseudo-labels for every utterance of ``data_dir`` from ``nbest``.

    The reference of an utterance is its line in the data dir's
    ``reference_name`` table (``None`` where the dir has no such table).
    """
    missing = check_nbest_matches(list(nbest), data_dir.utt_ids, allow_missing)
    references: Dict[str, str] = data_dir.texts.get(reference_name, {})
    selector.reasons.clear()
    selections: List[Selected] = []
    for utt in data_dir.utt_ids:
        if utt in nbest:
            selections.extend(selector.select(utt, list(nbest[utt]), references.get(utt)))
    reasons = collections.Counter(selector.reasons)
    if missing:
        reasons[REASON_NO_NBEST] += len(missing)
    return SelectionResult(selections=selections, missing_utts=missing, reasons=reasons)

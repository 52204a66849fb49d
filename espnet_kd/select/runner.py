"""Apply a selector to every utterance of a data dir.

The run checks the inputs first: every n-best utterance must be in the data
dir, every data dir utterance must have an n-best entry (unless
``allow_missing``, which drops and counts them), and a method that needs the
reference (``interp:*``, any filter) or the source transcript (``qe:backward``)
must find that table in the data dir; for a set without references (untranscribed
audio, or ``--reference_text none``) the message names the reference-free methods.
Then the selector sees the whole n-best list once
(:meth:`~espnet_kd.select.abs_selector.AbsSelector.prepare`) and each utterance in
data-dir order; last, a confidence filter, if any, judges every label of the set
(:mod:`espnet_kd.select.confidence_filter`).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Counter, Dict, List, Mapping, Optional, Sequence

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import AbsSelector, Selected, SelectionContext
from espnet_kd.select.confidence_filter import (
    REASON_CONFIDENCE_DROPPED,
    ConfidenceFilter,
    apply_confidence_filter,
    check_confidence_available,
    label_confidences,
)
from espnet_kd.select.registry import SELECTOR_CLASSES
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
    ``reasons`` counts every hypothesis or utterance that was replaced or dropped;
    ``confidence`` is the confidence filter's summary (``None``: no filter).
    """

    selections: List[Selected]
    missing_utts: List[str]
    reasons: Counter[str] = field(default_factory=collections.Counter)
    confidence: Optional[Dict[str, object]] = None


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


def reference_free_methods() -> List[str]:
    """The usage of every registered method that needs no reference (``1best``, ``topk:K``, ``qe:...``)."""
    return [cls.usage_text() for cls in SELECTOR_CLASSES.values() if not cls.needs_reference]


def method_name(selector: AbsSelector) -> str:
    """The selector's method for messages (``1best``, ``1best with a filter``)."""
    description = selector.describe()
    return description["method"] + (" with a filter" if "filter" in description else "")


def selection_context(
    selector: AbsSelector,
    data_dir: KaldiDataDir,
    reference_name: Optional[str] = "text",
    source_name: Optional[str] = None,
) -> SelectionContext:
    """The reference and source tables of ``data_dir``, checked against what ``selector`` needs.

    ``reference_name``/``source_name`` name text tables of the data dir
    (``text``, ``text.en``, ...); ``None`` means the data has none. Raises
    :class:`SelectionInputError` if a named table is missing or the method
    needs a table that is not given.
    """
    tables: Dict[str, Optional[Mapping[str, str]]] = {}
    for role, name in (("reference", reference_name), ("source", source_name)):
        if name is not None and name not in data_dir.texts:
            hint = (f"; for a set without references (untranscribed audio) pass --reference_text none and a "
                    f"reference-free method ({', '.join(reference_free_methods())})" if role == "reference" else "")
            raise SelectionInputError(
                f"the data dir has no {role} table {name!r} (its text tables: "
                f"{', '.join(data_dir.texts) or 'none'}){hint}"
            )
        tables[role] = None if name is None else data_dir.texts[name]
    method = method_name(selector)
    if selector.needs_reference and tables["reference"] is None:
        what_needs_it = ("--filter_max_wer/--filter_min_bleu compare each label with its reference (for a "
                         "reference-free filter use --confidence logp or qe)" if "filter" in selector.describe()
                         else "it compares the hypotheses with the reference")
        raise SelectionInputError(
            f"method {method} needs the reference of every utterance, "
            "but the data has no reference table (--reference_text none, or a set without text): the set "
            f"has no references; {what_needs_it}. The reference-free methods: "
            f"{', '.join(reference_free_methods())}"
        )
    if selector.needs_source and tables["source"] is None:
        raise SelectionInputError(
            f"method {method} needs the source transcript of every utterance: "
            "give its table with --source_text (e.g. text.en)"
        )
    return SelectionContext(
        references=tables["reference"],
        sources=tables["source"],
        names={"reference": reference_name, "source": source_name},
    )


def run_selection(
    selector: AbsSelector,
    nbest: Mapping[str, Sequence[NBestEntry]],
    data_dir: KaldiDataDir,
    allow_missing: bool = False,
    reference_name: Optional[str] = "text",
    source_name: Optional[str] = None,
    confidence_filter: Optional[ConfidenceFilter] = None,
) -> SelectionResult:
    """Select pseudo-labels for every utterance of ``data_dir`` from ``nbest``.

    The reference of an utterance is its line in the data dir's
    ``reference_name`` table (``None``: the data has no references), its source
    transcript the line in ``source_name``; see :func:`selection_context`.
    ``confidence_filter`` (if active) then drops the labels below its threshold,
    counted as ``confidence_dropped``.
    """
    missing = check_nbest_matches(list(nbest), data_dir.utt_ids, allow_missing)
    context = selection_context(selector, data_dir, reference_name, source_name)
    confidence_filter = confidence_filter or ConfidenceFilter()
    if confidence_filter.active:
        check_confidence_available(confidence_filter, selector, nbest, method_name(selector))
    references: Mapping[str, str] = context.references or {}
    selector.reasons.clear()
    selector.prepare(nbest, context)
    selections: List[Selected] = []
    for utt in data_dir.utt_ids:
        if utt in nbest:
            selections.extend(selector.select(utt, list(nbest[utt]), references.get(utt)))
    reasons = collections.Counter(selector.reasons)
    if missing:
        reasons[REASON_NO_NBEST] += len(missing)
    summary: Optional[Dict[str, object]] = None
    if confidence_filter.active:
        confidences = label_confidences(selections, confidence_filter, nbest, selector.quality_estimates())
        outcome = apply_confidence_filter(confidence_filter, selections, confidences)
        selections, summary = outcome.kept, outcome.summary
        if outcome.dropped:
            reasons[REASON_CONFIDENCE_DROPPED] += outcome.dropped
    return SelectionResult(selections=selections, missing_utts=missing, reasons=reasons, confidence=summary)

"""Filters usable with any selection method: reject pseudo-labels too far from the reference.

A :class:`LabelFilter` holds thresholds (``max_wer`` in percent, ``min_bleu``
in sacrebleu's 0-100 sentence BLEU) and what to do with a rejected label:
``action="reference"`` trains on the reference instead (same id, same weight),
``action="drop"`` leaves the label out. :class:`FilteredSelector` wraps any
:class:`~espnet_kd.select.abs_selector.AbsSelector`; every label the wrapped
method picks (each of the top K for ``topk:K``) is checked on its own.

Every rejection is counted in the selection report as
``filter_{wer,bleu}_{replaced_by_reference,dropped}``; labels that are already
the reference (an empty hypothesis replaced under ``--on_empty reference``)
pass. Empty hypotheses are handled before the filter by the method's
empty-hypothesis policy (``on_empty``). When labels of an utterance are dropped
and the method gave weights, the remaining labels' weights are rescaled to
keep their sum.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    ORIGIN_REFERENCE,
    REASON_NO_REFERENCE,
    AbsSelector,
    HypothesisKey,
    Selected,
    SelectionContext,
    SelectorError,
    is_empty_text,
)
from espnet_kd.select.sentence_scores import METRICS

FILTER_ACTIONS = ("reference", "drop")


def filter_reason(metric: str, action: str) -> str:
    """The report's name for a label rejected by ``metric`` and handled by ``action``."""
    outcome = "replaced_by_reference" if action == "reference" else "dropped"
    return f"filter_{metric}_{outcome}"


FILTER_DROP_REASONS = tuple(filter_reason(metric, "drop") for metric in ("wer", "bleu"))


@dataclass(frozen=True)
class LabelFilter:
    """Thresholds a pseudo-label must meet against its reference, and what to do if it does not."""

    max_wer: Optional[float] = None
    min_bleu: Optional[float] = None
    action: str = "reference"

    def __post_init__(self) -> None:
        if self.action not in FILTER_ACTIONS:
            raise SelectorError(
                f"filter action must be one of {', '.join(FILTER_ACTIONS)}, got {self.action!r}"
            )
        if self.max_wer is not None and self.max_wer < 0:
            raise SelectorError(f"filter max_wer must be >= 0 (percent), got {self.max_wer}")
        if self.min_bleu is not None and not 0 <= self.min_bleu <= 100:
            raise SelectorError(f"filter min_bleu must be in [0, 100], got {self.min_bleu}")

    @property
    def active(self) -> bool:
        """Whether any threshold is set."""
        return self.max_wer is not None or self.min_bleu is not None

    def thresholds(self) -> Dict[str, float]:
        """The thresholds set, by metric name (``wer``, ``bleu``)."""
        values = {"wer": self.max_wer, "bleu": self.min_bleu}
        return {name: value for name, value in values.items() if value is not None}

    def rejected_by(self, text: str, reference: str) -> Optional[str]:
        """The first metric whose threshold ``text`` misses, or ``None`` if it passes all."""
        for name, threshold in self.thresholds().items():
            metric = METRICS[name]
            if not metric.passes(metric(text, reference), threshold):
                return name
        return None

    def describe(self) -> dict:
        return {"max_wer": self.max_wer, "min_bleu": self.min_bleu, "action": self.action}


def rescale_weights(picks: List[Selected], total: float) -> List[Selected]:
    """``picks`` with weights scaled to sum to ``total`` (unchanged if they have none)."""
    current = sum(pick.weight or 0.0 for pick in picks)
    if not picks or picks[0].weight is None or current <= 0:
        return picks
    return [dataclasses.replace(pick, weight=pick.weight * total / current) for pick in picks]


class FilteredSelector(AbsSelector):
    """Any selector, with its picks checked against the reference by a :class:`LabelFilter`."""

    needs_reference = True

    def __init__(self, inner: AbsSelector, label_filter: LabelFilter) -> None:
        super().__init__(on_empty=inner.on_empty)
        if not label_filter.active:
            raise SelectorError("a filter needs max_wer or min_bleu")
        self.inner = inner
        self.label_filter = label_filter
        self.method = inner.method  # type: ignore[misc]
        self.usage = inner.usage  # type: ignore[misc]
        self.needs_source = inner.needs_source
        self.has_quality_estimates = inner.has_quality_estimates
        self.reasons = inner.reasons

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "FilteredSelector":
        raise SelectorError("a filter wraps a selector: use FilteredSelector(selector, filter)")

    def describe(self) -> dict:
        description = self.inner.describe()
        description["filter"] = self.label_filter.describe()
        return description

    def prepare(
        self, nbest: Mapping[str, Sequence[NBestEntry]], context: SelectionContext
    ) -> None:
        self.inner.prepare(nbest, context)

    def hypothesis_scores(self) -> Dict[str, Dict[HypothesisKey, float]]:
        return self.inner.hypothesis_scores()

    def quality_estimates(self) -> Optional[Dict[HypothesisKey, float]]:
        return self.inner.quality_estimates()

    def choose(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        """The wrapped method's choice (:meth:`select` is overridden: the filter checks the
        wrapped method's finished labels)."""
        return self.inner.choose(utt, hyps, reference)

    def select(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        picks = self.inner.select(utt, hyps, reference)
        if not picks:
            return []
        if reference is None or is_empty_text(reference):
            self.reasons[REASON_NO_REFERENCE] += 1
            return []
        kept: List[Selected] = []
        for pick in picks:
            rejected = (
                None
                if pick.origin == ORIGIN_REFERENCE
                else self.label_filter.rejected_by(pick.text, reference)
            )
            if rejected is None:
                kept.append(pick)
                continue
            self.reasons[filter_reason(rejected, self.label_filter.action)] += 1
            if self.label_filter.action == "reference":
                kept.append(dataclasses.replace(pick, text=reference.strip(), origin=ORIGIN_REFERENCE))
        if len(kept) < len(picks):
            kept = rescale_weights(kept, sum(pick.weight or 0.0 for pick in picks))
        return kept

"""Confidence filter: drop the pseudo-labels the teacher is least sure of, without references.

For untranscribed audio there is no reference to check a label against (the
reference-based filters of :mod:`espnet_kd.select.label_filter` need one); the
teacher's own confidence in the hypothesis a label came from stands in for it.
A :class:`ConfidenceFilter` runs after selection, over every label of the set at
once, with any method; each label is judged by its own hypothesis (each of the
top K for ``topk:K``). Its confidence (:data:`CONFIDENCE_MEASURES`) is

- ``logp``: the teacher's length-normalised log-prob of the hypothesis, the value
  ``qe:logp`` ranks by (:func:`espnet_kd.select.qe.logp.length_normalised_logp`);
  an n-best list without log-probs (ESPnet's stock decoder) is refused;
- ``qe``: the QE score a ``qe:*`` method computed for the hypothesis (what it chose
  by, :meth:`~espnet_kd.select.abs_selector.AbsSelector.quality_estimates`); another
  method is refused.

A label is kept when its confidence is at least the threshold and dropped otherwise
(counted as ``confidence_dropped``; there is no reference to fall back on). The
threshold is ``min_value`` (``--confidence_min``), or, with ``keep_fraction`` F
(``--confidence_keep_fraction``, 0 < F <= 1), the confidence of the ``ceil(F * n)``-th
best of the n judged labels (at least one), or the larger of the two when both are
given. Ties at the threshold are all kept, so the filter is a plain threshold and
does not depend on the order of the labels (deterministic; with ties it keeps a
little more than F). A NaN confidence is never kept. Labels that are the reference
(an empty hypothesis replaced under ``--on_empty reference``, a label the WER/BLEU
filter replaced) are not the teacher's and are kept unjudged. Where labels of an
utterance are dropped and the method gave weights, the remaining labels' weights are
rescaled to keep their sum (as the reference-based filter does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    ORIGIN_REFERENCE,
    AbsSelector,
    HypothesisKey,
    Selected,
    SelectorError,
)
from espnet_kd.select.label_filter import rescale_weights
from espnet_kd.select.options import Option
from espnet_kd.select.qe.logp import length_normalised_logp
from espnet_kd.select.registry import SELECTOR_CLASSES

MEASURE_LOGP = "logp"
MEASURE_QE = "qe"
CONFIDENCE_MEASURES = (MEASURE_LOGP, MEASURE_QE)
NO_CONFIDENCE = "none"
REASON_CONFIDENCE_DROPPED = "confidence_dropped"
FRACTION_DIGITS = 9   # F * n is rounded to this many decimals before its ceiling (0.7 * 10 is 7, not 8)


def optional_number(value: str) -> Optional[float]:
    """A command-line number, or ``None`` for ``none`` or an empty value (so a script can pass its default)."""
    if value.strip().lower() in ("", NO_CONFIDENCE):
        return None
    return float(value)


CONFIDENCE_OPTIONS: Tuple[Option, ...] = (
    Option("confidence", choices=(NO_CONFIDENCE, *CONFIDENCE_MEASURES), default=NO_CONFIDENCE,
           help="drop the labels the teacher is least sure of, by logp (its length-normalised log-prob) "
                "or qe (the qe:* method's QE score); none: no confidence filter"),
    Option("confidence_min", type=optional_number,
           help="--confidence: drop labels whose confidence is below this value"),
    Option("confidence_keep_fraction", type=optional_number,
           help="--confidence: keep the best fraction F (0 < F <= 1) of the labels, by confidence, over the set "
                "(ties at the threshold kept)"),
)
"""The command-line options of the filter (declared once: ``espnet_kd.bin.select`` adds them)."""


@dataclass(frozen=True)
class ConfidenceFilter:
    """Which confidence to judge labels by (``measure``; ``None``: no filter) and the thresholds."""

    measure: Optional[str] = None
    min_value: Optional[float] = None
    keep_fraction: Optional[float] = None

    def __post_init__(self) -> None:
        if self.measure not in (None, *CONFIDENCE_MEASURES):
            raise SelectorError(f"--confidence must be one of {', '.join((NO_CONFIDENCE, *CONFIDENCE_MEASURES))}, "
                                f"got {self.measure!r}")
        thresholds = self.min_value is not None or self.keep_fraction is not None
        if self.measure is None and thresholds:
            raise SelectorError("--confidence_min and --confidence_keep_fraction need --confidence "
                                f"({' or '.join(CONFIDENCE_MEASURES)}): the confidence to judge labels by")
        if self.measure is not None and not thresholds:
            raise SelectorError(f"--confidence {self.measure} needs --confidence_min X and/or "
                                "--confidence_keep_fraction F")
        if self.min_value is not None and math.isnan(self.min_value):
            raise SelectorError("--confidence_min must be a number, got nan")
        if self.keep_fraction is not None and not 0 < self.keep_fraction <= 1:
            raise SelectorError(f"--confidence_keep_fraction must be in (0, 1], got {self.keep_fraction}")

    @classmethod
    def from_cli(cls, measure: Optional[str], min_value: Optional[float],
                 keep_fraction: Optional[float]) -> "ConfidenceFilter":
        """The filter of the command-line values (``measure`` ``none``: no filter)."""
        return cls(None if measure in (None, NO_CONFIDENCE) else measure, min_value, keep_fraction)

    @property
    def active(self) -> bool:
        """Whether labels are judged at all."""
        return self.measure is not None

    def describe(self) -> Dict[str, object]:
        """The filter as recorded in the selection report's ``method``."""
        return {"measure": self.measure, "min": self.min_value, "keep_fraction": self.keep_fraction}


def methods_with_quality_estimates() -> List[str]:
    """The usage of every registered method that computes a QE score (``qe:{logp,backward,combined}``)."""
    return [cls.usage_text() for cls in SELECTOR_CLASSES.values() if cls.has_quality_estimates]


def check_confidence_available(confidence_filter: ConfidenceFilter, selector: AbsSelector,
                               nbest: Mapping[str, Sequence[NBestEntry]], method: str) -> None:
    """Raise :class:`SelectorError` before any work if the filter's confidence cannot be had:
    ``qe`` for a method without QE scores, ``logp`` for an n-best list without log-probs."""
    if confidence_filter.measure == MEASURE_QE and not selector.has_quality_estimates:
        raise SelectorError(
            f"--confidence qe needs the QE score of a method that computes one "
            f"({', '.join(methods_with_quality_estimates())}); method {method} has none: use "
            "--confidence logp (the teacher's log-prob) or a qe:* method"
        )
    if confidence_filter.measure == MEASURE_LOGP:
        for hyps in nbest.values():
            for hyp in hyps:
                length_normalised_logp(hyp, needed_by="--confidence logp")


def label_confidences(labels: Sequence[Selected], confidence_filter: ConfidenceFilter,
                      nbest: Mapping[str, Sequence[NBestEntry]],
                      quality_estimates: Optional[Mapping[HypothesisKey, float]]) -> List[Optional[float]]:
    """The confidence (the filter's measure) of each label's hypothesis (``None``: a label that is the
    reference, not judged); ``quality_estimates``: the method's, for ``qe``."""
    entries = {(hyp.utt, hyp.rank): hyp for hyps in nbest.values() for hyp in hyps}
    confidences: List[Optional[float]] = []
    for label in labels:
        if label.origin == ORIGIN_REFERENCE or label.rank is None:
            confidences.append(None)
            continue
        key = (label.source_utt, label.rank)
        if confidence_filter.measure == MEASURE_LOGP:
            confidences.append(length_normalised_logp(entries[key], needed_by="--confidence logp"))
        elif quality_estimates is None or key not in quality_estimates:
            raise SelectorError(f"--confidence qe: utt {label.source_utt} rank {label.rank} has no QE score")
        else:
            confidences.append(float(quality_estimates[key]))
    return confidences


def keep_count(judged: int, keep_fraction: float) -> int:
    """How many of ``judged`` labels the best fraction ``keep_fraction`` is: ``ceil(F * n)``, at least 1."""
    if judged == 0:
        return 0
    return max(1, math.ceil(round(keep_fraction * judged, FRACTION_DIGITS)))


def fraction_threshold(values: Sequence[float], count: int) -> Optional[float]:
    """The ``count``-th best of ``values`` (NaN left out: the worst one there is if fewer); ``None`` if none."""
    ordered = sorted((value for value in values if not math.isnan(value)), reverse=True)
    if not ordered or count < 1:
        return None
    return ordered[min(count, len(ordered)) - 1]


@dataclass(frozen=True)
class ConfidenceOutcome:
    """What the filter kept: the labels, how many it dropped and the report's ``confidence`` block."""

    kept: List[Selected]
    dropped: int
    summary: Dict[str, object]


def applied_threshold(confidence_filter: ConfidenceFilter, judged: Sequence[float]) -> Optional[float]:
    """The threshold a judged label must reach: ``min_value``, the ``keep_fraction`` one, or the larger
    of both; ``None`` when the fraction has none (every judged label NaN, or none judged)."""
    parts: List[Optional[float]] = []
    if confidence_filter.min_value is not None:
        parts.append(confidence_filter.min_value)
    if confidence_filter.keep_fraction is not None:
        parts.append(fraction_threshold(judged, keep_count(len(judged), confidence_filter.keep_fraction)))
    if not parts or any(part is None for part in parts):
        return None
    return max(part for part in parts if part is not None)


def apply_confidence_filter(confidence_filter: ConfidenceFilter, labels: Sequence[Selected],
                            confidences: Sequence[Optional[float]]) -> ConfidenceOutcome:
    """Keep the labels whose confidence reaches the threshold (see the module doc), in their order.

    ``confidences`` holds one value per label (``None``: not judged, kept). The summary records
    the threshold applied and the labels in, judged, kept and dropped.
    """
    judged = [value for value in confidences if value is not None]
    threshold = applied_threshold(confidence_filter, judged)
    by_utt: Dict[str, List[Tuple[Selected, bool]]] = {}   # in the labels' order (dicts keep it)
    for label, value in zip(labels, confidences):
        passes = value is None or (threshold is not None and not math.isnan(value) and value >= threshold)
        by_utt.setdefault(label.source_utt, []).append((label, passes))
    kept: List[Selected] = []
    for utt_labels in by_utt.values():
        utt_kept = [label for label, passes in utt_labels if passes]
        if len(utt_kept) < len(utt_labels):
            utt_kept = rescale_weights(utt_kept, sum(label.weight or 0.0 for label, _ in utt_labels))
        kept.extend(utt_kept)
    dropped = len(labels) - len(kept)
    summary: Dict[str, object] = {
        **confidence_filter.describe(),
        "threshold": threshold,
        "labels": len(labels),
        "judged": len(judged),
        "kept": len(judged) - dropped,
        "dropped": dropped,
    }
    return ConfidenceOutcome(kept=kept, dropped=dropped, summary=summary)

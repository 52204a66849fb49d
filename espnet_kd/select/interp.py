"""``interp:bleu``, ``interp:chrf``, ``interp:wer``: Seq-Inter (Kim & Rush 2016).

Of an utterance's teacher hypotheses, keep the one closest to the reference:
the highest smoothed sentence BLEU or chrF (sacrebleu), or the lowest WER
(jiwer); see :mod:`espnet_kd.select.sentence_scores`. Ties go to the better
teacher rank. The pick keeps the utterance's own id. The method needs the
reference of every utterance; an utterance without one is dropped and counted
as ``no_reference`` (the command line stops before that if the data dir has no
reference table at all).

An empty pick (possible only if every hypothesis is as far from the reference
as the empty one) goes through the empty-hypothesis policy like any other.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    REASON_NO_REFERENCE,
    AbsSelector,
    Selected,
    SelectorError,
    is_empty_text,
)
from espnet_kd.select.registry import register_selector
from espnet_kd.select.sentence_scores import METRICS, SentenceMetric

# the results tables' spelling of each metric, by task (the ASR table has always printed CHRF)
METRIC_LABELS = {"asr": {"chrf": "CHRF"}, "st": {"chrf": "chrF"}}


def closest_hypothesis(
    hyps: Sequence[NBestEntry], reference: str, metric: SentenceMetric
) -> NBestEntry:
    """The hypothesis with the best ``metric`` against ``reference`` (the lower rank on ties)."""
    best: Optional[NBestEntry] = None
    best_value = 0.0
    for hyp in sorted(hyps, key=lambda entry: entry.rank):
        value = metric(hyp.text, reference)
        if best is None or metric.better(value, best_value):
            best, best_value = hyp, value
    if best is None:
        raise SelectorError("closest_hypothesis needs at least one hypothesis")
    return best


def check_metric(metric: str) -> None:
    """Raise :class:`SelectorError` unless ``metric`` names a sentence metric."""
    if metric not in METRICS:
        raise SelectorError(
            f"interp needs a metric, one of {', '.join(METRICS)}, e.g. 'interp:wer', "
            f"got 'interp:{metric}'"
        )


@register_selector
class InterpSelector(AbsSelector):
    """Keeps the hypothesis closest to the reference under one sentence metric."""

    method = "interp"
    usage = "interp:{bleu,chrf,wer}"
    needs_reference = True

    def __init__(self, metric: str, on_empty: str = "reference") -> None:
        super().__init__(on_empty=on_empty)
        check_metric(metric)
        self.metric = METRICS[metric]

    @classmethod
    def check_argument(cls, argument: Optional[str]) -> None:
        check_metric(argument or "")

    @classmethod
    def label(cls, argument: Optional[str], task: str) -> str:
        metric = argument or ""
        return f"Seq-Inter ({METRIC_LABELS.get(task, {}).get(metric, metric.upper())})"

    @classmethod
    def tasks(cls, argument: Optional[str]) -> Tuple[str, ...]:
        # WER compares transcripts: the ASR recipe's choice; translations are compared by BLEU or chrF
        return ("asr",) if argument == "wer" else ("asr", "st")

    @classmethod
    def listed_arguments(cls, task: str) -> List[Optional[str]]:
        return [metric for metric in METRICS if task in cls.tasks(metric)]

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "InterpSelector":
        return cls(argument or "", **options)  # type: ignore[arg-type]

    def describe(self) -> dict:
        description = super().describe()
        description["metric"] = self.metric.name
        return description

    def choose(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        if reference is None or is_empty_text(reference):
            self.reasons[REASON_NO_REFERENCE] += 1
            return []
        best = closest_hypothesis(hyps, reference, self.metric)
        return [Selected(utt=utt, text=best.text, source_utt=utt, rank=best.rank)]

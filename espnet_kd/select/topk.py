"""``topk:K``: multi-hypothesis sequence-level KD (Mun'im, Inoue & Shinoda 2019).

Every hypothesis of rank ``r <= K`` becomes its own training utterance
``U-nb{r}`` reusing the audio of utterance ``U``. With ``weights="softmax"``
each gets the weight ``exp(s_r / T) / sum_j exp(s_j / T)`` over the teacher
scores ``s`` of the hypotheses of ``U`` that end up in the output (after the
empty-hypothesis policy; a hypothesis replaced by the reference keeps its
score), with temperature ``T``; the weights of one utterance sum to 1. A NaN or ``+inf``
score (which would make every weight of its utterance NaN) is refused, naming the
utterance and rank; ``-inf`` gets weight 0.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    REASON_NO_HYPOTHESES,
    AbsSelector,
    Selected,
    SelectorError,
)
from espnet_kd.select.options import Option
from espnet_kd.select.registry import register_selector

WEIGHT_CHOICES = ("none", "softmax")


def topk_utt_id(utt: str, rank: int) -> str:
    """The id of the pseudo-labelled copy of ``utt`` holding its rank-``rank`` hypothesis."""
    return f"{utt}-nb{rank}"


def softmax_weights(scores: Sequence[float], temperature: float = 1.0) -> List[float]:
    """``exp(s_i / T) / sum_j exp(s_j / T)``, computed stably; uniform if every score is -inf."""
    if temperature <= 0:
        raise SelectorError(f"temperature must be > 0, got {temperature}")
    if not scores:
        return []
    top = max(scores)
    if math.isinf(top) and top < 0:
        return [1.0 / len(scores)] * len(scores)
    exps = [math.exp((score - top) / temperature) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


def parse_k(argument: Optional[str]) -> int:
    """K of ``topk:K``; a missing, non-integer or smaller-than-1 K raises :class:`SelectorError`."""
    try:
        k = int(argument) if argument is not None else None
    except ValueError:
        k = None
    if k is None:
        raise SelectorError(
            "method topk needs a number of hypotheses, e.g. 'topk:4', "
            f"got 'topk:{argument or ''}'"
        )
    if k < 1:
        raise SelectorError(f"topk:K needs K >= 1, got {k}")
    return k


@register_selector
class TopKSelector(AbsSelector):
    """Keeps every hypothesis of rank <= K as utterance ``U-nb{rank}``."""

    method = "topk"
    usage = "topk:K"
    options = (
        Option("weights", help="topk: weights", choices=WEIGHT_CHOICES),
        Option("temperature", help="topk: softmax temperature", type=float),
    )

    def __init__(
        self,
        k: int,
        weights: str = "none",
        temperature: float = 1.0,
        on_empty: str = "reference",
    ) -> None:
        super().__init__(on_empty=on_empty)
        if k < 1:
            raise SelectorError(f"topk:K needs K >= 1, got {k}")
        if weights not in WEIGHT_CHOICES:
            raise SelectorError(
                f"weights must be one of {', '.join(WEIGHT_CHOICES)}, got {weights!r}"
            )
        if temperature <= 0:
            raise SelectorError(f"temperature must be > 0, got {temperature}")
        self.k = k
        self.weights = weights
        self.temperature = float(temperature)

    @classmethod
    def check_argument(cls, argument: Optional[str]) -> None:
        parse_k(argument)

    @classmethod
    def label(cls, argument: Optional[str], task: str) -> str:
        return f"Multi-hypothesis Seq-KD (teacher top-{argument})"

    @classmethod
    def tasks(cls, argument: Optional[str]) -> Tuple[str, ...]:
        return ("asr",)  # the ST recipe trains on one label per utterance

    @classmethod
    def listed_arguments(cls, task: str) -> List[Optional[str]]:
        return ["K"]

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "TopKSelector":
        return cls(parse_k(argument), **options)  # type: ignore[arg-type]

    def describe(self) -> dict:
        description = super().describe()
        description.update(k=self.k, weights=self.weights, temperature=self.temperature)
        return description

    def choose(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        top = sorted((hyp for hyp in hyps if hyp.rank <= self.k), key=lambda hyp: hyp.rank)
        if not top:
            self.reasons[REASON_NO_HYPOTHESES] += 1
        return [
            Selected(utt=topk_utt_id(utt, hyp.rank), text=hyp.text, source_utt=utt, rank=hyp.rank)
            for hyp in top
        ]

    def finish(self, utt: str, hyps: Sequence[NBestEntry], kept: List[Selected]) -> List[Selected]:
        """With ``weights="softmax"``, each kept label's weight from its teacher score."""
        if self.weights == "none":
            return kept
        score_of_rank = {hyp.rank: hyp.score for hyp in hyps}
        # NaN or +inf would make every weight of the utterance NaN (-inf is weight 0)
        unusable = [pick.rank for pick in kept
                    if math.isnan(score_of_rank[pick.rank]) or score_of_rank[pick.rank] == math.inf]
        if unusable:
            rank = unusable[0]
            raise SelectorError(
                f"utt {utt} rank {rank} has score {score_of_rank[rank]}: --weights softmax needs finite "
                "scores (or -inf); the n-best list is broken (regenerate it) or use --weights none"
            )
        weights = softmax_weights([score_of_rank[pick.rank] for pick in kept], self.temperature)
        return [dataclasses.replace(pick, weight=weight) for pick, weight in zip(kept, weights)]

"""``qe:NAME``: Seq-Inter without a reference, the hypothesis a quality estimate ranks best.

For data that has transcripts but no translation, the reference-based choice
of ``interp:bleu`` is impossible; a reference-free QE scorer
(:mod:`espnet_kd.select.qe`) stands in for sentence BLEU: ``qe:logp`` (the
teacher's length-normalised log-prob), ``qe:backward`` (log P(source
transcript | hypothesis) by a backward MT model) or ``qe:combined`` (their
weighted sum, fitted to sentence BLEU where references exist). The scorer runs
once over the whole n-best list (batched) before selection; the pick is the
hypothesis with the highest value (the better teacher rank on ties; NaN counts
as worst), kept under the utterance's own id and passed through the
empty-hypothesis policy.

Every hypothesis's value is kept for the selection report, which correlates it
with sentence BLEU where the data has references.
"""

from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional, Sequence

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    REASON_NO_HYPOTHESES,
    AbsSelector,
    HypothesisKey,
    Selected,
    SelectionContext,
    SelectorError,
)
from espnet_kd.select.qe.abs_qe_scorer import QEError, QEOptions
from espnet_kd.select.qe.combined import CombinedScorer
from espnet_kd.select.qe.registry import build_qe_scorer, known_qe_scorers


def sortable(value: float) -> float:
    """``value`` for ranking: NaN becomes minus infinity."""
    return -math.inf if math.isnan(value) else value


class QESelector(AbsSelector):
    """Keeps the hypothesis with the highest reference-free quality estimate."""

    method = "qe"
    usage = "qe:{logp,backward,combined}"

    def __init__(
        self,
        scorer_name: str,
        qe_options: Optional[QEOptions] = None,
        on_empty: str = "reference",
    ) -> None:
        super().__init__(on_empty=on_empty)
        self.scorer = build_qe_scorer(scorer_name, qe_options or QEOptions())
        self.needs_source = self.scorer.needs_source
        self.values: Dict[HypothesisKey, float] = {}
        self.component_values: Dict[str, Dict[HypothesisKey, float]] = {}

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "QESelector":
        if not argument:
            raise SelectorError(
                f"method qe needs a scorer, one of {', '.join(known_qe_scorers())}, e.g. 'qe:logp'"
            )
        return cls(argument, **options)  # type: ignore[arg-type]

    def describe(self) -> dict:
        description = super().describe()
        description["qe"] = self.scorer.describe()
        return description

    def prepare(
        self, nbest: Mapping[str, Sequence[NBestEntry]], context: SelectionContext
    ) -> None:
        """Score every hypothesis (fitting the combined scorer's weights first if asked)."""
        hyps = [hyp for utt_hyps in nbest.values() for hyp in utt_hyps]
        if isinstance(self.scorer, CombinedScorer) and self.scorer.weights is None:
            if not context.references:
                raise QEError(
                    "qe:combined: fitting the weights (--qe_fit_combined) needs references; "
                    "this data has none (see --reference_text)"
                )
            values = self.scorer.fit_and_score(hyps, context.sources, context.references)
        else:
            values = self.scorer.score(hyps, context.sources)
        keys = [(hyp.utt, hyp.rank) for hyp in hyps]
        self.values = dict(zip(keys, values))
        if isinstance(self.scorer, CombinedScorer):
            self.component_values = {
                name: dict(zip(keys, column))
                for name, column in self.scorer.component_values.items()
            }

    def hypothesis_scores(self) -> Dict[str, Dict[HypothesisKey, float]]:
        return {self.scorer.name: dict(self.values), **self.component_values}

    def select(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        if not hyps:
            self.reasons[REASON_NO_HYPOTHESES] += 1
            return []
        unscored = [hyp.rank for hyp in hyps if (utt, hyp.rank) not in self.values]
        if unscored:
            raise SelectorError(
                f"qe: utt {utt} rank(s) {unscored} were not scored (prepare() sees every n-best list)"
            )
        best = max(
            sorted(hyps, key=lambda hyp: hyp.rank),
            key=lambda hyp: sortable(self.values[(utt, hyp.rank)]),
        )
        pick = Selected(utt=utt, text=best.text, source_utt=utt, rank=best.rank)
        return self.apply_empty_policy([pick], reference)

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
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    AbsSelector,
    HypothesisKey,
    Selected,
    SelectionContext,
    SelectorError,
)
from espnet_kd.select.options import OptionGroup
from espnet_kd.select.qe import QEOptions  # the package: registers the built-in scorers
from espnet_kd.select.qe.registry import (
    QE_SCORER_CLASSES,
    build_qe_scorer,
    known_qe_scorers,
    qe_scorer_class,
    qe_scorer_options,
)
from espnet_kd.select.registry import register_selector


def sortable(value: float) -> float:
    """``value`` for ranking: NaN becomes minus infinity."""
    return -math.inf if math.isnan(value) else value


def check_scorer_name(argument: Optional[str]) -> None:
    """Raise :class:`SelectorError` unless ``argument`` names a registered QE scorer."""
    if not argument:
        raise SelectorError(
            f"method qe needs a scorer, one of {', '.join(known_qe_scorers())}, e.g. 'qe:logp'"
        )
    qe_scorer_class(argument)


@register_selector
class QESelector(AbsSelector):
    """Keeps the hypothesis with the highest reference-free quality estimate."""

    method = "qe"
    usage = "qe:{SCORER}"
    has_quality_estimates = True
    options = (
        # every QE scorer's options, gathered into one QEOptions (each scorer reads its own)
        OptionGroup("qe_options", scope="qe:*", members=qe_scorer_options, gather=QEOptions.from_values),
    )

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
    def usage_text(cls) -> str:
        return f"qe:{{{','.join(known_qe_scorers())}}}"  # qe:{logp,backward,combined}

    @classmethod
    def check_argument(cls, argument: Optional[str]) -> None:
        check_scorer_name(argument)

    @classmethod
    def label(cls, argument: Optional[str], task: str) -> str:
        return f"Seq-Inter with QE ({argument})"

    @classmethod
    def tasks(cls, argument: Optional[str]) -> Tuple[str, ...]:
        return qe_scorer_class(argument or "").tasks

    @classmethod
    def listed_arguments(cls, task: str) -> List[Optional[str]]:
        return [name for name, scorer in QE_SCORER_CLASSES.items() if task in scorer.tasks]

    @classmethod
    def needs_backward_model(cls, argument: Optional[str]) -> bool:
        return qe_scorer_class(argument or "").needs_backward_model

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "QESelector":
        if not argument:
            check_scorer_name(argument)
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
        values = self.scorer.score_all(hyps, context.sources, context.references)
        keys = [(hyp.utt, hyp.rank) for hyp in hyps]
        self.values = dict(zip(keys, values))
        self.component_values = {
            name: dict(zip(keys, column)) for name, column in self.scorer.component_scores().items()
        }

    def hypothesis_scores(self) -> Dict[str, Dict[HypothesisKey, float]]:
        return {self.scorer.name: dict(self.values), **self.component_values}

    def quality_estimates(self) -> Optional[Dict[HypothesisKey, float]]:
        """The scorer's value of every hypothesis (what :meth:`choose` ranks by)."""
        return dict(self.values)

    def choose(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        unscored = [hyp.rank for hyp in hyps if (utt, hyp.rank) not in self.values]
        if unscored:
            raise SelectorError(
                f"qe: utt {utt} rank(s) {unscored} were not scored (prepare() sees every n-best list)"
            )
        best = max(
            sorted(hyps, key=lambda hyp: hyp.rank),
            key=lambda hyp: sortable(self.values[(utt, hyp.rank)]),
        )
        return [Selected(utt=utt, text=best.text, source_utt=utt, rank=best.rank)]

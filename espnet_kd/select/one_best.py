"""``1best``: sequence-level KD (Kim & Rush 2016), the teacher's best hypothesis as the label."""

from __future__ import annotations

from typing import List, Optional, Sequence

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    REASON_NO_HYPOTHESES,
    AbsSelector,
    Selected,
    SelectorError,
)


class OneBestSelector(AbsSelector):
    """Keeps the rank-1 hypothesis under the utterance's own id."""

    method = "1best"
    usage = "1best"

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "OneBestSelector":
        if argument is not None:
            raise SelectorError(f"method 1best takes no argument, got '1best:{argument}'")
        return cls(**options)  # type: ignore[arg-type]

    def select(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        if not hyps:
            self.reasons[REASON_NO_HYPOTHESES] += 1
            return []
        best = min(hyps, key=lambda hyp: hyp.rank)
        pick = Selected(utt=utt, text=best.text, source_utt=utt, rank=best.rank)
        return self.apply_empty_policy([pick], reference)

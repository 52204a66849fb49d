"""``1best``: sequence-level KD (Kim & Rush 2016), the teacher's best hypothesis as the label."""

from __future__ import annotations

from typing import List, Mapping, Optional, Sequence

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    AbsSelector,
    Selected,
    SelectorError,
)
from espnet_kd.select.registry import register_selector


@register_selector
class OneBestSelector(AbsSelector):
    """Keeps the rank-1 hypothesis under the utterance's own id."""

    method = "1best"
    usage = "1best"
    aliases: Mapping[str, Optional[str]] = {"seqkd": None}

    @classmethod
    def check_argument(cls, argument: Optional[str]) -> None:
        if argument is not None:
            raise SelectorError(f"method 1best takes no argument, got '1best:{argument}'")

    @classmethod
    def tag(cls, argument: Optional[str]) -> str:
        return "seqkd"

    @classmethod
    def label(cls, argument: Optional[str], task: str) -> str:
        return "Seq-KD (teacher 1-best)"

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "OneBestSelector":
        cls.check_argument(argument)
        return cls(**options)  # type: ignore[arg-type]

    def choose(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        best = min(hyps, key=lambda hyp: hyp.rank)
        return [Selected(utt=utt, text=best.text, source_utt=utt, rank=best.rank)]

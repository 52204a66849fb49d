"""The interface of pseudo-label selection: from an utterance's n-best list to training labels.

A selector turns one utterance's teacher hypotheses (and its reference, where
the data has one) into zero or more :class:`Selected` pseudo-labels. Each
pseudo-label names the utterance id it will have in the pseudo-labelled data
dir, the source utterance whose audio it reuses, its text and an optional
training weight.

Empty hypotheses are never used silently: each selector passes its picks
through :meth:`AbsSelector.apply_empty_policy`, which replaces an empty pick
by the reference (``on_empty="reference"``, the default, when the utterance
has one) or drops it, and counts every such case in :attr:`AbsSelector.reasons`
for the selection report.
"""

from __future__ import annotations

import abc
import collections
from dataclasses import dataclass, field
from typing import ClassVar, Counter, Dict, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.nbest.format import NBestEntry

ON_EMPTY_CHOICES = ("reference", "drop")

ORIGIN_HYPOTHESIS = "hypothesis"
ORIGIN_REFERENCE = "reference"

REASON_EMPTY_REPLACED = "empty_hypothesis_replaced_by_reference"
REASON_EMPTY_DROPPED = "empty_hypothesis_dropped"
REASON_EMPTY_NO_REFERENCE = "empty_hypothesis_dropped_no_reference"
REASON_NO_HYPOTHESES = "no_hypotheses"
REASON_NO_REFERENCE = "no_reference"

HypothesisKey = Tuple[str, int]
"""A hypothesis by ``(utterance id, rank)``."""


class SelectorError(ValueError):
    """A selection method or its options are unknown or invalid."""


@dataclass(frozen=True)
class Selected:
    """One pseudo-label chosen for training.

    ``utt`` is the id in the output data dir, ``source_utt`` the utterance whose
    audio (and other tables) it reuses, ``rank`` the teacher rank it came from,
    ``origin`` either ``"hypothesis"`` or ``"reference"`` (an empty hypothesis
    replaced by the reference), ``weight`` the training weight or ``None``.
    """

    utt: str
    text: str
    source_utt: str
    rank: Optional[int] = None
    origin: str = ORIGIN_HYPOTHESIS
    weight: Optional[float] = None


@dataclass
class SelectionContext:
    """The tables a selector may read besides the n-best list, keyed by utterance id.

    ``references`` holds the reference of every utterance (the data dir's
    ``text``, or the table ``--reference_text`` names), ``sources`` the source
    transcript (e.g. ``text.en`` for speech translation); either is ``None``
    where the data has no such table. ``names`` records which tables they are
    (``{"reference": "text", "source": "text.en"}``).
    """

    references: Optional[Mapping[str, str]] = None
    sources: Optional[Mapping[str, str]] = None
    names: Dict[str, Optional[str]] = field(default_factory=dict)


def is_empty_text(text: str) -> bool:
    """Whether a hypothesis text holds no word."""
    return not text.strip()


class AbsSelector(abc.ABC):
    """Chooses pseudo-labels for one utterance at a time.

    Subclasses set :attr:`method` (the name before ``:`` in a method spec such
    as ``topk:4``), implement :meth:`from_argument` and :meth:`select`, and pass
    their picks through :meth:`apply_empty_policy`. A method that compares with
    the reference sets :attr:`needs_reference` (and one that reads the source
    transcript :attr:`needs_source`), so that the run stops with a clear message
    when the data has none; one that scores whole n-best lists at once (e.g. a
    neural model, batched) overrides :meth:`prepare`, which the runner calls once
    before any :meth:`select`.
    """

    method: ClassVar[str] = ""
    usage: ClassVar[str] = ""
    needs_reference: bool = False
    needs_source: bool = False

    def __init__(self, on_empty: str = "reference") -> None:
        if on_empty not in ON_EMPTY_CHOICES:
            raise SelectorError(
                f"on_empty must be one of {', '.join(ON_EMPTY_CHOICES)}, got {on_empty!r}"
            )
        self.on_empty = on_empty
        self.reasons: Counter[str] = collections.Counter()

    @classmethod
    @abc.abstractmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "AbsSelector":
        """Build the selector from the part of the spec after ``:`` (``None`` if absent)."""

    @abc.abstractmethod
    def select(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        """Pseudo-labels for utterance ``utt`` from its hypotheses (ordered by rank)."""

    def describe(self) -> dict:
        """The method and options, as recorded in the selection report."""
        return {"method": self.method, "on_empty": self.on_empty}

    def prepare(
        self, nbest: Mapping[str, Sequence[NBestEntry]], context: SelectionContext
    ) -> None:
        """Look at every n-best list before selection starts (default: nothing to do)."""

    def hypothesis_scores(self) -> Dict[str, Dict[HypothesisKey, float]]:
        """Per-hypothesis quality scores the method computed, by score name (default: none).

        The selection report correlates each with sentence BLEU where the data
        has references.
        """
        return {}

    def apply_empty_policy(
        self, picks: Sequence[Selected], reference: Optional[str]
    ) -> List[Selected]:
        """Replace or drop picks whose text is empty, counting each case in :attr:`reasons`."""
        kept: List[Selected] = []
        for pick in picks:
            if not is_empty_text(pick.text):
                kept.append(pick)
            elif self.on_empty == "drop":
                self.reasons[REASON_EMPTY_DROPPED] += 1
            elif reference is None or is_empty_text(reference):
                self.reasons[REASON_EMPTY_NO_REFERENCE] += 1
            else:
                self.reasons[REASON_EMPTY_REPLACED] += 1
                kept.append(
                    Selected(
                        utt=pick.utt,
                        text=reference.strip(),
                        source_utt=pick.source_utt,
                        rank=pick.rank,
                        origin=ORIGIN_REFERENCE,
                        weight=pick.weight,
                    )
                )
        return kept

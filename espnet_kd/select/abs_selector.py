"""The interface of pseudo-label selection: from an utterance's n-best list to training labels.

A selector turns one utterance's teacher hypotheses (and its reference, where
the data has one) into zero or more :class:`Selected` pseudo-labels. Each
pseudo-label names the utterance id it will have in the pseudo-labelled data
dir, the source utterance whose audio it reuses, its text and an optional
training weight.

:meth:`AbsSelector.select` is the same for every method: an utterance without
hypotheses gives nothing (counted as ``no_hypotheses``), otherwise the method
chooses (:meth:`AbsSelector.choose`, the one thing a method implements) and
the picks pass the empty-hypothesis policy, :meth:`AbsSelector.apply_empty_policy`:
an empty pick is replaced by the reference (``on_empty="reference"``, the default,
when the utterance has one) or dropped, every such case counted in
:attr:`AbsSelector.reasons` for the selection report.
"""

from __future__ import annotations

import abc
import collections
import re
from dataclasses import dataclass, field
from typing import ClassVar, Counter, Dict, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.options import Declaration, Option

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

TASKS = ("asr", "st")
"""The recipe tasks: ASR compression (``egs2/*/asr1``) and speech translation (``egs2/*/st1``)."""


def spec_tag(spec: str) -> str:
    """The directory-name form of a method spec: ``:``, ``,`` and ``=`` removed, other
    characters that are not letters, digits or ``_`` replaced by ``_`` (``topk:4`` → ``topk4``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", re.sub(r"[:,=]", "", spec))


def method_spec(method: str, argument: Optional[str]) -> str:
    """``NAME`` or ``NAME:ARGUMENT``."""
    return method if argument is None else f"{method}:{argument}"


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


ON_EMPTY_OPTION = Option(
    "on_empty",
    help="an empty hypothesis: use the reference (if any) or drop it",
    choices=ON_EMPTY_CHOICES,
    default="reference",
)
"""The option every method takes (declared here, once)."""


class AbsSelector(abc.ABC):
    """Chooses pseudo-labels for one utterance at a time.

    Subclasses set :attr:`method` (the name before ``:`` in a method spec such
    as ``topk:4``), declare their options in :attr:`options` (the constructor
    keywords besides ``on_empty``, with their command-line help), implement
    :meth:`from_argument` and :meth:`choose`; :meth:`select` does the rest. What the recipes and the
    results tables need to know about a method without building it is given by
    classmethods: :meth:`check_argument`, :meth:`tag` (the directory name),
    :meth:`label` (the results tables' name), :meth:`tasks` (the recipes that
    accept it), :meth:`listed_arguments`, :meth:`needs_backward_model`, and
    :attr:`aliases` (other names of the method). A method that compares with
    the reference sets :attr:`needs_reference` (and one that reads the source
    transcript :attr:`needs_source`), so that the run stops with a clear message
    when the data has none; one that scores whole n-best lists at once (e.g. a
    neural model, batched) overrides :meth:`prepare`, which the runner calls once
    before any :meth:`select`. One that ranks by a reference-free quality estimate
    (``qe:*``) sets :attr:`has_quality_estimates` and gives the estimates in
    :meth:`quality_estimates` (``--confidence qe`` filters by them).
    """

    method: ClassVar[str] = ""
    usage: ClassVar[str] = ""
    aliases: ClassVar[Mapping[str, Optional[str]]] = {}
    """Other names of the method, each standing for one argument (``{"seqkd": None}`` for ``1best``)."""
    options: ClassVar[Tuple[Declaration, ...]] = ()
    """The method's own options (``on_empty`` is every method's: :data:`ON_EMPTY_OPTION`)."""
    needs_reference: bool = False
    needs_source: bool = False
    has_quality_estimates: bool = False

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

    @classmethod
    def declared_options(cls) -> Tuple[Declaration, ...]:
        """Every option the method takes: its own, then ``on_empty``."""
        return (*cls.options, ON_EMPTY_OPTION)

    def select(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        """Pseudo-labels for utterance ``utt`` from its hypotheses (ordered by rank).

        No hypotheses: nothing (counted as ``no_hypotheses``); otherwise
        :meth:`choose`, the empty-hypothesis policy, then :meth:`finish`.
        """
        if not hyps:
            self.reasons[REASON_NO_HYPOTHESES] += 1
            return []
        picks = self.choose(utt, hyps, reference)
        return self.finish(utt, hyps, self.apply_empty_policy(picks, reference))

    @abc.abstractmethod
    def choose(
        self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
    ) -> List[Selected]:
        """The method's picks among ``hyps`` (at least one), before the empty-hypothesis policy.

        A method that cannot choose for this utterance returns ``[]`` and counts why in
        :attr:`reasons`.
        """

    def finish(self, utt: str, hyps: Sequence[NBestEntry], kept: List[Selected]) -> List[Selected]:
        """The labels the empty-hypothesis policy kept, final touches such as weights (default: as they are)."""
        return kept

    @classmethod
    def usage_text(cls) -> str:
        """How to write the spec, for help and messages (default :attr:`usage`)."""
        return cls.usage

    @classmethod
    def check_argument(cls, argument: Optional[str]) -> None:
        """Raise :class:`SelectorError` if ``argument`` is not one the method takes.

        Cheap (builds nothing, loads no model): the recipes check their method
        lists with it before any work. Default: any argument.
        """

    @classmethod
    def tag(cls, argument: Optional[str]) -> str:
        """The directory-name form of the spec (``exp/student_<tag>``); default :func:`spec_tag`."""
        return spec_tag(method_spec(cls.method, argument))

    @classmethod
    def label(cls, argument: Optional[str], task: str) -> str:
        """A reader's name for the method in ``task``'s results table (default: the spec)."""
        return method_spec(cls.method, argument)

    @classmethod
    def tasks(cls, argument: Optional[str]) -> Tuple[str, ...]:
        """The recipe tasks (:data:`TASKS`) whose students may be trained on this method's labels."""
        return TASKS

    @classmethod
    def listed_arguments(cls, task: str) -> List[Optional[str]]:
        """The arguments to list for ``task`` (a placeholder such as ``K`` where they are numbers)."""
        return [None]

    @classmethod
    def needs_backward_model(cls, argument: Optional[str]) -> bool:
        """Whether the method needs the backward (target → source) MT model the ST recipe trains."""
        return False

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

    def quality_estimates(self) -> Optional[Dict[HypothesisKey, float]]:
        """The reference-free quality estimate the method ranked by, per hypothesis, higher is
        better (after :meth:`prepare`); ``None`` for a method without one (default)."""
        return None

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

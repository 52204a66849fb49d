"""The interface of reference-free quality estimation (QE) of teacher hypotheses.

A QE scorer gives every hypothesis of an n-best list one number, higher
meaning better, without looking at the reference translation. It may read the
source transcript of the utterance (``needs_source``), which speech-translation
data has even where it has no translation. Scorers work on many hypotheses at
once so that neural ones can batch.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import TASKS, SelectorError
from espnet_kd.select.options import Option


class QEError(SelectorError):
    """A QE scorer cannot score: missing inputs, a missing model or bad weights."""


@dataclass(frozen=True)
class QEOptions:
    """What the QE scorers may need; each reads only its own fields.

    - ``backward_config``, ``backward_model``: the ESPnet2 MT model (``config.yaml``
      and ``*.pth``) that translates target → source, for the ``backward`` scorer;
    - ``batch_size``, ``device``: how that model runs;
    - ``combined_components``: the scorers the ``combined`` scorer fits weights for;
    - ``combined_weights``: a weights file to load (written by an earlier fit);
    - ``fit_combined``: fit the weights on this run's references and write them there;
    - ``extra``: the options of scorers added later, by their keyword (:meth:`value`).

    The command line fills it from the options the scorers declare (:attr:`AbsQEScorer.options`).
    """

    backward_config: Optional[Path] = None
    backward_model: Optional[Path] = None
    batch_size: int = 32
    device: str = "cpu"
    combined_components: Tuple[str, ...] = ("logp", "backward")
    combined_weights: Optional[Path] = None
    fit_combined: Optional[Path] = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> "QEOptions":
        """The options from ``{keyword: value}``; a keyword that is no field goes to :attr:`extra`."""
        fields = {item.name for item in dataclasses.fields(cls)} - {"extra"}
        return cls(**{name: value for name, value in values.items() if name in fields},
                   extra={name: value for name, value in values.items() if name not in fields})

    def value(self, name: str, default: Any = None) -> Any:
        """The option ``name``: a field, else an :attr:`extra` one, else ``default``."""
        if name != "extra" and name in {item.name for item in dataclasses.fields(self)}:
            return getattr(self, name)
        return self.extra.get(name, default)


class AbsQEScorer(abc.ABC):
    """Scores hypotheses without the reference; subclasses set :attr:`name` and implement :meth:`score`.

    :attr:`tasks` are the recipe tasks whose ``qe:<name>`` students the recipes
    accept, :attr:`needs_backward_model` whether the scorer reads the backward
    (target → source) MT model the ST recipe trains, :attr:`options` the command-line
    options it reads from :class:`QEOptions` (each ``Option.keyword`` a field name).
    A scorer that must see the references first (to fit weights) overrides
    :meth:`score_all`; one made of parts reports their values in :meth:`component_scores`.
    """

    name: ClassVar[str] = ""
    needs_source: bool = False
    tasks: ClassVar[Tuple[str, ...]] = TASKS
    needs_backward_model: ClassVar[bool] = False
    options: ClassVar[Tuple[Option, ...]] = ()

    @classmethod
    @abc.abstractmethod
    def from_options(cls, options: QEOptions) -> "AbsQEScorer":
        """Build the scorer from the QE options (raising :class:`QEError` if one it needs is missing)."""

    @abc.abstractmethod
    def score(
        self, hyps: Sequence[NBestEntry], sources: Optional[Mapping[str, str]]
    ) -> List[float]:
        """One quality estimate per hypothesis, in the order given (higher is better)."""

    def score_all(
        self,
        hyps: Sequence[NBestEntry],
        sources: Optional[Mapping[str, str]],
        references: Optional[Mapping[str, str]],
    ) -> List[float]:
        """Score the whole n-best list before selection, with the references where the data has
        them (``None`` where not); default :meth:`score`, which does not look at them."""
        return self.score(hyps, sources)

    def component_scores(self) -> Dict[str, List[float]]:
        """The values of the scorer's parts from the last scoring, by part name (default: none)."""
        return {}

    def describe(self) -> dict:
        """The scorer and its settings, as recorded in the selection report."""
        return {"scorer": self.name}


def source_of(hyp: NBestEntry, sources: Optional[Mapping[str, str]], scorer: str) -> str:
    """The source transcript of ``hyp``'s utterance, or a :class:`QEError` naming it."""
    if sources is None:
        raise QEError(
            f"QE scorer {scorer} needs the source transcript of every utterance "
            "(give it with --source_text, e.g. text.en)"
        )
    source = sources.get(hyp.utt)
    if source is None or not source.strip():
        raise QEError(f"QE scorer {scorer}: utterance {hyp.utt} has no source transcript")
    return source

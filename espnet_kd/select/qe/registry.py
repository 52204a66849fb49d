"""QE scorers by name: ``build_qe_scorer("backward", QEOptions(...))``.

Adding a scorer is one :class:`~espnet_kd.select.qe.abs_qe_scorer.AbsQEScorer`
subclass plus one line in :data:`QE_SCORER_CLASSES`.
"""

from __future__ import annotations

from typing import Dict, List, Type

from espnet_kd.select.qe.abs_qe_scorer import AbsQEScorer, QEError, QEOptions
from espnet_kd.select.qe.backward import BackwardScorer
from espnet_kd.select.qe.combined import CombinedScorer
from espnet_kd.select.qe.logp import LogProbScorer

QE_SCORER_CLASSES: Dict[str, Type[AbsQEScorer]] = {
    LogProbScorer.name: LogProbScorer,
    BackwardScorer.name: BackwardScorer,
    CombinedScorer.name: CombinedScorer,
}


def known_qe_scorers() -> List[str]:
    """The names of the registered QE scorers."""
    return list(QE_SCORER_CLASSES)


def build_qe_scorer(name: str, options: QEOptions) -> AbsQEScorer:
    """The scorer ``name`` built from ``options``; an unknown name lists the known ones."""
    cls = QE_SCORER_CLASSES.get(name)
    if cls is None:
        raise QEError(
            f"unknown QE scorer {name!r}; known scorers: {', '.join(known_qe_scorers())} "
            "(e.g. --method qe:logp)"
        )
    return cls.from_options(options)

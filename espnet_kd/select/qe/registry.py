"""QE scorers by name: ``build_qe_scorer("backward", QEOptions(...))``.

Adding a scorer is one :class:`~espnet_kd.select.qe.abs_qe_scorer.AbsQEScorer`
subclass decorated with :func:`register_qe_scorer`, in a module of ``espnet_kd/select/qe/``
(importing the package imports every module there that carries the decorator). This module imports no scorer (they import
it to register themselves), so there is no import circle.
"""

from __future__ import annotations

from typing import Dict, List, Tuple, Type, TypeVar

from espnet_kd.select.options import Option
from espnet_kd.select.qe.abs_qe_scorer import AbsQEScorer, QEError, QEOptions

QE_SCORER_CLASSES: Dict[str, Type[AbsQEScorer]] = {}
"""Every registered scorer class by :attr:`~AbsQEScorer.name`, in registration order."""

ScorerClass = TypeVar("ScorerClass", bound=Type[AbsQEScorer])


def register_qe_scorer(cls: ScorerClass) -> ScorerClass:
    """Class decorator: register a QE scorer under its :attr:`~AbsQEScorer.name`."""
    if not cls.name:
        raise QEError(f"{cls.__name__} has no scorer name")
    other = QE_SCORER_CLASSES.get(cls.name)
    if other is not None and other is not cls:
        raise QEError(f"QE scorer name {cls.name!r} of {cls.__name__} is taken by {other.__name__}")
    QE_SCORER_CLASSES[cls.name] = cls
    return cls


def known_qe_scorers() -> List[str]:
    """The names of the registered QE scorers."""
    return list(QE_SCORER_CLASSES)


def qe_scorer_options() -> Tuple[Option, ...]:
    """The options of every registered scorer, in registration order, each once."""
    options: Dict[str, Option] = {}
    for cls in QE_SCORER_CLASSES.values():
        for option in cls.options:
            if options.setdefault(option.name, option) != option:
                raise QEError(f"QE scorer {cls.name} declares --{option.name} unlike another scorer")
    return tuple(options.values())


def qe_scorer_class(name: str) -> Type[AbsQEScorer]:
    """The class of scorer ``name``; an unknown name lists the known ones."""
    cls = QE_SCORER_CLASSES.get(name)
    if cls is None:
        raise QEError(
            f"unknown QE scorer {name!r}; known scorers: {', '.join(known_qe_scorers())} "
            "(e.g. --method qe:logp)"
        )
    return cls


def build_qe_scorer(name: str, options: QEOptions) -> AbsQEScorer:
    """The scorer ``name`` built from ``options``; an unknown name lists the known ones."""
    return qe_scorer_class(name).from_options(options)

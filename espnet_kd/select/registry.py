"""Selection methods by name: ``build_selector("topk:4", weights="softmax")``.

A method spec is ``NAME`` or ``NAME:ARGUMENT`` (``1best``, ``topk:4``,
``interp:wer``, ``interp:bleu``, ``interp:chrf``, ``qe:logp``, ``qe:backward``,
``qe:combined``). Adding a method is one
:class:`~espnet_kd.select.abs_selector.AbsSelector` subclass plus one line in
:data:`SELECTOR_CLASSES`.
"""

from __future__ import annotations

import inspect
from typing import Dict, List, Optional, Tuple, Type

from espnet_kd.select.abs_selector import AbsSelector, SelectorError
from espnet_kd.select.interp import InterpSelector
from espnet_kd.select.one_best import OneBestSelector
from espnet_kd.select.qe_selector import QESelector
from espnet_kd.select.topk import TopKSelector

SELECTOR_CLASSES: Dict[str, Type[AbsSelector]] = {
    OneBestSelector.method: OneBestSelector,
    TopKSelector.method: TopKSelector,
    InterpSelector.method: InterpSelector,
    QESelector.method: QESelector,
}


def known_methods() -> List[str]:
    """The usage of every registered method (``1best``, ``topk:K``, ...)."""
    return [cls.usage for cls in SELECTOR_CLASSES.values()]


def parse_method_spec(spec: str) -> Tuple[str, Optional[str]]:
    """Split ``NAME[:ARGUMENT]`` into the name and the argument (``None`` if absent)."""
    name, colon, argument = spec.strip().partition(":")
    return name, (argument if colon else None)


def accepted_options(cls: Type[AbsSelector]) -> List[str]:
    """Keyword options a selector class accepts (its constructor's, less positional ones)."""
    names = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for parameter in list(inspect.signature(init).parameters.values())[1:]:
            if parameter.default is not inspect.Parameter.empty and parameter.name not in names:
                names.append(parameter.name)
    return names


def build_selector(spec: str, **options: object) -> AbsSelector:
    """Build the selector a method spec names, with its options.

    Raises :class:`SelectorError` for an unknown method (listing the known
    ones), an option the method does not take, or an invalid argument.
    """
    name, argument = parse_method_spec(spec)
    cls = SELECTOR_CLASSES.get(name)
    if cls is None:
        raise SelectorError(
            f"unknown selection method {spec!r}; known methods: {', '.join(known_methods())}"
        )
    accepted = accepted_options(cls)
    unexpected = sorted(set(options) - set(accepted))
    if unexpected:
        raise SelectorError(
            f"method {cls.usage} does not take option(s) {', '.join(unexpected)}; "
            f"it takes: {', '.join(accepted)}"
        )
    return cls.from_argument(argument, **options)

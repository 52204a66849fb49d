"""Selection methods by name: ``build_selector("topk:4", weights="softmax")``.

A method spec is ``NAME`` or ``NAME:ARGUMENT`` (``1best``, ``topk:4``,
``interp:wer``, ``interp:bleu``, ``interp:chrf``, ``qe:logp``, ``qe:backward``,
``qe:combined``). Adding a method is one
:class:`~espnet_kd.select.abs_selector.AbsSelector` subclass decorated with
:func:`register_selector`, in a module of ``espnet_kd/select/`` (importing the package imports
every module there that carries the decorator):
the selection command line, the recipes' method lists (:mod:`espnet_kd.methods`) and
the results tables then know it.

This module imports no selector (they import it to register themselves), so
there is no import circle; importing :mod:`espnet_kd.select` registers the
built-in ones.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple, Type, TypeVar

from espnet_kd.select.abs_selector import AbsSelector, SelectorError
from espnet_kd.select.options import Option, OptionGroup, command_line_options, keyword_values

SELECTOR_CLASSES: Dict[str, Type[AbsSelector]] = {}
"""Every registered selector class by :attr:`~AbsSelector.method`, in registration order."""

SelectorClass = TypeVar("SelectorClass", bound=Type[AbsSelector])


def register_selector(cls: SelectorClass) -> SelectorClass:
    """Class decorator: register a selector under its :attr:`~AbsSelector.method` (and aliases).

    A name (or alias) already taken by another class is refused.
    """
    if not cls.method:
        raise SelectorError(f"{cls.__name__} has no method name")
    taken = {name: other for other in SELECTOR_CLASSES.values() if other is not cls
             for name in (other.method, *other.aliases)}
    for name in (cls.method, *cls.aliases):
        if name in taken:
            raise SelectorError(f"selection method name {name!r} of {cls.__name__} is taken by "
                                f"{taken[name].__name__}")
    SELECTOR_CLASSES[cls.method] = cls
    return cls


def unregister_selector(cls: Type[AbsSelector]) -> None:
    """Remove a class :func:`register_selector` registered (for tests)."""
    if SELECTOR_CLASSES.get(cls.method) is cls:
        del SELECTOR_CLASSES[cls.method]


def known_methods() -> List[str]:
    """The usage of every registered method (``1best``, ``topk:K``, ...)."""
    return [cls.usage_text() for cls in SELECTOR_CLASSES.values()]


def parse_method_spec(spec: str) -> Tuple[str, Optional[str]]:
    """Split ``NAME[:ARGUMENT]`` into the name and the argument (``None`` if absent)."""
    name, colon, argument = spec.strip().partition(":")
    return name, (argument if colon else None)


def find_selector(
    spec: str, with_aliases: bool = False
) -> Optional[Tuple[Type[AbsSelector], Optional[str]]]:
    """The class and argument a spec names, or ``None``.

    With ``with_aliases`` (the recipes' method lists) an alias such as ``seqkd``
    stands for its method and argument; ``espnet_kd.bin.select`` takes method names only.
    """
    name, argument = parse_method_spec(spec)
    if name in SELECTOR_CLASSES:
        return SELECTOR_CLASSES[name], argument
    if with_aliases and argument is None:
        for cls in SELECTOR_CLASSES.values():
            if name in cls.aliases:
                return cls, cls.aliases[name]
    return None


def selector_class(spec: str) -> Tuple[Type[AbsSelector], Optional[str]]:
    """The class and argument of a spec (no aliases); an unknown method raises
    :class:`SelectorError` listing the known ones."""
    found = find_selector(spec)
    if found is None:
        raise SelectorError(
            f"unknown selection method {spec!r}; known methods: {', '.join(known_methods())}"
        )
    return found


def accepted_options(cls: Type[AbsSelector]) -> List[str]:
    """The constructor keywords a selector class takes: one per declared option (or option group)."""
    return [declaration.keyword_name for declaration in cls.declared_options()]


def selector_cli_options() -> List[Tuple[Option, Optional[OptionGroup]]]:
    """Every command-line option of the registered methods, once each, with its group (or ``None``).

    The methods' own options come first (in registration order), then the shared
    ``on_empty``. An option two classes declare differently is refused.
    """
    own = [declaration for cls in SELECTOR_CLASSES.values() for declaration in cls.options]
    shared = [declaration for declaration in AbsSelector.declared_options() if declaration not in own]
    options: Dict[str, Tuple[Option, Optional[OptionGroup]]] = {}
    for option, group in command_line_options([*own, *shared]):
        if options.setdefault(option.name, (option, group)) != (option, group):
            raise SelectorError(f"option --{option.name} is declared twice, differently")
    return list(options.values())


def build_selector_from_cli(spec: str, given: Mapping[str, Any]) -> AbsSelector:
    """Build the selector of a command line: ``given`` holds the options given, by name.

    Each option goes to the method that declares it. An option of an option group that the
    method does not take is refused (``--qe_device applies to the qe:* methods only, not to
    1best``); any other option it does not take is left to :func:`build_selector`'s message.
    """
    found = find_selector(spec)
    declarations = found[0].declared_options() if found is not None else ()
    own = {option.name for option, _ in command_line_options(declarations)}
    stray: Dict[str, Any] = {}
    for option, group in selector_cli_options():
        if option.name not in given or option.name in own:
            continue
        if group is not None:
            raise SelectorError(f"--{option.name} applies to the {group.scope} methods only, not to {spec}")
        stray[option.keyword_name] = option.keyword_value(given[option.name])
    keywords = keyword_values(declarations, {name: value for name, value in given.items() if name in own})
    return build_selector(spec, **keywords, **stray)


def build_selector(spec: str, **options: object) -> AbsSelector:
    """Build the selector a method spec names, with its options.

    Raises :class:`SelectorError` for an unknown method (listing the known
    ones), an option the method does not take, or an invalid argument.
    """
    cls, argument = selector_class(spec)
    accepted = accepted_options(cls)
    unexpected = sorted(set(options) - set(accepted))
    if unexpected:
        raise SelectorError(
            f"method {cls.usage_text()} does not take option(s) {', '.join(unexpected)}; "
            f"it takes: {', '.join(accepted)}"
        )
    return cls.from_argument(argument, **options)

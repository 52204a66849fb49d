"""Options of selection methods and QE scorers, each declared once, by the class that takes it.

A selector class lists its options in :attr:`~espnet_kd.select.abs_selector.AbsSelector.options`
(the shared ``on_empty`` is declared by ``AbsSelector`` itself), a QE scorer in
:attr:`~espnet_kd.select.qe.abs_qe_scorer.AbsQEScorer.options`. ``espnet_kd.bin.select``
builds its command line from these declarations (:meth:`Option.add_to`) and passes the
values given back to the chosen method (:func:`espnet_kd.select.registry.build_selector_from_cli`);
nothing in the command line names a method.

- :class:`Option`: one ``--name`` option and the constructor keyword it fills;
- :class:`OptionGroup`: options gathered into one constructor keyword (every QE scorer's
  options into the ``QEOptions`` of ``qe:*``); given to a method without the group, such an
  option is refused as ``--NAME applies to the <scope> methods only, not to <method>``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from espnet_kd.utils.cli import add_arguments


@dataclass(frozen=True)
class Option:
    """One command-line option of a method: ``--name`` (and ``--name-with-dashes``).

    ``keyword`` is the constructor keyword (or options field) it fills, default ``name``;
    ``convert`` turns the parsed value into the keyword's value (e.g. a comma list into
    a tuple). ``default`` is the command line's default: ``None`` means "not given", so
    the method's own default applies.
    """

    name: str
    help: str
    type: Optional[Callable[[str], Any]] = None
    choices: Optional[Sequence[str]] = None
    default: Any = None
    keyword: Optional[str] = None
    convert: Optional[Callable[[Any], Any]] = None

    @property
    def keyword_name(self) -> str:
        """The constructor keyword (or options field) this option fills."""
        return self.keyword or self.name

    def keyword_value(self, value: Any) -> Any:
        """The keyword's value for a value given on the command line."""
        return self.convert(value) if self.convert is not None else value

    def argparse_kwargs(self) -> Dict[str, Any]:
        """What :meth:`argparse.ArgumentParser.add_argument` takes for this option."""
        kwargs: Dict[str, Any] = {"default": self.default, "help": self.help}
        if self.type is not None:
            kwargs["type"] = self.type
        if self.choices is not None:
            kwargs["choices"] = tuple(self.choices)
        return kwargs

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Add ``--name`` (and the dashed spelling) to ``parser``."""
        add_arguments(parser, [(self.name, self.argparse_kwargs())])


@dataclass(frozen=True)
class OptionGroup:
    """Options gathered into one constructor keyword.

    ``members`` gives the options (a function: the QE scorers register after the
    selector class is defined); ``gather`` builds the keyword's value from
    ``{option keyword: value}`` of the members given (called even when none is, so the
    method gets its defaults); ``scope`` names the methods that take the group, for the
    message refusing a member given to another method.
    """

    keyword: str
    scope: str
    members: Callable[[], Sequence[Option]]
    gather: Callable[[Mapping[str, Any]], Any]

    @property
    def keyword_name(self) -> str:
        return self.keyword


Declaration = Union[Option, OptionGroup]


def comma_names(value: str) -> Tuple[str, ...]:
    """``"logp, backward"`` → ``("logp", "backward")`` (empty names left out)."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


def command_line_options(declarations: Sequence[Declaration]) -> Tuple[Tuple[Option, Optional[OptionGroup]], ...]:
    """Every command-line option of ``declarations``, with the group it belongs to (``None``: its own)."""
    flat = []
    for declaration in declarations:
        if isinstance(declaration, OptionGroup):
            flat += [(member, declaration) for member in declaration.members()]
        else:
            flat.append((declaration, None))
    return tuple(flat)


def keyword_values(declarations: Sequence[Declaration], given: Mapping[str, Any]) -> Dict[str, Any]:
    """The constructor keywords for the command-line values ``given`` (by option name).

    An :class:`Option` fills its keyword when given; an :class:`OptionGroup` always fills
    its keyword with what it gathers from its members given.
    """
    keywords: Dict[str, Any] = {}
    for declaration in declarations:
        if isinstance(declaration, OptionGroup):
            values = {member.keyword_name: member.keyword_value(given[member.name])
                      for member in declaration.members() if member.name in given}
            keywords[declaration.keyword] = declaration.gather(values)
        elif declaration.name in given:
            keywords[declaration.keyword_name] = declaration.keyword_value(given[declaration.name])
    return keywords

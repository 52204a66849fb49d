"""The structured sentences of the synthetic corpus.

A sentence is a small tree of frozen dataclasses: which pattern, which subject,
verb, noun phrases, day or place. The English, Italian and German strings are
rendered from the same tree (:mod:`espnet_kd.corpora.english`, ``italian``,
``german``), so the translations are exact by construction but not word by
word: word order, articles, agreement and number words differ per language.

The seven patterns, with an example each (English / Italian / German):

- :class:`Statement`: "maria buys three red apples on monday" /
  "maria compra tre mele rosse lunedì" / "maria kauft am montag drei rote äpfel"
- :class:`FrontedTime`: "on monday we see the old car" /
  "lunedì vediamo la vecchia macchina" / "am montag sehen wir das alte auto"
- :class:`Report`: "i know that maria buys three red apples on monday" /
  "so che maria compra tre mele rosse lunedì" /
  "ich weiß, dass maria am montag drei rote äpfel kauft"
- :class:`Description`: "the two small cars are green" /
  "le due piccole macchine sono verdi" / "die zwei kleinen autos sind grün"
- :class:`Existence`: "there is an old umbrella in the study" /
  "c'è un vecchio ombrello nello studio" / "es gibt einen alten regenschirm im arbeitszimmer"
- :class:`CountQuestion`: "how many white eggs does anna have" /
  "quante uova bianche ha anna" / "wie viele weiße eier hat anna"
- :class:`Company`: "we are in the garden with two black dogs" /
  "siamo nel giardino con due cani neri" / "wir sind mit zwei schwarzen hunden im garten"
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Dict, Optional, Type, Union

from espnet_kd.corpora.lexicon import Adjective, AdjectiveKind, Day, Noun, Place, Subject, Verb


class Determiner(enum.Enum):
    """What comes before the adjectives and the noun of a noun phrase."""

    DEFINITE = "the"  # the apple / the apples
    INDEFINITE = "a"  # an apple (singular only)
    COUNT = "count"  # three apples / one apple
    DEFINITE_COUNT = "the count"  # the three apples (plural only)
    HOW_MANY = "how many"  # how many apples (plural only)


@dataclass(frozen=True)
class NounPhrase:
    """Determiner, optional size adjective, optional colour adjective, noun.

    ``plural`` is the grammatical number; it must agree with the determiner
    (a count other than one is plural; "a" is singular).
    """

    noun: Noun
    determiner: Determiner
    plural: bool = False
    count: Optional[int] = None
    size: Optional[Adjective] = None
    colour: Optional[Adjective] = None

    def __post_init__(self) -> None:
        uses_count = self.determiner in (Determiner.COUNT, Determiner.DEFINITE_COUNT)
        if uses_count != (self.count is not None):
            raise ValueError(f"{self.determiner} {'needs' if uses_count else 'takes no'} count")
        if self.determiner is Determiner.COUNT and self.plural != (self.count != 1):
            raise ValueError(f"count {self.count} does not agree with plural={self.plural}")
        if self.determiner is Determiner.DEFINITE_COUNT and (self.count is None or self.count < 2):
            raise ValueError("'the <count>' needs a count of at least two")
        if self.determiner in (Determiner.DEFINITE_COUNT, Determiner.HOW_MANY) and not self.plural:
            raise ValueError(f"{self.determiner} needs a plural noun phrase")
        if self.determiner is Determiner.INDEFINITE and self.plural:
            raise ValueError("'a' needs a singular noun phrase")
        if self.size is not None and self.size.kind is not AdjectiveKind.SIZE:
            raise ValueError(f"{self.size.en!r} is not a size adjective")
        if self.colour is not None and self.colour.kind is not AdjectiveKind.COLOUR:
            raise ValueError(f"{self.colour.en!r} is not a colour adjective")


@dataclass(frozen=True)
class Action:
    """Someone does something to something on a day (shared by three patterns)."""

    subject: Subject
    verb: Verb
    obj: NounPhrase
    day: Day


@dataclass(frozen=True)
class Statement:
    """``<subject> <verb> <object> on <day>``."""

    pattern: ClassVar[str] = "statement"
    action: Action


@dataclass(frozen=True)
class FrontedTime:
    """``on <day> <subject> <verb> <object>`` (German inverts subject and verb)."""

    pattern: ClassVar[str] = "fronted_time"
    action: Action


@dataclass(frozen=True)
class Report:
    """``<reporter> says/knows that <action>`` (German puts the verb last)."""

    pattern: ClassVar[str] = "report"
    reporter: Subject
    reporting_verb: Verb
    action: Action


@dataclass(frozen=True)
class Description:
    """``<thing> is/are <colour>`` (predicative adjective: agrees in Italian, bare in German)."""

    pattern: ClassVar[str] = "description"
    thing: NounPhrase
    colour: Adjective


@dataclass(frozen=True)
class Existence:
    """``there is/are <thing> in the <place>``."""

    pattern: ClassVar[str] = "existence"
    thing: NounPhrase
    place: Place


@dataclass(frozen=True)
class CountQuestion:
    """``how many <things> does <subject> <verb>`` (no question mark: spoken form)."""

    pattern: ClassVar[str] = "count_question"
    thing: NounPhrase
    subject: Subject
    verb: Verb

    def __post_init__(self) -> None:
        if self.thing.determiner is not Determiner.HOW_MANY:
            raise ValueError("a count question needs a 'how many' noun phrase")


@dataclass(frozen=True)
class Company:
    """``<subject> is in the <place> with <companions>`` (German dative after "mit")."""

    pattern: ClassVar[str] = "company"
    subject: Subject
    place: Place
    companions: NounPhrase


Sentence = Union[Statement, FrontedTime, Report, Description, Existence, CountQuestion, Company]

PATTERNS: Dict[str, Type] = {
    cls.pattern: cls
    for cls in (Statement, FrontedTime, Report, Description, Existence, CountQuestion, Company)
}


@dataclass(frozen=True)
class RenderedSentence:
    """One sentence in the three languages, plus the name of its pattern."""

    pattern: str
    en: str
    it: str
    de: str

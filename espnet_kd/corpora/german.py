"""Render a structured sentence in German.

Rules implemented (those the lexicon needs):

- case: subjects nominative, objects (and "es gibt ...") accusative,
  "mit ..." dative, with the dative plural noun ending ("mit zwei hunden");
- articles der/die/das/den/dem, ein/eine/einen/einem/einer by case, gender, number;
- adjective endings: weak after the definite article, mixed after "ein",
  strong with no article (after a number or "wie viele");
  predicative adjectives are bare ("die äpfel sind rot");
- word order: verb second, so a fronted time phrase inverts subject and verb
  ("am montag kauft maria ..."); the time phrase opens the middle field
  ("maria kauft am montag drei äpfel"); in a "dass" clause the verb goes last
  ("ich weiß, dass maria am montag drei äpfel kauft");
- "in" + dem contracts to "im";
- numbers are German words; "one" takes the form of the indefinite article,
  and a final "eins" before a noun loses its "s" ("hundertein äpfel").

Lowercase (nouns included), comma before "dass", no final full stop.
"""

from __future__ import annotations

import enum
from typing import Callable, Dict, List, Type

from espnet_kd.corpora.lexicon import BE, Gender, Place
from espnet_kd.corpora.numbers import german_number_before_noun
from espnet_kd.corpora.sentences import (
    Action,
    Company,
    CountQuestion,
    Description,
    Determiner,
    Existence,
    FrontedTime,
    NounPhrase,
    Report,
    Sentence,
    Statement,
)


class Case(enum.Enum):
    """The three cases the grammar uses."""

    NOMINATIVE = "nom"
    ACCUSATIVE = "acc"
    DATIVE = "dat"


class Declension(enum.Enum):
    """Adjective declension, chosen by what precedes the adjective."""

    WEAK = "weak"  # after der/die/das
    MIXED = "mixed"  # after ein/eine
    STRONG = "strong"  # no article (numbers, "wie viele")


NOM, ACC, DAT = Case.NOMINATIVE, Case.ACCUSATIVE, Case.DATIVE
M, F, N = Gender.MASCULINE, Gender.FEMININE, Gender.NEUTER
PLURAL = "pl"  # key for plural in the tables below (gender does not matter there)

DEFINITE_ARTICLES = {
    NOM: {M: "der", F: "die", N: "das", PLURAL: "die"},
    ACC: {M: "den", F: "die", N: "das", PLURAL: "die"},
    DAT: {M: "dem", F: "der", N: "dem", PLURAL: "den"},
}
INDEFINITE_ARTICLES = {
    NOM: {M: "ein", F: "eine", N: "ein"},
    ACC: {M: "einen", F: "eine", N: "ein"},
    DAT: {M: "einem", F: "einer", N: "einem"},
}
ADJECTIVE_ENDINGS = {
    Declension.WEAK: {
        NOM: {M: "e", F: "e", N: "e", PLURAL: "en"},
        ACC: {M: "en", F: "e", N: "e", PLURAL: "en"},
        DAT: {M: "en", F: "en", N: "en", PLURAL: "en"},
    },
    Declension.MIXED: {
        NOM: {M: "er", F: "e", N: "es"},
        ACC: {M: "en", F: "e", N: "es"},
        DAT: {M: "en", F: "en", N: "en"},
    },
    Declension.STRONG: {
        NOM: {M: "er", F: "e", N: "es", PLURAL: "e"},
        ACC: {M: "en", F: "e", N: "es", PLURAL: "e"},
        DAT: {M: "em", F: "er", N: "em", PLURAL: "en"},
    },
}


def _slot(gender: Gender, plural: bool):
    """Table key: the gender in the singular, :data:`PLURAL` in the plural."""
    return PLURAL if plural else gender


def definite_article(case: Case, gender: Gender, plural: bool) -> str:
    """der/die/das/den/dem by case, gender and number."""
    return DEFINITE_ARTICLES[case][_slot(gender, plural)]


def indefinite_article(case: Case, gender: Gender) -> str:
    """ein/eine/einen/einem/einer by case and gender (singular only)."""
    return INDEFINITE_ARTICLES[case][gender]


def adjective_ending(declension: Declension, case: Case, gender: Gender, plural: bool) -> str:
    """The ending of an attributive adjective."""
    return ADJECTIVE_ENDINGS[declension][case][_slot(gender, plural)]


def in_place(place: Place) -> str:
    """"in the <place>" in the dative: "im garten", "in der küche"."""
    if place.de_gender is Gender.FEMININE:
        return f"in der {place.de}"
    return f"im {place.de}"


def noun_phrase(phrase: NounPhrase, case: Case) -> str:
    """German noun phrase in ``case``: determiner, adjectives with endings, noun."""
    noun, plural, determiner = phrase.noun, phrase.plural, phrase.determiner
    gender = noun.de_gender
    singular_indefinite = determiner is Determiner.INDEFINITE or (
        determiner is Determiner.COUNT and phrase.count == 1
    )
    head: List[str]
    if determiner is Determiner.DEFINITE:
        head, declension = [definite_article(case, gender, plural)], Declension.WEAK
    elif singular_indefinite:
        head, declension = [indefinite_article(case, gender)], Declension.MIXED
    elif determiner is Determiner.COUNT:
        head, declension = [german_number_before_noun(phrase.count)], Declension.STRONG  # type: ignore[arg-type]
    elif determiner is Determiner.DEFINITE_COUNT:
        head = [definite_article(case, gender, True), german_number_before_noun(phrase.count)]  # type: ignore[arg-type]
        declension = Declension.WEAK
    else:
        head, declension = ["wie", "viele"], Declension.STRONG
    ending = adjective_ending(declension, case, gender, plural)
    adjectives = [adjective.de_stem + ending for adjective in (phrase.size, phrase.colour) if adjective]
    if not plural:
        noun_form = noun.de_singular
    elif case is Case.DATIVE:
        noun_form = noun.de_dative_plural
    else:
        noun_form = noun.de_plural
    return " ".join(head + adjectives + [noun_form])


def _main_clause(action: Action) -> str:
    """Verb second, time phrase first in the middle field."""
    verb = action.verb.de[action.subject.person]
    return f"{action.subject.de} {verb} am {action.day.de} {noun_phrase(action.obj, ACC)}"


def _subordinate_clause(action: Action) -> str:
    """Verb last: "dass maria am montag drei äpfel kauft"."""
    verb = action.verb.de[action.subject.person]
    return f"dass {action.subject.de} am {action.day.de} {noun_phrase(action.obj, ACC)} {verb}"


def _statement(sentence: Statement) -> str:
    return _main_clause(sentence.action)


def _fronted_time(sentence: FrontedTime) -> str:
    action = sentence.action
    verb = action.verb.de[action.subject.person]
    return f"am {action.day.de} {verb} {action.subject.de} {noun_phrase(action.obj, ACC)}"


def _report(sentence: Report) -> str:
    verb = sentence.reporting_verb.de[sentence.reporter.person]
    return f"{sentence.reporter.de} {verb}, {_subordinate_clause(sentence.action)}"


def _description(sentence: Description) -> str:
    copula = "sind" if sentence.thing.plural else "ist"
    return f"{noun_phrase(sentence.thing, NOM)} {copula} {sentence.colour.de_stem}"


def _existence(sentence: Existence) -> str:
    return f"es gibt {noun_phrase(sentence.thing, ACC)} {in_place(sentence.place)}"


def _count_question(sentence: CountQuestion) -> str:
    verb = sentence.verb.de[sentence.subject.person]
    return f"{noun_phrase(sentence.thing, ACC)} {verb} {sentence.subject.de}"


def _company(sentence: Company) -> str:
    copula = BE.de[sentence.subject.person]
    return (f"{sentence.subject.de} {copula} mit {noun_phrase(sentence.companions, DAT)} "
            f"{in_place(sentence.place)}")


_RENDERERS: Dict[Type, Callable] = {
    Statement: _statement,
    FrontedTime: _fronted_time,
    Report: _report,
    Description: _description,
    Existence: _existence,
    CountQuestion: _count_question,
    Company: _company,
}


def render(sentence: Sentence) -> str:
    """The German translation of ``sentence``."""
    return _RENDERERS[type(sentence)](sentence)

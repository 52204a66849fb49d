"""Render a structured sentence as spoken English.

The result is the corpus's source text: lowercase words separated by single
spaces, numbers spelt out (:func:`espnet_kd.corpora.numbers.english_number`),
no punctuation. espeak-ng reads exactly this string.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Type

from espnet_kd.corpora.lexicon import BE, Person
from espnet_kd.corpora.numbers import english_number
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

VOWEL_LETTERS = "aeiou"


def indefinite_article(next_word: str) -> str:
    """"a" or "an" by the first letter of the next word (enough for this lexicon)."""
    return "an" if next_word[0] in VOWEL_LETTERS else "a"


def noun_phrase(phrase: NounPhrase) -> str:
    """English noun phrase: determiner, size, colour, noun."""
    words: List[str] = []
    if phrase.size is not None:
        words.append(phrase.size.en)
    if phrase.colour is not None:
        words.append(phrase.colour.en)
    words.append(phrase.noun.en_plural if phrase.plural else phrase.noun.en_singular)
    determiner = phrase.determiner
    if determiner is Determiner.DEFINITE:
        head = ["the"]
    elif determiner is Determiner.INDEFINITE:
        head = [indefinite_article(words[0])]
    elif determiner is Determiner.COUNT:
        head = [english_number(phrase.count)]  # type: ignore[arg-type]
    elif determiner is Determiner.DEFINITE_COUNT:
        head = ["the", english_number(phrase.count)]  # type: ignore[arg-type]
    else:
        head = ["how", "many"]
    return " ".join(head + words)


def _action_clause(action: Action) -> str:
    verb = action.verb.en[action.subject.person]
    return f"{action.subject.en} {verb} {noun_phrase(action.obj)} on {action.day.en}"


def _statement(sentence: Statement) -> str:
    return _action_clause(sentence.action)


def _fronted_time(sentence: FrontedTime) -> str:
    action = sentence.action
    verb = action.verb.en[action.subject.person]
    return f"on {action.day.en} {action.subject.en} {verb} {noun_phrase(action.obj)}"


def _report(sentence: Report) -> str:
    verb = sentence.reporting_verb.en[sentence.reporter.person]
    return f"{sentence.reporter.en} {verb} that {_action_clause(sentence.action)}"


def _description(sentence: Description) -> str:
    copula = "are" if sentence.thing.plural else "is"
    return f"{noun_phrase(sentence.thing)} {copula} {sentence.colour.en}"


def _existence(sentence: Existence) -> str:
    copula = "are" if sentence.thing.plural else "is"
    return f"there {copula} {noun_phrase(sentence.thing)} in the {sentence.place.en}"


def _count_question(sentence: CountQuestion) -> str:
    auxiliary = "does" if sentence.subject.person is Person.THIRD_SINGULAR else "do"
    return f"{noun_phrase(sentence.thing)} {auxiliary} {sentence.subject.en} {sentence.verb.en_base}"


def _company(sentence: Company) -> str:
    copula = BE.en[sentence.subject.person]
    return (f"{sentence.subject.en} {copula} in the {sentence.place.en} "
            f"with {noun_phrase(sentence.companions)}")


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
    """The spoken English form of ``sentence``."""
    return _RENDERERS[type(sentence)](sentence)

"""Render a structured sentence in Italian.

Rules implemented (those the lexicon needs):

- subject pronouns are dropped ("we see" -> "vediamo"); names stay;
- size adjectives precede the noun, colours follow it ("la piccola macchina rossa");
- articles agree in gender and number with the noun, and their form depends on
  the *next* word: il/lo/l', la/l', i/gli, le, un/uno, una/un'
  ("lo zaino", "l'ombrello", "gli zaini", "i tre zaini", "un'arancia");
- adjectives agree with the noun, also predicatively ("le mele sono rosse");
  *uovo* is masculine but *uova* feminine;
- "in" + article contracts: nel, nello, nell', nella;
- numbers are Italian words; "one" takes the form of the indefinite article.

Lowercase, no final full stop; apostrophes as in written Italian.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Type

from espnet_kd.corpora.lexicon import BE, Gender, Place, Subject
from espnet_kd.corpora.numbers import italian_number
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

VOWELS = "aeiouàèéìòù"


def starts_with_vowel(word: str) -> bool:
    """Whether ``word`` begins with a vowel (elision: l', un')."""
    return word[0] in VOWELS


def needs_lo(word: str) -> bool:
    """Whether a masculine ``word`` takes lo/uno/gli: s + consonant, z, gn, ps, pn, x, y."""
    if word.startswith(("z", "gn", "ps", "pn", "x", "y")):
        return True
    return len(word) > 1 and word[0] == "s" and word[1] not in VOWELS


def _join_article(article: str, next_word: str) -> str:
    """Attach an elided article ("l'", "un'") to the next word, otherwise add a space."""
    if article.endswith("'"):
        return article + next_word
    return f"{article} {next_word}"


def definite_article(gender: Gender, plural: bool, next_word: str) -> str:
    """il/lo/l'/la/i/gli/le, chosen by gender, number and the next word."""
    if gender is Gender.FEMININE:
        if plural:
            return "le"
        return "l'" if starts_with_vowel(next_word) else "la"
    if plural:
        return "gli" if starts_with_vowel(next_word) or needs_lo(next_word) else "i"
    if starts_with_vowel(next_word):
        return "l'"
    return "lo" if needs_lo(next_word) else "il"


def indefinite_article(gender: Gender, next_word: str) -> str:
    """un/uno/una/un', chosen by gender and the next word."""
    if gender is Gender.FEMININE:
        return "un'" if starts_with_vowel(next_word) else "una"
    return "uno" if needs_lo(next_word) else "un"


_IN_CONTRACTIONS = {"il": "nel", "lo": "nello", "l'": "nell'", "la": "nella",
                    "i": "nei", "gli": "negli", "le": "nelle"}


def in_place(place: Place) -> str:
    """"in the <place>" with the contracted preposition ("nel giardino", "nello studio")."""
    article = definite_article(place.it_gender, plural=False, next_word=place.it)
    return _join_article(_IN_CONTRACTIONS[article], place.it)


def noun_phrase(phrase: NounPhrase) -> str:
    """Italian noun phrase: determiner, size adjective, noun, colour adjective."""
    noun = phrase.noun
    gender = noun.it_gender_of(phrase.plural)
    words: List[str] = []
    if phrase.size is not None:
        words.append(phrase.size.it_form(gender, phrase.plural))
    words.append(noun.it_plural if phrase.plural else noun.it_singular)
    if phrase.colour is not None:
        words.append(phrase.colour.it_form(gender, phrase.plural))
    body = " ".join(words)
    determiner = phrase.determiner
    if determiner is Determiner.DEFINITE:
        return _join_article(definite_article(gender, phrase.plural, words[0]), body)
    if determiner is Determiner.INDEFINITE or (determiner is Determiner.COUNT and phrase.count == 1):
        return _join_article(indefinite_article(gender, words[0]), body)
    if determiner is Determiner.COUNT:
        return f"{italian_number(phrase.count)} {body}"  # type: ignore[arg-type]
    if determiner is Determiner.DEFINITE_COUNT:
        number = italian_number(phrase.count)  # type: ignore[arg-type]
        return f"{_join_article(definite_article(gender, True, number), number)} {body}"
    how_many = "quante" if gender is Gender.FEMININE else "quanti"
    return f"{how_many} {body}"


def _with_subject(subject: Subject, rest: str) -> str:
    """Prefix the subject unless it is a dropped pronoun."""
    return rest if subject.it is None else f"{subject.it} {rest}"


def _action_clause(action: Action) -> str:
    verb = action.verb.it[action.subject.person]
    return _with_subject(action.subject, f"{verb} {noun_phrase(action.obj)} {action.day.it}")


def _statement(sentence: Statement) -> str:
    return _action_clause(sentence.action)


def _fronted_time(sentence: FrontedTime) -> str:
    action = sentence.action
    verb = action.verb.it[action.subject.person]
    return f"{action.day.it} " + _with_subject(action.subject, f"{verb} {noun_phrase(action.obj)}")


def _report(sentence: Report) -> str:
    verb = sentence.reporting_verb.it[sentence.reporter.person]
    return _with_subject(sentence.reporter, f"{verb} che {_action_clause(sentence.action)}")


def _description(sentence: Description) -> str:
    thing = sentence.thing
    gender = thing.noun.it_gender_of(thing.plural)
    copula = "sono" if thing.plural else "è"
    return f"{noun_phrase(thing)} {copula} {sentence.colour.it_form(gender, thing.plural)}"


def _existence(sentence: Existence) -> str:
    there_is = "ci sono" if sentence.thing.plural else "c'è"
    return f"{there_is} {noun_phrase(sentence.thing)} {in_place(sentence.place)}"


def _count_question(sentence: CountQuestion) -> str:
    verb = sentence.verb.it[sentence.subject.person]
    subject: Optional[str] = sentence.subject.it
    tail = "" if subject is None else f" {subject}"
    return f"{noun_phrase(sentence.thing)} {verb}{tail}"


def _company(sentence: Company) -> str:
    copula = BE.it[sentence.subject.person]
    return _with_subject(
        sentence.subject,
        f"{copula} {in_place(sentence.place)} con {noun_phrase(sentence.companions)}",
    )


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
    """The Italian translation of ``sentence``."""
    return _RENDERERS[type(sentence)](sentence)

"""Draw random sentences from the corpus grammar and render them in three languages.

All randomness comes from the ``random.Random`` passed in (never the global
generator), so a seed fixes every sentence.
"""

from __future__ import annotations

import random
from typing import Callable, Dict, Iterator, Optional, Set, Tuple

from espnet_kd.corpora import english, german, italian, variants
from espnet_kd.corpora.lexicon import (
    ACTION_VERBS,
    COLOURS,
    DAYS,
    NAMES,
    NOUNS,
    PLACES,
    PRONOUNS,
    REPORTING_VERBS,
    SIZES,
    Adjective,
    Subject,
    name_subject,
)
from espnet_kd.corpora.numbers import sample_plural_quantity, sample_quantity
from espnet_kd.corpora.sentences import (
    PATTERNS,
    Action,
    Company,
    CountQuestion,
    Description,
    Determiner,
    Existence,
    FrontedTime,
    NounPhrase,
    RenderedSentence,
    Report,
    Sentence,
    Statement,
)

# How often each pattern is drawn (relative weights).
PATTERN_WEIGHTS: Dict[str, float] = {
    Statement.pattern: 0.20,
    FrontedTime.pattern: 0.15,
    Report.pattern: 0.15,
    Description.pattern: 0.13,
    Existence.pattern: 0.15,
    CountQuestion.pattern: 0.10,
    Company.pattern: 0.12,
}

# Longest English sentence (in words) the sampler keeps; longer draws (big
# numbers in long patterns) are redrawn so utterances stay under ~5 s.
MAX_ENGLISH_WORDS = 16
NAME_PROBABILITY = 0.6


def _maybe(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def sample_subject(rng: random.Random) -> Subject:
    """A personal name (60 %) or a pronoun."""
    if _maybe(rng, NAME_PROBABILITY):
        return name_subject(rng.choice(NAMES))
    return rng.choice(PRONOUNS)


def _sample_size(rng: random.Random, probability: float) -> Optional[Adjective]:
    return rng.choice(SIZES) if _maybe(rng, probability) else None


def _sample_colour(rng: random.Random, probability: float) -> Optional[Adjective]:
    return rng.choice(COLOURS) if _maybe(rng, probability) else None


def sample_noun_phrase(
    rng: random.Random,
    determiner_weights: Dict[Determiner, float],
    size_probability: float = 0.3,
    colour_probability: float = 0.6,
) -> NounPhrase:
    """A noun phrase whose determiner is drawn from ``determiner_weights``."""
    determiners = list(determiner_weights)
    determiner = rng.choices(determiners, weights=[determiner_weights[d] for d in determiners])[0]
    noun = rng.choice(NOUNS)
    size = _sample_size(rng, size_probability)
    colour = _sample_colour(rng, colour_probability)
    count: Optional[int] = None
    if determiner is Determiner.COUNT:
        count = sample_quantity(rng)
        plural = count != 1
    elif determiner is Determiner.DEFINITE_COUNT:
        count = sample_plural_quantity(rng)
        plural = True
    elif determiner is Determiner.HOW_MANY:
        plural = True
    elif determiner is Determiner.INDEFINITE:
        plural = False
    else:
        plural = _maybe(rng, 0.35)
    return NounPhrase(noun=noun, determiner=determiner, plural=plural, count=count, size=size, colour=colour)


OBJECT_DETERMINERS = {Determiner.COUNT: 0.55, Determiner.INDEFINITE: 0.2, Determiner.DEFINITE: 0.25}


def sample_action(rng: random.Random) -> Action:
    """Subject, action verb, object and day."""
    return Action(
        subject=sample_subject(rng),
        verb=rng.choice(ACTION_VERBS),
        obj=sample_noun_phrase(rng, OBJECT_DETERMINERS),
        day=rng.choice(DAYS),
    )


def _statement(rng: random.Random) -> Statement:
    return Statement(sample_action(rng))


def _fronted_time(rng: random.Random) -> FrontedTime:
    return FrontedTime(sample_action(rng))


def _report(rng: random.Random) -> Report:
    return Report(reporter=sample_subject(rng), reporting_verb=rng.choice(REPORTING_VERBS),
                  action=sample_action(rng))


def _description(rng: random.Random) -> Description:
    thing = sample_noun_phrase(rng, {Determiner.DEFINITE: 0.6, Determiner.DEFINITE_COUNT: 0.4},
                               size_probability=0.4, colour_probability=0.0)
    return Description(thing=thing, colour=rng.choice(COLOURS))


def _existence(rng: random.Random) -> Existence:
    thing = sample_noun_phrase(rng, {Determiner.COUNT: 0.65, Determiner.INDEFINITE: 0.35})
    return Existence(thing=thing, place=rng.choice(PLACES))


def _count_question(rng: random.Random) -> CountQuestion:
    thing = sample_noun_phrase(rng, {Determiner.HOW_MANY: 1.0}, size_probability=0.25,
                               colour_probability=0.5)
    return CountQuestion(thing=thing, subject=sample_subject(rng), verb=rng.choice(ACTION_VERBS))


def _company(rng: random.Random) -> Company:
    companions = sample_noun_phrase(
        rng, {Determiner.COUNT: 0.5, Determiner.INDEFINITE: 0.3, Determiner.DEFINITE: 0.2}
    )
    return Company(subject=sample_subject(rng), place=rng.choice(PLACES), companions=companions)


_SAMPLERS: Dict[str, Callable[[random.Random], Sentence]] = {
    Statement.pattern: _statement,
    FrontedTime.pattern: _fronted_time,
    Report.pattern: _report,
    Description.pattern: _description,
    Existence.pattern: _existence,
    CountQuestion.pattern: _count_question,
    Company.pattern: _company,
}
assert set(_SAMPLERS) == set(PATTERNS) == set(PATTERN_WEIGHTS)


def render_sentence(sentence: Sentence, variants_rng: Optional[random.Random] = None) -> RenderedSentence:
    """English (spoken form), Italian and German strings of ``sentence``.

    With ``variants_rng`` the translations take meaning-preserving alternatives drawn from it
    (:mod:`espnet_kd.corpora.variants`); the English is the same either way.
    """
    if variants_rng is None:
        it, de = italian.render(sentence), german.render(sentence)
    else:
        it, de = variants.italian_variant(sentence, variants_rng), variants.german_variant(sentence, variants_rng)
    return RenderedSentence(pattern=type(sentence).pattern, en=english.render(sentence), it=it, de=de)


def sample_sentence(rng: random.Random) -> Sentence:
    """One sentence: a pattern by :data:`PATTERN_WEIGHTS`, then its parts.

    Draws longer than :data:`MAX_ENGLISH_WORDS` English words are redrawn.
    """
    patterns = list(PATTERN_WEIGHTS)
    weights = [PATTERN_WEIGHTS[pattern] for pattern in patterns]
    while True:
        pattern = rng.choices(patterns, weights=weights)[0]
        sentence = _SAMPLERS[pattern](rng)
        if len(english.render(sentence).split()) <= MAX_ENGLISH_WORDS:
            return sentence


def sample_unique_sentences(rng: random.Random, count: int, exclude: Set[str] = frozenset(),
                            max_attempts_per_sentence: int = 1000,
                            variants_rng: Optional[random.Random] = None) -> Iterator[RenderedSentence]:
    """Yield ``count`` rendered sentences with distinct English text, none in ``exclude``.

    ``variants_rng``: translations with alternatives drawn from it, one draw per yielded
    sentence (``rng`` alone decides the English sentences).

    Raises ``RuntimeError`` if the grammar cannot supply that many (it can
    supply far more than any corpus size in use).
    """
    for _, rendered in sample_unique_trees(rng, count, exclude, max_attempts_per_sentence, variants_rng):
        yield rendered


def sample_unique_trees(rng: random.Random, count: int, exclude: Set[str] = frozenset(),
                        max_attempts_per_sentence: int = 1000,
                        variants_rng: Optional[random.Random] = None) -> Iterator[Tuple[Sentence, RenderedSentence]]:
    """:func:`sample_unique_sentences`, each rendered sentence with its tree (the same draws): the
    tree is what :func:`espnet_kd.corpora.variants.italian_alternatives` and ``german_alternatives`` read."""
    seen: Set[str] = set()
    misses = 0
    produced = 0
    while produced < count:
        sentence = sample_sentence(rng)
        rendered = render_sentence(sentence)
        if rendered.en in seen or rendered.en in exclude:
            misses += 1
            if misses > max_attempts_per_sentence * max(count, 1):
                raise RuntimeError(f"could only draw {produced} distinct sentences of {count}")
            continue
        seen.add(rendered.en)
        produced += 1
        yield sentence, (rendered if variants_rng is None else render_sentence(sentence, variants_rng))

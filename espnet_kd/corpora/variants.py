"""Translation variants: meaning-preserving alternatives a human translator may choose.

By default the embedded corpus's translations are a deterministic function of the
transcript (one rule set, one output). Real references are not: MuST-C has synonyms,
optional pronouns and free word order, so an MT teacher's distribution over them carries
more than its 1-best (the hypothesis word-level KD relies on). With
``translation_variants`` on (``make_mini_synth --translation_variants true``), every
utterance's Italian and German translations independently take each alternative below
with probability 1/2, drawn from the corpus seed (a random stream of its own per set, so
the English sentences, the audio and every other draw are those of the plain corpus).

Alternatives (each is a correct translation of the same English sentence):

================================  =======================================  ============================================
kind                              Italian                                  German
================================  =======================================  ============================================
time adverbial position           "luca compra tre mele lunedì" /          "luca kauft am montag drei äpfel" /
(statement ↔ fronted time)        "lunedì luca compra tre mele"            "am montag kauft luca drei äpfel"
explicit subject pronoun          "vediamo due gatti" / "noi vediamo ..."  — (German needs its pronoun)
(i, we, they)
synonyms                          macchina / auto, stanza / camera         auto / wagen, zimmer / raum, laden / geschäft
================================  =======================================  ============================================

The alternatives change the sentence *tree* the language's renderer reads (a pattern
swap, a pronoun made explicit, a noun or place replaced by its synonym with its own
gender), so articles, agreement and contractions stay right: "l'auto rossa",
"im raum", "nell'auto".

Every alternative of a sentence: :func:`italian_alternatives` and :func:`german_alternatives`
list every rendering the variant functions can draw (all combinations of the binary
choices, :data:`ITALIAN_CHOICES`, :data:`GERMAN_CHOICES`), for multi-reference scoring; the
corpus writes them per utterance with ``translation_variants`` on
(:mod:`espnet_kd.corpora.mini_synth`). A variant and the alternatives render through the same
per-choice tree transformations (:func:`render_italian`, :func:`render_german`).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from typing import Any, Callable, Dict, List, Sequence, Tuple

from espnet_kd.corpora import german, italian
from espnet_kd.corpora.lexicon import Gender, Noun, Place, Subject
from espnet_kd.corpora.sentences import FrontedTime, Sentence, Statement

# Italian synonyms by English word: (singular, plural) keeping the gender ("auto" is invariable).
IT_NOUN_SYNONYMS: Dict[str, tuple] = {"car": ("auto", "auto")}
IT_PLACE_SYNONYMS: Dict[str, tuple] = {"room": ("camera", Gender.FEMININE)}
# German synonyms by English word: (singular, plural, gender) / (form, gender).
DE_NOUN_SYNONYMS: Dict[str, tuple] = {"car": ("wagen", "wagen", Gender.MASCULINE)}
DE_PLACE_SYNONYMS: Dict[str, tuple] = {"room": ("raum", Gender.MASCULINE), "shop": ("geschäft", Gender.NEUTER)}
# Italian subject pronouns that the plain rules drop.
IT_EXPLICIT_PRONOUNS: Dict[str, str] = {"i": "io", "we": "noi", "they": "loro"}


def _map_tree(node: Any, leaf) -> Any:
    """``node`` with ``leaf`` applied to every Noun, Place and Subject in it (other dataclasses rebuilt)."""
    if isinstance(node, (Noun, Place, Subject)):
        return leaf(node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {field.name: _map_tree(getattr(node, field.name), leaf)
                   for field in dataclasses.fields(node) if field.init}
        return dataclasses.replace(node, **changes)
    return node


def _swap_time_position(sentence: Sentence) -> Sentence:
    """A statement as its fronted-time twin and back; other patterns unchanged."""
    if isinstance(sentence, Statement):
        return FrontedTime(sentence.action)
    if isinstance(sentence, FrontedTime):
        return Statement(sentence.action)
    return sentence


def _italian_synonyms(node: Any) -> Any:
    if isinstance(node, Noun) and node.en_singular in IT_NOUN_SYNONYMS:
        singular, plural = IT_NOUN_SYNONYMS[node.en_singular]
        return dataclasses.replace(node, it_singular=singular, it_plural=plural)
    if isinstance(node, Place) and node.en in IT_PLACE_SYNONYMS:
        form, gender = IT_PLACE_SYNONYMS[node.en]
        return dataclasses.replace(node, it=form, it_gender=gender)
    return node


def _italian_pronoun(node: Any) -> Any:
    if isinstance(node, Subject) and node.it is None and node.en in IT_EXPLICIT_PRONOUNS:
        return dataclasses.replace(node, it=IT_EXPLICIT_PRONOUNS[node.en])
    return node


def _german_synonyms(node: Any) -> Any:
    if isinstance(node, Noun) and node.en_singular in DE_NOUN_SYNONYMS:
        singular, plural, gender = DE_NOUN_SYNONYMS[node.en_singular]
        return dataclasses.replace(node, de_singular=singular, de_plural=plural, de_gender=gender)
    if isinstance(node, Place) and node.en in DE_PLACE_SYNONYMS:
        form, gender = DE_PLACE_SYNONYMS[node.en]
        return dataclasses.replace(node, de=form, de_gender=gender)
    return node


# The binary choices of each language, in the order a variant draws them: one tree
# transformation each, applied in this order when its choice is on (one place per concept,
# shared by the random variants and the list of every alternative).
_ITALIAN_CHOICES: Tuple[Tuple[str, Callable[[Sentence], Sentence]], ...] = (
    ("time_position", _swap_time_position),
    ("pronoun", lambda tree: _map_tree(tree, _italian_pronoun)),
    ("synonyms", lambda tree: _map_tree(tree, _italian_synonyms)),
)
_GERMAN_CHOICES: Tuple[Tuple[str, Callable[[Sentence], Sentence]], ...] = (
    ("time_position", _swap_time_position),
    ("synonyms", lambda tree: _map_tree(tree, _german_synonyms)),
)
ITALIAN_CHOICES: Tuple[str, ...] = tuple(name for name, _ in _ITALIAN_CHOICES)
GERMAN_CHOICES: Tuple[str, ...] = tuple(name for name, _ in _GERMAN_CHOICES)


def _choose(sentence: Sentence, transforms: Sequence[Tuple[str, Callable[[Sentence], Sentence]]],
            choices: Sequence[bool]) -> Sentence:
    """``sentence`` with the transformation of every choice that is on applied, in order."""
    if len(choices) != len(transforms):
        raise ValueError(f"{len(transforms)} choices ({', '.join(name for name, _ in transforms)}) "
                         f"needed, got {len(choices)}")
    tree = sentence
    for (_, transform), chosen in zip(transforms, choices):
        if chosen:
            tree = transform(tree)
    return tree


def _draw_choices(count: int, rng: random.Random) -> Tuple[bool, ...]:
    """``count`` choices, each on with probability 1/2: exactly ``count`` draws from ``rng``."""
    return tuple(rng.random() < 0.5 for _ in range(count))


def render_italian(sentence: Sentence, choices: Sequence[bool]) -> str:
    """The Italian of ``sentence`` with the alternatives ``choices`` (one bool per :data:`ITALIAN_CHOICES`)."""
    return italian.render(_choose(sentence, _ITALIAN_CHOICES, choices))


def render_german(sentence: Sentence, choices: Sequence[bool]) -> str:
    """The German of ``sentence`` with the alternatives ``choices`` (one bool per :data:`GERMAN_CHOICES`)."""
    return german.render(_choose(sentence, _GERMAN_CHOICES, choices))


def italian_variant(sentence: Sentence, rng: random.Random) -> str:
    """An Italian translation of ``sentence`` with each alternative taken at probability 1/2.

    Always draws three numbers from ``rng`` (order, pronoun, synonyms), whatever the pattern,
    so one utterance's draws never shift the next one's.
    """
    return render_italian(sentence, _draw_choices(len(ITALIAN_CHOICES), rng))


def german_variant(sentence: Sentence, rng: random.Random) -> str:
    """A German translation of ``sentence`` with each alternative at probability 1/2 (two draws)."""
    return render_german(sentence, _draw_choices(len(GERMAN_CHOICES), rng))


def italian_alternatives(sentence: Sentence) -> List[str]:
    """Every distinct Italian rendering :func:`italian_variant` can give ``sentence``, sorted.

    One per combination of the choices (2³, fewer when some coincide: a pattern without a
    time adverbial, a subject that is no pronoun, no word with a synonym).
    """
    return sorted({render_italian(sentence, choices)
                   for choices in itertools.product((False, True), repeat=len(ITALIAN_CHOICES))})


def german_alternatives(sentence: Sentence) -> List[str]:
    """Every distinct German rendering :func:`german_variant` can give ``sentence``, sorted (at most 2²)."""
    return sorted({render_german(sentence, choices)
                   for choices in itertools.product((False, True), repeat=len(GERMAN_CHOICES))})

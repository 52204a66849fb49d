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
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Dict

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


def italian_variant(sentence: Sentence, rng: random.Random) -> str:
    """An Italian translation of ``sentence`` with each alternative taken at probability 1/2.

    Always draws three numbers from ``rng`` (order, pronoun, synonyms), whatever the pattern,
    so one utterance's draws never shift the next one's.
    """
    swap, pronoun, synonyms = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
    tree = _swap_time_position(sentence) if swap else sentence
    if pronoun:
        tree = _map_tree(tree, _italian_pronoun)
    if synonyms:
        tree = _map_tree(tree, _italian_synonyms)
    return italian.render(tree)


def german_variant(sentence: Sentence, rng: random.Random) -> str:
    """A German translation of ``sentence`` with each alternative at probability 1/2 (two draws)."""
    swap, synonyms = rng.random() < 0.5, rng.random() < 0.5
    tree = _swap_time_position(sentence) if swap else sentence
    if synonyms:
        tree = _map_tree(tree, _german_synonyms)
    return german.render(tree)

"""Translation variants: hand-checked renderings, and a corpus whose English and audio do not change."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from espnet_kd.corpora import german, italian
from espnet_kd.corpora.lexicon import adjective, day, noun, place, subject, verb
from espnet_kd.corpora.mini_synth import iter_planned_sentences, parse_size, plan_corpus
from espnet_kd.corpora.sentences import Action, Determiner, Existence, NounPhrase, Statement
from espnet_kd.corpora.variants import (
    GERMAN_CHOICES,
    ITALIAN_CHOICES,
    german_alternatives,
    german_variant,
    italian_alternatives,
    italian_variant,
    render_german,
    render_italian,
)


class Draws:
    """A stand-in for random.Random that returns the given numbers and counts them."""

    def __init__(self, values):
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


STATEMENT = Statement(Action(subject("we"), verb("see"),
                             NounPhrase(noun("car"), Determiner.DEFINITE, colour=adjective("red")), day("monday")))


def test_every_alternative_by_hand():
    assert italian.render(STATEMENT) == "vediamo la macchina rossa lunedì"
    assert italian_variant(STATEMENT, Draws([0.1, 0.1, 0.1])) == "lunedì noi vediamo l'auto rossa"
    assert italian_variant(STATEMENT, Draws([0.9, 0.1, 0.9])) == "noi vediamo la macchina rossa lunedì"
    assert italian_variant(STATEMENT, Draws([0.9, 0.9, 0.9])) == italian.render(STATEMENT)
    assert german.render(STATEMENT) == "wir sehen am montag das rote auto"
    # the synonym brings its own gender: "den roten wagen" (masculine accusative)
    assert german_variant(STATEMENT, Draws([0.1, 0.1])) == "am montag sehen wir den roten wagen"
    assert german_variant(STATEMENT, Draws([0.9, 0.9])) == german.render(STATEMENT)
    existence = Existence(NounPhrase(noun("car"), Determiner.INDEFINITE), place("shop"))
    assert italian_variant(existence, Draws([0.1, 0.9, 0.1])) == "c'è un'auto nel negozio"
    assert german_variant(existence, Draws([0.9, 0.1])) == "es gibt einen wagen im geschäft"
    room = Existence(NounPhrase(noun("car"), Determiner.COUNT, plural=True, count=2), place("room"))
    assert italian_variant(room, Draws([0.9, 0.9, 0.1])) == "ci sono due auto nella camera"
    assert german_variant(room, Draws([0.9, 0.1])) == "es gibt zwei wagen im raum"


def test_a_fixed_number_of_draws_per_utterance():
    draws = Draws([0.9] * 5)
    italian_variant(Existence(NounPhrase(noun("cat"), Determiner.INDEFINITE), place("park")), draws)
    german_variant(STATEMENT, draws)
    assert len(draws.values) == 0


def test_variants_change_translations_only():
    plain = list(iter_planned_sentences("small", 0))
    varied = list(iter_planned_sentences("small", 0, translation_variants=True))
    assert [s.en for _, s in plain] == [s.en for _, s in varied]
    changed_it = sum(a.it != b.it for (_, a), (_, b) in zip(plain, varied))
    changed_de = sum(a.de != b.de for (_, a), (_, b) in zip(plain, varied))
    assert 0.2 * len(plain) < changed_it < 0.6 * len(plain) and 0.1 * len(plain) < changed_de < 0.5 * len(plain)
    # the synthesis plan (voices, rate, pitch, noise) is the same: the audio does not change
    sizes = parse_size("small")
    plan_a, plan_b = plan_corpus(sizes, 0, Path(".")), plan_corpus(sizes, 0, Path("."), translation_variants=True)
    for set_name in plan_a:
        assert [(u.utt_id, u.params) for u in plan_a[set_name]] == [(u.utt_id, u.params) for u in plan_b[set_name]]
    # deterministic from the seed
    assert varied == list(iter_planned_sentences("small", 0, translation_variants=True))


# ---------------------------------------------------------------- every alternative of a sentence

def test_every_alternative_of_a_statement_by_hand():
    """A statement with a time adverbial, a "we" subject and "car": 2 × 2 × 2 Italian renderings, 2 × 2 German."""
    assert italian_alternatives(STATEMENT) == [
        "lunedì noi vediamo l'auto rossa",
        "lunedì noi vediamo la macchina rossa",
        "lunedì vediamo l'auto rossa",
        "lunedì vediamo la macchina rossa",
        "noi vediamo l'auto rossa lunedì",
        "noi vediamo la macchina rossa lunedì",
        "vediamo l'auto rossa lunedì",
        "vediamo la macchina rossa lunedì",
    ]
    assert german_alternatives(STATEMENT) == [
        "am montag sehen wir das rote auto",
        "am montag sehen wir den roten wagen",
        "wir sehen am montag das rote auto",
        "wir sehen am montag den roten wagen",
    ]
    # a sentence where no choice applies has one alternative: its plain translation
    plain = Existence(NounPhrase(noun("cat"), Determiner.INDEFINITE), place("park"))
    assert italian_alternatives(plain) == [italian.render(plain)]
    assert german_alternatives(plain) == [german.render(plain)]


def test_a_variant_is_the_rendering_of_its_drawn_choices():
    for draws in itertools.product((0.1, 0.9), repeat=3):
        choices = tuple(value < 0.5 for value in draws)
        assert italian_variant(STATEMENT, Draws(draws)) == render_italian(STATEMENT, choices)
        assert german_variant(STATEMENT, Draws(draws[:2])) == render_german(STATEMENT, choices[:2])
    assert render_italian(STATEMENT, (False,) * len(ITALIAN_CHOICES)) == italian.render(STATEMENT)
    assert render_german(STATEMENT, (False,) * len(GERMAN_CHOICES)) == german.render(STATEMENT)


def _planned_trees():
    """A handful of planned sentences, one per pattern (the tiny corpus, variants on)."""
    by_pattern = {}
    for utterances in plan_corpus(parse_size("tiny"), 0, Path("."), translation_variants=True).values():
        for utt in utterances:
            by_pattern.setdefault(utt.sentence.pattern, utt)
    assert len(by_pattern) == 7
    return list(by_pattern.values())


def test_alternatives_are_exactly_what_the_variants_draw():
    for utt in _planned_trees():
        it_alternatives, de_alternatives = italian_alternatives(utt.tree), german_alternatives(utt.tree)
        assert it_alternatives == sorted(set(it_alternatives)) and de_alternatives == sorted(set(de_alternatives))
        # the planned (drawn) translation is one of them
        assert utt.sentence.it in it_alternatives and utt.sentence.de in de_alternatives
        rng = random.Random(utt.utt_id)
        drawn_it = {italian_variant(utt.tree, rng) for _ in range(200)}
        drawn_de = {german_variant(utt.tree, rng) for _ in range(200)}
        # every draw is an alternative, and every alternative is drawn (each has probability at
        # least 1/8 a draw: 200 draws miss one of at most 8 with probability below 1e-10)
        assert drawn_it == set(it_alternatives), utt.utt_id
        assert drawn_de == set(de_alternatives), utt.utt_id

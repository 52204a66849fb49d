"""Translation variants: hand-checked renderings, and a corpus whose English and audio do not change."""

from __future__ import annotations

from pathlib import Path

from espnet_kd.corpora import german, italian
from espnet_kd.corpora.lexicon import adjective, day, noun, place, subject, verb
from espnet_kd.corpora.mini_synth import iter_planned_sentences, parse_size, plan_corpus
from espnet_kd.corpora.sentences import Action, Determiner, Existence, NounPhrase, Statement
from espnet_kd.corpora.variants import german_variant, italian_variant


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

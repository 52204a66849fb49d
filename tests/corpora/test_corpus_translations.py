"""Hand-checked English / Italian / German renderings of sentences built explicitly."""

from __future__ import annotations

from typing import Optional

import pytest

from espnet_kd.corpora.grammar import render_sentence
from espnet_kd.corpora.lexicon import adjective, day, noun, place, subject, verb
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
    Statement,
)


def np_(word: str, determiner: Determiner, plural: bool = False, count: Optional[int] = None,
        size: Optional[str] = None, colour: Optional[str] = None) -> NounPhrase:
    """A noun phrase from English words."""
    return NounPhrase(
        noun=noun(word),
        determiner=determiner,
        plural=plural,
        count=count,
        size=adjective(size) if size else None,
        colour=adjective(colour) if colour else None,
    )


def count_np(word: str, count: int, size: Optional[str] = None, colour: Optional[str] = None) -> NounPhrase:
    return np_(word, Determiner.COUNT, plural=count != 1, count=count, size=size, colour=colour)


def action(who: str, what: str, obj: NounPhrase, when: str) -> Action:
    return Action(subject=subject(who), verb=verb(what), obj=obj, day=day(when))


CASES = [
    # statement: Italian colour after the noun, plural agreement; German time phrase before the object
    (Statement(action("maria", "buy", count_np("apple", 3, colour="red"), "monday")),
     "maria buys three red apples on monday",
     "maria compra tre mele rosse lunedì",
     "maria kauft am montag drei rote äpfel"),
    # report: German verb-final subordinate clause, Italian "che" + indicative, pronoun dropped
    (Report(subject("i"), verb("know"), action("maria", "buy", count_np("apple", 3, colour="red"), "monday")),
     "i know that maria buys three red apples on monday",
     "so che maria compra tre mele rosse lunedì",
     "ich weiß, dass maria am montag drei rote äpfel kauft"),
    (Report(subject("anna"), verb("say"),
            action("we", "find", np_("umbrella", Determiner.DEFINITE, size="old"), "friday")),
     "anna says that we find the old umbrella on friday",
     "anna dice che troviamo il vecchio ombrello venerdì",
     "anna sagt, dass wir am freitag den alten regenschirm finden"),
    # fronted time: German inversion (verb second), Italian pro-drop
    (FrontedTime(action("they", "sell", np_("umbrella", Determiner.INDEFINITE), "sunday")),
     "on sunday they sell an umbrella",
     "domenica vendono un ombrello",
     "am sonntag verkaufen sie einen regenschirm"),
    (FrontedTime(action("i", "see", np_("orange", Determiner.INDEFINITE, size="small", colour="yellow"), "tuesday")),
     "on tuesday i see a small yellow orange",
     "martedì vedo una piccola arancia gialla",
     "am dienstag sehe ich eine kleine gelbe orange"),
    (FrontedTime(action("we", "have", np_("orange", Determiner.DEFINITE), "monday")),
     "on monday we have the orange",
     "lunedì abbiamo l'arancia",
     "am montag haben wir die orange"),
    # description: predicative agreement in Italian, bare predicative adjective in German
    (Description(np_("car", Determiner.DEFINITE_COUNT, plural=True, count=2, size="small"), adjective("green")),
     "the two small cars are green",
     "le due piccole macchine sono verdi",
     "die zwei kleinen autos sind grün"),
    (Description(np_("egg", Determiner.DEFINITE), adjective("white")),
     "the egg is white",
     "l'uovo è bianco",
     "das ei ist weiß"),
    (Description(np_("egg", Determiner.DEFINITE, plural=True), adjective("white")),
     "the eggs are white",
     "le uova sono bianche",
     "die eier sind weiß"),
    (Description(np_("backpack", Determiner.DEFINITE_COUNT, plural=True, count=11), adjective("grey")),
     "the eleven backpacks are grey",
     "gli undici zaini sono grigi",
     "die elf rucksäcke sind grau"),
    (Description(np_("backpack", Determiner.DEFINITE_COUNT, plural=True, count=3), adjective("black")),
     "the three backpacks are black",
     "i tre zaini sono neri",
     "die drei rucksäcke sind schwarz"),
    (Description(np_("backpack", Determiner.DEFINITE), adjective("blue")),
     "the backpack is blue",
     "lo zaino è blu",
     "der rucksack ist blau"),
    # existence: Italian articulated prepositions, German accusative after "es gibt" and dative place
    (Existence(np_("umbrella", Determiner.INDEFINITE, size="old"), place("study")),
     "there is an old umbrella in the study",
     "c'è un vecchio ombrello nello studio",
     "es gibt einen alten regenschirm im arbeitszimmer"),
    (Existence(count_np("dog", 101, colour="black"), place("office")),
     "there are one hundred and one black dogs in the office",
     "ci sono centouno cani neri nell'ufficio",
     "es gibt einhundertein schwarze hunde im büro"),
    (Existence(count_np("apple", 1, colour="red"), place("kitchen")),
     "there is one red apple in the kitchen",
     "c'è una mela rossa nella cucina",
     "es gibt einen roten apfel in der küche"),
    (Existence(np_("mirror", Determiner.INDEFINITE), place("garden")),
     "there is a mirror in the garden",
     "c'è uno specchio nel giardino",
     "es gibt einen spiegel im garten"),
    (Existence(np_("book", Determiner.INDEFINITE, size="big"), place("room")),
     "there is a big book in the room",
     "c'è un grande libro nella stanza",
     "es gibt ein großes buch im zimmer"),
    # count question: Italian quanti/quante by gender (uova is feminine), German strong plural
    (CountQuestion(np_("egg", Determiner.HOW_MANY, plural=True, colour="white"), subject("anna"), verb("have")),
     "how many white eggs does anna have",
     "quante uova bianche ha anna",
     "wie viele weiße eier hat anna"),
    (CountQuestion(np_("backpack", Determiner.HOW_MANY, plural=True), subject("we"), verb("bring")),
     "how many backpacks do we bring",
     "quanti zaini portiamo",
     "wie viele rucksäcke bringen wir"),
    # company: German dative after "mit" (adjective -en, plural noun -n)
    (Company(subject("we"), place("garden"), count_np("dog", 2, colour="black")),
     "we are in the garden with two black dogs",
     "siamo nel giardino con due cani neri",
     "wir sind mit zwei schwarzen hunden im garten"),
    (Company(subject("i"), place("kitchen"), np_("cat", Determiner.INDEFINITE, size="small")),
     "i am in the kitchen with a small cat",
     "sono nella cucina con un piccolo gatto",
     "ich bin mit einer kleinen katze in der küche"),
    (Company(subject("maria"), place("park"), np_("car", Determiner.DEFINITE, size="new")),
     "maria is in the park with the new car",
     "maria è nel parco con la nuova macchina",
     "maria ist mit dem neuen auto im park"),
    # number words from num2words in each language
    (Statement(action("paolo", "have", count_np("book", 2345), "saturday")),
     "paolo has two thousand three hundred and forty five books on saturday",
     "paolo ha duemilatrecentoquarantacinque libri sabato",
     "paolo hat am samstag zweitausenddreihundertfünfundvierzig bücher"),
]


@pytest.mark.parametrize("sentence, english, italian, german", CASES,
                         ids=[case[1].replace(" ", "_") for case in CASES])
def test_hand_checked_translation(sentence, english, italian, german):
    rendered = render_sentence(sentence)
    assert rendered.en == english
    assert rendered.it == italian
    assert rendered.de == german
    assert rendered.pattern == type(sentence).pattern


def test_noun_phrase_rejects_inconsistent_number():
    with pytest.raises(ValueError):
        NounPhrase(noun("apple"), Determiner.COUNT, plural=False, count=3)
    with pytest.raises(ValueError):
        NounPhrase(noun("apple"), Determiner.INDEFINITE, plural=True)
    with pytest.raises(ValueError):
        NounPhrase(noun("apple"), Determiner.DEFINITE_COUNT, plural=True, count=1)
    with pytest.raises(ValueError):
        NounPhrase(noun("apple"), Determiner.DEFINITE, colour=adjective("big"))

"""The word list of the synthetic corpus, in English, Italian and German.

Every entry carries what the renderers need to inflect it: the gender of a
noun in each target language (Italian and German genders differ, and Italian
*uovo* is masculine in the singular but feminine in the plural), the four
Italian adjective forms, the German adjective stem, and verb forms per person.
All strings are lowercase; German nouns are lowercase too, because the corpus
texts are.

The vocabulary is kept small on purpose: a model trained on one or two thousand
utterances should see every word many times.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple, TypeVar


class Gender(enum.Enum):
    """Grammatical gender of a noun in one language."""

    MASCULINE = "m"
    FEMININE = "f"
    NEUTER = "n"


class Person(enum.Enum):
    """The persons the grammar uses for subjects (no second person)."""

    FIRST_SINGULAR = "1sg"
    THIRD_SINGULAR = "3sg"
    FIRST_PLURAL = "1pl"
    THIRD_PLURAL = "3pl"

    @property
    def is_plural(self) -> bool:
        """Whether the person is plural (we, they)."""
        return self in (Person.FIRST_PLURAL, Person.THIRD_PLURAL)


class AdjectiveKind(enum.Enum):
    """Where an adjective goes in Italian: size/age before the noun, colour after it."""

    SIZE = "size"
    COLOUR = "colour"


@dataclass(frozen=True)
class Noun:
    """A countable noun: singular and plural forms with their genders per language."""

    en_singular: str
    en_plural: str
    it_singular: str
    it_plural: str
    it_gender: Gender
    de_singular: str
    de_plural: str
    de_gender: Gender
    it_plural_gender_if_different: Optional[Gender] = None

    def it_gender_of(self, plural: bool) -> Gender:
        """Italian gender of the singular or plural form (``uova`` is feminine)."""
        if plural and self.it_plural_gender_if_different is not None:
            return self.it_plural_gender_if_different
        return self.it_gender

    @property
    def de_dative_plural(self) -> str:
        """German dative plural: the plural plus ``-n`` unless it ends in ``-n`` or ``-s``."""
        if self.de_plural.endswith(("n", "s")):
            return self.de_plural
        return self.de_plural + "n"


@dataclass(frozen=True)
class Place:
    """A location used after "in the" (singular only)."""

    en: str
    it: str
    it_gender: Gender
    de: str
    de_gender: Gender


@dataclass(frozen=True)
class Adjective:
    """An adjective: English form, Italian (m.sg, f.sg, m.pl, f.pl) forms, German stem."""

    en: str
    kind: AdjectiveKind
    it_forms: Tuple[str, str, str, str]
    de_stem: str

    def it_form(self, gender: Gender, plural: bool) -> str:
        """The Italian form agreeing with ``gender`` and number."""
        feminine = gender is Gender.FEMININE
        return self.it_forms[(2 if plural else 0) + (1 if feminine else 0)]


@dataclass(frozen=True)
class Verb:
    """A verb with its present-tense forms per person in each language.

    ``en_base`` is the bare form used after "do/does" in questions.
    """

    en_base: str
    en: Dict[Person, str]
    it: Dict[Person, str]
    de: Dict[Person, str]

    def __hash__(self) -> int:
        return hash(self.en_base)


@dataclass(frozen=True)
class Subject:
    """A sentence subject: a personal name (third person singular) or a pronoun.

    Italian drops subject pronouns (``it`` is then ``None``); names are kept.
    """

    en: str
    person: Person
    it: Optional[str]
    de: str

    @property
    def is_name(self) -> bool:
        """Whether the subject is a personal name rather than a pronoun."""
        return self.person is Person.THIRD_SINGULAR


@dataclass(frozen=True)
class Day:
    """A day of the week."""

    en: str
    it: str
    de: str


def _regular_verb(en_base: str, it_forms: Tuple[str, str, str, str], de_forms: Tuple[str, str, str, str],
                  en_third: str = "") -> Verb:
    """Build a :class:`Verb`; person order in the tuples is 1sg, 3sg, 1pl, 3pl."""
    persons = (Person.FIRST_SINGULAR, Person.THIRD_SINGULAR, Person.FIRST_PLURAL, Person.THIRD_PLURAL)
    third = en_third or en_base + "s"
    en_forms = (en_base, third, en_base, en_base)
    return Verb(
        en_base=en_base,
        en=dict(zip(persons, en_forms)),
        it=dict(zip(persons, it_forms)),
        de=dict(zip(persons, de_forms)),
    )


M, F, N = Gender.MASCULINE, Gender.FEMININE, Gender.NEUTER

NOUNS: Tuple[Noun, ...] = (
    Noun("apple", "apples", "mela", "mele", F, "apfel", "äpfel", M),
    Noun("book", "books", "libro", "libri", M, "buch", "bücher", N),
    Noun("car", "cars", "macchina", "macchine", F, "auto", "autos", N),
    Noun("cat", "cats", "gatto", "gatti", M, "katze", "katzen", F),
    Noun("dog", "dogs", "cane", "cani", M, "hund", "hunde", M),
    Noun("chair", "chairs", "sedia", "sedie", F, "stuhl", "stühle", M),
    Noun("flower", "flowers", "fiore", "fiori", M, "blume", "blumen", F),
    Noun("bottle", "bottles", "bottiglia", "bottiglie", F, "flasche", "flaschen", F),
    Noun("letter", "letters", "lettera", "lettere", F, "brief", "briefe", M),
    Noun("hat", "hats", "cappello", "cappelli", M, "hut", "hüte", M),
    Noun("glass", "glasses", "bicchiere", "bicchieri", M, "glas", "gläser", N),
    Noun("key", "keys", "chiave", "chiavi", F, "schlüssel", "schlüssel", M),
    Noun("umbrella", "umbrellas", "ombrello", "ombrelli", M, "regenschirm", "regenschirme", M),
    Noun("orange", "oranges", "arancia", "arance", F, "orange", "orangen", F),
    Noun("backpack", "backpacks", "zaino", "zaini", M, "rucksack", "rucksäcke", M),
    Noun("mirror", "mirrors", "specchio", "specchi", M, "spiegel", "spiegel", M),
    Noun("egg", "eggs", "uovo", "uova", M, "ei", "eier", N, it_plural_gender_if_different=F),
)

PLACES: Tuple[Place, ...] = (
    Place("kitchen", "cucina", F, "küche", F),
    Place("garden", "giardino", M, "garten", M),
    Place("room", "stanza", F, "zimmer", N),
    Place("shop", "negozio", M, "laden", M),
    Place("school", "scuola", F, "schule", F),
    Place("office", "ufficio", M, "büro", N),
    Place("park", "parco", M, "park", M),
    Place("study", "studio", M, "arbeitszimmer", N),
)

COLOURS: Tuple[Adjective, ...] = (
    Adjective("red", AdjectiveKind.COLOUR, ("rosso", "rossa", "rossi", "rosse"), "rot"),
    Adjective("black", AdjectiveKind.COLOUR, ("nero", "nera", "neri", "nere"), "schwarz"),
    Adjective("white", AdjectiveKind.COLOUR, ("bianco", "bianca", "bianchi", "bianche"), "weiß"),
    Adjective("yellow", AdjectiveKind.COLOUR, ("giallo", "gialla", "gialli", "gialle"), "gelb"),
    Adjective("green", AdjectiveKind.COLOUR, ("verde", "verde", "verdi", "verdi"), "grün"),
    Adjective("blue", AdjectiveKind.COLOUR, ("blu", "blu", "blu", "blu"), "blau"),
    Adjective("grey", AdjectiveKind.COLOUR, ("grigio", "grigia", "grigi", "grigie"), "grau"),
)

SIZES: Tuple[Adjective, ...] = (
    Adjective("small", AdjectiveKind.SIZE, ("piccolo", "piccola", "piccoli", "piccole"), "klein"),
    Adjective("big", AdjectiveKind.SIZE, ("grande", "grande", "grandi", "grandi"), "groß"),
    Adjective("new", AdjectiveKind.SIZE, ("nuovo", "nuova", "nuovi", "nuove"), "neu"),
    Adjective("old", AdjectiveKind.SIZE, ("vecchio", "vecchia", "vecchi", "vecchie"), "alt"),
)

ACTION_VERBS: Tuple[Verb, ...] = (
    _regular_verb("buy", ("compro", "compra", "compriamo", "comprano"), ("kaufe", "kauft", "kaufen", "kaufen")),
    _regular_verb("see", ("vedo", "vede", "vediamo", "vedono"), ("sehe", "sieht", "sehen", "sehen")),
    _regular_verb("sell", ("vendo", "vende", "vendiamo", "vendono"),
                  ("verkaufe", "verkauft", "verkaufen", "verkaufen")),
    _regular_verb("find", ("trovo", "trova", "troviamo", "trovano"), ("finde", "findet", "finden", "finden")),
    _regular_verb("have", ("ho", "ha", "abbiamo", "hanno"), ("habe", "hat", "haben", "haben"), en_third="has"),
    _regular_verb("bring", ("porto", "porta", "portiamo", "portano"),
                  ("bringe", "bringt", "bringen", "bringen")),
    _regular_verb("paint", ("dipingo", "dipinge", "dipingiamo", "dipingono"),
                  ("male", "malt", "malen", "malen")),
)

# Verbs that introduce a "that" clause. Both take the indicative in Italian
# ("so che", "dice che"); "think" would need the subjunctive, so it is left out.
REPORTING_VERBS: Tuple[Verb, ...] = (
    _regular_verb("say", ("dico", "dice", "diciamo", "dicono"), ("sage", "sagt", "sagen", "sagen")),
    _regular_verb("know", ("so", "sa", "sappiamo", "sanno"), ("weiß", "weiß", "wissen", "wissen")),
)

BE = Verb(
    en_base="be",
    en={Person.FIRST_SINGULAR: "am", Person.THIRD_SINGULAR: "is",
        Person.FIRST_PLURAL: "are", Person.THIRD_PLURAL: "are"},
    it={Person.FIRST_SINGULAR: "sono", Person.THIRD_SINGULAR: "è",
        Person.FIRST_PLURAL: "siamo", Person.THIRD_PLURAL: "sono"},
    de={Person.FIRST_SINGULAR: "bin", Person.THIRD_SINGULAR: "ist",
        Person.FIRST_PLURAL: "sind", Person.THIRD_PLURAL: "sind"},
)

NAMES: Tuple[str, ...] = ("maria", "paolo", "anna", "marco", "laura", "peter", "julia", "luca")

PRONOUNS: Tuple[Subject, ...] = (
    Subject("i", Person.FIRST_SINGULAR, None, "ich"),
    Subject("we", Person.FIRST_PLURAL, None, "wir"),
    Subject("they", Person.THIRD_PLURAL, None, "sie"),
)


def name_subject(name: str) -> Subject:
    """A subject made from a personal name (same spelling in every language)."""
    return Subject(name, Person.THIRD_SINGULAR, name, name)


DAYS: Tuple[Day, ...] = (
    Day("monday", "lunedì", "montag"),
    Day("tuesday", "martedì", "dienstag"),
    Day("wednesday", "mercoledì", "mittwoch"),
    Day("thursday", "giovedì", "donnerstag"),
    Day("friday", "venerdì", "freitag"),
    Day("saturday", "sabato", "samstag"),
    Day("sunday", "domenica", "sonntag"),
)


def lexicon_entries() -> Dict[str, Tuple[str, ...]]:
    """Every lexical entry (English citation form) by category, for inspection and tests.

    Number words are not listed: they come from ``num2words``.
    """
    return {
        "noun": tuple(noun.en_singular for noun in NOUNS),
        "place": tuple(place.en for place in PLACES),
        "colour": tuple(adjective.en for adjective in COLOURS),
        "size": tuple(adjective.en for adjective in SIZES),
        "verb": tuple(verb.en_base for verb in ACTION_VERBS + REPORTING_VERBS + (BE,)),
        "name": NAMES,
        "pronoun": tuple(pronoun.en for pronoun in PRONOUNS),
        "day": tuple(day.en for day in DAYS),
    }


def lexicon_size() -> int:
    """Number of lexical entries (not counting number words)."""
    return sum(len(entries) for entries in lexicon_entries().values())


_Entry = TypeVar("_Entry")


def _find(entries: Sequence[_Entry], key: Callable[[_Entry], str], word: str, kind: str) -> _Entry:
    for entry in entries:
        if key(entry) == word:
            return entry
    raise KeyError(f"no {kind} {word!r} in the lexicon")


def noun(english: str) -> Noun:
    """The noun whose English singular is ``english``."""
    return _find(NOUNS, lambda entry: entry.en_singular, english, "noun")


def adjective(english: str) -> Adjective:
    """The colour or size adjective ``english``."""
    return _find(COLOURS + SIZES, lambda entry: entry.en, english, "adjective")


def verb(english: str) -> Verb:
    """The verb whose English base form is ``english`` (action, reporting, or "be")."""
    return _find(ACTION_VERBS + REPORTING_VERBS + (BE,), lambda entry: entry.en_base, english, "verb")


def place(english: str) -> Place:
    """The place ``english``."""
    return _find(PLACES, lambda entry: entry.en, english, "place")


def day(english: str) -> Day:
    """The day ``english``."""
    return _find(DAYS, lambda entry: entry.en, english, "day")


def subject(english: str) -> Subject:
    """A pronoun ("i", "we", "they") or a name from :data:`NAMES`."""
    if english in NAMES:
        return name_subject(english)
    return _find(PRONOUNS, lambda entry: entry.en, english, "subject")

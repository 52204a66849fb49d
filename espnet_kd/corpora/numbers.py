"""Number words and the distribution of quantities in the corpus.

English number words are the *spoken form* that espeak-ng reads and ASR learns:
``num2words`` output with commas removed and hyphens turned into spaces
("two thousand three hundred and forty five"). Italian and German number words
are ``num2words`` output as is ("duemilatrecentoquarantacinque",
"zweitausenddreihundertfünfundvierzig").
"""

from __future__ import annotations

import random

from num2words import num2words

MIN_QUANTITY = 0
MAX_QUANTITY = 9999

# (probability, lowest, highest): small numbers dominate so that the number words
# a small model has to learn ("two" ... "twelve", the tens) occur often, while
# hundreds and thousands still appear in every few sentences.
QUANTITY_BANDS = (
    (0.02, 0, 0),
    (0.03, 1, 1),
    (0.47, 2, 12),
    (0.08, 13, 19),
    (0.22, 20, 99),
    (0.12, 100, 999),
    (0.06, 1000, 9999),
)


def _check_range(number: int) -> None:
    if not MIN_QUANTITY <= number <= MAX_QUANTITY:
        raise ValueError(f"number {number} is outside {MIN_QUANTITY}..{MAX_QUANTITY}")


def english_number(number: int) -> str:
    """Spoken English form: lowercase words, no commas, no hyphens."""
    _check_range(number)
    words = num2words(number, lang="en").replace(",", "").replace("-", " ")
    return " ".join(words.split())


def italian_number(number: int) -> str:
    """Italian number word, as ``num2words`` writes it ("ventitré", "duemila")."""
    _check_range(number)
    return num2words(number, lang="it")


def german_number(number: int) -> str:
    """German cardinal as ``num2words`` writes it ("einundzwanzig", "eins")."""
    _check_range(number)
    return num2words(number, lang="de")


def german_number_before_noun(number: int) -> str:
    """German cardinal used attributively: a final "eins" loses its "s" ("hunderteins" -> "hundertein")."""
    words = german_number(number)
    if number != 1 and words.endswith("eins"):
        return words[: -len("s")]
    return words


def sample_quantity(rng: random.Random) -> int:
    """Draw a quantity in 0..9999 from :data:`QUANTITY_BANDS`."""
    draw = rng.random()
    cumulative = 0.0
    for probability, low, high in QUANTITY_BANDS:
        cumulative += probability
        if draw < cumulative:
            return rng.randint(low, high)
    _, low, high = QUANTITY_BANDS[-1]
    return rng.randint(low, high)


def sample_plural_quantity(rng: random.Random) -> int:
    """Draw a quantity of at least two (for "the three apples")."""
    while True:
        number = sample_quantity(rng)
        if number >= 2:
            return number

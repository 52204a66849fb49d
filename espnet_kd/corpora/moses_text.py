"""Text normalisation as ESPnet's MuST-C recipe does it, written from the published rules.

ESPnet (``egs/must_c/st1/local/data_prep.sh``, used by ``egs2/must_c/st1``) runs, per language:

1. Moses ``normalize-punctuation.perl -l LANG`` (:func:`normalize_punctuation`);
2. Moses ``lowercase.perl`` (:func:`lowercase`), for the ``lc`` and ``lc.rm`` styles;
3. ESPnet ``utils/remove_punctuation.pl`` (:func:`remove_punctuation`), for ``lc.rm``.

The Moses script works on bytes (no ``use utf8``), so its ``[a-z]``, ``\\d`` and ``\\s`` are
ASCII-only; the "pseudo-space" rules are about the no-break space U+00A0. ESPnet's
``remove_punctuation.pl`` decodes UTF-8, so its ``[[:punct:]]`` is Perl's Unicode
``XPosixPunct``: every ASCII punctuation character (symbols such as ``$ + < = > ^ ` | ~``
included) and, beyond ASCII, the Unicode *punctuation* categories (``P*``: ``¿ « — …``)
but not the *symbol* ones (``S*``: ``♫ ♪ € £ ° ©`` survive).

Not done here (as in :mod:`espnet_kd.corpora.must_c`): Moses ``tokenizer.perl``, which
ESPnet applies after these steps.
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Callable, List, Tuple, Union

NBSP = "\u00a0"
Rule = Tuple["re.Pattern[str]", Union[str, Callable[["re.Match[str]"], str]]]
_SPACES = (re.compile(" +"), " ")


def _rules(pairs: List[Tuple[str, str]]) -> List[Rule]:
    return [(re.compile(pattern), replacement) for pattern, replacement in pairs]


# Moses "remove extra spaces": space outside brackets, none inside, none before : ; and after a digit before %.
_EXTRA_SPACES = _rules([
    (r"\r", ""), (r"\(", " ("), (r"\)", ") "), (" +", " "), (r"\) ([.!:?;,])", r")\1"),
    (r"\( ", "("), (r" \)", ")"), (r"([0-9]) %", r"\1%"), (" :", ":"), (" ;", ";"),
])
# Moses (not -penn): backquote to apostrophe, a doubled apostrophe to a spaced double quote.
_NOT_PENN = _rules([("`", "'"), ("''", ' " ')])
# Typographic quotes, dashes and the ellipsis; an apostrophe-like mark is an apostrophe only
# between two ASCII letters, elsewhere a double quote.
_UNICODE_PUNCTUATION = _rules([
    ("\u201e", '"'), ("\u201c", '"'), ("\u201d", '"'), ("\u2013", "-"), ("\u2014", " - "), (" +", " "),
    ("\u00b4", "'"), ("([A-Za-z])\u2018([A-Za-z])", r"\1'\2"), ("([A-Za-z])\u2019([A-Za-z])", r"\1'\2"),
    ("\u2018", '"'), ("\u201a", '"'), ("\u2019", '"'), ("''", '"'), ("\u00b4\u00b4", '"'), ("\u2026", "..."),
])
# French quotes, with and without the no-break spaces around them.
_FRENCH_QUOTES = _rules([
    (f"{NBSP}\u00ab{NBSP}", ' "'), (f"\u00ab{NBSP}", '"'), ("\u00ab", '"'),
    (f"{NBSP}\u00bb{NBSP}", '" '), (f"{NBSP}\u00bb", '"'), ("\u00bb", '"'),
])
# No-break spaces: removed before % : ? ! ;, a plain space after nº and "," and before ºC and cm.
_PSEUDO_SPACES = _rules([
    (f"{NBSP}%", "%"), (f"n\u00ba{NBSP}", "n\u00ba "), (f"{NBSP}:", ":"), (f"{NBSP}\u00baC", " \u00baC"),
    (f"{NBSP}cm", " cm"), (f"{NBSP}\\?", "?"), (f"{NBSP}!", "!"), (f"{NBSP};", ";"), (f",{NBSP}", ", "),
    (" +", " "),
])
# English puts a comma or full stop inside the closing quote; most others outside it
# (but a full stop before a quote that ends the line stays, unless the line ends in a newline).
_QUOTE_COMMA_EN = _rules([(r'"([,.]+)', r'\1"')])
_QUOTE_COMMA_OTHER = _rules([(r',"', '",'), (r'(\.+)"([ \t\n\r\f\v]*[^<])', r'"\1\2')])
_DECIMAL_COMMA_LANGS = ("de", "es", "cz", "cs", "fr")
_NO_QUOTE_RULE_LANGS = ("cs", "cz")


def _apply(text: str, rules: List[Rule]) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def normalize_punctuation(text: str, lang: str) -> str:
    """One line through Moses' ``normalize-punctuation.perl -l LANG`` rules (not ``-penn``).

    * spacing: ``a(b)c`` → ``a (b) c``, ``( b )`` → ``(b)``, ``(b) .`` → ``(b).``, ``5 %`` → ``5%``,
      ``a :`` → ``a:``; runs of spaces become one (other whitespace is left alone);
    * `````` → ``'``, ``''`` → `` " ``; „ “ ” → ``"``; – → ``-``; — → `` - ``; ´ → ``'``; … → ``...``;
    * ’ and ‘ between two ASCII letters → ``'`` (``don’t``); any other ’ ‘ ‚ → ``"``;
    * « » → ``"`` (with the no-break spaces French puts inside them); a no-break space before
      ``% : ? ! ;`` is removed, after ``nº`` and ``,`` and before ``ºC`` and ``cm`` it becomes a space;
    * ``en``: ``"word",`` → ``"word,"``; other languages but Czech: ``word,"`` → ``word",`` and
      ``word."`` → ``word".`` (Moses reads lines with their newline, so a line-final quote moves too);
    * a no-break space between digits: ``,`` in de es fr cs, ``.`` elsewhere (``1 000`` → ``1.000``).

    The result keeps Moses' leading and trailing spaces (``(Applause)`` → `` (Applause) ``).
    """
    line = text + "\n"                         # Moses sees the newline; the quote rule can match it
    line = _apply(line, _EXTRA_SPACES + _NOT_PENN + _UNICODE_PUNCTUATION + _FRENCH_QUOTES + _PSEUDO_SPACES)
    if lang == "en":
        line = _apply(line, _QUOTE_COMMA_EN)
    elif lang not in _NO_QUOTE_RULE_LANGS:
        line = _apply(line, _QUOTE_COMMA_OTHER)
    separator = "," if lang in _DECIMAL_COMMA_LANGS else "."
    line = re.sub(f"([0-9]){NBSP}([0-9])", rf"\g<1>{separator}\g<2>", line)
    return line[:-1] if line.endswith("\n") else line


def lowercase(text: str) -> str:
    """Moses' ``lowercase.perl``: Perl's ``lc`` on decoded UTF-8 (full Unicode lower case)."""
    return text.lower()


def is_perl_punct(char: str) -> bool:
    """Whether Perl's ``[[:punct:]]`` matches ``char`` in a decoded (Unicode) string:
    ASCII punctuation and symbols, and non-ASCII characters of the categories ``P*`` only."""
    if ord(char) < 128:
        return char in string.punctuation
    return unicodedata.category(char).startswith("P")


def remove_punctuation(text: str) -> str:
    """ESPnet's ``utils/remove_punctuation.pl``: every ``[[:punct:]]`` character
    (:func:`is_perl_punct`) is deleted (not replaced by a space: ``one-two`` → ``onetwo``)
    except ``'``; ``<space>`` is kept; whitespace runs collapse, ends are stripped.

    As in the Perl, which protects ``'`` and ``<space>`` by spelling them as words, the words
    ``apostrophe`` and ``spacemark`` in the text come out as ``'`` and ``<space>``.
    """
    text = text.replace("<space>", "spacemark").replace("'", "apostrophe")
    text = "".join(char for char in text if not is_perl_punct(char))
    text = text.replace("apostrophe", "'").replace("spacemark", "<space>")
    return " ".join(text.split())

"""Non-linguistic symbols (``data/nlsyms.txt``: ``<NOISE>``, ``<*IN*>``, ...), as ESPnet uses them.

ESPnet trains on these markers (a char token list keeps each one as a single token, a
sentencepiece model as a user-defined symbol) and removes them from references and hypotheses
before scoring (``tokenize_text --token_type word --remove_non_linguistic_symbols true``: a word
equal to a symbol goes, a word that merely contains one stays).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Sequence

from espnet_kd.utils.fileio import PathLike, iter_text_lines


def read_nlsyms(path: Optional[PathLike]) -> List[str]:
    """The symbols of ``path``, one per line (blank lines skipped, each once, in file order);
    ``[]`` for ``None``. Raises FileNotFoundError naming a missing file."""
    if path is None:
        return []
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: non-linguistic symbol list not found")
    symbols: List[str] = []
    for _, line in iter_text_lines(path):
        symbol = line.strip()
        if symbol and symbol not in symbols:
            symbols.append(symbol)
    return symbols


def strip_nlsyms(text: str, symbols: Iterable[str]) -> str:
    """``text`` without the words that are non-linguistic symbols (whole-word match), single-spaced."""
    drop = set(symbols)
    return " ".join(word for word in text.split() if word not in drop)


def split_keeping_symbols(text: str, symbols: Sequence[str]) -> List[str]:
    """``text`` as a list of characters, except that a symbol starting at a position is one item
    (the longest such symbol; ESPnet's char tokenizer with ``non_linguistic_symbols``)."""
    by_length = sorted(set(symbols), key=len, reverse=True)
    items: List[str] = []
    position = 0
    while position < len(text):
        match = next((symbol for symbol in by_length if text.startswith(symbol, position)), None)
        item = match if match else text[position]
        items.append(item)
        position += len(item)
    return items

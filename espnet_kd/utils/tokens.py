"""Token lists shared by teacher and student.

A token list is ESPnet's ``tokens.txt``: one token per line, ``<blank>`` first,
``<unk>`` second, ``<sos/eos>`` last. Teacher and student must use the same one;
:func:`token_list_hash` gives the fingerprint that KD models and caches compare.
"""

from __future__ import annotations

import collections
import hashlib
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from espnet_kd.utils.fileio import PathLike, atomic_write
from espnet_kd.utils.nlsyms import split_keeping_symbols

BLANK, UNK, SOS_EOS, SPACE = "<blank>", "<unk>", "<sos/eos>", "<space>"
TOKEN_TYPES = ("char", "bpe")


def char_tokens(text: str, nlsyms: Sequence[str] = ()) -> List[str]:
    """Split text into characters as ESPnet's char tokenizer does (space → ``<space>``), each
    non-linguistic symbol of ``nlsyms`` one token (ESPnet's ``--non_linguistic_symbols``)."""
    items = split_keeping_symbols(text, nlsyms) if nlsyms else list(text)
    return [SPACE if item == " " else item for item in items]


def read_token_list(path: PathLike) -> List[str]:
    """Read ``tokens.txt``; raise ValueError if it is empty or has duplicates."""
    tokens = [line.rstrip("\n") for line in open(path, encoding="utf-8") if line.strip()]
    if not tokens:
        raise ValueError(f"{path}: empty token list")
    duplicates = [tok for tok, count in collections.Counter(tokens).items() if count > 1]
    if duplicates:
        raise ValueError(f"{path}: duplicate tokens {duplicates[:5]}")
    return tokens


def token_list_hash(tokens: Iterable[str]) -> str:
    """SHA-256 of the token list, one token per line (order matters)."""
    digest = hashlib.sha256()
    for token in tokens:
        digest.update(token.encode("utf-8") + b"\n")
    return digest.hexdigest()


def build_char_token_list(texts: Iterable[str], min_count: int = 1, nlsyms: Sequence[str] = ()) -> List[str]:
    """Characters seen at least ``min_count`` times, most frequent first (ties by codepoint); the
    non-linguistic symbols of ``nlsyms`` that occur count as single tokens."""
    counts: Dict[str, int] = collections.Counter()
    for text in texts:
        counts.update(char_tokens(text, nlsyms))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    body = [token for token, count in ranked if count >= min_count and token not in (BLANK, UNK, SOS_EOS)]
    return [BLANK, UNK, *body, SOS_EOS]


def train_bpe(texts: Iterable[str], model_prefix: PathLike, vocab_size: int,
              character_coverage: float = 1.0, model_type: str = "unigram",
              user_defined_symbols: Sequence[str] = ()) -> List[str]:
    """Train a sentencepiece model on ``texts``; return the ESPnet token list for it. Each of
    ``user_defined_symbols`` (the non-linguistic symbols) is one piece, never split."""
    import sentencepiece as spm

    model_prefix = Path(model_prefix)
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    train_txt = model_prefix.with_suffix(".train.txt")
    with atomic_write(train_txt) as handle:
        for text in texts:
            handle.write(text + "\n")
    extra = {"user_defined_symbols": list(user_defined_symbols)} if user_defined_symbols else {}
    spm.SentencePieceTrainer.train(
        input=str(train_txt),
        model_prefix=str(model_prefix),
        vocab_size=vocab_size,
        character_coverage=character_coverage,
        model_type=model_type,
        input_sentence_size=10_000_000,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        unk_surface=UNK,
        hard_vocab_limit=False,
        **extra,
    )
    processor = spm.SentencePieceProcessor(model_file=str(model_prefix) + ".model")
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    body = [piece for piece in pieces if piece not in (BLANK, UNK, SOS_EOS, "<unk>")]
    return [BLANK, UNK, *body, SOS_EOS]


def count_tokens(text: str, token_type: str, bpe_processor: Optional[object] = None,
                 nlsyms: Sequence[str] = ()) -> int:
    """Number of tokens ESPnet's tokenizer produces for ``text`` (char: each of ``nlsyms`` one token)."""
    if token_type == "char":
        return len(char_tokens(text, nlsyms)) if nlsyms else len(text)
    if token_type == "bpe":
        if bpe_processor is None:
            raise ValueError("count_tokens: token_type=bpe needs a sentencepiece processor")
        return len(bpe_processor.encode(text, out_type=str))
    raise ValueError(f"unknown token_type '{token_type}' (known: {', '.join(TOKEN_TYPES)})")


def write_token_list(path: PathLike, tokens: List[str]) -> None:
    """Write ``tokens.txt`` atomically."""
    with atomic_write(path) as handle:
        handle.write("".join(token + "\n" for token in tokens))

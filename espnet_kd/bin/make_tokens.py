"""Build the token list (and sentencepiece model) shared by teacher and student.

Reads the ``text`` files given (second field on); writes ``<out_dir>/tokens.txt``
and, for ``--token_type bpe``, ``<out_dir>/bpe.model``. With ``--nlsyms FILE`` (ESPnet's
``data/nlsyms.txt``), each non-linguistic symbol is one token: a single char token (as ESPnet's
char tokenizer with ``--non_linguistic_symbols``), or a sentencepiece user-defined symbol.

    python -m espnet_kd.bin.make_tokens --token_type char --text data/train/text --out_dir data/tokens/tgt
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List, Optional, Sequence

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.kaldi_dir import DataDirError, read_table
from espnet_kd.utils.nlsyms import read_nlsyms
from espnet_kd.utils.tokens import TOKEN_TYPES, build_char_token_list, train_bpe, write_token_list


def make_tokens(text_paths: List[Path], out_dir: Path, token_type: str, nbpe: int,
                nlsyms: Sequence[str] = ()) -> List[str]:
    """Write ``tokens.txt`` (and ``bpe.model``) into ``out_dir``; return the token list. Each of
    ``nlsyms`` is kept whole (char: one token; bpe: a user-defined symbol)."""
    texts = [value for path in text_paths for value in read_table(path).values()]
    if token_type == "char":
        tokens = build_char_token_list(texts, nlsyms=nlsyms)
    elif token_type == "bpe":
        tokens = train_bpe(texts, out_dir / "bpe", vocab_size=nbpe, user_defined_symbols=nlsyms)
    else:
        raise ValueError(f"unknown token_type '{token_type}' (known: {', '.join(TOKEN_TYPES)})")
    write_token_list(out_dir / "tokens.txt", tokens)
    logging.info("%s: %d tokens from %d sentences", out_dir / "tokens.txt", len(tokens), len(texts))
    return tokens


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("text", dict(type=Path, action="append", required=True, help="Kaldi text file (repeatable)")),
        ("out_dir", dict(type=Path, required=True)),
        ("token_type", dict(choices=TOKEN_TYPES, default="char")),
        ("nbpe", dict(type=int, default=100, help="sentencepiece vocabulary size (bpe only)")),
        ("nlsyms", dict(type=Path, default=None,
                        help="non-linguistic symbols, one per line (data/nlsyms.txt), each kept as one token")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        make_tokens(args.text, args.out_dir, args.token_type, args.nbpe, read_nlsyms(args.nlsyms))
    except (DataDirError, ValueError, RuntimeError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

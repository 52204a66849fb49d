"""Write ESPnet's shape files for a formatted data dir (batching reads them).

Reads ``<data_dir>/utt2num_samples`` (or, for a pseudo-labelled dir whose ids are
``U-nbR``, the ``--base_data_dir`` entry of ``U``) and ``<data_dir>/text``; writes
``<out_dir>/speech_shape`` (samples) and ``<out_dir>/text_shape.<token_type>``
(tokens,vocabulary size) as ESPnet's collect-stats stage would (``--nlsyms FILE``: each
non-linguistic symbol one char token, as in training).

A dir without ``text`` (an unlabeled set, formatted with ``format_data --unlabeled true``:
audio that the teacher decodes, never a training target as it is) gets ``speech_shape``
only, for its utterances of ``utt2spk`` (``--token_list`` is not read then); a
``text_shape.<token_type>`` left in ``--out_dir`` by an earlier run is removed, so no shape
file describes a text that is not there.

    python -m espnet_kd.bin.make_shapes --data_dir dump/raw/train --out_dir exp/asr_stats/train \
        --token_list data/tokens/tgt/tokens.txt --token_type char
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.kaldi_dir import DataDirError, read_table, write_table
from espnet_kd.utils.nlsyms import read_nlsyms
from espnet_kd.utils.tokens import TOKEN_TYPES, count_tokens, read_token_list

PSEUDO_ID = re.compile(r"^(?P<base>.+)-nb(?P<rank>\d+)$")


def utterance_ids(data_dir: Path) -> List[str]:
    """The utterances to describe: those of ``text``, or of ``utt2spk`` in a dir without text."""
    text_path = data_dir / "text"
    if text_path.is_file():
        return list(read_table(text_path, allow_empty_value=True))
    if not (data_dir / "utt2spk").is_file():
        raise DataDirError(f"{data_dir}: neither text nor utt2spk found (not a data dir)")
    return list(read_table(data_dir / "utt2spk"))


def speech_lengths(data_dir: Path, base_data_dir: Optional[Path]) -> Dict[str, str]:
    """Samples per utterance, looked up for ``U-nbR`` ids in the base dir when needed."""
    text = utterance_ids(data_dir)
    own_path = data_dir / "utt2num_samples"
    lengths = read_table(own_path) if own_path.is_file() else {}
    base_lengths = read_table(base_data_dir / "utt2num_samples") if base_data_dir else {}
    result: Dict[str, str] = {}
    for utt in text:
        if utt in lengths:
            result[utt] = lengths[utt]
            continue
        match = PSEUDO_ID.match(utt)
        base_utt = match.group("base") if match else utt
        if base_utt in base_lengths:
            result[utt] = base_lengths[base_utt]
        elif utt in base_lengths:
            result[utt] = base_lengths[utt]
        else:
            raise DataDirError(
                f"{data_dir}: no length for '{utt}' in utt2num_samples"
                + (f" or in {base_data_dir}" if base_data_dir else "")
                + " (run the format stage first)"
            )
    return result


def make_shapes(data_dir: Path, out_dir: Path, token_list: Path, token_type: str,
                bpemodel: Optional[Path] = None, base_data_dir: Optional[Path] = None,
                nlsyms: Sequence[str] = ()) -> None:
    """Write ``speech_shape`` and ``text_shape.<token_type>`` for ``data_dir`` (char: each of
    ``nlsyms`` one token); ``speech_shape`` alone for a dir without ``text`` (see the module doc)."""
    if not (data_dir / "text").is_file():
        write_table(out_dir / "speech_shape", speech_lengths(data_dir, base_data_dir))
        stale = out_dir / f"text_shape.{token_type}"
        if stale.exists():
            stale.unlink()
        return
    vocab_size = len(read_token_list(token_list))
    processor = None
    if token_type == "bpe":
        import sentencepiece as spm

        if bpemodel is None:
            raise ValueError("--bpemodel is required for token_type bpe")
        processor = spm.SentencePieceProcessor(model_file=str(bpemodel))
    texts = read_table(data_dir / "text", allow_empty_value=True)
    write_table(out_dir / "speech_shape", speech_lengths(data_dir, base_data_dir))
    write_table(
        out_dir / f"text_shape.{token_type}",
        {utt: f"{max(1, count_tokens(text, token_type, processor, nlsyms))},{vocab_size}" for utt, text in texts.items()},
    )


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("data_dir", dict(type=Path, required=True)),
        ("out_dir", dict(type=Path, required=True)),
        ("token_list", dict(type=Path, required=True)),
        ("token_type", dict(choices=TOKEN_TYPES, default="char")),
        ("bpemodel", dict(type=Path, default=None)),
        ("base_data_dir", dict(type=Path, default=None,
                               help="formatted dir whose utt2num_samples covers the base ids of U-nbR")),
        ("nlsyms", dict(type=Path, default=None, help="non-linguistic symbols (data/nlsyms.txt), one token each")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        make_shapes(args.data_dir, args.out_dir, args.token_list, args.token_type, args.bpemodel, args.base_data_dir,
                    read_nlsyms(args.nlsyms))
    except (DataDirError, ValueError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

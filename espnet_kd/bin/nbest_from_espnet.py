"""Convert ESPnet decoder n-best output into ``nbest.jsonl`` + clean ``{n}best_recog/`` dirs.

Usage::

    python -m espnet_kd.bin.nbest_from_espnet --nbest 4 --out_dir exp/teacher/nbest_train \\
        [--token_list data/tokens/tgt/tokens.txt] [--data_dir data/train] \\
        exp/teacher/nbest_train/logdir/output.1 exp/teacher/nbest_train/logdir/output.2

Each INPUT_DIR is an output dir of ``espnet2.bin.asr_inference --nbest K`` (one
per job of a split decode, or the merged one). Writes ``OUT_DIR/nbest.jsonl``
and ``OUT_DIR/{n}best_recog/{text,token_int,score[,token]}`` with plain-float
scores; ``token`` needs ``--token_list``. With ``--data_dir``, every utterance of
that data dir must have at least one hypothesis (and no others may appear).
Every file is written atomically; ``nbest.jsonl`` last.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List, Optional, Sequence

from espnet_kd.nbest.espnet_output import read_espnet_nbest
from espnet_kd.nbest.format import (
    NBestEntry,
    NBestFormatError,
    read_token_list,
    write_espnet_nbest_dirs,
    write_nbest_jsonl,
)
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.kaldi_dir import DataDirError, c_sorted, read_table

PROG = "nbest_from_espnet"
SHOWN_IDS = 5


def get_parser() -> argparse.ArgumentParser:
    """The command-line interface (``--name_with_underscores`` or ``--name-with-dashes``)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m espnet_kd.bin.{PROG}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(
        parser,
        [
            ("nbest", dict(type=int, required=True, help="read ranks 1..NBEST")),
            ("out_dir", dict(type=Path, required=True, help="where to write")),
            (
                "token_list",
                dict(type=Path, default=None, help="tokens.txt, to write {n}best_recog/token"),
            ),
            (
                "data_dir",
                dict(type=Path, default=None, help="the decoded data dir, to check coverage"),
            ),
        ],
    )
    parser.add_argument("input_dirs", nargs="+", type=Path, metavar="INPUT_DIR")
    return parser


def data_dir_utt_ids(data_dir: Path) -> List[str]:
    """Utterance ids of a data dir, from ``utt2spk`` (or ``wav.scp`` if it has none)."""
    for file_name in ("utt2spk", "wav.scp"):
        if (data_dir / file_name).is_file():
            if file_name == "wav.scp" and (data_dir / "segments").is_file():
                return list(read_table(data_dir / "segments"))
            return list(read_table(data_dir / file_name))
    raise DataDirError(f"{data_dir}: neither utt2spk nor wav.scp found")


def check_covers_data_dir(entries: Sequence[NBestEntry], data_dir: Path) -> None:
    """Raise if an utterance of ``data_dir`` has no hypothesis, or one not in it has."""
    expected = set(data_dir_utt_ids(data_dir))
    found = {entry.utt for entry in entries}
    missing = c_sorted(expected - found)
    if missing:
        raise NBestFormatError(
            f"{len(missing)} of {len(expected)} utterance(s) of {data_dir} have no hypothesis "
            f"in the decoding output, e.g. {missing[:SHOWN_IDS]}; did a decoding job fail?"
        )
    unexpected = c_sorted(found - expected)
    if unexpected:
        raise NBestFormatError(
            f"{len(unexpected)} utterance(s) in the decoding output are not in {data_dir}, "
            f"e.g. {unexpected[:SHOWN_IDS]}; wrong data dir?"
        )


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the conversion; exits with ``ERROR: <message>`` and status 1 on bad input."""
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        token_list = read_token_list(args.token_list) if args.token_list else None
        entries = read_espnet_nbest(args.input_dirs, args.nbest)
        if not entries:
            raise NBestFormatError(f"no hypotheses in {', '.join(map(str, args.input_dirs))}")
        if args.data_dir is not None:
            check_covers_data_dir(entries, args.data_dir)
        rank_dirs = write_espnet_nbest_dirs(args.out_dir, entries, token_list)
        write_nbest_jsonl(args.out_dir / "nbest.jsonl", entries)
    except (NBestFormatError, DataDirError) as error:
        fail(f"{PROG}: {error}")
    n_utts = len({entry.utt for entry in entries})
    n_empty = sum(1 for entry in entries if not entry.text.strip())
    logging.info(
        "%d hypotheses of %d utterances (ranks 1..%d) -> %s",
        len(entries),
        n_utts,
        len(rank_dirs),
        args.out_dir / "nbest.jsonl",
    )
    if n_empty:
        logging.info("%d hypotheses are empty (kept; the selection step decides)", n_empty)
    if token_list is None:
        logging.info("no --token_list given: {n}best_recog/token not written")


if __name__ == "__main__":
    main()

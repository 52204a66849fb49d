"""Score a decoding with jiwer: WER, CER and error counts over the whole set.

Reads the reference ``text`` and the hypothesis ``text`` (Kaldi format; an
utterance whose hypothesis line is empty counts as all deletions); writes
``score.json`` atomically and prints one summary line.

    python -m espnet_kd.bin.score_wer --ref data/test/text --hyp exp/m/decode_test/text --out exp/m/decode_test/score.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from pathlib import Path
from typing import List, Optional

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import atomic_write
from espnet_kd.utils.kaldi_dir import DataDirError, read_table
from espnet_kd.utils.scoring import corpus_wer


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("ref", dict(type=Path, required=True)),
        ("hyp", dict(type=Path, required=True)),
        ("out", dict(type=Path, required=True)),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        ref, hyp = read_table(args.ref), read_table(args.hyp, allow_empty_value=True)
    except DataDirError as error:  # names the file and line
        fail(str(error))
    try:
        score = corpus_wer(ref, hyp)
    except DataDirError as error:
        fail(f"{args.hyp}: {error}")
    result = {"ref": str(args.ref), "hyp": str(args.hyp), "scorer": f"jiwer {importlib.metadata.version('jiwer')}", **score.to_dict()}
    try:
        with atomic_write(args.out) as handle:
            json.dump(result, handle, indent=2)
            handle.write("\n")
    except OSError as error:
        fail(f"cannot write --out {args.out}: {error.strerror or error}")
    print(f"{args.hyp}: WER {score.wer:.2f}% CER {score.cer:.2f}% "
          f"(S {score.substitutions} D {score.deletions} I {score.insertions} / {score.ref_words} words, "
          f"{score.num_utts} utts, {score.empty_hyps} empty)")


if __name__ == "__main__":
    main()

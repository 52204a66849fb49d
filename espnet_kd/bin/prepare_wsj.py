"""Prepare WSJ (LDC93S6B + LDC94S13B) as Kaldi data dirs (see :mod:`espnet_kd.corpora.wsj`).

    python -m espnet_kd.bin.prepare_wsj --wsj0 /corpora/LDC93S6B --wsj1 /corpora/LDC94S13B \\
        --data_dir data --sets train_si284 test_dev93 test_eval92

Writes data/<set>/, data/nlsyms.txt (the non-linguistic symbols of the training text) and
data/local/wsj/{<set>,counts}.json; a set whose counts differ from the full corpus's is a loud warning.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from espnet_kd.corpora.wsj import (
    DEFAULT_SETS,
    NOISE_WORD,
    NORMALIZERS,
    VERBAL_PUNCTUATION_MODES,
    WSJ_SETS,
    WsjError,
    prepare_wsj,
)
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.kaldi_dir import DataDirError


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.prepare_wsj", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("wsj0", dict(type=Path, required=True, help="directory holding the WSJ0 discs (11-1.1 ...)")),
        ("wsj1", dict(type=Path, required=True, help="directory holding the WSJ1 discs (13-1.1 ...)")),
        ("data_dir", dict(type=Path, default=Path("data"), help="where <set>/ dirs go")),
        ("sets", dict(nargs="+", default=list(DEFAULT_SETS), help=f"of {', '.join(WSJ_SETS)}")),
        ("noise_word", dict(default=NOISE_WORD, help="replacement for [noise] markers (Kaldi's and ESPnet's "
                                                     "<NOISE>); 'none' or '' drops them (not ESPnet's)")),
        ("verbal_punctuation", dict(choices=VERBAL_PUNCTUATION_MODES, default="keep")),
        ("normalizer", dict(choices=NORMALIZERS, default="kaldi",
                            help="kaldi: Kaldi's normalize_transcript.pl (as ESPnet); plain: espnet_kd's earlier rules "
                                 "(*word* -> WORD, SO: -> SO, <*IN*> -> IN), not comparable with ESPnet")),
        ("sph2pipe", dict(default=None, help="sph2pipe program (default: the one on PATH)")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    noise_word = "" if args.noise_word.lower() in ("", "none") else args.noise_word
    try:
        prepare_wsj(args.wsj0, args.wsj1, args.data_dir, args.sets, noise_word, args.verbal_punctuation,
                    args.sph2pipe, args.normalizer)
    except (WsjError, DataDirError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

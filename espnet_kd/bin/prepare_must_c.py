"""Prepare MuST-C sets as Kaldi data dirs (see :mod:`espnet_kd.corpora.must_c`).

Reads ``<must_c>/en-<lang>/data/<set>/{wav/*.wav,txt/<set>.yaml,txt/<set>.en,txt/<set>.<lang>}``;
writes ``<data_dir>/<set>.en-<lang>/{wav.scp,segments,text,text.en,utt2spk,spk2utt}``,
``text`` being the translation and ``text.en`` the transcript.

    python -m espnet_kd.bin.prepare_must_c --must_c /data/MUSTC_v1.0 --lang de --data_dir data \\
        --sets train dev tst-COMMON tst-HE --src_case lc.rm --tgt_case tc
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from espnet_kd.corpora.must_c import CASES, MIN_DURATION_S, MUST_C_SETS, prepare_must_c
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.kaldi_dir import DataDirError


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.prepare_must_c", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("must_c", dict(type=Path, required=True, help="MuST-C root (holding en-<lang>/)")),
        ("lang", dict(required=True, help="target language (de, it, es, fr, nl, pt, ro, ru, ...)")),
        ("data_dir", dict(type=Path, default=Path("data"), help="where the <set>.en-<lang> dirs go")),
        ("sets", dict(nargs="+", default=list(MUST_C_SETS), help="sets to prepare")),
        ("src_case", dict(choices=CASES, default="lc.rm", help="case style of the transcript (text.en)")),
        ("tgt_case", dict(choices=CASES, default="tc", help="case style of the translation (text)")),
        ("min_duration", dict(type=float, default=MIN_DURATION_S, help="shorter segments are widened to this")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        prepare_must_c(args.must_c, args.lang, args.data_dir, args.sets, args.src_case, args.tgt_case,
                       args.min_duration)
    except (DataDirError, ValueError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

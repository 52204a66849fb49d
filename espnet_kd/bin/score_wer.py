"""Score a decoding with jiwer: WER, CER and error counts over the whole set.

Reads the reference ``text`` and the hypothesis ``text`` (Kaldi format; an
utterance whose hypothesis line is empty counts as all deletions, one whose reference is empty
as all insertions); writes ``score.json`` atomically and prints one summary line. With
``--nlsyms FILE`` (``data/nlsyms.txt``), the words listed there are removed from both sides
before scoring, as ESPnet's ``tokenize_text --remove_non_linguistic_symbols true`` does.

    python -m espnet_kd.bin.score_wer --ref data/test/text --hyp exp/m/decode_test/text --out exp/m/decode_test/score.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
from pathlib import Path
from typing import List, Optional

from espnet_kd.utils.cli import add_arguments, fail, setup_logging, write_json_output
from espnet_kd.utils.kaldi_dir import DataDirError, read_table
from espnet_kd.utils.nlsyms import read_nlsyms
from espnet_kd.utils.scoring import corpus_wer


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("ref", dict(type=Path, required=True)),
        ("hyp", dict(type=Path, required=True)),
        ("out", dict(type=Path, required=True)),
        ("nlsyms", dict(type=Path, default=None,
                        help="non-linguistic symbols, one per line (data/nlsyms.txt), removed before scoring")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        ref, hyp = read_table(args.ref, allow_empty_value=True), read_table(args.hyp, allow_empty_value=True)
        nlsyms = read_nlsyms(args.nlsyms)
    except (DataDirError, OSError) as error:  # names the file and line
        fail(str(error))
    try:
        score = corpus_wer(ref, hyp, nlsyms)
    except DataDirError as error:
        fail(f"{args.hyp}: {error}")
    result = {"ref": str(args.ref), "hyp": str(args.hyp), "scorer": f"jiwer {importlib.metadata.version('jiwer')}",
              **({"nlsyms": str(args.nlsyms), "nlsyms_removed": nlsyms} if args.nlsyms else {}), **score.to_dict()}
    write_json_output(args.out, result)
    print(f"{args.hyp}: WER {score.wer:.2f}% CER {score.cer:.2f}% "
          f"(S {score.substitutions} D {score.deletions} I {score.insertions} / {score.ref_words} words, "
          f"{score.num_utts} utts, {score.empty_hyps} empty"
          + (f", {score.empty_refs} empty reference(s)" if score.empty_refs else "") + ")")


if __name__ == "__main__":
    main()

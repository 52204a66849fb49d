"""Score a translation with sacrebleu: corpus BLEU and chrF, with their signatures.

Reads the reference ``text`` and the hypothesis ``text`` (Kaldi format, detokenised;
an utterance whose hypothesis line is empty scores zero; a reference line may be empty, a test
segment ESPnet keeps); writes ``score.json``
atomically and prints one summary line with the sacrebleu signatures.

    python -m espnet_kd.bin.score_bleu --ref dump/raw/tst-COMMON/text \\
        --hyp exp/student_baseline/decode_tst-COMMON/text --out exp/student_baseline/decode_tst-COMMON/score.json
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from espnet_kd.utils.cli import add_arguments, fail, setup_logging, write_json_output
from espnet_kd.utils.kaldi_dir import DataDirError, read_table
from espnet_kd.utils.mt_scoring import BLEU_TOKENIZERS, corpus_translation_score


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.score_bleu", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("ref", dict(type=Path, required=True, help="reference translations (Kaldi text)")),
        ("hyp", dict(type=Path, required=True, help="hypotheses (Kaldi text)")),
        ("out", dict(type=Path, required=True, help="score.json to write")),
        ("tokenize", dict(choices=BLEU_TOKENIZERS, default="13a", help="sacrebleu BLEU tokenizer")),
        ("lowercase", dict(choices=("true", "false"), default="false", help="case-insensitive scoring")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        ref, hyp = read_table(args.ref, allow_empty_value=True), read_table(args.hyp, allow_empty_value=True)
    except DataDirError as error:  # names the file and line
        fail(str(error))
    try:
        score = corpus_translation_score(ref, hyp, tokenize=args.tokenize, lowercase=args.lowercase == "true")
    except DataDirError as error:
        fail(f"{args.hyp} vs {args.ref}: {error}")
    result = {"ref": str(args.ref), "hyp": str(args.hyp), **score.to_dict()}
    write_json_output(args.out, result)
    print(f"{args.hyp}: BLEU {score.bleu:.2f} chrF {score.chrf:.2f} "
          f"({score.num_utts} utts, {score.empty_hyps} empty)\n"
          f"    BLEU signature: {score.bleu_signature}\n"
          f"    chrF signature: {score.chrf_signature}")


if __name__ == "__main__":
    main()

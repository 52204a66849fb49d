"""Score a translation against every correct alternative: multi-reference BLEU and chrF, exact match.

With translation variants on, an utterance of the embedded corpus has several equally
correct translations and its data dir's reference is one of them (the corpus writes them all
to ``<corpus>/<set>/alternatives/text.<lang>.jsonl``, one ``{"utt_id", "alternatives"}`` line
per utterance: ``espnet_kd.bin.make_mini_synth``). This scores a hypothesis ``text`` (Kaldi
format, detokenised; a line with only the id is an empty hypothesis) against all of them:

- corpus BLEU and chrF with sacrebleu, every alternative a reference. sacrebleu takes reference
  streams of one length, so an utterance with fewer alternatives than the most is padded with
  its first alternative repeated; a repeated reference changes neither BLEU's clipped n-gram
  counts (the maximum over the references) nor its closest reference length nor chrF's best
  reference, so the scores are those of the unpadded reference sets (the signature's
  ``nrefs`` is the padded count);
- ``exact_match``: the fraction of hypotheses equal to one of their alternatives, after
  whitespace normalisation (case-sensitive).

The hypothesis ids must be exactly the alternatives' (an error names the first missing or
extra one). ``--ref`` (the data dir's ``text``, the single reference) is checked to hold one
of each utterance's alternatives, so that a data dir and an alternatives file from different
corpora are not scored together. Writes ``--out`` atomically and prints a summary with the
signatures.

    python -m espnet_kd.bin.score_alternatives --alternatives corpus/test/alternatives/text.it.jsonl \\
        --hyp exp/student_baseline/decode_test/text --ref data/test/text \\
        --out exp/student_baseline/decode_test/score_alternatives.json
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional

from espnet_kd.utils.cli import add_arguments, fail, setup_logging, write_json_output
from espnet_kd.utils.kaldi_dir import DataDirError, read_table
from espnet_kd.utils.mt_scoring import (
    BLEU_TOKENIZERS,
    exact_match_fraction,
    id_mismatch,
    multi_reference_translation_score,
    read_alternatives,
    reference_not_among_alternatives,
)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.score_alternatives", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("alternatives", dict(type=Path, required=True,
                              help="every correct translation per utterance (JSON lines: utt_id, alternatives)")),
        ("hyp", dict(type=Path, required=True, help="hypotheses (Kaldi text)")),
        ("ref", dict(type=Path, default=None,
                     help="the single references (Kaldi text), checked to be among the alternatives")),
        ("out", dict(type=Path, required=True, help="the JSON score file to write")),
        ("tokenize", dict(choices=BLEU_TOKENIZERS, default="13a", help="sacrebleu BLEU tokenizer")),
        ("lowercase", dict(choices=("true", "false"), default="false", help="case-insensitive BLEU and chrF")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        alternatives = read_alternatives(args.alternatives)
        hyp = read_table(args.hyp, allow_empty_value=True)
        ref: Optional[Dict[str, str]] = read_table(args.ref, allow_empty_value=True) if args.ref else None
    except DataDirError as error:  # names the file and line
        fail(str(error))
    mismatch = id_mismatch(alternatives, hyp, args.alternatives, args.hyp)
    if mismatch:
        fail(mismatch)
    if ref is not None:
        mismatch = id_mismatch(alternatives, ref, args.alternatives, args.ref)
        if mismatch:
            fail(f"{mismatch}: the data and the alternatives are from different corpora")
        utt = reference_not_among_alternatives(alternatives, ref)
        if utt is not None:
            fail(f"{args.ref}: the reference of '{utt}' ({ref[utt]!r}) is not one of its alternatives in "
                 f"{args.alternatives} ({alternatives[utt]}): the data and the alternatives are from different "
                 "corpora")
    score = multi_reference_translation_score(alternatives, hyp, tokenize=args.tokenize,
                                              lowercase=args.lowercase == "true")
    exact_match = exact_match_fraction(alternatives, hyp)
    result = {
        "alternatives": str(args.alternatives), "hyp": str(args.hyp),
        **({"ref": str(args.ref)} if args.ref else {}),
        **score.to_dict(),
        "exact_match": exact_match,
        "max_alternatives": max((len(alts) for alts in alternatives.values()), default=0),
        "mean_alternatives": sum(len(alts) for alts in alternatives.values()) / max(len(alternatives), 1),
    }
    write_json_output(args.out, result)
    print(f"{args.hyp}: multi-reference BLEU {score.bleu:.2f} chrF {score.chrf:.2f} exact match "
          f"{100 * exact_match:.1f} % ({score.num_utts} utts, {score.empty_hyps} empty, up to "
          f"{result['max_alternatives']} alternatives, mean {result['mean_alternatives']:.2f})\n"
          f"    BLEU signature: {score.bleu_signature}\n"
          f"    chrF signature: {score.chrf_signature}")


if __name__ == "__main__":
    main()

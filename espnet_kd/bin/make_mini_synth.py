"""Generate the embedded synthetic corpus (mini_synth): wavs and Kaldi data dirs.

    python -m espnet_kd.bin.make_mini_synth --out_dir corpus --data_dir data \\
        [--size default] [--seed 0] [--nj 1] [--translation_variants false] [--unlabeled 0] \\
        [--alternatives_only false]

``--size`` is one of the named sizes (tiny, small, default) or ``train:dev:test``
counts such as ``800:100:100``. ``--unlabeled N`` (default 0: none) also makes an
unlabeled set of N utterances, ``<data_dir>/unlabeled/`` (wav.scp, utt2spk, spk2utt, no
text: the training voices, new sentences), its true texts kept apart for analysis in
``<out_dir>/unlabeled/truth/{text.en,text.it,text.de}``; train, dev and test do not
depend on N (espnet_kd.corpora.mini_synth). Progress goes to standard error; a second
run with the same arguments returns at once, one with another ``--unlabeled`` only
makes (or removes) the unlabeled set.

With ``--translation_variants true`` every correct translation of each train, dev and test
utterance is also written, outside the data dirs, to
``<out_dir>/<set>/alternatives/{text.it.jsonl,text.de.jsonl}`` (one
``{"utt_id": ..., "alternatives": [...]}`` line per utterance, in utterance-id order; score
with ``python -m espnet_kd.bin.score_alternatives``). ``--alternatives_only true`` writes just
those files for a corpus already generated, re-planning it from the same ``--size``,
``--seed`` and ``--translation_variants true`` (no synthesis; ``--nj`` and ``--unlabeled``
play no part): refused without variants, or when ``<data_dir>`` holds a corpus generated
with other options.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from espnet_kd.corpora.mini_synth import SIZES, generate_mini_synth, write_mini_synth_alternatives


def build_parser() -> argparse.ArgumentParser:
    """Options; each accepts both the ``--snake_case`` and the ``--dash-case`` spelling."""
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.make_mini_synth",
        description="Generate the mini_synth corpus: speech from espeak-ng, English/Italian/German texts.",
    )
    parser.add_argument("--out_dir", "--out-dir", required=True,
                        help="where the wavs go (<out_dir>/<set>/<uttid>.wav)")
    parser.add_argument("--data_dir", "--data-dir", required=True,
                        help="where the Kaldi data dirs go (<data_dir>/{train,dev,test}, and unlabeled)")
    parser.add_argument("--size", default="default",
                        help=f"one of {', '.join(SIZES)}, or 'train:dev:test' counts (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--nj", type=int, default=1, help="synthesis processes (default: %(default)s)")
    parser.add_argument("--translation_variants", "--translation-variants", choices=("true", "false"),
                        default="false", help="meaning-preserving alternatives in the Italian and German texts, "
                        "sampled per utterance (espnet_kd.corpora.variants; default: %(default)s)")
    parser.add_argument("--unlabeled", type=int, default=0,
                        help="utterances of the unlabeled set, <data_dir>/unlabeled/ without text (training "
                        "voices, new sentences; true texts in <out_dir>/unlabeled/truth/); 0: none "
                        "(default: %(default)s)")
    parser.add_argument("--alternatives_only", "--alternatives-only", choices=("true", "false"), default="false",
                        help="write only the translation alternatives (<out_dir>/<set>/alternatives/) of the corpus "
                        "already generated in --data_dir with these --size, --seed and --translation_variants true, "
                        "re-planning it without synthesis (default: %(default)s)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the generator; returns the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.alternatives_only == "true":
            write_mini_synth_alternatives(args.out_dir, args.data_dir, size=args.size, seed=args.seed,
                                          translation_variants=args.translation_variants == "true")
            return 0
        generate_mini_synth(args.out_dir, args.data_dir, size=args.size, seed=args.seed, nj=args.nj,
                            translation_variants=args.translation_variants == "true", unlabeled=args.unlabeled)
    except (ValueError, OSError) as error:
        print(f"make_mini_synth: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

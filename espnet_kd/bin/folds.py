"""Held-out teachers (``--teacher_folds K``): split a training set into folds, join what the fold teachers made.

    python -m espnet_kd.bin.folds split --data_dir dump/raw/train --num_folds 4 --out_dir dump/raw/train_folds4
    python -m espnet_kd.bin.folds merge_nbest --data_dir dump/raw/train --token_list data/tokens/tgt/tokens.txt \\
        --out_dir exp/mt_teacher/nbest_train_folds4 exp/mt_teacher_fold1/nbest_heldout ... (one dir per fold)
    python -m espnet_kd.bin.folds merge_topk --data_dir dump/raw/train --out_dir exp/mt_teacher/topk_train_folds4 \\
        exp/mt_teacher_fold1/topk_heldout ... (one cache per fold)

``split`` writes ``<out_dir>/fold<k>/heldout/`` (fold k: what teacher k labels) and ``<out_dir>/fold<k>/rest/``
(every other fold: what teacher k trains on) for k = 1..K, and ``folds.json``; utterance i of the data dir
in C-locale order is in fold i mod K + 1. ``merge_nbest`` and ``merge_topk`` join the folds' n-best lists /
top-k caches into one for the whole data dir, refusing folds that overlap, leave an utterance out or were
made with other settings. See :mod:`espnet_kd.utils.folds`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List, Optional

from espnet_kd.utils.cli import fail, setup_logging
from espnet_kd.utils.fileio import InputError, read_text_lines
from espnet_kd.utils.folds import merge_fold_nbest, merge_fold_topk, split_folds
from espnet_kd.utils.lock import locked_out_dir

PROG = "folds"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m espnet_kd.bin.{PROG}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    split = commands.add_parser("split", help="write the folds of a data dir")
    split.add_argument("--num_folds", type=int, required=True, help="K, at least 2")
    nbest = commands.add_parser("merge_nbest", help="join the folds' n-best lists")
    nbest.add_argument("--token_list", type=Path, required=True, help="the teachers' target tokens.txt")
    topk = commands.add_parser("merge_topk", help="join the folds' top-k caches")
    for command in (split, nbest, topk):
        command.add_argument("--data_dir", type=Path, required=True, help="the whole training set")
        command.add_argument("--out_dir", type=Path, required=True, help="where the result goes (replaced)")
    for command, what in ((nbest, "n-best output dir"), (topk, "top-k cache dir")):
        command.add_argument("fold_dirs", nargs="+", type=Path, metavar="DIR", help=f"each fold's {what}, fold order")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        with locked_out_dir(args.out_dir):
            if args.command == "split":
                record = split_folds(args.data_dir, args.num_folds, args.out_dir)
                logging.info("%s: %d folds of %s utterances (%s held out each)", args.out_dir, args.num_folds,
                             record["utterances"], record["heldout_utterances"])
            elif args.command == "merge_nbest":
                merge_fold_nbest(args.fold_dirs, args.data_dir, args.out_dir, read_text_lines(args.token_list))
            else:
                meta = merge_fold_topk(args.fold_dirs, args.data_dir, args.out_dir)
                logging.info("%s: %d utterances from %d fold caches", args.out_dir, meta.num_utts, len(args.fold_dirs))
    except (InputError, ValueError) as error:
        fail(f"{PROG}: {error}")


if __name__ == "__main__":
    main()

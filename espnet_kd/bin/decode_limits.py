"""Choose a decode's length limit (``maxlenratio``) and record it in the decode dir.

Writes ``<out_dir>/decode.yaml`` (the decode config with ``maxlenratio`` filled in; the decoder
reads this copy) and ``<out_dir>/decode_limits.json`` (the value, how it was chosen, the training
set's tokens per encoder frame), and prints the value. ``maxlenratio: auto`` in the config is
1.5 × the largest ``(tokens + 1) / encoder frames`` over ``--train_dir``, counted with the model's
own tokenizer, frontend and subsampling; a number is kept (with a warning when it is below what the
training set needs). See :mod:`espnet_kd.utils.decode_limits`.

    python -m espnet_kd.bin.decode_limits --task asr --config conf/decode.yaml \\
        --model_config exp/teacher/config.yaml --train_dir dump/raw/train --out_dir exp/teacher/decode_test
    python -m espnet_kd.bin.decode_limits --task mt --config conf/decode_mt.yaml \\
        --model_config exp/mt_teacher/config.yaml --train_dir dump/raw/train --source_file text.en --out_dir DIR
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List, Optional

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.decode_limits import TASKS, resolve_decode_config
from espnet_kd.utils.fileio import InputError


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("task", dict(choices=TASKS, required=True)),
        ("config", dict(type=Path, required=True, help="the decode config (maxlenratio: a number or auto)")),
        ("model_config", dict(type=Path, required=True, help="the model's config.yaml (tokenizer, frontend, encoder)")),
        ("train_dir", dict(type=Path, default=None, help="formatted training dir: text, utt2num_samples "
                                                         "(MT: the --source_file)")),
        ("source_file", dict(default=None, help="MT: the source text's file name in --train_dir (e.g. text.en)")),
        ("out_dir", dict(type=Path, required=True, help="the decode dir: decode.yaml and decode_limits.json")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        record = resolve_decode_config(args.config, args.model_config, args.task, args.out_dir,
                                       args.train_dir, args.source_file)
    except (InputError, OSError) as error:
        fail(str(error))
    measured = ""
    if record.training_ratio:
        measured = f" (training set: up to {record.training_ratio['max_ratio']} tokens per encoder frame)"
    logging.info("%s: maxlenratio %s (%s)%s", args.out_dir, record.maxlenratio, record.how, measured)
    if record.warning:
        logging.warning("%s: %s", args.out_dir, record.warning)
    print(record.maxlenratio)


if __name__ == "__main__":
    main()

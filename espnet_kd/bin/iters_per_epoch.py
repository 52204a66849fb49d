"""Print the number of updates one pass over a training set takes: ceil(utterances / batch_size).

Used by the stage scripts to give every student the same number of updates per epoch
(ESPnet's ``--num_iters_per_epoch``), so a student trained on a top-k pseudo-labelled
set (k times larger) is compared with the baseline at equal training cost.

    python -m espnet_kd.bin.iters_per_epoch --config conf/train_student.yaml --text dump/raw/train/text
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import List, Optional

import yaml

from espnet_kd.utils.cli import add_arguments, fail
from espnet_kd.utils.kaldi_dir import DataDirError, read_table


def iters_per_epoch(config_path: Path, text_path: Path) -> int:
    """ceil(number of utterances in ``text_path`` / ``batch_size`` of the training config)."""
    config = yaml.safe_load(config_path.read_text()) or {}
    batch_size = config.get("batch_size")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"{config_path}: batch_size must be a positive integer, got {batch_size!r}")
    num_utts = len(read_table(text_path, allow_empty_value=True))
    if num_utts == 0:
        raise ValueError(f"{text_path}: no utterances")
    return math.ceil(num_utts / batch_size)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [("config", dict(type=Path, required=True)), ("text", dict(type=Path, required=True))])
    args = parser.parse_args(argv)
    try:
        print(iters_per_epoch(args.config, args.text))
    except (DataDirError, ValueError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

"""One training process, its trainer recorded: ``python -m tests.distributed.rank_main RECORD_DIR MODULE ARG...``.

Runs ``MODULE.main(ARG...)`` (``espnet2.bin.asr_train``, ``espnet_kd.bin.asr_kd_train``, ...)
inside :func:`tests.distributed.record.recording`. The distributed options are ESPnet's own,
among ARG (``--dist_rank``, ``--dist_world_size``, ``--dist_init_method``, ``--dist_backend``).
"""

from __future__ import annotations

import importlib
import sys

from tests.distributed.record import recording


def main() -> None:
    record_dir, module, *argv = sys.argv[1:]
    with recording(record_dir):
        importlib.import_module(module).main(argv)


if __name__ == "__main__":
    main()

"""Stage done-markers that record what a stage's outputs were made from.

    python -m espnet_kd.bin.fingerprint write MARKER --inputs data/train conf/x.yaml --options="--fs 16000"
    python -m espnet_kd.bin.fingerprint check MARKER --what dump/raw/train --inputs ... --options="..."

``write`` stores in MARKER (JSON, atomically) the sha256 of every input (a
directory: every file under it, hidden names and ``--exclude`` paths skipped)
and the options string. ``check`` compares MARKER with the inputs and options
now and exits with

- 0: MARKER exists and matches: the outputs are up to date;
- 1: there is no MARKER: the stage has not finished;
- 3: MARKER was made from other inputs or options; one line on stderr says
  which (``WHAT: data/train changed since it was made``);
- 4: MARKER is an empty or unreadable marker of an older version (no fingerprint).

``--cache FILE`` keeps the files' sha256 by (size, mtime, inode) between calls,
so an unchanged file is read once. Used by ``stage_done``/``mark_done`` in
``egs2/TEMPLATE/scripts/common.sh``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

from espnet_kd.utils.fileio import atomic_write
from espnet_kd.utils.fingerprint import explain_change, inputs_fingerprint

FORMAT = "espnet_kd.stage_done/1"
UP_TO_DATE, NOT_DONE, CHANGED, LEGACY = 0, 1, 3, 4


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.fingerprint", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["check", "write", "show"])
    parser.add_argument("marker", type=Path)
    parser.add_argument("--inputs", nargs="*", default=[], help="files and dirs the stage read")
    parser.add_argument("--exclude", nargs="*", default=[], help="paths under --inputs to skip (outputs)")
    parser.add_argument("--options", default="", help="the stage's options, one string")
    parser.add_argument("--what", default=None, help="the output, for messages (default: the marker's dir)")
    parser.add_argument("--cache", type=Path, default=None, help="sha256 cache file")
    parser.add_argument("--quiet", action="store_true", help="check: no message")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    current = inputs_fingerprint(args.inputs, args.options, args.exclude, args.cache)
    if args.action == "show":
        print(json.dumps(current, indent=1))
        return
    if args.action == "write":
        args.marker.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.marker) as handle:
            json.dump({"format": FORMAT, **current, "made": time.strftime("%Y-%m-%dT%H:%M:%S")}, handle, indent=1)
            handle.write("\n")
        return
    what = args.what or str(args.marker.parent)
    if not args.marker.is_file():
        sys.exit(NOT_DONE)
    try:
        recorded = json.loads(args.marker.read_text(encoding="utf-8"))
        if not isinstance(recorded, dict) or recorded.get("format") != FORMAT:
            raise ValueError("not a fingerprint")
    except (OSError, ValueError):
        if not args.quiet:
            print(f"{what}: {args.marker} records no fingerprint (made by an older version)", file=sys.stderr)
        sys.exit(LEGACY)
    reasons: List[str] = explain_change(recorded, current)
    if reasons:
        if not args.quiet:
            print(f"{what}: " + "; ".join(reasons) + " since it was made", file=sys.stderr)
        sys.exit(CHANGED)
    sys.exit(UP_TO_DATE)


if __name__ == "__main__":
    main()

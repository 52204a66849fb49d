"""Combine labelled Kaldi data dirs into one (``<method>+unlabeled`` students' training set).

    python -m espnet_kd.bin.combine_data_dirs --out_dir dump/raw/train_seqkd_unl \\
        dump/raw/train_seqkd dump/raw/unlabeled_seqkd

Every DIR must have ``text`` (an untranscribed set is labelled first, by ``espnet_kd.bin.select
--reference_text none``); ids must be unique over the dirs. A table every DIR has is combined, one
that only some have is left out and logged (``utt2weight`` never: a DIR without it is refused); see
:mod:`espnet_kd.utils.combine`. ``--out_dir`` is written atomically, with ``combine_report.json``:
the utterances each DIR gave (and, from a DIR's ``select_report.json``, its selection's input
utterances and the reasons it dropped some), the tables left out, the total.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.combine import Combined, combine_data_dirs, load_parts
from espnet_kd.utils.fileio import InputError, atomic_dir, atomic_write, read_json
from espnet_kd.utils.lock import locked_out_dir

PROG = "combine_data_dirs"
REPORT_NAME = "combine_report.json"
REPORT_FORMAT = "espnet_kd.combine_report/1"
SELECT_REPORT = "select_report.json"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m espnet_kd.bin.{PROG}", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [("out_dir", dict(type=Path, required=True, help="the combined data dir"))])
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="labelled data dirs to combine")
    return parser


def part_summary(path: Path, utts: int) -> Dict[str, object]:
    """What ``path`` gave: its utterances, and from its selection report (if any) the selection's
    input utterances and the reasons it dropped or replaced labels."""
    summary: Dict[str, object] = {"dir": str(path), "utts": utts}
    report_path = path / SELECT_REPORT
    if report_path.is_file():
        report = read_json(report_path)
        counts = report.get("counts", {}) if isinstance(report, dict) else {}
        summary["selection_input_utts"] = counts.get("input_utts")
        summary["selection_reasons"] = report.get("reasons", {}) if isinstance(report, dict) else {}
    return summary


def build_report(combined: Combined) -> Dict[str, object]:
    """The ``combine_report.json`` of ``combined``."""
    return {
        "format": REPORT_FORMAT,
        "parts": [part_summary(Path(name), utts) for name, utts in combined.utts_by_part.items()],
        "dropped_tables": combined.dropped_tables,
        "utts": len(combined.data_dir.utt2spk),
    }


def write_combined(out_dir: Path, dirs: Sequence[Path]) -> Dict[str, object]:
    """Combine ``dirs`` into ``out_dir`` (atomically); return the report."""
    import json

    resolved = {path.resolve() for path in dirs}
    if out_dir.resolve() in resolved:
        raise InputError(f"--out_dir {out_dir} is one of the dirs to combine")
    combined = combine_data_dirs(load_parts(dirs))
    report = build_report(combined)
    with atomic_dir(out_dir) as tmp_dir:
        combined.data_dir.write(tmp_dir)
        with atomic_write(tmp_dir / REPORT_NAME) as handle:
            json.dump(report, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
    return report


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        with locked_out_dir(args.out_dir):
            report = write_combined(args.out_dir, args.dirs)
    except InputError as error:
        fail(f"{PROG}: {error}")
    parts = ", ".join(f"{part['dir']}: {part['utts']}" for part in report["parts"])  # type: ignore[index]
    logging.info("%s: %d utterances (%s)", args.out_dir, report["utts"], parts)
    if report["dropped_tables"]:
        logging.info("left out (not in every dir): %s", ", ".join(report["dropped_tables"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()

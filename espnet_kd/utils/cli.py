"""Shared command-line conventions for ``espnet_kd.bin``.

Every option is accepted as ``--name_with_underscores`` and ``--name-with-dashes``;
errors a user can fix end the program with ``ERROR: <message>`` and exit code 1.
Bad input is raised as :class:`espnet_kd.utils.fileio.InputError` (``DataDirError`` is
one), whose message names the file and line; a CLI's ``main`` catches it and calls
:func:`fail`, so the user sees one line and no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, NoReturn, Sequence, Tuple

from espnet_kd.utils.fileio import atomic_write


def add_arguments(parser: argparse.ArgumentParser, specs: Sequence[Tuple[str, Dict[str, Any]]]) -> None:
    """Add ``--name`` options, each also spelt with dashes."""
    for name, kwargs in specs:
        flags = [f"--{name}"]
        if "_" in name:
            flags.append(f"--{name.replace('_', '-')}")
        parser.add_argument(*flags, dest=name, **kwargs)


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr as ``time (module) LEVEL: message``."""
    logging.basicConfig(
        level=level, stream=sys.stderr,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )


def fail(message: str) -> NoReturn:
    """Print ``ERROR: message`` to stderr and exit with status 1."""
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def write_json_output(path: Path, result: Dict[str, Any], option: str = "--out") -> None:
    """Write ``result`` as indented JSON to ``path`` atomically; a failure ends the program
    (:func:`fail`) naming the option that gave the path."""
    try:
        with atomic_write(path) as handle:
            json.dump(result, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
    except OSError as error:
        fail(f"cannot write {option} {path}: {error.strerror or error}")

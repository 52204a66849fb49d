"""Running a CLI's ``main(argv)`` in-process and checking it stopped with one ``ERROR:`` line."""

from __future__ import annotations

from typing import Callable, Sequence

import pytest


def one_line_error(main: Callable[[Sequence[str]], None], argv: Sequence[object], capsys) -> str:
    """Run ``main``; it must exit with status 1 after printing exactly one ``ERROR: ...`` line
    (no traceback). Returns that line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main([str(arg) for arg in argv])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, err
    return errors[0]

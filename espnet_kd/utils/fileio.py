"""Atomic file output.

Every file a stage writes goes through :func:`atomic_write` (or
:func:`atomic_dir`): the content is written to a temporary name in the same
directory and renamed into place, so an interrupted stage never leaves a
half-written file that a later stage would trust. Outputs get the mode a plain
``open()`` / ``mkdir()`` gives under the process umask (not the owner-only mode of
``mkstemp``/``mkdtemp``). A temporary's name records the host and process that
made it (``.<name>.<pid>@<host>.<random>.tmp``); one left by a process that was
killed is removed by the next write of the same output on that host.

Text input goes through :func:`iter_text_lines` / :func:`read_text`, which
raise :class:`InputError` naming the file and line (``<file>:<line>: not UTF-8
(byte 0xff at column 7)``); every CLI turns it into one ``ERROR:`` line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, List, Tuple, Union

PathLike = Union[str, os.PathLike]

_HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "localhost"
# what follows ".<name>." in a temporary's name: "<pid>@<host>.<mkstemp's random part>.tmp"
_TEMP_OWNER = re.compile(r"(\d+)@([A-Za-z0-9_.-]+)\.[A-Za-z0-9_]+\.tmp")


class InputError(ValueError):
    """Input a user must fix; the message names the file (and line), on one line."""


def iter_text_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """``(line number, line without its end of line)`` of a UTF-8 text file.

    Raises :class:`InputError` ``<file>:<line>: not UTF-8 (byte 0xNN at column C)``
    (column counted in bytes, from 1), or naming the file when it cannot be read.
    """
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    with handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{path}:{line_no}: not UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
                ) from None
            yield line_no, line.rstrip("\r\n")


def read_text_lines(path: PathLike) -> List[str]:
    """The lines of a UTF-8 text file (see :func:`iter_text_lines`)."""
    return [line for _, line in iter_text_lines(path)]


def read_text(path: PathLike) -> str:
    """The content of a UTF-8 text file; :class:`InputError` naming the file and line if it is not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_no = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise InputError(
            f"{path}:{line_no}: not UTF-8 (byte 0x{data[error.start]:02x} at column {column})"
        ) from None


def read_json(path: PathLike) -> Any:
    """A JSON file's value; :class:`InputError` naming the file and line if it is not JSON."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}:{error.lineno}: not JSON ({error.msg} at column {error.colno})") from None


def read_yaml_mapping(path: PathLike) -> dict:
    """A YAML file holding a mapping (an empty file is ``{}``); :class:`InputError` naming the file otherwise."""
    import yaml

    text = read_text(path)
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or type(error).__name__
        raise InputError(f"{where}: not valid YAML ({problem})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: expected a YAML mapping of key: value, got a {type(loaded).__name__}")
    return loaded


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(target: PathLike) -> List[Path]:
    """Remove the temporaries of ``target`` that a killed process of this host left; return them.

    Only names this module makes are considered (``.<name>.<pid>@<host>.<random>.tmp``),
    and only those whose process no longer runs: a write in progress elsewhere is left alone.
    """
    target = Path(target)
    prefix = f".{target.name}."
    removed: List[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        owner = _TEMP_OWNER.fullmatch(entry.name[len(prefix):])
        if owner is None or owner.group(2) != _HOST:
            continue
        pid = int(owner.group(1))
        if pid == os.getpid() or _process_is_alive(pid):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        logging.getLogger(__name__).info("removed %s, left by a process (%d) that no longer runs", path, pid)
        removed.append(path)
    return removed


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}@{_HOST}."


def _current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    try:
        kwargs = {} if "b" in mode else {"encoding": encoding}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file owner-only (0600); give it the mode a plain open() would
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Build a directory under a temporary name; rename it to ``path`` on success.

    An existing ``path`` is replaced only once the new one is complete (it is moved
    to ``.<name>.old`` for the swap, which a run killed mid-swap may leave: the next
    successful run removes it).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp_dir = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
    try:
        yield tmp_dir
        os.chmod(tmp_dir, 0o777 & ~_current_umask())   # mkdtemp makes it owner-only (0700)
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
            os.replace(tmp_dir, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp_dir, target)
            if old.is_dir():  # a run killed between its two renames
                shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise

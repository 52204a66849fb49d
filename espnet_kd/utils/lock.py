"""One process at a time per output directory.

A command that writes into ``--out_dir`` (``espnet_kd.bin.nbest``, ``select``, ``dump_topk``)
holds an exclusive ``flock`` on a lock file *beside* that directory, ``<parent>/.<name>.lock``
(beside, not inside: :func:`espnet_kd.utils.fileio.atomic_dir` replaces the directory whole),
for as long as it writes. The file names its holder (``pid``, ``host``, ``started``,
``command``: ``key value`` lines, as the stage scripts' ``exp/.lock``). A second process
finds the lock taken and stops at once with ``ERROR: <out dir> is in use by process <pid>
(started <time>); wait for it or stop it``, touching nothing. The kernel drops an flock when
its holder dies, so a lock left by a killed process (SIGKILL, a lost node) is taken over,
with a warning naming that process; a holder that ends normally removes the file.

Parts of one directory that separate processes may write at once (the shards of a top-k
cache) take one lock each: ``<parent>/.<name>.<part>.lock``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

from espnet_kd.utils.cli import fail

PathLike = Union[str, os.PathLike]


class DirInUseError(RuntimeError):
    """The lock is held by another process (the message says which)."""


def lock_path(out_dir: PathLike, part: Optional[str] = None) -> Path:
    """The lock file of ``out_dir`` (or of one ``part`` of it): a hidden sibling of the directory."""
    out_dir = Path(out_dir).absolute()
    suffix = f".{part}" if part else ""
    return out_dir.parent / f".{out_dir.name}{suffix}.lock"


def read_owner(path: PathLike) -> Dict[str, str]:
    """The ``key value`` lines of a lock file ({} when it is missing, empty or unreadable)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    owner = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key:
            owner[key] = value
    return owner


def _process_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:   # another user's process
        return True
    return True


class DirLock:
    """An exclusive lock on ``what`` (a directory, or a part of one) through the file ``path``."""

    def __init__(self, path: PathLike, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`DirInUseError` naming its holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise DirInUseError(self._in_use_message()) from None
            try:
                same_file = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same_file = False
            if same_file:
                break
            os.close(fd)   # its holder removed it as we opened it: take the lock on the new file
        self._fd = fd
        previous = read_owner(self.path)
        if previous.get("pid"):
            logging.warning(
                "%s: taking over %s from process %s (%s, started %s, on %s), which ended without releasing it",
                self.what, self.path, previous["pid"], previous.get("command", "?"),
                previous.get("started", "?"), previous.get("host", "?"),
            )
        record = (
            f"pid {os.getpid()}\nhost {socket.gethostname()}\n"
            f"started {time.strftime('%Y-%m-%dT%H:%M:%S')}\ncommand {' '.join(sys.argv)[:500]}\n"
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode("utf-8"), 0)

    def _in_use_message(self) -> str:
        owner = read_owner(self.path)
        pid = owner.get("pid")
        if not pid:
            return f"{self.what} is in use by another process (it holds {self.path}); wait for it or stop it"
        host = owner.get("host", "")
        where = "" if host == socket.gethostname() else f" on {host}"
        started = owner.get("started", "?")
        if not where and not _process_alive(pid):
            return (f"{self.what} is in use: process {pid} (started {started}) has ended, but a process it "
                    f"started still holds {self.path}; wait for it or stop it")
        return f"{self.what} is in use by process {pid}{where} (started {started}); wait for it or stop it"

    def release(self) -> None:
        """Remove the lock file and drop the lock (no-op when not held)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(self._fd), os.stat(self.path)):
                os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


@contextlib.contextmanager
def locked_out_dir(out_dir: PathLike, parts: Optional[Sequence[str]] = None) -> Iterator[List[DirLock]]:
    """Hold ``out_dir``'s lock (or one lock per ``part``) for the ``with`` block, for a command-line
    program: a lock held by another process ends the program with ``ERROR: <message>`` (exit 1)."""
    locks = [DirLock(lock_path(out_dir, part), f"{out_dir} ({part})" if part else str(out_dir))
             for part in (parts or [None])]
    held: List[DirLock] = []
    try:
        for lock in locks:
            try:
                lock.acquire()
            except DirInUseError as error:
                fail(str(error))
            held.append(lock)
        yield held
    finally:
        for lock in reversed(held):
            lock.release()

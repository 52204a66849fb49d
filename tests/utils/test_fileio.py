"""Tests for espnet_kd.utils.fileio: atomic file and directory output."""

from __future__ import annotations

from pathlib import Path

import pytest

from espnet_kd.utils.fileio import atomic_dir, atomic_write


class Boom(RuntimeError):
    pass


def test_atomic_write_creates_file_and_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "f.txt"
    with atomic_write(target) as handle:
        handle.write("hello\n")
        assert not target.exists()
    assert target.read_text() == "hello\n"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_exception_inside_atomic_write_leaves_old_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old\n")
    with pytest.raises(Boom):
        with atomic_write(target) as handle:
            handle.write("half-written new content")
            raise Boom()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_binary(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    with atomic_write(target, "wb") as handle:
        handle.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_atomic_dir_replaces_existing_dir_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(Boom):
        with atomic_dir(target) as tmp_dir:
            (tmp_dir / "new.txt").write_text("new")
            raise Boom()
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["d"]
    with atomic_dir(target) as tmp_dir:
        assert tmp_dir != target
        (tmp_dir / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_atomic_dir_creates_new_dir(tmp_path: Path) -> None:
    target = tmp_path / "x" / "d"
    with atomic_dir(target) as tmp_dir:
        (tmp_dir / "f").write_text("1")
    assert (target / "f").read_text() == "1"


def test_atomic_write_gives_the_mode_a_plain_open_would(tmp_path):
    import os
    import stat

    from espnet_kd.utils.fileio import atomic_write

    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "out.txt") as handle:
            handle.write("x")
        open(tmp_path / "plain.txt", "w").close()
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "out.txt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o644

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

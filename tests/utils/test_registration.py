"""A new selection method or QE scorer is one new file: the package finds and imports it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from espnet_kd.utils.registration import import_registering_modules, registering_modules

REPO_ROOT = Path(__file__).resolve().parents[2]

NEW_SELECTOR = '''
from typing import List, Optional, Sequence

from espnet_kd.select.abs_selector import AbsSelector, Selected
from espnet_kd.select.registry import register_selector


@register_selector
class LastSelector(AbsSelector):
    """The teacher's last hypothesis."""

    method = "last"
    usage = "last"

    @classmethod
    def label(cls, argument: Optional[str], task: str) -> str:
        return "Seq-KD (teacher's last hypothesis)"

    @classmethod
    def from_argument(cls, argument: Optional[str], **options: object) -> "LastSelector":
        return cls(**options)

    def choose(self, utt: str, hyps: Sequence, reference: Optional[str]) -> List[Selected]:
        return [Selected(utt=utt, text=hyps[-1].text, source_utt=utt, rank=hyps[-1].rank)]
'''


def write_package(root: Path) -> Path:
    """A package with one registering module, one that is not, and one that would fail on import."""
    package = root / "plugins_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "good.py").write_text("REGISTERED = []\n\n\n@register_thing\nclass Good:\n    pass\n"
                                     .replace("@register_thing", "def register_thing(cls):\n    REGISTERED.append(cls)\n"
                                              "    return cls\n\n\n@register_thing"))
    (package / "other.py").write_text("raise RuntimeError('must not be imported')\n")
    (package / "mention.py").write_text("# uses register_thing in a comment only\nraise RuntimeError('no')\n")
    return package


def test_only_modules_with_the_decorator_are_imported(tmp_path, monkeypatch):
    package = write_package(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registering_modules("plugins_pkg", [str(package)], "register_thing") == ["plugins_pkg.good"]
    assert import_registering_modules("plugins_pkg", [str(package)], "register_thing") == ["plugins_pkg.good"]
    assert "plugins_pkg.good" in sys.modules and "plugins_pkg.other" not in sys.modules
    assert [cls.__name__ for cls in sys.modules["plugins_pkg.good"].REGISTERED] == ["Good"]


def test_a_new_selector_file_is_known_to_the_recipes_without_other_edits(tmp_path):
    copy = tmp_path / "espnet_kd"
    shutil.copytree(REPO_ROOT / "espnet_kd", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "select" / "last.py").write_text(textwrap.dedent(NEW_SELECTOR))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # (cwd too: `python -m` puts it first on sys.path)
    run = [sys.executable, "-m", "espnet_kd.bin.methods"]
    listed = subprocess.run([*run, "list", "--task", "asr"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "last\tlast\tSeq-KD (teacher's last hypothesis)" in listed.stdout.splitlines()
    shell = subprocess.run([*run, "shell", "--task", "asr", "baseline", "last"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, check=True)
    assert "method_select=('' last)" in shell.stdout
    # the repository's own package does not know it
    plain = subprocess.run([*run, "shell", "--task", "asr", "last"], env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                           cwd=REPO_ROOT, capture_output=True, text=True)
    assert plain.returncode == 1 and "last" in plain.stderr

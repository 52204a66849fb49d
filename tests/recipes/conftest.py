"""Helpers for tests that run recipe scripts in a scratch copy of egs2/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def copy_recipe(tmp_path: Path, corpus: str, task: str) -> Path:
    """Copy egs2/TEMPLATE and egs2/<corpus>/<task> (configs, scripts; no outputs) under tmp_path."""
    egs2 = tmp_path / "egs2"
    shutil.copytree(REPO_ROOT / "egs2" / "TEMPLATE", egs2 / "TEMPLATE", symlinks=True)
    recipe = REPO_ROOT / "egs2" / corpus / task

    def outputs(directory: str, names: List[str]) -> List[str]:
        """A recipe's outputs (its top level only: conf/tuning/ holds configs, tuning/ results)."""
        if Path(directory) != recipe:
            return []
        return [name for name in names if name in ("data", "dump", "exp", "corpus", "tuning", "RESULTS.md")]

    shutil.copytree(recipe, egs2 / corpus / task, symlinks=True, ignore=outputs)
    return egs2 / corpus / task


def recipe_env() -> dict:
    """The environment with this interpreter's bin directory first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["VENV"] = str(Path(sys.executable).parent.parent)
    return env


def run_script(recipe_dir: Path, args: List[str], timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run a recipe script, capturing stdout+stderr together."""
    return subprocess.run(
        args, cwd=recipe_dir, env=recipe_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def scratch_recipe(tmp_path: Path):
    """A factory for scratch recipe copies."""
    return lambda corpus="mini_synth", task="asr1": copy_recipe(tmp_path, corpus, task)

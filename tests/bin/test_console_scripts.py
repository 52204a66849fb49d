"""Every user-facing entry point has a console script, and every console script resolves."""

from __future__ import annotations

import configparser
import importlib
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = REPO_ROOT / "espnet_kd" / "bin"

# entry points the stage scripts call for their own bookkeeping, not commands a user types
INTERNAL = {"fingerprint", "iters_per_epoch", "make_shapes", "methods", "model_config"}


def console_scripts() -> dict:
    """``name → "module:function"`` from setup.cfg's ``[options.entry_points] console_scripts``."""
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "setup.cfg", encoding="utf-8")
    lines = config["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in lines if line.strip())


def test_every_console_script_names_a_main_that_exists():
    scripts = console_scripts()
    assert scripts, "setup.cfg declares no console scripts"
    for name, target in scripts.items():
        module_name, _, function_name = target.partition(":")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, function_name, None)), f"{name}: {target} is not callable"
        assert name == "espnet-kd-" + module_name.rsplit(".", 1)[1].replace("_", "-"), name


def test_every_user_facing_bin_module_has_a_console_script():
    targets = {target.partition(":")[0].rsplit(".", 1)[1] for target in console_scripts().values()}
    with_main = {
        path.stem for path in BIN_DIR.glob("*.py")
        if re.search(r"^def main\(", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    }
    assert "nbest" in with_main
    missing = sorted(with_main - targets - INTERNAL)
    assert not missing, f"bin modules without a console script in setup.cfg: {missing}"

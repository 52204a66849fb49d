"""Read keys of a trained model's ``config.yaml`` for a shell script, or write a config with some keys changed.

ESPnet's trainer records every option a model was trained with in ``<model dir>/config.yaml``;
the stage scripts read some of them back (``egs2/TEMPLATE/st1/tune_wordkd.sh``: a student's seed,
encoder initialisation, KD settings) instead of carrying inline Python.

    python -m espnet_kd.bin.model_config get [--prefix base_] exp/student_baseline seed init_param
        base_seed=0
        base_init_param=(../asr1/exp/teacher/valid.acc.ave.pth:encoder:encoder)

``get`` prints one bash assignment per key (values quoted with ``shlex``), for ``eval``: a list is
an array, a number, string or boolean (``true``/``false``) a scalar, a key the config lacks (or
null) ``''``. A key holding a mapping is refused. The argument is a model dir or a YAML file.

    python -m espnet_kd.bin.model_config override conf/train_st_wordkd.yaml wordkd.yaml \\
        kd_lambda=0.5 kd_temperature=2 --by tune_wordkd.sh

``override`` writes OUT (atomically: a half-written config never trains) as BASE with each KEY set
to the float NUMBER, after a comment line naming BASE, the new values and ``--by``.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from espnet_kd.utils.cli import add_arguments, fail
from espnet_kd.utils.fileio import InputError, atomic_write, read_yaml_mapping

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def config_path(path: Path) -> Path:
    """``path/config.yaml`` for a model dir, ``path`` itself for a file."""
    return path / "config.yaml" if path.is_dir() else path


def read_config(path: Path) -> Dict[str, Any]:
    """The mapping in a model dir's ``config.yaml`` (or a YAML file); InputError if missing or not a mapping."""
    config_file = config_path(path)
    if not config_file.is_file():
        raise InputError(f"{config_file} not found")
    return read_yaml_mapping(config_file)


def _scalar(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise InputError(f"{where} is a {type(value).__name__}, not a value")


def shell_assignments(config: Dict[str, Any], keys: List[str], prefix: str, source: Path) -> List[str]:
    """``<prefix><key>=<value>`` lines (a list: ``<prefix><key>=(<items>)``) for ``eval`` in bash."""
    lines = []
    for key in keys:
        name = f"{prefix}{key}"
        if not _NAME.match(name):
            raise ValueError(f"'{name}' is not a shell variable name (--prefix and the keys make one)")
        where = f"{config_path(source)}: {key}"
        value = config.get(key)
        if isinstance(value, (list, tuple)):
            items = [shlex.quote(_scalar(item, f"{where} item")) for item in value]
            lines.append(f"{name}=({' '.join(items)})")
        else:
            lines.append(f"{name}={shlex.quote(_scalar(value, where))}")
    return lines


def parse_overrides(pairs: List[str]) -> List[Tuple[str, float]]:
    """``KEY=NUMBER`` arguments as (key, float) pairs."""
    overrides = []
    for pair in pairs:
        key, sep, number = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"'{pair}' is not KEY=NUMBER")
        try:
            overrides.append((key, float(number)))
        except ValueError:
            raise ValueError(f"'{pair}': {number!r} is not a number") from None
    return overrides


def write_override(base: str, out: Path, overrides: List[Tuple[str, float]], by: str) -> None:
    """Write ``out``: ``base`` with the overrides, after a comment line saying so (naming ``base`` as given)."""
    import yaml

    config = read_config(Path(base))
    config.update(overrides)
    changes = ", ".join(f"{key}={value}" for key, value in overrides)
    with atomic_write(out) as handle:
        handle.write(f"# {base} with {changes} (written by {by})\n")
        yaml.safe_dump(config, handle, sort_keys=False)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("get", help="print keys of a config as bash assignments")
    add_arguments(get, [("prefix", dict(default="", help="prefix of every variable name"))])
    get.add_argument("model", type=Path, help="a model dir (its config.yaml) or a YAML file")
    get.add_argument("keys", nargs="+")
    override = commands.add_parser("override", help="write a config with some keys set to numbers")
    override.add_argument("base")
    override.add_argument("out", type=Path)
    override.add_argument("pairs", nargs="+", metavar="KEY=NUMBER")
    add_arguments(override, [("by", dict(default="espnet_kd.bin.model_config",
                                         help="who wrote it, for the comment line"))])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    try:
        if args.command == "get":
            print("\n".join(shell_assignments(read_config(args.model), args.keys, args.prefix, args.model)))
        else:
            write_override(args.base, args.out, parse_overrides(args.pairs), args.by)
    except (InputError, ValueError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

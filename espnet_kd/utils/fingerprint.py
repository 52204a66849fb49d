"""Fingerprints of what an output was made from: options, model files, input files.

A resumable output records, beside its first results, the options that change
it and a fingerprint of the model and the data it read; a resume under other
options (or another model) is refused with a line that names each difference
(old → new) and the directory to remove, instead of mixing results of two
settings in one output (``partial.jsonl`` of ``espnet_kd.bin.nbest``, the
top-k cache of ``espnet_kd.bin.dump_topk``, ``select_report.json``).

The stage scripts' done-markers (``espnet_kd.bin.fingerprint``, called by
``stage_done``/``mark_done`` in ``egs2/TEMPLATE/scripts/common.sh``) record
:func:`inputs_fingerprint`: the sha256 of every file a stage read (a directory:
every file under it, hidden names skipped) and its options string. Content
hashes, not times, so a rewritten but identical file does not make the stages
after it redo their work; a stat cache (size, mtime, inode → sha256) keeps
unchanged files from being read twice.

Measured cost: sha256 of a 14 MB checkpoint is ≈ 20 ms (python hashlib, one core).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from espnet_kd.utils.fileio import PathLike, atomic_write

CHUNK = 1 << 20
MISSING = "missing"


def file_sha256(path: PathLike) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_fingerprint(model_file: PathLike, config_file: Optional[PathLike] = None) -> Dict[str, Any]:
    """What identifies a model: its checkpoint's sha256 and size (and its config's sha256)."""
    model_file = Path(model_file)
    record: Dict[str, Any] = {
        "file": str(model_file),
        "size": model_file.stat().st_size,
        "sha256": file_sha256(model_file),
    }
    if config_file is not None:
        record["config_sha256"] = file_sha256(config_file)
    return record


def cli_value(value: Any) -> str:
    """An option value as a user would type it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(cli_value(item) for item in value)
    return str(value)


def as_cli(options: Mapping[str, Any], names: Optional[Iterable[str]] = None) -> str:
    """``--name value`` for each option (all, or those of ``names``, in that order)."""
    chosen = list(names) if names is not None else sorted(options)
    return " ".join(f"--{name} {cli_value(options.get(name))}" for name in chosen)


def differing(old: Mapping[str, Any], new: Mapping[str, Any]) -> List[str]:
    """The keys whose values differ (missing on one side counts), sorted."""
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def describe_model_change(old: Optional[Mapping[str, Any]], new: Mapping[str, Any]) -> str:
    """``another model (exp/a/x.pth sha256 1a2b3c4d5e6f), not exp/b/y.pth (sha256 ...)``."""
    def short(record: Optional[Mapping[str, Any]]) -> str:
        if not record:
            return "an unrecorded model"
        return f"{record.get('file')} (sha256 {str(record.get('sha256'))[:12]})"

    return f"model {short(old)}, not {short(new)}"


class MadeWithMismatch(ValueError):
    """An output was made under other options or from another model than asked now."""


def check_made_with(
    what: PathLike,
    recorded: Mapping[str, Any],
    current: Mapping[str, Any],
    remove: PathLike,
    action: str,
) -> None:
    """Refuse when ``recorded`` (``{"options": {...}, "model": {...}}``) differs from ``current``.

    The message names every option that differs (old → new, as command-line
    options), a changed model, and ``remove``, the dir to remove to ``action``
    again: ``<what> was made with --beam_size 4 --nbest 4, not --beam_size 2
    --nbest 2; remove <dir> to decode again``.
    """
    parts = []
    old_options = dict(recorded.get("options") or {})
    new_options = dict(current.get("options") or {})
    changed = differing(old_options, new_options)
    if changed:
        parts.append(f"{as_cli(old_options, changed)}, not {as_cli(new_options, changed)}")
    old_model, new_model = recorded.get("model"), current.get("model")
    if new_model is not None and any(
        (old_model or {}).get(key) != new_model[key] for key in ("sha256", "config_sha256") if key in new_model
    ):
        parts.append(describe_model_change(old_model, new_model))
    others = differing(
        {k: v for k, v in recorded.items() if k not in ("options", "model")},
        {k: v for k, v in current.items() if k not in ("options", "model")},
    )
    for key in others:
        parts.append(f"{key} {cli_value(recorded.get(key))}, not {cli_value(current.get(key))}")
    if parts:
        raise MadeWithMismatch(f"{what} was made with " + "; ".join(parts) + f"; remove {remove} to {action} again")


# ---------------------------------------------------------------- stage inputs


class DigestCache:
    """sha256 of files by (path, size, mtime, inode), kept in a JSON file between calls.

    Only a cache: a lost or corrupt file costs one more read of each input.
    """

    def __init__(self, path: Optional[PathLike]) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: Dict[str, List[Any]] = {}
        self.changed = False
        if self.path is not None and self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    self.entries = loaded
            except (OSError, ValueError):
                self.entries = {}

    def digest(self, path: Path) -> str:
        stat = path.stat()
        key = str(path.resolve())
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        hit = self.entries.get(key)
        if isinstance(hit, list) and len(hit) == 2 and hit[0] == stamp:
            return str(hit[1])
        value = file_sha256(path)
        self.entries[key] = [stamp, value]
        self.changed = True
        return value

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        try:
            with atomic_write(self.path) as handle:
                json.dump(self.entries, handle)
        except OSError:
            pass


def _files_under(directory: Path, excluded: Sequence[Path]) -> List[Path]:
    """Regular files under ``directory`` (recursively), hidden names and ``excluded`` skipped."""
    found = []
    for root, dirs, files in os.walk(directory):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (root_path / d).resolve() not in excluded)
        for name in sorted(files):
            path = root_path / name
            if name.startswith(".") or path.resolve() in excluded:
                continue
            found.append(path)
    return found


def path_digest(path: PathLike, cache: DigestCache, exclude: Sequence[PathLike] = ()) -> str:
    """One input's fingerprint: a file's sha256; a directory's: the sha256 of its files'
    relative names and sha256s; ``missing`` for a path that does not exist."""
    path = Path(path)
    excluded = [Path(p).resolve() for p in exclude]
    if path.is_file():
        return cache.digest(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in _files_under(path, excluded):
            digest.update(f"{file.relative_to(path).as_posix()}\0{cache.digest(file)}\n".encode("utf-8"))
        return "dir:" + digest.hexdigest()
    return MISSING


def inputs_fingerprint(
    inputs: Sequence[PathLike],
    options: str,
    exclude: Sequence[PathLike] = (),
    cache_file: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """``{"inputs": {path: digest}, "options": options}`` of a stage (what a done-marker records)."""
    cache = DigestCache(cache_file)
    record = {
        "inputs": {str(path): path_digest(path, cache, exclude) for path in inputs},
        "options": options,
    }
    cache.save()
    return record


def explain_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> List[str]:
    """What differs between two stage fingerprints, one short phrase each (empty: the same)."""
    reasons = []
    old_inputs = dict(old.get("inputs") or {})
    new_inputs = dict(new.get("inputs") or {})
    for path in new_inputs:
        if path not in old_inputs:
            reasons.append(f"{path} is a new input")
        elif old_inputs[path] != new_inputs[path]:
            if new_inputs[path] == MISSING:
                reasons.append(f"{path} is gone")
            else:
                reasons.append(f"{path} changed")
    for path in old_inputs:
        if path not in new_inputs:
            reasons.append(f"{path} is no longer an input")
    if old.get("options") != new.get("options"):
        reasons.append(f"the options changed ('{old.get('options')}' → '{new.get('options')}')")
    return reasons

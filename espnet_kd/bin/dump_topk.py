"""Dump a frozen teacher's top-k tokens per target position, for offline word-level KD.

Usage::

    python -m espnet_kd.bin.dump_topk --teacher_kind asr \\
        --teacher_config exp/teacher/config.yaml --teacher_model_file exp/teacher/valid.acc.ave.pth \\
        --data_path_and_name_and_type dump/raw/train/wav.scp,speech,sound \\
        --data_path_and_name_and_type dump/raw/train/text,text,text \\
        --out_dir exp/teacher/topk_train --k 8 [--temperature 1.0] [--num_shards 4 --shards 0 2]

An MT teacher (``--teacher_kind mt``) reads ``<dir>/text.<src>,src_text,text`` instead
of the speech. The teacher is teacher-forced on each reference (tokenised by its own
preprocessor, as in its training); for every position it keeps the ``k`` best token
ids and their log-probabilities at ``--temperature``. Output: the sharded cache of
:mod:`espnet_kd.kd.topk_cache` (format ``espnet_kd.topk_cache/2``): the ids bit-packed
at the vocabulary's width, the log-probabilities coded by ``--logp_encoding``: ``q8``
(default, 1 byte each: the top-1 and each token's offset below it on fixed 8-bit
levels; at k = 8, 24 bytes per position or fewer up to 65536 tokens) or ``fp16`` (2 bytes
each). Finished shards are skipped on a rerun; ``meta.json`` is written once every shard
is there, so ``--num_shards N`` jobs given ``--shards i`` each can run in parallel, the
last one to finish completes it.
``build.json`` (written first) records the settings and what the cache is made from (the
teacher's sha256, the sha256 of each data file): a rerun with another teacher, k,
temperature, log-prob encoding, shard count or data is refused, naming what changed and the
dir to remove, and so is one holding shards of another cache format (an older version's).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from espnet_kd.kd.losses import teacher_topk
from espnet_kd.kd.topk_cache import (
    BUILD_NAME,
    DEFAULT_LOGP_ENCODING,
    FORMAT,
    LOGP_ENCODINGS,
    META_NAME,
    TopKCacheError,
    TopKCacheMeta,
    shard_is_complete,
    shard_stem,
    write_shard,
)
from espnet_kd.teacher import TASKS, Teacher, TeacherError, load_teacher
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import InputError, atomic_write, iter_text_lines
from espnet_kd.utils.fingerprint import file_sha256
from espnet_kd.utils.lock import locked_out_dir

PROG = "dump_topk"
TEACHER_KINDS = ("asr", "mt")  # the teachers of word-level KD: an ASR model (speech) or an MT model (src_text)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m espnet_kd.bin.{PROG}", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("teacher_kind", dict(choices=TEACHER_KINDS, required=True, help="asr (speech) or mt (src_text)")),
        ("teacher_config", dict(type=Path, required=True, help="the teacher's config.yaml")),
        ("teacher_model_file", dict(type=Path, required=True, help="the teacher's checkpoint")),
        ("data_path_and_name_and_type", dict(action="append", required=True,
                                              help="PATH,NAME,TYPE as for ESPnet (repeat)")),
        ("out_dir", dict(type=Path, required=True, help="the cache directory")),
        ("k", dict(type=int, default=8, help="tokens kept per position")),
        ("temperature", dict(type=float, default=1.0, help="temperature of the stored log-probs")),
        ("logp_encoding", dict(choices=LOGP_ENCODINGS, default=DEFAULT_LOGP_ENCODING,
                               help="how the log-probs are stored: q8 (1 byte each, the default) or fp16 "
                                    "(2 bytes each)")),
        ("num_shards", dict(type=int, default=1, help="shards the utterances are split into")),
        ("shards", dict(type=int, nargs="+", default=None, help="the shards to dump (default: all)")),
        ("batch_size", dict(type=int, default=8)),
        ("device", dict(default="cpu")),
    ])
    return parser


def parse_triple(value: str) -> Tuple[str, str, str]:
    parts = value.split(",")
    if len(parts) != 3:
        raise TopKCacheError(f"--data_path_and_name_and_type must be PATH,NAME,TYPE, not '{value}'")
    return parts[0], parts[1], parts[2]


def check_stream_line(path: str, line_no: int, name: str, data_type: str, key: str, value: str) -> None:
    """One entry of a data stream: a text stream's transcript is not empty; a sound stream's audio
    file exists and is not empty (a command entry, ``... |``, is checked when it runs)."""
    where = f"{path}:{line_no}"
    if data_type == "text" and not value.strip():
        raise TopKCacheError(f"{where}: empty transcript for '{key}' ({name}): the teacher needs a reference")
    if data_type == "sound":
        value = value.strip()
        if not value:
            raise TopKCacheError(f"{where}: '{key}' has no audio file ({name})")
        if value.endswith("|"):
            return
        audio = Path(value)
        if not audio.is_file():
            raise TopKCacheError(f"{where}: audio file of '{key}' not found: {value}")
        if audio.stat().st_size == 0:
            raise TopKCacheError(f"{where}: audio file of '{key}' is empty (0 bytes): {value}")


def utterance_ids(triples: Sequence[Tuple[str, str, str]]) -> List[str]:
    """The utterances to dump: those of the ``text`` stream, each of which every stream must have.

    Every line must be UTF-8, every transcript non-empty and every audio file present and
    non-empty; errors name the file and line.
    """
    keys: Dict[str, List[str]] = {}
    lines: Dict[str, Dict[str, Tuple[int, str]]] = {}  # stream → key → (line number, value)
    for path, name, _ in triples:
        if not Path(path).is_file():
            raise TopKCacheError(f"data file not found: {path} ({name})")
        keys[name], lines[name] = [], {}
        for line_no, line in iter_text_lines(path):
            if not line.strip():
                continue
            fields = line.split(maxsplit=1)
            keys[name].append(fields[0])
            lines[name][fields[0]] = (line_no, fields[1] if len(fields) > 1 else "")
    if "text" not in keys:
        raise TopKCacheError("the references are needed: add '<dir>/text,text,text' to --data_path_and_name_and_type")
    wanted = sorted(set(keys["text"]))
    for name, names in keys.items():
        missing = sorted(set(wanted) - set(names))
        if missing:
            raise TopKCacheError(
                f"{name} stream lacks {len(missing)} of the {len(wanted)} utterances of the text stream: "
                + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            )
    for path, name, data_type in triples:
        for key in wanted:
            line_no, value = lines[name][key]
            check_stream_line(path, line_no, name, data_type, key, value)
    return wanted


def shard_keys(uttids: List[str], num_shards: int) -> List[List[str]]:
    """Contiguous, nearly equal chunks of the sorted utterance ids."""
    bounds = np.linspace(0, len(uttids), num_shards + 1).round().astype(int)
    return [uttids[bounds[i]:bounds[i + 1]] for i in range(num_shards)]


def check_build_settings(out_dir: Path, meta: TopKCacheMeta) -> None:
    """Record the settings on the first run; refuse to resume with other ones."""
    path = out_dir / BUILD_NAME
    settings = meta.build_settings()
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous.get("format") != settings["format"]:
            state = "a complete cache" if (out_dir / META_NAME).is_file() else "shards"
            raise TopKCacheError(
                f"{out_dir} holds {state} of the top-k cache format {previous.get('format')} (another "
                f"version of espnet_kd wrote them); this version writes {FORMAT} and does not mix formats in one "
                f"cache: remove {out_dir} to dump again (or use another --out_dir)"
                + ("; training still reads the complete cache as it is" if state != "shards" else "")
            )
        if previous != settings:
            raise TopKCacheError(
                f"{out_dir} was started with other settings: {describe_settings_change(previous, settings)}; "
                f"remove {out_dir} to dump again (or use another --out_dir)"
            )
        return
    if any(out_dir.glob("shard_*")) or (out_dir / META_NAME).is_file():
        raise TopKCacheError(
            f"{out_dir} holds shards but no {BUILD_NAME} saying what they were made with (an older version "
            f"wrote them): remove {out_dir} to dump again"
        )
    with atomic_write(path) as handle:
        json.dump(settings, handle, indent=2, sort_keys=True)


def describe_settings_change(previous: Dict, settings: Dict) -> str:
    """``k 4 → 8, data text.tsv changed``: each setting that differs, old → new."""
    parts = []
    old_extra, new_extra = previous.get("extra") or {}, settings.get("extra") or {}
    for key in sorted(set(previous) | set(settings)):
        if key == "extra" or previous.get(key) == settings.get(key):
            continue
        old, new = previous.get(key), settings.get(key)
        if key == "teacher_sha256":
            old, new = str(old)[:12], str(new)[:12]
        parts.append(f"{key} {old} → {new}" + (" (--logp_encoding)" if key == "logp_encoding" else ""))
    for key in sorted(set(old_extra) | set(new_extra)):
        old, new = old_extra.get(key), new_extra.get(key)
        if old == new:
            continue
        if key == "data_sha256" and isinstance(old, dict) and isinstance(new, dict):
            changed = sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
            parts.append(f"data changed since: {', '.join(changed)}")
        else:
            parts.append(f"{key} {old} → {new}")
    return ", ".join(parts)


def selected_shards(args: argparse.Namespace) -> List[int]:
    """The shards this job dumps (``--shards``, default every one of ``--num_shards``), checked."""
    if args.num_shards < 1:
        raise TopKCacheError("--num_shards must be positive")
    shards = args.shards if args.shards is not None else list(range(args.num_shards))
    bad = [s for s in shards if not 0 <= s < args.num_shards]
    if bad:
        raise TopKCacheError(f"--shards {bad} outside 0..{args.num_shards - 1}")
    return shards


def shard_loader(teacher: Teacher, triples, keys: List[str], out_dir: Path, shard: int, batch_size: int):
    """ESPnet's streaming iterator over one shard's utterances, the teacher's preprocessing and collation;
    returns it and the shard's key file (written here; remove it once the shard is written)."""
    key_file = shard_stem(out_dir, shard).with_suffix(".keys")
    with atomic_write(key_file) as handle:
        handle.writelines(f"{key}\n" for key in keys)
    task, train_args = teacher.task_class, teacher.train_args
    loader = task.build_streaming_iterator(
        triples, preprocess_fn=task.build_preprocess_fn(train_args, False),
        collate_fn=task.build_collate_fn(train_args, False), key_file=str(key_file),
        batch_size=batch_size, dtype="float32", num_workers=0, allow_variable_data_keys=True, inference=False,
    )
    return loader, key_file


def dump_missing_shards(out_dir: Path, shards: List[int], uttids: List[str], meta: TopKCacheMeta,
                        dump_one: Callable[[int, List[str]], None], what: str) -> None:
    """Record (or check) the build settings, dump each of ``shards`` not yet complete with
    ``dump_one(shard, keys)``, and write ``meta.json`` once every shard of the cache is complete."""
    out_dir.mkdir(parents=True, exist_ok=True)
    check_build_settings(out_dir, meta)
    chunks = shard_keys(uttids, meta.num_shards)
    for shard in shards:
        if shard_is_complete(out_dir, shard):
            logging.info(f"{out_dir}: shard {shard} is complete")
            continue
        logging.info(f"{out_dir}: dumping shard {shard} ({len(chunks[shard])} utterances)")
        dump_one(shard, chunks[shard])
    if all(shard_is_complete(out_dir, s) for s in range(meta.num_shards)):
        meta.num_utts = len(uttids)
        meta.write(out_dir / META_NAME)
        logging.info(f"{out_dir}: complete ({len(uttids)} utterances, {what})")


def run_with_shard_locks(args: argparse.Namespace, run_dump: Callable[[argparse.Namespace], None]) -> None:
    """``run_dump(args)`` holding this job's shards of ``--out_dir`` (jobs given other ``--shards`` may run
    beside it; a second job on the same shards stops at once)."""
    shards = args.shards if args.shards is not None else range(args.num_shards)
    with locked_out_dir(args.out_dir, parts=[f"shard{shard}" for shard in shards]):
        run_dump(args)


def dump_shard(teacher: Teacher, triples, keys: List[str], out_dir: Path, shard: int, meta: TopKCacheMeta,
               batch_size: int, device: str) -> None:
    """Teacher-force every utterance of one shard and write its top-k."""
    from espnet.nets.pytorch_backend.transformer.add_sos_eos import add_sos_eos

    loader, key_file = shard_loader(teacher, triples, keys, out_dir, shard, batch_size)
    model = teacher.model
    found: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for uttids, batch in loader:
        batch = {name: value.to(device) for name, value in batch.items()}
        text, text_lengths = batch["text"], batch["text_lengths"]
        text = text[:, : int(text_lengths.max())]
        ys_in, _ = add_sos_eos(text, model.sos, model.eos, -1)
        ys_in_lens = text_lengths + 1
        ids, logp = teacher_topk(teacher.logits(batch, ys_in, ys_in_lens), meta.k, meta.temperature)
        for i, uttid in enumerate(uttids):
            n = int(ys_in_lens[i])
            found[uttid] = (ids[i, :n].cpu().numpy(), logp[i, :n].cpu().numpy())
    write_shard(out_dir, shard, [(key, *found[key]) for key in keys], meta)
    key_file.unlink()


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    setup_logging()
    run_with_shard_locks(args, run_dump)


def run_dump(args: argparse.Namespace) -> None:
    """The dump of :func:`main`, its options parsed and its shards locked."""
    try:
        triples = [parse_triple(value) for value in args.data_path_and_name_and_type]
        names = {name for _, name, _ in triples}
        teacher_input = TASKS[args.teacher_kind].input_name
        if teacher_input not in names:
            raise TopKCacheError(
                f"the {args.teacher_kind} teacher reads '{teacher_input}': add it to --data_path_and_name_and_type"
            )
        if args.num_shards < 1 or args.k < 1 or args.temperature <= 0:
            raise TopKCacheError("--num_shards and --k must be positive, --temperature above 0")
        shards = selected_shards(args)
        uttids = utterance_ids(triples)
        teacher = load_teacher(args.teacher_kind, args.teacher_config, args.teacher_model_file, args.device)
        if not 1 <= args.k <= len(teacher.token_list):
            raise TopKCacheError(f"--k {args.k} must be between 1 and the vocabulary size {len(teacher.token_list)}")
        meta = TopKCacheMeta(
            k=args.k, temperature=args.temperature, teacher_kind=args.teacher_kind,
            teacher_sha256=teacher.fingerprint(), teacher_model_file=str(args.teacher_model_file),
            token_list_hash=teacher.token_list_hash, vocab_size=len(teacher.token_list),
            num_shards=args.num_shards, logp_encoding=args.logp_encoding,
            extra={"data": [",".join(triple) for triple in triples], "utterances": len(uttids),
                   "data_sha256": {path: file_sha256(path) for path, _, _ in triples}},
        )
        dump_missing_shards(
            args.out_dir, shards, uttids, meta,
            lambda shard, keys: dump_shard(teacher, triples, keys, args.out_dir, shard, meta, args.batch_size,
                                           args.device),
            f"top-{args.k}")
    except (TopKCacheError, TeacherError, InputError, OSError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

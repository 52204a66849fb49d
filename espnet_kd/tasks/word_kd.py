"""Task-side wiring shared by the word-KD tasks: options, data checks, teacher or cache.

The word-KD tasks subclass ESPnet's ``ASRTask`` / ``STTask``; the student's model
options stay ESPnet's (``model: espnet``, ``model_conf``), and KD adds its own
top-level options (:func:`add_word_kd_arguments`). The teacher's top-k cache is a
data stream of type ``kd_topk``; when every data set (train and valid) carries one,
the teacher is not loaded at all, otherwise it runs online.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from espnet2.utils.types import str_or_none

from espnet_kd.kd.criterion import WordKDConfig
from espnet_kd.kd.teacher import AbsTeacher, TeacherError, check_same_token_list, file_sha256, load_teacher
from espnet_kd.kd.topk_cache import DATA_TYPE, TopKCache, TopKCacheError
from espnet_kd.utils.tokens import token_list_hash

DataTriple = Tuple[str, str, str]
SPLITS = ("train", "valid")


def add_word_kd_arguments(parser: argparse.ArgumentParser, teacher_kind: str) -> None:
    """``--kd_*`` options: the teacher, λ, T and k."""
    group = parser.add_argument_group(description="Word-level knowledge distillation")
    group.add_argument("--kd_teacher_config", type=str_or_none, default=None,
                       help=f"config.yaml of the frozen {teacher_kind.upper()} teacher")
    group.add_argument("--kd_teacher_model_file", type=str_or_none, default=None,
                       help="the teacher's checkpoint (also checked against a top-k cache's fingerprint)")
    group.add_argument("--kd_lambda", type=float, default=0.5,
                       help="weight λ of KL(teacher‖student); the CE on references gets 1-λ")
    group.add_argument("--kd_temperature", type=float, default=1.0, help="temperature T of both distributions")
    group.add_argument("--kd_topk", type=int, default=8,
                       help="distil the teacher's top-k renormalised (0: its full distribution, online only)")


def word_kd_config(args: argparse.Namespace) -> WordKDConfig:
    return WordKDConfig(kd_lambda=args.kd_lambda, temperature=args.kd_temperature, topk=args.kd_topk)


def data_triples(args: argparse.Namespace, split: str) -> List[DataTriple]:
    return list(getattr(args, f"{split}_data_path_and_name_and_type", None) or [])


def stream_keys(path: str, data_type: str) -> Set[str]:
    """The utterance ids a data stream covers (first column, or a top-k cache's index)."""
    if data_type == DATA_TYPE:
        return set(TopKCache(path))
    if not Path(path).is_file():
        raise FileNotFoundError(f"data stream file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        return {line.split(maxsplit=1)[0] for line in handle if line.strip()}


def check_coverage(triples: Sequence[DataTriple], name: str, reference_name: str, split: str,
                   hint: str) -> None:
    """Stop with the missing ids if stream ``name`` does not cover stream ``reference_name``."""
    by_name = {n: (p, t) for p, n, t in triples}
    if name not in by_name or reference_name not in by_name:
        return
    path, data_type = by_name[name]
    missing = sorted(stream_keys(*by_name[reference_name]) - stream_keys(path, data_type))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise TeacherError(
            f"{split} data: {path} ({name}) lacks {len(missing)} of the utterances in "
            f"{by_name[reference_name][0]} ({reference_name}): {shown}. {hint}"
        )


def cache_dirs(args: argparse.Namespace) -> dict:
    """``{split: cache dir or None}`` for train and valid."""
    return {split: next((p for p, n, t in data_triples(args, split) if t == DATA_TYPE), None) for split in SPLITS}


def check_caches(args: argparse.Namespace, student_tokens: List[str]) -> Optional[float]:
    """Check every ``kd_topk`` stream against the config; return the caches' temperature."""
    teacher_sha = file_sha256(args.kd_teacher_model_file) if args.kd_teacher_model_file else None
    temperatures = set()
    for split, cache_dir in cache_dirs(args).items():
        if cache_dir is None:
            continue
        for path, name, data_type in data_triples(args, split):
            if data_type == DATA_TYPE and name != DATA_TYPE:
                raise TopKCacheError(f"the {DATA_TYPE} stream must be named '{DATA_TYPE}', not '{name}' ({path})")
        cache = TopKCache(cache_dir)
        cache.check_matches(args.kd_topk, token_list_hash(student_tokens), teacher_sha)
        check_coverage(data_triples(args, split), DATA_TYPE, "text", split,
                       "Dump the top-k cache for this data set (python -m espnet_kd.bin.dump_topk).")
        temperatures.add(cache.meta.temperature)
    if len(temperatures) > 1:
        raise TopKCacheError(f"the train and valid top-k caches were dumped at different temperatures {sorted(temperatures)}")
    if teacher_sha is None and temperatures:
        logging.warning("no --kd_teacher_model_file: the top-k cache's teacher is not checked")
    return temperatures.pop() if temperatures else None


def needs_online_teacher(args: argparse.Namespace) -> bool:
    """True unless every data set given (train, valid) carries a ``kd_topk`` cache stream."""
    caches = cache_dirs(args)
    splits = [split for split in SPLITS if data_triples(args, split)]
    return not splits or any(caches[split] is None for split in splits)


def load_online_teacher(args: argparse.Namespace, kind: str, student_tokens: List[str]) -> AbsTeacher:
    """Load the frozen teacher and check that it predicts the student's target tokens."""
    if not args.kd_teacher_config or not args.kd_teacher_model_file:
        raise TeacherError(
            "word KD without a top-k cache for every data set needs the teacher: "
            "give --kd_teacher_config and --kd_teacher_model_file"
        )
    teacher = load_teacher(kind, args.kd_teacher_config, args.kd_teacher_model_file)
    check_same_token_list(student_tokens, teacher.token_list, "target", args.kd_teacher_model_file)
    return teacher

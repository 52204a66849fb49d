"""ESPnet2 ST task for a word-KD student with a frozen MT teacher reading ``src_text``.

Everything ESPnet's ``STTask`` takes, plus the ``--kd_*`` options. The MT teacher
reads the source transcript, tokenised with the teacher's own source vocabulary:
when the student's ``--src_token_list`` is not given it is taken from the teacher's
config (with ``src_token_type`` and ``src_bpemodel``), and when it is given it must
equal the teacher's. Run with ``python -m espnet_kd.bin.st_kd_train``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Tuple

import yaml
from espnet2.tasks.st import STTask

from espnet_kd.kd.teacher import TeacherError, as_token_list, check_same_token_list
from espnet_kd.kd.topk_cache import DATA_TYPE, register_espnet_data_type
from espnet_kd.models.st_word_kd import ESPnetSTWordKDModel
from espnet_kd.tasks.word_kd import (
    SPLITS,
    add_word_kd_arguments,
    cache_dirs,
    check_caches,
    check_coverage,
    data_triples,
    load_online_teacher,
    needs_online_teacher,
    word_kd_config,
)

register_espnet_data_type()
SOURCE_OPTIONS = ("src_token_list", "src_token_type", "src_bpemodel")


def use_teacher_source_vocabulary(args: argparse.Namespace) -> None:
    """Take ``src_token_list``/``src_token_type``/``src_bpemodel`` from the teacher's config if unset."""
    if getattr(args, "src_token_list", None) is not None or not getattr(args, "kd_teacher_config", None):
        return
    config_path = Path(args.kd_teacher_config)
    if not config_path.is_file():
        raise TeacherError(f"teacher config not found: {config_path}")
    with open(config_path, encoding="utf-8") as handle:
        teacher_args = yaml.safe_load(handle)
    if teacher_args.get("src_token_list") is None:
        raise TeacherError(f"{config_path}: not an MT config (no src_token_list)")
    for name in SOURCE_OPTIONS:
        setattr(args, name, teacher_args.get(name))


class STWordKDTask(STTask):
    """STTask whose model is :class:`ESPnetSTWordKDModel` (ST student + frozen MT teacher)."""

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_task_arguments(parser)
        add_word_kd_arguments(parser, "mt")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return super().optional_data_names(train, inference) + ((DATA_TYPE,) if not inference else ())

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool):
        use_teacher_source_vocabulary(args)
        return super().build_preprocess_fn(args, train)

    @classmethod
    def build_model(cls, args: argparse.Namespace):
        use_teacher_source_vocabulary(args)
        student = super().build_model(args)
        if getattr(args, "collect_stats", False):
            return student
        tokens = as_token_list(args.token_list, "student config")
        config = word_kd_config(args)
        cache_temperature = check_caches(args, tokens)
        teacher = None
        if needs_online_teacher(args):
            teacher = load_online_teacher(args, "mt", tokens)
            check_same_token_list(as_token_list(args.src_token_list, "student config"),
                                  teacher.src_token_list, "source", args.kd_teacher_model_file)
            caches = cache_dirs(args)
            for split in SPLITS:
                if caches[split] is None and data_triples(args, split):
                    if "src_text" not in {name for _, name, _ in data_triples(args, split)}:
                        raise TeacherError(
                            f"{split} data: the online MT teacher reads the source transcript; add "
                            f"'<dir>/text.<src_lang>,src_text,text' to --{split}_data_path_and_name_and_type"
                        )
                    check_coverage(data_triples(args, split), "src_text", "text", split,
                                   "Every training utterance needs its source transcript.")
        return ESPnetSTWordKDModel.from_espnet_model(
            student, config, teacher, cache_temperature if cache_temperature is not None else 1.0)

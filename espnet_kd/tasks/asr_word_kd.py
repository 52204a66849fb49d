"""ESPnet2 ASR task for a word-KD student with a frozen ASR teacher.

Everything ESPnet's ``ASRTask`` takes, plus the ``--kd_*`` options
(:mod:`espnet_kd.tasks.word_kd`) and an optional ``kd_topk`` data stream (the
teacher's cached top-k). Run with ``python -m espnet_kd.bin.asr_kd_train``.
"""

from __future__ import annotations

import argparse
from typing import Tuple

from espnet2.tasks.asr import ASRTask

from espnet_kd.kd.teacher import as_token_list
from espnet_kd.kd.topk_cache import DATA_TYPE, register_espnet_data_type
from espnet_kd.models.asr_word_kd import ESPnetASRWordKDModel
from espnet_kd.tasks.word_kd import (
    add_word_kd_arguments,
    check_caches,
    load_online_teacher,
    needs_online_teacher,
    word_kd_config,
)

register_espnet_data_type()


class ASRWordKDTask(ASRTask):
    """ASRTask whose model is :class:`ESPnetASRWordKDModel` (student + frozen ASR teacher)."""

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_task_arguments(parser)
        add_word_kd_arguments(parser, "asr")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return super().optional_data_names(train, inference) + ((DATA_TYPE,) if not inference else ())

    @classmethod
    def build_model(cls, args: argparse.Namespace):
        student = super().build_model(args)
        if getattr(args, "collect_stats", False):
            return student
        tokens = as_token_list(args.token_list, "student config")
        config = word_kd_config(args)
        cache_temperature = check_caches(args, tokens)
        teacher = load_online_teacher(args, "asr", tokens) if needs_online_teacher(args) else None
        return ESPnetASRWordKDModel.from_espnet_model(
            student, config, teacher, cache_temperature if cache_temperature is not None else 1.0)

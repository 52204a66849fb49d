"""ESPnet2 ST task for a word-KD student with a frozen MT teacher reading ``src_text``.

Everything ESPnet's ``STTask`` takes, plus the ``--kd_*`` options
(:class:`~espnet_kd.tasks.word_kd.WordKDTask`). The MT teacher reads the source
transcript, tokenised with the teacher's own source vocabulary: when the student's
``--src_token_list`` is not given it is taken from the teacher's config (with
``src_token_type`` and ``src_bpemodel``), and when it is given it must equal the
teacher's. Run with ``python -m espnet_kd.bin.st_kd_train``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml
from espnet2.tasks.st import STTask

from espnet_kd.kd.criterion import FrozenTeacher
from espnet_kd.kd.topk_cache import register_espnet_data_type
from espnet_kd.models.st_word_kd import ESPnetSTWordKDModel
from espnet_kd.tasks.word_kd import (
    TeacherError,
    WordKDSetup,
    WordKDTask,
    check_coverage,
    check_same_token_list,
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


class STWordKDTask(WordKDTask, STTask):
    """STTask whose model is :class:`ESPnetSTWordKDModel` (ST student + frozen MT teacher)."""

    teacher_kind = "mt"
    model_class = ESPnetSTWordKDModel

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool):
        use_teacher_source_vocabulary(args)
        return super().build_preprocess_fn(args, train)

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> torch.nn.Module:
        use_teacher_source_vocabulary(args)
        return super().build_model(args)

    @classmethod
    def check_online_teacher(cls, setup: WordKDSetup, teacher: FrozenTeacher) -> None:
        """The teacher's source vocabulary is the student's, and it has ``src_text`` to read."""
        if setup.src_token_list is None:
            raise TeacherError("student config: no source token list (--src_token_list) for the MT teacher")
        check_same_token_list(list(setup.src_token_list), teacher.src_token_list, "source",
                              setup.teacher_model_file)
        for data in setup.online_data:
            src_text = data.stream("src_text")
            if src_text is None:
                raise TeacherError(
                    f"{data.split} data: the online MT teacher reads the source transcript; add "
                    f"'<dir>/text.<src_lang>,src_text,text' to --{data.split}_data_path_and_name_and_type"
                )
            check_coverage(data, "src_text", "Every training utterance needs its source transcript.")

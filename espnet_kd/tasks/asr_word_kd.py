"""ESPnet2 ASR task for a word-KD student with a frozen ASR teacher.

Everything ESPnet's ``ASRTask`` takes, plus the ``--kd_*`` options and an optional
``kd_topk`` data stream (the teacher's cached top-k), both from
:class:`~espnet_kd.tasks.word_kd.WordKDTask`; and CTC-branch KD (:mod:`espnet_kd.kd.ctc_kd`):
``--kd_ctc_weight``, ``--kd_ctc_topk``, ``--kd_ctc_blank_threshold`` and an optional
``kd_ctc_topk`` stream (the teacher's CTC top-k per encoder frame). Run with
``python -m espnet_kd.bin.asr_kd_train``.
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, Mapping

from espnet2.tasks.asr import ASRTask

from espnet_kd.kd.ctc_kd import CTC_DATA_TYPE, CTCKDError, check_same_encoder_frames, encoder_frame_config
from espnet_kd.kd.ctc_kd import register_espnet_data_type as register_ctc_data_type
from espnet_kd.kd.topk_cache import register_espnet_data_type
from espnet_kd.models.asr_word_kd import ESPnetASRWordKDModel
from espnet_kd.tasks.word_kd import TeacherSource, WordKDSetup, WordKDTask
from espnet_kd.teacher import TeacherError
from espnet_kd.utils.fileio import read_yaml_mapping

register_espnet_data_type()
register_ctc_data_type()


class ASRWordKDTask(WordKDTask, ASRTask):
    """ASRTask whose model is :class:`ESPnetASRWordKDModel` (student + frozen ASR teacher)."""

    teacher_kind = "asr"
    model_class = ESPnetASRWordKDModel
    supports_ctc_kd = True

    @classmethod
    def init_ctc_kd(cls, model: ESPnetASRWordKDModel, setup: WordKDSetup, source: TeacherSource,
                    args: argparse.Namespace) -> None:
        """Check that teacher and student encoders output the same frames, then give the student CTC KD.

        The student's frames come from its arguments; the teacher's from the online teacher's
        training arguments, else its config file (``--kd_teacher_config``), and each CTC cache's
        from the teacher config it records. A teacher without a CTC branch is refused.
        """
        student_config = vars(args)
        teachers: Dict[str, Mapping[str, Any]] = {}
        if source.teacher is not None:
            if source.teacher.ctc is None:
                raise TeacherError(f"CTC KD: the teacher {setup.teacher_config} has no CTC branch "
                                   "(its model_conf.ctc_weight is 0)")
            teachers[str(setup.teacher_config)] = vars(source.teacher.train_args)
        elif setup.teacher_config:
            teachers[str(setup.teacher_config)] = read_yaml_mapping(setup.teacher_config)
        for cache_dir, cache in (source.ctc_caches or {}).items():
            frames = (cache.meta.extra or {}).get("encoder_frames")
            if not isinstance(frames, Mapping):
                raise CTCKDError(f"{cache_dir}: the CTC top-k cache does not record its teacher's encoder "
                                 f"frames (meta.json extra.encoder_frames); dump it again with "
                                 f"python -m espnet_kd.bin.dump_ctc_topk")
            teachers[f"the teacher of the {CTC_DATA_TYPE} cache {cache_dir}"] = frames
        frame_rates = None
        for name, teacher_config in teachers.items():
            frame_rates = check_same_encoder_frames(teacher_config, student_config, name)
        model.init_ctc_kd(setup.ctc, frame_rates or "the teacher's and the student's frontend hop_length and "
                          "encoder_conf.input_layer must agree", encoder_frame_config(student_config))

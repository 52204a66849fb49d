"""ESPnet2 ASR task for a word-KD student with a frozen ASR teacher.

Everything ESPnet's ``ASRTask`` takes, plus the ``--kd_*`` options and an optional
``kd_topk`` data stream (the teacher's cached top-k), both from
:class:`~espnet_kd.tasks.word_kd.WordKDTask`. Run with
``python -m espnet_kd.bin.asr_kd_train``.
"""

from __future__ import annotations

from espnet2.tasks.asr import ASRTask

from espnet_kd.kd.topk_cache import register_espnet_data_type
from espnet_kd.models.asr_word_kd import ESPnetASRWordKDModel
from espnet_kd.tasks.word_kd import WordKDTask

register_espnet_data_type()


class ASRWordKDTask(WordKDTask, ASRTask):
    """ASRTask whose model is :class:`ESPnetASRWordKDModel` (student + frozen ASR teacher)."""

    teacher_kind = "asr"
    model_class = ESPnetASRWordKDModel

"""ASR student with a frozen ASR teacher (same speech input): word-level KD on ESPnet's ASR model.

The loss is ESPnet's: ``ctc_weight·CTC + (1 - ctc_weight)·L_att``, where the
attention loss becomes ``(1 - λ)·CE_ls + λ·KL(teacher ‖ student)``
(:mod:`espnet_kd.kd.criterion`). Stats add ``loss_ce`` and ``loss_kd`` to ESPnet's.

With CTC KD (``kd_ctc_weight`` w > 0, :mod:`espnet_kd.kd.ctc_kd`) the CTC term becomes
``(1 - w)·CTC(references) + w·KL(teacher CTC ‖ student CTC)`` over the encoder frames: the
model's ``ctc`` module is made a :class:`~espnet_kd.kd.ctc_kd.KDCTC` (no new parameters, the
stock ``state_dict`` keys), and stats add ``loss_ctc_ref``, ``loss_ctc_kd`` and ``ctc_kd_frames``
(``loss_ctc`` is the mixed term ESPnet weighs by ``ctc_weight``). The teacher's CTC view comes
from the batch's ``kd_ctc_topk`` stream (the cache) or the online teacher, whose encoder then
runs once for both KD terms.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import torch
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.torch_utils.device_funcs import force_gatherable

from espnet_kd.kd.criterion import OnlineTeacherSignal, TeacherSignal, WordKDError
from espnet_kd.kd.ctc_kd import (
    CTC_DATA_TYPE,
    KDCTC,
    CachedCTCSignal,
    CTCKDConfig,
    CTCKDError,
    CTCTeacherSignal,
    OnlineCTCSignal,
    SharedTeacherEncoding,
    valid_encoder_frames,
)
from espnet_kd.models.word_kd_mixin import WordKDMixin


class ESPnetASRWordKDModel(WordKDMixin, ESPnetASRModel):
    """ESPnetASRModel with word-level KD from a frozen teacher or its cached top-k (and optionally CTC KD)."""

    espnet_class = ESPnetASRModel
    criterion_name = "criterion_att"

    def _init_word_kd(self, config, teacher, cache_temperature):
        if self.decoder is None or getattr(self, "use_transducer_decoder", False) \
                or getattr(self, "use_linear_decoder", False):
            raise WordKDError("word KD needs an attention decoder (ctc_weight < 1, no transducer)")
        if getattr(self, "lang_token_id", None) is not None:
            raise WordKDError("word KD does not support lang_token_id (the teacher would see other prefixes)")
        super()._init_word_kd(config, teacher, cache_temperature)
        self._online_teacher: Optional[SharedTeacherEncoding] = None

    # --- CTC KD ------------------------------------------------------------------------

    def init_ctc_kd(self, config: CTCKDConfig, frame_rates: str,
                    frame_config: Optional[Mapping[str, Any]] = None) -> None:
        """Make the ``ctc`` module a :class:`KDCTC` with ``config``; ``frame_rates`` explains a frame mismatch,
        ``frame_config`` (:func:`~espnet_kd.kd.ctc_kd.encoder_frame_config` of the student's config) gives
        each utterance's own encoder frames (:func:`~espnet_kd.kd.ctc_kd.valid_encoder_frames`)."""
        if self.ctc is None or self.ctc_weight == 0.0:
            raise CTCKDError("kd_ctc_weight > 0 needs the student's CTC branch: model_conf.ctc_weight > 0")
        if self.interctc_weight != 0.0:
            raise CTCKDError("CTC KD does not support intermediate CTC (model_conf.interctc_weight > 0): the "
                             "intermediate layers would be distilled against the teacher's last layer")
        if getattr(self, "aux_ctc", None):
            raise CTCKDError("CTC KD does not support aux_ctc")
        KDCTC.from_ctc(self.ctc, config, self.blank_id, frame_rates)
        self.kd_ctc_frame_config = dict(frame_config) if frame_config is not None else None

    @property
    def ctc_kd_enabled(self) -> bool:
        return isinstance(self.ctc, KDCTC)

    def ctc_teacher_signal(self, batch: Dict[str, Any]) -> CTCTeacherSignal:
        """The cached CTC top-k if the batch carries the ``kd_ctc_topk`` stream, else the online teacher."""
        frame_config = getattr(self, "kd_ctc_frame_config", None)
        valid = valid_encoder_frames(frame_config, batch["speech_lengths"]) \
            if frame_config is not None and "speech_lengths" in batch else None
        if CTC_DATA_TYPE in batch:
            return CachedCTCSignal(batch[CTC_DATA_TYPE], batch[f"{CTC_DATA_TYPE}_lengths"], batch.get("utt_id"),
                                   valid)
        if getattr(self, "_online_teacher", None) is None:
            raise CTCKDError(
                "CTC KD has neither a teacher (--kd_teacher_config/--kd_teacher_model_file) nor a "
                f"'{CTC_DATA_TYPE}' data stream in this batch (add '<cache dir>,{CTC_DATA_TYPE},{CTC_DATA_TYPE}' "
                "to --train_data_path_and_name_and_type and --valid_data_path_and_name_and_type)"
            )
        return OnlineCTCSignal(self._online_teacher, batch, valid)

    def teacher_signal(self, batch: Dict[str, Any]) -> TeacherSignal:
        signal = super().teacher_signal(batch)
        shared = getattr(self, "_online_teacher", None)
        if isinstance(signal, OnlineTeacherSignal) and shared is not None:
            signal.teacher = shared  # one encoder pass of the teacher for both KD terms
        return signal

    def forward(self, *args, **batch):
        if not self.ctc_kd_enabled:
            return super().forward(*args, **batch)
        self._online_teacher = SharedTeacherEncoding(self.teacher, batch) if self.teacher is not None else None
        try:
            with self.ctc.teacher_signal(self.ctc_teacher_signal(batch)):
                loss, stats, weight = super().forward(*args, **batch)
                ctc_stats = dict(self.ctc.last_stats)
        finally:
            self._online_teacher = None
        if not ctc_stats:
            raise CTCKDError("the CTC branch did not run, so CTC KD has nothing to distil into")
        ctc_stats, _ = force_gatherable((ctc_stats, weight), loss.device)
        stats.update({key: value.float() if isinstance(value, torch.Tensor) else value
                      for key, value in ctc_stats.items()})
        return loss, stats, weight

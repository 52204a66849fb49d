"""ASR student with a frozen ASR teacher (same speech input): word-level KD on ESPnet's ASR model.

The loss is ESPnet's: ``ctc_weight·CTC + (1 - ctc_weight)·L_att``, where the
attention loss becomes ``(1 - λ)·CE_ls + λ·KL(teacher ‖ student)``
(:mod:`espnet_kd.kd.criterion`). Stats add ``loss_ce`` and ``loss_kd`` to ESPnet's.
"""

from __future__ import annotations

from espnet2.asr.espnet_model import ESPnetASRModel

from espnet_kd.kd.criterion import WordKDError
from espnet_kd.models.word_kd_mixin import WordKDMixin


class ESPnetASRWordKDModel(WordKDMixin, ESPnetASRModel):
    """ESPnetASRModel with word-level KD from a frozen teacher or its cached top-k."""

    espnet_class = ESPnetASRModel
    criterion_name = "criterion_att"

    def _init_word_kd(self, config, teacher, cache_temperature):
        if self.decoder is None or getattr(self, "use_transducer_decoder", False) \
                or getattr(self, "use_linear_decoder", False):
            raise WordKDError("word KD needs an attention decoder (ctc_weight < 1, no transducer)")
        if getattr(self, "lang_token_id", None) is not None:
            raise WordKDError("word KD does not support lang_token_id (the teacher would see other prefixes)")
        super()._init_word_kd(config, teacher, cache_temperature)

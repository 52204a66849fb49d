"""ST student with a frozen MT teacher that reads the source transcript.

The student hears the speech, the teacher reads ``src_text`` (tokenised with the
teacher's own source vocabulary); both predict the same target tokens. The ST
attention loss becomes ``(1 - λ)·CE_ls + λ·KL(teacher ‖ student)``; ESPnet's
other ST terms (ST CTC, ASR auxiliary) are unchanged.
"""

from __future__ import annotations

from espnet2.st.espnet_model import ESPnetSTModel

from espnet_kd.kd.criterion import WordKDError
from espnet_kd.models.word_kd_mixin import WordKDMixin


class ESPnetSTWordKDModel(WordKDMixin, ESPnetSTModel):
    """ESPnetSTModel with word-level KD from a frozen MT teacher or its cached top-k."""

    espnet_class = ESPnetSTModel
    criterion_name = "criterion_st"

    def kd_ignore_id(self) -> int:
        return self.tgt_ignore_id

    def _init_word_kd(self, config, teacher, cache_temperature):
        if self.st_mtlalpha >= 1.0 or getattr(self, "st_use_transducer_decoder", False):
            raise WordKDError("word KD needs the ST attention decoder (st_mtlalpha < 1, no transducer)")
        if self.mt_weight > 0:
            raise WordKDError("word KD with mt_weight > 0 is not supported (the MT branch shares criterion_st)")
        if getattr(self, "lang_token_id", None) is not None:
            raise WordKDError("word KD does not support lang_token_id (the teacher would see other prefixes)")
        super()._init_word_kd(config, teacher, cache_temperature)

"""The word-KD criterion: ESPnet's label-smoothed CE mixed with the KL to a teacher.

:class:`WordKDCriterion` takes the place of an ESPnet model's attention criterion
(``criterion_att`` for ASR, ``criterion_st`` for ST). ESPnet calls it as it calls
its ``LabelSmoothingLoss``, with the decoder output ``(B, L, V)`` and the output
targets ``ys_out`` (reference + ``<sos/eos>``, padded with ``ignore_id``), and it
returns ``(1 - λ)·CE + λ·KD``, KD being the configured loss (``kd_loss``, by
default ``kl``: KL(teacher ‖ student); :data:`espnet_kd.kd.losses.KD_LOSSES`).
The teacher's view of the batch comes from a :class:`TeacherSignal` that the model
sets for the duration of one forward pass: either a frozen teacher run online on
the same prefixes, or the teacher's top-k read from the offline cache.
"""

from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Protocol, Sequence

import torch

from espnet_kd.kd.losses import DEFAULT_KD_LOSS, full_distribution_loss, kd_loss_function, teacher_topk, topk_loss
from espnet_kd.kd.topk_cache import TopKCacheError, unpack_topk_stream


class WordKDError(ValueError):
    """Word-KD settings or inputs that cannot work."""


class FrozenTeacher(Protocol):
    """What the criterion needs of an online teacher (:func:`espnet_kd.teacher.load_teacher` makes one)."""

    model: torch.nn.Module

    def logits(self, batch: Dict[str, torch.Tensor], ys_in_pad: torch.Tensor,
               ys_in_lens: torch.Tensor) -> torch.Tensor:
        """Decoder logits ``(B, L, V)`` for the teacher-forced prefixes ``ys_in_pad``."""


@dataclass(frozen=True)
class WordKDConfig:
    """λ (weight of the KD term), temperature T, k (0: the teacher's full distribution), the KD loss's name."""

    kd_lambda: float = 0.5
    temperature: float = 1.0
    topk: int = 8
    loss: str = DEFAULT_KD_LOSS

    def __post_init__(self) -> None:
        if not 0.0 <= self.kd_lambda <= 1.0:
            raise WordKDError(f"kd_lambda must be in [0, 1], not {self.kd_lambda}")
        if not self.temperature > 0.0:
            raise WordKDError(f"kd_temperature must be positive, not {self.temperature}")
        if self.topk < 0:
            raise WordKDError(f"kd_topk must be 0 (full distribution) or a positive k, not {self.topk}")
        try:
            kd_loss_function(self.loss)
        except ValueError as error:
            raise WordKDError(str(error)) from None


def teacher_input_prefix(ys_out: torch.Tensor, sos: int, eos: int, ignore_id: int) -> torch.Tensor:
    """The decoder input ``<sos> + reference`` (padded with ``<sos/eos>``) for targets ``ys_out``.

    ESPnet builds both from the reference with ``add_sos_eos``; this recovers the
    input from the output so that the teacher sees exactly the student's prefixes.
    """
    shifted = torch.cat([torch.full_like(ys_out[:, :1], sos), ys_out[:, :-1]], dim=1)
    return shifted.masked_fill(shifted == ignore_id, eos)


class TeacherSignal(abc.ABC):
    """The teacher's view of one batch, turned into the KD term (``config.loss``) against the student."""

    @abc.abstractmethod
    def kl(self, student_logits: torch.Tensor, ys_out: torch.Tensor, config: WordKDConfig,
           sos: int, eos: int, ignore_id: int, normalize_length: bool) -> torch.Tensor:
        """The KD loss ``config.loss`` (by default KL(teacher ‖ student)) for this batch."""


class OnlineTeacherSignal(TeacherSignal):
    """A frozen teacher run on the batch's inputs (speech or ``src_text``)."""

    def __init__(self, teacher: FrozenTeacher, batch: Dict[str, torch.Tensor]):
        self.teacher = teacher
        self.batch = batch

    def kl(self, student_logits, ys_out, config, sos, eos, ignore_id, normalize_length):
        ys_in = teacher_input_prefix(ys_out, sos, eos, ignore_id)
        ys_in_lens = (ys_out != ignore_id).sum(dim=1)
        teacher_logits = self.teacher.logits(self.batch, ys_in, ys_in_lens)
        if config.topk == 0:
            return full_distribution_loss(student_logits, teacher_logits, ys_out, ignore_id,
                                          config.temperature, normalize_length, config.loss)
        ids, logp = teacher_topk(teacher_logits, config.topk)
        return topk_loss(student_logits, ids, logp, ys_out, ignore_id, config.temperature,
                         1.0, normalize_length, config.loss)


class CachedTeacherSignal(TeacherSignal):
    """The teacher's top-k from the offline cache (the ``kd_topk`` data stream)."""

    def __init__(self, packed: torch.Tensor, lengths: torch.Tensor, cache_temperature: float,
                 utt_ids: Optional[Sequence[str]] = None):
        self.ids, self.logp = unpack_topk_stream(packed)
        self.lengths = lengths
        self.cache_temperature = cache_temperature
        self.utt_ids = list(utt_ids) if utt_ids is not None else None

    def _check_positions(self, ys_out: torch.Tensor, ignore_id: int, k: int) -> None:
        if self.ids.size(-1) != k:
            raise TopKCacheError(f"the kd_topk stream holds the top-{self.ids.size(-1)}, the config asks for {k}")
        positions = (ys_out != ignore_id).sum(dim=1).to(self.lengths.device)
        bad = (positions != self.lengths).nonzero().flatten().tolist()
        if bad:
            i = bad[0]
            name = self.utt_ids[i] if self.utt_ids else f"#{i} of the batch"
            raise TopKCacheError(
                f"utterance {name}: the top-k cache has {int(self.lengths[i])} positions but the "
                f"reference has {int(positions[i]) - 1} tokens + <sos/eos>; the cache was built "
                f"from other text or another tokenisation ({len(bad)} such utterances in this batch)"
            )

    def kl(self, student_logits, ys_out, config, sos, eos, ignore_id, normalize_length):
        if config.topk == 0:
            raise WordKDError("kd_topk=0 (full distribution) needs the online teacher; the cache holds a top-k")
        self._check_positions(ys_out, ignore_id, config.topk)
        length = ys_out.size(1)
        ids = self.ids[:, :length].to(student_logits.device)
        logp = self.logp[:, :length].to(student_logits.device)
        return topk_loss(student_logits, ids, logp, ys_out, ignore_id, config.temperature,
                         self.cache_temperature, normalize_length, config.loss)


class WordKDCriterion(torch.nn.Module):
    """``(1 - λ)·ce(x, ys_out) + λ·KD(teacher, student)``; records both parts per call."""

    def __init__(self, ce: torch.nn.Module, config: WordKDConfig, sos: int, eos: int,
                 ignore_id: int, normalize_length: bool):
        super().__init__()
        self.ce = ce
        self.config = config
        self.sos, self.eos, self.ignore_id = sos, eos, ignore_id
        self.normalize_length = normalize_length
        self._signal: Optional[TeacherSignal] = None
        self.last_stats: Dict[str, torch.Tensor] = {}

    @contextlib.contextmanager
    def teacher_signal(self, signal: TeacherSignal) -> Iterator[None]:
        """Use ``signal`` for the calls made inside this block (one forward pass)."""
        self._signal, self.last_stats = signal, {}
        try:
            yield
        finally:
            self._signal = None

    def forward(self, decoder_out: torch.Tensor, ys_out: torch.Tensor) -> torch.Tensor:
        loss_ce = self.ce(decoder_out, ys_out)
        if self._signal is None:
            raise WordKDError("word-KD criterion called outside a forward pass that set the teacher signal")
        loss_kd = self._signal.kl(decoder_out, ys_out, self.config, self.sos, self.eos,
                                  self.ignore_id, self.normalize_length)
        lam = self.config.kd_lambda
        self.last_stats = {"loss_ce": loss_ce.detach(), "loss_kd": loss_kd.detach()}
        return (1.0 - lam) * loss_ce + lam * loss_kd

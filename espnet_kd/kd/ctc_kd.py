"""CTC-branch distillation: the frame-level KL between the teacher's and the student's CTC posteriors.

An ESPnet ASR student is a joint CTC/attention model; word KD
(:mod:`espnet_kd.kd.criterion`) distils its attention decoder. CTC KD distils its CTC
branch (Takashima et al. 2018, frame-level CTC KD): the student's CTC loss becomes

    loss_ctc := (1 - w)·CTC(references) + w·KD_ctc,
    KD_ctc    = (1/B) Σ_b Σ_{t ∈ F_b} KL(p_teacher(·|t) ‖ p_student(·|t)),

with ``w`` the ``kd_ctc_weight`` setting (0, the default, leaves CTC KD off), ``p`` the CTC
posteriors of encoder frame ``t`` over the whole output vocabulary (blank included), at
temperature 1, and ``F_b`` the frames of utterance ``b`` that count (below).

**Normalisation.** The KL is summed over the frames of each utterance and averaged over the
batch, as ESPnet's builtin CTC loss (``CTC(reduce=True)``: the sum of the utterances'
negative log-likelihoods divided by the batch size ``B``); with ``reduce=False`` each
utterance's sum is divided by ``B``, as ESPnet does there. There is no division by the
number of frames, so the KD term has the per-utterance scale of the CTC loss it is mixed
with (whatever ``length_normalized_loss`` says, which ESPnet's CTC ignores too), and ESPnet's
``ctc_weight`` then weighs the mixed CTC loss against the attention loss as before.

**Frames that count.** A frame counts when it is one of its utterance's own encoder frames
and, with ``kd_ctc_blank_threshold`` τ set, when the teacher's blank posterior at that
frame is at most τ: frames where the teacher is confident of blank are left out of the KL
(Hilmes et al. 2025, blank-frame selection). An utterance's own frames are those it has
encoded alone (:func:`valid_encoder_frames`, from the config's hop and subsampling): padding
never counts, nor the few frames ESPnet's encoders count past a shorter utterance's end in
a padded batch (their lengths come from the padded mask; those frames are computed partly from padding
and are left to ESPnet's CTC loss, which counts them). Without selection (the default) every frame
counts. Hilmes et al. find that with the selection the student no longer needs the
reference CTC loss: with τ set, ``kd_ctc_weight: 1`` drops CTC(references) altogether
(``loss_ctc`` is the KD term alone), which is a supported setting; without selection, ``w = 1``
trains the CTC branch on the teacher alone too, on every frame.

**Top-k.** With ``kd_ctc_topk: k`` (default 8) the teacher's distribution at each frame is
its ``k`` most likely outputs, renormalised over those ``k`` (as the decoder's top-k of word
KD, :func:`espnet_kd.kd.losses.topk_loss`): the KL is over the ``k`` ids, against the
student's full-vocabulary log-posteriors at those ids. ``kd_ctc_topk: 0`` distils the full
distribution (online teacher only). Blank selection reads the teacher's blank posterior
before renormalisation: from the full distribution online, from the stored top-k with a
cache, where a frame whose top-k lacks blank counts as non-blank (its blank posterior is
then below the ``k``-th output's, at most ``1/(k+1)``, so this is exact for any τ ≥ 1/(k+1)).

**Where the teacher's posteriors come from** (:class:`CTCTeacherSignal`): online, the frozen
teacher encodes the batch's speech (``teacher.model.encode``) and takes
``teacher.model.ctc.log_softmax`` (:class:`OnlineCTCSignal`; with word KD also online, one
encoder pass serves both, :class:`SharedTeacherEncoding`); offline, the top-k cache of
:mod:`espnet_kd.kd.topk_cache` written by ``python -m espnet_kd.bin.dump_ctc_topk``, whose
positions are the teacher's encoder frames (``exp/teacher/topk_ctc_<set>/``, ``meta.json``
``extra.positions: "ctc_frames"``), read as the data stream ``<dir>,kd_ctc_topk,kd_ctc_topk``
(:data:`CTC_DATA_TYPE`, the same ``(frames, 2k)`` float32 rows as ``kd_topk``;
:class:`CachedCTCSignal`).

**Same frames.** The KL compares frame ``t`` of the teacher with frame ``t`` of the student,
so both encoders must output the same number of frames: the same frontend hop and the same
encoder subsampling (``encoder_conf.input_layer``). The task checks the two configs at
set-up (:func:`check_same_encoder_frames`, the error naming both subsampling rates), and
every batch is checked frame count by frame count (:func:`check_frame_counts`).

**The student** keeps ESPnet's modules: its ``ctc`` module's class becomes :class:`KDCTC`, a
subclass of ESPnet's :class:`~espnet2.asr.ctc.CTC` with no parameters of its own, so the
``state_dict`` keys are the stock model's and the checkpoints decode with stock ESPnet.
"""

from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from espnet2.asr.ctc import CTC

from espnet_kd.kd.criterion import WordKDError
from espnet_kd.kd.losses import kl_per_position, renormalised_topk
from espnet_kd.kd.topk_cache import TopKStreamLoader, unpack_topk_stream
from espnet_kd.utils.decode_limits import (
    CONV2D_DEFAULT_ENCODERS,
    ESPNET_DEFAULT_HOP,
    SUBSAMPLING,
    DecodeLimitError,
    encoder_length,
)

#: the data stream (name and ESPnet data type) of a CTC top-k cache
CTC_DATA_TYPE = "kd_ctc_topk"
#: ``meta.json`` ``extra.positions`` of a CTC top-k cache (a word-KD cache's positions are target tokens)
CTC_POSITIONS = "ctc_frames"
#: the ESPnet CTC types whose loss :class:`KDCTC` reproduces
SUPPORTED_CTC_TYPES = ("builtin", "builtin2")
DEFAULT_CTC_TOPK = 8


class CTCKDError(WordKDError):
    """CTC-KD settings or inputs that cannot work (a :class:`WordKDError`)."""


@dataclass(frozen=True)
class CTCKDConfig:
    """``kd_ctc_weight`` w (0: off), ``kd_ctc_topk`` k (0: full distribution), ``kd_ctc_blank_threshold`` τ."""

    weight: float = 0.0
    topk: int = DEFAULT_CTC_TOPK
    #: frames whose teacher blank posterior is above this are left out of the KL; None: every frame counts
    blank_threshold: Optional[float] = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise CTCKDError(f"kd_ctc_weight must be in [0, 1], not {self.weight}")
        if self.topk < 0:
            raise CTCKDError(f"kd_ctc_topk must be 0 (full distribution) or a positive k, not {self.topk}")
        if self.blank_threshold is not None and not 0.0 <= self.blank_threshold <= 1.0:
            raise CTCKDError(f"kd_ctc_blank_threshold must be in [0, 1] (or none: every frame), "
                             f"not {self.blank_threshold}")

    @property
    def enabled(self) -> bool:
        """CTC KD runs (w > 0); at w = 0 the student's CTC branch is ESPnet's own."""
        return self.weight > 0.0


# --------------------------------------------------------------------------- the loss


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(B, frames)``: True at the frames inside each utterance."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


def blank_posterior_full(teacher_logp: torch.Tensor, blank_id: int) -> torch.Tensor:
    """The teacher's blank posterior ``(B, T)`` from its full log-posteriors ``(B, T, V)``."""
    return teacher_logp[..., blank_id].float().exp()


def blank_posterior_topk(ids: torch.Tensor, logp: torch.Tensor, blank_id: int) -> torch.Tensor:
    """The teacher's blank posterior ``(B, T)`` from its top-k (0 where blank is not among the k)."""
    return torch.where(ids == blank_id, logp.float().exp(), torch.zeros_like(logp, dtype=torch.float)).sum(-1)


def selected_frames(lengths: torch.Tensor, frames: int, blank_posterior: torch.Tensor,
                    threshold: Optional[float]) -> torch.Tensor:
    """The frames that count ``(B, frames)``: inside the utterance and, with a threshold, not blank-confident."""
    mask = frame_mask(lengths.to(blank_posterior.device), frames)
    if threshold is not None:
        mask = mask & (blank_posterior <= threshold)
    return mask


def kl_full_frames(student_logp: torch.Tensor, teacher_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ over the frames of ``mask`` of KL(teacher ‖ student), per utterance ``(B,)``; full distributions."""
    per_frame = kl_per_position(teacher_logp.float(), student_logp.float())
    return per_frame.masked_fill(~mask, 0.0).sum(dim=1)


def kl_topk_frames(student_logp: torch.Tensor, ids: torch.Tensor, logp: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
    """Σ over the frames of ``mask`` of KL(teacher top-k renormalised ‖ student at those ids), per utterance."""
    teacher = renormalised_topk(logp)
    safe_ids = ids.long().masked_fill(~mask.unsqueeze(-1), 0)
    per_frame = kl_per_position(teacher, student_logp.float().gather(-1, safe_ids))
    return per_frame.masked_fill(~mask, 0.0).sum(dim=1)


@dataclass
class FrameKL:
    """One batch's KD term before reduction: per utterance the KL summed over its frames that count."""

    per_utterance: torch.Tensor
    #: frames that counted, and frames inside the utterances
    selected: int
    frames: int


def fit_frames(tensor: torch.Tensor, frames: int) -> torch.Tensor:
    """``tensor`` ``(B, T', ...)`` cut or zero-padded to ``frames`` along dim 1."""
    if tensor.size(1) >= frames:
        return tensor[:, :frames]
    pad = tensor.new_zeros((tensor.size(0), frames - tensor.size(1), *tensor.shape[2:]))
    return torch.cat([tensor, pad], dim=1)


def full_frame_kl(student_logp: torch.Tensor, lengths: torch.Tensor, teacher_logp: torch.Tensor,
                  config: CTCKDConfig, blank_id: int) -> FrameKL:
    """The KD term against the teacher's full CTC log-posteriors (``kd_ctc_topk: 0``), or their top-k."""
    frames = student_logp.size(1)
    teacher_logp = fit_frames(teacher_logp.float(), frames)
    mask = selected_frames(lengths, frames, blank_posterior_full(teacher_logp, blank_id), config.blank_threshold)
    if config.topk == 0:
        per_utterance = kl_full_frames(student_logp, teacher_logp, mask)
    else:
        if not 1 <= config.topk <= teacher_logp.size(-1):
            raise CTCKDError(f"kd_ctc_topk {config.topk} must be between 1 and the vocabulary size "
                             f"{teacher_logp.size(-1)} (or 0: the full distribution)")
        logp, ids = teacher_logp.topk(config.topk, dim=-1)
        per_utterance = kl_topk_frames(student_logp, ids, logp, mask)
    return FrameKL(per_utterance, int(mask.sum()), int(lengths.sum()))


def topk_frame_kl(student_logp: torch.Tensor, lengths: torch.Tensor, ids: torch.Tensor, logp: torch.Tensor,
                  config: CTCKDConfig, blank_id: int) -> FrameKL:
    """The KD term against the teacher's stored top-k per frame (ids and log-posteriors ``(B, T, k)``)."""
    frames = student_logp.size(1)
    ids, logp = fit_frames(ids, frames), fit_frames(logp.float(), frames)
    mask = selected_frames(lengths, frames, blank_posterior_topk(ids, logp, blank_id), config.blank_threshold)
    return FrameKL(kl_topk_frames(student_logp, ids, logp, mask), int(mask.sum()), int(lengths.sum()))


# --------------------------------------------------------------------------- same frames


def check_frame_counts(teacher_lengths: torch.Tensor, student_lengths: torch.Tensor,
                       utt_ids: Optional[Sequence[str]], frame_rates: str, source: str) -> None:
    """Stop, naming an utterance, when the teacher's and the student's encoder frame counts differ."""
    teacher_lengths = teacher_lengths.to(student_lengths.device)
    if teacher_lengths.shape != student_lengths.shape:
        raise CTCKDError(f"{source}: {teacher_lengths.numel()} utterances, the student's batch "
                         f"{student_lengths.numel()}")
    bad = (teacher_lengths != student_lengths).nonzero().flatten().tolist()
    if bad:
        i = bad[0]
        name = f"utterance {utt_ids[i]}" if utt_ids else f"utterance #{i} of the batch"
        raise CTCKDError(
            f"{name}: {source} has {int(teacher_lengths[i])} encoder frames, the student's encoder "
            f"{int(student_lengths[i])}: CTC KD compares their CTC posteriors frame by frame and needs "
            f"the same encoder frame rate ({frame_rates}); {len(bad)} such utterances in this batch"
        )


#: the part of an ESPnet ASR config that decides its encoder frames
FRAME_CONFIG_KEYS = ("frontend", "frontend_conf", "encoder", "encoder_conf", "preencoder")


def encoder_frame_config(model_config: Mapping[str, Any]) -> Dict[str, Any]:
    """The settings of an ASR config that decide its encoder frames (JSON-able, for a cache's meta):
    frontend and its ``hop_length``/``fs``, encoder and its ``input_layer``, preencoder."""
    frontend_conf = model_config.get("frontend_conf") or {}
    encoder_conf = model_config.get("encoder_conf") or {}
    return {
        "frontend": model_config.get("frontend"),
        "frontend_conf": {key: frontend_conf[key] for key in ("hop_length", "fs") if key in frontend_conf},
        "encoder": model_config.get("encoder"),
        "encoder_conf": {key: encoder_conf[key] for key in ("input_layer",) if key in encoder_conf},
        "preencoder": model_config.get("preencoder"),
    }


def input_layer(frame_config: Mapping[str, Any]) -> Optional[str]:
    """The encoder's input layer as ESPnet builds it (conv2d when a conformer/transformer config omits it)."""
    encoder_conf = frame_config.get("encoder_conf") or {}
    if "input_layer" in encoder_conf:
        return encoder_conf["input_layer"]
    return "conv2d" if frame_config.get("encoder") in CONV2D_DEFAULT_ENCODERS else None


def subsampling_rate(layer: Optional[str]) -> Optional[int]:
    """Input frames per encoder frame of an ESPnet ``input_layer`` (conv2d: 4, conv2d2: 2, linear: 1)."""
    if layer not in SUBSAMPLING:
        return None
    long_input = 100_000
    return round(long_input / SUBSAMPLING[layer](long_input))


def describe_encoder_frames(frame_config: Mapping[str, Any]) -> str:
    """``frontend hop_length 160, encoder input_layer conv2d (subsampling 4: one encoder frame per 640
    samples)``, as far as the config tells."""
    hop: Optional[int] = None
    if frame_config.get("frontend") == "default":
        hop = int((frame_config.get("frontend_conf") or {}).get("hop_length", ESPNET_DEFAULT_HOP))
    layer = input_layer(frame_config)
    rate = subsampling_rate(layer)
    text = (f"frontend {frame_config.get('frontend')} hop_length {hop if hop is not None else '?'}, "
            f"encoder {frame_config.get('encoder')} input_layer {layer or '?'} (subsampling "
            f"{rate if rate is not None else '?'}")
    if hop is not None and rate is not None:
        text += f": one encoder frame per {hop * rate} samples"
    text += ")"
    if frame_config.get("preencoder"):
        text += f", preencoder {frame_config.get('preencoder')}"
    return text


def valid_encoder_frames(frame_config: Mapping[str, Any], speech_lengths: torch.Tensor) -> Optional[torch.Tensor]:
    """Each utterance's own encoder frames ``(B,)`` from its samples, by the config
    (:func:`encoder_frames_function`); None when the config is not one whose frames can be computed.

    ESPnet's encoders derive their output lengths from the padded batch's mask: in a batch, a
    shorter utterance gets a few frames more than it has alone (conv2d2: 19 instead of 16 for
    2400 samples at hop 64), frames whose input is partly padding. These are the frames it has alone.
    """
    frames = encoder_frames_function(frame_config)
    if frames is None:
        return None
    return torch.tensor([frames(int(n)) for n in speech_lengths], device=speech_lengths.device)


def encoder_frames_function(frame_config: Mapping[str, Any]) -> Optional[Callable[[int], int]]:
    """Encoder frames as a function of the input samples (:func:`espnet_kd.utils.decode_limits.encoder_length`),
    or None when the config is not one that function knows (another frontend, a preencoder, ...)."""
    try:
        return encoder_length(frame_config, "asr")
    except DecodeLimitError:
        return None


#: input lengths (samples) at which two configs' encoder frame counts are compared: 0.1 s to 30 s at 16 kHz
_PROBE_SAMPLES = tuple(range(1600, 480_000, 997))


def same_encoder_frames(teacher: Mapping[str, Any], student: Mapping[str, Any]) -> Optional[bool]:
    """True when both configs give every input the same encoder frames, False when not, None: cannot tell."""
    if encoder_frame_config(teacher) == encoder_frame_config(student):
        return True
    teacher_frames, student_frames = encoder_frames_function(teacher), encoder_frames_function(student)
    if teacher_frames is None or student_frames is None:
        return None
    return all(teacher_frames(n) == student_frames(n) for n in _PROBE_SAMPLES)


def frame_rates_text(teacher: Mapping[str, Any], student: Mapping[str, Any]) -> str:
    """Both configs' frames in words, for the errors: ``teacher: ...; student: ...``."""
    return (f"teacher: {describe_encoder_frames(encoder_frame_config(teacher))}; "
            f"student: {describe_encoder_frames(encoder_frame_config(student))}")


def check_same_encoder_frames(teacher: Mapping[str, Any], student: Mapping[str, Any], teacher_name: str) -> str:
    """Stop (set-up time) when the teacher's and the student's encoders output different frames.

    Returns the frame rates in words (:func:`frame_rates_text`), for the per-batch check's
    message. When a config is not one whose frames can be computed, only the batches are checked.
    """
    rates = frame_rates_text(teacher, student)
    if same_encoder_frames(teacher, student) is False:
        raise CTCKDError(
            f"kd_ctc_weight > 0: CTC KD compares the teacher's and the student's CTC posteriors frame by "
            f"frame, but their encoders output different frames: the teacher ({teacher_name}) has "
            f"{describe_encoder_frames(encoder_frame_config(teacher))}, the student "
            f"{describe_encoder_frames(encoder_frame_config(student))}. Give the student the teacher's "
            f"frontend hop_length and encoder_conf.input_layer, or set kd_ctc_weight 0"
        )
    return rates


# --------------------------------------------------------------------------- the teacher's side


class CTCTeacher(abc.ABC):
    """What an online CTC teacher gives (:class:`espnet_kd.teacher.Teacher`, :class:`SharedTeacherEncoding`)."""

    @abc.abstractmethod
    def ctc_log_probs(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """The CTC log-posteriors ``(B, T, V)`` of the batch's speech and the encoder lengths ``(B,)``."""


class SharedTeacherEncoding:
    """The online teacher for one batch, its encoder run once for both the decoder's logits (word KD)
    and the CTC log-posteriors (CTC KD). Has what :class:`~espnet_kd.kd.criterion.FrozenTeacher` has."""

    def __init__(self, teacher: Any, batch: Dict[str, torch.Tensor]):
        self.teacher = teacher
        self.batch = batch
        self._encoded: Optional[Tuple[torch.Tensor, torch.Tensor]] = None

    @property
    def model(self) -> torch.nn.Module:
        return self.teacher.model

    def encoded(self) -> Tuple[torch.Tensor, torch.Tensor]:
        if self._encoded is None:
            self.teacher.check_inputs(self.batch)
            self.teacher.model.eval()
            self._encoded = self.teacher.encode(self.batch)
        return self._encoded

    def logits(self, batch: Dict[str, torch.Tensor], ys_in_pad: torch.Tensor,
               ys_in_lens: torch.Tensor) -> torch.Tensor:
        """The teacher's decoder logits on this batch (``batch`` is this one's, as the criterion passes it)."""
        return self.teacher.logits(self.batch, ys_in_pad, ys_in_lens, encoded=self.encoded())

    def ctc_log_probs(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.teacher.ctc_log_probs(self.batch, encoded=self.encoded())


class CTCTeacherSignal(abc.ABC):
    """The teacher's CTC view of one batch, turned into the KD term against the student's log-posteriors."""

    @abc.abstractmethod
    def frame_kl(self, student_logp: torch.Tensor, student_lengths: torch.Tensor, config: CTCKDConfig,
                 blank_id: int, frame_rates: str) -> FrameKL:
        """The KL per utterance over its frames that count; checks the frame counts first."""


def own_frames(valid_lengths: Optional[torch.Tensor], student_lengths: torch.Tensor) -> torch.Tensor:
    """The frames each utterance has of its own: ``valid_lengths`` (its input's encoder frames, computed
    from the config) where known, at most the encoder's lengths; else the encoder's lengths."""
    if valid_lengths is None:
        return student_lengths
    return torch.minimum(valid_lengths.to(student_lengths.device), student_lengths)


class OnlineCTCSignal(CTCTeacherSignal):
    """The frozen teacher's CTC log-posteriors on the batch's speech (``model.encode`` + ``ctc.log_softmax``).

    Teacher and student encode the same padded batch, so their encoder lengths must be equal.
    ``valid_lengths``: each utterance's own encoder frames (:func:`valid_encoder_frames`): the KL
    leaves out the frames ESPnet's encoders count past them for the shorter utterances of a padded
    batch (computed from the padding), as the cache, encoded one utterance at a time, never has them.
    """

    def __init__(self, teacher: Any, batch: Dict[str, torch.Tensor], valid_lengths: Optional[torch.Tensor] = None):
        self.teacher = teacher
        self.batch = batch
        self.utt_ids = batch.get("utt_id")
        self.valid_lengths = valid_lengths

    def frame_kl(self, student_logp, student_lengths, config, blank_id, frame_rates):
        teacher_logp, teacher_lengths = self.teacher.ctc_log_probs(self.batch)
        check_frame_counts(teacher_lengths, student_lengths, self.utt_ids, frame_rates, "the teacher's CTC")
        return full_frame_kl(student_logp, own_frames(self.valid_lengths, student_lengths),
                             teacher_logp.to(student_logp.device), config, blank_id)


class CachedCTCSignal(CTCTeacherSignal):
    """The teacher's CTC top-k per encoder frame from the cache (the ``kd_ctc_topk`` data stream).

    The cache holds each utterance's own frames (``dump_ctc_topk`` encodes one utterance at a
    time); they must be the student's frames of that utterance: ``valid_lengths``
    (:func:`valid_encoder_frames`, from the student's config) where known, else its encoder lengths.
    """

    def __init__(self, packed: torch.Tensor, lengths: torch.Tensor, utt_ids: Optional[Sequence[str]] = None,
                 valid_lengths: Optional[torch.Tensor] = None):
        self.ids, self.logp = unpack_topk_stream(packed)
        self.lengths = lengths
        self.utt_ids = list(utt_ids) if utt_ids is not None else None
        self.valid_lengths = valid_lengths

    def frame_kl(self, student_logp, student_lengths, config, blank_id, frame_rates):
        if config.topk == 0:
            raise CTCKDError("kd_ctc_topk 0 (full distribution) needs the online teacher; "
                             f"the {CTC_DATA_TYPE} cache holds a top-k")
        if self.ids.size(-1) != config.topk:
            raise CTCKDError(f"the {CTC_DATA_TYPE} stream holds the top-{self.ids.size(-1)} per frame, "
                             f"the config asks for kd_ctc_topk {config.topk}")
        check_frame_counts(self.lengths, own_frames(self.valid_lengths, student_lengths), self.utt_ids,
                           frame_rates, "the teacher's CTC top-k cache")
        device = student_logp.device
        return topk_frame_kl(student_logp, own_frames(self.valid_lengths, student_lengths),
                             self.ids.to(device), self.logp.to(device), config, blank_id)


# --------------------------------------------------------------------------- the student's CTC module


class KDCTC(CTC):
    """ESPnet's CTC module whose loss is ``(1 - w)·CTC(references) + w·KD_ctc`` (the module docstring).

    Made from the module ESPnet built (:meth:`from_ctc`: its class is swapped, nothing added
    to its parameters or buffers), so the model's ``state_dict`` is the stock model's. The
    teacher's view is set for one forward pass (:meth:`teacher_signal`); a call outside one
    (ESPnet's ``batchify_nll``, say) gives the reference CTC loss alone. Each call records
    ``loss_ctc_ref`` (CTC on the references), ``loss_ctc_kd`` (the KD term) and
    ``ctc_kd_frames`` (the fraction of frames that counted) in :attr:`last_stats`.
    """

    kd_config: CTCKDConfig
    kd_blank_id: int
    kd_frame_rates: str

    @classmethod
    def from_ctc(cls, ctc: CTC, config: CTCKDConfig, blank_id: int, frame_rates: str) -> "KDCTC":
        if type(ctc) is not CTC:
            raise CTCKDError(f"CTC KD extends ESPnet's CTC module, but the model has {type(ctc).__name__}")
        if ctc.ctc_type not in SUPPORTED_CTC_TYPES:
            raise CTCKDError(f"CTC KD supports ctc_conf.ctc_type {' or '.join(SUPPORTED_CTC_TYPES)}, "
                             f"not {ctc.ctc_type}")
        if blank_id != 0:
            raise CTCKDError(f"CTC KD needs <blank> at index 0 of the token list (ESPnet's CTC loss "
                             f"takes blank 0), not {blank_id}")
        ctc.__class__ = cls
        ctc.kd_config, ctc.kd_blank_id, ctc.kd_frame_rates = config, blank_id, frame_rates
        ctc._kd_signal = None
        ctc.last_stats = {}
        return ctc

    @contextlib.contextmanager
    def teacher_signal(self, signal: CTCTeacherSignal) -> Iterator[None]:
        """Use ``signal`` for the calls made inside this block (one forward pass)."""
        self._kd_signal, self.last_stats = signal, {}
        try:
            yield
        finally:
            self._kd_signal = None

    def reference_loss(self, ys_hat: torch.Tensor, hs_pad: torch.Tensor, hlens: torch.Tensor,
                       ys_pad: torch.Tensor, ys_lens: torch.Tensor) -> torch.Tensor:
        """ESPnet's CTC loss of the projected frames ``ys_hat`` (its ``forward`` after the projection)."""
        ys_true = torch.cat([ys_pad[i, :l] for i, l in enumerate(ys_lens)])
        return self.loss_fn(ys_hat.transpose(0, 1), ys_true, hlens, ys_lens).to(
            device=hs_pad.device, dtype=hs_pad.dtype)

    def forward(self, hs_pad, hlens, ys_pad, ys_lens):
        # the projection once, with ESPnet's dropout call, for both terms (the same student posteriors)
        ys_hat = self.ctc_lo(F.dropout(hs_pad, p=self.dropout_rate))
        loss_ref = self.reference_loss(ys_hat, hs_pad, hlens, ys_pad, ys_lens)
        if self._kd_signal is None:
            return loss_ref
        kl = self._kd_signal.frame_kl(torch.log_softmax(ys_hat.float(), dim=-1), hlens, self.kd_config,
                                      self.kd_blank_id, self.kd_frame_rates)
        size = hs_pad.size(0)  # ESPnet's builtin CTC: the batch-size average
        loss_kd = (kl.per_utterance.sum() / size if self.reduce else kl.per_utterance / size).to(dtype=hs_pad.dtype)
        weight = self.kd_config.weight
        if self.reduce:
            self.last_stats = {"loss_ctc_ref": loss_ref.detach(), "loss_ctc_kd": loss_kd.detach(),
                               "ctc_kd_frames": torch.tensor(kl.selected / max(kl.frames, 1))}
        return (1.0 - weight) * loss_ref + weight * loss_kd


def register_espnet_data_type() -> None:
    """Make ``kd_ctc_topk`` a data type of ESPnet's dataset, read by the top-k cache's loader (idempotent)."""
    from espnet2.train.dataset import DATA_TYPES

    DATA_TYPES.setdefault(
        CTC_DATA_TYPE,
        dict(
            func=TopKStreamLoader,
            kwargs=[],
            help="espnet_kd CTC top-k teacher cache directory, per encoder frame "
                 "(python -m espnet_kd.bin.dump_ctc_topk)",
        ),
    )

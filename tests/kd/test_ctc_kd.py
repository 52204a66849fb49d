"""CTC-branch KD (espnet_kd.kd.ctc_kd) on toy tensors: the frame-level KL against a hand computation.

The KL is recomputed in numpy from the definitions (per frame Σ_v p_t(v)·log(p_t(v)/q_t(v)), the
padding and the blank-selected frames masked by hand, summed per utterance and divided by the
batch size as ESPnet's builtin CTC loss is), and compared with the module's.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from espnet2.asr.ctc import CTC

from espnet_kd.kd.ctc_kd import (
    KDCTC,
    CachedCTCSignal,
    CTCKDConfig,
    CTCKDError,
    CTCTeacherSignal,
    check_frame_counts,
    check_same_encoder_frames,
    full_frame_kl,
    subsampling_rate,
)

BLANK = 0
V = 5
LENGTHS = [5, 3, 2]  # frames of the three utterances; the batch is padded to 5


def log_softmax_np(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def toy(seed: int = 0):
    """Student and teacher logits ``(3, 5, V)``; the teacher's blank made confident at some frames."""
    rng = np.random.default_rng(seed)
    student = rng.standard_normal((3, 5, V))
    teacher = rng.standard_normal((3, 5, V))
    # blank-confident frames (posterior > 0.97): utt 0 frames 1, 3; utt 1 frame 0; utt 2 frame 4 (padding)
    for b, t in BLANK_FRAMES + [(2, 4)]:
        teacher[b, t, BLANK] = teacher[b, t].max() + 5.0
    return student, teacher


BLANK_FRAMES = [(0, 1), (0, 3), (1, 0)]


def hand_kl(student: np.ndarray, teacher: np.ndarray, lengths, threshold=None, k=None) -> np.ndarray:
    """Σ over the frames that count of KL(teacher ‖ student), per utterance, by the definitions."""
    q_log = log_softmax_np(student)
    p_log = log_softmax_np(teacher)
    out = np.zeros(len(lengths))
    for b, n in enumerate(lengths):
        for t in range(n):  # padding: frames t >= n are left out
            if threshold is not None and np.exp(p_log[b, t, BLANK]) > threshold:
                continue  # blank selection: the teacher is confident of blank here
            ids = np.arange(V) if k is None else np.argsort(-p_log[b, t])[:k]
            p = np.exp(p_log[b, t, ids])
            p = p / p.sum()  # the top-k renormalised (the full distribution unchanged)
            out[b] += float(np.sum(p * (np.log(p) - q_log[b, t, ids])))
    return out


def as_tensors(student, teacher):
    return (torch.log_softmax(torch.tensor(student, dtype=torch.float32), -1),
            torch.log_softmax(torch.tensor(teacher, dtype=torch.float32), -1))


@pytest.mark.parametrize("threshold", [None, 0.9], ids=["all_frames", "blank_selection"])
@pytest.mark.parametrize("k", [0, 2, V], ids=["full", "top2", "topV"])
def test_frame_kl_equals_the_hand_computed_kl(threshold, k):
    student, teacher = toy()
    student_logp, teacher_logp = as_tensors(student, teacher)
    kl = full_frame_kl(student_logp, torch.tensor(LENGTHS), teacher_logp,
                       CTCKDConfig(weight=0.5, topk=k, blank_threshold=threshold), BLANK)
    expected = hand_kl(student, teacher, LENGTHS, threshold, k or None)
    np.testing.assert_allclose(kl.per_utterance.numpy(), expected, rtol=1e-5, atol=1e-6)
    p_blank = np.exp(log_softmax_np(teacher)[..., BLANK])
    assert all(p_blank[b, t] > 0.97 for b, t in BLANK_FRAMES)
    assert all(p_blank[b, t] < 0.9 for b in range(3) for t in range(LENGTHS[b]) if (b, t) not in BLANK_FRAMES)
    kept = sum(LENGTHS) - (len(BLANK_FRAMES) if threshold is not None else 0)
    assert (kl.selected, kl.frames) == (kept, sum(LENGTHS))


def test_blank_selection_leaves_out_exactly_the_blank_confident_frames():
    student, teacher = toy()
    all_frames = hand_kl(student, teacher, LENGTHS)
    selected = hand_kl(student, teacher, LENGTHS, threshold=0.9)
    assert selected[0] < all_frames[0] and selected[1] < all_frames[1]
    assert selected[2] == pytest.approx(all_frames[2])  # utt 2's blank-confident frame is padding


def packed_stream(teacher: np.ndarray, lengths, k: int) -> torch.Tensor:
    """The ``kd_ctc_topk`` stream as ESPnet's collate pads it: per frame k ids then k log-probs, zeros after."""
    p_log = log_softmax_np(teacher)
    packed = np.zeros((len(lengths), max(lengths), 2 * k), dtype=np.float32)
    for b, n in enumerate(lengths):
        ids = np.argsort(-p_log[b, :n], axis=-1)[:, :k]
        packed[b, :n, :k] = ids
        packed[b, :n, k:] = np.take_along_axis(p_log[b, :n], ids, axis=-1)
    return torch.tensor(packed)


@pytest.mark.parametrize("threshold", [None, 0.9])
@pytest.mark.parametrize("k", [2, V])
def test_cached_topk_equals_the_hand_computed_kl(threshold, k):
    """From the cache: the top-k renormalised, blank's posterior read from the stored top-k."""
    student, teacher = toy()
    signal = CachedCTCSignal(packed_stream(teacher, LENGTHS, k), torch.tensor(LENGTHS), ["u0", "u1", "u2"])
    student_logp, _ = as_tensors(student, teacher)
    kl = signal.frame_kl(student_logp, torch.tensor(LENGTHS),
                         CTCKDConfig(weight=0.5, topk=k, blank_threshold=threshold), BLANK, "same rates")
    np.testing.assert_allclose(kl.per_utterance.numpy(), hand_kl(student, teacher, LENGTHS, threshold, k),
                               rtol=1e-5, atol=1e-6)


class FixedSignal(CTCTeacherSignal):
    """The teacher's full log-posteriors of the toy batch (the online signal without a model)."""

    def __init__(self, teacher_logp, lengths):
        self.teacher_logp, self.lengths = teacher_logp, lengths

    def frame_kl(self, student_logp, student_lengths, config, blank_id, frame_rates):
        check_frame_counts(self.lengths, student_lengths, None, frame_rates, "the teacher's CTC")
        return full_frame_kl(student_logp, student_lengths, self.teacher_logp, config, blank_id)


def toy_ctc(dropout: float = 0.0):
    """A stock ESPnet CTC module on 4-dim encoder frames, and a padded toy batch for it."""
    torch.manual_seed(0)
    ctc = CTC(odim=V, encoder_output_size=4, dropout_rate=dropout)
    hs_pad = torch.randn(3, 5, 4)
    ys_pad = torch.tensor([[1, 2, 3], [4, 1, -1], [2, -1, -1]])
    return ctc, hs_pad, torch.tensor(LENGTHS), ys_pad, torch.tensor([3, 2, 1])


def test_weight_zero_is_the_stock_ctc_loss_exactly():
    stock, hs_pad, hlens, ys_pad, ys_lens = toy_ctc(dropout=0.2)  # ESPnet's CTC dropout draws random numbers
    student = KDCTC.from_ctc(copy.deepcopy(stock), CTCKDConfig(weight=0.0, topk=0), BLANK, "same rates")
    _, teacher = toy()
    torch.manual_seed(7)
    expected = stock(hs_pad, hlens, ys_pad, ys_lens)
    torch.manual_seed(7)
    with student.teacher_signal(FixedSignal(torch.log_softmax(torch.tensor(teacher, dtype=torch.float32), -1),
                                            hlens)):
        got = student(hs_pad, hlens, ys_pad, ys_lens)
    assert torch.equal(got, expected)
    assert torch.equal(student.last_stats["loss_ctc_ref"], expected.detach())
    assert student.last_stats["loss_ctc_kd"].item() > 0.1  # computed and reported, weighted by 0


@pytest.mark.parametrize("weight, threshold", [(0.3, None), (1.0, 0.9)], ids=["mixed", "kd_only_with_selection"])
def test_loss_is_the_weighted_mix_normalised_as_espnets_ctc(weight, threshold):
    """(1 - w)·CTC + w·Σ_frames KL / B; with selection, w = 1 drops the reference CTC loss."""
    stock, hs_pad, hlens, ys_pad, ys_lens = toy_ctc()
    student = KDCTC.from_ctc(copy.deepcopy(stock), CTCKDConfig(weight=weight, topk=0, blank_threshold=threshold),
                             BLANK, "same rates")
    _, teacher = toy()
    with torch.no_grad():
        ctc_ref = stock(hs_pad, hlens, ys_pad, ys_lens)
        student_logits = stock.ctc_lo(hs_pad).numpy().astype(np.float64)
    with student.teacher_signal(FixedSignal(torch.log_softmax(torch.tensor(teacher, dtype=torch.float32), -1),
                                            hlens)):
        got = student(hs_pad, hlens, ys_pad, ys_lens)
    kd = hand_kl(student_logits, teacher, LENGTHS, threshold).sum() / len(LENGTHS)  # ESPnet: sum / batch size
    assert got.item() == pytest.approx((1 - weight) * ctc_ref.item() + weight * kd, rel=1e-5)
    assert student.last_stats["loss_ctc_kd"].item() == pytest.approx(kd, rel=1e-5)
    if weight == 1.0:
        assert got.item() == pytest.approx(kd, rel=1e-6)
    got.backward()
    assert stock.ctc_lo.weight.grad is None and student.ctc_lo.weight.grad.abs().sum() > 0
    # reduce=False, as ESPnet's batch scoring asks: per utterance, each divided by the batch size
    student.reduce = False
    with torch.no_grad(), student.teacher_signal(
            FixedSignal(torch.log_softmax(torch.tensor(teacher, dtype=torch.float32), -1), hlens)):
        per_utt = student(hs_pad, hlens, ys_pad, ys_lens)
    assert per_utt.shape == (3,) and per_utt.sum().item() == pytest.approx(got.item(), rel=1e-5)


def test_outside_a_forward_pass_it_is_the_reference_ctc_loss():
    stock, hs_pad, hlens, ys_pad, ys_lens = toy_ctc()
    student = KDCTC.from_ctc(copy.deepcopy(stock), CTCKDConfig(weight=0.5), BLANK, "same rates")
    assert torch.equal(student(hs_pad, hlens, ys_pad, ys_lens), stock(hs_pad, hlens, ys_pad, ys_lens))
    assert set(student.state_dict()) == set(stock.state_dict())  # no parameter or buffer of its own


def test_frame_count_mismatch_names_the_utterance_and_both_rates():
    with pytest.raises(CTCKDError) as error:
        check_frame_counts(torch.tensor([5, 6, 2]), torch.tensor([5, 3, 2]), ["a", "b", "c"],
                           "teacher: ... (subsampling 2 ...); student: ... (subsampling 4 ...)",
                           "the teacher's CTC top-k cache")
    assert str(error.value) == (
        "utterance b: the teacher's CTC top-k cache has 6 encoder frames, the student's encoder 3: CTC KD "
        "compares their CTC posteriors frame by frame and needs the same encoder frame rate (teacher: ... "
        "(subsampling 2 ...); student: ... (subsampling 4 ...)); 1 such utterances in this batch")


def asr_config(input_layer=None, hop=160, encoder="conformer"):
    config = {"frontend": "default", "frontend_conf": {"hop_length": hop, "n_fft": 512},
              "encoder": encoder, "encoder_conf": {"output_size": 52}}
    if input_layer is not None:
        config["encoder_conf"]["input_layer"] = input_layer
    return config


def test_setup_check_of_the_encoder_frame_rates():
    assert [subsampling_rate(layer) for layer in ("conv2d", "conv2d2", "conv2d6", "conv2d8", "linear", None)] \
        == [4, 2, 6, 8, 1, 1]
    # the same frames: the same settings, or conv2d spelt out against a conformer's default
    check_same_encoder_frames(asr_config("conv2d"), asr_config(None), "teacher.yaml")
    with pytest.raises(CTCKDError) as error:
        check_same_encoder_frames(asr_config("conv2d6"), asr_config("conv2d"), "exp/teacher/config.yaml")
    message = str(error.value)
    assert "the teacher (exp/teacher/config.yaml) has frontend default hop_length 160, encoder conformer " \
           "input_layer conv2d6 (subsampling 6: one encoder frame per 960 samples)" in message
    assert "the student frontend default hop_length 160, encoder conformer input_layer conv2d " \
           "(subsampling 4: one encoder frame per 640 samples)" in message
    assert message.endswith("Give the student the teacher's frontend hop_length and encoder_conf.input_layer, "
                            "or set kd_ctc_weight 0")
    with pytest.raises(CTCKDError, match=r"hop_length 128, .* hop_length 160"):  # another hop, same subsampling
        check_same_encoder_frames(asr_config("conv2d", hop=128), asr_config("conv2d"), "t")
    # a frontend whose frames cannot be computed: left to the per-batch check
    check_same_encoder_frames({**asr_config("conv2d"), "frontend": "s3prl"}, asr_config("conv2d"), "t")


@pytest.mark.parametrize("kwargs, message", [
    (dict(weight=1.5), r"kd_ctc_weight must be in \[0, 1\]"),
    (dict(weight=0.5, topk=-1), "kd_ctc_topk must be 0"),
    (dict(weight=0.5, blank_threshold=2.0), r"kd_ctc_blank_threshold must be in \[0, 1\]"),
])
def test_config_refuses_bad_values(kwargs, message):
    with pytest.raises(CTCKDError, match=message):
        CTCKDConfig(**kwargs)
    assert not CTCKDConfig().enabled and CTCKDConfig(weight=0.1).enabled

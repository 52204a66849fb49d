"""Word-KD losses against hand computations and scipy's relative entropy."""

import math

import numpy as np
import pytest
import torch
from scipy.special import log_softmax as np_log_softmax
from scipy.special import rel_entr

from espnet_kd.kd.losses import kl_full, kl_topk, renormalised_topk, teacher_topk


def softmax(x, t=1.0):
    return np.exp(np_log_softmax(np.asarray(x, dtype=np.float64) / t))


def test_kl_full_matches_relative_entropy_by_hand():
    student = [[[0.0, 1.0, 2.0]]]
    teacher = [[[2.0, 0.0, -1.0]]]
    expected = rel_entr(softmax(teacher[0][0]), softmax(student[0][0])).sum()
    got = kl_full(torch.tensor(student), torch.tensor(teacher), torch.tensor([[1]]))
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # the same distributions written out: p = (e^2, 1, e^-1)/Z
    p = np.array([math.e**2, 1.0, math.e**-1]); p /= p.sum()
    q = np.array([1.0, math.e, math.e**2]); q /= q.sum()
    assert got.item() == pytest.approx(float((p * np.log(p / q)).sum()), rel=1e-6)


def test_temperature_scales_logits_and_multiplies_by_t_squared():
    student = torch.tensor([[[0.3, -1.0, 2.0, 0.5]]])
    teacher = torch.tensor([[[1.0, 0.0, -2.0, 0.7]]])
    t = 2.5
    expected = rel_entr(softmax(teacher[0, 0], t), softmax(student[0, 0], t)).sum() * t * t
    assert kl_full(student, teacher, torch.tensor([[0]]), temperature=t).item() == pytest.approx(expected, rel=1e-5)


def test_padding_is_ignored_and_reduction_follows_espnet():
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(2, 3, 5, generator=gen)
    teacher = torch.randn(2, 3, 5, generator=gen)
    ys_out = torch.tensor([[1, 2, 3], [4, -1, -1]])
    per_position = [
        rel_entr(softmax(teacher[b, i]), softmax(student[b, i])).sum()
        for b, i in [(0, 0), (0, 1), (0, 2), (1, 0)]
    ]
    by_batch = kl_full(student, teacher, ys_out)
    by_token = kl_full(student, teacher, ys_out, normalize_length=True)
    assert by_batch.item() == pytest.approx(sum(per_position) / 2, rel=1e-5)
    assert by_token.item() == pytest.approx(sum(per_position) / 4, rel=1e-5)
    # garbage at padded positions changes nothing
    student2 = student.clone(); student2[1, 1:] = 1e4
    assert kl_full(student2, teacher, ys_out).item() == pytest.approx(by_batch.item(), rel=1e-6)


def test_topk_renormalises_the_teacher_by_hand():
    teacher_logp = torch.log(torch.tensor([[[0.5, 0.3, 0.15, 0.05]]]))
    ids, logp = teacher_topk(teacher_logp, k=2)
    assert ids.tolist() == [[[0, 1]]]
    assert renormalised_topk(logp).exp()[0, 0].tolist() == pytest.approx([0.625, 0.375], rel=1e-6)
    student = torch.tensor([[[0.0, 0.0, 0.0, 0.0]]])  # uniform: log 1/4 at each token
    expected = 0.625 * math.log(0.625 / 0.25) + 0.375 * math.log(0.375 / 0.25)
    got = kl_topk(student, ids, logp, torch.tensor([[2]]))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_topk_with_the_whole_vocabulary_equals_full_kl():
    gen = torch.Generator().manual_seed(1)
    student = torch.randn(3, 4, 6, generator=gen)
    teacher = torch.randn(3, 4, 6, generator=gen)
    ys_out = torch.tensor([[1, 1, 1, 1], [2, 2, -1, -1], [3, -1, -1, -1]])
    ids, logp = teacher_topk(teacher, k=6)
    for t in (1.0, 2.0):
        ids_t, logp_t = teacher_topk(teacher, k=6, temperature=t)
        full = kl_full(student, teacher, ys_out, temperature=t)
        assert kl_topk(student, ids_t, logp_t, ys_out, temperature=t, teacher_temperature=t).item() == \
            pytest.approx(full.item(), rel=1e-5)
        # log-probs stored at T=1 are brought to T by rescaling
        assert kl_topk(student, ids, logp, ys_out, temperature=t, teacher_temperature=1.0).item() == \
            pytest.approx(full.item(), rel=1e-5)


def test_kl_is_zero_for_identical_distributions_and_positive_otherwise():
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 3, 7, generator=gen)
    ys_out = torch.ones(2, 3, dtype=torch.long)
    assert kl_full(logits, logits.clone(), ys_out).abs().item() < 1e-6
    assert kl_full(logits, logits + torch.randn(2, 3, 7, generator=gen), ys_out).item() > 1e-3
    ids, logp = teacher_topk(logits, 3)
    # top-3 of the student's own distribution: KL = -log(mass of the top 3) > 0
    mass = torch.softmax(logits, -1).topk(3, -1).values.sum(-1)
    assert kl_topk(logits, ids, logp, ys_out).item() == pytest.approx((-mass.log()).sum().item() / 2, rel=1e-5)


def test_gradient_reaches_the_student_only():
    student = torch.randn(1, 2, 5, requires_grad=True)
    teacher = torch.randn(1, 2, 5, requires_grad=True)
    ids, logp = teacher_topk(teacher.detach(), 3)
    kl_topk(student, ids, logp, torch.tensor([[1, 2]])).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="differ"):
        kl_full(torch.zeros(1, 2, 5), torch.zeros(1, 2, 6), torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="k=9"):
        teacher_topk(torch.zeros(1, 1, 5), 9)


# --- the loss registry (``kd_loss``) ------------------------------------------------------


@pytest.fixture
def reverse_kl(monkeypatch):
    """A second loss, KL(student ‖ teacher), registered for one test only."""
    from espnet_kd.kd import losses

    monkeypatch.setattr(losses, "KD_LOSSES", dict(losses.KD_LOSSES))

    @losses.register_kd_loss("reverse_kl")
    def reverse(teacher_logp, student_logp):
        return (student_logp.exp() * (student_logp - teacher_logp)).sum(-1)

    return reverse


def test_the_default_loss_is_kl_and_named_losses_are_the_same_computation():
    from espnet_kd.kd.losses import DEFAULT_KD_LOSS, KD_LOSSES, full_distribution_loss, kl_per_position, topk_loss

    assert DEFAULT_KD_LOSS == "kl" and KD_LOSSES["kl"] is kl_per_position
    gen = torch.Generator().manual_seed(3)
    student, teacher = torch.randn(2, 3, 6, generator=gen), torch.randn(2, 3, 6, generator=gen)
    ys_out = torch.tensor([[1, 2, 3], [4, 5, -1]])
    assert torch.equal(full_distribution_loss(student, teacher, ys_out, temperature=2.0),
                       kl_full(student, teacher, ys_out, temperature=2.0))
    ids, logp = teacher_topk(teacher, 3)
    assert torch.equal(topk_loss(student, ids, logp, ys_out, loss="kl"), kl_topk(student, ids, logp, ys_out))


def test_a_registered_loss_is_used_by_name_full_and_topk(reverse_kl):
    from espnet_kd.kd.losses import full_distribution_loss, topk_loss

    student = torch.tensor([[[0.0, 1.0, 2.0]]])
    teacher = torch.tensor([[[2.0, 0.0, -1.0]]])
    # KL(student ‖ teacher) by hand: q = (1, e, e^2)/Z, p = (e^2, 1, e^-1)/Z
    p = np.array([math.e**2, 1.0, math.e**-1]); p /= p.sum()
    q = np.array([1.0, math.e, math.e**2]); q /= q.sum()
    expected = float((q * np.log(q / p)).sum())
    got = full_distribution_loss(student, teacher, torch.tensor([[1]]), loss="reverse_kl")
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert got.item() != pytest.approx(kl_full(student, teacher, torch.tensor([[1]])).item(), rel=1e-3)
    # top-2 of the teacher (tokens 0 and 1, renormalised: e^2/(e^2+1), 1/(e^2+1)); the
    # student's full-vocabulary probabilities at those tokens, masking and T² shared
    ids, logp = teacher_topk(teacher, 2)
    teacher2 = np.array([math.e**2, 1.0]) / (math.e**2 + 1.0)
    by_hand = float((q[:2] * np.log(q[:2] / teacher2)).sum())
    assert topk_loss(student, ids, logp, torch.tensor([[1]]), loss="reverse_kl").item() == \
        pytest.approx(by_hand, abs=1e-6)
    t = 2.0
    scaled = full_distribution_loss(student, teacher, torch.tensor([[1]]), temperature=t, loss="reverse_kl")
    expected_t = rel_entr(softmax(student[0, 0], t), softmax(teacher[0, 0], t)).sum() * t * t
    assert scaled.item() == pytest.approx(expected_t, rel=1e-5)


def test_unknown_and_duplicate_loss_names_are_refused(reverse_kl):
    from espnet_kd.kd.losses import full_distribution_loss, kd_loss_function, register_kd_loss

    with pytest.raises(ValueError, match=r"unknown kd_loss 'nope' \(known: kl, reverse_kl\)"):
        kd_loss_function("nope")
    with pytest.raises(ValueError, match="unknown kd_loss 'nope'"):
        full_distribution_loss(torch.zeros(1, 1, 3), torch.zeros(1, 1, 3), torch.tensor([[1]]), loss="nope")
    with pytest.raises(ValueError, match="'reverse_kl' is already registered"):
        register_kd_loss("reverse_kl")(lambda teacher_logp, student_logp: teacher_logp.sum(-1))
    assert register_kd_loss("reverse_kl")(reverse_kl) is reverse_kl  # the same function again is harmless

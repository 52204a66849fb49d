"""Word-level KD losses: a divergence between teacher and student per target position.

Every loss takes the student's decoder logits ``(B, L, V)`` at the target
positions (teacher-forced on the reference prefix), the teacher's view of the
same positions, and ``ys_out`` ``(B, L)``: the reference output tokens with
``ignore_id`` at padded positions, which contribute nothing.

- :func:`full_distribution_loss` (:func:`kl_full`): the teacher's full
  distribution (its logits ``(B, L, V)``).
- :func:`topk_loss` (:func:`kl_topk`): the teacher's ``k`` best tokens (ids
  ``(B, L, k)`` and log-probabilities), renormalised over those ``k``; the
  student keeps its full distribution, so the KL is zero only when the student
  puts all its mass on the teacher's ``k`` tokens in the teacher's proportions
  (Gaido et al. 2020).

Which divergence is used is a name in :data:`KD_LOSSES` (the config's
``kd_loss``, default ``kl``). A new loss is one function registered with
:func:`register_kd_loss`: it takes the teacher's and the student's
log-probabilities over the same tokens, ``(B, L, n)`` each (``n`` the vocabulary,
or the teacher's ``k`` with the student's full-vocabulary log-probabilities at
those tokens), and returns the loss at every position ``(B, L)``; masking,
reduction and the temperature factor are shared.

At temperature ``T`` both distributions are ``softmax(logits / T)`` and the loss
is multiplied by ``T²`` (Hinton et al. 2015), so its gradients keep their size
when ``T`` changes; at ``T = 1`` the KL is the plain KL. Reduction follows
ESPnet's label-smoothing loss: the sum over unpadded positions divided by the
batch size, or by the number of unpadded positions when ``normalize_length``.
"""

from __future__ import annotations

import functools

from typing import Callable, Dict, Tuple

import torch

#: ``(teacher_logp, student_logp) -> per-position loss``: ``(B, L, n)`` twice, to ``(B, L)``
PerPositionLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: the KD losses by their config name (``kd_loss``)
KD_LOSSES: Dict[str, PerPositionLoss] = {}
DEFAULT_KD_LOSS = "kl"


def register_kd_loss(name: str) -> Callable[[PerPositionLoss], PerPositionLoss]:
    """Decorator: make a per-position loss selectable as ``kd_loss: <name>``."""

    def register(loss: PerPositionLoss) -> PerPositionLoss:
        if name in KD_LOSSES and KD_LOSSES[name] is not loss:
            raise ValueError(f"a KD loss named '{name}' is already registered")
        KD_LOSSES[name] = loss
        return loss

    return register


def kd_loss_function(name: str) -> PerPositionLoss:
    """The registered loss ``name``; a ValueError listing the known names otherwise."""
    try:
        return KD_LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown kd_loss '{name}' (known: {', '.join(sorted(KD_LOSSES))})") from None


@register_kd_loss(DEFAULT_KD_LOSS)
def kl_per_position(teacher_logp: torch.Tensor, student_logp: torch.Tensor) -> torch.Tensor:
    """KL(teacher ‖ student) = Σ p_teacher · (log p_teacher - log p_student) at each position."""
    return (teacher_logp.exp() * (teacher_logp - student_logp)).sum(-1)


def _reduce(per_position: torch.Tensor, mask: torch.Tensor, normalize_length: bool) -> torch.Tensor:
    """Sum ``per_position`` ``(B, L)`` over ``mask``; divide by B or by the unmasked count."""
    total = per_position.masked_fill(~mask, 0.0).sum()
    denom = mask.sum().clamp(min=1) if normalize_length else mask.size(0)
    return total / denom


def _check_shapes(student_logits: torch.Tensor, ys_out: torch.Tensor) -> None:
    if student_logits.dim() != 3 or student_logits.shape[:2] != ys_out.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} do not match the targets {tuple(ys_out.shape)}"
        )


def full_distribution_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    ys_out: torch.Tensor,
    ignore_id: int = -1,
    temperature: float = 1.0,
    normalize_length: bool = False,
    loss: str = DEFAULT_KD_LOSS,
) -> torch.Tensor:
    """KD loss ``loss`` against the teacher's whole distribution, summed over unpadded positions."""
    per_position_loss = kd_loss_function(loss)
    _check_shapes(student_logits, ys_out)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"teacher logits {tuple(teacher_logits.shape)} and student logits "
            f"{tuple(student_logits.shape)} differ (vocabulary or target length)"
        )
    student_logp = torch.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher_logp = torch.log_softmax(teacher_logits.float() / temperature, dim=-1)
    per_position = per_position_loss(teacher_logp, student_logp)
    return _reduce(per_position, ys_out != ignore_id, normalize_length) * temperature**2


def renormalised_topk(topk_logp: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Log-probabilities of the teacher's top-k, rescaled by ``scale`` and renormalised over k.

    ``topk_logp`` are log-probabilities at some temperature ``T0``; with
    ``scale = T0 / T`` the result is the top-k of ``softmax(logits / T)``
    renormalised, whatever ``T0`` was (the log-partition cancels).
    """
    return torch.log_softmax(topk_logp.float() * scale, dim=-1)


def topk_loss(
    student_logits: torch.Tensor,
    topk_ids: torch.Tensor,
    topk_logp: torch.Tensor,
    ys_out: torch.Tensor,
    ignore_id: int = -1,
    temperature: float = 1.0,
    teacher_temperature: float = 1.0,
    normalize_length: bool = False,
    loss: str = DEFAULT_KD_LOSS,
) -> torch.Tensor:
    """KD loss ``loss`` against the teacher's top-k renormalised, summed over unpadded positions.

    ``topk_logp`` are the teacher's log-probabilities at ``teacher_temperature``
    (what the cache stores); they are brought to ``temperature`` before
    renormalising over the k tokens. The student's log-probabilities are those
    of its full distribution at ``temperature``, taken at the teacher's k tokens.
    """
    per_position_loss = kd_loss_function(loss)
    _check_shapes(student_logits, ys_out)
    if topk_ids.shape != topk_logp.shape or topk_ids.shape[:2] != ys_out.shape:
        raise ValueError(
            f"teacher top-k ids {tuple(topk_ids.shape)} / log-probs {tuple(topk_logp.shape)} "
            f"do not match the targets {tuple(ys_out.shape)}"
        )
    mask = ys_out != ignore_id
    teacher_logp = renormalised_topk(topk_logp, teacher_temperature / temperature)
    student_logp = torch.log_softmax(student_logits.float() / temperature, dim=-1)
    safe_ids = topk_ids.long().masked_fill(~mask.unsqueeze(-1), 0)
    student_at_topk = student_logp.gather(-1, safe_ids)
    per_position = per_position_loss(teacher_logp, student_at_topk)
    return _reduce(per_position, mask, normalize_length) * temperature**2


kl_full = functools.partial(full_distribution_loss, loss=DEFAULT_KD_LOSS)
"""KL(teacher ‖ student) over the whole vocabulary: :func:`full_distribution_loss` with ``kl``."""

kl_topk = functools.partial(topk_loss, loss=DEFAULT_KD_LOSS)
"""KL(teacher top-k renormalised ‖ student): :func:`topk_loss` with ``kl``."""


def teacher_topk(teacher_logits: torch.Tensor, k: int, temperature: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """The teacher's ``k`` best token ids and their log-probabilities at ``temperature``.

    Returns ``(ids, logp)``, each ``(B, L, k)``, best first.
    """
    if not 1 <= k <= teacher_logits.size(-1):
        raise ValueError(f"top-k: k={k} must be between 1 and the vocabulary size {teacher_logits.size(-1)}")
    logp = torch.log_softmax(teacher_logits.float() / temperature, dim=-1)
    values, ids = logp.topk(k, dim=-1)
    return ids, values

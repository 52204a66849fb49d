"""CTC prefix scoring for many hypotheses of many utterances at once.

The hybrid CTC/attention beam search (Watanabe et al. 2017) scores a candidate
prefix ``g + c`` by the CTC probability that the utterance's frames start with
``g + c`` (the *prefix* probability ``psi``), and a finished hypothesis ``g +
<eos>`` by the probability that they spell exactly ``g``. Kept per hypothesis
are the forward variables ``r[t, n]`` and ``r[t, b]``: the log probability of
frames ``0..t`` spelling ``g`` and ending in a non-blank / blank frame.

This module keeps every running hypothesis of a decoding batch (``B`` utterances
× ``K`` beam slots, ``N = B*K`` rows) in one tensor and updates them with one
loop over frames per output step, vectorised over hypotheses and candidate
tokens. Utterances shorter than the batch's longest are padded with frames
that emit blank with probability one, which leaves every prefix probability
unchanged. Its results equal ESPnet's ``CTCPrefixScoreTH`` (the scorer
``espnet2.bin.asr_inference`` uses); ``tests/nbest/test_ctc_prefix.py`` checks
that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch

# ESPnet's "log zero": finite, so that sums of a few of them stay finite and comparable.
LOG_ZERO = -1.0e10


@dataclass
class CTCPrefixState:
    """Forward variables of the running hypotheses (one row per beam slot).

    ``forward`` is ``(T, 2, N)``: ``r[t, 0]`` (ends in a non-blank frame) and
    ``r[t, 1]`` (ends in blank) of each hypothesis' prefix; ``prefix_logp`` is
    ``(N,)``, the log prefix probability of each hypothesis itself.
    """

    forward: torch.Tensor
    prefix_logp: torch.Tensor


@dataclass
class CTCCandidates:
    """What one scoring step computed for every candidate extension.

    ``forward`` is ``(T, 2, N, S)`` for the ``S`` scored tokens of each row,
    ``prefix_logp`` is ``(N, V)`` (``LOG_ZERO`` where a token was not scored)
    and ``scored_ids`` is ``(N, S)``, or ``None`` when the whole vocabulary was
    scored (then ``S == V`` and column ``s`` is token ``s``).
    """

    forward: torch.Tensor
    prefix_logp: torch.Tensor
    scored_ids: Optional[torch.Tensor]


class BatchedCTCPrefixScorer:
    """CTC prefix scores for ``B`` utterances with ``K`` hypothesis slots each.

    ``ctc_logp`` holds the CTC log-posteriors ``(B, T, V)`` and ``lengths``
    the number of valid frames of each utterance. Rows of the state are
    ordered utterance-major: slot ``k`` of utterance ``b`` is row ``b*K + k``.
    """

    def __init__(
        self,
        ctc_logp: torch.Tensor,
        lengths: torch.Tensor,
        slots_per_utt: int,
        blank: int,
        eos: int,
    ) -> None:
        batch, max_frames, vocab = ctc_logp.shape
        self.blank = blank
        self.eos = eos
        self.vocab = vocab
        self.slots_per_utt = slots_per_utt
        lengths = lengths.to(ctc_logp.device)
        padded = ctc_logp.clone()
        frame_ids = torch.arange(max_frames, device=ctc_logp.device)
        is_padding = frame_ids.unsqueeze(0) >= lengths.unsqueeze(1)  # (B, T)
        padded[is_padding] = LOG_ZERO
        padded[..., blank] = padded[..., blank].masked_fill(is_padding, 0.0)
        self.frames_logp = padded.transpose(0, 1).contiguous()  # (T, B, V)
        self.last_frame = lengths - 1
        self.slot_utt = torch.arange(batch, device=ctc_logp.device).repeat_interleave(
            slots_per_utt
        )

    @property
    def num_frames(self) -> int:
        """Frames of the longest utterance in the batch."""
        return self.frames_logp.shape[0]

    def initial_state(self) -> CTCPrefixState:
        """The state of the empty prefix (``<sos>`` only) in every slot."""
        blank_logp = self.frames_logp[:, self.slot_utt, self.blank]  # (T, N)
        forward = torch.full(
            (self.num_frames, 2, len(self.slot_utt)),
            LOG_ZERO,
            dtype=self.frames_logp.dtype,
            device=self.frames_logp.device,
        )
        forward[:, 1] = torch.cumsum(blank_logp, dim=0)
        prefix_logp = torch.zeros(len(self.slot_utt), dtype=forward.dtype, device=forward.device)
        return CTCPrefixState(forward, prefix_logp)

    def keep_utterances(self, keep: torch.Tensor, state: CTCPrefixState) -> CTCPrefixState:
        """Drop finished utterances (``keep``: the batch indices that stay); returns
        ``state`` restricted to their rows and to the frames they still have."""
        self.last_frame = self.last_frame[keep]
        # frames after the longest remaining utterance are padding for all of them
        self.frames_logp = self.frames_logp[: int(self.last_frame.max()) + 1, keep]
        self.slot_utt = torch.arange(len(keep), device=keep.device).repeat_interleave(
            self.slots_per_utt
        )
        keep_rows = (keep.unsqueeze(1) * self.slots_per_utt + torch.arange(
            self.slots_per_utt, device=keep.device
        )).view(-1)
        return CTCPrefixState(
            state.forward[: self.num_frames, :, keep_rows], state.prefix_logp[keep_rows]
        )

    def score(
        self,
        state: CTCPrefixState,
        last_tokens: torch.Tensor,
        output_length: int,
        scoring_ids: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, CTCCandidates]:
        """Score every row's candidate next tokens.

        ``last_tokens`` (N,) are the rows' last tokens, ``output_length`` the
        number of tokens after ``<sos>`` (the same for every row), and
        ``scoring_ids`` (N, S) the tokens to score per row (``None``: all).
        Returns the score increments ``log psi(g + c) - log psi(g)`` as an
        ``(N, V)`` tensor (about ``LOG_ZERO`` for tokens not scored, the blank
        excluded; ``<eos>`` is always scored) and the candidates to select from.
        """
        rows = len(last_tokens)
        frames = self.frames_logp[:, self.slot_utt]  # (T, N, V)
        if scoring_ids is None:
            token_logp = frames
            scored = last_tokens.unsqueeze(1) == torch.arange(self.vocab, device=frames.device)
        else:
            index = scoring_ids.unsqueeze(0).expand(self.num_frames, -1, -1)
            token_logp = torch.gather(frames, 2, index)  # (T, N, S)
            scored = scoring_ids == last_tokens.unsqueeze(1)
        blank_logp = frames[:, :, self.blank].unsqueeze(2).expand_as(token_logp)
        prev_forward = state.forward
        prefix_sum = torch.logaddexp(prev_forward[:, 0], prev_forward[:, 1])  # (T, N)
        # phi[t]: probability of the prefix up to frame t such that c can follow;
        # a repeated token must be separated from the prefix by a blank.
        phi = torch.where(
            scored.unsqueeze(0),
            prev_forward[:, 1].unsqueeze(2),
            prefix_sum.unsqueeze(2),
        )
        num_scored = token_logp.shape[2]
        forward = torch.full(
            (self.num_frames, 2, rows, num_scored),
            LOG_ZERO,
            dtype=token_logp.dtype,
            device=token_logp.device,
        )
        if output_length == 0:
            forward[0, 0] = token_logp[0]
        start = max(output_length, 1)
        for t in range(start, self.num_frames):
            previous = forward[t - 1]
            forward[t, 0] = torch.logaddexp(previous[0], phi[t - 1]) + token_logp[t]
            forward[t, 1] = torch.logaddexp(previous[0], previous[1]) + blank_logp[t]
        # psi: c emitted first at some frame t >= start, or already by frame start-1. A prefix with
        # at least as many tokens as there are frames (maxlenratio > 1) cannot be extended: forward's
        # last frame holds LOG_ZERO then, and no frame is left for c.
        phi_shifted = torch.cat((phi[:1], phi[:-1]), dim=0) + token_logp
        last_before = min(start, self.num_frames) - 1
        psi_scored = torch.logsumexp(
            torch.cat((phi_shifted[start:], forward[last_before, 0].unsqueeze(0)), dim=0), dim=0
        )  # (N, S)
        if scoring_ids is None:
            prefix_logp = psi_scored
        else:
            prefix_logp = torch.full(
                (rows, self.vocab), LOG_ZERO, dtype=psi_scored.dtype, device=psi_scored.device
            )
            prefix_logp.scatter_(1, scoring_ids, psi_scored)
        row_ids = torch.arange(rows, device=prefix_sum.device)
        prefix_logp[:, self.eos] = prefix_sum[self.last_frame[self.slot_utt], row_ids]
        if self.eos != self.blank:
            prefix_logp[:, self.blank] = LOG_ZERO
        increments = prefix_logp - state.prefix_logp.unsqueeze(1)
        return increments, CTCCandidates(forward, prefix_logp, scoring_ids)

    def select(
        self, candidates: CTCCandidates, rows: torch.Tensor, tokens: torch.Tensor
    ) -> CTCPrefixState:
        """The state after extending row ``rows[i]`` by token ``tokens[i]``.

        A token that was not scored for its row (only ``<eos>`` can be chosen
        so, and an ended hypothesis' state is never used again) takes column 0.
        """
        if candidates.scored_ids is None:
            columns = tokens
        else:
            matches = candidates.scored_ids[rows] == tokens.unsqueeze(1)  # (M, S)
            columns = torch.where(
                matches.any(dim=1), matches.int().argmax(dim=1), torch.zeros_like(tokens)
            )
        forward = candidates.forward[:, :, rows, columns]  # (T, 2, M)
        prefix_logp = candidates.prefix_logp[rows, tokens]
        return CTCPrefixState(forward, prefix_logp)

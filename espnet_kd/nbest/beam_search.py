"""Beam search batched across utterances: ``B`` utterances × beam ``K`` per decoder call.

ESPnet's ``BatchBeamSearch`` batches the beam of one utterance; decoding a
training set for sequence-level KD then costs one Python-driven search per
utterance. :class:`BatchedBeamSearch` runs the same search for a whole batch of
utterances: every step makes one incremental decoder call on ``B*K`` rows (the
decoder's layer caches kept per row), one batched CTC prefix-scoring call
(:mod:`espnet_kd.nbest.ctc_prefix`) when ``ctc_weight > 0``, and one top-k per
utterance over its ``K × V`` candidates.

It follows ``espnet.nets.batch_beam_search.BatchBeamSearch`` step for step, so
that its hypotheses and scores agree with ``espnet2.bin.asr_inference``:

* score = (1 - ctc_weight) · decoder + ctc_weight · CTC prefix + penalty · length;
* with CTC, only the ``int(pre_beam_ratio · K)`` best tokens of the weighted
  decoder score are CTC-scored (``<eos>`` always is);
* a candidate ending in ``<eos>`` leaves the beam (the beam then shrinks for a
  step, as in ESPnet); it is kept if at least ``minlen`` steps were made;
* ``maxlenratio == 0``: the search of an utterance stops at ESPnet's end
  detection (``M`` = 3 ended lengths ``D_end`` = -10 below the best), otherwise
  after ``maxlen`` steps (``int(maxlenratio · T)``, or ``-maxlenratio`` if
  negative), where every running hypothesis is closed without ``<eos>`` and
  reported as not ended (``Hypothesis.ended``).

Slots of a hypothesis that left the beam stay in the batch with score ``-inf``;
an utterance whose search is over leaves the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch

from espnet_kd.nbest.ctc_prefix import BatchedCTCPrefixScorer
from espnet_kd.nbest.incremental_decoder import build_step_decoder

# ESPnet's end detection (espnet.nets.e2e_asr_common.end_detect): stop when, for
# each of the last M ended lengths, the best hypothesis of that length scores
# below the best ended hypothesis by more than -D_END.
END_DETECT_M = 3
END_DETECT_D = math.log(math.exp(-10))


class BeamSearchError(ValueError):
    """The model or the options cannot be searched with this engine."""


@dataclass(frozen=True)
class BeamSearchOptions:
    """Options with ESPnet's names and meanings (``espnet2.bin.asr_inference``).

    ``maxlenratio``: 0 stops at end detection (with at most ``T`` steps), a
    positive value allows ``max(1, int(maxlenratio · T))`` steps, a negative one
    ``-maxlenratio`` steps; ``minlenratio`` likewise sets the fewest steps
    before an ``<eos>`` is accepted.
    """

    beam_size: int = 10
    nbest: int = 1
    ctc_weight: float = 0.0
    penalty: float = 0.0
    maxlenratio: float = 0.0
    minlenratio: float = 0.0
    pre_beam_ratio: float = 1.5
    normalize_length: bool = False
    end_detect_m: int = END_DETECT_M
    end_detect_d: float = END_DETECT_D

    def check(self, vocab_size: int) -> None:
        """Raise :class:`BeamSearchError` on options the search cannot take."""
        if self.beam_size < 1:
            raise BeamSearchError(f"beam_size must be >= 1, got {self.beam_size}")
        if not 1 <= self.nbest <= self.beam_size:
            raise BeamSearchError(
                f"nbest must be between 1 and beam_size ({self.beam_size}), got {self.nbest}"
            )
        if not 0.0 <= self.ctc_weight <= 1.0:
            raise BeamSearchError(f"ctc_weight must be in [0, 1], got {self.ctc_weight}")
        if self.beam_size >= vocab_size:
            raise BeamSearchError(
                f"beam_size {self.beam_size} must be smaller than the vocabulary ({vocab_size})"
            )

    def max_steps(self, num_frames: int) -> int:
        """The most output steps for an input of ``num_frames`` encoder frames."""
        if self.maxlenratio == 0:
            return num_frames
        if self.maxlenratio < 0:
            return int(-self.maxlenratio)
        return max(1, int(self.maxlenratio * num_frames))

    def min_steps(self, num_frames: int) -> int:
        """The fewest output steps before ``<eos>`` may end a hypothesis."""
        if self.minlenratio < 0:
            return int(-self.minlenratio)
        return int(self.minlenratio * num_frames)


@dataclass
class Hypothesis:
    """One finished hypothesis: tokens without ``<sos>``/``<eos>``, and its scores.

    ``token_logp`` holds the decoder's log-prob of each token, ``eos_logp`` that
    of the closing ``<eos>`` (``None`` when the search stopped at its length
    limit before one: then ``ended`` is False). ``scores`` has the unweighted
    score of each scorer in use (``decoder``, ``ctc``, ``length_bonus``);
    ``score`` is their weighted sum, what the beam ranked by.
    """

    token_ids: List[int]
    score: float
    scores: Dict[str, float]
    token_logp: List[float]
    eos_logp: Optional[float]
    ended: bool = True
    # tokens in ESPnet's yseq (<sos>, tokens, <eos>), for end detection
    yseq_length: int = field(default=0, repr=False)

    @property
    def logp(self) -> float:
        """The decoder's log-prob of the whole output, ``<eos>`` included when there is one."""
        return float(sum(self.token_logp) + (self.eos_logp or 0.0))


def end_detected(ended: Sequence[Hypothesis], step: int, m: int, d_end: float) -> bool:
    """ESPnet's end detection after output step ``step`` (Watanabe et al. 2017, eq. 50)."""
    if not ended:
        return False
    best = max(hyp.score for hyp in ended)
    count = 0
    for back in range(m):
        same_length = [hyp.score for hyp in ended if hyp.yseq_length == step - back]
        if same_length and max(same_length) - best < d_end:
            count += 1
    return count == m


def check_decoder(decoder: torch.nn.Module) -> None:
    """Raise :class:`BeamSearchError` unless the decoder takes incremental batched steps."""
    if not hasattr(decoder, "forward_one_step") or not hasattr(decoder, "decoders"):
        raise BeamSearchError(
            f"decoder {type(decoder).__name__} is not supported by the batched engine: it "
            "needs ESPnet's Transformer-style forward_one_step(tgt, tgt_mask, memory, "
            "memory_mask, cache=...); decode this model with espnet2.bin.asr_inference"
        )


class BatchedBeamSearch:
    """Hybrid CTC/attention beam search over a batch of encoded utterances."""

    def __init__(
        self,
        decoder: torch.nn.Module,
        ctc: Optional[torch.nn.Module],
        sos: int,
        eos: int,
        vocab_size: int,
        options: BeamSearchOptions,
        blank: int = 0,
    ) -> None:
        check_decoder(decoder)
        options.check(vocab_size)
        if options.ctc_weight > 0 and ctc is None:
            raise BeamSearchError(
                f"ctc_weight={options.ctc_weight} but the model has no CTC branch; "
                "set ctc_weight to 0"
            )
        self.decoder = decoder
        self.ctc = ctc if options.ctc_weight > 0 else None
        self.sos = sos
        self.eos = eos
        self.blank = blank
        self.vocab_size = vocab_size
        self.options = options
        self.decoder_weight = 1.0 - options.ctc_weight
        pre_beam = int(options.pre_beam_ratio * options.beam_size)
        self.pre_beam_size = (
            pre_beam
            if self.ctc is not None and options.ctc_weight < 1.0 and pre_beam < vocab_size
            else None
        )

    @torch.no_grad()
    def __call__(
        self, memory: torch.Tensor, memory_lengths: torch.Tensor
    ) -> List[List[Hypothesis]]:
        """Search every utterance of the batch.

        ``memory`` is the encoder output ``(B, T, D)``, padded after each
        utterance's ``memory_lengths`` frames. Returns, per utterance, its
        ``nbest`` best hypotheses (fewer if fewer ended; none if none did).
        """
        options = self.options
        beam = options.beam_size
        vocab = self.vocab_size
        device = memory.device
        lengths = [int(length) for length in memory_lengths]
        max_steps = [options.max_steps(length) for length in lengths]
        min_steps = [options.min_steps(length) for length in lengths]
        ended: List[List[Hypothesis]] = [[] for _ in lengths]

        active = list(range(len(lengths)))  # original indices of the utterances still searched
        rows = len(active) * beam
        step_decoder = build_step_decoder(self.decoder, beam)
        step_decoder.start(memory, memory_lengths)
        ctc_scorer = None
        if self.ctc is not None:
            ctc_scorer = BatchedCTCPrefixScorer(
                self.ctc.log_softmax(memory), memory_lengths, beam, self.blank, self.eos
            )
            ctc_state = ctc_scorer.initial_state()

        yseq = torch.full((rows, 1), self.sos, dtype=torch.long, device=device)
        score = torch.full((rows,), -math.inf, device=device)
        score[::beam] = 0.0  # one running hypothesis (<sos>) per utterance at first
        decoder_score = torch.zeros(rows, device=device)
        ctc_score = torch.zeros(rows, device=device)
        token_logp = torch.zeros((rows, 0), device=device)

        for step in range(max(max_steps)):
            num_rows = len(active) * beam
            decoder_logp = step_decoder.step(yseq)
            weighted = torch.zeros((num_rows, vocab), dtype=decoder_logp.dtype, device=device)
            weighted += self.decoder_weight * decoder_logp
            if options.penalty != 0:
                weighted += options.penalty
            if ctc_scorer is not None:
                scoring_ids = (
                    torch.topk(weighted, self.pre_beam_size, dim=-1)[1]
                    if self.pre_beam_size is not None
                    else None
                )
                ctc_increment, ctc_candidates = ctc_scorer.score(
                    ctc_state, yseq[:, -1], step, scoring_ids
                )
                weighted += options.ctc_weight * ctc_increment
            weighted += score.unsqueeze(1)

            # the beam's K best (previous slot, token) pairs per utterance
            best_score, best_index = weighted.view(len(active), beam * vocab).topk(beam, dim=1)
            prev_slot = torch.div(best_index, vocab, rounding_mode="floor")
            new_token = (best_index % vocab).view(-1)
            source_rows = (
                torch.arange(len(active), device=device).unsqueeze(1) * beam + prev_slot
            ).view(-1)
            chosen_logp = decoder_logp[source_rows, new_token]
            yseq = torch.cat((yseq[source_rows], new_token.unsqueeze(1)), dim=1)
            score = best_score.view(-1).clone()
            decoder_score = decoder_score[source_rows] + chosen_logp
            token_logp = torch.cat((token_logp[source_rows], chosen_logp.unsqueeze(1)), dim=1)
            step_decoder.reorder(source_rows)
            if ctc_scorer is not None:
                ctc_score = ctc_score[source_rows] + ctc_increment[source_rows, new_token]
                ctc_state = ctc_scorer.select(ctc_candidates, source_rows, new_token)

            keep_utts = self._close_hypotheses(
                step, active, yseq, score, decoder_score, ctc_score, token_logp,
                max_steps, min_steps, ended,
            )
            if len(keep_utts) < len(active):
                if not keep_utts:
                    break
                keep = torch.tensor(keep_utts, dtype=torch.long, device=device)
                keep_rows = (keep.unsqueeze(1) * beam + torch.arange(beam, device=device)).view(-1)
                active = [active[index] for index in keep_utts]
                yseq, score = yseq[keep_rows], score[keep_rows]
                decoder_score, ctc_score = decoder_score[keep_rows], ctc_score[keep_rows]
                token_logp = token_logp[keep_rows]
                step_decoder.keep_utterances(keep, keep_rows)
                if ctc_scorer is not None:
                    ctc_state = ctc_scorer.keep_utterances(keep, ctc_state)

        return [self._nbest(hyps) for hyps in ended]

    def _close_hypotheses(
        self,
        step: int,
        active: List[int],
        yseq: torch.Tensor,
        score: torch.Tensor,
        decoder_score: torch.Tensor,
        ctc_score: torch.Tensor,
        token_logp: torch.Tensor,
        max_steps: List[int],
        min_steps: List[int],
        ended: List[List[Hypothesis]],
    ) -> List[int]:
        """Move hypotheses that ended at ``step`` out of the beam (their slot's score
        becomes ``-inf``); return the batch positions of the utterances still searched."""
        beam = self.options.beam_size
        is_eos = (yseq[:, -1] == self.eos).tolist()
        alive = torch.isfinite(score).tolist()
        keep_utts: List[int] = []
        scores_host = score.tolist()
        for position, utt in enumerate(active):
            at_limit = step == max_steps[utt] - 1
            closing = [
                slot
                for slot in range(beam)
                if alive[position * beam + slot] and (is_eos[position * beam + slot] or at_limit)
            ]
            for slot in closing:
                row = position * beam + slot
                if step >= min_steps[utt]:
                    ended[utt].append(
                        self._hypothesis(
                            row, scores_host[row], bool(is_eos[row]), yseq, decoder_score,
                            ctc_score, token_logp,
                        )
                    )
                score[row] = -math.inf
            still_running = sum(alive[position * beam: (position + 1) * beam]) > len(closing)
            done = at_limit or not still_running or (
                self.options.maxlenratio == 0
                and end_detected(
                    ended[utt], step, self.options.end_detect_m, self.options.end_detect_d
                )
            )
            if not done:
                keep_utts.append(position)
        return keep_utts

    def _hypothesis(
        self,
        row: int,
        total: float,
        natural_end: bool,
        yseq: torch.Tensor,
        decoder_score: torch.Tensor,
        ctc_score: torch.Tensor,
        token_logp: torch.Tensor,
    ) -> Hypothesis:
        """The finished hypothesis in ``row`` (``natural_end``: its last token is ``<eos>``)."""
        tokens = yseq[row, 1:].tolist()
        logps = token_logp[row].tolist()
        eos_logp = None
        if natural_end:
            tokens, eos_logp, logps = tokens[:-1], logps[-1], logps[:-1]
        scores = {"decoder": float(decoder_score[row])}
        if self.ctc is not None:
            scores["ctc"] = float(ctc_score[row])
        if self.options.penalty != 0:
            scores["length_bonus"] = float(yseq.shape[1] - 1)
        # like espnet2.bin.asr_inference, drop the blank (id 0) from the output
        kept = [index for index, token in enumerate(tokens) if token != self.blank]
        return Hypothesis(
            token_ids=[tokens[index] for index in kept],
            score=float(total),
            scores=scores,
            token_logp=[logps[index] for index in kept],
            eos_logp=eos_logp,
            ended=natural_end,
            # ESPnet's yseq: <sos> + tokens (+ <eos>, appended at the limit when missing)
            yseq_length=yseq.shape[1] + (0 if natural_end else 1),
        )

    def _nbest(self, hyps: List[Hypothesis]) -> List[Hypothesis]:
        """The ``nbest`` best of an utterance's ended hypotheses, best first."""
        if self.options.normalize_length:
            ranked = sorted(hyps, key=lambda hyp: hyp.score / (hyp.yseq_length - 1), reverse=True)
        else:
            ranked = sorted(hyps, key=lambda hyp: hyp.score, reverse=True)
        return ranked[: self.options.nbest]

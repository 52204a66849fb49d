"""The batched CTC prefix scorer against prefix probabilities summed by hand over every alignment,
including prefixes as long as the utterance has frames (maxlenratio > 1)."""

from __future__ import annotations

import itertools
import math
from typing import Sequence, Tuple

import pytest
import torch

from espnet_kd.nbest.ctc_prefix import LOG_ZERO, BatchedCTCPrefixScorer

BLANK, EOS, VOCAB, FRAMES = 0, 4, 5, 3


def collapse(path: Sequence[int]) -> Tuple[int, ...]:
    """CTC's many-to-one map: merge repeats, then drop blanks."""
    merged = [token for i, token in enumerate(path) if i == 0 or token != path[i - 1]]
    return tuple(token for token in merged if token != BLANK)


def brute_force(frame_logp: torch.Tensor, prefix: Tuple[int, ...], whole: bool) -> float:
    """log of the total probability of the alignments (over tokens 0..3, no <eos> frames) whose labelling
    starts with ``prefix`` (``whole``: equals it)."""
    total = 0.0
    for path in itertools.product(range(EOS), repeat=FRAMES):
        labels = collapse(path)
        if (labels == prefix) if whole else (labels[:len(prefix)] == prefix):
            total += math.exp(sum(float(frame_logp[t, token]) for t, token in enumerate(path)))
    return math.log(total) if total > 0 else -math.inf


def test_prefix_scores_equal_the_sum_over_alignments_and_stop_at_the_frame_count():
    torch.manual_seed(0)
    logits = torch.randn(FRAMES, VOCAB)
    logits[:, EOS] = -1e4                       # CTC never emits <eos>
    frame_logp = torch.log_softmax(logits, dim=-1)
    scorer = BatchedCTCPrefixScorer(frame_logp.unsqueeze(0), torch.tensor([FRAMES]), slots_per_utt=1,
                                    blank=BLANK, eos=EOS)
    state = scorer.initial_state()
    prefix: Tuple[int, ...] = ()
    last = EOS                                  # <sos> is <eos>'s id
    for step, token in enumerate([1, 2, 1, 3, 2]):   # prefixes of 0, 1, 2, 3 (= FRAMES), 4 and 5 tokens
        increments, candidates = scorer.score(state, torch.tensor([last]), output_length=step)
        prefix_logp = candidates.prefix_logp[0]
        for candidate in (1, 2, 3):
            expected = brute_force(frame_logp, prefix + (candidate,), whole=False)
            if expected == -math.inf:           # more tokens than frames: CTC gives them no probability
                assert float(prefix_logp[candidate]) <= LOG_ZERO / 2, (prefix, candidate)
            else:
                assert float(prefix_logp[candidate]) == pytest.approx(expected, abs=1e-4), (prefix, candidate)
        whole = brute_force(frame_logp, prefix, whole=True)
        if whole == -math.inf:
            assert float(prefix_logp[EOS]) <= LOG_ZERO / 2
        else:
            assert float(prefix_logp[EOS]) == pytest.approx(whole, abs=1e-4), prefix
        state = scorer.select(candidates, torch.tensor([0]), torch.tensor([token]))
        prefix, last = prefix + (token,), token
    assert len(prefix) > FRAMES   # the last scores were of a prefix longer than the utterance

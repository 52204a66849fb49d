"""Seed summaries and the paired bootstrap, against jiwer, sacrebleu, numpy and hand-computed cases."""

from __future__ import annotations

import statistics

import jiwer
import numpy as np
import pytest
import sacrebleu

from espnet_kd.utils.kaldi_dir import DataDirError
from espnet_kd.utils.significance import (
    bleu_from_statistics_fn,
    bleu_statistics,
    paired_bootstrap,
    seed_summary,
    wer_from_statistics,
    wer_statistics,
)

REFS = {"u1": "a b c d", "u2": "e f g", "u3": "h i", "u4": "j k l m n"}
HYPS = {"u1": "a x c d", "u2": "", "u3": "h i i", "u4": "j k l m n"}


def test_wer_statistics_sum_to_jiwer_corpus_wer():
    utts, stats = wer_statistics(REFS, HYPS)
    assert utts == ["u1", "u2", "u3", "u4"]
    assert stats.tolist() == [[1, 4], [3, 3], [1, 2], [0, 5]]
    oracle = 100 * jiwer.wer([REFS[u] for u in utts], [HYPS[u] for u in utts])
    assert wer_from_statistics(stats.sum(axis=0)) == pytest.approx(oracle)


def test_bleu_statistics_sum_to_sacrebleu_corpus_bleu():
    refs = {"a": "the cat sat on the mat", "b": "a dog runs in the park today", "c": "hello there"}
    hyps = {"a": "the cat sat on a mat", "b": "a dog runs in a park", "c": "hello there"}
    utts, stats = bleu_statistics(refs, hyps)
    oracle = sacrebleu.corpus_bleu([hyps[u] for u in utts], [[refs[u] for u in utts]]).score
    assert bleu_from_statistics_fn()(stats.sum(axis=0)) == pytest.approx(oracle)


def test_missing_hypothesis_is_a_clear_error():
    with pytest.raises(DataDirError, match="no hypothesis"):
        wer_statistics(REFS, {"u1": "a b c d"})


def test_seed_summary_mean_and_sample_sd():
    per_seed = [np.array([[1, 10], [1, 10]]), np.array([[3, 10], [1, 10]]), np.array([[0, 10], [0, 10]])]
    summary = seed_summary(per_seed, wer_from_statistics)
    assert summary.scores == pytest.approx([10.0, 20.0, 0.0])
    assert summary.mean == pytest.approx(10.0)
    assert summary.sd == pytest.approx(statistics.stdev([10.0, 20.0, 0.0]))
    assert summary.format() == "10.00 ± 10.00"
    assert seed_summary(per_seed[:1], wer_from_statistics).sd is None


def test_identical_systems_give_a_zero_unresolved_difference():
    stats = [np.array([[1, 4], [0, 3], [2, 5]], dtype=float)]
    result = paired_bootstrap(stats, stats, wer_from_statistics)
    assert (result.delta, result.low, result.high) == (0.0, 0.0, 0.0)
    assert not result.resolved


def test_a_consistent_gain_is_resolved_and_pooled_over_seeds():
    rng = np.random.default_rng(1)
    words = rng.integers(5, 12, size=200).astype(float)
    baseline = [np.stack([np.round(0.3 * words), words], axis=1)]                  # 30 % WER, 1 seed
    system = [np.stack([np.round(0.1 * words), words], axis=1),                    # two seeds, ≈10 % and ≈20 %
              np.stack([np.round(0.2 * words), words], axis=1)]
    result = paired_bootstrap(system, baseline, wer_from_statistics, n_resamples=500)
    pooled_system = 100 * (system[0][:, 0].sum() + system[1][:, 0].sum()) / (2 * words.sum())
    assert result.delta == pytest.approx(pooled_system - 100 * baseline[0][:, 0].sum() / words.sum())
    assert result.low <= result.delta <= result.high < 0
    assert result.resolved and "resolved" in result.format()


def test_a_difference_on_one_utterance_in_fifty_is_unresolved():
    words = np.full(50, 10.0)
    baseline = np.stack([np.full(50, 2.0), words], axis=1)
    system = baseline.copy()
    system[7, 0] = 0.0
    result = paired_bootstrap([system], [baseline], wer_from_statistics, n_resamples=500)
    assert result.delta == pytest.approx(-0.4)
    assert result.low < 0 <= result.high
    assert not result.resolved and result.format().endswith("unresolved")


def test_interval_agrees_with_an_independent_numpy_bootstrap():
    rng = np.random.default_rng(3)
    words = rng.integers(3, 15, size=150).astype(float)
    system = np.stack([rng.binomial(words.astype(int), 0.15), words], axis=1).astype(float)
    baseline = np.stack([rng.binomial(words.astype(int), 0.2), words], axis=1).astype(float)
    result = paired_bootstrap([system], [baseline], wer_from_statistics, n_resamples=4000, seed=5)
    draws = np.random.default_rng(11).integers(0, len(words), size=(4000, len(words)))
    deltas = (100 * system[draws, 0].sum(1) / words[draws].sum(1)
              - 100 * baseline[draws, 0].sum(1) / words[draws].sum(1))
    low, high = np.percentile(deltas, [2.5, 97.5])
    assert result.low == pytest.approx(low, abs=0.35) and result.high == pytest.approx(high, abs=0.35)


def test_relative_difference_is_a_percentage_of_the_baseline():
    words = np.full(40, 10.0)
    teacher = np.stack([np.full(40, 1.0), words], axis=1)   # 10 % WER
    student = np.stack([np.full(40, 1.5), words], axis=1)   # 15 % WER
    result = paired_bootstrap([student], [teacher], wer_from_statistics, relative=True, n_resamples=200)
    assert result.delta == pytest.approx(50.0)


def test_systems_scored_on_different_sets_are_refused():
    with pytest.raises(DataDirError, match="different test sets"):
        paired_bootstrap([np.ones((3, 2))], [np.ones((4, 2))], wer_from_statistics)

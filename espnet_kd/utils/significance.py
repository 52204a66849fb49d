"""Seed statistics and paired bootstrap intervals for results tables.

A method's score over seeds is reported as mean ± sample standard deviation of
the per-seed corpus scores. A difference between a method and the baseline is
reported with a 95 % confidence interval from a **paired bootstrap over test
utterances, pooled over seeds** (Koehn 2004's paired resampling, extended to
several seeds): every resample draws the test utterances with replacement once,
and both systems are scored on that same draw, each with the sufficient
statistics of all its seeds summed (so a system's pooled score is its corpus
score over the concatenation of its seeds' outputs). The resampling is
``scipy.stats.bootstrap`` (``paired=True``, percentile intervals); per-utterance
statistics come from jiwer (word errors, reference words) and sacrebleu (BLEU's
n-gram matches and lengths), whose own formulas turn summed statistics into a
score.

The interval covers the test set's sampling variation with the seeds' outputs
pooled; the seed-to-seed spread is the ``sd`` beside it. A difference is called
*resolved* only when its interval excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

import jiwer
import numpy as np
import sacrebleu
from scipy import stats as scipy_stats

from espnet_kd.utils.kaldi_dir import DataDirError, c_sorted
from espnet_kd.utils.mt_scoring import aligned_pairs, normalize_whitespace, reference_streams
from espnet_kd.utils.nlsyms import strip_nlsyms

# An (utterances, K) array of per-utterance sufficient statistics, and the function that
# turns K summed statistics into a corpus score.
StatsToScore = Callable[[np.ndarray], float]

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


def wer_statistics(references: Mapping[str, str], hypotheses: Mapping[str, str],
                   nlsyms: Sequence[str] = ()) -> Tuple[List[str], np.ndarray]:
    """Utterance ids (C-sorted) and a ``(N, 2)`` array of [word errors, reference words] from jiwer,
    the words of ``nlsyms`` removed from both sides first (as score_wer does); an empty reference's
    hypothesis words are all insertions."""
    refs, hyps = aligned_pairs(references, hypotheses)
    if nlsyms:
        refs, hyps = [strip_nlsyms(ref, nlsyms) for ref in refs], [strip_nlsyms(hyp, nlsyms) for hyp in hyps]
    utts = c_sorted(references)
    rows = []
    for ref, hyp in zip(refs, hyps):
        if not ref.strip():
            rows.append((len(hyp.split()), 0))
            continue
        words = jiwer.process_words(ref, hyp)
        rows.append((words.substitutions + words.deletions + words.insertions, len(ref.split())))
    return utts, np.asarray(rows, dtype=np.float64)


def wer_from_statistics(summed: np.ndarray) -> float:
    """Corpus WER (%) from summed [word errors, reference words]."""
    errors, ref_words = float(summed[0]), float(summed[1])
    if ref_words <= 0:
        raise ValueError("no reference words to score")
    return 100.0 * errors / ref_words


def bleu_metric(tokenize: str = "13a", lowercase: bool = False) -> sacrebleu.BLEU:
    """The sacrebleu BLEU the ST tables use (corpus BLEU, exponential smoothing)."""
    return sacrebleu.BLEU(tokenize=tokenize, lowercase=lowercase)


def bleu_statistics(references: Mapping[str, str], hypotheses: Mapping[str, str],
                    metric: Optional[sacrebleu.BLEU] = None) -> Tuple[List[str], np.ndarray]:
    """Utterance ids (C-sorted) and sacrebleu's per-utterance BLEU statistics, ``(N, 2 + 2·4)``."""
    metric = metric or bleu_metric()
    refs, hyps = aligned_pairs(references, hypotheses)
    utts = c_sorted(references)
    # sacrebleu's own per-sentence sufficient statistics: hyp length, ref length, then the
    # n-gram matches and totals; its corpus score is computed from their sums.
    rows = metric._extract_corpus_statistics(hyps, [refs])  # pylint: disable=protected-access
    return utts, np.asarray(rows, dtype=np.float64)


def multi_reference_bleu_statistics(alternatives: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str],
                                    metric: Optional[sacrebleu.BLEU] = None) -> Tuple[List[str], np.ndarray]:
    """Utterance ids (C-sorted) and sacrebleu's per-utterance BLEU statistics against every alternative
    of each utterance (its reference streams: :func:`espnet_kd.utils.mt_scoring.reference_streams`),
    ``(N, 2 + 2·4)``: the n-gram matches are clipped by the most any alternative holds, the reference
    length is the closest alternative's (sacrebleu's multi-reference rules)."""
    metric = metric or bleu_metric()
    per_utt, hyps = aligned_pairs(alternatives, hypotheses)
    rows = metric._extract_corpus_statistics(hyps, reference_streams(per_utt))  # pylint: disable=protected-access
    return c_sorted(alternatives), np.asarray(rows, dtype=np.float64)


def exact_match_statistics(alternatives: Mapping[str, Sequence[str]],
                           hypotheses: Mapping[str, str]) -> Tuple[List[str], np.ndarray]:
    """Utterance ids (C-sorted) and ``(N, 2)`` statistics [hypothesis equals one of the alternatives
    (whitespace normalised, case-sensitive), 1]; :func:`percent_from_statistics` scores their sums."""
    per_utt, hyps = aligned_pairs(alternatives, hypotheses)
    rows = [[float(normalize_whitespace(hyp) in {normalize_whitespace(alt) for alt in alts}), 1.0]
            for alts, hyp in zip(per_utt, hyps)]
    return c_sorted(alternatives), np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def percent_from_statistics(summed: np.ndarray) -> float:
    """100 × summed [hits, count]: a rate in percent (the exact-match rate)."""
    hits, count = float(summed[0]), float(summed[1])
    if count <= 0:
        raise ValueError("no utterances to score")
    return 100.0 * hits / count


def bleu_from_statistics_fn(metric: Optional[sacrebleu.BLEU] = None) -> StatsToScore:
    """Corpus BLEU from summed sacrebleu statistics, by sacrebleu's own formula."""
    metric = metric or bleu_metric()

    def score(summed: np.ndarray) -> float:
        counts = [int(round(value)) for value in summed]
        return float(metric._compute_score_from_stats(counts).score)  # pylint: disable=protected-access

    return score


@dataclass
class SeedSummary:
    """Per-seed corpus scores of one system, their mean and sample sd (None for one seed)."""

    scores: List[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def sd(self) -> Optional[float]:
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else None

    def format(self, digits: int = 2) -> str:
        sd = self.sd
        return f"{self.mean:.{digits}f}" if sd is None else f"{self.mean:.{digits}f} ± {sd:.{digits}f}"


def seed_summary(per_seed_stats: Sequence[np.ndarray], to_score: StatsToScore) -> SeedSummary:
    """Each seed's corpus score (from its own statistics summed over utterances)."""
    return SeedSummary([to_score(seed_stats.sum(axis=0)) for seed_stats in per_seed_stats])


@dataclass
class PairedDifference:
    """system − baseline on pooled seeds, with its bootstrap interval."""

    delta: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    num_utts: int

    @property
    def resolved(self) -> bool:
        """True when the interval excludes 0."""
        return self.low > 0.0 or self.high < 0.0

    def format(self, digits: int = 2, unit: str = "", verdict: bool = True) -> str:
        text = f"{self.delta:+.{digits}f}{unit} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"
        if verdict:
            text += " resolved" if self.resolved else " unresolved"
        return text


def _stack_seeds(per_seed_stats: Sequence[np.ndarray], what: str) -> np.ndarray:
    """``(seeds, N, K)`` from a list of ``(N, K)`` arrays, checked."""
    if not per_seed_stats:
        raise ValueError(f"{what}: no seeds")
    shapes = {array.shape for array in per_seed_stats}
    if len(shapes) != 1:
        raise DataDirError(f"{what}: seeds were scored on different test sets (shapes {sorted(shapes)})")
    return np.stack(per_seed_stats)


def paired_bootstrap(system_stats: Sequence[np.ndarray], baseline_stats: Sequence[np.ndarray],
                     to_score: StatsToScore, n_resamples: int = DEFAULT_RESAMPLES,
                     confidence: float = DEFAULT_CONFIDENCE, seed: int = 0,
                     relative: bool = False) -> PairedDifference:
    """The pooled score difference system − baseline and its paired-bootstrap interval.

    ``relative``: the difference as a percentage of the baseline's score, 100·(s − b)/b.

    ``system_stats`` and ``baseline_stats`` hold one ``(N, K)`` statistics array per seed,
    rows in the same utterance order (the seed counts may differ). Each system's seeds are
    pooled by summing their statistics per utterance; scipy resamples the utterances,
    the same draw for both systems (``paired=True``).
    """
    system = _stack_seeds(system_stats, "system").sum(axis=0)
    baseline = _stack_seeds(baseline_stats, "baseline").sum(axis=0)
    if system.shape != baseline.shape:
        raise DataDirError(f"system and baseline were scored on different test sets "
                           f"({system.shape[0]} vs {baseline.shape[0]} utterances)")
    num_utts, num_stats = system.shape

    def compare(system_sum: np.ndarray, baseline_sum: np.ndarray) -> float:
        system_score, baseline_score = to_score(system_sum), to_score(baseline_sum)
        if not relative:
            return system_score - baseline_score
        return 100.0 * (system_score - baseline_score) / baseline_score if baseline_score else math.nan

    def difference(*columns: np.ndarray) -> float:
        # columns: the K system statistics then the K baseline statistics, resampled together
        system_sum = np.array([column.sum() for column in columns[:num_stats]])
        baseline_sum = np.array([column.sum() for column in columns[num_stats:]])
        return compare(system_sum, baseline_sum)

    delta = compare(system.sum(axis=0), baseline.sum(axis=0))
    samples = [system[:, k] for k in range(num_stats)] + [baseline[:, k] for k in range(num_stats)]
    if num_utts < 2 or all(np.array_equal(system[:, k], baseline[:, k]) for k in range(num_stats)):
        # identical outputs (or one utterance): every resample gives the same difference
        return PairedDifference(delta, delta, delta, confidence, 0, num_utts)
    result = scipy_stats.bootstrap(
        samples, difference, paired=True, vectorized=False, n_resamples=n_resamples,
        confidence_level=confidence, method="percentile", random_state=np.random.default_rng(seed),
    )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):
        low = high = delta
    return PairedDifference(delta, low, high, confidence, n_resamples, num_utts)

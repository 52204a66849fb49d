"""Sentence-level similarity of a hypothesis to its reference: BLEU, chrF (sacrebleu), WER (jiwer).

- ``bleu``: sacrebleu's smoothed sentence BLEU (``BLEU(effective_order=True)``:
  4-gram, ``exp`` smoothing, 13a tokenisation), 0-100, higher is better; the
  same number as ``sacrebleu.sentence_bleu(hyp, [ref]).score``;
- ``chrf``: sacrebleu's sentence chrF (character 6-grams, beta 2), 0-100,
  higher is better; the same as ``sacrebleu.sentence_chrf``;
- ``wer``: jiwer's word error rate in percent (edit operations over reference
  words; can exceed 100), lower is better.

An empty hypothesis scores 0 BLEU, 0 chrF and 100 % WER.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

import jiwer
from sacrebleu.metrics import BLEU, CHRF

_SENTENCE_BLEU = BLEU(effective_order=True)
_SENTENCE_CHRF = CHRF()


def sentence_bleu(hypothesis: str, reference: str) -> float:
    """Smoothed sentence BLEU (sacrebleu, 0-100) of ``hypothesis`` against ``reference``."""
    return float(_SENTENCE_BLEU.sentence_score(hypothesis, [reference]).score)


def sentence_chrf(hypothesis: str, reference: str) -> float:
    """Sentence chrF (sacrebleu, 0-100) of ``hypothesis`` against ``reference``."""
    return float(_SENTENCE_CHRF.sentence_score(hypothesis, [reference]).score)


def sentence_wer(hypothesis: str, reference: str) -> float:
    """Word error rate in percent (jiwer) of ``hypothesis`` against a non-empty ``reference``."""
    if not reference.strip():
        raise ValueError("WER needs a non-empty reference")
    return 100.0 * float(jiwer.wer(reference, hypothesis))


@dataclass(frozen=True)
class SentenceMetric:
    """A sentence-level metric: its name, its function ``(hyp, ref) -> value`` and its direction."""

    name: str
    compute: Callable[[str, str], float]
    higher_is_better: bool

    def __call__(self, hypothesis: str, reference: str) -> float:
        return self.compute(hypothesis, reference)

    def better(self, value: float, other: float) -> bool:
        """Whether ``value`` is strictly better than ``other``."""
        return value > other if self.higher_is_better else value < other

    def passes(self, value: float, threshold: float) -> bool:
        """Whether ``value`` is at least as good as ``threshold``."""
        return value >= threshold if self.higher_is_better else value <= threshold


METRICS: Dict[str, SentenceMetric] = {
    "bleu": SentenceMetric("bleu", sentence_bleu, higher_is_better=True),
    "chrf": SentenceMetric("chrf", sentence_chrf, higher_is_better=True),
    "wer": SentenceMetric("wer", sentence_wer, higher_is_better=False),
}


def metric_names() -> List[str]:
    """The names of the sentence metrics (``bleu``, ``chrf``, ``wer``)."""
    return list(METRICS)

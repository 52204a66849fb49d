"""Tests for espnet_kd.select.sentence_scores: hand-computed values, and sacrebleu's / jiwer's own."""

from __future__ import annotations

import math

import jiwer
import pytest
import sacrebleu

from espnet_kd.select.sentence_scores import (
    METRICS,
    metric_names,
    sentence_bleu,
    sentence_chrf,
    sentence_wer,
)

REF = "a b c d e f"
HYPS = ["a b c x e f", "a b c d e f g h", "a b c d e", "a b c d e f g", "", "f e d c b a", REF]


def test_bleu_by_hand() -> None:
    # one word short: every n-gram precision is 1, brevity penalty exp(1 - 6/5)
    assert sentence_bleu("a b c d e", REF) == pytest.approx(100 * math.exp(-0.2), rel=1e-9)
    # one word too many: precisions 6/7, 5/6, 4/5, 3/4, no brevity penalty
    assert sentence_bleu("a b c d e f g", REF) == pytest.approx(100 * (3 / 7) ** 0.25, rel=1e-9)
    # two words too many: 6/8, 5/7, 4/6, 3/5
    expected = 100 * (6 / 8 * 5 / 7 * 4 / 6 * 3 / 5) ** 0.25
    assert sentence_bleu("a b c d e f g h", REF) == pytest.approx(expected, rel=1e-9)
    # one substitution: 5/6, 3/5, 1/4 and no 4-gram match, smoothed ('exp') to 1 / (2 * 3)
    expected = 100 * (5 / 6 * 3 / 5 * 1 / 4 * 1 / 6) ** 0.25
    assert sentence_bleu("a b c x e f", REF) == pytest.approx(expected, rel=1e-9)
    assert sentence_bleu(REF, REF) == pytest.approx(100.0)
    assert sentence_bleu("", REF) == 0.0


def test_chrf_by_hand() -> None:
    # whitespace ignored: hyp "abcdefg" vs ref "abcdef"; recall 1 at every order n=1..6,
    # precision (7-n)/(8-n) ... i.e. 6/7, 5/6, 4/5, 3/4, 2/3, 1/2; chrF = 5PR / (4P + R), beta 2
    precision = (6 / 7 + 5 / 6 + 4 / 5 + 3 / 4 + 2 / 3 + 1 / 2) / 6
    expected = 100 * 5 * precision / (4 * precision + 1)
    assert sentence_chrf("a b c d e f g", REF) == pytest.approx(expected, rel=1e-9)
    assert sentence_chrf(REF, REF) == pytest.approx(100.0)


def test_wer_by_hand() -> None:
    assert sentence_wer("a b c x e f", REF) == pytest.approx(100 / 6)
    assert sentence_wer("a b c d e f g h", REF) == pytest.approx(200 / 6)
    assert sentence_wer("", REF) == pytest.approx(100.0)
    assert sentence_wer("x y z a b c d e f", REF) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="non-empty reference"):
        sentence_wer("a", " ")


@pytest.mark.parametrize("hyp", HYPS)
def test_equal_to_sacrebleu_and_jiwer(hyp: str) -> None:
    assert sentence_bleu(hyp, REF) == sacrebleu.sentence_bleu(hyp, [REF]).score
    assert sentence_chrf(hyp, REF) == sacrebleu.sentence_chrf(hyp, [REF]).score
    assert sentence_wer(hyp, REF) == pytest.approx(100 * jiwer.wer(REF, hyp))


def test_metric_directions() -> None:
    assert metric_names() == ["bleu", "chrf", "wer"]
    assert METRICS["bleu"].better(50.0, 40.0) and not METRICS["bleu"].better(40.0, 40.0)
    assert METRICS["wer"].better(10.0, 20.0) and not METRICS["wer"].better(20.0, 10.0)
    assert METRICS["wer"].passes(30.0, 30.0) and not METRICS["wer"].passes(30.1, 30.0)
    assert METRICS["bleu"].passes(30.0, 30.0) and not METRICS["bleu"].passes(29.9, 30.0)

"""Tests for interp:{bleu,chrf,wer} (Seq-Inter) on a hand-written n-best list.

Reference "a b c d e f". By hand (see test_sentence_scores.py):

=====  =================  =========  ==========  ========
rank   hypothesis         WER (%)    BLEU        chrF
=====  =================  =========  ==========  ========
1      a b c d e f g      16.67      80.91       93.26
2      a b c x e f        16.67      37.99       lowest
3      a b c d e          16.67      81.87       75.37
4      a b c d e f g h    33.33      68.04
=====  =================  =========  ==========  ========

WER ties ranks 1-3 → rank 1; BLEU prefers rank 3; chrF prefers rank 1.
A second utterance separates WER from BLEU: reference "a b c d e f",
rank 1 "a b c d e f g h" (WER 33.3, BLEU 68.04), rank 2 "a b c x e f" (WER 16.7, BLEU 37.99).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import jiwer
import pytest
import sacrebleu

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select import Selected, SelectorError, build_selector
from espnet_kd.select.interp import InterpSelector, closest_hypothesis
from espnet_kd.select.sentence_scores import METRICS

REF = "a b c d e f"


def nbest(utt: str, texts: List[str]) -> List[NBestEntry]:
    return [NBestEntry(utt, rank, text, [], -float(rank)) for rank, text in enumerate(texts, 1)]


U1 = nbest("u1", ["a b c d e f g", "a b c x e f", "a b c d e", "a b c d e f g h"])
U2 = nbest("u2", ["a b c d e f g h", "a b c x e f"])


def picked(spec: str, hyps: List[NBestEntry], ref: Optional[str] = REF, **options) -> Tuple:
    selector = build_selector(spec, **options)
    out = selector.select(hyps[0].utt if hyps else "u", hyps, ref)
    return tuple((s.utt, s.rank, s.text, s.origin) for s in out), dict(selector.reasons)


@pytest.mark.parametrize(
    "spec, hyps, rank",
    [
        ("interp:wer", U1, 1),
        ("interp:bleu", U1, 3),
        ("interp:chrf", U1, 1),
        ("interp:wer", U2, 2),
        ("interp:bleu", U2, 1),
    ],
)
def test_hand_worked_choices(spec: str, hyps: List[NBestEntry], rank: int) -> None:
    out, reasons = picked(spec, hyps)
    assert out == ((hyps[0].utt, rank, hyps[rank - 1].text, "hypothesis"),)
    assert reasons == {}


@pytest.mark.parametrize("metric", ["bleu", "chrf", "wer"])
def test_choice_agrees_with_sacrebleu_and_jiwer(metric: str) -> None:
    """The pick is the argmax of the library's own sentence score (first rank on ties)."""
    own = {
        "bleu": lambda hyp: sacrebleu.sentence_bleu(hyp, [REF]).score,
        "chrf": lambda hyp: sacrebleu.sentence_chrf(hyp, [REF]).score,
        "wer": lambda hyp: -jiwer.wer(REF, hyp),
    }[metric]
    for hyps in (U1, U2, list(reversed(U1))):
        values = [own(hyp.text) for hyp in sorted(hyps, key=lambda h: h.rank)]
        best_rank = sorted(hyps, key=lambda h: h.rank)[values.index(max(values))].rank
        assert closest_hypothesis(hyps, REF, METRICS[metric]).rank == best_rank


def test_ties_go_to_the_better_rank_whatever_the_list_order() -> None:
    hyps = [NBestEntry("u", 2, "a b", [], -2.0), NBestEntry("u", 1, "a c", [], -1.0)]
    assert closest_hypothesis(hyps, "a d", METRICS["wer"]).rank == 1


def test_empty_pick_goes_through_empty_policy() -> None:
    hyps = nbest("u", ["", "x y z w v u t"])  # WER 100 vs 100·7/1: the empty one is closer
    out, reasons = picked("interp:wer", hyps, ref="a")
    assert out == (("u", 1, "a", "reference"),)
    assert reasons == {"empty_hypothesis_replaced_by_reference": 1}
    out, reasons = picked("interp:wer", hyps, ref="a", on_empty="drop")
    assert out == () and reasons == {"empty_hypothesis_dropped": 1}


def test_missing_reference_and_no_hypotheses_are_counted() -> None:
    selector = build_selector("interp:bleu")
    assert selector.select("u1", U1, None) == []
    assert selector.select("u3", [], REF) == []
    assert selector.reasons == {"no_reference": 1, "no_hypotheses": 1}


def test_spec_errors_and_describe() -> None:
    for spec in ("interp", "interp:ter"):
        with pytest.raises(SelectorError, match=r"interp needs a metric, one of bleu, chrf, wer"):
            build_selector(spec)
    selector = build_selector("interp:chrf", on_empty="drop")
    assert isinstance(selector, InterpSelector) and selector.needs_reference
    assert selector.describe() == {"method": "interp", "on_empty": "drop", "metric": "chrf"}
    assert selector.select("u2", U2, REF) == [Selected("u2", "a b c d e f g h", "u2", rank=1)]

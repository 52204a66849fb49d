"""Tests for the reference filters (espnet_kd.select.label_filter), with any method.

The conftest n-best (references "one two three", "four five", "six"):
spkA-u1: 1 "one two tree" (WER 33.3), 2 "one two three" (0), 3 "one too three" (33.3);
spkA-u2: 1 "" (empty), 2 "four five"; spkB-u1: 1 "six".
"""

from __future__ import annotations

import pytest

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select import SelectorError, build_selector
from espnet_kd.select.label_filter import FilteredSelector, LabelFilter, rescale_weights
from espnet_kd.select.abs_selector import Selected
from espnet_kd.select.sentence_scores import sentence_bleu

REFS = {"spkA-u1": "one two three", "spkA-u2": "four five", "spkB-u1": "six"}


def run(selector, nbest):
    out = []
    for utt, hyps in nbest.items():
        out += selector.select(utt, hyps, REFS.get(utt))
    return out


def test_wer_filter_replaces_by_reference(nbest) -> None:
    selector = FilteredSelector(build_selector("1best"), LabelFilter(max_wer=30.0))
    out = run(selector, nbest)
    assert [(s.utt, s.text, s.origin) for s in out] == [
        ("spkA-u1", "one two three", "reference"),  # "one two tree": WER 33.3 > 30
        ("spkA-u2", "four five", "reference"),  # empty: the empty policy, not the filter
        ("spkB-u1", "six", "hypothesis"),
    ]
    assert selector.reasons == {
        "filter_wer_replaced_by_reference": 1,
        "empty_hypothesis_replaced_by_reference": 1,
    }


def test_wer_threshold_is_inclusive(nbest) -> None:
    selector = FilteredSelector(build_selector("1best"), LabelFilter(max_wer=100 / 3 + 1e-9))
    assert run(selector, nbest)[0].text == "one two tree"
    assert "filter_wer_replaced_by_reference" not in selector.reasons


def test_topk_each_label_checked_and_weights_rescaled(nbest) -> None:
    inner = build_selector("topk:3", weights="softmax")
    selector = FilteredSelector(inner, LabelFilter(max_wer=10.0, action="drop"))
    out = run(selector, nbest)
    assert [(s.utt, s.text) for s in out] == [
        ("spkA-u1-nb2", "one two three"),
        ("spkA-u2-nb1", "four five"),
        ("spkA-u2-nb2", "four five"),
        ("spkB-u1-nb1", "six"),
    ]
    # the only label left of spkA-u1 takes the whole weight of its utterance
    assert out[0].weight == pytest.approx(1.0)
    assert sum(s.weight for s in out[1:3]) == pytest.approx(1.0)
    assert selector.reasons == {
        "filter_wer_dropped": 2,
        "empty_hypothesis_replaced_by_reference": 1,
    }
    assert selector.reasons is inner.reasons


def test_bleu_filter_with_interp(nbest) -> None:
    # interp:bleu picks "one two three" for spkA-u1 (BLEU 100); "six" vs "six" is 100 too
    threshold = 60.0
    selector = FilteredSelector(build_selector("interp:bleu"), LabelFilter(min_bleu=threshold))
    assert [s.text for s in run(selector, nbest)] == ["one two three", "four five", "six"]
    assert "filter_bleu_replaced_by_reference" not in selector.reasons
    # with 1best, "one two tree" scores below the threshold: by hand, precisions 2/3, 1/2 and
    # 0/1 smoothed to 1/2; no 4-grams in the hypothesis, so effective order 3 → (1/6)^(1/3)
    assert sentence_bleu("one two tree", "one two three") == pytest.approx(100 * (1 / 6) ** (1 / 3))
    selector = FilteredSelector(build_selector("1best"), LabelFilter(min_bleu=threshold, action="drop"))
    assert [s.utt for s in run(selector, nbest)] == ["spkA-u2", "spkB-u1"]
    assert selector.reasons["filter_bleu_dropped"] == 1


def test_no_reference_drops_and_counts() -> None:
    selector = FilteredSelector(build_selector("1best"), LabelFilter(max_wer=10.0))
    assert selector.select("u", [NBestEntry("u", 1, "a", [], 0.0)], None) == []
    assert selector.reasons == {"no_reference": 1}


def test_describe_and_needs_reference() -> None:
    selector = FilteredSelector(build_selector("1best"), LabelFilter(min_bleu=20.0, action="drop"))
    assert selector.needs_reference
    assert selector.describe() == {
        "method": "1best",
        "on_empty": "reference",
        "filter": {"max_wer": None, "min_bleu": 20.0, "action": "drop"},
    }


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_wer": -1.0}, "max_wer must be >= 0"),
        ({"min_bleu": 101.0}, r"min_bleu must be in \[0, 100\]"),
        ({"max_wer": 1.0, "action": "keep"}, "filter action must be one of reference, drop"),
    ],
)
def test_bad_filters(options, message) -> None:
    with pytest.raises(SelectorError, match=message):
        LabelFilter(**options)
    with pytest.raises(SelectorError, match="a filter needs max_wer or min_bleu"):
        FilteredSelector(build_selector("1best"), LabelFilter())


def test_rescale_weights() -> None:
    picks = [Selected("a", "x", "a", weight=0.2), Selected("b", "y", "a", weight=0.6)]
    assert [p.weight for p in rescale_weights(picks, 1.0)] == pytest.approx([0.25, 0.75])
    unweighted = [Selected("a", "x", "a")]
    assert rescale_weights(unweighted, 1.0) == unweighted

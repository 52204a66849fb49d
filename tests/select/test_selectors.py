"""Tests for the selectors (1best, topk:K), the empty-hypothesis policy and the registry."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import pytest

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select import AbsSelector, Selected, SelectorError, build_selector, known_methods
from espnet_kd.select.one_best import OneBestSelector
from espnet_kd.select.registry import (
    accepted_options,
    parse_method_spec,
    register_selector,
    unregister_selector,
)
from espnet_kd.select.topk import TopKSelector, softmax_weights, topk_utt_id

# softmax by hand: exp(-1) / (exp(-1) + exp(-2)) = 1 / (1 + e^-1)
W_A1_NB1 = 1 / (1 + math.exp(-1))  # 0.7310585786
W_A2_NB1 = 1 / (1 + math.exp(-0.5))  # 0.6224593312: scores -3.0 and -3.5


REFERENCES = {"spkA-u1": "one two three", "spkA-u2": "four five", "spkB-u1": "six"}


def run(
    selector: AbsSelector,
    nbest: Dict[str, List[NBestEntry]],
    refs: Optional[Dict[str, str]] = REFERENCES,
) -> List[Selected]:
    """Select over the conftest n-best list (whose references are REFERENCES)."""
    out: List[Selected] = []
    for utt, hyps in nbest.items():
        out += selector.select(utt, hyps, None if refs is None else refs.get(utt))
    return out


def test_conftest_references_match(references) -> None:
    assert references == REFERENCES


def test_one_best_keeps_utt_id_and_replaces_empty_by_reference(nbest) -> None:
    selector = build_selector("1best")
    assert isinstance(selector, OneBestSelector)
    assert run(selector, nbest) == [
        Selected("spkA-u1", "one two tree", "spkA-u1", rank=1, origin="hypothesis"),
        Selected("spkA-u2", "four five", "spkA-u2", rank=1, origin="reference"),
        Selected("spkB-u1", "six", "spkB-u1", rank=1, origin="hypothesis"),
    ]
    assert selector.reasons == {"empty_hypothesis_replaced_by_reference": 1}


def test_one_best_drop_policy(nbest) -> None:
    selector = build_selector("1best", on_empty="drop")
    assert [s.utt for s in run(selector, nbest)] == ["spkA-u1", "spkB-u1"]
    assert selector.reasons == {"empty_hypothesis_dropped": 1}


def test_one_best_without_reference_drops_and_counts(nbest) -> None:
    selector = build_selector("1best")
    assert [s.utt for s in run(selector, nbest, refs=None)] == ["spkA-u1", "spkB-u1"]
    assert selector.reasons == {"empty_hypothesis_dropped_no_reference": 1}


def test_one_best_whitespace_only_hypothesis_is_empty() -> None:
    selector = build_selector("1best")
    out = selector.select("u", [NBestEntry("u", 1, "  ", [], -1.0)], "ref text")
    assert out == [Selected("u", "ref text", "u", rank=1, origin="reference")]


def test_no_hypotheses_is_counted() -> None:
    for spec in ("1best", "topk:2"):
        selector = build_selector(spec)
        assert selector.select("u", [], "ref") == []
        assert selector.reasons == {"no_hypotheses": 1}


def test_topk2_softmax_by_hand(nbest) -> None:
    selector = build_selector("topk:2", weights="softmax")
    out = run(selector, nbest)
    assert [(s.utt, s.text, s.source_utt, s.rank, s.origin) for s in out] == [
        ("spkA-u1-nb1", "one two tree", "spkA-u1", 1, "hypothesis"),
        ("spkA-u1-nb2", "one two three", "spkA-u1", 2, "hypothesis"),
        ("spkA-u2-nb1", "four five", "spkA-u2", 1, "reference"),
        ("spkA-u2-nb2", "four five", "spkA-u2", 2, "hypothesis"),
        ("spkB-u1-nb1", "six", "spkB-u1", 1, "hypothesis"),
    ]
    weights = [s.weight for s in out]
    assert weights == pytest.approx(
        [0.7310585786, 0.2689414214, 0.6224593312, 0.3775406688, 1.0], abs=1e-9
    )
    assert weights[0] == pytest.approx(W_A1_NB1, rel=1e-12)
    assert weights[2] == pytest.approx(W_A2_NB1, rel=1e-12)
    assert selector.reasons == {"empty_hypothesis_replaced_by_reference": 1}


def test_topk2_softmax_temperature(nbest) -> None:
    out = run(build_selector("topk:2", weights="softmax", temperature=2.0), nbest)
    # (-1 - -2) / 2 = 0.5 → 1 / (1 + e^-0.5)
    assert out[0].weight == pytest.approx(1 / (1 + math.exp(-0.5)), rel=1e-12)
    assert out[1].weight == pytest.approx(1 - 1 / (1 + math.exp(-0.5)), rel=1e-12)


def test_topk2_drop_renormalises_over_kept(nbest) -> None:
    selector = build_selector("topk:2", weights="softmax", on_empty="drop")
    out = run(selector, nbest)
    assert [(s.utt, s.weight) for s in out if s.source_utt == "spkA-u2"] == [("spkA-u2-nb2", 1.0)]
    assert selector.reasons == {"empty_hypothesis_dropped": 1}


def test_topk_without_weights(nbest) -> None:
    out = run(build_selector("topk:3"), nbest)
    assert [s.utt for s in out] == [
        "spkA-u1-nb1",
        "spkA-u1-nb2",
        "spkA-u1-nb3",
        "spkA-u2-nb1",
        "spkA-u2-nb2",
        "spkB-u1-nb1",
    ]
    assert all(s.weight is None for s in out)


def test_topk_uses_ranks_not_list_positions() -> None:
    hyps = [
        NBestEntry("u", 2, "b", [], -2.0),
        NBestEntry("u", 1, "a", [], -1.0),
        NBestEntry("u", 3, "c", [], -3.0),
    ]
    out = build_selector("topk:2").select("u", hyps, None)
    assert [(s.utt, s.text) for s in out] == [("u-nb1", "a"), ("u-nb2", "b")]
    assert build_selector("1best").select("u", hyps, None)[0].text == "a"


def test_softmax_weights() -> None:
    assert softmax_weights([0.0, 0.0]) == [0.5, 0.5]
    assert softmax_weights([-1000.0, -1001.0]) == pytest.approx([W_A1_NB1, 1 - W_A1_NB1])
    assert softmax_weights([float("-inf"), float("-inf")]) == [0.5, 0.5]
    assert softmax_weights([-1.0, float("-inf")]) == [1.0, 0.0]
    assert softmax_weights([]) == []
    with pytest.raises(SelectorError, match="temperature must be > 0"):
        softmax_weights([1.0], temperature=0)


def test_topk_utt_id() -> None:
    assert topk_utt_id("spk1-utt7", 3) == "spk1-utt7-nb3"


def test_unknown_method_lists_known_ones() -> None:
    known = r"1best, topk:K, interp:\{bleu,chrf,wer\}, qe:\{logp,backward,combined\}"
    with pytest.raises(SelectorError, match=rf"unknown selection method 'best3'; known methods: {known}"):
        build_selector("best3")
    assert known_methods() == [
        "1best",
        "topk:K",
        "interp:{bleu,chrf,wer}",
        "qe:{logp,backward,combined}",
    ]


@pytest.mark.parametrize(
    "spec, options, message",
    [
        ("topk", {}, r"topk needs a number of hypotheses, e.g. 'topk:4', got 'topk:'"),
        ("topk:x", {}, r"got 'topk:x'"),
        ("topk:0", {}, r"topk:K needs K >= 1, got 0"),
        ("1best:3", {}, r"method 1best takes no argument"),
        (
            "1best",
            {"weights": "softmax"},
            r"method 1best does not take option\(s\) weights; it takes: on_empty",
        ),
        ("topk:2", {"weights": "uniform"}, r"weights must be one of none, softmax"),
        ("topk:2", {"temperature": -1.0}, r"temperature must be > 0"),
        ("topk:2", {"on_empty": "keep"}, r"on_empty must be one of reference, drop"),
        (
            "topk:2",
            {"beam": 3},
            r"does not take option\(s\) beam; it takes: weights, temperature, on_empty",
        ),
    ],
)
def test_bad_specs_and_options(spec: str, options: dict, message: str) -> None:
    with pytest.raises(SelectorError, match=message):
        build_selector(spec, **options)


def test_parse_method_spec() -> None:
    assert parse_method_spec("topk:4") == ("topk", "4")
    assert parse_method_spec("1best") == ("1best", None)
    assert parse_method_spec("qe:comet:large") == ("qe", "comet:large")


def test_registry_is_extensible_with_one_small_class() -> None:
    @register_selector
    class LastSelector(AbsSelector):
        method = "last"
        usage = "last"

        @classmethod
        def from_argument(cls, argument, **options):
            return cls(**options)

        def choose(
            self, utt: str, hyps: Sequence[NBestEntry], reference: Optional[str]
        ) -> List[Selected]:
            worst = max(hyps, key=lambda hyp: hyp.rank)
            return [Selected(utt, worst.text, utt, rank=worst.rank)]

    try:
        selector = build_selector("last", on_empty="drop")
        hyps = [NBestEntry("u", 1, "a", [], 0.0), NBestEntry("u", 2, "b", [], -1.0)]
        assert selector.select("u", hyps, None)[0].text == "b"
        # the shared template: no hypotheses, and an empty pick under on_empty=drop
        assert selector.select("u", [], None) == []
        assert selector.select("u", [NBestEntry("u", 1, "", [], 0.0)], "ref") == []
        assert dict(selector.reasons) == {"no_hypotheses": 1, "empty_hypothesis_dropped": 1}
        assert accepted_options(LastSelector) == ["on_empty"]
        with pytest.raises(SelectorError, match="selection method name 'last' of Other is taken"):
            register_selector(type("Other", (LastSelector,), {}))
    finally:
        unregister_selector(LastSelector)
    with pytest.raises(SelectorError, match="unknown selection method 'last'"):
        build_selector("last")


def test_abs_selector_is_abstract() -> None:
    with pytest.raises(TypeError):
        AbsSelector()  # type: ignore[abstract]


def test_describe() -> None:
    assert build_selector("topk:4", weights="softmax", temperature=0.5).describe() == {
        "method": "topk",
        "on_empty": "reference",
        "k": 4,
        "weights": "softmax",
        "temperature": 0.5,
    }
    assert build_selector("1best", on_empty="drop").describe() == {
        "method": "1best",
        "on_empty": "drop",
    }
    assert isinstance(build_selector(" topk:1 "), TopKSelector)

"""Tests for QE selection without a neural model: qe:logp, qe:combined, the report's correlations.

The n-best list (references from conftest: "one two three", "four five", "six"),
with the teacher's total log-prob and its per-token mean by hand:

- spkA-u1: 1 "one two tree"  3 tokens, -3.0 → -1.0; 2 "one two three" 3 tokens, -2.4 → -0.8;
           3 "one too three" 3 tokens, -3.3 → -1.1
- spkA-u2: 1 ""              0 tokens, -0.5 → -0.5 (divided by 1); 2 "four five" 2 tokens, -1.2 → -0.6
- spkB-u1: 1 "six"           1 token,  -0.2 → -0.2

So qe:logp picks rank 2, rank 1 (empty: replaced by the reference) and rank 1.
Sentence BLEU by hand: 55.03 = 100·(1/6)^(1/3), 100, 34.67 = 100·(1/24)^(1/3), 0, 100, 100.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import pytest

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select import SelectorError, build_selector
from espnet_kd.select.qe import AbsQEScorer, QEError, QEOptions, build_qe_scorer
from espnet_kd.select.qe.combined import CombinedScorer, CombinedWeights, fit_combined_weights
from espnet_kd.select.qe.logp import LogProbScorer, length_normalised_logp
from espnet_kd.select.qe.registry import QE_SCORER_CLASSES
from espnet_kd.select.qe_selector import QESelector
from espnet_kd.select.report import build_select_report, correlation
from espnet_kd.select.runner import SelectionInputError, run_selection
from espnet_kd.utils.kaldi_dir import KaldiDataDir

QE_HYPS = {
    "spkA-u1": [("one two tree", [1, 2, 3], -3.0), ("one two three", [1, 2, 4], -2.4),
                ("one too three", [1, 5, 4], -3.3)],
    "spkA-u2": [("", [], -0.5), ("four five", [6, 7], -1.2)],
    "spkB-u1": [("six", [8], -0.2)],
}
LOGP_BY_HAND = [-1.0, -0.8, -1.1, -0.5, -0.6, -0.2]
BLEU_BY_HAND = [100 * (1 / 6) ** (1 / 3), 100.0, 100 * (1 / 24) ** (1 / 3), 0.0, 100.0, 100.0]


def qe_nbest(logp: bool = True) -> Dict[str, List[NBestEntry]]:
    return {
        utt: [
            NBestEntry(utt, rank, text, tokens, 2 * total, logp=total if logp else None)
            for rank, (text, tokens, total) in enumerate(hyps, start=1)
        ]
        for utt, hyps in QE_HYPS.items()
    }


def all_hyps(nbest: Mapping[str, Sequence[NBestEntry]]) -> List[NBestEntry]:
    return [hyp for hyps in nbest.values() for hyp in hyps]


def test_logp_scorer_by_hand() -> None:
    scorer = build_qe_scorer("logp", QEOptions())
    assert isinstance(scorer, LogProbScorer) and not scorer.needs_source
    assert scorer.score(all_hyps(qe_nbest()), None) == pytest.approx(LOGP_BY_HAND)


def test_logp_fallbacks_and_missing_logp() -> None:
    assert length_normalised_logp(NBestEntry("u", 1, "a b", [1, 2], -9.0, None, [-0.5, -1.5])) == -1.0
    assert length_normalised_logp(NBestEntry("u", 1, "a b", [1, 2], -9.0, scores={"decoder": -4.0})) == -2.0
    stock = NBestEntry("spk1-u7", 3, "a", [1], -9.0, scores={"ctc": -1.0})
    with pytest.raises(QEError, match=r"utt spk1-u7 rank 3 has no teacher log-prob .*nbest_from_espnet"):
        length_normalised_logp(stock)


def test_qe_logp_selection_and_report(source_dir: Path) -> None:
    data = KaldiDataDir.load(source_dir)
    nbest = qe_nbest()
    selector = build_selector("qe:logp")
    result = run_selection(selector, nbest, data)
    assert [(s.utt, s.rank, s.text, s.origin) for s in result.selections] == [
        ("spkA-u1", 2, "one two three", "hypothesis"),
        ("spkA-u2", 1, "four five", "reference"),
        ("spkB-u1", 1, "six", "hypothesis"),
    ]
    assert result.reasons == {"empty_hypothesis_replaced_by_reference": 1}
    scores = selector.hypothesis_scores()
    assert list(scores) == ["logp"]
    assert [scores["logp"][(h.utt, h.rank)] for h in all_hyps(nbest)] == pytest.approx(LOGP_BY_HAND)

    report = build_select_report(
        selector.describe(), data, nbest, result, hypothesis_scores=scores
    )
    assert report["method"] == {"method": "qe", "on_empty": "reference", "qe": {"scorer": "logp"}}
    logp = report["qe"]["correlations"]["logp"]
    assert report["qe"]["against"] == "sentence_bleu"
    assert logp["hypotheses"] == 6 and logp["utterances"] == 3
    assert logp["spearman"] == pytest.approx(spearman_by_hand(LOGP_BY_HAND, BLEU_BY_HAND))
    assert logp["pearson"] == pytest.approx(pearson_by_hand(LOGP_BY_HAND, BLEU_BY_HAND))
    selected = report["scores"]["all_selected"]
    assert selected["mean_sentence_bleu"] == pytest.approx(100.0)
    assert selected["mean_sentence_wer"] == pytest.approx(0.0)
    teacher = report["scores"]["teacher_1best"]
    assert teacher["mean_sentence_bleu"] == pytest.approx((BLEU_BY_HAND[0] + 0 + 100) / 3)
    assert teacher["mean_sentence_wer"] == pytest.approx((100 / 3 + 100 + 0) / 3)


def test_no_references_no_correlation(source_dir: Path) -> None:
    data = KaldiDataDir.load(source_dir)
    selector = build_selector("qe:logp")
    result = run_selection(selector, qe_nbest(), data, reference_name=None)
    # without references an empty pick cannot be replaced: dropped and counted
    assert [s.utt for s in result.selections] == ["spkA-u1", "spkB-u1"]
    assert result.reasons == {"empty_hypothesis_dropped_no_reference": 1}
    report = build_select_report(
        selector.describe(), data, qe_nbest(), result, reference_name=None,
        hypothesis_scores=selector.hypothesis_scores(),
    )
    assert report["qe"] is None and report["scores"] is None and report["wer"] is None
    assert report["references"] is None


def test_qe_ties_go_to_better_rank_and_nan_is_worst(source_dir: Path) -> None:
    nbest = {"spkB-u1": [NBestEntry("spkB-u1", 1, "x", [1], 0.0, logp=float("nan")),
                         NBestEntry("spkB-u1", 2, "y", [1], 0.0, logp=-1.0),
                         NBestEntry("spkB-u1", 3, "z", [1], 0.0, logp=-1.0)]}
    data = KaldiDataDir.load(source_dir)
    result = run_selection(build_selector("qe:logp"), nbest, data, allow_missing=True)
    assert [(s.utt, s.rank) for s in result.selections] == [("spkB-u1", 2)]


def test_qe_spec_errors() -> None:
    with pytest.raises(SelectorError, match="method qe needs a scorer, one of logp, backward, combined"):
        build_selector("qe")
    with pytest.raises(QEError, match="unknown QE scorer 'comet'; known scorers: logp, backward, combined"):
        build_selector("qe:comet")
    with pytest.raises(QEError, match="qe:backward needs the backward .* --qe_backward_config"):
        build_selector("qe:backward")
    with pytest.raises(QEError, match="qe:combined needs its weights"):
        build_selector("qe:combined")
    with pytest.raises(SelectorError, match=r"does not take option\(s\) weights"):
        build_selector("qe:logp", weights="softmax")


# ---- combined ---------------------------------------------------------------------------


class TokenCountScorer(AbsQEScorer):
    """A second, independent feature for the tests: the number of tokens."""

    name = "tokens"

    @classmethod
    def from_options(cls, options: QEOptions) -> "TokenCountScorer":
        return cls()

    def score(self, hyps: Sequence[NBestEntry], sources: Optional[Mapping[str, str]]) -> List[float]:
        return [float(len(hyp.token_int)) for hyp in hyps]


def test_fit_recovers_an_exact_linear_relation() -> None:
    a = [0.0, 1.0, 2.0, 3.0, 5.0]
    b = [1.0, 0.0, 4.0, 2.0, 2.0]
    target = [3 + 2 * x - 0.5 * y for x, y in zip(a, b)]
    weights = fit_combined_weights({"a": a, "b": b}, target, utterances=2)
    assert weights.intercept == pytest.approx(3.0)
    assert weights.weights == pytest.approx({"a": 2.0, "b": -0.5})
    assert weights.r2 == pytest.approx(1.0)
    assert weights.fitted_on == {"hypotheses": 5, "utterances": 2}
    assert weights.combine({"a": [1.0], "b": [2.0]}) == pytest.approx([4.0])


def test_fit_errors() -> None:
    with pytest.raises(QEError, match="needs more than 2 hypotheses with references, got 2"):
        fit_combined_weights({"a": [1.0, 2.0], "b": [0.0, 1.0]}, [1.0, 2.0])
    with pytest.raises(QEError, match="constant or collinear"):
        fit_combined_weights({"a": [1.0, 2.0, 3.0], "b": [2.0, 4.0, 6.0]}, [1.0, 0.0, 2.0])
    with pytest.raises(QEError, match="scorer a gave a non-finite value"):
        fit_combined_weights({"a": [1.0, -math.inf, 3.0]}, [1.0, 0.0, 2.0])


def test_combined_fit_is_least_squares_on_sentence_bleu(
    source_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    # a new scorer is one small class and one registry entry
    monkeypatch.setitem(QE_SCORER_CLASSES, TokenCountScorer.name, TokenCountScorer)
    weights_file = tmp_path / "qe" / "combined.json"
    options = QEOptions(combined_components=("logp", "tokens"), fit_combined=weights_file)
    selector = build_selector("qe:combined", qe_options=options)
    assert isinstance(selector, QESelector)
    scorer = selector.scorer
    assert isinstance(scorer, CombinedScorer) and scorer.weights is None
    data = KaldiDataDir.load(source_dir)
    nbest = qe_nbest()
    result = run_selection(selector, nbest, data)
    fitted = scorer.weights
    # least squares ⇔ the residuals are orthogonal to the intercept and to every feature
    features = np.column_stack([np.ones(6), LOGP_BY_HAND, [3, 3, 3, 0, 2, 1]])
    residual = np.asarray(BLEU_BY_HAND) - features @ [
        fitted.intercept, fitted.weights["logp"], fitted.weights["tokens"]
    ]
    assert features.T @ residual == pytest.approx(np.zeros(3), abs=1e-8)
    assert fitted.fitted_on == {"hypotheses": 6, "utterances": 3}
    values = selector.hypothesis_scores()
    assert sorted(values) == ["combined", "logp", "tokens"]
    predicted = features @ [fitted.intercept, fitted.weights["logp"], fitted.weights["tokens"]]
    assert [values["combined"][(h.utt, h.rank)] for h in all_hyps(nbest)] == pytest.approx(predicted)
    best_of_u1 = int(np.argmax(predicted[:3])) + 1
    assert result.selections[0].rank == best_of_u1
    # saved, and loaded back the same
    saved = json.loads(weights_file.read_text())
    assert saved["components"] == ["logp", "tokens"] and saved["target"] == "sentence_bleu"
    loaded = CombinedWeights.load(weights_file)
    assert loaded.weights == pytest.approx(fitted.weights)
    assert loaded.intercept == pytest.approx(fitted.intercept)


def test_combined_fit_needs_references(source_dir: Path, tmp_path: Path) -> None:
    selector = build_selector("qe:combined", qe_options=QEOptions(
        combined_components=("logp",), fit_combined=tmp_path / "w.json"))
    with pytest.raises(QEError, match="fitting the weights .* needs references"):
        run_selection(selector, qe_nbest(), KaldiDataDir.load(source_dir), reference_name=None)
    assert not (tmp_path / "w.json").exists()


def test_combined_loaded_weights_score_by_hand(source_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    CombinedWeights(["logp"], {"logp": -10.0}, intercept=1.0).save(path)
    selector = build_selector("qe:combined", qe_options=QEOptions(combined_weights=path))
    result = run_selection(selector, qe_nbest(), KaldiDataDir.load(source_dir))
    # a negative weight prefers the least likely hypothesis: 1 + 10·1.1 for "one too three"
    assert result.selections[0].rank == 3
    assert selector.hypothesis_scores()["combined"][("spkA-u1", 3)] == pytest.approx(12.0)


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "is not JSON"),
        ("[1]", "must hold a JSON object"),
        ('{"components": [], "weights": {}, "intercept": 0}', "'components' must be a non-empty"),
        ('{"components": ["logp"], "weights": {"x": 1}, "intercept": 0}', "'weights' must give"),
        ('{"components": ["logp"], "weights": {"logp": "a"}, "intercept": 0}', "finite numbers"),
    ],
)
def test_bad_weights_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "w.json"
    path.write_text(content)
    with pytest.raises(QEError, match=message):
        CombinedWeights.load(path)
    with pytest.raises(QEError, match="not found"):
        CombinedWeights.load(tmp_path / "missing.json")


def test_combined_weights_must_match_components() -> None:
    with pytest.raises(QEError, match=r"the weights are for \['backward'\], the scorers are \['logp'\]"):
        CombinedScorer([LogProbScorer()], CombinedWeights(["backward"], {"backward": 1.0}, 0.0))


def test_backward_needs_the_source_table(source_dir: Path) -> None:
    selector = build_selector("qe:logp")
    selector.needs_source = True  # as qe:backward; the table check comes before any model runs
    with pytest.raises(SelectionInputError, match="needs the source transcript .* --source_text"):
        run_selection(selector, qe_nbest(), KaldiDataDir.load(source_dir))
    with pytest.raises(SelectionInputError, match="no source table 'text.en' .*text, text.it"):
        run_selection(selector, qe_nbest(), KaldiDataDir.load(source_dir), source_name="text.en")


# ---- correlations --------------------------------------------------------------------


def ranks_by_hand(values: Sequence[float]) -> List[float]:
    """1-based ranks, ties given their average rank."""
    order = sorted(values)
    return [order.index(v) + 1 + (order.count(v) - 1) / 2 for v in values]


def pearson_by_hand(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


def spearman_by_hand(xs: Sequence[float], ys: Sequence[float]) -> float:
    return pearson_by_hand(ranks_by_hand(xs), ranks_by_hand(ys))


def test_correlation_small_cases() -> None:
    # ranks (3, 1, 2) vs (3, 2, 1): 1 - 6·2 / (3·8) = 0.5
    assert correlation([-0.8, -1.0, -0.9], [100.0, 55.0, 0.0])["spearman"] == pytest.approx(0.5)
    perfect = correlation([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0])
    assert perfect == {"hypotheses": 4, "spearman": pytest.approx(1.0), "pearson": pytest.approx(1.0)}
    assert correlation([1.0, 2.0], [1.0, 2.0])["spearman"] is None  # too few
    assert correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])["pearson"] is None  # constant

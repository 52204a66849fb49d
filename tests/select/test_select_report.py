"""Tests for espnet_kd.select.report: counts, reasons and WER numbers (checked against jiwer)."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import pytest

from espnet_kd.select import build_selector
from espnet_kd.select.report import build_select_report, corpus_wer, write_select_report
from espnet_kd.select.runner import run_selection
from espnet_kd.utils.kaldi_dir import KaldiDataDir

REFS = ["one two three", "four five", "six"]


def report_for(spec: str, source_dir: Path, nbest, **options) -> dict:
    source = KaldiDataDir.load(source_dir)
    selector = build_selector(spec, **options)
    result = run_selection(selector, nbest, source, allow_missing=True)
    return build_select_report(selector.describe(), source, nbest, result)


def test_corpus_wer_matches_jiwer() -> None:
    hyps = ["one two tree", "", "six"]
    numbers = corpus_wer(REFS, hyps)
    assert numbers["wer"] == pytest.approx(jiwer.wer(REFS, hyps))
    assert numbers["wer"] == pytest.approx(3 / 6)
    assert numbers == {
        "wer": numbers["wer"],
        "utts": 3,
        "ref_words": 6,
        "hits": 3,
        "substitutions": 1,
        "deletions": 2,
        "insertions": 0,
    }
    assert corpus_wer([], []) is None


def test_one_best_report(source_dir: Path, nbest) -> None:
    report = report_for("1best", source_dir, nbest)
    assert report["counts"] == {
        "input_utts": 3,
        "nbest_utts": 3,
        "output_utts": 3,
        "source_utts_kept": 3,
        "kept": 2,
        "replaced_by_reference": 1,
        "dropped_utts": 0,
        "dropped_hypotheses": 0,
    }
    assert report["reasons"] == {"empty_hypothesis_replaced_by_reference": 1}
    teacher = report["wer"]["teacher_1best"]
    selected = report["wer"]["all_selected"]
    assert report["wer"]["selected_1best"] == selected
    assert teacher["wer"] == pytest.approx(jiwer.wer(REFS, ["one two tree", "", "six"]))
    assert teacher["wer"] == pytest.approx(0.5)
    assert selected["wer"] == pytest.approx(jiwer.wer(REFS, ["one two tree", "four five", "six"]))
    assert selected["wer"] == pytest.approx(1 / 6)


def test_topk_report(source_dir: Path, nbest) -> None:
    report = report_for("topk:2", source_dir, nbest, weights="softmax", on_empty="drop")
    assert report["method"] == {
        "method": "topk",
        "on_empty": "drop",
        "k": 2,
        "weights": "softmax",
        "temperature": 1.0,
    }
    assert report["counts"] == {
        "input_utts": 3,
        "nbest_utts": 3,
        "output_utts": 4,
        "source_utts_kept": 3,
        "kept": 4,
        "replaced_by_reference": 0,
        "dropped_utts": 0,
        "dropped_hypotheses": 1,
    }
    assert report["reasons"] == {"empty_hypothesis_dropped": 1}
    refs = ["one two three", "one two three", "four five", "six"]
    hyps = ["one two tree", "one two three", "four five", "six"]
    assert report["wer"]["all_selected"]["wer"] == pytest.approx(jiwer.wer(refs, hyps))
    assert report["wer"]["all_selected"]["wer"] == pytest.approx(1 / 9)
    assert report["wer"]["all_selected"]["utts"] == 4
    # rank 1 of spkA-u2 was empty and dropped: only spkA-u1-nb1 and spkB-u1-nb1 remain
    rank1 = report["wer"]["selected_1best"]
    assert rank1["utts"] == 2
    assert rank1["wer"] == pytest.approx(
        jiwer.wer(["one two three", "six"], ["one two tree", "six"])
    )
    assert rank1["wer"] == pytest.approx(1 / 4)
    assert report["wer"]["teacher_1best"]["wer"] == pytest.approx(0.5)


def test_report_counts_missing_and_dropped_utts(source_dir: Path, nbest) -> None:
    nbest = {utt: hyps for utt, hyps in nbest.items() if utt != "spkB-u1"}
    report = report_for("1best", source_dir, nbest, on_empty="drop")
    assert report["counts"]["input_utts"] == 3
    assert report["counts"]["nbest_utts"] == 2
    assert report["counts"]["output_utts"] == 1
    assert report["counts"]["dropped_utts"] == 2
    assert report["reasons"] == {"empty_hypothesis_dropped": 1, "no_nbest_entry": 1}
    assert report["missing_utts"] == ["spkB-u1"]
    teacher = report["wer"]["teacher_1best"]
    assert teacher["utts"] == 2
    assert teacher["wer"] == pytest.approx(jiwer.wer(REFS[:2], ["one two tree", ""]))


def test_write_select_report(tmp_path: Path, source_dir: Path, nbest) -> None:
    report = report_for("1best", source_dir, nbest)
    write_select_report(tmp_path / "r.json", report)
    assert json.loads((tmp_path / "r.json").read_text()) == report


def test_no_references_no_wer(nbest) -> None:
    from espnet_kd.select.report import selection_wer
    from espnet_kd.select.runner import SelectionResult

    assert selection_wer(nbest, SelectionResult(selections=[], missing_utts=[]), {}) is None

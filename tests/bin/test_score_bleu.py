"""Corpus BLEU / chrF (espnet_kd.utils.mt_scoring, espnet_kd.bin.score_bleu) on hand-made examples."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import sacrebleu

from espnet_kd.utils.kaldi_dir import DataDirError, write_table
from espnet_kd.utils.mt_scoring import corpus_translation_score

REFS = {
    "u2": "il gatto nero dorme sul divano",
    "u1": "the cat sat on the mat",
    "u3": "Luca ha tre mele, Giulia ne ha due.",
}
HYPS = {
    "u1": "the cat sat on a mat",
    "u3": "luca ha tre mele giulia ne ha due",
    "u2": "il cane nero dorme sul divano rosso",
}


def test_bleu_by_hand_on_one_sentence():
    # n-gram matches of "the cat sat on a mat" against "the cat sat on the mat":
    # 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3; equal lengths, so no brevity penalty.
    score = corpus_translation_score({"u1": REFS["u1"]}, {"u1": HYPS["u1"]})
    expected = 100 * math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(2 / 4) + math.log(1 / 3)) / 4)
    assert score.bleu == pytest.approx(expected, abs=1e-6)
    assert score.bleu_precisions == pytest.approx([100 * 5 / 6, 100 * 3 / 5, 50.0, 100 / 3])
    assert score.brevity_penalty == 1.0
    assert (score.hyp_length, score.ref_length) == (6, 6)


def test_corpus_scores_match_sacrebleu_in_utterance_order():
    score = corpus_translation_score(REFS, HYPS)
    order = ["u1", "u2", "u3"]
    hyps, refs = [HYPS[u] for u in order], [[REFS[u] for u in order]]
    assert score.bleu == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score)
    assert score.chrf == pytest.approx(sacrebleu.corpus_chrf(hyps, refs).score)
    assert score.num_utts == 3 and score.empty_hyps == 0
    assert "tok:13a" in score.bleu_signature and "case:mixed" in score.bleu_signature
    assert score.chrf_signature.startswith("nrefs:1|case:mixed")
    # Corpus BLEU is not the mean of sentence BLEUs: the set is scored as a whole.
    mean_sentence = sum(sacrebleu.sentence_bleu(HYPS[u], [REFS[u]]).score for u in order) / 3
    assert score.bleu != pytest.approx(mean_sentence, abs=0.5)


def test_lowercase_and_tokenizer_options_change_the_score():
    cased = corpus_translation_score(REFS, HYPS)
    lower = corpus_translation_score(REFS, HYPS, lowercase=True)
    assert lower.bleu > cased.bleu  # "Luca"/"luca" now match
    assert "case:lc" in lower.bleu_signature
    char = corpus_translation_score(REFS, HYPS, tokenize="char")
    assert "tok:char" in char.bleu_signature and char.bleu != pytest.approx(cased.bleu)
    with pytest.raises(ValueError, match="unknown BLEU tokenizer"):
        corpus_translation_score(REFS, HYPS, tokenize="moses")


def test_identical_and_empty_hypotheses():
    assert corpus_translation_score(REFS, REFS).bleu == pytest.approx(100.0)
    assert corpus_translation_score(REFS, REFS).chrf == pytest.approx(100.0)
    empty = corpus_translation_score(REFS, {u: "" for u in REFS})
    assert empty.bleu == 0.0 and empty.chrf == 0.0 and empty.empty_hyps == 3


def test_mismatched_utterances_are_errors():
    with pytest.raises(DataDirError, match="have no hypothesis.*u3"):
        corpus_translation_score(REFS, {u: h for u, h in HYPS.items() if u != "u3"})
    with pytest.raises(DataDirError, match="not in the reference.*u9"):
        corpus_translation_score(REFS, {**HYPS, "u9": "x"})
    # an empty reference (a MuST-C test segment ESPnet keeps) is scored: tests/bin/test_nlsyms_scoring_tokens.py
    assert corpus_translation_score({**REFS, "u4": " "}, {**HYPS, "u4": "x"}).num_utts == 4


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "espnet_kd.bin.score_bleu", *args],
                          capture_output=True, text=True, check=False)


def test_cli_writes_score_json_and_prints_signature(tmp_path):
    write_table(tmp_path / "ref", REFS)
    write_table(tmp_path / "hyp", {**HYPS, "u2": ""})
    (tmp_path / "hyp").write_text((tmp_path / "hyp").read_text().replace("u2 \n", "u2\n"))
    out = tmp_path / "decode" / "score.json"
    result = run_cli("--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    score = json.loads(out.read_text())
    order = ["u1", "u2", "u3"]
    hyps = [HYPS["u1"], "", HYPS["u3"]]
    assert score["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [[REFS[u] for u in order]]).score)
    assert score["empty_hyps"] == 1
    assert f"BLEU {score['bleu']:.2f}" in result.stdout
    assert "BLEU signature: nrefs:1|case:mixed|eff:no|tok:13a" in result.stdout


def test_cli_missing_hypothesis_is_a_clear_error(tmp_path):
    write_table(tmp_path / "ref", REFS)
    write_table(tmp_path / "hyp", {"u1": HYPS["u1"]})
    out = tmp_path / "score.json"
    result = run_cli("--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"), "--out", str(out))
    assert result.returncode == 1
    assert "ERROR:" in result.stderr and "2 reference utterance(s) have no hypothesis" in result.stderr
    assert not out.exists()

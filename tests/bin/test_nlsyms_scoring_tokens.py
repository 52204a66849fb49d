"""Non-linguistic symbols (data/nlsyms.txt) in scoring and tokens, and empty references (issue 18 item 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sentencepiece as spm

from espnet_kd.bin.make_shapes import make_shapes
from espnet_kd.bin.make_tokens import make_tokens
from espnet_kd.utils.kaldi_dir import DataDirError, read_table, write_table
from espnet_kd.utils.mt_scoring import corpus_translation_score
from espnet_kd.utils.nlsyms import read_nlsyms, split_keeping_symbols, strip_nlsyms
from espnet_kd.utils.scoring import corpus_wer
from espnet_kd.utils.significance import wer_statistics
from espnet_kd.utils.tokens import char_tokens, count_tokens

NLSYMS = ["<NOISE>", "<*IN*>"]


def test_strip_removes_whole_words_only():
    assert strip_nlsyms("<NOISE> THE  CAT <*IN*> SAT <NOISE>", NLSYMS) == "THE CAT SAT"
    # a word that merely contains a symbol stays (ESPnet's word tokenizer compares whole words)
    assert strip_nlsyms("A<NOISE> <NOISE>B", NLSYMS) == "A<NOISE> <NOISE>B"
    assert strip_nlsyms("<NOISE>", NLSYMS) == ""


def test_read_nlsyms_skips_blanks_and_repeats(tmp_path):
    (tmp_path / "nlsyms.txt").write_text("<NOISE>\n\n<*IN*>\n<NOISE>\n")
    assert read_nlsyms(tmp_path / "nlsyms.txt") == ["<NOISE>", "<*IN*>"]
    assert read_nlsyms(None) == []
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_nlsyms(tmp_path / "nope.txt")


def test_char_tokens_keep_each_symbol_whole():
    assert split_keeping_symbols("a<NOISE>b", NLSYMS) == ["a", "<NOISE>", "b"]
    assert char_tokens("HI <NOISE>", NLSYMS) == ["H", "I", "<space>", "<NOISE>"]
    assert char_tokens("HI <NOISE>") == ["H", "I", "<space>", "<", "N", "O", "I", "S", "E", ">"]
    # the longest symbol wins where two start at one position
    assert split_keeping_symbols("<NOISE>S", ["<NOISE>", "<NOISE>S"]) == ["<NOISE>S"]
    assert count_tokens("HI <NOISE>", "char", nlsyms=NLSYMS) == 4 and count_tokens("HI <NOISE>", "char") == 10


def test_wer_strips_symbols_and_scores_an_empty_reference_by_hand():
    refs = {"u1": "<NOISE> THE CAT SAT", "u2": "<NOISE>", "u3": "ON <*IN*> THE MAT"}
    hyps = {"u1": "THE CAT <NOISE> SAT DOWN", "u2": "UH HUH", "u3": "ON A MAT"}
    score = corpus_wer(refs, hyps, NLSYMS)
    # by hand: u1 THE CAT SAT vs THE CAT SAT DOWN: 1 insertion; u2 empty reference: 2 insertions;
    # u3 ON THE MAT vs ON A MAT: 1 substitution. 4 errors over 6 reference words.
    assert (score.substitutions, score.deletions, score.insertions, score.hits) == (1, 0, 3, 5)
    assert score.ref_words == 6 and score.num_utts == 3 and score.empty_refs == 1
    assert score.wer == pytest.approx(100 * 4 / 6)
    # characters: u1 "THE CAT SAT" (11) vs "THE CAT SAT DOWN": 5 insertions; u2 "UH HUH": 6 insertions;
    # u3 "ON THE MAT" (10) vs "ON A MAT": THE → A is 1 substitution + 2 deletions. 14 errors over 21 characters.
    assert score.cer == pytest.approx(100 * 14 / 21)
    # the per-utterance statistics of the results table agree
    utts, stats = wer_statistics(refs, hyps, NLSYMS)
    assert utts == ["u1", "u2", "u3"] and stats.tolist() == [[1, 3], [2, 0], [1, 3]]
    # without the symbols removed, <NOISE> is a word like any other
    plain = corpus_wer({"u1": "<NOISE> A"}, {"u1": "A"})
    assert plain.deletions == 1 and plain.wer == pytest.approx(50.0) and "empty_refs" not in plain.to_dict()


def test_wer_of_only_empty_references_is_an_error():
    with pytest.raises(DataDirError, match="every one of the 2 reference"):
        corpus_wer({"u1": "<NOISE>", "u2": ""}, {"u1": "A", "u2": ""}, NLSYMS)


def test_score_wer_cli_reads_nlsyms_and_an_empty_reference_line(tmp_path):
    (tmp_path / "ref").write_text("u1 <NOISE> A B\nu2\nu3 <NOISE>\n")
    (tmp_path / "hyp").write_text("u1 A C\nu2 X\nu3\n")
    (tmp_path / "nlsyms.txt").write_text("<NOISE>\n")
    result = subprocess.run(
        [sys.executable, "-m", "espnet_kd.bin.score_wer", "--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"),
         "--out", str(tmp_path / "score.json"), "--nlsyms", str(tmp_path / "nlsyms.txt")],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    score = json.loads((tmp_path / "score.json").read_text())
    # u1 A B vs A C: 1 substitution; u2 (empty) vs X: 1 insertion; u3 empty vs empty: nothing. 2 / 2 words.
    assert score["wer"] == pytest.approx(100.0) and score["insertions"] == 1 and score["substitutions"] == 1
    assert score["ref_words"] == 2 and score["empty_refs"] == 2 and score["nlsyms_removed"] == ["<NOISE>"]
    assert "2 empty reference(s)" in result.stdout


def test_bleu_scores_an_empty_reference():
    refs = {"u1": "the cat sat on the mat", "u2": ""}
    full = corpus_translation_score(refs, {"u1": "the cat sat on the mat", "u2": ""})
    assert full.bleu == pytest.approx(100.0) and full.num_utts == 2
    # a hypothesis for the empty reference lengthens the output: 6 of 8 unigrams match
    extra = corpus_translation_score(refs, {"u1": "the cat sat on the mat", "u2": "hello there"})
    assert extra.hyp_length == 8 and extra.ref_length == 6 and extra.bleu_precisions[0] == pytest.approx(75.0)


def test_tokens_keep_symbols_whole_char_and_bpe(tmp_path):
    write_table(tmp_path / "text", {"u1": "<NOISE> AB", "u2": "BA <NOISE> A", "u3": "ABBA"})
    tokens = make_tokens([tmp_path / "text"], tmp_path / "char", "char", 0, nlsyms=["<NOISE>"])
    # A 5, B 4, <space> 3, <NOISE> 2; no '<' or 'N' of its letters
    assert tokens == ["<blank>", "<unk>", "A", "B", "<space>", "<NOISE>", "<sos/eos>"]
    base = tmp_path / "base"
    write_table(base / "text", {"u1": "<NOISE> AB"})
    write_table(base / "utt2num_samples", {"u1": "1600"})
    make_shapes(base, tmp_path / "shapes", tmp_path / "char/tokens.txt", "char", nlsyms=["<NOISE>"])
    assert read_table(tmp_path / "shapes/text_shape.char") == {"u1": "4,7"}   # <NOISE>, <space>, A, B

    texts = {f"u{i}": f"<NOISE> THE CAT SAT ON THE MAT NUMBER {i}" for i in range(30)}
    write_table(tmp_path / "bpe_text", texts)
    make_tokens([tmp_path / "bpe_text"], tmp_path / "bpe", "bpe", 40, nlsyms=["<NOISE>"])
    processor = spm.SentencePieceProcessor(model_file=str(tmp_path / "bpe/bpe.model"))
    pieces = processor.encode("<NOISE> THE CAT", out_type=str)
    assert "<NOISE>" in pieces and "<NOISE>" in (tmp_path / "bpe/tokens.txt").read_text().split()
    make_tokens([tmp_path / "bpe_text"], tmp_path / "bpe_plain", "bpe", 40)
    plain = spm.SentencePieceProcessor(model_file=str(tmp_path / "bpe_plain/bpe.model"))
    assert "<NOISE>" not in plain.encode("<NOISE> THE CAT", out_type=str)

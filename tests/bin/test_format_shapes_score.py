"""format_data, make_shapes, make_tokens, score_wer and the results table, on small hand-made inputs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile

from espnet_kd.bin.format_data import format_data_dir
from espnet_kd.bin.make_shapes import make_shapes
from espnet_kd.bin.make_tokens import make_tokens
from espnet_kd.bin.results_table import ModelRow, format_table
from espnet_kd.methods import method_tag
from espnet_kd.utils.kaldi_dir import DataDirError, read_table, write_table
from espnet_kd.utils.scoring import corpus_wer
from espnet_kd.utils.tokens import read_token_list


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


@pytest.fixture
def mixed_dir(tmp_path):
    """A data dir with a 16 kHz wav (passes through), a 22.05 kHz wav and a pipe entry (converted)."""
    src = tmp_path / "src"
    src.mkdir()
    soundfile.write(src / "a.wav", tone(1.0, 16000), 16000, subtype="PCM_16")
    soundfile.write(src / "b.wav", tone(0.5, 22050), 22050, subtype="PCM_16")
    soundfile.write(src / "c.flac", tone(0.25, 16000), 16000)
    data = tmp_path / "data"
    write_table(data / "wav.scp", {"s1-a": str(src / "a.wav"), "s1-b": str(src / "b.wav"),
                                   "s1-c": f"cat {src / 'c.flac'} |"})
    write_table(data / "text", {"s1-a": "one", "s1-b": "two two", "s1-c": "three"})
    write_table(data / "utt2spk", {"s1-a": "s1", "s1-b": "s1", "s1-c": "s1"})
    return data


def test_format_passes_16k_wav_and_converts_the_rest(mixed_dir, tmp_path, caplog):
    out = tmp_path / "dump"
    with caplog.at_level(logging.INFO):
        lengths = format_data_dir(mixed_dir, out, fs=16000)
    # the pipe entry is read (its rate is unknown until then), found at 16 kHz, and written again
    assert f"{mixed_dir}: resampled 1 of 3 utterances to 16000 Hz (from 22050 Hz: 1); 2 were at 16000 Hz" \
        in caplog.messages
    wav_scp = read_table(out / "wav.scp")
    assert wav_scp["s1-a"] == str((mixed_dir.parent / "src/a.wav").resolve())
    for utt, seconds in (("s1-b", 0.5), ("s1-c", 0.25)):
        info = soundfile.info(wav_scp[utt])
        assert (info.samplerate, info.subtype, info.channels) == (16000, "PCM_16", 1)
        assert info.frames == pytest.approx(seconds * 16000, abs=2)
        assert lengths[utt] == info.frames
    assert read_table(out / "utt2num_samples")["s1-a"] == "16000"
    assert read_table(out / "spk2utt") == {"s1": "s1-a s1-b s1-c"}


def test_format_cuts_segments(tmp_path):
    src = tmp_path / "talk.wav"
    audio = np.concatenate([tone(1.0, 16000), np.zeros(16000, dtype=np.int16)])
    soundfile.write(src, audio, 16000, subtype="PCM_16")
    data = tmp_path / "data"
    write_table(data / "wav.scp", {"talk1": str(src)})
    write_table(data / "segments", {"s1-x": "talk1 0.00 0.50", "s1-y": "talk1 1.25 1.75"})
    write_table(data / "text", {"s1-x": "a", "s1-y": "b"})
    write_table(data / "utt2spk", {"s1-x": "s1", "s1-y": "s1"})
    format_data_dir(data, tmp_path / "out", fs=16000)
    wav_scp = read_table(tmp_path / "out/wav.scp")
    first, _ = soundfile.read(wav_scp["s1-x"], dtype="int16")
    second, _ = soundfile.read(wav_scp["s1-y"], dtype="int16")
    np.testing.assert_array_equal(first, audio[:8000])
    np.testing.assert_array_equal(second, audio[20000:28000])


def test_format_bad_audio_is_a_clear_error_and_writes_nothing(mixed_dir, tmp_path):
    write_table(mixed_dir / "wav.scp", {**read_table(mixed_dir / "wav.scp"), "s1-c": "false |"})
    result = subprocess.run(
        [sys.executable, "-m", "espnet_kd.bin.format_data", "--in_dir", str(mixed_dir), "--out_dir", str(tmp_path / "o")],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "ERROR: command 'false ' failed" in result.stderr
    assert not (tmp_path / "o").exists()


def test_tokens_and_shapes_for_pseudo_labelled_ids(tmp_path):
    base = tmp_path / "base"
    write_table(base / "text", {"s-1": "ab a", "s-2": "b"})
    write_table(base / "utt2num_samples", {"s-1": "16000", "s-2": "8000"})
    tokens = make_tokens([base / "text"], tmp_path / "tok", "char", nbpe=0)
    # a and b occur twice (tie → codepoint order), <space> once
    assert tokens == ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]
    assert read_token_list(tmp_path / "tok/tokens.txt") == tokens
    pseudo = tmp_path / "pseudo"
    write_table(pseudo / "text", {"s-1-nb1": "ab a", "s-1-nb2": "ab", "s-2-nb1": "b"})
    make_shapes(pseudo, tmp_path / "shapes", tmp_path / "tok/tokens.txt", "char", base_data_dir=base)
    assert read_table(tmp_path / "shapes/speech_shape") == {"s-1-nb1": "16000", "s-1-nb2": "16000", "s-2-nb1": "8000"}
    assert read_table(tmp_path / "shapes/text_shape.char") == {"s-1-nb1": "4,6", "s-1-nb2": "2,6", "s-2-nb1": "1,6"}
    write_table(pseudo / "text", {"zz-9-nb1": "a"})
    with pytest.raises(DataDirError, match="no length for 'zz-9-nb1'"):
        make_shapes(pseudo, tmp_path / "shapes2", tmp_path / "tok/tokens.txt", "char", base_data_dir=base)


def test_corpus_wer_matches_jiwer_and_counts_empty_hypotheses():
    refs = {"u1": "the cat sat", "u2": "on the mat", "u3": "two"}
    hyps = {"u1": "the cat sat down", "u2": "", "u3": "too"}
    score = corpus_wer(refs, hyps)
    order = sorted(refs)
    expected = jiwer.process_words([refs[u] for u in order], [hyps[u] for u in order])
    assert score.wer == pytest.approx(100 * expected.wer)
    # by hand: 1 insertion (down), 3 deletions (u2), 1 substitution (too) over 7 words
    assert (score.insertions, score.deletions, score.substitutions, score.ref_words) == (1, 3, 1, 7)
    assert score.wer == pytest.approx(100 * 5 / 7)
    assert score.empty_hyps == 1
    with pytest.raises(DataDirError, match="no hypothesis"):
        corpus_wer(refs, {"u1": "x"})


def test_score_wer_cli_writes_json(tmp_path):
    write_table(tmp_path / "ref", {"u1": "a b c d"})
    (tmp_path / "hyp").write_text("u1 a x c\n")
    result = subprocess.run(
        [sys.executable, "-m", "espnet_kd.bin.score_wer", "--ref", str(tmp_path / "ref"),
         "--hyp", str(tmp_path / "hyp"), "--out", str(tmp_path / "score.json")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    score = json.loads((tmp_path / "score.json").read_text())
    assert score["wer"] == pytest.approx(50.0) and score["num_utts"] == 1


def _wer_stats(errors, words=10):
    """(utterances, 2) statistics: per-utterance errors over 10-word references."""
    return np.array([[e, words] for e in errors], dtype=float)


def test_results_table_rows_ratios_and_deltas():
    sets = ["dev", "test"]
    teacher = ModelRow("teacher", "references", [Path("t")], 4_000_000,
                       {"dev": [_wer_stats([1] * 10)], "test": [_wer_stats([1, 2] * 5)]}, {"dev": 10, "test": 10})
    baseline = ModelRow("baseline", "references", [Path("b")], 400_000,
                        {"dev": [_wer_stats([2] * 10)], "test": [_wer_stats([3] * 10)]}, {"dev": 10, "test": 10})
    # two seeds: test WER 20 % and 30 %
    seqkd = ModelRow("seqkd", "Seq-KD", [Path("s0"), Path("s1")], 400_000,
                     {"dev": [_wer_stats([2] * 10), _wer_stats([1] * 10)],
                      "test": [_wer_stats([2] * 10), _wer_stats([3] * 10)]}, {"dev": 10, "test": 10}, [0, 1])
    table = format_table("T", [teacher, baseline, seqkd], sets, n_resamples=200)
    seqkd_row = next(line for line in table.splitlines() if line.startswith("| seqkd |"))
    cells = [cell.strip() for cell in seqkd_row.strip("|").split("|")]
    assert cells[2:7] == ["0.400 M", "10.0×", "2", "15.00 ± 7.07", "25.00 ± 7.07"]
    # vs teacher (15 %): +66.7 % relative; vs baseline (30 %): -5.00, every utterance better → resolved
    assert cells[7].startswith("+66.7% [")
    assert cells[8].startswith("-5.00 [-5.00, -5.00] resolved")
    assert "## Per seed" in table and "| seqkd | 1 | `s1` | 10.00 | 30.00 |" in table
    assert method_tag("1best") == "seqkd" and method_tag("topk:4") == "topk4"

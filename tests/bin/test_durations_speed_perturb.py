"""The duration filter of training data and speed perturbation (issue 18 items 4 and 8)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile

from espnet_kd.bin.filter_durations import filter_data_dir, split_by_duration
from espnet_kd.bin.speed_perturb import perturb, speed_perturb_dir
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, read_table, write_table

FS = 16000


def write_formatted_dir(path, lengths, texts=None):
    """A formatted dir (16 kHz PCM wav files, utt2num_samples) with utterances of the given lengths."""
    (path / "wav").mkdir(parents=True)
    rng = np.random.default_rng(0)
    wav_scp, utt2spk, num_samples = {}, {}, {}
    for utt, n in lengths.items():
        soundfile.write(path / "wav" / f"{utt}.wav", (rng.standard_normal(n) * 1000).astype(np.int16), FS,
                        subtype="PCM_16")
        wav_scp[utt], utt2spk[utt], num_samples[utt] = str(path / "wav" / f"{utt}.wav"), utt.split("-")[0], str(n)
    KaldiDataDir(wav_scp=wav_scp, utt2spk=utt2spk, texts={"text": texts or {u: "a b" for u in lengths}},
                 extra={"utt2num_samples": num_samples}).write(path, allow_empty_text=True)


def test_bounds_are_espnets_exclusive_sample_counts():
    # ESPnet keeps int(0.1 * fs) < n < int(20 * fs): 1600 and 320000 samples are dropped, 1601 and 319999 kept
    lengths = {"a": 1600, "b": 1601, "c": 319999, "d": 320000, "e": 16000}
    result = split_by_duration(lengths, FS, 0.1, 20)
    assert result.kept == ["b", "c", "e"] and result.too_short == ["a"] and result.too_long == ["d"]
    assert split_by_duration(lengths, FS, 0.0, float("inf")).kept == ["a", "b", "c", "d", "e"]
    with pytest.raises(ValueError, match="min_wav_duration"):
        split_by_duration(lengths, FS, 1.0, 0.5)


def test_filter_rewrites_the_dir_and_logs_what_it_dropped(tmp_path, caplog):
    data_dir = tmp_path / "train"
    write_formatted_dir(data_dir, {"s1-short": 800, "s1-ok": 16000, "s2-long": 20 * FS + 5, "s2-ok": 32000})
    with caplog.at_level("INFO"):
        filter_data_dir(data_dir, FS, 0.1, 20)
    data = KaldiDataDir.load(data_dir)
    assert data.utt_ids == ["s1-ok", "s2-ok"] and set(data.text) == {"s1-ok", "s2-ok"}
    assert read_table(data_dir / "utt2num_samples") == {"s1-ok": "16000", "s2-ok": "32000"}
    assert read_table(data_dir / "spk2utt") == {"s1": "s1-ok", "s2": "s2-ok"}
    assert f"{data_dir}: dropped 2 of 4 utterances (1 <= 0.1 s, 1 >= 20 s)" in caplog.text
    # nothing left is an error naming the options
    write_formatted_dir(tmp_path / "tiny", {"s1-a": 100})
    with pytest.raises(DataDirError, match="every one of its 1 utterances.*--min_wav_duration"):
        filter_data_dir(tmp_path / "tiny", FS, 0.1, 20)


def test_filter_leaves_a_dir_within_bounds_byte_identical(tmp_path):
    data_dir = tmp_path / "train"
    write_formatted_dir(data_dir, {"s1-a": 16000, "s1-b": 8000})
    before = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.is_file()}
    result = subprocess.run([sys.executable, "-m", "espnet_kd.bin.filter_durations", "--data_dir", str(data_dir)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "dropped 0 of 2 utterances" in result.stderr
    assert {p.name: p.read_bytes() for p in data_dir.iterdir() if p.is_file()} == before


def test_perturb_resamples_a_tone_to_the_expected_length_and_pitch():
    t = np.arange(FS) / FS   # 1 s of a 1 kHz tone
    tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    for factor, frequency in ((0.9, 900), (1.1, 1100)):
        out = perturb(tone, FS, factor)
        assert abs(len(out) - FS / factor) <= 1   # 17778 and 14545 samples
        spectrum = np.abs(np.fft.rfft(out.astype(float)))
        assert abs(np.argmax(spectrum) * FS / len(out) - frequency) < 3   # sped up: pitch up, as sox's speed
    assert perturb(tone, FS, 1.0) is tone


def test_speed_perturbed_dir_has_prefixed_ids_and_speakers_scaled_durations_same_texts(tmp_path):
    src = tmp_path / "train"
    texts = {"spkA-u1": "hello world", "spkA-u2": "good bye", "spkB-u1": "one"}
    write_formatted_dir(src, {"spkA-u1": 16000, "spkA-u2": 9900, "spkB-u1": 11000}, texts)
    write_table(src / "text.en", texts)
    speed_perturb_dir(src, tmp_path / "train_sp", ["0.9", "1.0", "1.1"], FS)
    out = KaldiDataDir.load(tmp_path / "train_sp")
    assert len(out.utt_ids) == 9
    for utt, n in (("spkA-u1", 16000), ("spkA-u2", 9900), ("spkB-u1", 11000)):
        assert out.wav_scp[utt] == str(src / "wav" / f"{utt}.wav")   # factor 1: the original, its own id
        assert out.utt2spk[utt] == utt.split("-")[0]
        for factor in ("0.9", "1.1"):
            copy = f"sp{factor}-{utt}"
            samples, rate = soundfile.read(out.wav_scp[copy], dtype="int16")
            assert rate == FS and abs(len(samples) - n / float(factor)) <= 1   # duration scaled by 1/factor
            assert out.extra["utt2num_samples"][copy] == str(len(samples))
            assert out.utt2spk[copy] == f"sp{factor}-{utt.split('-')[0]}"
            assert out.text[copy] == texts[utt] and out.texts["text.en"][copy] == texts[utt]
    assert read_table(tmp_path / "train_sp/spk2utt")["sp0.9-spkB"] == "sp0.9-spkB-u1"
    with pytest.raises(ValueError, match="given twice"):
        speed_perturb_dir(src, tmp_path / "bad", ["1.1", "1.10"], FS)
    assert not (tmp_path / "bad").exists()


def test_empty_text_is_accepted_only_when_asked(tmp_path):
    data_dir = tmp_path / "tst"
    write_formatted_dir(data_dir, {"s1-a": 16000, "s1-b": 16000}, {"s1-a": "hello", "s1-b": ""})
    with pytest.raises(DataDirError, match="empty transcript.*s1-b"):
        KaldiDataDir.load(data_dir)
    assert KaldiDataDir.load(data_dir, allow_empty_text=True).text["s1-b"] == ""
    for module, strict, lenient in (
        ("validate_data_dir", [str(data_dir)], ["--allow_empty_text", str(data_dir)]),
        ("format_data", ["--in_dir", str(data_dir), "--out_dir", str(tmp_path / "out")],
         ["--in_dir", str(data_dir), "--out_dir", str(tmp_path / "out"), "--allow_empty_text", "true"]),
    ):
        refused = subprocess.run([sys.executable, "-m", f"espnet_kd.bin.{module}", *strict],
                                 capture_output=True, text=True, check=False)
        assert refused.returncode != 0 and "empty transcript" in refused.stdout + refused.stderr, module
        accepted = subprocess.run([sys.executable, "-m", f"espnet_kd.bin.{module}", *lenient],
                                  capture_output=True, text=True, check=False)
        assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert (tmp_path / "out/text").read_text() == "s1-a hello\ns1-b \n"

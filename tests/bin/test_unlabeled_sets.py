"""Data dirs without ``text`` (unlabeled sets): validate_data_dir, format_data, filter_durations, make_shapes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import numpy as np
import pytest
import soundfile

from espnet_kd.bin.filter_durations import filter_data_dir
from espnet_kd.bin.format_data import format_data_dir
from espnet_kd.bin.make_shapes import make_shapes
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, read_table, write_table

FS = 16000


@pytest.fixture
def unlabeled_dir(tmp_path: Path) -> Path:
    """An unlabeled set: a 16 kHz wav of 1 s, a 22.05 kHz one of 0.5 s, a 16 kHz one of 0.05 s; no text."""
    audio = tmp_path / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    wav_scp = {}
    for utt, seconds, rate in (("s1-a", 1.0, FS), ("s1-b", 0.5, 22050), ("s2-c", 0.05, FS)):
        path = audio / f"{utt}.wav"
        soundfile.write(path, (rng.standard_normal(int(seconds * rate)) * 1000).astype(np.int16), rate,
                        subtype="PCM_16")
        wav_scp[utt] = str(path)
    data = tmp_path / "unlabeled"
    write_table(data / "wav.scp", wav_scp)
    write_table(data / "utt2spk", {utt: utt.split("-")[0] for utt in wav_scp})
    write_table(data / "spk2utt", {"s1": "s1-a s1-b", "s2": "s2-c"})
    return data


def _cli(module: str, args: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"espnet_kd.bin.{module}", *args],
                          capture_output=True, text=True, check=False, timeout=120)


def test_validate_data_dir_unlabeled(unlabeled_dir: Path) -> None:
    refused = _cli("validate_data_dir", [str(unlabeled_dir)])
    assert refused.returncode == 1 and "missing text" in refused.stderr and "--unlabeled" in refused.stderr
    accepted = _cli("validate_data_dir", ["--unlabeled", str(unlabeled_dir)])
    assert accepted.returncode == 0, accepted.stderr
    assert f"{unlabeled_dir}: OK (3 utterances, 2 speakers, unlabeled, text files: none)" in accepted.stdout
    write_table(unlabeled_dir / "text", {"s1-a": "x", "s1-b": "y", "s2-c": "z"})
    refused = _cli("validate_data_dir", ["--unlabeled", str(unlabeled_dir)])
    assert refused.returncode == 1
    assert "an unlabeled set has no text, but" in refused.stderr and "--unlabeled_sets" in refused.stderr


def test_format_data_unlabeled(unlabeled_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dump"
    with pytest.raises(DataDirError, match="missing text"):
        format_data_dir(unlabeled_dir, out, FS)
    assert not out.exists()
    lengths = format_data_dir(unlabeled_dir, out, FS, unlabeled=True)
    assert sorted(path.name for path in out.iterdir()) == ["spk2utt", "utt2num_samples", "utt2spk", "wav", "wav.scp"]
    assert lengths == {"s1-a": 16000, "s1-b": 8000, "s2-c": 800}
    assert read_table(out / "utt2num_samples") == {"s1-a": "16000", "s1-b": "8000", "s2-c": "800"}
    converted = soundfile.info(read_table(out / "wav.scp")["s1-b"])
    assert (converted.samplerate, converted.frames, converted.subtype) == (FS, 8000, "PCM_16")
    # the command line; a text in a set formatted as unlabeled is refused and nothing is written
    result = _cli("format_data", ["--in_dir", str(unlabeled_dir), "--out_dir", str(tmp_path / "cli"),
                                  "--unlabeled", "true"])
    assert result.returncode == 0, result.stderr
    assert read_table(tmp_path / "cli" / "utt2num_samples") == read_table(out / "utt2num_samples")
    write_table(unlabeled_dir / "text", {"s1-a": "x", "s1-b": "y", "s2-c": "z"})
    with pytest.raises(DataDirError, match="an unlabeled set has no text"):
        format_data_dir(unlabeled_dir, tmp_path / "other", FS, unlabeled=True)
    assert not (tmp_path / "other").exists()


def test_filter_durations_and_shapes_of_a_formatted_unlabeled_set(unlabeled_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dump"
    format_data_dir(unlabeled_dir, out, FS, unlabeled=True)
    result = filter_data_dir(out, FS, 0.1, 20.0)
    assert result.kept == ["s1-a", "s1-b"] and result.too_short == ["s2-c"]
    assert sorted(KaldiDataDir.load(out, text="absent").utt_ids) == ["s1-a", "s1-b"]
    assert not (out / "text").exists()

    shapes = tmp_path / "shapes"
    write_table(shapes / "text_shape.char", {"old": "3,10"})   # left by an earlier run
    make_shapes(out, shapes, tmp_path / "no_such_tokens.txt", "char")   # the token list is not read
    assert sorted(path.name for path in shapes.iterdir()) == ["speech_shape"]
    assert read_table(shapes / "speech_shape") == {"s1-a": "16000", "s1-b": "8000"}

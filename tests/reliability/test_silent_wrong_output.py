"""Inputs that used to give wrong output without a word now stop with one ``ERROR:`` line.

Issue 15, item 8: ``nbest`` on audio at another sample rate than the model's frontend;
``select topk:K --weights softmax`` with a NaN (or +inf) score; ``validate_data_dir``
on an unsorted dir or a 0-byte wav.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet_kd.bin import nbest, select, validate_data_dir
from espnet_kd.nbest.format import write_nbest_jsonl
from tests.reliability.one_line_error import one_line_error
from tests.select.conftest import make_nbest, make_source_dir
from tests.tasks import tiny_espnet as tiny


def test_nbest_refuses_audio_at_another_rate_than_the_model(asr_setup, tmp_path, capsys) -> None:
    data = tmp_path / "data"
    (data / "wav").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    for utt, rate in (("u1", 16000), ("u2", 8000)):
        wav = data / "wav" / f"{utt}.wav"
        soundfile.write(wav, (0.1 * rng.standard_normal(rate // 4)).astype(np.float32), rate)
        lines.append(f"{utt} {wav}")
    tiny.write_lines(data / "wav.scp", lines)
    error = one_line_error(nbest.main, [
        "--model_config", asr_setup["config"], "--model_file", asr_setup["model_file"], "--data_dir", data,
        "--progress", "false", "--beam_size", "2", "--out_dir", tmp_path / "o",
    ], capsys)
    assert f"{data / 'wav' / 'u2.wav'}: 8000 Hz" in error
    assert "16000 Hz" in error and "u1.wav" not in error
    assert not (tmp_path / "o" / "nbest.jsonl").exists()


@pytest.mark.parametrize("bad_score", [math.nan, math.inf], ids=["nan", "inf"])
def test_topk_softmax_weights_refuse_a_score_that_is_not_a_number(bad_score, tmp_path, capsys) -> None:
    data = make_source_dir(tmp_path / "data")
    entries = make_nbest()
    entries["spkA-u1"][1].score = bad_score
    nbest_file = tmp_path / "nbest.jsonl"
    write_nbest_jsonl(nbest_file, [e for hyps in entries.values() for e in hyps])
    error = one_line_error(select.main, [
        "--nbest_jsonl", nbest_file, "--data_dir", data, "--method", "topk:3", "--weights", "softmax",
        "--out_dir", tmp_path / "o",
    ], capsys)
    assert f"utt spkA-u1 rank 2 has score {bad_score}" in error
    assert not (tmp_path / "o").exists()


def swap_lines(path: Path, first: int, second: int) -> None:
    lines = path.read_text().splitlines()
    lines[first - 1], lines[second - 1] = lines[second - 1], lines[first - 1]
    tiny.write_lines(path, lines)


def unsorted_utt2spk(data: Path):
    swap_lines(data / "utt2spk", 1, 2)
    return f"{data / 'utt2spk'}:2: 'spkA-u1' after 'spkA-u2'"


def unsorted_text(data: Path):
    swap_lines(data / "text.it", 2, 3)
    return f"{data / 'text.it'}:3: 'spkA-u2' after 'spkB-u1'"


def empty_wav(data: Path):
    wav_lines = []
    for i, utt in enumerate(["spkA-u1", "spkA-u2", "spkB-u1"]):
        wav = data / f"{utt}.wav"
        soundfile.write(wav, np.zeros(1600, dtype=np.int16), 16000)
        if i == 1:
            wav.write_bytes(b"")
        wav_lines.append(f"{utt} {wav}")
    tiny.write_lines(data / "wav.scp", wav_lines)
    return f"1 audio file(s) in wav.scp are empty (0 bytes), e.g. ['{data / 'spkA-u2.wav'}']"


@pytest.mark.parametrize("make_bad", [unsorted_utt2spk, unsorted_text, empty_wav],
                         ids=lambda f: f.__name__)
def test_validate_data_dir_refuses_unsorted_files_and_empty_audio(make_bad, tmp_path, capsys) -> None:
    data = make_source_dir(tmp_path / "data")
    options = [] if make_bad is empty_wav else ["--no_audio_check"]
    expected = make_bad(data)
    error = one_line_error(validate_data_dir.main, [data, *options], capsys)
    assert expected in error

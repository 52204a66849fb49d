"""Outputs honour the umask (files and dirs); a killed run's temporaries are removed by the next.

Issue 15, item 5: atomic outputs were owner-only (0600 files, 0700 dirs) whatever the
umask. Item 6: a killed ``format_data`` left its temporary output dir behind for good.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet_kd.bin import format_data
from espnet_kd.nbest.format import write_nbest_jsonl
from espnet_kd.utils.tokens import write_token_list
from tests.select.conftest import make_nbest
from tests.tasks import tiny_espnet as tiny

REPO_ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_data_dir(data: Path, pipe_prefix: str = "") -> Path:
    """A two-utterance Kaldi dir with 16 kHz wavs; ``pipe_prefix`` turns the second entry into a command."""
    (data / "wav").mkdir(parents=True)
    lines = []
    for utt in ("a", "b"):
        wav = data / "wav" / f"{utt}.wav"
        soundfile.write(wav, np.zeros(1600, dtype=np.int16), 16000)
        lines.append(f"{utt} {wav}")
    if pipe_prefix:
        lines[1] = f"b {pipe_prefix}cat {data / 'wav' / 'b.wav'} |"
    tiny.write_lines(data / "wav.scp", lines)
    tiny.write_lines(data / "text", ["a one", "b two"])
    tiny.write_lines(data / "utt2spk", ["a s", "b s"])
    return data


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["umask0022", "umask0002"])
def test_outputs_get_the_umask_mode(umask, tmp_path) -> None:
    data = write_data_dir(tmp_path / "data", pipe_prefix=" ")  # a command entry: format_data writes wav/
    old = os.umask(umask)
    try:
        format_data.main(["--in_dir", str(data), "--out_dir", str(tmp_path / "dump" / "raw" / "train")])
        write_nbest_jsonl(tmp_path / "exp" / "nbest.jsonl", [e for hyps in make_nbest().values() for e in hyps])
        write_token_list(tmp_path / "data" / "tokens" / "tokens.txt", ["<blank>", "<unk>", "a", "<sos/eos>"])
        (tmp_path / "plain_dir").mkdir()
        (tmp_path / "plain_file").write_text("x")
    finally:
        os.umask(old)
    file_mode, dir_mode = 0o666 & ~umask, 0o777 & ~umask
    assert (mode(tmp_path / "plain_file"), mode(tmp_path / "plain_dir")) == (file_mode, dir_mode)
    out = tmp_path / "dump" / "raw" / "train"
    assert mode(out) == dir_mode
    assert mode(out / "wav") == dir_mode
    for name in ("wav.scp", "text", "utt2spk", "spk2utt", "utt2num_samples"):
        assert mode(out / name) == file_mode, name
    assert mode(out / "wav" / "b.wav") == file_mode
    assert mode(tmp_path / "exp" / "nbest.jsonl") == file_mode
    assert mode(tmp_path / "data" / "tokens" / "tokens.txt") == file_mode


def test_rerun_of_a_killed_format_data_removes_its_temporary_dir(tmp_path) -> None:
    data = write_data_dir(tmp_path / "data", pipe_prefix="sleep 60; ")  # the run hangs on this entry
    out_parent = tmp_path / "dump" / "raw"
    argv = [sys.executable, "-m", "espnet_kd.bin.format_data", "--in_dir", str(data),
            "--out_dir", str(out_parent / "train")]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    job = subprocess.Popen(argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (out_parent.is_dir() and any(out_parent.iterdir())):
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        os.killpg(job.pid, signal.SIGKILL)   # the run and its shell command, as a killed job
        job.wait()
    litter = sorted(path.name for path in out_parent.iterdir())
    assert litter and all(name.startswith(".train.") and name.endswith(".tmp") for name in litter), litter
    write_data_dir(tmp_path / "data2")
    os.replace(tmp_path / "data2" / "wav.scp", data / "wav.scp")  # no hanging entry this time
    format_data.main(["--in_dir", str(data), "--out_dir", str(out_parent / "train")])
    assert sorted(path.name for path in out_parent.iterdir()) == ["train"]

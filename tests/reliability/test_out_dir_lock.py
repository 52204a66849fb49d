"""Two nbest or select runs on one --out_dir: the second stops at once, naming the first (issue 15, item 1).

The first run is paused (SIGSTOP) as soon as its lock file names it, so that the second one
surely meets it; then it is resumed and must finish as if alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from espnet_kd.nbest.format import NBestEntry, read_nbest_jsonl, write_nbest_jsonl
from espnet_kd.utils.kaldi_dir import KaldiDataDir
from tests.tasks.tiny_espnet import NBEST_TEXTS as TEXTS
from tests.recipes.conftest import REPO_ROOT
from tests.tasks import tiny_espnet as tiny

ENV = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")


def cli(module: str, *args) -> List[str]:
    return [sys.executable, "-m", f"espnet_kd.bin.{module}", *map(str, args)]


def lock_file_of(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.lock"


def snapshot(directory: Path) -> Dict[str, bytes]:
    """Every file under ``directory`` (and the directory's own siblings' names), with its content."""
    files = {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()} \
        if directory.exists() else {}
    files["<siblings>"] = " ".join(sorted(p.name for p in directory.parent.iterdir())).encode()
    return files


def start_paused(command: List[str], out_dir: Path, log: Path) -> subprocess.Popen:
    """Start ``command``; SIGSTOP it once it holds ``out_dir``'s lock. None if it finished first."""
    with open(log, "w") as handle:
        run = subprocess.Popen(command, env=ENV, stdout=handle, stderr=subprocess.STDOUT)
    lock = lock_file_of(out_dir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            held = f"pid {run.pid}\n" in lock.read_text()
        except OSError:
            held = False
        if held:
            run.send_signal(signal.SIGSTOP)
            return run
        if run.poll() is not None:
            assert run.returncode == 0, log.read_text()
            assert not lock.exists()   # it did take the lock (and released it), only too fast to catch
            return None
        time.sleep(0.001)
    run.kill()
    raise AssertionError(f"{command} never held {lock}")


def resume(run: subprocess.Popen, log: Path) -> None:
    run.send_signal(signal.SIGCONT)
    assert run.wait(timeout=300) == 0, log.read_text()[-3000:]


def test_second_nbest_run_on_one_out_dir_stops_at_once(asr_setup, tmp_path: Path) -> None:
    config = tiny.write_lines(tmp_path / "decode.yaml", ["beam_size: 3", "ctc_weight: 0.3", "nbest: 2"])
    out_dir = tmp_path / "nbest_train"
    decode = cli("nbest", "--model_config", asr_setup["config"], "--model_file", asr_setup["model_file"],
                 "--data_dir", asr_setup["data_dir"], "--progress", "false", "--config", config,
                 "--out_dir", out_dir)
    first = start_paused(decode, out_dir, tmp_path / "first.log")
    # (loading the teacher takes seconds: a run not caught holding the lock never took one)
    assert first is not None, "the first run finished, and no lock file ever named it"
    try:
        before = snapshot(out_dir)
        merge = cli("nbest", "--merge", "--model_config", asr_setup["config"], "--out_dir", out_dir,
                    tmp_path / "job.1")
        for second in (decode, merge):
            result = subprocess.run(second, env=ENV, capture_output=True, text=True, timeout=120)
            assert result.returncode == 1, result.stderr
            assert f"ERROR: {out_dir} is in use by process {first.pid} (started " in result.stderr
            assert "wait for it or stop it" in result.stderr
            assert snapshot(out_dir) == before   # the first run's output untouched
    finally:
        resume(first, tmp_path / "first.log")
    nbest = read_nbest_jsonl(out_dir / "nbest.jsonl")
    assert sorted(nbest) == sorted(TEXTS) and all(len(hyps) == 2 for hyps in nbest.values())
    assert not lock_file_of(out_dir).exists()   # released


def write_selection_input(root: Path, utts: int) -> Dict[str, Path]:
    """A data dir of ``utts`` utterances and an n-best list of 4 hypotheses each."""
    data = root / "data"
    data.mkdir(parents=True)
    ids = [f"spk{i % 7}-utt{i:05d}" for i in range(utts)]
    tables = {"wav.scp": [f"{u} /audio/{u}.wav" for u in ids], "text": [f"{u} one two three {i}" for i, u in enumerate(ids)],
              "utt2spk": [f"{u} {u.split('-')[0]}" for u in ids]}
    for name, lines in tables.items():
        (data / name).write_text("".join(line + "\n" for line in sorted(lines)))
    speakers: Dict[str, List[str]] = {}
    for u in sorted(ids):
        speakers.setdefault(u.split("-")[0], []).append(u)
    (data / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(speakers.items())))
    nbest = root / "nbest.jsonl"
    write_nbest_jsonl(nbest, [NBestEntry(u, rank, f"one two {rank} {i}", [], -float(rank))
                              for i, u in enumerate(ids) for rank in range(1, 5)])
    return {"data": data, "nbest": nbest}


def test_second_select_run_on_one_out_dir_stops_at_once(tmp_path: Path) -> None:
    inputs = write_selection_input(tmp_path / "in", 6000)
    for attempt in range(3):   # a run too quick to be paused is tried again, in a fresh dir
        out_dir = tmp_path / f"try{attempt}" / "train_interpwer"
        out_dir.parent.mkdir()
        select = cli("select", "--nbest_jsonl", inputs["nbest"], "--data_dir", inputs["data"],
                     "--method", "interp:wer", "--out_dir", out_dir)
        first = start_paused(select, out_dir, tmp_path / f"first{attempt}.log")
        if first is not None:
            break
    else:
        pytest.fail("select always finished before it could be paused")
    try:
        before = snapshot(out_dir)
        result = subprocess.run(select, env=ENV, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, result.stderr
        assert f"ERROR: {out_dir} is in use by process {first.pid} (started " in result.stderr
        assert snapshot(out_dir) == before
    finally:
        resume(first, tmp_path / f"first{attempt}.log")
    assert len(KaldiDataDir.load(out_dir).utt_ids) == 6000
    assert not lock_file_of(out_dir).exists()


def hold_lock_file(path: Path, pid: int):
    """Hold ``path``'s flock from this process, naming ``pid`` as its holder (as a running CLI would)."""
    import fcntl

    handle = open(path, "w")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write(f"pid {pid}\nhost {os.uname().nodename}\nstarted 2026-01-01T00:00:00\ncommand x\n")
    handle.flush()
    return handle


def test_dump_topk_locks_each_shard_it_writes(tmp_path: Path, capsys) -> None:
    from espnet_kd.bin import dump_topk

    out_dir = tmp_path / "topk_train"
    argv = ["--teacher_kind", "asr", "--teacher_config", str(tmp_path / "none.yaml"), "--teacher_model_file",
            str(tmp_path / "none.pth"), "--data_path_and_name_and_type", f"{tmp_path}/wav.scp,speech,sound",
            "--out_dir", str(out_dir), "--k", "2", "--num_shards", "2"]
    with hold_lock_file(tmp_path / ".topk_train.shard1.lock", os.getpid()):
        for shards in ([], ["--shards", "1"]):   # every shard, or shard 1: refused, naming the holder
            with pytest.raises(SystemExit) as stop:
                dump_topk.main(argv + shards)
            assert stop.value.code == 1
            err = capsys.readouterr().err
            assert f"ERROR: {out_dir} (shard1) is in use by process {os.getpid()} (started 2026-01-01T00:00:00)" in err
        # a job on shard 0 runs beside it (and stops at its missing input, past the lock)
        with pytest.raises(SystemExit):
            dump_topk.main(argv + ["--shards", "0"])
        err = capsys.readouterr().err
        assert "in use" not in err and "ERROR: " in err
    assert not (tmp_path / ".topk_train.shard0.lock").exists()   # released


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    inputs = write_selection_input(tmp_path / "in", 20)
    dead = subprocess.Popen(["true"])
    dead.wait()
    out_dir = tmp_path / "train_seqkd"
    lock_file_of(out_dir).write_text(f"pid {dead.pid}\nhost h1\nstarted 2026-01-01T00:00:00\ncommand select\n")
    result = subprocess.run(cli("select", "--nbest_jsonl", inputs["nbest"], "--data_dir", inputs["data"],
                                "--method", "1best", "--out_dir", out_dir),
                            env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (f"{out_dir}: taking over {lock_file_of(out_dir)} from process {dead.pid} (select, "
            "started 2026-01-01T00:00:00, on h1), which ended without releasing it") in result.stderr
    assert len(KaldiDataDir.load(out_dir).utt_ids) == 20
    assert not lock_file_of(out_dir).exists()   # released

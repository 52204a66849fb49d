"""Tests for ``python -m espnet_kd.bin.nbest_from_espnet``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from espnet_kd.bin.nbest_from_espnet import main
from espnet_kd.nbest.format import NBestEntry, read_nbest_jsonl

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "espnet_kd.bin.nbest_from_espnet", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )


def make_data_dir(root: Path, utts: List[str]) -> Path:
    root.mkdir(parents=True)
    (root / "wav.scp").write_text("".join(f"{u} /a/{u}.wav\n" for u in utts))
    (root / "utt2spk").write_text("".join(f"{u} {u.split('-')[0]}\n" for u in utts))
    (root / "text").write_text("".join(f"{u} ref\n" for u in utts))
    return root


def test_cli_converts_split_decode(
    espnet_jobs: List[Path], token_list_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "decode"
    data = make_data_dir(tmp_path / "data", ["spk1-u1", "spk1-u2", "spk2-u1", "spk2-u2"])
    result = run_cli(
        "--nbest",
        3,
        "--out_dir",
        out,
        "--token_list",
        token_list_file,
        "--data-dir",
        data,
        *espnet_jobs,
    )
    assert result.returncode == 0, result.stderr
    assert "9 hypotheses of 4 utterances (ranks 1..3)" in result.stderr
    assert "1 hypotheses are empty" in result.stderr
    lines = [json.loads(line) for line in (out / "nbest.jsonl").read_text().splitlines()]
    assert [(o["utt"], o["rank"]) for o in lines] == [
        ("spk1-u1", 1),
        ("spk1-u1", 2),
        ("spk1-u1", 3),
        ("spk1-u2", 1),
        ("spk1-u2", 2),
        ("spk2-u1", 1),
        ("spk2-u1", 2),
        ("spk2-u1", 3),
        ("spk2-u2", 1),
    ]
    assert lines[0] == {
        "utt": "spk1-u1",
        "rank": 1,
        "text": "hello world",
        "token_int": [2, 3],
        "score": -1.5,
        "logp": None,
        "token_logp": None,
        "scores": {},
        "ended": True,
    }
    assert read_nbest_jsonl(out / "nbest.jsonl")["spk2-u2"] == [
        NBestEntry("spk2-u2", 1, "", [], -9.0)
    ]
    assert (out / "1best_recog" / "score").read_text() == (
        "spk1-u1 -1.5\nspk1-u2 -2.25\nspk2-u1 -0.5\nspk2-u2 -9.0\n"
    )
    assert (out / "1best_recog" / "token").read_text() == (
        "spk1-u1 hello world\nspk1-u2 good bye\nspk2-u1 bye bye\nspk2-u2 \n"
    )
    assert (out / "3best_recog" / "text").read_text() == "spk1-u1 world\nspk2-u1 good bye\n"
    assert not (out / "4best_recog").exists()
    # the job dirs under out/logdir are left alone
    assert (out / "logdir" / "output.2" / "4best_recog" / "score").is_file()


def test_cli_in_process_without_token_list(
    espnet_jobs: List[Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "nb"
    main(["--nbest", "2", "--out-dir", str(out), *map(str, espnet_jobs)])
    assert sorted(p.name for p in (out / "1best_recog").iterdir()) == ["score", "text", "token_int"]
    assert sum(len(v) for v in read_nbest_jsonl(out / "nbest.jsonl").values()) == 7


def test_cli_reports_data_dir_utts_without_hypothesis(
    espnet_jobs: List[Path], tmp_path: Path
) -> None:
    data = make_data_dir(
        tmp_path / "data", ["spk1-u1", "spk1-u2", "spk2-u1", "spk2-u2", "spk3-u1", "spk3-u2"]
    )
    out = tmp_path / "out"
    result = run_cli("--nbest", 3, "--out_dir", out, "--data_dir", data, *espnet_jobs)
    assert result.returncode != 0
    assert "2 of 6 utterance(s)" in result.stderr
    assert "have no hypothesis" in result.stderr
    assert "['spk3-u1', 'spk3-u2']" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "nbest.jsonl").exists()


def test_cli_reports_hypotheses_for_unknown_utts(espnet_jobs: List[Path], tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data", ["spk1-u1", "spk1-u2", "spk2-u1"])
    result = run_cli("--nbest", 3, "--out_dir", tmp_path / "out", "--data_dir", data, *espnet_jobs)
    assert result.returncode != 0
    assert "1 utterance(s) in the decoding output are not in" in result.stderr
    assert "spk2-u2" in result.stderr


def test_cli_missing_input_dir(tmp_path: Path) -> None:
    result = run_cli("--nbest", 2, "--out_dir", tmp_path / "out", tmp_path / "nope")
    assert result.returncode != 0
    assert "ERROR: nbest_from_espnet:" in result.stderr
    assert "decoding output dir not found" in result.stderr


def test_cli_bad_score(espnet_jobs: List[Path], tmp_path: Path) -> None:
    (espnet_jobs[0] / "1best_recog" / "score").write_text("spk1-u1 nan?\nspk1-u2 -1\n")
    result = run_cli("--nbest", 2, "--out_dir", tmp_path / "out", *espnet_jobs)
    assert result.returncode != 0
    assert "utt spk1-u1: cannot read score 'nan?'" in result.stderr

"""The stage scripts' option parsing, job backend and refusal of bad input (no training)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from .conftest import REPO_ROOT, run_script

PARSE_OPTIONS = REPO_ROOT / "egs2/TEMPLATE/scripts/parse_options.sh"
LOCAL_BACKEND = REPO_ROOT / "egs2/TEMPLATE/scripts/jobs/local.sh"


def write_options_script(tmp_path):
    script = tmp_path / "opts.sh"
    script.write_text(
        "#!/usr/bin/env bash\nset -e\nstage=1\nstop_stage=10\nmy_opt='a b'\n"
        f". {PARSE_OPTIONS}\n"
        'echo "stage=$stage stop=$stop_stage my_opt=$my_opt rest=$*"\n'
    )
    script.chmod(0o755)
    return script


def test_options_with_dashes_underscores_and_equals(tmp_path):
    script = write_options_script(tmp_path)
    result = run_script(tmp_path, [str(script), "--stage", "3", "--stop-stage=5", "--my_opt", "x y", "pos"])
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "stage=3 stop=5 my_opt=x y rest=pos"


def test_unknown_option_is_refused_with_the_known_ones(tmp_path):
    script = write_options_script(tmp_path)
    for bad in (["--stgae", "3"], ["--PATH", "/tmp"], ["--help_message", "x"]):
        result = run_script(tmp_path, [str(script), *bad])
        assert result.returncode == 1
        assert f"unknown option {bad[0]}" in result.stdout
        assert "--stage --stop_stage" in result.stdout


def test_option_without_value_is_refused(tmp_path):
    result = run_script(tmp_path, [str(write_options_script(tmp_path)), "--stage"])
    assert result.returncode == 1 and "needs a value" in result.stdout


def test_local_backend_runs_jobs_and_reports_failures(tmp_path):
    ok = run_script(tmp_path, [str(LOCAL_BACKEND), "JOB=1:3", "log/job.JOB.log", "bash", "-c", "echo out JOB"])
    assert ok.returncode == 0, ok.stdout
    for job in (1, 2, 3):
        log = (tmp_path / f"log/job.{job}.log").read_text()
        assert f"out {job}" in log and "exit code 0" in log
    failed = run_script(tmp_path, [str(LOCAL_BACKEND), "JOB=1:3", "log/f.JOB.log", "bash", "-c", "[ JOB != 2 ]"])
    assert failed.returncode == 1
    assert "1 of 3 job(s) failed" in failed.stdout and "log/f.2.log" in failed.stdout


def write_data_dir(path, utts, texts=None):
    """A small valid data dir with real 16 kHz wav files."""
    path.mkdir(parents=True)
    wav_dir = path / "wav"
    wav_dir.mkdir()
    rng = np.random.default_rng(0)
    lines = {"wav.scp": [], "text": [], "utt2spk": []}
    for index, utt in enumerate(sorted(utts)):
        wav = wav_dir / f"{utt}.wav"
        soundfile.write(wav, (rng.standard_normal(8000) * 1000).astype(np.int16), 16000, subtype="PCM_16")
        lines["wav.scp"].append(f"{utt} {wav}")
        lines["text"].append(f"{utt} {(texts or {}).get(utt, 'one two three')}")
        lines["utt2spk"].append(f"{utt} {utt.split('-')[0]}")
    for name, rows in lines.items():
        (path / name).write_text("".join(row + "\n" for row in rows))


def test_run_sh_refuses_unknown_option(scratch_recipe):
    recipe = scratch_recipe()
    result = run_script(recipe, ["./run.sh", "--stgae", "3"])
    assert result.returncode == 1
    assert "unknown option --stgae" in result.stdout


def test_format_stage_refuses_misaligned_data_dir(scratch_recipe):
    recipe = scratch_recipe()
    for dset in ("train", "dev", "test"):
        write_data_dir(recipe / "data" / dset, [f"spk1-{dset}-{i}" for i in range(3)])
    text = recipe / "data/dev/text"
    text.write_text("".join(text.read_text().splitlines(keepends=True)[:2]))  # one utterance lost
    result = run_script(recipe, ["./run.sh", "--stage", "2", "--stop_stage", "2"])
    assert result.returncode != 0
    assert "text covers different utterances than utt2spk" in result.stdout
    assert "spk1-dev-2" in result.stdout
    assert not (recipe / "dump/raw/dev").exists()  # nothing half-written


def test_format_stage_refuses_empty_transcript(scratch_recipe):
    recipe = scratch_recipe()
    for dset in ("train", "dev", "test"):
        write_data_dir(recipe / "data" / dset, [f"spk1-{dset}-{i}" for i in range(3)])
    (recipe / "data/train/text").write_text("spk1-train-0 one\nspk1-train-1\nspk1-train-2 two\n")
    result = run_script(recipe, ["./run.sh", "--stage", "2", "--stop_stage", "2"])
    assert result.returncode != 0
    assert "empty transcript" in result.stdout and "spk1-train-1" in result.stdout


def test_later_stage_without_its_inputs_says_which_stage(scratch_recipe):
    recipe = scratch_recipe()
    result = run_script(recipe, ["./run.sh", "--stage", "6", "--stop_stage", "6"])
    assert result.returncode != 0
    assert "not found" in result.stdout and "--stage" in result.stdout


def test_data_stage_without_a_corpus_is_a_clear_error(scratch_recipe):
    recipe = scratch_recipe()
    result = run_script(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1",
                                 "--local_data_opts", "--generate false"])
    assert result.returncode != 0
    assert "data/train not found" in result.stdout and "corpus dir" in result.stdout


@pytest.mark.parametrize("seeds, message", [("0 x", "--seeds must be non-negative integers"),
                                            ("2 0 2", "--seeds lists a seed twice")])
def test_asr_recipe_refuses_bad_seeds(scratch_recipe, seeds, message):
    recipe = scratch_recipe()
    result = run_script(recipe, ["./run.sh", "--seeds", seeds, "--stage", "11"])
    assert result.returncode != 0 and message in result.stdout
    assert "=== stage" not in result.stdout

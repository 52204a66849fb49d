"""The stage scripts' option parsing, job backend and refusal of bad input (no training)."""

from __future__ import annotations

import json

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


def write_data_dir(path, utts, texts=None, lengths=None, extra_texts=()):
    """A small valid data dir with real 16 kHz wav files (8000 samples, or ``lengths[utt]``); the
    files of ``extra_texts`` (e.g. text.en) are copies of ``text``."""
    path.mkdir(parents=True)
    wav_dir = path / "wav"
    wav_dir.mkdir()
    rng = np.random.default_rng(0)
    lines = {"wav.scp": [], "text": [], "utt2spk": []}
    for index, utt in enumerate(sorted(utts)):
        wav = wav_dir / f"{utt}.wav"
        samples = (rng.standard_normal((lengths or {}).get(utt, 8000)) * 1000).astype(np.int16)
        soundfile.write(wav, samples, 16000, subtype="PCM_16")
        lines["wav.scp"].append(f"{utt} {wav}")
        lines["text"].append(f"{utt} {(texts or {}).get(utt, 'one two three')}".rstrip())
        lines["utt2spk"].append(f"{utt} {utt.split('-')[0]}")
    for name in extra_texts:
        lines[name] = lines["text"]
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


def test_format_stage_filters_training_durations_and_keeps_empty_test_texts(scratch_recipe):
    recipe = scratch_recipe()
    # 1600 samples (0.1 s) and 320000 (20 s) are dropped from train and dev, as ESPnet drops them; test keeps all
    short_long = {"spk1-{}-0": 1600, "spk1-{}-1": 320000}
    for dset in ("train", "dev", "test"):
        write_data_dir(recipe / "data" / dset, [f"spk1-{dset}-{i}" for i in range(4)],
                       lengths={key.format(dset): n for key, n in short_long.items()},
                       texts={"spk1-test-3": ""} if dset == "test" else None)
    result = run_script(recipe, ["./run.sh", "--stage", "2", "--stop_stage", "2", "--test_sets", "test"])
    assert result.returncode == 0, result.stdout
    for dset in ("train", "dev"):
        kept = (recipe / "dump/raw" / dset / "text").read_text().split("\n")
        assert [line.split()[0] for line in kept if line] == [f"spk1-{dset}-2", f"spk1-{dset}-3"]
        assert f"dump/raw/{dset}: dropped 2 of 4 utterances (1 <= 0.1 s, 1 >= 20 s)" in result.stdout
    assert (recipe / "dump/raw/test/utt2num_samples").read_text().count("\n") == 4
    assert (recipe / "dump/raw/test/text").read_text().endswith("spk1-test-3 \n")   # the empty reference kept
    assert "dump/raw/test: dropped" not in result.stdout
    # a validation set that is also a test set (the default --test_sets "dev test") is not filtered
    again = run_script(recipe, ["./run.sh", "--stage", "2", "--stop_stage", "2"])
    assert again.returncode == 0, again.stdout
    assert "dump/raw/train is formatted" in again.stdout and "dump/raw/dev: the options changed" in again.stdout
    assert (recipe / "dump/raw/dev/utt2num_samples").read_text().count("\n") == 4
    # the filter is an option: with other bounds the training set is formatted again, and keeps all
    other = run_script(recipe, ["./run.sh", "--stage", "2", "--stop_stage", "2", "--min_wav_duration", "0",
                                "--max_wav_duration", "30"])
    assert other.returncode == 0, other.stdout
    assert "formatting again" in other.stdout and "dump/raw/train: dropped 0 of 4 utterances" in other.stdout


def test_st_speed_perturbation_makes_train_sp_for_the_st_side(scratch_recipe):
    recipe = scratch_recipe("mini_synth", "st1")
    for dset in ("train", "dev", "test"):
        write_data_dir(recipe / "data" / dset, [f"spk{s}-{dset}-{i}" for s in (1, 2) for i in range(3)],
                       extra_texts=("text.en",))
    result = run_script(recipe, ["./run.sh", "--stage", "2", "--stop_stage", "3", "--pretrained_asr", "none",
                                 "--speed_perturb_factors", "0.9 1.0 1.1", "--src_nbpe", "10", "--tgt_nbpe", "10"])
    assert result.returncode == 0, result.stdout
    sp_ids = [line.split()[0] for line in (recipe / "dump/raw/train_sp/utt2spk").read_text().splitlines()]
    assert len(sp_ids) == 18 and "sp0.9-spk1-train-0" in sp_ids and "spk1-train-0" in sp_ids
    samples = dict(line.split() for line in (recipe / "dump/raw/train_sp/utt2num_samples").read_text().splitlines())
    assert (samples["spk1-train-0"], samples["sp0.9-spk1-train-0"], samples["sp1.1-spk1-train-0"]) == ("8000", "8889", "7273")
    # the ST side's shapes cover it; the tokens were trained on the original set
    assert (recipe / "exp/shapes/train_sp/speech_shape").read_text().count("\n") == 18
    assert list(json.loads((recipe / "data/tokens/tgt/.done").read_text())["inputs"]) == ["dump/raw/train/text"]
    # the mini_synth default: no speed perturbation
    assert "--speed_perturb_factors ''" in run_script(recipe, ["./run.sh", "--help"], timeout=120).stdout


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


@pytest.mark.parametrize("task, args, message", [
    ("asr1", ["--kd_methods", "1best topk:4"], 'ERROR: asr.sh: --kd_methods was renamed: list every student in '
                                               '--methods, e.g. --methods "baseline 1best topk:4"'),
    ("asr1", ["--students", "baseline seqkd"], "ERROR: asr.sh: --students was renamed: list every student in --methods"),
    ("asr1", ["--wordkd_topk", "8"], "ERROR: asr.sh: --wordkd_topk was renamed: use --kd_topk"),
    ("asr1", ["--wordkd-topk=8"], "ERROR: asr.sh: --wordkd_topk was renamed: use --kd_topk"),
    ("st1", ["--topk", "8"], "ERROR: st.sh: --topk was renamed: use --kd_topk"),
])
def test_an_old_option_name_is_refused_naming_its_replacement(scratch_recipe, task, args, message):
    recipe = scratch_recipe("mini_synth", task)
    result = run_script(recipe, ["./run.sh", *args], timeout=120)
    assert result.returncode == 1
    assert message in result.stdout and "unknown option" not in result.stdout
    assert "=== stage" not in result.stdout and not (recipe / "exp").exists()


@pytest.mark.parametrize("task, methods, message", [
    ("asr1", "baseline magic", "unknown method 'magic'"),
    ("asr1", "baseline wordkd_ft", "wordkd_ft fine-tunes the wordkd student; list wordkd before it"),
    ("asr1", "", "--methods is empty"),
])
def test_asr_recipe_refuses_bad_methods(scratch_recipe, task, methods, message):
    recipe = scratch_recipe("mini_synth", task)
    result = run_script(recipe, ["./run.sh", "--methods", methods, "--stage", "11"], timeout=120)
    assert result.returncode != 0 and message in result.stdout
    assert "=== stage" not in result.stdout


@pytest.mark.parametrize("task, args, message", [
    ("asr1", ["--methods", "1best+unlabeled"], "a <method>+unlabeled student needs --unlabeled_sets"),
    ("asr1", ["--methods", "interp:wer+unlabeled", "--unlabeled_sets", "unlabeled"],
     "interp:wer picks the hypothesis nearest the reference, and an untranscribed set has none"),
    ("asr1", ["--unlabeled_sets", "test"], "--unlabeled_sets: test is also a labelled set"),
    ("asr1", ["--unlabeled_sets", "u u"], "--unlabeled_sets: u is listed twice"),
    ("st1", ["--methods", "seqkd+unlabeled"], "a <method>+unlabeled student needs --unlabeled_sets"),
    ("st1", ["--methods", "seqkd+unlabeled", "--unlabeled_sets", "u", "--unlabeled_asr", "a", "--st_teacher", "b"],
     "--unlabeled_asr and --st_teacher are two ways to label the unlabeled sets: give one"),
    ("st1", ["--methods", "seqkd+unlabeled", "--unlabeled_sets", "u", "--unlabeled_asr", "nowhere"],
     "nowhere/config.yaml"),
    ("asr1", ["--student_tag", "a b"], "--student_tag must be letters, digits"),
    ("st1", ["--teacher_tag", "x/y"], "--teacher_tag must be letters, digits"),
    ("asr1", ["--expdir", ""], "--expdir must be a directory name without spaces"),
])
def test_bad_unlabeled_and_tag_options_stop_before_any_work(scratch_recipe, task, args, message):
    recipe = scratch_recipe("mini_synth", task)
    result = run_script(recipe, ["./run.sh", *args, "--pretrained_asr", "none"] if task == "st1"
                        else ["./run.sh", *args], timeout=120)
    assert result.returncode != 0 and message in result.stdout, result.stdout[-2000:]
    assert "=== stage" not in result.stdout


def _copy_must_c(tmp_path):
    import shutil

    shutil.copytree(REPO_ROOT / "egs2/TEMPLATE", tmp_path / "egs2/TEMPLATE", symlinks=True)
    recipe = tmp_path / "egs2/must_c/st1"
    shutil.copytree(REPO_ROOT / "egs2/must_c/st1", recipe, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "dump", "exp"))
    return recipe


def test_must_c_takes_tgt_lang_and_refuses_lang(tmp_path):
    recipe = _copy_must_c(tmp_path)
    result = run_script(recipe, ["./run.sh", "--tgt_lang", "it", "--help"], timeout=120)   # parsed, then printed
    assert result.returncode == 0, result.stdout
    for option in ("--tgt_lang it", "--train_set train.en-it", "--valid_set dev.en-it",
                   "--test_sets dev.en-it\\ tst-COMMON.en-it\\ tst-HE.en-it", "--local_data_opts --lang\\ it\\ ",
                   "--src_nbpe 4000", "--tgt_nbpe 4000", "--speed_perturb_factors 0.9\\ 1.0\\ 1.1"):
        assert option in result.stdout, option
    default = run_script(recipe, ["./run.sh", "--help"], timeout=120)
    assert "--tgt_lang de" in default.stdout and "--train_set train.en-de" in default.stdout
    for old in (["--lang", "it"], ["--lang=it"]):
        refused = run_script(recipe, ["./run.sh", *old], timeout=120)
        assert refused.returncode == 1
        assert "ERROR: run.sh: --lang was renamed: use --tgt_lang" in refused.stdout


def test_mini_synth_st1_takes_tgt_lang(scratch_recipe):
    recipe = scratch_recipe("mini_synth", "st1")
    result = run_script(recipe, ["./run.sh", "--tgt_lang", "de", "--help"], timeout=120)
    assert result.returncode == 0, result.stdout
    assert "--tgt_lang de" in result.stdout and "--local_data_opts --tgt_lang\\ de\\ --size\\ default" in result.stdout


def test_tune_wordkd_refuses_what_it_sets_and_needs_a_finished_recipe(scratch_recipe):
    recipe = scratch_recipe("mini_synth", "st1")
    for args, message in ((["--stage", "3"], "--stage is set by this script"),
                          (["--mt_config", "x.yaml", "--seed", "1"], "--seed is set by this script"),
                          (["--methods=wordkd"], "--methods is set by this script"),
                          (["stray"], "unexpected argument 'stray'")):
        result = run_script(recipe, ["./tune_wordkd.sh", *args], timeout=120)
        assert result.returncode == 1 and message in result.stdout, (args, result.stdout)
    # its own options are parsed, the others kept for run.sh; without a finished recipe it stops at once
    result = run_script(recipe, ["./tune_wordkd.sh", "--lambdas", "0.5", "--mt_config", "x.yaml"], timeout=120)
    assert result.returncode == 1
    assert "exp/mt_teacher/valid.acc.ave.pth not found: run the recipe first" in result.stdout


def test_model_config_prints_keys_for_the_shell_and_writes_overrides(tmp_path):
    import subprocess
    import sys

    model = tmp_path / "exp/student_baseline"
    model.mkdir(parents=True)
    (model / "config.yaml").write_text("seed: 2\ninit_param:\n- a b.pth:encoder:encoder\nkd_lambda: 0.5\n"
                                       "frontend_conf:\n  fs: 16000\nuse_amp: false\n")
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "espnet_kd.bin.model_config", *map(str, args)],
                              cwd=tmp_path, text=True, capture_output=True)
    got = cli("get", "--prefix", "b_", model, "seed", "init_param", "kd_lambda", "use_amp", "missing")
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines() == ["b_seed=2", "b_init_param=('a b.pth:encoder:encoder')", "b_kd_lambda=0.5",
                                       "b_use_amp=false", "b_missing=''"]
    shell = subprocess.run(["bash", "-c", f'eval "{got.stdout}"; echo "${{b_init_param[0]%%:*}}|$b_seed"'],
                           text=True, capture_output=True)
    assert shell.stdout == "a b.pth|2\n"
    refused = cli("get", model, "frontend_conf")
    assert refused.returncode == 1 and refused.stderr.startswith("ERROR: ") and "frontend_conf" in refused.stderr
    assert "not found" in cli("get", tmp_path / "nowhere", "seed").stderr

    assert cli("override", model / "config.yaml", "out.yaml", "kd_lambda=1", "kd_temperature=2",
               "--by", "me").returncode == 0
    written = (tmp_path / "out.yaml").read_text()
    assert written.splitlines()[0] == f"# {model / 'config.yaml'} with kd_lambda=1.0, kd_temperature=2.0 (written by me)"
    import yaml

    config = yaml.safe_load(written)
    assert (config["kd_lambda"], config["kd_temperature"], config["seed"]) == (1.0, 2.0, 2)
    assert "is not a number" in cli("override", model / "config.yaml", "o.yaml", "kd_lambda=x").stderr

"""End to end: egs2/mini_synth/st1 with the tiny corpus and tiny configs (several minutes).

Runs every method (baseline, Seq-KD, Seq-Inter, QE, word KD and word KD + fine-tuning); each
student is exp/student_<tag>. Also: the recipes' options, old names refused with their new ones.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from espnet_kd.nbest.format import read_nbest_jsonl
from espnet_kd.utils.kaldi_dir import KaldiDataDir, read_table
from espnet_kd.utils.tokens import read_token_list

from .conftest import run_script
from .tiny_configs import ST_TINY

TINY = ST_TINY


METHODS = ["baseline", "seqkd", "interp:bleu", "qe:backward", "wordkd", "wordkd_ft"]


def _student(method):
    """A method's student dir under exp/ (its tag: seqkd, interpbleu, qebackward, ...)."""
    return f"student_{method.replace(':', '')}"


def _write_pretrained_encoder(recipe, path, seed=0):
    """A checkpoint holding only ``encoder.*`` weights of the tiny students' conformer (as an ASR model's would)."""
    import torch
    from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

    config = yaml.safe_load((recipe / "conf/tuning/train_st_tiny.yaml").read_text())
    torch.manual_seed(seed)
    encoder = ConformerEncoder(input_size=config["frontend_conf"]["n_mels"], **config["encoder_conf"])
    state = {f"encoder.{name}": value for name, value in encoder.state_dict().items()}
    torch.save(state, path)
    return state


def _table_cells(results: str, model: str):
    row = next(line for line in results.splitlines() if line.startswith(f"| {model} |"))
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


@pytest.mark.slow
def test_st_recipe_runs_end_to_end_and_resumes(scratch_recipe):
    recipe = scratch_recipe("mini_synth", "st1")
    methods = METHODS
    # every student but wordkd_ft (which starts from wordkd) starts from this encoder
    pretrained = _write_pretrained_encoder(recipe, recipe / "pretrained_asr.pth")
    result = run_script(recipe, ["./run.sh", *TINY, "--methods", " ".join(methods),
                                 "--pretrained_asr", "pretrained_asr.pth"], timeout=2400)
    assert result.returncode == 0, result.stdout[-4000:]
    for stage in range(1, 15):
        assert re.search(rf"=== stage {stage} done in \d+ s", result.stdout), f"stage {stage} missing"

    # data: text is the Italian translation, text.en the English transcript, for the same utterances
    train = KaldiDataDir.load(recipe / "dump/raw/train")
    corpus = KaldiDataDir.load(recipe / "data/local/mini_synth/train")
    assert train.text == corpus.texts["text.it"]
    assert train.texts["text.en"] == corpus.texts["text.en"]
    # teacher and students share the target token list; the source side has its own
    assert (recipe / "data/tokens/tgt/bpe.model").is_file() and (recipe / "data/tokens/src/bpe.model").is_file()
    target_tokens = read_token_list(recipe / "data/tokens/tgt/tokens.txt")
    source_tokens = read_token_list(recipe / "data/tokens/src/tokens.txt")
    models = ["mt_teacher"] + [_student(m) for m in methods]
    for model in models:
        config = yaml.safe_load((recipe / f"exp/{model}/config.yaml").read_text())
        assert config["token_list"] == target_tokens, model
    assert yaml.safe_load((recipe / "exp/mt_teacher/config.yaml").read_text())["src_token_list"] == source_tokens

    # the MT teacher's n-best covers the training set; Seq-KD labels are its 1-best
    nbest = read_nbest_jsonl(recipe / "exp/mt_teacher/nbest_train/nbest.jsonl")
    assert set(nbest) == set(train.utt_ids)
    assert max(len(hyps) for hyps in nbest.values()) == 4
    seqkd = KaldiDataDir.load(recipe / "dump/raw/train_seqkd")
    for utt in train.utt_ids:
        best = nbest[utt][0].text
        assert seqkd.text[utt] == (best if best else train.text[utt])

    # RESULTS.md: the teacher and one row per student, numbers equal to the score files
    results = (recipe / "RESULTS.md").read_text()
    rows = {"MT teacher (en transcripts → it)": "mt_teacher"}
    rows.update({f"ST {m}": _student(m) for m in methods})
    bleu = {}
    for label, model in rows.items():
        cells = _table_cells(results, label)
        # columns: model, labels, params, seeds, dev BLEU, dev chrF, test BLEU, test chrF, Δ dev, Δ test
        assert cells[3] == "1"
        for column, test_set in ((4, "dev"), (6, "test")):
            score = json.loads((recipe / f"exp/{model}/decode_{test_set}/score.json").read_text())
            assert float(cells[column]) == pytest.approx(score["bleu"], abs=0.006)
            assert float(cells[column + 1]) == pytest.approx(score["chrf"], abs=0.006)
            assert score["num_utts"] == 12 and score["bleu_signature"].startswith("nrefs:1|case:mixed")
        bleu[model] = float(cells[6])
    for method in methods[1:]:
        delta = float(_table_cells(results, f"ST {method}")[9].split()[0])
        assert delta == pytest.approx(bleu[_student(method)] - bleu["student_baseline"], abs=0.011)
    # the fine-tuned student starts from the word-KD student's weights
    assert "Loading pretrained params from exp/student_wordkd/valid.acc.ave.pth" in \
        (recipe / "exp/student_wordkd_ft/train.log").read_text()
    assert (recipe / "exp/mt_teacher/topk_train/meta.json").is_file()
    assert "BLEU signature" in results
    for method in methods:
        log = (recipe / f"exp/{_student(method)}/train.log").read_text()
        loaded = "Loading pretrained params from pretrained_asr.pth:encoder:encoder" in log
        assert loaded == (method != "wordkd_ft"), method
    # the weights were really loaded: a student ends near them (a few small Adam steps),
    # far nearer than an encoder initialised from another seed is
    import torch
    trained = torch.load(recipe / "exp/student_baseline/valid.acc.ave.pth", map_location="cpu")
    other = _write_pretrained_encoder(recipe, recipe / "other_init.pth", seed=1)
    name = next(k for k in pretrained if k.endswith("embed.conv.0.weight"))
    moved = (trained[name] - pretrained[name]).norm()
    assert moved < 0.5 * (other[name] - pretrained[name]).norm(), (moved, name)

    # a rerun resumes: finished training, n-best and decoding are skipped
    nbest_mtime = (recipe / "exp/mt_teacher/nbest_train/nbest.jsonl").stat().st_mtime
    rerun = run_script(recipe, ["./run.sh", *TINY, "--methods", " ".join(methods), "--pretrained_asr",
                                "pretrained_asr.pth", "--stage", "5", "--stop_stage", "12"])
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "exp/mt_teacher is trained" in rerun.stdout
    assert "exp/mt_teacher/nbest_train is complete" in rerun.stdout
    assert "exp/student_seqkd/decode_test is decoded" in rerun.stdout
    assert (recipe / "exp/mt_teacher/nbest_train/nbest.jsonl").stat().st_mtime == nbest_mtime

    _check_wordkd_tuning(recipe)
    _check_more_seeds(recipe)
    _check_unlabeled(recipe)
    _check_heldout_teachers(recipe, train)


def _check_heldout_teachers(recipe, train):
    """--teacher_folds 2: each half of the training set is labelled (n-best, top-k cache) by a teacher trained on the
    other half only; the Seq-KD and word-KD students learn from those labels, the baseline is untouched."""
    from espnet_kd.kd.topk_cache import TopKCache
    from espnet_kd.utils.fingerprint import file_sha256

    options = [*TINY, "--methods", "baseline seqkd wordkd", "--teacher_folds", "2", "--nj", "1",
               "--pretrained_asr", "pretrained_asr.pth", "--stage", "5", "--stop_stage", "10"]
    result = run_script(recipe, ["./run.sh", *options])
    assert result.returncode == 0, result.stdout[-4000:]
    assert "exp/mt_teacher is trained" in result.stdout and "exp/student_baseline is trained" in result.stdout
    joined_nbest = read_nbest_jsonl(recipe / "exp/mt_teacher/nbest_train_folds2/nbest.jsonl")
    seqkd = KaldiDataDir.load(recipe / "dump/raw/train_seqkd_folds2")
    joined_cache = TopKCache(recipe / "exp/mt_teacher/topk_train_folds2")
    assert set(joined_nbest) == set(seqkd.utt_ids) == set(joined_cache) == set(train.utt_ids)
    for fold in (1, 2):
        teacher = recipe / f"exp/mt_teacher_fold{fold}"
        heldout = KaldiDataDir.load(recipe / f"dump/raw/train_folds2/fold{fold}/heldout").utt_ids
        config = yaml.safe_load((teacher / "config.yaml").read_text())
        trained_on = KaldiDataDir.load(recipe / config["train_data_path_and_name_and_type"][1][0].rsplit("/", 1)[0])
        assert sorted(heldout + trained_on.utt_ids) == sorted(train.utt_ids) and not set(heldout) & set(trained_on.utt_ids)
        fold_nbest = read_nbest_jsonl(teacher / "nbest_heldout/nbest.jsonl")
        fold_cache = TopKCache(teacher / "topk_heldout")
        for utt in heldout:   # the labels of a held-out utterance are its fold teacher's
            best = fold_nbest[utt][0].text
            assert seqkd.text[utt] == (best if best else train.text[utt]) and joined_nbest[utt][0].text == best
            assert (joined_cache.stream(utt) == fold_cache.stream(utt)).all()
        assert joined_cache.meta.extra["fold_teachers"][fold - 1]["teacher_sha256"] == \
            file_sha256(teacher / "valid.acc.ave.pth")
    for student, data in (("student_seqkd_folds2", "dump/raw/train_seqkd_folds2/text"),
                          ("student_wordkd_folds2", "exp/mt_teacher/topk_train_folds2")):
        config = yaml.safe_load((recipe / f"exp/{student}/config.yaml").read_text())
        assert data in [entry[0] for entry in config["train_data_path_and_name_and_type"]], student
    assert "held-out teachers" in (recipe / "exp/student_wordkd_folds2/train.log").read_text()
    # the joined labels are kept on a rerun; a speed-perturbed training set is refused before any work
    rerun = run_script(recipe, ["./run.sh", *options[:-4], "--stage", "7", "--stop_stage", "9"])
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "nbest_train_folds2 is joined" in rerun.stdout and "topk_train_folds2 is joined" in rerun.stdout
    refused = run_script(recipe, ["./run.sh", *options, "--speed_perturb_factors", "0.9 1.0"], timeout=120)
    assert refused.returncode != 0 and "--teacher_folds 2 with --speed_perturb_factors" in refused.stdout


def _asr_model_dir(recipe):
    """A tiny random ESPnet ASR model dir (config.yaml, valid.acc.ave.pth) to transcribe the unlabeled set."""
    import shutil

    from tests.tasks import tiny_espnet as tiny

    model_dir = recipe / "asr_model"
    tokens = tiny.write_lines(recipe / "asr_tokens.txt", tiny.TOKENS)
    _, model_file, _ = tiny.make_asr_model(model_dir, tokens, seed=0)
    shutil.move(model_file, model_dir / "valid.acc.ave.pth")
    return model_dir


def _check_unlabeled(recipe):
    """seqkd+unlabeled, stages 1-8: --unlabeled_asr transcribes an unlabeled set, the MT teacher translates the
    transcripts, and the labels join the training set's; or --st_teacher translates the audio. (The student's
    training is any selection student's; its table rows: tests/bin/test_score_bleu_results_table.py.)"""
    asr_model = _asr_model_dir(recipe)
    options = [*TINY, "--local_data_opts", "--size tiny --nj 2 --unlabeled 12", "--unlabeled_sets", "unlabeled",
               "--methods", "seqkd seqkd+unlabeled", "--pretrained_asr", "pretrained_asr.pth"]
    refused = run_script(recipe, ["./run.sh", *options, "--stage", "7"], timeout=120)
    assert refused.returncode != 0 and "--unlabeled_sets need a teacher for their audio" in refused.stdout
    result = run_script(recipe, ["./run.sh", *options, "--unlabeled_asr", str(asr_model),
                                 "--unlabeled_select_opts", "", "--stop_stage", "8"])
    assert result.returncode == 0, result.stdout[-4000:]
    assert "exp/mt_teacher is trained" in result.stdout   # the labelled sets did not change: nothing redone
    # the unlabeled set with the ASR model's 1-best as its transcript (an utterance without one: empty), no text
    transcribed = KaldiDataDir.load(recipe / "dump/raw/unlabeled_transcribed", text="absent", allow_empty_text=True)
    hyps = read_table(recipe / "exp/asr_transcripts_unlabeled/text", allow_empty_value=True)
    assert len(transcribed.utt_ids) == 12 and hyps
    assert transcribed.texts["text.en"] == {utt: hyps.get(utt, "") for utt in transcribed.utt_ids}
    nbest = read_nbest_jsonl(recipe / "exp/mt_teacher/nbest_unlabeled/nbest.jsonl")
    labels = KaldiDataDir.load(recipe / "dump/raw/unlabeled_seqkd")
    assert labels.utt_ids and all(labels.text[utt] == nbest[utt][0].text for utt in labels.utt_ids)
    combined = KaldiDataDir.load(recipe / "dump/raw/train_seqkd_unl")
    assert set(combined.utt_ids) == set(KaldiDataDir.load(recipe / "dump/raw/train_seqkd").utt_ids) | set(labels.utt_ids)
    report = json.loads((recipe / "dump/raw/train_seqkd_unl/combine_report.json").read_text())
    assert [part["utts"] for part in report["parts"]] == [len(combined.utt_ids) - len(labels.utt_ids),
                                                          len(labels.utt_ids)]

    # an ST teacher instead (here the baseline student): its 1-best of the audio are the unlabeled set's labels
    st_teacher = run_script(recipe, ["./run.sh", *options, "--st_teacher", "exp/student_baseline",
                                     "--unlabeled_select_opts", "", "--stage", "7", "--stop_stage", "8"])
    assert st_teacher.returncode == 0, st_teacher.stdout[-4000:]
    st_nbest = read_nbest_jsonl(recipe / "exp/st_teacher_nbest_unlabeled/nbest.jsonl")
    labels = KaldiDataDir.load(recipe / "dump/raw/unlabeled_seqkd")
    assert labels.utt_ids and all(labels.text[utt] == st_nbest[utt][0].text for utt in labels.utt_ids)


def _check_more_seeds(recipe):
    """--seeds "0 1": seed 0's students are reused, seed 1's trained beside them; the table averages both."""
    import statistics

    result = run_script(recipe, ["./run.sh", *TINY, "--methods", "baseline seqkd", "--seeds", "0 1",
                                 "--pretrained_asr", "pretrained_asr.pth", "--stage", "10", "--stop_stage", "14"])
    assert result.returncode == 0, result.stdout[-4000:]
    assert "exp/student_baseline is trained" in result.stdout
    for tag in ("baseline", "seqkd"):
        config = yaml.safe_load((recipe / f"exp/student_{tag}_seed1/config.yaml").read_text())
        assert config["seed"] == 1
    results = (recipe / "RESULTS.md").read_text()
    cells = _table_cells(results, "ST seqkd")
    bleus = [json.loads((recipe / f"exp/{d}/decode_test/score.json").read_text())["bleu"]
             for d in ("student_seqkd", "student_seqkd_seed1")]
    assert cells[3] == "2" and cells[6] == f"{statistics.mean(bleus):.2f} ± {statistics.stdev(bleus):.2f}"
    assert cells[9].endswith("resolved") and "## Per seed" in results and "## Convergence" in results
    assert (recipe / "learning_curves.png").is_file()


def _check_wordkd_tuning(recipe):
    """tune_wordkd.sh: wordkd at another λ and T, and the baseline, at a second seed, on the recipe's shared inputs
    (seed 0 of the baseline is the recipe's own student)."""
    refused = run_script(recipe, ["./tune_wordkd.sh", "--stage", "3"], timeout=120)
    assert refused.returncode != 0 and "--stage is set by this script" in refused.stdout
    teacher_mtime = (recipe / "exp/mt_teacher/valid.acc.ave.pth").stat().st_mtime
    tuned = run_script(recipe, ["./tune_wordkd.sh", *TINY, "--lambdas", "0.5", "--temperatures", "2",
                                "--seeds", "1"])
    assert tuned.returncode == 0, tuned.stdout[-4000:]
    tuning = recipe / "tuning/wordkd"
    base = yaml.safe_load((recipe / "conf/tuning/train_st_wordkd_tiny.yaml").read_text())
    for point, seed in (("l0.5_T2_seed1", 1),):
        config = yaml.safe_load((tuning / point / "exp/student_wordkd/config.yaml").read_text())
        assert (config["kd_lambda"], config["kd_temperature"], config["seed"]) == (0.5, 2.0, seed)
        assert config["encoder_conf"] == base["encoder_conf"] and config["max_epoch"] == base["max_epoch"]
        # the same encoder initialisation as the baseline student (read from its config.yaml)
        assert f"Loading pretrained params from {recipe / 'pretrained_asr.pth'}:encoder:encoder" in \
            (tuning / point / "exp/student_wordkd/train.log").read_text()
    assert yaml.safe_load((tuning / "baseline_seed1/exp/student_baseline/config.yaml").read_text())["seed"] == 1
    assert (recipe / "exp/mt_teacher/valid.acc.ave.pth").stat().st_mtime == teacher_mtime
    # every student's row equals its score file; the summary averages the seeds and names the best on dev
    results = (tuning / "RESULTS.md").read_text()
    dev_bleu = {}
    for name, model_dir in (("baseline", recipe / "exp/student_baseline"),
                            ("baseline_seed1", tuning / "baseline_seed1/exp/student_baseline"),
                            ("wordkd", recipe / "exp/student_wordkd"),
                            ("wordkd_l0.5_T2_seed1", tuning / "l0.5_T2_seed1/exp/student_wordkd")):
        dev_bleu[name] = json.loads((model_dir / "decode_dev/score.json").read_text())["bleu"]
        assert float(_table_cells(results, f"ST {name}")[4]) == pytest.approx(dev_bleu[name], abs=0.006)
    # seeds are grouped by their config's λ and T; the recipe's own wordkd student is its setting's seed 0
    summary = (tuning / "SUMMARY.md").read_text()
    recipe_config = yaml.safe_load((recipe / "exp/student_wordkd/config.yaml").read_text())
    recipe_group = f"wordkd_l{recipe_config['kd_lambda']:g}_T{recipe_config['kd_temperature']:g}"
    means = {"baseline": (dev_bleu["baseline"] + dev_bleu["baseline_seed1"]) / 2,
             recipe_group: dev_bleu["wordkd"],
             "wordkd_l0.5_T2": dev_bleu["wordkd_l0.5_T2_seed1"]}
    for group, mean in means.items():
        row = next(line for line in summary.splitlines() if line.startswith(f"| {group} "))
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert cells[1] == ("2" if group == "baseline" else "1")
        assert float(cells[2].split(" ± ")[0]) == pytest.approx(mean, abs=0.006)
    best = max((recipe_group, "wordkd_l0.5_T2"), key=means.get)
    assert f"Best on dev: {best} (" in summary

    # the recipe's own setting at its seed is not trained again; another base config needs another dir
    again = run_script(recipe, ["./tune_wordkd.sh", *TINY, "--lambdas", "1.0", "--temperatures", "1"])
    assert again.returncode == 0, again.stdout[-3000:]
    assert "the recipe's exp/student_wordkd (not trained again)" in again.stdout
    assert not (tuning / "l1.0_T1").exists()
    other = run_script(recipe, ["./tune_wordkd.sh", *TINY, "--wordkd_config", "conf/train_st_wordkd.yaml"],
                       timeout=120)
    assert other.returncode != 0 and "was tuned from another base config" in other.stdout


@pytest.mark.parametrize("args, message", [
    (["--methods", "baseline seqkd wordkd_ft"], "wordkd_ft fine-tunes the wordkd student; list wordkd before it"),
    (["--methods", "baseline magic"], "unknown method 'magic'"),
    (["--methods", "baseline interp:wer2"], "interp needs a metric"),
    (["--methods", "baseline seqkd 1best"], "have the same tag 'seqkd'"),
    (["--methods", ""], "--methods is empty"),
    (["--backward_mt", "maybe"], "--backward_mt must be auto, true or false"),
    (["--tgt_lang", "fr"], "--tgt_lang must be it or de"),
    (["--stgae", "3"], "unknown option --stgae"),
    (["--pretrained_asr", "nowhere/valid.acc.ave.pth"], "--pretrained_asr nowhere/valid.acc.ave.pth not found"),
    (["--decoder", "fast"], "--decoder must be espnet_kd or espnet"),
    (["--seeds", "0 one"], "--seeds must be non-negative integers, not '0 one'"),
    (["--seeds", "1  1"], "--seeds lists a seed twice: '1 1'"),
])
def test_bad_options_stop_before_any_work(scratch_recipe, args, message):
    recipe = scratch_recipe("mini_synth", "st1")
    result = run_script(recipe, ["./run.sh", *args], timeout=120)
    assert result.returncode != 0
    assert message in result.stdout
    assert not (recipe / "data").exists()


@pytest.mark.parametrize("config", ["train_st.yaml", "train_st_wordkd.yaml", "finetune_st.yaml"])
def test_student_encoder_matches_the_asr_teacher_it_starts_from(config):
    """run.sh initialises the students' encoder from ../asr1's teacher: the architectures must agree."""
    from .conftest import REPO_ROOT

    recipes = REPO_ROOT / "egs2/mini_synth"
    teacher = yaml.safe_load((recipes / "asr1/conf/train_teacher.yaml").read_text())
    student = yaml.safe_load((recipes / "st1/conf" / config).read_text())
    for key in ("frontend", "frontend_conf", "normalize", "encoder", "encoder_conf"):
        assert student[key] == teacher[key], key
    assert "--pretrained_asr ../asr1/exp/teacher/valid.acc.ave.pth" in (recipes / "st1/run.sh").read_text()

"""The WSJ recipe's configs build real ESPnet models at the paper's scale, and run.sh's choices
reach the shared stage script."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT, run_script

RECIPE = REPO_ROOT / "egs2/wsj/asr1"
CONF = RECIPE / "conf"
NBPE = 500  # run.sh's --nbpe


@pytest.fixture(scope="module")
def token_list(tmp_path_factory) -> Path:
    """An ESPnet token list of run.sh's BPE size (<blank>, <unk>, pieces, <sos/eos>)."""
    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text("\n".join(["<blank>", "<unk>", *(f"▁p{i}" for i in range(NBPE - 3)), "<sos/eos>"]) + "\n")
    return path


def parse_train_args(task, config: Path, token_list: Path):
    """The training options ESPnet's parser makes of a config (unknown keys are an error there)."""
    return task.get_parser().parse_args([
        "--config", str(config), "--token_list", str(token_list), "--token_type", "bpe", "--normalize", "none",
    ])


def build_and_count(config: Path, token_list: Path) -> int:
    from espnet2.tasks.asr import ASRTask

    model = ASRTask.build_model(parse_train_args(ASRTask, config, token_list))
    return sum(param.numel() for param in model.parameters())


def test_teacher_and_student_at_the_papers_scale(token_list):
    teacher = build_and_count(CONF / "train_teacher.yaml", token_list)
    student = build_and_count(CONF / "train_student.yaml", token_list)
    assert 25e6 <= teacher <= 40e6, teacher
    ratio = teacher / student
    assert 9.8 <= ratio <= 12.0, (teacher, student, ratio)          # Mun'im et al.: 9.8x; "about 1/10"


def model_part(config: dict) -> dict:
    """The keys that define the architecture (what parameters a model has)."""
    keys = ("frontend", "frontend_conf", "specaug", "normalize", "encoder", "encoder_conf", "decoder",
            "decoder_conf", "model_conf")
    return {key: config.get(key) for key in keys}


def test_word_kd_config_parses_for_the_word_kd_task_with_the_student_architecture(token_list):
    from espnet_kd.tasks.asr_word_kd import ASRWordKDTask
    from espnet_kd.tasks.word_kd import word_kd_config

    args = parse_train_args(ASRWordKDTask, CONF / "train_student_wordkd.yaml", token_list)
    config = word_kd_config(args)
    assert (config.kd_lambda, config.temperature, config.topk) == (0.5, 1.0, 8)
    wordkd = yaml.safe_load((CONF / "train_student_wordkd.yaml").read_text())
    student = yaml.safe_load((CONF / "train_student.yaml").read_text())
    assert model_part(wordkd) == model_part(student)
    finetune = yaml.safe_load((CONF / "train_student_wordkd_ft.yaml").read_text())
    assert model_part(finetune) == model_part(student)
    assert build_and_count(CONF / "train_student_wordkd_ft.yaml", token_list) > 0   # a valid ESPnet config


@pytest.mark.parametrize("name", ["decode.yaml", "decode_nbest.yaml"])
def test_decoding_configs_are_accepted_by_espnet_inference(name, tmp_path):
    from espnet2.bin.asr_inference import get_parser

    args = get_parser().parse_args([
        "--config", str(CONF / name), "--output_dir", str(tmp_path), "--data_path_and_name_and_type", "x,speech,sound",
    ])
    assert args.beam_size >= 4                                      # room for the top-4 pseudo-labels
    assert args.lm_weight == 0.0 and args.ctc_weight == pytest.approx(0.3)


def test_run_sh_passes_wsj_choices_to_the_shared_stage_script(tmp_path):
    assert (RECIPE / "asr.sh").resolve() == (REPO_ROOT / "egs2/TEMPLATE/asr1/asr.sh").resolve()
    recipe = tmp_path / "egs2/wsj/asr1"
    shutil.copytree(REPO_ROOT / "egs2/TEMPLATE", tmp_path / "egs2/TEMPLATE", symlinks=True)
    shutil.copytree(RECIPE, recipe, symlinks=True, ignore=shutil.ignore_patterns("data", "dump", "exp"))
    result = run_script(recipe, ["./run.sh", "--help"])             # options parsed, then printed
    assert result.returncode == 0, result.stdout
    for option in ("--train_set train_si284", "--valid_set test_dev93", "--token_type bpe", "--nbpe 500",
                   "--ngpu 1", "--nj 16", "--nbest 4", "--kd_topk 8"):
        assert option in result.stdout, option
    assert "--test_sets test_dev93\\ test_eval92" in result.stdout
    assert "--methods baseline\\ 1best\\ topk:4\\ interp:wer\\ wordkd" in result.stdout

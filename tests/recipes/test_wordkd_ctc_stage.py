"""asr.sh stage 8 for the wordkd_ctc student (word KD + CTC KD), on a scratch recipe whose earlier stages'
outputs are made here with a tiny teacher: the CTC top-k caches are dumped and the student trained with
the --kd_ctc_* options, or the teacher runs online with --wordkd_cache false."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from tests.tasks import tiny_espnet as tiny

from .conftest import copy_recipe, run_script

# the tiny students' config: tiny.ASR_MODEL_OPTIONS as a YAML (global MVN, as asr.sh passes its stats)
STUDENT = {
    "frontend": "default", "frontend_conf": {"n_fft": 128, "win_length": 128, "hop_length": 64, "n_mels": 8},
    "normalize": "global_mvn",
    "encoder": "transformer", "encoder_conf": {"output_size": 8, "attention_heads": 2, "linear_units": 16,
                                               "num_blocks": 1, "input_layer": "conv2d2"},
    "decoder": "transformer", "decoder_conf": {"attention_heads": 2, "linear_units": 16, "num_blocks": 1},
    "model_conf": {"ctc_weight": 0.3, "lsm_weight": 0.1},
    "batch_type": "unsorted", "batch_size": 3, "max_epoch": 1, "num_workers": 0,
    "best_model_criterion": [["valid", "acc", "max"]], "keep_nbest_models": 1,
}


def test_wordkd_ctc_options_and_method_parse(tmp_path):
    """A dry run: asr.sh takes the method and the --kd_ctc_* options and reaches stage 8 (which then
    stops for want of its inputs); the ST recipe refuses the method."""
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    result = run_script(recipe, ["./run.sh", "--stage", "8", "--stop_stage", "8", "--methods", "baseline wordkd_ctc",
                                 "--kd_ctc_weight", "0.5", "--kd_ctc_topk", "8", "--kd_ctc_blank_threshold", "0.9"],
                        timeout=120)
    assert "=== stage 8: student training (baseline wordkd_ctc)" in result.stdout, result.stdout
    assert "unknown option" not in result.stdout and "dump/raw/train/text not found" in result.stdout
    st = copy_recipe(tmp_path / "st", "mini_synth", "st1")
    result = run_script(st, ["./run.sh", "--methods", "baseline wordkd_ctc", "--stage", "14"], timeout=120)
    assert result.returncode != 0 and "method 'wordkd_ctc' is not one the st recipe accepts" in result.stdout


def prepare(recipe):
    """What stages 1-5 leave for stage 8: dump/raw/{train,dev}, tokens, shapes, MVN stats, exp/teacher."""
    for dset, seed in (("train", 0), ("dev", 1)):
        data = tiny.write_wav_data(recipe / "dump/raw" / dset, tiny.KD_TEXTS, seed=seed)
        shapes = recipe / "exp/shapes" / dset
        tiny.write_lines(shapes / "speech_shape",
                         [f"{u} {2400 + 400 * i}" for i, u in enumerate(sorted(tiny.KD_TEXTS))])
        tiny.write_lines(shapes / "text_shape.char",
                         [f"{u} {len(t)},{len(tiny.TOKENS)}" for u, t in sorted(tiny.KD_TEXTS.items())])
        assert (data / "wav.scp").is_file()
    tokens = tiny.write_lines(recipe / "data/tokens/tgt/tokens.txt", tiny.TOKENS)
    stats = recipe / "exp/asr_stats/train/feats_stats.npz"
    stats.parent.mkdir(parents=True)
    np.savez(stats, count=np.array(100.0), sum=np.zeros(8), sum_square=np.full(8, 100.0))
    config, model_file, _ = tiny.make_asr_model(
        recipe / "exp/teacher", tokens, seed=1,
        extra=["--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}"])
    model_file.rename(recipe / "exp/teacher/valid.acc.ave.pth")
    student = recipe / "ctc_kd_student_tiny.yaml"
    student.write_text(yaml.safe_dump({**STUDENT, "kd_lambda": 0.5, "kd_temperature": 1.0, "kd_topk": 4}))
    return student


@pytest.mark.slow
# the cached path only: the online teacher's CTC KD is the same loss (tests/models/test_ctc_kd_model.py
# compares the two), and --wordkd_cache false only leaves the cache streams out (one more slow run)
@pytest.mark.parametrize("cache", ["true"], ids=["ctc_cache"])
def test_stage_8_trains_wordkd_ctc(tmp_path, cache):
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    student = prepare(recipe)
    result = run_script(recipe, [
        "./run.sh", "--stage", "8", "--stop_stage", "8", "--methods", "wordkd_ctc", "--nj", "1",
        "--student_config", str(student), "--wordkd_config", str(student), "--equal_updates", "false",
        "--kd_topk", "4", "--kd_ctc_weight", "0.4", "--kd_ctc_topk", "4", "--kd_ctc_blank_threshold", "0.95",
        "--wordkd_cache", cache], timeout=900)
    assert result.returncode == 0, result.stdout[-4000:]
    model_dir = recipe / "exp/student_wordkd_ctc"
    config = yaml.safe_load((model_dir / "config.yaml").read_text())
    assert (config["kd_ctc_weight"], config["kd_ctc_topk"], config["kd_ctc_blank_threshold"]) == (0.4, 4, 0.95)
    streams = [triple[1] for triple in config["train_data_path_and_name_and_type"]]
    checkpoint = torch.load(model_dir / "checkpoint.pth", weights_only=False)
    assert {"loss_ctc_ref", "loss_ctc_kd", "ctc_kd_frames"} <= set(checkpoint["reporter"]["stats"][1]["train"])
    if cache == "true":
        assert streams == ["speech", "text", "kd_topk", "kd_ctc_topk"]
        for dset in ("train", "dev"):
            meta = json.loads((recipe / f"exp/teacher/topk_ctc_{dset}/meta.json").read_text())
            assert meta["k"] == 4 and meta["extra"]["positions"] == "ctc_frames"
            assert (recipe / f"exp/teacher/topk_ctc_{dset}/.done").is_file()
    else:
        assert streams == ["speech", "text"] and not (recipe / "exp/teacher/topk_ctc_train").exists()

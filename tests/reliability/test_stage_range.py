"""--stage / --stop_stage outside a stage script's stages are errors that list the stages (issue 15, item 4)."""

from __future__ import annotations

import pytest

from tests.recipes.conftest import copy_recipe, run_script

ASR_STAGES = ("stages are 1-11: 1 data, 2 format, 3 tokens, 4 stats, 5 teacher, 6 nbest, 7 select, "
              "8 students, 9 decode, 10 score, 11 results")
ST_STAGES = ("stages are 1-14: 1 data, 2 format, 3 tokens, 4 stats, 5 mt_teacher, 6 mt_backward, 7 nbest, "
             "8 select, 9 topk_cache, 10 students, 11 finetune, 12 decode, 13 score, 14 results")


@pytest.mark.parametrize("args, message", [
    (["--stage", "12"], "--stage 12 is not a stage"),
    (["--stage", "5", "--stop_stage", "3"], "--stage 5 comes after --stop_stage 3, so no stage would run"),
    (["--stage", "abc"], "--stage abc is not a stage"),
    (["--stage", "0"], "--stage 0 is not a stage"),
    (["--stop_stage", "2x"], "--stop_stage 2x is not a stage"),
])
def test_asr_recipe_refuses_a_stage_it_does_not_have(tmp_path, args, message):
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    result = run_script(recipe, ["./run.sh", *args], timeout=120)
    assert result.returncode == 1, result.stdout
    assert f"ERROR: asr.sh: {message}; {ASR_STAGES}" in result.stdout
    assert "=== stage" not in result.stdout and not (recipe / "exp").exists()


def test_st_recipe_refuses_a_stage_it_does_not_have(tmp_path):
    recipe = copy_recipe(tmp_path, "mini_synth", "st1")
    result = run_script(recipe, ["./run.sh", "--stage", "15"], timeout=120)
    assert result.returncode == 1, result.stdout
    assert f"ERROR: st.sh: --stage 15 is not a stage; {ST_STAGES}" in result.stdout
    assert "=== stage" not in result.stdout


def test_stop_stage_past_the_last_runs_to_the_last(tmp_path):
    # --stop_stage 100 (the default, and ESPnet's habit) still means "to the end": stage 11 runs
    # (and stops at its missing inputs), it is not refused
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    result = run_script(recipe, ["./run.sh", "--stage", "11", "--stop_stage", "100"], timeout=120)
    assert "=== stage 11: results table" in result.stdout, result.stdout
    assert "not a stage" not in result.stdout

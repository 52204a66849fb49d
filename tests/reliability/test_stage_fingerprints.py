"""Issue 15, item 3: a stage must not trust outputs made from other inputs or options.

Each stage's done-marker records the sha256 of the files it read and its options
(``stage_done``/``mark_done`` in egs2/TEMPLATE/scripts/common.sh). These tests run the
cheap stages of each mini_synth recipe once with tiny configs, then change one input or
option at a time and check that the stages reading it redo their work, that the others
are still skipped, and that a trained model is never redone silently: the recipe stops,
naming the dir to remove. (Stages 8-9 of asr.sh and 10-12 of st.sh use the same two
helpers, run_training and decode_split, as the stages tested here; scoring
and tables always run.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from espnet_kd.nbest.format import read_nbest_jsonl
from espnet_kd.utils.kaldi_dir import KaldiDataDir
from tests.recipes.conftest import REPO_ROOT, copy_recipe, recipe_env, run_script
from tests.recipes.tiny_configs import ASR_TINY, ST_TINY


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


def with_option(options, name, value):
    """``options`` with ``name``'s value replaced."""
    options = list(options)
    options[options.index(name) + 1] = value
    return options


@pytest.mark.slow
def test_asr_stages_redo_what_changed_and_skip_the_rest(tmp_path):
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    tiny = [*ASR_TINY, "--methods", "baseline 1best", "--test_sets", "test"]
    ok(run_script(recipe, ["./run.sh", *tiny, "--stop_stage", "7"]))
    nbest_file = recipe / "exp/teacher/nbest_train/nbest.jsonl"
    watched = {
        "dump": recipe / "dump/raw/train/wav.scp", "tokens": recipe / "data/tokens/tgt/tokens.txt",
        "stats": recipe / "exp/asr_stats/train/feats_stats.npz", "teacher": recipe / "exp/teacher/valid.acc.ave.pth",
        "nbest": nbest_file, "seqkd": recipe / "dump/raw/train_seqkd/text",
    }
    first = {name: mtime(path) for name, path in watched.items()}

    # another selection option: only the selection is redone, every other stage skips its work
    out = ok(run_script(recipe, ["./run.sh", *tiny, "--select_opts", "--on_empty drop", "--stage", "2",
                                 "--stop_stage", "7"]))
    for line in ("dump/raw/train is formatted", "data/tokens/tgt/tokens.txt exists",
                 "exp/asr_stats/train/feats_stats.npz exists", "exp/teacher is trained",
                 "exp/teacher/nbest_train is complete"):
        assert line in out, line
    assert {name: mtime(path) for name, path in watched.items() if name != "seqkd"} == \
        {name: value for name, value in first.items() if name != "seqkd"}
    assert "dump/raw/train_seqkd: the options changed ('--method 1best' → '--method 1best --on_empty drop') " \
           "since it was made: selecting again" in out
    assert mtime(watched["seqkd"]) != first["seqkd"]

    # another --nbest and an edited decoding config (a file's content, not its name): the n-best list
    # is decoded again, and the selection made from it again
    config = recipe / "conf/tuning/decode_nbest_tiny.yaml"
    config.write_text(config.read_text() + "penalty: 0.5\n")
    out = ok(run_script(recipe, ["./run.sh", *tiny, "--nbest", "2", "--stage", "6", "--stop_stage", "7"]))
    assert "exp/teacher/nbest_train: conf/tuning/decode_nbest_tiny.yaml changed; the options changed" in out
    assert "--nbest 4" in out and "decoding again" in out
    assert max(len(hyps) for hyps in read_nbest_jsonl(nbest_file).values()) == 2
    assert "dump/raw/train_seqkd: exp/teacher/nbest_train/nbest.jsonl changed; the options changed" in out

    # the data made again at another size: stages 2-4 redo their work (not the dev set's format)
    # and the teacher, trained on the old data, is not silently kept, nor retrained
    small = with_option(tiny, "--local_data_opts", "--size 40:12:12 --nj 2")
    result = run_script(recipe, ["./run.sh", *small, "--stop_stage", "5"])
    out = result.stdout
    assert "dump/raw/train: data/train changed since it was made: formatting again" in out
    assert len(KaldiDataDir.load(recipe / "dump/raw/train").utt_ids) == 40
    assert len((recipe / "exp/shapes/train/speech_shape").read_text().splitlines()) == 40
    assert "data/tokens/tgt: dump/raw/train/text changed since it was made: making the tokens again" in out
    assert re.search(r"exp/asr_stats: [^\n]*dump/raw/train/wav\.scp changed[^\n]*: computing them again", out)
    assert result.returncode != 0
    assert "it is a trained model, not redone: remove exp/teacher to train it again" in out
    assert mtime(watched["teacher"]) == first["teacher"]


@pytest.mark.slow
def test_st_stages_redo_what_changed_and_skip_the_rest(tmp_path):
    recipe = copy_recipe(tmp_path, "mini_synth", "st1")
    tiny = [*ST_TINY, "--methods", "baseline seqkd wordkd", "--test_sets", "test"]
    ok(run_script(recipe, ["./st.sh", *tiny, "--stop_stage", "9"]))
    nbest_file = recipe / "exp/mt_teacher/nbest_train/nbest.jsonl"
    topk_meta = recipe / "exp/mt_teacher/topk_train/meta.json"
    # another --kd_topk: both caches are dumped again, every other stage skips its work
    nbest_mtime = mtime(nbest_file)
    out = ok(run_script(recipe, ["./st.sh", *tiny, "--kd_topk", "4", "--stage", "2", "--stop_stage", "9"]))
    for line in ("dump/raw/train is formatted", "data/tokens/src/tokens.txt exists", "data/tokens/tgt/tokens.txt exists",
                 "exp/st_stats/train/feats_stats.npz exists", "exp/mt_teacher is trained",
                 "exp/mt_teacher/nbest_train is complete", "dump/raw/train_seqkd is selected"):
        assert line in out, line
    assert "exp/mt_teacher/topk_dev: the options changed" in out
    assert "exp/mt_teacher/topk_train: the options changed ('--k 8' → '--k 4') since it was made: dumping it again" in out
    assert '"k": 4' in topk_meta.read_text()
    assert "exp/mt_teacher/nbest_train is complete" in out and mtime(nbest_file) == nbest_mtime
    # another --nbest: the n-best list and the selection made from it
    out = ok(run_script(recipe, ["./st.sh", *with_option(tiny, "--nbest", "2"), "--kd_topk", "4",
                                 "--stage", "7", "--stop_stage", "9"]))
    assert mtime(nbest_file) != nbest_mtime
    assert "exp/mt_teacher/nbest_train: the options changed" in out
    assert max(len(hyps) for hyps in read_nbest_jsonl(nbest_file).values()) == 2
    assert "dump/raw/train_seqkd: exp/mt_teacher/nbest_train/nbest.jsonl changed" in out
    assert "exp/mt_teacher/topk_train is complete" in out

    # one translation edited in data/: the format, the target tokens and the statistics are made again,
    # the source tokens (the transcripts did not change) are not; the MT teacher stops the recipe
    text = recipe / "data/train/text"
    lines = text.read_text().splitlines(keepends=True)
    text.write_text("".join([lines[0].split()[0] + " una frase nuova\n", *lines[1:]]))
    src_tokens = mtime(recipe / "data/tokens/src/tokens.txt")
    result = run_script(recipe, ["./st.sh", *tiny, "--stage", "2", "--stop_stage", "5"])
    out = result.stdout
    assert "dump/raw/train: data/train changed since it was made: formatting again" in out
    assert "dump/raw/dev is formatted" in out
    assert "data/tokens/src/tokens.txt exists" in out and mtime(recipe / "data/tokens/src/tokens.txt") == src_tokens
    assert "data/tokens/tgt: dump/raw/train/text changed since it was made: making the tokens again" in out
    assert re.search(r"exp/st_stats: [^\n]*dump/raw/train/text changed[^\n]*: computing them again", out)
    assert result.returncode != 0
    assert re.search(r"exp/mt_teacher: [^\n]*dump/raw/train/text changed", out)
    assert "remove exp/mt_teacher to train it again" in out


def test_training_fingerprint_refuses_a_changed_input_and_trusts_an_old_marker(tmp_path):
    """training_done (common.sh) directly: a new model trains, a trained one is skipped, one trained
    from a file that changed since stops with the dir to remove, an older version's empty .done is
    trusted and given a fingerprint."""
    (tmp_path / "conf.yaml").write_text("lr: 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "text").write_text("u1 a\n")
    script = tmp_path / "t.sh"
    script.write_text(
        "set -euo pipefail\n"
        f". {REPO_ROOT}/egs2/TEMPLATE/scripts/common.sh\n"
        "if training_done exp/m --config conf.yaml --train_data data/text,text,text --output_dir exp/m; then\n"
        "    echo SKIPPED\nelse\n    echo TRAINING; mkdir -p exp/m; mark_trained exp/m\nfi\n"
    )
    def run():
        return subprocess.run(["bash", str(script)], cwd=tmp_path, env=recipe_env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert "TRAINING" in run().stdout
    assert "SKIPPED" in run().stdout
    (tmp_path / "data" / "text").write_text("u1 b\n")
    result = run()
    assert result.returncode == 1 and "SKIPPED" not in result.stdout and "TRAINING" not in result.stdout
    assert "exp/m: data/text changed since it was made; it is a trained model, not redone: " \
           "remove exp/m to train it again" in result.stdout
    (tmp_path / "exp" / "m" / ".done").write_text("")   # an older version's marker
    result = run()
    assert "SKIPPED" in result.stdout and "has no fingerprint (an older version's): trusting it" in result.stdout
    assert "SKIPPED" in run().stdout

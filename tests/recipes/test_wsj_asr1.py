"""egs2/wsj/asr1 data preparation through run.sh on a WSJ-shaped tree (db.sh overridden by
WSJ0 / WSJ1 in the environment), and the shared format stage reading the SPHERE audio."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile

from espnet_kd.utils.kaldi_dir import write_table

from tests.corpora import wsj_tree

from .conftest import copy_recipe, recipe_env


def run_recipe(recipe, args, wsj0=None, wsj1=None):
    env = recipe_env()
    env.pop("WSJ0", None), env.pop("WSJ1", None)
    env.update({key: str(value) for key, value in (("WSJ0", wsj0), ("WSJ1", wsj1)) if value is not None})
    return subprocess.run(args, cwd=recipe, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600, check=False)


def test_run_sh_stage_1_and_2_on_a_wsj_shaped_tree(tmp_path):
    tree = wsj_tree.write_wsj_tree(tmp_path / "corpus")
    recipe = copy_recipe(tmp_path, "wsj", "asr1")
    # data.sh's default noise word is ESPnet's <NOISE> (tests/corpora/test_wsj.py checks the other settings)
    result = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "2"], tree["wsj0"], tree["wsj1"])
    assert result.returncode == 0, result.stdout
    for set_name in ("train_si284", "test_dev93", "test_eval92"):
        data_dir = recipe / "data" / set_name
        assert sorted(p.name for p in data_dir.iterdir()) == ["spk2utt", "text", "utt2spk", "wav.scp"]
        for file_name, content in wsj_tree.expected_files(tree, set_name).items():
            assert (data_dir / file_name).read_text() == content, (set_name, file_name)
        # stage 2 turned every .wv1 into a 16 kHz PCM WAV with the same samples
        dump = recipe / "dump/raw" / set_name
        num_samples = dict(line.split() for line in (dump / "utt2num_samples").read_text().splitlines())
        for line in (dump / "wav.scp").read_text().splitlines():
            utt, wav = line.split(maxsplit=1)
            samples, rate = soundfile.read(wav, dtype="int16")
            assert rate == 16000 and np.array_equal(samples, wsj_tree.utterance_samples(utt))
            assert int(num_samples[utt]) == len(samples)
    assert (recipe / "data/nlsyms.txt").read_text() == "<*IN*>\n<NOISE>\n"
    # a rerun skips the prepared sets
    again = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1"], tree["wsj0"], tree["wsj1"])
    assert again.returncode == 0 and "is prepared" in again.stdout


def test_nlsyms_are_tokens_and_are_removed_before_scoring(tmp_path):
    tree = wsj_tree.write_wsj_tree(tmp_path / "corpus")
    recipe = copy_recipe(tmp_path, "wsj", "asr1")
    result = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "3", "--nbpe", "40"],
                        tree["wsj0"], tree["wsj1"])
    assert result.returncode == 0, result.stdout
    # stage 3: data/nlsyms.txt (auto) made each symbol a sentencepiece user-defined symbol
    tokens = (recipe / "data/tokens/tgt/tokens.txt").read_text().split()
    assert "<NOISE>" in tokens and "<*IN*>" in tokens
    # stage 10 strips them from both sides: eval92's <NOISE>-only utterance is an empty reference, its
    # hypothesis "UH" one insertion; dev93's hypotheses drop the <NOISE> of 4k0c0302 and add one
    refs = {name: wsj_tree.expected_text(name) for name in ("test_dev93", "test_eval92")}
    hyps = {"test_dev93": {**refs["test_dev93"], "4k0c0302": "<NOISE> DEV SENTENCE"},
            "test_eval92": {**refs["test_eval92"], "440c0203": "UH <NOISE>"}}
    for model in ("teacher", "student_baseline"):
        for name, table in hyps.items():
            write_table(recipe / f"exp/{model}/decode_{name}/text", table)
    result = run_recipe(recipe, ["./run.sh", "--stage", "10", "--stop_stage", "10", "--methods", "baseline"])
    assert result.returncode == 0, result.stdout
    dev = json.loads((recipe / "exp/teacher/decode_test_dev93/score.json").read_text())
    assert dev["wer"] == 0.0 and dev["nlsyms_removed"] == ["<*IN*>", "<NOISE>"]
    assert dev["ref_words"] == wsj_tree.TREE_REF_WORDS["test_dev93"]
    ev = json.loads((recipe / "exp/student_baseline/decode_test_eval92/score.json").read_text())
    assert (ev["insertions"], ev["ref_words"], ev["empty_refs"]) == (1, 6, 1)
    assert ev["wer"] == pytest.approx(100 / 6)
    # --nlsyms_txt none scores them as words: eval92 has 7 reference words, <NOISE> among them
    result = run_recipe(recipe, ["./run.sh", "--stage", "10", "--stop_stage", "10", "--methods", "baseline",
                                 "--nlsyms_txt", "none"])
    assert result.returncode == 0, result.stdout
    ev = json.loads((recipe / "exp/student_baseline/decode_test_eval92/score.json").read_text())
    assert "nlsyms_removed" not in ev and ev["ref_words"] == 7


def test_data_sh_without_the_corpus_is_a_clear_error(tmp_path):
    recipe = copy_recipe(tmp_path, "wsj", "asr1")
    unset = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1"])
    assert unset.returncode != 0 and "WSJ0 is not set" in unset.stdout and "db.sh" in unset.stdout
    wrong = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1"], tmp_path / "no", tmp_path / "no")
    assert wrong.returncode != 0 and "not found (set WSJ0 / WSJ1 in db.sh)" in wrong.stdout
    assert not (recipe / "data" / "train_si284").exists()

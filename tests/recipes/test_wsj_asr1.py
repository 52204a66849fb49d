"""egs2/wsj/asr1 data preparation through run.sh on a WSJ-shaped tree (db.sh overridden by
WSJ0 / WSJ1 in the environment), and the shared format stage reading the SPHERE audio."""

from __future__ import annotations

import subprocess

import numpy as np
import soundfile

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
    # ESPnet's noise word, whatever data.sh's default (tests/corpora/test_wsj.py checks the other settings)
    result = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "2",
                                 "--local_data_opts", "--noise_word <NOISE>"], tree["wsj0"], tree["wsj1"])
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
    again = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1",
                                "--local_data_opts", "--noise_word <NOISE>"], tree["wsj0"], tree["wsj1"])
    assert again.returncode == 0 and "is prepared" in again.stdout


def test_data_sh_without_the_corpus_is_a_clear_error(tmp_path):
    recipe = copy_recipe(tmp_path, "wsj", "asr1")
    unset = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1"])
    assert unset.returncode != 0 and "WSJ0 is not set" in unset.stdout and "db.sh" in unset.stdout
    wrong = run_recipe(recipe, ["./run.sh", "--stage", "1", "--stop_stage", "1"], tmp_path / "no", tmp_path / "no")
    assert wrong.returncode != 0 and "not found (set WSJ0 / WSJ1 in db.sh)" in wrong.stdout
    assert not (recipe / "data" / "train_si284").exists()

"""egs2/must_c/st1: local/data.sh and the format/token stages on a small MuST-C-shaped tree."""

from __future__ import annotations

import os
import subprocess

import numpy as np

from espnet_kd.corpora.mini_synth import generate_mini_synth
from espnet_kd.utils.kaldi_dir import KaldiDataDir
from tests.corpora.must_c_tree import write_set

from .conftest import recipe_env


def _run(recipe, args, must_c):
    env = recipe_env()
    env["MUST_C"] = str(must_c)
    return subprocess.run(args, cwd=recipe, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600, check=False)


def test_must_c_recipe_prepares_formats_and_tokenises(scratch_recipe, tmp_path):
    generate_mini_synth(tmp_path / "synth", tmp_path / "synth_data", size="6:2:2", seed=0, nj=1)
    rng = np.random.default_rng(0)
    root = tmp_path / "MUSTC_v1.0"
    planted = {s: write_set(root, s, KaldiDataDir.load(tmp_path / "synth_data" / s), rng) for s in ("train", "dev")}
    recipe = scratch_recipe("must_c", "st1")

    result = _run(recipe, ["local/data.sh", "--lang", "de", "--sets", "train dev"], root)
    assert result.returncode == 0, result.stdout[-3000:]
    for set_name in ("train", "dev"):
        data = KaldiDataDir.load(recipe / "data" / f"{set_name}.en-de")
        assert len(data.utt_ids) == len(planted[set_name]) and data.segments is not None
        assert sorted(data.texts["text.en"].values()) == sorted(p.en for p in planted[set_name])

    # the shared stage script formats the segments and builds both sentencepiece models
    result = _run(recipe, ["./run.sh", "--stage", "2", "--stop_stage", "3", "--ngpu", "0",
                           "--test_sets", "dev.en-de", "--src_nbpe", "40", "--tgt_nbpe", "40"], root)
    assert result.returncode == 0, result.stdout[-3000:]
    formatted = KaldiDataDir.load(recipe / "dump/raw/dev.en-de")
    assert formatted.segments is None and all(os.path.isfile(p) for p in formatted.wav_scp.values())
    assert (recipe / "data/tokens/src/bpe.model").is_file() and (recipe / "data/tokens/tgt/bpe.model").is_file()

    # a YAML / text line-count mismatch stops data.sh with both file names
    de = root / "en-de/data/dev/txt/dev.de"
    de.write_text(de.read_text() + "Eine Zeile zu viel.\n")
    result = _run(recipe, ["local/data.sh", "--lang", "de", "--sets", "dev"], root)
    assert result.returncode == 1
    assert "dev.yaml has 2 segments but" in result.stdout and "dev.de has 3 lines" in result.stdout
    # and a missing corpus is named
    result = _run(recipe, ["local/data.sh", "--lang", "fr"], root)
    assert result.returncode == 1 and "MuST-C en-fr not found" in result.stdout

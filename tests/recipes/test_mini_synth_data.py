"""egs2/mini_synth/{asr1,st1}/local/data.sh: the corpus's data dirs, and --unlabeled N (tiny sizes)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

from espnet_kd.utils.kaldi_dir import read_table

from .conftest import recipe_env


def _data_sh(recipe: Path, corpus: Path, args: List[str]) -> subprocess.CompletedProcess:
    env = recipe_env()
    env["MINI_SYNTH"] = str(corpus)
    return subprocess.run(["local/data.sh", *args], cwd=recipe, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)


def _files(directory: Path) -> List[str]:
    return sorted(path.name for path in directory.iterdir())


def test_asr1_data_sh_makes_and_removes_the_unlabeled_set(scratch_recipe, tmp_path):
    recipe, corpus = scratch_recipe("mini_synth", "asr1"), tmp_path / "corpus"
    result = _data_sh(recipe, corpus, ["--size", "2:1:1", "--nj", "1", "--unlabeled", "2"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert _files(recipe / "data" / "unlabeled") == ["spk2utt", "utt2spk", "wav.scp"]
    assert set(read_table(corpus / "unlabeled" / "truth" / "text.en")) == \
        set(read_table(recipe / "data" / "unlabeled" / "utt2spk"))
    train_text = (recipe / "data" / "train" / "text").read_bytes()
    # --generate false checks the unlabeled set too
    assert _data_sh(recipe, corpus, ["--generate", "false", "--unlabeled", "2"]).returncode == 0
    result = _data_sh(recipe, corpus, ["--size", "2:1:1", "--nj", "1"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert not (recipe / "data" / "unlabeled").exists()
    assert (recipe / "data" / "train" / "text").read_bytes() == train_text
    result = _data_sh(recipe, corpus, ["--generate", "false", "--unlabeled", "2"])
    assert result.returncode == 1 and "data/unlabeled not found and --generate false" in result.stdout


def test_st1_data_sh_copies_the_unlabeled_set_without_texts(scratch_recipe, tmp_path):
    recipe, corpus = scratch_recipe("mini_synth", "st1"), tmp_path / "corpus"
    result = _data_sh(recipe, corpus, ["--size", "2:1:1", "--nj", "1", "--tgt_lang", "de", "--unlabeled", "3"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert _files(recipe / "data" / "unlabeled") == ["spk2utt", "utt2spk", "wav.scp"]
    assert len(read_table(recipe / "data" / "unlabeled" / "wav.scp")) == 3
    assert _files(recipe / "data" / "train") == ["spk2utt", "text", "text.en", "utt2spk", "wav.scp"]
    assert read_table(recipe / "data" / "train" / "text") == \
        read_table(recipe / "data" / "local" / "mini_synth" / "train" / "text.de")
    assert not list((recipe / "data").glob(".*.tmp"))

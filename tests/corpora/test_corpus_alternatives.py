"""The corpus's translation alternatives (variants on): where they go, what they hold, and the
re-plan-only path that writes them for a corpus already generated."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from espnet_kd.corpora.mini_synth import (
    ALTERNATIVES_DIR,
    ALTERNATIVES_FILES,
    DONE_MARKER,
    SET_NAMES,
    generate_mini_synth,
    write_mini_synth_alternatives,
)
from espnet_kd.utils.kaldi_dir import c_sorted, read_table

SIZE = "4:6:6"


def _files(root: Path, top: str) -> Dict[str, bytes]:
    """Every file under ``root/top``, by path under root."""
    return {str(path.relative_to(root)): path.read_bytes()
            for path in sorted((root / top).rglob("*")) if path.is_file()}


def _alternatives(root: Path) -> Dict[str, bytes]:
    return {name: data for name, data in _files(root, "corpus").items() if f"/{ALTERNATIVES_DIR}/" in name}


def _records(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _copy(corpus: Path, root: Path) -> Path:
    """A copy of the corpus, its done-marker naming the copy's out_dir (wav.scp still names the
    original's wavs, which the alternatives do not read)."""
    shutil.copytree(corpus, root)
    marker = root / "data" / DONE_MARKER
    marker.write_text(marker.read_text().replace(str((corpus / "corpus").resolve()), str((root / "corpus").resolve())))
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A tiny corpus with translation variants and a small unlabeled set, generated once."""
    root = tmp_path_factory.mktemp("alternatives")
    generate_mini_synth(root / "corpus", root / "data", size=SIZE, seed=3, translation_variants=True, unlabeled=2)
    return root


def test_every_reference_is_among_its_alternatives(corpus):
    for set_name in SET_NAMES:
        for lang, file_name in ALTERNATIVES_FILES.items():
            path = corpus / "corpus" / set_name / ALTERNATIVES_DIR / file_name
            records = _records(path)
            reference = read_table(corpus / "data" / set_name / f"text.{lang}")
            assert [record["utt_id"] for record in records] == c_sorted(reference) == list(reference)
            for record in records:
                assert set(record) == {"utt_id", "alternatives"}
                alternatives = record["alternatives"]
                assert alternatives == sorted(set(alternatives)) and len(alternatives) <= 8
                assert reference[record["utt_id"]] in alternatives
    # some utterance has more than one: the references are one choice among several
    assert any(len(record["alternatives"]) > 1
               for record in _records(corpus / "corpus" / "test" / ALTERNATIVES_DIR / "text.it.jsonl"))
    # outside the data dirs, and none for the unlabeled set
    assert not list((corpus / "data").rglob("*.jsonl"))
    assert not (corpus / "corpus" / "unlabeled" / ALTERNATIVES_DIR).exists()


def test_the_alternatives_are_deterministic_from_the_seed(corpus, tmp_path):
    generate_mini_synth(tmp_path / "corpus", tmp_path / "data", size=SIZE, seed=3, translation_variants=True)
    assert _alternatives(tmp_path) == _alternatives(corpus)


def test_the_replan_only_path_writes_the_same_files_and_nothing_else(corpus, tmp_path):
    root = _copy(corpus, tmp_path / "copy")
    expected = _alternatives(corpus)
    others = {name: data for name, data in {**_files(root, "data"), **_files(root, "corpus")}.items()
              if f"/{ALTERNATIVES_DIR}/" not in name}
    for set_name in SET_NAMES:
        shutil.rmtree(root / "corpus" / set_name / ALTERNATIVES_DIR)
    written = write_mini_synth_alternatives(root / "corpus", root / "data", size=SIZE, seed=3)
    assert len(written) == 6 and all(path.is_file() for path in written)
    assert _alternatives(root) == expected
    assert {name: data for name, data in {**_files(root, "data"), **_files(root, "corpus")}.items()
            if f"/{ALTERNATIVES_DIR}/" not in name} == others

    # the CLI's --alternatives_only: the same files again
    for set_name in SET_NAMES:
        shutil.rmtree(root / "corpus" / set_name / ALTERNATIVES_DIR)
    result = _cli("--out_dir", str(root / "corpus"), "--data_dir", str(root / "data"), "--size", SIZE,
                  "--seed", "3", "--translation_variants", "true", "--alternatives_only", "true")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert _alternatives(root) == expected


def test_a_rerun_writes_missing_alternatives_without_synthesis(corpus, tmp_path):
    """A corpus generated before the alternatives existed gets them from a rerun with its arguments."""
    root = _copy(corpus, tmp_path / "copy")
    for set_name in SET_NAMES:
        shutil.rmtree(root / "corpus" / set_name / ALTERNATIVES_DIR)
    wav = next((root / "corpus" / "train").glob("*.wav"))
    mtime = wav.stat().st_mtime_ns
    generate_mini_synth(root / "corpus", root / "data", size=SIZE, seed=3, translation_variants=True, unlabeled=2)
    assert wav.stat().st_mtime_ns == mtime
    assert _alternatives(root) == _alternatives(corpus)


def test_replan_only_refusals(corpus, tmp_path):
    with pytest.raises(ValueError, match="only for a corpus generated with translation_variants on"):
        write_mini_synth_alternatives(corpus / "corpus", corpus / "data", size=SIZE, seed=3,
                                      translation_variants=False)
    with pytest.raises(ValueError, match="records size 4:6:6 seed 3 .*not size 4:6:6 seed 4"):
        write_mini_synth_alternatives(corpus / "corpus", corpus / "data", size=SIZE, seed=4)
    with pytest.raises(ValueError, match="holds no generated mini_synth corpus"):
        write_mini_synth_alternatives(tmp_path / "corpus", tmp_path / "data", size=SIZE, seed=3)
    # a data dir whose translations are not the plan's (another generator version)
    root = _copy(corpus, tmp_path / "copy")
    text = root / "data" / "dev" / "text.de"
    lines = text.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0] + " extra"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="text.de is not the re-planned corpus's"):
        write_mini_synth_alternatives(root / "corpus", root / "data", size=SIZE, seed=3)
    # and the CLI: one line, exit status 2, without variants
    result = _cli("--out_dir", str(corpus / "corpus"), "--data_dir", str(corpus / "data"), "--size", SIZE,
                  "--seed", "3", "--alternatives_only", "true")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "translation_variants on" in result.stderr


def test_without_variants_there_are_no_alternatives(tmp_path):
    out_dir, data_dir = tmp_path / "corpus", tmp_path / "data"
    generate_mini_synth(out_dir, data_dir, size="2:1:1", seed=0, translation_variants=True)
    assert (out_dir / "dev" / ALTERNATIVES_DIR / "text.it.jsonl").is_file()
    generate_mini_synth(out_dir, data_dir, size="2:1:1", seed=0)   # regenerated with the plain rules
    assert not any((out_dir / set_name / ALTERNATIVES_DIR).exists() for set_name in SET_NAMES)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "espnet_kd.bin.make_mini_synth", *args],
                          capture_output=True, text=True, timeout=120)

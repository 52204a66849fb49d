"""Combining the training set's pseudo-labels with those of the unlabeled sets (espnet_kd.utils.combine,
espnet_kd.bin.combine_data_dirs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from espnet_kd.utils.combine import combine_data_dirs
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, read_table

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir(prefix: str, count: int, texts: Optional[Dict[str, str]] = None,
             weights: bool = False) -> KaldiDataDir:
    """``count`` utterances ``<prefix>-<i>`` of speaker ``<prefix>``, with ``text`` and the other text tables
    ``texts`` names (table name → value prefix)."""
    utts = [f"{prefix}-{index}" for index in range(count)]
    tables = {"text": {utt: f"label of {utt}" for utt in utts}}
    for name, value in (texts or {}).items():
        tables[name] = {utt: f"{value} {utt}" for utt in utts}
    extra = {"utt2num_samples": {utt: str(1000 + index) for index, utt in enumerate(utts)}}
    if weights:
        extra["utt2weight"] = {utt: "0.5" for utt in utts}
    return KaldiDataDir(wav_scp={utt: f"/audio/{utt}.wav" for utt in utts}, utt2spk={utt: prefix for utt in utts},
                        texts=tables, extra=extra)


def test_combined_dir_holds_every_utterance_and_the_common_tables() -> None:
    labelled = data_dir("spk1", 3, texts={"text.en": "transcript"})
    unlabeled = data_dir("spk2", 2)
    combined = combine_data_dirs({"train_seqkd": labelled, "unlabeled_seqkd": unlabeled})
    result = combined.data_dir
    assert result.utt_ids == ["spk1-0", "spk1-1", "spk1-2", "spk2-0", "spk2-1"]
    assert result.text["spk2-1"] == "label of spk2-1" and result.text["spk1-0"] == "label of spk1-0"
    assert result.wav_scp["spk2-0"] == "/audio/spk2-0.wav"
    assert result.extra["utt2num_samples"]["spk1-2"] == "1002"
    assert set(result.texts) == {"text"}   # text.en: only in the labelled part
    assert combined.dropped_tables == ["text.en"]
    assert combined.utts_by_part == {"train_seqkd": 3, "unlabeled_seqkd": 2}


@pytest.mark.parametrize("parts, message", [
    ({}, "no data dirs to combine"),
    ({"a": data_dir("spk1", 2), "b": data_dir("spk1", 3)}, r"2 utterance id\(s\) are in more than one"),
    ({"a": data_dir("spk1", 2, weights=True), "b": data_dir("spk2", 2)}, "utt2weight is in some .* not in b"),
])
def test_refused_combinations(parts, message) -> None:
    with pytest.raises(DataDirError, match=message):
        combine_data_dirs(parts)


def test_a_part_without_text_is_refused() -> None:
    unlabeled = data_dir("spk2", 2)
    unlabeled.texts = {}
    with pytest.raises(DataDirError, match="b has no text: label it"):
        combine_data_dirs({"a": data_dir("spk1", 2), "b": unlabeled})


def test_cli_writes_the_dir_and_its_report(tmp_path: Path) -> None:
    first, second, out = tmp_path / "train_seqkd", tmp_path / "unlabeled_seqkd", tmp_path / "train_seqkd_unl"
    data_dir("spk1", 3).write(first)
    data_dir("spk2", 2).write(second)
    (second / "select_report.json").write_text(json.dumps(
        {"counts": {"input_utts": 4}, "reasons": {"confidence_dropped": 2}}), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "espnet_kd.bin.combine_data_dirs", "--out_dir", str(out),
                             str(first), str(second)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert list(read_table(out / "text")) == ["spk1-0", "spk1-1", "spk1-2", "spk2-0", "spk2-1"]
    assert read_table(out / "spk2utt") == {"spk1": "spk1-0 spk1-1 spk1-2", "spk2": "spk2-0 spk2-1"}
    report = json.loads((out / "combine_report.json").read_text(encoding="utf-8"))
    assert report["utts"] == 5
    assert report["parts"][0] == {"dir": str(first), "utts": 3}
    assert report["parts"][1] == {"dir": str(second), "utts": 2, "selection_input_utts": 4,
                                  "selection_reasons": {"confidence_dropped": 2}}
    again = subprocess.run([sys.executable, "-m", "espnet_kd.bin.combine_data_dirs", "--out_dir", str(first),
                            str(first), str(second)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert again.returncode == 1 and "is one of the dirs to combine" in again.stderr
    assert list(read_table(first / "text")) == ["spk1-0", "spk1-1", "spk1-2"]   # nothing lost

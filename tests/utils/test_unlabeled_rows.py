"""Results-table rows of students trained with untranscribed audio (espnet_kd.utils.unlabeled_rows)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
import pytest

from espnet_kd.utils.fileio import InputError
from espnet_kd.utils.significance import paired_bootstrap, wer_from_statistics
from espnet_kd.utils.unlabeled_rows import base_name, label_unlabeled_rows, unlabeled_section


@dataclass
class Row:
    """A table row with one seed's per-utterance [errors, words] on ``test``, scored by WER."""

    name: str
    label: str
    model_dirs: List[Path]
    stats: Optional[np.ndarray] = None

    def score_cell(self, test_set: str) -> str:
        return f"{wer_from_statistics(self.stats.sum(axis=0)):.2f}"

    def difference_to(self, other: "Row", test_set: str, n_resamples: int):
        return paired_bootstrap([self.stats], [other.stats], wer_from_statistics, n_resamples=n_resamples)


def student_dir(tmp_path: Path, name: str, train_dir: Path) -> Path:
    """A model dir whose config.yaml trains on ``train_dir``."""
    model_dir = tmp_path / "exp" / f"student_{name}"
    model_dir.mkdir(parents=True)
    (model_dir / "config.yaml").write_text(
        f"train_data_path_and_name_and_type:\n- - {train_dir}/wav.scp\n  - speech\n  - sound\n"
        f"- - {train_dir}/text\n  - text\n  - text\n", encoding="utf-8")
    return model_dir


def combined_dir(tmp_path: Path, labelled: int, kept: int, decoded: int) -> Path:
    train_dir = tmp_path / "dump" / "train_seqkd_unl"
    train_dir.mkdir(parents=True)
    (train_dir / "combine_report.json").write_text(json.dumps({"parts": [
        {"dir": "dump/raw/train_seqkd", "utts": labelled},
        {"dir": "dump/raw/unlabeled_seqkd", "utts": kept, "selection_input_utts": decoded},
    ]}), encoding="utf-8")
    return train_dir


@pytest.mark.parametrize("name, base", [
    ("seqkd_unl", "seqkd"), ("1best+unlabeled", "seqkd"), ("seqkd+unlabeled", "seqkd"), ("topk4_unl", "topk4"),
    ("seqkd", None), ("baseline", None), ("_unl", None),
])
def test_base_name(name, base) -> None:
    assert base_name(name) == base


def test_rows_are_labelled_with_the_unlabeled_utterances_and_compared_with_their_method(tmp_path) -> None:
    unlabeled = Row("seqkd_unl", "Seq-KD + unlabeled",
                    [student_dir(tmp_path, "seqkd_unl", combined_dir(tmp_path, 800, 720, 800))])
    plain = Row("seqkd", "Seq-KD", [student_dir(tmp_path, "seqkd", tmp_path / "dump" / "train_seqkd")])
    rows = [plain, unlabeled]
    shares = label_unlabeled_rows(rows)
    assert unlabeled.label == "Seq-KD + unlabeled (720 of 800 utts)" and plain.label == "Seq-KD"
    assert shares["seqkd_unl"].labelled_utts == 800
    # per-utterance [errors, words]: the unlabeled student makes one error fewer on each of 50 utterances
    plain.stats, unlabeled.stats = np.tile([[2, 10]], (50, 1)), np.tile([[1, 10]], (50, 1))
    lines = unlabeled_section(rows, shares, "test", "WER (%)", n_resamples=200)
    assert "| Model | Labels | Labelled utts | Unlabeled utts kept | test WER (%) | without unlabeled |" in lines[5]
    table_row = [line for line in lines if line.startswith("| seqkd_unl")]
    assert table_row == ["| seqkd_unl | Seq-KD + unlabeled (720 of 800 utts) | 800 | 720 of 800 utts | 10.00 | "
                         "20.00 | -10.00 [-10.00, -10.00] resolved |"]


def test_without_the_plain_method_the_section_says_so(tmp_path) -> None:
    unlabeled = Row("seqkd_unl", "Seq-KD + unlabeled",
                    [student_dir(tmp_path, "seqkd_unl", combined_dir(tmp_path, 10, 5, 8))])
    shares = label_unlabeled_rows([unlabeled])
    lines = unlabeled_section([unlabeled], shares, "test", "BLEU", n_resamples=200)
    assert any("No row without the unlabeled sets to compare seqkd_unl" in line for line in lines)


def test_a_student_without_a_combined_training_dir_is_a_clear_error(tmp_path) -> None:
    row = Row("seqkd_unl", "Seq-KD + unlabeled", [student_dir(tmp_path, "seqkd_unl", tmp_path / "dump" / "x")])
    with pytest.raises(InputError, match="has no combine_report.json"):
        label_unlabeled_rows([row])

"""Tests for espnet_kd.nbest.espnet_output: reading ESPnet's stock n-best output."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import List

import pytest

from espnet_kd.nbest.espnet_output import parse_score, read_espnet_nbest
from espnet_kd.nbest.format import NBestEntry, NBestFormatError
from espnet_kd.utils.kaldi_dir import DataDirError


def entry(utt: str, rank: int, text: str, token_int: List[int], score: float) -> NBestEntry:
    return NBestEntry(utt, rank, text, token_int, score, logp=None, token_logp=None, scores={})


EXPECTED_NBEST3 = [
    entry("spk1-u1", 1, "hello world", [2, 3], -1.5),
    entry("spk1-u1", 2, "hello", [2], -3.0),
    entry("spk1-u1", 3, "world", [3], -5.5),
    entry("spk1-u2", 1, "good bye", [4, 5], -2.25),
    entry("spk1-u2", 2, "good", [4], -4.125),
    entry("spk2-u1", 1, "bye bye", [5, 5], -0.5),
    entry("spk2-u1", 2, "bye", [5], -1.0),
    entry("spk2-u1", 3, "good bye", [4, 5], -2.0),
    entry("spk2-u2", 1, "", [], -9.0),
]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("-22.3", -22.3),
        ("  -22.3\n", -22.3),
        ("0", 0.0),
        ("1e-3", 0.001),
        ("tensor(-22.3002)", -22.3002),
        ("tensor(-22.3, device='cuda:0')", -22.3),
        ("tensor(-1.5000, dtype=torch.float64)", -1.5),
        ("tensor(-4.25, device='cuda:1', dtype=torch.float16)", -4.25),
        ("tensor(-1., grad_fn=<AddBackward0>)", -1.0),
        ("tensor(-inf)", float("-inf")),
    ],
)
def test_parse_score(value: str, expected: float) -> None:
    assert parse_score(value) == expected


@pytest.mark.parametrize(
    "value", ["", "abc", "tensor()", "tensor(-1.0", "tensor([-1.0, 2.0])", "[-1.0]", "-1.0 -2.0"]
)
def test_parse_score_rejects(value: str) -> None:
    with pytest.raises(
        NBestFormatError, match="cannot read score .*expected a number such as -22.3"
    ):
        parse_score(value)


def test_read_two_jobs_exactly(espnet_jobs: List[Path]) -> None:
    assert read_espnet_nbest(espnet_jobs, nbest=3) == EXPECTED_NBEST3


def test_read_job_order_does_not_matter(espnet_jobs: List[Path]) -> None:
    assert read_espnet_nbest(list(reversed(espnet_jobs)), nbest=3) == EXPECTED_NBEST3


def test_read_fewer_ranks_than_written(espnet_jobs: List[Path]) -> None:
    expected = [e for e in EXPECTED_NBEST3 if e.rank <= 1]
    assert read_espnet_nbest(espnet_jobs, nbest=1) == expected


def test_read_more_ranks_than_any_utt_has(espnet_jobs: List[Path]) -> None:
    entries = read_espnet_nbest(espnet_jobs, nbest=10)
    assert entries[:8] == EXPECTED_NBEST3[:8]
    assert entries[8] == entry("spk2-u1", 4, "hello", [2], -7.0)
    assert entries[9] == EXPECTED_NBEST3[8]


def test_empty_hypothesis_without_trailing_space(espnet_jobs: List[Path]) -> None:
    rank_dir = espnet_jobs[1] / "1best_recog"
    for name in ("text", "token_int", "token"):
        path = rank_dir / name
        path.write_text(path.read_text().replace("spk2-u2 \n", "spk2-u2\n"))
    entries = read_espnet_nbest(espnet_jobs, nbest=3)
    assert entries[-1] == entry("spk2-u2", 1, "", [], -9.0)


def test_merged_dir_reads_the_same(espnet_jobs: List[Path], tmp_path: Path) -> None:
    merged = tmp_path / "merged"
    for rank in (1, 2, 3):
        (merged / f"{rank}best_recog").mkdir(parents=True)
        for name in ("text", "token_int", "score"):
            lines = []
            for job in espnet_jobs:
                path = job / f"{rank}best_recog" / name
                lines += path.read_text().splitlines(keepends=True)
            (merged / f"{rank}best_recog" / name).write_text("".join(sorted(lines)))
    assert read_espnet_nbest([merged], nbest=3) == EXPECTED_NBEST3


def test_utt_in_two_jobs_is_an_error(espnet_jobs: List[Path], tmp_path: Path) -> None:
    copy = tmp_path / "output.3"
    shutil.copytree(espnet_jobs[0], copy)
    with pytest.raises(NBestFormatError, match=r"utt spk1-u\d appears in two decoding output dirs"):
        read_espnet_nbest(espnet_jobs + [copy], nbest=3)


def test_rank_without_lower_rank_is_an_error(espnet_jobs: List[Path]) -> None:
    with open(espnet_jobs[0] / "3best_recog" / "text", "a") as handle:
        handle.write("spk1-u9 good\n")
    for name, value in (("token_int", "4"), ("score", "-1.0")):
        with open(espnet_jobs[0] / "3best_recog" / name, "a") as handle:
            handle.write(f"spk1-u9 {value}\n")
    with pytest.raises(
        NBestFormatError,
        match=r"3best_recog: 1 utterance\(s\) have a rank-3 hypothesis but no rank-2 one.*spk1-u9",
    ):
        read_espnet_nbest(espnet_jobs, nbest=3)


def test_files_covering_different_utts_is_an_error(espnet_jobs: List[Path]) -> None:
    score = espnet_jobs[0] / "2best_recog" / "score"
    score.write_text("spk1-u1 -3.0\n")
    with pytest.raises(
        NBestFormatError, match=r"2best_recog: text and score cover different utterances.*spk1-u2"
    ):
        read_espnet_nbest(espnet_jobs, nbest=3)


def test_missing_file_is_an_error(espnet_jobs: List[Path]) -> None:
    (espnet_jobs[1] / "1best_recog" / "token_int").unlink()
    with pytest.raises(NBestFormatError, match=r"output.2/1best_recog: missing token_int"):
        read_espnet_nbest(espnet_jobs, nbest=3)


def test_dir_without_1best_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NBestFormatError, match=r"empty: no 1best_recog/ inside"):
        read_espnet_nbest([tmp_path / "empty"], nbest=2)
    with pytest.raises(NBestFormatError, match="decoding output dir not found"):
        read_espnet_nbest([tmp_path / "nope"], nbest=2)


def test_bad_score_names_file_and_utt(espnet_jobs: List[Path]) -> None:
    score = espnet_jobs[0] / "1best_recog" / "score"
    score.write_text(score.read_text().replace("tensor(-1.5)", "tensor(oops"))
    with pytest.raises(
        NBestFormatError, match=r"1best_recog/score: utt spk1-u1: cannot read score 'tensor\(oops'"
    ):
        read_espnet_nbest(espnet_jobs, nbest=3)


def test_bad_token_int_is_an_error(espnet_jobs: List[Path]) -> None:
    path = espnet_jobs[0] / "1best_recog" / "token_int"
    path.write_text(path.read_text().replace("2 3", "2 x"))
    with pytest.raises(
        NBestFormatError, match=r"utt spk1-u1: token_int value '2 x' is not a list of integers"
    ):
        read_espnet_nbest(espnet_jobs, nbest=3)


def test_duplicate_line_is_an_error(espnet_jobs: List[Path]) -> None:
    path = espnet_jobs[0] / "1best_recog" / "text"
    path.write_text(path.read_text() + "spk1-u1 again\n")
    with pytest.raises(DataDirError, match=r"1best_recog/text:3: duplicate key 'spk1-u1'"):
        read_espnet_nbest(espnet_jobs, nbest=3)


def test_bad_arguments(espnet_jobs: List[Path]) -> None:
    with pytest.raises(NBestFormatError, match="nbest must be >= 1"):
        read_espnet_nbest(espnet_jobs, nbest=0)
    with pytest.raises(NBestFormatError, match="no decoding output dir given"):
        read_espnet_nbest([], nbest=1)

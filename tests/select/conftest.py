"""A small source data dir and a hand-made n-best list for the selection tests.

References and hypotheses (scores in brackets):

- ``spkA-u1`` "one two three": 1 "one two tree" (-1.0), 2 "one two three" (-2.0),
  3 "one too three" (-4.0)
- ``spkA-u2`` "four five":     1 "" (-3.0, empty),       2 "four five" (-3.5)
- ``spkB-u1`` "six":           1 "six" (-0.5)
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest

from espnet_kd.nbest.format import NBestEntry, write_nbest_jsonl

UTTS = ["spkA-u1", "spkA-u2", "spkB-u1"]
REFERENCES = {"spkA-u1": "one two three", "spkA-u2": "four five", "spkB-u1": "six"}
TRANSLATIONS = {"spkA-u1": "uno due tre", "spkA-u2": "quattro cinque", "spkB-u1": "sei"}
HYPS = {
    "spkA-u1": [("one two tree", -1.0), ("one two three", -2.0), ("one too three", -4.0)],
    "spkA-u2": [("", -3.0), ("four five", -3.5)],
    "spkB-u1": [("six", -0.5)],
}


def make_nbest() -> Dict[str, List[NBestEntry]]:
    return {
        utt: [
            NBestEntry(utt, rank, text, [], score)
            for rank, (text, score) in enumerate(hyps, start=1)
        ]
        for utt, hyps in HYPS.items()
    }


def write_table(path: Path, table: Dict[str, str]) -> None:
    path.write_text(
        "".join(f"{key} {value}\n" for key, value in sorted(table.items())), encoding="utf-8"
    )


def make_source_dir(root: Path, with_segments: bool = False, utts: List[str] = UTTS) -> Path:
    root.mkdir(parents=True)
    if with_segments:
        write_table(
            root / "wav.scp", {"recA": "/audio/recA.wav", "recB": "sox /audio/recB.flac -t wav - |"}
        )
        write_table(
            root / "segments",
            {utt: f"rec{utt[3]} {i}.0 {i}.5" for i, utt in enumerate(utts)},
        )
    else:
        write_table(root / "wav.scp", {utt: f"/audio/{utt}.wav" for utt in utts})
    write_table(root / "utt2spk", {utt: utt.split("-")[0] for utt in utts})
    write_table(root / "spk2utt", {"spkA": "spkA-u1 spkA-u2", "spkB": "spkB-u1"})
    write_table(root / "text", {utt: REFERENCES.get(utt, "extra words") for utt in utts})
    write_table(root / "text.it", {utt: TRANSLATIONS.get(utt, "parole") for utt in utts})
    write_table(root / "utt2dur", {utt: f"1.{i}" for i, utt in enumerate(utts)})
    return root


@pytest.fixture
def nbest() -> Dict[str, List[NBestEntry]]:
    return make_nbest()


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    return make_source_dir(tmp_path / "data" / "train")


@pytest.fixture
def nbest_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "nbest" / "nbest.jsonl"
    write_nbest_jsonl(path, [entry for hyps in make_nbest().values() for entry in hyps])
    return path


@pytest.fixture
def references() -> Dict[str, str]:
    return dict(REFERENCES)


@pytest.fixture
def source_dir_factory(tmp_path: Path):
    """``make(name, with_segments=False, utts=UTTS)`` → a fresh source data dir under tmp_path."""

    def make(name: str = "src", with_segments: bool = False, utts: List[str] = UTTS) -> Path:
        return make_source_dir(tmp_path / name, with_segments=with_segments, utts=utts)

    return make

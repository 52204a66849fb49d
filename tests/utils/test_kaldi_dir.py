"""Tests for espnet_kd.utils.kaldi_dir: reading, validating and writing Kaldi data dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from espnet_kd.utils.kaldi_dir import (
    DataDirError,
    KaldiDataDir,
    c_sorted,
    read_table,
    spk2utt_from_utt2spk,
    write_table,
)


def write_lines(path: Path, lines: list) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def make_dir(root: Path, with_segments: bool = False) -> Path:
    """A valid three-utterance data dir (two speakers), optionally with segments."""
    root.mkdir(parents=True, exist_ok=True)
    utts = ["spkA-u1", "spkA-u2", "spkB-u1"]
    if with_segments:
        write_lines(root / "wav.scp", ["recA /audio/a.wav", "recB /audio/b.wav"])
        write_lines(
            root / "segments",
            ["spkA-u1 recA 0.0 1.0", "spkA-u2 recA 1.0 2.5", "spkB-u1 recB 0.0 0.8"],
        )
    else:
        write_lines(root / "wav.scp", [f"{utt} /audio/{utt}.wav" for utt in utts])
    write_lines(root / "utt2spk", [f"{utt} {utt.split('-')[0]}" for utt in utts])
    write_lines(root / "text", ["spkA-u1 one two", "spkA-u2 three", "spkB-u1 four five six"])
    write_lines(root / "text.en", ["spkA-u1 uno due", "spkA-u2 tre", "spkB-u1 quattro"])
    return root


def test_c_sorted_is_byte_order() -> None:
    keys = ["b", "B", "a-1", "a1", "a_1", "é", "z"]
    assert c_sorted(keys) == ["B", "a-1", "a1", "a_1", "b", "z", "é"]


def test_load_valid_dir(tmp_path: Path) -> None:
    data = KaldiDataDir.load(make_dir(tmp_path / "d"))
    assert data.utt_ids == ["spkA-u1", "spkA-u2", "spkB-u1"]
    assert data.text["spkB-u1"] == "four five six"
    assert set(data.texts) == {"text", "text.en"}
    assert data.segments is None


def test_load_dir_with_segments(tmp_path: Path) -> None:
    data = KaldiDataDir.load(make_dir(tmp_path / "d", with_segments=True))
    assert data.segments is not None and data.segments["spkA-u2"] == "recA 1.0 2.5"
    assert set(data.wav_scp) == {"recA", "recB"}


def test_validation_catches_files_covering_different_utterances(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "d")
    write_lines(root / "text.en", ["spkA-u1 uno", "spkA-u2 tre"])
    with pytest.raises(
        DataDirError, match=r"text.en covers different utterances.*1 missing.*spkB-u1"
    ):
        KaldiDataDir.load(root)


def test_validation_catches_unexpected_utterance(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "d")
    with open(root / "wav.scp", "a", encoding="utf-8") as handle:
        handle.write("spkC-u9 /audio/x.wav\n")
    with pytest.raises(
        DataDirError, match=r"wav.scp covers different utterances.*1 unexpected.*spkC-u9"
    ):
        KaldiDataDir.load(root)


def test_validation_catches_empty_transcript(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "d")
    write_lines(root / "text", ["spkA-u1 one two", "spkA-u2", "spkB-u1 four"])
    with pytest.raises(DataDirError, match=r"text has 1 empty transcript.*spkA-u2"):
        KaldiDataDir.load(root)


def test_validation_catches_duplicate_key(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "d")
    write_lines(root / "utt2spk", ["spkA-u1 spkA", "spkA-u1 spkA", "spkA-u2 spkA", "spkB-u1 spkB"])
    with pytest.raises(DataDirError, match=r"utt2spk:2: duplicate key 'spkA-u1'"):
        KaldiDataDir.load(root)


@pytest.mark.parametrize("missing", ["wav.scp", "text", "utt2spk"])
def test_validation_catches_missing_file(tmp_path: Path, missing: str) -> None:
    root = make_dir(tmp_path / "d")
    (root / missing).unlink()
    with pytest.raises(DataDirError, match=f"missing {missing}"):
        KaldiDataDir.load(root)


def test_missing_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="data dir not found"):
        KaldiDataDir.load(tmp_path / "nope")


def test_segments_naming_unknown_recording(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "d", with_segments=True)
    write_lines(root / "wav.scp", ["recA /audio/a.wav"])
    with pytest.raises(DataDirError, match=r"recordings missing from wav.scp.*recB"):
        KaldiDataDir.load(root)


def test_read_table_empty_value(tmp_path: Path) -> None:
    path = tmp_path / "t"
    write_lines(path, ["a x y", "b", "", "c z"])
    with pytest.raises(DataDirError, match=r"t:2: 'b' has an empty value"):
        read_table(path)
    assert read_table(path, allow_empty_value=True) == {"a": "x y", "b": "", "c": "z"}


def test_write_table_sorts_in_c_locale(tmp_path: Path) -> None:
    path = tmp_path / "t"
    write_table(path, {"b": "2", "B": "1", "a_1": "4", "a-1": "3"})
    assert path.read_text(encoding="utf-8") == "B 1\na-1 3\na_1 4\nb 2\n"


def test_write_round_trip_is_sorted_and_adds_spk2utt(tmp_path: Path) -> None:
    data = KaldiDataDir.load(make_dir(tmp_path / "src"))
    shuffled = KaldiDataDir(
        wav_scp=dict(reversed(list(data.wav_scp.items()))),
        utt2spk=dict(reversed(list(data.utt2spk.items()))),
        texts={name: dict(reversed(list(table.items()))) for name, table in data.texts.items()},
    )
    out = tmp_path / "out"
    shuffled.write(out)
    for name in ("wav.scp", "utt2spk", "text", "text.en", "spk2utt"):
        keys = [line.split()[0] for line in (out / name).read_text(encoding="utf-8").splitlines()]
        assert keys == c_sorted(keys), name
    assert (out / "spk2utt").read_text(encoding="utf-8") == "spkA spkA-u1 spkA-u2\nspkB spkB-u1\n"
    assert KaldiDataDir.load(out) == data
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_write_refuses_an_invalid_dir(tmp_path: Path) -> None:
    data = KaldiDataDir(
        wav_scp={"u1": "a.wav"},
        utt2spk={"u1": "s", "u2": "s"},
        texts={"text": {"u1": "x", "u2": "y"}},
    )
    with pytest.raises(DataDirError, match="wav.scp covers different utterances"):
        data.write(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_spk2utt_from_utt2spk() -> None:
    assert spk2utt_from_utt2spk({"s2-b": "s2", "s1-a": "s1", "s2-a": "s2"}) == {
        "s1": "s1-a",
        "s2": "s2-a s2-b",
    }


def test_subset_keeps_needed_recordings(tmp_path: Path) -> None:
    data = KaldiDataDir.load(make_dir(tmp_path / "d", with_segments=True))
    sub = data.subset(["spkA-u2"])
    assert sub.utt_ids == ["spkA-u2"]
    assert sub.wav_scp == {"recA": "/audio/a.wav"}
    assert sub.texts["text.en"] == {"spkA-u2": "tre"}
    sub.validate()


def test_subset_without_segments(tmp_path: Path) -> None:
    data = KaldiDataDir.load(make_dir(tmp_path / "d"))
    sub = data.subset(["spkB-u1", "spkA-u1"])
    assert sub.utt_ids == ["spkA-u1", "spkB-u1"]
    assert set(sub.wav_scp) == {"spkA-u1", "spkB-u1"}


def test_text_policies_for_unlabeled_sets(tmp_path: Path) -> None:
    """required (default): text must be there; absent: it must not be; optional: either."""
    labelled = make_dir(tmp_path / "labelled")
    unlabeled = make_dir(tmp_path / "unlabeled")
    (unlabeled / "text").unlink()
    with pytest.raises(DataDirError, match="missing text .*unlabeled set"):
        KaldiDataDir.load(unlabeled)
    for policy in ("absent", "optional"):
        data = KaldiDataDir.load(unlabeled, text=policy)
        assert not data.has_text and list(data.texts) == ["text.en"] and len(data.utt_ids) == 3
    assert KaldiDataDir.load(labelled, text="optional").has_text
    with pytest.raises(DataDirError, match="an unlabeled set has no text, but .*labelled/text is there"):
        KaldiDataDir.load(labelled, text="absent")
    with pytest.raises(ValueError, match="text policy must be one of required, absent, optional"):
        KaldiDataDir.load(labelled, text="maybe")
    # the other tables are checked as usual
    write_lines(unlabeled / "text.en", ["spkA-u1 uno due"])
    with pytest.raises(DataDirError, match="text.en covers different utterances"):
        KaldiDataDir.load(unlabeled, text="absent")

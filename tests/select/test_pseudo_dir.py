"""Tests for espnet_kd.select.pseudo_dir: the pseudo-labelled Kaldi data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from espnet_kd.select import Selected, build_selector
from espnet_kd.select.pseudo_dir import build_pseudo_dir, speakers_grouped
from espnet_kd.select.runner import SelectionInputError, check_nbest_matches, run_selection
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, c_sorted


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_one_best_dir_keeps_ids_and_audio(source_dir: Path, nbest, tmp_path: Path) -> None:
    source = KaldiDataDir.load(source_dir)
    result = run_selection(build_selector("1best"), nbest, source)
    pseudo = build_pseudo_dir(source, result.selections)
    assert pseudo.wav_scp == source.wav_scp
    assert pseudo.utt2spk == source.utt2spk
    assert pseudo.text == {"spkA-u1": "one two tree", "spkA-u2": "four five", "spkB-u1": "six"}
    assert pseudo.texts["text.it"] == source.texts["text.it"]
    assert pseudo.extra == source.extra
    pseudo.write(tmp_path / "out")
    assert (
        read(tmp_path / "out" / "text") == "spkA-u1 one two tree\nspkA-u2 four five\nspkB-u1 six\n"
    )
    assert not (tmp_path / "out" / "utt2weight").exists()


def test_topk_dir_duplicates_audio_under_new_ids(source_dir: Path, nbest, tmp_path: Path) -> None:
    source = KaldiDataDir.load(source_dir)
    result = run_selection(build_selector("topk:2", weights="softmax"), nbest, source)
    out = tmp_path / "out"
    build_pseudo_dir(source, result.selections).write(out)
    ids = ["spkA-u1-nb1", "spkA-u1-nb2", "spkA-u2-nb1", "spkA-u2-nb2", "spkB-u1-nb1"]
    assert read(out / "wav.scp") == (
        "spkA-u1-nb1 /audio/spkA-u1.wav\n"
        "spkA-u1-nb2 /audio/spkA-u1.wav\n"
        "spkA-u2-nb1 /audio/spkA-u2.wav\n"
        "spkA-u2-nb2 /audio/spkA-u2.wav\n"
        "spkB-u1-nb1 /audio/spkB-u1.wav\n"
    )
    assert read(out / "utt2spk") == "".join(f"{u} {u[:4]}\n" for u in ids)
    assert (
        read(out / "spk2utt")
        == "spkA spkA-u1-nb1 spkA-u1-nb2 spkA-u2-nb1 spkA-u2-nb2\nspkB spkB-u1-nb1\n"
    )
    assert read(out / "text") == (
        "spkA-u1-nb1 one two tree\n"
        "spkA-u1-nb2 one two three\n"
        "spkA-u2-nb1 four five\n"
        "spkA-u2-nb2 four five\n"
        "spkB-u1-nb1 six\n"
    )
    assert read(out / "text.it") == (
        "spkA-u1-nb1 uno due tre\nspkA-u1-nb2 uno due tre\n"
        "spkA-u2-nb1 quattro cinque\nspkA-u2-nb2 quattro cinque\nspkB-u1-nb1 sei\n"
    )
    assert (
        read(out / "utt2dur")
        == "spkA-u1-nb1 1.0\nspkA-u1-nb2 1.0\nspkA-u2-nb1 1.1\nspkA-u2-nb2 1.1\nspkB-u1-nb1 1.2\n"
    )
    assert read(out / "utt2weight") == (
        "spkA-u1-nb1 0.73105858\nspkA-u1-nb2 0.26894142\n"
        "spkA-u2-nb1 0.62245933\nspkA-u2-nb2 0.37754067\nspkB-u1-nb1 1\n"
    )
    reloaded = KaldiDataDir.load(out)
    assert reloaded.utt_ids == ids


def test_topk_dir_with_segments_duplicates_segment_lines(
    source_dir_factory, nbest, tmp_path: Path
) -> None:
    source = KaldiDataDir.load(source_dir_factory("seg", with_segments=True))
    nbest = {utt: hyps for utt, hyps in nbest.items() if utt != "spkB-u1"}
    result = run_selection(build_selector("topk:2"), nbest, source, allow_missing=True)
    out = tmp_path / "out"
    build_pseudo_dir(source, result.selections).write(out)
    assert read(out / "segments") == (
        "spkA-u1-nb1 recA 0.0 0.5\nspkA-u1-nb2 recA 0.0 0.5\n"
        "spkA-u2-nb1 recA 1.0 1.5\nspkA-u2-nb2 recA 1.0 1.5\n"
    )
    # recB is no longer referenced by any segment
    assert read(out / "wav.scp") == "recA /audio/recA.wav\n"
    assert result.missing_utts == ["spkB-u1"]
    assert result.reasons["no_nbest_entry"] == 1


def test_speaker_order_is_kept_for_awkward_ids(source_dir_factory, tmp_path: Path) -> None:
    utts = ["s1-a", "s1-a-b", "s1-a_c", "s10-a", "s1_x-a"]
    source = KaldiDataDir.load(source_dir_factory("odd", utts=utts))
    picks = [Selected(f"{u}-nb{r}", "w", u, rank=r) for u in utts for r in (1, 2, 3)]
    pseudo = build_pseudo_dir(source, picks)
    assert speakers_grouped(pseudo.utt2spk)
    assert pseudo.utt_ids == c_sorted(pseudo.utt_ids)


def test_speakers_grouped() -> None:
    assert speakers_grouped({"a-1": "a", "a-2": "a", "b-1": "b"})
    assert not speakers_grouped({"x1": "b", "x2": "a"})


def test_broken_speaker_order_is_an_error(source_dir: Path) -> None:
    source = KaldiDataDir.load(source_dir)
    picks = [Selected("zz-1", "a", "spkA-u1"), Selected("aa-1", "b", "spkB-u1")]
    with pytest.raises(DataDirError, match="no longer group speakers"):
        build_pseudo_dir(source, picks)


def test_bad_selections(source_dir: Path) -> None:
    source = KaldiDataDir.load(source_dir)
    with pytest.raises(DataDirError, match="no utterance was selected"):
        build_pseudo_dir(source, [])
    with pytest.raises(DataDirError, match=r"reuse utterance id\(s\), e.g. \['spkA-u1'\]"):
        build_pseudo_dir(
            source, [Selected("spkA-u1", "a", "spkA-u1"), Selected("spkA-u1", "b", "spkA-u2")]
        )
    with pytest.raises(
        DataDirError, match=r"source utterance\(s\) not in the data dir, e.g. \['spkC-u1'\]"
    ):
        build_pseudo_dir(source, [Selected("spkC-u1", "a", "spkC-u1")])
    with pytest.raises(DataDirError, match="some selections have no weight"):
        build_pseudo_dir(
            source,
            [Selected("spkA-u1", "a", "spkA-u1", weight=1.0), Selected("spkA-u2", "b", "spkA-u2")],
        )


def test_check_nbest_matches() -> None:
    assert check_nbest_matches(["a"], ["a", "b"], allow_missing=True) == ["b"]
    with pytest.raises(
        SelectionInputError,
        match=r"1 of 2 data dir utterance\(s\) have no n-best entry, e.g. \['b'\]",
    ):
        check_nbest_matches(["a"], ["a", "b"], allow_missing=False)
    with pytest.raises(
        SelectionInputError,
        match=r"1 n-best utterance id\(s\) are not in the data dir, e.g. \['c'\]",
    ):
        check_nbest_matches(["a", "b", "c"], ["a", "b"], allow_missing=True)

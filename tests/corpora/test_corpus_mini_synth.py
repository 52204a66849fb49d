"""The corpus writer and its CLI, on the tiny size (and smaller), and its unlabeled set."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import soundfile

from espnet_kd.corpora.mini_synth import (
    DONE_MARKER,
    METADATA_FILE,
    SET_NAMES,
    SIZES,
    SetSizes,
    generate_mini_synth,
    parse_size,
    plan_corpus,
)
from espnet_kd.corpora.voices import HELD_OUT_VOICES, TRAIN_VOICES, VOICES_BY_SET, speaker_id
from espnet_kd.utils.kaldi_dir import KaldiDataDir, c_sorted, read_table

UTT_ID = re.compile(r"^(?P<spk>[a-z0-9_]+)-(?P<set>train|dev|test)-(?P<index>\d{5})$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The tiny corpus, seed 0, generated once for this module (nj=1)."""
    root = tmp_path_factory.mktemp("mini_synth")
    generate_mini_synth(root / "corpus", root / "data", size="tiny", seed=0, nj=1)
    return root


def _load(root: Path) -> Dict[str, KaldiDataDir]:
    return {set_name: KaldiDataDir.load(root / "data" / set_name) for set_name in SET_NAMES}


def _wav_bytes(root: Path) -> Dict[str, bytes]:
    return {f"{path.parent.name}/{path.name}": path.read_bytes()
            for path in sorted((root / "corpus").glob("*/*.wav"))}


def _texts(root: Path) -> Dict[str, str]:
    return {f"{set_name}/{name}": (root / "data" / set_name / name).read_text(encoding="utf-8")
            for set_name in SET_NAMES for name in ("text", "text.en", "text.it", "text.de", "utt2spk", "spk2utt")}


def test_data_dirs_are_valid_and_sorted(corpus):
    for set_name, expected in zip(SET_NAMES, SIZES["tiny"]):
        set_dir = corpus / "data" / set_name
        data = KaldiDataDir.load(set_dir)  # validates: same ids in every file, no empty text
        assert len(data.utt2spk) == expected
        for name in ("wav.scp", "text", "text.en", "text.it", "text.de", "utt2spk"):
            keys = list(read_table(set_dir / name))
            assert keys == c_sorted(keys), name
            assert set(keys) == set(data.utt2spk), name
        assert data.texts["text"] == data.texts["text.en"]
        for utt, speaker in data.utt2spk.items():
            match = UTT_ID.match(utt)
            assert match and match["set"] == set_name and match["spk"] == speaker
            wav = Path(data.wav_scp[utt])
            assert wav.is_absolute() and wav.is_file() and wav.name == f"{utt}.wav"
            assert wav.parent == (corpus / "corpus" / set_name).resolve()
        spk2utt = read_table(set_dir / "spk2utt")
        assert sorted(u for line in spk2utt.values() for u in line.split()) == sorted(data.utt2spk)


def test_speakers_held_out_as_designed(corpus):
    data = _load(corpus)
    train_speakers = set(data["train"].utt2spk.values())
    assert train_speakers == {speaker_id(voice) for voice in TRAIN_VOICES}
    held_out = {speaker_id(voice) for voice in HELD_OUT_VOICES}
    for set_name in ("dev", "test"):
        speakers = set(data[set_name].utt2spk.values())
        assert speakers == {speaker_id(voice) for voice in VOICES_BY_SET[set_name]}
        assert held_out <= speakers and not held_out & train_speakers


def test_no_sentence_repeats_across_sets(corpus):
    data = _load(corpus)
    english = {set_name: list(data[set_name].text.values()) for set_name in SET_NAMES}
    for sentences in english.values():
        assert len(sentences) == len(set(sentences))
    assert not set(english["dev"]) & set(english["train"])
    assert not set(english["test"]) & set(english["train"])
    assert not set(english["dev"]) & set(english["test"])


def test_audio_files(corpus):
    data = _load(corpus)
    for set_name in SET_NAMES:
        records = {record["utt"]: record for record in map(
            json.loads, (corpus / "corpus" / set_name / METADATA_FILE).read_text(encoding="utf-8").splitlines())}
        assert set(records) == set(data[set_name].utt2spk)
        snr_errors = []
        for utt, wav in data[set_name].wav_scp.items():
            info = soundfile.info(wav)
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            samples, _ = soundfile.read(wav, dtype="int16")
            record = records[utt]
            assert record["en"] == data[set_name].text[utt] and record["de"] == data[set_name].texts["text.de"][utt]
            duration = samples.size / 16000
            assert duration == pytest.approx(record["duration_s"], abs=1e-3)
            assert 0.7 < duration < 8.0, (utt, duration)
            signal = samples.astype(np.float64)
            assert np.sqrt(np.mean(signal ** 2)) > 300, utt  # not silent
            lead = signal[: int(record["lead_silence_s"] * 16000) - 1]
            speech = signal[int(record["lead_silence_s"] * 16000) + 1: -int(record["trail_silence_s"] * 16000) - 1]
            noise_power = np.mean(lead ** 2)
            measured = 10 * np.log10((np.mean(speech ** 2) - noise_power) / noise_power)
            snr_errors.append(measured - record["snr_db"])
        assert abs(np.mean(snr_errors)) < 0.5 and max(abs(e) for e in snr_errors) < 3.0


def test_same_seed_gives_identical_files_whatever_nj(corpus, tmp_path):
    generate_mini_synth(tmp_path / "corpus", tmp_path / "data", size="tiny", seed=0, nj=2)
    assert _wav_bytes(tmp_path) == _wav_bytes(corpus)
    assert _texts(tmp_path) == _texts(corpus)


def test_different_seed_gives_different_corpus(corpus, tmp_path):
    generate_mini_synth(tmp_path / "corpus", tmp_path / "data", size="tiny", seed=1, nj=1)
    assert _texts(tmp_path)["train/text"] != _texts(corpus)["train/text"]
    other = _wav_bytes(tmp_path)
    same_names = set(other) & set(_wav_bytes(corpus))
    assert all(other[name] != _wav_bytes(corpus)[name] for name in same_names)


def test_dev_and_test_do_not_depend_on_train_size(corpus, tmp_path):
    train, dev, test = SIZES["tiny"]
    generate_mini_synth(tmp_path / "corpus", tmp_path / "data", size=f"{train // 2}:{dev}:{test}", seed=0)
    for set_name in ("dev", "test"):
        assert (tmp_path / "data" / set_name / "text.it").read_text() == \
            (corpus / "data" / set_name / "text.it").read_text()


def test_rerun_is_skipped_and_changed_arguments_regenerate(tmp_path):
    out_dir, data_dir = tmp_path / "corpus", tmp_path / "data"
    generate_mini_synth(out_dir, data_dir, size="4:2:2", seed=0)
    marker = data_dir / DONE_MARKER
    stamp = json.loads(marker.read_text())
    assert stamp["seed"] == 0 and stamp["sizes"] == {"train": 4, "dev": 2, "test": 2}
    wav = next((out_dir / "train").glob("*.wav"))
    mtime = wav.stat().st_mtime_ns
    generate_mini_synth(out_dir, data_dir, size="4:2:2", seed=0)
    assert wav.stat().st_mtime_ns == mtime  # nothing rewritten

    generate_mini_synth(out_dir, data_dir, size="6:2:2", seed=0)
    assert len(read_table(data_dir / "train" / "text")) == 6
    assert len(list((out_dir / "train").glob("*.wav"))) == 6

    wav.unlink()  # a missing wav makes the run incomplete
    generate_mini_synth(out_dir, data_dir, size="6:2:2", seed=0)
    assert all(Path(path).is_file() for path in read_table(data_dir / "train" / "wav.scp").values())


def test_parse_size():
    assert parse_size("default") == SIZES["default"]
    assert parse_size("800:100:50") == SetSizes(800, 100, 50)
    with pytest.raises(ValueError, match="tiny, small, default"):
        parse_size("huge")
    with pytest.raises(ValueError):
        parse_size("0:1:1")
    with pytest.raises(ValueError):
        generate_mini_synth("/nonexistent/x", "/nonexistent/y", size="enormous")


def test_out_dir_and_data_dir_must_differ(tmp_path):
    with pytest.raises(ValueError, match="differ"):
        generate_mini_synth(tmp_path, tmp_path, size="tiny")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "espnet_kd.bin.make_mini_synth", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_the_corpus_and_nothing_on_stdout(tmp_path):
    result = _cli("--out-dir", str(tmp_path / "corpus"), "--data_dir", str(tmp_path / "data"),
                  "--size", "3:2:2", "--seed", "4", "--nj", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "7/7 utterances" in result.stderr
    assert len(read_table(tmp_path / "data" / "dev" / "text.de")) == 2


def test_cli_bad_size_fails_with_one_line(tmp_path):
    result = _cli("--out_dir", str(tmp_path / "c"), "--data-dir", str(tmp_path / "d"), "--size", "huge")
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "huge" in result.stderr


def test_translation_variants_are_part_of_what_a_rerun_must_match(tmp_path):
    out_dir, data_dir = tmp_path / "corpus", tmp_path / "data"
    generate_mini_synth(out_dir, data_dir, size="12:2:2", seed=0)
    plain = read_table(data_dir / "train" / "text.it")
    generate_mini_synth(out_dir, data_dir, size="12:2:2", seed=0, translation_variants=True)
    assert json.loads((data_dir / DONE_MARKER).read_text())["translation_variants"] is True
    varied = read_table(data_dir / "train" / "text.it")
    assert varied != plain and read_table(data_dir / "train" / "text.en") == read_table(data_dir / "train" / "text")
    generate_mini_synth(out_dir, data_dir, size="12:2:2", seed=0)   # back to the plain rules: regenerated
    assert read_table(data_dir / "train" / "text.it") == plain


# ---------------------------------------------------------------- the unlabeled set

UNLABELED_ID = re.compile(r"^(?P<spk>[a-z0-9_]+)-unlabeled-(?P<index>\d{5})$")
OLD_MARKER_KEYS = {"corpus_version", "sizes", "seed", "out_dir", "size", "elapsed_s", "summary"}


def _labelled_files(root: Path) -> Dict[str, bytes]:
    """Every file of data/{train,dev,test} and corpus/{train,dev,test}, the root written as ROOT
    (wav.scp holds absolute paths), by path under root."""
    files = {}
    for top in ("data", "corpus"):
        for set_name in SET_NAMES:
            for path in sorted((root / top / set_name).rglob("*")):
                if path.is_file():
                    files[str(path.relative_to(root))] = path.read_bytes().replace(
                        str(root.resolve()).encode(), b"ROOT")
    return files


def test_unlabeled_set_leaves_train_dev_and_test_byte_identical(tmp_path):
    """N = 0 and N = 3 give the same train, dev and test, every file, wavs included."""
    without, with_unlabeled = tmp_path / "n0", tmp_path / "n3"
    generate_mini_synth(without / "corpus", without / "data", size="3:1:1", seed=0)
    generate_mini_synth(with_unlabeled / "corpus", with_unlabeled / "data", size="3:1:1", seed=0, unlabeled=3)
    files = _labelled_files(without)
    assert len(files) == 3 * 7 + 5 + 3   # 7 tables per data dir, 5 wavs, one utterances.jsonl per set
    assert _labelled_files(with_unlabeled) == files
    assert not (without / "data" / "unlabeled").exists() and not (without / "corpus" / "unlabeled").exists()
    # the N = 0 marker has the keys a marker had before the unlabeled set existed, so a corpus
    # generated then is found complete and left alone
    assert set(json.loads((without / "data" / DONE_MARKER).read_text())) == OLD_MARKER_KEYS
    assert json.loads((with_unlabeled / "data" / DONE_MARKER).read_text())["unlabeled"] == 3


def test_unlabeled_set_is_audio_of_training_voices_without_text(tmp_path):
    generate_mini_synth(tmp_path / "corpus", tmp_path / "data", size="3:1:1", seed=0, unlabeled=7)
    set_dir = tmp_path / "data" / "unlabeled"
    assert sorted(path.name for path in set_dir.iterdir()) == ["spk2utt", "utt2spk", "wav.scp"]
    data = KaldiDataDir.load(set_dir, text="absent")
    assert len(data.utt_ids) == 7 and data.texts == {}
    # round-robin over the six training voices: the seventh utterance is the first voice's again
    speakers = [data.utt2spk[utt] for utt in sorted(data.utt_ids, key=lambda utt: UNLABELED_ID.match(utt)["index"])]
    assert speakers == [speaker_id(voice) for voice in TRAIN_VOICES] + [speaker_id(TRAIN_VOICES[0])]
    for utt, wav in data.wav_scp.items():
        assert UNLABELED_ID.match(utt)["spk"] == data.utt2spk[utt]
        info = soundfile.info(wav)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert Path(wav).parent == (tmp_path / "corpus" / "unlabeled").resolve()
    # the true texts, apart from the data dir; new sentences
    truth = {name: read_table(tmp_path / "corpus" / "unlabeled" / "truth" / name)
             for name in ("text.en", "text.it", "text.de")}
    assert all(set(table) == set(data.utt_ids) for table in truth.values())
    labelled = {sentence for set_name in SET_NAMES
                for sentence in read_table(tmp_path / "data" / set_name / "text").values()}
    assert len(set(truth["text.en"].values())) == 7 and not set(truth["text.en"].values()) & labelled
    records = [json.loads(line) for line in
               (tmp_path / "corpus" / "unlabeled" / METADATA_FILE).read_text(encoding="utf-8").splitlines()]
    assert {record["utt"]: record["de"] for record in records} == truth["text.de"]


def test_rerun_with_another_unlabeled_size_touches_only_that_set(tmp_path):
    out_dir, data_dir = tmp_path / "corpus", tmp_path / "data"
    generate_mini_synth(out_dir, data_dir, size="2:1:1", seed=0)
    labelled_mtimes = {path: path.stat().st_mtime_ns for path in (data_dir / "train").iterdir()}
    labelled_mtimes.update({path: path.stat().st_mtime_ns for path in (out_dir / "train").iterdir()})

    generate_mini_synth(out_dir, data_dir, size="2:1:1", seed=0, unlabeled=2)   # adds the set
    assert len(read_table(data_dir / "unlabeled" / "wav.scp")) == 2
    assert json.loads((data_dir / DONE_MARKER).read_text())["unlabeled"] == 2
    wav = next((out_dir / "unlabeled").glob("*.wav"))
    mtime = wav.stat().st_mtime_ns
    generate_mini_synth(out_dir, data_dir, size="2:1:1", seed=0, unlabeled=2)   # nothing to do
    assert wav.stat().st_mtime_ns == mtime

    generate_mini_synth(out_dir, data_dir, size="2:1:1", seed=0, unlabeled=4)   # another size
    assert len(read_table(data_dir / "unlabeled" / "wav.scp")) == 4
    assert len(list((out_dir / "unlabeled").glob("*.wav"))) == 4

    generate_mini_synth(out_dir, data_dir, size="2:1:1", seed=0)                # removes it
    assert not (data_dir / "unlabeled").exists() and not (out_dir / "unlabeled").exists()
    assert "unlabeled" not in json.loads((data_dir / DONE_MARKER).read_text())
    assert {path: path.stat().st_mtime_ns for path in labelled_mtimes} == labelled_mtimes


def test_unlabeled_plan_does_not_change_the_other_sets():
    """Planning only (no synthesis), at a size where sentences could collide."""
    sizes = SIZES["small"]
    plain = plan_corpus(sizes, 0, Path("."))
    with_unlabeled = plan_corpus(sizes, 0, Path("."), unlabeled=200)
    assert set(plain) == set(SET_NAMES) and set(with_unlabeled) == {*SET_NAMES, "unlabeled"}
    assert all(plain[set_name] == with_unlabeled[set_name] for set_name in SET_NAMES)
    unlabeled = with_unlabeled["unlabeled"]
    labelled = {utt.sentence.en for set_name in SET_NAMES for utt in plain[set_name]}
    assert len({utt.sentence.en for utt in unlabeled}) == 200
    assert not {utt.sentence.en for utt in unlabeled} & labelled
    assert {utt.params.voice for utt in unlabeled} == set(TRAIN_VOICES)


def test_bad_unlabeled_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unlabeled set needs 0..99999 utterances"):
        generate_mini_synth(tmp_path / "c", tmp_path / "d", size="2:1:1", unlabeled=-1)
    result = _cli("--out_dir", str(tmp_path / "c"), "--data_dir", str(tmp_path / "d"), "--size", "1:1:1",
                  "--unlabeled", "-2")
    assert result.returncode == 2 and "unlabeled set needs" in result.stderr and not (tmp_path / "d").exists()


def test_cli_unlabeled_option(tmp_path):
    result = _cli("--out_dir", str(tmp_path / "corpus"), "--data_dir", str(tmp_path / "data"),
                  "--size", "1:1:1", "--unlabeled", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "5/5 utterances" in result.stderr
    assert len(read_table(tmp_path / "data" / "unlabeled" / "utt2spk")) == 2
    assert not (tmp_path / "data" / "unlabeled" / "text").exists()

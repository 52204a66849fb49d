"""MuST-C data preparation on a small MuST-C-shaped tree built from embedded-corpus utterances.

Each "talk" is several corpus utterances with random silence between them; the YAML
records where each one starts and how long it is, exactly as MuST-C does. Preparation
must give back exactly those segments (sample for sample, through the project's own
segment reader and the format stage) and their texts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile
import yaml

from espnet_kd.bin.format_data import format_data_dir
from espnet_kd.corpora.mini_synth import generate_mini_synth
from espnet_kd.corpora.must_c import (
    MustcError,
    build_data_dir,
    normalize_text,
    padded_name,
    prepare_must_c,
    format_time,
    segment_id,
    segment_ms,
    segment_times,
)
from espnet_kd.utils.audio import cut_segment, read_entry
from espnet_kd.utils.kaldi_dir import KaldiDataDir, c_sorted, read_table
from tests.corpora.must_c_tree import RATE, STEP, TALKS, Planted, title_case, write_set

@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """(MuST-C root, planted segments per set), built once for the module."""
    work = tmp_path_factory.mktemp("must_c")
    generate_mini_synth(work / "synth", work / "synth_data", size="6:2:2", seed=0, nj=1)
    rng = np.random.default_rng(0)
    root = work / "MUSTC_v1.0"
    planted = {set_name: write_set(root, set_name, KaldiDataDir.load(work / "synth_data" / set_name), rng)
               for set_name in ("train", "dev")}
    return root, planted


def _expected_id(p: Planted) -> str:
    start_ms, end_ms = p.offset * 1000 // RATE, (p.offset + len(p.samples)) * 1000 // RATE
    return segment_id(padded_name(p.speaker), padded_name(Path(p.talk).stem), start_ms, end_ms)


def test_segments_and_texts_are_recovered_exactly(tree, tmp_path):
    root, planted = tree
    prepare_must_c(root, "de", tmp_path / "data", sets=["train", "dev"])
    for set_name in ("train", "dev"):
        data = KaldiDataDir.load(tmp_path / "data" / f"{set_name}.en-de")  # validates the dir
        assert len(data.utt_ids) == len(planted[set_name])
        for name in ("segments", "text", "text.en", "utt2spk", "wav.scp"):
            keys = list(read_table(tmp_path / "data" / f"{set_name}.en-de" / name))
            assert keys == c_sorted(keys), name
        recordings = {}
        for p in planted[set_name]:
            utt = _expected_id(p)
            talk, start, end = data.segments[utt].split()
            assert talk == padded_name(Path(p.talk).stem)
            assert data.utt2spk[utt] == padded_name(p.speaker) and utt.startswith(data.utt2spk[utt] + "_")
            if talk not in recordings:
                recordings[talk] = read_entry(data.wav_scp[talk])
            samples, rate = recordings[talk]
            cut = cut_segment(samples, rate, float(start), float(end), utt)
            assert np.array_equal(cut, p.samples), utt
            # ESPnet's defaults: transcript lower case without punctuation, translation as written
            assert data.texts["text.en"][utt] == p.en
            assert data.text[utt] == title_case(p.de)


def test_format_stage_cuts_the_same_audio(tree, tmp_path):
    root, planted = tree
    prepare_must_c(root, "de", tmp_path / "data", sets=["dev"])
    format_data_dir(tmp_path / "data" / "dev.en-de", tmp_path / "dump", fs=RATE)
    wav_scp = read_table(tmp_path / "dump" / "wav.scp")
    for p in planted["dev"]:
        samples, _ = soundfile.read(wav_scp[_expected_id(p)], dtype="int16")
        assert np.array_equal(samples, p.samples)


def test_case_options(tree):
    root, planted = tree
    data, _ = build_data_dir(root, "de", "train", src_case="tc", tgt_case="lc.rm")
    for p in planted["train"]:
        utt = _expected_id(p)
        assert data.texts["text.en"][utt] == title_case(p.en)
        # the corpus's German is lower case, with commas before subordinate clauses (deleted)
        assert data.text[utt] == " ".join(re.sub(r"[^\w\s']", "", p.de).split())
    data, _ = build_data_dir(root, "de", "train", src_case="lc", tgt_case="lc")
    for p in planted["train"]:
        assert data.texts["text.en"][_expected_id(p)] == title_case(p.en).lower()
        assert data.text[_expected_id(p)] == title_case(p.de).lower()
    with pytest.raises(ValueError, match="tgt_case"):
        build_data_dir(root, "de", "train", tgt_case="upper")


def test_line_count_mismatch_is_a_clear_error_and_writes_nothing(tree, tmp_path):
    root, _ = tree
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    de = broken / "en-de/data/train/txt/train.de"
    de.write_text("".join(de.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(MustcError, match=r"train\.yaml has 6 segments but .*train\.de has 5 lines"):
        prepare_must_c(broken, "de", tmp_path / "data", sets=["dev", "train"])
    assert not (tmp_path / "data" / "train.en-de").exists()
    result = subprocess.run(
        [sys.executable, "-m", "espnet_kd.bin.prepare_must_c", "--must_c", str(broken), "--lang", "de",
         "--data_dir", str(tmp_path / "data2"), "--sets", "train"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "ERROR:" in result.stderr and str(de) in result.stderr
    assert not (tmp_path / "data2" / "train.en-de").exists()


def test_missing_pieces_are_named(tree, tmp_path):
    root, _ = tree
    with pytest.raises(MustcError, match=r"en-it/data/train: MuST-C set not found"):
        build_data_dir(root, "it", "train")
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    (broken / "en-de/data/dev/wav/ted_7.wav").unlink()
    with pytest.raises(MustcError, match=r"ted_7\.wav: recording named in the YAML not found"):
        build_data_dir(broken, "de", "dev")
    yaml_path = broken / "en-de/data/train/txt/train.yaml"
    entries = yaml.safe_load(yaml_path.read_text())
    del entries[2]["offset"]
    yaml_path.write_text(yaml.safe_dump(entries))
    with pytest.raises(MustcError, match=r"train\.yaml: entry 3 lacks offset"):
        build_data_dir(broken, "de", "train")


def test_duplicate_and_short_segments(tree, tmp_path):
    root, planted = tree
    broken = tmp_path / "dup"
    shutil.copytree(root, broken)
    txt = broken / "en-de/data/dev/txt"
    entries = yaml.safe_load((txt / "dev.yaml").read_text())
    entries.append(dict(entries[0]))  # same talk, offset and duration: an ambiguous pair
    entries.append({**entries[1], "duration": 0.1})  # short: widened to 0.2 s around its centre
    (txt / "dev.yaml").write_text(yaml.safe_dump(entries))
    for lang in ("en", "de"):
        lines = (txt / f"dev.{lang}").read_text().splitlines()
        (txt / f"dev.{lang}").write_text("\n".join(lines + ["A twin.", "Short."]) + "\n")
    data, report = build_data_dir(broken, "de", "dev")
    assert report.duplicate_ids == [_expected_id(planted["dev"][0])]
    assert report.segments_in == 4 and report.segments_out == 2 and report.widened == 1
    short = [utt for utt, text in data.text.items() if text == "Short."]
    assert len(short) == 1
    _, start, end = data.segments[short[0]].split()
    offset_ms = planted["dev"][1].offset * 1000 // RATE
    assert (start, end) == (f"{(offset_ms - 50) / 1000:.2f}", f"{(offset_ms + 150) / 1000:.2f}")


NBSP = "\u00a0"


@pytest.mark.parametrize("text, case, lang, expected", [
    # a lone ’ ‘ ‚ is a double quote in Moses; between two letters ’ is an apostrophe
    ("Don\u2019t say \u2018maybe\u2019 or \u201ayes\u2018", "tc", "en", "Don't say \"maybe\" or \"yes\""),
    ("l\u2019homme \u2019s", "tc", "it", "l'homme \"s"),
    # an em dash is " - " (so lc.rm keeps the words apart); an en dash is "-" (deleted by lc.rm)
    ("one\u2014two", "tc", "en", "one - two"),
    ("one\u2014two", "lc.rm", "en", "one two"),
    ("one\u2013two well-known", "lc.rm", "en", "onetwo wellknown"),
    # lc.rm deletes ASCII punctuation and Unicode punctuation, not Unicode symbols
    ("\u266b La la \u266a costs \u20ac5, \u00a33 at 20\u00b0!", "lc.rm", "en", "\u266b la la \u266a costs \u20ac5 \u00a33 at 20\u00b0"),
    ("\u00bfQu\u00e9? \u00a1S\u00ed! \u00b7 caf\u00e9 \u00a9", "lc.rm", "es", "qu\u00e9 s\u00ed caf\u00e9 \u00a9"),
    ("(Applause) It costs $5, 10% off!  \u266b", "lc.rm", "en", "applause it costs 5 10 off \u266b"),
    # English moves , and . inside the closing quote; German and others move them outside
    ('He said "yes", then "no".', "tc", "en", 'He said "yes," then "no."'),
    ("Er sagte \u201eja,\u201c und \u201enein.\u201c", "tc", "de", 'Er sagte "ja", und "nein".'),
    ('Lui disse "s\u00ec." Poi', "tc", "it", 'Lui disse "s\u00ec". Poi'),
    ("Don\u2019t stop \u2014 \u201cnow\u201d\u2026", "tc", "en", "Don't stop - \"now...\""),
    ("Don\u2019t stop \u2014 \u201cnow\u201d\u2026", "lc", "en", "don't stop - \"now...\""),
    ("Don\u2019t stop \u2014 \u201cnow\u201d\u2026", "lc.rm", "en", "don't stop now"),
    # bracket spacing: a space outside, none inside, none before a following . , ! ? : ;
    ("(Laughter)It was( really )good (Applause) .", "tc", "en", "(Laughter) It was (really) good (Applause)."),
    ("a : b ; 5 %", "tc", "en", "a: b; 5%"),
    # `` '' and \u00b4 quotes, the ellipsis
    ("``Fine\u00b4s\u00b4\u00b4 wait\u2026''", "tc", "en", "\" Fine's\" wait... \""),
    # no-break spaces: gone before % : ? ! ;, a space after a comma, a decimal point or comma between digits
    (f"Hello,{NBSP}World{NBSP}! 50{NBSP}% of 1{NBSP}000", "tc", "en", "Hello, World! 50% of 1.000"),
    (f"1{NBSP}000 Euro", "tc", "de", "1,000 Euro"),
    (f"\u00ab{NBSP}Oui{NBSP}\u00bb, dit-il \u00abnon\u00bb", "tc", "fr", '"Oui", dit-il "non"'),
])
def test_normalize_text_as_espnet(text, case, lang, expected):
    assert normalize_text(text, case, lang) == expected


def test_remove_punctuation_quirks_of_espnet():
    # ESPnet's remove_punctuation.pl protects ' and <space> by spelling them as words
    assert normalize_text("The apostrophe's <space> use.", "lc.rm") == "the ''s <space> use"
    assert normalize_text("\u00c9COLE \u0130", "lc") == "\u00e9cole i\u0307"


def test_ids_and_times_by_hand():
    assert padded_name("spk.1") == "spk00001" and padded_name("ted_1234") == "ted01234"
    assert segment_id("spk00001", "ted00001", 12610, 16110) == "spk00001_ted00001_0012610_0016110"
    # ESPnet: milliseconds int(1000 t + 0.5) of the 7-decimal YAML values in the id ...
    assert segment_ms(12.6149, 3.5) == (12615, 16115)
    assert segment_ms(7.28, 3.079999) == (7280, 10360)             # ESPnet's own example: 0007280_0010360
    assert segment_ms(10.0, 0.1) == (9950, 10150)                    # widened to 0.2 s around its centre
    assert segment_ms(0.02, 0.1) == (0, 170)                         # clamped at 0 (ESPnet: -30)
    # ... and the segments file's times rounded to 10 ms from those milliseconds (%.2f)
    assert [format_time(ms) for ms in (12615, 16115, 10360, 125, 135, 0)] == [
        "12.62", "16.11", "10.36", "0.12", "0.14", "0.00"]
    assert segment_times(12.6149, 3.5) == (12.62, 16.11)
    assert segment_times(3.0, 1.5) == (3.0, 4.5)
    with pytest.raises(MustcError):
        padded_name("...")


def _copy_set(root: Path, to_root: Path, set_name: str, new_name: str) -> Path:
    """``set_name`` of ``root`` copied as ``new_name`` under ``to_root``; returns its txt dir."""
    source, target = root / "en-de/data" / set_name, to_root / "en-de/data" / new_name
    shutil.copytree(source, target)
    for path in (target / "txt").iterdir():
        path.rename(path.with_name(path.name.replace(set_name, new_name)))
    return target / "txt"


def test_empty_segments_are_kept_in_test_sets_only(tree, tmp_path):
    root, planted = tree
    copy = tmp_path / "MUSTC"
    for set_name in ("dev", "tst-COMMON"):
        txt = _copy_set(root, copy, "dev", set_name)
        entries = yaml.safe_load((txt / f"{set_name}.yaml").read_text())
        entries += [{**entries[0], "offset": 0.01, "duration": 0.2}, {**entries[0], "offset": 0.03, "duration": 0.2}]
        (txt / f"{set_name}.yaml").write_text(yaml.safe_dump(entries))
        for lang, extra in (("en", ["--", "Only English."]), ("de", ["Nur Deutsch.", ""])):
            lines = (txt / f"{set_name}.{lang}").read_text().splitlines()
            (txt / f"{set_name}.{lang}").write_text("\n".join(lines + extra) + "\n")
    reports = prepare_must_c(copy, "de", tmp_path / "data", sets=["dev", "tst-COMMON"])
    empty = ["spk00007_ted00007_0000010_0000210", "spk00007_ted00007_0000030_0000230"]
    assert [r.empty_after_normalising for r in reports] == [empty, empty]
    assert [r.segments_out for r in reports] == [2, 4]                      # dev drops them, tst-COMMON keeps them
    tst = tmp_path / "data/tst-COMMON.en-de"
    text, text_en = read_table(tst / "text", True), read_table(tst / "text.en", True)
    assert (text[empty[0]], text_en[empty[0]]) == ("Nur Deutsch.", "")   # "--" is all punctuation in lc.rm
    assert (text[empty[1]], text_en[empty[1]]) == ("", "only english")
    assert set(read_table(tst / "segments")) == set(read_table(tst / "utt2spk")) == set(text)
    assert read_table(tst / "segments")[empty[0]] == "ted00007 0.01 0.21"
    dev = read_table(tmp_path / "data/dev.en-de/text")
    assert not set(empty) & set(dev) and len(dev) == len(planted["dev"])

"""WSJ data preparation on a small tree laid out like the LDC discs (WSJ0 LDC93S6B, WSJ1 LDC94S13B).

The tree has the real disc directories, index files, per-session ``.dot`` transcripts and
uncompressed NIST SPHERE ``.wv1`` audio; the expected data dirs are written out by hand.
The tree and the expected outputs are in tests/corpora/wsj_tree.py.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from espnet_kd.corpora.wsj import (
    EXPECTED_REF_WORDS, EXPECTED_UTTERANCES, WsjError, count_ref_words, nonlinguistic_symbols, normalize_transcript,
    prepare_wsj, read_index, verbal_punctuation_word,
)
from espnet_kd.utils.audio import read_entry
from espnet_kd.utils.kaldi_dir import KaldiDataDir
from espnet_kd.utils import sphere
from espnet_kd.utils.sphere import format_header, write_sphere
from tests.corpora.shorten_encoder import shorten_sphere
from tests.corpora.wsj_tree import (
    AUDIO, DOT_TEXT, EXPECTED_TEXT, INDICES, TREE_REF_WORDS, TREE_UTTERANCES, expected_files, expected_text,
    utterance_samples, write_wsj_tree,
)

@pytest.fixture
def wsj_tree(tmp_path):
    return write_wsj_tree(tmp_path / "corpus")


def test_data_prep_yields_exactly_the_expected_dirs(wsj_tree, tmp_path):
    data = tmp_path / "data"
    reports = prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sph2pipe=None)
    assert sorted(p.name for p in data.iterdir()) == ["local", "nlsyms.txt", "test_dev93", "test_eval92",
                                                      "train_si284"]
    for set_name in EXPECTED_TEXT:
        assert sorted(p.name for p in (data / set_name).iterdir()) == ["spk2utt", "text", "utt2spk", "wav.scp"]
        for file_name, content in expected_files(wsj_tree, set_name).items():
            assert (data / set_name / file_name).read_text() == content, (set_name, file_name)
        KaldiDataDir.load(data / set_name)  # consistent
    train = json.loads((data / "local/wsj/train_si284.json").read_text())["report"]
    assert train["excluded_by_rule"] == 1                                # speaker 401 of 11-2.1
    assert train["skipped_empty_after_normalisation"] == ["46uc030c"]  # a training set drops an empty one
    eval92 = json.loads((data / "local/wsj/test_eval92.json").read_text())["report"]
    assert eval92["skipped_empty_after_normalisation"] == [] and eval92["kept_empty_as_noise"] == ["440c0203"]
    assert [r.num_utts for r in reports] == [5, 2, 3]
    assert "012c0201" not in (data / "train_si284/text").read_text()


def test_audio_in_wav_scp_reads_back_sample_exact(wsj_tree, tmp_path):
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], tmp_path / "data", sets=["train_si284"])
    for line in (tmp_path / "data/train_si284/wav.scp").read_text().splitlines():
        utt, entry = line.split(maxsplit=1)
        samples, rate = read_entry(entry)                                 # both byte orders are in the tree
        assert rate == 16000 and np.array_equal(samples, utterance_samples(utt))



def test_nlsyms_are_the_training_texts_bracketed_tokens(wsj_tree, tmp_path):
    data = tmp_path / "data"
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data)
    # ESPnet: cut -f 2- data/train_si284/text | tr " " "\n" | sort | uniq | grep "<" > data/nlsyms.txt
    assert (data / "nlsyms.txt").read_text() == "<*IN*>\n<NOISE>\n"
    assert nonlinguistic_symbols(["A <B> <*C.*> [<D] <B>", "x<y"], extra=["<NOISE>", ""]) == [
        "<*C.*>", "<B>", "<NOISE>", "[<D]", "x<y"]
    # test sets only: the list already there is kept and used
    (data / "nlsyms.txt").write_text("<NOISE>\n<*MR.*>\n")
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["test_dev93"])
    assert (data / "nlsyms.txt").read_text() == "<NOISE>\n<*MR.*>\n"
    counts = json.loads((data / "local/wsj/counts.json").read_text())
    assert counts["test_dev93"]["ref_words"] == 8                       # <*MR.*> is a symbol now
    assert count_ref_words(["A <NOISE> B", "<NOISE>", ""], ["<NOISE>"]) == 2


def test_expected_counts_warn_loudly_naming_what_is_missing(wsj_tree, tmp_path, caplog):
    data = tmp_path / "data"
    dot = wsj_tree["wsj1"] / "13-16.1/wsj1/si_dt_20/4k0/4k0c0300.dot"
    dot.write_text(dot.read_text().splitlines()[0] + "\n")               # dev93 loses 4k0c0302's transcript
    with caplog.at_level(logging.INFO):
        prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["train_si284", "test_dev93"],
                    expected_utts=TREE_UTTERANCES, expected_words=TREE_REF_WORDS)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings                                  # train_si284 matches: no warning
    assert re.search(r"test_dev93: 1 utterances, not 2; 7 reference words, not 9 .*not comparable", warnings[0])
    assert "1 utterance(s) without a transcript, e.g. 4k0c0302 (no .dot file of session(s) 4k0c03 has them)" \
        in warnings[0]
    assert "discs not found under WSJ0 / WSJ1: 11-3.1," in warnings[0] and "13-34.1" not in warnings[0].split(
        "discs not found")[1].split(";")[0]
    assert "13-34.1/wsj1/doc/indices/h1_p0.ndx" in warnings[0]
    counts = json.loads((data / "local/wsj/counts.json").read_text())
    assert counts["train_si284"] == {"utterances": 5, "ref_words": None, "expected_utterances": 5,
                                     "expected_ref_words": None, "match": True}
    assert counts["test_dev93"]["match"] is False


def test_expected_counts_success_path_and_the_full_corpus_table(wsj_tree, tmp_path, caplog):
    assert (EXPECTED_UTTERANCES["train_si84"], EXPECTED_UTTERANCES["train_si284"], EXPECTED_UTTERANCES["test_dev93"],
            EXPECTED_UTTERANCES["test_eval92"]) == (7138, 37416, 503, 333)
    assert EXPECTED_REF_WORDS == {"test_dev93": 8234, "test_eval92": 5643}
    with caplog.at_level(logging.INFO):
        prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], tmp_path / "data",
                    expected_utts=TREE_UTTERANCES, expected_words=TREE_REF_WORDS)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    messages = [r.getMessage() for r in caplog.records]
    assert "test_dev93: 2 utterances (expected 2), 9 reference words (expected 9)" in messages
    assert "test_eval92: 3 utterances (expected 3), 6 reference words (expected 6)" in messages
    # with the real corpus's table, the small tree is a mismatch for every set
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], tmp_path / "data")
    assert [r.getMessage().split("\n")[1].split(":")[0] for r in caplog.records] == [
        "*** train_si284", "*** test_dev93", "*** test_eval92"]
    assert "test_eval92: 3 utterances, not 333; 6 reference words, not 5643" in caplog.records[2].getMessage()


def test_noise_word_and_verbal_punctuation_options(wsj_tree, tmp_path):
    data = tmp_path / "data"
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["train_si284", "test_eval92"],
                verbal_punctuation="word")
    text = dict(line.split(maxsplit=1) for line in (data / "train_si284/text").read_text().splitlines())
    assert text["011c0201"] == "THE INDEX COMMA WHICH <NOISE> FELL PERIOD"
    assert text["46uc030b"] == "<NOISE>"
    # different options: the set is prepared again, not skipped; noise dropped (not ESPnet's)
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["train_si284", "test_eval92"], noise_word="",
                verbal_punctuation="drop")
    text = dict(line.split(maxsplit=1) for line in (data / "train_si284/text").read_text().splitlines())
    assert text["011c0201"] == "THE INDEX WHICH FELL" and "46uc030b" not in text
    assert (data / "test_eval92/text").read_text() == expected_files(wsj_tree, "test_eval92", noise_word="")["text"]
    assert "440c0203 <NOISE>" in (data / "test_eval92/text").read_text()   # a test set loses nothing
    assert (data / "nlsyms.txt").read_text() == "<*IN*>\n<NOISE>\n"
    # the earlier, non-Kaldi rules on request
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["train_si284"], normalizer="plain")
    text = dict(line.split(maxsplit=1) for line in (data / "train_si284/text").read_text().splitlines())
    assert text["011c0202"] == "PROFITS ROSE PERCENT <NOISE> SHARPLY 'EM" and text["011c0203"] == "YES UH SO IN"


@pytest.mark.parametrize("raw, expected", [
    # every rule of Kaldi's normalize_transcript.pl, by the examples and the WSJ .dot conventions
    ("The index ,COMMA fell .PERIOD", "THE INDEX ,COMMA FELL .PERIOD"),             # 1 upper case, 7 keep
    ("caf\xe9 na\xefve", "CAF\xe9 NA\xefVE"),                                          # 1 ASCII letters only (tr:a-z:A-Z:)
    ("rock \\& roll I\\. B\\. M\\.", "ROCK & ROLL I. B. M."),                       # 2 backslashes removed
    ("six %PERCENT two .POINT five a%PERCENT", "SIX PERCENT TWO POINT FIVE A%PERCENT"),  # 3 whole tokens only
    ("[<door_slam] a [door_slam>] b [phone_ring/] c [/phone_ring] d", "A B C D"),  # 4 dropped
    ("w[phone_ring/] x[/phone_ring]", ""),                                          # 4 (unanchored start)
    ("~ it fell . again ~", "IT FELL AGAIN"),                                         # 4 ~ and .
    ("[loud_breath] yes [lip_smack]", "<NOISE> YES <NOISE>"),                       # 5 noise
    ("[door_slam]word word[door_slam] [<door_slam>]", "<NOISE> <NOISE> [<DOOR_SLAM>]"),  # 5 glued; not \w: kept
    ("<the> the <don't> <uh-huh>", "THE THE DON'T <UH-HUH>"),                         # 6 verbally deleted words
    ("the *stastistics* <*in*> <*mr.*>", "THE *STASTISTICS* <*IN*> <*MR.*>"),      # 6, 8 kept as Kaldi keeps them
    ("so: we:ll", "SO: WE:LL"),                                                       # 8 lengthening kept
    ("a --DASH b -HYPHEN c :COLON", "A -DASH B -HYPHEN C :COLON"),                   # 7 keep, Kaldi's --DASH
    ("'em and 'SINGLE-QUOTE \"QUOTE", "'EM AND 'SINGLE-QUOTE \"QUOTE"),              # contraction stays a word
])
def test_kaldi_normalisation_rules(raw, expected):
    assert normalize_transcript(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("the *stastistics* <*in*> so: [door_slam]word", "THE STASTISTICS IN SO [DOOR_SLAM]WORD"),
    ("<the> the cat [<door_slam] [loud_breath]", "THE THE CAT <NOISE>"),
])
def test_plain_normalisation_is_the_earlier_behaviour(raw, expected):
    assert normalize_transcript(raw, normalizer="plain") == expected
    with pytest.raises(ValueError, match="normalizer"):
        normalize_transcript(raw, normalizer="espnet")


def test_verbal_punctuation_modes():
    raw = "yes ,COMMA he said \"QUOTE no --DASH 'SINGLE-QUOTE 'em"
    assert normalize_transcript(raw, verbal_punctuation="word") == "YES COMMA HE SAID QUOTE NO DASH SINGLE-QUOTE 'EM"
    assert normalize_transcript(raw, verbal_punctuation="drop") == "YES HE SAID NO 'EM"
    assert verbal_punctuation_word(".PERIOD") == (".", "PERIOD")
    assert verbal_punctuation_word("'EM") is None and verbal_punctuation_word("WORD") is None
    with pytest.raises(ValueError, match="verbal_punctuation"):
        normalize_transcript(raw, verbal_punctuation="spell")


def test_index_lines_and_bad_index_line(tmp_path):
    index = tmp_path / "x.ndx"
    index.write_text(";: header\n13_32_1:wsj1/si_et_h1/wsj64k/4k0c0301.wv1\n11_14_1: /wsj0/si_et_20/440/440c0201\n")
    entries = read_index(index, disc_renames=[("13-32.1", "13-33.1")])
    assert [(e.disc, e.relative_path, e.line_no) for e in entries] == [
        ("13-33.1", "wsj1/si_et_h1/wsj64k/4k0c0301.wv1", 2), ("11-14.1", "wsj0/si_et_20/440/440c0201.wv1", 3)]
    index.write_text("11_1_1 wsj0/a.wv1\n")
    with pytest.raises(WsjError, match=r"x\.ndx:1: not an index line"):
        read_index(index)


def compress_one(tree: Dict[str, Path], utt: str) -> Path:
    """Turn one utterance's audio into a (fake-payload) shorten-compressed SPHERE file, as on the discs."""
    path = tree[utt]
    header = format_header({"sample_count": 1600, "sample_rate": 16000, "channel_count": 1, "sample_n_bytes": 2,
                            "sample_byte_format": "01", "sample_coding": "pcm,embedded-shorten-v2.00"})
    path.write_bytes(header + b"ajkg\x02" + bytes(40))
    return path


def test_compressed_audio_without_sph2pipe_is_a_clear_error(wsj_tree, tmp_path, monkeypatch):
    compressed = compress_one(wsj_tree, "4k0c0302")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))               # no sph2pipe or ffmpeg on PATH
    monkeypatch.setattr(sphere, "imageio_ffmpeg_program", lambda: None)   # and no imageio-ffmpeg
    data = tmp_path / "data"
    with pytest.raises(WsjError, match=r"4k0c0302\.wv1 is compressed .*shorten.*neither sph2pipe nor ffmpeg.*"
                                       r"install sph2pipe.*imageio-ffmpeg"):
        prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["test_dev93"])
    assert not (data / "test_dev93").exists()                             # nothing half-written
    # with sph2pipe, the entry is the Kaldi-style pipe, and uncompressed files stay paths
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["test_dev93"], sph2pipe="/opt/sph/sph2pipe")
    wav_scp = (data / "test_dev93/wav.scp").read_text().splitlines()
    assert wav_scp == [f"4k0c0301 {wsj_tree['4k0c0301']}", f"4k0c0302 /opt/sph/sph2pipe -f wav -p -c 1 {compressed} |"]


def test_shorten_audio_is_decoded_by_ffmpeg_sample_exact_without_sph2pipe(wsj_tree, tmp_path, monkeypatch):
    """An embedded-shorten .wv1 (as every real WSJ file is) read through imageio-ffmpeg's ffmpeg."""
    assert sphere.imageio_ffmpeg_program() is not None, "imageio-ffmpeg (in the [test] and [wsj] extras) is missing"
    rng = np.random.default_rng(0)
    samples = (np.sin(np.arange(5000) * 0.03) * 8000 + rng.normal(0, 300, 5000)).astype(np.int16)
    samples[100:110] = [32767, -32768, 0, 1, -1, 30000, -30000, 5, -5, 0]   # extremes and sign changes
    wsj_tree["4k0c0302"].write_bytes(shorten_sphere(samples))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))               # no sph2pipe, no ffmpeg on PATH
    data = tmp_path / "data"
    prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], data, sets=["test_dev93"])
    entry = dict(line.split(" ", 1) for line in (data / "test_dev93/wav.scp").read_text().splitlines())["4k0c0302"]
    assert entry.startswith(sphere.imageio_ffmpeg_program()) and entry.endswith(" |")
    decoded, rate = read_entry(entry)
    assert rate == 16000 and decoded.dtype == np.int16 and np.array_equal(decoded, samples)


def test_sph2pipe_comes_first_then_ffmpeg_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(sphere, "imageio_ffmpeg_program", lambda: None)
    assert sphere.find_sphere_decoder() is None
    for name in ("ffmpeg", "sph2pipe"):
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
        assert sphere.find_sphere_decoder() == sphere.SphereDecoder(name, str(tool))
    assert sphere.find_sphere_decoder("/opt/sph2pipe") == sphere.SphereDecoder("sph2pipe", "/opt/sph2pipe")


def test_corpus_not_found_and_missing_audio_errors(wsj_tree, tmp_path):
    with pytest.raises(WsjError, match="no LDC disc directories"):
        prepare_wsj(tmp_path, wsj_tree["wsj1"], tmp_path / "data")
    with pytest.raises(WsjError, match="not found .*db.sh"):
        prepare_wsj(tmp_path / "nowhere", wsj_tree["wsj1"], tmp_path / "data")
    with pytest.raises(WsjError, match="unknown WSJ set"):
        prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], tmp_path / "data", sets=["train_si999"])
    wsj_tree["440c0202"].unlink()
    with pytest.raises(WsjError, match=r"test_eval92: 1 audio file.*440c0202\.wv1 \(.*si_et_20\.ndx:3\)"):
        prepare_wsj(wsj_tree["wsj0"], wsj_tree["wsj1"], tmp_path / "data", sets=["test_eval92"])


def test_cli_runs_and_reports_errors(wsj_tree, tmp_path):
    data = tmp_path / "data"
    command = [sys.executable, "-m", "espnet_kd.bin.prepare_wsj", "--wsj0", str(wsj_tree["wsj0"]),
               "--wsj1", str(wsj_tree["wsj1"]), "--data-dir", str(data), "--noise_word", "none"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (data / "test_eval92/text").read_text() == expected_files(wsj_tree, "test_eval92")["text"]
    failed = subprocess.run(command[:4] + [str(tmp_path / "none")] + command[5:], capture_output=True, text=True)
    assert failed.returncode == 1 and "ERROR:" in failed.stderr and "db.sh" in failed.stderr

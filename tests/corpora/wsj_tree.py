"""A small tree laid out like the WSJ LDC discs (WSJ0 LDC93S6B, WSJ1 LDC94S13B), and what preparing it must give.

The tree has the real disc directories, index files, per-session ``.dot`` transcripts and
uncompressed NIST SPHERE ``.wv1`` audio; the expected data dirs are written out by hand.
Used by tests/corpora/test_wsj.py and tests/recipes/test_wsj_asr1.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np

from espnet_kd.utils.sphere import format_header, write_sphere

# Raw .dot transcripts, as the discs spell them (mixed case, markers, verbal punctuation).
DOT_TEXT = {
    "011c0201": "The index ,COMMA which [door_slam] fell .PERIOD",
    "011c0202": "Profits rose %PERCENT [loud_breath] *sharply* \\'em",
    "011c0203": "[phone_ring/] Yes <uh> so: <*in*> ~ [/phone_ring]",
    "401c0201": "this speaker is left out as in Kaldi",
    "46uc030a": "\"QUOTE Markets [<door_slam] closed \"END-QUOTE",
    "46uc030b": "[lip_smack]",                       # nothing but noise: <NOISE>, or empty once noise is dropped
    "46uc030c": "[<door_slam] ~",                    # nothing at all: dropped from a training set
    "4k0c0301": "Dev sentence one .POINT five --DASH <*mr.*>",
    "4k0c0302": "dev sentence [door_slam]TWO",
    "440c0201": "Eval sentence one",
    "440c0202": "eval sentence two [tongue_click>] .",
    "440c0203": "[<door_slam] ~",                    # nothing at all: kept in a test set, as <NOISE>
}
# What the default settings (Kaldi's normalize_transcript.pl with <NOISE>, verbal punctuation kept) make of them.
EXPECTED_TEXT = {
    "train_si284": {
        "011c0201": "THE INDEX ,COMMA WHICH <NOISE> FELL .PERIOD",
        "011c0202": "PROFITS ROSE PERCENT <NOISE> *SHARPLY* 'EM",
        "011c0203": "YES UH SO: <*IN*>",
        "46uc030a": "\"QUOTE MARKETS CLOSED \"END-QUOTE",
        "46uc030b": "<NOISE>",
    },
    "test_dev93": {"4k0c0301": "DEV SENTENCE ONE POINT FIVE -DASH <*MR.*>", "4k0c0302": "DEV SENTENCE <NOISE>"},
    "test_eval92": {"440c0201": "EVAL SENTENCE ONE", "440c0202": "EVAL SENTENCE TWO", "440c0203": "<NOISE>"},
}
# The fake tree's counts, for the expected-count check's success path.
TREE_UTTERANCES = {name: len(texts) for name, texts in EXPECTED_TEXT.items()}
# dev93: <*MR.*> is not in the training text's symbol list, so it counts as a word (as in ESPnet)
TREE_REF_WORDS = {"test_dev93": 9, "test_eval92": 6}


def expected_text(set_name: str, noise_word: str = "<NOISE>") -> Dict[str, str]:
    """EXPECTED_TEXT of a set, for ``noise_word`` "" too (noise dropped: a training utterance that
    becomes empty is dropped, a test utterance keeps <NOISE>)."""
    texts = {}
    for utt, text in EXPECTED_TEXT[set_name].items():
        words = [w for w in text.split() if noise_word or w != "<NOISE>"]
        if words or set_name.startswith("test_"):
            texts[utt] = " ".join(words) or "<NOISE>"
    return texts


# utterance → (disc root name, disc, path inside the disc) of its audio
AUDIO = {
    "011c0201": ("wsj0", "11-1.1", "wsj0/si_tr_s/011/011c0201.wv1"),
    "011c0202": ("wsj0", "11-1.1", "wsj0/si_tr_s/011/011c0202.wv1"),
    "011c0203": ("wsj0", "11-1.1", "wsj0/si_tr_s/011/011c0203.wv1"),
    "401c0201": ("wsj0", "11-2.1", "wsj0/si_tr_s/401/401c0201.wv1"),
    # a disc copied in upper case, as some copies are
    "46uc030a": ("wsj1", "13-2.1", "WSJ1/SI_TR_S/46U/46UC030A.WV1"),
    "46uc030b": ("wsj1", "13-2.1", "WSJ1/SI_TR_S/46U/46UC030B.WV1"),
    "46uc030c": ("wsj1", "13-2.1", "WSJ1/SI_TR_S/46U/46UC030C.WV1"),
    "4k0c0301": ("wsj1", "13-16.1", "wsj1/si_dt_20/4k0/4k0c0301.wv1"),
    "4k0c0302": ("wsj1", "13-16.1", "wsj1/si_dt_20/4k0/4k0c0302.wv1"),
    "440c0201": ("wsj0", "11-14.1", "wsj0/si_et_20/440/440c0201.wv1"),
    "440c0202": ("wsj0", "11-14.1", "wsj0/si_et_20/440/440c0202.wv1"),
    "440c0203": ("wsj0", "11-14.1", "wsj0/si_et_20/440/440c0203.wv1"),
}
INDICES = {
    ("wsj0", "11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx"): [
        ";  Index for WSJ0 SI-84 training, .wv1 files", ";",
        "11_1_1:wsj0/si_tr_s/011/011c0201.wv1", "11_1_1:wsj0/si_tr_s/011/011c0202.wv1",
        "11_1_1:wsj0/si_tr_s/011/011c0203.wv1", "11_2_1:wsj0/si_tr_s/401/401c0201.wv1",
    ],
    ("wsj1", "13-34.1/wsj1/doc/indices/si_tr_s.ndx"): [
        ";: wsj1 si_tr_s", "13_2_1:wsj1/si_tr_s/46u/46uc030a.wv1", "13_2_1:wsj1/si_tr_s/46u/46uc030b.wv1",
        "13_2_1:wsj1/si_tr_s/46u/46uc030c.wv1",
    ],
    ("wsj1", "13-34.1/wsj1/doc/indices/h1_p0.ndx"): [
        ";: Hub 1 dev", "", "13_16_1:wsj1/si_dt_20/4k0/4k0c0301.wv1", "13_16_1:wsj1/si_dt_20/4k0/4k0c0302.wv1",
    ],
    # the Nov'92 test index names files without the .wv1 extension
    ("wsj0", "11-13.1/wsj0/doc/indices/test/nvp/si_et_20.ndx"): [
        ";: si_et_20", "11_14_1: /wsj0/si_et_20/440/440c0201", "11_14_1:wsj0/si_et_20/440/440c0202",
        "11_14_1:wsj0/si_et_20/440/440c0203",
    ],
}


def utterance_samples(utt: str) -> np.ndarray:
    """A distinct, deterministic int16 signal per utterance (0.1-0.2 s at 16 kHz)."""
    seed = sum(ord(c) for c in utt)
    length = 1600 + 97 * (seed % 17)
    return (np.sin(np.arange(length) * (0.01 + seed % 7 * 0.003)) * (3000 + seed)).astype(np.int16)


def write_wsj_tree(root: Path) -> Dict[str, Path]:
    """Write the WSJ-shaped tree under ``root``; return {"wsj0": ..., "wsj1": ...} and each audio path."""
    roots = {"wsj0": root / "LDC93S6B", "wsj1": root / "LDC94S13B"}
    paths: Dict[str, Path] = dict(roots)
    for (corpus, relative), lines in INDICES.items():
        index = roots[corpus] / relative
        index.parent.mkdir(parents=True, exist_ok=True)
        index.write_text("".join(line + "\n" for line in lines))
    sessions: Dict[Path, list] = {}
    for number, (utt, (corpus, disc, inside)) in enumerate(sorted(AUDIO.items())):
        audio = roots[corpus] / disc / inside
        audio.parent.mkdir(parents=True, exist_ok=True)
        write_sphere(audio, utterance_samples(utt), 16000, byte_format="10" if number % 2 else "01")
        paths[utt] = audio
        upper = audio.name.isupper()
        sessions.setdefault(audio.parent / (utt[:6] + "00" + (".DOT" if upper else ".dot")), []).append(utt)
    for dot_file, utts in sessions.items():
        dot_file.write_text("".join(f"{DOT_TEXT[utt]} ({utt.upper() if dot_file.suffix == '.DOT' else utt})\n"
                                    for utt in sorted(utts)))
    # a .dot file for a session the indices do not list (must not be read into any set)
    other = roots["wsj0"] / "11-1.1/wsj0/si_tr_s/012/012c0200.dot"
    other.parent.mkdir(parents=True)
    other.write_text("Unused text (012c0201)\n")
    return paths


def expected_files(tree: Dict[str, Path], set_name: str, noise_word: str = "<NOISE>") -> Dict[str, str]:
    """The exact content of each file of a prepared data dir."""
    texts = expected_text(set_name, noise_word)
    utts = sorted(texts)
    speakers: Dict[str, list] = {}
    for utt in utts:
        speakers.setdefault(utt[:3], []).append(utt)
    return {
        "wav.scp": "".join(f"{utt} {tree[utt]}\n" for utt in utts),
        "text": "".join(f"{utt} {texts[utt]}\n" for utt in utts),
        "utt2spk": "".join(f"{utt} {utt[:3]}\n" for utt in utts),
        "spk2utt": "".join(f"{spk} {' '.join(us)}\n" for spk, us in sorted(speakers.items())),
    }

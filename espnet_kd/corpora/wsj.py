"""The Wall Street Journal corpus (WSJ0 LDC93S6B, WSJ1 LDC94S13B) → Kaldi data dirs.

The LDC discs are directories named after their disc ids (``11-1.1`` ... ``11-15.1``
for WSJ0, ``13-1.1`` ... ``13-34.1`` for WSJ1), as copied from the CDs. ``db.sh``
names the two directories that hold them (``WSJ0``, ``WSJ1``).

Which utterances form a set comes from the corpus's own index files (``.ndx``),
whose lines read ``11_1_1:wsj0/si_tr_s/011/011c0201.wv1`` (disc ``11_1_1`` is the
directory ``11-1.1``; some test indices leave out the ``.wv1``):

================  ==============================================================
set               index files
================  ==============================================================
``train_si284``   ``13-34.1/wsj1/doc/indices/si_tr_s.ndx`` +
                  ``11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx``
``train_si84``    ``11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx``
``test_dev93``    ``13-34.1/wsj1/doc/indices/h1_p0.ndx`` (Nov'93 dev, 20k, 503 utterances)
``test_eval92``   ``11-13.1/wsj0/doc/indices/test/nvp/si_et_20.ndx`` (Nov'92, 333)
``test_eval93``   ``13-32.1/wsj1/doc/indices/wsj1/eval/h1_p0.ndx`` (Nov'93, 213; its
                  disc id ``13_32_1`` is read as ``13-33.1``, where the audio is)
================  ==============================================================

As the standard Kaldi recipe does, the training sets leave out the WSJ0 speaker
directory ``11-2.1/wsj0/si_tr_s/401``. Utterance ids are the file names in lower case
(``011c0201``); the speaker is its first three characters. Paths in an index are
resolved case-insensitively, since some copies of the discs are in upper case.

Transcripts come from the ``.dot`` files (one per recording session, beside the audio,
lines ``text (011c0201)``), normalised by :func:`normalize_transcript` as Kaldi's
``normalize_transcript.pl`` does in the Kaldi and ESPnet WSJ recipes (noise markers become
``<NOISE>``, which ESPnet trains on). As in ESPnet's recipe, ``<data_dir>/nlsyms.txt`` lists
the non-linguistic symbols, every token of the training text holding ``<`` (``<NOISE>``,
``<*IN*>``, ...): the scoring stage strips them from references and hypotheses before
computing the WER, and sentencepiece takes them as user-defined symbols. A test set never
loses an utterance (one whose transcript normalises to nothing keeps the text ``<NOISE>``,
an empty reference once stripped); a training set drops it. The counts of every set are
checked against the full corpus's (:data:`EXPECTED_UTTERANCES`, :data:`EXPECTED_REF_WORDS`),
and a mismatch is a loud warning naming what may be missing. Audio is the
``.wv1`` (first-channel microphone) file: uncompressed PCM SPHERE files go into
``wav.scp`` as paths (read by :mod:`espnet_kd.utils.sphere`); shorten-compressed ones,
as on the LDC discs, become ``sph2pipe -f wav -p -c 1 FILE |`` when sph2pipe is on
PATH, else an ffmpeg pipe (ffmpeg on PATH, or the ``imageio-ffmpeg`` package's), and are a
clear error naming both when there is neither.

    python -m espnet_kd.bin.prepare_wsj --wsj0 /data/LDC93S6B --wsj1 /data/LDC94S13B \\
        --data_dir data --sets train_si284 test_dev93 test_eval92
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from espnet_kd.utils.fileio import PathLike, atomic_dir, atomic_write
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, c_sorted, read_table
from espnet_kd.utils.sphere import SPH2PIPE_HINT, SphereDecoder, SphereError, find_sphere_decoder, read_header


class WsjError(ValueError):
    """The corpus is not where db.sh says, or an index, transcript or audio file is unusable."""


# ------------------------------------------------------------------------- the sets

@dataclass(frozen=True)
class WsjSet:
    """A data set: the index files that list it (disc-relative paths) and disc id fixes."""

    name: str
    index_files: Tuple[str, ...]
    disc_renames: Tuple[Tuple[str, str], ...] = ()


WSJ0_TRAIN_INDEX = "11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx"
WSJ_SETS: Dict[str, WsjSet] = {
    wsj_set.name: wsj_set for wsj_set in (
        WsjSet("train_si284", ("13-34.1/wsj1/doc/indices/si_tr_s.ndx", WSJ0_TRAIN_INDEX)),
        WsjSet("train_si84", (WSJ0_TRAIN_INDEX,)),
        WsjSet("test_dev93", ("13-34.1/wsj1/doc/indices/h1_p0.ndx",)),
        WsjSet("test_eval92", ("11-13.1/wsj0/doc/indices/test/nvp/si_et_20.ndx",)),
        WsjSet("test_eval93", ("13-32.1/wsj1/doc/indices/wsj1/eval/h1_p0.ndx",), (("13-32.1", "13-33.1"),)),
    )
}
DEFAULT_SETS = ("train_si284", "test_dev93", "test_eval92")
# The training sets whose text gives the non-linguistic symbol list, in order of preference.
TRAIN_SETS_FOR_NLSYMS = ("train_si284", "train_si84")
NLSYMS_FILE = "nlsyms.txt"
# What the full corpus gives, as in Kaldi's and ESPnet's WSJ recipes (utterances; reference
# words without non-linguistic symbols: the "Wrd" column of ESPnet's results for dev93/eval92).
EXPECTED_UTTERANCES: Dict[str, int] = {
    "train_si84": 7138, "train_si284": 37416, "test_dev93": 503, "test_eval92": 333, "test_eval93": 213,
}
EXPECTED_REF_WORDS: Dict[str, int] = {"test_dev93": 8234, "test_eval92": 5643}
# The discs of the two releases, as numbered by LDC (WSJ0 11-1.1 ... 11-15.1, WSJ1 13-1.1 ... 13-34.1).
USUAL_DISCS = tuple(f"11-{n}.1" for n in range(1, 16)) + tuple(f"13-{n}.1" for n in range(1, 35))
# Left out of every set, as in Kaldi's egs/wsj/s5 data preparation.
EXCLUDED_DIRS = ("11-2.1/wsj0/si_tr_s/401",)

DISC_NAME_RE = re.compile(r"^\d{2}-\d{1,2}\.\d$")
INDEX_LINE_RE = re.compile(r"^(\d+)_(\d+)_(\d+):\s*(\S+)$")
DOT_LINE_RE = re.compile(r"^(.*?)\s*\((\w+)\)\s*$")


# ------------------------------------------------------------------ normalisation

NOISE_WORD = "<NOISE>"
VERBAL_PUNCTUATION_MODES = ("keep", "word", "drop")
_PUNCT_CHARS = ",.;:!?\"'()&/{}%-"
_VERBAL_PUNCT_RE = re.compile(r"^([" + re.escape(_PUNCT_CHARS) + r"]+)([A-Z][A-Z-]*[A-Z])$")


def verbal_punctuation_word(token: str) -> Optional[Tuple[str, str]]:
    """(punctuation, name) for a verbal-punctuation token such as ``,COMMA`` or ``"QUOTE``, else None.

    A token is verbal punctuation when punctuation characters are followed by an
    upper-case name; a lone leading apostrophe counts only before a ``...QUOTE`` name
    (``'SINGLE-QUOTE``), so contractions such as ``'EM`` stay words.
    """
    match = _VERBAL_PUNCT_RE.match(token)
    if match is None:
        return None
    punctuation, name = match.groups()
    if punctuation == "'" and "QUOTE" not in name:
        return None
    return punctuation, name


NORMALIZERS = ("kaldi", "plain")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_W = "[A-Za-z0-9_]"                       # Perl's \w on bytes, as normalize_transcript.pl reads them
_KALDI_DROPPED = re.compile(rf"^\[<{_W}+\]$|^\[{_W}+>\]$|\[{_W}+/\]$|\[/{_W}+\]$")
_KALDI_NOISE = re.compile(rf"\[{_W}+\]")
_KALDI_DELETED_WORD = re.compile(rf"^<((?:{_W}|')+)>$")


def _verbal_punctuation(word: str, verbal_punctuation: str) -> Optional[str]:
    """What a verbal-punctuation token becomes in ``verbal_punctuation`` mode, or None if it is not one."""
    verbal = verbal_punctuation_word(word)
    if verbal is None:
        return None
    if verbal_punctuation == "drop":
        return ""
    if verbal_punctuation == "word":
        return verbal[1]
    return "-DASH" if word == "--DASH" else word


def kaldi_normalize_word(token: str, noise_word: str = NOISE_WORD, verbal_punctuation: str = "keep") -> str:
    """One ``.dot`` token as Kaldi's ``egs/wsj/s5/local/normalize_transcript.pl`` writes it ("" to drop it);
    the rules are listed in :func:`normalize_transcript`."""
    word = token.translate(_ASCII_UPPER).replace("\\", "")
    if word == "%PERCENT":
        return "PERCENT"
    if word == ".POINT":
        return "POINT"
    if word in ("~", ".") or _KALDI_DROPPED.search(word):
        return ""
    if _KALDI_NOISE.search(word):
        return noise_word
    deleted = _KALDI_DELETED_WORD.match(word)
    if deleted:
        return deleted.group(1)
    verbal = _verbal_punctuation(word, verbal_punctuation)
    return word if verbal is None else verbal


def plain_normalize_word(token: str, noise_word: str = NOISE_WORD, verbal_punctuation: str = "keep") -> str:
    """One ``.dot`` token by espnet_kd's earlier, *not* Kaldi-compatible rules ("" to drop it):
    Kaldi's, except that ``*word*`` → ``WORD``, ``SO:`` → ``SO``, any ``<...>`` → its inside
    (``<*IN*>`` → ``*IN*`` → ``IN``) and a ``[...]`` glued to a word is kept as written."""
    word = token.upper().replace("\\", "")
    word = word.replace("%PERCENT", "PERCENT").replace(".POINT", "POINT")
    if len(word) > 2 and word.startswith("<") and word.endswith(">"):
        word = word[1:-1]
    if word in ("~", "."):
        return ""
    if word.startswith("[") and word.endswith("]"):
        inner = word[1:-1]
        if inner.startswith(("<", "/")) or inner.endswith((">", "/")):
            return ""
        return noise_word
    verbal = _verbal_punctuation(word, verbal_punctuation)
    if verbal is not None:
        return verbal
    if "*" in word and word.strip("*"):
        word = word.strip("*")
    if ":" in word and word.replace(":", ""):
        word = word.replace(":", "")
    return word


def normalize_word(token: str, noise_word: str = NOISE_WORD, verbal_punctuation: str = "keep",
                   normalizer: str = "kaldi") -> str:
    """One ``.dot`` token → its normalised form ("" to drop it), by :func:`kaldi_normalize_word`
    (``normalizer="kaldi"``) or :func:`plain_normalize_word` (``"plain"``)."""
    if normalizer == "kaldi":
        return kaldi_normalize_word(token, noise_word, verbal_punctuation)
    if normalizer == "plain":
        return plain_normalize_word(token, noise_word, verbal_punctuation)
    raise ValueError(f"normalizer must be one of {', '.join(NORMALIZERS)}, not '{normalizer}'")


def normalize_transcript(text: str, noise_word: str = NOISE_WORD, verbal_punctuation: str = "keep",
                         normalizer: str = "kaldi") -> str:
    """Normalise a ``.dot`` transcript word by word, by default exactly as Kaldi's
    ``normalize_transcript.pl`` does in the Kaldi and ESPnet WSJ recipes:

    1. upper case (ASCII letters only, as Perl's ``tr:a-z:A-Z:``);
    2. ``\\`` escapes removed (``\\'EM`` → ``'EM``, ``I\\.`` → ``I.``);
    3. Nov'93 spellings: the tokens ``%PERCENT`` → ``PERCENT`` and ``.POINT`` → ``POINT``;
    4. dropped: ``[<door_slam]``, ``[door_slam>]`` (an event overlapping the word before /
       after), ``...[phone_ring/]`` and ``...[/phone_ring]`` (start / end of a long event),
       ``~`` (a truncated utterance) and a lone ``.`` (a pause);
    5. any other token holding ``[word]`` — ``[loud_breath]``, and ``[door_slam]word`` too — becomes
       ``noise_word`` (Kaldi's and ESPnet's ``<NOISE>``; ``""`` drops it);
    6. ``<word>`` of letters, digits, ``_`` and ``'`` (a word the speaker verbally deleted, but
       spoke) → ``WORD``; any other ``<...>`` stays as written (``<*IN*>``, ``<*MR.*>``: ESPnet
       removes them at scoring as non-linguistic symbols);
    7. verbal punctuation (``,COMMA``, ``.PERIOD``, ``"QUOTE``, ``--DASH``, ...; see
       :func:`verbal_punctuation_word`): ``keep`` as written, as Kaldi and ESPnet's WSJ recipes do
       (with Kaldi's ``--DASH`` → ``-DASH``), ``word`` keeps only the name (``COMMA``), ``drop``
       removes it (``word`` and ``drop`` are not Kaldi's);
    8. everything else stays as written: ``*STASTISTICS*`` (a mispronunciation), ``SO:``
       (a lengthened word), ``-HYPHEN``.

    ``normalizer="plain"`` applies espnet_kd's earlier rules instead (:func:`plain_normalize_word`:
    stars, colons and angle brackets removed), which are *not* comparable with ESPnet's results.
    Tokens that become empty are removed; words are joined by single spaces.
    """
    if verbal_punctuation not in VERBAL_PUNCTUATION_MODES:
        raise ValueError(
            f"verbal_punctuation must be one of {', '.join(VERBAL_PUNCTUATION_MODES)}, not '{verbal_punctuation}'"
        )
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer must be one of {', '.join(NORMALIZERS)}, not '{normalizer}'")
    words = (normalize_word(token, noise_word, verbal_punctuation, normalizer) for token in text.split())
    return " ".join(word for word in words if word)


# ----------------------------------------------------------------- finding files

def find_discs(roots: Sequence[PathLike]) -> Dict[str, Path]:
    """Disc id → directory, for the disc directories (``11-1.1``, ``13-34.1``...) in ``roots``."""
    discs: Dict[str, Path] = {}
    for root in roots:
        root = Path(os.path.abspath(root))
        if not root.is_dir():
            raise WsjError(f"corpus directory {root} not found (set WSJ0 / WSJ1 in db.sh)")
        found = [child for child in sorted(root.iterdir()) if child.is_dir() and DISC_NAME_RE.match(child.name)]
        if not found:
            raise WsjError(
                f"{root}: no LDC disc directories (named like 11-1.1 or 13-34.1) in it; WSJ0 / WSJ1 in "
                "db.sh must name the directories that hold the discs"
            )
        for disc in found:
            if disc.name in discs:
                raise WsjError(f"disc {disc.name} found twice: {discs[disc.name]} and {disc}")
            discs[disc.name] = disc
    return discs


class CaseInsensitivePaths:
    """Resolves disc-relative paths, trying the exact spelling first, then any letter case."""

    def __init__(self) -> None:
        self._listings: Dict[Path, Dict[str, str]] = {}

    def _listing(self, directory: Path) -> Dict[str, str]:
        if directory not in self._listings:
            try:
                names = os.listdir(directory)
            except OSError:
                names = []
            self._listings[directory] = {name.lower(): name for name in sorted(names, reverse=True)}
        return self._listings[directory]

    def resolve(self, base: Path, relative: str) -> Optional[Path]:
        """``base/relative`` if it exists in some letter case, else None."""
        exact = base / relative
        if exact.exists():
            return exact
        current = base
        for part in Path(relative).parts:
            name = self._listing(current).get(part.lower())
            if name is None:
                return None
            current = current / name
        return current


@dataclass(frozen=True)
class IndexEntry:
    """One utterance line of an index file."""

    disc: str
    relative_path: str
    index_file: Path
    line_no: int

    @property
    def where(self) -> str:
        """``file:line`` of the entry, for messages."""
        return f"{self.index_file}:{self.line_no}"


def read_index(path: Path, disc_renames: Iterable[Tuple[str, str]] = ()) -> List[IndexEntry]:
    """The entries of an ``.ndx`` file (``;`` comment lines and blank lines skipped).

    A path without an extension gets ``.wv1``.
    """
    renames = dict(disc_renames)
    entries = []
    with open(path, encoding="latin-1") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            match = INDEX_LINE_RE.match(line)
            if match is None:
                raise WsjError(f"{path}:{line_no}: not an index line 'DD_D_D:path' ('{line[:80]}')")
            disc = f"{match.group(1)}-{match.group(2)}.{match.group(3)}"
            relative = match.group(4).lstrip("/")
            if not Path(relative).suffix:
                relative += ".wv1"
            entries.append(IndexEntry(renames.get(disc, disc), relative, path, line_no))
    return entries


class TranscriptFinder:
    """Finds an utterance's ``.dot`` transcript: first the ``.dot`` files beside its audio,
    then any ``.dot`` file on the discs whose name starts with the utterance id's first six
    characters (the session, as Kaldi's ``find_transcripts.pl`` looks them up)."""

    def __init__(self, disc_dirs: Iterable[Path]) -> None:
        self._disc_dirs = list(disc_dirs)
        self._by_session: Optional[Dict[str, List[Path]]] = None
        self._parsed: Dict[Path, Dict[str, str]] = {}
        self._beside: Dict[Path, List[Path]] = {}

    def _dot_files_in(self, directory: Path) -> List[Path]:
        if directory not in self._beside:
            self._beside[directory] = sorted(p for p in directory.iterdir() if p.name.lower().endswith(".dot"))
        return self._beside[directory]

    def _session_index(self) -> Dict[str, List[Path]]:
        if self._by_session is None:
            self._by_session = {}
            for disc_dir in self._disc_dirs:
                for dirpath, _, filenames in os.walk(disc_dir, followlinks=True):
                    for name in sorted(filenames):
                        if name.lower().endswith(".dot"):
                            self._by_session.setdefault(name[:6].lower(), []).append(Path(dirpath) / name)
        return self._by_session

    def parse(self, dot_file: Path) -> Dict[str, str]:
        """Utterance id (lower case) → raw transcript, for one ``.dot`` file."""
        if dot_file not in self._parsed:
            table: Dict[str, str] = {}
            with open(dot_file, encoding="latin-1") as handle:
                for line_no, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    match = DOT_LINE_RE.match(line.rstrip("\n"))
                    if match is None:
                        raise WsjError(f"{dot_file}:{line_no}: not a transcript line 'text (uttid)' ('{line.strip()[:80]}')")
                    table[match.group(2).lower()] = match.group(1)
            self._parsed[dot_file] = table
        return self._parsed[dot_file]

    def find(self, utt_id: str, audio_path: Path) -> Optional[str]:
        """The raw transcript of ``utt_id``, or None if no ``.dot`` file has it."""
        candidates = self._dot_files_in(audio_path.parent) + self._session_index().get(utt_id[:6], [])
        for dot_file in candidates:
            text = self.parse(dot_file).get(utt_id)
            if text is not None:
                return text
        return None


# ------------------------------------------------------------------ data prep

@dataclass
class SetReport:
    """What preparing one set found."""

    name: str
    num_utts: int = 0
    num_speakers: int = 0
    num_compressed: int = 0
    excluded: int = 0
    no_transcript: List[str] = field(default_factory=list)
    empty_transcript: List[str] = field(default_factory=list)
    empty_kept: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, object]:
        """A JSON-able summary."""
        return {
            "set": self.name, "utterances": self.num_utts, "speakers": self.num_speakers,
            "compressed_audio": self.num_compressed, "excluded_by_rule": self.excluded,
            "skipped_no_transcript": self.no_transcript, "skipped_empty_after_normalisation": self.empty_transcript,
            "kept_empty_as_noise": self.empty_kept,
        }


def is_test_set(name: str) -> bool:
    """Whether ``name`` is an evaluation set (``test_*``), which never loses an utterance."""
    return name.startswith("test_")


def wav_scp_entry(audio_path: Path, decoder: Optional[SphereDecoder]) -> Tuple[str, bool]:
    """(wav.scp value, is compressed) for a SPHERE file; a compressed one without a decoder is an error."""
    try:
        header = read_header(audio_path)
    except SphereError as error:
        raise WsjError(str(error)) from None
    if not header.is_compressed:
        return str(audio_path), False
    if decoder is None:
        raise WsjError(
            f"{audio_path} is compressed (SPHERE sample_coding '{header.sample_coding}', as on the LDC discs) "
            f"and neither sph2pipe nor ffmpeg is here: {SPH2PIPE_HINT}"
        )
    return decoder.pipe(audio_path), True


def build_set(wsj_set: WsjSet, discs: Dict[str, Path], finder: TranscriptFinder, paths: CaseInsensitivePaths,
              noise_word: str, verbal_punctuation: str, decoder: Optional[SphereDecoder],
              normalizer: str = "kaldi") -> Tuple[KaldiDataDir, SetReport]:
    """Read one set's index files, transcripts and audio headers into a data dir.

    An utterance whose transcript normalises to nothing is dropped from a training set (as
    ESPnet's ``asr.sh`` drops empty texts from its training data) and kept in a test set with
    the text ``noise_word`` (``<NOISE>`` if that is empty): a non-linguistic symbol, so that its
    reference is empty once the scoring strips them, as ESPnet's is.
    """
    report = SetReport(wsj_set.name)
    wav_scp: Dict[str, str] = {}
    text: Dict[str, str] = {}
    sources: Dict[str, IndexEntry] = {}
    missing_audio: List[str] = []
    for index_relative in wsj_set.index_files:
        disc_name, _, inside = index_relative.partition("/")
        if disc_name not in discs:
            raise WsjError(f"disc {disc_name} (for {wsj_set.name}'s index {index_relative}) not found under WSJ0 / WSJ1")
        index_path = paths.resolve(discs[disc_name], inside)
        if index_path is None:
            raise WsjError(f"index file {discs[disc_name] / inside} for {wsj_set.name} not found")
        for entry in read_index(index_path, wsj_set.disc_renames):
            if any(f"{entry.disc}/{entry.relative_path}".lower().startswith(d.lower() + "/") for d in EXCLUDED_DIRS):
                report.excluded += 1
                continue
            if entry.disc not in discs:
                raise WsjError(f"{entry.where}: disc {entry.disc} not found under WSJ0 / WSJ1")
            audio = paths.resolve(discs[entry.disc], entry.relative_path)
            if audio is None:
                missing_audio.append(f"{discs[entry.disc] / entry.relative_path} ({entry.where})")
                continue
            utt_id = Path(entry.relative_path).stem.lower()
            if utt_id in sources:
                if paths.resolve(discs[sources[utt_id].disc], sources[utt_id].relative_path) == audio:
                    continue
                raise WsjError(f"utterance {utt_id} listed twice with different audio: "
                               f"{sources[utt_id].where} and {entry.where}")
            sources[utt_id] = entry
            raw = finder.find(utt_id, audio)
            if raw is None:
                report.no_transcript.append(utt_id)
                continue
            normalized = normalize_transcript(raw, noise_word, verbal_punctuation, normalizer)
            if not normalized and is_test_set(wsj_set.name):
                report.empty_kept.append(utt_id)
                normalized = noise_word or NOISE_WORD
            elif not normalized:
                report.empty_transcript.append(utt_id)
                continue
            wav_scp[utt_id], compressed = wav_scp_entry(audio, decoder)
            report.num_compressed += compressed
            text[utt_id] = normalized
    if missing_audio:
        raise WsjError(f"{wsj_set.name}: {len(missing_audio)} audio file(s) listed in the index are missing, "
                       f"e.g. {'; '.join(missing_audio[:3])}")
    if not text:
        raise WsjError(f"{wsj_set.name}: no utterance with audio and a transcript")
    utt2spk = {utt: utt[:3] for utt in text}
    report.num_utts, report.num_speakers = len(text), len(set(utt2spk.values()))
    return KaldiDataDir(wav_scp=wav_scp, utt2spk=utt2spk, texts={"text": text}), report


def nonlinguistic_symbols(texts: Iterable[str], extra: Iterable[str] = ()) -> List[str]:
    """The non-linguistic symbol list as ESPnet's WSJ recipe builds it from the training text
    (``cut -f 2- text | tr " " "\\n" | sort | uniq | grep "<"``): every distinct token holding
    ``<`` (``<NOISE>``, ``<*IN*>``, ``<*MR.*>``...), C-sorted, with ``extra`` tokens added."""
    symbols = {token for text in texts for token in text.split() if "<" in token}
    return c_sorted(symbols | {token for token in extra if token})


def count_ref_words(texts: Iterable[str], nlsyms: Iterable[str]) -> int:
    """Reference words as ESPnet's scoring counts them: the tokens that are not in ``nlsyms``."""
    symbols = set(nlsyms)
    return sum(1 for text in texts for token in text.split() if token not in symbols)


def count_warnings(name: str, num_utts: int, ref_words: Optional[int], report: Dict[str, object],
                   discs: Dict[str, Path], expected_utts: Mapping[str, int],
                   expected_words: Mapping[str, int]) -> List[str]:
    """What differs from the expected counts of set ``name``, each with what may be missing; [] if all match."""
    problems = []
    if name in expected_utts and num_utts != expected_utts[name]:
        problems.append(f"{num_utts} utterances, not {expected_utts[name]}")
    if ref_words is not None and name in expected_words and ref_words != expected_words[name]:
        problems.append(f"{ref_words} reference words, not {expected_words[name]}")
    if not problems:
        return []
    hints = [f"the index files read: {', '.join(WSJ_SETS[name].index_files)}"]
    absent = [disc for disc in USUAL_DISCS if disc not in discs]
    if absent:
        hints.append(f"discs not found under WSJ0 / WSJ1: {', '.join(absent)}")
    no_transcript = list(report.get("skipped_no_transcript", []))
    if no_transcript:
        sessions = c_sorted({utt[:6] for utt in no_transcript})
        hints.append(f"{len(no_transcript)} utterance(s) without a transcript, e.g. {', '.join(no_transcript[:5])} "
                     f"(no .dot file of session(s) {', '.join(sessions[:5])} has them)")
    for key, what in (("skipped_empty_after_normalisation", "dropped as empty after normalisation"),
                      ("kept_empty_as_noise", "empty after normalisation (kept as noise)")):
        utts = list(report.get(key, []))
        if utts:
            hints.append(f"{len(utts)} utterance(s) {what}, e.g. {', '.join(utts[:5])}")
    return [f"{name}: {'; '.join(problems)} as in the Kaldi/ESPnet WSJ recipes: the scores are not comparable "
            f"with ESPnet's. Check {'; '.join(hints)}"]


def check_counts(data_dir: Path, sets: Sequence[str], discs: Dict[str, Path], nlsyms: Optional[Sequence[str]],
                 expected_utts: Mapping[str, int] = EXPECTED_UTTERANCES,
                 expected_words: Mapping[str, int] = EXPECTED_REF_WORDS) -> Dict[str, Dict[str, object]]:
    """Count each prepared set's utterances (and a test set's reference words, without ``nlsyms``,
    or without its own ``<`` tokens when there is no list), log them beside the expected counts, and
    log a loud warning for each mismatch; returns the counts by set."""
    counts: Dict[str, Dict[str, object]] = {}
    for name in sets:
        texts = read_table(data_dir / name / "text", allow_empty_value=True)
        marker = data_dir / "local" / "wsj" / f"{name}.json"
        report = json.loads(marker.read_text()).get("report", {}) if marker.is_file() else {}
        symbols = nonlinguistic_symbols(texts.values()) if nlsyms is None else nlsyms
        ref_words = count_ref_words(texts.values(), symbols) if is_test_set(name) else None
        warnings = count_warnings(name, len(texts), ref_words, report, discs, expected_utts, expected_words)
        counts[name] = {"utterances": len(texts), "ref_words": ref_words,
                        "expected_utterances": expected_utts.get(name), "expected_ref_words": expected_words.get(name),
                        "match": not warnings}
        words = "" if ref_words is None else f", {ref_words} reference words (expected {expected_words.get(name, '-')})"
        logging.info("%s: %d utterances (expected %s)%s", name, len(texts), expected_utts.get(name, "-"), words)
        for warning in warnings:
            logging.warning("%s\n*** %s\n%s", "*" * 78, warning, "*" * 78)
    return counts


def write_nlsyms(data_dir: Path, sets: Sequence[str], extra: Iterable[str]) -> Optional[List[str]]:
    """Write ``<data_dir>/nlsyms.txt`` from the text of the first of :data:`TRAIN_SETS_FOR_NLSYMS` in
    ``sets``, and return it; without one, the list already there (or None)."""
    path = data_dir / NLSYMS_FILE
    train = next((name for name in TRAIN_SETS_FOR_NLSYMS if name in sets), None)
    if train is None:
        return path.read_text().split() if path.is_file() else None
    symbols = nonlinguistic_symbols(read_table(data_dir / train / "text", allow_empty_value=True).values(), extra)
    with atomic_write(path) as handle:
        handle.write("".join(symbol + "\n" for symbol in symbols))
    logging.info("%s: %d non-linguistic symbols of %s (%s)", path, len(symbols), train, " ".join(symbols[:10]))
    return symbols


def prepare_wsj(wsj0: PathLike, wsj1: PathLike, data_dir: PathLike, sets: Sequence[str] = DEFAULT_SETS,
                noise_word: str = NOISE_WORD, verbal_punctuation: str = "keep",
                sph2pipe: Optional[str] = None, normalizer: str = "kaldi",
                expected_utts: Mapping[str, int] = EXPECTED_UTTERANCES,
                expected_words: Mapping[str, int] = EXPECTED_REF_WORDS) -> List[SetReport]:
    """Write ``<data_dir>/<set>/`` (wav.scp, text, utt2spk, spk2utt) for every set, and
    ``<data_dir>/nlsyms.txt`` (:func:`nonlinguistic_symbols` of the training set's text, plus the
    noise word) when a training set is among ``sets``.

    ``sph2pipe``: the program for compressed audio (default: :func:`~espnet_kd.utils.sphere.find_sphere_decoder`:
    ``sph2pipe`` on PATH, else ffmpeg on PATH, else imageio-ffmpeg's).
    A set is skipped when ``<data_dir>/local/wsj/<set>.json`` records the same options;
    that file holds the set's report (counts, skipped utterances). Every set's counts are then
    checked against ``expected_utts`` / ``expected_words`` (the full corpus's), a mismatch being
    a loud warning (:func:`check_counts`); they go into ``<data_dir>/local/wsj/counts.json``.
    """
    unknown = [name for name in sets if name not in WSJ_SETS]
    if unknown:
        raise WsjError(f"unknown WSJ set(s) {', '.join(unknown)} (known: {', '.join(WSJ_SETS)})")
    if verbal_punctuation not in VERBAL_PUNCTUATION_MODES:
        raise WsjError(f"--verbal_punctuation must be one of {', '.join(VERBAL_PUNCTUATION_MODES)}")
    if normalizer not in NORMALIZERS:
        raise WsjError(f"--normalizer must be one of {', '.join(NORMALIZERS)}")
    decoder = find_sphere_decoder(sph2pipe)
    discs = find_discs([wsj0, wsj1])
    finder, paths = TranscriptFinder(discs.values()), CaseInsensitivePaths()
    options = {"wsj0": str(Path(wsj0).resolve()), "wsj1": str(Path(wsj1).resolve()), "noise_word": noise_word,
               "verbal_punctuation": verbal_punctuation, "sphere_decoder": decoder and f"{decoder.kind} {decoder.program}",
               "normalizer": normalizer}
    data_dir = Path(data_dir)
    reports = []
    for name in sets:
        out_dir, marker = data_dir / name, data_dir / "local" / "wsj" / f"{name}.json"
        if marker.is_file() and (out_dir / "wav.scp").is_file():
            previous = json.loads(marker.read_text())
            if previous.get("options") == options:
                logging.info("%s is prepared (%s; remove it to redo)", out_dir, marker)
                continue
        started = time.time()
        data, report = build_set(WSJ_SETS[name], discs, finder, paths, noise_word, verbal_punctuation, decoder,
                                 normalizer)
        with atomic_dir(out_dir) as tmp_dir:
            data.write(tmp_dir)
        with atomic_write(marker) as handle:
            json.dump({"options": options, "report": report.as_dict()}, handle, indent=1)
            handle.write("\n")
        skipped = len(report.no_transcript) + len(report.empty_transcript)
        logging.info("%s: %d utterances, %d speakers (%d compressed), %d excluded, %d skipped "
                     "(no or empty transcript; see %s), %d empty kept as %s, in %.1f s", out_dir, report.num_utts,
                     report.num_speakers, report.num_compressed, report.excluded, skipped, marker,
                     len(report.empty_kept), noise_word or NOISE_WORD, time.time() - started)
        reports.append(report)
    nlsyms = write_nlsyms(data_dir, sets, (noise_word or NOISE_WORD,))
    counts = check_counts(data_dir, sets, discs, nlsyms, expected_utts, expected_words)
    with atomic_write(data_dir / "local" / "wsj" / "counts.json") as handle:
        json.dump(counts, handle, indent=1)
        handle.write("\n")
    return reports

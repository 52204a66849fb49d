"""MuST-C (Di Gangi et al. 2019) → Kaldi data dirs for speech translation.

The release's layout, per language pair ``en-<lang>``::

    <root>/en-<lang>/data/<set>/wav/<talk>.wav         one 16 kHz recording per TED talk
    <root>/en-<lang>/data/<set>/txt/<set>.yaml         a YAML list, one entry per segment:
        - {duration: 3.5, offset: 12.61, rec_volume: '...', speaker_id: spk.1, wav: ted_1.wav}
    <root>/en-<lang>/data/<set>/txt/<set>.en           the transcripts, one line per YAML entry
    <root>/en-<lang>/data/<set>/txt/<set>.<lang>       the translations, line-aligned

with ``<set>`` one of ``train``, ``dev``, ``tst-COMMON``, ``tst-HE``.

A prepared set ``<data_dir>/<set>.en-<lang>/`` holds ``wav.scp`` (one entry per talk),
``segments``, ``text`` (the translation), ``text.en`` (the transcript), ``utt2spk``
and ``spk2utt``. Segment ids are ``<speaker>_<talk>_<start ms>_<end ms>`` with the
speaker and talk names stripped to letters and digits and their trailing number
padded to 5 digits (``spk.1`` → ``spk00001``, ``ted_1.wav`` → ``ted00001``) and the
times as 7 digits, so ids, speakers and talks sort alike in C order.

As in ESPnet's MuST-C recipe: segments shorter than ``min_duration`` (0.2 s) are
widened symmetrically to it; segments that share one id (the same talk, start and
end) are ambiguous and all dropped; each text is normalised to a case style —
``tc`` (true case, punctuation kept), ``lc`` (lower case) or ``lc.rm`` (lower case,
punctuation removed except apostrophes) — ESPnet's defaults being ``lc.rm`` for the
transcript and ``tc`` for the translation. Unlike ESPnet, texts are not Moses-
tokenised: sentencepiece works on raw text, and BLEU is computed on detokenised
text. A segment whose text is empty after normalisation is dropped (and counted).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import yaml

from espnet_kd.utils.fileio import PathLike, atomic_dir
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir

logger = logging.getLogger(__name__)

MUST_C_SETS: Tuple[str, ...] = ("train", "dev", "tst-COMMON", "tst-HE")
CASES: Tuple[str, ...] = ("tc", "lc", "lc.rm")
SOURCE_LANG = "en"
MIN_DURATION_S = 0.2
YAML_KEYS = ("duration", "offset", "speaker_id", "wav")
ID_NUMBER_WIDTH = 5
TIME_DIGITS = 7

# Typographic characters mapped to their plain forms (as Moses' normalize-punctuation does).
_PLAIN_PUNCTUATION = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})


class MustcError(DataDirError):
    """The MuST-C tree is missing something, or its files disagree."""


@dataclass(frozen=True)
class MustcSegment:
    """One YAML entry with its transcript and translation (as in the release)."""

    wav: str
    offset: float
    duration: float
    speaker: str
    source: str
    target: str


@dataclass
class PrepareReport:
    """What preparing one set kept and dropped."""

    set_name: str
    segments_in: int = 0
    segments_out: int = 0
    talks: int = 0
    widened: int = 0
    duplicate_ids: List[str] = field(default_factory=list)
    empty_after_normalising: List[str] = field(default_factory=list)


# ---------------------------------------------------------------- text

def normalize_punctuation(text: str) -> str:
    """Typographic quotes, dashes and spaces to plain ASCII; whitespace collapsed."""
    return " ".join(text.translate(_PLAIN_PUNCTUATION).split())


def remove_punctuation(text: str) -> str:
    """Delete punctuation and symbols (Unicode categories P*, S*) except apostrophes."""
    kept = "".join(
        char for char in text
        if char == "'" or unicodedata.category(char)[0] not in ("P", "S")
    )
    return " ".join(kept.split())


def normalize_text(text: str, case: str) -> str:
    """``text`` in the case style ``tc``, ``lc`` or ``lc.rm``."""
    if case not in CASES:
        raise ValueError(f"unknown case style '{case}' (known: {', '.join(CASES)})")
    normalized = normalize_punctuation(text)
    if case == "tc":
        return normalized
    normalized = normalized.lower()
    return normalized if case == "lc" else remove_punctuation(normalized)


# ---------------------------------------------------------------- ids

def padded_name(name: str) -> str:
    """Letters and digits of ``name``, its trailing number zero-padded (``spk.1`` → ``spk00001``)."""
    alnum = re.sub(r"[^A-Za-z0-9]", "", name)
    if not alnum:
        raise MustcError(f"cannot make an id from '{name}' (no letters or digits)")
    match = re.match(r"^(.*?)(\d+)$", alnum)
    if match:
        return f"{match.group(1)}{int(match.group(2)):0{ID_NUMBER_WIDTH}d}"
    return alnum


def segment_times(offset: float, duration: float, min_duration: float = MIN_DURATION_S) -> Tuple[float, float]:
    """(start, end) in seconds, widened symmetrically to ``min_duration`` (not before 0)."""
    widen = max(0.0, (min_duration - duration) / 2)
    return max(0.0, offset - widen), offset + duration + widen


def segment_id(speaker: str, talk: str, start: float, end: float) -> str:
    """``<speaker>_<talk>_<start ms>_<end ms>`` with 7-digit times."""
    return (f"{speaker}_{talk}_{int(round(start * 1000)):0{TIME_DIGITS}d}"
            f"_{int(round(end * 1000)):0{TIME_DIGITS}d}")


def format_time(seconds: float) -> str:
    """Seconds with up to 7 decimals, trailing zeros removed (sample-exact at 16 kHz)."""
    text = f"{seconds:.{TIME_DIGITS}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


# ---------------------------------------------------------------- reading

def set_dir(root: PathLike, lang: str, set_name: str) -> Path:
    """``<root>/en-<lang>/data/<set>``."""
    return Path(root) / f"{SOURCE_LANG}-{lang}" / "data" / set_name


def _read_lines(path: Path) -> List[str]:
    if not path.is_file():
        raise MustcError(f"{path}: file not found")
    return path.read_text(encoding="utf-8").splitlines()


def _parse_entry(entry: object, yaml_path: Path, index: int) -> Tuple[str, float, float, str]:
    """(wav, offset, duration, speaker) of one YAML entry, with a clear error."""
    where = f"{yaml_path}: entry {index + 1}"
    if not isinstance(entry, dict):
        raise MustcError(f"{where} is not a mapping: {entry!r}")
    missing = [key for key in YAML_KEYS if key not in entry]
    if missing:
        raise MustcError(f"{where} lacks {', '.join(missing)}: {entry!r}")
    try:
        offset, duration = float(entry["offset"]), float(entry["duration"])
    except (TypeError, ValueError):
        raise MustcError(f"{where}: offset and duration must be numbers: {entry!r}") from None
    if offset < 0 or duration <= 0:
        raise MustcError(f"{where}: needs offset >= 0 and duration > 0: {entry!r}")
    return str(entry["wav"]), offset, duration, str(entry["speaker_id"])


def read_set(root: PathLike, lang: str, set_name: str) -> List[MustcSegment]:
    """The segments of one set, in YAML order; YAML and text files must have as many lines."""
    base = set_dir(root, lang, set_name)
    if not base.is_dir():
        raise MustcError(f"{base}: MuST-C set not found (expected <root>/en-{lang}/data/{set_name})")
    txt = base / "txt"
    yaml_path = txt / f"{set_name}.yaml"
    if not yaml_path.is_file():
        raise MustcError(f"{yaml_path}: file not found")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(yaml_path, encoding="utf-8") as handle:
        entries = yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)
    if not isinstance(entries, list):
        raise MustcError(f"{yaml_path}: expected a YAML list of segments")
    source_path, target_path = txt / f"{set_name}.{SOURCE_LANG}", txt / f"{set_name}.{lang}"
    sources, targets = _read_lines(source_path), _read_lines(target_path)
    for path, lines in ((source_path, sources), (target_path, targets)):
        if len(lines) != len(entries):
            raise MustcError(
                f"{yaml_path} has {len(entries)} segments but {path} has {len(lines)} lines; "
                "they must be line-aligned"
            )
    segments = []
    for index, (entry, source, target) in enumerate(zip(entries, sources, targets)):
        wav, offset, duration, speaker = _parse_entry(entry, yaml_path, index)
        segments.append(MustcSegment(wav, offset, duration, speaker, source, target))
    return segments


# ---------------------------------------------------------------- data dirs

def build_data_dir(root: PathLike, lang: str, set_name: str, src_case: str = "lc.rm", tgt_case: str = "tc",
                   min_duration: float = MIN_DURATION_S) -> Tuple[KaldiDataDir, PrepareReport]:
    """The Kaldi data dir of one set, and what was kept and dropped."""
    for option, case in (("src_case", src_case), ("tgt_case", tgt_case)):
        if case not in CASES:
            raise ValueError(f"--{option} must be one of {', '.join(CASES)}, not '{case}'")
    wav_dir = set_dir(root, lang, set_name) / "wav"
    segments = read_set(root, lang, set_name)
    report = PrepareReport(set_name=set_name, segments_in=len(segments))
    rows: Dict[str, List[Tuple[str, str, str, str, str]]] = {}
    wav_scp: Dict[str, str] = {}
    for segment in segments:
        talk = padded_name(Path(segment.wav).stem)
        wav_path = wav_dir / segment.wav
        if talk not in wav_scp:
            if not wav_path.is_file():
                raise MustcError(f"{wav_path}: recording named in the YAML not found")
            wav_scp[talk] = str(wav_path.resolve())
        start, end = segment_times(segment.offset, segment.duration, min_duration)
        report.widened += segment.duration < min_duration
        speaker = padded_name(segment.speaker)
        utt = segment_id(speaker, talk, start, end)
        timing = f"{talk} {format_time(start)} {format_time(end)}"
        source, target = normalize_text(segment.source, src_case), normalize_text(segment.target, tgt_case)
        rows.setdefault(utt, []).append((speaker, timing, source, target, segment.wav))
    utt2spk, segments_table, text, text_en = {}, {}, {}, {}
    for utt, copies in rows.items():
        if len(copies) > 1:
            report.duplicate_ids.append(utt)
            continue
        speaker, timing, source, target, _ = copies[0]
        if not source or not target:
            report.empty_after_normalising.append(utt)
            continue
        utt2spk[utt], segments_table[utt], text[utt], text_en[utt] = speaker, timing, target, source
    if not utt2spk:
        raise MustcError(f"{set_dir(root, lang, set_name)}: no usable segments")
    used_talks = {value.split()[0] for value in segments_table.values()}
    data = KaldiDataDir(
        wav_scp={talk: path for talk, path in wav_scp.items() if talk in used_talks},
        utt2spk=utt2spk,
        texts={"text": text, f"text.{SOURCE_LANG}": text_en},
        segments=segments_table,
    )
    report.segments_out, report.talks = len(utt2spk), len(used_talks)
    return data, report


def prepared_name(set_name: str, lang: str) -> str:
    """The data dir name of a prepared set (``tst-COMMON.en-de``), as ESPnet names it."""
    return f"{set_name}.{SOURCE_LANG}-{lang}"


def prepare_must_c(root: PathLike, lang: str, data_dir: PathLike, sets: Sequence[str] = MUST_C_SETS,
                   src_case: str = "lc.rm", tgt_case: str = "tc",
                   min_duration: float = MIN_DURATION_S) -> List[PrepareReport]:
    """Write ``<data_dir>/<set>.en-<lang>/`` for every set (each dir replaced whole, atomically)."""
    if not re.fullmatch(r"[a-z]{2,3}", lang):
        raise ValueError(f"--lang must be a language code such as de, it, es, not '{lang}'")
    reports = []
    for set_name in sets:
        data, report = build_data_dir(root, lang, set_name, src_case, tgt_case, min_duration)
        out_dir = Path(data_dir) / prepared_name(set_name, lang)
        with atomic_dir(out_dir) as tmp_dir:
            data.write(tmp_dir)
        logger.info(
            "%s: %d of %d segments from %d talks (%d widened to %.1f s; dropped: %d sharing an id, "
            "%d empty after normalising)", out_dir, report.segments_out, report.segments_in, report.talks,
            report.widened, min_duration, len(report.duplicate_ids), len(report.empty_after_normalising),
        )
        reports.append(report)
    return reports

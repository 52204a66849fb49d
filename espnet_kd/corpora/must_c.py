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
times as 7 digits of milliseconds, so ids, speakers and talks sort alike in C order.

As in ESPnet's MuST-C recipe (``egs/must_c/st1/local/data_prep.sh``):

- segment times are ESPnet's: offset and duration read to 7 decimals, a segment shorter
  than ``min_duration`` (0.2 s) widened symmetrically to it, whole milliseconds in the id
  (``int(1000 t + 0.5)``) and the ``segments`` file's times rounded to 10 ms (``%.2f``),
  so the cuts are ESPnet's (:func:`segment_ms`, :func:`segment_times`); unlike ESPnet, a
  start widened before 0 is clamped to 0;
- segments that share one id (the same talk, start and end) are ambiguous and all dropped;
- each text is normalised to a case style — ``tc`` (Moses ``normalize-punctuation.perl``),
  ``lc`` (then lower case) or ``lc.rm`` (then ESPnet's ``remove_punctuation.pl``) —
  ESPnet's defaults being ``lc.rm`` for the transcript and ``tc`` for the translation
  (the rules: :mod:`espnet_kd.corpora.moses_text`);
- a segment whose text is empty after normalisation is kept in a test set (``tst-*``,
  with an empty text, as ESPnet keeps it) and dropped (and counted) from ``train``/``dev``
  (ESPnet's ``st.sh`` drops empty texts from its training and validation sets).

Unlike ESPnet, texts are not Moses-tokenised: sentencepiece works on raw text, and BLEU
is computed on detokenised text.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import yaml

from espnet_kd.corpora import moses_text
from espnet_kd.utils.fileio import PathLike, atomic_dir
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, spk2utt_from_utt2spk, write_table

logger = logging.getLogger(__name__)

MUST_C_SETS: Tuple[str, ...] = ("train", "dev", "tst-COMMON", "tst-HE")
CASES: Tuple[str, ...] = ("tc", "lc", "lc.rm")
SOURCE_LANG = "en"
MIN_DURATION_S = 0.2
YAML_KEYS = ("duration", "offset", "speaker_id", "wav")
ID_NUMBER_WIDTH = 5
TIME_DIGITS = 7

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

def normalize_text(text: str, case: str, lang: str = SOURCE_LANG) -> str:
    """``text`` (in language ``lang``) in the case style ``tc``, ``lc`` or ``lc.rm``, as ESPnet's
    MuST-C recipe makes them: Moses punctuation normalisation (``tc``), then lower case (``lc``),
    then ESPnet's punctuation removal (``lc.rm``); see :mod:`espnet_kd.corpora.moses_text`.
    Whitespace runs become one space, and the ends are stripped."""
    if case not in CASES:
        raise ValueError(f"unknown case style '{case}' (known: {', '.join(CASES)})")
    normalized = moses_text.normalize_punctuation(text, lang)
    if case != "tc":
        normalized = moses_text.lowercase(normalized)
    if case == "lc.rm":
        normalized = moses_text.remove_punctuation(normalized)
    return " ".join(normalized.split())


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


def _awk_decimal(value: float) -> float:
    """``value`` printed with 7 decimals and read back, as ESPnet's recipe reads the YAML (awk ``%.7f``)."""
    return float(f"{value:.7f}")


def segment_ms(offset: float, duration: float, min_duration: float = MIN_DURATION_S) -> Tuple[int, int]:
    """(start, end) in whole milliseconds, as ESPnet's MuST-C recipe computes its segment ids.

    Offset and duration are read to 7 decimals; a segment shorter than ``min_duration`` is
    widened by half the shortfall on each side; each time is ``int(1000 * t + 0.5)``. Unlike
    ESPnet, a start widened before the recording's beginning is clamped to 0.
    """
    duration = _awk_decimal(duration)
    widen = _awk_decimal((min_duration - duration) / 2) if duration < min_duration else 0.0
    offset = _awk_decimal(offset)
    start, end = offset - widen, offset + duration + widen
    return max(0, math.floor(1000 * start + 0.5)), math.floor(1000 * end + 0.5)


def segment_times(offset: float, duration: float, min_duration: float = MIN_DURATION_S) -> Tuple[float, float]:
    """(start, end) in seconds as the ``segments`` file holds them: ESPnet's milliseconds
    (:func:`segment_ms`) rounded to 10 ms (its ``printf("%.2f", ms / 1000)``)."""
    start_ms, end_ms = segment_ms(offset, duration, min_duration)
    return float(format_time(start_ms)), float(format_time(end_ms))


def segment_id(speaker: str, talk: str, start_ms: int, end_ms: int) -> str:
    """``<speaker>_<talk>_<start ms>_<end ms>`` with 7-digit times."""
    return f"{speaker}_{talk}_{start_ms:0{TIME_DIGITS}d}_{end_ms:0{TIME_DIGITS}d}"


def format_time(milliseconds: int) -> str:
    """A segment time for the ``segments`` file: seconds with 2 decimals (``12615`` → ``12.62``),
    printed as ESPnet's recipe prints them (C ``%.2f`` of ``ms / 1000``, which Python's
    formatting reproduces: both round the exact binary value, ties to even)."""
    return f"{milliseconds / 1000:.2f}"


def is_test_set(set_name: str) -> bool:
    """Whether ``set_name`` is an evaluation set (``tst-COMMON``, ``tst-HE``), whose segments are never dropped."""
    return set_name.startswith("tst")


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
    keep_empty = is_test_set(set_name)
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
        start_ms, end_ms = segment_ms(segment.offset, segment.duration, min_duration)
        report.widened += _awk_decimal(segment.duration) < min_duration
        speaker = padded_name(segment.speaker)
        utt = segment_id(speaker, talk, start_ms, end_ms)
        timing = f"{talk} {format_time(start_ms)} {format_time(end_ms)}"
        source = normalize_text(segment.source, src_case, SOURCE_LANG)
        target = normalize_text(segment.target, tgt_case, lang)
        rows.setdefault(utt, []).append((speaker, timing, source, target, segment.wav))
    utt2spk, segments_table, text, text_en = {}, {}, {}, {}
    for utt, copies in rows.items():
        if len(copies) > 1:
            report.duplicate_ids.append(utt)
            continue
        speaker, timing, source, target, _ = copies[0]
        if not source or not target:
            report.empty_after_normalising.append(utt)
            if not keep_empty:
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


def write_data_dir(data: KaldiDataDir, path: Path) -> None:
    """:meth:`KaldiDataDir.write`, except that a text may be empty (a test segment kept as ESPnet
    keeps it: the line is ``<utt> `` with nothing after the id)."""
    nonempty = {name: {utt: value or "-" for utt, value in table.items()} for name, table in data.texts.items()}
    KaldiDataDir(data.wav_scp, data.utt2spk, nonempty, data.segments, data.extra).validate(str(path))
    path.mkdir(parents=True, exist_ok=True)
    tables = {"wav.scp": data.wav_scp, "utt2spk": data.utt2spk, "spk2utt": spk2utt_from_utt2spk(data.utt2spk),
              **data.texts, **data.extra}
    if data.segments is not None:
        tables["segments"] = data.segments
    for file_name, table in tables.items():
        write_table(path / file_name, table)


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
            write_data_dir(data, tmp_dir)
        empty = len(report.empty_after_normalising)
        logger.info(
            "%s: %d of %d segments from %d talks (%d widened to %.1f s; dropped: %d sharing an id, "
            "%d empty after normalising)", out_dir, report.segments_out, report.segments_in, report.talks,
            report.widened, min_duration, len(report.duplicate_ids), 0 if is_test_set(set_name) else empty,
        )
        if empty and is_test_set(set_name):
            logger.warning("%s: %d segment(s) with an empty text kept, as ESPnet keeps them in its test sets "
                           "(e.g. %s)", out_dir, empty, ", ".join(report.empty_after_normalising[:3]))
        reports.append(report)
    return reports

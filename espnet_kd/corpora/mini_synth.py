"""The embedded synthetic corpus ``mini_synth``: plan, synthesise, write Kaldi data dirs.

:func:`generate_mini_synth` writes ``<out_dir>/<set>/<uttid>.wav`` (16 kHz mono
16-bit) and the data dirs ``<data_dir>/{train,dev,test}`` with ``wav.scp``
(absolute paths), ``text`` and ``text.en`` (the spoken English form),
``text.it``, ``text.de``, ``utt2spk`` and ``spk2utt``. Beside the wavs,
``<out_dir>/<set>/utterances.jsonl`` records each utterance's pattern, texts,
synthesis settings and duration.

Determinism: the sentences and synthesis settings of each set come from their
own ``random.Random`` seeded by (seed, set), drawn in the main process; the
audio is synthesised in fixed blocks of :data:`BLOCK_SIZE` consecutive
utterances (one espeak-ng batch each, see :mod:`espnet_kd.corpora.espeak`)
that workers take in any order. So a seed gives the same files byte for byte,
whatever ``nj``. The test set is drawn first, then dev, then train, each
excluding the sentences already drawn: no English sentence occurs twice, and
dev and test (texts and audio) do not change when only the training size does.

Speakers: see :mod:`espnet_kd.corpora.voices` (dev and test include two voices
never used in training). Utterance ids are ``<speaker>-<set>-<5-digit index>``.

Unlabeled set (``unlabeled=N``, default 0: none): N more utterances, for distillation
on untranscribed audio, ids ``<speaker>-unlabeled-<index>``: the training voices, new
sentences of the same grammar (none of train, dev or test's) and the same synthesis
settings' ranges, drawn last, from streams of their own, and synthesised in blocks of
their own, so train, dev and test are byte for byte the same whatever N. Its data dir
``<data_dir>/unlabeled/`` holds ``wav.scp``, ``utt2spk`` and ``spk2utt`` and no text;
its true texts, for analysis only (e.g. the WER of the teacher's pseudo-labels), are
``<out_dir>/unlabeled/truth/{text.en,text.it,text.de}`` (Kaldi tables, as in the other
sets) and the ``utterances.jsonl`` beside its wavs.

Translation alternatives (``translation_variants`` on): each utterance's Italian and German
text is one draw among several correct translations (:mod:`espnet_kd.corpora.variants`).
Every one of them, for multi-reference scoring (``espnet_kd.bin.score_alternatives``), is in
``<out_dir>/<set>/alternatives/text.it.jsonl`` and ``text.de.jsonl`` for train, dev and test
(not the unlabeled set), outside the data dirs: one line per utterance in utterance-id order
(C locale), ``{"utt_id": "...", "alternatives": ["...", ...]}``, the alternatives sorted and
distinct, the data dir's ``text.it``/``text.de`` one of them. The data dirs do not change.
They are derived from the plan alone, so a corpus generated before they existed gets them
without synthesis (:func:`write_mini_synth_alternatives`, or a rerun of
:func:`generate_mini_synth` with the same arguments); without variants there are none (an
earlier run's are removed).

Resumability: ``<data_dir>/.mini_synth.done`` records what was generated; a
second call with the same sizes, seed, output dir and N finds it and returns at
once. A call that differs only in N makes (or, for N = 0, removes) the unlabeled
set alone, leaving train, dev and test as they are; anything else regenerates
everything. The data dirs (each replaced as a whole) and the marker are written
only after every wav is.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import random
import re
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from espnet_kd.corpora.grammar import sample_unique_trees
from espnet_kd.corpora.sentences import RenderedSentence, Sentence
from espnet_kd.corpora.synth import (
    SAMPLE_RATE,
    SynthesisParams,
    sample_synthesis_params,
    synthesize_utterances,
    write_wav,
)
from espnet_kd.corpora.variants import german_alternatives, italian_alternatives
from espnet_kd.corpora.voices import VOICES_BY_SET, speaker_id
from espnet_kd.utils.fileio import atomic_dir, atomic_write
from espnet_kd.utils.kaldi_dir import (
    TEXT_ABSENT,
    TEXT_REQUIRED,
    DataDirError,
    KaldiDataDir,
    c_sorted,
    read_table,
    write_table,
)

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]


class SetSizes(NamedTuple):
    """Number of utterances per set."""

    train: int
    dev: int
    test: int


# Named corpus sizes (train, dev, test). Edit here to retune.
SIZES: Dict[str, SetSizes] = {
    "tiny": SetSizes(48, 12, 12),
    "small": SetSizes(300, 60, 60),
    "default": SetSizes(800, 300, 300),   # 300-utterance dev and test sets (CIs need them)
}
MAX_SET_SIZE = 99999  # utterance ids carry a 5-digit index
SET_NAMES: Tuple[str, ...] = ("train", "dev", "test")
DRAW_ORDER: Tuple[str, ...] = ("test", "dev", "train")  # see the module docstring
UNLABELED_SET = "unlabeled"   # drawn after DRAW_ORDER, only when asked for (see the module docstring)
TRUTH_DIR = "truth"           # <out_dir>/unlabeled/truth/: the unlabeled set's true texts
TRUTH_TEXTS: Tuple[str, ...] = ("text.en", "text.it", "text.de")
ALTERNATIVES_DIR = "alternatives"   # <out_dir>/<set>/alternatives/: every correct translation (variants on)
# the alternatives files by target language; the data dirs' text.<lang> is one of each line's alternatives
ALTERNATIVES_FILES: Dict[str, str] = {"it": "text.it.jsonl", "de": "text.de.jsonl"}
DONE_MARKER = ".mini_synth.done"
METADATA_FILE = "utterances.jsonl"
# Bump when the grammar, voices or synthesis change, so old outputs are regenerated.
CORPUS_VERSION = 1
# Stamp keys recorded only when they differ from these defaults, so older markers keep matching.
OPTIONAL_STAMP_DEFAULTS: Dict[str, object] = {"translation_variants": False, "unlabeled": 0}
PROGRESS_INTERVAL_S = 5.0
# Utterances spoken by one espeak-ng batch (one fork); part of what fixes the audio.
BLOCK_SIZE = 32

_CUSTOM_SIZE = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*:\s*(\d+)\s*$")


def parse_size(size: str) -> SetSizes:
    """A name from :data:`SIZES`, or ``"train:dev:test"`` counts such as ``"800:100:100"``."""
    if size in SIZES:
        return SIZES[size]
    match = _CUSTOM_SIZE.match(size)
    if match:
        counts = SetSizes(*(int(group) for group in match.groups()))
        if min(counts) < 1 or max(counts) > MAX_SET_SIZE:
            raise ValueError(f"size {size!r}: every set needs 1..{MAX_SET_SIZE} utterances")
        return counts
    valid = ", ".join(SIZES)
    raise ValueError(f"unknown corpus size {size!r}: use one of {valid}, or counts as 'train:dev:test'")


@dataclass(frozen=True)
class PlannedUtterance:
    """One utterance to synthesise: its id, speaker, texts, settings and wav path."""

    utt_id: str
    set_name: str
    speaker: str
    sentence: RenderedSentence
    params: SynthesisParams
    wav_path: Path
    tree: Optional[Sentence] = None   # what ``sentence`` was rendered from (its translation alternatives)


def _set_rng(seed: int, set_name: str, stream: str) -> random.Random:
    """An independent generator per (seed, set, stream); string seeds hash stably (SHA-512)."""
    return random.Random(f"mini_synth/{seed}/{set_name}/{stream}")


def plan_set(set_name: str, count: int, seed: int, out_dir: Path, exclude: Set[str],
             translation_variants: bool = False) -> List[PlannedUtterance]:
    """Draw ``count`` distinct sentences not in ``exclude`` and their synthesis settings.

    Voices go round-robin over the set's voice list, so speakers are balanced.
    """
    voices = VOICES_BY_SET[set_name]
    sentence_rng = _set_rng(seed, set_name, "text")
    audio_rng = _set_rng(seed, set_name, "audio")
    # translation alternatives (espnet_kd.corpora.variants) come from a stream of their own
    variants_rng = _set_rng(seed, set_name, "variants") if translation_variants else None
    planned = []
    sentences = sample_unique_trees(sentence_rng, count, exclude, variants_rng=variants_rng)
    for index, (tree, sentence) in enumerate(sentences):
        voice = voices[index % len(voices)]
        speaker = speaker_id(voice)
        utt_id = f"{speaker}-{set_name}-{index:05d}"
        planned.append(PlannedUtterance(
            utt_id=utt_id,
            set_name=set_name,
            speaker=speaker,
            sentence=sentence,
            params=sample_synthesis_params(audio_rng, voice),
            wav_path=out_dir / set_name / f"{utt_id}.wav",
            tree=tree,
        ))
    return planned


def plan_corpus(sizes: SetSizes, seed: int, out_dir: Path, translation_variants: bool = False,
                unlabeled: int = 0) -> Dict[str, List[PlannedUtterance]]:
    """Plan every set (test, then dev, then train, then ``unlabeled`` utterances of the
    unlabeled set if more than 0; no English sentence twice)."""
    taken: Set[str] = set()
    plan: Dict[str, List[PlannedUtterance]] = {}
    for set_name in DRAW_ORDER:
        plan[set_name] = plan_set(set_name, getattr(sizes, set_name), seed, out_dir, taken, translation_variants)
        taken.update(utt.sentence.en for utt in plan[set_name])
    planned = {set_name: plan[set_name] for set_name in SET_NAMES}
    if unlabeled > 0:
        planned[UNLABELED_SET] = plan_set(UNLABELED_SET, unlabeled, seed, out_dir, taken, translation_variants)
    return planned


# ---------------------------------------------------------------- synthesis

_Job = Tuple[str, str, SynthesisParams, str]  # utt_id, English text, settings, wav path


def _synthesize_block(block: List[_Job]) -> List[Tuple[str, int]]:
    """Synthesise and write one block of utterances; returns (utt_id, number of samples) each."""
    waveforms = synthesize_utterances([(text, params) for _, text, params, _ in block])
    lengths = []
    for (utt_id, _, _, wav_path), samples in zip(block, waveforms):
        write_wav(wav_path, samples)
        lengths.append((utt_id, int(samples.size)))
    return lengths


def _blocks(utterances: List[PlannedUtterance]) -> List[List[_Job]]:
    """Consecutive utterances in groups of :data:`BLOCK_SIZE`, never mixing sets.

    espeak-ng carries state between the utterances of a batch, so these fixed
    blocks, not the worker count, decide which utterances share a batch.
    """
    blocks: List[List[_Job]] = []
    current_set = None
    for utt in utterances:
        if not blocks or len(blocks[-1]) == BLOCK_SIZE or utt.set_name != current_set:
            blocks.append([])
            current_set = utt.set_name
        blocks[-1].append((utt.utt_id, utt.sentence.en, utt.params, str(utt.wav_path)))
    return blocks


class _Progress:
    """Logs "done/total (rate)" at most every :data:`PROGRESS_INTERVAL_S` seconds, and at the end."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self.last_log = self.start

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.done == self.total or now - self.last_log >= PROGRESS_INTERVAL_S:
            self.last_log = now
            rate = self.done / max(now - self.start, 1e-9)
            logger.info("mini_synth: %d/%d utterances synthesised (%.1f utt/s)", self.done, self.total, rate)


def synthesize_all(utterances: List[PlannedUtterance], nj: int = 1) -> Dict[str, int]:
    """Synthesise every planned utterance with ``nj`` processes; sample counts by utterance id."""
    blocks = _blocks(utterances)
    progress = _Progress(len(utterances))
    lengths: Dict[str, int] = {}
    if nj == 1:
        for block_lengths in map(_synthesize_block, blocks):
            lengths.update(block_lengths)
            progress.advance(len(block_lengths))
        return lengths
    # "spawn": fresh workers, whatever threads or state the calling process has.
    with multiprocessing.get_context("spawn").Pool(nj) as pool:
        for block_lengths in pool.imap_unordered(_synthesize_block, blocks):
            lengths.update(block_lengths)
            progress.advance(len(block_lengths))
    return lengths


# ---------------------------------------------------------------- outputs

def _true_texts(utterances: List[PlannedUtterance]) -> Dict[str, Dict[str, str]]:
    """``text.en``, ``text.it``, ``text.de`` of the utterances, by file name."""
    return {
        "text.en": {utt.utt_id: utt.sentence.en for utt in utterances},
        "text.it": {utt.utt_id: utt.sentence.it for utt in utterances},
        "text.de": {utt.utt_id: utt.sentence.de for utt in utterances},
    }


def _data_dir_of(utterances: List[PlannedUtterance], labelled: bool = True) -> KaldiDataDir:
    """The set's data dir: with ``text`` (the English) and the true texts, or none (``labelled=False``)."""
    texts: Dict[str, Dict[str, str]] = {}
    if labelled:
        true_texts = _true_texts(utterances)
        texts = {"text": dict(true_texts["text.en"]), **true_texts}
    return KaldiDataDir(
        wav_scp={utt.utt_id: str(utt.wav_path) for utt in utterances},
        utt2spk={utt.utt_id: utt.speaker for utt in utterances},
        texts=texts,
    )


def _write_metadata(path: Path, utterances: List[PlannedUtterance], lengths: Dict[str, int]) -> None:
    with atomic_write(path) as handle:
        for utt in sorted(utterances, key=lambda utt: utt.utt_id):
            record = {
                "utt": utt.utt_id,
                "speaker": utt.speaker,
                "pattern": utt.sentence.pattern,
                "en": utt.sentence.en,
                "it": utt.sentence.it,
                "de": utt.sentence.de,
                "duration_s": round(lengths[utt.utt_id] / SAMPLE_RATE, 4),
                **utt.params.to_dict(),
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def alternatives_of(utterances: List[PlannedUtterance]) -> Dict[str, Dict[str, List[str]]]:
    """Every correct translation of each utterance (:mod:`espnet_kd.corpora.variants`), by target
    language (``it``, ``de``), then utterance id; each holds the utterance's own text of that language."""
    tables: Dict[str, Dict[str, List[str]]] = {lang: {} for lang in ALTERNATIVES_FILES}
    for utt in utterances:
        if utt.tree is None:
            raise ValueError(f"{utt.utt_id}: planned without its sentence tree, so without alternatives")
        for lang, alternatives in (("it", italian_alternatives(utt.tree)), ("de", german_alternatives(utt.tree))):
            if getattr(utt.sentence, lang) not in alternatives:   # a variant outside the alternatives: a bug
                raise RuntimeError(f"{utt.utt_id}: its {lang} text {getattr(utt.sentence, lang)!r} is not among "
                                   f"its alternatives {alternatives}")
            tables[lang][utt.utt_id] = alternatives
    return tables


def _write_alternatives(set_dir: Path, utterances: List[PlannedUtterance]) -> None:
    """``<set_dir>/alternatives/text.{it,de}.jsonl``: one ``{"utt_id", "alternatives"}`` line per
    utterance in utterance-id order (C locale), the directory replaced as a whole."""
    tables = alternatives_of(utterances)
    with atomic_dir(set_dir / ALTERNATIVES_DIR) as tmp_dir:
        for lang, file_name in ALTERNATIVES_FILES.items():
            with atomic_write(tmp_dir / file_name) as handle:
                for utt_id in c_sorted(tables[lang]):
                    record = {"utt_id": utt_id, "alternatives": tables[lang][utt_id]}
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _alternatives_complete(out_dir: Path) -> bool:
    """Whether every labelled set's alternatives files are in place."""
    return all((out_dir / set_name / ALTERNATIVES_DIR / file_name).is_file()
               for set_name in SET_NAMES for file_name in ALTERNATIVES_FILES.values())


def _write_all_alternatives(plan: Dict[str, List[PlannedUtterance]], out_dir: Path) -> None:
    for set_name in SET_NAMES:
        _write_alternatives(out_dir / set_name, plan[set_name])
        logger.info("mini_synth: %s: alternatives in %s", set_name, out_dir / set_name / ALTERNATIVES_DIR)


def _remove_old_wavs(set_dir: Path, set_name: str) -> None:
    """Delete wavs (and leftover temporaries) a previous run wrote for ``set_name``."""
    if not set_dir.is_dir():
        return
    for pattern in (f"*-{set_name}-*.wav", f".*-{set_name}-*.wav.tmp"):
        for path in set_dir.glob(pattern):
            path.unlink()


def _duration_summary(lengths: Iterable[int]) -> str:
    seconds = [length / SAMPLE_RATE for length in lengths]
    return (f"{len(seconds)} utt, {sum(seconds) / 60:.1f} min, duration mean {statistics.mean(seconds):.2f} s, "
            f"min {min(seconds):.2f} s, max {max(seconds):.2f} s")


def _stamp(sizes: SetSizes, seed: int, out_dir: Path, translation_variants: bool = False,
           unlabeled: int = 0) -> Dict[str, object]:
    """What the done-marker must match for a run to be skipped (variants and the unlabeled set's
    size recorded only when on, so that a marker written before they existed still matches)."""
    stamp: Dict[str, object] = {"corpus_version": CORPUS_VERSION, "sizes": dict(sizes._asdict()), "seed": seed,
                                "out_dir": str(out_dir)}
    if translation_variants:
        stamp["translation_variants"] = True
    if unlabeled:
        stamp["unlabeled"] = unlabeled
    return stamp


def _stamp_matches(recorded: Dict[str, object], stamp: Dict[str, object], ignore: Sequence[str] = ()) -> bool:
    """Whether a marker's record matches ``stamp`` in every key but ``ignore`` (an optional key that
    is absent counts as its default, :data:`OPTIONAL_STAMP_DEFAULTS`)."""
    keys = (set(stamp) | set(OPTIONAL_STAMP_DEFAULTS)) - set(ignore)
    return all(recorded.get(key, OPTIONAL_STAMP_DEFAULTS.get(key)) == stamp.get(key, OPTIONAL_STAMP_DEFAULTS.get(key))
               for key in keys)


def _read_marker(marker: Path) -> Optional[Dict[str, object]]:
    """The done-marker's record, or ``None`` if there is none (or it is unreadable)."""
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _write_marker(marker: Path, record: Dict[str, object]) -> None:
    with atomic_write(marker) as handle:
        json.dump(record, handle, indent=1)
        handle.write("\n")


def _sets_complete(data_dir: Path, out_dir: Path, set_names: Iterable[str]) -> bool:
    """Whether the data dirs of ``set_names`` and their wavs (and the unlabeled set's true texts) are in place."""
    try:
        for set_name in set_names:
            unlabeled = set_name == UNLABELED_SET
            loaded = KaldiDataDir.load(data_dir / set_name, text=TEXT_ABSENT if unlabeled else TEXT_REQUIRED)
            if not all(Path(path).is_file() for path in loaded.wav_scp.values()):
                return False
            if unlabeled and not all((out_dir / UNLABELED_SET / TRUTH_DIR / name).is_file() for name in TRUTH_TEXTS):
                return False
    except DataDirError:
        return False
    return True


def _write_set(set_name: str, utterances: List[PlannedUtterance], lengths: Dict[str, int], out_dir: Path,
               data_dir: Path, translation_variants: bool = False) -> str:
    """Write a synthesised set's metadata, data dir (and, for the unlabeled set, its true texts; for a
    labelled one with ``translation_variants``, its alternatives); its summary."""
    _write_metadata(out_dir / set_name / METADATA_FILE, utterances, lengths)
    labelled = set_name != UNLABELED_SET
    if not labelled:
        with atomic_dir(out_dir / set_name / TRUTH_DIR) as tmp_dir:
            for file_name, table in _true_texts(utterances).items():
                write_table(tmp_dir / file_name, table)
    elif translation_variants:
        _write_alternatives(out_dir / set_name, utterances)
    elif (out_dir / set_name / ALTERNATIVES_DIR).is_dir():   # an earlier run's, with variants on
        shutil.rmtree(out_dir / set_name / ALTERNATIVES_DIR)
    with atomic_dir(data_dir / set_name) as tmp_dir:
        _data_dir_of(utterances, labelled=labelled).write(tmp_dir)
    return _duration_summary(lengths[utt.utt_id] for utt in utterances)


def _make_sets(plan: Dict[str, List[PlannedUtterance]], set_names: Sequence[str], out_dir: Path,
               data_dir: Path, nj: int, translation_variants: bool = False) -> Dict[str, str]:
    """Synthesise and write the sets ``set_names`` of ``plan``; their duration summaries by set."""
    for set_name in set_names:
        _remove_old_wavs(out_dir / set_name, set_name)
        (out_dir / set_name).mkdir(parents=True, exist_ok=True)
    lengths = synthesize_all([utt for set_name in set_names for utt in plan[set_name]], nj)
    summary: Dict[str, str] = {}
    for set_name in set_names:
        summary[set_name] = _write_set(set_name, plan[set_name], lengths, out_dir, data_dir, translation_variants)
        logger.info("mini_synth: %s: %s", set_name, summary[set_name])
    return summary


def _remove_unlabeled_set(out_dir: Path, data_dir: Path) -> None:
    """Delete the unlabeled set an earlier run made: its data dir, wavs, metadata and true texts."""
    for path in (data_dir / UNLABELED_SET, out_dir / UNLABELED_SET):
        if path.is_dir():
            logger.info("mini_synth: removing the unlabeled set's %s", path)
            shutil.rmtree(path)


def generate_mini_synth(out_dir: PathLike, data_dir: PathLike, size: str = "default", seed: int = 0,
                        nj: int = 1, translation_variants: bool = False, unlabeled: int = 0) -> None:
    """Generate the mini_synth corpus: wavs under ``out_dir``, Kaldi data dirs under ``data_dir``.

    ``size`` is a name from :data:`SIZES` or ``"train:dev:test"``; ``nj`` is the
    number of synthesis processes (the output does not depend on it);
    ``translation_variants`` gives the Italian and German texts meaning-preserving
    alternatives per utterance (:mod:`espnet_kd.corpora.variants`; English and audio
    unchanged); ``unlabeled`` is the size of the unlabeled set (0: none; see the
    module doc). A second call with the same arguments returns at once (writing only the
    translation alternatives if variants are on and they are missing); one that differs only
    in ``unlabeled`` makes or removes the unlabeled set alone.
    """
    sizes = parse_size(size)
    if nj < 1:
        raise ValueError(f"nj must be at least 1, got {nj}")
    if not 0 <= unlabeled <= MAX_SET_SIZE:
        raise ValueError(f"the unlabeled set needs 0..{MAX_SET_SIZE} utterances (0: none), got {unlabeled}")
    out_dir = Path(out_dir).resolve()
    data_dir = Path(data_dir).resolve()
    if out_dir == data_dir:
        raise ValueError(f"out_dir and data_dir must differ (both are {out_dir}): the set dirs would collide")
    stamp = _stamp(sizes, seed, out_dir, translation_variants, unlabeled)
    set_names = SET_NAMES + ((UNLABELED_SET,) if unlabeled else ())
    marker = data_dir / DONE_MARKER
    recorded = _read_marker(marker)
    if recorded is not None and _stamp_matches(recorded, stamp) and _sets_complete(data_dir, out_dir, set_names):
        if translation_variants and not _alternatives_complete(out_dir):
            # a corpus generated before the alternatives were written: re-plan it (no synthesis)
            logger.info("mini_synth: %s already holds size %s seed %d; writing its translation alternatives",
                        data_dir, size, seed)
            _write_all_alternatives(plan_corpus(sizes, seed, out_dir, translation_variants), out_dir)
            return
        logger.info("mini_synth: %s already holds size %s seed %d (unlabeled %d); nothing to do",
                    data_dir, size, seed, unlabeled)
        return
    start = time.monotonic()
    plan = plan_corpus(sizes, seed, out_dir, translation_variants, unlabeled)
    had_unlabeled = recorded is not None and recorded.get("unlabeled", 0) != 0
    if recorded is not None and _stamp_matches(recorded, stamp, ignore=("unlabeled",)) \
            and _sets_complete(data_dir, out_dir, SET_NAMES):
        # train, dev and test are there: only the unlabeled set changes. The marker first says so
        # (an interrupted run then redoes the unlabeled set alone).
        summary = {set_name: text for set_name, text in dict(recorded.get("summary") or {}).items()
                   if set_name in SET_NAMES}
        _write_marker(marker, {**{key: value for key, value in recorded.items() if key != "unlabeled"},
                               "summary": summary})
        if had_unlabeled:
            _remove_unlabeled_set(out_dir, data_dir)
        if translation_variants and not _alternatives_complete(out_dir):
            _write_all_alternatives(plan, out_dir)
        if unlabeled:
            logger.info("mini_synth: train, dev and test in place; making the unlabeled set (%d utterances), "
                        "seed %d, nj %d -> %s", unlabeled, seed, nj, out_dir)
            summary.update(_make_sets(plan, (UNLABELED_SET,), out_dir, data_dir, nj))
    else:
        if marker.exists():
            marker.unlink()
        if had_unlabeled:
            _remove_unlabeled_set(out_dir, data_dir)
        total = sum(len(plan[set_name]) for set_name in set_names)
        logger.info("mini_synth: %d utterances (train %d, dev %d, test %d, unlabeled %d), seed %d, nj %d -> %s",
                    total, sizes.train, sizes.dev, sizes.test, unlabeled, seed, nj, out_dir)
        summary = _make_sets(plan, set_names, out_dir, data_dir, nj, translation_variants)
    elapsed = time.monotonic() - start
    _write_marker(marker, {**stamp, "size": size, "elapsed_s": round(elapsed, 1), "summary": summary})
    logger.info("mini_synth: done in %.1f s", elapsed)


def _describe_stamp(stamp: Dict[str, object]) -> str:
    sizes = dict(stamp.get("sizes") or {})
    return (f"size {sizes.get('train')}:{sizes.get('dev')}:{sizes.get('test')} seed {stamp.get('seed')} "
            f"translation_variants {str(bool(stamp.get('translation_variants', False))).lower()} "
            f"out_dir {stamp.get('out_dir')} (corpus version {stamp.get('corpus_version')})")


def write_mini_synth_alternatives(out_dir: PathLike, data_dir: PathLike, size: str = "default", seed: int = 0,
                                  translation_variants: bool = True) -> List[Path]:
    """Write the translation alternatives of a corpus already generated, re-planning it (no synthesis).

    The arguments are those the corpus was generated with (``unlabeled`` plays no part: the
    unlabeled set has no alternatives and does not change the others). Refused (``ValueError``)
    without ``translation_variants`` (each utterance then has one translation, its data dir's
    ``text.it``/``text.de``), when ``<data_dir>`` holds no corpus generated with these
    arguments, or when its ``text.it``/``text.de`` are not what the re-planned corpus says
    (another version of the generator). Writes ``<out_dir>/<set>/alternatives/`` exactly as
    :func:`generate_mini_synth` does, nothing else; returns the files written.
    """
    if not translation_variants:
        raise ValueError("translation alternatives exist only for a corpus generated with translation_variants "
                         "on: without it each utterance has one translation, the text.it/text.de of its data dir")
    sizes = parse_size(size)
    out_dir = Path(out_dir).resolve()
    data_dir = Path(data_dir).resolve()
    if out_dir == data_dir:
        raise ValueError(f"out_dir and data_dir must differ (both are {out_dir})")
    marker = data_dir / DONE_MARKER
    recorded = _read_marker(marker)
    if recorded is None:
        raise ValueError(f"{data_dir} holds no generated mini_synth corpus ({DONE_MARKER} missing or unreadable): "
                         "generate it (make_mini_synth without --alternatives_only writes the alternatives too)")
    stamp = _stamp(sizes, seed, out_dir, translation_variants)
    if not _stamp_matches(recorded, stamp, ignore=("unlabeled",)):
        raise ValueError(f"{marker} records {_describe_stamp(recorded)}, not {_describe_stamp(stamp)}: "
                         "pass the options the corpus was generated with")
    plan = plan_corpus(sizes, seed, out_dir, translation_variants)
    for set_name in SET_NAMES:
        for lang in ALTERNATIVES_FILES:
            path = data_dir / set_name / f"text.{lang}"
            try:
                written = read_table(path)
            except DataDirError as error:
                raise ValueError(f"cannot check the corpus against its plan: {error}") from None
            planned = {utt.utt_id: getattr(utt.sentence, lang) for utt in plan[set_name]}
            if written != planned:
                utt_id = next((utt for utt in c_sorted(set(written) | set(planned))
                               if written.get(utt) != planned.get(utt)), None)
                raise ValueError(f"{path} is not the re-planned corpus's (first difference: {utt_id}, "
                                 f"{written.get(utt_id)!r} vs {planned.get(utt_id)!r}): generated by another "
                                 "version of the generator; regenerate the corpus")
    _write_all_alternatives(plan, out_dir)
    return [out_dir / set_name / ALTERNATIVES_DIR / file_name
            for set_name in SET_NAMES for file_name in ALTERNATIVES_FILES.values()]


def iter_planned_sentences(size: str = "default", seed: int = 0,
                           translation_variants: bool = False) -> Iterator[Tuple[str, RenderedSentence]]:
    """(set name, sentence) for every utterance of a corpus, without synthesising it."""
    plan = plan_corpus(parse_size(size), seed, Path("."), translation_variants)
    for set_name in SET_NAMES:
        for utt in plan[set_name]:
            yield set_name, utt.sentence

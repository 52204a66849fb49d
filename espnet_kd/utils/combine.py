"""Combine Kaldi data dirs into one (the labelled set and the pseudo-labelled untranscribed sets).

A student of ``<method>+unlabeled`` trains on the pseudo-labels of the training set and of every
``--unlabeled_sets`` set together. :func:`combine_data_dirs` joins such dirs:

- utterance ids must be unique over the parts (a repeated id is refused: the two parts would
  overwrite each other's labels); recordings (``wav.scp`` with ``segments``) may be shared only
  when they name the same audio;
- ``text`` is required in every part (a set that is still unlabeled has not been labelled yet);
- a table every part has is combined; one that only some parts have is left out and named in
  :attr:`Combined.dropped_tables` (the mini_synth training set keeps ``text.en``, ``text.it`` …
  that an unlabeled set cannot have), except ``utt2weight``: training weights are never dropped
  silently, so a part without them is refused;
- ``segments`` in all parts or in none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir, c_sorted

#: a table whose absence from a part is an error, not a reason to drop it
NEVER_DROPPED = ("text", "utt2weight")
SHOWN_IDS = 5


@dataclass
class Combined:
    """The combined dir, the utterances each part gave (by its name), the tables left out."""

    data_dir: KaldiDataDir
    utts_by_part: Dict[str, int] = field(default_factory=dict)
    dropped_tables: List[str] = field(default_factory=list)


def _merge(tables: Sequence[Mapping[str, str]], what: str, allow_same_value: bool = False) -> Dict[str, str]:
    """The union of ``tables``; a key in two of them is refused (unless it has the same value and
    ``allow_same_value``)."""
    merged: Dict[str, str] = {}
    clashes: List[str] = []
    for table in tables:
        for key, value in table.items():
            if key in merged and not (allow_same_value and merged[key] == value):
                clashes.append(key)
            merged[key] = value
    if clashes:
        raise DataDirError(
            f"{len(clashes)} {what} id(s) are in more than one of the dirs to combine, e.g. "
            f"{c_sorted(clashes)[:SHOWN_IDS]}; combined ids must be unique"
        )
    return merged


def _common_tables(parts: Mapping[str, KaldiDataDir], kind: str) -> tuple:
    """The names of the ``kind`` tables (``texts`` or ``extra``) every part has, and those some lack."""
    names = [set(getattr(part, kind)) for part in parts.values()]
    everywhere = set.intersection(*names) if names else set()
    anywhere = set.union(*names) if names else set()
    for name in NEVER_DROPPED:
        if name in anywhere and name not in everywhere:
            lacking = [part_name for part_name, part in parts.items() if name not in getattr(part, kind)]
            raise DataDirError(f"{name} is in some of the dirs to combine but not in {', '.join(lacking)}")
    return sorted(everywhere), sorted(anywhere - everywhere)


def combine_data_dirs(parts: Mapping[str, KaldiDataDir]) -> Combined:
    """The data dirs ``parts`` (by name, e.g. their paths) joined into one; see the module doc."""
    if not parts:
        raise DataDirError("no data dirs to combine")
    for name, part in parts.items():
        if not part.has_text:
            raise DataDirError(f"{name} has no text: label it before combining it with the training set")
    with_segments = [name for name, part in parts.items() if part.segments is not None]
    if with_segments and len(with_segments) != len(parts):
        raise DataDirError(f"segments in {', '.join(with_segments)} but not in every dir to combine")
    texts, dropped_texts = _common_tables(parts, "texts")
    extras, dropped_extras = _common_tables(parts, "extra")
    values = list(parts.values())
    segments: Optional[Dict[str, str]] = None
    if with_segments:
        segments = _merge([part.segments or {} for part in values], "utterance")
        wav_scp = _merge([part.wav_scp for part in values], "recording", allow_same_value=True)
    else:
        wav_scp = _merge([part.wav_scp for part in values], "utterance")
    combined = KaldiDataDir(
        wav_scp=wav_scp,
        utt2spk=_merge([part.utt2spk for part in values], "utterance"),
        texts={name: _merge([part.texts[name] for part in values], "utterance") for name in texts},
        segments=segments,
        extra={name: _merge([part.extra[name] for part in values], "utterance") for name in extras},
    )
    return Combined(
        data_dir=combined,
        utts_by_part={name: len(part.utt2spk) for name, part in parts.items()},
        dropped_tables=dropped_texts + dropped_extras,
    )


def load_parts(paths: Sequence[Path]) -> Dict[str, KaldiDataDir]:
    """Each of ``paths`` as a data dir, by its path; a path given twice is refused."""
    parts: Dict[str, KaldiDataDir] = {}
    for path in paths:
        if str(path) in parts:
            raise DataDirError(f"{path} is given twice")
        parts[str(path)] = KaldiDataDir.load(path)
    return parts

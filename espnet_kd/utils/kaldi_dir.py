"""Kaldi-style data directories: read, validate, write.

A data dir holds ``wav.scp``, ``text``, ``utt2spk``, ``spk2utt`` and optionally
``segments`` and extra text files (``text.en``, ``text.it``, ...); each file is
one ``key value`` per line, sorted by key in C locale (byte order), and every
per-utterance file covers the same utterance ids.

An *unlabeled* set (untranscribed audio, which a teacher labels for distillation) has no
``text``: :meth:`KaldiDataDir.load` takes a ``text`` policy, one of :data:`TEXT_POLICIES`:
``"required"`` (the default: a labelled set), ``"absent"`` (an unlabeled set: ``text`` is not
required, and one that is there is refused, since a set declared unlabeled that holds
transcripts is most likely a labelled set listed in the wrong place) or ``"optional"`` (for
readers that handle both, e.g. selection with ``--reference_text none``). Other text tables
(``text.en``, ...) are read and checked as usual under every policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from espnet_kd.utils.fileio import InputError, PathLike, atomic_write, iter_text_lines

REQUIRED_FILES = ("wav.scp", "text", "utt2spk")
TEXT_REQUIRED = "required"
TEXT_ABSENT = "absent"
TEXT_OPTIONAL = "optional"
TEXT_POLICIES = (TEXT_REQUIRED, TEXT_ABSENT, TEXT_OPTIONAL)


class DataDirError(InputError):
    """A data dir is missing, malformed or inconsistent (an :class:`InputError`)."""


def c_sorted(keys: Iterable[str]) -> List[str]:
    """Sort keys as ``LC_ALL=C sort`` does (by UTF-8 bytes)."""
    return sorted(keys, key=lambda key: key.encode("utf-8"))


def read_table(path: PathLike, allow_empty_value: bool = False) -> Dict[str, str]:
    """Read a ``key value`` file into an ordered dict.

    Raises :class:`DataDirError` on a duplicate key, on a line that is not UTF-8,
    or on a line with no value unless ``allow_empty_value``; the message names the
    file and line.
    """
    table: Dict[str, str] = {}
    path = Path(path)
    if not path.is_file():
        raise DataDirError(f"{path}: file not found")
    try:
        for line_no, line in iter_text_lines(path):
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            key = parts[0]
            value = parts[1].strip() if len(parts) > 1 else ""
            if not value and not allow_empty_value:
                raise DataDirError(f"{path}:{line_no}: '{key}' has an empty value")
            if key in table:
                raise DataDirError(f"{path}:{line_no}: duplicate key '{key}'")
            table[key] = value
    except DataDirError:
        raise
    except InputError as error:
        raise DataDirError(str(error)) from None
    return table


def write_table(path: PathLike, table: Mapping[str, str]) -> None:
    """Write ``key value`` lines sorted by key in C locale, atomically."""
    with atomic_write(path) as handle:
        for key in c_sorted(table):
            handle.write(f"{key} {table[key]}\n")


def spk2utt_from_utt2spk(utt2spk: Mapping[str, str]) -> Dict[str, str]:
    """Invert ``utt2spk`` into ``spk2utt`` (utterances sorted in C locale)."""
    grouped: Dict[str, List[str]] = {}
    for utt in c_sorted(utt2spk):
        grouped.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in grouped.items()}


@dataclass
class KaldiDataDir:
    """An in-memory Kaldi data dir.

    ``texts`` maps a text file name (``text``, ``text.en``, ...) to its table;
    ``extra`` holds other per-utterance tables (``utt2weight``, ``utt2dur``...).
    """

    wav_scp: Dict[str, str]
    utt2spk: Dict[str, str]
    texts: Dict[str, Dict[str, str]] = field(default_factory=dict)
    segments: Optional[Dict[str, str]] = None
    extra: Dict[str, Dict[str, str]] = field(default_factory=dict)

    @property
    def utt_ids(self) -> List[str]:
        """Utterance ids in C-locale order."""
        return c_sorted(self.utt2spk)

    @property
    def text(self) -> Dict[str, str]:
        """The main ``text`` table."""
        return self.texts["text"]

    def per_utt_tables(self) -> Dict[str, Dict[str, str]]:
        """Every table keyed by utterance id, by file name."""
        tables = {"utt2spk": self.utt2spk, **self.texts, **self.extra}
        if self.segments is not None:
            tables["segments"] = self.segments
        else:
            tables["wav.scp"] = self.wav_scp
        return tables

    def validate(self, name: str = "data dir", allow_empty_text: bool = False) -> None:
        """Check that all per-utterance files cover the same ids and texts are non-empty (with
        ``allow_empty_text``, a text may be empty: a test set's utterance kept as ESPnet keeps it,
        scored as an empty reference; a training set's never)."""
        if not self.utt2spk:
            raise DataDirError(f"{name}: no utterances")
        reference = set(self.utt2spk)
        for file_name, table in self.per_utt_tables().items():
            keys = set(table)
            if keys != reference:
                missing = c_sorted(reference - keys)[:5]
                unexpected = c_sorted(keys - reference)[:5]
                raise DataDirError(
                    f"{name}: {file_name} covers different utterances than utt2spk "
                    f"({len(reference - keys)} missing, e.g. {missing}; "
                    f"{len(keys - reference)} unexpected, e.g. {unexpected})"
                )
        for file_name, table in self.texts.items():
            empty = [utt for utt, value in table.items() if not value.strip()]
            if empty and not allow_empty_text:
                raise DataDirError(
                    f"{name}: {file_name} has {len(empty)} empty transcript(s), e.g. {empty[:5]}"
                )
        if self.segments is not None:
            recordings = {value.split()[0] for value in self.segments.values()}
            missing_rec = c_sorted(recordings - set(self.wav_scp))
            if missing_rec:
                raise DataDirError(
                    f"{name}: segments name recordings missing from wav.scp, e.g. {missing_rec[:5]}"
                )

    @property
    def has_text(self) -> bool:
        """Whether the dir has the main ``text`` table (an unlabeled set has not)."""
        return "text" in self.texts

    @classmethod
    def load(cls, path: PathLike, validate: bool = True, allow_empty_text: bool = False,
             text: str = TEXT_REQUIRED) -> "KaldiDataDir":
        """Read a data dir from disk (every ``text*`` file is a text table); ``allow_empty_text``: see
        :meth:`validate`; ``text``: whether ``text`` must be there, one of :data:`TEXT_POLICIES` (see
        the module doc)."""
        path = Path(path)
        if text not in TEXT_POLICIES:
            raise ValueError(f"text policy must be one of {', '.join(TEXT_POLICIES)}, not {text!r}")
        if not path.is_dir():
            raise DataDirError(f"{path}: data dir not found")
        for required in REQUIRED_FILES:
            if required == "text" and text != TEXT_REQUIRED:
                continue
            if not (path / required).is_file():
                hint = (" (a set of untranscribed audio is an unlabeled set: validate and format it as one, "
                        "with --unlabeled)" if required == "text" else "")
                raise DataDirError(f"{path}: missing {required}{hint}")
        if text == TEXT_ABSENT and (path / "text").exists():
            raise DataDirError(
                f"{path}: an unlabeled set has no text, but {path / 'text'} is there: remove it if the "
                "set is untranscribed audio, or treat the set as a labelled one (in a recipe: list it in "
                "--train_set/--valid_set/--test_sets, not in --unlabeled_sets)"
            )
        texts = {
            text_path.name: read_table(text_path, allow_empty_value=True)
            for text_path in sorted(path.glob("text*"))
            if text_path.is_file() and not text_path.name.endswith(".tmp")
        }
        segments = read_table(path / "segments") if (path / "segments").is_file() else None
        extra = {
            extra_path.name: read_table(extra_path)
            for extra_path in sorted(path.glob("utt2*"))
            if extra_path.name not in ("utt2spk",) and extra_path.is_file()
        }
        data_dir = cls(
            wav_scp=read_table(path / "wav.scp"),
            utt2spk=read_table(path / "utt2spk"),
            texts=texts,
            segments=segments,
            extra=extra,
        )
        if validate:
            data_dir.validate(str(path), allow_empty_text=allow_empty_text)
        return data_dir

    def write(self, path: PathLike, allow_empty_text: bool = False) -> None:
        """Write every table (and a fresh ``spk2utt``) into ``path``, each file atomically (an empty
        text as the line ``<utt> ``, only with ``allow_empty_text``: see :meth:`validate`)."""
        self.validate(str(path), allow_empty_text=allow_empty_text)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_table(path / "wav.scp", self.wav_scp)
        write_table(path / "utt2spk", self.utt2spk)
        write_table(path / "spk2utt", spk2utt_from_utt2spk(self.utt2spk))
        for file_name, table in self.texts.items():
            write_table(path / file_name, table)
        for file_name, table in self.extra.items():
            write_table(path / file_name, table)
        if self.segments is not None:
            write_table(path / "segments", self.segments)

    def subset(self, utt_ids: Sequence[str]) -> "KaldiDataDir":
        """A data dir restricted to ``utt_ids`` (recordings kept as needed)."""
        keep = set(utt_ids)
        pick = lambda table: {k: v for k, v in table.items() if k in keep}  # noqa: E731
        segments = pick(self.segments) if self.segments is not None else None
        if segments is not None:
            recordings = {value.split()[0] for value in segments.values()}
            wav_scp = {k: v for k, v in self.wav_scp.items() if k in recordings}
        else:
            wav_scp = pick(self.wav_scp)
        return KaldiDataDir(
            wav_scp=wav_scp,
            utt2spk=pick(self.utt2spk),
            texts={name: pick(table) for name, table in self.texts.items()},
            segments=segments,
            extra={name: pick(table) for name, table in self.extra.items()},
        )

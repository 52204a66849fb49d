"""The n-best list format: ``nbest.jsonl`` and ESPnet-style ``{n}best_recog/`` dirs.

``nbest.jsonl`` holds one JSON object per hypothesis::

    {"utt": "spk1-u1", "rank": 1, "text": "hello world", "token_int": [5, 9],
     "score": -3.2, "logp": -2.9, "token_logp": [-1.2, -1.7],
     "scores": {"decoder": -2.9, "ctc": -4.1, "length_bonus": 2.0}, "ended": true}

``score`` is what the beam search ranked by, ``logp`` the sum of the teacher's
token log-probs, ``token_logp`` those per token and ``scores`` the per-scorer
parts. ``logp``/``token_logp`` may be ``null`` and ``scores`` empty where the
producer does not know them (ESPnet's stock decoder writes neither).
``ended`` (optional, default true) is false for a hypothesis the beam search
closed at its length limit without an ``<eos>``: reported, never dropped.

Lines are ordered by utterance id (C locale) then rank; the ranks of one
utterance are exactly ``1..n`` (an utterance may have fewer hypotheses than
others). Beside the JSON file, :func:`write_espnet_nbest_dirs` writes the same
hypotheses in the layout ``espnet2/bin/asr_inference.py`` uses, so ESPnet's own
scoring tools can read them.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from espnet_kd.utils.fileio import InputError, PathLike, atomic_write, iter_text_lines, read_text_lines
from espnet_kd.utils.kaldi_dir import c_sorted

NBEST_FIELDS = ("utt", "rank", "text", "token_int", "score", "logp", "token_logp", "scores")
OPTIONAL_FIELDS = ("ended",)
RANK_DIR_PATTERN = re.compile(r"^([1-9][0-9]*)best_recog$")


class NBestFormatError(ValueError):
    """An n-best file or list is malformed or inconsistent."""


@dataclass
class NBestEntry:
    """One hypothesis of one utterance's n-best list (one line of ``nbest.jsonl``)."""

    utt: str
    rank: int
    text: str
    token_int: List[int]
    score: float
    logp: Optional[float] = None
    token_logp: Optional[List[float]] = None
    scores: Dict[str, float] = field(default_factory=dict)
    ended: bool = True

    def to_json_dict(self) -> Dict[str, object]:
        """The entry as a JSON-ready dict with the fields in the documented order."""
        return {
            "utt": self.utt,
            "rank": self.rank,
            "text": self.text,
            "token_int": list(self.token_int),
            "score": self.score,
            "logp": self.logp,
            "token_logp": None if self.token_logp is None else list(self.token_logp),
            "scores": dict(self.scores),
            "ended": self.ended,
        }

    @classmethod
    def from_json_dict(cls, obj: object, where: str) -> "NBestEntry":
        """Build an entry from a parsed JSON object; ``where`` prefixes error messages."""
        if not isinstance(obj, dict):
            raise NBestFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        missing = [name for name in NBEST_FIELDS if name not in obj]
        if missing:
            raise NBestFormatError(f"{where}: missing field(s) {', '.join(missing)}")
        unknown = sorted(set(obj) - set(NBEST_FIELDS) - set(OPTIONAL_FIELDS))
        if unknown:
            raise NBestFormatError(
                f"{where}: unknown field(s) {', '.join(unknown)}; "
                f"expected {', '.join(NBEST_FIELDS)} and optionally {', '.join(OPTIONAL_FIELDS)}"
            )
        ended = obj.get("ended", True)
        if not isinstance(ended, bool):
            raise NBestFormatError(f"{where}: field ended must be true or false, got {ended!r}")
        token_logp = obj["token_logp"]
        entry = cls(
            utt=_expect_str(obj["utt"], "utt", where),
            rank=_expect_int(obj["rank"], "rank", where),
            text=_expect_str(obj["text"], "text", where),
            token_int=[
                _expect_int(value, "token_int", where)
                for value in _expect_list(obj["token_int"], "token_int", where)
            ],
            score=_expect_number(obj["score"], "score", where),
            logp=None if obj["logp"] is None else _expect_number(obj["logp"], "logp", where),
            token_logp=(
                None
                if token_logp is None
                else [
                    _expect_number(value, "token_logp", where)
                    for value in _expect_list(token_logp, "token_logp", where)
                ]
            ),
            scores=_expect_score_parts(obj["scores"], where),
            ended=ended,
        )
        entry.check(where)
        return entry

    def check(self, where: str) -> None:
        """Check the invariants a single entry must satisfy."""
        if not self.utt or any(char.isspace() for char in self.utt):
            raise NBestFormatError(
                f"{where}: utt must be a non-empty id without whitespace, got {self.utt!r}"
            )
        if self.rank < 1:
            raise NBestFormatError(f"{where}: rank must be >= 1, got {self.rank}")
        if "\n" in self.text:
            raise NBestFormatError(
                f"{where}: text of {self.utt} rank {self.rank} contains a newline"
            )
        if self.token_logp is not None and len(self.token_logp) != len(self.token_int):
            raise NBestFormatError(
                f"{where}: {self.utt} rank {self.rank} has {len(self.token_logp)} token_logp "
                f"values for {len(self.token_int)} tokens"
            )


def _expect_str(value: object, name: str, where: str) -> str:
    if not isinstance(value, str):
        raise NBestFormatError(f"{where}: field {name} must be a string, got {value!r}")
    return value


def _expect_int(value: object, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NBestFormatError(f"{where}: field {name} must hold integers, got {value!r}")
    return value


def _expect_number(value: object, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NBestFormatError(f"{where}: field {name} must hold numbers, got {value!r}")
    return float(value)


def _expect_list(value: object, name: str, where: str) -> list:
    if not isinstance(value, list):
        raise NBestFormatError(f"{where}: field {name} must be a list, got {value!r}")
    return value


def _expect_score_parts(value: object, where: str) -> Dict[str, float]:
    if not isinstance(value, dict):
        raise NBestFormatError(f"{where}: field scores must be an object, got {value!r}")
    return {
        str(name): _expect_number(part, f"scores.{name}", where) for name, part in value.items()
    }


def group_by_utt(
    entries: Iterable[NBestEntry], source: str = "n-best list"
) -> Dict[str, List[NBestEntry]]:
    """Group entries by utterance: utterances in C-locale order, each list by rank.

    Raises :class:`NBestFormatError` on a duplicate ``(utt, rank)`` or on ranks
    that are not exactly ``1..n``.
    """
    grouped: Dict[str, Dict[int, NBestEntry]] = {}
    for entry in entries:
        by_rank = grouped.setdefault(entry.utt, {})
        if entry.rank in by_rank:
            raise NBestFormatError(
                f"{source}: duplicate hypothesis for utt {entry.utt} rank {entry.rank}"
            )
        by_rank[entry.rank] = entry
    ordered: Dict[str, List[NBestEntry]] = {}
    for utt in c_sorted(grouped):
        ranks = sorted(grouped[utt])
        if ranks != list(range(1, len(ranks) + 1)):
            raise NBestFormatError(
                f"{source}: ranks of utt {utt} are {ranks}, expected 1..{len(ranks)}"
            )
        ordered[utt] = [grouped[utt][rank] for rank in ranks]
    return ordered


def sort_entries(entries: Iterable[NBestEntry], source: str = "n-best list") -> List[NBestEntry]:
    """Entries by utterance (C locale) then rank, after the checks of :func:`group_by_utt`."""
    return [entry for hyps in group_by_utt(entries, source).values() for entry in hyps]


def write_nbest_jsonl(path: PathLike, entries: Iterable[NBestEntry]) -> None:
    """Write ``nbest.jsonl`` atomically, ordered by utterance (C locale) then rank."""
    ordered = sort_entries(entries, source=str(path))
    for entry in ordered:
        entry.check(str(path))
    with atomic_write(path) as handle:
        for entry in ordered:
            handle.write(json.dumps(entry.to_json_dict(), ensure_ascii=False) + "\n")


def _nbest_lines(path: Path) -> Iterable:
    """``(line number, line)`` of a UTF-8 file; a line that is not UTF-8 is an :class:`NBestFormatError`."""
    try:
        yield from iter_text_lines(path)
    except InputError as error:
        raise NBestFormatError(str(error)) from None


def read_nbest_jsonl(path: PathLike) -> Dict[str, List[NBestEntry]]:
    """Read ``nbest.jsonl`` into ``{utt: [entry of rank 1, rank 2, ...]}`` (utts in C-locale order).

    Errors name the file and line: a line that is not JSON, a missing or
    mistyped field, a duplicate ``(utt, rank)``, ranks of an utterance that are
    not ``1..n``.
    """
    path = Path(path)
    if not path.is_file():
        raise NBestFormatError(f"{path}: file not found")
    entries: List[NBestEntry] = []
    first_line_of: Dict[tuple, int] = {}
    for line_no, line in _nbest_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise NBestFormatError(f"{where}: not a JSON object ({error.msg})") from None
        entry = NBestEntry.from_json_dict(obj, where)
        key = (entry.utt, entry.rank)
        if key in first_line_of:
            raise NBestFormatError(
                f"{where}: duplicate hypothesis for utt {entry.utt} rank {entry.rank} "
                f"(first at line {first_line_of[key]})"
            )
        first_line_of[key] = line_no
        entries.append(entry)
    return group_by_utt(entries, source=str(path))


def read_token_list(path: PathLike) -> List[str]:
    """Read an ESPnet token list (``tokens.txt``: one token per line, line i is id i)."""
    path = Path(path)
    if not path.is_file():
        raise NBestFormatError(f"{path}: token list not found")
    try:
        tokens = read_text_lines(path)
    except InputError as error:
        raise NBestFormatError(str(error)) from None
    if not tokens:
        raise NBestFormatError(f"{path}: token list is empty")
    return tokens


def format_score(score: float) -> str:
    """A score as a plain float string (``repr`` precision, ``-inf``/``nan`` kept)."""
    if math.isinf(score):
        return "-inf" if score < 0 else "inf"
    return repr(float(score))


def tokens_of(entry: NBestEntry, token_list: Sequence[str]) -> List[str]:
    """The token strings of ``entry.token_int`` looked up in ``token_list``."""
    out_of_range = [token for token in entry.token_int if not 0 <= token < len(token_list)]
    if out_of_range:
        raise NBestFormatError(
            f"utt {entry.utt} rank {entry.rank}: token id(s) {out_of_range[:5]} outside the "
            f"token list ({len(token_list)} tokens)"
        )
    return [token_list[token] for token in entry.token_int]


def write_espnet_nbest_dirs(
    out_dir: PathLike,
    entries: Iterable[NBestEntry],
    token_list: Optional[Sequence[str]] = None,
) -> List[Path]:
    """Write ``out_dir/{n}best_recog/{text,token,token_int,score}`` as ESPnet does.

    Each file is ``uttid value`` per line, sorted in C locale, written
    atomically; scores are plain floats. ``token`` (token strings joined by
    spaces) is written only when ``token_list`` is given. Rank dirs beyond the
    highest rank written (left by an earlier run with a larger n) are removed.
    Returns the rank dirs written.
    """
    out_dir = Path(out_dir)
    grouped = group_by_utt(entries)
    max_rank = max((len(hyps) for hyps in grouped.values()), default=0)
    tables_of_rank = [
        espnet_rank_tables(
            [hyps[rank - 1] for hyps in grouped.values() if len(hyps) >= rank], token_list
        )
        for rank in range(1, max_rank + 1)
    ]
    rank_dirs: List[Path] = []
    for rank, tables in enumerate(tables_of_rank, start=1):
        rank_dir = out_dir / f"{rank}best_recog"
        for file_name, table in tables.items():
            _write_espnet_table(rank_dir / file_name, table)
        rank_dirs.append(rank_dir)
    _remove_stale_rank_dirs(out_dir, max_rank)
    return rank_dirs


def espnet_rank_tables(
    at_rank: Sequence[NBestEntry], token_list: Optional[Sequence[str]]
) -> Dict[str, Dict[str, str]]:
    """The ``{text,token_int,score[,token]}`` tables of one rank dir, by file name."""
    tables = {
        "text": {entry.utt: entry.text for entry in at_rank},
        "token_int": {entry.utt: " ".join(map(str, entry.token_int)) for entry in at_rank},
        "score": {entry.utt: format_score(entry.score) for entry in at_rank},
    }
    if token_list is not None:
        tables["token"] = {entry.utt: " ".join(tokens_of(entry, token_list)) for entry in at_rank}
    return tables


def _write_espnet_table(path: Path, table: Mapping[str, str]) -> None:
    """Write ``uttid value`` lines (``uttid `` for an empty value, as ESPnet's writer does)."""
    with atomic_write(path) as handle:
        for utt in c_sorted(table):
            handle.write(f"{utt} {table[utt]}\n")


def _remove_stale_rank_dirs(out_dir: Path, max_rank: int) -> None:
    if not out_dir.is_dir():
        return
    for child in out_dir.iterdir():
        match = RANK_DIR_PATTERN.match(child.name)
        if match and child.is_dir() and int(match.group(1)) > max_rank:
            shutil.rmtree(child)

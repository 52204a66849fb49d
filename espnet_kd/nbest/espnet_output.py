"""Read the n-best output of ESPnet's stock decoder (``espnet2/bin/asr_inference.py --nbest K``).

That decoder writes, for every rank ``n`` it produced, ``<output_dir>/{n}best_recog/``
holding ``text``, ``token``, ``token_int`` and ``score``, each ``uttid value`` per
line. A split decode leaves one such output dir per job (``logdir/output.1`` ...
``output.N``); ESPnet's recipe scripts later concatenate them into one dir. Both
layouts are read here: pass the job dirs, or the merged dir.

Quirks handled:

- ``score`` holds ``str(hyp.score)``, which is usually a tensor's repr,
  ``tensor(-22.3002)`` or ``tensor(-22.3, device='cuda:0')``; see :func:`parse_score`.
- An utterance may have fewer hypotheses than ``--nbest`` (the beam ended with
  fewer): it is then missing from the higher rank dirs, and a job whose
  utterances all had fewer may lack those dirs altogether.
- An empty hypothesis is written as a line holding only the uttid; it is kept
  as text ``""`` (and whatever ``token_int`` says, usually ``[]``), and the
  selection step decides what to do with it.

ESPnet's writer does not output the teacher's log-probability parts, so the
entries read here have ``logp=None``, ``token_logp=None`` and ``scores={}``; a
generator that knows them fills them in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Sequence

from espnet_kd.nbest.format import NBestEntry, NBestFormatError, sort_entries
from espnet_kd.utils.kaldi_dir import read_table

REQUIRED_RANK_FILES = ("text", "token_int", "score")

# ``tensor(<number>[, device=..., dtype=..., ...])`` as printed by torch.
_TENSOR_REPR = re.compile(r"^tensor\(\s*([^,()\s]+)\s*(?:,.*)?\)$")


def parse_score(value: str) -> float:
    """Parse a score as ESPnet writes it: a float or a scalar tensor's repr.

    >>> parse_score("-22.3")
    -22.3
    >>> parse_score("tensor(-22.3002)")
    -22.3002
    >>> parse_score("tensor(-22.3, device='cuda:0')")
    -22.3
    """
    text = value.strip()
    match = _TENSOR_REPR.match(text)
    number = match.group(1) if match else text
    try:
        return float(number)
    except ValueError:
        raise NBestFormatError(
            f"cannot read score {value!r}: expected a number such as -22.3 "
            f"or a scalar tensor such as tensor(-22.3002)"
        ) from None


def parse_token_ids(value: str, where: str) -> List[int]:
    """Parse a ``token_int`` value (space-separated integers, possibly none)."""
    try:
        return [int(token) for token in value.split()]
    except ValueError:
        raise NBestFormatError(
            f"{where}: token_int value {value!r} is not a list of integers"
        ) from None


def rank_dir_name(rank: int) -> str:
    """The name ESPnet gives the dir of the ``rank``-th hypotheses (``1best_recog``...)."""
    return f"{rank}best_recog"


def read_rank_dir(rank_dir: Path, rank: int) -> List[NBestEntry]:
    """Read one ``{rank}best_recog`` dir into entries of that rank.

    ``text``, ``token_int`` and ``score`` must exist and cover the same utterances.
    """
    for file_name in REQUIRED_RANK_FILES:
        if not (rank_dir / file_name).is_file():
            raise NBestFormatError(f"{rank_dir}: missing {file_name}")
    texts = read_table(rank_dir / "text", allow_empty_value=True)
    token_ids = read_table(rank_dir / "token_int", allow_empty_value=True)
    scores = read_table(rank_dir / "score")
    utts = set(texts)
    for file_name, table in (("token_int", token_ids), ("score", scores)):
        if set(table) != utts:
            differing = sorted(utts.symmetric_difference(table))
            raise NBestFormatError(
                f"{rank_dir}: text and {file_name} cover different utterances "
                f"({len(differing)} differ, e.g. {differing[:5]})"
            )
    entries = []
    for utt, text in texts.items():
        where = f"{rank_dir}: utt {utt}"
        try:
            score = parse_score(scores[utt])
        except NBestFormatError as error:
            raise NBestFormatError(f"{rank_dir / 'score'}: utt {utt}: {error}") from None
        entries.append(
            NBestEntry(
                utt=utt,
                rank=rank,
                text=text,
                token_int=parse_token_ids(token_ids[utt], where),
                score=score,
                logp=None,
                token_logp=None,
                scores={},
            )
        )
    return entries


def read_output_dir(output_dir: Path, nbest: int) -> List[NBestEntry]:
    """Read ranks ``1..nbest`` of one ESPnet decoding output dir.

    ``1best_recog`` must exist; higher ranks may be missing (fewer hypotheses).
    An utterance present at rank ``n`` must also be present at every lower rank.
    """
    if not output_dir.is_dir():
        raise NBestFormatError(f"{output_dir}: decoding output dir not found")
    if not (output_dir / rank_dir_name(1)).is_dir():
        raise NBestFormatError(
            f"{output_dir}: no {rank_dir_name(1)}/ inside; expected the output dir of "
            f"espnet2.bin.asr_inference (holding 1best_recog/ ... {nbest}best_recog/)"
        )
    entries: List[NBestEntry] = []
    utts_at_previous_rank: set = set()
    for rank in range(1, nbest + 1):
        rank_dir = output_dir / rank_dir_name(rank)
        if not rank_dir.is_dir():
            break
        at_rank = read_rank_dir(rank_dir, rank)
        utts_at_rank = {entry.utt for entry in at_rank}
        if rank > 1 and not utts_at_rank <= utts_at_previous_rank:
            orphans = sorted(utts_at_rank - utts_at_previous_rank)
            raise NBestFormatError(
                f"{rank_dir}: {len(orphans)} utterance(s) have a rank-{rank} hypothesis but no "
                f"rank-{rank - 1} one, e.g. {orphans[:5]}"
            )
        utts_at_previous_rank = utts_at_rank
        entries.extend(at_rank)
    return entries


def read_espnet_nbest(dirs: Sequence[Path], nbest: int) -> List[NBestEntry]:
    """Read and merge the n-best lists of one or several ESPnet decoding output dirs.

    ``dirs`` are e.g. the job dirs ``output.1 ... output.N`` of a split decode;
    an utterance must appear in only one of them. Returns the entries ordered
    by utterance (C locale) then rank; ``logp``, ``token_logp`` and ``scores``
    are unknown in this format and left ``None``/``None``/``{}``.
    """
    if nbest < 1:
        raise NBestFormatError(f"nbest must be >= 1, got {nbest}")
    if not dirs:
        raise NBestFormatError("no decoding output dir given")
    entries: List[NBestEntry] = []
    dir_of_utt: Dict[str, Path] = {}
    for output_dir in map(Path, dirs):
        dir_entries = read_output_dir(output_dir, nbest)
        for utt in {entry.utt for entry in dir_entries}:
            if utt in dir_of_utt:
                raise NBestFormatError(
                    f"utt {utt} appears in two decoding output dirs: "
                    f"{dir_of_utt[utt]} and {output_dir}"
                )
            dir_of_utt[utt] = output_dir
        entries.extend(dir_entries)
    return sort_entries(entries, source=", ".join(map(str, dirs)))

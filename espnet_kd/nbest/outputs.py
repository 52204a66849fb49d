"""What the n-best engine writes in its output dir: ``partial.jsonl``, then the n-best lists and summary.

Once a beam search ends, an utterance's hypotheses are :class:`~espnet_kd.nbest.format.NBestEntry`
objects, and stay so: :func:`append_partial` stores them in ``partial.jsonl`` as
``{"utt": ..., "hyps": [<nbest.jsonl entry>, ...]}`` (one line per utterance, an empty list
for an utterance without any hypothesis), :func:`read_partial` reads them back for a
resume, and :func:`finalize` writes ``nbest.jsonl``, ESPnet's ``{n}best_recog/`` dirs and
``summary.json`` from them. The partial file's first line is a header recording its
format and what the lists are made with (:func:`check_partial_header`).
:func:`merge_outputs` joins the outputs of split jobs.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import IO, Dict, List, Optional, Sequence, Tuple

from espnet_kd.nbest.beam_search import BeamSearchOptions
from espnet_kd.nbest.format import (
    NBestEntry,
    NBestFormatError,
    read_nbest_jsonl,
    write_espnet_nbest_dirs,
    write_nbest_jsonl,
)
from espnet_kd.utils.fileio import PathLike, atomic_write, read_json
from espnet_kd.utils.fingerprint import MadeWithMismatch, check_made_with

logger = logging.getLogger(__name__)

PARTIAL_NAME = "partial.jsonl"
# /2: a header line first (options, model fingerprint); /3: hypotheses stored as nbest.jsonl entries
PARTIAL_FORMAT = "espnet_kd.nbest.partial/3"
SUMMARY_NAME = "summary.json"
PROBLEM_CASES = ("no_hypothesis", "not_ended", "empty_hypotheses")

UtteranceEntries = Dict[str, List[NBestEntry]]
"""``{utt: [entry of rank 1, rank 2, ...]}`` (an empty list: no hypothesis)."""


class NBestDataError(ValueError):
    """The data to decode is missing, inconsistent or cannot be decoded."""


# --- partial.jsonl: the utterances finished so far ------------------------------------------

def made_with_record(options: BeamSearchOptions, model: Optional[Dict[str, object]]) -> Dict[str, object]:
    """What changes the n-best lists: the search options (all of them; the batching, threads and
    device do not change the hypotheses) and the model's fingerprint."""
    record: Dict[str, object] = {"options": asdict(options)}
    if model is not None:
        record["model"] = dict(model)
    return record


def check_partial_header(partial_path: Path, made_with: Dict[str, object]) -> None:
    """Start ``partial.jsonl`` with a header line recording ``made_with``; on a resume, refuse one
    made with other options or another model, or one without this version's header."""
    out_dir = partial_path.parent
    data = partial_path.read_bytes() if partial_path.is_file() else b""
    if not data.strip():
        with atomic_write(partial_path) as handle:
            handle.write(json.dumps({"header": {"format": PARTIAL_FORMAT, **made_with}}) + "\n")
        return
    first = data.split(b"\n", 1)[0]
    try:
        header = json.loads(first.decode("utf-8"))["header"]
        if not isinstance(header, dict):
            raise TypeError("header is not an object")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise NBestDataError(
            f"{partial_path} has no header saying what it was made with (an older version wrote it): "
            f"remove {out_dir} to decode again"
        ) from None
    if header.get("format") != PARTIAL_FORMAT:
        raise NBestDataError(
            f"{partial_path} is in the format {header.get('format')}, not {PARTIAL_FORMAT} (another version "
            f"wrote it): remove {out_dir} to decode again"
        )
    recorded = {key: value for key, value in header.items() if key != "format"}
    if "model" not in made_with:
        recorded.pop("model", None)
    try:
        check_made_with(partial_path, recorded, made_with, out_dir, "decode")
    except MadeWithMismatch as error:
        raise NBestDataError(str(error)) from None


def partial_entries(record: Dict[str, object]) -> Tuple[str, List[NBestEntry]]:
    """The utterance and hypotheses of one parsed line of ``partial.jsonl``."""
    return record["utt"], [NBestEntry.from_json_dict(hyp, "hypothesis") for hyp in record["hyps"]]


def read_partial(partial_path: Path) -> UtteranceEntries:
    """Utterances finished by an earlier run, in the order they were finished.

    A last line without its newline (the run was killed while writing it) is
    cut off the file; any other unreadable line is an error.
    """
    done: UtteranceEntries = {}
    if not partial_path.is_file():
        return done
    data = partial_path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        logger.warning("%s: discarding a torn last line (interrupted run)", partial_path)
        with open(partial_path, "r+b") as handle:
            handle.truncate(keep)
        data = data[:keep]
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
            if line_no == 1 and isinstance(record, dict) and "header" in record:
                continue  # what the file was made with (check_partial_header)
            utt, entries = partial_entries(record)
            done[utt] = entries
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, NBestFormatError) as error:
            raise NBestDataError(
                f"{partial_path}:{line_no}: unreadable record ({error}); remove the file to start over"
            ) from None
    return done


def append_partial(partial: IO[str], finished: Sequence[Tuple[str, List[NBestEntry]]]) -> None:
    """Append finished utterances to the open partial file, flushed and synced (a later crash keeps them)."""
    lines = [
        json.dumps({"utt": utt, "hyps": [entry.to_json_dict() for entry in entries]}, ensure_ascii=False)
        for utt, entries in finished
    ]
    partial.write("\n".join(lines) + "\n")
    partial.flush()
    os.fsync(partial.fileno())


# --- nbest.jsonl, {n}best_recog/, summary.json ----------------------------------------------

def finalize(
    out_dir: Path,
    keys: Sequence[str],
    token_list: Sequence[str],
    timing: Dict[str, object],
    made_with: Dict[str, object],
) -> Dict[str, object]:
    """Write ``nbest.jsonl``, ``{n}best_recog/`` and ``summary.json`` from the partial file.

    ``made_with`` (:func:`made_with_record`) and ``timing`` are recorded in the summary.
    """
    done = read_partial(out_dir / PARTIAL_NAME)
    missing = [key for key in keys if key not in done]
    if missing:
        raise NBestDataError(
            f"{len(missing)} utterance(s) were not decoded (e.g. {missing[0]}); run again to resume"
        )
    entries = [entry for utt in keys for entry in done[utt]]
    write_nbest_jsonl(out_dir / "nbest.jsonl", entries)
    write_espnet_nbest_dirs(out_dir, entries, token_list)
    summary = summarize(keys, done, entries)
    summary.update(timing)
    summary.update(made_with)
    write_summary(out_dir, summary)
    report(summary, out_dir)
    return summary


def summarize(keys: Sequence[str], done: UtteranceEntries, entries: Sequence[NBestEntry]) -> Dict[str, object]:
    """Counts for ``summary.json``: utterances, hypotheses, and every problem case by id."""
    no_hypothesis = [utt for utt in keys if not done[utt]]
    not_ended = [f"{entry.utt}#{entry.rank}" for entry in entries if not entry.ended]
    empty_text = [f"{entry.utt}#{entry.rank}" for entry in entries if not entry.token_int]
    return {
        "utterances": len(keys),
        "hypotheses": len(entries),
        "no_hypothesis": no_hypothesis,
        "not_ended": not_ended,
        "empty_hypotheses": empty_text,
    }


def write_summary(out_dir: Path, summary: Dict[str, object]) -> None:
    """``summary.json``, indented, atomically."""
    with atomic_write(out_dir / SUMMARY_NAME) as handle:
        json.dump(summary, handle, indent=2)
        handle.write("\n")


def report(summary: Dict[str, object], out_dir: Path) -> None:
    """Log the summary's counts and warn about every problem case."""
    logger.info(
        "%s: %d hypotheses of %d utterances", out_dir, summary["hypotheses"], summary["utterances"]
    )
    for key, what in zip(PROBLEM_CASES, (
        "utterance(s) without any ended hypothesis",
        "hypothes(es) stopped at the length limit without <eos> (ended: false)",
        "empty hypothes(es)",
    )):
        cases = summary[key]
        if cases:
            logger.warning("%d %s, e.g. %s (see %s)", len(cases), what, cases[0], out_dir / SUMMARY_NAME)


# --- merging split jobs ---------------------------------------------------------------------

def job_made_with(summary: Dict[str, object]) -> Dict[str, object]:
    """The options and model fingerprint a job's ``summary.json`` records (None: not recorded)."""
    return {"options": summary.get("options"), "model": summary.get("model")}


def merge_outputs(job_dirs: Sequence[PathLike], out_dir: PathLike, token_list: Sequence[str]) -> Dict[str, object]:
    """Merge the ``nbest.jsonl`` of split jobs into ``out_dir`` (utterance order),
    with ESPnet-style dirs and a summary adding up the jobs' counts and times and
    recording the options and model fingerprint of the jobs, which must all agree."""
    out_dir = Path(out_dir)
    entries: List[NBestEntry] = []
    seen: Dict[str, Path] = {}
    summaries = []
    first_made_with: Optional[Dict[str, object]] = None
    first_job: Optional[Path] = None
    for job_dir in map(Path, job_dirs):
        nbest_path = job_dir / "nbest.jsonl"
        if not nbest_path.is_file():
            raise NBestDataError(f"{nbest_path} not found: that job has not finished")
        for utt, hyps in read_nbest_jsonl(nbest_path).items():
            if utt in seen:
                raise NBestDataError(f"utterance {utt} is in both {seen[utt]} and {job_dir}")
            seen[utt] = job_dir
            entries.extend(hyps)
        summary_path = job_dir / SUMMARY_NAME
        if summary_path.is_file():
            summaries.append(read_json(summary_path))
        made_with = job_made_with(summaries[-1] if summary_path.is_file() else {})
        if first_made_with is None:
            first_made_with, first_job = made_with, job_dir
        else:
            try:
                check_made_with(job_dir, made_with, first_made_with, job_dir, "decode that job")
            except MadeWithMismatch as error:
                raise NBestDataError(
                    f"cannot merge jobs decoded under different settings: {error} "
                    f"with the settings of {first_job}"
                ) from None
    # every job was made with these (checked above)
    agreed = {key: value for key, value in (first_made_with or {}).items() if value is not None}
    return write_joined_outputs(out_dir, entries, token_list, summaries,
                                {"jobs": len(list(job_dirs)), "job_seconds": [s.get("seconds") for s in summaries],
                                 **agreed})


def write_joined_outputs(out_dir: Path, entries: Sequence[NBestEntry], token_list: Sequence[str],
                         summaries: Sequence[Dict[str, object]], fields: Dict[str, object]) -> Dict[str, object]:
    """Write ``nbest.jsonl``, ``{n}best_recog/`` and ``summary.json`` of an n-best list joined from parts (split jobs,
    or held-out teachers' folds: :func:`espnet_kd.utils.folds.merge_fold_nbest`): the parts' utterance counts
    and problem cases added up, then ``fields``. Returns the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_nbest_jsonl(out_dir / "nbest.jsonl", entries)
    write_espnet_nbest_dirs(out_dir, entries, token_list)
    summary: Dict[str, object] = {
        "utterances": sum(int(s.get("utterances", 0)) for s in summaries),
        "hypotheses": len(entries),
    }
    for key in PROBLEM_CASES:
        summary[key] = [case for s in summaries for case in s.get(key, [])]
    summary.update(fields)
    write_summary(out_dir, summary)
    report(summary, out_dir)
    return summary

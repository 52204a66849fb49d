"""``select_report.json``: what a selection run kept, replaced and dropped, and how good it is.

Counts (utterances and pseudo-labels) and the reasons for every replacement or
drop; where the data dir has references, the corpus WER (jiwer: errors summed
over the corpus, divided by reference words) of

- ``teacher_1best``: the teacher's rank-1 hypothesis of every utterance with
  an n-best list, as the teacher wrote it (empty hypotheses count as all deletions);
- ``selected_1best``: the selected pseudo-labels that came from rank 1 (after
  the empty-hypothesis policy; labels replaced by the reference count as correct);
- ``all_selected``: every selected pseudo-label, against the reference of its
  source utterance.
"""

from __future__ import annotations

import json
from typing import Dict, List, Mapping, Optional, Sequence

import jiwer

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    ORIGIN_HYPOTHESIS,
    ORIGIN_REFERENCE,
    REASON_EMPTY_DROPPED,
    REASON_EMPTY_NO_REFERENCE,
)
from espnet_kd.select.runner import SelectionResult
from espnet_kd.utils.fileio import PathLike, atomic_write
from espnet_kd.utils.kaldi_dir import KaldiDataDir

DROPPED_HYPOTHESIS_REASONS = (REASON_EMPTY_DROPPED, REASON_EMPTY_NO_REFERENCE)


def corpus_wer(references: Sequence[str], hypotheses: Sequence[str]) -> Optional[Dict[str, float]]:
    """Corpus-level WER and its error counts (jiwer); ``None`` for an empty corpus."""
    if not references:
        return None
    output = jiwer.process_words(list(references), list(hypotheses))
    ref_words = output.hits + output.substitutions + output.deletions
    return {
        "wer": output.wer,
        "utts": len(references),
        "ref_words": ref_words,
        "hits": output.hits,
        "substitutions": output.substitutions,
        "deletions": output.deletions,
        "insertions": output.insertions,
    }


def selection_wer(
    nbest: Mapping[str, Sequence[NBestEntry]],
    result: SelectionResult,
    references: Mapping[str, str],
) -> Optional[Dict[str, Optional[Dict[str, float]]]]:
    """WER of the teacher 1-best, of the selected rank-1 labels and of all selected labels."""
    if not references:
        return None
    one_best_utts = [utt for utt, hyps in nbest.items() if hyps and utt in references]
    selected = [pick for pick in result.selections if pick.source_utt in references]
    selected_rank1 = [pick for pick in selected if pick.rank == 1]
    return {
        "teacher_1best": corpus_wer(
            [references[utt] for utt in one_best_utts],
            [nbest[utt][0].text for utt in one_best_utts],
        ),
        "selected_1best": corpus_wer(
            [references[pick.source_utt] for pick in selected_rank1],
            [pick.text for pick in selected_rank1],
        ),
        "all_selected": corpus_wer(
            [references[pick.source_utt] for pick in selected],
            [pick.text for pick in selected],
        ),
    }


def build_select_report(
    method: Mapping[str, object],
    data_dir: KaldiDataDir,
    nbest: Mapping[str, Sequence[NBestEntry]],
    result: SelectionResult,
    reference_name: str = "text",
    sources: Optional[Mapping[str, str]] = None,
) -> Dict[str, object]:
    """The report as a JSON-ready dict (see the module doc for what each part means)."""
    input_utts = data_dir.utt_ids
    source_utts_out = {pick.source_utt for pick in result.selections}
    origins: List[str] = [pick.origin for pick in result.selections]
    return {
        "method": dict(method),
        "sources": dict(sources or {}),
        "counts": {
            "input_utts": len(input_utts),
            "nbest_utts": sum(1 for utt in input_utts if utt in nbest),
            "output_utts": len(result.selections),
            "source_utts_kept": len(source_utts_out),
            "kept": origins.count(ORIGIN_HYPOTHESIS),
            "replaced_by_reference": origins.count(ORIGIN_REFERENCE),
            "dropped_utts": sum(1 for utt in input_utts if utt not in source_utts_out),
            "dropped_hypotheses": sum(
                result.reasons[reason] for reason in DROPPED_HYPOTHESIS_REASONS
            ),
        },
        "reasons": dict(sorted(result.reasons.items())),
        "missing_utts": result.missing_utts,
        "wer": selection_wer(nbest, result, data_dir.texts.get(reference_name, {})),
    }


def write_select_report(path: PathLike, report: Mapping[str, object]) -> None:
    """Write the report as indented JSON, atomically."""
    with atomic_write(path) as handle:
        json.dump(report, handle, indent=2, ensure_ascii=False)
        handle.write("\n")

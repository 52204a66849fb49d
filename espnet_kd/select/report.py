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

``scores`` holds, for ``teacher_1best`` and ``all_selected``, the mean sentence
BLEU, chrF (sacrebleu) and WER (jiwer, percent) over the labels, and sacrebleu's
corpus BLEU and chrF (see :mod:`espnet_kd.select.sentence_scores`).

``qe`` (methods that score every hypothesis, i.e. ``qe:*``): for each score
(and, for ``qe:combined``, each component), Spearman's and Pearson's
correlation (scipy) of the score with the hypothesis's sentence BLEU against
the reference, over all hypotheses of utterances with a reference; ``null``
where there are fewer than 3 such hypotheses or either side is constant.

``confidence`` (with ``--confidence``, :mod:`espnet_kd.select.confidence_filter`):
the measure, ``min`` and ``keep_fraction`` asked for, the ``threshold`` applied,
and the number of ``labels`` that reached the filter, of those ``judged`` (the
teacher's, not references), ``kept`` and ``dropped`` (also in ``reasons`` as
``confidence_dropped``); ``null`` without the filter.
"""

from __future__ import annotations

import json
import math
from typing import Dict, List, Mapping, Optional, Sequence

import jiwer
import sacrebleu
from scipy import stats

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.abs_selector import (
    ORIGIN_HYPOTHESIS,
    ORIGIN_REFERENCE,
    REASON_EMPTY_DROPPED,
    REASON_EMPTY_NO_REFERENCE,
    REASON_NO_REFERENCE,
    HypothesisKey,
)
from espnet_kd.select.confidence_filter import REASON_CONFIDENCE_DROPPED
from espnet_kd.select.label_filter import FILTER_DROP_REASONS
from espnet_kd.select.runner import SelectionResult
from espnet_kd.select.sentence_scores import sentence_bleu, sentence_chrf, sentence_wer
from espnet_kd.utils.fileio import PathLike, atomic_write
from espnet_kd.utils.kaldi_dir import KaldiDataDir

DROPPED_HYPOTHESIS_REASONS = (
    REASON_EMPTY_DROPPED,
    REASON_EMPTY_NO_REFERENCE,
    REASON_NO_REFERENCE,
    *FILTER_DROP_REASONS,
    REASON_CONFIDENCE_DROPPED,
)
MIN_CORRELATION_POINTS = 3


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


def label_scores(
    references: Sequence[str], hypotheses: Sequence[str]
) -> Optional[Dict[str, object]]:
    """Mean sentence BLEU/chrF/WER and corpus BLEU/chrF of labels; ``None`` for no labels."""
    if not references:
        return None
    count = len(references)
    pairs = list(zip(hypotheses, references))
    return {
        "utts": count,
        "mean_sentence_bleu": sum(sentence_bleu(hyp, ref) for hyp, ref in pairs) / count,
        "mean_sentence_chrf": sum(sentence_chrf(hyp, ref) for hyp, ref in pairs) / count,
        "mean_sentence_wer": sum(sentence_wer(hyp, ref) for hyp, ref in pairs) / count,
        "corpus_bleu": sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score,
        "corpus_chrf": sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score,
    }


def selection_scores(
    nbest: Mapping[str, Sequence[NBestEntry]],
    result: SelectionResult,
    references: Mapping[str, str],
) -> Optional[Dict[str, Optional[Dict[str, object]]]]:
    """:func:`label_scores` of the teacher 1-best and of all selected labels (``None``: no references)."""
    if not references:
        return None
    one_best_utts = [utt for utt, hyps in nbest.items() if hyps and utt in references]
    selected = [pick for pick in result.selections if pick.source_utt in references]
    return {
        "teacher_1best": label_scores(
            [references[utt] for utt in one_best_utts],
            [nbest[utt][0].text for utt in one_best_utts],
        ),
        "all_selected": label_scores(
            [references[pick.source_utt] for pick in selected], [pick.text for pick in selected]
        ),
    }


def finite_or_none(value: float) -> Optional[float]:
    """``value``, or ``None`` if it is NaN or infinite (JSON has no NaN)."""
    return float(value) if math.isfinite(value) else None


def correlation(scores: Sequence[float], targets: Sequence[float]) -> Dict[str, object]:
    """Spearman's and Pearson's r (scipy) between ``scores`` and ``targets``; ``None`` if undefined."""
    numbers: Dict[str, object] = {"hypotheses": len(scores), "spearman": None, "pearson": None}
    finite = [(x, y) for x, y in zip(scores, targets) if math.isfinite(x)]
    if len(finite) < MIN_CORRELATION_POINTS:
        return numbers
    xs, ys = [x for x, _ in finite], [y for _, y in finite]
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return numbers
    numbers["spearman"] = finite_or_none(stats.spearmanr(xs, ys).statistic)
    numbers["pearson"] = finite_or_none(stats.pearsonr(xs, ys).statistic)
    return numbers


def qe_correlations(
    hypothesis_scores: Mapping[str, Mapping[HypothesisKey, float]],
    nbest: Mapping[str, Sequence[NBestEntry]],
    references: Mapping[str, str],
) -> Optional[Dict[str, object]]:
    """Correlation of each per-hypothesis score with sentence BLEU; ``None`` without scores or references."""
    if not hypothesis_scores or not references:
        return None
    hyps = [hyp for utt, utt_hyps in nbest.items() if utt in references for hyp in utt_hyps]
    bleu = [sentence_bleu(hyp.text, references[hyp.utt]) for hyp in hyps]
    correlations = {}
    for name, values in hypothesis_scores.items():
        scored = [(values[(hyp.utt, hyp.rank)], target) for hyp, target in zip(hyps, bleu)
                  if (hyp.utt, hyp.rank) in values]
        correlations[name] = {
            "utterances": len({hyp.utt for hyp in hyps}),
            **correlation([value for value, _ in scored], [target for _, target in scored]),
        }
    return {"against": "sentence_bleu", "correlations": correlations}


def build_select_report(
    method: Mapping[str, object],
    data_dir: KaldiDataDir,
    nbest: Mapping[str, Sequence[NBestEntry]],
    result: SelectionResult,
    reference_name: Optional[str] = "text",
    sources: Optional[Mapping[str, str]] = None,
    hypothesis_scores: Optional[Mapping[str, Mapping[HypothesisKey, float]]] = None,
) -> Dict[str, object]:
    """The report as a JSON-ready dict (see the module doc for what each part means).

    ``reference_name`` is the data dir's reference table (``None``: no
    references); ``hypothesis_scores`` the selector's per-hypothesis scores.
    """
    references: Mapping[str, str] = (
        data_dir.texts.get(reference_name, {}) if reference_name is not None else {}
    )
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
        "references": reference_name if references else None,
        "wer": selection_wer(nbest, result, references),
        "scores": selection_scores(nbest, result, references),
        "qe": qe_correlations(hypothesis_scores or {}, nbest, references),
        "confidence": result.confidence,
    }


def write_select_report(path: PathLike, report: Mapping[str, object]) -> None:
    """Write the report as indented JSON, atomically."""
    with atomic_write(path) as handle:
        json.dump(report, handle, indent=2, ensure_ascii=False)
        handle.write("\n")

"""Word error rate with jiwer, over whole test sets."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Mapping

import jiwer

from espnet_kd.utils.kaldi_dir import DataDirError, c_sorted


@dataclass
class WerScore:
    """Corpus-level WER and its parts (percentages and counts)."""

    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    ref_words: int
    num_utts: int
    empty_hyps: int

    def to_dict(self) -> Dict[str, float]:
        return asdict(self)


def corpus_wer(references: Mapping[str, str], hypotheses: Mapping[str, str]) -> WerScore:
    """Score every reference utterance; a missing hypothesis is an error, an empty one counts as deletions."""
    missing = c_sorted(set(references) - set(hypotheses))
    if missing:
        raise DataDirError(f"{len(missing)} reference utterance(s) have no hypothesis, e.g. {missing[:5]}")
    extra = c_sorted(set(hypotheses) - set(references))
    if extra:
        raise DataDirError(f"{len(extra)} hypothesis utterance(s) are not in the reference, e.g. {extra[:5]}")
    utts = c_sorted(references)
    empty_refs = [utt for utt in utts if not references[utt].strip()]
    if empty_refs:
        raise DataDirError(f"empty reference transcript(s), e.g. {empty_refs[:5]}")
    refs = [references[utt] for utt in utts]
    hyps = [hypotheses[utt] for utt in utts]
    words = jiwer.process_words(refs, hyps)
    chars = jiwer.process_characters(refs, hyps)
    return WerScore(
        wer=100.0 * words.wer,
        cer=100.0 * chars.cer,
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
        hits=words.hits,
        ref_words=sum(len(ref.split()) for ref in refs),
        num_utts=len(utts),
        empty_hyps=sum(1 for hyp in hyps if not hyp.strip()),
    )

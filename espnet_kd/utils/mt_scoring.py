"""Translation quality with sacrebleu: corpus BLEU and chrF over whole test sets.

Hypotheses and references are detokenised text (ESPnet's decoders join the
sentencepiece pieces back into words), matched by utterance id. Scores are
corpus-level, as in the papers' tables, and each comes with its sacrebleu
signature (tokenizer, case, smoothing, version) so a number can be reproduced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Mapping, Tuple

import sacrebleu

from espnet_kd.utils.kaldi_dir import DataDirError, c_sorted

BLEU_TOKENIZERS = ("13a", "intl", "char", "zh", "ja-mecab", "none", "flores101", "flores200")


@dataclass
class TranslationScore:
    """Corpus BLEU and chrF with their details and signatures."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str
    bleu_precisions: List[float]
    brevity_penalty: float
    hyp_length: int
    ref_length: int
    num_utts: int
    empty_hyps: int

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def aligned_pairs(references: Mapping[str, str], hypotheses: Mapping[str, str]) -> Tuple[List[str], List[str]]:
    """References and hypotheses as two lists in C-sorted utterance order.

    Every reference needs a hypothesis (an empty one is allowed and scores zero); a hypothesis
    without a reference is an error. An empty reference (a MuST-C test segment kept empty, as ESPnet
    keeps it) is scored as sacrebleu scores it: its hypothesis adds to the hypothesis length and
    n-gram counts only.
    """
    missing = c_sorted(set(references) - set(hypotheses))
    if missing:
        raise DataDirError(f"{len(missing)} reference utterance(s) have no hypothesis, e.g. {missing[:5]}")
    extra = c_sorted(set(hypotheses) - set(references))
    if extra:
        raise DataDirError(f"{len(extra)} hypothesis utterance(s) are not in the reference, e.g. {extra[:5]}")
    utts = c_sorted(references)
    return [references[utt] for utt in utts], [hypotheses[utt] for utt in utts]


def corpus_translation_score(references: Mapping[str, str], hypotheses: Mapping[str, str],
                             tokenize: str = "13a", lowercase: bool = False) -> TranslationScore:
    """Corpus BLEU (``tokenize``, ``lowercase``) and chrF (character 6-grams, β=2) of a whole set."""
    if tokenize not in BLEU_TOKENIZERS:
        raise ValueError(f"unknown BLEU tokenizer '{tokenize}' (known: {', '.join(BLEU_TOKENIZERS)})")
    refs, hyps = aligned_pairs(references, hypotheses)
    bleu_metric = sacrebleu.BLEU(tokenize=tokenize, lowercase=lowercase)
    chrf_metric = sacrebleu.CHRF(lowercase=lowercase)
    bleu = bleu_metric.corpus_score(hyps, [refs])
    chrf = chrf_metric.corpus_score(hyps, [refs])
    return TranslationScore(
        bleu=float(bleu.score),
        chrf=float(chrf.score),
        bleu_signature=str(bleu_metric.get_signature()),
        chrf_signature=str(chrf_metric.get_signature()),
        bleu_precisions=[float(p) for p in bleu.precisions],
        brevity_penalty=float(bleu.bp),
        hyp_length=int(bleu.sys_len),
        ref_length=int(bleu.ref_len),
        num_utts=len(refs),
        empty_hyps=sum(1 for hyp in hyps if not hyp.strip()),
    )

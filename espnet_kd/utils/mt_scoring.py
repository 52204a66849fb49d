"""Translation quality with sacrebleu: corpus BLEU and chrF over whole test sets.

Hypotheses and references are detokenised text (ESPnet's decoders join the
sentencepiece pieces back into words), matched by utterance id. Scores are
corpus-level, as in the papers' tables, and each comes with its sacrebleu
signature (tokenizer, case, smoothing, version) so a number can be reproduced.

Multi-reference scoring (:func:`multi_reference_translation_score`) reads every correct
translation of each utterance from an alternatives file (:func:`read_alternatives`, the
JSON lines the embedded corpus writes with translation variants on).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import sacrebleu

from espnet_kd.utils.fileio import InputError, PathLike, iter_text_lines
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


def translation_metrics(tokenize: str = "13a", lowercase: bool = False) -> Tuple[sacrebleu.BLEU, sacrebleu.CHRF]:
    """The sacrebleu metrics every score here uses: BLEU (``tokenize``, ``lowercase``) and chrF
    (character 6-grams, β=2)."""
    if tokenize not in BLEU_TOKENIZERS:
        raise ValueError(f"unknown BLEU tokenizer '{tokenize}' (known: {', '.join(BLEU_TOKENIZERS)})")
    return sacrebleu.BLEU(tokenize=tokenize, lowercase=lowercase), sacrebleu.CHRF(lowercase=lowercase)


def corpus_translation_score(references: Mapping[str, str], hypotheses: Mapping[str, str],
                             tokenize: str = "13a", lowercase: bool = False) -> TranslationScore:
    """Corpus BLEU (``tokenize``, ``lowercase``) and chrF (character 6-grams, β=2) of a whole set."""
    bleu_metric, chrf_metric = translation_metrics(tokenize, lowercase)
    refs, hyps = aligned_pairs(references, hypotheses)
    return _score_streams(bleu_metric, chrf_metric, hyps, [refs])


def multi_reference_translation_score(alternatives: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str],
                                      tokenize: str = "13a", lowercase: bool = False) -> TranslationScore:
    """Corpus BLEU and chrF of a whole set against every alternative of each utterance.

    ``alternatives``: utterance id → its correct translations (at least one each); the ids must
    be those of ``hypotheses`` (:func:`aligned_pairs`). sacrebleu wants reference streams of one
    length, so an utterance with fewer alternatives than the most has its first one repeated:
    a repeated reference changes neither BLEU's clipped n-gram counts (the maximum count over
    the references), nor its closest reference length, nor chrF's best reference.
    """
    bleu_metric, chrf_metric = translation_metrics(tokenize, lowercase)
    per_utt, hyps = aligned_pairs(alternatives, hypotheses)
    return _score_streams(bleu_metric, chrf_metric, hyps, reference_streams(per_utt))


def reference_streams(per_utt: Sequence[Sequence[str]]) -> List[List[str]]:
    """sacrebleu's reference streams for utterances with these references each: as many streams
    as the most references of an utterance, the shorter lists padded with their first reference."""
    if any(not refs for refs in per_utt):
        raise ValueError("every utterance needs at least one reference")
    count = max((len(refs) for refs in per_utt), default=1)
    return [[refs[k] if k < len(refs) else refs[0] for refs in per_utt] for k in range(count)]


def normalize_whitespace(text: str) -> str:
    """``text`` with its words joined by single spaces (no leading or trailing space)."""
    return " ".join(text.split())


def exact_match_fraction(alternatives: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str]) -> float:
    """The fraction of hypotheses equal to one of their utterance's alternatives (whitespace
    normalised, case-sensitive); the ids must match (:func:`aligned_pairs`)."""
    per_utt, hyps = aligned_pairs(alternatives, hypotheses)
    if not hyps:
        return 0.0
    matches = sum(normalize_whitespace(hyp) in {normalize_whitespace(ref) for ref in refs}
                  for refs, hyp in zip(per_utt, hyps))
    return matches / len(hyps)


def id_mismatch(expected: Mapping[str, object], got: Mapping[str, object], expected_name: PathLike,
                got_name: PathLike) -> Optional[str]:
    """Why ``got``'s utterance ids are not exactly ``expected``'s (naming the first missing and
    the first extra one, in C order), or ``None`` when they are."""
    missing = c_sorted(set(expected) - set(got))
    extra = c_sorted(set(got) - set(expected))
    if missing:
        return (f"{got_name} lacks {len(missing)} utterance(s) of {expected_name}, the first '{missing[0]}'"
                + (f" (and has {len(extra)} it does not, the first '{extra[0]}')" if extra else ""))
    if extra:
        return f"{got_name} has {len(extra)} utterance(s) that {expected_name} does not, the first '{extra[0]}'"
    return None


def reference_not_among_alternatives(alternatives: Mapping[str, Sequence[str]],
                                     references: Mapping[str, str]) -> Optional[str]:
    """The first utterance (C order) whose reference is none of its alternatives (whitespace
    normalised), or ``None``."""
    for utt in c_sorted(references):
        if normalize_whitespace(references[utt]) not in {normalize_whitespace(alt) for alt in alternatives[utt]}:
            return utt
    return None


def read_alternatives(path: PathLike) -> Dict[str, List[str]]:
    """An alternatives file: one ``{"utt_id": "...", "alternatives": ["...", ...]}`` JSON object a
    line (blank lines skipped) → utterance id → its alternatives, in file order.

    Raises :class:`DataDirError` naming the file and line on a line that is not such an object
    (at least one alternative, every one a string) or repeats an utterance id.
    """
    table: Dict[str, List[str]] = {}
    try:
        for line_no, line in iter_text_lines(path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataDirError(f"{path}:{line_no}: not JSON ({error.msg} at column {error.colno})") from None
            utt_id = record.get("utt_id") if isinstance(record, dict) else None
            refs = record.get("alternatives") if isinstance(record, dict) else None
            if not isinstance(utt_id, str) or not utt_id or not isinstance(refs, list) or not refs \
                    or not all(isinstance(ref, str) for ref in refs):
                raise DataDirError(f"{path}:{line_no}: expected {{\"utt_id\": \"...\", \"alternatives\": "
                                   f"[\"...\", ...]}} with at least one alternative")
            if utt_id in table:
                raise DataDirError(f"{path}:{line_no}: duplicate utt_id '{utt_id}'")
            table[utt_id] = refs
    except DataDirError:
        raise
    except InputError as error:
        raise DataDirError(str(error)) from None
    return table


def _score_streams(bleu_metric: sacrebleu.BLEU, chrf_metric: sacrebleu.CHRF, hyps: List[str],
                   refs: List[List[str]]) -> TranslationScore:
    """Corpus BLEU and chrF of ``hyps`` against the reference streams ``refs``."""
    bleu = bleu_metric.corpus_score(hyps, refs)
    chrf = chrf_metric.corpus_score(hyps, refs)
    return TranslationScore(
        bleu=float(bleu.score),
        chrf=float(chrf.score),
        bleu_signature=str(bleu_metric.get_signature()),
        chrf_signature=str(chrf_metric.get_signature()),
        bleu_precisions=[float(p) for p in bleu.precisions],
        brevity_penalty=float(bleu.bp),
        hyp_length=int(bleu.sys_len),
        ref_length=int(bleu.ref_len),
        num_utts=len(hyps),
        empty_hyps=sum(1 for hyp in hyps if not hyp.strip()),
    )

"""Word error rate with jiwer, over whole test sets.

Non-linguistic symbols (``data/nlsyms.txt``) are removed from both sides first, as ESPnet's
scoring does. A reference that is empty (a ``<NOISE>``-only WSJ utterance once the symbols are
stripped, an empty MuST-C test segment) is still scored: every word (character) of its
hypothesis is an insertion, and it adds nothing to the reference length. jiwer is asked only
about the other utterances (jiwer 3 rejects empty references).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Mapping, Sequence

import jiwer

from espnet_kd.utils.kaldi_dir import DataDirError, c_sorted
from espnet_kd.utils.nlsyms import strip_nlsyms


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
    empty_refs: int = 0

    def to_dict(self) -> Dict[str, float]:
        """The fields; ``empty_refs`` only when some reference is empty (score.json as before otherwise)."""
        fields = asdict(self)
        if not self.empty_refs:
            del fields["empty_refs"]
        return fields


def corpus_wer(references: Mapping[str, str], hypotheses: Mapping[str, str], nlsyms: Sequence[str] = ()) -> WerScore:
    """Score every reference utterance, the words of ``nlsyms`` removed from both sides first; a
    missing hypothesis is an error, an empty one counts as deletions, and an empty reference's
    hypothesis as insertions. Raises DataDirError when every reference is empty (no WER)."""
    missing = c_sorted(set(references) - set(hypotheses))
    if missing:
        raise DataDirError(f"{len(missing)} reference utterance(s) have no hypothesis, e.g. {missing[:5]}")
    extra = c_sorted(set(hypotheses) - set(references))
    if extra:
        raise DataDirError(f"{len(extra)} hypothesis utterance(s) are not in the reference, e.g. {extra[:5]}")
    utts = c_sorted(references)
    clean = (lambda text: strip_nlsyms(text, nlsyms)) if nlsyms else (lambda text: text)  # noqa: E731
    refs = [clean(references[utt]) for utt in utts]
    hyps = [clean(hypotheses[utt]) for utt in utts]
    scored = [i for i, ref in enumerate(refs) if ref.strip()]
    if not scored:
        raise DataDirError(f"every one of the {len(utts)} reference(s) is empty"
                           + (" once the non-linguistic symbols are removed" if nlsyms else "") + ": no WER")
    inserted = [hyps[i].strip() for i, ref in enumerate(refs) if not ref.strip()]  # an empty reference's hypotheses
    word_insertions = sum(len(hyp.split()) for hyp in inserted)
    char_insertions = sum(len(hyp) for hyp in inserted)
    words = jiwer.process_words(_pick(refs, scored), _pick(hyps, scored))
    chars = jiwer.process_characters(_pick(refs, scored), _pick(hyps, scored))
    ref_chars = chars.hits + chars.substitutions + chars.deletions
    ref_words = words.hits + words.substitutions + words.deletions
    return WerScore(
        wer=100.0 * (words.substitutions + words.deletions + words.insertions + word_insertions) / ref_words
        if inserted else 100.0 * words.wer,
        cer=100.0 * (chars.substitutions + chars.deletions + chars.insertions + char_insertions) / ref_chars
        if inserted else 100.0 * chars.cer,
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions + word_insertions,
        hits=words.hits,
        ref_words=sum(len(ref.split()) for ref in refs),
        num_utts=len(utts),
        empty_hyps=sum(1 for hyp in hyps if not hyp.strip()),
        empty_refs=len(inserted),
    )


def _pick(items: List[str], indices: List[int]) -> List[str]:
    """``items`` at ``indices``, in order."""
    return [items[i] for i in indices]

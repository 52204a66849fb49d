"""``qe:logp``: the teacher's own confidence, its length-normalised log-probability.

The value of a hypothesis is its total log-probability under the teacher
divided by its number of tokens (at least 1): the mean token log-prob. The
total is the n-best entry's ``logp``; if that is ``null``, the sum of
``token_logp``; if both are ``null``, the decoder's part of the beam score
``scores["decoder"]`` (the same quantity, as ESPnet's beam search records it).
ESPnet's stock decoder, converted with ``espnet_kd.bin.nbest_from_espnet``,
records none of them; such an n-best list stops the run with a message saying
so (the batched n-best engine writes ``logp`` and ``token_logp``).

:func:`length_normalised_logp` is also the confidence of ``--confidence logp``
(:mod:`espnet_kd.select.confidence_filter`): one definition for both.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, Sequence

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.qe.abs_qe_scorer import AbsQEScorer, QEError, QEOptions
from espnet_kd.select.qe.registry import register_qe_scorer

DECODER_SCORE = "decoder"


def teacher_logp(hyp: NBestEntry, needed_by: str = "qe:logp") -> float:
    """The teacher's total log-prob of ``hyp``: ``logp``, else sum of ``token_logp``, else ``scores['decoder']``.

    ``needed_by`` names what asked for it in the error raised when ``hyp`` has none.
    """
    if hyp.logp is not None:
        return hyp.logp
    if hyp.token_logp is not None:
        return float(sum(hyp.token_logp))
    if DECODER_SCORE in hyp.scores:
        return hyp.scores[DECODER_SCORE]
    raise QEError(
        f"{needed_by}: utt {hyp.utt} rank {hyp.rank} has no teacher log-prob (logp and token_logp "
        "are null, scores has no 'decoder'); ESPnet's stock decoder (espnet_kd.bin."
        "nbest_from_espnet) does not record it: generate the n-best list with espnet_kd.bin.nbest "
        "(the batched n-best engine), which writes logp and token_logp"
    )


def length_normalised_logp(hyp: NBestEntry, needed_by: str = "qe:logp") -> float:
    """The mean log-prob per token of ``hyp`` (total over max(number of tokens, 1)); ``needed_by``:
    see :func:`teacher_logp`."""
    return teacher_logp(hyp, needed_by) / max(len(hyp.token_int), 1)


@register_qe_scorer
class LogProbScorer(AbsQEScorer):
    """The teacher's length-normalised log-probability of each hypothesis."""

    name = "logp"

    @classmethod
    def from_options(cls, options: QEOptions) -> "LogProbScorer":
        return cls()

    def score(
        self, hyps: Sequence[NBestEntry], sources: Optional[Mapping[str, str]]
    ) -> List[float]:
        return [length_normalised_logp(hyp) for hyp in hyps]

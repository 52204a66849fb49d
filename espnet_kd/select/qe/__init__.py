"""espnet_kd.select.qe: reference-free quality estimation of teacher hypotheses.

- :mod:`~espnet_kd.select.qe.abs_qe_scorer`: the :class:`AbsQEScorer` interface and :class:`QEOptions`
- :mod:`~espnet_kd.select.qe.logp`: ``logp``, the teacher's length-normalised log-prob
- :mod:`~espnet_kd.select.qe.backward`: ``backward``, log P(source | hypothesis) by a backward MT model
- :mod:`~espnet_kd.select.qe.combined`: ``combined``, a least-squares weighted sum fitted to sentence BLEU
- :mod:`~espnet_kd.select.qe.registry`: :func:`build_qe_scorer` by name

Importing this package registers the built-in scorers (each module registers its own), then
those of any other module here with a ``@register_qe_scorer`` class.
"""

from espnet_kd.select.qe.abs_qe_scorer import AbsQEScorer, QEError, QEOptions
from espnet_kd.select.qe.registry import build_qe_scorer, known_qe_scorers
from espnet_kd.select.qe import logp, backward, combined  # noqa: E402,F401  (registers them)
from espnet_kd.utils.registration import import_registering_modules  # noqa: E402

# any other module of this package with a @register_qe_scorer class: a new scorer is one new file
import_registering_modules(__name__, __path__, "register_qe_scorer")

__all__ = ["AbsQEScorer", "QEError", "QEOptions", "build_qe_scorer", "known_qe_scorers"]

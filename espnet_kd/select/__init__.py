"""espnet_kd.select: pseudo-label selection from teacher n-best lists.

- :mod:`~espnet_kd.select.abs_selector`: the :class:`AbsSelector` interface and :class:`Selected`
- :mod:`~espnet_kd.select.one_best`, :mod:`~espnet_kd.select.topk`, :mod:`~espnet_kd.select.interp`,
  :mod:`~espnet_kd.select.qe_selector`: the methods (any module here with a ``@register_selector``
  class is imported, and so registered, with the package)
- :mod:`~espnet_kd.select.registry`: :func:`build_selector` from a spec such as ``topk:4``;
  :func:`~espnet_kd.select.registry.register_selector`, the decorator each method's class carries
- :mod:`~espnet_kd.select.runner`: apply a selector to a whole data dir
- :mod:`~espnet_kd.select.pseudo_dir`: build the pseudo-labelled Kaldi dir
- :mod:`~espnet_kd.select.report`: ``select_report.json``
"""

from espnet_kd.select.abs_selector import AbsSelector, Selected, SelectorError
from espnet_kd.select.registry import build_selector, known_methods, register_selector

# the built-in methods, registered in this order (importing each registers it)
from espnet_kd.select import one_best, topk, interp, qe_selector  # noqa: E402,F401  isort: skip
from espnet_kd.utils.registration import import_registering_modules  # noqa: E402

# any other module of this package with a @register_selector class: a new method is one new file
import_registering_modules(__name__, __path__, "register_selector")

__all__ = [
    "AbsSelector",
    "Selected",
    "SelectorError",
    "build_selector",
    "known_methods",
    "register_selector",
]

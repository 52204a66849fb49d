"""``qe:combined``: a weighted sum of other QE scorers, fitted to sentence BLEU.

The value of a hypothesis is ``intercept + sum_i w_i * v_i`` where ``v_i`` are
the values of the component scorers (``logp`` and ``backward`` by default).
The weights are fitted by ordinary least squares so that the sum predicts the
hypothesis's sentence BLEU (sacrebleu, smoothed) against the reference, on an
n-best set that has references (e.g. the dev set, or the part of the training
set with translations); they are then saved as JSON and loaded to select on
data without references::

    {"components": ["logp", "backward"], "weights": {"logp": 8.1, "backward": 12.5},
     "intercept": 71.2, "target": "sentence_bleu", "fitted_on": {"hypotheses": 3200,
     "utterances": 800}, "r2": 0.31}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from espnet_kd.nbest.format import NBestEntry
from espnet_kd.select.options import Option, comma_names
from espnet_kd.select.qe.abs_qe_scorer import AbsQEScorer, QEError
from espnet_kd.select.qe.registry import build_qe_scorer, register_qe_scorer
from espnet_kd.select.sentence_scores import sentence_bleu
from espnet_kd.utils.fileio import InputError, PathLike, atomic_write, read_text

TARGET = "sentence_bleu"


@dataclass
class CombinedWeights:
    """Fitted weights: one per component scorer, plus an intercept."""

    components: List[str]
    weights: Dict[str, float]
    intercept: float
    fitted_on: Dict[str, int] = field(default_factory=dict)
    r2: Optional[float] = None

    def combine(self, values: Mapping[str, Sequence[float]]) -> List[float]:
        """``intercept + sum_i w_i v_i`` for every hypothesis, from the components' values."""
        count = len(next(iter(values.values()))) if values else 0
        return [
            self.intercept + sum(self.weights[name] * values[name][i] for name in self.components)
            for i in range(count)
        ]

    def to_json_dict(self) -> Dict[str, object]:
        return {
            "components": list(self.components),
            "weights": {name: self.weights[name] for name in self.components},
            "intercept": self.intercept,
            "target": TARGET,
            "fitted_on": dict(self.fitted_on),
            "r2": self.r2,
        }

    def save(self, path: PathLike) -> None:
        """Write the weights as JSON, atomically."""
        with atomic_write(path) as handle:
            json.dump(self.to_json_dict(), handle, indent=2)
            handle.write("\n")

    @classmethod
    def load(cls, path: PathLike) -> "CombinedWeights":
        """Read weights written by :meth:`save`; errors name the file and what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise QEError(f"qe:combined: weights file {path} not found")
        try:
            obj = json.loads(read_text(path))
        except json.JSONDecodeError as error:
            raise QEError(f"qe:combined: {path} is not JSON ({error.msg})") from None
        except InputError as error:  # not UTF-8: names the line
            raise QEError(f"qe:combined: {error}") from None
        if not isinstance(obj, dict):
            raise QEError(f"qe:combined: {path} must hold a JSON object")
        components = obj.get("components")
        weights = obj.get("weights")
        intercept = obj.get("intercept")
        if (
            not isinstance(components, list)
            or not components
            or not all(isinstance(name, str) for name in components)
        ):
            raise QEError(f"qe:combined: {path}: 'components' must be a non-empty list of names")
        if not isinstance(weights, dict) or sorted(weights) != sorted(components):
            raise QEError(
                f"qe:combined: {path}: 'weights' must give a number for each of {components}"
            )
        numbers = [intercept, *weights.values()]
        if not all(
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            for value in numbers
        ):
            raise QEError(f"qe:combined: {path}: weights and intercept must be finite numbers")
        return cls(
            components=list(components),
            weights={name: float(weights[name]) for name in components},
            intercept=float(intercept),  # type: ignore[arg-type]
            fitted_on=dict(obj.get("fitted_on") or {}),
            r2=obj.get("r2"),
        )


def fit_combined_weights(
    values: Mapping[str, Sequence[float]], target: Sequence[float], utterances: int = 0
) -> CombinedWeights:
    """Least-squares weights and intercept predicting ``target`` from the components' ``values``."""
    components = list(values)
    count = len(target)
    if count <= len(components):
        raise QEError(
            f"qe:combined: fitting {len(components)} weights and an intercept needs more than "
            f"{len(components)} hypotheses with references, got {count}"
        )
    for name in components:
        if len(values[name]) != count:
            raise QEError(f"qe:combined: {name} has {len(values[name])} values for {count} targets")
        if not all(math.isfinite(value) for value in values[name]):
            raise QEError(f"qe:combined: scorer {name} gave a non-finite value; cannot fit")
    design = np.column_stack([np.ones(count)] + [np.asarray(values[name]) for name in components])
    goal = np.asarray(target, dtype=float)
    solution, _, rank, _ = np.linalg.lstsq(design, goal, rcond=None)
    if rank < design.shape[1]:
        raise QEError(
            "qe:combined: the component scores are constant or collinear on the fitting data; "
            "cannot fit one weight each"
        )
    residual = goal - design @ solution
    spread = float(((goal - goal.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / spread if spread > 0 else None
    return CombinedWeights(
        components=components,
        weights={name: float(weight) for name, weight in zip(components, solution[1:])},
        intercept=float(solution[0]),
        fitted_on={"hypotheses": count, "utterances": utterances},
        r2=r2,
    )


@register_qe_scorer
class CombinedScorer(AbsQEScorer):
    """A weighted sum of component scorers' values; the weights are loaded or fitted."""

    name = "combined"
    tasks = ("st",)
    needs_backward_model = True  # its default components are logp and backward
    options = (
        Option("qe_components", help="qe:combined: comma-separated scorers (logp,backward)",
               keyword="combined_components", convert=comma_names),
        Option("qe_combined_weights", help="qe:combined: load weights from this JSON", type=Path,
               keyword="combined_weights"),
        Option("qe_fit_combined", help="qe:combined: fit weights on this data's references, write this JSON",
               type=Path, keyword="fit_combined"),
    )

    def __init__(
        self,
        components: Sequence[AbsQEScorer],
        weights: Optional[CombinedWeights] = None,
        fit_to: Optional[Path] = None,
    ) -> None:
        if not components:
            raise QEError("qe:combined needs at least one component scorer")
        names = [component.name for component in components]
        if weights is not None and sorted(weights.components) != sorted(names):
            raise QEError(
                f"qe:combined: the weights are for {weights.components}, the scorers are {names}"
            )
        self.components = list(components)
        self.weights = weights
        self.fit_to = fit_to
        self.needs_source = any(component.needs_source for component in components)
        self.component_values: Dict[str, List[float]] = {}

    @classmethod
    def from_options(cls, options):  # type: ignore[no-untyped-def]
        if (options.combined_weights is None) == (options.fit_combined is None):
            raise QEError(
                "qe:combined needs its weights: load them with --qe_combined_weights FILE, or fit "
                "them on data with references and save them with --qe_fit_combined FILE (one of the two)"
            )
        weights = None if options.combined_weights is None else CombinedWeights.load(options.combined_weights)
        names = weights.components if weights is not None else list(options.combined_components)
        if cls.name in names:
            raise QEError("qe:combined cannot be a component of itself")
        components = [build_qe_scorer(name, options) for name in names]
        return cls(components, weights=weights, fit_to=options.fit_combined)

    def describe(self) -> dict:
        return {
            "scorer": self.name,
            "components": [component.describe() for component in self.components],
            "weights": None if self.weights is None else self.weights.to_json_dict(),
            "fitted_to": None if self.fit_to is None else str(self.fit_to),
        }

    def values_of_components(
        self, hyps: Sequence[NBestEntry], sources: Optional[Mapping[str, str]]
    ) -> Dict[str, List[float]]:
        """Every component's values for ``hyps``, by component name."""
        return {component.name: component.score(hyps, sources) for component in self.components}

    def fit_and_score(
        self,
        hyps: Sequence[NBestEntry],
        sources: Optional[Mapping[str, str]],
        references: Mapping[str, str],
    ) -> List[float]:
        """Fit the weights on the hypotheses that have a reference (saving them if asked), then score all.

        The components score every hypothesis once; the fit uses those of
        utterances with a non-empty reference.
        """
        values = self.values_of_components(hyps, sources)
        fit_rows = [i for i, hyp in enumerate(hyps) if references.get(hyp.utt, "").strip()]
        self.weights = fit_combined_weights(
            {name: [column[i] for i in fit_rows] for name, column in values.items()},
            [sentence_bleu(hyps[i].text, references[hyps[i].utt]) for i in fit_rows],
            utterances=len({hyps[i].utt for i in fit_rows}),
        )
        if self.fit_to is not None:
            self.weights.save(self.fit_to)
        self.component_values = values
        return self.weights.combine(values)

    def score(
        self, hyps: Sequence[NBestEntry], sources: Optional[Mapping[str, str]]
    ) -> List[float]:
        if self.weights is None:
            raise QEError("qe:combined: the weights are neither loaded nor fitted")
        self.component_values = self.values_of_components(hyps, sources)
        return self.weights.combine(self.component_values)

    def score_all(
        self,
        hyps: Sequence[NBestEntry],
        sources: Optional[Mapping[str, str]],
        references: Optional[Mapping[str, str]],
    ) -> List[float]:
        """Score with the loaded weights, or fit them on ``references`` first (--qe_fit_combined)."""
        if self.weights is not None:
            return self.score(hyps, sources)
        if not references:
            raise QEError(
                "qe:combined: fitting the weights (--qe_fit_combined) needs references; "
                "this data has none (see --reference_text)"
            )
        return self.fit_and_score(hyps, sources, references)

    def component_scores(self) -> Dict[str, List[float]]:
        return dict(self.component_values)

"""The ST results table's section against every correct translation (multi-reference scores).

When a test set's references are one translator's choice among several correct translations (the
embedded corpus with ``--translation_variants true`` writes all of them per utterance:
``<corpus>/<set>/alternatives/text.<lang>.jsonl``, read by
:func:`espnet_kd.utils.mt_scoring.read_alternatives`), single-reference BLEU also counts a
correct translation that took another alternative as an error. This section scores every row of
the table (the MT teacher and each student, every seed) from its ``decode_<set>/text`` against all
the alternatives:

- BLEU with every alternative a reference (sacrebleu's multi-reference statistics, the main table's
  tokenizer and case), mean ± sd over seeds;
- exact match: the share of translations equal to one of their alternatives;
- both as a difference to the baseline student, with the main table's paired bootstrap over the
  test utterances, seeds pooled (:func:`espnet_kd.utils.significance.paired_bootstrap`).

Each decoding's reference (the ``ref`` its ``score.json`` names) must be among its utterance's
alternatives, so that a table never scores one corpus's decodings against another's alternatives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Protocol, Sequence

import numpy as np
import sacrebleu

from espnet_kd.utils.fileio import InputError
from espnet_kd.utils.kaldi_dir import read_table
from espnet_kd.utils.mt_scoring import id_mismatch, read_alternatives, reference_not_among_alternatives
from espnet_kd.utils.results_page import DECODE_PREFIX, decode_dir
from espnet_kd.utils.significance import (
    bleu_from_statistics_fn,
    exact_match_statistics,
    multi_reference_bleu_statistics,
    paired_bootstrap,
    percent_from_statistics,
    seed_summary,
)


class TableRow(Protocol):
    """What this module reads of a results-table row."""

    name: str
    model_dirs: List[Path]


@dataclass
class AlternativeScores:
    """One row's statistics against every alternative of one test set: one array per seed."""

    bleu_stats: List[np.ndarray]    # (utterances, K) sacrebleu BLEU statistics
    match_stats: List[np.ndarray]   # (utterances, 2) [exact match, 1]


def parse_alternatives_specs(specs: Sequence[str], test_sets: Sequence[str]) -> Dict[str, Path]:
    """``SET=FILE`` options → test set → alternatives file; a set not in ``test_sets``, a set given
    twice or a file that is not there raise :class:`InputError`."""
    by_set: Dict[str, Path] = {}
    for spec in specs:
        test_set, sep, path = spec.partition("=")
        if not sep or not test_set or not path:
            raise InputError(f"--alternatives takes SET=FILE, not '{spec}'")
        if test_set not in test_sets:
            raise InputError(f"--alternatives {spec}: '{test_set}' is not one of --test_sets ({' '.join(test_sets)})")
        if test_set in by_set:
            raise InputError(f"--alternatives: test set '{test_set}' given twice")
        if not Path(path).is_file():
            raise InputError(f"--alternatives {spec}: {path} not found")
        by_set[test_set] = Path(path)
    return by_set


def _decoding_reference(decode_path: Path) -> Optional[Path]:
    """The reference file the decoding's ``score.json`` was scored against, if it names one."""
    score_path = decode_path / "score.json"
    if not score_path.is_file():
        return None
    ref = json.loads(score_path.read_text(encoding="utf-8")).get("ref")
    return Path(str(ref)) if ref else None


def row_alternative_scores(row: TableRow, test_set: str, alternatives: Mapping[str, Sequence[str]],
                           alternatives_path: Path, metric: sacrebleu.BLEU,
                           decode_prefix: str = DECODE_PREFIX) -> AlternativeScores:
    """Every seed's statistics of ``row`` on ``test_set`` against ``alternatives``, checked: the
    decoding has exactly the alternatives' utterances, and its reference is among them."""
    scores = AlternativeScores([], [])
    for model_dir in row.model_dirs:
        decode_path = decode_dir(model_dir, test_set, decode_prefix)
        hyp_path = decode_path / "text"
        if not hyp_path.is_file():
            raise InputError(f"{hyp_path} not found (run the decoding stage)")
        hypotheses = read_table(hyp_path, allow_empty_value=True)
        mismatch = id_mismatch(alternatives, hypotheses, alternatives_path, hyp_path)
        if mismatch:
            raise InputError(mismatch)
        ref_path = _decoding_reference(decode_path)
        if ref_path is not None and ref_path.is_file():
            references = read_table(ref_path, allow_empty_value=True)
            mismatch = id_mismatch(alternatives, references, alternatives_path, ref_path)
            utt = None if mismatch else reference_not_among_alternatives(alternatives, references)
            if mismatch or utt is not None:
                why = mismatch or (f"{ref_path}: the reference of '{utt}' is not one of its alternatives in "
                                   f"{alternatives_path}")
                raise InputError(f"{why}: the decodings and the alternatives are from different corpora")
        scores.bleu_stats.append(multi_reference_bleu_statistics(alternatives, hypotheses, metric)[1])
        scores.match_stats.append(exact_match_statistics(alternatives, hypotheses)[1])
    return scores


def alternatives_section(rows: Sequence[TableRow], labels: Sequence[str], alternatives_by_set: Mapping[str, Path],
                         metric: sacrebleu.BLEU, n_resamples: int,
                         decode_prefix: str = DECODE_PREFIX) -> List[str]:
    """The Markdown lines of the section, one table per test set of ``alternatives_by_set``; ``labels``
    names each of ``rows`` (the first is the MT teacher); Δ columns when a row is named ``baseline``."""
    lines: List[str] = []
    to_bleu = bleu_from_statistics_fn(metric)
    for test_set, path in alternatives_by_set.items():
        alternatives = read_alternatives(path)
        counts = [len(alts) for alts in alternatives.values()]
        scores = [row_alternative_scores(row, test_set, alternatives, path, metric, decode_prefix) for row in rows]
        baseline = next((i for i, row in enumerate(rows) if row.name == "baseline"), None)
        header = ["Model", "Seeds", "BLEU, all alternatives", "exact match (%)"]
        if baseline is not None:
            header += ["Δ BLEU vs baseline [95% CI]", "Δ exact match vs baseline, points [95% CI]"]
        lines += [
            "", f"## Against every correct translation ({test_set})", "",
            f"Each {test_set} utterance has {np.mean(counts):.2f} correct translations on average (up to "
            f"{max(counts)}; `{path}`), of which its reference is one. BLEU with all of them as references "
            "(sacrebleu, the tokenizer and case above) and exact match (a translation equal to one of them), "
            "mean ± sd over seeds; the intervals as above (paired bootstrap over the utterances, seeds pooled).",
            "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
        ]
        for index, (row, label, row_scores) in enumerate(zip(rows, labels, scores)):
            cells = [label, str(len(row.model_dirs)),
                     seed_summary(row_scores.bleu_stats, to_bleu).format(),
                     seed_summary(row_scores.match_stats, percent_from_statistics).format(1)]
            if baseline is not None:
                if index in (0, baseline):
                    cells += ["—", "—"]
                else:
                    base = scores[baseline]
                    cells += [paired_bootstrap(row_scores.bleu_stats, base.bleu_stats, to_bleu,
                                               n_resamples=n_resamples).format(),
                              paired_bootstrap(row_scores.match_stats, base.match_stats, percent_from_statistics,
                                               n_resamples=n_resamples).format(1)]
            lines.append("| " + " | ".join(cells) + " |")
    return lines

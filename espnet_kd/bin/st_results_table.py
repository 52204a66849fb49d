"""Write the results table of an ST distillation recipe (RESULTS.md), in the shape of Gaido et al. 2020.

Reads ``<model>/decode_<set>/score.json`` (from ``espnet_kd.bin.score_bleu``) with the
hypotheses and references it names, for the MT teacher (decoded on the transcripts) and
every ST student, and each model's ``config.yaml`` to count its parameters with ESPnet's
own builder; writes a Markdown table: one row per method with BLEU and chrF per test set
(mean ± sd over seeds when a method is given once per seed) and the change in BLEU vs the
baseline student with its 95 % paired-bootstrap interval over test utterances, pooled
over seeds (:mod:`espnet_kd.utils.significance`, sacrebleu's own statistics); the MT
teacher's scores above them; per-seed scores, each model's convergence check and a
learning-curve PNG (:mod:`espnet_kd.utils.train_log`) and the sacrebleu signatures below.
``--alternatives SET=FILE`` (every correct translation of each utterance) adds multi-reference
BLEU and exact match per row (:mod:`espnet_kd.utils.alternatives_rows`).

    python -m espnet_kd.bin.st_results_table --teacher exp/mt_teacher \\
        --student baseline=exp/student_baseline --student baseline=exp/student_baseline_seed1 \\
        --student seqkd=exp/student_seqkd --test_sets dev test --src_lang en --tgt_lang it --out RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet_kd.methods import MethodError, method_label
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import InputError, atomic_write, read_yaml_mapping
from espnet_kd.utils.kaldi_dir import DataDirError, read_table
from espnet_kd.utils.significance import (
    PairedDifference,
    SeedSummary,
    bleu_from_statistics_fn,
    bleu_metric,
    bleu_statistics,
    paired_bootstrap,
    seed_summary,
)
from espnet_kd.utils.results_page import (
    DECODE_PREFIX, add_decode_prefix_option, check_and_plot, convergence_section, decode_dir, parse_model_specs,
)
from espnet_kd.utils.results_warnings import by_name, result_warnings, warnings_section
from espnet_kd.utils.train_log import PlateauCheck
from espnet_kd.utils.alternatives_rows import alternatives_section, parse_alternatives_specs
from espnet_kd.utils.unlabeled_rows import unlabeled_comparison

TASK = "st"


@dataclass
class ResultRow:
    """One model's scores per test set, over one or more seeds (one model dir each)."""

    name: str
    label: str
    params: Optional[int]
    model_dirs: List[Path]
    # per test set: one (utterances, K) array of sacrebleu BLEU statistics per seed
    bleu_stats: Dict[str, List[np.ndarray]]
    chrf: Dict[str, List[float]]          # per test set: corpus chrF of each seed
    num_utts: Dict[str, int]
    signatures: Tuple[str, str]
    seeds: List[Optional[int]]

    def score_cell(self, test_set: str) -> str:
        """The BLEU on ``test_set`` as the table prints it."""
        return self.bleu(test_set).format()

    def difference_to(self, other: "ResultRow", test_set: str, n_resamples: int) -> PairedDifference:
        """BLEU minus ``other``'s on ``test_set``, with its paired-bootstrap interval."""
        return paired_bootstrap(self.bleu_stats[test_set], other.bleu_stats[test_set],
                                bleu_from_statistics_fn(metric_of(self.signatures[0])), n_resamples=n_resamples)

    def bleu(self, test_set: str) -> SeedSummary:
        return seed_summary(self.bleu_stats[test_set], bleu_from_statistics_fn(metric_of(self.signatures[0])))

    def mean_bleu(self, test_set: str) -> float:
        return self.bleu(test_set).mean

    def chrf_summary(self, test_set: str) -> SeedSummary:
        return SeedSummary(self.chrf[test_set])


def metric_of(bleu_signature: str):
    """The sacrebleu BLEU of a signature (its tokenizer and case), to recompute scores from statistics."""
    fields = dict(part.split(":", 1) for part in bleu_signature.split("|") if ":" in part)
    return bleu_metric(tokenize=fields.get("tok", "13a"), lowercase=fields.get("case") == "lc")


def student_label(method: str) -> str:
    """The "training labels" of a student row: the method's label (:mod:`espnet_kd.methods`),
    or the name itself for a name that is no method (``wordkd_l0.5_T2`` of a tuning grid)."""
    try:
        return method_label(method, TASK)
    except MethodError:
        return method


def read_model_config(model_dir: Path) -> Dict[str, Any]:
    """The ``config.yaml`` ESPnet's trainer wrote in ``model_dir`` (every option it trained with), or {}."""
    config_path = model_dir / "config.yaml"
    if not config_path.is_file():
        return {}
    return read_yaml_mapping(config_path)  # InputError naming the file (and line) if it is not a YAML mapping


def kd_settings(model_dir: Path) -> str:
    """`` (λ=…, T=…, top-k)`` for a word-KD student (its ``config.yaml`` has ``kd_lambda``), else ``""``."""
    config = read_model_config(model_dir)
    if "kd_lambda" not in config:
        return ""
    try:
        kd_lambda, temperature = float(config["kd_lambda"]), float(config.get("kd_temperature", 1.0))
    except (TypeError, ValueError):
        raise InputError(f"{model_dir / 'config.yaml'}: kd_lambda and kd_temperature must be numbers, not "
                         f"{config['kd_lambda']!r} and {config.get('kd_temperature')!r}") from None
    return f" (λ={kd_lambda:g}, T={temperature:g}, top-{config.get('kd_topk', '?')})"


def read_translation_scores(model_dir: Path, test_sets: List[str], decode_prefix: str = DECODE_PREFIX
                            ) -> Tuple[Dict[str, float], Dict[str, float], Dict[str, int], Tuple[str, str]]:
    """BLEU, chrF and utterance count per test set, and the signatures, from ``decode_<set>/score.json``."""
    bleu, chrf, num_utts = {}, {}, {}
    signatures = ("", "")
    for test_set in test_sets:
        path = decode_dir(model_dir, test_set, decode_prefix) / "score.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (run the decoding and scoring stages)")
        try:
            score = json.loads(path.read_text(encoding="utf-8"))
            bleu[test_set], chrf[test_set] = float(score["bleu"]), float(score["chrf"])
            num_utts[test_set] = int(score["num_utts"])
            signatures = (str(score["bleu_signature"]), str(score["chrf_signature"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: not a score_bleu score file ({error})") from None
    return bleu, chrf, num_utts, signatures


def read_bleu_statistics(model_dir: Path, test_set: str, signature: str,
                         decode_prefix: str = DECODE_PREFIX) -> Tuple[List[str], np.ndarray]:
    """Utterance ids and per-utterance sacrebleu statistics of one decoding, checked against its score.json."""
    score_path = decode_dir(model_dir, test_set, decode_prefix) / "score.json"
    score = json.loads(score_path.read_text(encoding="utf-8"))
    hyp_path, ref_path = decode_dir(model_dir, test_set, decode_prefix) / "text", Path(str(score.get("ref", "")))
    for path in (hyp_path, ref_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (named by {score_path})")
    metric = metric_of(signature)
    utts, stats = bleu_statistics(read_table(ref_path, allow_empty_value=True), read_table(hyp_path, allow_empty_value=True),
                                  metric)
    recomputed = bleu_from_statistics_fn(metric)(stats.sum(axis=0))
    if abs(recomputed - float(score["bleu"])) > 0.01:
        raise ValueError(f"{score_path}: BLEU {score['bleu']:.2f}, but {hyp_path} scores {recomputed:.2f} "
                         "(decoded again after scoring? rerun the scoring stage)")
    return utts, stats


def load_row(name: str, label: str, model_dirs: List[Path], test_sets: List[str], task: str,
             counting: bool, decode_prefix: str = DECODE_PREFIX) -> ResultRow:
    """Scores of every seed's model dir of one method (they must share test sets)."""
    bleu_stats: Dict[str, List[np.ndarray]] = {test_set: [] for test_set in test_sets}
    chrf: Dict[str, List[float]] = {test_set: [] for test_set in test_sets}
    utts_by_set: Dict[str, List[str]] = {}
    signatures, num_utts = ("", ""), {}
    for model_dir in model_dirs:
        _, seed_chrf, num_utts, signatures = read_translation_scores(model_dir, test_sets, decode_prefix)
        for test_set in test_sets:
            utts, stats = read_bleu_statistics(model_dir, test_set, signatures[0], decode_prefix)
            if utts_by_set.setdefault(test_set, utts) != utts:
                raise DataDirError(f"{decode_dir(model_dir, test_set, decode_prefix)}: other utterances than "
                                   f"{model_dirs[0]}")
            bleu_stats[test_set].append(stats)
            chrf[test_set].append(seed_chrf[test_set])
    params = count_parameters(model_dirs[0], task) if counting else None
    seeds = [read_model_config(model_dir).get("seed") for model_dir in model_dirs]
    return ResultRow(name, label, params, model_dirs, bleu_stats, chrf, num_utts, signatures, seeds)


def count_parameters(model_dir: Path, task: str) -> Optional[int]:
    """Parameters of the ESPnet2 ``task`` model (``mt`` or ``st``) of ``model_dir/config.yaml``; None if unbuildable."""
    if task == "mt":
        from espnet2.tasks.mt import MTTask as Task
    else:
        from espnet2.tasks.st import STTask as Task
    try:
        model, _ = Task.build_model_from_file(model_dir / "config.yaml", None, "cpu")
    except Exception as error:  # a model type this task cannot build (e.g. a KD wrapper): leave the cell blank
        logging.warning("%s: cannot count parameters with %s (%s)", model_dir, Task.__name__, error)
        return None
    return sum(param.numel() for param in model.parameters())


# Gaido et al. 2020 (MuST-C, their table of KD methods): word KD is the best single method and
# fine-tuning it on the references adds a little; sequence-level methods gain less.
GAIDO_ORDER = ["wordkd_ft", "wordkd", "seqkd", "baseline"]


def ranking_line(students: List[ResultRow], test_set: str) -> str:
    """The students ranked by BLEU on ``test_set``, and where that agrees with Gaido et al.'s order."""
    ranked = sorted(students, key=lambda row: -row.mean_bleu(test_set))
    order = " > ".join(f"{row.name} ({row.mean_bleu(test_set):.2f})" for row in ranked)
    bleu = {row.name: row.mean_bleu(test_set) for row in students}
    pairs = [(better, worse) for i, better in enumerate(GAIDO_ORDER) for worse in GAIDO_ORDER[i + 1:]
             if better in bleu and worse in bleu]
    line = f"Students by {test_set} BLEU{' (mean over seeds)' if any(len(r.model_dirs) > 1 for r in students) else ''}: {order}."
    if pairs:
        kept = [f"{better} > {worse}" for better, worse in pairs if bleu[better] > bleu[worse]]
        broken = [f"{better} ≤ {worse}" for better, worse in pairs if bleu[better] <= bleu[worse]]
        line += (f" Gaido et al. 2020 found {' > '.join(m for m in GAIDO_ORDER if m in bleu)}:"
                 f" {len(kept)} of {len(pairs)} of those pairs hold here"
                 + (f" (not: {', '.join(broken)})." if broken else "."))
    return line


def model_names(rows: Sequence[ResultRow], src_lang: str, tgt_lang: str) -> List[str]:
    """The first column of the tables: the MT teacher (``rows[0]``), then ``ST <method>``."""
    return [f"MT teacher ({src_lang} transcripts → {tgt_lang})"] + [f"ST {row.name}" for row in rows[1:]]


def _params_cell(params: Optional[int]) -> str:
    return "—" if params is None else f"{params / 1e6:.2f} M"


def format_table(title: str, teacher: ResultRow, students: List[ResultRow], test_sets: List[str],
                 src_lang: str, tgt_lang: str, n_resamples: int = 1000,
                 convergence: Optional[Dict[Path, PlateauCheck]] = None, curves_png: Optional[str] = None,
                 findings: Sequence[str] = (), sections: Sequence[str] = ()) -> str:
    """The Markdown page: the MT teacher, one row per student (Δ BLEU vs the baseline with its interval),
    ``sections`` (lines: the untranscribed-audio comparison), per-seed scores, convergence."""
    baseline = next((row for row in students if row.name == "baseline"), None)
    header = ["Model", "Trained on", "Params", "Seeds"]
    for test_set in test_sets:
        header += [f"{test_set} BLEU", f"{test_set} chrF"]
    if baseline is not None:
        header += [f"Δ {test_set} BLEU vs baseline [95% CI]" for test_set in test_sets]
    lines = [f"# {title}", "", f"Speech translation {src_lang} → {tgt_lang}.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def delta(row: ResultRow, test_set: str) -> Optional[PairedDifference]:
        if baseline is None or row is baseline or row is teacher:
            return None
        return paired_bootstrap(row.bleu_stats[test_set], baseline.bleu_stats[test_set],
                                bleu_from_statistics_fn(metric_of(row.signatures[0])), n_resamples=n_resamples)

    def cells(row: ResultRow, model: str) -> List[str]:
        out = [model, row.label, _params_cell(row.params), str(len(row.model_dirs))]
        for test_set in test_sets:
            out += [row.bleu(test_set).format(), row.chrf_summary(test_set).format()]
        if baseline is not None:
            for test_set in test_sets:
                difference = delta(row, test_set)
                out.append("—" if difference is None else difference.format())
        return out

    for row, model in zip([teacher] + students, model_names([teacher] + students, src_lang, tgt_lang)):
        lines.append("| " + " | ".join(cells(row, model)) + " |")
    sizes = ", ".join(f"{s}: {teacher.num_utts[s]} utterances" for s in test_sets)
    lines += ["", ranking_line(students, test_sets[-1])] if students else []
    lines += [
        "",
        "The MT teacher reads the reference transcripts (an upper bound for the ST students, not a "
        "competitor); every ST student has the same architecture and hears the audio.",
        f"Corpus-level scores with sacrebleu over whole sets ({sizes}), mean ± sample sd over seeds; "
        f"BLEU signature `{teacher.signatures[0]}`, chrF signature `{teacher.signatures[1]}`. "
        f"Intervals: paired bootstrap over the test utterances ({n_resamples} resamples, scipy), every seed's "
        "BLEU statistics pooled; a difference is *resolved* when its interval excludes 0.",
    ]
    lines += list(sections)
    rows = [teacher] + students
    if any(len(row.model_dirs) > 1 for row in rows):
        lines += ["", "## Per seed", "",
                  "| Model | Seed | dir | " + " | ".join(f"{s} BLEU" for s in test_sets) + " |",
                  "|---|---|---|" + "---|" * len(test_sets)]
        for row in rows:
            scores = {s: row.bleu(s).scores for s in test_sets}
            for index, model_dir in enumerate(row.model_dirs):
                seed = row.seeds[index]
                lines.append(f"| {row.name} | {'' if seed is None else seed} | `{model_dir}` | "
                             + " | ".join(f"{scores[s][index]:.2f}" for s in test_sets) + " |")
    lines += convergence_section(rows, convergence or {}, curves_png)
    lines += warnings_section(findings)
    lines += ["", f"Written {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by espnet_kd.bin.st_results_table.",
              ""]
    return "\n".join(lines)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.st_results_table", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("title", dict(default="Speech translation by knowledge distillation from an MT teacher")),
        ("teacher", dict(type=Path, required=True, help="the MT teacher's dir")),
        ("student", dict(action="append", default=[],
                         help="METHOD=MODEL_DIR (repeatable, table order; a METHOD given again is another seed)")),
        ("test_sets", dict(nargs="+", required=True)),
        ("src_lang", dict(default="en")),
        ("tgt_lang", dict(default="?")),
        ("count_params", dict(choices=("true", "false"), default="true",
                              help="count parameters with ESPnet's builders (imports espnet2)")),
        ("n_resamples", dict(type=int, default=1000, help="bootstrap resamples per interval")),
        ("alternatives", dict(action="append", default=[], metavar="SET=FILE",
                              help="every correct translation of a test set's utterances (JSON lines, as the "
                              "embedded corpus writes them with --translation_variants true): adds a section "
                              "with multi-reference BLEU and exact match (repeatable, one per set)")),
        ("curves", dict(default="learning_curves.png",
                        help="learning-curve PNG written beside --out ('none': no plot)")),
        ("out", dict(type=Path, required=True)),
    ])
    add_decode_prefix_option(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    if args.n_resamples < 100:
        fail(f"--n_resamples must be at least 100, not {args.n_resamples}")
    try:
        entries = parse_model_specs(args.student, "--student")
    except ValueError as error:
        fail(str(error))
    counting = args.count_params == "true"
    rows = []
    for method, model_dirs, task in [("teacher", [args.teacher], "mt")] + [(m, d, "st") for m, d in entries.items()]:
        try:
            label = ("references (MT: transcript → translation)" if method == "teacher"
                     else student_label(method) + kd_settings(model_dirs[0]))
            rows.append(load_row(method, label, model_dirs, args.test_sets, task, counting, args.decode_prefix))
        except (FileNotFoundError, ValueError, KeyError, DataDirError) as error:
            fail(str(error))
    try:
        sections = unlabeled_comparison(rows, args.test_sets[-1], "BLEU", args.n_resamples)
        alternatives = parse_alternatives_specs(args.alternatives, args.test_sets)
        sections += alternatives_section(rows, model_names(rows, args.src_lang, args.tgt_lang), alternatives,
                                         metric_of(rows[0].signatures[0]),
                                         args.n_resamples, args.decode_prefix)
    except InputError as error:
        fail(str(error))
    checks, curves_png = check_and_plot(rows, args.out, args.curves, args.title)
    findings = result_warnings(by_name(rows), args.test_sets, checks, decode_prefix=args.decode_prefix)
    for finding in findings:
        logging.warning("%s", finding)
    table = format_table(args.title, rows[0], rows[1:], args.test_sets, args.src_lang, args.tgt_lang,
                         args.n_resamples, checks, curves_png, findings, sections)
    with atomic_write(args.out) as handle:
        handle.write(table)


if __name__ == "__main__":
    main()

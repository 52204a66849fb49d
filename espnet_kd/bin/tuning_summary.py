"""Summarise a tuning grid over seeds: mean ± standard deviation of BLEU per setting, Δ vs the baseline.

Each ``--model GROUP=MODEL_DIR`` is one trained student (one seed of one setting); models of
the same GROUP are the seeds of that setting. Reads ``MODEL_DIR/decode_<set>/score.json``
(``espnet_kd.bin.score_bleu``) and writes a Markdown table: per group the number of seeds,
BLEU and chrF means with their sample standard deviations, and the change in BLEU vs the
baseline, paired by seed (``seed`` in each model's ``config.yaml``) over the seeds both
share; the best non-baseline group on the first test set is named (the one a tuning run
should pick: the first set is the development set). Two models of one group at the same
seed are an error (the same student listed twice, or two settings given one name).

    python -m espnet_kd.bin.tuning_summary --baseline baseline --test_sets dev test \\
        --model baseline=exp/student_baseline --model baseline=tuning/wordkd/baseline_seed1/exp/student_baseline \\
        --model l0.5_T2=tuning/wordkd/l0.5_T2/exp/student_wordkd --out tuning/wordkd/SUMMARY.md
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet_kd.bin.st_results_table import kd_settings, read_model_config, read_translation_scores
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import atomic_write


@dataclass
class SettingScores:
    """The scores of every seed of one setting, per test set."""

    name: str
    model_dirs: List[Path] = field(default_factory=list)
    bleu: Dict[str, List[float]] = field(default_factory=dict)
    chrf: Dict[str, List[float]] = field(default_factory=dict)
    seeds: List[Optional[int]] = field(default_factory=list)

    def add(self, model_dir: Path, test_sets: Sequence[str]) -> None:
        """Read one seed's score files (and its seed, from ``config.yaml`` where there is one)."""
        seed = training_seed(model_dir)
        if seed is not None and seed in self.seeds:
            other = self.model_dirs[self.seeds.index(seed)]
            raise ValueError(f"{self.name}: {other} and {model_dir} were both trained at seed {seed}")
        bleu, chrf, _, _ = read_translation_scores(model_dir, list(test_sets))
        for test_set in test_sets:
            self.bleu.setdefault(test_set, []).append(bleu[test_set])
            self.chrf.setdefault(test_set, []).append(chrf[test_set])
        self.model_dirs.append(model_dir)
        self.seeds.append(seed)

    def bleu_by_seed(self, test_set: str) -> Dict[int, float]:
        """BLEU on ``test_set`` per known seed."""
        return {seed: bleu for seed, bleu in zip(self.seeds, self.bleu[test_set]) if seed is not None}

    @property
    def num_seeds(self) -> int:
        return len(self.model_dirs)

    def mean_bleu(self, test_set: str) -> float:
        return statistics.fmean(self.bleu[test_set])


def training_seed(model_dir: Path) -> Optional[int]:
    """The ``seed`` an ESPnet training recorded in ``model_dir/config.yaml``, or None."""
    seed = read_model_config(model_dir).get("seed")
    return int(seed) if seed is not None else None


def paired_delta(setting: SettingScores, reference: SettingScores, test_set: str) -> Optional[float]:
    """Mean over the seeds both were trained with of (setting − reference) BLEU; None if they share none."""
    mine, theirs = setting.bleu_by_seed(test_set), reference.bleu_by_seed(test_set)
    shared = sorted(set(mine) & set(theirs))
    if not shared:
        return None
    return statistics.fmean(mine[seed] - theirs[seed] for seed in shared)


def mean_sd(values: Sequence[float]) -> str:
    """``mean ± sd`` (sample standard deviation), or the mean alone for one value."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {statistics.stdev(values):.2f}"


def best_setting(settings: Sequence[SettingScores], baseline: str, test_set: str) -> Optional[SettingScores]:
    """The non-baseline setting with the highest mean BLEU on ``test_set`` (the first listed on a tie)."""
    candidates = [setting for setting in settings if setting.name != baseline]
    return max(candidates, key=lambda setting: setting.mean_bleu(test_set)) if candidates else None


def format_summary(title: str, settings: Sequence[SettingScores], baseline: str,
                   test_sets: Sequence[str]) -> str:
    """The Markdown table and the best-setting line."""
    reference = next((setting for setting in settings if setting.name == baseline), None)
    header = ["Setting", "Seeds"]
    for test_set in test_sets:
        header += [f"{test_set} BLEU", f"{test_set} chrF"]
    if reference is not None:
        header += [f"Δ {test_set} BLEU vs {baseline} (same seeds)" for test_set in test_sets]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for setting in settings:
        cells = [setting.name + kd_settings(setting.model_dirs[0]), str(setting.num_seeds)]
        for test_set in test_sets:
            cells += [mean_sd(setting.bleu[test_set]), mean_sd(setting.chrf[test_set])]
        if reference is not None:
            for test_set in test_sets:
                if setting is reference:
                    cells.append("—")
                else:
                    delta = paired_delta(setting, reference, test_set)
                    cells.append("n/a" if delta is None else f"{delta:+.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Means over seeds, ± the sample standard deviation (for two or more seeds); corpus BLEU and "
              "chrF with sacrebleu per seed (signatures in each score.json). Δ: the mean over the seeds a "
              f"setting shares with {baseline} (config.yaml's seed) of the paired difference in BLEU."]
    best = best_setting(settings, baseline, test_sets[0])
    if best is not None:
        line = f"Best on {test_sets[0]}: {best.name} ({test_sets[0]} BLEU {best.mean_bleu(test_sets[0]):.2f}"
        if reference is not None:
            line += f"; {baseline} {reference.mean_bleu(test_sets[0]):.2f}"
        lines += ["", line + ")."]
    return "\n".join(lines) + "\n"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_kd.bin.tuning_summary", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, [
        ("title", dict(default="Tuning over seeds")),
        ("model", dict(action="append", default=[], help="GROUP=MODEL_DIR (repeatable; a group's seeds)")),
        ("baseline", dict(default="baseline", help="the group the others are compared with")),
        ("test_sets", dict(nargs="+", required=True, help="the first one chooses the best setting")),
        ("out", dict(type=Path, required=True)),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    if not args.model:
        fail("no --model GROUP=MODEL_DIR given")
    settings: Dict[str, SettingScores] = {}
    for spec in args.model:
        if "=" not in spec:
            fail(f"--model expects GROUP=MODEL_DIR, got '{spec}'")
        name, model_dir = spec.split("=", 1)
        try:
            settings.setdefault(name, SettingScores(name)).add(Path(model_dir), args.test_sets)
        except (FileNotFoundError, ValueError) as error:
            fail(str(error))
    summary = format_summary(args.title, list(settings.values()), args.baseline, args.test_sets)
    with atomic_write(args.out) as handle:
        handle.write(summary)
    print(summary, end="")


if __name__ == "__main__":
    main()

"""Run from egs2/mini_synth/st1 with the repository's python; SAME=1: seeds 0 and 1 only (README: ST with translation alternatives).
Δ test BLEU (single reference, and against every alternative) between two methods, with the tables'
paired bootstrap (seeds pooled): python pairwise.py A B  (methods by student dir tag, seeds found)."""
import sys
from pathlib import Path
from espnet_kd.bin.st_results_table import load_row, metric_of
from espnet_kd.utils.alternatives_rows import row_alternative_scores
from espnet_kd.utils.mt_scoring import read_alternatives
from espnet_kd.utils.significance import bleu_from_statistics_fn, paired_bootstrap, percent_from_statistics

def dirs(tag):
    return [Path(f"exp/student_{tag}{s}") for s in (("", "_seed1") if "SAME" in __import__("os").environ else ("", "_seed1", "_seed2"))
            if Path(f"exp/student_{tag}{s}/decode_test/score.json").is_file()]

a, b = sys.argv[1], sys.argv[2]
rows = {t: load_row(t, t, dirs(t), ["test"], "st", False) for t in (a, b)}
print(f"{a} ({len(rows[a].model_dirs)} seeds) − {b} ({len(rows[b].model_dirs)} seeds), test BLEU:",
      rows[a].difference_to(rows[b], "test", 1000).format())
path = Path("corpus/test/alternatives/text.it.jsonl")
alts = read_alternatives(path)
metric = metric_of(rows[a].signatures[0])
sa, sb = (row_alternative_scores(rows[t], "test", alts, path, metric) for t in (a, b))
print("  against every alternative, BLEU:", paired_bootstrap(sa.bleu_stats, sb.bleu_stats, bleu_from_statistics_fn(metric)).format(),
      " exact match (points):", paired_bootstrap(sa.match_stats, sb.match_stats, percent_from_statistics).format(1))

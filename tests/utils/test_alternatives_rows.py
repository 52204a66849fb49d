"""The ST table's section against every correct translation (espnet_kd.utils.alternatives_rows), through
espnet_kd.bin.st_results_table --alternatives, against sacrebleu's multi-reference scores and hand counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sacrebleu

from espnet_kd.bin.score_bleu import main as score_main
from espnet_kd.bin.st_results_table import main as table_main
from espnet_kd.utils.kaldi_dir import write_table
from espnet_kd.utils.significance import exact_match_statistics, multi_reference_bleu_statistics

ALTERNATIVES = {  # every correct translation; the reference is the first of each
    "a": ["il gatto nero dorme domenica", "domenica il gatto nero dorme"],
    "b": ["compriamo tre mele rosse oggi", "noi compriamo tre mele rosse oggi"],
    "c": ["giulia dipinge un piccolo uovo"],
    "d": ["luca vende la macchina nuova lunedì", "luca vende l'auto nuova lunedì", "lunedì luca vende la macchina nuova",
          "lunedì luca vende l'auto nuova"],
}
REFS = {utt: alts[0] for utt, alts in ALTERNATIVES.items()}
HYPS = {  # the teacher takes other alternatives than the references; the students err
    "mt_teacher": {"a": "domenica il gatto nero dorme", "b": "compriamo tre mele rosse oggi",
                   "c": "giulia dipinge un piccolo uovo", "d": "lunedì luca vende l'auto nuova"},
    "st_baseline": {"a": "il gatto nero dorme", "b": "compriamo tre mele oggi", "c": "giulia dipinge un piccolo uovo",
                    "d": "luca vende la macchina lunedì"},
    "st_baseline_seed1": {"a": "il gatto dorme domenica", "b": "noi compriamo tre mele rosse oggi",
                          "c": "giulia dipinge un uovo", "d": "luca vende la macchina nuova"},
    "st_seqkd": {"a": "domenica il gatto nero dorme", "b": "noi compriamo tre mele rosse oggi",
                 "c": "giulia dipinge un piccolo uovo", "d": "luca vende l'auto nuova lunedì"},
}
ORDER = sorted(ALTERNATIVES)


def _alternatives_file(path: Path, table=ALTERNATIVES) -> Path:
    path.write_text("".join(json.dumps({"utt_id": utt, "alternatives": alts}) + "\n" for utt, alts in table.items()))
    return path


@pytest.fixture
def scored(tmp_path):
    """exp/<model>/decode_test/{text,score.json} of every model of HYPS, scored against REFS."""
    write_table(tmp_path / "ref", REFS)
    for model, hyps in HYPS.items():
        decode = tmp_path / "exp" / model / "decode_test"
        write_table(decode / "text", hyps)
        score_main(["--ref", str(tmp_path / "ref"), "--hyp", str(decode / "text"), "--out", str(decode / "score.json")])
    return tmp_path


def _table(root: Path, *extra: str) -> str:
    exp = root / "exp"
    out = root / "RESULTS.md"
    table_main(["--teacher", str(exp / "mt_teacher"), "--student", f"baseline={exp / 'st_baseline'}",
                "--student", f"baseline={exp / 'st_baseline_seed1'}", "--student", f"seqkd={exp / 'st_seqkd'}",
                "--test_sets", "test", "--tgt_lang", "it", "--count_params", "false", "--curves", "none",
                "--n_resamples", "200", *extra, "--out", str(out)])
    return out.read_text()


def _section_cells(table: str, model: str):
    section = table[table.index("## Against every correct translation (test)"):]
    row = next(line for line in section.splitlines() if line.startswith(f"| {model} |"))
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _multi_ref_bleu(hyps):
    streams = [[ALTERNATIVES[u][k] if k < len(ALTERNATIVES[u]) else ALTERNATIVES[u][0] for u in ORDER]
               for k in range(4)]
    return sacrebleu.corpus_bleu([hyps[u] for u in ORDER], streams).score


def test_section_matches_sacrebleu_multi_reference_and_hand_counted_exact_match(scored):
    table = _table(scored, "--alternatives", f"test={_alternatives_file(scored / 'alt.jsonl')}")
    assert "2.25 correct translations on average (up to 4" in table
    # the teacher: every translation is correct, so multi-reference BLEU 100 and exact match 100 %,
    # though single-reference BLEU counts two of them as errors
    teacher = _section_cells(table, "MT teacher (en transcripts → it)")
    assert float(teacher[2]) == pytest.approx(100.0) and teacher[3] == "100.0" and teacher[4:] == ["—", "—"]
    single = sacrebleu.corpus_bleu([HYPS["mt_teacher"][u] for u in ORDER], [[REFS[u] for u in ORDER]]).score
    assert single < 90
    # the baseline over two seeds: mean ± sd of each seed's score; exact match 1 of 4 (c), then 1 of 4 (b)
    baseline = _section_cells(table, "ST baseline")
    seed_bleus = [_multi_ref_bleu(HYPS[m]) for m in ("st_baseline", "st_baseline_seed1")]
    mean, sd = baseline[2].split(" ± ")
    assert baseline[1] == "2" and float(mean) == pytest.approx(sum(seed_bleus) / 2, abs=0.006)
    assert float(sd) == pytest.approx(abs(seed_bleus[0] - seed_bleus[1]) / 2 ** 0.5, abs=0.006)
    assert baseline[3] == "25.0 ± 0.0"
    # seqkd: all four correct (a, b, d by another alternative than the reference): +75 points of exact match
    # over the pooled baseline (2 of 8)
    seqkd = _section_cells(table, "ST seqkd")
    assert float(seqkd[2]) == pytest.approx(100.0) and seqkd[3] == "100.0"
    assert seqkd[5].startswith("+75.0 [") and seqkd[5].split()[-1] in ("resolved", "unresolved")
    pooled_baseline = sacrebleu.corpus_bleu(  # the two seeds' outputs concatenated, as the interval pools them
        [HYPS[m][u] for m in ("st_baseline", "st_baseline_seed1") for u in ORDER],
        [[ALTERNATIVES[u][k] if k < len(ALTERNATIVES[u]) else ALTERNATIVES[u][0]
          for _ in range(2) for u in ORDER] for k in range(4)]).score
    assert float(seqkd[4].split()[0]) == pytest.approx(100.0 - pooled_baseline, abs=0.011)
    # without --alternatives the table has no such section
    assert "Against every correct translation" not in _table(scored)


def test_statistics_functions_against_sacrebleu():
    utts, stats = multi_reference_bleu_statistics(ALTERNATIVES, HYPS["st_baseline"])
    assert utts == ORDER and stats.shape == (4, 10)
    bleu = sacrebleu.BLEU()
    assert bleu._compute_score_from_stats(list(stats.sum(axis=0).astype(int))).score == pytest.approx(
        _multi_ref_bleu(HYPS["st_baseline"]))
    _, matches = exact_match_statistics(ALTERNATIVES, {**HYPS["st_seqkd"], "c": "  giulia  dipinge un piccolo uovo "})
    assert matches.tolist() == [[1, 1], [1, 1], [1, 1], [1, 1]]   # whitespace does not matter


def test_bad_alternatives_are_clear_errors(scored, capsys):
    path = scored / "alt.jsonl"
    _alternatives_file(path, {**ALTERNATIVES, "b": ["compriamo tre mele gialle oggi"]})
    with pytest.raises(SystemExit):
        _table(scored, "--alternatives", f"test={path}")
    err = capsys.readouterr().err
    assert "the reference of 'b' is not one of its alternatives" in err and "different corpora" in err
    _alternatives_file(path, {utt: alts for utt, alts in ALTERNATIVES.items() if utt != "d"})
    with pytest.raises(SystemExit):
        _table(scored, "--alternatives", f"test={path}")
    assert "has 1 utterance(s) that" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _table(scored, "--alternatives", f"dev={path}")
    assert "'dev' is not one of --test_sets" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _table(scored, "--alternatives", f"test={scored / 'missing.jsonl'}")
    assert "missing.jsonl not found" in capsys.readouterr().err
    assert not (scored / "RESULTS.md").exists()

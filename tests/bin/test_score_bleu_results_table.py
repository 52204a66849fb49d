"""The ST results table (espnet_kd.bin.st_results_table) from score files written by score_bleu."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu

from espnet_kd.bin.st_results_table import main as table_main
from espnet_kd.bin.st_results_table import student_label
from espnet_kd.methods import method_label
from espnet_kd.utils.kaldi_dir import write_table

REFS = {"a": "il gatto nero dorme", "b": "luca compra tre mele rosse", "c": "giulia dipinge un uovo"}
HYPS = {  # model → hypotheses: the teacher is best, seqkd better than the baseline
    "mt_teacher": {"a": "il gatto nero dorme", "b": "luca compra tre mele rosse", "c": "giulia dipinge uovo"},
    "st_baseline": {"a": "il gatto dorme", "b": "luca compra mele", "c": "giulia un uovo"},
    "st_seqkd": {"a": "il gatto nero dorme", "b": "luca compra tre mele", "c": "giulia un uovo"},
}


def _score(tmp_path: Path, model: str, test_set: str) -> None:
    decode = tmp_path / "exp" / model / f"decode_{test_set}"
    write_table(tmp_path / "ref", REFS)
    write_table(decode / "text", HYPS[model])
    subprocess.run([sys.executable, "-m", "espnet_kd.bin.score_bleu", "--ref", str(tmp_path / "ref"),
                    "--hyp", str(decode / "text"), "--out", str(decode / "score.json")], check=True,
                   capture_output=True)


def _cells(table: str, model: str):
    row = next(line for line in table.splitlines() if line.startswith(f"| {model} |"))
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def test_table_rows_match_sacrebleu_and_deltas(tmp_path):
    for model in HYPS:
        for test_set in ("dev", "test"):
            _score(tmp_path, model, test_set)
    exp = tmp_path / "exp"
    out = tmp_path / "RESULTS.md"
    table_main(["--teacher", str(exp / "mt_teacher"), "--student", f"baseline={exp / 'st_baseline'}",
                "--student", f"seqkd={exp / 'st_seqkd'}", "--test_sets", "dev", "test",
                "--tgt_lang", "it", "--count_params", "false", "--out", str(out)])
    table = out.read_text()
    order = ["a", "b", "c"]
    bleu = {m: sacrebleu.corpus_bleu([HYPS[m][u] for u in order], [[REFS[u] for u in order]]).score for m in HYPS}
    chrf = {m: sacrebleu.corpus_chrf([HYPS[m][u] for u in order], [[REFS[u] for u in order]]).score for m in HYPS}
    teacher = _cells(table, "MT teacher (en transcripts → it)")
    assert float(teacher[4]) == pytest.approx(bleu["mt_teacher"], abs=0.006)
    assert teacher[-2:] == ["—", "—"]
    baseline, seqkd = _cells(table, "ST baseline"), _cells(table, "ST seqkd")
    assert seqkd[1] == "Seq-KD (teacher 1-best)" and baseline[1] == "Baseline (references)"
    # columns: model, labels, params, seeds, dev BLEU, dev chrF, test BLEU, test chrF, Δ dev, Δ test
    assert seqkd[3] == "1"
    assert float(seqkd[6]) == pytest.approx(bleu["st_seqkd"], abs=0.006)
    assert float(seqkd[7]) == pytest.approx(chrf["st_seqkd"], abs=0.006)
    assert float(seqkd[9].split()[0]) == pytest.approx(bleu["st_seqkd"] - bleu["st_baseline"], abs=0.011)
    assert float(seqkd[9].split()[0]) > 0 and baseline[8:] == ["—", "—"]
    assert "[" in seqkd[9] and seqkd[9].split()[-1] in ("resolved", "unresolved")
    assert "tok:13a" in table and "version:" in table
    # no model here has a train.log: the Warnings section under the table says so, model by model
    warnings = table[table.index("## Warnings"):].splitlines()
    for model_dir in (exp / "mt_teacher", exp / "st_baseline", exp / "st_seqkd"):
        assert any(f"convergence not checked (no train.log in {model_dir})" in line for line in warnings), model_dir


def test_missing_score_is_a_clear_error(tmp_path, capsys):
    _score(tmp_path, "mt_teacher", "dev")
    with pytest.raises(SystemExit):
        table_main(["--teacher", str(tmp_path / "exp/mt_teacher"), "--student", f"baseline={tmp_path / 'nope'}",
                    "--test_sets", "dev", "--count_params", "false", "--out", str(tmp_path / "R.md")])
    assert "nope/decode_dev/score.json not found" in capsys.readouterr().err
    assert not (tmp_path / "R.md").exists()
    bad = tmp_path / "exp/mt_teacher/decode_dev/score.json"
    bad.write_text(json.dumps({"wer": 3.0}))
    with pytest.raises(SystemExit):
        table_main(["--teacher", str(tmp_path / "exp/mt_teacher"), "--test_sets", "dev",
                    "--count_params", "false", "--out", str(tmp_path / "R.md")])
    assert "not a score_bleu score file" in capsys.readouterr().err


def test_method_labels():
    assert method_label("interp:bleu", "st") == "Seq-Inter (BLEU)"
    assert method_label("interp:chrf", "st") == "Seq-Inter (chrF)"
    assert method_label("qe:backward", "st") == "Seq-Inter with QE (backward)"
    assert method_label("wordkd_ft", "st") == "Word KD + fine-tuning"
    # the ST table's labels, as it has always printed them; a name that is no method is its own label
    assert [student_label(name) for name in ("baseline", "seqkd", "wordkd", "wordkd_l0.5_T2")] == [
        "Baseline (references)", "Seq-KD (teacher 1-best)", "Word KD", "wordkd_l0.5_T2"]


def test_ranking_against_gaido_order():
    from espnet_kd.bin.st_results_table import ranking_line

    class Row:  # what ranking_line reads of a ResultRow: its name, seed dirs and mean BLEU
        def __init__(self, name, bleu):
            self.name, self.model_dirs, self._bleu = name, [Path(name)], bleu

        def mean_bleu(self, test_set):
            return self._bleu

    row = Row

    students = [row("baseline", 10.0), row("seqkd", 12.5), row("interpbleu", 11.0), row("wordkd", 15.0),
                row("wordkd_ft", 14.0)]
    line = ranking_line(students, "test")
    assert line.startswith("Students by test BLEU: wordkd (15.00) > wordkd_ft (14.00) > seqkd (12.50) > "
                           "interpbleu (11.00) > baseline (10.00).")
    # Gaido's pairs among the four named methods: 6, of which wordkd_ft > wordkd fails here
    assert "Gaido et al. 2020 found wordkd_ft > wordkd > seqkd > baseline: 5 of 6 of those pairs hold here " \
           "(not: wordkd_ft ≤ wordkd)." in line
    only_two = ranking_line([row("baseline", 10.0), row("seqkd", 9.0)], "test")
    assert only_two.endswith("0 of 1 of those pairs hold here (not: seqkd ≤ baseline).")
    assert "Gaido" not in ranking_line([row("interpbleu", 3.0)], "test")


def test_word_kd_rows_name_their_lambda_temperature_and_k(tmp_path):
    for model in ("mt_teacher", "st_baseline", "st_seqkd"):
        _score(tmp_path, model, "dev")
    exp = tmp_path / "exp"
    (exp / "st_seqkd/config.yaml").write_text("kd_lambda: 0.5\nkd_temperature: 2.0\nkd_topk: 8\n")
    (exp / "st_baseline/config.yaml").write_text("model_conf: {lsm_weight: 0.1}\n")
    out = tmp_path / "RESULTS.md"
    table_main(["--teacher", str(exp / "mt_teacher"), "--student", f"baseline={exp / 'st_baseline'}",
                "--student", f"wordkd_l0.5_T2={exp / 'st_seqkd'}", "--test_sets", "dev",
                "--count_params", "false", "--out", str(out)])
    table = out.read_text()
    assert _cells(table, "ST wordkd_l0.5_T2")[1] == "wordkd_l0.5_T2 (λ=0.5, T=2, top-8)"
    assert _cells(table, "ST baseline")[1] == "Baseline (references)"


def test_seeds_give_mean_sd_and_a_pooled_interval(tmp_path):
    import statistics

    second_seed = {"a": "il gatto nero dorme", "b": "luca compra tre mele rosse", "c": "giulia un uovo"}
    HYPS["st_baseline_seed1"] = second_seed
    try:
        for model in ("mt_teacher", "st_baseline", "st_baseline_seed1", "st_seqkd"):
            _score(tmp_path, model, "test")
    finally:
        del HYPS["st_baseline_seed1"]
    exp = tmp_path / "exp"
    out = tmp_path / "RESULTS.md"
    table_main(["--teacher", str(exp / "mt_teacher"), "--student", f"baseline={exp / 'st_baseline'}",
                "--student", f"baseline={exp / 'st_baseline_seed1'}", "--student", f"seqkd={exp / 'st_seqkd'}",
                "--test_sets", "test", "--count_params", "false", "--n_resamples", "200", "--out", str(out)])
    table = out.read_text()
    order = ["a", "b", "c"]
    per_seed = [sacrebleu.corpus_bleu([hyps[u] for u in order], [[REFS[u] for u in order]]).score
                for hyps in (HYPS["st_baseline"], second_seed)]
    baseline = _cells(table, "ST baseline")
    assert baseline[3] == "2"
    assert baseline[4] == f"{statistics.mean(per_seed):.2f} ± {statistics.stdev(per_seed):.2f}"
    # pooled: seqkd's BLEU minus the BLEU of both baseline seeds' outputs concatenated
    pooled = sacrebleu.corpus_bleu([HYPS["st_baseline"][u] for u in order] + [second_seed[u] for u in order],
                                   [[REFS[u] for u in order] * 2]).score
    seqkd_bleu = sacrebleu.corpus_bleu([HYPS["st_seqkd"][u] for u in order], [[REFS[u] for u in order]]).score
    assert float(_cells(table, "ST seqkd")[6].split()[0]) == pytest.approx(seqkd_bleu - pooled, abs=0.011)
    assert "## Per seed" in table and "## Convergence" not in table   # no train.log here


def test_a_decoding_changed_after_scoring_is_refused(tmp_path, capsys):
    for model in ("mt_teacher", "st_baseline"):
        _score(tmp_path, model, "dev")
    write_table(tmp_path / "exp/st_baseline/decode_dev/text", HYPS["mt_teacher"])
    with pytest.raises(SystemExit):
        table_main(["--teacher", str(tmp_path / "exp/mt_teacher"), "--student",
                    f"baseline={tmp_path / 'exp/st_baseline'}", "--test_sets", "dev",
                    "--count_params", "false", "--out", str(tmp_path / "R.md")])
    assert "rerun the scoring stage" in capsys.readouterr().err


def test_an_unlabeled_row_is_named_by_its_utterances_and_compared_with_its_method(tmp_path):
    """seqkd+unlabeled: "(K of N utts)" from its training dir's combine_report.json, and the section comparing it
    with seqkd (BLEU difference against sacrebleu); the decode dirs of --inference_tag u (--decode_prefix)."""
    HYPS["st_seqkd_unl"] = {"a": "il gatto nero dorme", "b": "luca compra tre mele rosse", "c": "giulia un uovo"}
    try:
        for model in ("mt_teacher", "st_seqkd", "st_seqkd_unl"):
            _score(tmp_path, model, "test")
            (tmp_path / "exp" / model / "decode_test").rename(tmp_path / "exp" / model / "decode_u_test")
    finally:
        unlabeled_hyps = HYPS.pop("st_seqkd_unl")
    train_dir = tmp_path / "dump/raw/train_seqkd_unl"
    train_dir.mkdir(parents=True)
    (train_dir / "combine_report.json").write_text(json.dumps({"parts": [
        {"dir": "dump/raw/train_seqkd", "utts": 40},
        {"dir": "dump/raw/unlabeled_seqkd", "utts": 9, "selection_input_utts": 12}]}), encoding="utf-8")
    (tmp_path / "exp/st_seqkd_unl/config.yaml").write_text(
        f"train_data_path_and_name_and_type:\n- - {train_dir}/text\n  - text\n  - text\n", encoding="utf-8")
    exp, out = tmp_path / "exp", tmp_path / "RESULTS.md"
    table_main(["--teacher", str(exp / "mt_teacher"), "--student", f"seqkd={exp / 'st_seqkd'}",
                "--student", f"seqkd+unlabeled={exp / 'st_seqkd_unl'}", "--test_sets", "test",
                "--decode_prefix", "decode_u_", "--count_params", "false", "--n_resamples", "200", "--out", str(out)])
    table = out.read_text()
    assert _cells(table, "ST seqkd+unlabeled")[1] == "Seq-KD (teacher 1-best) + unlabeled (9 of 12 utts)"
    section = table[table.index("## Untranscribed audio"):]
    cells = _cells(section, "seqkd+unlabeled")
    order = ["a", "b", "c"]
    bleu = {name: sacrebleu.corpus_bleu([hyps[u] for u in order], [[REFS[u] for u in order]]).score
            for name, hyps in (("plain", HYPS["st_seqkd"]), ("unlabeled", unlabeled_hyps))}
    assert cells[2:4] == ["40", "9 of 12 utts"]
    assert float(cells[4]) == pytest.approx(bleu["unlabeled"], abs=0.006)
    assert float(cells[5]) == pytest.approx(bleu["plain"], abs=0.006)
    assert float(cells[6].split()[0]) == pytest.approx(bleu["unlabeled"] - bleu["plain"], abs=0.011)

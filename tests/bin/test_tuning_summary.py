"""The tuning summary (espnet_kd.bin.tuning_summary): means and sample deviations over seeds."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from espnet_kd.bin.tuning_summary import main as summary_main


def _score(model_dir: Path, test_set: str, bleu: float, chrf: float) -> None:
    decode = model_dir / f"decode_{test_set}"
    decode.mkdir(parents=True, exist_ok=True)
    (decode / "score.json").write_text(json.dumps({"bleu": bleu, "chrf": chrf, "num_utts": 3,
                                                      "bleu_signature": "b", "chrf_signature": "c"}))


def _cells(table: str, name: str):
    row = next(line for line in table.splitlines() if line.startswith(f"| {name}"))
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def test_means_deviations_deltas_and_best(tmp_path, capsys):
    runs = {  # group → [(dev BLEU, test BLEU)] per seed
        "baseline": [(10.0, 8.0), (12.0, 9.0), (11.0, 7.0)],
        "l0.5_T2": [(13.0, 9.5), (14.0, 10.5)],
        "l1.0_T4": [(13.6, 12.0)],
    }
    specs = []
    for group, seeds in runs.items():
        for seed, (dev, test) in enumerate(seeds):
            model_dir = tmp_path / f"{group}_seed{seed}"
            _score(model_dir, "dev", dev, 30 + dev)
            _score(model_dir, "test", test, 30 + test)
            (model_dir / "config.yaml").write_text(f"seed: {seed}\n")
            specs += ["--model", f"{group}={model_dir}"]
    (tmp_path / "l0.5_T2_seed0/config.yaml").write_text("seed: 0\nkd_lambda: 0.5\nkd_temperature: 2\nkd_topk: 8\n")
    (tmp_path / "l1.0_T4_seed0/config.yaml").write_text("seed: 2\n")  # trained at seed 2
    out = tmp_path / "SUMMARY.md"
    summary_main([*specs, "--test_sets", "dev", "test", "--out", str(out)])
    table = out.read_text()
    assert capsys.readouterr().out == table
    baseline = _cells(table, "baseline")
    assert baseline[:3] == ["baseline", "3", f"11.00 ± {statistics.stdev([10.0, 12.0, 11.0]):.2f}"]
    assert baseline[-2:] == ["—", "—"]
    tuned = _cells(table, "l0.5_T2")
    assert tuned[0] == "l0.5_T2 (λ=0.5, T=2, top-8)" and tuned[1] == "2"
    assert tuned[4] == f"10.00 ± {statistics.stdev([9.5, 10.5]):.2f}"
    # Δ paired by seed: l0.5_T2 has seeds 0 and 1, compared with the baseline's seeds 0 and 1 only
    assert float(tuned[6]) == pytest.approx(((13 - 10) + (14 - 12)) / 2)
    assert float(tuned[7]) == pytest.approx(((9.5 - 8) + (10.5 - 9)) / 2)
    single = _cells(table, "l1.0_T4")
    assert single[2] == "13.60"  # one seed: no deviation
    assert float(single[6]) == pytest.approx(13.6 - 11.0) and float(single[7]) == pytest.approx(12.0 - 7.0)
    # the best on dev by mean (13.6 > 13.5), not on test
    assert "Best on dev: l1.0_T4 (dev BLEU 13.60; baseline 11.00)." in table


def test_missing_score_is_a_clear_error(tmp_path, capsys):
    _score(tmp_path / "a", "dev", 1.0, 2.0)
    with pytest.raises(SystemExit):
        summary_main(["--model", f"baseline={tmp_path / 'a'}", "--test_sets", "dev", "test",
                      "--out", str(tmp_path / "S.md")])
    assert "a/decode_test/score.json not found" in capsys.readouterr().err
    assert not (tmp_path / "S.md").exists()
    with pytest.raises(SystemExit):
        summary_main(["--model", str(tmp_path / "a"), "--test_sets", "dev", "--out", str(tmp_path / "S.md")])
    assert "--model expects GROUP=MODEL_DIR" in capsys.readouterr().err


def test_settings_without_a_shared_seed_have_no_delta(tmp_path):
    for name, seed in (("baseline", 0), ("other", 5)):
        _score(tmp_path / name, "dev", 10.0 + seed, 40.0)
        (tmp_path / name / "config.yaml").write_text(f"seed: {seed}\n")
    out = tmp_path / "S.md"
    summary_main(["--model", f"baseline={tmp_path / 'baseline'}", "--model", f"other={tmp_path / 'other'}",
                  "--test_sets", "dev", "--out", str(out)])
    assert _cells(out.read_text(), "other")[-1] == "n/a"


def test_two_students_of_one_setting_at_one_seed_are_refused(tmp_path, capsys):
    for name in ("a", "b"):
        _score(tmp_path / name, "dev", 10.0, 40.0)
        (tmp_path / name / "config.yaml").write_text("seed: 3\n")
    with pytest.raises(SystemExit):
        summary_main(["--model", f"x={tmp_path / 'a'}", "--model", f"x={tmp_path / 'b'}",
                      "--test_sets", "dev", "--out", str(tmp_path / "S.md")])
    assert "were both trained at seed 3" in capsys.readouterr().err
    assert not (tmp_path / "S.md").exists()

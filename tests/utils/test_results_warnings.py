"""The warnings under a results table, from hand-made recipe outputs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from espnet_kd.utils.results_warnings import result_warnings, warnings_section
from espnet_kd.utils.train_log import check_plateau, read_curves


def epoch_lines(accs) -> str:
    return "".join(f"x INFO: {i + 1}epoch results: [train] acc=0.5, loss=2.0, time=1.0 seconds, total_count=1, "
                   f"[valid] acc={acc}, loss=1.0, time=0.5 seconds, total_count=1\n" for i, acc in enumerate(accs))


def write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def make_recipe(root: Path) -> dict:
    """A teacher (converged, its n-best list half truncated), a Seq-KD student trained on that list
    (not converged, 3 of 4 test hypotheses truncated) and a baseline with one epoch."""
    exp = root / "exp"
    write_json(exp / "teacher/nbest_train/summary.json", {"hypotheses": 8, "not_ended": ["a#1", "b#1", "c#2", "d#1"]})
    write_json(root / "dump/raw/train_seqkd/select_report.json",
               {"made_with": {"nbest": {"file": "exp/teacher/nbest_train/nbest.jsonl"}}})
    for model, accs, not_ended in (("teacher", [0.5, 0.8, 0.801, 0.802, 0.802], []),
                                   ("student_seqkd", [0.1, 0.3, 0.5, 0.7, 0.9], ["u1#1", "u2#1", "u3#1"]),
                                   ("student_baseline", [0.2], [])):
        (exp / model).mkdir(parents=True, exist_ok=True)
        (exp / model / "train.log").write_text(epoch_lines(accs))
        write_json(exp / model / "decode_test/summary.json", {"hypotheses": 4, "not_ended": not_ended})
    (exp / "student_seqkd/config.yaml").write_text(yaml.safe_dump(
        {"train_data_path_and_name_and_type": [["dump/raw/train_seqkd/wav.scp", "speech", "sound"],
                                               ["dump/raw/train_seqkd/text", "text", "text"]]}))
    return {name: [exp / name if name == "teacher" else exp / f"student_{name}"]
            for name in ("teacher", "seqkd", "baseline")}


def checks_of(model_dirs: dict) -> dict:
    checks = {}
    for dirs in model_dirs.values():
        for model_dir in dirs:
            records = read_curves(model_dir)
            if len(records) >= 2:
                checks[model_dir] = check_plateau(records)
    return checks


def test_each_finding_is_reported_once_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the tables run in the recipe dir, where the outputs' relative paths hold
    model_dirs = make_recipe(tmp_path)
    model_dirs = {name: [Path(d).relative_to(tmp_path) for d in dirs] for name, dirs in model_dirs.items()}
    findings = result_warnings(model_dirs, ["test"], checks_of(model_dirs),
                               wers={"teacher": 61.25, "seqkd": 40.0, "baseline": 104.5})
    assert findings == [
        "seqkd (`exp/student_seqkd`): 3 of 4 (75 %) test hypotheses stopped at the decoding length limit without "
        "<eos> (raise maxlenratio in the decode config, or use 0.0: the encoder length)",
        "seqkd (`exp/student_seqkd`) trained on pseudo-labels from `exp/teacher/nbest_train/nbest.jsonl`, where "
        "4 of 8 (50 %) teacher hypotheses stopped at the length limit: its labels are cut-off sentences",
        "seqkd (`exp/student_seqkd`) has not converged: no (valid acc 70.0 → best 90.0 over epochs 5-5: +20.0 points)",
        "baseline (`exp/student_baseline`): convergence not checked (1 epoch(s) logged: a plateau needs at least "
        "2 epochs, the log has 1)",
        "the teacher's WER is 61.2 % (over 50 %): its hypotheses teach mostly errors, and no comparison of "
        "students means much",
        "baseline: 104.5 % WER is worse than producing nothing (100 %)",
    ]
    assert warnings_section(findings)[:2] == ["", "## Warnings"] and warnings_section([]) == []


def test_a_sound_recipe_gets_no_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model_dirs = make_recipe(tmp_path)
    write_json(tmp_path / "exp/teacher/nbest_train/summary.json", {"hypotheses": 8, "not_ended": []})
    write_json(tmp_path / "exp/student_seqkd/decode_test/summary.json", {"hypotheses": 4, "not_ended": []})
    (tmp_path / "exp/student_seqkd/train.log").write_text(epoch_lines([0.1, 0.5, 0.9, 0.901, 0.902]))
    (tmp_path / "exp/student_baseline/train.log").write_text(epoch_lines([0.1, 0.5, 0.9, 0.9, 0.9]))
    findings = result_warnings(model_dirs, ["test"], checks_of(model_dirs),
                               wers={"teacher": 12.0, "seqkd": 20.0, "baseline": 21.0})
    assert findings == []

"""st.sh stage 14 with the embedded corpus's translation alternatives: mini_synth's run.sh passes
--alternatives_dir (db.sh's MINI_SYNTH), and the table gains the multi-reference section for each test set
that has an alternatives file, and none without one."""

from __future__ import annotations

import json

from espnet_kd.bin.score_bleu import main as score_main
from espnet_kd.utils.kaldi_dir import write_table
from tests.utils.test_alternatives_rows import ALTERNATIVES, HYPS, REFS

from .conftest import copy_recipe, run_script

MODELS = {"mt_teacher": "mt_teacher", "student_baseline": "st_baseline", "student_seqkd": "st_seqkd"}


def test_stage_14_adds_the_alternatives_section(tmp_path, monkeypatch):
    recipe = copy_recipe(tmp_path, "mini_synth", "st1")
    monkeypatch.chdir(recipe)   # score.json names the reference relative to the recipe dir, as stage 13 writes it
    write_table(recipe / "dump/raw/test/text", REFS)
    for model_dir, hyps in MODELS.items():
        decode = recipe / "exp" / model_dir / "decode_test"
        write_table(decode / "text", HYPS[hyps])
        score_main(["--ref", "dump/raw/test/text", "--hyp", str(decode / "text"), "--out", str(decode / "score.json")])
    args = ["./run.sh", "--methods", "baseline seqkd", "--test_sets", "test", "--stage", "14"]
    result = run_script(recipe, args, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Against every correct translation" not in (recipe / "RESULTS.md").read_text()   # no file: no section

    alternatives = recipe / "corpus/test/alternatives/text.it.jsonl"
    alternatives.parent.mkdir(parents=True)
    alternatives.write_text("".join(json.dumps({"utt_id": utt, "alternatives": alts}) + "\n"
                                    for utt, alts in ALTERNATIVES.items()))
    result = run_script(recipe, args, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    table = (recipe / "RESULTS.md").read_text()
    section = table[table.index("## Against every correct translation (test)"):]
    assert "corpus/test/alternatives/text.it.jsonl" in section
    teacher = next(line for line in section.splitlines() if line.startswith("| MT teacher"))
    assert "| 100.00 | 100.0 |" in teacher   # every teacher translation is one of the alternatives

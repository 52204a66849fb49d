"""End to end: egs2/mini_synth/asr1 with the tiny corpus and tiny configs (a few minutes)."""

from __future__ import annotations

import json
import re

import pytest

from espnet_kd.nbest.format import read_nbest_jsonl
from espnet_kd.utils.kaldi_dir import KaldiDataDir

from .conftest import run_script
from .tiny_configs import ASR_TINY

TINY = ASR_TINY


@pytest.mark.slow
def test_recipe_runs_end_to_end_and_resumes(scratch_recipe):
    recipe = scratch_recipe()
    result = run_script(recipe, ["./run.sh", *TINY])
    assert result.returncode == 0, result.stdout[-4000:]

    # Every stage announced itself with its time.
    for stage in range(1, 12):
        assert re.search(rf"=== stage {stage} done in \d+ s", result.stdout), f"stage {stage} missing"

    # The teacher's n-best list covers the training set with up to 4 ranked hypotheses each.
    train = KaldiDataDir.load(recipe / "dump/raw/train")
    nbest = read_nbest_jsonl(recipe / "exp/teacher/nbest_train/nbest.jsonl")
    assert set(nbest) == set(train.utt_ids)
    assert all(1 <= len(hyps) <= 4 for hyps in nbest.values())
    assert max(len(hyps) for hyps in nbest.values()) == 4
    # written by the batched engine (the default decoder): teacher log-probs per token
    assert all(hyp.token_logp is not None and len(hyp.token_logp) == len(hyp.token_int)
               for hyps in nbest.values() for hyp in hyps)
    summary = json.loads((recipe / "exp/teacher/nbest_train/summary.json").read_text())
    assert summary["utterances"] == len(train.utt_ids) and summary["jobs"] == 2

    # Seq-KD labels are the teacher's 1-best; top-k gives U-nbR utterances with U's audio.
    seqkd = KaldiDataDir.load(recipe / "dump/raw/train_seqkd")
    for utt in train.utt_ids:
        teacher_best = nbest[utt][0].text
        # an empty 1-best is replaced by the reference (the selector's default on_empty policy)
        assert seqkd.text[utt] == (teacher_best if teacher_best else train.text[utt])
    topk = KaldiDataDir.load(recipe / "dump/raw/train_topk4")
    assert len(topk.utt_ids) == sum(len(hyps) for hyps in nbest.values())
    some_utt = train.utt_ids[0]
    assert topk.wav_scp[f"{some_utt}-nb1"] == train.wav_scp[some_utt]
    report = json.loads((recipe / "dump/raw/train_topk4/select_report.json").read_text())
    assert report
    # Seq-Inter by WER: each label is the n-best entry closest to the reference
    import jiwer

    interp = KaldiDataDir.load(recipe / "dump/raw/train_interpwer")
    for utt in train.utt_ids[:20]:
        candidates = [hyp.text for hyp in nbest[utt] if hyp.text.strip()]
        if not candidates:
            continue
        best = min(jiwer.wer(train.text[utt], text) for text in candidates)
        assert jiwer.wer(train.text[utt], interp.text[utt]) == pytest.approx(best)

    # RESULTS.md has a row per model with real numbers, consistent with the score files
    import statistics

    import yaml

    def check_rows(results: str, names, seeds_of) -> dict:
        """Each row's seeds and test WER (mean ± sd over seeds) against the score files; params by model."""
        params_by_model = {}
        for name in names:
            row = next(line for line in results.splitlines() if line.startswith(f"| {name} |"))
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            params, seeds = float(cells[2].split()[0]), int(cells[4])
            dev_wer, test_wer = float(cells[5].split()[0]), float(cells[6].split()[0])
            model_dirs = ["teacher"] if name == "teacher" else [f"student_{name}{suffix}" for suffix in seeds_of(name)]
            assert seeds == len(model_dirs)
            wers = [json.loads((recipe / f"exp/{d}/decode_test/score.json").read_text())["wer"] for d in model_dirs]
            assert test_wer == pytest.approx(statistics.mean(wers), abs=0.006)
            if len(wers) > 1:
                assert cells[6] == f"{statistics.mean(wers):.2f} ± {statistics.stdev(wers):.2f}"
            if name not in ("teacher", "baseline"):
                assert re.match(r"^[-+]\d+\.\d+ \[[-+]\d+\.\d+, [-+]\d+\.\d+\] (un)?resolved$", cells[8]), cells[8]
            assert 0.0 <= dev_wer and params > 0
            params_by_model[name] = params
            compression = float(cells[3].rstrip("×"))
            assert compression == pytest.approx(params_by_model["teacher"] / params, rel=0.05)
        return params_by_model

    results = (recipe / "RESULTS.md").read_text()
    params_by_model = check_rows(results, ("teacher", "baseline", "seqkd", "topk4", "interpwer"), lambda name: [""])
    assert params_by_model["teacher"] > params_by_model["baseline"] == params_by_model["topk4"]
    # every model's convergence verdict, and the learning curves beside the table
    assert "## Convergence" in results and "`exp/student_interpwer` |" in results
    # the tiny models never emit <eos> within decode_tiny.yaml's maxlenratio: the table warns of it
    assert "## Warnings" in results and "hypotheses stopped at the decoding length limit" in results
    assert (recipe / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    # every decode dir records its length limit: the tiny config's 0.3, below what the training set needs
    limits = json.loads((recipe / "exp/teacher/decode_test/decode_limits.json").read_text())
    assert limits["maxlenratio"] == 0.3 and limits["how"] == "config" and "allows fewer steps" in limits["warning"]
    assert yaml.safe_load((recipe / "exp/teacher/decode_test/decode.yaml").read_text())["maxlenratio"] == 0.3
    assert limits["train_dir"] == "dump/raw/train" and limits["training_ratio"]["max_ratio"] > 0.3

    # --seeds "0 1": seed 0's students are reused (exp/student_<name>), seed 1's trained beside them
    # (exp/student_<name>_seed1); the table gives mean ± sd of both and an interval for each difference
    seeded = run_script(recipe, ["./run.sh", *TINY, "--methods", "baseline 1best", "--seeds", "0 1",
                                 "--stage", "8", "--stop_stage", "11"])
    assert seeded.returncode == 0, seeded.stdout[-4000:]
    assert "exp/student_baseline is trained" in seeded.stdout
    for name in ("baseline", "seqkd"):
        for suffix, seed in (("", 0), ("_seed1", 1)):
            config = yaml.safe_load((recipe / f"exp/student_{name}{suffix}/config.yaml").read_text())
            assert config["seed"] == seed
    results = (recipe / "RESULTS.md").read_text()
    check_rows(results, ("teacher", "baseline", "seqkd"), lambda name: ["", "_seed1"])
    assert "`exp/student_seqkd_seed1` |" in results and "## Per seed" in results

    # Untranscribed audio (1best+unlabeled) and the tags, in one run: an unlabeled set of the training voices, the
    # teacher's n-best on it, labels without references through the confidence filter, a student on both sets
    # (--student_tag u: exp/student_<tag>_u), decoded into decode_u_<set> (--inference_tag u), exp/RESULTS_u_u.md
    unlabeled = run_script(recipe, ["./run.sh", *TINY, "--local_data_opts", "--size tiny --nj 2 --unlabeled 12",
                                    "--unlabeled_sets", "unlabeled", "--methods", "1best 1best+unlabeled",
                                    "--unlabeled_select_opts", "--confidence logp --confidence_keep_fraction 0.75",
                                    "--student_tag", "u", "--inference_tag", "u"])
    assert unlabeled.returncode == 0, unlabeled.stdout[-4000:]
    assert "exp/teacher is trained" in unlabeled.stdout   # the labelled sets did not change: nothing redone
    assert not (recipe / "data/unlabeled/text").exists() and not (recipe / "dump/raw/unlabeled/text").exists()
    unlabeled_nbest = read_nbest_jsonl(recipe / "exp/teacher/nbest_unlabeled/nbest.jsonl")
    assert len(unlabeled_nbest) == 12 and not set(unlabeled_nbest) & set(train.utt_ids)
    labels = KaldiDataDir.load(recipe / "dump/raw/unlabeled_seqkd")
    report = json.loads((recipe / "dump/raw/unlabeled_seqkd/select_report.json").read_text())
    # ceil(0.75 × 12) = 9 labels kept (the tiny teacher's log-probs have no ties), the 3 least confident dropped
    assert report["counts"]["input_utts"] == 12 and len(labels.utt_ids) == report["confidence"]["kept"] == 9
    assert report["reasons"]["confidence_dropped"] == 3
    for utt in labels.utt_ids:
        assert labels.text[utt] == unlabeled_nbest[utt][0].text   # the teacher's 1-best, no reference to replace it
    combined = KaldiDataDir.load(recipe / "dump/raw/train_seqkd_unl")
    assert set(combined.utt_ids) == set(seqkd.utt_ids) | set(labels.utt_ids)
    config = yaml.safe_load((recipe / "exp/student_seqkd_unl_u/config.yaml").read_text())
    assert ["dump/raw/train_seqkd_unl/text", "text", "text"] in config["train_data_path_and_name_and_type"]
    assert (recipe / "exp/student_seqkd_u/decode_u_test/score.json").is_file()
    assert not (recipe / "exp/student_seqkd_u/decode_test").exists()
    tagged = (recipe / "exp/RESULTS_u_u.md").read_text()
    assert f"| seqkd_unl | Seq-KD (teacher 1-best) + unlabeled ({len(labels.utt_ids)} of 12 utts) |" in tagged
    section = tagged[tagged.index("## Untranscribed audio"):]   # seqkd_unl against seqkd, with its interval
    row = next(line for line in section.splitlines() if line.startswith("| seqkd_unl | "))
    assert f"| {len(seqkd.utt_ids)} | {len(labels.utt_ids)} of 12 utts |" in row
    assert re.search(r"\| [-+]\d+\.\d+ \[[-+]\d+\.\d+, [-+]\d+\.\d+\] (un)?resolved \|$", row), row
    assert "exp/RESULTS_u_u.md" in unlabeled.stdout and (recipe / "RESULTS.md").read_text() == results

    # A rerun resumes: finished n-best, selection and decoding are skipped, not redone.
    nbest_mtime = (recipe / "exp/teacher/nbest_train/nbest.jsonl").stat().st_mtime
    # a training resumed after its .done is gone keeps the earlier log beside the new one
    from espnet_kd.utils.train_log import read_curves

    epochs_before = len(read_curves(recipe / "exp/student_baseline"))
    (recipe / "exp/student_baseline/.done").unlink()
    rerun = run_script(recipe, ["./run.sh", *TINY, "--stage", "5", "--stop_stage", "9"])
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "exp/teacher is trained" in rerun.stdout
    assert "exp/teacher/nbest_train is complete" in rerun.stdout
    assert "exp/student_topk4/decode_test is decoded" in rerun.stdout
    assert (recipe / "exp/teacher/nbest_train/nbest.jsonl").stat().st_mtime == nbest_mtime
    assert (recipe / "exp/student_baseline/train.log.1").is_file()
    assert len(read_curves(recipe / "exp/student_baseline")) == epochs_before

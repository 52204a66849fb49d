"""``python -m espnet_kd.bin.nbest``: decoding options, split jobs and their merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from espnet_kd.bin import nbest as nbest_cli
from espnet_kd.nbest.format import read_nbest_jsonl
from espnet_kd.utils.kaldi_dir import read_table
from tests.tasks.tiny_espnet import NBEST_TEXTS as TEXTS
from tests.tasks import tiny_espnet as tiny


def run_cli(argv, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        nbest_cli.main([str(arg) for arg in argv])
    assert stop.value.code == 1
    return capsys.readouterr().err


def model_args(setup):
    return ["--model_config", setup["config"], "--model_file", setup["model_file"],
            "--data_dir", setup["data_dir"], "--progress", "false"]


def test_unknown_decoding_option_is_refused(asr_setup, tmp_path: Path, capsys) -> None:
    config = tiny.write_lines(tmp_path / "decode.yaml", ["beam_size: 3", "beam: 4"])
    err = run_cli([*model_args(asr_setup), "--config", config, "--out_dir", tmp_path / "o"], capsys)
    assert "ERROR: " in err and "unknown decoding option 'beam'" in err and "beam_size" in err


def test_lm_fusion_is_refused(asr_setup, tmp_path: Path, capsys) -> None:
    config = tiny.write_lines(tmp_path / "decode.yaml", ["beam_size: 3", "lm_weight: 0.5"])
    err = run_cli([*model_args(asr_setup), "--config", config, "--out_dir", tmp_path / "o"], capsys)
    assert "lm_weight=0.5 is not supported by the batched engine" in err


def test_split_jobs_merge_to_the_single_run(asr_setup, tmp_path: Path) -> None:
    config = tiny.write_lines(
        tmp_path / "decode.yaml", ["beam_size: 3", "ctc_weight: 0.3", "lm_weight: 0.0", "nbest: 1"]
    )
    common = [*model_args(asr_setup), "--config", config, "--nbest", "2"]
    nbest_cli.main([str(a) for a in [*common, "--out_dir", tmp_path / "single"]])
    utts = sorted(TEXTS)
    jobs = []
    for job, keys in enumerate((utts[:4], utts[4:]), start=1):
        key_file = tiny.write_lines(tmp_path / f"keys.{job}", keys)
        jobs.append(tmp_path / f"output.{job}")
        nbest_cli.main([str(a) for a in [*common, "--key_file", key_file, "--out_dir", jobs[-1]]])
        assert sorted(read_nbest_jsonl(jobs[-1] / "nbest.jsonl")) == keys
    nbest_cli.main([str(a) for a in ["--merge", "--model_config", asr_setup["config"],
                                     "--out_dir", tmp_path / "merged", *jobs]])
    single = read_nbest_jsonl(tmp_path / "single" / "nbest.jsonl")
    merged = read_nbest_jsonl(tmp_path / "merged" / "nbest.jsonl")
    # the same hypotheses in the same order; log-probs equal up to float32 rounding (the split
    # jobs batch other utterances together, and a padded batch sums in another order)
    assert list(merged) == list(single)
    for utt, hyps in single.items():
        assert [(h.rank, h.text, h.token_int, h.ended) for h in merged[utt]] == \
            [(h.rank, h.text, h.token_int, h.ended) for h in hyps]
        for ours, theirs in zip(merged[utt], hyps):
            assert ours.score == pytest.approx(theirs.score, abs=1e-4)
            assert ours.logp == pytest.approx(theirs.logp, abs=1e-4)
            assert ours.token_logp == pytest.approx(theirs.token_logp, abs=1e-5)
            assert ours.scores == pytest.approx(theirs.scores, abs=1e-4)
    assert all(len(hyps) == 2 for hyps in single.values())  # --nbest overrides the config
    for rank in (1, 2):
        for name in ("text", "token", "token_int"):
            merged_file = (tmp_path / "merged" / f"{rank}best_recog" / name).read_text()
            assert merged_file == (tmp_path / "single" / f"{rank}best_recog" / name).read_text()
        merged_scores = read_table(tmp_path / "merged" / f"{rank}best_recog" / "score")
        single_scores = read_table(tmp_path / "single" / f"{rank}best_recog" / "score")
        assert list(merged_scores) == list(single_scores)
        assert [float(v) for v in merged_scores.values()] == \
            pytest.approx([float(v) for v in single_scores.values()], abs=1e-4)
    first_score = (tmp_path / "merged" / "1best_recog" / "score").read_text().split("\n")[0].split()[1]
    assert float(first_score) == pytest.approx(single[utts[0]][0].score)


def test_merge_refuses_an_unfinished_job(asr_setup, tmp_path: Path, capsys) -> None:
    (tmp_path / "output.1").mkdir()
    err = run_cli(["--merge", "--model_config", asr_setup["config"], "--out_dir", tmp_path / "m",
                   tmp_path / "output.1"], capsys)
    assert "output.1/nbest.jsonl not found: that job has not finished" in err

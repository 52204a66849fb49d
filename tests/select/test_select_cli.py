"""Tests for ``python -m espnet_kd.bin.select``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jiwer
import pytest

from espnet_kd.bin.select import main
from espnet_kd.nbest.format import NBestEntry, write_nbest_jsonl
from espnet_kd.utils.kaldi_dir import KaldiDataDir

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "espnet_kd.bin.select", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )


def test_cli_topk_softmax(nbest_jsonl: Path, source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "data" / "train_topk2"
    result = run_cli(
        "--nbest_jsonl",
        nbest_jsonl,
        "--data_dir",
        source_dir,
        "--method",
        "topk:2",
        "--out_dir",
        out,
        "--weights",
        "softmax",
    )
    assert result.returncode == 0, result.stderr
    assert "topk:2: 3 of 3 utterances -> 5 pseudo-labelled utterances" in result.stderr
    assert "empty_hypothesis_replaced_by_reference: 1" in result.stderr
    data = KaldiDataDir.load(out)
    assert data.utt_ids == [
        "spkA-u1-nb1",
        "spkA-u1-nb2",
        "spkA-u2-nb1",
        "spkA-u2-nb2",
        "spkB-u1-nb1",
    ]
    assert float(data.extra["utt2weight"]["spkA-u1-nb1"]) == pytest.approx(0.7310585786, abs=1e-8)
    report = json.loads((out / "select_report.json").read_text())
    assert report["method"]["spec"] == "topk:2"
    assert report["counts"]["output_utts"] == 5
    assert report["counts"]["replaced_by_reference"] == 1
    assert report["sources"] == {"nbest_jsonl": str(nbest_jsonl), "data_dir": str(source_dir)}
    assert report["not_carried"] == []
    refs = ["one two three", "one two three", "four five", "four five", "six"]
    hyps = ["one two tree", "one two three", "four five", "four five", "six"]
    assert report["wer"]["all_selected"]["wer"] == pytest.approx(jiwer.wer(refs, hyps))
    assert sorted(p.name for p in out.parent.iterdir()) == ["train", "train_topk2"]


def test_cli_one_best_in_process_replaces_old_dir(
    nbest_jsonl: Path, source_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "seqkd"
    out.mkdir()
    (out / "stale").write_text("x")
    (source_dir / "spk2gender").write_text("spkA f\nspkB m\n")
    args = [
        "--nbest-jsonl",
        str(nbest_jsonl),
        "--data-dir",
        str(source_dir),
        "--method",
        "1best",
        "--out-dir",
        str(out),
        "--on-empty",
        "drop",
    ]
    main(args)
    assert sorted(p.name for p in out.iterdir()) == [
        "select_report.json",
        "spk2utt",
        "text",
        "text.it",
        "utt2dur",
        "utt2spk",
        "wav.scp",
    ]
    assert (out / "text").read_text() == "spkA-u1 one two tree\nspkB-u1 six\n"
    report = json.loads((out / "select_report.json").read_text())
    assert report["reasons"] == {"empty_hypothesis_dropped": 1}
    assert report["not_carried"] == ["spk2gender"]


def test_cli_unknown_method(nbest_jsonl: Path, source_dir: Path, tmp_path: Path) -> None:
    result = run_cli(
        "--nbest_jsonl",
        nbest_jsonl,
        "--data_dir",
        source_dir,
        "--method",
        "best3",
        "--out_dir",
        tmp_path / "o",
    )
    assert result.returncode != 0
    assert (
        "ERROR: select: unknown selection method 'best3'; known methods: 1best, topk:K, "
        "interp:{bleu,chrf,wer}, qe:{logp,backward,combined}" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_cli_weights_with_1best(nbest_jsonl: Path, source_dir: Path, tmp_path: Path) -> None:
    result = run_cli(
        "--nbest_jsonl",
        nbest_jsonl,
        "--data_dir",
        source_dir,
        "--method",
        "1best",
        "--out_dir",
        tmp_path / "o",
        "--weights",
        "softmax",
    )
    assert result.returncode != 0
    assert "method 1best does not take option(s) weights" in result.stderr


def test_cli_nbest_utts_not_in_data_dir(
    source_dir_factory, nbest_jsonl: Path, tmp_path: Path
) -> None:
    small = source_dir_factory("small", utts=["spkA-u1", "spkA-u2"])
    result = run_cli(
        "--nbest_jsonl",
        nbest_jsonl,
        "--data_dir",
        small,
        "--method",
        "1best",
        "--out_dir",
        tmp_path / "o",
    )
    assert result.returncode != 0
    assert "1 n-best utterance id(s) are not in the data dir, e.g. ['spkB-u1']" in result.stderr
    assert not (tmp_path / "o").exists()


def test_cli_data_dir_utts_without_nbest(
    source_dir_factory, nbest_jsonl: Path, tmp_path: Path
) -> None:
    big = source_dir_factory("big", utts=["spkA-u1", "spkA-u2", "spkB-u1", "spkB-u2", "spkC-u1"])
    args = [
        "--nbest_jsonl",
        nbest_jsonl,
        "--data_dir",
        big,
        "--method",
        "topk:2",
        "--out_dir",
        tmp_path / "o",
    ]
    result = run_cli(*args)
    assert result.returncode != 0
    assert (
        "2 of 5 data dir utterance(s) have no n-best entry, e.g. ['spkB-u2', 'spkC-u1']"
        in result.stderr
    )
    assert "--allow_missing" in result.stderr
    result = run_cli(*args, "--allow_missing")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "o" / "select_report.json").read_text())
    assert report["counts"]["dropped_utts"] == 2
    assert report["reasons"]["no_nbest_entry"] == 2
    assert report["missing_utts"] == ["spkB-u2", "spkC-u1"]
    assert "spkB-u2-nb1" not in (tmp_path / "o" / "wav.scp").read_text()


def test_cli_bad_nbest_jsonl_keeps_old_output(source_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "nbest.jsonl"
    bad.write_text('{"utt": "spkA-u1", "rank": 1}\n')
    out = tmp_path / "o"
    out.mkdir()
    (out / "text").write_text("old\n")
    result = run_cli(
        "--nbest_jsonl", bad, "--data_dir", source_dir, "--method", "1best", "--out_dir", out
    )
    assert result.returncode != 0
    assert (
        "nbest.jsonl:1: missing field(s) text, token_int, score, logp, token_logp, scores"
        in result.stderr
    )
    assert (out / "text").read_text() == "old\n"


def test_cli_all_dropped_is_an_error(source_dir_factory, tmp_path: Path) -> None:
    src = source_dir_factory("one", utts=["spkA-u1"])
    nbest = tmp_path / "n.jsonl"
    write_nbest_jsonl(nbest, [NBestEntry("spkA-u1", 1, "", [], -1.0)])
    result = run_cli(
        "--nbest_jsonl",
        nbest,
        "--data_dir",
        src,
        "--method",
        "1best",
        "--out_dir",
        tmp_path / "o",
        "--on_empty",
        "drop",
    )
    assert result.returncode != 0
    assert "no utterance was selected" in result.stderr


def test_cli_out_dir_equal_to_data_dir(nbest_jsonl: Path, source_dir: Path) -> None:
    result = run_cli(
        "--nbest_jsonl",
        nbest_jsonl,
        "--data_dir",
        source_dir,
        "--method",
        "1best",
        "--out_dir",
        source_dir,
    )
    assert result.returncode != 0
    assert "--out_dir must differ from --data_dir" in result.stderr


def test_cli_invalid_data_dir(nbest_jsonl: Path, tmp_path: Path) -> None:
    result = run_cli(
        "--nbest_jsonl",
        nbest_jsonl,
        "--data_dir",
        tmp_path / "nope",
        "--method",
        "1best",
        "--out_dir",
        tmp_path / "o",
    )
    assert result.returncode != 0
    assert "data dir not found" in result.stderr


def test_cli_interp_wer_as_asr_sh_stage7_calls_it(
    nbest_jsonl: Path, source_dir: Path, tmp_path: Path
) -> None:
    """The exact options of egs2/TEMPLATE/asr1/asr.sh stage 7, with its directory tag."""
    assignments = subprocess.run(
        ["bash", "-c", "eval \"$(python -m espnet_kd.bin.methods shell --task asr interp:wer)\"; "
         'echo "${method_tags[0]} ${method_select[0]}"'],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"),
    ).stdout.split()
    assert assignments == ["interpwer", "interp:wer"]
    tag = assignments[0]
    out = tmp_path / f"train_{tag}"
    result = run_cli("--nbest_jsonl", nbest_jsonl, "--data_dir", source_dir,
                     "--method", "interp:wer", "--out_dir", out)
    assert result.returncode == 0, result.stderr
    # spkA-u1: rank 2 "one two three" (WER 0); spkA-u2: rank 2 "four five" (WER 0, the empty
    # rank 1 has 100); spkB-u1: its only hypothesis
    assert (out / "text").read_text() == (
        "spkA-u1 one two three\nspkA-u2 four five\nspkB-u1 six\n"
    )
    report = json.loads((out / "select_report.json").read_text())
    assert report["method"] == {"spec": "interp:wer", "method": "interp", "on_empty": "reference",
                                "metric": "wer"}
    assert report["counts"]["kept"] == 3 and report["reasons"] == {}
    assert report["wer"]["all_selected"]["wer"] == 0.0
    assert report["wer"]["teacher_1best"]["wer"] == pytest.approx(
        jiwer.wer(["one two three", "four five", "six"], ["one two tree", "", "six"]))
    assert report["scores"]["all_selected"]["mean_sentence_bleu"] == pytest.approx(100.0)
    assert report["scores"]["all_selected"]["mean_sentence_wer"] == 0.0
    assert report["qe"] is None


def test_cli_filter_with_topk(nbest_jsonl: Path, source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "filtered"
    main(["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(source_dir), "--method", "topk:3",
          "--out_dir", str(out), "--filter_max_wer", "20", "--filter_action", "drop"])
    assert (out / "text").read_text() == (
        "spkA-u1-nb2 one two three\nspkA-u2-nb1 four five\nspkA-u2-nb2 four five\nspkB-u1-nb1 six\n"
    )
    report = json.loads((out / "select_report.json").read_text())
    assert report["method"]["filter"] == {"max_wer": 20.0, "min_bleu": None, "action": "drop"}
    assert report["reasons"] == {"empty_hypothesis_replaced_by_reference": 1, "filter_wer_dropped": 2}
    assert report["counts"]["dropped_hypotheses"] == 2
    assert report["counts"]["replaced_by_reference"] == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "interp:bleu", "--reference_text", "none"],
         "method interp needs the reference of every utterance, but the data has no reference table"),
        (["--method", "1best", "--reference_text", "none", "--filter_min_bleu", "10"],
         "method 1best with a filter needs the reference of every utterance"),
        (["--method", "interp:chrf", "--reference_text", "text.de"],
         "the data dir has no reference table 'text.de' (its text tables: text, text.it)"),
        (["--method", "qe:logp"],
         "qe:logp: utt spkA-u1 rank 1 has no teacher log-prob"),
        (["--method", "1best", "--qe_batch_size", "4"],
         "--qe_batch_size applies to the qe:* methods only, not to 1best"),
        (["--method", "qe:combined"], "qe:combined needs its weights"),
        (["--method", "qe:backward", "--source_text", "text.it"],
         "qe:backward needs the backward (target → source) MT model"),
        (["--method", "topk:2", "--filter_max_wer", "-5"], "filter max_wer must be >= 0"),
    ],
)
def test_cli_bad_input_is_a_clear_error(
    nbest_jsonl: Path, source_dir: Path, tmp_path: Path, capsys, extra, message
) -> None:
    out = tmp_path / "o"
    args = ["--nbest_jsonl", str(nbest_jsonl), "--data_dir", str(source_dir), "--out_dir", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        main(args + extra)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "ERROR: select: " in err and message in err
    assert not out.exists()


def test_cli_empty_nbest_list_for_an_utterance_is_counted(source_dir: Path, tmp_path: Path) -> None:
    """An utterance without hypotheses (allowed with --allow_missing) is a counted, reported drop."""
    nbest = tmp_path / "nbest.jsonl"
    write_nbest_jsonl(nbest, [NBestEntry("spkA-u1", 1, "one two three", [], -1.0),
                              NBestEntry("spkB-u1", 1, "six", [], -1.0)])
    out = tmp_path / "o"
    result = run_cli("--nbest_jsonl", nbest, "--data_dir", source_dir, "--method", "interp:bleu",
                     "--out_dir", out)
    assert result.returncode == 1
    assert "1 of 3 data dir utterance(s) have no n-best entry, e.g. ['spkA-u2']" in result.stderr
    main(["--nbest_jsonl", str(nbest), "--data_dir", str(source_dir), "--method", "interp:bleu",
          "--out_dir", str(out), "--allow_missing"])
    report = json.loads((out / "select_report.json").read_text())
    assert report["reasons"] == {"no_nbest_entry": 1}
    assert report["missing_utts"] == ["spkA-u2"]
    assert report["counts"]["dropped_utts"] == 1

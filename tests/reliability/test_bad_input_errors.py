"""Bad input to the CLIs ends in one ``ERROR:`` line naming the file (and line), never a traceback.

Issue 15, item 7: non-UTF-8 bytes in any text input; dump_topk's missing or empty audio,
empty transcripts and a token list that does not fit the checkpoint; a bad score.json or
config.yaml in the results tables; ``score_wer --out`` into an unwritable place;
``format_data --fs 0``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

from espnet_kd.bin import dump_topk, format_data, nbest, results_table, score_bleu, score_wer, select
from espnet_kd.bin import st_results_table, validate_data_dir
from espnet_kd.nbest.format import write_nbest_jsonl
from tests.reliability.one_line_error import one_line_error
from tests.select.conftest import make_nbest, make_source_dir
from tests.tasks import tiny_espnet as tiny


def put_bad_byte(path: Path, line_no: int) -> int:
    """Put a 0xff byte (never valid UTF-8) into line ``line_no`` of ``path``; return its column (from 1)."""
    lines = path.read_bytes().split(b"\n")
    cut = lines[line_no - 1].index(b" ") + 2
    lines[line_no - 1] = lines[line_no - 1][:cut] + b"\xff" + lines[line_no - 1][cut:]
    path.write_bytes(b"\n".join(lines))
    return cut + 1


def copy_asr_data(setup, tmp_path: Path) -> Path:
    """A copy of the tiny ASR data dir (wav.scp pointing at its own copies of the wavs)."""
    data = tmp_path / "data"
    shutil.copytree(setup["data_dir"] / "wav", data / "wav")
    lines = [f"{utt} {data / 'wav' / f'{utt}.wav'}" for utt in sorted(tiny_texts(setup))]
    tiny.write_lines(data / "wav.scp", lines)
    shutil.copy(setup["data_dir"] / "text", data / "text")
    return data


def tiny_texts(setup) -> dict:
    return dict(line.split(maxsplit=1) for line in (setup["data_dir"] / "text").read_text().splitlines())


def dump_topk_argv(setup, data: Path, out: Path, config=None):
    return ["--teacher_kind", "asr", "--teacher_config", config or setup["config"],
            "--teacher_model_file", setup["model_file"],
            "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
            "--data_path_and_name_and_type", f"{data}/text,text,text", "--out_dir", out, "--k", "2"]


# --- non-UTF-8 bytes in a text input: one case per CLI (and per kind of input file) ---------------

def case_select_text(tmp_path, request):
    data = make_source_dir(tmp_path / "data")
    nbest_file = tmp_path / "nbest.jsonl"
    write_nbest_jsonl(nbest_file, [e for hyps in make_nbest().values() for e in hyps])
    argv = ["--nbest_jsonl", nbest_file, "--data_dir", data, "--method", "1best", "--out_dir", tmp_path / "o"]
    return select.main, argv, data / "text", 2


def case_select_nbest(tmp_path, request):
    main, argv, _, _ = case_select_text(tmp_path, request)
    return main, argv, tmp_path / "nbest.jsonl", 2


def case_score_wer(tmp_path, request):
    tiny.write_lines(tmp_path / "ref", ["a one two", "b three"])
    tiny.write_lines(tmp_path / "hyp", ["a one", "b three"])
    return score_wer.main, ["--ref", tmp_path / "ref", "--hyp", tmp_path / "hyp", "--out", tmp_path / "s.json"], \
        tmp_path / "hyp", 2


def case_score_bleu(tmp_path, request):
    main, argv, _, _ = case_score_wer(tmp_path, request)
    return score_bleu.main, argv, tmp_path / "ref", 1


def case_validate_data_dir(tmp_path, request):
    data = make_source_dir(tmp_path / "data")
    return validate_data_dir.main, [data, "--no_audio_check"], data / "utt2spk", 3


def case_validate_data_dir_spk2utt(tmp_path, request):
    main, argv, _, _ = case_validate_data_dir(tmp_path, request)
    return main, argv, argv[0] / "spk2utt", 2


def case_format_data(tmp_path, request):
    data = make_source_dir(tmp_path / "data")
    return format_data.main, ["--in_dir", data, "--out_dir", tmp_path / "o"], data / "text", 2


def case_dump_topk(tmp_path, request):
    setup = request.getfixturevalue("asr_setup")
    data = copy_asr_data(setup, tmp_path)
    return dump_topk.main, dump_topk_argv(setup, data, tmp_path / "o"), data / "text", 4


def case_nbest(tmp_path, request):
    setup = request.getfixturevalue("asr_setup")
    data = copy_asr_data(setup, tmp_path)
    argv = ["--model_config", setup["config"], "--model_file", setup["model_file"], "--data_dir", data,
            "--progress", "false", "--beam_size", "2", "--out_dir", tmp_path / "o"]
    return nbest.main, argv, data / "wav.scp", 3


@pytest.mark.parametrize("case", [
    case_select_text, case_select_nbest, case_score_wer, case_score_bleu, case_validate_data_dir,
    case_validate_data_dir_spk2utt, case_format_data, case_dump_topk, case_nbest,
], ids=lambda case: case.__name__[len("case_"):])
def test_non_utf8_input_names_file_line_and_column(case, tmp_path, request, capsys) -> None:
    main, argv, bad_file, line_no = case(tmp_path, request)
    column = put_bad_byte(bad_file, line_no)
    error = one_line_error(main, argv, capsys)
    assert f"{bad_file}:{line_no}: not UTF-8 (byte 0xff at column {column})" in error


# --- dump_topk: audio, transcripts, token list ------------------------------------------------------

def break_missing_wav(data: Path, setup, tmp_path):
    (data / "wav" / "utt03.wav").unlink()
    return dump_topk_argv(setup, data, tmp_path / "o"), [f"{data}/wav.scp:4", "utt03", "not found"]


def break_empty_wav(data: Path, setup, tmp_path):
    (data / "wav" / "utt03.wav").write_bytes(b"")
    return dump_topk_argv(setup, data, tmp_path / "o"), [f"{data}/wav.scp:4", "utt03", "empty (0 bytes)"]


def break_empty_transcript(data: Path, setup, tmp_path):
    lines = (data / "text").read_text().splitlines()
    lines[2] = "utt02"
    tiny.write_lines(data / "text", lines)
    return dump_topk_argv(setup, data, tmp_path / "o"), [f"{data}/text:3", "empty transcript", "utt02"]


def break_token_list(data: Path, setup, tmp_path):
    config = yaml.safe_load(Path(setup["config"]).read_text())
    config["token_list"] = str(tiny.write_lines(tmp_path / "tokens_other.txt", tiny.TOKENS[:-1] + ["f", "<sos/eos>"]))
    other = tmp_path / "other_config.yaml"
    other.write_text(yaml.safe_dump(config))
    return dump_topk_argv(setup, data, tmp_path / "o", config=other), \
        [str(setup["model_file"]), str(other), "does not match", "shape mismatch"]


@pytest.mark.parametrize("break_input", [break_missing_wav, break_empty_wav, break_empty_transcript, break_token_list],
                         ids=lambda f: f.__name__[len("break_"):])
def test_dump_topk_bad_input_is_one_line(break_input, asr_setup, tmp_path, capsys) -> None:
    data = copy_asr_data(asr_setup, tmp_path)
    argv, expected = break_input(data, asr_setup, tmp_path)
    error = one_line_error(dump_topk.main, argv, capsys)
    for part in expected:
        assert part in error


# --- results tables: score.json and config.yaml ----------------------------------------------------

def asr_model_dir(tmp_path: Path) -> Path:
    """A decoded and scored ASR model dir (no config.yaml yet)."""
    ref = tiny.write_lines(tmp_path / "ref", ["a one two", "b three"])
    model = tmp_path / "exp" / "teacher"
    tiny.write_lines(model / "decode_test" / "text", ["a one", "b three"])
    (model / "decode_test" / "score.json").write_text(json.dumps({"ref": str(ref), "wer": 33.3}))
    return model


@pytest.mark.parametrize("bad_file,content", [
    ("decode_test/score.json", "{\"ref\": \n"),        # not JSON
    ("decode_test/score.json", "{\"wer\": 3.0}\n"),     # JSON, but no 'ref'
    ("decode_test/score.json", "[1, 2]\n"),             # JSON, not an object
    ("config.yaml", "encoder: [transformer\n"),         # not YAML
    ("config.yaml", "- a list\n"),                      # YAML, not a mapping
], ids=["score_not_json", "score_without_ref", "score_not_object", "config_not_yaml", "config_not_mapping"])
def test_results_table_bad_score_or_config_names_the_file(bad_file, content, tmp_path, capsys) -> None:
    model = asr_model_dir(tmp_path)
    (model / bad_file).write_text(content)
    error = one_line_error(results_table.main, ["--teacher", model, "--test_sets", "test", "--curves", "none",
                                                "--out", tmp_path / "RESULTS.md"], capsys)
    assert str(model / bad_file) in error
    assert not (tmp_path / "RESULTS.md").exists()


@pytest.mark.parametrize("content", ["kd_lambda: [0.5\n", "- a list\n", "kd_lambda: high\n"],
                         ids=["not_yaml", "not_mapping", "lambda_not_a_number"])
def test_st_results_table_bad_config_names_the_file(content, tmp_path, capsys) -> None:
    ref = tiny.write_lines(tmp_path / "ref", ["a il gatto nero", "b la casa"])
    for model in ("mt_teacher", "student_baseline"):
        decode = tmp_path / "exp" / model / "decode_test"
        tiny.write_lines(decode / "text", ["a il gatto", "b la casa"])
        score_bleu.main(["--ref", str(ref), "--hyp", str(decode / "text"), "--out", str(decode / "score.json")])
    config = tmp_path / "exp" / "student_baseline" / "config.yaml"
    config.write_text(content)
    error = one_line_error(st_results_table.main, [
        "--teacher", tmp_path / "exp/mt_teacher", "--student", f"baseline={tmp_path / 'exp/student_baseline'}",
        "--test_sets", "test", "--count_params", "false", "--curves", "none", "--out", tmp_path / "RESULTS.md",
    ], capsys)
    assert str(config) in error


# --- score_wer --out, format_data --fs --------------------------------------------------------------

@pytest.mark.parametrize("scorer", [score_wer, score_bleu], ids=["score_wer", "score_bleu"])
def test_score_out_in_an_unwritable_place(scorer, tmp_path, capsys) -> None:
    ref = tiny.write_lines(tmp_path / "ref", ["a one two", "b three"])
    blocker = tmp_path / "decode_test"
    blocker.write_text("a regular file where the output's directory should be\n")
    out = blocker / "score.json"
    error = one_line_error(scorer.main, ["--ref", ref, "--hyp", ref, "--out", out], capsys)
    assert f"cannot write --out {out}" in error


@pytest.mark.parametrize("fs", ["0", "-16000"])
def test_format_data_refuses_a_sample_rate_below_1(fs, tmp_path, capsys) -> None:
    data = tmp_path / "data"
    (data / "wav").mkdir(parents=True)
    soundfile.write(data / "wav" / "a.wav", np.zeros(1600, dtype=np.int16), 16000)
    tiny.write_lines(data / "wav.scp", [f"a {data / 'wav' / 'a.wav'}"])
    tiny.write_lines(data / "text", ["a one"])
    tiny.write_lines(data / "utt2spk", ["a s"])
    error = one_line_error(format_data.main, ["--in_dir", data, "--out_dir", tmp_path / "o", "--fs", fs], capsys)
    assert f"--fs must be a sample rate in Hz above 0, not {fs}" in error
    assert not (tmp_path / "o").exists()

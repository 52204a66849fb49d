"""The one model loader, :mod:`espnet_kd.teacher`, and the four programs that load through it.

Each consumer (the n-best CLI, the online word-KD teacher the KD tasks load, ``dump_topk``
and the ``qe:backward`` scorer) is given a checkpoint that does not fit the config beside
it: the config was changed afterwards (another layer size, another token list), as when a
checkpoint is copied next to the config of another training. ESPnet's own loader
(``strict=False``) would load what fits and run a half-random model; each consumer must
stop with an error naming both files and the parameters that differ.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Dict, Tuple

import pytest
import torch
import yaml

from espnet_kd.bin import dump_topk, nbest
from espnet_kd.teacher import Teacher, TeacherError, load_teacher
from espnet_kd.utils.fileio import InputError
from espnet_kd.utils.tokens import token_list_hash
from tests.reliability.one_line_error import one_line_error
from tests.select.tiny_mt import build_tiny_mt
from tests.tasks import tiny_espnet as tiny
from tests.tasks.word_kd_helpers import build


def wider_decoder(config: Dict) -> str:
    """Another feed-forward size in the decoder; returns the parameter that changes shape."""
    config["decoder_conf"]["linear_units"] = 40
    return "decoder.decoders.0.feed_forward.w_1.weight"


def one_more_token(config: Dict) -> str:
    """Another token list (one token more before ``<sos/eos>``); returns a parameter that changes shape."""
    tokens = list(config["token_list"])
    config["token_list"] = tokens[:-1] + ["extra_token", tokens[-1]]
    return "decoder.embed.0.weight"


CHANGES = {"layer_size": wider_decoder, "token_list": one_more_token}


def changed_config(config: Path, out_dir: Path, change: Callable[[Dict], str]) -> Tuple[Path, str]:
    """A copy of ``config`` with ``change`` applied, and the parameter its checkpoint no longer fits."""
    loaded = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    assert isinstance(loaded["token_list"], list), "the fixtures' configs hold their token lists inline"
    parameter = change(loaded)
    out_dir.mkdir(parents=True, exist_ok=True)
    other = out_dir / "config.yaml"
    other.write_text(yaml.safe_dump(loaded), encoding="utf-8")
    return other, parameter


def assert_names_the_mismatch(message: str, model_file: Path, config: Path, parameter: str) -> None:
    assert f"checkpoint {model_file} does not match the model built from {config}" in message
    assert "shape mismatch (checkpoint vs config)" in message and parameter in message
    assert "\n" not in message


@pytest.fixture(scope="module")
def backward_mt(tmp_path_factory):
    """A tiny ESPnet2 MT model as ``qe:backward`` reads it: (config, checkpoint)."""
    _, config, checkpoint = build_tiny_mt(tmp_path_factory.mktemp("backward_mt"), seed=1)
    return config, checkpoint


# --- each consumer refuses a checkpoint of another config -----------------------------------

@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_nbest_cli_refuses_a_mismatched_checkpoint(change, asr_setup, tmp_path, capsys) -> None:
    config, parameter = changed_config(asr_setup["config"], tmp_path / "other", change)
    out_dir = tmp_path / "out"
    error = one_line_error(nbest.main, [
        "--model_config", config, "--model_file", asr_setup["model_file"], "--data_dir", asr_setup["data_dir"],
        "--beam_size", "2", "--progress", "false", "--out_dir", out_dir], capsys)
    assert error.startswith("ERROR: ")
    assert_names_the_mismatch(error, asr_setup["model_file"], config, parameter)
    assert not (out_dir / "nbest.jsonl").exists() and not (out_dir / "partial.jsonl").exists()


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
@pytest.mark.parametrize("student", ["asr", "st"])
def test_word_kd_task_refuses_a_mismatched_teacher(student, change, kd_env, tmp_path) -> None:
    config, model_file = kd_env["asr_teacher" if student == "asr" else "mt_teacher"]
    other, parameter = changed_config(config, tmp_path / "other", change)
    src_text = f"{kd_env['data']}/text.src" if student == "st" else None
    with pytest.raises(TeacherError) as error:
        build(kd_env, student, teacher=(other, model_file), src_text=src_text)
    assert_names_the_mismatch(str(error.value), model_file, other, parameter)


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_dump_topk_refuses_a_mismatched_checkpoint(change, asr_setup, tmp_path, capsys) -> None:
    config, parameter = changed_config(asr_setup["config"], tmp_path / "other", change)
    data, out_dir = asr_setup["data_dir"], tmp_path / "cache"
    error = one_line_error(dump_topk.main, [
        "--teacher_kind", "asr", "--teacher_config", config, "--teacher_model_file", asr_setup["model_file"],
        "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
        "--data_path_and_name_and_type", f"{data}/text,text,text", "--out_dir", out_dir], capsys)
    assert_names_the_mismatch(error, asr_setup["model_file"], config, parameter)
    assert not any(out_dir.glob("shard_*"))


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_qe_backward_scorer_refuses_a_mismatched_checkpoint(change, backward_mt, tmp_path) -> None:
    from espnet_kd.select.qe import QEError, QEOptions
    from espnet_kd.select.qe.backward import BackwardScorer

    config, checkpoint = backward_mt
    other, parameter = changed_config(config, tmp_path / "other", change)
    with pytest.raises(QEError) as error:
        BackwardScorer.from_options(QEOptions(backward_config=other, backward_model=checkpoint))
    assert str(error.value).startswith("qe:backward: ")
    assert_names_the_mismatch(str(error.value), checkpoint, other, parameter)


# --- the loader itself ----------------------------------------------------------------------

def test_matching_checkpoint_loads_frozen_with_its_fingerprint(asr_setup) -> None:
    teacher = load_teacher("asr", asr_setup["config"], asr_setup["model_file"])
    assert isinstance(teacher, Teacher) and not teacher.model.training
    assert not any(parameter.requires_grad for parameter in teacher.model.parameters())
    assert teacher.fingerprint() == hashlib.sha256(Path(asr_setup["model_file"]).read_bytes()).hexdigest()
    assert teacher.token_list == tiny.TOKENS and teacher.token_list_hash == token_list_hash(tiny.TOKENS)
    assert teacher.input_name == "speech" and teacher.sample_rate == 16000 and teacher.ctc is not None
    saved = torch.load(asr_setup["model_file"], weights_only=True)
    for name, value in teacher.model.state_dict().items():
        assert torch.equal(value, saved[name]), name


def test_mt_teacher_reads_src_text(mt_setup) -> None:
    teacher = load_teacher("mt", mt_setup["config"], mt_setup["model_file"])
    assert teacher.input_name == "src_text" and teacher.sample_rate is None
    assert teacher.src_token_list == tiny.SRC_TOKENS
    batch = tiny.st_batch()
    ys_in = torch.tensor([[len(tiny.TOKENS) - 1, 3, 4]] * 3)
    logits = teacher.logits(batch, ys_in, torch.tensor([3, 3, 3]))
    assert logits.shape == (3, 3, len(tiny.TOKENS))
    without_source = {name: value for name, value in batch.items() if not name.startswith("src_text")}
    needs = r"the mt teacher needs the data stream\(s\) \['src_text', 'src_text_lengths'\]"
    with pytest.raises(TeacherError, match=needs):
        teacher.logits(without_source, ys_in, torch.tensor([3, 3, 3]))


def test_encoding_one_utterance_is_the_models_encoder(asr_setup) -> None:
    teacher = load_teacher("asr", asr_setup["config"], asr_setup["model_file"])
    speech = tiny.asr_batch()["speech"][:1, :3200]
    lengths = torch.tensor([3200])
    with torch.no_grad():
        expected, _ = teacher.model.encode(speech, lengths)
    assert torch.equal(teacher.encode_utterance(speech, lengths), expected[0])


@pytest.mark.parametrize("task,config_name,model_name,message", [
    ("tts", "config", "model_file", "unknown task 'tts'; choose one of asr, st, mt"),
    ("asr", "nope", "model_file", "teacher config not found: "),
    ("asr", "config", "nope", "teacher checkpoint not found: "),
])
def test_bad_requests_are_input_errors(task, config_name, model_name, message,
                                       asr_setup, tmp_path) -> None:
    paths = {**asr_setup, "nope": tmp_path / "nope"}
    with pytest.raises(TeacherError, match=message) as error:
        load_teacher(task, paths[config_name], paths[model_name])
    assert isinstance(error.value, InputError)  # a CLI prints it as one ERROR: line

"""Model files are read without unpickling code; wav.scp commands can be refused.

Issue 15, item 9: every loader reads checkpoints with ``torch.load(weights_only=True)``
and says ``<file> is not a PyTorch checkpoint (...)`` for anything else (a config.yaml
given as the model file, a pickle that would run code). Item 10: ``validate_data_dir
--no_pipes`` refuses ``wav.scp`` entries that are shell commands, and the help says
that reading a data dir runs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from espnet_kd.bin import dump_topk, nbest, validate_data_dir
from tests.reliability.one_line_error import one_line_error
from tests.select.conftest import make_source_dir
from tests.tasks import tiny_espnet as tiny


class RunsCode:
    """Unpickled with weights_only=False, this object makes a directory: a stand-in for any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def load_strict_teacher(setups, model_file):
    """The one loader of the n-best engine, the word-KD teacher and dump_topk."""
    from espnet_kd.teacher import load_teacher

    return load_teacher("asr", setups["asr"]["config"], model_file)


def load_qe_backward_model(setups, model_file):
    from espnet_kd.select.qe.backward import load_backward_model

    return load_backward_model(setups["mt"]["config"], model_file)


@pytest.mark.parametrize("loader", [load_strict_teacher, load_qe_backward_model], ids=["teacher", "qe_backward"])
@pytest.mark.parametrize("kind", ["config_yaml", "pickle_that_runs_code"])
def test_loaders_read_weights_only(loader, kind, asr_setup, mt_setup, tmp_path) -> None:
    setups = {"asr": asr_setup, "mt": mt_setup}
    marker = tmp_path / "code_ran"
    if kind == "config_yaml":
        bad = Path(setups["mt" if loader is load_qe_backward_model else "asr"]["config"])
    else:
        bad = tmp_path / "model.pth"
        state = torch.load(asr_setup["model_file"], weights_only=True)
        torch.save({**state, "payload": RunsCode(marker)}, bad)
    try:
        loader(setups, bad)
        message = None
    except ValueError as error:  # every loader's error type is a ValueError
        message = str(error)
    assert not marker.exists(), "loading the model file ran code from it"
    assert message is not None and f"{bad} is not a PyTorch checkpoint (" in message
    assert "\n" not in message


@pytest.mark.parametrize("cli", ["nbest", "dump_topk"])
def test_cli_given_a_config_as_model_file(cli, asr_setup, tmp_path, capsys) -> None:
    config = asr_setup["config"]
    if cli == "nbest":
        main, argv = nbest.main, ["--model_config", config, "--model_file", config, "--data_dir",
                                  asr_setup["data_dir"], "--progress", "false", "--out_dir", tmp_path / "o"]
    else:
        data = asr_setup["data_dir"]
        main, argv = dump_topk.main, [
            "--teacher_kind", "asr", "--teacher_config", config, "--teacher_model_file", config,
            "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
            "--data_path_and_name_and_type", f"{data}/text,text,text", "--out_dir", tmp_path / "o"]
    error = one_line_error(main, argv, capsys)
    assert error.startswith(f"ERROR: {config} is not a PyTorch checkpoint (")


def test_validate_no_pipes_refuses_commands(tmp_path, capsys) -> None:
    data = make_source_dir(tmp_path / "data")
    tiny.write_lines(data / "wav.scp", ["spkA-u1 /audio/spkA-u1.wav", "spkA-u2 sox /audio/u2.flac -t wav - |",
                                        "spkB-u1 /audio/spkB-u1.wav"])
    validate_data_dir.main([str(data), "--no_audio_check"])   # commands are still a feature
    assert f"{data}: OK (3 utterances" in capsys.readouterr().out
    error = one_line_error(validate_data_dir.main, [data, "--no_audio_check", "--no_pipes"], capsys)
    assert f"{data / 'wav.scp'}:2: spkA-u2 is a shell command" in error
    with pytest.raises(SystemExit):
        validate_data_dir.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "runs the commands the data dir holds, in a shell" in help_text and "--no_pipes" in help_text

"""The decoding length limit: encoder lengths against ESPnet's own models, the auto ratio by hand,
the warnings for a fixed ratio, the CLI's records, and decode_split choosing it in the shell."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from espnet_kd.bin import decode_limits as cli
from espnet_kd.utils.decode_limits import (
    AUTO_MARGIN, DecodeLimitError, choose_limit, encoder_length, resolve_decode_config, training_ratio,
)
from tests.tasks import tiny_espnet as tiny

REPO = Path(__file__).resolve().parents[2]


def speech_config(input_layer: str = "conv2d", hop: int = 160) -> dict:
    return {"frontend": "default", "frontend_conf": {"hop_length": hop}, "encoder": "conformer",
            "encoder_conf": {"input_layer": input_layer}, "token_type": "char"}


def write_train_dir(path: Path, texts: dict, samples: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "text").write_text("".join(f"{u} {t}\n" for u, t in texts.items()))
    (path / "utt2num_samples").write_text("".join(f"{u} {n}\n" for u, n in samples.items()))
    return path


@pytest.mark.parametrize("input_layer", ["conv2d", "conv2d2", "conv2d6", "conv2d8"])
def test_encoder_length_is_the_espnet_models_own(tmp_path, input_layer):
    # oracle: a real ESPnet ASR model's encoder output length, frontend (hop 64) and subsampling included
    tokens = tiny.write_lines(tmp_path / "tokens.txt", tiny.TOKENS)
    _, _, model = tiny.make_asr_model(tmp_path / "model", tokens, seed=0,
                                      extra=["--encoder_conf", f"input_layer={input_layer}",
                                             "--frontend_conf", "n_mels=32"])
    config = yaml.safe_load((tmp_path / "model" / "config.yaml").read_text())
    length_of = encoder_length(config, "asr")
    model.eval()
    for samples in (3000, 3001, 4097, 6400, 9999):
        with torch.no_grad():
            _, encoder_lens = model.encode(torch.randn(1, samples), torch.tensor([samples]))
        assert length_of(samples) == int(encoder_lens[0]), (input_layer, samples)


def test_mt_encoder_length_is_the_source_length(mt_setup):
    from espnet2.tasks.mt import MTTask

    config = yaml.safe_load(mt_setup["config"].read_text())
    model = MTTask.build_model(argparse_namespace(config))
    for n in (1, 4, 9):
        _, encoder_lens = model.encode(torch.full((1, n), 3), torch.tensor([n]))
        assert encoder_length(config, "mt")(n) == int(encoder_lens[0])


def argparse_namespace(config: dict):
    import argparse

    return argparse.Namespace(**config)


def test_auto_is_the_margin_times_the_largest_training_ratio_by_hand(tmp_path):
    # hop 160, conv2d: 16000 samples → 101 STFT frames → ((101-1)//2-1)//2 = 24 encoder frames;
    # 8000 → 51 → 12. "ab c": 4 chars + <eos> over 24 = 0.2083; "abcdefgh": 9 / 12 = 0.75 (the max)
    train = write_train_dir(tmp_path / "train", {"a": "ab c", "b": "abcdefgh"}, {"a": 16000, "b": 8000})
    ratio = training_ratio(speech_config(), "asr", train)
    assert ratio.max_ratio == 0.75 and ratio.max_utterance == "b" and ratio.utterances == 2
    assert ratio.mean_ratio == pytest.approx((5 / 24 + 0.75) / 2, abs=1e-4)
    value, record = choose_limit({"maxlenratio": "auto"}, speech_config(), "asr", train)
    assert value == math.ceil(0.75 * AUTO_MARGIN * 100) / 100 == 1.13
    assert record.how == "auto" and record.margin == AUTO_MARGIN and record.warning is None
    # with CTC in the search, at most one token per encoder frame
    value, record = choose_limit({"maxlenratio": "auto", "ctc_weight": 0.3}, speech_config(), "asr", train)
    assert value == 1.0 and "one token per encoder frame" in record.capped


def test_a_fixed_ratio_is_kept_and_warned_about_when_it_cuts(tmp_path):
    train = write_train_dir(tmp_path / "train", {"a": "ab c", "b": "abcdefgh"}, {"a": 16000, "b": 8000})
    value, record = choose_limit({"maxlenratio": 0.3}, speech_config(), "asr", train)
    assert value == 0.3 and record.how == "config"
    assert "0.75 tokens per encoder frame, utterance b" in record.warning and "1.13" in record.warning
    # 0.0 is the encoder length (1 token per frame): enough here
    value, record = choose_limit({"maxlenratio": 0.0}, speech_config(), "asr", train)
    assert value == 0.0 and record.warning is None
    # a config without maxlenratio is ESPnet's default, 0.0
    value, record = choose_limit({"beam_size": 2}, speech_config(), "asr", train)
    assert value == 0.0 and record.how == "espnet default"
    # with more tokens than frames (a translation longer than its source) 0.0 cuts, and says so
    mt_config = {"encoder": "transformer", "encoder_conf": {"input_layer": None},
                 "token_type": "char", "src_token_type": "char"}
    mt_train = tmp_path / "mt"
    mt_train.mkdir()
    (mt_train / "text").write_text("a uno due tre\n")   # utterance a: 11 chars + <eos>
    (mt_train / "text.en").write_text("a one\n")          # 3 source chars + the source <eos>
    value, record = choose_limit({"maxlenratio": 0.0}, mt_config, "mt", mt_train, "text.en")
    assert value == 0.0 and record.training_ratio["max_ratio"] == 12 / 4
    assert "allows fewer steps" in record.warning


@pytest.mark.parametrize("decode, model, message", [
    ({"maxlenratio": "auto"}, dict(speech_config(), encoder_conf={"input_layer": "vgg9"}), "unknown encoder input_layer"),
    ({"maxlenratio": "auto"}, dict(speech_config(), frontend="s3prl"), "only ESPnet's default frontend"),
    ({"maxlenratio": "auto"}, dict(speech_config(), encoder="rnn", encoder_conf={}), "cannot tell the subsampling"),
    ({"maxlenratio": "auto"}, dict(speech_config(), token_type="bpe", bpemodel="missing.model"), "bpemodel"),
    ({"maxlenratio": True}, speech_config(), "must be a number or 'auto'"),
    ({"maxlenratio": "long"}, speech_config(), "must be a number or 'auto'"),
])
def test_what_cannot_be_derived_is_a_clear_error(tmp_path, decode, model, message):
    train = write_train_dir(tmp_path / "train", {"a": "ab c"}, {"a": 16000})
    with pytest.raises(DecodeLimitError, match=message):
        choose_limit(decode, model, "asr", train)


def test_auto_without_a_training_set_is_an_error():
    with pytest.raises(DecodeLimitError, match="needs the training set"):
        choose_limit({"maxlenratio": "auto"}, speech_config(), "asr", None)


def test_cli_writes_the_resolved_config_and_the_record(asr_setup, tmp_path, capsys):
    data = asr_setup["data_dir"]
    train = write_train_dir(tmp_path / "train", dict(l.split(" ", 1) for l in (data / "text").read_text().splitlines()),
                            {f"utt{i:02d}": 2400 + 400 * i for i in range(9)})
    config = tmp_path / "decode.yaml"
    config.write_text("beam_size: 2\nmaxlenratio: auto\nnbest: 1\n")
    out_dir = tmp_path / "decode_test"
    cli.main(["--task", "asr", "--config", str(config), "--model_config", str(asr_setup["config"]),
              "--train_dir", str(train), "--out_dir", str(out_dir)])
    printed = float(capsys.readouterr().out.strip())
    record = json.loads((out_dir / "decode_limits.json").read_text())
    resolved = yaml.safe_load((out_dir / "decode.yaml").read_text())
    assert resolved == {"beam_size": 2, "maxlenratio": printed, "nbest": 1}
    assert record["maxlenratio"] == printed and record["how"] == "auto"
    model_config = yaml.safe_load(asr_setup["config"].read_text())
    expected = training_ratio(model_config, "asr", train)
    assert record["training_ratio"]["max_ratio"] == expected.max_ratio > 0
    assert printed == math.ceil(expected.max_ratio * AUTO_MARGIN * 100) / 100
    with pytest.raises(SystemExit):
        cli.main(["--task", "asr", "--config", str(config), "--model_config", str(asr_setup["config"]),
                  "--out_dir", str(tmp_path / "other")])
    assert "needs the training set" in capsys.readouterr().err


def test_decode_split_decodes_with_the_chosen_limit_and_records_it(asr_setup, tmp_path):
    """common.sh's decode_split on a real tiny model: the decode dir holds decode.yaml and
    decode_limits.json, and a changed limit is decoded again."""
    data = tmp_path / "data"
    subprocess.run(["cp", "-r", str(asr_setup["data_dir"]), str(data)], check=True)
    train = write_train_dir(tmp_path / "train", {"utt00": "abc de"}, {"utt00": 2400})
    model_dir = tmp_path / "exp" / "model"
    model_dir.mkdir(parents=True)
    (model_dir / "config.yaml").write_bytes(asr_setup["config"].read_bytes())
    (model_dir / "valid.acc.ave.pth").write_bytes(asr_setup["model_file"].read_bytes())
    config = tmp_path / "decode.yaml"
    config.write_text("beam_size: 2\nctc_weight: 0.3\nmaxlenratio: auto\nnbest: 1\n")
    script = tmp_path / "decode.sh"
    script.write_text(f"""set -euo pipefail
TEMPLATE_DIR={REPO}/egs2/TEMPLATE
. "${{TEMPLATE_DIR}}/scripts/common.sh"
decoder=espnet_kd nj=1 decode_threads=1 decode_batch_size=4 ngpu=0 decode_cmd="${{TEMPLATE_DIR}}/scripts/jobs/local.sh"
decode_train_dir=train
decode_split asr exp/model data wav.scp exp/model/decode_data "$1"
""")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    run = lambda cfg: subprocess.run(["bash", str(script), cfg], cwd=tmp_path, capture_output=True, text=True, env=env)
    result = run(str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    out_dir = model_dir / "decode_data"
    record = json.loads((out_dir / "decode_limits.json").read_text())
    assert record["how"] == "auto" and record["train_dir"] == "train"
    assert yaml.safe_load((out_dir / "decode.yaml").read_text())["maxlenratio"] == record["maxlenratio"]
    assert len((out_dir / "text").read_text().splitlines()) == 9
    assert not list((tmp_path / "exp" / "model").glob(".decode_limits.*"))   # no temporary dir left
    again = run(str(config))
    assert "exp/model/decode_data is decoded" in again.stderr
    # another training set gives another limit: the finished decode is redone, not reused
    write_train_dir(train, {"utt00": "abc de abc de"}, {"utt00": 2400})
    changed = run(str(config))
    assert changed.returncode == 0 and "decoding again" in changed.stderr
    assert json.loads((out_dir / "decode_limits.json").read_text())["maxlenratio"] > record["maxlenratio"]
    # a config that cannot be resolved stops before decoding, naming the dir
    bad = tmp_path / "bad.yaml"
    bad.write_text("maxlenratio: lots\n")
    failed = run(str(bad))
    assert failed.returncode != 0 and "must be a number or 'auto'" in failed.stderr
    assert "no length limit" in failed.stderr

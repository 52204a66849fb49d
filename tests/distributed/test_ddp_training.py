"""ESPnet's distributed training (DDP, gloo, 2 CPU processes) of the CE student and the word-KD students.

Each test trains the same tiny model twice from the same seed, as 2 ranks and as one process, for
2 epochs of 2 steps (batches of 4 utterances, 2 per rank; no dropout, plain SGD), and checks:

- every rank saw a different half of each epoch (train and valid), together all of it;
- each step's loss, combined over the ranks as ESPnet's trainer combines it, is the one-process loss
  of that batch within 1e-5 (the steps after the first compare the averaged gradients too), and the
  final weights are the one-process ones;
- DDP reduced the student's parameters alone (the frozen teacher is not among them, so no
  unused-parameter error, no teacher gradient), and each rank held its own teacher, in eval mode;
- rank 0's checkpoint holds the student alone and decodes with ESPnet's stock ``Speech2Text``.

The ranks are started as in :mod:`tests.distributed.ddp_helpers` (ESPnet's launcher spawns ranks only
for ``--ngpu`` > 1).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.distributed import ddp_helpers as ddp
from tests.tasks import tiny_espnet as tiny


def decode_one(inference_class, out_dir, data_dir, kind):
    """The stock ESPnet inference class loads the saved student and decodes one utterance."""
    import soundfile

    model_file = out_dir / "valid.acc.ave.pth"
    if kind == "asr":
        speech2text = inference_class(asr_train_config=out_dir / "config.yaml", asr_model_file=model_file,
                                      beam_size=2, ctc_weight=0.3, maxlenratio=0.5, device="cpu", nbest=1)
    else:
        speech2text = inference_class(st_train_config=out_dir / "config.yaml", st_model_file=model_file,
                                      beam_size=2, maxlenratio=0.5, device="cpu", nbest=1)
    speech, _ = soundfile.read(data_dir / "wav" / "utt1.wav", dtype="float32")
    results = speech2text(np.asarray(speech))
    assert len(results) == 1 and isinstance(results[0][0], str)
    return speech2text


def check_all(ranks, single, tmp_path, data_dir, kind, teacher: bool):
    from espnet2.bin import asr_inference, st_inference

    ddp.check_ranks_split_each_epoch(ranks)
    assert ddp.check_steps_match(ranks, single) == 4
    state = ddp.check_checkpoint_is_the_student(tmp_path / "ddp" / "exp", tmp_path / "single" / "exp")
    ddp.check_ddp_saw_the_student_alone(ranks, state)
    teachers = [entry["teacher"] for entries in ranks.values() for entry in ddp.epochs(entries).values()]
    if teacher:
        assert all(t["num_params"] > 0 and t["device"] == "cpu" and not t["training"] for t in teachers)
        assert not any(t["requires_grad"] or t["with_grad"] for t in teachers)   # frozen, no gradient
        assert len({t["pid"] for t in teachers}) == ddp.WORLD_SIZE               # one teacher per rank
    else:
        assert teachers and all(t is None for t in teachers)
    speech2text = decode_one(asr_inference.Speech2Text if kind == "asr" else st_inference.Speech2Text,
                             tmp_path / "ddp" / "exp", data_dir, kind)
    assert set(speech2text.asr_model.state_dict() if kind == "asr" else speech2text.st_model.state_dict()) \
        == set(state)


def test_ce_student_trains_with_ddp_on_two_gloo_ranks(ddp_env, tmp_path):
    from espnet2.bin import asr_train

    argv = ["--token_list", str(ddp_env["tokens"]), "--token_type", "char", *tiny.ASR_MODEL_OPTIONS,
            *ddp.NO_DROPOUT, *ddp.data_options(ddp_env["data"]), *ddp.TRAIN_OPTIONS]
    ranks, single = ddp.run_both("espnet2.bin.asr_train", asr_train.main, argv, tmp_path)
    check_all(ranks, single, tmp_path, ddp_env["data"], "asr", teacher=False)


def test_word_kd_student_from_the_topk_cache_trains_with_ddp(ddp_env, tmp_path):
    from espnet_kd.bin import asr_kd_train

    config, model_file = ddp_env["asr_teacher"]
    argv = ["--token_list", str(ddp_env["tokens"]), "--token_type", "char", *tiny.ASR_MODEL_OPTIONS,
            *ddp.NO_DROPOUT, *ddp.data_options(ddp_env["data"], [f"{ddp_env['cache']},kd_topk,kd_topk"]),
            "--kd_teacher_config", str(config), "--kd_teacher_model_file", str(model_file),
            "--kd_topk", "4", "--kd_lambda", "0.5", *ddp.TRAIN_OPTIONS]
    ranks, single = ddp.run_both("espnet_kd.bin.asr_kd_train", asr_kd_train.main, argv, tmp_path)
    check_all(ranks, single, tmp_path, ddp_env["data"], "asr", teacher=False)
    # the cache is a data stream: each rank read the utterances of its own batches, and only those
    for name, entries in ranks.items():
        read = [e["utt_id"] for e in entries if e["event"] == "topk_read"]
        batched = [u for e in entries if e["event"] in ("train", "valid") for s in e["steps"] for u in s["utt_ids"]]
        assert sorted(read) == sorted(batched), name
    stats = torch.load(tmp_path / "ddp" / "exp" / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    single_stats = torch.load(tmp_path / "single" / "exp" / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    for epoch in (1, 2):
        for key in ("loss", "loss_kd", "loss_ce"):
            assert stats[epoch]["train"][key] == pytest.approx(single_stats[epoch]["train"][key], abs=1e-5)
        assert stats[epoch]["train"]["loss_kd"] > 0.1


def test_word_kd_st_student_with_the_online_mt_teacher_trains_with_ddp(ddp_env, tmp_path):
    from espnet_kd.bin import st_kd_train

    config, model_file = ddp_env["mt_teacher"]
    argv = ["--token_list", str(ddp_env["tokens"]), "--token_type", "char", *tiny.ST_MODEL_OPTIONS,
            *ddp.NO_DROPOUT, *ddp.data_options(ddp_env["data"], [f"{ddp_env['data']}/text.src,src_text,text"]),
            "--kd_teacher_config", str(config), "--kd_teacher_model_file", str(model_file),
            "--kd_topk", "4", "--kd_lambda", "0.5", *ddp.TRAIN_OPTIONS]
    ranks, single = ddp.run_both("espnet_kd.bin.st_kd_train", st_kd_train.main, argv, tmp_path)
    check_all(ranks, single, tmp_path, ddp_env["data"], "st", teacher=True)
    stats = torch.load(tmp_path / "ddp" / "exp" / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    assert all(stats[epoch]["train"]["loss_kd"] > 0.1 for epoch in (1, 2))

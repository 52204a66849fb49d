"""CTC-branch KD on tiny real ESPnet ASR students (kd_env's teachers).

ESPnet's loss at kd_ctc_weight 0, the stock checkpoint keys, the encoder frame-rate check at
set-up and per batch, the online teacher against the CTC top-k cache (dump_ctc_topk) at
k = vocabulary size, and one epoch of ESPnet's trainer from the cache.
"""

from __future__ import annotations

import copy

import pytest
import torch
import yaml

from tests.tasks import tiny_espnet as tiny
from tests.tasks.word_kd_helpers import student_argv, task_of

V = len(tiny.TOKENS)


def ctc_argv(kd_env, weight=0.5, topk=0, threshold=None, ctc_cache=None, lam=0.5, extra=()):
    argv = student_argv(kd_env) + ["--kd_lambda", str(lam), "--kd_ctc_weight", str(weight),
                                   "--kd_ctc_topk", str(topk)]
    if threshold is not None:
        argv += ["--kd_ctc_blank_threshold", str(threshold)]
    if ctc_cache is not None:
        for split in ("train", "valid"):
            argv += [f"--{split}_data_path_and_name_and_type", f"{ctc_cache},kd_ctc_topk,kd_ctc_topk"]
    return argv + list(extra)


def build(kd_env, seed=3, **kwargs):
    task = task_of("asr")
    args = tiny.parse(task, ctc_argv(kd_env, **kwargs))
    torch.manual_seed(seed)
    return task, args, task.build_model(args)


def dump_ctc(kd_env, out_dir, k=V, extra=()):
    from espnet_kd.bin import dump_ctc_topk

    config, model_file = kd_env["asr_teacher"]
    dump_ctc_topk.main(["--teacher_config", str(config), "--teacher_model_file", str(model_file),
                        "--data_path_and_name_and_type", f"{kd_env['data']}/wav.scp,speech,sound",
                        "--data_path_and_name_and_type", f"{kd_env['data']}/text,text,text",
                        "--out_dir", str(out_dir), "--k", str(k), *extra])
    return out_dir


def stock_copy(student):
    """The student as ESPnet's own ASR model: same modules and weights, ESPnet's criterion and CTC classes."""
    from espnet2.asr.ctc import CTC
    from espnet2.asr.espnet_model import ESPnetASRModel

    stock = copy.deepcopy(student)
    stock.criterion_att = student.criterion_att.ce
    stock.ctc.__class__ = CTC
    stock.__class__ = ESPnetASRModel
    return stock


def test_ctc_kd_is_off_by_default_and_espnets_ctc_is_kept(kd_env):
    from espnet2.asr.ctc import CTC

    task = task_of("asr")
    model = task.build_model(tiny.parse(task, student_argv(kd_env)))
    assert type(model.ctc) is CTC and not model.ctc_kd_enabled
    stats = model(**tiny.asr_batch())[1]
    assert "loss_ctc_kd" not in stats and "loss_ctc" in stats


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_weight_zero_reproduces_espnets_loss_exactly(kd_env, mode):
    from espnet_kd.kd.ctc_kd import KDCTC, CTCKDConfig

    _, _, student = build(kd_env, lam=0.0, weight=0.5)
    assert isinstance(student.ctc, KDCTC)
    student.ctc.kd_config = CTCKDConfig(weight=0.0, topk=0)  # CTC KD computed, weighted by 0
    stock = stock_copy(student)
    getattr(student, mode)(); getattr(stock, mode)()
    torch.manual_seed(11)
    loss, stats, _ = student(**tiny.asr_batch())
    torch.manual_seed(11)
    stock_loss, stock_stats, _ = stock(**tiny.asr_batch())
    assert torch.equal(loss, stock_loss)
    assert torch.equal(stats["loss_ctc"], stock_stats["loss_ctc"])
    assert torch.equal(stats["loss_ctc_ref"], stock_stats["loss_ctc"])
    assert stats["loss_ctc_kd"].item() > 0.1


def test_loss_ctc_is_the_weighted_mix(kd_env):
    _, _, student = build(kd_env, weight=0.25, topk=0)
    student.eval()
    with torch.no_grad():
        stats = student(**tiny.asr_batch())[1]
    mixed = 0.75 * stats["loss_ctc_ref"] + 0.25 * stats["loss_ctc_kd"]
    assert torch.allclose(stats["loss_ctc"], mixed, rtol=1e-6)
    assert stats["ctc_kd_frames"].item() == 1.0  # no blank selection: every frame counts
    # with blank selection, weight 1 drops the reference CTC loss
    _, _, selecting = build(kd_env, weight=1.0, topk=0, threshold=0.2)
    selecting.eval()
    with torch.no_grad():
        stats = selecting(**tiny.asr_batch())[1]
    assert torch.equal(stats["loss_ctc"], stats["loss_ctc_kd"])
    assert 0.0 <= stats["ctc_kd_frames"].item() <= 1.0


def test_gradients_reach_the_student_ctc_and_the_teacher_stays_frozen(kd_env):
    _, _, student = build(kd_env, weight=1.0, topk=4, lam=0.0)
    student.train()
    loss = student(**tiny.asr_batch())[0]
    loss.backward()
    assert student.ctc.ctc_lo.weight.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in student.teacher.model.parameters())


def test_student_checkpoint_keys_are_the_stock_models(kd_env, tmp_path):
    from espnet2.tasks.asr import ASRTask

    _, _, student = build(kd_env, weight=0.5, topk=4)
    stock_args = tiny.parse(ASRTask, ["--token_list", str(kd_env["tokens"]), "--token_type", "char",
                                      "--output_dir", str(tmp_path), *tiny.ASR_MODEL_OPTIONS])
    stock = ASRTask.build_model(stock_args)
    state = student.state_dict()
    assert list(state) == list(stock.state_dict())
    assert all(state[key].shape == value.shape for key, value in stock.state_dict().items())
    torch.save(state, tmp_path / "student.pth")
    stock.load_state_dict(torch.load(tmp_path / "student.pth", weights_only=True), strict=True)
    hs = torch.randn(2, 7, 8)
    assert torch.equal(stock.ctc.log_softmax(hs), torch.nn.functional.log_softmax(student.ctc.ctc_lo(hs), dim=2))


def test_encoder_subsampling_mismatch_is_refused_at_setup(kd_env):
    from espnet_kd.kd.ctc_kd import CTCKDError

    with pytest.raises(CTCKDError) as error:
        build(kd_env, extra=["--encoder_conf", "input_layer=conv2d"])
    message = str(error.value)
    teacher_config = kd_env["asr_teacher"][0]
    assert f"the teacher ({teacher_config}) has frontend default hop_length 64, encoder transformer " \
           "input_layer conv2d2 (subsampling 2: one encoder frame per 128 samples)" in message
    assert "the student frontend default hop_length 64, encoder transformer input_layer conv2d " \
           "(subsampling 4: one encoder frame per 256 samples)" in message
    # word KD alone does not care about the frames
    task = task_of("asr")
    task.build_model(tiny.parse(task, student_argv(kd_env) + ["--encoder_conf", "input_layer=conv2d"]))


def batches(task, args, batch_size=6):
    """The training data as ESPnet's loader collates it (six utterances: one padded batch by default)."""
    return list(task.build_streaming_iterator(
        args.train_data_path_and_name_and_type, preprocess_fn=task.build_preprocess_fn(args, False),
        collate_fn=task.build_collate_fn(args, False), batch_size=batch_size, dtype="float32", num_workers=0,
        allow_variable_data_keys=True))


@pytest.fixture(scope="module")
def ctc_cache(kd_env, tmp_path_factory):
    """The teacher's CTC top-9 (the whole vocabulary) per encoder frame, log-posteriors as fp16."""
    return dump_ctc(kd_env, tmp_path_factory.mktemp("ctc") / "topk_ctc_train", extra=["--logp_encoding", "fp16"])


def test_dump_ctc_topk_holds_the_teachers_encoder_frames(kd_env, ctc_cache):
    from espnet_kd.kd.ctc_kd import CTC_POSITIONS
    from espnet_kd.kd.topk_cache import TopKCache
    from espnet_kd.utils.decode_limits import encoder_length

    cache = TopKCache(ctc_cache)
    assert cache.meta.extra["positions"] == CTC_POSITIONS and cache.meta.k == V
    assert cache.meta.extra["encoder_frames"]["encoder_conf"] == {"input_layer": "conv2d2"}
    teacher_config = yaml.safe_load(open(kd_env["asr_teacher"][0], encoding="utf-8"))
    frames = encoder_length(teacher_config, "asr")
    for i, utt in enumerate(sorted(tiny.KD_TEXTS)):
        ids, logp = cache[utt]
        assert ids.shape == (frames(2400 + 400 * i), V)
        assert (torch.tensor(logp.astype("float32")).exp().sum(-1) - 1).abs().max() < 1e-2  # every output kept


def test_online_and_cached_ctc_kd_give_the_same_loss_at_k_vocabulary(kd_env, ctc_cache):
    """Utterance by utterance (the cache holds each encoded alone): the same KL within fp16 rounding."""
    task, _, online = build(kd_env, weight=0.5, topk=0)  # the teacher's full CTC distribution, online
    cached_args = tiny.parse(task, ctc_argv(kd_env, weight=0.5, topk=V, ctc_cache=ctc_cache))
    cached = task.build_model(cached_args)
    cached.load_state_dict(online.state_dict())
    online.eval(); cached.eval()
    for uttids, batch in batches(task, cached_args, batch_size=1):
        assert "kd_ctc_topk" in batch and "kd_topk" not in batch
        with torch.no_grad():
            without_cache = {k: v for k, v in batch.items() if not k.startswith("kd_ctc_topk")}
            _, online_stats, _ = online(**without_cache, utt_id=uttids)
            _, cached_stats, _ = cached(**batch, utt_id=uttids)
        online_kd, cached_kd = online_stats["loss_ctc_kd"].item(), cached_stats["loss_ctc_kd"].item()
        assert online_kd > 0.1
        assert abs(online_kd - cached_kd) <= 1e-3 * online_kd, uttids  # the cache's fp16 log-posteriors
        assert torch.equal(online_stats["loss_ctc_ref"], cached_stats["loss_ctc_ref"])
        assert torch.equal(online_stats["loss_kd"], cached_stats["loss_kd"])  # word KD online in both


def test_padded_batches_distil_each_utterances_own_frames(kd_env, ctc_cache):
    """In a padded batch ESPnet's encoder counts extra frames for the shorter utterances (from the padding):
    the cache of each utterance's own frames fits it, and the KL covers the same frames online."""
    from espnet_kd.kd.ctc_kd import valid_encoder_frames

    task, args, cached = build(kd_env, weight=0.5, topk=V, ctc_cache=ctc_cache)
    (uttids, batch), = batches(task, args)
    student_frames = cached.encode(batch["speech"], batch["speech_lengths"])[1]
    own = valid_encoder_frames(cached.kd_ctc_frame_config, batch["speech_lengths"])
    assert torch.equal(batch["kd_ctc_topk_lengths"], own)
    assert (student_frames[:-1] > own[:-1]).all() and student_frames[-1] == own[-1]  # the longest: no padding
    cached.eval()
    with torch.no_grad():
        stats = cached(**batch, utt_id=uttids)[1]
    assert stats["loss_ctc_kd"].item() > 0.1 and stats["ctc_kd_frames"].item() == 1.0


def test_a_batch_whose_frames_differ_from_the_cache_is_named(kd_env, ctc_cache):
    from espnet_kd.kd.ctc_kd import CTCKDError

    task, args, cached = build(kd_env, weight=0.5, topk=V, ctc_cache=ctc_cache)
    (uttids, batch), = batches(task, args)
    batch["kd_ctc_topk_lengths"] = batch["kd_ctc_topk_lengths"].clone()
    batch["kd_ctc_topk_lengths"][2] += 1
    with pytest.raises(CTCKDError, match=rf"utterance {uttids[2]}: the teacher's CTC top-k cache has \d+ encoder "
                                         r"frames, the student's encoder \d+: CTC KD .* \(teacher: frontend default "
                                         r"hop_length 64, .*subsampling 2.*; student: .*subsampling 2"):
        cached(**batch, utt_id=uttids)


def test_caches_that_do_not_fit_are_refused(kd_env, ctc_cache, tmp_path):
    from espnet_kd.kd.ctc_kd import CTCKDError
    from tests.tasks.word_kd_helpers import dump

    with pytest.raises(CTCKDError, match=rf"holds the top-{V}, the config asks for kd_ctc_topk=4"):
        build(kd_env, topk=4, ctc_cache=ctc_cache)
    with pytest.raises(CTCKDError, match="needs the online teacher"):
        build(kd_env, topk=0, ctc_cache=ctc_cache)
    with pytest.raises(CTCKDError, match="kd_ctc_weight is 0"):
        build(kd_env, weight=0.0, ctc_cache=ctc_cache)
    word_cache = dump(kd_env, tmp_path / "word_topk", k=4)  # target positions, not encoder frames
    with pytest.raises(CTCKDError, match="is not a CTC top-k cache"):
        build(kd_env, topk=4, ctc_cache=word_cache)


def test_asr_kd_train_with_ctc_kd_from_the_cache(kd_env, ctc_cache, tmp_path):
    from espnet2.tasks.asr import ASRTask

    from espnet_kd.bin import asr_kd_train

    out = tmp_path / "student"
    argv = ctc_argv(kd_env, weight=0.5, topk=V, ctc_cache=ctc_cache) + [
        "--batch_type", "unsorted", "--batch_size", "3", "--max_epoch", "1", "--num_workers", "0",
        "--use_matplotlib", "false", "--use_tensorboard", "false", "--use_wandb", "false", "--ngpu", "0",
        "--seed", "0", "--best_model_criterion", "valid,acc,max", "--keep_nbest_models", "1"]
    argv[argv.index("--output_dir") + 1] = str(out)
    asr_kd_train.main(argv)
    checkpoint = torch.load(out / "checkpoint.pth", weights_only=False)
    stats = checkpoint["reporter"]["stats"][1]
    for split in ("train", "valid"):
        assert {"loss_ctc", "loss_ctc_ref", "loss_ctc_kd", "loss_kd"} <= set(stats[split])
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["kd_ctc_weight"] == 0.5 and config["kd_ctc_topk"] == V
    # stock ESPnet rebuilds the student from its files: nothing missing, nothing extra
    model, _ = ASRTask.build_model_from_file(out / "config.yaml", out / "valid.acc.best.pth")
    state = torch.load(out / "valid.acc.best.pth", weights_only=True)
    assert set(state) == set(model.state_dict())
    model.load_state_dict(state, strict=True)


def test_online_teacher_encodes_each_batch_once_for_both_kd_terms(kd_env, monkeypatch):
    _, _, student = build(kd_env, weight=0.5, topk=4)
    calls = []
    real_encode = student.teacher.encode
    monkeypatch.setattr(student.teacher, "encode", lambda batch: calls.append(1) or real_encode(batch))
    stats = student(**tiny.asr_batch())[1]
    assert len(calls) == 1 and stats["loss_kd"].item() > 0 and stats["loss_ctc_kd"].item() > 0

"""Word-KD tasks and CLIs on tiny real data: dump_topk, cached vs online loss, bad input, training."""

import json

import numpy as np
import pytest
import torch
import yaml

from tests.tasks import tiny_espnet as tiny
from tests.tasks.tiny_espnet import KD_SRC_TEXTS as SRC_TEXTS
from tests.tasks.tiny_espnet import KD_TEXTS as TEXTS
from tests.tasks.word_kd_helpers import build, dump, student_argv, task_of  # noqa: F401

def test_dump_topk_is_sharded_and_resumable(kd_env, tmp_path):
    from espnet_kd.kd.topk_cache import FORMAT, TopKCache, TopKCacheError, shard_data_path

    out = dump(kd_env, tmp_path / "cache", extra=("--num_shards", "2", "--shards", "1"))
    assert not (out / "meta.json").exists()
    with pytest.raises(TopKCacheError, match="unfinished"):
        TopKCache(out)
    shard1 = shard_data_path(out, 1)
    before = shard1.stat().st_mtime_ns
    dump(kd_env, out, extra=("--num_shards", "2"))
    assert shard1.stat().st_mtime_ns == before  # the finished shard was not redone
    cache = TopKCache(out)
    assert sorted(cache) == sorted(TEXTS)
    for uttid, text in TEXTS.items():
        ids, logp = cache[uttid]
        assert ids.shape == (len(text) + 1, 4) and ids.dtype == np.int32 and logp.dtype == np.float32
        assert np.all(np.diff(logp, axis=1) <= 0)  # best first
    meta = json.loads((out / "meta.json").read_text())
    assert meta["k"] == 4 and meta["num_utts"] == 6 and meta["num_shards"] == 2
    # the compact format by default: 9 tokens → 4-bit ids, q8 log-probs
    assert (meta["format"], meta["ids_dtype"], meta["logp_encoding"]) == (FORMAT, "uint4", "q8")


def test_dump_topk_refuses_to_resume_with_other_settings(kd_env, tmp_path, capsys):
    out = dump(kd_env, tmp_path / "cache", extra=("--num_shards", "2", "--shards", "0"))
    with pytest.raises(SystemExit):
        dump(kd_env, out, k=3, extra=("--num_shards", "2"))
    assert f"started with other settings: k 4 → 3; remove {out} to dump again" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        dump(kd_env, out, extra=("--num_shards", "2", "--logp_encoding", "fp16"))
    assert "logp_encoding q8 → fp16 (--logp_encoding)" in capsys.readouterr().err


def test_dump_topk_refuses_to_resume_shards_of_the_old_format(kd_env, tmp_path, capsys):
    from espnet_kd.kd.topk_cache import FORMAT, FORMAT_V1

    out = dump(kd_env, tmp_path / "cache", extra=("--num_shards", "2", "--shards", "0"))
    # what an older version's unfinished dump leaves: its build.json (no ids_dtype / logp_encoding)
    build = json.loads((out / "build.json").read_text())
    build.pop("ids_dtype"), build.pop("logp_encoding")
    (out / "build.json").write_text(json.dumps(dict(build, format=FORMAT_V1)))
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(SystemExit):
        dump(kd_env, out, extra=("--num_shards", "2"))
    err = capsys.readouterr().err
    assert f"{out} holds shards of the top-k cache format {FORMAT_V1}" in err
    assert f"this version writes {FORMAT} and does not mix formats in one cache: remove {out}" in err
    assert sorted(p.name for p in out.iterdir()) == before  # nothing written beside them


@pytest.mark.parametrize("kind", ["asr", "st"])
def test_cached_topk_loss_equals_online_loss(kd_env, tmp_path, kind):
    teacher_kind = "asr" if kind == "asr" else "mt"
    cache = dump(kd_env, tmp_path / "cache", kind=teacher_kind)
    src_text = f"{kd_env['data']}/text.src" if kind == "st" else None
    task, args, online = build(kd_env, kind, src_text=src_text)  # no cache: the teacher runs online
    cached_args = tiny.parse(task, student_argv(kd_env, kind, cache=cache, src_text=src_text))
    cached = task.build_model(cached_args)
    assert online.teacher is not None and cached.teacher is None
    cached.load_state_dict(online.state_dict())
    triples = cached_args.train_data_path_and_name_and_type
    loader = task.build_streaming_iterator(
        triples, preprocess_fn=task.build_preprocess_fn(cached_args, False),
        collate_fn=task.build_collate_fn(cached_args, False), batch_size=6, dtype="float32", num_workers=0,
        allow_variable_data_keys=True)
    uttids, batch = next(iter(loader))
    assert "kd_topk" in batch
    online.eval(); cached.eval()
    with torch.no_grad():
        without_cache = {k: v for k, v in batch.items() if not k.startswith("kd_topk")}
        _, online_stats, _ = online(**without_cache)
        _, cached_stats, _ = cached(**batch, utt_id=uttids)
    assert online_stats["loss_kd"].item() > 0.1
    # the cache's q8 log-probs against the online teacher's float32 ones: within 1e-3 relative
    online_kd, cached_kd = online_stats["loss_kd"].item(), cached_stats["loss_kd"].item()
    assert abs(online_kd - cached_kd) <= 1e-3 * online_kd
    assert torch.equal(online_stats["loss_ce"], cached_stats["loss_ce"])


def test_token_list_mismatch_stops_the_build(kd_env):
    from espnet_kd.teacher import TeacherError

    other = tiny.TOKENS[:3] + list(reversed(tiny.TOKENS[3:-1])) + tiny.TOKENS[-1:]
    tokens = tiny.write_lines(kd_env["root"] / "other_tokens.txt", other)
    with pytest.raises(TeacherError, match="target token lists differ.*first difference at index 3"):
        build(kd_env, tokens=tokens)


def test_cache_of_another_k_teacher_or_token_list_is_refused(kd_env, tmp_path):
    from espnet_kd.kd.topk_cache import TopKCacheError

    cache = dump(kd_env, tmp_path / "cache")
    with pytest.raises(TopKCacheError, match="holds the top-4, the config asks for kd_topk=8"):
        build(kd_env, cache=cache, k=8)
    with pytest.raises(TopKCacheError, match="built with teacher .*asr_teacher/model.pth"):
        build(kd_env, cache=cache, teacher=kd_env["other_teacher"])
    other = list(tiny.TOKENS[:-1]) + ["f", "<sos/eos>"]
    tokens = tiny.write_lines(tmp_path / "tokens_f.txt", other)
    with pytest.raises(TopKCacheError, match="token list hash"):
        build(kd_env, cache=cache, tokens=tokens)


def test_utterance_missing_from_the_cache_is_named(kd_env, tmp_path):
    from espnet_kd.teacher import TeacherError

    data = tiny.write_wav_data(tmp_path / "few", {u: TEXTS[u] for u in ("utt1", "utt2")})
    from espnet_kd.bin import dump_topk
    config, model_file = kd_env["asr_teacher"]
    dump_topk.main(["--teacher_kind", "asr", "--teacher_config", str(config), "--teacher_model_file",
                    str(model_file), "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
                    "--data_path_and_name_and_type", f"{data}/text,text,text", "--out_dir",
                    str(tmp_path / "cache"), "--k", "4"])
    with pytest.raises(TeacherError, match=r"kd_topk\) lacks 4 of the utterances .*utt3, utt4, utt5, utt6"):
        build(kd_env, cache=tmp_path / "cache")


def test_src_text_must_cover_the_training_set(kd_env, tmp_path):
    from espnet_kd.teacher import TeacherError

    partial = tiny.write_lines(tmp_path / "text.src", [f"{u} {SRC_TEXTS[u]}" for u in sorted(TEXTS)[:-1]])
    with pytest.raises(TeacherError, match=r"text.src \(src_text\) lacks 1 of the utterances .*utt6"):
        build(kd_env, "st", src_text=partial)
    with pytest.raises(TeacherError, match="online MT teacher reads the source transcript"):
        build(kd_env, "st")


def test_st_student_takes_the_teachers_source_vocabulary_or_refuses_another(kd_env):
    from espnet_kd.teacher import TeacherError

    _, args, model = build(kd_env, "st", src_text=f"{kd_env['data']}/text.src")
    assert args.src_token_list == tiny.SRC_TOKENS and model.src_token_list == tiny.SRC_TOKENS
    task = task_of("st")
    wrong = tiny.write_lines(kd_env["root"] / "wrong_src.txt", tiny.SRC_TOKENS[:-1] + ["w", "<sos/eos>"])
    args = tiny.parse(task, student_argv(kd_env, "st", src_text=f"{kd_env['data']}/text.src") +
                      ["--src_token_list", str(wrong), "--src_token_type", "char"])
    with pytest.raises(TeacherError, match="source token lists differ"):
        task.build_model(args)


TRAIN_OPTIONS = ["--batch_type", "unsorted", "--batch_size", "3", "--max_epoch", "1", "--num_workers", "0",
                 "--use_matplotlib", "false", "--use_tensorboard", "false", "--use_wandb", "false",
                 "--ngpu", "0", "--seed", "0", "--best_model_criterion", "valid,acc,max",
                 "--keep_nbest_models", "1"]


def check_trained(out_dir, stock_task):
    checkpoint = torch.load(out_dir / "checkpoint.pth", weights_only=False)
    stats = checkpoint["reporter"]["stats"][1]
    for split in ("train", "valid"):
        assert {"loss_kd", "loss_ce", "acc", "loss"} <= set(stats[split])
    assert (out_dir / "valid.acc.best.pth").exists()
    config = yaml.safe_load((out_dir / "config.yaml").read_text())
    assert config.get("model", "espnet") == "espnet" and config["kd_lambda"] == 0.5
    assert config["kd_loss"] == "kl"  # the default loss, recorded with the other KD options
    # ESPnet's own task rebuilds the student from its files: no teacher weights, nothing missing
    model, _ = stock_task.build_model_from_file(out_dir / "config.yaml", out_dir / "valid.acc.best.pth")
    state = torch.load(out_dir / "valid.acc.best.pth", weights_only=False)
    assert set(state) == set(model.state_dict())
    return stats


def test_asr_kd_train_runs_espnets_trainer_from_the_cache(kd_env, tmp_path):
    from espnet2.tasks.asr import ASRTask

    from espnet_kd.bin import asr_kd_train

    cache = dump(kd_env, tmp_path / "cache")
    out = tmp_path / "student"
    argv = student_argv(kd_env, cache=cache) + TRAIN_OPTIONS
    argv[argv.index("--output_dir") + 1] = str(out)
    asr_kd_train.main(argv)
    stats = check_trained(out, ASRTask)
    assert "loss_ctc" in stats["train"]  # ESPnet's CTC branch is kept


def test_st_kd_train_runs_espnets_trainer_with_the_online_mt_teacher(kd_env, tmp_path):
    from espnet2.tasks.st import STTask

    from espnet_kd.bin import st_kd_train

    out = tmp_path / "student"
    argv = student_argv(kd_env, "st", src_text=f"{kd_env['data']}/text.src") + TRAIN_OPTIONS
    argv[argv.index("--output_dir") + 1] = str(out)
    st_kd_train.main(argv)
    check_trained(out, STTask)


# --- the set-up parsed once, each cache opened once, the loss chosen by name -------------


def test_setup_is_read_from_the_arguments_once_without_opening_anything(kd_env):
    from espnet_kd.kd.criterion import WordKDConfig
    from espnet_kd.tasks.word_kd import DataStream, SplitData, WordKDSetup, word_kd_setup

    missing_cache = str(kd_env["root"] / "no_such_cache")  # parsing reads no cache
    args = tiny.parse(task_of("asr"), student_argv(kd_env, cache=missing_cache, k=3) + ["--kd_temperature", "2"])
    config, model_file = kd_env["asr_teacher"]
    data = kd_env["data"]
    streams = (DataStream(f"{data}/wav.scp", "speech", "sound"), DataStream(f"{data}/text", "text", "text"),
               DataStream(missing_cache, "kd_topk", "kd_topk"))
    setup = word_kd_setup(args, "asr")
    assert setup == WordKDSetup(
        teacher_kind="asr", teacher_config=str(config), teacher_model_file=str(model_file),
        criterion=WordKDConfig(kd_lambda=0.5, temperature=2.0, topk=3, loss="kl"),
        token_list=tuple(tiny.TOKENS), src_token_list=None,
        data=(SplitData("train", streams, missing_cache), SplitData("valid", streams, missing_cache)))
    assert not setup.needs_online_teacher and setup.online_data == ()
    with pytest.raises(AttributeError):
        setup.teacher_kind = "mt"  # frozen
    # valid without a cache: the teacher runs online for it
    args.valid_data_path_and_name_and_type = [triple for triple in args.valid_data_path_and_name_and_type
                                              if triple[2] != "kd_topk"]
    mixed = word_kd_setup(args, "asr")
    assert mixed.needs_online_teacher and [d.split for d in mixed.online_data] == ["valid"]
    assert [d.split for d in mixed.cached_data] == ["train"]
    # no data streams at all: online
    args.train_data_path_and_name_and_type = args.valid_data_path_and_name_and_type = []
    assert word_kd_setup(args, "asr").data == () and word_kd_setup(args, "asr").needs_online_teacher


def test_setup_refuses_bad_values_with_clear_errors(kd_env):
    from espnet_kd.kd.criterion import WordKDError
    from espnet_kd.kd.topk_cache import TopKCacheError
    from espnet_kd.tasks.word_kd import word_kd_setup

    task = task_of("asr")
    with pytest.raises(WordKDError, match=r"unknown kd_loss 'kld' \(known: kl"):
        word_kd_setup(tiny.parse(task, student_argv(kd_env) + ["--kd_loss", "kld"]), "asr")
    with pytest.raises(WordKDError, match="kd_lambda must be in"):
        word_kd_setup(tiny.parse(task, student_argv(kd_env) + ["--kd_lambda", "1.5"]), "asr")
    args = tiny.parse(task, student_argv(kd_env) + ["--train_data_path_and_name_and_type", "c,topk,kd_topk"])
    with pytest.raises(TopKCacheError, match="must be named 'kd_topk', not 'topk'"):
        word_kd_setup(args, "asr")
    with pytest.raises(WordKDError, match="unknown kd_loss 'kld'"):  # the same error from the task's build
        task.build_model(tiny.parse(task, student_argv(kd_env) + ["--kd_loss", "kld"]))


@pytest.mark.parametrize("shared", [True, False], ids=["train_valid_share_a_cache", "one_cache_each"])
def test_each_cache_is_opened_once_per_build(kd_env, tmp_path, monkeypatch, shared):
    import shutil

    from espnet_kd.kd.topk_cache import TopKCache

    cache = dump(kd_env, tmp_path / "cache")
    valid_cache = cache if shared else shutil.copytree(cache, tmp_path / "valid_cache")
    argv = student_argv(kd_env, cache=cache)
    argv[[i for i, a in enumerate(argv) if a.endswith(",kd_topk,kd_topk")][1]] = f"{valid_cache},kd_topk,kd_topk"
    task = task_of("asr")
    args = tiny.parse(task, argv)
    opened = []
    real_init = TopKCache.__init__

    def counting_init(self, cache_dir):
        opened.append(str(cache_dir))
        real_init(self, cache_dir)

    monkeypatch.setattr(TopKCache, "__init__", counting_init)
    model = task.build_model(args)
    assert model.teacher is None
    assert sorted(opened) == sorted({str(cache), str(valid_cache)})


def test_a_registered_loss_is_chosen_by_the_kd_loss_option(kd_env, monkeypatch):
    from espnet_kd.kd import losses

    monkeypatch.setattr(losses, "KD_LOSSES", dict(losses.KD_LOSSES))

    @losses.register_kd_loss("twice_kl")
    def twice_kl(teacher_logp, student_logp):
        return 2.0 * losses.kl_per_position(teacher_logp, student_logp)

    batch = tiny.asr_batch()
    stats = {}
    task = task_of("asr")
    for name in ("kl", "twice_kl"):
        args = tiny.parse(task, student_argv(kd_env) + ["--kd_loss", name])
        torch.manual_seed(0)
        model = task.build_model(args)
        assert model.kd_criterion.config.loss == name
        model.eval()
        with torch.no_grad():
            stats[name] = model(**batch)[1]
    assert stats["kl"]["loss_kd"].item() > 0.1
    assert torch.equal(stats["twice_kl"]["loss_kd"], 2 * stats["kl"]["loss_kd"])  # ×2 is exact in floats
    assert torch.equal(stats["twice_kl"]["loss_ce"], stats["kl"]["loss_ce"])


def test_a_cache_joined_from_held_out_teachers_is_not_checked_against_the_configured_one(kd_env, tmp_path):
    """--teacher_folds: the training set's cache comes from the fold teachers (here the ASR teacher labels fold 1, another
    teacher fold 2); the student trains from it though neither is --kd_teacher_model_file, and its stream is theirs."""
    import shutil

    from espnet_kd.kd.topk_cache import TopKCache
    from espnet_kd.utils.folds import fold_dir, merge_fold_topk, split_folds

    data = tmp_path / "data"
    shutil.copytree(kd_env["data"], data)
    utts = [line.split()[0] for line in (data / "text").read_text().splitlines()]
    tiny.write_lines(data / "utt2spk", [f"{u} spk" for u in utts])
    split_folds(data, 2, tmp_path / "folds")
    fold_caches = []
    for fold, teacher in ((1, kd_env["asr_teacher"]), (2, kd_env["other_teacher"])):
        heldout = fold_dir(tmp_path / "folds", fold, "heldout")
        fold_caches.append(dump({**kd_env, "data": heldout}, tmp_path / f"cache{fold}", teacher=teacher))
    merge_fold_topk(fold_caches, data, tmp_path / "joined")
    task, args, model = build(kd_env, cache=tmp_path / "joined", teacher=kd_env["other_teacher"])
    assert model.teacher is None
    joined, fold2 = TopKCache(tmp_path / "joined"), TopKCache(fold_caches[1])
    some_utt = next(iter(fold2))
    np.testing.assert_array_equal(joined.stream(some_utt), fold2.stream(some_utt))
    # a cache of one teacher is still checked against the configured teacher
    with pytest.raises(Exception, match="built with teacher .*asr_teacher/model.pth"):
        build(kd_env, cache=fold_caches[0], teacher=kd_env["other_teacher"])

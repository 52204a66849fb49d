"""The compact top-k cache format (espnet_kd.topk_cache/2) and reading format /1.

- ids: bit-packed at the vocabulary's width, exact for every width (also past 65536 tokens);
- size: bytes per target position measured from the files on disk, <= 24 at k = 8;
- q8 log-probs: every value within half a level step of the truth, and the word-KD loss from
  the cache within 1e-3 (relative) of the loss from the float32 teacher, on the outputs of a
  small real ESPnet model trained here (a char-level MT decoder, peaked as trained teachers are);
- format /1 caches (int32 ids + float16 log-probs, written here as the previous version wrote
  them) load to identical arrays;
- what the writer refuses (ids outside the vocabulary, log-probs not best first) and what the
  reader refuses (an unknown format, shards that do not match meta.json).
"""

import json
import math
import string

import numpy as np
import pytest
import torch

from espnet_kd.kd.losses import teacher_topk, topk_loss
from espnet_kd.kd.topk_cache import (
    FORMAT,
    FORMAT_V1,
    META_NAME,
    TopKCache,
    TopKCacheError,
    TopKCacheMeta,
    TopKCodec,
    TopKStreamLoader,
    ids_bits,
    q8_offset_levels,
    q8_top1_levels,
    shard_data_path,
    shard_stem,
    unpack_topk_stream,
    write_shard,
)
from tests.tasks import tiny_espnet as tiny


def make_meta(vocab_size, k=8, num_utts=1, num_shards=1, **overrides):
    values = dict(k=k, temperature=1.0, teacher_kind="asr", teacher_sha256="a" * 64,
                  teacher_model_file="exp/teacher/model.pth", token_list_hash="b" * 64,
                  vocab_size=vocab_size, num_shards=num_shards, num_utts=num_utts)
    values.update(overrides)
    return TopKCacheMeta(**values)


def write_cache(path, utterances, vocab_size, k=8, shards=1, **overrides):
    """``utterances``: ``(uttid, ids, logp)``, split over ``shards`` shards; returns the opened cache."""
    meta = make_meta(vocab_size, k=k, num_utts=len(utterances), num_shards=shards, **overrides)
    for shard in range(shards):
        write_shard(path, shard, utterances[shard::shards], meta)
    meta.write(path / META_NAME)
    return TopKCache(path)


def peaked_topk(rng, positions, vocab_size, k=8, scale=4.0):
    """The top-k of random softmax distributions with a Zipf-like tail, best first (float64)."""
    logits = scale * rng.standard_normal((positions, vocab_size)) - np.log1p(np.arange(vocab_size))
    logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    ids = np.argsort(-logp, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(logp, ids, axis=1)


def utterances_of(rng, vocab_size, lengths, k=8, logp_vocab=None):
    """Utterances of ``lengths`` positions; with ``logp_vocab`` (cheaper for large vocabularies)
    the log-probs come from a ``logp_vocab``-token distribution and the ids are drawn at random."""
    out = []
    for i, n in enumerate(lengths):
        ids, logp = peaked_topk(rng, n, logp_vocab or vocab_size, k)
        if logp_vocab:
            ids = rng.integers(0, vocab_size, size=(n, k))
        out.append((f"utt{i:04d}", ids, logp))
    return out


# ---------------------------------------------------------------- ids

@pytest.mark.parametrize("vocab_size,bits", [(2, 1), (9, 4), (30, 5), (256, 8), (257, 9), (5000, 13),
                                             (65536, 16), (65537, 17), (70000, 17), (1 << 20, 20),
                                             (1 << 26, 26)])
def test_ids_are_exact_at_the_vocabulary_width(tmp_path, vocab_size, bits):
    rng = np.random.default_rng(vocab_size)
    k = min(8, vocab_size)
    ids = rng.integers(0, vocab_size, size=(40, k))
    ids[0, 0], ids[1, -1] = 0, vocab_size - 1  # both ends of the range
    logp = np.sort(np.log(rng.dirichlet(np.ones(k), size=40)), axis=1)[:, ::-1]
    cache = write_cache(tmp_path, [("u", ids, logp)], vocab_size, k=k)
    assert ids_bits(vocab_size) == bits and cache.meta.ids_dtype == f"uint{bits}"
    assert cache.codec.row_bytes == math.ceil(k * bits / 8) + k
    got, _ = cache["u"]
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, ids)
    if vocab_size >= 1 << 24:
        with pytest.raises(TopKCacheError, match="vocabulary too large for the packed float32 stream"):
            TopKStreamLoader(tmp_path)
        return
    stream = TopKStreamLoader(tmp_path)["u"]  # float32 holds ids exactly below 2**24
    assert stream.dtype == np.float32 and stream.shape == (40, 2 * k)
    np.testing.assert_array_equal(stream[:, :k], ids.astype(np.float32))
    np.testing.assert_array_equal(stream[:, k:], cache["u"][1])


def test_a_vocabulary_of_65536_tokens_or_more_widens_the_ids(tmp_path):
    """Past uint16 the ids take 17 bits, not int32: ids above 65535 survive, the row grows by one byte."""
    ids, logp = peaked_topk(np.random.default_rng(0), 30, 70000)
    ids[:, 0] = 69999 - np.arange(30)
    cache = write_cache(tmp_path, [("u", ids, logp)], 70000)
    assert cache.meta.ids_dtype == "uint17" and cache.codec.row_bytes == 17 + 8
    np.testing.assert_array_equal(cache["u"][0], ids)
    assert TopKCodec.of(make_meta(65536)).row_bytes == 16 + 8  # plain little-endian uint16 + 8 codes


def test_16_bit_ids_are_little_endian_uint16(tmp_path):
    ids, logp = peaked_topk(np.random.default_rng(1), 5, 60000)
    write_cache(tmp_path, [("u", ids, logp)], 60000)
    rows = np.load(shard_data_path(tmp_path, 0))
    np.testing.assert_array_equal(rows[:, :16].copy().view("<u2"), ids)


def test_ids_outside_the_vocabulary_and_unsorted_log_probs_are_refused(tmp_path):
    ids, logp = peaked_topk(np.random.default_rng(2), 4, 30)
    meta = make_meta(30)
    bad = ids.copy()
    bad[2, 3] = 30
    with pytest.raises(TopKCacheError, match=r"utterance 'u': token ids 0..30 outside the vocabulary of 30"):
        write_shard(tmp_path, 0, [("u", bad, logp)], meta)
    with pytest.raises(TopKCacheError, match="not best first"):
        write_shard(tmp_path, 0, [("u", ids, logp[:, ::-1])], meta)
    with pytest.raises(TopKCacheError, match="writes top-k caches of format .*/2, not .*/1"):
        write_shard(tmp_path, 0, [("u", ids, logp)], make_meta(30, format=FORMAT_V1))
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- size

@pytest.mark.parametrize("vocab_size,data_bytes", [(30, 13), (5000, 21), (32768, 23)])
def test_bytes_per_position_on_disk_at_k8(tmp_path, vocab_size, data_bytes):
    """Every file of the cache (arrays, indexes, meta.json, build.json) over its positions."""
    rng = np.random.default_rng(3)
    lengths = rng.integers(15, 60, size=300)  # utterances of 15-60 tokens, 11k positions in 2 shards
    cache = write_cache(tmp_path, utterances_of(rng, vocab_size, lengths, logp_vocab=64), vocab_size, shards=2)
    (tmp_path / "build.json").write_text(json.dumps(cache.meta.build_settings()))
    positions = cache.num_positions()
    assert positions == lengths.sum()
    assert cache.data_bytes() == positions * data_bytes + sum(
        shard_data_path(tmp_path, s).stat().st_size - np.load(shard_data_path(tmp_path, s)).nbytes for s in (0, 1))
    assert cache.disk_bytes() / positions <= 24
    assert cache.data_bytes() / positions <= data_bytes + 0.05
    # fp16 log-probs: 8 bytes more per position; format /1 took 48
    fp16 = write_cache(tmp_path / "fp16", utterances_of(rng, vocab_size, lengths, logp_vocab=64), vocab_size, shards=2,
                       logp_encoding="fp16")
    assert 0 <= fp16.data_bytes() / positions - (data_bytes + 8) <= 0.05


# ---------------------------------------------------------------- q8 accuracy

def half_steps(levels, values):
    """Half the distance to the neighbouring level on the side of ``values`` (the largest error of
    rounding to the nearest level), for values inside the levels' range."""
    index = np.clip(np.searchsorted(levels, values), 1, len(levels) - 1)
    return (levels[index] - levels[index - 1]) / 2


@pytest.mark.parametrize("vocab_size", [30, 5000])
def test_q8_rounds_to_the_nearest_level(tmp_path, vocab_size):
    """Each decoded top-1 and offset is the nearest level (at most half a step off; float32 decoding
    adds 1e-6); offsets past the last level decode to it. Truncating, a wrong scale or a shifted
    level table fail this."""
    rng = np.random.default_rng(4)
    utts = utterances_of(rng, vocab_size, [200] * 5)
    cache = write_cache(tmp_path, utts, vocab_size)
    top1_levels, offset_levels = -q8_top1_levels(vocab_size), q8_offset_levels()
    assert offset_levels[1] == pytest.approx(3 / 256, rel=0.01) and offset_levels[-1] == pytest.approx(3 * math.log(256))
    for uttid, _, logp in utts:
        got = cache[uttid][1].astype(np.float64)
        top1_error = np.abs(got[:, 0] - logp[:, 0])
        assert np.all(top1_error <= half_steps(top1_levels, -logp[:, 0]) + 1e-6)
        offsets, got_offsets = logp[:, :1] - logp[:, 1:], got[:, :1] - got[:, 1:]
        inside = offsets < offset_levels[-1]
        assert inside.mean() > 0.5
        error = np.abs(got_offsets - offsets)[inside]
        assert np.all(error <= half_steps(offset_levels, offsets[inside]) + 1e-5)
        np.testing.assert_allclose(got_offsets[~inside], offset_levels[-1], atol=1e-5)
        # where the mass is (offsets below 3 nats, a token at least 5 % as likely as the top-1):
        # within 0.02 nats, against fp16's 0.004 on log-probs of this size
        assert np.all(np.abs(got_offsets - offsets)[offsets < 3] <= 0.02)


def trained_tiny_mt_logits(tmp_path, steps=120, snapshots=(30, 100)):
    """Decoder logits of a small real ESPnet MT model (char vocabulary of 30) trained ``steps``
    Adam steps on English-like text, teacher-forced on held-out sentences, at its end and at
    ``snapshots`` (the "students"); and the references ``ys_out`` (-1 padded)."""
    from espnet2.tasks.mt import MTTask
    from espnet.nets.pytorch_backend.transformer.add_sos_eos import add_sos_eos

    tokens = ["<blank>", "<unk>", "<space>", *string.ascii_lowercase, "<sos/eos>"]
    token_list = tiny.write_lines(tmp_path / "tokens.txt", tokens)
    options = [o.replace("=8", "=32").replace("=16", "=64") for o in tiny.MT_MODEL_OPTIONS]
    args = tiny.parse(MTTask, ["--token_list", str(token_list), "--src_token_list", str(token_list),
                               "--output_dir", str(tmp_path / "mt"), "--token_type", "char",
                               "--src_token_type", "char", *options])
    torch.manual_seed(0)
    model = MTTask.build_model(args)
    words = "the cat sat on a mat and then ran far away from the dog who was big but kind to it".split()
    rng = np.random.default_rng(0)

    def batch(size):
        sentences = [[tokens.index(c if c != " " else "<space>") for c in " ".join(rng.choice(words, 3 + i % 4))]
                     for i in range(size)]
        lengths = torch.tensor([len(s) for s in sentences])
        text = torch.full((size, int(lengths.max())), -1, dtype=torch.long)
        for i, sentence in enumerate(sentences):
            text[i, :len(sentence)] = torch.tensor(sentence)
        return dict(text=text, text_lengths=lengths, src_text=text.clamp(min=0), src_text_lengths=lengths)

    held_out = batch(48)
    ys_in, ys_out = add_sos_eos(held_out["text"], model.sos, model.eos, -1)

    def logits():
        model.eval()
        with torch.no_grad():
            encoder_out, encoder_lens = model.encode(held_out["src_text"], held_out["src_text_lengths"])
            return model.decoder(encoder_out, encoder_lens, ys_in, held_out["text_lengths"] + 1)[0]

    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    students = {}
    for step in range(1, steps + 1):
        model.train()
        loss, _, _ = model(**batch(16))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step in snapshots:
            students[step] = logits()
    return logits(), students, ys_out, len(tokens)


@pytest.fixture(scope="module")
def tiny_mt_outputs(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return trained_tiny_mt_logits(tmp_path_factory.mktemp("tiny_mt"))
    finally:
        torch.set_num_threads(threads)


def cached_topk(tmp_path, ids, logp, ys_out, vocab_size, encoding):
    """The teacher's top-k written to a cache with ``encoding`` and read back as the trainer reads
    it (the ``kd_topk`` stream, padded, unpacked)."""
    mask = ys_out != -1
    utts = [(f"u{i:03d}", ids[i][mask[i]].numpy(), logp[i][mask[i]].numpy()) for i in range(len(ys_out))]
    write_cache(tmp_path, utts, vocab_size, k=ids.size(-1), logp_encoding=encoding)
    loader = TopKStreamLoader(tmp_path)
    packed = torch.zeros(len(utts), ys_out.size(1), 2 * ids.size(-1))
    for i, (uttid, _, _) in enumerate(utts):
        array = torch.from_numpy(loader[uttid])
        packed[i, :len(array)] = array
    return unpack_topk_stream(packed)


@pytest.mark.parametrize("sharpen", [1.0, 3.0])
def test_kl_loss_from_the_compact_cache_matches_the_float32_teacher(tmp_path, tiny_mt_outputs, sharpen):
    """The word-KD loss (KL, top-8) with the cache's q8 log-probs, against the loss with the float32
    teacher's, for students early and late in training: within 1e-3 relative. ``sharpen`` 3 makes
    the teacher about as confident as a trained ASR teacher on its training data (median top-1
    ≈ 0.88; mini_synth asr1's teacher after its 40 epochs: 0.94)."""
    teacher, students, ys_out, vocab_size = tiny_mt_outputs
    teacher = teacher * sharpen
    ids, logp = teacher_topk(teacher, 8)
    mask = ys_out != -1
    top1 = logp[..., 0].exp()[mask].median().item()
    assert top1 > (0.4 if sharpen == 1 else 0.8)  # a trained model's confidence, not a flat one
    decoded = {enc: cached_topk(tmp_path / enc, ids, logp, ys_out, vocab_size, enc) for enc in ("q8", "fp16")}
    for enc, (got_ids, _) in decoded.items():
        assert torch.equal(got_ids[mask], ids[mask])
    for step, student in students.items():
        student = student * sharpen
        reference = topk_loss(student, ids, logp, ys_out).item()
        assert 0.05 < reference * len(ys_out) / mask.sum().item() < 3  # nats per position
        for enc, (got_ids, got_logp) in decoded.items():
            error = abs(topk_loss(student, got_ids, got_logp, ys_out).item() - reference) / reference
            assert error <= (1e-3 if enc == "q8" else 1e-4), (enc, step, error)


# ---------------------------------------------------------------- format /1

def write_v1_shard(cache_dir, shard, utterances):
    """The shard writer of format /1 (espnet_kd before the compact format), as it was."""
    stem = shard_stem(cache_dir, shard)
    ids_parts, logp_parts, index_lines, offset = [], [], [], 0
    for uttid, ids, logp in utterances:
        ids_parts.append(ids.astype(np.int32))
        logp_parts.append(logp.astype(np.float16))
        index_lines.append(f"{uttid} {offset} {ids.shape[0]}\n")
        offset += ids.shape[0]
    np.save(stem.with_name(stem.name + ".ids.npy"), np.concatenate(ids_parts))
    np.save(stem.with_name(stem.name + ".logp.npy"), np.concatenate(logp_parts))
    stem.with_suffix(".index").write_text("".join(index_lines), encoding="utf-8")


V1_META = dict(k=8, temperature=1.0, teacher_kind="asr", teacher_sha256="a" * 64,
               teacher_model_file="exp/teacher/model.pth", token_list_hash="b" * 64, vocab_size=5000,
               num_shards=2, num_utts=3, format=FORMAT_V1, extra={"utterances": 3})


def test_a_format_1_cache_loads_with_identical_arrays(tmp_path):
    rng = np.random.default_rng(5)
    utts = utterances_of(rng, 5000, [7, 3, 12])
    write_v1_shard(tmp_path, 0, utts[:2])
    write_v1_shard(tmp_path, 1, utts[2:])
    (tmp_path / META_NAME).write_text(json.dumps(V1_META, indent=2, sort_keys=True))
    cache = TopKCache(tmp_path)
    assert (cache.meta.format, cache.meta.ids_dtype, cache.meta.logp_encoding) == (FORMAT_V1, "int32", "fp16")
    cache.check_matches(8, "b" * 64, "a" * 64)
    files = {s: (np.load(shard_stem(tmp_path, s).with_name(f"shard_0000{s}.ids.npy")),
                 np.load(shard_stem(tmp_path, s).with_name(f"shard_0000{s}.logp.npy"))) for s in (0, 1)}
    expected = {"utt0000": (files[0][0][:7], files[0][1][:7]), "utt0001": (files[0][0][7:], files[0][1][7:]),
                "utt0002": files[1]}
    loader = TopKStreamLoader(tmp_path)
    for uttid, (ids, logp) in expected.items():
        got_ids, got_logp = cache[uttid]
        assert got_ids.dtype == np.int32 and got_logp.dtype == np.float16
        np.testing.assert_array_equal(got_ids, ids)
        np.testing.assert_array_equal(got_logp, logp)
        np.testing.assert_array_equal(loader[uttid], np.concatenate([ids, logp], axis=1).astype(np.float32))
    assert cache.data_bytes() == sum(p.stat().st_size for p in tmp_path.glob("*.npy"))
    assert 48 <= cache.data_bytes() / cache.num_positions() <= 48 + 4 * 128 / 22


def test_an_unknown_format_and_mismatched_shards_are_refused(tmp_path):
    ids, logp = peaked_topk(np.random.default_rng(6), 10, 30)
    write_cache(tmp_path, [("u", ids, logp)], 30)
    meta = json.loads((tmp_path / META_NAME).read_text())
    (tmp_path / META_NAME).write_text(json.dumps(dict(meta, format="espnet_kd.topk_cache/3")))
    with pytest.raises(TopKCacheError, match=r"format 'espnet_kd.topk_cache/3' is unknown to this version"):
        TopKCache(tmp_path)
    # meta.json saying fp16 over q8 rows: refused on first read, not decoded as garbage
    (tmp_path / META_NAME).write_text(json.dumps(dict(meta, logp_encoding="fp16")))
    with pytest.raises(TopKCacheError, match=r"rows of \(13,\) bytes, .*says 21"):
        TopKCache(tmp_path)["u"]
    (tmp_path / META_NAME).write_text(json.dumps(dict(meta, ids_dtype="uint3")))
    with pytest.raises(TopKCacheError, match="ids_dtype 'uint3' cannot hold the ids of 30 tokens"):
        TopKCache(tmp_path)
    assert meta["format"] == FORMAT

"""The sharded top-k cache: round trip, the ESPnet stream packing, and its error messages.

The compact format itself (bytes, quantisation error, KL error, format /1) is tested in
tests/kd/test_topk_format.py.
"""

import numpy as np
import pytest
import torch

from espnet_kd.kd.topk_cache import (
    META_NAME,
    TopKCache,
    TopKCacheError,
    TopKCacheMeta,
    TopKStreamLoader,
    shard_is_complete,
    unpack_topk_stream,
    write_shard,
)


def make_meta(num_utts, k=3, num_shards=2, **overrides):
    values = dict(k=k, temperature=1.0, teacher_kind="asr", teacher_sha256="a" * 64,
                  teacher_model_file="exp/teacher/model.pth", token_list_hash="b" * 64,
                  vocab_size=50, num_shards=num_shards, num_utts=num_utts)
    values.update(overrides)
    return TopKCacheMeta(**values)


def utterance(uttid, positions, k, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 50, size=(positions, k)).astype(np.int64)
    logp = np.sort(np.log(rng.dirichlet(np.ones(k), size=positions)), axis=1)[:, ::-1].copy()
    return uttid, ids, logp


@pytest.fixture(params=["q8", "fp16"])
def cache_dir(tmp_path, request):
    meta = make_meta(3, logp_encoding=request.param)
    shard0 = [utterance("u1", 4, 3, 1), utterance("u2", 2, 3, 2)]
    shard1 = [utterance("u3", 5, 3, 3)]
    write_shard(tmp_path, 0, shard0, meta)
    write_shard(tmp_path, 1, shard1, meta)
    meta.write(tmp_path / META_NAME)
    return tmp_path, {u: (i, l) for u, i, l in shard0 + shard1}


# the largest error of a decoded log-prob for these distributions (Dirichlet over 3 tokens:
# offsets below the top-1 of at most ~8 nats, where q8's levels are up to 0.2 apart; the
# exact bounds are tested in test_topk_format.py)
TOLERANCE = {"q8": 0.1, "fp16": 2e-3}


def test_round_trip_by_uttid_with_dtypes(cache_dir):
    path, originals = cache_dir
    cache = TopKCache(path)
    encoding = cache.meta.logp_encoding
    assert sorted(cache) == ["u1", "u2", "u3"] and len(cache) == 3
    for uttid, (ids, logp) in originals.items():
        got_ids, got_logp = cache[uttid]
        assert got_ids.dtype == np.int32
        assert got_logp.dtype == (np.float32 if encoding == "q8" else np.float16)
        np.testing.assert_array_equal(got_ids, ids)
        np.testing.assert_allclose(got_logp.astype(np.float64), logp, atol=TOLERANCE[encoding])
    assert cache.num_positions() == 11
    # 50 tokens: 6-bit ids, 3 per position in 3 bytes; log-probs 1 (q8) or 2 (fp16) bytes each;
    # one .npy header per shard
    per_position = 3 + 3 * (1 if encoding == "q8" else 2)
    assert 11 * per_position <= cache.data_bytes() <= 11 * per_position + 2 * 128


def test_missing_utterance_names_it_and_the_cache(cache_dir):
    path, _ = cache_dir
    with pytest.raises(TopKCacheError, match=r"utterance 'nope' is not in the top-k cache .*3 utterances"):
        TopKCache(path)["nope"]


def test_unfinished_cache_is_refused(tmp_path):
    write_shard(tmp_path, 0, [utterance("u1", 2, 3, 0)], make_meta(1))
    (tmp_path / "build.json").write_text("{}")
    with pytest.raises(TopKCacheError, match="unfinished top-k cache"):
        TopKCache(tmp_path)
    assert shard_is_complete(tmp_path, 0) and not shard_is_complete(tmp_path, 1)


def test_missing_shard_is_refused(tmp_path):
    write_shard(tmp_path, 0, [utterance("u1", 2, 3, 0)], make_meta(1))
    make_meta(1).write(tmp_path / META_NAME)
    with pytest.raises(TopKCacheError, match="shard 1 is missing"):
        TopKCache(tmp_path)


def test_check_matches_names_each_mismatch(cache_dir):
    path, _ = cache_dir
    cache = TopKCache(path)
    cache.check_matches(3, "b" * 64, "a" * 64)  # the settings it was built with
    with pytest.raises(TopKCacheError, match="top-3, the config asks for kd_topk=8"):
        cache.check_matches(8, "b" * 64)
    with pytest.raises(TopKCacheError, match="token list hash bbbbbbbbbbbb differs from the student's cccccccccccc"):
        cache.check_matches(3, "c" * 64)
    with pytest.raises(TopKCacheError, match="built with teacher exp/teacher/model.pth"):
        cache.check_matches(3, "b" * 64, "d" * 64)


def test_stream_packing_round_trips_through_padding(cache_dir):
    path, originals = cache_dir
    loader = TopKStreamLoader(path)
    arrays = [loader[u] for u in ("u1", "u2")]
    assert arrays[0].shape == (4, 6) and arrays[0].dtype == np.float32
    padded = torch.zeros(2, 4, 6)
    for i, array in enumerate(arrays):
        padded[i, : len(array)] = torch.from_numpy(array)
    ids, logp = unpack_topk_stream(padded)
    assert ids.dtype == torch.long
    np.testing.assert_array_equal(ids[0].numpy(), originals["u1"][0])
    np.testing.assert_array_equal(ids[1, :2].numpy(), originals["u2"][0])
    np.testing.assert_allclose(logp[1, :2].numpy(), originals["u2"][1],
                               atol=TOLERANCE[loader.cache.meta.logp_encoding])
    assert logp.dtype == torch.float32

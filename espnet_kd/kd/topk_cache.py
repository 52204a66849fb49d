"""The offline top-k teacher cache: the teacher's k best tokens at every target position.

Layout of a cache directory::

    meta.json                 written last: k, temperature, teacher fingerprint,
                              token-list hash, shard and utterance counts
    build.json                the settings the dump started with (resume check)
    shard_00000.ids.npy       int32   (positions, k): token ids, best first
    shard_00000.logp.npy      float16 (positions, k): log-probabilities at `temperature`
    shard_00000.index         "uttid offset length" per utterance (written last per shard)

An utterance with ``n`` reference tokens has ``n + 1`` positions (the tokens and
``<sos/eos>``), in the order of ESPnet's teacher-forced decoder. A shard is
complete when its ``.index`` exists; a cache is complete when ``meta.json``
exists. Every file is written atomically.

Training reads the cache as an ESPnet data stream of type ``kd_topk``
(``--train_data_path_and_name_and_type exp/teacher/topk_train,kd_topk,kd_topk``):
per utterance a float32 array ``(positions, 2k)`` holding the ids (exact in
float32 for vocabularies below 2**24) then the log-probabilities;
:func:`unpack_topk_stream` splits a padded batch of them again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np
import torch

from espnet_kd.utils.fileio import PathLike, atomic_write

FORMAT = "espnet_kd.topk_cache/1"
META_NAME = "meta.json"
BUILD_NAME = "build.json"
DATA_TYPE = "kd_topk"
IDS_DTYPE = np.int32
LOGP_DTYPE = np.float16
MAX_EXACT_FLOAT32_ID = 1 << 24


class TopKCacheError(ValueError):
    """A top-k cache is missing, incomplete, or was built for another setting."""


@dataclass
class TopKCacheMeta:
    """What a cache was built from; two caches with equal metas are interchangeable."""

    k: int
    temperature: float
    teacher_kind: str
    teacher_sha256: str
    teacher_model_file: str
    token_list_hash: str
    vocab_size: int
    num_shards: int
    num_utts: int = 0
    format: str = FORMAT
    extra: Dict[str, Any] = field(default_factory=dict)

    def build_settings(self) -> Dict[str, Any]:
        """The fields that must not change when a dump resumes."""
        settings = asdict(self)
        settings.pop("num_utts")
        return settings

    @classmethod
    def from_json(cls, path: Path) -> "TopKCacheMeta":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise TopKCacheError(f"{path}: not a top-k cache meta file ({exc})") from exc

    def write(self, path: Path) -> None:
        with atomic_write(path) as handle:
            json.dump(asdict(self), handle, indent=2, sort_keys=True)
            handle.write("\n")


def shard_stem(cache_dir: PathLike, shard: int) -> Path:
    return Path(cache_dir) / f"shard_{shard:05d}"


def shard_is_complete(cache_dir: PathLike, shard: int) -> bool:
    return shard_stem(cache_dir, shard).with_suffix(".index").is_file()


def write_shard(cache_dir: PathLike, shard: int,
                utterances: List[Tuple[str, np.ndarray, np.ndarray]]) -> None:
    """Write one shard: ``(uttid, ids (n, k), logp (n, k))`` per utterance, index last."""
    stem = shard_stem(cache_dir, shard)
    ids_parts, logp_parts, index_lines, offset = [], [], [], 0
    for uttid, ids, logp in utterances:
        if ids.shape != logp.shape or ids.ndim != 2:
            raise TopKCacheError(f"utterance '{uttid}': ids {ids.shape} and log-probs {logp.shape} differ")
        ids_parts.append(ids.astype(IDS_DTYPE))
        logp_parts.append(logp.astype(LOGP_DTYPE))
        index_lines.append(f"{uttid} {offset} {ids.shape[0]}\n")
        offset += ids.shape[0]
    k = utterances[0][1].shape[1] if utterances else 0
    for suffix, parts, dtype in ((".ids.npy", ids_parts, IDS_DTYPE), (".logp.npy", logp_parts, LOGP_DTYPE)):
        array = np.concatenate(parts) if parts else np.zeros((0, k), dtype=dtype)
        with atomic_write(stem.with_name(stem.name + suffix), "wb") as handle:
            np.save(handle, array)
    with atomic_write(stem.with_suffix(".index")) as handle:
        handle.writelines(index_lines)


class TopKCache(Mapping[str, Tuple[np.ndarray, np.ndarray]]):
    """Random access by uttid to a complete cache: ``cache[uttid] -> (ids, logp)``."""

    def __init__(self, cache_dir: PathLike):
        self.cache_dir = Path(cache_dir)
        meta_path = self.cache_dir / META_NAME
        if not meta_path.is_file():
            what = "an unfinished" if (self.cache_dir / BUILD_NAME).is_file() else "not a"
            raise TopKCacheError(
                f"{self.cache_dir}: {what} top-k cache (no {META_NAME}); "
                "run `python -m espnet_kd.bin.dump_topk` to build or finish it"
            )
        self.meta = TopKCacheMeta.from_json(meta_path)
        self._index: Dict[str, Tuple[int, int, int]] = {}
        for shard in range(self.meta.num_shards):
            index_path = shard_stem(self.cache_dir, shard).with_suffix(".index")
            if not index_path.is_file():
                raise TopKCacheError(f"{self.cache_dir}: shard {shard} is missing ({index_path})")
            for line in index_path.read_text(encoding="utf-8").splitlines():
                uttid, offset, length = line.split()
                self._index[uttid] = (shard, int(offset), int(length))
        if len(self._index) != self.meta.num_utts:
            raise TopKCacheError(
                f"{self.cache_dir}: the index holds {len(self._index)} utterances, "
                f"{META_NAME} says {self.meta.num_utts}"
            )
        self._arrays: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    def _shard_arrays(self, shard: int) -> Tuple[np.ndarray, np.ndarray]:
        if shard not in self._arrays:
            stem = shard_stem(self.cache_dir, shard)
            self._arrays[shard] = (
                np.load(stem.with_name(stem.name + ".ids.npy"), mmap_mode="r"),
                np.load(stem.with_name(stem.name + ".logp.npy"), mmap_mode="r"),
            )
        return self._arrays[shard]

    def __getitem__(self, uttid: str) -> Tuple[np.ndarray, np.ndarray]:
        try:
            shard, offset, length = self._index[uttid]
        except KeyError:
            raise TopKCacheError(
                f"utterance '{uttid}' is not in the top-k cache {self.cache_dir} "
                f"({self.meta.num_utts} utterances); rebuild the cache for this data set"
            ) from None
        ids, logp = self._shard_arrays(shard)
        return np.asarray(ids[offset:offset + length]), np.asarray(logp[offset:offset + length])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, uttid: object) -> bool:
        return uttid in self._index

    def data_bytes(self) -> int:
        """Bytes of the id and log-prob arrays (headers included)."""
        return sum(p.stat().st_size for p in self.cache_dir.glob("shard_*.npy"))

    def num_positions(self) -> int:
        return sum(length for _, _, length in self._index.values())

    def check_matches(self, k: int, token_list_hash: str, teacher_sha256: Optional[str] = None) -> None:
        """Stop with a clear error if the cache was built with another k, token list or teacher."""
        problems = []
        if self.meta.k != k:
            problems.append(f"it holds the top-{self.meta.k}, the config asks for kd_topk={k}")
        if self.meta.token_list_hash != token_list_hash:
            problems.append(
                f"its token list hash {self.meta.token_list_hash[:12]} differs from the student's "
                f"{token_list_hash[:12]}"
            )
        if teacher_sha256 is not None and self.meta.teacher_sha256 != teacher_sha256:
            problems.append(
                f"it was built with teacher {self.meta.teacher_model_file} "
                f"(sha256 {self.meta.teacher_sha256[:12]}), not the configured teacher "
                f"(sha256 {teacher_sha256[:12]})"
            )
        if problems:
            raise TopKCacheError(
                f"top-k cache {self.cache_dir} does not fit this training: " + "; ".join(problems)
                + ". Rebuild it with `python -m espnet_kd.bin.dump_topk`."
            )


class TopKStreamLoader(Mapping[str, np.ndarray]):
    """ESPnet data-stream loader: ``uttid -> float32 (positions, 2k)`` = [ids | log-probs]."""

    def __init__(self, cache_dir: PathLike):
        self.cache = TopKCache(cache_dir)
        if self.cache.meta.vocab_size >= MAX_EXACT_FLOAT32_ID:
            raise TopKCacheError(f"{cache_dir}: vocabulary too large for the packed float32 stream")

    def __getitem__(self, uttid: str) -> np.ndarray:
        ids, logp = self.cache[uttid]
        return np.concatenate([ids.astype(np.float32), logp.astype(np.float32)], axis=1)

    def __iter__(self) -> Iterator[str]:
        return iter(self.cache)

    def __len__(self) -> int:
        return len(self.cache)


def unpack_topk_stream(packed: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Split a padded ``(B, L, 2k)`` stream batch into ids ``(B, L, k)`` (long) and log-probs."""
    if packed.dim() != 3 or packed.size(-1) % 2:
        raise TopKCacheError(f"kd_topk stream: expected (batch, positions, 2k), got {tuple(packed.shape)}")
    k = packed.size(-1) // 2
    return packed[..., :k].round().long(), packed[..., k:].float()


def register_espnet_data_type() -> None:
    """Make ``kd_topk`` a data type of ESPnet's dataset (idempotent)."""
    from espnet2.train.dataset import DATA_TYPES

    DATA_TYPES.setdefault(
        DATA_TYPE,
        dict(
            func=TopKStreamLoader,
            kwargs=[],
            help="espnet_kd top-k teacher cache directory (python -m espnet_kd.bin.dump_topk)",
        ),
    )

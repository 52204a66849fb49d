"""The offline top-k teacher cache: the teacher's k best tokens at every target position.

Layout of a cache directory, format ``espnet_kd.topk_cache/2`` (what ``dump_topk`` writes)::

    meta.json                 written last: format, k, temperature, teacher fingerprint,
                              token-list hash, vocab_size, ids_dtype, logp_encoding,
                              shard and utterance counts
    build.json                the settings the dump started with (resume check)
    shard_00000.topk.npy      uint8 (positions, row_bytes): per position its k ids, then
                              their k log-probabilities at `temperature`, both best first
    shard_00000.index         "uttid offset length" per utterance (written last per shard)

A row (:class:`TopKCodec`) holds

- the ids as ``B``-bit unsigned integers, ``B`` the bits of ``vocab_size - 1`` (at least 1;
  ``ids_dtype`` is ``"uint<B>"``), bit-packed little-endian: bit ``b`` of id ``j`` is bit
  ``j·B + b`` of the row, bit 0 the least significant bit of byte 0, in ``ceil(k·B / 8)``
  bytes (``uint16`` is plain little-endian uint16; ``uint17`` and up serve vocabularies of
  65536 tokens or more, up to the float32 stream's 2**24);
- the log-probabilities, by ``logp_encoding``:

  - ``q8`` (the default): ``k`` bytes, each the index of the nearest of 256 levels.
    Byte 0 codes the top-1 log-probability ``l1`` (``-log V <= l1 <= 0`` for ``V`` tokens)
    on the levels ``-log V · (c/255)²``; byte ``j >= 1`` codes the ``j``-th token's offset
    below it, ``d = l1 - lj >= 0``, on the levels ``d_c = -3·log(1 - c/256)``: 0, 0.012, ...,
    16.6, spaced finest (0.012) where the likely tokens are and 0.06 at d = 5 (a token
    150× less likely than the top-1); offsets beyond 16.6 (10⁻⁷ of the top-1) are stored
    as 16.6. Only the offsets reach the loss (:func:`espnet_kd.kd.losses.topk_loss`
    renormalises over the k tokens, so ``l1`` cancels);
  - ``fp16``: ``2k`` bytes, little-endian float16 (the precision of format /1).

At ``k = 8`` a position takes ``B + 8`` bytes with ``q8`` (13 for a 30-character vocabulary,
21 for 5000 BPE pieces, 24 up to 65536 tokens) and ``B + 16`` with ``fp16``.

Format ``espnet_kd.topk_cache/1`` (earlier versions; still read, never written):
``shard_NNNNN.ids.npy`` int32 ``(positions, k)`` and ``shard_NNNNN.logp.npy`` float16
``(positions, k)``, 48 bytes per position at k = 8; its ``meta.json`` has no ``ids_dtype``
or ``logp_encoding``.

An utterance with ``n`` reference tokens has ``n + 1`` positions (the tokens and
``<sos/eos>``), in the order of ESPnet's teacher-forced decoder. A shard is
complete when its ``.index`` exists; a cache is complete when ``meta.json``
exists. Every file is written atomically.

``TopKCache[uttid]`` gives ``(ids, logp)``: int32 ids and the log-probabilities as stored
(float16 for /1 and ``fp16``, float32 decoded for ``q8``). Training reads the cache as an
ESPnet data stream of type ``kd_topk``
(``--train_data_path_and_name_and_type exp/teacher/topk_train,kd_topk,kd_topk``):
per utterance a float32 array ``(positions, 2k)`` holding the ids (exact in
float32 for vocabularies below 2**24) then the log-probabilities, whatever the format;
:func:`unpack_topk_stream` splits a padded batch of them again.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np
import torch

from espnet_kd.utils.fileio import PathLike, atomic_write

FORMAT = "espnet_kd.topk_cache/2"
FORMAT_V1 = "espnet_kd.topk_cache/1"
KNOWN_FORMATS = (FORMAT_V1, FORMAT)
META_NAME = "meta.json"
BUILD_NAME = "build.json"
DATA_TYPE = "kd_topk"
LOGP_ENCODINGS = ("q8", "fp16")  # dump_topk --logp_encoding
DEFAULT_LOGP_ENCODING = "q8"
Q8_OFFSET_TAU = 3.0  # q8 offset levels -tau·log(1 - c/256)
V1_IDS_DTYPE = np.int32
V1_LOGP_DTYPE = np.float16
MAX_EXACT_FLOAT32_ID = 1 << 24


class TopKCacheError(ValueError):
    """A top-k cache is missing, incomplete, or was built for another setting."""


def ids_bits(vocab_size: int) -> int:
    """Bits of a token id of a ``vocab_size``-token vocabulary (ids ``0 .. vocab_size - 1``)."""
    return max(1, int(vocab_size - 1).bit_length())


@dataclass
class TopKCacheMeta:
    """What a cache was built from; two caches with equal metas are interchangeable.

    ``ids_dtype`` and ``logp_encoding`` say how the shards store a position (see the module
    docstring); ``ids_dtype`` left empty is filled in from ``vocab_size``.
    """

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
    ids_dtype: str = ""
    logp_encoding: str = DEFAULT_LOGP_ENCODING
    extra: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.ids_dtype:
            self.ids_dtype = "int32" if self.format == FORMAT_V1 else f"uint{ids_bits(self.vocab_size)}"

    def build_settings(self) -> Dict[str, Any]:
        """The fields that must not change when a dump resumes."""
        settings = asdict(self)
        settings.pop("num_utts")
        return settings

    @classmethod
    def from_json(cls, path: Path) -> "TopKCacheMeta":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("format") == FORMAT_V1:
                data.setdefault("ids_dtype", "int32")  # what format /1 stored, unnamed in its meta
                data.setdefault("logp_encoding", "fp16")
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise TopKCacheError(f"{path}: not a top-k cache meta file ({exc})") from exc

    def write(self, path: Path) -> None:
        with atomic_write(path) as handle:
            json.dump(asdict(self), handle, indent=2, sort_keys=True)
            handle.write("\n")


@lru_cache(maxsize=None)
def q8_top1_levels(vocab_size: int) -> np.ndarray:
    """The 256 levels of a q8 top-1 log-probability: ``-log V · (c/255)²``, 0 down to ``-log V``."""
    return -math.log(max(vocab_size, 2)) * (np.arange(256, dtype=np.float64) / 255) ** 2


@lru_cache(maxsize=None)
def q8_offset_levels() -> np.ndarray:
    """The 256 levels of a q8 offset below the top-1: ``-tau·log(1 - c/256)``, 0 up to 16.6."""
    return -Q8_OFFSET_TAU * np.log1p(-np.arange(256, dtype=np.float64) / 256)


def nearest_level(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The index (uint8) of the nearest of ascending ``levels`` for every value (clipped at both ends)."""
    midpoints = (levels[1:] + levels[:-1]) / 2
    return np.searchsorted(midpoints, values).astype(np.uint8)


@dataclass(frozen=True)
class TopKCodec:
    """How the shards of a cache store one position's k ids and k log-probabilities."""

    format: str
    k: int
    vocab_size: int
    ids_dtype: str
    logp_encoding: str

    @classmethod
    def of(cls, meta: TopKCacheMeta) -> "TopKCodec":
        """The codec ``meta`` names; a :class:`TopKCacheError` for one this version cannot read."""
        if meta.format not in KNOWN_FORMATS:
            raise TopKCacheError(
                f"top-k cache format '{meta.format}' is unknown to this version of espnet_kd (it reads "
                f"{', '.join(KNOWN_FORMATS)}): a newer version wrote it"
            )
        codec = cls(meta.format, meta.k, meta.vocab_size, meta.ids_dtype, meta.logp_encoding)
        if meta.format == FORMAT_V1:
            if (meta.ids_dtype, meta.logp_encoding) != ("int32", "fp16"):
                raise TopKCacheError(f"format {FORMAT_V1} stores int32 ids and fp16 log-probs, "
                                     f"not {meta.ids_dtype} / {meta.logp_encoding}")
            return codec
        if meta.logp_encoding not in LOGP_ENCODINGS:
            raise TopKCacheError(f"unknown log-prob encoding '{meta.logp_encoding}' (known: {', '.join(LOGP_ENCODINGS)})")
        if not meta.ids_dtype.startswith("uint") or not meta.ids_dtype[4:].isdigit() \
                or not ids_bits(meta.vocab_size) <= int(meta.ids_dtype[4:]) <= 32:
            raise TopKCacheError(f"ids_dtype '{meta.ids_dtype}' cannot hold the ids of {meta.vocab_size} tokens")
        return codec

    @property
    def bits(self) -> int:
        return int(self.ids_dtype[4:])

    @property
    def id_bytes(self) -> int:
        return -(-self.k * self.bits // 8)

    @property
    def row_bytes(self) -> int:
        """Bytes per position (format /2: one row of the shard's uint8 array)."""
        if self.format == FORMAT_V1:
            return self.k * (np.dtype(V1_IDS_DTYPE).itemsize + np.dtype(V1_LOGP_DTYPE).itemsize)
        return self.id_bytes + self.k * (1 if self.logp_encoding == "q8" else 2)

    def encode(self, ids: np.ndarray, logp: np.ndarray) -> np.ndarray:
        """``(n, k)`` ids and log-probs (best first) → uint8 rows ``(n, row_bytes)``."""
        n, k = ids.shape
        weights = np.arange(self.bits, dtype=np.int64)
        bits = ((ids.astype(np.int64)[..., None] >> weights) & 1).astype(np.uint8).reshape(n, k * self.bits)
        packed = np.packbits(bits, axis=1, bitorder="little").reshape(n, self.id_bytes)
        logp = np.asarray(logp, dtype=np.float64)
        if self.logp_encoding == "fp16":
            codes = logp.astype("<f2").view(np.uint8).reshape(n, 2 * k)
        else:
            top1 = nearest_level(-logp[:, :1], -q8_top1_levels(self.vocab_size))
            offsets = nearest_level(logp[:, :1] - logp[:, 1:], q8_offset_levels())
            codes = np.concatenate([top1, offsets], axis=1)
        return np.concatenate([packed, codes], axis=1)

    def decode(self, rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """uint8 rows ``(n, row_bytes)`` → int32 ids ``(n, k)`` and log-probs ``(n, k)`` (float32 for
        ``q8``, float16 for ``fp16``)."""
        k = self.k
        if self.bits > 24:  # beyond float32's exact integers: unpack to int64
            bits = self._id_bits(rows).reshape(len(rows), k, self.bits).astype(np.int64)
            ids = (bits @ np.left_shift(np.int64(1), np.arange(self.bits, dtype=np.int64))).astype(np.int32)
            logp = np.empty((len(rows), k), dtype=np.float32)
            self._decode_logp(rows, logp)
        else:
            stream = self.decode_stream(rows)
            ids, logp = stream[:, :k].astype(np.int32), stream[:, k:]
        if self.logp_encoding == "fp16":
            logp = logp.astype(np.float16)  # exact: the stored values
        return ids, logp

    def decode_stream(self, rows: np.ndarray) -> np.ndarray:
        """uint8 rows → the float32 ``(n, 2k)`` ``kd_topk`` stream array: ids (exact below 2**24), log-probs."""
        k = self.k
        out = np.empty((len(rows), 2 * k), dtype=np.float32)
        np.matmul(self._id_bits(rows), id_weights(k, self.bits), out=out[:, :k])
        self._decode_logp(rows, out[:, k:])
        return out

    def _id_bits(self, rows: np.ndarray) -> np.ndarray:
        return np.unpackbits(rows[:, :self.id_bytes], axis=1, count=self.k * self.bits, bitorder="little")

    def _decode_logp(self, rows: np.ndarray, out: np.ndarray) -> None:
        codes = rows[:, self.id_bytes:]
        if self.logp_encoding == "fp16":
            out[:] = np.ascontiguousarray(codes).view("<f2")
            return
        top1 = q8_top1_levels_f32(self.vocab_size)[codes[:, 0]]
        out[:, 0] = top1
        np.subtract(top1[:, None], q8_offset_levels_f32()[codes[:, 1:]], out=out[:, 1:])


@lru_cache(maxsize=None)
def id_weights(k: int, bits: int) -> np.ndarray:
    """``(k·bits, k)`` float32: the unpacked bits of a row times this are its k ids."""
    weights = np.zeros((k * bits, k), dtype=np.float32)
    for j in range(k):
        weights[j * bits:(j + 1) * bits, j] = 2.0 ** np.arange(bits)
    return weights


@lru_cache(maxsize=None)
def q8_top1_levels_f32(vocab_size: int) -> np.ndarray:
    return q8_top1_levels(vocab_size).astype(np.float32)


@lru_cache(maxsize=None)
def q8_offset_levels_f32() -> np.ndarray:
    return q8_offset_levels().astype(np.float32)


def shard_stem(cache_dir: PathLike, shard: int) -> Path:
    return Path(cache_dir) / f"shard_{shard:05d}"


def shard_data_path(cache_dir: PathLike, shard: int) -> Path:
    """The file of a format /2 shard's rows."""
    stem = shard_stem(cache_dir, shard)
    return stem.with_name(stem.name + ".topk.npy")


def shard_is_complete(cache_dir: PathLike, shard: int) -> bool:
    return shard_stem(cache_dir, shard).with_suffix(".index").is_file()


def check_utterance(uttid: str, ids: np.ndarray, logp: np.ndarray, vocab_size: int) -> None:
    """What the codecs rely on: matching (n, k) shapes, ids of the vocabulary, log-probs best first."""
    if ids.shape != logp.shape or ids.ndim != 2:
        raise TopKCacheError(f"utterance '{uttid}': ids {ids.shape} and log-probs {logp.shape} differ")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise TopKCacheError(f"utterance '{uttid}': token ids {ids.min()}..{ids.max()} outside the "
                             f"vocabulary of {vocab_size}")
    logp = np.asarray(logp, dtype=np.float64)
    if np.isnan(logp).any() or (logp[:, :1] > 0).any() or not np.isfinite(logp[:, :1]).all():
        raise TopKCacheError(f"utterance '{uttid}': log-probabilities must be at most 0, the top-1 finite")
    if (np.diff(logp, axis=1) > 0).any():
        raise TopKCacheError(f"utterance '{uttid}': log-probabilities are not best first")


def write_shard(cache_dir: PathLike, shard: int, utterances: List[Tuple[str, np.ndarray, np.ndarray]],
                meta: TopKCacheMeta) -> None:
    """Write one shard of the cache ``meta`` describes: ``(uttid, ids (n, k), logp (n, k))`` per
    utterance, best first; the index last. Only the current format is written."""
    if meta.format != FORMAT:
        raise TopKCacheError(f"this version writes top-k caches of format {FORMAT}, not {meta.format}")
    codec = TopKCodec.of(meta)
    rows, index_lines, offset = [], [], 0
    for uttid, ids, logp in utterances:
        check_utterance(uttid, ids, logp, meta.vocab_size)
        if ids.shape[1] != meta.k:
            raise TopKCacheError(f"utterance '{uttid}': {ids.shape[1]} tokens per position, the cache keeps {meta.k}")
        rows.append(codec.encode(ids, logp))
        index_lines.append(f"{uttid} {offset} {ids.shape[0]}\n")
        offset += ids.shape[0]
    array = np.concatenate(rows) if rows else np.zeros((0, codec.row_bytes), dtype=np.uint8)
    with atomic_write(shard_data_path(cache_dir, shard), "wb") as handle:
        np.save(handle, array)
    with atomic_write(shard_stem(cache_dir, shard).with_suffix(".index")) as handle:
        handle.writelines(index_lines)


class TopKCache(Mapping[str, Tuple[np.ndarray, np.ndarray]]):
    """Random access by uttid to a complete cache (format /1 or /2): ``cache[uttid] -> (ids, logp)``."""

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
        try:
            self.codec = TopKCodec.of(self.meta)
        except TopKCacheError as error:
            raise TopKCacheError(f"{self.cache_dir}: {error}") from None
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
        self._arrays: Dict[int, Tuple[np.ndarray, ...]] = {}

    def _shard_files(self, shard: int) -> List[Path]:
        stem = shard_stem(self.cache_dir, shard)
        if self.meta.format == FORMAT_V1:
            return [stem.with_name(stem.name + ".ids.npy"), stem.with_name(stem.name + ".logp.npy")]
        return [shard_data_path(self.cache_dir, shard)]

    def _shard_arrays(self, shard: int) -> Tuple[np.ndarray, ...]:
        if shard not in self._arrays:
            arrays = []
            for path in self._shard_files(shard):
                try:
                    arrays.append(np.load(path, mmap_mode="r"))
                except (OSError, ValueError) as error:
                    raise TopKCacheError(f"{self.cache_dir}: shard {shard} of format {self.meta.format}: "
                                         f"cannot read {path.name} ({error})") from None
            if self.meta.format != FORMAT_V1 and (arrays[0].ndim != 2 or arrays[0].shape[1] != self.codec.row_bytes):
                raise TopKCacheError(
                    f"{self.cache_dir}: {self._shard_files(shard)[0].name} has rows of {arrays[0].shape[1:]} bytes, "
                    f"{META_NAME} ({self.meta.ids_dtype} ids, {self.meta.logp_encoding} log-probs, k={self.meta.k}) "
                    f"says {self.codec.row_bytes}"
                )
            self._arrays[shard] = tuple(arrays)
        return self._arrays[shard]

    def _stored(self, uttid: str) -> Tuple[np.ndarray, ...]:
        """The utterance's slices of its shard's arrays: ``(ids, logp)`` (/1) or ``(rows,)`` (/2)."""
        try:
            shard, offset, length = self._index[uttid]
        except KeyError:
            raise TopKCacheError(
                f"utterance '{uttid}' is not in the top-k cache {self.cache_dir} "
                f"({self.meta.num_utts} utterances); rebuild the cache for this data set"
            ) from None
        return tuple(np.asarray(array[offset:offset + length]) for array in self._shard_arrays(shard))

    def __getitem__(self, uttid: str) -> Tuple[np.ndarray, np.ndarray]:
        stored = self._stored(uttid)
        if self.meta.format == FORMAT_V1:
            return stored[0], stored[1]
        return self.codec.decode(stored[0])

    def stream(self, uttid: str) -> np.ndarray:
        """The utterance's ``kd_topk`` stream array: float32 ``(positions, 2k)``, ids then log-probs."""
        stored = self._stored(uttid)
        if self.meta.format == FORMAT_V1:
            return np.concatenate([stored[0].astype(np.float32), stored[1].astype(np.float32)], axis=1)
        return self.codec.decode_stream(stored[0])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, uttid: object) -> bool:
        return uttid in self._index

    def data_bytes(self) -> int:
        """Bytes of the shards' arrays on disk (``.npy`` headers included; indexes and meta not)."""
        return sum(p.stat().st_size for p in self.cache_dir.glob("shard_*.npy"))

    def disk_bytes(self) -> int:
        """Bytes of every file of the cache: arrays, indexes, ``meta.json`` and ``build.json``."""
        return sum(p.stat().st_size for p in self.cache_dir.iterdir() if p.is_file())

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
        return self.cache.stream(uttid)

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

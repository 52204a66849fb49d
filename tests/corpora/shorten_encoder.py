"""A minimal Shorten v2 encoder (Robinson 1994), to make embedded-shorten SPHERE files whose PCM is known.

It writes what the WSJ discs' ``.wv1`` files hold after their SPHERE header: the ``ajkg``
magic, version 2, a stream header (16-bit little-endian, mono, block size, no LPC, no
running mean), then per block a ``DIFF1`` predictor (first differences) with a Rice
parameter, a ``BLOCKSIZE`` command for a short last block, and ``QUIT``. The decoder under
test is ffmpeg's, so the test compares an independent decoder's output with the samples.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from espnet_kd.utils.sphere import format_header

# Shorten's function codes (ulong-coded with 2 bits)
FN_DIFF1, FN_QUIT, FN_BLOCKSIZE = 1, 4, 5
TYPE_S16LH = 5


class BitWriter:
    """Most-significant-bit-first bits, as Shorten reads them."""

    def __init__(self) -> None:
        self.bits: List[int] = []

    def put(self, value: int, count: int) -> None:
        self.bits += [(value >> shift) & 1 for shift in range(count - 1, -1, -1)]

    def unsigned(self, value: int, k: int) -> None:
        """Rice code: ``value >> k`` zeros, a one, then the low ``k`` bits."""
        self.bits += [0] * (value >> k) + [1]
        self.put(value & ((1 << k) - 1), k)

    def signed(self, value: int, k: int) -> None:
        self.unsigned((~value << 1) | 1 if value < 0 else value << 1, k + 1)

    def ulong(self, value: int) -> None:
        """A number with its own Rice parameter first (2 bits)."""
        k = max(value.bit_length(), 1)
        self.unsigned(k, 2)
        self.unsigned(value, k)

    def to_bytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


def shorten(samples: Sequence[int], block_size: int = 256) -> bytes:
    """The Shorten stream of mono 16-bit ``samples``."""
    out = BitWriter()
    for value in (TYPE_S16LH, 1, block_size, 0, 0, 0):   # type, channels, block size, LPC order, mean blocks, skip
        out.ulong(value)
    previous = 0
    for start in range(0, len(samples), block_size):
        block = [int(sample) for sample in samples[start:start + block_size]]
        if len(block) != block_size:
            out.unsigned(FN_BLOCKSIZE, 2)
            out.ulong(len(block))
        residuals = []
        for sample in block:
            residuals.append(sample - previous)
            previous = sample
        mean = max(1, int(np.mean(np.abs(residuals))))
        k = max(0, mean.bit_length() - 1)
        out.unsigned(FN_DIFF1, 2)
        out.unsigned(k, 3)
        for residual in residuals:
            out.signed(residual, k)
    out.unsigned(FN_QUIT, 2)
    return b"ajkg\x02" + out.to_bytes()


def shorten_sphere(samples: np.ndarray, sample_rate: int = 16000) -> bytes:
    """A SPHERE file of ``samples`` with sample_coding ``pcm,embedded-shorten-v2.00``, as on the WSJ discs."""
    header = format_header({"sample_count": len(samples), "sample_rate": sample_rate, "channel_count": 1,
                            "sample_n_bytes": 2, "sample_byte_format": "01",
                            "sample_coding": "pcm,embedded-shorten-v2.00"})
    return header + shorten(samples)

"""NIST SPHERE audio files (``.sph``, WSJ's ``.wv1``/``.wv2``): header parsing, reading, writing.

A SPHERE file starts with an ASCII header, normally 1024 bytes::

    NIST_1A
       1024
    sample_rate -i 16000
    channel_count -i 1
    sample_n_bytes -i 2
    sample_byte_format -s2 01
    sample_coding -s3 pcm
    sample_count -i 52345
    end_head

followed by padding up to the header size, then the samples. Each field line is
``name -type value`` with type ``-i`` (integer), ``-r`` (real) or ``-sN`` (a string of
N characters). ``sample_byte_format`` is ``01`` for little-endian 16-bit samples and
``10`` for big-endian ones (``1`` for one-byte samples).

Uncompressed 16-bit PCM is read here. Compressed data (``sample_coding`` such as
``pcm,embedded-shorten-v2.00``, as on the WSJ discs) is not decoded here: it goes through
an external decoder (:func:`find_sphere_decoder`: LDC's ``sph2pipe`` first, else ffmpeg, whose
NIST SPHERE demuxer and shorten decoder read it, from PATH or from the ``imageio-ffmpeg``
package's static build), as a Kaldi-style ``wav.scp`` pipe (:func:`decoder_pipe`);
:func:`read_sphere` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from espnet_kd.utils.fileio import PathLike, atomic_write

MAGIC = b"NIST_1A\n"
DEFAULT_HEADER_SIZE = 1024
SPH2PIPE_HINT = (
    "install sph2pipe (LDC's SPHERE conversion tool; Kaldi's tools/Makefile builds it as "
    "sph2pipe_v2.5) and put it on PATH, or ffmpeg (on PATH, or `pip install imageio-ffmpeg`, "
    "which the project's [wsj] extra installs)"
)

FieldValue = Union[int, float, str]


class SphereError(ValueError):
    """A SPHERE file that is malformed or cannot be read here."""


class CompressedSphereError(SphereError):
    """A compressed (e.g. shorten) SPHERE file: it needs an external decoder (sph2pipe or ffmpeg)."""


@dataclass(frozen=True)
class SphereDecoder:
    """A program that turns a (compressed) SPHERE file into WAV on its stdout."""

    kind: str      # "sph2pipe" or "ffmpeg"
    program: str

    def pipe(self, path: PathLike) -> str:
        """The ``wav.scp`` value that decodes ``path`` (a Kaldi-style command ending in ``|``)."""
        import shlex

        quoted = shlex.quote(str(path))
        if self.kind == "sph2pipe":
            return f"{shlex.quote(self.program)} -f wav -p -c 1 {quoted} |"
        return f"{shlex.quote(self.program)} -nostdin -v error -i {quoted} -f wav -ac 1 -acodec pcm_s16le - |"


def imageio_ffmpeg_program() -> Optional[str]:
    """The static ffmpeg of the ``imageio-ffmpeg`` package, if it is installed (and its binary there)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:   # the package without a binary for this platform
        return None


def find_sphere_decoder(sph2pipe: Optional[str] = None) -> Optional[SphereDecoder]:
    """The decoder for compressed SPHERE: ``sph2pipe`` (the one given, else on PATH), else ffmpeg on
    PATH, else imageio-ffmpeg's; None when there is none."""
    import shutil

    program = sph2pipe or shutil.which("sph2pipe")
    if program:
        return SphereDecoder("sph2pipe", program)
    program = shutil.which("ffmpeg") or imageio_ffmpeg_program()
    return SphereDecoder("ffmpeg", program) if program else None


@dataclass(frozen=True)
class SphereHeader:
    """The fields of a SPHERE header that say how to read the samples."""

    header_size: int
    sample_rate: int
    channel_count: int
    sample_n_bytes: int
    sample_byte_format: str
    sample_coding: str
    sample_count: Union[int, None]
    fields: Dict[str, FieldValue] = field(default_factory=dict)

    @property
    def is_compressed(self) -> bool:
        """True when the samples are stored compressed (``pcm,embedded-shorten-...`` etc.)."""
        return "," in self.sample_coding or "shorten" in self.sample_coding or "wavpack" in self.sample_coding

    @property
    def big_endian(self) -> bool:
        """True for ``sample_byte_format`` ``10`` (most significant byte first)."""
        return self.sample_byte_format == "10"


_FIELD_RE = re.compile(r"^(\S+)\s+-(i|r|s\d+)\s(.*)$")


def is_sphere_file(path: PathLike) -> bool:
    """True when ``path`` is a readable file that starts with the SPHERE magic ``NIST_1A``."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def parse_header(data: bytes, name: str = "SPHERE header") -> SphereHeader:
    """Parse the header at the start of ``data`` (the first ``header_size`` bytes or more)."""
    if not data.startswith(MAGIC):
        raise SphereError(f"{name}: not a NIST SPHERE file (does not start with 'NIST_1A')")
    second_line_end = data.find(b"\n", len(MAGIC))
    try:
        header_size = int(data[len(MAGIC):second_line_end].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise SphereError(f"{name}: the second header line is not the header size") from None
    if header_size < len(MAGIC) or header_size % 1024 != 0:
        raise SphereError(f"{name}: implausible header size {header_size} (a multiple of 1024 expected)")
    if len(data) < header_size:
        raise SphereError(f"{name}: file ends inside its {header_size}-byte header")
    text = data[second_line_end + 1:header_size].decode("ascii", errors="replace")
    fields = _parse_fields(text, name)
    return _header_from_fields(fields, header_size, name)


def _parse_fields(text: str, name: str) -> Dict[str, FieldValue]:
    """The ``name -type value`` lines up to ``end_head``."""
    fields: Dict[str, FieldValue] = {}
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.strip() == "end_head":
            return fields
        if not line.strip() or line.startswith(";"):
            continue
        match = _FIELD_RE.match(line)
        if match is None:
            raise SphereError(f"{name}: bad header line '{line[:80]}' (expected 'name -type value')")
        key, kind, raw = match.groups()
        try:
            if kind == "i":
                fields[key] = int(raw.strip())
            elif kind == "r":
                fields[key] = float(raw.strip())
            else:
                fields[key] = raw[:int(kind[1:])]
        except ValueError:
            raise SphereError(f"{name}: header field {key} has a bad -{kind} value '{raw.strip()}'") from None
    raise SphereError(f"{name}: no 'end_head' line in the header")


def _header_from_fields(fields: Dict[str, FieldValue], header_size: int, name: str) -> SphereHeader:
    """Check and default the fields that reading needs."""
    def integer(key: str, default: Union[int, None]) -> Union[int, None]:
        value = fields.get(key, default)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise SphereError(f"{name}: header field {key} must be a non-negative integer, got {value!r}")
        return value

    sample_rate = integer("sample_rate", None)
    if not sample_rate:
        raise SphereError(f"{name}: header has no sample_rate")
    channel_count = integer("channel_count", 1) or 1
    sample_n_bytes = integer("sample_n_bytes", 2)
    byte_format = str(fields.get("sample_byte_format", "01" if sample_n_bytes == 2 else "1")).strip()
    coding = str(fields.get("sample_coding", "pcm")).strip().lower()
    return SphereHeader(
        header_size=header_size, sample_rate=sample_rate, channel_count=channel_count,
        sample_n_bytes=sample_n_bytes, sample_byte_format=byte_format, sample_coding=coding,
        sample_count=integer("sample_count", None), fields=fields,
    )


def read_header(path: PathLike) -> SphereHeader:
    """The header of the SPHERE file ``path``."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(DEFAULT_HEADER_SIZE)
            if start.startswith(MAGIC):
                size_line = start[len(MAGIC):start.find(b"\n", len(MAGIC))]
                if size_line.strip().isdigit() and int(size_line) > len(start):
                    start += handle.read(int(size_line) - len(start))
    except OSError as error:
        raise SphereError(f"{path}: cannot read ({error.strerror})") from None
    return parse_header(start, str(path))


def read_sphere(path: PathLike) -> Tuple[np.ndarray, int]:
    """Samples (int16; shape (n,) for mono, (n, channels) otherwise) and sample rate.

    Raises :class:`CompressedSphereError` (naming sph2pipe) for compressed files and
    :class:`SphereError` for anything else it cannot read.
    """
    header = read_header(path)
    if header.is_compressed:
        raise CompressedSphereError(
            f"{path}: SPHERE sample_coding '{header.sample_coding}' is compressed; espnet_kd reads only "
            f"uncompressed PCM SPHERE files: {SPH2PIPE_HINT} (data preparation then writes "
            "'sph2pipe -f wav -p -c 1 FILE |' entries)"
        )
    if header.sample_coding != "pcm" or header.sample_n_bytes != 2:
        raise SphereError(
            f"{path}: unsupported SPHERE sample_coding '{header.sample_coding}' with "
            f"{header.sample_n_bytes}-byte samples (16-bit pcm expected)"
        )
    if header.sample_byte_format not in ("01", "10"):
        raise SphereError(f"{path}: unknown sample_byte_format '{header.sample_byte_format}' (01 or 10 expected)")
    raw = Path(path).read_bytes()[header.header_size:]
    frame_bytes = header.sample_n_bytes * header.channel_count
    num_frames = len(raw) // frame_bytes
    if header.sample_count is not None:
        if header.sample_count > num_frames:
            raise SphereError(
                f"{path}: header says {header.sample_count} samples but the file holds {num_frames} (truncated?)"
            )
        num_frames = header.sample_count
    dtype = np.dtype(">i2" if header.big_endian else "<i2")
    samples = np.frombuffer(raw, dtype=dtype, count=num_frames * header.channel_count).astype(np.int16)
    if header.channel_count > 1:
        samples = samples.reshape(num_frames, header.channel_count)
    return samples, header.sample_rate


def format_header(fields: Dict[str, FieldValue], header_size: int = DEFAULT_HEADER_SIZE) -> bytes:
    """A SPHERE header holding ``fields`` (in the given order), padded to ``header_size`` bytes."""
    lines = ["NIST_1A", f"{header_size:>7d}"]
    for key, value in fields.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SphereError(f"header field {key}: unsupported value {value!r}")
        if isinstance(value, int):
            lines.append(f"{key} -i {value}")
        elif isinstance(value, float):
            lines.append(f"{key} -r {value!r}")
        else:
            lines.append(f"{key} -s{len(value)} {value}")
    lines.append("end_head")
    text = ("\n".join(lines) + "\n").encode("ascii")
    if len(text) > header_size:
        raise SphereError(f"header fields need {len(text)} bytes, more than the header size {header_size}")
    return text + b" " * (header_size - len(text))


def write_sphere(path: PathLike, samples: np.ndarray, sample_rate: int, byte_format: str = "01",
                 extra_fields: Union[Dict[str, FieldValue], None] = None) -> None:
    """Write int16 ``samples`` ((n,) or (n, channels)) as an uncompressed PCM SPHERE file, atomically."""
    if byte_format not in ("01", "10"):
        raise SphereError(f"byte_format must be '01' (little-endian) or '10' (big-endian), not '{byte_format}'")
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise SphereError(f"samples must be int16, not {samples.dtype}")
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    fields: Dict[str, FieldValue] = dict(extra_fields or {})
    fields.update({
        "sample_count": int(samples.shape[0]), "sample_rate": int(sample_rate), "channel_count": channels,
        "sample_n_bytes": 2, "sample_byte_format": byte_format, "sample_coding": "pcm",
    })
    body = samples.astype(">i2" if byte_format == "10" else "<i2").tobytes()
    with atomic_write(path, mode="wb") as handle:
        handle.write(format_header(fields))
        handle.write(body)

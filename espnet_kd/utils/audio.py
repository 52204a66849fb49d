"""Reading the audio a ``wav.scp`` entry names.

An entry is a file path (any format libsndfile reads: WAV, FLAC, ...; NIST SPHERE
files such as WSJ's ``.wv1`` go through :mod:`espnet_kd.utils.sphere`, which reads
uncompressed PCM and names sph2pipe for compressed ones) or a shell command ending
in ``|`` whose standard output is a WAV stream (Kaldi's convention, e.g.
``sph2pipe -f wav x.wv1 |``), run in a shell: a data dir's ``wav.scp`` can run any
command, so check one from an untrusted source with ``validate_data_dir --no_pipes``.
"""

from __future__ import annotations

import io
import math
import subprocess
from typing import Optional, Tuple

import numpy as np
import soundfile

from espnet_kd.utils.sphere import SphereError, is_sphere_file, read_sphere


class AudioError(RuntimeError):
    """Audio that cannot be read or converted."""


def is_pipe(entry: str) -> bool:
    """True for a Kaldi pipe entry (``cmd args |``)."""
    return entry.rstrip().endswith("|")


def read_entry(entry: str) -> Tuple[np.ndarray, int]:
    """Read a ``wav.scp`` value into (int16 or float samples, sample rate), mono first channel."""
    try:
        if is_pipe(entry):
            command = entry.rstrip()[:-1]
            completed = subprocess.run(command, shell=True, capture_output=True, check=False)
            if completed.returncode != 0:
                raise AudioError(
                    f"command '{command}' failed ({completed.returncode}): "
                    f"{completed.stderr.decode(errors='replace').strip()[:300]}"
                )
            samples, rate = soundfile.read(io.BytesIO(completed.stdout), dtype="int16")
        elif is_sphere_file(entry):
            samples, rate = read_sphere(entry)
        else:
            samples, rate = soundfile.read(entry, dtype="int16")
    except SphereError as error:
        raise AudioError(str(error)) from error
    except (soundfile.LibsndfileError, RuntimeError) as error:
        if isinstance(error, AudioError):
            raise
        raise AudioError(f"cannot read audio '{entry}': {error}") from error
    if samples.ndim > 1:
        samples = samples[:, 0]
    return samples, rate


def plain_file_rate(entry: str) -> Optional[int]:
    """Sample rate of a plain 16-bit PCM WAV file entry, or None if it must be converted."""
    if is_pipe(entry) or is_sphere_file(entry):
        return None
    try:
        info = soundfile.info(entry)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"cannot read audio '{entry}': {error}") from error
    if info.format != "WAV" or info.subtype != "PCM_16" or info.channels != 1:
        return None
    return info.samplerate


def num_samples(entry: str) -> int:
    """Number of samples of a plain audio file (no decoding)."""
    return soundfile.info(entry).frames


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample int16 samples with a polyphase filter."""
    if rate_in == rate_out:
        return samples
    from scipy.signal import resample_poly

    divisor = math.gcd(rate_in, rate_out)
    converted = resample_poly(samples.astype(np.float32), rate_out // divisor, rate_in // divisor)
    return np.clip(np.round(converted), -32768, 32767).astype(np.int16)


def cut_segment(samples: np.ndarray, rate: int, start_s: float, end_s: float, seg_id: str) -> np.ndarray:
    """Samples between ``start_s`` and ``end_s`` seconds (end -1: to the end of the recording)."""
    start = int(round(start_s * rate))
    end = len(samples) if end_s < 0 else int(round(end_s * rate))
    if start < 0 or start >= end or start >= len(samples):
        raise AudioError(
            f"segment {seg_id}: [{start_s}, {end_s}] s is outside its recording ({len(samples) / rate:.2f} s)"
        )
    return samples[start:min(end, len(samples))]

"""Turn a sentence into a noisy 16 kHz utterance.

Per utterance: a voice, a speaking rate, a base pitch and pitch range for
espeak-ng (:mod:`espnet_kd.corpora.espeak`); resampling from the engine's
22050 Hz to 16 kHz with ``scipy.signal.resample_poly``; a gain; silence before
and after the speech (espeak-ng starts and stops speaking at once); and
additive Gaussian noise over the whole utterance, white or low-pass coloured,
at a signal-to-noise ratio drawn from :data:`SNR_DB_RANGE`. The SNR is the
ratio of the mean power of the speech (the engine's output, before the silence
is added) to the mean power of the noise.

Everything random is in :class:`SynthesisParams`, drawn from a seeded
``random.Random``, so the audio is a function of (text, params) and of the
utterances spoken before it in the same espeak-ng batch
(:func:`synthesize_utterances`; a single utterance is a batch of one).
"""

from __future__ import annotations

import io
import math
import os
import random
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile
from scipy.signal import firwin, lfilter, resample_poly

from espnet_kd.corpora.espeak import SpeechRequest, get_engine

SAMPLE_RATE = 16000
RATE_WPM_RANGE: Tuple[int, int] = (140, 200)
PITCH_RANGE: Tuple[int, int] = (35, 65)
PITCH_SPAN_RANGE: Tuple[int, int] = (30, 70)
GAIN_DB_RANGE: Tuple[float, float] = (-6.0, 0.0)
SNR_DB_RANGE: Tuple[float, float] = (15.0, 35.0)
NOISE_COLOUR_RANGE: Tuple[float, float] = (0.0, 0.9)  # AR(1) coefficient: 0 is white noise
SILENCE_S_RANGE: Tuple[float, float] = (0.05, 0.3)  # before and after the speech, each
INT16_LIMIT = 32767


@dataclass(frozen=True)
class SynthesisParams:
    """Everything that decides how one utterance sounds, besides its text."""

    voice: str
    rate_wpm: int
    pitch: int
    pitch_range: int
    gain_db: float
    snr_db: float
    noise_colour: float
    noise_seed: int
    lead_silence_s: float
    trail_silence_s: float

    def to_dict(self) -> Dict[str, Union[str, int, float]]:
        """Plain values, for metadata files."""
        return asdict(self)


def sample_synthesis_params(rng: random.Random, voice: str) -> SynthesisParams:
    """Draw the per-utterance settings for ``voice`` from the ranges above."""
    return SynthesisParams(
        voice=voice,
        rate_wpm=rng.randint(*RATE_WPM_RANGE),
        pitch=rng.randint(*PITCH_RANGE),
        pitch_range=rng.randint(*PITCH_SPAN_RANGE),
        gain_db=round(rng.uniform(*GAIN_DB_RANGE), 2),
        snr_db=round(rng.uniform(*SNR_DB_RANGE), 2),
        noise_colour=round(rng.uniform(*NOISE_COLOUR_RANGE), 3),
        noise_seed=rng.getrandbits(63),
        lead_silence_s=round(rng.uniform(*SILENCE_S_RANGE), 3),
        trail_silence_s=round(rng.uniform(*SILENCE_S_RANGE), 3),
    )


@lru_cache(maxsize=4)
def _resampling_filter(up: int, down: int) -> np.ndarray:
    """The low-pass filter ``resample_poly`` would design by default (Kaiser, beta 5), built once."""
    max_rate = max(up, down)
    return firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def resample(samples: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling to ``to_rate``; float64 out."""
    common = math.gcd(from_rate, to_rate)
    up, down = to_rate // common, from_rate // common
    return resample_poly(samples.astype(np.float64), up, down, window=_resampling_filter(up, down))


def mean_power(signal: np.ndarray) -> float:
    """Mean squared amplitude."""
    return float(np.mean(np.square(signal, dtype=np.float64))) if signal.size else 0.0


def make_noise(length: int, colour: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-power Gaussian noise, low-pass coloured by an AR(1) filter with coefficient ``colour``."""
    white = rng.standard_normal(length)
    noise = lfilter([1.0], [1.0, -colour], white) if colour > 0 else white
    power = mean_power(noise)
    return noise / math.sqrt(power) if power > 0 else noise


def add_noise(signal: np.ndarray, snr_db: float, colour: float, rng: np.random.Generator,
              speech_power: Optional[float] = None) -> np.ndarray:
    """``signal`` plus noise ``snr_db`` below ``speech_power`` (default: the signal's mean power)."""
    reference = mean_power(signal) if speech_power is None else speech_power
    noise_power = reference / (10.0 ** (snr_db / 10.0))
    return signal + make_noise(signal.size, colour, rng) * math.sqrt(noise_power)


def pad_with_silence(signal: np.ndarray, lead_s: float, trail_s: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Zeros before and after ``signal``."""
    lead, trail = int(round(lead_s * sample_rate)), int(round(trail_s * sample_rate))
    return np.concatenate([np.zeros(lead), signal, np.zeros(trail)])


def to_int16(signal: np.ndarray) -> np.ndarray:
    """Round and clip to 16-bit integers."""
    return np.clip(np.round(signal), -INT16_LIMIT, INT16_LIMIT).astype(np.int16)


def finish_utterance(raw: np.ndarray, engine_rate: int, params: SynthesisParams) -> np.ndarray:
    """Engine samples -> 16 kHz, gain, silence around, noise at ``params.snr_db``, int16."""
    speech = resample(raw, engine_rate) * (10.0 ** (params.gain_db / 20.0))
    padded = pad_with_silence(speech, params.lead_silence_s, params.trail_silence_s)
    rng = np.random.default_rng(params.noise_seed)
    return to_int16(add_noise(padded, params.snr_db, params.noise_colour, rng, speech_power=mean_power(speech)))


def synthesize_utterances(items: Sequence[Tuple[str, SynthesisParams]]) -> List[np.ndarray]:
    """16 kHz int16 waveforms of (text, params) items, spoken as one espeak-ng batch.

    An item's audio depends on the items before it in the batch (see
    :mod:`espnet_kd.corpora.espeak`), so reproducing it needs the same batch.
    """
    engine = get_engine()
    requests = [SpeechRequest(text, params.voice, params.rate_wpm, params.pitch, params.pitch_range)
                for text, params in items]
    raws = engine.synthesize_batch(requests)
    return [finish_utterance(raw, engine.sample_rate, params) for raw, (_, params) in zip(raws, items)]


def synthesize_utterance(text: str, params: SynthesisParams) -> np.ndarray:
    """The 16 kHz int16 waveform of ``text`` spoken with ``params`` (a batch of one)."""
    return synthesize_utterances([(text, params)])[0]


def write_wav(path: Union[str, os.PathLike], samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a mono 16-bit PCM WAV, under a temporary name first so a killed run leaves no half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, subtype="PCM_16", format="WAV")
    tmp_path = path.with_name(f".{path.name}.tmp")
    tmp_path.write_bytes(buffer.getvalue())
    os.replace(tmp_path, path)

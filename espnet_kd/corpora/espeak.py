"""espeak-ng through ctypes, with every utterance synthesised from the same engine state.

The library and its voice data come from the ``espeakng-loader`` wheel, so
nothing is downloaded. The engine is initialised once per process in
synchronous mode; a callback collects the 16-bit samples (22050 Hz).

**Determinism.** espeak-ng is not a pure function of (text, voice, rate, pitch):
its wave generator keeps static state from one utterance to the next (the
library has statics such as a pitch-flutter index and an echo buffer) that
``espeak_Terminate``/``espeak_Initialize`` do not reset, and its random noise
source (breathy voices) is not reproducibly seeded unless told to be. Measured
with espeak-ng 1.52 from espeakng-loader 0.2.4: the same call gives different
samples depending on what was spoken before it, and the first call of a fresh
process differs from run to run unless ``espeak_ng_SetRandSeed`` is called.

So the engine of a process is initialised but never speaks itself:
:meth:`EspeakEngine.synthesize_batch` ``fork()``s a child that inherits that untouched state, speaks the batch in
order (fixing the noise seed with ``espeak_ng_SetRandSeed`` before each
utterance), sends the samples back through a pipe and exits. The samples of
an utterance therefore depend only on its arguments and on the utterances
before it *in the same batch*: callers that need reproducible audio must form
the same batches (the corpus writer uses fixed blocks of consecutive
utterances, so its output does not depend on the number of workers). A fork
costs a few milliseconds, hence batches rather than one fork per utterance.
POSIX only.

Nothing espeak-ng prints reaches standard output: the initialisation and each
child run with file descriptor 1 pointed at standard error.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
CHARS_UTF8 = 1
POSITION_CHARACTER = 1
PARAMETER_RATE = 1
PARAMETER_PITCH = 3
PARAMETER_RANGE = 4
ENGINE_RAND_SEED = 1

RATE_LIMITS = (80, 450)  # words per minute espeak-ng accepts
PITCH_LIMITS = (0, 100)  # base pitch and pitch range, 50 is the voice's normal

_CHILD_OK, _CHILD_VOICE_FAILED, _CHILD_SYNTH_FAILED, _CHILD_CRASHED = 0, 3, 4, 5
_CHILD_ERRORS = {
    _CHILD_VOICE_FAILED: "espeak_SetVoiceByName failed",
    _CHILD_SYNTH_FAILED: "espeak_Synth failed",
    _CHILD_CRASHED: "an exception in the synthesis child",
}

_FRAME_HEADER = struct.Struct("<Q")  # byte length of one utterance's samples in the pipe

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    """espeak-ng could not be loaded or failed to speak."""


@dataclass(frozen=True)
class SpeechRequest:
    """What to say and how: ``voice`` is "lang+variant" ("en+f3"), ``rate`` in words
    per minute, ``pitch`` and ``pitch_range`` 0-100 (50 is the voice's own)."""

    text: str
    voice: str
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50

    def check(self) -> None:
        """Raise ``ValueError`` on empty text, an unknown voice or a value out of range."""
        if not self.text.strip():
            raise ValueError("nothing to say: empty text")
        check_voice(self.voice)
        _check_limits("rate", self.rate, RATE_LIMITS)
        _check_limits("pitch", self.pitch, PITCH_LIMITS)
        _check_limits("pitch_range", self.pitch_range, PITCH_LIMITS)


def _loader():
    try:
        import espeakng_loader
    except ImportError as error:  # pragma: no cover - a dependency of the package
        raise EspeakError("espeakng-loader is not installed (pip install espeakng-loader)") from error
    return espeakng_loader


def data_path() -> Path:
    """The espeak-ng data directory shipped with ``espeakng-loader``."""
    return Path(_loader().get_data_path())


@lru_cache(maxsize=1)
def available_variants() -> Set[str]:
    """Voice variant names (``m1``, ``f3``, ``klatt``...) found in the data directory."""
    return {path.name for path in (data_path() / "voices" / "!v").iterdir() if path.is_file()}


@lru_cache(maxsize=1)
def available_languages() -> Set[str]:
    """Language voice names (``en``, ``en-us``...) found in the data directory, lowercase."""
    return {path.name.lower() for path in (data_path() / "lang").rglob("*") if path.is_file()}


def check_voice(voice: str) -> None:
    """Raise ``ValueError`` unless ``voice`` ("lang" or "lang+variant") exists in the data.

    espeak-ng itself silently ignores an unknown variant, so this is checked here.
    """
    language, _, variant = voice.partition("+")
    if language.lower() not in available_languages():
        raise ValueError(f"unknown espeak-ng language {language!r} in voice {voice!r}")
    if variant and variant not in available_variants():
        raise ValueError(f"unknown espeak-ng voice variant {variant!r} in voice {voice!r}")


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at standard error for the duration (C-level output included)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class EspeakEngine:
    """The process's espeak-ng instance. Use :func:`get_engine` rather than building one."""

    def __init__(self) -> None:
        loader = _loader()
        self._lib = ctypes.CDLL(loader.get_library_path())
        self._declare_signatures()
        with _stdout_to_stderr():
            rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed (returned {rate})")
        self.sample_rate: int = rate
        self._chunks: List[bytes] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # kept referenced for the library's lifetime
        self._lib.espeak_SetSynthCallback(self._callback)
        self._can_seed = hasattr(self._lib, "espeak_ng_SetRandSeed")
        # Load the English dictionary and phoneme tables once, so that forked
        # children inherit them (this speaks nothing, so the state stays fresh).
        if self._lib.espeak_SetVoiceByName(b"en") != 0:
            raise EspeakError("espeak_SetVoiceByName('en') failed")
        self._lock = threading.Lock()

    def _declare_signatures(self) -> None:
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        if hasattr(lib, "espeak_ng_SetRandSeed"):
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            lib.espeak_ng_SetRandSeed.restype = None

    def _collect(self, samples, count: int, events) -> int:  # noqa: ARG002 - ctypes callback signature
        if count > 0:
            self._chunks.append(ctypes.string_at(samples, count * 2))
        return 0  # 0: carry on

    def _speak(self, request: SpeechRequest) -> int:
        """Speak into ``self._chunks``; runs in the forked child. Returns a child exit code."""
        self._chunks.clear()
        if self._can_seed:
            self._lib.espeak_ng_SetRandSeed(ENGINE_RAND_SEED)
        if self._lib.espeak_SetVoiceByName(request.voice.encode("ascii")) != 0:
            return _CHILD_VOICE_FAILED
        self._lib.espeak_SetParameter(PARAMETER_RATE, request.rate, 0)
        self._lib.espeak_SetParameter(PARAMETER_PITCH, request.pitch, 0)
        self._lib.espeak_SetParameter(PARAMETER_RANGE, request.pitch_range, 0)
        text = request.text.encode("utf-8")
        if self._lib.espeak_Synth(text, len(text) + 1, 0, POSITION_CHARACTER, 0, CHARS_UTF8, None, None) != 0:
            return _CHILD_SYNTH_FAILED
        self._lib.espeak_Synchronize()
        return _CHILD_OK

    def synthesize(self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50) -> np.ndarray:
        """Speak one utterance (a batch of one): int16 samples at :attr:`sample_rate`.

        The result depends only on the arguments.
        """
        return self.synthesize_batch([SpeechRequest(text, voice, rate, pitch, pitch_range)])[0]

    def synthesize_batch(self, requests: Sequence[SpeechRequest]) -> List[np.ndarray]:
        """Speak ``requests`` in order in one forked child; int16 samples at :attr:`sample_rate` each."""
        for request in requests:
            request.check()
        if not requests:
            return []
        with self._lock:
            frames, code = self._run_forked(requests)
        if code != _CHILD_OK:
            failed = requests[min(len(frames), len(requests) - 1)]
            reason = _CHILD_ERRORS.get(code, f"exit status {code}")
            raise EspeakError(f"synthesising {failed.text!r} with {failed.voice!r}: {reason}")
        for request, frame in zip(requests, frames):
            if not frame:
                raise EspeakError(f"espeak-ng produced no audio for {request.text!r} with {request.voice!r}")
        return [np.frombuffer(frame, dtype=np.int16).copy() for frame in frames]

    def _run_forked(self, requests: Sequence[SpeechRequest]) -> Tuple[List[bytes], int]:
        """Fork, speak every request in the child, return (samples per finished request, exit code)."""
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:  # the child: speak, send the samples, leave without any cleanup
            code = _CHILD_CRASHED
            try:
                os.close(read_end)
                os.dup2(2, 1)
                with os.fdopen(write_end, "wb") as pipe:
                    for request in requests:
                        code = self._speak(request)
                        if code != _CHILD_OK:
                            break
                        pipe.write(_FRAME_HEADER.pack(sum(len(chunk) for chunk in self._chunks)))
                        for chunk in self._chunks:
                            pipe.write(chunk)
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        return _split_frames(data), os.waitstatus_to_exitcode(status)


def _split_frames(data: bytes) -> List[bytes]:
    """Cut the child's pipe output into per-utterance sample buffers (complete frames only)."""
    frames = []
    offset = 0
    while offset + _FRAME_HEADER.size <= len(data):
        (length,) = _FRAME_HEADER.unpack_from(data, offset)
        offset += _FRAME_HEADER.size
        if offset + length > len(data):
            break
        frames.append(data[offset:offset + length])
        offset += length
    return frames


def _check_limits(name: str, value: int, limits) -> None:
    low, high = limits
    if not low <= value <= high:
        raise ValueError(f"{name} {value} is outside {low}..{high}")


_ENGINE: Optional[EspeakEngine] = None
_ENGINE_LOCK = threading.Lock()


def get_engine() -> EspeakEngine:
    """The process's engine, initialised on first use.

    A process forked after this keeps using the inherited engine, which is
    safe because the engine itself never speaks (only its children do).
    """
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = EspeakEngine()
        return _ENGINE

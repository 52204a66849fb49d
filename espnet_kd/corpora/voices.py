"""The espeak-ng voices of the corpus and which sets hear which.

Training uses six voices. Dev and test each use four: two voices never heard
in training (:data:`HELD_OUT_VOICES`, one male, one female) and two training
voices (:data:`EVAL_SEEN_VOICES`), in equal shares, so a model can be scored
on seen and unseen speakers separately (the speaker id names the voice). The
optional unlabeled set (untranscribed audio for distillation) is spoken by the
training voices.
"""

from __future__ import annotations

from typing import Dict, Tuple

TRAIN_VOICES: Tuple[str, ...] = ("en+m1", "en+m3", "en-us+m6", "en+f1", "en+f4", "en-us+f2")
HELD_OUT_VOICES: Tuple[str, ...] = ("en-us+m2", "en+f3")
EVAL_SEEN_VOICES: Tuple[str, ...] = ("en+m3", "en+f4")
EVAL_VOICES: Tuple[str, ...] = HELD_OUT_VOICES + EVAL_SEEN_VOICES

VOICES_BY_SET: Dict[str, Tuple[str, ...]] = {
    "train": TRAIN_VOICES,
    "dev": EVAL_VOICES,
    "test": EVAL_VOICES,
    "unlabeled": TRAIN_VOICES,
}


def speaker_id(voice: str) -> str:
    """A Kaldi-safe speaker id for an espeak-ng voice: "en-us+m2" -> "enus_m2"."""
    language, _, variant = voice.partition("+")
    language = "".join(char for char in language.lower() if char.isalnum())
    return f"{language}_{variant}" if variant else language

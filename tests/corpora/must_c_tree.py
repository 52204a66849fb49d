"""A small MuST-C-shaped tree built from embedded-corpus utterances (tests/corpora/test_must_c.py,
tests/recipes/test_must_c_data.py).

Each "talk" is several corpus utterances with random silence between them; the YAML
records where each one starts and how long it is, exactly as MuST-C does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List

import numpy as np
import soundfile
import yaml

from espnet_kd.utils.audio import read_entry
from espnet_kd.utils.kaldi_dir import KaldiDataDir

RATE = 16000
STEP = RATE // 100  # 10 ms
# talk file → speaker, and which corpus utterances (by position) it holds
TALKS = {"train": {"ted_1.wav": ("spk.1", [0, 1, 2]), "ted_12.wav": ("spk.12", [3, 4, 5])},
         "dev": {"ted_7.wav": ("spk.7", [0, 1])}}


@dataclass
class Planted:
    """One segment planted in a talk: where, who, what."""

    talk: str
    speaker: str
    offset: int  # samples
    samples: np.ndarray
    en: str
    de: str


def title_case(text: str) -> str:
    """How the tree writes a corpus sentence: capitalised, with a full stop."""
    return text[0].upper() + text[1:] + "."


def write_set(root: Path, set_name: str, corpus: KaldiDataDir, rng: np.random.Generator) -> List[Planted]:
    base = root / "en-de" / "data" / set_name
    (base / "wav").mkdir(parents=True)
    (base / "txt").mkdir()
    planted, entries = [], []
    utts = corpus.utt_ids
    for talk, (speaker, positions) in TALKS[set_name].items():
        pieces, cursor = [], 0
        for position in positions:
            utt = utts[position]
            samples, rate = read_entry(corpus.wav_scp[utt])
            assert rate == RATE
            # whole 10 ms steps, as ESPnet's segment times are (a segment's cut is then exact)
            samples = np.concatenate([samples, np.zeros(-len(samples) % STEP, dtype=np.int16)])
            silence = np.zeros(STEP * int(rng.integers(RATE // 4 // STEP, RATE // STEP)), dtype=np.int16)
            pieces += [silence, samples]
            cursor += len(silence)
            planted.append(Planted(talk, speaker, cursor, samples, corpus.texts["text.en"][utt],
                                   corpus.texts["text.de"][utt]))
            entries.append({"duration": len(samples) / RATE, "offset": cursor / RATE,
                            "rec_volume": 0.0, "speaker_id": speaker, "wav": talk})
            cursor += len(samples)
        pieces.append(np.zeros(RATE // 2, dtype=np.int16))
        soundfile.write(base / "wav" / talk, np.concatenate(pieces), RATE, subtype="PCM_16")
    (base / "txt" / f"{set_name}.yaml").write_text(yaml.safe_dump(entries, default_flow_style=None))
    (base / "txt" / f"{set_name}.en").write_text("".join(title_case(p.en) + "\n" for p in planted))
    (base / "txt" / f"{set_name}.de").write_text("".join(title_case(p.de) + "\n" for p in planted))
    return planted

"""Speed-perturbed copies of a formatted training dir (ESPnet's ``--speed_perturb_factors "0.9 1.0 1.1"``).

For every factor ``f`` other than 1, each utterance ``U`` of speaker ``S`` gets a copy ``sp<f>-U`` of
speaker ``sp<f>-S`` whose audio is ``U`` played ``f`` times as fast, pitch included, as sox's ``speed``
effect in Kaldi's ``perturb_data_dir_speed.sh``: the samples are read as if recorded at ``f · fs`` Hz and
resampled to ``fs`` (polyphase filter), so the copy lasts ``1/f`` times as long. Its texts are the
original's. Factor 1 keeps the original utterances under their own ids (leave it out to drop them).
Reads ``<in_dir>`` (``format_data``'s output: plain ``fs`` Hz wav files, ``utt2num_samples``); writes
``<out_dir>`` whole (new audio in ``<out_dir>/wav/``, the factor-1 entries pointing at the originals).

    python -m espnet_kd.bin.speed_perturb --in_dir dump/raw/train --out_dir dump/raw/train_sp \\
        --factors 0.9 1.0 1.1 --fs 16000
"""

from __future__ import annotations

import argparse
import logging
import time
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile

from espnet_kd.utils.audio import AudioError, read_entry, resample
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import atomic_dir
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir


def factor_prefix(factor: str) -> str:
    """The id prefix of a factor as written on the command line (``0.9`` → ``sp0.9-``), as ESPnet names it."""
    return f"sp{factor}-"


def check_factors(factors: Sequence[str]) -> List[str]:
    """The factors, each a positive number given once; raises ValueError otherwise."""
    seen: List[float] = []
    for factor in factors:
        try:
            value = float(factor)
        except ValueError:
            raise ValueError(f"speed factor '{factor}' is not a number") from None
        if not 0 < value < 10:
            raise ValueError(f"speed factor {factor} is not between 0 and 10")
        if value in seen:
            raise ValueError(f"speed factor {factor} is given twice")
        seen.append(value)
    if not factors:
        raise ValueError("no speed factor given")
    return list(factors)


def perturb(samples: np.ndarray, fs: int, factor: float) -> np.ndarray:
    """``samples`` (at ``fs`` Hz) played ``factor`` times as fast: read at ``factor · fs`` Hz, resampled to ``fs``."""
    rate_in = Fraction(fs) * Fraction(str(factor))
    if rate_in.denominator != 1:
        raise ValueError(f"speed factor {factor} at {fs} Hz gives a rate of {float(rate_in)} Hz, not a whole number")
    return resample(samples, int(rate_in), fs)


def _prefixed(table: Dict[str, str], prefix: str) -> Dict[str, str]:
    return {prefix + key: value for key, value in table.items()}


def speed_perturb_dir(in_dir: Path, out_dir: Path, factors: Sequence[str], fs: int) -> int:
    """Write ``out_dir``: the utterances of ``in_dir`` once per factor; return how many it holds."""
    data = KaldiDataDir.load(in_dir)
    if data.segments is not None:
        raise DataDirError(f"{in_dir}: has segments; speed perturbation reads a formatted dir (format_data's output)")
    if "utt2num_samples" not in data.extra:
        raise DataDirError(f"{in_dir}: no utt2num_samples (speed perturbation reads format_data's output)")
    factors = check_factors(factors)
    started = time.time()
    wav_scp: Dict[str, str] = {}
    utt2spk: Dict[str, str] = {}
    texts: Dict[str, Dict[str, str]] = {name: {} for name in data.texts}
    num_samples: Dict[str, str] = {}
    with atomic_dir(out_dir) as tmp_out:
        final_wav_dir = out_dir.resolve() / "wav"
        for factor in factors:
            prefix = "" if float(factor) == 1.0 else factor_prefix(factor)
            for name, table in data.texts.items():
                texts[name].update(_prefixed(table, prefix))
            utt2spk.update({prefix + utt: prefix + spk for utt, spk in data.utt2spk.items()})
            for utt in data.utt_ids:
                if not prefix:
                    wav_scp[utt] = data.wav_scp[utt]
                    num_samples[utt] = data.extra["utt2num_samples"][utt]
                    continue
                samples, rate = read_entry(data.wav_scp[utt])
                if rate != fs:
                    raise AudioError(f"{in_dir}: '{utt}' is at {rate} Hz, not --fs {fs} (format the dir first)")
                changed = perturb(samples, fs, float(factor))
                (tmp_out / "wav").mkdir(exist_ok=True)
                soundfile.write(tmp_out / "wav" / f"{prefix}{utt}.wav", changed, fs, subtype="PCM_16")
                wav_scp[prefix + utt] = str(final_wav_dir / f"{prefix}{utt}.wav")
                num_samples[prefix + utt] = str(len(changed))
            logging.info("speed %s: %d utterances (%.0f s so far)", factor, len(data.utt_ids), time.time() - started)
        KaldiDataDir(wav_scp=wav_scp, utt2spk=utt2spk, texts=texts,
                     extra={"utt2num_samples": num_samples}).write(tmp_out)
    logging.info("%s: %d utterances from the %d of %s (factors %s)", out_dir, len(utt2spk), len(data.utt_ids),
                 in_dir, " ".join(factors))
    return len(utt2spk)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("in_dir", dict(type=Path, required=True, help="formatted training dir")),
        ("out_dir", dict(type=Path, required=True, help="the speed-perturbed dir to write")),
        ("factors", dict(nargs="+", required=True, help="speed factors, e.g. 0.9 1.0 1.1")),
        ("fs", dict(type=int, default=16000, help="sample rate of the formatted audio")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        speed_perturb_dir(args.in_dir, args.out_dir, args.factors, args.fs)
    except (DataDirError, AudioError, ValueError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

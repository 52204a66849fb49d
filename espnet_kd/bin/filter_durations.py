"""Drop the utterances of a formatted training or validation dir that are too short or too long.

As ESPnet's ``asr.sh``/``st.sh`` do after formatting: an utterance of ``n`` samples
(``utt2num_samples``) is kept when ``int(min·fs) < n < int(max·fs)``, i.e. one of ≤ ``--min_wav_duration``
or ≥ ``--max_wav_duration`` seconds is dropped (defaults 0.1 and 20, ESPnet's). Rewrites the dir's
tables in place (the audio files stay) and logs how many were dropped, and why. Never run it on a
test set: a test set keeps every utterance. An unlabeled set (no ``text``) is filtered the same way.

    python -m espnet_kd.bin.filter_durations --data_dir dump/raw/train --fs 16000 \\
        --min_wav_duration 0.1 --max_wav_duration 20
"""

from __future__ import annotations

import argparse
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional

from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.kaldi_dir import TEXT_OPTIONAL, DataDirError, KaldiDataDir, c_sorted


@dataclass
class DurationFilter:
    """What a filter kept and dropped, by utterance id."""

    kept: List[str]
    too_short: List[str]
    too_long: List[str]


def sample_bounds(fs: int, min_seconds: float, max_seconds: float) -> tuple:
    """(min, max) sample counts, exclusive, as ESPnet computes them: ``int(seconds · fs)`` (max: inf stays inf)."""
    if min_seconds < 0 or max_seconds <= min_seconds:
        raise ValueError(f"need 0 <= --min_wav_duration < --max_wav_duration, not {min_seconds} and {max_seconds}")
    high = math.inf if math.isinf(max_seconds) else int(max_seconds * fs)
    return int(min_seconds * fs), high


def split_by_duration(num_samples: Mapping[str, int], fs: int, min_seconds: float,
                      max_seconds: float) -> DurationFilter:
    """Which utterances of ``num_samples`` a filter at ``min_seconds`` / ``max_seconds`` keeps."""
    low, high = sample_bounds(fs, min_seconds, max_seconds)
    result = DurationFilter([], [], [])
    for utt in c_sorted(num_samples):
        n = num_samples[utt]
        (result.too_short if n <= low else result.too_long if n >= high else result.kept).append(utt)
    return result


def filter_data_dir(data_dir: Path, fs: int, min_seconds: float, max_seconds: float) -> DurationFilter:
    """Keep the utterances of ``data_dir`` within the durations; rewrite its tables if any is dropped.
    Raises DataDirError when none is left, or without ``utt2num_samples`` (format it first)."""
    data = KaldiDataDir.load(data_dir, text=TEXT_OPTIONAL)   # an unlabeled set has none
    if "utt2num_samples" not in data.extra:
        raise DataDirError(f"{data_dir}: no utt2num_samples (run the format stage first)")
    try:
        num_samples = {utt: int(value) for utt, value in data.extra["utt2num_samples"].items()}
    except ValueError:
        raise DataDirError(f"{data_dir}/utt2num_samples: a value is not a whole number of samples") from None
    result = split_by_duration(num_samples, fs, min_seconds, max_seconds)
    if not result.kept:
        raise DataDirError(f"{data_dir}: every one of its {len(num_samples)} utterances is <= {min_seconds} s "
                           f"or >= {max_seconds} s (--min_wav_duration / --max_wav_duration)")
    dropped = len(result.too_short) + len(result.too_long)
    if dropped:
        data.subset(result.kept).write(data_dir)
    logging.info("%s: dropped %d of %d utterances (%d <= %g s, %d >= %g s)%s", data_dir, dropped, len(num_samples),
                 len(result.too_short), min_seconds, len(result.too_long), max_seconds,
                 f", e.g. {', '.join((result.too_short + result.too_long)[:3])}" if dropped else "")
    return result


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("data_dir", dict(type=Path, required=True, help="formatted dir (with utt2num_samples), rewritten in place")),
        ("fs", dict(type=int, default=16000, help="its sample rate")),
        ("min_wav_duration", dict(type=float, default=0.1, help="drop utterances of this many seconds or fewer")),
        ("max_wav_duration", dict(type=float, default=20.0, help="drop utterances of this many seconds or more (inf: none)")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    try:
        filter_data_dir(args.data_dir, args.fs, args.min_wav_duration, args.max_wav_duration)
    except (DataDirError, ValueError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

"""Format a Kaldi data dir into the form ESPnet's loaders read.

Reads ``<in_dir>/{wav.scp,[segments],text*,utt2spk}``; writes ``<out_dir>/`` with a
``wav.scp`` whose every entry is a plain 16-bit PCM WAV file at ``--fs`` Hz (entries
that already are pass through untouched; pipes, other formats, other rates and
segments are converted into ``<out_dir>/wav/``), the text files, ``utt2spk``,
``spk2utt`` and ``utt2num_samples``. The output dir appears only when complete; the
temporary dir of a run that was killed is removed by the next run. An empty text (a line
``<utt>`` alone) is an error unless ``--allow_empty_text true`` (test sets only: ESPnet keeps
such a test utterance, scored as an empty reference; a training utterance needs a text).

An unlabeled set (untranscribed audio, a recipe's ``--unlabeled_sets``) is formatted with
``--unlabeled true``: it has no ``text`` (one there is refused, as ``validate_data_dir
--unlabeled`` refuses it), and the output holds the same files but ``text``: ``wav.scp``,
``utt2spk``, ``spk2utt``, ``utt2num_samples`` (and any other text table it has). Without
``--unlabeled true`` a dir with no ``text`` is an error.

A ``wav.scp`` entry ending in ``|`` is a shell command (Kaldi's convention): this
program runs the commands the data dir holds. Check data from an untrusted source
with ``python -m espnet_kd.bin.validate_data_dir --no_pipes`` first.

    python -m espnet_kd.bin.format_data --in_dir data/train --out_dir dump/raw/train --fs 16000
    python -m espnet_kd.bin.format_data --in_dir data/unlabeled --out_dir dump/raw/unlabeled --unlabeled true
"""

from __future__ import annotations

import argparse
import collections
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Counter, Dict, List, Optional

import soundfile

from espnet_kd.utils.audio import AudioError, cut_segment, num_samples, plain_file_rate, read_entry, resample
from espnet_kd.utils.cli import add_arguments, fail, setup_logging
from espnet_kd.utils.fileio import atomic_dir, atomic_write
from espnet_kd.utils.kaldi_dir import (
    TEXT_ABSENT,
    TEXT_REQUIRED,
    DataDirError,
    KaldiDataDir,
    c_sorted,
    write_table,
)


def format_data_dir(in_dir: Path, out_dir: Path, fs: int, allow_empty_text: bool = False,
                    unlabeled: bool = False) -> Dict[str, int]:
    """Format ``in_dir`` into ``out_dir``; return ``utt2num_samples``. ``allow_empty_text``: a text
    may be empty (a test set's); ``unlabeled``: an unlabeled set, which has no ``text``."""
    data = KaldiDataDir.load(in_dir, allow_empty_text=allow_empty_text,
                             text=TEXT_ABSENT if unlabeled else TEXT_REQUIRED)
    new_wav_scp: Dict[str, str] = {}
    utt2num_samples: Dict[str, int] = {}
    started = time.time()
    with atomic_dir(out_dir) as tmp_out:
        wav_dir = tmp_out / "wav"
        final_wav_dir = out_dir.resolve() / "wav"
        recordings_cache: Dict[str, tuple] = {}
        input_rates: Counter = collections.Counter()   # each utterance's input sample rate
        utt_ids = data.utt_ids
        for index, utt in enumerate(utt_ids, start=1):
            if data.segments is None:
                entry = data.wav_scp[utt]
                rate = plain_file_rate(entry)
                if rate == fs:
                    input_rates[rate] += 1
                    new_wav_scp[utt] = str(Path(entry).resolve())
                    utt2num_samples[utt] = num_samples(entry)
                    continue
                samples, rate = read_entry(entry)
            else:
                seg_id = utt
                recording, start_s, end_s = _parse_segment(data.segments[seg_id], seg_id)
                if recording not in recordings_cache:
                    recordings_cache.clear()  # segments are sorted by recording: keep one
                    recordings_cache[recording] = read_entry(data.wav_scp[recording])
                full, rate = recordings_cache[recording]
                samples = cut_segment(full, rate, start_s, end_s, seg_id)
            input_rates[rate] += 1
            samples = resample(samples, rate, fs)
            wav_dir.mkdir(exist_ok=True)
            soundfile.write(wav_dir / f"{utt}.wav", samples, fs, subtype="PCM_16")
            new_wav_scp[utt] = str(final_wav_dir / f"{utt}.wav")
            utt2num_samples[utt] = len(samples)
            if index % 500 == 0:
                logging.info("%d/%d utterances (%.1f utt/s)", index, len(utt_ids), index / (time.time() - started))
        formatted = KaldiDataDir(
            wav_scp=new_wav_scp, utt2spk=data.utt2spk, texts=data.texts, segments=None,
            extra={name: table for name, table in data.extra.items() if name != "utt2num_samples"},
        )
        formatted.write(tmp_out, allow_empty_text=allow_empty_text)
        write_table(tmp_out / "utt2num_samples", {utt: str(n) for utt, n in utt2num_samples.items()})
    logging.info("formatted %d utterances into %s in %.1f s", len(utt_ids), out_dir, time.time() - started)
    logging.info("%s", resampling_summary(input_rates, fs, in_dir))
    return utt2num_samples


def resampling_summary(input_rates: Counter, fs: int, in_dir: Path) -> str:
    """What formatting converted: ``in_dir: resampled 3 of 5 utterances to 16000 Hz (from 22050 Hz: 2,
    8000 Hz: 1); 2 were at 16000 Hz`` (or that none needed it)."""
    total = sum(input_rates.values())
    converted = {rate: count for rate, count in sorted(input_rates.items()) if rate != fs}
    if not converted:
        return f"{in_dir}: all {total} utterances were at {fs} Hz: none resampled"
    sources = ", ".join(f"{rate} Hz: {count}" for rate, count in converted.items())
    return (f"{in_dir}: resampled {sum(converted.values())} of {total} utterances to {fs} Hz (from {sources}); "
            f"{input_rates.get(fs, 0)} were at {fs} Hz")


def _parse_segment(value: str, seg_id: str) -> tuple:
    """``rec start end`` → (rec, start, end) with a clear error."""
    fields = value.split()
    try:
        return fields[0], float(fields[1]), float(fields[2])
    except (IndexError, ValueError):
        raise DataDirError(f"segments: line for '{seg_id}' is not 'recording start end': '{value}'")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, [
        ("in_dir", dict(type=Path, required=True, help="Kaldi data dir to read")),
        ("out_dir", dict(type=Path, required=True, help="formatted data dir to write")),
        ("fs", dict(type=int, default=16000, help="sample rate of the output audio")),
        ("allow_empty_text", dict(choices=("true", "false"), default="false",
                                  help="true: a text may be empty (test sets only; a training utterance needs one)")),
        ("unlabeled", dict(choices=("true", "false"), default="false",
                           help="true: an unlabeled set (untranscribed audio): no text, one there is refused")),
    ])
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    args = get_parser().parse_args(argv)
    if args.fs <= 0:
        fail(f"--fs must be a sample rate in Hz above 0, not {args.fs}")
    try:
        format_data_dir(args.in_dir, args.out_dir, args.fs, allow_empty_text=args.allow_empty_text == "true",
                        unlabeled=args.unlabeled == "true")
    except (DataDirError, AudioError) as error:
        fail(str(error))


if __name__ == "__main__":
    main()

"""Check Kaldi data dirs: required files present, every file covering the same
utterances, no empty transcript (``--allow_empty_text``: a test set, whose empty
texts ESPnet keeps and scores as empty references), no duplicate ids, every file sorted by key in C
locale (``LC_ALL=C sort``), every line UTF-8; audio files exist and are not empty
(0 bytes).

A ``wav.scp`` entry ending in ``|`` is a shell command whose output is the audio
(Kaldi's convention, e.g. ``sph2pipe -f wav x.wv1 |``): formatting the data dir
(``espnet_kd.bin.format_data``, a recipe's stage 2) runs the commands the data dir holds,
in a shell (``sh -c``, in the current directory), with your permissions. For data from a
source you do not trust, check it first with ``--no_pipes``, which refuses any
command entry.

An unlabeled set (untranscribed audio that a teacher labels for distillation: a recipe's
``--unlabeled_sets``) is checked with ``--unlabeled``: ``wav.scp`` and ``utt2spk`` (optional
``segments``, ``spk2utt``) as above, and no ``text``. A ``text`` there is refused rather than
ignored: a set said to be untranscribed that holds transcripts is most likely a labelled set
listed in the wrong place (remove the file, or list the set as a training or test set). Other
text tables (``text.en``, ...) are checked as usual.

    python -m espnet_kd.bin.validate_data_dir data/train data/dev
    python -m espnet_kd.bin.validate_data_dir --no_pipes downloaded/data/train
    python -m espnet_kd.bin.validate_data_dir --unlabeled data/unlabeled
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from espnet_kd.utils.audio import is_pipe
from espnet_kd.utils.cli import fail, setup_logging
from espnet_kd.utils.fileio import InputError, iter_text_lines
from espnet_kd.utils.kaldi_dir import TEXT_ABSENT, TEXT_REQUIRED, DataDirError, KaldiDataDir


def check_sorted(path: Path) -> None:
    """Raise DataDirError at the first line of ``path`` whose key sorts before the previous one (C locale)."""
    previous = None
    for line_no, line in iter_text_lines(path):
        fields = line.split(maxsplit=1)
        if not fields:
            continue
        key = fields[0].encode("utf-8")
        if previous is not None and key < previous:
            raise DataDirError(
                f"{path}:{line_no}: '{fields[0]}' after '{previous.decode('utf-8')}': the file is not "
                "sorted by key in C locale (sort it with LC_ALL=C sort)"
            )
        previous = key


def pipe_lines(path: Path) -> List[str]:
    """``line: key`` of every command (``... |``) entry of a wav.scp."""
    found = []
    for line_no, line in iter_text_lines(path):
        fields = line.split(maxsplit=1)
        if len(fields) == 2 and is_pipe(fields[1]):
            found.append(f"{line_no}: {fields[0]}")
    return found


def validate(path: Path, check_audio: bool = True, no_pipes: bool = False,
             allow_empty_text: bool = False, unlabeled: bool = False) -> KaldiDataDir:
    """Load and validate ``path``; raise DataDirError naming the first problem (``allow_empty_text``:
    an empty text is not one; ``unlabeled``: an unlabeled set, which has no ``text``)."""
    data = KaldiDataDir.load(path, allow_empty_text=allow_empty_text,
                             text=TEXT_ABSENT if unlabeled else TEXT_REQUIRED)
    table_files = ["wav.scp", "utt2spk", "spk2utt", "segments", *data.texts, *data.extra]
    for name in table_files:
        if (path / name).is_file():
            check_sorted(path / name)
    if no_pipes:
        commands = pipe_lines(path / "wav.scp")
        if commands:
            raise DataDirError(
                f"{path / 'wav.scp'}:{commands[0]} is a shell command ('... |'), and --no_pipes refuses "
                f"commands ({len(commands)} entr{'y' if len(commands) == 1 else 'ies'}): reading this dir "
                "would run them"
            )
    if check_audio:
        missing, empty = [], []
        for entry in data.wav_scp.values():
            if is_pipe(entry):
                continue
            audio = Path(entry)
            if not audio.is_file():
                missing.append(entry)
            elif audio.stat().st_size == 0:
                empty.append(entry)
        if missing:
            raise DataDirError(f"{path}: {len(missing)} audio file(s) in wav.scp do not exist, e.g. {missing[:3]}")
        if empty:
            raise DataDirError(f"{path}: {len(empty)} audio file(s) in wav.scp are empty (0 bytes), e.g. {empty[:3]}")
    return data


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--no_audio_check", "--no-audio-check", action="store_true",
                        help="do not check that the audio files exist and are not empty")
    parser.add_argument("--no_pipes", "--no-pipes", action="store_true",
                        help="refuse wav.scp entries that are shell commands ('... |'): for untrusted data")
    parser.add_argument("--allow_empty_text", "--allow-empty-text", action="store_true",
                        help="accept empty texts (a test set's utterances, kept as ESPnet keeps them)")
    parser.add_argument("--unlabeled", action="store_true",
                        help="the dirs are unlabeled sets (untranscribed audio): no text required, and a "
                             "text file there is refused (remove it, or treat the set as a labelled one)")
    args = parser.parse_args(argv)
    for path in args.data_dirs:
        try:
            data = validate(path, check_audio=not args.no_audio_check, no_pipes=args.no_pipes,
                            allow_empty_text=args.allow_empty_text, unlabeled=args.unlabeled)
        except InputError as error:  # DataDirError, or a line that is not UTF-8
            fail(str(error))
        print(f"{path}: OK ({len(data.utt2spk)} utterances, {len(set(data.utt2spk.values()))} speakers, "
              f"{'unlabeled, ' if args.unlabeled else ''}text files: {', '.join(sorted(data.texts)) or 'none'})")


if __name__ == "__main__":
    main()

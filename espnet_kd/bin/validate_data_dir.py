"""Check Kaldi data dirs: required files present, every file covering the same
utterances, no empty transcript, no duplicate ids; audio files exist.

    python -m espnet_kd.bin.validate_data_dir data/train data/dev
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from espnet_kd.utils.audio import is_pipe
from espnet_kd.utils.cli import fail, setup_logging
from espnet_kd.utils.kaldi_dir import DataDirError, KaldiDataDir


def validate(path: Path, check_audio: bool = True) -> KaldiDataDir:
    """Load and validate ``path``; raise DataDirError naming the first problem."""
    data = KaldiDataDir.load(path)
    if check_audio:
        missing = [
            entry for entry in data.wav_scp.values()
            if not is_pipe(entry) and not Path(entry).is_file()
        ]
        if missing:
            raise DataDirError(f"{path}: {len(missing)} audio file(s) in wav.scp do not exist, e.g. {missing[:3]}")
    return data


def main(argv: Optional[List[str]] = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--no_audio_check", "--no-audio-check", action="store_true")
    args = parser.parse_args(argv)
    for path in args.data_dirs:
        try:
            data = validate(path, check_audio=not args.no_audio_check)
        except DataDirError as error:
            fail(str(error))
        print(f"{path}: OK ({len(data.utt2spk)} utterances, {len(set(data.utt2spk.values()))} speakers, "
              f"text files: {', '.join(sorted(data.texts))})")


if __name__ == "__main__":
    main()

"""Tiny real ESPnet2 models and batches for the word-KD tests (a few thousand parameters).

Teachers are built and saved the way ESPnet's trainer leaves them (``config.yaml`` +
a state-dict checkpoint), so the code under test loads them with ESPnet's own
``build_model_from_file``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import yaml

TOKENS = ["<blank>", "<unk>", "<space>", "a", "b", "c", "d", "e", "<sos/eos>"]
SRC_TOKENS = ["<blank>", "<unk>", "<space>", "x", "y", "z", "<sos/eos>"]

ASR_MODEL_OPTIONS = [
    "--frontend", "default",
    "--frontend_conf", "n_fft=128", "--frontend_conf", "win_length=128",
    "--frontend_conf", "hop_length=64", "--frontend_conf", "n_mels=8",
    "--normalize", "utterance_mvn",
    "--encoder", "transformer",
    "--encoder_conf", "output_size=8", "--encoder_conf", "attention_heads=2",
    "--encoder_conf", "linear_units=16", "--encoder_conf", "num_blocks=1",
    "--encoder_conf", "input_layer=conv2d2",
    "--decoder", "transformer",
    "--decoder_conf", "attention_heads=2", "--decoder_conf", "linear_units=16",
    "--decoder_conf", "num_blocks=1",
    "--model_conf", "ctc_weight=0.3", "--model_conf", "lsm_weight=0.1",
]

MT_MODEL_OPTIONS = [
    "--frontend", "embed",
    "--frontend_conf", "embed_dim=8", "--frontend_conf", "positional_dropout_rate=0.0",
    "--encoder", "transformer",
    "--encoder_conf", "output_size=8", "--encoder_conf", "attention_heads=2",
    "--encoder_conf", "linear_units=16", "--encoder_conf", "num_blocks=1",
    "--encoder_conf", "input_layer=null",
    "--decoder", "transformer",
    "--decoder_conf", "attention_heads=2", "--decoder_conf", "linear_units=16",
    "--decoder_conf", "num_blocks=1",
    "--model_conf", "lsm_weight=0.1",
]

ST_MODEL_OPTIONS = [
    "--frontend", "default",
    "--frontend_conf", "n_fft=128", "--frontend_conf", "win_length=128",
    "--frontend_conf", "hop_length=64", "--frontend_conf", "n_mels=8",
    "--normalize", "utterance_mvn",
    "--encoder", "transformer",
    "--encoder_conf", "output_size=8", "--encoder_conf", "attention_heads=2",
    "--encoder_conf", "linear_units=16", "--encoder_conf", "num_blocks=1",
    "--encoder_conf", "input_layer=conv2d2",
    "--decoder", "transformer",
    "--decoder_conf", "attention_heads=2", "--decoder_conf", "linear_units=16",
    "--decoder_conf", "num_blocks=1",
    "--model_conf", "lsm_weight=0.1",
]


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def parse(task, argv: List[str]) -> argparse.Namespace:
    return task.get_parser().parse_args(argv)


def save_trained_like(task, args: argparse.Namespace, model: torch.nn.Module, out_dir: Path) -> Tuple[Path, Path]:
    """Write ``config.yaml`` and ``model.pth`` as ESPnet's trainer does; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / "config.yaml"
    with open(config, "w", encoding="utf-8") as handle:
        yaml.safe_dump(vars(args), handle)
    model_file = out_dir / "model.pth"
    torch.save(model.state_dict(), model_file)
    return config, model_file


def make_asr_model(out_dir: Path, token_list: Path, seed: int, extra: Sequence[str] = ()):
    """A tiny ESPnet ASR model, saved; returns (config, model_file, model)."""
    from espnet2.tasks.asr import ASRTask

    args = parse(ASRTask, ["--token_list", str(token_list), "--output_dir", str(out_dir),
                           "--token_type", "char", *ASR_MODEL_OPTIONS, *extra])
    torch.manual_seed(seed)
    model = ASRTask.build_model(args)
    config, model_file = save_trained_like(ASRTask, args, model, out_dir)
    return config, model_file, model


def make_mt_model(out_dir: Path, token_list: Path, src_token_list: Path, seed: int):
    """A tiny ESPnet MT model, saved; returns (config, model_file, model)."""
    from espnet2.tasks.mt import MTTask

    args = parse(MTTask, ["--token_list", str(token_list), "--src_token_list", str(src_token_list),
                          "--output_dir", str(out_dir), "--token_type", "char",
                          "--src_token_type", "char", *MT_MODEL_OPTIONS])
    torch.manual_seed(seed)
    model = MTTask.build_model(args)
    config, model_file = save_trained_like(MTTask, args, model, out_dir)
    return config, model_file, model


def random_ids(lengths: Sequence[int], vocab: int, generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """Padded (-1) random token ids in [3, vocab-2] (no blank/unk/space/eos)."""
    pad = torch.full((len(lengths), max(lengths)), -1, dtype=torch.long)
    for i, n in enumerate(lengths):
        pad[i, :n] = torch.randint(3, vocab - 1, (n,), generator=generator)
    return pad, torch.tensor(list(lengths))


def asr_batch(seed: int = 0, text_lengths: Sequence[int] = (5, 3, 4),
              speech_lengths: Sequence[int] = (4000, 3200, 2400)) -> Dict[str, torch.Tensor]:
    """A padded ASR batch as ESPnet's collate function makes it."""
    generator = torch.Generator().manual_seed(seed)
    speech = torch.zeros(len(speech_lengths), max(speech_lengths))
    for i, n in enumerate(speech_lengths):
        speech[i, :n] = torch.randn(n, generator=generator)
    text, text_len = random_ids(text_lengths, len(TOKENS), generator)
    return {"speech": speech, "speech_lengths": torch.tensor(list(speech_lengths)),
            "text": text, "text_lengths": text_len}


def st_batch(seed: int = 0, src_lengths: Sequence[int] = (4, 6, 2)) -> Dict[str, torch.Tensor]:
    batch = asr_batch(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    batch["src_text"], batch["src_text_lengths"] = random_ids(src_lengths, len(SRC_TOKENS), generator)
    return batch


def write_wav_data(data_dir: Path, texts: Dict[str, str], seed: int = 0,
                   src_texts: Optional[Dict[str, str]] = None) -> Path:
    """A Kaldi-style dir with random 16 kHz wavs, ``text`` (and ``text.src``)."""
    import soundfile

    rng = np.random.default_rng(seed)
    wav_lines, text_lines = [], []
    for i, (utt, text) in enumerate(sorted(texts.items())):
        wav = data_dir / "wav" / f"{utt}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(wav, (0.1 * rng.standard_normal(2400 + 400 * i)).astype(np.float32), 16000)
        wav_lines.append(f"{utt} {wav}")
        text_lines.append(f"{utt} {text}")
    write_lines(data_dir / "wav.scp", wav_lines)
    write_lines(data_dir / "text", text_lines)
    if src_texts is not None:
        write_lines(data_dir / "text.src", [f"{u} {t}" for u, t in sorted(src_texts.items())])
    return data_dir


# the utterances of the tiny n-best models' data dirs (tests/conftest.py: asr_setup, mt_setup)
NBEST_TEXTS = {f"utt{i:02d}": "abc de" for i in range(9)}
NBEST_SRC_TEXTS = {f"utt{i:02d}": ["xy z", "zz", "x y z x", "y", "xyz zyx", "zx", "yyy", "x", "z y"][i] for i in range(9)}


def bias_eos(model: torch.nn.Module, model_file: Path, amount: float) -> None:
    """Shift the decoder's <eos> logit (so random models end early or never) and re-save."""
    with torch.no_grad():
        model.decoder.output_layer.bias[model.eos] += amount
    torch.save(model.state_dict(), model_file)


# the utterances of the word-KD tests' data dir (tests/conftest.py: kd_env)
KD_TEXTS = {"utt1": "ab cd", "utt2": "eee", "utt3": "a b c", "utt4": "dd ea", "utt5": "cab", "utt6": "e d"}
KD_SRC_TEXTS = {u: "xy z" * (i % 2 + 1) for i, u in enumerate(KD_TEXTS)}

"""A tiny real ESPnet2 MT model (MTTask, transformer, word tokens) saved as ESPnet's trainer does.

Used as the backward (Italian → English) model of the ``qe:backward`` tests:
``config.yaml`` (every training argument, token lists inline) and ``model.pth``
(the state dict), loadable with ``MTTask.build_model_from_file``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

import torch
import yaml

ITALIAN = ["<blank>", "<unk>", "uno", "due", "tre", "quattro", "cinque", "sei", "<sos/eos>"]
ENGLISH = ["<blank>", "<unk>", "one", "two", "three", "four", "five", "six", "<sos/eos>"]
PARALLEL = [
    ("uno due tre", "one two three"),
    ("quattro cinque", "four five"),
    ("sei", "six"),
    ("due sei", "two six"),
    ("tre uno", "three one"),
    ("cinque quattro sei", "five four six"),
]


def ids(text: str, token_list: Sequence[str]) -> List[int]:
    """Word ids by hand (``<unk>`` for an unknown word)."""
    return [token_list.index(word) if word in token_list else 1 for word in text.split()]


def build_tiny_mt(out_dir: Path, seed: int = 0) -> Tuple[torch.nn.Module, Path, Path]:
    """Build a randomly initialised tiny MT model; write config.yaml and model.pth under ``out_dir``."""
    from espnet2.tasks.mt import MTTask

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "src_tokens.txt").write_text("".join(t + "\n" for t in ITALIAN), encoding="utf-8")
    (out_dir / "tgt_tokens.txt").write_text("".join(t + "\n" for t in ENGLISH), encoding="utf-8")
    args = MTTask.get_parser().parse_args(
        [
            "--token_list", str(out_dir / "tgt_tokens.txt"),
            "--src_token_list", str(out_dir / "src_tokens.txt"),
            "--token_type", "word", "--src_token_type", "word",
            "--frontend", "embed", "--encoder", "transformer", "--decoder", "transformer",
        ]
    )
    no_dropout = dict(dropout_rate=0.0, positional_dropout_rate=0.0)
    args.frontend_conf = dict(embed_dim=16, positional_dropout_rate=0.0)
    args.encoder_conf = dict(
        output_size=16, attention_heads=2, linear_units=32, num_blocks=1,
        input_layer="linear", attention_dropout_rate=0.0, **no_dropout,
    )
    args.decoder_conf = dict(
        attention_heads=2, linear_units=32, num_blocks=1,
        self_attention_dropout_rate=0.0, src_attention_dropout_rate=0.0, **no_dropout,
    )
    args.model_conf = dict(lsm_weight=0.0, length_normalized_loss=True, report_bleu=False)
    torch.manual_seed(seed)
    model = MTTask.build_model(args)  # turns the token list paths into lists, as ESPnet saves them
    config, checkpoint = out_dir / "config.yaml", out_dir / "model.pth"
    with open(config, "w", encoding="utf-8") as handle:
        yaml.safe_dump(vars(args), handle)
    torch.save(model.state_dict(), checkpoint)
    return model, config, checkpoint


def batch_of(pairs: Sequence[Tuple[str, str]]) -> dict:
    """ESPnet's padded batch (padding -1) for ``(italian, english)`` pairs."""
    def pad(seqs: List[List[int]]) -> Tuple[torch.Tensor, torch.Tensor]:
        lengths = torch.tensor([len(s) for s in seqs])
        out = torch.full((len(seqs), int(lengths.max())), -1, dtype=torch.long)
        for row, seq in enumerate(seqs):
            out[row, : len(seq)] = torch.tensor(seq)
        return out, lengths

    src, src_lengths = pad([ids(it, ITALIAN) for it, _ in pairs])
    text, text_lengths = pad([ids(en, ENGLISH) for _, en in pairs])
    return dict(text=text, text_lengths=text_lengths, src_text=src, src_text_lengths=src_lengths)


def train_briefly(model: torch.nn.Module, checkpoint: Path, steps: int = 100) -> None:
    """Fit the model to :data:`PARALLEL` with its own loss (Adam), then overwrite ``checkpoint``.

    One thread: on a busy machine a tiny model trains many times faster so.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fit(model, steps)
    finally:
        torch.set_num_threads(threads)
    torch.save(model.state_dict(), checkpoint)


def fit(model: torch.nn.Module, steps: int) -> None:
    """``steps`` Adam updates of the model's own loss on :data:`PARALLEL`; leaves it in eval mode."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    batch = batch_of(PARALLEL)
    for _ in range(steps):
        optimizer.zero_grad()
        loss, _, _ = model(**batch)
        loss.backward()
        optimizer.step()
    model.eval()

"""The decoding length limit (``maxlenratio``) that fits a corpus, and the record of the choice.

ESPnet's beam search stops a hypothesis after ``max(1, int(maxlenratio · T))`` steps, where
``T`` is the encoder length (encoder frames for speech; for MT the source tokens and its
``<eos>``), and at ``T``
steps for ``maxlenratio: 0.0``. A ratio below the corpus's own tokens per encoder frame cuts
hypotheses short: a char-level corpus at 4× subsampling can hold more tokens than 0.3 per
frame, and translations often hold more target tokens than their source has.

A decode config may say ``maxlenratio: auto``: the limit is then :data:`AUTO_MARGIN` times
the largest ``(tokens + 1) / T`` over the training set (``+ 1``: the ``<eos>`` step; at most 1
when the search weighs CTC, which allows one token per frame), with
the tokens counted by the model's own tokenizer and ``T`` computed from the model's
frontend and encoder subsampling (:func:`encoder_length`). A fixed ratio is kept, with a
warning when it allows fewer steps than some training utterance needs.

:func:`resolve_decode_config` writes the config the decoder reads (``decode.yaml``, the
ratio filled in) and ``decode_limits.json`` (the ratio, how it was chosen, the measured
training-set ratio) into the decode dir: ``espnet_kd.bin.decode_limits`` is its CLI, called
by ``decode_split`` in ``egs2/TEMPLATE/scripts/common.sh``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import yaml

from espnet_kd.utils.fileio import InputError, PathLike, atomic_write, read_yaml_mapping
from espnet_kd.utils.kaldi_dir import read_table
from espnet_kd.utils.nlsyms import read_nlsyms
from espnet_kd.utils.tokens import count_tokens

AUTO = "auto"
AUTO_MARGIN = 1.5          # the auto limit: this many times the training set's largest tokens per frame
LIMITS_NAME = "decode_limits.json"
CONFIG_NAME = "decode.yaml"
TASKS = ("asr", "st", "mt")
ESPNET_DEFAULT_HOP = 128   # espnet2's DefaultFrontend hop_length when a config does not set it

# Encoder output length for an input of T frames, per ESPnet encoder input_layer (the conv2d
# subsamplings of espnet.nets.pytorch_backend.transformer.subsampling: kernel 3 stride 2, etc.).
SUBSAMPLING: Dict[Optional[str], Callable[[int], int]] = {
    None: lambda t: t,
    "linear": lambda t: t,
    "embed": lambda t: t,
    "conv2d": lambda t: ((t - 1) // 2 - 1) // 2,
    "conv2d1": lambda t: t - 4,
    "conv2d2": lambda t: (t - 1) // 2 - 2,
    "conv2d6": lambda t: ((t - 1) // 2 - 2) // 3,
    "conv2d8": lambda t: (((t - 1) // 2 - 1) // 2 - 1) // 2,
}
# encoders whose input_layer defaults to conv2d in ESPnet (a config that omits it)
CONV2D_DEFAULT_ENCODERS = ("conformer", "transformer", "e_branchformer", "branchformer")


class DecodeLimitError(InputError):
    """The length limit cannot be derived (unknown frontend or subsampling, no training data)."""


@dataclass
class TrainingRatio:
    """The training set's tokens per encoder frame: the largest ``(tokens + 1) / T`` and where."""

    max_ratio: float
    mean_ratio: float
    max_utterance: str
    utterances: int


@dataclass
class DecodeLimit:
    """What ``decode_limits.json`` records: the ratio used and how it was chosen."""

    maxlenratio: float
    how: str                                  # "auto", "config" or "espnet default"
    config: str
    model_config: str
    task: str
    train_dir: Optional[str] = None
    training_ratio: Optional[Dict[str, Any]] = None
    margin: Optional[float] = None
    capped: Optional[str] = None
    warning: Optional[str] = None


def encoder_length(model_config: Mapping[str, Any], task: str) -> Callable[[int], int]:
    """Encoder length as a function of the input length (samples for speech, tokens for MT)."""
    encoder = model_config.get("encoder")
    encoder_conf = model_config.get("encoder_conf") or {}
    if "input_layer" in encoder_conf:
        input_layer = encoder_conf["input_layer"]
    elif encoder in CONV2D_DEFAULT_ENCODERS:
        input_layer = "conv2d"
    else:
        raise DecodeLimitError(f"maxlenratio: auto: cannot tell the subsampling of encoder '{encoder}' "
                               "(no encoder_conf.input_layer); set maxlenratio to a number in the decode config")
    if input_layer not in SUBSAMPLING:
        raise DecodeLimitError(f"maxlenratio: auto: unknown encoder input_layer '{input_layer}' (known: "
                               f"{', '.join(str(name) for name in SUBSAMPLING)}); set maxlenratio to a number")
    if model_config.get("preencoder"):
        raise DecodeLimitError("maxlenratio: auto: a preencoder may change the frame rate; "
                               "set maxlenratio to a number in the decode config")
    subsample = SUBSAMPLING[input_layer]
    if task == "mt":
        # ESPnet's MT model appends the source <eos> (model_conf.patch_size tokens) before its encoder
        patch_size = int((model_config.get("model_conf") or {}).get("patch_size", 1))
        if patch_size != 1:
            raise DecodeLimitError(f"maxlenratio: auto: MT model_conf.patch_size {patch_size} is not supported; "
                                   "set maxlenratio to a number in the decode config")
        return lambda tokens: subsample(tokens + 1)
    frontend = model_config.get("frontend")
    if frontend != "default":
        raise DecodeLimitError(f"maxlenratio: auto: only ESPnet's default frontend is known, not '{frontend}'; "
                               "set maxlenratio to a number in the decode config")
    hop = int((model_config.get("frontend_conf") or {}).get("hop_length", ESPNET_DEFAULT_HOP))
    # the STFT frames of `samples` samples (centred windows), then the encoder's subsampling
    return lambda samples: subsample(samples // hop + 1)


def _tokenizer(model_config: Mapping[str, Any], side: str) -> Callable[[str], int]:
    """Token counter of the model's target side (``side=""``) or MT source side (``side="src_"``)."""
    token_type = model_config.get(f"{side}token_type")
    if token_type not in ("char", "bpe"):
        raise DecodeLimitError(f"maxlenratio: auto: {side}token_type '{token_type}' is not char or bpe")
    processor = None
    if token_type == "bpe":
        import sentencepiece as spm

        bpemodel = model_config.get(f"{side}bpemodel")
        if not bpemodel or not Path(bpemodel).is_file():
            raise DecodeLimitError(f"maxlenratio: auto: the model's {side}bpemodel '{bpemodel}' was not found")
        processor = spm.SentencePieceProcessor(model_file=str(bpemodel))
    nlsyms_file = model_config.get("non_linguistic_symbols") if not side else None
    nlsyms = read_nlsyms(nlsyms_file) if nlsyms_file else []
    return lambda text: count_tokens(text, token_type, processor, nlsyms)


def training_ratio(model_config: Mapping[str, Any], task: str, train_dir: PathLike,
                   source_file: Optional[str] = None) -> TrainingRatio:
    """``(target tokens + 1) / T`` over ``train_dir`` (its ``text``; ``utt2num_samples`` for
    speech, ``source_file`` for MT), skipping utterances whose encoder length is 0."""
    train_dir = Path(train_dir)
    targets = read_table(train_dir / "text", allow_empty_value=True)
    length_of = encoder_length(model_config, task)
    count_target = _tokenizer(model_config, "")
    if task == "mt":
        if not source_file:
            raise DecodeLimitError("maxlenratio: auto for MT needs the source file name")
        count_source = _tokenizer(model_config, "src_")
        inputs = {utt: count_source(text) for utt, text in
                  read_table(train_dir / source_file, allow_empty_value=True).items()}
    else:
        inputs = {utt: int(value) for utt, value in read_table(train_dir / "utt2num_samples").items()}
    best, best_utt, total, counted = 0.0, "", 0.0, 0
    for utt, text in targets.items():
        if utt not in inputs:
            continue
        frames = length_of(inputs[utt])
        if frames <= 0:
            continue
        ratio = (count_target(text) + 1) / frames
        total += ratio
        counted += 1
        if ratio > best:
            best, best_utt = ratio, utt
    if counted == 0:
        raise DecodeLimitError(f"maxlenratio: auto: no utterance of {train_dir} has both a target text and an "
                               "input length (run stages 2-3 first)")
    return TrainingRatio(max_ratio=round(best, 4), mean_ratio=round(total / counted, 4), max_utterance=best_utt,
                         utterances=counted)


def auto_maxlenratio(ratio: TrainingRatio, margin: float = AUTO_MARGIN) -> float:
    """``margin`` × the largest training ratio, rounded up to 2 decimals."""
    return math.ceil(ratio.max_ratio * margin * 100) / 100


def choose_limit(decode_config: Mapping[str, Any], model_config: Mapping[str, Any], task: str,
                 train_dir: Optional[PathLike], source_file: Optional[str] = None) -> Tuple[float, DecodeLimit]:
    """The ``maxlenratio`` to decode with, and its record (without the file names)."""
    if task not in TASKS:
        raise DecodeLimitError(f"unknown task '{task}' (known: {', '.join(TASKS)})")
    value = decode_config.get("maxlenratio", None)
    ratio: Optional[TrainingRatio] = None
    if train_dir is not None:
        ratio = training_ratio(model_config, task, train_dir, source_file)
    elif value == AUTO:
        raise DecodeLimitError("maxlenratio: auto needs the training set (--train_dir) to measure "
                               "tokens per encoder frame")
    record = DecodeLimit(maxlenratio=0.0, how="", config="", model_config="", task=task,
                         train_dir=str(train_dir) if train_dir is not None else None,
                         training_ratio=asdict(ratio) if ratio else None)
    if value == AUTO:
        record.maxlenratio = auto_maxlenratio(ratio)
        record.how, record.margin = "auto", AUTO_MARGIN
        if float(decode_config.get("ctc_weight", 0.0) or 0.0) > 0 and record.maxlenratio > 1.0:
            # CTC emits at most one token per frame, so a longer hypothesis has no CTC probability
            # (and ESPnet 202511's CTC prefix scorer raises IndexError past the last frame)
            record.maxlenratio, record.capped = 1.0, "ctc_weight > 0: at most one token per encoder frame"
        return record.maxlenratio, record
    if value is None:
        record.how, value = "espnet default", 0.0
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeLimitError(f"maxlenratio must be a number or '{AUTO}', not {value!r}")
    else:
        record.how = "config"
    record.maxlenratio = float(value)
    # a fixed ratio that allows fewer steps than a training utterance needs (0 means the encoder length)
    effective = 1.0 if value == 0 else float(value)
    if ratio is not None and 0 < effective < ratio.max_ratio:
        record.warning = (f"maxlenratio {value} allows fewer steps than the training set needs (up to "
                          f"{ratio.max_ratio} tokens per encoder frame, utterance {ratio.max_utterance}): "
                          f"long hypotheses will end at the limit; maxlenratio: {AUTO} would use "
                          f"{auto_maxlenratio(ratio)}")
    return record.maxlenratio, record


def resolve_decode_config(config: PathLike, model_config: PathLike, task: str, out_dir: PathLike,
                          train_dir: Optional[PathLike] = None, source_file: Optional[str] = None) -> DecodeLimit:
    """Write ``out_dir/decode.yaml`` (``config`` with the chosen ``maxlenratio``) and
    ``out_dir/decode_limits.json``; return the record."""
    decode_config = read_yaml_mapping(config)
    model = read_yaml_mapping(model_config)
    value, record = choose_limit(decode_config, model, task, train_dir, source_file)
    record.config, record.model_config = str(config), str(model_config)
    resolved = dict(decode_config, maxlenratio=value)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / CONFIG_NAME) as handle:
        handle.write(f"# {config} with maxlenratio {record.how}: {value} (espnet_kd.utils.decode_limits)\n")
        yaml.safe_dump(resolved, handle, sort_keys=False)
    with atomic_write(out_dir / LIMITS_NAME) as handle:
        json.dump(asdict(record), handle, indent=2)
        handle.write("\n")
    return record

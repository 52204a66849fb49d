"""Frozen teachers for word-level KD: an ESPnet2 ASR model or MT model, teacher-forced.

A teacher scores the reference prefix ``ys_in`` (``<sos>`` + reference tokens)
and returns its decoder logits at every target position, from its own input:
the speech for an ASR teacher (:class:`ASRTeacher`), the source transcript
``src_text`` for an MT teacher (:class:`MTTeacher`). Both are built from an
ESPnet2 training directory's ``config.yaml`` and checkpoint by ESPnet's own
tasks, put in eval mode and frozen (no parameter requires a gradient).
"""

from __future__ import annotations

import abc
import argparse
import hashlib
from pathlib import Path
from typing import ClassVar, Dict, List, Optional, Tuple

import torch

from espnet_kd.utils.checkpoint import CheckpointError, build_model_safely
from espnet_kd.utils.fileio import PathLike
from espnet_kd.utils.tokens import token_list_hash

TEACHER_KINDS = ("asr", "mt")


class TeacherError(ValueError):
    """A teacher cannot be loaded or does not fit the student."""


def file_sha256(path: PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (the teacher fingerprint a top-k cache records)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def as_token_list(value: object, what: str) -> List[str]:
    """A token list given as a list or as the path of ``tokens.txt`` (as in ESPnet configs)."""
    if isinstance(value, (list, tuple)):
        return [str(token) for token in value]
    if isinstance(value, (str, Path)):
        with open(value, encoding="utf-8") as handle:
            return [line.rstrip() for line in handle]
    raise TeacherError(f"{what}: no token list (got {value!r})")


class AbsTeacher(abc.ABC):
    """A frozen ESPnet2 encoder-decoder that scores reference prefixes."""

    kind: ClassVar[str]
    input_names: ClassVar[Tuple[str, ...]]

    def __init__(self, model: torch.nn.Module, train_args: argparse.Namespace, model_file: PathLike):
        self.model = model
        self.train_args = train_args
        self.model_file = Path(model_file)
        self.model.eval()
        self.model.requires_grad_(False)

    @property
    def token_list(self) -> List[str]:
        """The teacher's target token list."""
        return list(self.model.token_list)

    @property
    def token_list_hash(self) -> str:
        return token_list_hash(self.token_list)

    def fingerprint(self) -> str:
        """SHA-256 of the checkpoint file: the same teacher gives the same fingerprint."""
        return file_sha256(self.model_file)

    def missing_inputs(self, batch: Dict[str, torch.Tensor]) -> List[str]:
        """The inputs this teacher needs that ``batch`` lacks."""
        return [name for name in self.input_names if name not in batch]

    @torch.no_grad()
    def logits(self, batch: Dict[str, torch.Tensor], ys_in_pad: torch.Tensor,
               ys_in_lens: torch.Tensor) -> torch.Tensor:
        """Decoder logits ``(B, L, V)`` for the teacher-forced prefixes ``ys_in_pad``."""
        missing = self.missing_inputs(batch)
        if missing:
            raise TeacherError(
                f"the {self.kind} teacher needs the data stream(s) {missing}; "
                "add them to --train_data_path_and_name_and_type and --valid_data_path_and_name_and_type"
            )
        self.model.eval()
        encoder_out, encoder_out_lens = self.encode(batch)
        decoder_out, _ = self.model.decoder(encoder_out, encoder_out_lens, ys_in_pad, ys_in_lens)
        return decoder_out

    @abc.abstractmethod
    def encode(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """The teacher's encoder output and lengths for its input in ``batch``."""


class ASRTeacher(AbsTeacher):
    """An ESPnet2 ASR model (same speech input as the student)."""

    kind = "asr"
    input_names = ("speech", "speech_lengths")

    def encode(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        encoder_out, encoder_out_lens = self.model.encode(batch["speech"], batch["speech_lengths"])
        if isinstance(encoder_out, tuple):  # intermediate CTC outputs
            encoder_out = encoder_out[0]
        return encoder_out, encoder_out_lens


class MTTeacher(AbsTeacher):
    """An ESPnet2 MT model that reads the source transcript ``src_text``."""

    kind = "mt"
    input_names = ("src_text", "src_text_lengths")

    @property
    def src_token_list(self) -> List[str]:
        """The teacher's source token list (what ``src_text`` must be tokenised with)."""
        return list(self.model.src_token_list) if getattr(self.model, "src_token_list", None) \
            else as_token_list(self.train_args.src_token_list, "MT teacher config")

    def encode(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        src_text = batch["src_text"]
        src_text_lengths = batch["src_text_lengths"]
        src_text = src_text[:, : int(src_text_lengths.max())]
        return self.model.encode(src_text, src_text_lengths)


def load_teacher(kind: str, config: PathLike, model_file: PathLike,
                 device: str = "cpu") -> AbsTeacher:
    """Build a frozen teacher from an ESPnet2 ``config.yaml`` and checkpoint.

    The checkpoint is read with ``torch.load(weights_only=True)`` and loaded strictly
    (:func:`espnet_kd.utils.checkpoint.build_model_safely`). Raises :class:`TeacherError`
    naming the file when either is missing, when the model file is not a PyTorch
    checkpoint, or when it does not match the config (e.g. another token list).
    """
    if kind not in TEACHER_KINDS:
        raise TeacherError(f"unknown teacher kind '{kind}' (known: {', '.join(TEACHER_KINDS)})")
    for what, path in (("teacher config", config), ("teacher model file", model_file)):
        if path is None or not Path(path).is_file():
            raise TeacherError(f"{what} not found: {path}")
    if kind == "asr":
        from espnet2.tasks.asr import ASRTask as task
    else:
        from espnet2.tasks.mt import MTTask as task
    try:
        model, train_args = build_model_safely(task, config, model_file, device)
    except CheckpointError as error:
        raise TeacherError(str(error)) from None
    except Exception as error:  # ESPnet raises many types for a config it cannot build
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise TeacherError(
            f"cannot build the {kind} teacher from {config}: {type(error).__name__}: {first_line}"
        ) from error
    return (ASRTeacher if kind == "asr" else MTTeacher)(model, train_args, model_file)


def check_same_token_list(student_tokens: List[str], teacher_tokens: List[str],
                          what: str = "target", teacher_name: Optional[str] = None) -> None:
    """Stop with a clear error if student and teacher token lists differ."""
    if student_tokens == teacher_tokens:
        return
    first_diff = next(
        (i for i, (a, b) in enumerate(zip(student_tokens, teacher_tokens)) if a != b),
        min(len(student_tokens), len(teacher_tokens)),
    )
    name = f" ({teacher_name})" if teacher_name else ""
    raise TeacherError(
        f"the student's and the teacher's{name} {what} token lists differ: "
        f"student has {len(student_tokens)} tokens (hash {token_list_hash(student_tokens)[:12]}), "
        f"teacher {len(teacher_tokens)} (hash {token_list_hash(teacher_tokens)[:12]}); "
        f"first difference at index {first_diff}. Word-level KD needs the same {what} vocabulary: "
        "train the student with the teacher's token list."
    )

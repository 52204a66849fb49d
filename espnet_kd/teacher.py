"""The one loader of the ESPnet2 models this package runs: a frozen, strictly loaded :class:`Teacher`.

Every model read from an ESPnet2 training directory goes through :func:`load_teacher`:
the n-best engine's decoder (:mod:`espnet_kd.nbest.engine`), the online word-KD teacher
(:mod:`espnet_kd.tasks.word_kd`), the top-k dumps (:mod:`espnet_kd.bin.dump_topk`, and
:mod:`espnet_kd.bin.dump_ctc_topk` for CTC KD) and the backward MT model of ``qe:backward``
(:mod:`espnet_kd.select.qe.backward`).

ESPnet's ``build_model_from_file(config, model_file)`` unpickles the checkpoint
(``torch.load(weights_only=False)``) and loads it with ``strict=False``, so a checkpoint
of another configuration loads partly and decodes garbage. :func:`load_teacher` builds
the model from ``config.yaml`` alone, reads the checkpoint with
``torch.load(weights_only=True)`` (:func:`espnet_kd.utils.checkpoint.load_state_dict`:
ESPnet checkpoints are plain state dicts, nothing else is unpickled) and refuses any
missing, unexpected or mis-shaped parameter, naming them. The model is put in eval mode
and frozen (no parameter requires a gradient).

A :class:`Teacher` serves both ways these models are run: encoding one utterance for a
beam search (:meth:`Teacher.encode_utterance`, :attr:`Teacher.decoder`, :attr:`Teacher.ctc`)
and scoring reference prefixes teacher-forced (:meth:`Teacher.logits`); CTC KD takes its CTC
log-posteriors per encoder frame (:meth:`Teacher.ctc_log_probs`). Its input is
the task's: the speech for ``asr`` and ``st``, the source transcript ``src_text`` for ``mt``.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from espnet_kd.utils.checkpoint import CheckpointError, load_state_dict, state_dict_problems
from espnet_kd.utils.fileio import InputError, PathLike
from espnet_kd.utils.fingerprint import file_sha256
from espnet_kd.utils.tokens import token_list_hash


@dataclass(frozen=True)
class TaskSpec:
    """Where ESPnet2 defines a task, and the name of the model's input in its data loader."""

    module: str
    class_name: str
    input_name: str


TASKS: Dict[str, TaskSpec] = {
    "asr": TaskSpec("espnet2.tasks.asr", "ASRTask", "speech"),
    "st": TaskSpec("espnet2.tasks.st", "STTask", "speech"),
    "mt": TaskSpec("espnet2.tasks.mt", "MTTask", "src_text"),
}


class TeacherError(InputError):
    """A model that cannot be loaded as asked, or a teacher that does not fit its student or data.

    An :class:`~espnet_kd.utils.fileio.InputError`: a CLI prints its one-line message.
    """


def check_task_name(task_name: str) -> None:
    """Refuse a task other than ``asr``, ``st`` and ``mt``."""
    if task_name not in TASKS:
        raise TeacherError(f"unknown task {task_name!r}; choose one of {', '.join(TASKS)}")


def task_class(task_name: str) -> Any:
    """The ESPnet2 Task class of ``asr``, ``st`` or ``mt``."""
    check_task_name(task_name)
    spec = TASKS[task_name]
    return getattr(importlib.import_module(spec.module), spec.class_name)


def as_token_list(value: object, what: str) -> List[str]:
    """A token list given as a list or as the path of ``tokens.txt`` (as in ESPnet configs)."""
    if isinstance(value, (list, tuple)):
        return [str(token) for token in value]
    if isinstance(value, (str, Path)):
        with open(value, encoding="utf-8") as handle:
            return [line.rstrip() for line in handle]
    raise TeacherError(f"{what}: no token list (got {value!r})")


@dataclass
class Teacher:
    """A frozen ESPnet2 encoder-decoder model (ASR, ST or MT) with what was loaded to make it."""

    task_name: str
    task_class: Any
    model: torch.nn.Module
    train_args: argparse.Namespace
    config: Path
    model_file: Path

    def __post_init__(self) -> None:
        self.model.eval()
        self.model.requires_grad_(False)

    # --- what the model reads and writes -------------------------------------------------

    @property
    def input_name(self) -> str:
        """The model's input in ESPnet's data loader (``speech`` or ``src_text``)."""
        return TASKS[self.task_name].input_name

    @property
    def input_names(self) -> Tuple[str, str]:
        """The batch entries the model reads: its input and the input's lengths."""
        return self.input_name, f"{self.input_name}_lengths"

    @property
    def device(self) -> torch.device:
        """Where the model's parameters are (they follow a student moved with ``.to()``)."""
        return next(self.model.parameters()).device

    @property
    def token_list(self) -> List[str]:
        """The target token list (index = token id)."""
        return list(self.model.token_list)

    @property
    def token_list_hash(self) -> str:
        """The hash of :attr:`token_list` a top-k cache records."""
        return token_list_hash(self.token_list)

    @property
    def src_token_list(self) -> List[str]:
        """The source token list of an MT model (what ``src_text`` must be tokenised with)."""
        if getattr(self.model, "src_token_list", None):
            return list(self.model.src_token_list)
        return as_token_list(getattr(self.train_args, "src_token_list", None), f"{self.task_name} model config")

    @property
    def sample_rate(self) -> Optional[int]:
        """The audio rate the model's frontend was built for (``frontend_conf.fs`` of its config,
        ESPnet's default 16000 if unset); None for a text model or one without a frontend."""
        if self.input_name != "speech" or getattr(self.train_args, "frontend", None) in (None, "null", "none"):
            return None
        fs = (getattr(self.train_args, "frontend_conf", None) or {}).get("fs", 16000)
        if isinstance(fs, str):  # ESPnet accepts "16k"
            import humanfriendly

            fs = humanfriendly.parse_size(fs)
        return int(fs)

    @property
    def decoder(self) -> torch.nn.Module:
        """The attention decoder (what a beam search drives and :meth:`logits` runs)."""
        return self.model.decoder

    @property
    def ctc(self) -> Optional[torch.nn.Module]:
        """The CTC branch over the target vocabulary, if the model has one."""
        if self.task_name == "st":
            return getattr(self.model, "st_ctc", None)
        return getattr(self.model, "ctc", None)

    def fingerprint(self) -> str:
        """SHA-256 of the checkpoint file: the same teacher gives the same fingerprint."""
        return file_sha256(self.model_file)

    # --- running it ----------------------------------------------------------------------

    def missing_inputs(self, batch: Dict[str, torch.Tensor]) -> List[str]:
        """The inputs this model reads that ``batch`` lacks."""
        return [name for name in self.input_names if name not in batch]

    @torch.no_grad()
    def encode(self, batch: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """The encoder output ``(B, T, D)`` and its lengths for the model's input in ``batch``.

        The input is cut to its longest length first, as ESPnet's ``forward`` does (a
        collated batch is padded to exactly that length, so this changes nothing there).
        """
        name, lengths_name = self.input_names
        lengths = batch[lengths_name]
        inputs = batch[name][:, : int(lengths.max())]
        encoder_out, encoder_out_lens = self.model.encode(**{name: inputs, lengths_name: lengths})
        if isinstance(encoder_out, tuple):  # intermediate-CTC models return (output, intermediate outputs)
            encoder_out = encoder_out[0]
        return encoder_out, encoder_out_lens

    def encode_utterance(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The ``(T, D)`` encoder output of one utterance (``inputs`` a batch of one)."""
        name, lengths_name = self.input_names
        encoder_out, _ = self.encode({name: inputs, lengths_name: lengths})
        return encoder_out[0]

    def check_inputs(self, batch: Dict[str, torch.Tensor]) -> None:
        """Stop, naming them, when ``batch`` lacks a data stream this model reads."""
        missing = self.missing_inputs(batch)
        if missing:
            raise TeacherError(
                f"the {self.task_name} teacher needs the data stream(s) {missing}; "
                "add them to --train_data_path_and_name_and_type and --valid_data_path_and_name_and_type"
            )

    @torch.no_grad()
    def logits(self, batch: Dict[str, torch.Tensor], ys_in_pad: torch.Tensor, ys_in_lens: torch.Tensor,
               encoded: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> torch.Tensor:
        """Decoder logits ``(B, L, V)`` for the teacher-forced prefixes ``ys_in_pad`` (``<sos>`` + tokens).

        ``encoded``: this batch's :meth:`encode` output, when it was already computed (CTC KD's).
        """
        self.check_inputs(batch)
        self.model.eval()
        encoder_out, encoder_out_lens = encoded if encoded is not None else self.encode(batch)
        decoder_out, _ = self.model.decoder(encoder_out, encoder_out_lens, ys_in_pad, ys_in_lens)
        return decoder_out

    @torch.no_grad()
    def ctc_log_probs(self, batch: Dict[str, torch.Tensor],
                      encoded: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The CTC log-posteriors ``(B, T, V)`` per encoder frame and the encoder lengths ``(B,)``.

        What CTC KD distils (:mod:`espnet_kd.kd.ctc_kd`): ``model.encode`` then ``ctc.log_softmax``.
        ``encoded``: this batch's :meth:`encode` output, when it was already computed.
        """
        ctc = self.ctc
        if ctc is None:
            raise TeacherError(f"the {self.task_name} teacher ({self.config}) has no CTC branch "
                               "(its model_conf.ctc_weight is 0): CTC KD has nothing to distil")
        self.check_inputs(batch)
        self.model.eval()
        encoder_out, encoder_out_lens = encoded if encoded is not None else self.encode(batch)
        return ctc.log_softmax(encoder_out).float(), encoder_out_lens


def check_files_exist(config: Optional[PathLike], model_file: Optional[PathLike], role: str) -> None:
    """Refuse a config or checkpoint that is not there, naming it."""
    for what, path in (("config", config), ("checkpoint", model_file)):
        if path is None or not Path(path).is_file():
            raise TeacherError(f"{role} {what} not found: {path}")


def build_from_config(task: Any, task_name: str, config: PathLike, device: str) -> Tuple[torch.nn.Module, Any]:
    """The randomly initialised model ``config`` describes and its training arguments."""
    try:
        return task.build_model_from_file(str(config), None, device)
    except Exception as error:  # ESPnet raises many types for a config it cannot build
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise TeacherError(
            f"cannot build the {task_name} model from {config}: {type(error).__name__}: {first_line}"
        ) from error


def load_weights_strictly(model: torch.nn.Module, state: Dict[str, torch.Tensor],
                          model_file: PathLike, config: PathLike) -> None:
    """Load ``state`` into ``model``; every parameter must match by name and shape."""
    problems = state_dict_problems(model, state)
    if problems:
        raise TeacherError(
            f"checkpoint {model_file} does not match the model built from {config}: " + "; ".join(problems)
        )
    model.load_state_dict(state, strict=True)


def load_teacher(task_name: str, config: PathLike, model_file: PathLike, device: str = "cpu",
                 role: str = "teacher") -> Teacher:
    """Build the ``asr``/``st``/``mt`` model ``config`` describes, load ``model_file`` strictly, freeze it.

    Raises :class:`TeacherError` naming the file (``role`` starts the messages about
    missing files: ``teacher checkpoint not found: ...``) when either file is missing, when
    the model file is not a PyTorch checkpoint of tensors, when ESPnet cannot build the
    config, when the checkpoint does not match the model built from the config (e.g.
    another layer size or token list), or when the model has no attention decoder.
    """
    check_task_name(task_name)
    check_files_exist(config, model_file, role)
    try:
        state = load_state_dict(model_file, device)
    except CheckpointError as error:
        raise TeacherError(str(error)) from None
    task = task_class(task_name)  # imports ESPnet's task (seconds): after the cheap checks
    model, train_args = build_from_config(task, task_name, config, device)
    load_weights_strictly(model, state, model_file, config)
    model.to(device)
    if getattr(model, "decoder", None) is None:
        raise TeacherError(f"the model of {config} has no attention decoder to search or score with")
    return Teacher(task_name, task, model, train_args, Path(config), Path(model_file))


def check_same_token_list(student_tokens: Sequence[str], teacher_tokens: Sequence[str],
                          what: str = "target", teacher_name: Optional[PathLike] = None) -> None:
    """Stop with a clear error if student and teacher token lists differ."""
    student_tokens, teacher_tokens = list(student_tokens), list(teacher_tokens)
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

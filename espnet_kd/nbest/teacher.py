"""Loading an ESPnet2 ASR, ST or MT model for n-best generation, strictly.

ESPnet's ``build_model_from_file`` loads a checkpoint with ``strict=False``, so
a checkpoint from another configuration can load partly and decode garbage.
:func:`load_teacher` builds the model from its ``config.yaml`` and loads the
checkpoint itself (``torch.load(weights_only=True)``: ESPnet checkpoints are plain
state dicts, and nothing else is unpickled), refusing any missing, unexpected or
mis-shaped parameter with a message that names them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch

from espnet_kd.utils.checkpoint import CheckpointError, load_state_dict, state_dict_problems
from espnet_kd.utils.fileio import PathLike

# task name → (module, class, name of the model's input in ESPnet's data loader)
TASKS: Dict[str, Tuple[str, str, str]] = {
    "asr": ("espnet2.tasks.asr", "ASRTask", "speech"),
    "st": ("espnet2.tasks.st", "STTask", "speech"),
    "mt": ("espnet2.tasks.mt", "MTTask", "src_text"),
}


class TeacherLoadError(ValueError):
    """A model config or checkpoint cannot be loaded as asked."""


@dataclass
class Teacher:
    """An ESPnet2 encoder-decoder model ready for beam search, with its vocabulary."""

    task_name: str
    task_class: Any
    model: torch.nn.Module
    train_args: Any
    device: str

    @property
    def input_name(self) -> str:
        """The model's input in ESPnet's data loader (``speech`` or ``src_text``)."""
        return TASKS[self.task_name][2]

    @property
    def token_list(self) -> List[str]:
        """The target token list (index = token id)."""
        return list(self.model.token_list)

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
        """The attention decoder the beam search drives."""
        return self.model.decoder

    @property
    def ctc(self) -> Optional[torch.nn.Module]:
        """The CTC branch over the target vocabulary, if the model has one."""
        if self.task_name == "st":
            return getattr(self.model, "st_ctc", None)
        return getattr(self.model, "ctc", None)

    @torch.no_grad()
    def encode(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encode one utterance (batch of one) into its ``(T, D)`` encoder output."""
        batch = {self.input_name: inputs, f"{self.input_name}_lengths": lengths}
        encoded, _ = self.model.encode(**batch)
        if isinstance(encoded, tuple):  # intermediate-CTC models return (output, inter)
            encoded = encoded[0]
        return encoded[0]


def task_class(task_name: str) -> Any:
    """The ESPnet2 Task class for ``asr``, ``st`` or ``mt``."""
    if task_name not in TASKS:
        raise TeacherLoadError(f"unknown task {task_name!r}; choose one of {', '.join(TASKS)}")
    module_name, class_name, _ = TASKS[task_name]
    return getattr(importlib.import_module(module_name), class_name)


def load_state_dict_strictly(
    model: torch.nn.Module, checkpoint: PathLike, config: PathLike, device: str
) -> None:
    """Load ``checkpoint`` into ``model``; every parameter must match by name and shape.

    The file is read with ``torch.load(weights_only=True)`` (:mod:`espnet_kd.utils.checkpoint`):
    a file that is not a checkpoint of tensors is refused, never unpickled.
    """
    try:
        state = load_state_dict(checkpoint, device)
    except CheckpointError as error:
        raise TeacherLoadError(str(error)) from None
    problems = state_dict_problems(model, state)
    if problems:
        raise TeacherLoadError(
            f"checkpoint {checkpoint} does not match the model built from {config}: "
            + "; ".join(problems)
        )
    model.load_state_dict(state, strict=True)


def load_teacher(
    task_name: str, config: PathLike, checkpoint: PathLike, device: str = "cpu"
) -> Teacher:
    """Build the model ``config`` describes, load ``checkpoint`` strictly, set eval mode."""
    for path, what in ((config, "model config"), (checkpoint, "model file")):
        if not Path(path).is_file():
            raise TeacherLoadError(f"{what} not found: {path}")
    task = task_class(task_name)
    try:
        model, train_args = task.build_model_from_file(str(config), None, device)
    except Exception as error:
        raise TeacherLoadError(
            f"cannot build a {task_name} model from {config}: {type(error).__name__}: {error}"
        ) from error
    load_state_dict_strictly(model, checkpoint, config, device)
    model.to(device).eval()
    if not hasattr(model, "decoder") or model.decoder is None:
        raise TeacherLoadError(f"the model of {config} has no attention decoder to search with")
    return Teacher(task_name, task, model, train_args, device)

"""Loading an ESPnet2 ASR, ST or MT model for n-best generation, strictly.

ESPnet's ``build_model_from_file`` loads a checkpoint with ``strict=False``, so
a checkpoint from another configuration can load partly and decode garbage.
:func:`load_teacher` builds the model from its ``config.yaml`` and loads the
checkpoint itself, refusing any missing, unexpected or mis-shaped parameter
with a message that names them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch

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
    """Load ``checkpoint`` into ``model``; every parameter must match by name and shape."""
    try:
        state = torch.load(checkpoint, map_location=device, weights_only=False)
    except Exception as error:  # torch raises several types for unreadable files
        raise TeacherLoadError(f"cannot read checkpoint {checkpoint}: {error}") from error
    if isinstance(state, dict) and "module" in state and isinstance(state["module"], dict):
        state = state["module"]  # deepspeed layout
    if not isinstance(state, dict):
        raise TeacherLoadError(f"{checkpoint} does not hold a state dict")
    expected = model.state_dict()
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    mis_shaped = [
        f"{name} {tuple(state[name].shape)} vs {tuple(value.shape)}"
        for name, value in expected.items()
        if name in state and hasattr(state[name], "shape") and state[name].shape != value.shape
    ]
    if missing or unexpected or mis_shaped:
        problems = []
        for label, names in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("shape mismatch (checkpoint vs config)", mis_shaped),
        ):
            if names:
                shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                problems.append(f"{len(names)} {label}: {shown}")
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

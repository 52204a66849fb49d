"""Reading ESPnet2 checkpoints without running the code a pickle may hold.

An ESPnet2 model file (``valid.acc.ave.pth``, ``Nepoch.pth``) is a plain state dict
of tensors, which ``torch.load(..., weights_only=True)`` reads; with
``weights_only=False`` (what ESPnet's ``build_model_from_file`` passes) the
unpickler would run whatever a crafted file asks for. Every model file this
package reads goes through :func:`load_state_dict`; models are built from their
``config.yaml`` alone (``build_model_from_file(config, None, ...)``) and the
weights loaded strictly (:func:`state_dict_problems`) by :func:`espnet_kd.teacher.load_teacher`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from espnet_kd.utils.fileio import InputError, PathLike

# how the files torch.save writes begin: a zip archive (torch >= 1.6) or a bare pickle (older)
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"


class CheckpointError(InputError):
    """A model file that is missing, is not a PyTorch checkpoint, or does not fit its model."""


def _why_not_loadable(path: Path, error: Exception) -> str:
    """A one-line reason for ``torch.load``'s failure."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith((_ZIP_MAGIC, _PICKLE_MAGIC)):
        return f"it starts with {head!r}, not as a file torch.save writes"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if lines and lines[0].startswith("Weights only load failed"):
        # torch's long explanation; the line that says what was refused is further down
        detail = [line for line in lines[1:] if not line.startswith(("Check the documentation", "Please file"))]
        return "it holds objects other than tensors, refused by torch.load(weights_only=True)" + (
            f": {detail[0]}" if detail else "")
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def load_state_dict(path: PathLike, device: str = "cpu") -> Dict[str, Any]:
    """The state dict of a model file, read with ``torch.load(weights_only=True)``.

    Raises :class:`CheckpointError` ``<file> is not a PyTorch checkpoint (...)`` for a
    file torch cannot read that way (a YAML file, a pickle of other objects, ...) or
    that holds something other than a state dict. A DeepSpeed layout (``{"module": ...}``)
    is unwrapped.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # torch raises many types for a file it cannot read
        raise CheckpointError(f"{path} is not a PyTorch checkpoint ({_why_not_loadable(path, error)})") from None
    if isinstance(state, dict) and isinstance(state.get("module"), dict):
        state = state["module"]
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint of model weights (it holds a {type(state).__name__}, "
            "not a state dict of tensors)"
        )
    return state


def state_dict_problems(model: Any, state: Dict[str, Any]) -> List[str]:
    """What keeps ``state`` from loading strictly into ``model``: missing, unexpected, mis-shaped parameters."""
    expected = model.state_dict()
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    mis_shaped = [
        f"{name} {tuple(state[name].shape)} vs {tuple(value.shape)}"
        for name, value in expected.items()
        if name in state and hasattr(state[name], "shape") and state[name].shape != value.shape
    ]
    problems = []
    for label, names in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("shape mismatch (checkpoint vs config)", mis_shaped),
    ):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            problems.append(f"{len(names)} {label}: {shown}")
    return problems


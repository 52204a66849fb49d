"""What each training process's ESPnet trainer did, recorded without changing it.

:func:`recording` wraps ESPnet's ``Trainer.train_one_epoch`` / ``validate_one_epoch``
(the real ones run) and ``TopKStreamLoader.__getitem__``, and appends one JSON line per
event to ``<record dir>/<rank>.jsonl`` (``rank0``, ``rank1``, ... under
``torch.distributed``, ``single`` otherwise):

- ``{"event": "train"|"valid", "epoch", "steps": [{"utt_ids", "loss", "weight"}], ...}``:
  every ``model(**batch)`` call of the epoch as the trainer made it, with the loss and
  weight the model returned on this process (before the trainer averages them over the
  ranks), plus what DDP wraps (``wrapper``, ``ddp_params``: the names of the parameters
  DDP reduces), and the teacher's state (device, mode, gradients) after the epoch;
- ``{"event": "topk_read", "utt_id"}``: each utterance this process read from a top-k cache.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List

import torch


def _process_name() -> str:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return f"rank{torch.distributed.get_rank()}"
    return "single"


def _write(record_dir: Path, entry: Dict[str, Any]) -> None:
    with open(record_dir / f"{_process_name()}.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def _teacher_state(model: torch.nn.Module) -> Dict[str, Any]:
    module = getattr(model, "module", model)   # DDP wraps the student
    teacher = getattr(module, "teacher", None)
    if teacher is None:
        return {"teacher": None}
    params = list(teacher.model.parameters())
    return {"teacher": {
        "num_params": sum(p.numel() for p in params),
        "device": str(params[0].device),
        "training": teacher.model.training,
        "requires_grad": any(p.requires_grad for p in params),
        "with_grad": sum(p.grad is not None for p in params),
        # the teacher is this process's own object, not one shared with another process
        "pid": os.getpid(),
    }}


@contextlib.contextmanager
def recording(record_dir: os.PathLike) -> Iterator[None]:
    """Record what the trainer does in this process while the context is open (see the module docstring)."""
    from espnet2.train.trainer import Trainer

    from espnet_kd.kd.topk_cache import TopKStreamLoader

    record_dir = Path(record_dir)
    record_dir.mkdir(parents=True, exist_ok=True)
    originals = {name: Trainer.__dict__[name] for name in ("train_one_epoch", "validate_one_epoch")}
    original_getitem = TopKStreamLoader.__getitem__

    def observed(name: str):
        real = originals[name].__func__

        def run_epoch(cls, *args, **kwargs):
            model, reporter = kwargs["model"], kwargs["reporter"]
            steps: List[Dict[str, Any]] = []

            def on_forward(_module, _args, batch, output):
                loss, _stats, weight = output
                steps.append({"utt_ids": list(batch["utt_id"]), "loss": float(loss.detach()),
                              "weight": float(weight)})

            handle = model.register_forward_hook(on_forward, with_kwargs=True)
            try:
                result = real(cls, *args, **kwargs)
            finally:
                handle.remove()
            entry = {"event": "train" if name == "train_one_epoch" else "valid", "epoch": reporter.epoch, "steps": steps,
                     "wrapper": type(model).__name__,
                     "ddp_params": [n for n, p in model.named_parameters() if p.requires_grad]
                     if isinstance(model, torch.nn.parallel.DistributedDataParallel) else None}
            entry.update(_teacher_state(model))
            _write(record_dir, entry)
            return result

        return classmethod(run_epoch)

    def getitem(self, uttid):
        _write(record_dir, {"event": "topk_read", "utt_id": uttid})
        return original_getitem(self, uttid)

    try:
        for name in originals:
            setattr(Trainer, name, observed(name))
        TopKStreamLoader.__getitem__ = getitem
        yield
    finally:
        for name, original in originals.items():
            setattr(Trainer, name, original)
        TopKStreamLoader.__getitem__ = original_getitem


def read_records(record_dir: os.PathLike) -> Dict[str, List[Dict[str, Any]]]:
    """``{process name: [entries]}`` of a record dir."""
    records = {}
    for path in sorted(Path(record_dir).glob("*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            records[path.stem] = [json.loads(line) for line in handle if line.strip()]
    return records

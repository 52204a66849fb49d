"""Learning curves from ESPnet2 training logs, and the convergence check.

ESPnet's trainer logs one summary line per epoch::

    ... INFO: 12epoch results: [train] ..., acc=0.81, loss=20.1, ..., time=12.1 seconds, ...
        [valid] loss_ctc=..., acc=0.84, cer=..., loss=18.7, time=0.5 seconds, total_count=7

:func:`read_curves` collects the ``[valid]`` (and ``[train]``) values of every epoch
from ``<model_dir>/train.log`` and the logs of earlier, interrupted runs that the stage
scripts keep beside it (``train.log.1``, ``train.log.2``, …, oldest first; a later line
for the same epoch wins, as a resumed run repeats nothing but may redo an epoch).

:func:`check_plateau` is the recipes' convergence criterion: a model has converged
when its validation accuracy rose by at most ``max_gain`` (0.5 absolute points)
over its last ``fraction`` (20 %) of epochs — the best accuracy in that window
against the accuracy just before it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

_EPOCH_LINE = re.compile(r"INFO: (?P<epoch>\d+)epoch results: (?P<body>.*)$")
_SECTION = re.compile(r"\[(?P<name>train|valid)\](?P<values>[^\[]*)")
_VALUE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>-?[0-9.]+(?:e[-+]?[0-9]+)?)")
_SECONDS = re.compile(r"time=(?P<seconds>[0-9.]+) seconds")

PLATEAU_FRACTION = 0.2
PLATEAU_MAX_GAIN = 0.005   # 0.5 absolute points of accuracy (ESPnet logs acc as a fraction)


@dataclass
class EpochRecord:
    """One epoch's summary: ``train``/``valid`` values and their wall times (seconds)."""

    epoch: int
    train: Dict[str, float] = field(default_factory=dict)
    valid: Dict[str, float] = field(default_factory=dict)
    train_seconds: Optional[float] = None
    valid_seconds: Optional[float] = None


def parse_epoch_line(line: str) -> Optional[EpochRecord]:
    """The record of an ``Nepoch results:`` line, or None for any other line."""
    match = _EPOCH_LINE.search(line)
    if not match:
        return None
    record = EpochRecord(int(match.group("epoch")))
    for section in _SECTION.finditer(match.group("body")):
        values = section.group("values")
        seconds = _SECONDS.search(values)
        numbers = {item.group("key"): float(item.group("value")) for item in _VALUE.finditer(_SECONDS.sub("", values))}
        if section.group("name") == "train":
            record.train, record.train_seconds = numbers, float(seconds.group("seconds")) if seconds else None
        else:
            record.valid, record.valid_seconds = numbers, float(seconds.group("seconds")) if seconds else None
    return record


def training_logs(model_dir: Path) -> List[Path]:
    """``train.log.1``, ``train.log.2``, … (earlier runs, oldest first), then ``train.log``."""
    earlier = []
    for path in model_dir.glob("train.log.*"):
        suffix = path.name[len("train.log."):]
        if suffix.isdigit():
            earlier.append((int(suffix), path))
    logs = [path for _, path in sorted(earlier)]
    current = model_dir / "train.log"
    if current.is_file():
        logs.append(current)
    return logs


def read_curves(model_dir: Path) -> List[EpochRecord]:
    """Every epoch's record, in epoch order, from the model's training logs."""
    logs = training_logs(Path(model_dir))
    if not logs:
        raise FileNotFoundError(f"{model_dir}/train.log not found")
    by_epoch: Dict[int, EpochRecord] = {}
    for log in logs:
        with open(log, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                record = parse_epoch_line(line)
                if record is not None:
                    by_epoch[record.epoch] = record
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


@dataclass
class PlateauCheck:
    """The convergence verdict on one model's validation accuracy."""

    epochs: int
    window: int              # epochs in the final window
    acc_before: float        # validation acc at the epoch just before the window
    best_in_window: float    # best validation acc within the window
    last_acc: float
    max_gain: float

    @property
    def gain(self) -> float:
        return self.best_in_window - self.acc_before

    @property
    def converged(self) -> bool:
        return self.gain <= self.max_gain + 1e-12

    def format(self) -> str:
        verdict = "yes" if self.converged else "**no**"
        return (f"{verdict} (valid acc {100 * self.acc_before:.1f} → best {100 * self.best_in_window:.1f} "
                f"over epochs {self.epochs - self.window + 1}-{self.epochs}: {100 * self.gain:+.1f} points)")


def check_plateau(records: Sequence[EpochRecord], fraction: float = PLATEAU_FRACTION,
                  max_gain: float = PLATEAU_MAX_GAIN, metric: str = "acc") -> PlateauCheck:
    """Did validation ``metric`` rise by at most ``max_gain`` over the last ``fraction`` of epochs?"""
    series = [(record.epoch, record.valid.get(metric)) for record in records]
    missing = [epoch for epoch, value in series if value is None]
    if missing:
        raise ValueError(f"epochs {missing[:5]} have no validation {metric}")
    if len(series) < 2:
        raise ValueError(f"a plateau needs at least 2 epochs, the log has {len(series)}")
    epochs = [epoch for epoch, _ in series]
    if epochs != list(range(1, len(epochs) + 1)):
        raise ValueError(f"the logs do not hold every epoch from 1 (found {epochs[:3]}...{epochs[-3:]})")
    values = [float(value) for _, value in series]
    window = min(len(values) - 1, max(1, math.ceil(fraction * len(values))))
    return PlateauCheck(len(values), window, values[-window - 1], max(values[-window:]), values[-1], max_gain)


def unchecked_reason(model_dir: Path) -> str:
    """Why :func:`check_plateau` gives no verdict on ``model_dir`` (e.g. ``1 epoch logged: a plateau
    needs at least 2 epochs``); ``""`` when it does give one."""
    try:
        records = read_curves(Path(model_dir))
    except FileNotFoundError:
        return f"no train.log in {model_dir}"
    if not records:
        return "train.log holds no epoch results yet"
    try:
        check_plateau(records)
    except ValueError as error:
        return f"{len(records)} epoch(s) logged: {error}"
    return ""


def curve(records: Sequence[EpochRecord], section: str, key: str) -> Tuple[List[int], List[float]]:
    """(epochs, values) of one logged quantity, skipping epochs that lack it."""
    points = [(record.epoch, getattr(record, section).get(key)) for record in records]
    kept = [(epoch, value) for epoch, value in points if value is not None]
    return [epoch for epoch, _ in kept], [float(value) for _, value in kept]


def plot_learning_curves(curves: Dict[str, Sequence[EpochRecord]], out_png: Path, title: str = "") -> None:
    """Validation accuracy and loss per epoch, one line per model, as a PNG (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from espnet_kd.utils.fileio import atomic_write

    figure, (acc_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, records in curves.items():
        epochs, acc = curve(records, "valid", "acc")
        acc_axis.plot(epochs, [100 * value for value in acc], label=name, linewidth=1.4)
        epochs, loss = curve(records, "valid", "loss")
        loss_axis.plot(epochs, loss, label=name, linewidth=1.4)
    acc_axis.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    loss_axis.set(xlabel="epoch", ylabel="validation loss", title="validation loss")
    loss_axis.set_yscale("log")
    for axis in (acc_axis, loss_axis):
        axis.grid(alpha=0.3)
    acc_axis.legend(fontsize=7, loc="lower right")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    out_png = Path(out_png)
    with atomic_write(out_png, mode="wb") as handle:
        figure.savefig(handle, format="png", dpi=90)
    plt.close(figure)

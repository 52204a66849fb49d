"""Learning curves from ESPnet training logs and the plateau check, on hand-made logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from espnet_kd.utils.train_log import check_plateau, parse_epoch_line, plot_learning_curves, read_curves, unchecked_reason

# a line as ESPnet 202511's trainer writes it
LINE = ("[vm] 2026-12-02 13:35:12,890 (trainer:394) INFO: 1epoch results: [train] iter_time=0.006, "
        "forward_time=0.102, loss_ctc=71.991, loss_att=54.860, acc=0.071, loss=59.999, backward_time=0.110, "
        "grad_norm=25.561, clip=100.000, loss_scale=1.000, optim_step_time=0.015, optim0_lr0=3.533e-04, "
        "train_time=0.242, time=12.09 seconds, total_count=50, [valid] loss_ctc=58.696, cer_ctc=1.000, "
        "loss_att=42.522, acc=0.204, cer=1.291, wer=1.000, loss=47.374, time=0.51 seconds, total_count=7")


def epoch_line(epoch: int, acc: float, loss: float = 10.0) -> str:
    return (f"x INFO: {epoch}epoch results: [train] acc=0.5, loss=20.0, time=3.0 seconds, total_count=9, "
            f"[valid] acc={acc}, loss={loss}, time=0.5 seconds, total_count=2\n")


def write_log(path: Path, accs, first_epoch: int = 1) -> None:
    path.write_text("".join(epoch_line(first_epoch + i, acc) for i, acc in enumerate(accs)) + "noise line\n")


def test_parse_espnet_epoch_line():
    record = parse_epoch_line(LINE)
    assert record.epoch == 1
    assert record.train["acc"] == pytest.approx(0.071) and record.train["optim0_lr0"] == pytest.approx(3.533e-4)
    assert record.valid["acc"] == pytest.approx(0.204) and record.valid["loss"] == pytest.approx(47.374)
    assert record.train_seconds == pytest.approx(12.09) and record.valid_seconds == pytest.approx(0.51)
    assert "time" not in record.valid
    assert parse_epoch_line("INFO: The best model has been updated") is None


def test_resumed_logs_are_merged_in_order(tmp_path):
    write_log(tmp_path / "train.log.1", [0.1, 0.2, 0.3])
    write_log(tmp_path / "train.log", [0.35, 0.4], first_epoch=3)   # epoch 3 redone after a kill
    records = read_curves(tmp_path)
    assert [r.epoch for r in records] == [1, 2, 3, 4]
    assert [r.valid["acc"] for r in records] == [0.1, 0.2, 0.35, 0.4]


def test_plateau_by_hand():
    # 10 epochs: window = last 2; before it epoch 8 at 0.900; best in window 0.904 → +0.4 points: converged
    accs = [0.5, 0.7, 0.8, 0.85, 0.88, 0.89, 0.895, 0.900, 0.904, 0.903]
    records = [parse_epoch_line(epoch_line(i + 1, acc)) for i, acc in enumerate(accs)]
    check = check_plateau(records)
    assert (check.epochs, check.window) == (10, 2)
    assert check.gain == pytest.approx(0.004) and check.converged
    assert "yes" in check.format() and "+0.4 points" in check.format()
    # still rising by 0.6 points: not converged
    rising = records[:-1] + [parse_epoch_line(epoch_line(10, 0.906))]
    assert not check_plateau(rising).converged


def test_plateau_needs_every_epoch(tmp_path):
    records = [parse_epoch_line(epoch_line(e, 0.5)) for e in (1, 2, 4)]
    with pytest.raises(ValueError, match="every epoch"):
        check_plateau(records)
    with pytest.raises(ValueError, match="at least 2"):
        check_plateau(records[:1])
    with pytest.raises(FileNotFoundError):
        read_curves(tmp_path)


def test_learning_curves_png(tmp_path):
    write_log(tmp_path / "train.log", [0.1, 0.3, 0.5])
    out = tmp_path / "curves.png"
    plot_learning_curves({"teacher": read_curves(tmp_path), "student": read_curves(tmp_path)[:2]}, out, "t")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_why_a_model_gets_no_verdict(tmp_path):
    assert unchecked_reason(tmp_path) == f"no train.log in {tmp_path}"
    (tmp_path / "train.log").write_text("noise line\n")
    assert unchecked_reason(tmp_path) == "train.log holds no epoch results yet"
    write_log(tmp_path / "train.log", [0.1])
    assert unchecked_reason(tmp_path) == "1 epoch(s) logged: a plateau needs at least 2 epochs, the log has 1"
    write_log(tmp_path / "train.log", [0.1, 0.2])
    assert unchecked_reason(tmp_path) == ""

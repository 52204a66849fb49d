"""Run ESPnet trainings as 2 gloo ranks on the CPU, and the same training as one process.

ESPnet's own launcher (``--multiprocessing_distributed true`` in ``AbsTask.main``) spawns one
process per GPU and only for ``--ngpu`` > 1 (each child gets ``--ngpu 1``, i.e. CUDA); with
``--ngpu 0`` it never spawns. So here the ranks are started as ESPnet's ``espnet2.bin.launch``
starts them on CPU hosts (its ``--host`` mode): one process per rank with
``--ngpu 0 --multiprocessing_distributed false --dist_rank R --dist_world_size 2
--dist_backend gloo --dist_init_method file://...``; from there it is ESPnet's distributed path
(``resolve_distributed_mode``: distributed, ``init_process_group``, the sharded batches,
``DistributedDataParallel``, the all-reduced stats, rank 0 writing the checkpoints).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from tests.distributed.record import read_records, recording
from tests.tasks import tiny_espnet as tiny

REPO = Path(__file__).resolve().parents[2]
WORLD_SIZE = 2

#: no dropout, so that one step is a function of the weights and the batch alone
NO_DROPOUT = ["--encoder_conf", "dropout_rate=0.0", "--encoder_conf", "positional_dropout_rate=0.0",
              "--decoder_conf", "dropout_rate=0.0", "--decoder_conf", "positional_dropout_rate=0.0"]
#: 8 utterances in batches of 4 (2 per rank): 2 steps per epoch, 2 epochs, plain SGD
TRAIN_OPTIONS = ["--batch_type", "unsorted", "--batch_size", "4", "--max_epoch", "2", "--num_workers", "0",
                 "--optim", "sgd", "--optim_conf", "lr=0.1", "--seed", "0",
                 "--use_matplotlib", "false", "--use_tensorboard", "false", "--use_wandb", "false",
                 "--best_model_criterion", "valid,acc,max", "--keep_nbest_models", "1", "--resume", "false"]

#: the utterances of the distributed tests: all 3200 samples long, so that a rank's share of a batch
#: has the padding of the whole batch (none), and its features are those of the one-process batch
TEXTS = {f"utt{i}": t for i, t in enumerate(["ab cd", "eee", "a b c", "dd ea", "cab", "e d", "bad", "c e a"], 1)}
SRC_TEXTS = {u: ["xy z", "zz", "x y z", "y x", "xyz", "z", "yy x", "x z"][i] for i, u in enumerate(sorted(TEXTS))}
NUM_SAMPLES = 3200


def write_data(data_dir: Path) -> Path:
    """wav.scp, text, text.src and speech_shape of :data:`TEXTS`, with random 16 kHz audio."""
    import soundfile

    rng = np.random.default_rng(7)
    wavs = []
    for utt in sorted(TEXTS):
        wav = data_dir / "wav" / f"{utt}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(wav, (0.1 * rng.standard_normal(NUM_SAMPLES)).astype(np.float32), 16000)
        wavs.append(f"{utt} {wav}")
    tiny.write_lines(data_dir / "wav.scp", wavs)
    tiny.write_lines(data_dir / "text", [f"{u} {TEXTS[u]}" for u in sorted(TEXTS)])
    tiny.write_lines(data_dir / "text.src", [f"{u} {SRC_TEXTS[u]}" for u in sorted(TEXTS)])
    tiny.write_lines(data_dir / "speech_shape", [f"{u} {NUM_SAMPLES}" for u in sorted(TEXTS)])
    return data_dir


def data_options(data_dir: Path, extra_streams: Sequence[str] = ()) -> List[str]:
    argv = []
    for split in ("train", "valid"):
        argv += [f"--{split}_data_path_and_name_and_type", f"{data_dir}/wav.scp,speech,sound",
                 f"--{split}_data_path_and_name_and_type", f"{data_dir}/text,text,text",
                 f"--{split}_shape_file", f"{data_dir}/speech_shape"]
        for stream in extra_streams:
            argv += [f"--{split}_data_path_and_name_and_type", stream]
    return argv


def distributed_options(rank: int, init_file: Path) -> List[str]:
    """ESPnet's options for rank ``rank`` of a CPU (gloo) run of :data:`WORLD_SIZE` processes."""
    return ["--ngpu", "0", "--multiprocessing_distributed", "false", "--dist_backend", "gloo",
            "--dist_init_method", f"file://{init_file}", "--dist_world_size", str(WORLD_SIZE),
            "--dist_rank", str(rank)]


def start_ranks(module: str, argv: Sequence[str], work_dir: Path) -> List[subprocess.Popen]:
    """Start the :data:`WORLD_SIZE` ranks of ``python -m MODULE ARGV`` (recorded in ``work_dir/records``)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    processes = []
    for rank in range(WORLD_SIZE):
        log = open(work_dir / f"rank{rank}.log", "w", encoding="utf-8")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "tests.distributed.rank_main", str(work_dir / "records"), module, *argv,
             *distributed_options(rank, work_dir / "dist_init")],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        log.close()
    return processes


def wait_ranks(processes: List[subprocess.Popen], work_dir: Path, timeout: float = 900) -> Dict[str, list]:
    """Wait for every rank; fail with each failed rank's log tail; return the records."""
    failed = []
    for rank, process in enumerate(processes):
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            code = "timeout"
        if code != 0:
            tail = (work_dir / f"rank{rank}.log").read_text(encoding="utf-8").splitlines()[-30:]
            failed.append(f"rank {rank} exited {code}:\n" + "\n".join(tail))
    assert not failed, "\n\n".join(failed)
    return read_records(work_dir / "records")


def run_single(main, argv: Sequence[str], work_dir: Path) -> Dict[str, list]:
    """The same training as one process (in this one, ``--ngpu 0``), recorded."""
    with recording(work_dir / "records"):
        main([*argv, "--ngpu", "0"])
    return read_records(work_dir / "records")


def run_both(module: str, main, argv: Sequence[str], tmp_path: Path):
    """The training as 2 ranks (output ``tmp_path/ddp/exp``) and as one process (``tmp_path/single/exp``).

    The ranks run in the background while the one-process training runs here.
    """
    ddp_argv = [*argv, "--output_dir", str(tmp_path / "ddp" / "exp")]
    processes = start_ranks(module, ddp_argv, tmp_path / "ddp")
    try:
        single = run_single(main, [*argv, "--output_dir", str(tmp_path / "single" / "exp")], tmp_path / "single")
    finally:
        ranks = wait_ranks(processes, tmp_path / "ddp")
    return ranks, single["single"]


def epochs(entries: list, event: str = "train") -> Dict[int, dict]:
    return {entry["epoch"]: entry for entry in entries if entry["event"] == event}


def check_ranks_split_each_epoch(ranks: Dict[str, list], max_epoch: int = 2) -> None:
    """Every epoch (train and valid): the ranks saw disjoint utterances, together all of them, 2 per step."""
    assert sorted(ranks) == [f"rank{r}" for r in range(WORLD_SIZE)]
    for event in ("train", "valid"):
        per_rank = {name: epochs(entries, event) for name, entries in ranks.items()}
        for epoch in range(1, max_epoch + 1):
            seen = {name: [u for step in per_rank[name][epoch]["steps"] for u in step["utt_ids"]]
                    for name in ranks}
            for name, ids in seen.items():
                assert len(ids) == len(set(ids)) == len(TEXTS) // WORLD_SIZE, (event, epoch, name, ids)
                assert all(len(step["utt_ids"]) == 4 // WORLD_SIZE for step in per_rank[name][epoch]["steps"])
            assert not set(seen["rank0"]) & set(seen["rank1"]), (event, epoch, seen)
            assert set(seen["rank0"]) | set(seen["rank1"]) == set(TEXTS), (event, epoch, seen)


def check_steps_match(ranks: Dict[str, list], single: list, max_epoch: int = 2, tolerance: float = 1e-5) -> int:
    """Each training step's loss over the ranks (weighted as ESPnet's trainer averages it) is the one-process
    loss of the same batch; returns the number of steps compared.

    After the first step this also compares the gradients: a step of other weights (a gradient not averaged
    over the ranks as over the batch) would give another loss at the next step.
    """
    compared = 0
    single_epochs = epochs(single)
    rank_epochs = {name: epochs(entries) for name, entries in ranks.items()}
    for epoch in range(1, max_epoch + 1):
        one = single_epochs[epoch]["steps"]
        for i, step in enumerate(one):
            parts = [rank_epochs[name][epoch]["steps"][i] for name in sorted(ranks)]
            assert sorted(u for part in parts for u in part["utt_ids"]) == sorted(step["utt_ids"])
            total = sum(part["weight"] for part in parts)
            combined = sum(part["loss"] * part["weight"] for part in parts) / total
            assert total == step["weight"]
            assert abs(combined - step["loss"]) < tolerance, (epoch, i, combined, step["loss"])
            compared += 1
        assert len(rank_epochs["rank0"][epoch]["steps"]) == len(one)
    return compared


def check_ddp_saw_the_student_alone(ranks: Dict[str, list], student_state_keys) -> None:
    """DDP wrapped the student; it reduces the student's parameters, none of a teacher's."""
    for name, entries in ranks.items():
        for entry in epochs(entries).values():
            assert entry["wrapper"] == "DistributedDataParallel"
            params = [n[len("module."):] for n in entry["ddp_params"]]
            assert params and not [n for n in params if "teacher" in n]
            assert set(params) <= set(student_state_keys)


def check_checkpoint_is_the_student(out_dir: Path, single_dir: Path, tolerance: float = 1e-5) -> Dict[str, object]:
    """Rank 0 saved the student alone (no ``teacher.`` keys), with the one-process training's weights."""
    import torch

    state = torch.load(out_dir / "valid.acc.ave.pth", map_location="cpu", weights_only=False)
    assert state and not [k for k in state if k.startswith("teacher") or ".teacher." in k]
    # the last epoch's weights (checkpoint.pth) are the one-process training's
    final = torch.load(out_dir / "checkpoint.pth", map_location="cpu", weights_only=False)["model"]
    single = torch.load(single_dir / "checkpoint.pth", map_location="cpu", weights_only=False)["model"]
    assert set(final) == set(single) == set(state)
    for key in final:
        if final[key].is_floating_point():
            assert torch.allclose(final[key], single[key], atol=tolerance, rtol=0), key
    return state

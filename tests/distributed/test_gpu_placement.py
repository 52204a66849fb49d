"""GPU placement of split jobs and the distributed training command, tested without a GPU.

- ``scripts/jobs/local.sh --gpu G``: each job gets ``CUDA_VISIBLE_DEVICES`` from the GPUs given
  (``--gpus``, else ``CUDA_VISIBLE_DEVICES``), job i the G at positions ((i-1)·G + j) mod N; a
  fake job prints what it sees;
- ``scripts/jobs/slurm.sh --gpu G --num_nodes M``: asks ``--gres=gpu:G`` (and ``--nodes=M
  --ntasks-per-node=1``) of a fake ``sbatch`` that records its arguments and runs the array's tasks;
- ``scripts/common.sh``: ``run_training`` at ``--ngpu 2`` (and ``--num_nodes 2``) builds a command
  that ESPnet's own ``resolve_distributed_mode`` turns into distributed (DDP) training, not
  DataParallel, and at ``--ngpu 0`` the command of before; ``decode_jobs``/``run_topk_dump`` make one
  ``--ngpu 1`` job per GPU (at least).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "egs2" / "TEMPLATE" / "scripts" / "jobs"
COMMON = REPO / "egs2" / "TEMPLATE" / "scripts" / "common.sh"
SHOW_GPUS = ["sh", "-c", 'echo "JOB ${CUDA_VISIBLE_DEVICES-unset}"']


def run(cmd, cwd, env=None, check=True):
    result = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def job_outputs(log_dir: Path, jobs):
    """``{job: CUDA_VISIBLE_DEVICES it saw}`` from the fake jobs' logs."""
    seen = {}
    for job in jobs:
        lines = [line for line in (log_dir / f"log.{job}").read_text().splitlines() if not line.startswith("#")]
        number, devices = lines[-1].split()
        assert number == str(job)
        seen[job] = devices
    return seen


def local(tmp_path, *options, jobs="1:5", env=None, check=True):
    return run(["bash", str(JOBS / "local.sh"), *options, f"JOB={jobs}", str(tmp_path / "log.JOB"), *SHOW_GPUS],
               tmp_path, env, check)


def test_local_backend_puts_job_i_on_gpu_i_minus_1_mod_n(tmp_path):
    local(tmp_path, "--gpu", "1", env={"CUDA_VISIBLE_DEVICES": "2,5,7"})
    assert job_outputs(tmp_path, range(1, 6)) == {1: "2", 2: "5", 3: "7", 4: "2", 5: "5"}
    assert "on GPU 7 (CUDA_VISIBLE_DEVICES)" in (tmp_path / "log.3").read_text()   # the log says where it ran
    local(tmp_path, "--gpus", "0,1,2,3", "--gpu", "1", env={"CUDA_VISIBLE_DEVICES": "9"})   # --gpus first
    assert job_outputs(tmp_path, range(1, 6)) == {1: "0", 2: "1", 3: "2", 4: "3", 5: "0"}


def test_local_backend_gives_a_multi_gpu_job_its_own_gpus_and_counts_from_the_first_job(tmp_path):
    local(tmp_path, "--gpus", "0,1,2,3", "--gpu", "2", jobs="1:3")
    assert job_outputs(tmp_path, range(1, 4)) == {1: "0,1", 2: "2,3", 3: "0,1"}
    local(tmp_path, "--gpus", "4,6", "--gpu", "1", jobs="0:2")   # JOB=0:N-1 (the top-k shards)
    assert job_outputs(tmp_path, range(0, 3)) == {0: "4", 1: "6", 2: "4"}


def test_local_backend_without_gpu_leaves_cuda_visible_devices_alone(tmp_path):
    local(tmp_path, jobs="1:2", env={"CUDA_VISIBLE_DEVICES": "3"})
    assert job_outputs(tmp_path, [1, 2]) == {1: "3", 2: "3"}
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    result = subprocess.run(["bash", str(JOBS / "local.sh"), "JOB=1:2", str(tmp_path / "log.JOB"), *SHOW_GPUS],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0
    assert job_outputs(tmp_path, [1, 2]) == {1: "unset", 2: "unset"}


def test_local_backend_refuses_what_it_cannot_place(tmp_path):
    result = local(tmp_path, "--gpus", "0,1", "--gpu", "3", check=False)
    assert result.returncode == 1 and "a job needs 3 GPUs, but only 2 are given (0,1)" in result.stderr
    result = local(tmp_path, "--num_nodes", "2", check=False)
    assert result.returncode == 1 and "the local backend runs jobs on this machine only" in result.stderr
    result = local(tmp_path, "--gpu", "x", check=False)
    assert result.returncode == 1 and "--gpu must be a number of GPUs" in result.stderr


FAKE_SBATCH = """#!/usr/bin/env bash
# records its arguments, then runs the batch script once per array task, as Slurm would (one GPU each)
echo "$*" >> "${FAKE_SBATCH_LOG}"
script="${@: -1}"; array=""
for arg in "$@"; do case "${arg}" in --array=*) array=${arg#--array=} ;; esac; done
status=0
for ((task = ${array%-*}; task <= ${array#*-}; task++)); do
    SLURM_ARRAY_JOB_ID=42 SLURM_ARRAY_TASK_ID=${task} CUDA_VISIBLE_DEVICES=0 bash "${script}" || status=1
done
echo 42
exit ${status}
"""


@pytest.fixture
def fake_sbatch(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "sbatch").chmod(0o755)
    log = tmp_path / "sbatch.args"
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SBATCH_LOG": str(log), "SLURM_OPTS": ""}, log


def test_slurm_backend_asks_one_gpu_per_array_task(tmp_path, fake_sbatch):
    env, log = fake_sbatch
    run(["bash", str(JOBS / "slurm.sh"), "--slurm_opts", "--time=1:00:00", "--gpu", "1", "JOB=1:3",
         str(tmp_path / "log.JOB"), *SHOW_GPUS], tmp_path, env)
    words = log.read_text().split()
    assert "--gres=gpu:1" in words and "--array=1-3" in words and "--time=1:00:00" in words
    assert job_outputs(tmp_path, range(1, 4)) == {1: "0", 2: "0", 3: "0"}   # Slurm's own placement
    log.unlink()
    run(["bash", str(JOBS / "slurm.sh"), "--gpu", "4", "--num_nodes", "2", str(tmp_path / "train.log"), "true"],
        tmp_path, env)
    words = log.read_text().split()
    assert {"--gres=gpu:4", "--nodes=2", "--ntasks-per-node=1"} <= set(words)
    log.unlink()
    run(["bash", str(JOBS / "slurm.sh"), "--gpu", "0", "JOB=1:2", str(tmp_path / "log.JOB"), "true"], tmp_path, env)
    assert not [w for w in log.read_text().split() if w.startswith(("--gres", "--nodes"))]


# ---------------------------------------------------------------- common.sh: the commands the stages run

FAKE_TRAIN_CMD = """#!/usr/bin/env bash
# a job backend that records its arguments and plays an ESPnet training that finished
printf '%q ' "$@" >> "${FAKE_CMD_LOG}"; echo >> "${FAKE_CMD_LOG}"
while [[ "$1" == --* ]]; do shift 2; done
log=$1; dir=$(dirname "${log}")
case "$*" in *espnet_kd.bin.dump_topk*) exit 0 ;; esac
mkdir -p "${dir}"; touch "${dir}/valid.acc.ave.pth"; echo "INFO: 1epoch results: [valid] acc=0.5" > "${log}"
"""


def common_sh(tmp_path, script: str, **variables) -> list:
    """Run ``script`` with scripts/common.sh sourced (fake backends); the backend calls, as word lists."""
    fake = tmp_path / "fake_cmd.sh"
    fake.write_text(FAKE_TRAIN_CMD)
    fake.chmod(0o755)
    record = tmp_path / "calls"
    record.unlink(missing_ok=True)
    settings = {"ngpu": "0", "nj": "3", "seed": "0", "train_args": "", "train_cmd": str(fake),
                "decode_cmd": str(fake), "TEMPLATE_DIR": str(COMMON.parent.parent), **variables}
    lines = ["set -euo pipefail", f". {shlex.quote(str(COMMON))}"]
    lines += [f"{key}={shlex.quote(value)}" for key, value in settings.items()]
    lines.append(script)
    run(["bash", "-c", "\n".join(lines)], tmp_path, {"FAKE_CMD_LOG": str(record),
                                                     "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"})
    return [shlex.split(line) for line in record.read_text().splitlines()] if record.exists() else []


def espnet_args(words):
    """The training's own arguments (after ``python -m MODULE``) as ESPnet's ASR task parses them."""
    from espnet2.tasks.asr import ASRTask

    argv = words[words.index("-m") + 2:]
    at = argv.index("--config")
    del argv[at:at + 2]   # (a path relative to the recipe dir; nothing here reads it)
    parser = ASRTask.get_parser()
    args, _ = parser.parse_known_args(argv)
    return args


TRAIN = "mkdir -p conf && touch conf/train.yaml && run_training espnet2.bin.asr_train exp/model conf/train.yaml"


def test_run_training_at_ngpu_0_is_the_command_of_before(tmp_path):
    (call,) = common_sh(tmp_path, TRAIN, ngpu="0")
    assert call[0] == "exp/model/train.log" and call[1:4] == ["python", "-m", "espnet2.bin.asr_train"]
    assert call[4:6] == ["--ngpu", "0"] and call[6] == "--config"
    assert not [w for w in call if w.startswith(("--gpu", "--dist", "--multiprocessing"))]


def test_run_training_on_gpus_is_espnets_distributed_mode(tmp_path):
    from espnet2.train.distributed_utils import resolve_distributed_mode

    (call,) = common_sh(tmp_path, TRAIN, ngpu="2")
    assert call[:3] == ["--gpu", "2", "exp/model/train.log"]   # the backend places 2 GPUs
    args = espnet_args(call)
    assert args.ngpu == 2 and args.multiprocessing_distributed
    resolve_distributed_mode(args)
    assert args.distributed and args.multiprocessing_distributed   # DDP, one process per GPU (not DataParallel)
    # the GPUs are not part of a training's fingerprint: at --ngpu 1 the same model is trained already
    assert common_sh(tmp_path, TRAIN, ngpu="1") == []
    (call,) = common_sh(tmp_path / "exp", TRAIN, ngpu="1")
    assert call[:3] == ["--gpu", "1", "exp/model/train.log"] and "--multiprocessing_distributed" not in call


def test_run_training_on_several_nodes_uses_srun_and_espnets_slurm_launcher(tmp_path, monkeypatch):
    from espnet2.train.distributed_utils import get_num_nodes, resolve_distributed_mode

    (call,) = common_sh(tmp_path, TRAIN, ngpu="4", num_nodes="2")
    assert call[:5] == ["--gpu", "4", "--num_nodes", "2", "exp/model/train.log"]
    assert call[5:7] == ["srun", "--export=ALL"]
    args = espnet_args(call)
    assert args.dist_launcher == "slurm" and args.dist_init_method.startswith(f"file://{tmp_path}/exp/model/.dist_init_")
    for key, value in dict(SLURM_PROCID="0", SLURM_NTASKS="2", SLURM_STEP_NUM_NODES="2",
                           SLURM_STEP_NODELIST="node[1-2]", SLURM_NODEID="0", SLURM_LOCALID="0").items():
        monkeypatch.setenv(key, value)   # what srun sets in the first node's task
    resolve_distributed_mode(args)
    assert args.distributed and args.multiprocessing_distributed and get_num_nodes(None, "slurm") == 2
    assert not list((tmp_path / "exp" / "model").glob(".dist_init_*"))   # removed after the training


def test_decoding_stages_run_one_job_per_gpu(tmp_path):
    script = ('decode_jobs; echo "$nj ${gpu_opts[*]} $job_ngpu" > split\n'
              'run_topk_dump exp/topk --teacher_kind asr --k 8')
    calls = common_sh(tmp_path, script, ngpu="0")
    assert (tmp_path / "split").read_text().split() == ["3", "0"]   # --nj jobs on the CPU
    assert calls == [["exp/topk.log", "python", "-m", "espnet_kd.bin.dump_topk", "--teacher_kind", "asr",
                      "--k", "8", "--out_dir", "exp/topk", "--num_shards", "3"]]
    assert common_sh(tmp_path, script, ngpu="2", nj="5")[0][:3] == ["--gpu", "1", "JOB=0:4"]   # --nj over 2 GPUs
    calls = common_sh(tmp_path, script, ngpu="4")   # at least one job per GPU
    assert (tmp_path / "split").read_text().split() == ["4", "--gpu", "1", "1"]
    assert calls == [["--gpu", "1", "JOB=0:3", "exp/topk.JOB.log", "python", "-m", "espnet_kd.bin.dump_topk",
                      "--teacher_kind", "asr", "--k", "8", "--out_dir", "exp/topk", "--num_shards", "4",
                      "--shards", "JOB", "--device", "cuda"]]

"""The slurm job backend against a real Slurm: a one-node cluster on this host (tools/slurm_localhost.sh).

The session fixture installs slurm-wlm and munge (apt-get, only if missing) and starts munged,
slurmctld and slurmd through the script, and stops them at the end if it started them. Where they
cannot run here (not root, no apt-get, the packages not installable, the daemons not starting) the
tests are skipped with the script's reason; ESPNET_KD_REQUIRE_SLURM=1 makes that a failure (for a CI
that is known to have root and apt).

- ``scripts/jobs/slurm.sh`` alone: a failing array task is named with its log's tail; SIGTERM
  ``scancel``s the array (nothing left in squeue, nothing left running).
- egs2/mini_synth/asr1 with the tiny configs and ``CMD_BACKEND=slurm``: stages 1-6 (the n-best jobs
  are one Slurm array), a rerun of stage 6 (finished: skipped; one job's output cut short: that job
  resumes, the finished one is skipped, both as a new array), the baseline student (stage 8), and a
  SIGTERM to run.sh while a student trains under Slurm (its job is scancelled). The teacher trains one
  epoch (the tiny config's max_epoch 2 → 1 in the scratch copy): it is there for its n-best lists.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from tests.recipes.conftest import REPO_ROOT, copy_recipe, recipe_env
from tests.recipes.tiny_configs import ASR_TINY

SCRIPT = REPO_ROOT / "tools/slurm_localhost.sh"
SLURM_SH = REPO_ROOT / "egs2/TEMPLATE/scripts/jobs/slurm.sh"
CLUSTER_DIR = Path(os.environ.get("SLURM_LOCALHOST_DIR", "/var/lib/espnet-kd-slurm"))
SLURM_ENV = {"SLURM_CONF": str(CLUSTER_DIR / "etc/slurm.conf")}

TINY = [*ASR_TINY, "--methods", "baseline"]  # the baseline student only
SLURM_HEADER = re.compile(r"^# started at .* on \S+ \(Slurm job (\d+)_(\d+)\)$", re.M)


def cannot_run(reason: str):
    """Skip (or, with ESPNET_KD_REQUIRE_SLURM=1, fail) with the reason, printed past pytest's capture."""
    message = f"no Slurm cluster on this host: {reason}"
    print(f"\ntests/jobs/test_slurm_cluster.py: {message}", file=sys.__stderr__)
    if os.environ.get("ESPNET_KD_REQUIRE_SLURM") == "1":
        pytest.fail(message)
    pytest.skip(message)


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def cluster_script(command: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def slurm_cluster():
    """SLURM_CONF of a running one-node cluster: one already up, or one started here (and stopped after)."""
    if not sys.platform.startswith("linux"):
        cannot_run(f"Linux only (this is {sys.platform})")
    if cluster_script("status", 30).returncode == 0:   # up already (someone ran the script): used, left up
        yield SLURM_ENV
        return
    if os.geteuid() != 0:
        cannot_run("not root: tools/slurm_localhost.sh installs slurm-wlm and munge and runs slurmd as root")
    installed = cluster_script("install", 900)
    if installed.returncode != 0:
        cannot_run(f"tools/slurm_localhost.sh install failed (exit {installed.returncode}):\n{tail(installed.stdout)}")
    started = cluster_script("start", 300)
    if started.returncode != 0:
        stopped = cluster_script("stop", 60)   # whatever of it did start
        cannot_run(f"tools/slurm_localhost.sh start failed (exit {started.returncode}):\n{tail(started.stdout, 60)}"
                   f"\n(stop: {tail(stopped.stdout, 5)})")
    try:
        yield SLURM_ENV
    finally:
        stopped = cluster_script("stop", 120)
        assert stopped.returncode == 0, stopped.stdout
        assert cluster_script("status", 30).returncode != 0


def env_with(extra: Dict[str, str]) -> Dict[str, str]:
    env = recipe_env()
    env.update(extra)
    return env


def slurm(args: List[str], cluster: Dict[str, str]) -> str:
    """A Slurm client command's output (squeue, scontrol)."""
    return subprocess.run(args, env=env_with(cluster), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60, check=False).stdout


def job_records(job_id: str, cluster: Dict[str, str]) -> List[Dict[str, str]]:
    """`scontrol show job` of an array: one {key: value} per task."""
    text = slurm(["scontrol", "-o", "show", "job", job_id], cluster)
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in text.splitlines() if line.startswith("JobId=")]


def run_slurm_sh(args: List[str], cwd: Path, env: Dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    """scripts/jobs/slurm.sh ARGS..., sent SIGTERM (so that it scancels its array) if it outlives ``timeout``."""
    process = subprocess.Popen(["bash", str(SLURM_SH), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        pytest.fail(f"slurm.sh {' '.join(args)} took more than {timeout} s:\n{stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.3)


def test_failing_array_task_is_named_with_its_log_tail(slurm_cluster, tmp_path):
    command = 'echo "task JOB says hello"; [ JOB = 1 ] || { echo "task JOB gives up"; exit 1; }'
    result = run_slurm_sh(["JOB=1:2", "log/echo.JOB.log", "bash", "-c", command], tmp_path, env_with(slurm_cluster))
    assert result.returncode == 1, result.stderr
    assert "ERROR: array task 2 failed; last lines of log/echo.2.log:" in result.stderr, result.stderr
    assert "    task 2 gives up" in result.stderr and "    # ended (exit code 1)" in result.stderr
    assert "array task 1 failed" not in result.stderr
    # both tasks ran as one Slurm array, and Slurm has task 2's exit code
    headers = {task: job for job, task in (slurm_task(tmp_path / f"log/echo.{i}.log") for i in (1, 2))}
    assert set(headers) == {1, 2} and headers[1] == headers[2], headers
    job_id = headers[1]
    assert f"Slurm job {job_id} (array 1-2) failed" in result.stderr
    records = {record["ArrayTaskId"]: record for record in job_records(job_id, slurm_cluster)}
    assert records["1"]["ExitCode"] == "0:0" and records["2"]["ExitCode"] == "1:0", records
    assert "task 1 says hello" in (tmp_path / "log/echo.1.log").read_text()

    # a submission sbatch refuses is one clear error, not a list of failed tasks
    refused = run_slurm_sh(["JOB=1:2", "log/x.JOB.log", "true"], tmp_path,
                           env_with({**slurm_cluster, "SLURM_OPTS": "--partition=no_such_partition"}), timeout=120)
    assert refused.returncode == 1
    assert "sbatch did not submit log/x.array.sbatch" in refused.stderr, refused.stderr
    assert "array task" not in refused.stderr


def test_sigterm_cancels_the_array(slurm_cluster, tmp_path):
    marker = f"espnet-kd-slurm-test-{os.getpid()}-{tmp_path.name}"
    cpus = int(slurm(["sinfo", "-h", "-o", "%c"], slurm_cluster).split()[0])   # one task per CPU runs, one waits
    process = subprocess.Popen(
        ["bash", str(SLURM_SH), f"JOB=1:{cpus + 1}", "log/sleep.JOB.log", "bash", "-c", "sleep 600", marker], cwd=tmp_path,
        env=env_with(slurm_cluster), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id_file = tmp_path / "log/sleep.array.jobid"
        wait_until(lambda: job_id_file.is_file() and job_id_file.read_text().strip(), 60, "sbatch's job id")
        job_id = job_id_file.read_text().strip().split(";")[0]

        def running() -> List[str]:
            return slurm(["squeue", "-h", "-j", job_id, "-t", "PD,R,CG,CF,S", "-o", "%i %T"], slurm_cluster).split()

        def started() -> int:
            logs = [tmp_path / f"log/sleep.{i}.log" for i in range(1, cpus + 2)]
            return sum(1 for log in logs if log.is_file() and "# started" in log.read_text())

        wait_until(lambda: running().count("RUNNING") == cpus and started() == cpus, 60, f"{cpus} running tasks")
        assert running().count("PENDING") == 1
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert f"SIGTERM: cancelling Slurm job {job_id}" in stderr
    wait_until(lambda: not running(), 60, f"squeue to show nothing left of job {job_id}")
    assert {record["JobState"] for record in job_records(job_id, slurm_cluster)} == {"CANCELLED"}

    def tasks_alive() -> List[str]:
        alive = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                    alive.append(proc.name)
            except OSError:
                pass
        return alive
    wait_until(lambda: not tasks_alive(), 30, "the cancelled tasks' processes to end")


def run_recipe(recipe: Path, args: List[str], cluster: Dict[str, str]) -> subprocess.CompletedProcess:
    """./run.sh TINY ARGS... with CMD_BACKEND=slurm; stopped with SIGTERM (its jobs scancelled) after 25 minutes."""
    process = subprocess.Popen(["./run.sh", *TINY, *args], cwd=recipe, env=env_with({**cluster, "CMD_BACKEND": "slurm"}),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        stdout, _ = process.communicate(timeout=1500)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=60)
        pytest.fail(f"./run.sh {' '.join(args)} took more than 1500 s:\n{stdout[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout)


def slurm_task(log: Path) -> tuple:
    """(Slurm job id, array task) from a job log's header: the job ran under Slurm."""
    found = SLURM_HEADER.search(log.read_text())
    assert found, f"{log} was not written by a Slurm array task:\n{log.read_text()[:2000]}"
    return found.group(1), int(found.group(2))


@pytest.mark.slow
def test_recipe_nbest_and_student_through_slurm(slurm_cluster, tmp_path):
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    # (one teacher epoch, not two: it is trained only for its n-best lists here)
    teacher_config = recipe / "conf/tuning/train_teacher_tiny.yaml"
    text = teacher_config.read_text()
    assert "\nmax_epoch: 2\n" in text
    teacher_config.unlink()   # (a copy, never the recipe's file through a link)
    teacher_config.write_text(text.replace("\nmax_epoch: 2\n", "\nmax_epoch: 1\n"))
    result = run_recipe(recipe, ["--stop_stage", "6"], slurm_cluster)
    assert result.returncode == 0, result.stdout[-5000:]
    assert re.search(r"=== stage 6 done in \d+ s", result.stdout)
    nbest_dir = recipe / "exp/teacher/nbest_train"
    logdir = nbest_dir / "logdir"
    train_utts = {line.split()[0] for line in (recipe / "dump/raw/train/wav.scp").read_text().splitlines()}

    def nbest_utts() -> set:
        return {json.loads(line)["utt"] for line in (nbest_dir / "nbest.jsonl").read_text().splitlines()}
    assert nbest_utts() == train_utts

    # the two n-best jobs were the two tasks of one Slurm array, which Slurm saw complete
    (job_1, task_1), (job_2, task_2) = slurm_task(logdir / "decode.1.log"), slurm_task(logdir / "decode.2.log")
    assert job_1 == job_2 and (task_1, task_2) == (1, 2)
    assert (logdir / "decode.array.jobid").read_text().strip() == job_1
    assert "#SBATCH" in (logdir / "decode.array.sbatch").read_text()
    # (scontrol show job forgets finished jobs after MinJobAge, 10 s: the tests above ask it, right away)
    # and so did the trainings (train_cmd): feature statistics and the teacher
    for log in (recipe / "exp/asr_stats/collect_stats.log", recipe / "exp/teacher/train.log"):
        slurm_task(log)
        assert "# ended (exit code 0)" in log.read_text()

    # a rerun of stage 6 skips the finished n-best list: no Slurm job
    decode_logs = (logdir / "decode.1.log").read_text(), (logdir / "decode.2.log").read_text()
    rerun = run_recipe(recipe, ["--stage", "6", "--stop_stage", "6"], slurm_cluster)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "exp/teacher/nbest_train is complete" in rerun.stdout
    assert ((logdir / "decode.1.log").read_text(), (logdir / "decode.2.log").read_text()) == decode_logs

    # job 2 cut short (its last 2 utterances lost, as if its node died): the rerun skips job 1 and resumes
    # job 2, as a new array; then the baseline student is trained through Slurm too (stage 8)
    (nbest_dir / ".done").unlink()
    (logdir / "output.2/.done").unlink()
    partial = logdir / "output.2/partial.jsonl"
    lines = partial.read_text().splitlines(keepends=True)   # a header, then one line per utterance
    partial.write_text("".join(lines[:-2]))
    resumed = run_recipe(recipe, ["--stage", "6", "--stop_stage", "8"], slurm_cluster)
    assert resumed.returncode == 0, resumed.stdout[-5000:]
    (job_3, _), (job_4, _) = slurm_task(logdir / "decode.1.log"), slurm_task(logdir / "decode.2.log")
    assert job_3 == job_4 != job_1
    assert "output.1/.done exists: skipped" in (logdir / "decode.1.log").read_text()
    assert f"resuming: {len(lines) - 3} of {len(lines) - 1} utterances already decoded" in (
        logdir / "decode.2.log").read_text()
    assert nbest_utts() == train_utts

    student = recipe / "exp/student_baseline"
    job, task = slurm_task(student / "train.log")
    assert task == 1 and int(job) > int(job_3)
    assert "# ended (exit code 0)" in (student / "train.log").read_text()
    assert (student / ".done").is_file() and (student / "valid.acc.ave.pth").is_file()
    assert sorted(path.name for path in (recipe / "exp").glob("student_*")) == ["student_baseline"]
    assert re.search(r"=== stage 8 done in \d+ s", resumed.stdout)

    # SIGTERM to run.sh while a student trains under Slurm: slurm.sh (in run.sh's process group) cancels its job
    seed1_log = recipe / "exp/student_baseline_seed1/train.log"
    run = subprocess.Popen(["./run.sh", *TINY, "--stage", "8", "--stop_stage", "8", "--seeds", "1"], cwd=recipe,
                           env=env_with({**slurm_cluster, "CMD_BACKEND": "slurm"}),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: seed1_log.is_file() and SLURM_HEADER.search(seed1_log.read_text()), 120,
                   f"the seed-1 training to start under Slurm ({seed1_log})")
        train_job, _ = slurm_task(seed1_log)
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert f"SIGTERM: cancelling Slurm job {train_job}" in output, output[-3000:]
    wait_until(lambda: not slurm(["squeue", "-h", "-j", train_job, "-t", "PD,R,CG,CF,S"], slurm_cluster).strip(),
               60, f"squeue to show nothing left of job {train_job}")

"""A signal to run.sh ends its whole process tree, and one run at a time per recipe dir (issue 15, item 1).

The signal tests run the tiny mini_synth asr1 recipe up to stage 3 once, then start stage 4
(``espnet2.bin.asr_train --collect_stats`` under ``scripts/jobs/local.sh``: the process tree
of every training) and stop it as soon as its python runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import List

import pytest

from tests.recipes.conftest import REPO_ROOT, copy_recipe, recipe_env, run_script

TINY = ["--local_data_opts", "--size tiny --nj 2", "--teacher_config", "conf/tuning/train_teacher_tiny.yaml",
        "--nj", "2"]
LOCAL_BACKEND = REPO_ROOT / "egs2/TEMPLATE/scripts/jobs/local.sh"


def processes_of(directory: Path) -> List[str]:
    """'pid command' of every live process working in ``directory`` or naming it on its command line."""
    found = []
    where = str(directory)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cwd = os.readlink(proc / "cwd")
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd == where or cwd.startswith(where + "/") or where in command:
            found.append(f"{proc.name} {command[:150]}")
    return found


def wait_until(condition, timeout: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


def kill_all(directory: Path) -> None:
    """Clean up after a failed test: SIGKILL whatever still runs there."""
    for line in processes_of(directory):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def formatted_recipe(tmp_path_factory) -> Path:
    """The tiny asr1 recipe after stages 1-3 (data, format, tokens)."""
    recipe = copy_recipe(tmp_path_factory.mktemp("stop_run"), "mini_synth", "asr1")
    result = run_script(recipe, ["./run.sh", *TINY, "--stop_stage", "3"], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    return recipe


def as_from_a_terminal() -> None:
    """(In the child, before exec) the signal dispositions a user's shell gives a command it starts.

    A suite run under ``nohup`` or as a background job ignores SIGHUP, or SIGINT and SIGQUIT; a
    child would inherit that, and bash cannot trap a signal ignored on entry.
    """
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def start_stats_stage(recipe: Path, new_session: bool = False) -> subprocess.Popen:
    """./run.sh --stage 4 in the background, returned once its python (asr_train) runs and logs."""
    shutil.rmtree(recipe / "exp/asr_stats", ignore_errors=True)   # so that stage 4 has its work to do
    log = open(recipe / "run_stage4.log", "w")
    run = subprocess.Popen(["./run.sh", *TINY, "--stage", "4", "--stop_stage", "4"], cwd=recipe,
                           env=recipe_env(), stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=new_session, preexec_fn=as_from_a_terminal)
    log.close()

    def training_runs() -> bool:
        assert run.poll() is None, (recipe / "run_stage4.log").read_text()[-3000:]
        commands = [line.split(" ", 1)[1] for line in processes_of(recipe)]   # the python, not local.sh
        python = any(Path((c.split() or [""])[0]).name.startswith("python") and "espnet2.bin.asr_train" in c for c in commands)
        log = recipe / "exp/asr_stats/collect_stats.log"   # local.sh's 2 header lines, then the python's output
        return python and log.is_file() and len(log.read_text().splitlines()) > 2

    wait_until(training_runs, 240, "the stage-4 python")
    return run


def test_sigterm_to_run_sh_stops_every_process_and_frees_the_recipe(formatted_recipe):
    recipe = formatted_recipe
    run = start_stats_stage(recipe)
    try:
        # while it runs, a second run in the same recipe dir is refused, naming the first one's process
        second = run_script(recipe, ["./run.sh", "--stage", "4", "--stop_stage", "4"], timeout=120)
        assert second.returncode == 1, second.stdout
        assert f"ERROR: asr.sh: {recipe} is in use by process {run.pid} (asr.sh stages 4-4" in second.stdout
        assert "wait for it or stop it" in second.stdout and "=== stage" not in second.stdout

        run.send_signal(signal.SIGTERM)   # to run.sh alone, as `kill PID` does
        status = run.wait(timeout=30)
        wait_until(lambda: not processes_of(recipe), 10, "every process of the recipe to end")
        assert status == 143
        # the lock went with it: the next run starts (and stops at stage 6's missing inputs), no notice
        again = run_script(recipe, ["./run.sh", "--stage", "6", "--stop_stage", "6"], timeout=120)
        assert "=== stage 6" in again.stdout and "in use" not in again.stdout, again.stdout
        assert "taking over" not in again.stdout
    finally:
        run.kill()
        kill_all(recipe)


def test_sigint_to_run_sh_stops_every_process(formatted_recipe):
    recipe = formatted_recipe
    run = start_stats_stage(recipe)
    try:
        run.send_signal(signal.SIGINT)   # to run.sh alone (`kill -INT PID`)
        status = run.wait(timeout=30)
        wait_until(lambda: not processes_of(recipe), 10, "every process of the recipe to end")
        assert status == 130
    finally:
        run.kill()
        kill_all(recipe)


def test_ctrl_c_stops_every_process(formatted_recipe):
    recipe = formatted_recipe
    # Ctrl-C: the terminal sends SIGINT to run.sh's process group (the stages run in a group of their
    # own, which only run.sh's trap reaches)
    run = start_stats_stage(recipe, new_session=True)
    try:
        os.killpg(run.pid, signal.SIGINT)
        status = run.wait(timeout=30)
        wait_until(lambda: not processes_of(recipe), 10, "every process of the recipe to end")
        assert status == 130
    finally:
        run.kill()
        kill_all(recipe)


@pytest.mark.parametrize("sig, status, group", [(signal.SIGTERM, 143, False), (signal.SIGINT, 130, False),
                                               (signal.SIGHUP, 129, False), (signal.SIGTERM, 143, True)])
def test_local_backend_stops_its_jobs_on_a_signal(tmp_path, sig, status, group):
    jobs = subprocess.Popen([str(LOCAL_BACKEND), "JOB=1:2", "log/job.JOB.log", "sleep", "300"], cwd=tmp_path,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=as_from_a_terminal)
    try:
        wait_until(lambda: sum(line.split(" ", 1)[1].startswith("sleep 300") for line in processes_of(tmp_path)) == 2,
                   30, "the two jobs")
        if group:   # as run_as_process_group does: to local.sh and its jobs at once
            os.killpg(jobs.pid, sig)
        else:
            jobs.send_signal(sig)   # to local.sh alone
        returned = jobs.wait(timeout=30)
        wait_until(lambda: not processes_of(tmp_path), 10, "the jobs to end")
        assert returned == status
        assert jobs.stdout.read() == f"ERROR: {LOCAL_BACKEND}: SIG{sig.name[3:]}: stopping 2 job(s)\n"
        for job in (1, 2):
            assert "# ended (exit code 143)" in (tmp_path / f"log/job.{job}.log").read_text()
    finally:
        jobs.kill()
        kill_all(tmp_path)


def test_lock_held_by_a_live_process_is_refused(tmp_path):
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    (recipe / "exp").mkdir()
    with open(recipe / "exp/.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write(f"pid {os.getpid()}\ngroup {os.getpid()}\nhost {os.uname().nodename}\n"
                   "started 2026-01-01T00:00:00\ncommand asr.sh stages 5-11\n")
        lock.flush()
        result = run_script(recipe, ["./run.sh", "--stage", "6", "--stop_stage", "6"], timeout=120)
    assert result.returncode == 1
    assert (f"{recipe} is in use by process {os.getpid()} (asr.sh stages 5-11, started 2026-01-01T00:00:00); "
            f"wait for it or stop it (kill {os.getpid()})") in result.stdout
    assert "=== stage" not in result.stdout


def test_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    recipe = copy_recipe(tmp_path, "mini_synth", "asr1")
    dead = subprocess.Popen(["true"])
    dead.wait()
    (recipe / "exp").mkdir()
    (recipe / "exp/.lock").write_text(f"pid {dead.pid}\ngroup {dead.pid}\nhost {os.uname().nodename}\n"
                                      "started 2026-01-01T00:00:00\ncommand asr.sh stages 1-11\n")
    result = run_script(recipe, ["./run.sh", "--stage", "6", "--stop_stage", "6"], timeout=120)
    assert f"taking over exp/.lock from process {dead.pid} (asr.sh stages 1-11" in result.stdout, result.stdout
    assert "=== stage 6" in result.stdout   # it ran (and stopped at the stage's missing inputs)
    assert (recipe / "exp/.lock").read_text() == ""   # released on exit

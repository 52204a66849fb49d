#!/usr/bin/env bash
# Local job backend: run a command as N parallel processes on this machine.
#
#   local.sh JOB=1:N path/to/log.JOB.log command args ...     (N jobs, JOB substituted)
#   local.sh path/to/log.log command args ...                 (one job)
#
# Every occurrence of JOB in the log path and the arguments becomes the job number.
# Each log starts with the command and ends with its exit status and time. The
# script exits 1 if any job failed, printing the tail of each failed job's log; on a
# signal (HUP, INT, TERM) it stops every job first and exits 128 + the signal's number.
set -u -o pipefail

first=1; last=1
if [[ "${1:-}" =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
    first="${BASH_REMATCH[1]}"; last="${BASH_REMATCH[2]}"; shift
fi
if [ $# -lt 2 ]; then
    echo "Usage: $0 [JOB=1:N] LOGFILE command args..." >&2; exit 1
fi
log_pattern="$1"; shift

# A signal (HUP, INT: Ctrl-C, TERM) stops every job: each job's command gets SIGTERM (not SIGINT, which
# bash makes background jobs ignore), and this script exits 128 + the signal's number once all have ended.
stop_jobs() {   # NAME NUMBER
    trap '' HUP INT TERM
    echo "ERROR: $0: SIG$1: stopping ${#pids[@]} job(s)" >&2
    kill -TERM "${pids[@]}" 2> /dev/null
    wait
    exit $((128 + $2))
}
# (in a job) its SIGTERM trap: pass the signal on to the job's command, or keep it from starting
forward_term() { stopped=1; [ -z "${command_pid}" ] || kill -TERM "${command_pid}" 2> /dev/null; }
pids=(); logs=()
trap 'stop_jobs HUP 1' HUP; trap 'stop_jobs INT 2' INT; trap 'stop_jobs TERM 15' TERM

for ((job = first; job <= last; job++)); do
    log="${log_pattern//JOB/${job}}"
    mkdir -p "$(dirname "${log}")"
    args=()
    for arg in "$@"; do args+=("${arg//JOB/${job}}"); done
    (
        start=$(date +%s)
        { printf '# '; printf '%q ' "${args[@]}"; printf '\n# started at %s\n' "$(date)"; } > "${log}"
        # the command runs in the background, so that the trap passes SIGTERM on to it at once
        command_pid=""; stopped=""; status=143
        trap forward_term TERM
        if [ -z "${stopped}" ]; then
            "${args[@]}" >> "${log}" 2>&1 &
            command_pid=$!
            [ -z "${stopped}" ] || kill -TERM "${command_pid}" 2> /dev/null   # stopped as it started
            wait "${command_pid}"
            status=$?
            # a signal ends a wait early: wait again while the command runs, for its own exit status
            while [ "${status}" -gt 128 ] && kill -0 "${command_pid}" 2> /dev/null; do
                wait "${command_pid}"; status=$?
            done
            [ "${status}" -ge 0 ] || status=143   # (bash 5.2 may say -1 for a command it already reaped)
        fi
        trap '' TERM   # the command has ended (and a trap run inside $(...) below would upset bash)
        printf '# ended (exit code %d) at %s, elapsed %d s\n' "${status}" "$(date)" "$(( $(date +%s) - start ))" >> "${log}"
        exit "${status}"
    ) &
    pids+=("$!"); logs+=("${log}")
done

failed=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        failed=$((failed + 1))
        echo "ERROR: job failed; last lines of ${logs[$i]}:" >&2
        tail -n 15 "${logs[$i]}" | sed 's/^/    /' >&2
    fi
done
if [ "${failed}" -gt 0 ]; then
    echo "ERROR: ${failed} of ${#pids[@]} job(s) failed" >&2
    exit 1
fi

#!/usr/bin/env bash
# Local job backend: run a command as N parallel processes on this machine.
#
#   local.sh [--gpu G] [--gpus LIST] [--num_nodes 1] JOB=1:N path/to/log.JOB.log command args ...
#   local.sh [--gpu G] path/to/log.log command args ...                 (one job)
#
# Every occurrence of JOB in the log path and the arguments becomes the job number.
# Each log starts with the command and ends with its exit status and time. The
# script exits 1 if any job failed, printing the tail of each failed job's log; on a
# signal (HUP, INT, TERM) it stops every job first and exits 128 + the signal's number.
#
# GPU placement (--gpu G > 0: each job uses G GPUs): the GPUs are --gpus LIST (e.g. 0,1,2,3), else
# those of CUDA_VISIBLE_DEVICES, else every GPU nvidia-smi lists. The job at position p of the range
# (p = JOB - first: 0 for JOB=1 of JOB=1:N) gets CUDA_VISIBLE_DEVICES set to the G GPUs at positions
# (p*G + j) mod (number of GPUs), j = 0..G-1, of that list: with --gpu 1, job i on GPU (i-1) mod N, so
# N jobs on N GPUs run one per GPU, and more jobs than GPUs share them round-robin. Without --gpu (or
# --gpu 0), or when no GPU list is found (a warning), CUDA_VISIBLE_DEVICES is left as it is.
# --num_nodes above 1 is refused (one machine: use the slurm backend).
set -u -o pipefail

gpu=0; gpus=""
while [ $# -gt 0 ]; do
    case "$1" in
        --gpu) gpu=${2:-}; shift 2 || shift ;;
        --gpus) gpus=${2:-}; shift 2 || shift ;;
        --num_nodes)
            [ "${2:-}" = 1 ] || { echo "ERROR: $0: --num_nodes ${2:-}: the local backend runs jobs on this" \
                "machine only (use the slurm backend, CMD_BACKEND=slurm, for several nodes)" >&2; exit 1; }
            shift 2 ;;
        *) break ;;
    esac
done
[[ "${gpu}" =~ ^[0-9]+$ ]] || { echo "ERROR: $0: --gpu must be a number of GPUs, not '${gpu}'" >&2; exit 1; }
gpu_list=()
if [ "${gpu}" -gt 0 ]; then
    if [ -z "${gpus}" ]; then
        gpus=${CUDA_VISIBLE_DEVICES:-}
        if [ -z "${gpus}" ] && command -v nvidia-smi > /dev/null; then
            gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader 2> /dev/null | tr -d ' ' | paste -sd, -)
        fi
    fi
    IFS=, read -r -a gpu_list <<< "${gpus}"
    if [ "${#gpu_list[@]}" -eq 0 ]; then   # (the jobs see what CUDA sees, as without --gpu)
        echo "WARNING: $0: --gpu ${gpu}: no GPU list to place the jobs on (give --gpus 0,1,... or set" \
            "CUDA_VISIBLE_DEVICES; nvidia-smi lists none): CUDA_VISIBLE_DEVICES left unset" >&2
        gpu=0
    elif [ "${gpu}" -gt "${#gpu_list[@]}" ]; then
        echo "ERROR: $0: --gpu ${gpu}: a job needs ${gpu} GPUs, but only ${#gpu_list[@]} are given (${gpus})" >&2
        exit 1
    fi
fi
# job_gpus POSITION: the comma-separated GPUs of the job at POSITION (0-based) of the range
job_gpus() {
    local j out=""
    for ((j = 0; j < gpu; j++)); do out+="${out:+,}${gpu_list[$((($1 * gpu + j) % ${#gpu_list[@]}))]}"; done
    echo "${out}"
}

first=1; last=1
if [[ "${1:-}" =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
    first="${BASH_REMATCH[1]}"; last="${BASH_REMATCH[2]}"; shift
fi
if [ $# -lt 2 ]; then
    echo "Usage: $0 [--gpu G] [--gpus LIST] [JOB=1:N] LOGFILE command args..." >&2; exit 1
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
        placed=""
        if [ "${gpu}" -gt 0 ]; then
            export CUDA_VISIBLE_DEVICES; CUDA_VISIBLE_DEVICES=$(job_gpus $((job - first)))
            placed=" on GPU ${CUDA_VISIBLE_DEVICES} (CUDA_VISIBLE_DEVICES)"
        fi
        { printf '# '; printf '%q ' "${args[@]}"; printf '\n# started at %s%s\n' "$(date)" "${placed}"; } > "${log}"
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

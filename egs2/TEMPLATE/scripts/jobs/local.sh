#!/usr/bin/env bash
# Local job backend: run a command as N parallel processes on this machine.
#
#   local.sh JOB=1:N path/to/log.JOB.log command args ...     (N jobs, JOB substituted)
#   local.sh path/to/log.log command args ...                 (one job)
#
# Every occurrence of JOB in the log path and the arguments becomes the job number.
# Each log starts with the command and ends with its exit status and time. The
# script exits 1 if any job failed, printing the tail of each failed job's log.
set -u -o pipefail

first=1; last=1
if [[ "${1:-}" =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
    first="${BASH_REMATCH[1]}"; last="${BASH_REMATCH[2]}"; shift
fi
if [ $# -lt 2 ]; then
    echo "Usage: $0 [JOB=1:N] LOGFILE command args..." >&2; exit 1
fi
log_pattern="$1"; shift

pids=(); logs=()
for ((job = first; job <= last; job++)); do
    log="${log_pattern//JOB/${job}}"
    mkdir -p "$(dirname "${log}")"
    args=()
    for arg in "$@"; do args+=("${arg//JOB/${job}}"); done
    (
        start=$(date +%s)
        { printf '# '; printf '%q ' "${args[@]}"; printf '\n# started at %s\n' "$(date)"; } > "${log}"
        "${args[@]}" >> "${log}" 2>&1
        status=$?
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

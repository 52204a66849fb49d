#!/usr/bin/env bash
# Slurm job backend: the same interface as local.sh, as one Slurm job array.
#
#   slurm.sh [--slurm_opts "--partition=gpu --gres=gpu:1"]... [--gpu N] [--num_nodes M] JOB=1:N path/to/log.JOB.log command args ...
#
# Writes a batch script beside the logs, submits it with `sbatch --wait --array=1-N`,
# and exits 1 if any array task failed (printing the tail of its log). Extra sbatch
# options also come from the environment variable SLURM_OPTS. Each task's log starts with the
# command and `# started at <time> on <node> (Slurm job <array job id>_<task>)`.
set -u -o pipefail

slurm_opts="${SLURM_OPTS:-}"
# --gpu N, --num_nodes M (run_training, decode_split; as Kaldi's slurm.pl takes them): N > 0 asks
# --gres=gpu:N per array task (Slurm sets its CUDA_VISIBLE_DEVICES); M > 1 asks --nodes=M
# --ntasks-per-node=1 (the job's srun starts one process per node).
while [ $# -gt 0 ]; do
    case "$1" in
        --slurm_opts|--slurm-opts) slurm_opts="${slurm_opts} ${2:-}"; shift 2 || shift ;;   # (repeatable: cmd.sh's words)
        --gpu|--num_nodes)
            [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "ERROR: $0: $1 needs a number, not '${2:-}'" >&2; exit 1; }
            if [ "$1" = --gpu ] && [ "$2" -gt 0 ]; then slurm_opts="${slurm_opts} --gres=gpu:$2"; fi
            if [ "$1" = --num_nodes ] && [ "$2" -gt 1 ]; then slurm_opts="${slurm_opts} --nodes=$2 --ntasks-per-node=1"; fi
            shift 2 ;;
        *) break ;;
    esac
done
first=1; last=1
if [[ "${1:-}" =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
    first="${BASH_REMATCH[1]}"; last="${BASH_REMATCH[2]}"; shift
fi
if [ $# -lt 2 ]; then
    echo "Usage: $0 [--slurm_opts OPTS] [JOB=1:N] LOGFILE command args..." >&2; exit 1
fi
command -v sbatch > /dev/null || { echo "ERROR: sbatch not found: the slurm backend needs a Slurm client on PATH" >&2; exit 1; }
log_pattern="$1"; shift
log_dir="$(dirname "${log_pattern//JOB/1}")"
mkdir -p "${log_dir}"
batch_script="${log_dir}/$(basename "${log_pattern//JOB/array}" .log).sbatch"

{
    echo "#!/usr/bin/env bash"
    echo "#SBATCH --output=/dev/null"
    echo "cd $(printf '%q' "${PWD}")"
    echo "job=\${SLURM_ARRAY_TASK_ID}"
    printf 'log=%q\n' "${log_pattern}"
    echo 'log="${log//JOB/${job}}"'
    printf 'args=('; printf '%q ' "$@"; printf ')\n'
    echo 'args=("${args[@]//JOB/${job}}")'
    echo 'start=$(date +%s)'
    echo '{ printf "# "; printf "%q " "${args[@]}"; printf "\n# started at %s on %s (Slurm job %s_%s)\n" "$(date)" "$(hostname)" "${SLURM_ARRAY_JOB_ID:-?}" "${job}"; } > "${log}"'
    echo '"${args[@]}" >> "${log}" 2>&1; status=$?'
    echo 'printf "# ended (exit code %d) at %s, elapsed %d s\n" "${status}" "$(date)" "$(( $(date +%s) - start ))" >> "${log}"'
    echo 'exit ${status}'
} > "${batch_script}"

# sbatch waits in the background, so that a signal (HUP, INT, TERM) runs cancel_array at once: it
# cancels the submitted array (scancel; a killed `sbatch --wait` leaves it running) and exits 128 + the
# signal's number. sbatch --parsable prints the job id (JOBID[;CLUSTER]) as soon as the array is queued.
job_id_file="${batch_script%.sbatch}.jobid"
cancel_array() {   # NAME NUMBER
    local job_id
    trap '' HUP INT TERM
    job_id=$(cut -d';' -f1 "${job_id_file}" 2> /dev/null)
    if [ -n "${job_id}" ]; then
        echo "ERROR: $0: SIG$1: cancelling Slurm job ${job_id}" >&2
        scancel "${job_id}" || echo "ERROR: $0: scancel ${job_id} failed: cancel it by hand" >&2
    else
        echo "ERROR: $0: SIG$1 before sbatch reported a job id: check squeue for ${batch_script}" >&2
    fi
    kill -TERM "${sbatch_pid}" 2> /dev/null
    exit $((128 + $2))
}
trap 'cancel_array HUP 1' HUP; trap 'cancel_array INT 2' INT; trap 'cancel_array TERM 15' TERM
# a task's log from an earlier run must not pass for this run's (a task that dies before writing its log)
for ((job = first; job <= last; job++)); do rm -f "${log_pattern//JOB/${job}}"; done
# shellcheck disable=SC2086
sbatch --wait --parsable --array="${first}-${last}" ${slurm_opts} "${batch_script}" > "${job_id_file}" &
sbatch_pid=$!
wait "${sbatch_pid}"; sbatch_status=$?
job_id=$(cut -d';' -f1 "${job_id_file}" 2> /dev/null)
if [ -z "${job_id}" ]; then   # (sbatch printed why on stderr: an unknown option in SLURM_OPTS, no controller, ...)
    echo "ERROR: $0: sbatch did not submit ${batch_script} (exit code ${sbatch_status}; options: ${slurm_opts:-none})" >&2
    exit 1
fi
if [ "${sbatch_status}" -ne 0 ]; then
    echo "ERROR: $0: Slurm job ${job_id} (array ${first}-${last}) failed (sbatch exit code ${sbatch_status})" >&2
    for ((job = first; job <= last; job++)); do
        log="${log_pattern//JOB/${job}}"
        if ! grep -q '^# ended (exit code 0)' "${log}" 2>/dev/null; then
            echo "ERROR: array task ${job} failed; last lines of ${log}:" >&2
            tail -n 15 "${log}" 2>/dev/null | sed 's/^/    /' >&2
        fi
    done
    exit 1
fi

#!/usr/bin/env bash
# Helpers shared by the stage scripts (sourced, after parse_options.sh).

# log MESSAGE...: a timestamped line on stderr.
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (${0##*/}) $*" >&2; }

# die MESSAGE...: an error line and exit 1.
die() { echo "ERROR: ${0##*/}: $*" >&2; exit 1; }

# stage_on N: true when stage N is within --stage .. --stop_stage.
stage_on() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }

# stage_begin N NAME / stage_end: print each stage's name and how long it took.
stage_begin() {
    __stage_number=$1; __stage_started=$(date +%s)
    log "=== stage $1: $2"
}
stage_end() {
    log "=== stage ${__stage_number} done in $(( $(date +%s) - __stage_started )) s"
}

# require_file PATH...: stop with a clear message if a file a stage reads is missing.
require_file() {
    local path
    for path in "$@"; do
        [ -e "${path}" ] || die "${path} not found (did an earlier stage run? see --stage)"
    done
}

# method_tag METHOD: the directory-name form of a selection method (1best → seqkd, topk:4 → topk4).
method_tag() {
    case "$1" in
        1best) echo seqkd ;;
        *) echo "$1" | sed -e 's/[:,=]//g' -e 's/[^A-Za-z0-9_]/_/g' ;;
    esac
}

# split_keys SCP NJ PATTERN: split the keys of SCP into NJ contiguous files PATTERN (JOB → 1..NJ).
split_keys() {
    local scp=$1 nj=$2 pattern=$3 total
    total=$(wc -l < "${scp}")
    [ "${total}" -ge 1 ] || die "${scp} is empty"
    [ "${nj}" -le "${total}" ] || die "--nj ${nj} is more than the ${total} utterances of ${scp}"
    awk -v nj="${nj}" -v total="${total}" -v pattern="${pattern}" '{
        job = int((NR - 1) * nj / total) + 1
        out = pattern; sub("JOB", job, out)
        print > out
    }' "${scp}"
}

# check_python: the Python that runs the stages must have espnet_kd and espnet2.
check_python() {
    python -c "import espnet_kd, espnet2" 2> /dev/null || die \
        "python ($(command -v python || echo 'not found')) cannot import espnet_kd and espnet2: " \
        "run 'make install' at the repository root and put .venv/bin on PATH (path.sh does this)"
}

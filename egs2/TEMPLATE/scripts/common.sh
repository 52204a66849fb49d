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

# keep_earlier_log LOG: move an existing LOG aside as LOG.1, LOG.2, ... (oldest first), so that a
# resumed training's new log does not erase the epochs logged before it (espnet_kd.utils.train_log
# reads them all for the learning curves and the convergence check).
keep_earlier_log() {
    local log=$1 n=1
    [ -s "${log}" ] || return 0
    while [ -e "${log}.${n}" ]; do n=$((n + 1)); done
    mv "${log}" "${log}.${n}"
}

# check_seeds "S1 S2 ...": the seed list with its white space collapsed; dies on a seed that is not a
# non-negative integer or that is listed twice.
check_seeds() {
    local list seed
    list=$(echo $1)
    [ -n "${list}" ] || die "--seeds is empty"
    for seed in ${list}; do
        [[ "${seed}" =~ ^[0-9]+$ ]] || die "--seeds must be non-negative integers, not '${list}'"
    done
    [ -z "$(echo ${list} | tr ' ' '\n' | sort | uniq -d)" ] || die "--seeds lists a seed twice: '${list}'"
    echo "${list}"
}

# seed_suffix SEED BASE_SEED: a student's directory suffix: none for --seed (BASE_SEED), _seedN otherwise,
# so exp/<model> always holds the same seed whatever --seeds lists.
seed_suffix() { if [ "$1" = "$2" ]; then echo ""; else echo "_seed$1"; fi; }

# A pool of background commands, at most N at once (independent trainings on a multi-core CPU):
#   pool_start N; pool_run NAME COMMAND...; ...; pool_wait WHAT HINT
# pool_run starts COMMAND in the background once fewer than N are running (waiting for the oldest
# first); pool_wait waits for all of them and dies naming every one that failed (and HINT). With N = 1 the
# commands run one after another, in order.
pool_start() {
    [[ "$1" =~ ^[1-9][0-9]*$ ]] || die "a job pool needs a positive size, not '$1'"
    __pool_size=$1; __pool_pids=(); __pool_names=(); __pool_failed=""
}
pool_run() {
    local name=$1; shift
    if [ "${#__pool_pids[@]}" -ge "${__pool_size}" ]; then
        wait "${__pool_pids[0]}" || __pool_failed+=" ${__pool_names[0]}"
        __pool_pids=("${__pool_pids[@]:1}"); __pool_names=("${__pool_names[@]:1}")
    fi
    "$@" &
    __pool_pids+=("$!"); __pool_names+=("${name}")
}
pool_wait() {
    local i
    for i in "${!__pool_pids[@]}"; do wait "${__pool_pids[$i]}" || __pool_failed+=" ${__pool_names[$i]}"; done
    __pool_pids=(); __pool_names=()
    [ -z "${__pool_failed}" ] || die "$1 failed:${__pool_failed} ($2)"
}

# student_pool: a job pool of the caller's --student_nj trainings; when that is more than one, sets the
# caller's train_env (the prefix of its training command) to one torch thread per training.
student_pool() {
    [[ "${student_nj}" =~ ^[1-9][0-9]*$ ]] || die "--student_nj must be a positive integer, not '${student_nj}'"
    [ "${student_nj}" -gt 1 ] && train_env=(env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
    pool_start "${student_nj}"
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

# Decoding one data set with beam search, split over --nj jobs (used by asr.sh and st.sh):
# decode_split <task: asr|st|mt> <model dir> <data dir> <input file> <output dir> <config> [options...]
# <input file> is in <data dir>: wav.scp (asr, st) or the source text (mt, e.g. text.en).
# Reads the caller's decoder (espnet_kd | espnet), nj, decode_threads, decode_batch_size,
# ngpu, decode_cmd and TEMPLATE_DIR. Writes <output dir>/text (the merged 1-best) and:
#   decoder=espnet_kd: espnet_kd.bin.nbest (batched over utterances), jobs merged into
#     <output dir>/{nbest.jsonl,{n}best_recog/,summary.json};
#   decoder=espnet: espnet2.bin.<task>_inference (one utterance at a time), outputs left
#     in <output dir>/logdir/output.JOB/ (nbest_from_espnet converts them).
# A rerun skips finished jobs; a finished set is skipped (its .done marker).
decode_split() {
    local task=$1 model_dir=$2 data_dir=$3 input_file=$4 out_dir=$5 config=$6; shift 6
    local logdir=${out_dir}/logdir job input_spec
    if [ -f "${out_dir}/.done" ]; then log "${out_dir} is decoded"; return; fi
    require_file "${model_dir}/valid.acc.ave.pth" "${data_dir}/${input_file}" "${config}"
    mkdir -p "${logdir}"
    split_keys "${data_dir}/${input_file}" "${nj}" "${logdir}/keys.JOB.scp"
    log "decoding ${data_dir}/${input_file} with ${model_dir} (${decoder}, ${nj} jobs, logs: ${logdir}/decode.*.log)"
    # One thread per job: --nj processes share the cores (oversubscribing them is slower).
    local job_env=(env OMP_NUM_THREADS="${decode_threads}" MKL_NUM_THREADS="${decode_threads}")
    case "${decoder}" in
        espnet_kd)
            ${decode_cmd} JOB=1:"${nj}" "${logdir}/decode.JOB.log" \
                "${TEMPLATE_DIR}/scripts/run_once.sh" "${logdir}/output.JOB/.done" "${job_env[@]}" \
                python -m espnet_kd.bin.nbest \
                    --task "${task}" \
                    --ngpu "${ngpu}" \
                    --num_threads "${decode_threads}" \
                    --batch_size "${decode_batch_size}" \
                    --progress false \
                    --config "${config}" \
                    --data_dir "${data_dir}" \
                    --input_file "${input_file}" \
                    --key_file "${logdir}/keys.JOB.scp" \
                    --model_config "${model_dir}/config.yaml" \
                    --model_file "${model_dir}/valid.acc.ave.pth" \
                    --out_dir "${logdir}/output.JOB" \
                    "$@"
            python -m espnet_kd.bin.nbest --merge --model_config "${model_dir}/config.yaml" \
                --out_dir "${out_dir}" $(for job in $(seq 1 "${nj}"); do echo "${logdir}/output.${job}"; done)
            cp "${out_dir}/1best_recog/text" "${out_dir}/text.tmp"
            ;;
        espnet)
            case "${task}" in
                mt) input_spec="${data_dir}/${input_file},src_text,text" ;;
                *) input_spec="${data_dir}/${input_file},speech,sound" ;;
            esac
            ${decode_cmd} JOB=1:"${nj}" "${logdir}/decode.JOB.log" \
                "${TEMPLATE_DIR}/scripts/run_once.sh" "${logdir}/output.JOB/.done" "${job_env[@]}" \
                python -m "espnet2.bin.${task}_inference" \
                    --ngpu "${ngpu}" \
                    --batch_size 1 \
                    --config "${config}" \
                    --data_path_and_name_and_type "${input_spec}" \
                    --key_file "${logdir}/keys.JOB.scp" \
                    "--${task}_train_config" "${model_dir}/config.yaml" \
                    "--${task}_model_file" "${model_dir}/valid.acc.ave.pth" \
                    --output_dir "${logdir}/output.JOB" \
                    "$@"
            for job in $(seq 1 "${nj}"); do
                cat "${logdir}/output.${job}/1best_recog/text"
            done | LC_ALL=C sort > "${out_dir}/text.tmp"
            ;;
        *) die "--decoder must be espnet_kd or espnet, not '${decoder}'" ;;
    esac
    mv "${out_dir}/text.tmp" "${out_dir}/text"
    touch "${out_dir}/.done"
}

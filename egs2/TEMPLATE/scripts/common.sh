#!/usr/bin/env bash
# Helpers shared by the stage scripts (sourced, after parse_options.sh).

# log MESSAGE...: a timestamped line on stderr.
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (${0##*/}) $*" >&2; }

# die MESSAGE...: an error line and exit 1.
die() { echo "ERROR: ${0##*/}: $*" >&2; exit 1; }

# stage_on N: true when stage N is within --stage .. --stop_stage.
stage_on() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }

# check_stages: dies unless --stage .. --stop_stage is a range of the caller's stages, STAGES (an array
# of short names indexed 1..N, the one list of a script's stages), naming them all. A --stop_stage past
# the last stage (the default 100, as in Kaldi and ESPnet recipes) means "to the last stage".
check_stages() {
    local last=${#STAGES[@]} n names=""
    for n in "${!STAGES[@]}"; do names+="${names:+, }${n} ${STAGES[$n]}"; done
    local valid="stages are 1-${last}: ${names}"
    [[ "${stage}" =~ ^[1-9][0-9]{0,8}$ ]] && [ "${stage}" -le "${last}" ] \
        || die "--stage ${stage} is not a stage; ${valid}"
    [[ "${stop_stage}" =~ ^[1-9][0-9]{0,8}$ ]] || die "--stop_stage ${stop_stage} is not a stage; ${valid}"
    [ "${stage}" -le "${stop_stage}" ] \
        || die "--stage ${stage} comes after --stop_stage ${stop_stage}, so no stage would run; ${valid}"
    [ "${stop_stage}" -le "${last}" ] || stop_stage=${last}
}

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

# Done-markers that record what a stage's outputs were made from (espnet_kd.bin.fingerprint): the sha256
# of every file the stage read (a directory: the files under it, hidden names skipped) and its options.
#   stage_done MARKER INPUT... -- OPTION...   true when MARKER records these inputs and options. False when
#       there is no MARKER (fingerprint_status=new), or it was made from other ones (changed: logged, with
#       what changed and "${redo:-doing it again}") or by an older version without a fingerprint (legacy).
#   mark_done MARKER INPUT... -- OPTION...    record them in MARKER, once the outputs are complete.
# Sha256s are cached by (size, mtime, inode) in ${fingerprint_cache}, so unchanged files are read once.
fingerprint_cache=exp/.fingerprint_cache.json
fingerprint_status=""
__fingerprint() {
    local action=$1 marker=$2; shift 2
    local inputs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do inputs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    python -m espnet_kd.bin.fingerprint "${action}" "${marker}" --cache "${fingerprint_cache}" \
        --inputs "${inputs[@]}" --options="$*"
}
stage_done() {
    local marker=$1 message rc=0
    message=$(__fingerprint check "$@" 2>&1) || rc=$?
    case "${rc}" in
        0) fingerprint_status=done; return 0 ;;
        1) fingerprint_status=new ;;
        3) fingerprint_status=changed; log "${message}: ${redo:-doing it again}" ;;
        4) fingerprint_status=legacy; log "${message}: ${redo:-doing it again}" ;;
        *) die "checking ${marker} failed: ${message}" ;;
    esac
    return 1
}
mark_done() { __fingerprint write "$@" || die "could not write $1"; }

# paths_in ARG...: the existing files and dirs named by command-line arguments (an argument itself, the
# part before a ',' as in PATH,NAME,TYPE, after a '=' as in key=PATH, or before a ':' as in FILE:SRC:DST),
# one per line, each once: what a training reads, for its done-marker.
paths_in() {
    local arg candidate
    for arg in "$@"; do
        for candidate in "${arg}" "${arg%%,*}" "${arg#*=}" "${arg%%:*}"; do
            if [ -n "${candidate}" ] && [ -e "${candidate}" ]; then echo "${candidate}"; break; fi
        done
    done | awk '!seen[$0]++'
}

# training_done MODEL_DIR ARG...: true when MODEL_DIR/.done records this training's files and arguments.
# A trained model is never thrown away: trained from other files or with other arguments, it stops the
# recipe with a message naming the dir to remove (training is expensive). A .done without a fingerprint
# (an older version's) is trusted as before, and given this fingerprint.
training_done() {
    local model_dir=$1; shift
    local inputs=()
    mapfile -t inputs < <(paths_in "$@" | grep -vxF -e "${model_dir}" -e "${model_dir%/}/")
    __training_fingerprint=("${inputs[@]}" -- "$@")
    local message rc=0
    message=$(__fingerprint check "${model_dir}/.done" "${__training_fingerprint[@]}" 2>&1) || rc=$?
    case "${rc}" in
        0) return 0 ;;
        1) return 1 ;;
        4) log "${model_dir}/.done has no fingerprint (an older version's): trusting it, recording this one"
           mark_done "${model_dir}/.done" "${__training_fingerprint[@]}"; return 0 ;;
        3) die "${message}; it is a trained model, not redone: remove ${model_dir} to train it again" \
               "(or restore its inputs and options, or train the new setting beside it: --teacher_tag," \
               "--student_tag or --expdir)" ;;
        *) die "checking ${model_dir}/.done failed: ${message}" ;;
    esac
}
# mark_trained MODEL_DIR: record the fingerprint training_done computed.
mark_trained() { mark_done "$1/.done" "${__training_fingerprint[@]}"; }

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

# tag_suffix TAG: a directory name's suffix for a --*_tag option: "_TAG", or nothing for an empty tag.
tag_suffix() { [ -z "$1" ] || echo "_$1"; }

# check_tags: the experiment-dir options of both stage scripts (ESPnet's --expdir, --asr_tag, --inference_tag):
# --expdir (not empty, no spaces) and --teacher_tag, --student_tag, --inference_tag (empty, or letters, digits, '.',
# '-', '_'); stops naming the option at fault. Sets results_md: RESULTS.md in the recipe dir with the default
# --expdir exp and no tag, otherwise <expdir>/RESULTS[_<teacher_tag>][_<student_tag>][_<inference_tag>].md, so that
# the table of one setting never overwrites another's.
check_tags() {
    local option value
    [[ -n "${expdir}" && "${expdir}" != *" "* ]] || die "--expdir must be a directory name without spaces, not '${expdir}'"
    expdir=${expdir%/}
    for option in teacher_tag student_tag inference_tag; do
        value=${!option}
        [[ -z "${value}" || "${value}" =~ ^[A-Za-z0-9._-]+$ ]] || die "--${option} must be letters, digits, '.', '-' or" \
            "'_' (it names directories), not '${value}'"
    done
    if [ "${expdir}" = exp ] && [ -z "${teacher_tag}${student_tag}${inference_tag}" ]; then
        results_md=RESULTS.md
    else
        results_md=${expdir}/RESULTS$(tag_suffix "${teacher_tag}")$(tag_suffix "${student_tag}")$(tag_suffix "${inference_tag}").md
    fi
}

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
# On GPUs (--ngpu > 0) with the local backend, one training at a time: each would get the same first GPUs.
student_pool() {
    [[ "${student_nj}" =~ ^[1-9][0-9]*$ ]] || die "--student_nj must be a positive integer, not '${student_nj}'"
    if [ "${ngpu}" -gt 0 ] && [[ "${train_cmd}" == *jobs/local.sh* ]]; then
        [ "${student_nj}" -gt 1 ] && log "--ngpu ${ngpu} with the local backend: one student training at a time"
        pool_start 1; return 0
    fi
    [ "${student_nj}" -gt 1 ] && train_env=(env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
    pool_start "${student_nj}"
}

# read_methods TASK METHOD...: the students of --methods, in order, from the one method table (python -m
# espnet_kd.bin.methods shell --task TASK, asked once per run). Sets the arrays method_names (aliases resolved:
# seqkd → 1best), method_tags (exp/student_<tag>, dump/raw/<train_set>_<tag>), method_kinds (reference,
# selection, wordkd, wordkd_ft) and method_select (the espnet_kd.bin.select --method; '' for the others),
# and need_nbest, need_topk, need_backward (true or false). An unknown method, a wordkd_ft without a wordkd
# before it, two students of one tag, ... stop the script with the table's one-line message.
read_methods() {
    local task=$1 table; shift
    [ $# -gt 0 ] || die "--methods is empty (e.g. \"baseline seqkd\")"
    table=$(python -m espnet_kd.bin.methods shell --task "${task}" "$@") || exit 1
    eval "${table}"
    [ "${#method_tags[@]}" -eq $# ] || die "espnet_kd.bin.methods gave ${#method_tags[@]} students for the $# of --methods"
}

# union_sets SET...: the sets, each once, in order (train, valid, then the test sets not among them).
union_sets() {
    local dset all=""
    for dset in "$@"; do [[ " ${all} " == *" ${dset} "* ]] || all+="${all:+ }${dset}"; done
    echo "${all}"
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
# A rerun skips finished jobs; a finished set is skipped (its .done marker) unless it was decoded from other
# files (model, input table, config) or with other options: then it is decoded again (decode_done_word:
# what the skip message says the set is, "decoded" by default).
# The length limit: espnet_kd.bin.decode_limits writes <output dir>/decode.yaml (the config with its maxlenratio
# resolved: "auto" from the caller's decode_train_dir, the training set's tokens per encoder frame) and
# decode_limits.json (the value and how it was chosen); both decoders read that decode.yaml.
decode_split() {
    local task=$1 model_dir=$2 data_dir=$3 input_file=$4 out_dir=$5 config=$6; shift 6
    local logdir=${out_dir}/logdir job input_spec limits_dir maxlenratio
    require_file "${model_dir}/config.yaml" "${config}"
    mkdir -p "$(dirname "${out_dir}")"
    limits_dir=$(mktemp -d "$(dirname "${out_dir}")/.decode_limits.XXXXXX")
    maxlenratio=$(python -m espnet_kd.bin.decode_limits --task "${task}" --config "${config}" \
        --model_config "${model_dir}/config.yaml" ${decode_train_dir:+--train_dir "${decode_train_dir}"} \
        $([ "${task}" != mt ] || echo --source_file "${input_file}") --out_dir "${limits_dir}") \
        || { rm -rf "${limits_dir:?}"; die "${out_dir}: no length limit for ${config} (above)"; }
    # what the decode reads (the model, the input table, the decoding config), the limit chosen and its options
    local fingerprint=("${model_dir}/config.yaml" "${model_dir}/valid.acc.ave.pth" "${data_dir}/${input_file}"
                       "${config}" -- "${task}" "${decoder}" "maxlenratio=${maxlenratio}" "$@")
    if redo="decoding again" stage_done "${out_dir}/.done" "${fingerprint[@]}"; then
        rm -rf "${limits_dir:?}"
        log "${out_dir} is ${decode_done_word:-decoded}"; return
    fi
    require_file "${model_dir}/valid.acc.ave.pth" "${data_dir}/${input_file}"
    # stale outputs (made from other inputs or options, finished or not) go; an unfinished decode of the
    # same inputs and options resumes (finished jobs are kept, the others resume from partial.jsonl)
    if [ -d "${out_dir}" ]; then
        if [ "${fingerprint_status}" != new ]; then
            rm -rf "${out_dir:?}"   # stage_done said why
        elif ! __fingerprint check "${out_dir}/.started" "${fingerprint[@]}" 2> /dev/null; then
            log "${out_dir}: an unfinished decode of other inputs or options (or an older version's): decoding again"
            rm -rf "${out_dir:?}"
        fi
    fi
    mkdir -p "${logdir}"
    mv "${limits_dir}/decode.yaml" "${limits_dir}/decode_limits.json" "${out_dir}/"
    rm -rf "${limits_dir:?}"
    config=${out_dir}/decode.yaml   # the decoders read the resolved copy
    mark_done "${out_dir}/.started" "${fingerprint[@]}"
    # on the CPU --nj jobs; on GPUs at least one per GPU, each --ngpu 1, placed by the job backend (decode_jobs)
    local nj=${nj} gpu_opts job_ngpu
    decode_jobs
    split_keys "${data_dir}/${input_file}" "${nj}" "${logdir}/keys.JOB.scp"
    log "decoding ${data_dir}/${input_file} with ${model_dir} (${decoder}, ${nj} jobs${gpu_opts[*]:+, one GPU each}, logs: ${logdir}/decode.*.log)"
    # One thread per job: --nj processes share the cores (oversubscribing them is slower).
    local job_env=(env OMP_NUM_THREADS="${decode_threads}" MKL_NUM_THREADS="${decode_threads}")
    case "${decoder}" in
        espnet_kd)
            ${decode_cmd} "${gpu_opts[@]}" JOB=1:"${nj}" "${logdir}/decode.JOB.log" \
                "${TEMPLATE_DIR}/scripts/run_once.sh" "${logdir}/output.JOB/.done" "${job_env[@]}" \
                python -m espnet_kd.bin.nbest \
                    --task "${task}" \
                    --ngpu "${job_ngpu}" \
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
            ${decode_cmd} "${gpu_opts[@]}" JOB=1:"${nj}" "${logdir}/decode.JOB.log" \
                "${TEMPLATE_DIR}/scripts/run_once.sh" "${logdir}/output.JOB/.done" "${job_env[@]}" \
                python -m "espnet2.bin.${task}_inference" \
                    --ngpu "${job_ngpu}" \
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
    mark_done "${out_dir}/.done" "${fingerprint[@]}"
}

# decode_jobs: the caller's split of a decoding-like stage (n-best, top-k cache, decoding) into jobs: sets
# nj (a local of the caller) and gpu_opts, job_ngpu. On the CPU (--ngpu 0): the caller's --nj jobs, no
# backend option, --ngpu 0. On GPUs: at least one job per GPU (--nj, or --ngpu × --num_nodes if that is
# more), each --ngpu 1, with the backend option --gpu 1, by which the job backend places them (local.sh:
# job i on GPU (i-1) mod G of CUDA_VISIBLE_DEVICES or --gpus; slurm.sh: --gres=gpu:1 per array task).
decode_jobs() {
    [[ "${ngpu}" =~ ^[0-9]+$ ]] || die "--ngpu must be a number of GPUs (per node), not '${ngpu}'"
    gpu_opts=(); job_ngpu=0
    if [ "${ngpu}" -gt 0 ]; then
        local gpus=$(( ngpu * ${num_nodes:-1} ))
        [ "${nj}" -ge "${gpus}" ] || nj=${gpus}
        gpu_opts=(--gpu 1); job_ngpu=1
    fi
    return 0
}

# run_topk_dump <out dir> <dump_topk option>...: the teacher's top-k cache (python -m espnet_kd.bin.dump_topk, or
# the module ${topk_dump_module}, e.g. espnet_kd.bin.dump_ctc_topk, which takes the same shard options:
# <options> --out_dir <out dir> --num_shards N), as one job on the CPU (--nj shards, one after another; log
# <out dir>.log), or on GPUs at least one job per GPU (decode_jobs), JOB=0:N-1, job i dumping shard i on its GPU
# (--device cuda; log <out dir>.<i>.log); the last shard to finish writes meta.json (dump_topk resumes:
# finished shards are kept).
run_topk_dump() {
    local out_dir=$1 nj=${nj} gpu_opts job_ngpu module=${topk_dump_module:-espnet_kd.bin.dump_topk}; shift
    decode_jobs
    if [ "${job_ngpu}" -eq 0 ]; then
        ${train_cmd} "${out_dir}.log" python -m "${module}" "$@" --out_dir "${out_dir}" --num_shards "${nj}"
    else
        # jobs 0..N-1, job i dumping shard i (the backend places the job at position i of the range)
        log "top-k cache ${out_dir}: ${nj} jobs, one GPU each (logs: ${out_dir}.<shard>.log)"
        ${decode_cmd} "${gpu_opts[@]}" JOB=0:$((nj - 1)) "${out_dir}.JOB.log" python -m "${module}" \
            "$@" --out_dir "${out_dir}" --num_shards "${nj}" --shards JOB --device cuda
    fi
}

# ---------------------------------------------------------------- signals and the recipe lock
# run_as_process_group ARG...: called by each stage script with its own arguments once they are checked.
# The script runs again, as a child in a process group of its own ("the worker": the stages and every
# job they start), and this process, the one the user started, only waits for it. On SIGINT (Ctrl-C),
# SIGTERM or SIGHUP it sends SIGTERM to the whole group (not SIGINT, which bash has background commands
# ignore), SIGKILL to what is left 10 s later (or at a second signal), and exits 128 + the
# signal's number. (A trap of the script itself would run only once its foreground command, say a
# training, had ended, and the jobs under it would run on.) In the worker it returns, with traps that
# turn these signals into an exit, so that the EXIT trap (release_stage_lock) runs.
run_as_process_group() {
    if [ "${KD_STAGE_SUPERVISOR:-}" = "${PPID}" ]; then   # the worker
        STAGE_SUPERVISOR_PID=${PPID}; unset KD_STAGE_SUPERVISOR
        trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
        return 0
    fi
    local status=0
    __worker_group=""
    trap '__stop_process_group HUP 1' HUP; trap '__stop_process_group INT 2' INT
    trap '__stop_process_group TERM 15' TERM
    set -m   # job control: the next background job gets a process group of its own
    KD_STAGE_SUPERVISOR=$$ "${BASH}" "$0" "$@" &
    __worker_group=$!
    set +m
    wait "${__worker_group}" || status=$?
    exit "${status}"
}
__stop_process_group() {   # NAME NUMBER: the supervisor's trap (see run_as_process_group)
    local deadline=$((SECONDS + 10))
    trap 'kill -KILL -- "-${__worker_group}" 2> /dev/null || true' HUP INT TERM
    if [ -n "${__worker_group}" ]; then
        log "SIG$1: stopping the stages and every job they started (process group ${__worker_group})"
        kill -TERM -- "-${__worker_group}" 2> /dev/null || true
        while group_alive "${__worker_group}" && [ "${SECONDS}" -lt "${deadline}" ]; do sleep 0.1; done
        if group_alive "${__worker_group}"; then
            log "process group ${__worker_group} still runs 10 s after SIGTERM: SIGKILL"
            kill -KILL -- "-${__worker_group}" 2> /dev/null || true
        fi
        wait "${__worker_group}" 2> /dev/null || true
    fi
    exit $((128 + $2))
}

# group_alive PGID: true while a process of group PGID runs (zombies, waiting to be reaped, do not count).
group_alive() {
    local line fields
    [ -r /proc/self/stat ] || { kill -0 -- "-$1" 2> /dev/null; return; }
    for line in /proc/[0-9]*/stat; do
        read -r line 2> /dev/null < "${line}" || continue
        read -r -a fields <<< "${line##*) }"   # state ppid pgrp ..., after the (command name)
        [ "${fields[2]}" = "$1" ] && [ "${fields[0]}" != Z ] && return 0
    done
    return 1
}

# process_alive PID: true while process PID exists (also one of another user).
process_alive() { kill -0 "$1" 2> /dev/null || [ -d "/proc/$1" ]; }

# take_stage_lock WHAT: one stage script at a time in a recipe directory, whose stages share data/, dump/
# and exp/. Takes an exclusive flock(1) on exp/.lock, held until this script and every job it started have
# ended (they inherit it), and writes there who holds it (WHAT: e.g. "asr.sh stages 5-11"). While another
# run holds it, dies naming that run's process. A lock left by a run that was killed (SIGKILL, a lost
# node: the flock is free again) is taken over, with a notice naming it. Emptied on exit, signals included.
take_stage_lock() {
    local lock=exp/.lock
    local -A owner=()
    command -v flock > /dev/null || die "flock (util-linux) not found: it keeps two runs out of one recipe directory"
    mkdir -p "${lock%/*}"
    exec {__stage_lock_fd}<> "${lock}"
    __read_lock_owner "${lock}"
    if ! flock -n "${__stage_lock_fd}"; then
        local holder="process ${owner[pid]:-} (${owner[command]:-}, started ${owner[started]:-}"
        [ "${owner[host]:-}" = "${HOSTNAME}" ] && holder+=")" || holder+=", on ${owner[host]:-})"
        if [ -z "${owner[pid]:-}" ]; then
            die "$(pwd) is in use: another run holds ${lock} and is ending; wait for it"
        elif [ "${owner[host]}" = "${HOSTNAME}" ] && ! process_alive "${owner[pid]}"; then
            die "$(pwd) is in use: ${holder} has ended, but jobs it started still hold ${lock};" \
                "stop them (kill -- -${owner[group]:-}) or wait for them"
        fi
        die "$(pwd) is in use by ${holder}; wait for it or stop it (kill ${owner[pid]})"
    fi
    if [ -n "${owner[pid]:-}" ]; then
        log "taking over ${lock} from process ${owner[pid]} (${owner[command]:-}, started ${owner[started]:-}," \
            "on ${owner[host]:-}), which ended without releasing it"
    fi
    printf 'pid %s\ngroup %s\nhost %s\nstarted %s\ncommand %s\n' "${STAGE_SUPERVISOR_PID:-$$}" "$$" \
        "${HOSTNAME}" "$(date '+%Y-%m-%dT%H:%M:%S')" "$*" > "${lock}"
    __stage_lock=${lock}
    trap release_stage_lock EXIT
}
# release_stage_lock: empty the lock file (its flock goes with the last process holding it).
release_stage_lock() { [ -z "${__stage_lock:-}" ] || : > "${__stage_lock}"; }
__read_lock_owner() {   # FILE: the caller's owner[key]=value from its "key value" lines
    local key value
    while read -r key value; do [ -z "${key}" ] || owner[${key}]=${value}; done < "$1"
}

# ---------------------------------------------------------------- stages both stage scripts run
# data_stage [FILE...]: stage 1. Runs the recipe's local/data.sh ${local_data_opts} (the corpus → data/<set>/),
# then checks every set of ${all_sets} (validate_data_dir; a test set may hold empty texts, see test_only_set)
# and that each has FILE... (st.sh: text.<src_lang>), and every set of ${unlabeled_sets} (--unlabeled_sets:
# untranscribed audio, validate_data_dir --unlabeled: wav.scp and utt2spk, no text).
data_stage() {
    local dset file empty_ok
    require_file local/data.sh
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
    for dset in ${all_sets}; do
        empty_ok=(); test_only_set "${dset}" && empty_ok=(--allow_empty_text)
        python -m espnet_kd.bin.validate_data_dir "${empty_ok[@]}" "data/${dset}"
        for file in "$@"; do require_file "data/${dset}/${file}"; done
    done
    for dset in ${unlabeled_sets:-}; do   # untranscribed audio: wav.scp and speakers, no text
        [ -d "data/${dset}" ] || die "--unlabeled_sets: data/${dset} not found after local/data.sh (a data dir with" \
            "wav.scp, utt2spk and no text; mini_synth makes one with --local_data_opts \"--unlabeled N\")"
        python -m espnet_kd.bin.validate_data_dir --unlabeled "data/${dset}"
    done
}

# check_unlabeled_sets: --unlabeled_sets names sets that are none of the labelled ones (--train_set, --valid_set,
# --test_sets), each once. Prints nothing; stops with the set at fault.
check_unlabeled_sets() {
    local dset seen=" "
    for dset in ${unlabeled_sets:-}; do
        [[ " ${all_sets} " != *" ${dset} "* ]] || die "--unlabeled_sets: ${dset} is also a labelled set" \
            "(--train_set, --valid_set or --test_sets); an unlabeled set is audio without transcripts"
        [[ "${seen}" != *" ${dset} "* ]] || die "--unlabeled_sets: ${dset} is listed twice"
        seen+="${dset} "
    done
}

# test_only_set SET: true when SET is a test set only, neither the training set (${orig_train_set}: --train_set,
# before st.sh's speed perturbation renames it; default ${train_set}) nor ${valid_set}. Such a set may hold empty
# texts (ESPnet keeps them and scores them as empty references); a training or validation utterance needs a text.
test_only_set() {
    [ "$1" != "${orig_train_set:-${train_set}}" ] && [ "$1" != "${valid_set}" ]
}

# corpus_stage [FILE...]: stage 1 of both stage scripts. With ${data_src} (--data_src DIR: a corpus already in
# Kaldi form), import_data_dirs DIR FILE...; otherwise data_stage FILE... (the recipe's local/data.sh). A recipe
# with neither stops with what to do.
corpus_stage() {
    if [ -n "${data_src:-}" ]; then
        import_data_dirs "${data_src}" "$@"
    elif [ -e local/data.sh ]; then
        data_stage "$@"
    else
        die "stage 1 needs the corpus: pass --data_src DIR (DIR/<set>/ a Kaldi data dir for each of the sets" \
            "${all_sets}) or write local/data.sh (it makes data/<set>/); see README.md, \"Your own corpus\""
    fi
}

# import_data_dirs DIR [FILE...]: --data_src DIR, a corpus already in Kaldi form. For every set of ${all_sets}
# (--train_set, --valid_set, --test_sets), DIR/<set>/ must be a data dir that validate_data_dir accepts (wav.scp,
# text, utt2spk present, every file covering the same utterances and sorted, no empty text but in a test-only set,
# the audio there; optional: segments, spk2utt, utt2*, other text.* files) and hold FILE... (st.sh: text.<src_lang>);
# DIR/<set>/ of every set of ${unlabeled_sets} must be one without text (validate_data_dir --unlabeled).
# Every set is checked before any is copied; then each set's files (the plain files at its top level, links
# followed; hidden and *.tmp names skipped) replace data/<set>/ as a whole. The audio is not copied: wav.scp keeps
# its entries, read from the recipe directory (Kaldi's convention: absolute paths, or paths relative to it).
# DIR/<set> that is data/<set> itself is checked and left as it is. No local/data.sh or db.sh is read.
import_data_dirs() {
    local src=${1%/} dset from to file empty_ok count have
    shift
    [ -z "${local_data_opts:-}" ] || die "--local_data_opts '${local_data_opts}' is for local/data.sh, which" \
        "--data_src replaces: pass one of them"
    [ -d "${src}" ] || die "--data_src ${src}: no such directory (the directory that holds a Kaldi data dir for each" \
        "of the sets ${all_sets}: --train_set, --valid_set, --test_sets)"
    for dset in ${all_sets}; do
        from=${src}/${dset}
        if [ ! -d "${from}" ]; then
            have=$(find "${src}" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | LC_ALL=C sort | xargs)
            die "--data_src ${src}: ${from} not found (a Kaldi data dir for each of the sets ${all_sets}:" \
                "--train_set, --valid_set, --test_sets; ${src} holds ${have:-no directory})"
        fi
        empty_ok=(); test_only_set "${dset}" && empty_ok=(--allow_empty_text)
        python -m espnet_kd.bin.validate_data_dir "${empty_ok[@]}" "${from}" \
            || die "--data_src: ${from} is not a usable data dir (the error above)"
        for file in "$@"; do
            [ -f "${from}/${file}" ] || die "--data_src: ${from}/${file} not found (every set needs it beside text;" \
                "st.sh: text.<src_lang> is the transcript, text the translation)"
        done
    done
    for dset in ${unlabeled_sets:-}; do   # untranscribed audio (--unlabeled_sets): no text
        from=${src}/${dset}
        [ -d "${from}" ] || die "--data_src ${src}: ${from} not found (an unlabeled set of --unlabeled_sets: wav.scp," \
            "utt2spk, no text)"
        python -m espnet_kd.bin.validate_data_dir --unlabeled "${from}" \
            || die "--data_src: ${from} is not a usable unlabeled data dir (the error above)"
    done
    mkdir -p data
    for dset in ${all_sets} ${unlabeled_sets:-}; do
        from=${src}/${dset}; to=data/${dset}
        if [ "$(realpath -- "${from}")" = "$(realpath -m -- "${to}")" ]; then
            log "${to}: --data_src's own, checked"; continue
        fi
        rm -rf "data/.${dset}.import.tmp"; mkdir "data/.${dset}.import.tmp"
        find -L "${from}" -mindepth 1 -maxdepth 1 -type f ! -name '.*' ! -name '*.tmp' \
            -exec cp -L -- {} "data/.${dset}.import.tmp/" \;
        rm -rf "${to:?}"; mv "data/.${dset}.import.tmp" "${to}"
        count=$(grep -c . "${to}/utt2spk" || true)
        log "${to}: copied from ${from} (${count} utterances; $(ls "${to}" | xargs))"
    done
}

# format_stage: stage 2. Reads data/<set>/ and writes dump/raw/<set>/ (the audio as ${fs} Hz PCM wav files,
# utt2num_samples, the text files copied) for every set of ${all_sets} and ${unlabeled_sets} (those without text,
# format_data --unlabeled true, filtered as training data); a set whose .done records this
# data dir and these options is skipped, one made from others is formatted again. The training and validation
# sets then lose their utterances of <= ${min_wav_duration} s or >= ${max_wav_duration} s (as ESPnet's asr.sh and
# st.sh; espnet_kd.bin.filter_durations logs how many, from which set); a test set (one of ${test_sets}, the
# validation set too when it is one, as WSJ's dev93) is never filtered. With
# ${speed_perturb_factors} (st.sh's --speed_perturb_factors, e.g. "0.9 1.0 1.1"), the training set's speed-perturbed
# copies follow: dump/raw/<train set>_sp (espnet_kd.bin.speed_perturb: ids and speakers sp0.9-, sp1.1-; texts the
# same), filtered in the same way.
format_stage() {
    local dset options format_opts filter
    local train=${orig_train_set:-${train_set}} factors=${speed_perturb_factors:-}
    local duration_opts=(--min_wav_duration "${min_wav_duration:-0.1}" --max_wav_duration "${max_wav_duration:-20}")
    for dset in ${all_sets} ${unlabeled_sets:-}; do
        format_opts=(); filter=true
        if [[ " ${unlabeled_sets:-} " == *" ${dset} "* ]]; then
            format_opts=(--unlabeled true)   # no text; filtered as training data
        elif test_only_set "${dset}"; then
            format_opts=(--allow_empty_text true)
        fi
        [[ " ${test_sets} " != *" ${dset} "* ]] || filter=false   # a test set keeps every utterance
        options=(--fs "${fs}" "${format_opts[@]}")
        [ "${filter}" = false ] || options+=("${duration_opts[@]}")
        if redo="formatting again" stage_done "dump/raw/${dset}/.done" "data/${dset}" -- "${options[@]}"; then
            log "dump/raw/${dset} is formatted"; continue
        fi
        require_file "data/${dset}/wav.scp"
        # replaces dump/raw/<set> as a whole (its .done with it) once the new one is complete
        python -m espnet_kd.bin.format_data --in_dir "data/${dset}" --out_dir "dump/raw/${dset}" --fs "${fs}" \
            "${format_opts[@]}"
        [ "${filter}" = false ] \
            || python -m espnet_kd.bin.filter_durations --data_dir "dump/raw/${dset}" --fs "${fs}" "${duration_opts[@]}"
        mark_done "dump/raw/${dset}/.done" "data/${dset}" -- "${options[@]}"
    done
    [ -n "${factors}" ] || return 0
    # shellcheck disable=SC2206
    local sp_dir="dump/raw/${train}_sp" sp_inputs=("dump/raw/${train}"/{wav.scp,utt2spk,utt2num_samples} "dump/raw/${train}"/text*)
    options=(--speed_perturb_factors "${factors}" --fs "${fs}" "${duration_opts[@]}")
    if redo="perturbing again" stage_done "${sp_dir}/.done" "${sp_inputs[@]}" -- "${options[@]}"; then
        log "${sp_dir} is made"; return 0
    fi
    # shellcheck disable=SC2086
    python -m espnet_kd.bin.speed_perturb --in_dir "dump/raw/${train}" --out_dir "${sp_dir}" --fs "${fs}" \
        --factors ${factors}
    python -m espnet_kd.bin.filter_durations --data_dir "${sp_dir}" --fs "${fs}" "${duration_opts[@]}"
    mark_done "${sp_dir}/.done" "${sp_inputs[@]}" -- "${options[@]}"
}

# combine_labelled <out dir> <shape dir> <part>...: the labelled data dirs dump/raw/<part name> (the training set's
# pseudo-labels, then each unlabeled set's) joined into <out dir> (espnet_kd.bin.combine_data_dirs: ids unique,
# the tables every part has, combine_report.json), and their shape files ${shape_dir}/<part name>/ joined into
# <shape dir>; skipped when its .done records these parts, combined again when one changed. A <method>+unlabeled
# student trains on it (asr.sh stage 7, st.sh stage 8).
combine_labelled() {
    local out_dir=$1 shapes_out=$2 part name shape_file; shift 2
    if redo="combining again" stage_done "${out_dir}/.done" "$@"; then
        log "${out_dir} is combined"; return
    fi
    python -m espnet_kd.bin.combine_data_dirs --out_dir "${out_dir}" "$@"
    rm -rf "${shapes_out}.tmp"; mkdir -p "${shapes_out}.tmp"
    for shape_file in "${shape_dir}/${1#dump/raw/}"/*_shape*; do
        shape_file=${shape_file##*/}
        for part in "$@"; do
            name=${part#dump/raw/}
            require_file "${shape_dir}/${name}/${shape_file}"
            cat "${shape_dir}/${name}/${shape_file}"
        done | LC_ALL=C sort > "${shapes_out}.tmp/${shape_file}"
    done
    rm -rf "${shapes_out:?}"; mv "${shapes_out}.tmp" "${shapes_out}"
    mark_done "${out_dir}/.done" "$@"
}

# ---------------------------------------------------------------- training
# finish_training <model dir>: check the averaged model is there, print the last validation line, mark done.
finish_training() {
    local model_dir=$1
    [ -f "${model_dir}/valid.acc.ave.pth" ] || die "${model_dir}: training ended without valid.acc.ave.pth (see ${model_dir}/train.log)"
    grep -E "INFO: [0-9]+epoch results" "${model_dir}/train.log" | tail -n 1 \
        | sed -E 's/.*INFO: ([0-9]+epoch) results.*\[valid\](.*)/    \1 valid:\2/' | cut -c1-160 || true
    mark_trained "${model_dir}"
}

# run_training <python module> <model dir> <config> [<task options>... --] [<options>...]: one ESPnet2 training
# of a stage script (the teachers and students of asr.sh and st.sh). Its arguments: ESPnet's --config <config>
# --output_dir <model dir> --seed ${train_seed} (default --seed; the student stages set it per seed) --resume
# true --use_preprocessor true, then the task options (those before a "--": asr.sh's data options), the
# plots and loggers off, the options, and --train_args; in this order they (but --ngpu) and the files they
# name are the training's fingerprint (training_done), so a model trained before is recognised. Skipped
# when <model dir> is trained with them, otherwise resumed or started through ${train_cmd} with the prefix
# ${train_env[@]} (student_pool: one torch thread per training) and --ngpu ${ngpu}, its earlier log kept
# (keep_earlier_log); then finish_training.
train_env=()
run_training() {
    local module=$1 model_dir=$2 config=$3 task_opts=() i; shift 3
    local at_seed=${train_seed:-${seed}}
    for ((i = 1; i <= $#; i++)); do   # the task options: the arguments before a "--", if there is one
        if [ "${!i}" = -- ]; then task_opts=("${@:1:i-1}"); shift "${i}"; break; fi
    done
    local train_opts=(--config "${config}" --output_dir "${model_dir}" --seed "${at_seed}" --resume true
                      --use_preprocessor true "${task_opts[@]}"
                      --use_matplotlib false --use_tensorboard false --use_wandb false "$@")
    # shellcheck disable=SC2206
    train_opts+=(${train_args})
    require_file "${config}"
    if training_done "${model_dir}" "${module}" "${train_opts[@]}"; then
        log "${model_dir} is trained (remove ${model_dir}/.done to train again)"; return
    fi
    keep_earlier_log "${model_dir}/train.log"
    training_launch "${model_dir}"
    log "training ${model_dir} (${module}, ${config}, seed ${at_seed}${__launch_note}; log: ${model_dir}/train.log)"
    ${train_cmd} "${__backend_opts[@]}" "${model_dir}/train.log" "${__launcher[@]}" "${train_env[@]}" \
        python -m "${module}" --ngpu "${ngpu}" "${__dist_opts[@]}" "${train_opts[@]}"
    rm -f "${model_dir}"/.dist_init_*
    finish_training "${model_dir}"
}

# training_launch <model dir>: how run_training starts a training on --ngpu GPUs (per node) and --num_nodes
# nodes: with ESPnet's own distributed mode (DistributedDataParallel, one process per GPU), as ESPnet's
# espnet2.bin.launch does it for Kaldi's run.pl/slurm.pl. Sets
#   __backend_opts: for the job backend: --gpu N (local.sh sets CUDA_VISIBLE_DEVICES, slurm.sh asks
#                   --gres=gpu:N) and, for several nodes, --num_nodes M (slurm.sh: --nodes=M, one task each);
#   __launcher:     srun --export=ALL for several nodes (one process per node, in the job's allocation);
#   __dist_opts:    ESPnet's options: --multiprocessing_distributed true when N > 1 or M > 1 (each node's
#                   process spawns N, one per GPU; ranks meet on localhost, or for M > 1 through
#                   --dist_launcher slurm and a file in <model dir>, on the shared file system), and
#                   --dist_backend gloo for CPU nodes (N = 0, M > 1).
# --ngpu 0 or 1 on one node: one process, the command as before (no option added but --gpu 1 for the
# backend). None of these options is part of the training's fingerprint (as --ngpu): a model trained
# on other GPUs is the same model.
training_launch() {
    local model_dir=$1 nodes=${num_nodes:-1}
    [[ "${ngpu}" =~ ^[0-9]+$ ]] || die "--ngpu must be a number of GPUs (per node), not '${ngpu}'"
    [[ "${nodes}" =~ ^[1-9][0-9]*$ ]] || die "--num_nodes must be a positive integer, not '${nodes}'"
    __backend_opts=(); __launcher=(); __dist_opts=(); __launch_note=""
    [ "${ngpu}" -gt 0 ] && __backend_opts+=(--gpu "${ngpu}") && __launch_note=", ${ngpu} GPU(s)"
    if [ "${ngpu}" -gt 1 ] || [ "${nodes}" -gt 1 ]; then
        __dist_opts=(--multiprocessing_distributed true)
        __launch_note+=", DDP: $(( (ngpu > 0 ? ngpu : 1) * nodes )) processes"
    fi
    if [ "${nodes}" -gt 1 ]; then
        __backend_opts+=(--num_nodes "${nodes}")
        __launcher=(srun --export=ALL)
        mkdir -p "${model_dir}"
        __dist_opts+=(--dist_launcher slurm
                      --dist_init_method "file://$(cd "${model_dir}" && pwd)/.dist_init_$(date +%s)_$$_${RANDOM}")
        [ "${ngpu}" -eq 0 ] && __dist_opts+=(--dist_backend gloo)
        __launch_note+=" on ${nodes} nodes"
    fi
    return 0
}

# make_token_dir <text> <token type> <nbpe> <token dir> [--nlsyms FILE]: <token dir>/tokens.txt (and bpe.model)
# from <text> (each non-linguistic symbol of FILE one token), made again when the text, FILE or the options
# changed since its .done was written.
make_token_dir() {
    local text=$1 token_type=$2 nbpe=$3 token_dir=$4; shift 4
    local fingerprint=("${text}" $(paths_in "$@") -- --token_type "${token_type}" --nbpe "${nbpe}" "$@")
    if redo="making the tokens again" stage_done "${token_dir}/.done" "${fingerprint[@]}" \
            && [ -f "${token_dir}/tokens.txt" ]; then
        log "${token_dir}/tokens.txt exists ($(wc -l < "${token_dir}/tokens.txt") tokens)"
    else
        python -m espnet_kd.bin.make_tokens --token_type "${token_type}" --nbpe "${nbpe}" \
            --text "${text}" --out_dir "${token_dir}" "$@"
        mark_done "${token_dir}/.done" "${fingerprint[@]}"
    fi
}

# ---------------------------------------------------------------- a new recipe directory (setup.sh)
# setup_recipe <task: asr1 | st1> <dir>: makes <dir>, a recipe directory from egs2/TEMPLATE/<task> (the caller's
# ${TEMPLATE_DIR}), for asr1/setup.sh and st1/setup.sh, which then write its run.sh:
#   links:  the stage script(s) (asr.sh; st.sh, tune_wordkd.sh), scripts/, path.sh: the code and environment every
#           recipe shares, so a fix in TEMPLATE reaches it;
#   copies: conf/ (the template's configs, tuning/ with its tiny ones: this corpus's to tune, without changing
#           the template's or another recipe's) and cmd.sh (its job backend, often edited per recipe).
# Links are relative when <dir> is inside the repository (egs2/<corpus>/<task>, as the shipped recipes), absolute
# otherwise. Refuses a <dir> that exists and is not an empty directory (it never writes into a recipe).
setup_recipe() {
    local task=$1 dir=$2 name names repo
    case "${task}" in
        asr1) names="asr.sh path.sh" ;;
        st1) names="st.sh tune_wordkd.sh path.sh" ;;
        *) die "setup_recipe: task must be asr1 or st1, not '${task}'" ;;
    esac
    if [ -L "${dir}" ] || { [ -e "${dir}" ] && [ ! -d "${dir}" ]; }; then
        die "${dir} exists and is not a directory: give the path of a new recipe directory"
    elif [ -d "${dir}" ] && [ -n "$(ls -A -- "${dir}")" ]; then
        die "${dir} exists and is not empty: give a new directory (setup.sh never writes into an existing recipe)"
    fi
    mkdir -p -- "${dir}"
    dir=$(cd -- "${dir}" && pwd -P)
    repo=$(cd -- "${TEMPLATE_DIR}/../.." && pwd -P)
    for name in ${names}; do __setup_link "${TEMPLATE_DIR}/${task}/${name}" "${dir}" "${repo}" "${name}"; done
    __setup_link "${TEMPLATE_DIR}/scripts" "${dir}" "${repo}" scripts
    cp -R -L -- "${TEMPLATE_DIR}/${task}/conf" "${dir}/conf"
    cp -L -- "${TEMPLATE_DIR}/${task}/cmd.sh" "${dir}/cmd.sh"
}
__setup_link() {   # TARGET DIR REPO NAME: DIR/NAME → TARGET, relative when DIR is inside REPO
    if [[ "$2/" == "$3/"* ]]; then
        ln -s -- "$(realpath -s --relative-to="$2" "$1")" "$2/$4"
    else
        ln -s -- "$1" "$2/$4"
    fi
}

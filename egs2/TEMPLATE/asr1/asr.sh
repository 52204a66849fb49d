#!/usr/bin/env bash
# ASR compression by sequence-level knowledge distillation (Mun'im, Inoue, Shinoda 2019),
# on ESPnet2's ASR model and trainer. Run from a recipe directory (egs2/<corpus>/asr1),
# whose run.sh passes the corpus's choices; every option is `--name value`.
#
#  stage  what it reads                       what it writes
#   1     the corpus (local/data.sh, db.sh,   data/{train,valid,test sets}/
#         or --data_src DIR/<set>/)
#   2     data/<set>/                         dump/raw/<set>/ (16 kHz PCM wav.scp, utt2num_samples)
#   3     dump/raw/<train_set>/text           data/tokens/tgt/tokens.txt [bpe.model], exp/shapes/<set>/
#   4     dump/raw/{train,valid}              exp/asr_stats/train/feats_stats.npz (global MVN)
#   5     dump/raw/<train_set>                exp/teacher/ (ESPnet2 ASR teacher, valid.acc.ave.pth)
#   6     exp/teacher, dump/raw/<train_set>   exp/teacher/nbest_<train_set>/nbest.jsonl, {n}best_recog/
#         (and dump/raw/<unlabeled set>)      (and exp/teacher/nbest_<unlabeled set>/ for <method>+unlabeled)
#   7     the n-best list                     dump/raw/<train_set>_<tag>/ + select_report.json, shapes
#                                             (<method>+unlabeled: dump/raw/<unlabeled set>_<tag>/, then both
#                                             combined: dump/raw/<train_set>_<tag>_unl/ + combine_report.json)
#   8     dump/raw/<train_set>[_<tag>]        exp/student_<tag>[_seedN]/ (one per method of --methods and seed)
#         (wordkd: exp/teacher/topk_<set>/ top-k cache first; wordkd_ft: wordkd fine-tuned on references)
#   9     every model, dump/raw/<test set>    exp/<model>/decode_<test set>/text
#  10     decodings, references               exp/<model>/decode_<test set>/score.json (jiwer)
#  11     score.json files, models            RESULTS.md (params, compression, WER, change vs teacher)
#
# A finished stage leaves its outputs and a .done marker that records what they were made from (the
# sha256 of the files the stage read, and its options: stage_done in scripts/common.sh); running it
# again skips what is complete and up to date, resumes what is not finished, and redoes what was made
# from other inputs or options (logging which changed). A trained model is never redone silently: one
# trained from other files or options stops the recipe with the dir to remove.
#
# Methods (--methods, one student each, in this order; the table is espnet_kd.bin.methods): baseline
# (references), 1best (alias seqkd: the teacher's 1-best), topk:K (its top K hypotheses), interp:wer (the
# n-best entry nearest the reference), qe:<scorer> (a reference-free estimate), wordkd (word-level KD from
# the frozen teacher), wordkd_ft (wordkd, then fine-tuned on references), wordkd_ctc (wordkd plus CTC-branch KD,
# --kd_ctc_weight: frame-level KL to the teacher's CTC posteriors), <selection>+unlabeled (a reference-free selection,
# e.g. 1best+unlabeled, on the training set and on every --unlabeled_sets set: untranscribed audio the teacher
# labels; the student trains on both). A student's tag names its dirs: exp/student_<tag>, dump/raw/<train_set>_<tag>
# (1best → seqkd, topk:4 → topk4, interp:wer → interpwer, 1best+unlabeled → seqkd_unl).
set -euo pipefail

# ---------------------------------------------------------------- options
stage=1                      # first stage to run
stop_stage=100               # last stage to run (100, or any number past the last: to the end)
nj=2                         # parallel jobs for decoding and n-best generation
decode_threads=1             # CPU threads per decoding job
decoder=espnet_kd            # beam search for n-best and decoding: espnet_kd (batched over utterances,
                             # espnet_kd.bin.nbest) or espnet (espnet2.bin.asr_inference, one at a time)
decode_batch_size=32         # utterances per batched beam search (decoder=espnet_kd)
student_nj=2                 # students trained at the same time, one thread each (bench/train_epoch.py on 2 cores:
                             # two at once, one thread each: 1.47x the epochs per second of one after another)
ngpu=0                       # GPUs for training and decoding (0: CPU); per node. N > 1: ESPnet's DDP, one
                             # process per GPU; n-best, top-k cache and decoding: one job per GPU
num_nodes=1                  # nodes per training (> 1: the slurm backend; srun, ESPnet's --dist_launcher slurm)
train_set=train              # training set name (data/<train_set>)
valid_set=dev                # validation set used to pick the best epochs
test_sets="dev test"         # sets decoded and scored
fs=16000                     # sample rate of the formatted audio
local_data_opts=""           # options passed to local/data.sh
data_src=""                  # a corpus already in Kaldi form: DIR holding DIR/<set>/ for every set (--train_set,
                             # --valid_set, --test_sets), checked and copied to data/<set> by stage 1 instead of
                             # running local/data.sh (README: "Your own corpus")
token_type=char              # char or bpe
nbpe=100                     # sentencepiece vocabulary size (bpe only)
nlsyms_txt=auto              # non-linguistic symbols, one per line (ESPnet's --nlsyms_txt): auto: data/nlsyms.txt when
                             # local/data.sh wrote one (WSJ: <NOISE>, <*IN*>, ...), none: no symbols. Each is one token
                             # (char; ESPnet's --non_linguistic_symbols) or a sentencepiece user-defined symbol (bpe),
                             # and is removed from references and hypotheses before WER scoring
min_wav_duration=0.1         # training and validation utterances of this many seconds or fewer are dropped (stage 2;
max_wav_duration=20          # also those of max_wav_duration or more, as ESPnet's asr.sh); test sets are never filtered
teacher_config=conf/train_teacher.yaml
student_config=conf/train_student.yaml
nbest_config=conf/decode_nbest.yaml    # teacher beam search on the training set
inference_config=conf/decode.yaml      # decoding of the test sets
nbest=4                      # hypotheses per utterance kept from the teacher
methods="baseline 1best topk:4"   # students to train, in this order: baseline, selections (espnet_kd.bin.select
                             # --method: 1best, topk:K, interp:wer|bleu|chrf, qe:logp; docs/selection.md), wordkd, wordkd_ft,
                             # wordkd_ctc
select_opts=""               # extra espnet_kd.bin.select options for every method, e.g.
                             # "--filter_max_wer 50 --filter_action reference"
unlabeled_sets=""            # untranscribed sets (data/<set>: wav.scp, utt2spk, no text) that the teacher labels for
                             # the <method>+unlabeled students (stage 1 checks them, 2 formats them, 6 decodes them)
unlabeled_select_opts="--confidence logp --confidence_keep_fraction 0.9"   # espnet_kd.bin.select options for the
                             # unlabeled sets only (no references there): the confidence filter keeps the 90 % of
                             # labels with the best length-normalised teacher log-prob; "" keeps every label
train_args=""                # extra options for every espnet2.bin.asr_train call
equal_updates=true           # true: every student gets the same number of updates per epoch
                             # (≈ one pass over the reference set), whatever its data size, so
                             # top-k students are compared at equal training cost; false: full passes
expdir=exp                   # where the models, their n-best lists, decodings and statistics go (data/ and dump/ are
                             # shared by every --expdir of a recipe dir; so is the lock, exp/.lock: one run at a time)
teacher_tag=""               # the teacher's dir: <expdir>/teacher_<tag> (default: <expdir>/teacher); its pseudo-label
                             # dirs are dump/raw/<train_set>_<method tag>_<tag>, so teachers of two tags live side by side
student_tag=""               # the students' dirs: <expdir>/student_<method tag>_<tag>[_seedN] (default: no _<tag>)
inference_tag=""             # the decode dirs: <model>/decode_<tag>_<test set> (default: <model>/decode_<test set>)
                             # (any tag: <expdir>/RESULTS_<tags>.md instead of RESULTS.md; README "Comparing settings")
seed=0                       # training seed of the teacher, and of the students in exp/student_<tag>
seeds=""                     # student training seeds, e.g. "0 1 2" (default: --seed). --seed's students
                             # are exp/student_<tag>, any other seed N's exp/student_<tag>_seedN;
                             # RESULTS.md gives mean ± sd over seeds and paired-bootstrap intervals
wordkd_config=conf/train_student_wordkd.yaml     # student "wordkd": word-level KD (kd_lambda, kd_temperature, kd_topk)
wordkd_ft_config=conf/train_student_wordkd_ft.yaml  # student "wordkd_ft": wordkd fine-tuned on references (CE)
wordkd_cache=true            # true: the teacher's top-k is dumped once (exp/teacher/topk_<set>); false: teacher runs online
kd_topk=8                    # k of the teacher's top-k cache and of the KD loss (the configs' kd_topk)
kd_ctc_weight=0.5            # student "wordkd_ctc" (word KD + CTC KD, wordkd_config's settings): weight w of CTC KD,
                             # loss_ctc = (1-w)*CTC(references) + w*KL(teacher CTC || student CTC) per encoder frame
kd_ctc_topk=8                # k of the teacher's CTC top-k per encoder frame (exp/teacher/topk_ctc_<set>) and of
                             # the CTC KL; 0: the full distribution (online teacher only: --wordkd_cache false)
kd_ctc_blank_threshold=""    # frames whose teacher blank posterior is above this are left out of the CTC KL
                             # (Hilmes et al. 2025; with it, --kd_ctc_weight 1 drops the reference CTC loss); "": all
results_title="ASR compression by sequence-level KD"
help_message="Usage: $0 [--stage N] [--stop_stage N] [--option value ...]
ASR compression by sequence-level KD; see the header of $0 for the stages."

# (upper case: not options) the stages, as in the header (--stage and --stop_stage are checked against
# them); the options of earlier versions, refused with what replaced them; this script's arguments
# (run_as_process_group runs it again with them); the egs2/TEMPLATE directory, through the recipe's symlink
declare -A RENAMED_OPTIONS=(
    [kd_methods]='list every student in --methods, e.g. --methods "baseline 1best topk:4"'
    [students]='list every student in --methods, e.g. --methods "baseline 1best topk:4 wordkd"'
    [wordkd_topk]='use --kd_topk (the k of the top-k cache, as the configs'"'"' kd_topk)'
)
STAGES=([1]=data [2]=format [3]=tokens [4]=stats [5]=teacher [6]=nbest [7]=select [8]=students
        [9]=decode [10]=score [11]=results)
STAGE_ARGS=("$@")
TEMPLATE_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "${TEMPLATE_DIR}/scripts/parse_options.sh"
. "${TEMPLATE_DIR}/scripts/common.sh"
check_stages
run_as_process_group "${STAGE_ARGS[@]}"   # a signal stops this script and every job it started

[ -f ./path.sh ] && . ./path.sh
[ -f ./cmd.sh ] && . ./cmd.sh
: "${train_cmd:=${TEMPLATE_DIR}/scripts/jobs/local.sh}"
: "${decode_cmd:=${TEMPLATE_DIR}/scripts/jobs/local.sh}"
check_python

token_dir=data/tokens/tgt
token_list=${token_dir}/tokens.txt
bpe_opts=()
[ "${token_type}" = bpe ] && bpe_opts=(--bpemodel "${token_dir}/bpe.model")
check_tags   # --expdir, --teacher_tag, --student_tag, --inference_tag (scripts/common.sh); sets results_md
stats_dir=${expdir}/asr_stats
shape_dir=${expdir}/shapes
teacher_dir=${expdir}/teacher$(tag_suffix "${teacher_tag}")
labels_suffix=$(tag_suffix "${teacher_tag}")   # the pseudo-label dirs: dump/raw/<set>_<method tag><labels_suffix>
decode_prefix=decode$(tag_suffix "${inference_tag}")_   # the decode dirs: <model>/<decode_prefix><test set>
# student_dir <method tag> <seed suffix>: the dir of that student
student_dir() { echo "${expdir}/student_$1$(tag_suffix "${student_tag}")$2"; }
nbest_dir=${teacher_dir}/nbest_${train_set}
decode_train_dir=dump/raw/${train_set}   # decode_split: maxlenratio auto measures its tokens per encoder frame
case "${token_type}" in char|bpe) ;; *) die "--token_type must be char or bpe, not '${token_type}'";; esac
# nlsyms_file: the non-linguistic symbol list in use (--nlsyms_txt; auto: data/nlsyms.txt once stage 1 wrote it),
# or nothing (a corpus without symbols runs as before). Used as nlsyms=$(nlsyms_file), then ${nlsyms:+--opt "${nlsyms}"}.
nlsyms_file() {
    case "${nlsyms_txt}" in
        none|"") ;;
        auto) [ ! -f data/nlsyms.txt ] || echo data/nlsyms.txt ;;
        *) [ -f "${nlsyms_txt}" ] || die "--nlsyms_txt ${nlsyms_txt} not found"; echo "${nlsyms_txt}" ;;
    esac
}
case "${decoder}" in espnet_kd|espnet) ;; *) die "--decoder must be espnet_kd or espnet, not '${decoder}'";; esac
[[ "${nj}" =~ ^[1-9][0-9]*$ ]] || die "--nj must be a positive integer, not '${nj}'"
[[ "${nbest}" =~ ^[1-9][0-9]*$ ]] || die "--nbest must be a positive integer, not '${nbest}'"
seeds=$(check_seeds "${seeds:-${seed}}")   # the students' seeds, checked
first_seed=${seed}   # the seed whose students are exp/<model> (others: exp/<model>_seedN)
for config in "${teacher_config}" "${student_config}" "${nbest_config}" "${inference_config}"; do
    [ -f "${config}" ] || die "config file not found: ${config}"
done

# The students, in --methods order: method_names, method_tags, method_kinds, method_select (read_methods)
read -r -a method_words <<< "${methods}"
read_methods asr "${method_words[@]}"
# shellcheck disable=SC2086
all_sets=$(union_sets ${train_set} ${valid_set} ${test_sets})   # each set once: train, valid, the test sets
check_unlabeled_sets   # none of them a labelled set, each once (scripts/common.sh)
if [ "${need_unlabeled}" = true ] && [ -z "${unlabeled_sets}" ]; then
    die "--methods ${methods}: a <method>+unlabeled student needs --unlabeled_sets (untranscribed data dirs)"
fi
[ "${need_unlabeled}" = true ] || [ -z "${unlabeled_sets}" ] || log "--unlabeled_sets ${unlabeled_sets}: prepared by" \
    "stages 1-2, but no method of --methods trains on them (add e.g. 1best+unlabeled)"

# asr_task_opts <train dir> <train shape dir>: sets asr_opts, the data options of an ESPnet2 ASR training on
# <train dir> (tokens, frontend, global MVN, the training and validation data and shapes), for run_training.
asr_task_opts() {
    local train_dir=$1 train_shapes=$2
    require_file "${train_dir}/wav.scp" "${train_shapes}/speech_shape" "${stats_dir}/train/feats_stats.npz"
    asr_opts=(
            --token_type "${token_type}" \
            --token_list "${token_list}" \
            "${bpe_opts[@]}" \
            --frontend_conf fs="${fs}" \
            --normalize_conf stats_file="${stats_dir}/train/feats_stats.npz" \
            --train_data_path_and_name_and_type "${train_dir}/wav.scp,speech,sound" \
            --train_data_path_and_name_and_type "${train_dir}/text,text,text" \
            --train_shape_file "${train_shapes}/speech_shape" \
            --train_shape_file "${train_shapes}/text_shape.${token_type}" \
            --valid_data_path_and_name_and_type "dump/raw/${valid_set}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "dump/raw/${valid_set}/text,text,text" \
            --valid_shape_file "${shape_dir}/${valid_set}/speech_shape" \
            --valid_shape_file "${shape_dir}/${valid_set}/text_shape.${token_type}" \
            --fold_length 80000 --fold_length 150)
    local nlsyms
    nlsyms=$(nlsyms_file)   # ESPnet's preprocessor (its char tokenizer) keeps each symbol whole
    [ -z "${nlsyms}" ] || asr_opts+=(--non_linguistic_symbols "${nlsyms}")
}

# Decoding a data set (ASR), split over --nj jobs with the chosen --decoder
# (decode_split in scripts/common.sh): writes <output dir>/text and, for espnet_kd,
# <output dir>/nbest.jsonl. decode_set <model dir> <data dir> <output dir> <config> [options...]
decode_set() {
    local model_dir=$1 data_dir=$2 out_dir=$3 config=$4; shift 4
    decode_split asr "${model_dir}" "${data_dir}" wav.scp "${out_dir}" "${config}" "$@"
}

# The teacher's top-k on one set, resumable (finished shards are kept, meta.json marks a complete cache):
#   dump_topk_cache <set>      per target position, for word KD (espnet_kd.bin.dump_topk, --kd_topk)
#                              → exp/teacher/topk_<set>/
#   dump_topk_cache <set> ctc  per encoder frame of the CTC posteriors, for CTC KD (espnet_kd.bin.dump_ctc_topk,
#                              --kd_ctc_topk) → exp/teacher/topk_ctc_<set>/
dump_topk_cache() {
    local dset=$1 kind=${2:-word} out_dir k module what opts=()
    case "${kind}" in
        word) out_dir=${teacher_dir}/topk_${dset}; k=${kd_topk}; module=espnet_kd.bin.dump_topk
              what="top-${k}"; opts=(--teacher_kind asr --batch_size 16) ;;
        ctc) out_dir=${teacher_dir}/topk_ctc_${dset}; k=${kd_ctc_topk}; module=espnet_kd.bin.dump_ctc_topk
             what="CTC top-${k} per encoder frame" ;;
        *) die "dump_topk_cache: kind must be word or ctc, not '${kind}'" ;;
    esac
    local fingerprint=("${teacher_dir}/config.yaml" "${teacher_dir}/valid.acc.ave.pth" "dump/raw/${dset}/wav.scp"
                       "dump/raw/${dset}/text" -- --k "${k}")
    if redo="dumping it again" stage_done "${out_dir}/.done" "${fingerprint[@]}" && [ -f "${out_dir}/meta.json" ]; then
        log "${out_dir} is complete"; return
    fi
    case "${fingerprint_status}" in changed|legacy) rm -rf "${out_dir:?}" ;; esac
    require_file "${teacher_dir}/valid.acc.ave.pth" "dump/raw/${dset}/wav.scp" "dump/raw/${dset}/text"
    log "teacher ${what} on ${dset} → ${out_dir} (log: ${out_dir}.log)"
    # one CPU job of --nj shards, or one job per GPU (run_topk_dump in scripts/common.sh)
    topk_dump_module=${module} run_topk_dump "${out_dir}" "${opts[@]}" \
        --teacher_config "${teacher_dir}/config.yaml" --teacher_model_file "${teacher_dir}/valid.acc.ave.pth" \
        --data_path_and_name_and_type "dump/raw/${dset}/wav.scp,speech,sound" \
        --data_path_and_name_and_type "dump/raw/${dset}/text,text,text" \
        --k "${k}"
    require_file "${out_dir}/meta.json"
    mark_done "${out_dir}/.done" "${fingerprint[@]}"
}

take_stage_lock "${0##*/} stages ${stage}-${stop_stage}"   # one run at a time in this recipe directory

if stage_on 1; then
    stage_begin 1 "data preparation: ${data_src:-local/data.sh} → data/"
    # reads the corpus (local/data.sh, db.sh; or --data_src DIR/<set>/); writes data/<set>/ for the train, valid
    # and test sets, checked
    corpus_stage   # scripts/common.sh: import_data_dirs (--data_src) or data_stage (local/data.sh)
    stage_end
fi

if stage_on 2; then
    stage_begin 2 "format: data/<set> → dump/raw/<set> (${fs} Hz PCM)"
    # reads data/<set>/; writes dump/raw/<set>/ (skipped when its .done records this data dir and --fs)
    format_stage
    stage_end
fi

if stage_on 3; then
    stage_begin 3 "tokens (${token_type}) from dump/raw/${train_set}/text → ${token_list}; shape files"
    require_file "dump/raw/${train_set}/text"
    # reads dump/raw/<train_set>/text; writes data/tokens/tgt/{tokens.txt,bpe.model} (made again when it changes)
    # (the non-linguistic symbols, if any: one token each, a sentencepiece user-defined symbol for bpe)
    nlsyms=$(nlsyms_file)
    make_token_dir "dump/raw/${train_set}/text" "${token_type}" "${nbpe}" "${token_dir}" ${nlsyms:+--nlsyms "${nlsyms}"}
    for dset in ${all_sets}; do
        python -m espnet_kd.bin.make_shapes --data_dir "dump/raw/${dset}" --out_dir "${shape_dir}/${dset}" \
            --token_list "${token_list}" --token_type "${token_type}" "${bpe_opts[@]}" ${nlsyms:+--nlsyms "${nlsyms}"}
    done
    stage_end
fi

if stage_on 4; then
    stage_begin 4 "feature statistics for global MVN → ${stats_dir}"
    # what collect_stats reads: the frontend settings of the teacher config, the audio of both sets
    stats_fingerprint=("${teacher_config}" "${token_list}" "dump/raw/${train_set}/wav.scp" "dump/raw/${train_set}/text"
        "dump/raw/${valid_set}/wav.scp" "${shape_dir}/${train_set}/speech_shape" "${shape_dir}/${valid_set}/speech_shape"
        -- --fs "${fs}" --token_type "${token_type}")
    if redo="computing them again" stage_done "${stats_dir}/.done" "${stats_fingerprint[@]}" \
            && [ -f "${stats_dir}/train/feats_stats.npz" ]; then
        log "${stats_dir}/train/feats_stats.npz exists"
    else
        require_file "${token_list}" "${shape_dir}/${train_set}/speech_shape"
        rm -rf "${stats_dir:?}"
        ${train_cmd} "${stats_dir}/collect_stats.log" \
            python -m espnet2.bin.asr_train \
                --collect_stats true \
                --config "${teacher_config}" \
                --output_dir "${stats_dir}" \
                --ngpu 0 \
                --use_preprocessor true \
                --token_type "${token_type}" \
                --token_list "${token_list}" \
                "${bpe_opts[@]}" \
                --frontend_conf fs="${fs}" \
                --normalize none \
                --train_data_path_and_name_and_type "dump/raw/${train_set}/wav.scp,speech,sound" \
                --train_data_path_and_name_and_type "dump/raw/${train_set}/text,text,text" \
                --train_shape_file "${shape_dir}/${train_set}/speech_shape" \
                --valid_data_path_and_name_and_type "dump/raw/${valid_set}/wav.scp,speech,sound" \
                --valid_data_path_and_name_and_type "dump/raw/${valid_set}/text,text,text" \
                --valid_shape_file "${shape_dir}/${valid_set}/speech_shape" \
                --batch_type unsorted --batch_size 16 \
                --use_matplotlib false --use_tensorboard false --use_wandb false
        require_file "${stats_dir}/train/feats_stats.npz"
        mark_done "${stats_dir}/.done" "${stats_fingerprint[@]}"
    fi
    stage_end
fi

if stage_on 5; then
    stage_begin 5 "teacher training → ${teacher_dir}"
    # reads dump/raw/{train,valid}, the tokens, exp/asr_stats; writes exp/teacher/valid.acc.ave.pth
    asr_task_opts "dump/raw/${train_set}" "${shape_dir}/${train_set}"
    run_training espnet2.bin.asr_train "${teacher_dir}" "${teacher_config}" "${asr_opts[@]}" --
    stage_end
fi

if stage_on 6; then
    stage_begin 6 "teacher ${nbest}-best on ${train_set} → ${nbest_dir}/nbest.jsonl"
    # skipped when its .done records this teacher, data, config and options; decoded again otherwise
    # (and, for the <method>+unlabeled students, on each unlabeled set → exp/teacher/nbest_<set>/)
    nbest_sets=${train_set}
    [ "${need_unlabeled}" != true ] || nbest_sets+=" ${unlabeled_sets}"
    for dset in ${nbest_sets}; do
        decode_done_word=complete decode_set "${teacher_dir}" "dump/raw/${dset}" "${teacher_dir}/nbest_${dset}" \
            "${nbest_config}" --nbest "${nbest}"
        if [ "${decoder}" = espnet ] && [ ! -f "${teacher_dir}/nbest_${dset}/nbest.jsonl" ]; then
            # ESPnet's own n-best dirs → nbest.jsonl (no per-token log-probs: logp null)
            python -m espnet_kd.bin.nbest_from_espnet --nbest "${nbest}" --out_dir "${teacher_dir}/nbest_${dset}" \
                --token_list "${token_list}" --data_dir "dump/raw/${dset}" "${teacher_dir}/nbest_${dset}"/logdir/output.*
        fi
    done
    stage_end
fi

# select_labels <set> <method> <tag> [select options...]: the pseudo-labels <method> picks from the teacher's n-best
# list of dump/raw/<set> → dump/raw/<set>_<tag>/ (+ select_report.json) and its shapes exp/shapes/<set>_<tag>/;
# skipped when its .done records this n-best list, data, tokens, method and options, selected again otherwise.
select_labels() {
    local dset=$1 method=$2 tag=$3; shift 3
    local out_dir="dump/raw/${dset}_${tag}${labels_suffix}" nbest_jsonl="${teacher_dir}/nbest_${dset}/nbest.jsonl"
    require_file "${nbest_jsonl}"
    # shellcheck disable=SC2086
    local fingerprint=("${nbest_jsonl}" "dump/raw/${dset}" "${token_dir}" -- --method "${method}" ${select_opts} "$@")
    if redo="selecting again" stage_done "${out_dir}/.done" "${fingerprint[@]}"; then
        log "${out_dir} is selected"; return
    fi
    # select replaces ${out_dir} as a whole (its .done with it) once the new one is complete
    # shellcheck disable=SC2086
    python -m espnet_kd.bin.select --nbest_jsonl "${nbest_jsonl}" \
        --data_dir "dump/raw/${dset}" --method "${method}" --out_dir "${out_dir}" ${select_opts} "$@"
    python -m espnet_kd.bin.make_shapes --data_dir "${out_dir}" --out_dir "${shape_dir}/${dset}_${tag}${labels_suffix}" \
        --token_list "${token_list}" --token_type "${token_type}" "${bpe_opts[@]}" \
        --base_data_dir "dump/raw/${dset}"
    mark_done "${out_dir}/.done" "${fingerprint[@]}"
}

if stage_on 7; then
    stage_begin 7 "pseudo-label selection (${method_select[*]}) → dump/raw/${train_set}_<tag>"
    # reads the teacher's n-best lists and dump/raw/<train_set> (and the unlabeled sets); writes
    # dump/raw/<train_set>_<tag>/ and its shapes (<method>+unlabeled: dump/raw/<unlabeled set>_<tag>/, labelled
    # without references and through --unlabeled_select_opts, then dump/raw/<train_set>_<tag>_unl/: both combined)
    for i in "${!method_tags[@]}"; do
        [ "${method_kinds[$i]}" = selection ] || continue
        method=${method_select[$i]}; tag=${method_tags[$i]}
        if [ "${method_unlabeled[$i]}" != true ]; then
            select_labels "${train_set}" "${method}" "${tag}"; continue
        fi
        base_tag=${method_base_tags[$i]}
        parts=("dump/raw/${train_set}_${base_tag}${labels_suffix}")
        select_labels "${train_set}" "${method}" "${base_tag}"
        for dset in ${unlabeled_sets}; do
            # shellcheck disable=SC2086
            select_labels "${dset}" "${method}" "${base_tag}" --reference_text none ${unlabeled_select_opts}
            parts+=("dump/raw/${dset}_${base_tag}${labels_suffix}")
        done
        combine_labelled "dump/raw/${train_set}_${tag}${labels_suffix}" "${shape_dir}/${train_set}_${tag}${labels_suffix}" \
            "${parts[@]}"
    done
    stage_end
fi

if stage_on 8; then
    stage_begin 8 "student training (${method_tags[*]})"
    # reads dump/raw/<train_set>[_<tag>], its shapes, exp/asr_stats (wordkd: the teacher, its top-k caches;
    # wordkd_ctc: also its CTC top-k caches); writes exp/student_<tag>[_seedN]/ (wordkd_ft: after the pool,
    # from exp/student_wordkd[_seedN])
    update_opts=()
    if [ "${equal_updates}" = true ]; then
        require_file "dump/raw/${train_set}/text"
        iters=$(python -m espnet_kd.bin.iters_per_epoch --config "${student_config}" --text "dump/raw/${train_set}/text")
        update_opts=(--num_iters_per_epoch "${iters}")
        log "every student: ${iters} updates per epoch (--equal_updates true)"
    elif [ "${equal_updates}" != false ]; then
        die "--equal_updates must be true or false, not '${equal_updates}'"
    fi
    # word-level KD students read the teacher's top-k: dump it once per set (exp/teacher/topk_<set>)
    # (wordkd_ctc too, and the teacher's CTC top-k per encoder frame, exp/teacher/topk_ctc_<set>, below)
    wordkd_opts=()
    if [ "${need_topk}" = true ]; then
        require_file "${wordkd_config}" "${teacher_dir}/valid.acc.ave.pth"
        wordkd_opts=(--kd_teacher_config "${teacher_dir}/config.yaml"
                     --kd_teacher_model_file "${teacher_dir}/valid.acc.ave.pth" --kd_topk "${kd_topk}")
        if [ "${wordkd_cache}" = true ]; then
            for dset in ${train_set} ${valid_set}; do
                dump_topk_cache "${dset}"
                wordkd_opts+=("--$([ "${dset}" = "${train_set}" ] && echo train || echo valid)_data_path_and_name_and_type"
                              "${teacher_dir}/topk_${dset},kd_topk,kd_topk")
            done
        elif [ "${wordkd_cache}" != false ]; then
            die "--wordkd_cache must be true or false, not '${wordkd_cache}'"
        fi
    fi
    # word KD + CTC KD (wordkd_ctc): wordkd's options, the --kd_ctc_* options and the CTC top-k caches
    wordkd_ctc_opts=()
    if [[ " ${method_kinds[*]} " == *" wordkd_ctc "* ]]; then
        wordkd_ctc_opts=("${wordkd_opts[@]}" --kd_ctc_weight "${kd_ctc_weight}" --kd_ctc_topk "${kd_ctc_topk}")
        [ -z "${kd_ctc_blank_threshold}" ] || wordkd_ctc_opts+=(--kd_ctc_blank_threshold "${kd_ctc_blank_threshold}")
        if [ "${wordkd_cache}" = true ]; then
            [ "${kd_ctc_topk}" != 0 ] || die "--kd_ctc_topk 0 (the teacher's full CTC distribution) needs the online" \
                "teacher: add --wordkd_cache false"
            for dset in ${train_set} ${valid_set}; do
                dump_topk_cache "${dset}" ctc
                wordkd_ctc_opts+=("--$([ "${dset}" = "${train_set}" ] && echo train || echo valid)_data_path_and_name_and_type"
                                  "${teacher_dir}/topk_ctc_${dset},kd_ctc_topk,kd_ctc_topk")
            done
        fi
    fi
    student_pool   # up to --student_nj trainings at once, each with its own train.log
    for student_seed in ${seeds}; do
      suffix=$(seed_suffix "${student_seed}" "${first_seed}")
      for i in "${!method_tags[@]}"; do
        tag=${method_tags[$i]}
        config=${student_config}; module=espnet2.bin.asr_train; extra_opts=()
        train_dir="dump/raw/${train_set}"; shapes="${shape_dir}/${train_set}"
        case "${method_kinds[$i]}" in
            wordkd_ft) continue ;;   # after wordkd, below
            selection) train_dir="dump/raw/${train_set}_${tag}${labels_suffix}"; shapes="${shape_dir}/${train_set}_${tag}${labels_suffix}" ;;
            wordkd) config=${wordkd_config}; module=espnet_kd.bin.asr_kd_train; extra_opts=("${wordkd_opts[@]}") ;;
            wordkd_ctc) config=${wordkd_config}; module=espnet_kd.bin.asr_kd_train; extra_opts=("${wordkd_ctc_opts[@]}") ;;
        esac
        [ -d "${train_dir}" ] || die "student '${tag}': ${train_dir} not found (run stage 7, or check --methods)"
        asr_task_opts "${train_dir}" "${shapes}"
        train_seed=${student_seed} pool_run "${tag}${suffix}" \
            run_training "${module}" "$(student_dir "${tag}" "${suffix}")" "${config}" "${asr_opts[@]}" -- \
            "${update_opts[@]}" "${extra_opts[@]}"
      done
    done
    pool_wait "student training" "see exp/student_<tag>/train.log"
    # Gaido et al.'s "word KD + FT": the wordkd student, trained further on the references (CE only)
    for i in "${!method_tags[@]}"; do
        [ "${method_kinds[$i]}" = wordkd_ft ] || continue
        for student_seed in ${seeds}; do
            suffix=$(seed_suffix "${student_seed}" "${first_seed}")
            require_file "$(student_dir wordkd "${suffix}")/valid.acc.ave.pth" "${wordkd_ft_config}"
            asr_task_opts "dump/raw/${train_set}" "${shape_dir}/${train_set}"
            train_seed=${student_seed} run_training espnet2.bin.asr_train "$(student_dir "${method_tags[$i]}" "${suffix}")" \
                "${wordkd_ft_config}" "${asr_opts[@]}" -- \
                --init_param "$(student_dir wordkd "${suffix}")/valid.acc.ave.pth" "${update_opts[@]}"
        done
    done
    stage_end
fi

# every model to decode and score: the teacher, then each student at each seed
models=${teacher_dir}
student_args=()   # results_table --student TAG=DIR, one per student and seed
for student_seed in ${seeds}; do
    suffix=$(seed_suffix "${student_seed}" "${first_seed}")
    for tag in "${method_tags[@]}"; do
        models+=" $(student_dir "${tag}" "${suffix}")"
        student_args+=(--student "${tag}=$(student_dir "${tag}" "${suffix}")")
    done
done

if stage_on 9; then
    stage_begin 9 "decoding (${test_sets}) with ${models}"
    # reads exp/<model>/valid.acc.ave.pth, dump/raw/<test set>; writes exp/<model>/decode_<test set>/text
    for model in ${models}; do
        for dset in ${test_sets}; do
            decode_set "${model}" "dump/raw/${dset}" "${model}/${decode_prefix}${dset}" "${inference_config}"
        done
    done
    stage_end
fi

if stage_on 10; then
    stage_begin 10 "WER scoring with jiwer"
    # reads the decodings and the references dump/raw/<test set>/text; writes score.json beside each decoding
    # (the non-linguistic symbols of --nlsyms_txt removed from both sides first, as ESPnet's scoring does)
    nlsyms=$(nlsyms_file)
    for model in ${models}; do
        for dset in ${test_sets}; do
            require_file "${model}/${decode_prefix}${dset}/text"
            python -m espnet_kd.bin.score_wer --ref "dump/raw/${dset}/text" \
                --hyp "${model}/${decode_prefix}${dset}/text" --out "${model}/${decode_prefix}${dset}/score.json" \
                ${nlsyms:+--nlsyms "${nlsyms}"}
        done
    done
    stage_end
fi

if stage_on 11; then
    stage_begin 11 "results table → ${results_md}"
    # reads every model's score.json and config.yaml; writes RESULTS.md (and learning_curves.png)
    selections=()   # the selection methods (1best+unlabeled too), which name their students' rows
    for i in "${!method_tags[@]}"; do
        [ "${method_kinds[$i]}" = selection ] && selections+=("${method_names[$i]}")
    done
    # shellcheck disable=SC2086
    python -m espnet_kd.bin.results_table --title "${results_title}" --teacher "${teacher_dir}" \
        "${student_args[@]}" --test_sets ${test_sets} --kd_methods "${selections[@]}" \
        --decode_prefix "${decode_prefix}" --out "${results_md}"
    cat "${results_md}"
    stage_end
fi

log "finished stages ${stage}-${stop_stage}"

#!/usr/bin/env bash
# Speech translation by knowledge distillation from an MT teacher (Liu et al. 2019;
# Gaido et al. 2020), on ESPnet2's MT and ST models and trainer. Run from a recipe
# directory (egs2/<corpus>/st1), whose run.sh passes the corpus's choices.
#
#  stage  what it reads                          what it writes
#   1     the corpus (local/data.sh, db.sh,      data/<set>/ (text: translation, text.<src_lang>: transcript)
#         or --data_src DIR/<set>/)
#   2     data/<set>/                            dump/raw/<set>/ (16 kHz PCM wav.scp, utt2num_samples)
#   3     dump/raw/<train_set>/text[.<src_lang>] data/tokens/{src,tgt}/ (sentencepiece + tokens.txt), exp/shapes/<set>/
#   4     dump/raw/{train,valid}                 exp/st_stats/train/feats_stats.npz (global MVN of the ST students)
#   5     dump/raw/<train_set>                   exp/mt_teacher/ (ESPnet2 MT: transcript → translation); with
#                                                --teacher_folds K: dump/raw/<train_set>_foldsK/fold<k>/{heldout,rest}/,
#                                                exp/mt_teacher_fold<k>/ (trained on every fold but k)
#   6     dump/raw/<train_set>                   exp/mt_backward/ (translation → transcript; for qe:* methods)
#   7     exp/mt_teacher, <train_set> transcripts exp/mt_teacher/nbest_<train_set>/nbest.jsonl, {n}best_recog/
#         (--teacher_folds K: teacher k on fold k exp/mt_teacher_fold<k>/nbest_heldout/, joined into
#         exp/mt_teacher_fold<k>)                 exp/mt_teacher/nbest_<train_set>_foldsK/)
#         (<method>+unlabeled, each unlabeled    exp/asr_transcripts_<set>/ (--unlabeled_asr's 1-best), dump/raw/<set>_
#         set: --unlabeled_asr, then the MT      transcribed/ (+ text.<src_lang>), exp/mt_teacher/nbest_<set>/; or,
#         teacher; or --st_teacher's n-best)     with --st_teacher, exp/st_teacher_nbest_<set>/
#   8     the n-best list                        dump/raw/<train_set>_<tag>/ + select_report.json, shapes
#                                                (<method>+unlabeled: dump/raw/<set>_<tag>/ of each unlabeled set, then
#                                                all combined: dump/raw/<train_set>_<tag>_unl/ + combine_report.json)
#   9     exp/mt_teacher, <train_set>, <valid>   exp/mt_teacher/topk_<set>/ (teacher top-k cache, word KD; --teacher_folds
#                                                K: the training set's from the fold teachers, exp/mt_teacher/topk_<train_set>_foldsK/)
#  10     training sets, cache [--pretrained_asr] exp/student_<tag>[_seedN]/ (one ST student per method, same architecture)
#  11     exp/student_wordkd, references         exp/student_wordkd_ft[_seedN]/ (word-KD student fine-tuned on references)
#  12     every model, dump/raw/<test set>       exp/<model>/decode_<test set>/text (MT teacher: on transcripts)
#  13     decodings, references                  exp/<model>/decode_<test set>/score.json (sacrebleu BLEU, chrF)
#  14     score.json files, models               RESULTS.md (Gaido et al.'s table: BLEU, chrF, Δ vs baseline; with
#         [--alternatives_dir]                   --alternatives_dir, also against every correct translation)
#
# Methods (--methods, one student each, in this order; the table is espnet_kd.bin.methods): baseline
# (references), seqkd (alias of 1best: the teacher's 1-best), interp:bleu / interp:chrf (Seq-Inter: the
# n-best entry closest to the reference), qe:<scorer> (Seq-Inter with a reference-free quality estimate),
# wordkd (word-level KD from the frozen MT teacher), wordkd_ft (wordkd, then fine-tuned on references),
# <selection>+unlabeled (a reference-free selection, e.g. seqkd+unlabeled, on the training set and on every
# --unlabeled_sets set: audio without transcripts or translations, transcribed by --unlabeled_asr and translated by
# the MT teacher, or translated by --st_teacher; the student trains on both).
# A student's tag names its dirs: exp/student_<tag>, dump/raw/<train_set>_<tag> (interp:bleu → interpbleu,
# seqkd+unlabeled → seqkd_unl). With --teacher_folds K every name made from the teacher's labels ends in _foldsK
# (dump/raw/<train_set>_seqkd_foldsK, exp/student_seqkd_foldsK, exp/student_wordkd_foldsK); the baseline's does not.
# A finished stage leaves its outputs and a .done marker recording what they were made from (the sha256 of
# the files it read, and its options: stage_done in scripts/common.sh); a rerun skips what is complete and
# up to date, and redoes what was made from other inputs or options. A trained model is never redone
# silently: one trained from other files or options stops the recipe, naming the dir to remove.
set -euo pipefail

# ---------------------------------------------------------------- options
stage=1                      # first stage to run
stop_stage=100               # last stage to run (100, or any number past the last: to the end)
nj=2                         # parallel jobs for decoding and n-best generation
decode_threads=1             # CPU threads per decoding job
decoder=espnet_kd            # beam search for the n-best and decoding: espnet_kd (batched over utterances,
                             # espnet_kd.bin.nbest) or espnet (espnet2.bin.{mt,st}_inference, one at a time)
decode_batch_size=32         # utterances per batched beam search (decoder=espnet_kd)
student_nj=2                 # students trained at the same time, one torch thread each (on 2 cores two at once
                             # give 1.47x the epochs per second of one after another: bench/train_epoch.py)
ngpu=0                       # GPUs for training and decoding (0: CPU); per node. N > 1: ESPnet's DDP, one
                             # process per GPU; n-best, top-k cache and decoding: one job per GPU
num_nodes=1                  # nodes per training (> 1: the slurm backend; srun, ESPnet's --dist_launcher slurm)
train_set=train              # training set name (data/<train_set>)
valid_set=dev                # validation set used to pick the best epochs
test_sets="dev test"         # sets decoded and scored (the first two are the table's dev and test)
src_lang=en                  # transcript language: data/<set>/text.<src_lang>
tgt_lang=it                  # translation language (data/<set>/text), for the table
fs=16000                     # sample rate of the formatted audio
local_data_opts=""           # options passed to local/data.sh
data_src=""                  # a corpus already in Kaldi form: DIR holding DIR/<set>/ for every set (--train_set,
                             # --valid_set, --test_sets), checked and copied to data/<set> by stage 1 instead of
                             # running local/data.sh (README: "Your own corpus")
src_token_type=bpe           # source (transcript) tokens: bpe (sentencepiece) or char
tgt_token_type=bpe           # target (translation) tokens, shared by the teacher and every student
src_nbpe=200                 # sentencepiece vocabulary sizes
tgt_nbpe=200
speed_perturb_factors=""     # e.g. "0.9 1.0 1.1" (ESPnet's MuST-C recipe; egs2/must_c/st1 sets it): stage 2 adds
                             # dump/raw/<train_set>_sp, the training set at each speed (ids and speakers sp0.9-, sp1.1-),
                             # which the ST side reads from stage 4 on (stats, n-best, selection, top-k, students); the
                             # tokens and the MT models (text only) read dump/raw/<train_set>
min_wav_duration=0.1         # training and validation utterances of this many seconds or fewer are dropped (stage 2;
max_wav_duration=20          # also those of max_wav_duration or more, as ESPnet's st.sh); test sets are never filtered
mt_config=conf/train_mt.yaml                 # MT teacher
backward_mt_config=conf/train_mt_backward.yaml  # backward MT (translation → transcript)
st_config=conf/train_st.yaml                 # every ST student
finetune_config=conf/finetune_st.yaml        # wordkd_ft: fine-tuning on references
pretrained_asr=""            # an ESPnet2 ASR checkpoint whose encoder initialises every ST student
                             # (Gaido et al.; ESPnet's MuST-C recipes), e.g. ../asr1/exp/teacher/valid.acc.ave.pth;
                             # its encoder must have --st_config's architecture. "" or none: from scratch
wordkd_config=conf/train_st_wordkd.yaml      # wordkd: train_st.yaml's model + kd_lambda, kd_temperature, kd_topk
mt_nbest_config=conf/decode_mt_nbest.yaml    # MT teacher beam search on the training set
mt_inference_config=conf/decode_mt.yaml      # MT teacher on the test transcripts
st_inference_config=conf/decode_st.yaml      # ST students on the test audio
teacher_folds=1              # K >= 2: held-out teachers (README "Held-out teachers"). Stage 5 also trains K MT teachers,
                             # teacher k on every fold of the training set but fold k (utterance i in C-locale order
                             # is in fold i mod K + 1); the training set's n-best (stage 7) and top-k cache (stage 9) of
                             # fold k come from teacher k, which never saw it. exp/mt_teacher (all folds) still gives
                             # the table's MT row, the valid set's cache and the unlabeled sets' labels. 1: off
nbest=8                      # hypotheses per utterance kept from the teacher
kd_topk=8                    # teacher tokens kept per position in the word-KD cache (Gaido et al.: 8)
methods="baseline seqkd interp:bleu qe:backward wordkd wordkd_ft"   # students to train, in this order
backward_mt=auto             # train the backward MT: auto (when a qe: method needs it), true, false
select_opts=""               # extra options for every espnet_kd.bin.select call
unlabeled_sets=""            # untranscribed sets (data/<set>: wav.scp, utt2spk, no text) labelled for the
                             # <method>+unlabeled students (stage 1 checks them, 2 formats them, 7 decodes them)
unlabeled_asr=""             # an ESPnet2 ASR model dir (config.yaml, valid.acc.ave.pth; e.g. ../asr1/exp/teacher) whose
                             # 1-best transcribes the unlabeled sets for the MT teacher
unlabeled_asr_config=conf/decode_asr_unlabeled.yaml   # its beam search
st_teacher=""                # instead: an ESPnet2 ST model dir whose n-best translates the unlabeled sets' audio
st_teacher_config=conf/decode_st_nbest.yaml           # its beam search (the n-best size comes from --nbest)
unlabeled_select_opts="--confidence logp --confidence_keep_fraction 0.9"   # espnet_kd.bin.select options for the
                             # unlabeled sets only (no references there): the confidence filter keeps the 90 % of
                             # labels with the best length-normalised teacher log-prob; "" keeps every label
train_args=""                # extra options for every espnet2 training call
expdir=exp                   # where the models, their n-best lists, decodings and statistics go (data/ and dump/ are
                             # shared by every --expdir of a recipe dir; so is the lock, exp/.lock: one run at a time)
teacher_tag=""               # the MT teachers' dirs: <expdir>/mt_teacher_<tag>, <expdir>/mt_backward_<tag> (default: no
                             # _<tag>); their pseudo-label dirs are dump/raw/<train_set>_<method tag>_<tag>
student_tag=""               # the students' dirs: <expdir>/student_<method tag>_<tag>[_seedN] (default: no _<tag>)
inference_tag=""             # the decode dirs: <model>/decode_<tag>_<test set> (default: <model>/decode_<test set>)
                             # (any tag: <expdir>/RESULTS_<tags>.md instead of RESULTS.md; README "Comparing settings")
seed=0                       # training seed of the MT teachers, and of the students in exp/student_<tag>
seeds=""                     # ST student seeds, e.g. "0 1 2" (default: --seed). --seed's students are
                             # exp/student_<tag>, any other seed N's exp/student_<tag>_seedN; RESULTS.md gives mean ± sd
                             # over seeds and paired-bootstrap intervals of every Δ vs the baseline
alternatives_dir=""           # every correct translation of the test sets' utterances, in DIR/<set>/alternatives/
                             # text.<tgt_lang>.jsonl (the embedded corpus's, with --translation_variants true): the
                             # table adds multi-reference BLEU and exact match for each set that has one
results_title="Speech translation by knowledge distillation from an MT teacher"
help_message="Usage: $0 [--stage N] [--stop_stage N] [--option value ...]
ST distillation from an MT teacher; see the header of $0 for the stages."

# (upper case: not options) the stages, as in the header (--stage and --stop_stage are checked against
# them); the options of earlier versions, refused with what replaced them; this script's arguments
# (run_as_process_group runs it again with them); the egs2/TEMPLATE directory, through the recipe's symlink
declare -A RENAMED_OPTIONS=([topk]='use --kd_topk (the k of the top-k cache, as the configs'"'"' kd_topk)')
STAGES=([1]=data [2]=format [3]=tokens [4]=stats [5]=mt_teacher [6]=mt_backward [7]=nbest [8]=select
        [9]=topk_cache [10]=students [11]=finetune [12]=decode [13]=score [14]=results)
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

src_token_dir=data/tokens/src
tgt_token_dir=data/tokens/tgt
src_token_list=${src_token_dir}/tokens.txt
tgt_token_list=${tgt_token_dir}/tokens.txt
check_tags   # --expdir, --teacher_tag, --student_tag, --inference_tag (scripts/common.sh); sets results_md
shape_dir=${expdir}/shapes
stats_dir=${expdir}/st_stats
teacher_dir=${expdir}/mt_teacher$(tag_suffix "${teacher_tag}")
backward_dir=${expdir}/mt_backward$(tag_suffix "${teacher_tag}")
labels_suffix=$(tag_suffix "${teacher_tag}")   # the pseudo-label dirs: dump/raw/<set>_<method tag><labels_suffix>
decode_prefix=decode$(tag_suffix "${inference_tag}")_   # the decode dirs: <model>/<decode_prefix><test set>
# student_dir <method tag> <seed suffix>: the dir of that student
# (with --teacher_folds K, a student of the teacher's labels: student_<method tag>_foldsK...; set per tag below)
declare -A student_folds_suffix=()
student_dir() { echo "${expdir}/student_$1${student_folds_suffix[$1]:-}$(tag_suffix "${student_tag}")$2"; }
# the training set as --train_set names it (stage 2 formats it; the tokens and MT models read it), and the one the
# ST side reads: its speed-perturbed copy, dump/raw/<train_set>_sp, with --speed_perturb_factors
orig_train_set=${train_set}
[ -z "${speed_perturb_factors}" ] || train_set=${orig_train_set}_sp
decode_train_dir=dump/raw/${orig_train_set}   # decode_split: maxlenratio auto measures its target tokens per
                                              # encoder frame (ST) or per source token (MT)
for token_type in "${src_token_type}" "${tgt_token_type}"; do
    case "${token_type}" in char|bpe) ;; *) die "--src_token_type/--tgt_token_type must be char or bpe, not '${token_type}'";; esac
done
[[ "${nj}" =~ ^[1-9][0-9]*$ ]] || die "--nj must be a positive integer, not '${nj}'"
[[ "${nbest}" =~ ^[1-9][0-9]*$ ]] || die "--nbest must be a positive integer, not '${nbest}'"
[[ "${teacher_folds}" =~ ^[1-9][0-9]*$ ]] || die "--teacher_folds must be a positive integer (1: off), not '${teacher_folds}'"
folds_suffix=""   # what the names made from the teacher's labels end in (held-out teachers: _folds<K>)
if [ "${teacher_folds}" -gt 1 ]; then
    [ -z "${speed_perturb_factors}" ] || die "--teacher_folds ${teacher_folds} with --speed_perturb_factors: the folds" \
        "split --train_set, not its speed-perturbed copy; not supported yet (use one of the two)"
    folds_suffix=_folds${teacher_folds}
fi
folds_dir=dump/raw/${orig_train_set}${folds_suffix}   # fold k: ${folds_dir}/fold<k>/{heldout,rest}
fold_teacher_dir() { echo "${teacher_dir}_fold$1"; }    # the MT teacher of fold k (trained on rest)
labels_suffix+=${folds_suffix}
nbest_dir=${teacher_dir}/nbest_${train_set}${folds_suffix}
[[ "${decode_batch_size}" =~ ^[1-9][0-9]*$ ]] || die "--decode_batch_size must be a positive integer, not '${decode_batch_size}'"
case "${decoder}" in espnet_kd|espnet) ;; *) die "--decoder must be espnet_kd or espnet, not '${decoder}'";; esac
case "${backward_mt}" in auto|true|false) ;; *) die "--backward_mt must be auto, true or false, not '${backward_mt}'";; esac
seeds=$(check_seeds "${seeds:-${seed}}")   # the students' seeds, checked
first_seed=${seed}   # the seed whose students are exp/<model> (others: exp/<model>_seedN)
[ "${pretrained_asr}" = none ] && pretrained_asr=""
# the students' encoder initialisation (ESPnet's --init_param <file>:<source key>:<target key>)
init_opts=()
[ -n "${pretrained_asr}" ] && init_opts=(--init_param "${pretrained_asr}:encoder:encoder")

# token options of ESPnet's tasks: target side (teacher and students), source side (MT input)
tgt_opts=(--token_type "${tgt_token_type}" --token_list "${tgt_token_list}")
tgt_bpe_opts=()   # make_shapes' target-side tokenizer option
[ "${tgt_token_type}" = bpe ] && tgt_bpe_opts=(--bpemodel "${tgt_token_dir}/bpe.model")
tgt_opts+=("${tgt_bpe_opts[@]}")
src_opts=(--src_token_type "${src_token_type}" --src_token_list "${src_token_list}")
[ "${src_token_type}" = bpe ] && src_opts+=(--src_bpemodel "${src_token_dir}/bpe.model")
# ESPnet's ST model needs the source token list even when it has no ASR branch (asr_weight 0)
st_opts=("${tgt_opts[@]}" "${src_opts[@]}")
# the backward MT reads translations and writes transcripts: the same two models, swapped
backward_opts=(--token_type "${src_token_type}" --token_list "${src_token_list}"
               --src_token_type "${tgt_token_type}" --src_token_list "${tgt_token_list}")
[ "${src_token_type}" = bpe ] && backward_opts+=(--bpemodel "${src_token_dir}/bpe.model")
[ "${tgt_token_type}" = bpe ] && backward_opts+=(--src_bpemodel "${tgt_token_dir}/bpe.model")

# ---------------------------------------------------------------- methods
# The students, in --methods order (read_methods): method_names, method_tags, method_kinds, method_select;
# need_nbest (a selection method: stages 7-8), need_topk (word KD: stage 9), need_backward (a qe: method: stage 6)
read -r -a method_words <<< "${methods}"   # the methods as --methods spells them: they name RESULTS.md's rows
read_methods st "${method_words[@]}"
[ "${backward_mt}" = true ] && need_backward=true
[ "${backward_mt}" = false ] && need_backward=false
for i in "${!method_tags[@]}"; do
    [ "${method_kinds[$i]}" = reference ] || student_folds_suffix[${method_tags[$i]}]=${folds_suffix}
done

# A pretrained encoder comes from elsewhere (another recipe): check it is there before any work.
if [ -n "${pretrained_asr}" ] && [ "${stop_stage}" -ge 10 ] && [ "${stage}" -le 10 ]; then
    [ -f "${pretrained_asr}" ] || die "--pretrained_asr ${pretrained_asr} not found (train that ASR model first," \
        "e.g. stages 1-5 of ../asr1, or pass --pretrained_asr none to train the students from scratch)"
fi

# shellcheck disable=SC2086
all_sets=$(union_sets ${orig_train_set} ${valid_set} ${test_sets})   # each set once: train, valid, the test sets
check_unlabeled_sets   # none of them a labelled set, each once (scripts/common.sh)
if [ "${need_unlabeled}" = true ]; then
    [ -n "${unlabeled_sets}" ] || die "--methods ${methods}: a <method>+unlabeled student needs --unlabeled_sets" \
        "(untranscribed data dirs)"
    [ -n "${unlabeled_asr}${st_teacher}" ] || die "--unlabeled_sets need a teacher for their audio: --unlabeled_asr" \
        "DIR (an ASR model whose transcripts the MT teacher translates, e.g. ../asr1/exp/teacher) or --st_teacher DIR"
    [ -z "${unlabeled_asr}" ] || [ -z "${st_teacher}" ] || die "--unlabeled_asr and --st_teacher are two ways to" \
        "label the unlabeled sets: give one"
    if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
        for model_dir in ${unlabeled_asr} ${st_teacher}; do
            require_file "${model_dir}/config.yaml" "${model_dir}/valid.acc.ave.pth"
        done
    fi
elif [ -n "${unlabeled_sets}" ]; then
    log "--unlabeled_sets ${unlabeled_sets}: prepared by stages 1-2, but no method of --methods trains on them" \
        "(add e.g. seqkd+unlabeled)"
fi
# every student at every seed: exp/student_<tag> (--seed), exp/student_<tag>_seedN
student_dirs=""   # every student's dir, at every seed
for student_seed in ${seeds}; do
    for tag in "${method_tags[@]}"; do student_dirs+=" $(student_dir "${tag}" "$(seed_suffix "${student_seed}" "${first_seed}")")"; done
done

# ---------------------------------------------------------------- helpers
# Training (stages 5, 6, 10, 11) is run_training in scripts/common.sh: one ESPnet2 training, resumable, at
# seed ${train_seed} (the teachers': --seed; stages 10-11 set it per student seed), with the command prefix
# train_env (stages 10-11: one torch thread per training when --student_nj > 1).

# st_data_opts <train dir> <train shape dir>: the data options of an ST student (speech → translation).
st_data_opts() {
    local train_dir=$1 shapes=$2
    echo --train_data_path_and_name_and_type "${train_dir}/wav.scp,speech,sound" \
         --train_data_path_and_name_and_type "${train_dir}/text,text,text" \
         --train_shape_file "${shapes}/speech_shape" \
         --train_shape_file "${shapes}/text_shape.${tgt_token_type}" \
         --valid_data_path_and_name_and_type "dump/raw/${valid_set}/wav.scp,speech,sound" \
         --valid_data_path_and_name_and_type "dump/raw/${valid_set}/text,text,text" \
         --valid_shape_file "${shape_dir}/${valid_set}/speech_shape" \
         --valid_shape_file "${shape_dir}/${valid_set}/text_shape.${tgt_token_type}" \
         --fold_length 80000 --fold_length 150
}

# Decoding (stages 7 and 12) is decode_split in scripts/common.sh: beam search over one set,
# split over --nj jobs with the chosen --decoder; it writes <output dir>/text and, for
# espnet_kd, <output dir>/nbest.jsonl.

# ---------------------------------------------------------------- stages
take_stage_lock "${0##*/} stages ${stage}-${stop_stage}"   # one run at a time in this recipe directory

if stage_on 1; then
    stage_begin 1 "data preparation: ${data_src:-local/data.sh} → data/"
    # reads the corpus (local/data.sh, db.sh; or --data_src DIR/<set>/); writes data/<set>/ (text: translation,
    # text.<src_lang>: transcript) for the train, valid and test sets, checked
    corpus_stage "text.${src_lang}"   # scripts/common.sh: import_data_dirs (--data_src) or data_stage (local/data.sh)
    stage_end
fi

if stage_on 2; then
    stage_begin 2 "format: data/<set> → dump/raw/<set> (${fs} Hz PCM)"
    # reads data/<set>/; writes dump/raw/<set>/ (skipped when its .done records this data dir and --fs)
    format_stage
    stage_end
fi

if stage_on 3; then
    stage_begin 3 "tokens: source (${src_token_type}) and target (${tgt_token_type}) from dump/raw/${orig_train_set}; shapes"
    require_file "dump/raw/${orig_train_set}/text" "dump/raw/${orig_train_set}/text.${src_lang}"
    # reads dump/raw/<train_set>/text.<src_lang>, text; writes data/tokens/{src,tgt}/{tokens.txt,bpe.model}
    # (the training set as --train_set names it, not its speed-perturbed copy: as ESPnet's MuST-C recipe)
    # each token dir's .done records its text and options: made again when they change
    make_token_dir "dump/raw/${orig_train_set}/text.${src_lang}" "${src_token_type}" "${src_nbpe}" "${src_token_dir}"
    make_token_dir "dump/raw/${orig_train_set}/text" "${tgt_token_type}" "${tgt_nbpe}" "${tgt_token_dir}"
    # writes exp/shapes/<set>/{speech_shape,text_shape.<tgt_token_type>} (target-side lengths)
    # shellcheck disable=SC2086
    for dset in $(union_sets ${all_sets} ${train_set}); do   # and dump/raw/<train_set>_sp, if made
        python -m espnet_kd.bin.make_shapes --data_dir "dump/raw/${dset}" --out_dir "${shape_dir}/${dset}" \
            --token_list "${tgt_token_list}" --token_type "${tgt_token_type}" "${tgt_bpe_opts[@]}"
    done
    stage_end
fi

if stage_on 4; then
    stage_begin 4 "feature statistics of the ST input (global MVN) → ${stats_dir}"
    # what collect_stats reads: the frontend settings of the ST config, the audio of both sets
    stats_fingerprint=("${st_config}" "${tgt_token_dir}" "${src_token_dir}" "dump/raw/${train_set}/wav.scp"
        "dump/raw/${train_set}/text" "dump/raw/${valid_set}/wav.scp" "${shape_dir}/${train_set}/speech_shape"
        "${shape_dir}/${valid_set}/speech_shape" -- --fs "${fs}" "${st_opts[@]}")
    if redo="computing them again" stage_done "${stats_dir}/.done" "${stats_fingerprint[@]}" \
            && [ -f "${stats_dir}/train/feats_stats.npz" ]; then
        log "${stats_dir}/train/feats_stats.npz exists"
    else
        require_file "${tgt_token_list}" "${shape_dir}/${train_set}/speech_shape"
        rm -rf "${stats_dir:?}"
        # shellcheck disable=SC2046
        ${train_cmd} "${stats_dir}/collect_stats.log" \
            python -m espnet2.bin.st_train \
                --collect_stats true \
                --config "${st_config}" \
                --output_dir "${stats_dir}" \
                --ngpu 0 \
                --use_preprocessor true \
                "${st_opts[@]}" \
                --frontend_conf fs="${fs}" \
                --normalize none \
                $(st_data_opts "dump/raw/${train_set}" "${shape_dir}/${train_set}") \
                --batch_type unsorted --batch_size 16 \
                --use_matplotlib false --use_tensorboard false --use_wandb false
        require_file "${stats_dir}/train/feats_stats.npz"
        mark_done "${stats_dir}/.done" "${stats_fingerprint[@]}"
    fi
    stage_end
fi

# mt_data_opts <source file name> <target file name> <shape file> [<train dir> <its shape dir>]: an MT model's
# data options (batches sorted by the translation's length in target tokens), on the training set as --train_set
# names it (text only: its speed-perturbed copies would repeat each sentence once per factor), or on <train dir>.
mt_data_opts() {
    local src=$1 tgt=$2 shape=$3 train_dir=${4:-dump/raw/${orig_train_set}} train_shapes=${5:-${shape_dir}/${orig_train_set}}
    echo --train_data_path_and_name_and_type "${train_dir}/${src},src_text,text" \
         --train_data_path_and_name_and_type "${train_dir}/${tgt},text,text" \
         --train_shape_file "${train_shapes}/${shape}" \
         --valid_data_path_and_name_and_type "dump/raw/${valid_set}/${src},src_text,text" \
         --valid_data_path_and_name_and_type "dump/raw/${valid_set}/${tgt},text,text" \
         --valid_shape_file "${shape_dir}/${valid_set}/${shape}" \
         --fold_length 150
}

if stage_on 5; then
    stage_begin 5 "MT teacher (text.${src_lang} → text) → ${teacher_dir}"
    # reads dump/raw/{train,valid}/{text.<src_lang>,text}; writes exp/mt_teacher/valid.acc.ave.pth
    # shellcheck disable=SC2046
    run_training espnet2.bin.mt_train "${teacher_dir}" "${mt_config}" "${tgt_opts[@]}" "${src_opts[@]}" \
        $(mt_data_opts "text.${src_lang}" text "text_shape.${tgt_token_type}")
    if [ "${teacher_folds}" -gt 1 ] && [ "${need_nbest}" != true ] && [ "${need_topk}" != true ]; then
        log "--teacher_folds ${teacher_folds}: no method of --methods learns from the teacher; no fold teachers trained"
    elif [ "${teacher_folds}" -gt 1 ]; then
        # held-out teachers: reads dump/raw/<train_set>; writes dump/raw/<train_set>_foldsK/fold<k>/{heldout,rest}/
        # (+ folds.json; split again when the training set changes) and their shapes, then exp/mt_teacher_fold<k>/,
        # trained on fold<k>/rest (every fold but k), --student_nj at a time
        if redo="splitting again" stage_done "${folds_dir}/.done" "dump/raw/${orig_train_set}" -- --num_folds "${teacher_folds}"; then
            log "${folds_dir} is split"
        else
            python -m espnet_kd.bin.folds split --data_dir "dump/raw/${orig_train_set}" --num_folds "${teacher_folds}" \
                --out_dir "${folds_dir}"
            mark_done "${folds_dir}/.done" "dump/raw/${orig_train_set}" -- --num_folds "${teacher_folds}"
        fi
        student_pool
        for ((fold = 1; fold <= teacher_folds; fold++)); do
            fold_shapes=${shape_dir}/${orig_train_set}${folds_suffix}/fold${fold}
            python -m espnet_kd.bin.make_shapes --data_dir "${folds_dir}/fold${fold}/rest" --out_dir "${fold_shapes}" \
                --token_list "${tgt_token_list}" --token_type "${tgt_token_type}" "${tgt_bpe_opts[@]}"
            # shellcheck disable=SC2046
            pool_run "mt_teacher_fold${fold}" \
            run_training espnet2.bin.mt_train "$(fold_teacher_dir "${fold}")" "${mt_config}" "${tgt_opts[@]}" "${src_opts[@]}" \
                $(mt_data_opts "text.${src_lang}" text "text_shape.${tgt_token_type}" "${folds_dir}/fold${fold}/rest" "${fold_shapes}")
        done
        pool_wait "fold teacher training" "see $(fold_teacher_dir '<k>')/train.log"
        train_env=()
    fi
    stage_end
fi

if stage_on 6; then
    stage_begin 6 "backward MT (text → text.${src_lang}) → ${backward_dir}"
    if [ "${need_backward}" = true ]; then
        # reads the same files as stage 5, the other way round; writes exp/mt_backward/
        # shellcheck disable=SC2046
        run_training espnet2.bin.mt_train "${backward_dir}" "${backward_mt_config}" "${backward_opts[@]}" \
            $(mt_data_opts text "text.${src_lang}" "text_shape.${tgt_token_type}")
    else
        log "no qe: method in --methods (and --backward_mt ${backward_mt}): skipped"
    fi
    stage_end
fi

# mt_empty_opts <data dir>: sets empty_opts, the MT decoding option for <data dir>/text.<src_lang>: an empty
# transcript (a MuST-C test set keeps some; an ASR 1-best of an unlabeled set can be one) gets an empty
# translation (--empty_inputs empty_output) rather than stopping the decode; none without empty transcripts.
mt_empty_opts() {
    empty_opts=()
    awk 'NF < 2 { found = 1; exit } END { exit !found }' "$1/text.${src_lang}" || return 0
    [ "${decoder}" = espnet_kd ] || die "$1/text.${src_lang} has empty transcripts, which" \
        "espnet2.bin.mt_inference cannot decode: use --decoder espnet_kd (empty input → empty translation)"
    empty_opts=(--empty_inputs empty_output)
}

# mt_nbest <data dir> <out dir> [<teacher dir>]: the MT teacher's (default: exp/mt_teacher) --nbest best translations
# of <data dir>/text.<src_lang> → <out dir>/nbest.jsonl, {n}best_recog/ (skipped when its .done records this teacher,
# input, config and options)
mt_nbest() {
    local data_dir=$1 out_dir=$2 model_dir=${3:-${teacher_dir}} empty_opts
    mt_empty_opts "${data_dir}"
    decode_done_word=complete decode_split mt "${model_dir}" "${data_dir}" "text.${src_lang}" \
        "${out_dir}" "${mt_nbest_config}" --nbest "${nbest}" "${empty_opts[@]}"
    if [ "${decoder}" = espnet ] && [ ! -f "${out_dir}/nbest.jsonl" ]; then
        # ESPnet's own n-best dirs → nbest.jsonl (no per-token log-probs: logp null, so no qe:logp)
        python -m espnet_kd.bin.nbest_from_espnet --nbest "${nbest}" --out_dir "${out_dir}" \
            --token_list "${tgt_token_list}" --data_dir "${data_dir}" "${out_dir}"/logdir/output.*
    fi
}

# add_transcripts <set>: dump/raw/<set>_transcribed/, the unlabeled set dump/raw/<set> with --unlabeled_asr's 1-best
# (exp/asr_transcripts_<set>/text) as its text.<src_lang>, the MT teacher's input; an empty transcript stays empty
# (the MT teacher translates it as empty, and the selection drops it). Skipped when its .done records both.
add_transcripts() {
    local dset=$1 out_dir="dump/raw/$1_transcribed" hyp="${expdir}/asr_transcripts_$1/text"
    if redo="transcribing again" stage_done "${out_dir}/.done" "dump/raw/${dset}" "${hyp}"; then
        log "${out_dir} is made"; return
    fi
    require_file "${hyp}"
    rm -rf "${out_dir}.tmp"; cp -r "dump/raw/${dset}" "${out_dir}.tmp"; rm -f "${out_dir}.tmp/.done"
    # every utterance of the set, with its hypothesis or an empty line
    awk 'NR == FNR { split($0, f, " "); id = f[1]; sub(/^[^ ]+ ?/, ""); hyp[id] = $0; next }
         { print $1 " " ((($1) in hyp) ? hyp[$1] : "") }' "${hyp}" "${out_dir}.tmp/utt2spk" \
        > "${out_dir}.tmp/text.${src_lang}"
    rm -rf "${out_dir:?}"; mv "${out_dir}.tmp" "${out_dir}"
    mark_done "${out_dir}/.done" "dump/raw/${dset}" "${hyp}"
}

if stage_on 7; then
    stage_begin 7 "MT teacher ${nbest}-best on ${train_set} transcripts → ${nbest_dir}/nbest.jsonl"
    if [ "${need_nbest}" != true ]; then
        log "no pseudo-label method in --methods: skipped"
    else
        if [ "${teacher_folds}" -eq 1 ]; then
            # reads exp/mt_teacher, dump/raw/<train_set>/text.<src_lang>; writes nbest.jsonl, {n}best_recog/
            # (skipped when its .done records this teacher, input, config and options; decoded again otherwise)
            mt_nbest "dump/raw/${train_set}" "${nbest_dir}"
        else
            # held-out teachers: teacher k on fold k (exp/mt_teacher_fold<k>/nbest_heldout/), then the folds joined in
            # the training set's order → exp/mt_teacher/nbest_<train_set>_foldsK/ (joined again when a fold changes)
            fold_nbest_dirs=()
            for ((fold = 1; fold <= teacher_folds; fold++)); do
                mt_nbest "${folds_dir}/fold${fold}/heldout" "$(fold_teacher_dir "${fold}")/nbest_heldout" "$(fold_teacher_dir "${fold}")"
                fold_nbest_dirs+=("$(fold_teacher_dir "${fold}")/nbest_heldout")
            done
            nbest_inputs=("${fold_nbest_dirs[@]/%//nbest.jsonl}" "dump/raw/${train_set}")
            if redo="joining again" stage_done "${nbest_dir}/.done" "${nbest_inputs[@]}" \
                    && [ -f "${nbest_dir}/nbest.jsonl" ]; then
                log "${nbest_dir} is joined"
            else
                python -m espnet_kd.bin.folds merge_nbest --data_dir "dump/raw/${train_set}" \
                    --token_list "${tgt_token_list}" --out_dir "${nbest_dir}" "${fold_nbest_dirs[@]}"
                mark_done "${nbest_dir}/.done" "${nbest_inputs[@]}"
            fi
        fi
        # the unlabeled sets (<method>+unlabeled): --unlabeled_asr's transcripts, then the MT teacher; or --st_teacher
        for dset in ${unlabeled_sets}; do
            [ "${need_unlabeled}" = true ] || break
            if [ -n "${st_teacher}" ]; then
                # reads --st_teacher, dump/raw/<set>/wav.scp; writes exp/st_teacher_nbest_<set>/nbest.jsonl
                decode_done_word=complete decode_split st "${st_teacher}" "dump/raw/${dset}" wav.scp \
                    "${expdir}/st_teacher_nbest_${dset}" "${st_teacher_config}" --nbest "${nbest}"
                continue
            fi
            # reads --unlabeled_asr, dump/raw/<set>/wav.scp; writes exp/asr_transcripts_<set>/text (its 1-best), then
            # dump/raw/<set>_transcribed/ (the set with that text as text.<src_lang>) and the MT teacher's n-best on it
            decode_split asr "${unlabeled_asr}" "dump/raw/${dset}" wav.scp "${expdir}/asr_transcripts_${dset}" \
                "${unlabeled_asr_config}"
            add_transcripts "${dset}"
            mt_nbest "dump/raw/${dset}_transcribed" "${teacher_dir}/nbest_${dset}"
        done
    fi
    stage_end
fi

# select_labels <data dir> <n-best list> <out name> <method> [select options...]: the pseudo-labels <method> picks
# from the n-best list for <data dir> → dump/raw/<out name>/ (+ select_report.json) and its shapes
# exp/shapes/<out name>/; skipped when its .done records this n-best list, data, tokens, backward MT and options.
select_labels() {
    local data_dir=$1 nbest_jsonl=$2 name=$3 sel=$4; shift 4
    local out_dir="dump/raw/${name}" qe_opts=()
    require_file "${nbest_jsonl}"
    # qe:backward and qe:combined score each hypothesis with the backward MT of stage 6 (does it give the transcript back?)
    case "${sel}" in
        qe:backward|qe:combined)
            require_file "${backward_dir}/valid.acc.ave.pth"
            qe_opts=(--source_text "text.${src_lang}" --qe_backward_config "${backward_dir}/config.yaml"
                     --qe_backward_model "${backward_dir}/valid.acc.ave.pth") ;;
    esac
    # its .done records the n-best list, the data, the tokens, the backward MT and the options
    # shellcheck disable=SC2046,SC2086
    local fingerprint=("${nbest_jsonl}" "${data_dir}" "${tgt_token_dir}"
                       $(paths_in "${qe_opts[@]}") -- --method "${sel}" "${qe_opts[@]}" ${select_opts} "$@")
    if redo="selecting again" stage_done "${out_dir}/.done" "${fingerprint[@]}"; then
        log "${out_dir} is selected"; return
    fi
    # reads the n-best list and the data dir; writes the pseudo-labelled dir and its report
    # shellcheck disable=SC2086
    python -m espnet_kd.bin.select --nbest_jsonl "${nbest_jsonl}" \
        --data_dir "${data_dir}" --method "${sel}" --out_dir "${out_dir}" \
        "${qe_opts[@]}" ${select_opts} "$@"
    python -m espnet_kd.bin.make_shapes --data_dir "${out_dir}" --out_dir "${shape_dir}/${name}" \
        --token_list "${tgt_token_list}" --token_type "${tgt_token_type}" "${tgt_bpe_opts[@]}" \
        --base_data_dir "${data_dir}"
    mark_done "${out_dir}/.done" "${fingerprint[@]}"
}

if stage_on 8; then
    stage_begin 8 "pseudo-label selection → dump/raw/${train_set}_<tag>"
    # reads the n-best lists and dump/raw/<train_set> (and the unlabeled sets); writes dump/raw/<train_set>_<tag>/
    # and its shapes (<method>+unlabeled: dump/raw/<set>_<tag>/ of each unlabeled set, labelled without references
    # through --unlabeled_select_opts, then dump/raw/<train_set>_<tag>_unl/: all combined)
    for i in "${!method_tags[@]}"; do
        [ "${method_kinds[$i]}" = selection ] || continue
        sel=${method_select[$i]}; tag=${method_tags[$i]}
        if [ "${method_unlabeled[$i]}" != true ]; then
            select_labels "dump/raw/${train_set}" "${nbest_dir}/nbest.jsonl" "${train_set}_${tag}${labels_suffix}" "${sel}"
            continue
        fi
        base_tag=${method_base_tags[$i]}
        select_labels "dump/raw/${train_set}" "${nbest_dir}/nbest.jsonl" "${train_set}_${base_tag}${labels_suffix}" "${sel}"
        parts=("dump/raw/${train_set}_${base_tag}${labels_suffix}")
        for dset in ${unlabeled_sets}; do
            if [ -n "${st_teacher}" ]; then
                data_dir="dump/raw/${dset}"; nbest_jsonl="${expdir}/st_teacher_nbest_${dset}/nbest.jsonl"
            else
                data_dir="dump/raw/${dset}_transcribed"; nbest_jsonl="${teacher_dir}/nbest_${dset}/nbest.jsonl"
            fi
            # shellcheck disable=SC2086
            select_labels "${data_dir}" "${nbest_jsonl}" "${dset}_${base_tag}${labels_suffix}" "${sel}" --reference_text none \
                ${unlabeled_select_opts}
            parts+=("dump/raw/${dset}_${base_tag}${labels_suffix}")
        done
        combine_labelled "dump/raw/${train_set}_${tag}${labels_suffix}" "${shape_dir}/${train_set}_${tag}${labels_suffix}" \
            "${parts[@]}"
    done
    stage_end
fi

# topk_dir <set>: where the MT teacher's top-k cache of a set goes (the training set's, from held-out teachers:
# topk_<train_set>_foldsK).
topk_dir() { if [ "$1" = "${train_set}" ]; then echo "${teacher_dir}/topk_$1${folds_suffix}"; else echo "${teacher_dir}/topk_$1"; fi; }

# topk_cache <teacher dir> <data dir> <out dir>: the teacher's top-k cache of <data dir> (skipped when its .done
# records this teacher, data and k; a cache of another teacher, data or k goes, an unfinished one resumes: dump_topk
# refuses to resume one started with other settings, naming the dir to remove)
topk_cache() {
    local model_dir=$1 data_dir=$2 out_dir=$3
    local fingerprint=("${model_dir}/config.yaml" "${model_dir}/valid.acc.ave.pth"
                       "${data_dir}/text.${src_lang}" "${data_dir}/text" -- --k "${kd_topk}")
    if redo="dumping it again" stage_done "${out_dir}/.done" "${fingerprint[@]}" && [ -f "${out_dir}/meta.json" ]; then
        log "${out_dir} is complete"; return
    fi
    case "${fingerprint_status}" in changed|legacy) rm -rf "${out_dir:?}" ;; esac
    require_file "${model_dir}/valid.acc.ave.pth" "${data_dir}/text.${src_lang}" "${data_dir}/text"
    # reads the teacher, the transcripts (its input) and the references (teacher-forced);
    # writes the sharded cache, meta.json last (finished shards are kept on a rerun)
    # (one CPU job of --nj shards, or one job per GPU: run_topk_dump in scripts/common.sh)
    run_topk_dump "${out_dir}" --teacher_kind mt \
        --teacher_config "${model_dir}/config.yaml" --teacher_model_file "${model_dir}/valid.acc.ave.pth" \
        --data_path_and_name_and_type "${data_dir}/text.${src_lang},src_text,text" \
        --data_path_and_name_and_type "${data_dir}/text,text,text" \
        --k "${kd_topk}" --batch_size 16
    require_file "${out_dir}/meta.json"
    mark_done "${out_dir}/.done" "${fingerprint[@]}"
}

if stage_on 9; then
    stage_begin 9 "MT teacher top-${kd_topk} cache on ${train_set} and ${valid_set} → $(topk_dir '<set>')"
    if [ "${need_topk}" != true ]; then
        log "no word-KD method in --methods: skipped"
    else
        # the training set's cache from the fold teachers (--teacher_folds K): fold k's from teacher k, then joined
        if [ "${teacher_folds}" -gt 1 ]; then
            fold_caches=()
            for ((fold = 1; fold <= teacher_folds; fold++)); do
                topk_cache "$(fold_teacher_dir "${fold}")" "${folds_dir}/fold${fold}/heldout" "$(fold_teacher_dir "${fold}")/topk_heldout"
                fold_caches+=("$(fold_teacher_dir "${fold}")/topk_heldout")
            done
            out_dir=$(topk_dir "${train_set}")
            cache_inputs=("${fold_caches[@]/%//meta.json}" "dump/raw/${train_set}")
            if redo="joining again" stage_done "${out_dir}/.done" "${cache_inputs[@]}" && [ -f "${out_dir}/meta.json" ]; then
                log "${out_dir} is joined"
            else
                # reads the folds' caches; writes exp/mt_teacher/topk_<train_set>_foldsK/ (meta.json names each fold's teacher)
                python -m espnet_kd.bin.folds merge_topk --data_dir "dump/raw/${train_set}" --out_dir "${out_dir}" \
                    "${fold_caches[@]}"
                mark_done "${out_dir}/.done" "${cache_inputs[@]}"
            fi
        else
            topk_cache "${teacher_dir}" "dump/raw/${train_set}" "$(topk_dir "${train_set}")"
        fi
        topk_cache "${teacher_dir}" "dump/raw/${valid_set}" "$(topk_dir "${valid_set}")"
    fi
    stage_end
fi

if stage_on 10; then
    stage_begin 10 "ST students (${method_tags[*]}; encoder: ${pretrained_asr:-from scratch})"
    student_pool
    for student_seed in ${seeds}; do
        suffix=$(seed_suffix "${student_seed}" "${first_seed}")
        for i in "${!method_tags[@]}"; do
            tag=${method_tags[$i]}
            train_dir="dump/raw/${train_set}"; shapes="${shape_dir}/${train_set}"
            case "${method_kinds[$i]}" in
                wordkd_ft) continue ;;  # stage 11
                selection) train_dir="dump/raw/${train_set}_${tag}${labels_suffix}"; shapes="${shape_dir}/${train_set}_${tag}${labels_suffix}" ;;
            esac
            require_file "${train_dir}/text" "${shapes}/speech_shape" "${stats_dir}/train/feats_stats.npz"
            if [ "${method_kinds[$i]}" = wordkd ]; then
                require_file "${wordkd_config}" "$(topk_dir "${train_set}")/meta.json" "$(topk_dir "${valid_set}")/meta.json"
                # reads the references, the MT teacher and its top-k caches (the teacher itself is not run);
                # writes exp/student_wordkd[_seedN]/
                # shellcheck disable=SC2046
                train_seed=${student_seed} pool_run "${tag}${suffix}" \
                run_training espnet_kd.bin.st_kd_train "$(student_dir "${tag}" "${suffix}")" "${wordkd_config}" "${st_opts[@]}" \
                    --frontend_conf fs="${fs}" --normalize_conf stats_file="${stats_dir}/train/feats_stats.npz" \
                    $(st_data_opts "${train_dir}" "${shapes}") \
                    "${init_opts[@]}" \
                    --kd_teacher_config "${teacher_dir}/config.yaml" \
                    --kd_teacher_model_file "${teacher_dir}/valid.acc.ave.pth" --kd_topk "${kd_topk}" \
                    --train_data_path_and_name_and_type "$(topk_dir "${train_set}"),kd_topk,kd_topk" \
                    --valid_data_path_and_name_and_type "$(topk_dir "${valid_set}"),kd_topk,kd_topk"
            else
                # reads the training dir (references or pseudo-labels); writes exp/student_<tag>[_seedN]/
                # shellcheck disable=SC2046
                train_seed=${student_seed} pool_run "${tag}${suffix}" \
                run_training espnet2.bin.st_train "$(student_dir "${tag}" "${suffix}")" "${st_config}" "${st_opts[@]}" \
                    "${init_opts[@]}" \
                    --frontend_conf fs="${fs}" --normalize_conf stats_file="${stats_dir}/train/feats_stats.npz" \
                    $(st_data_opts "${train_dir}" "${shapes}")
            fi
        done
    done
    pool_wait "ST student training" "see exp/student_<tag>/train.log"
    stage_end
fi

if stage_on 11; then
    stage_begin 11 "fine-tuning the word-KD student on references → exp/student_wordkd_ft"
    if [[ " ${method_kinds[*]} " != *" wordkd_ft "* ]]; then
        log "wordkd_ft not in --methods: skipped"
    else
        student_pool
        for student_seed in ${seeds}; do
            suffix=$(seed_suffix "${student_seed}" "${first_seed}")
            require_file "$(student_dir wordkd "${suffix}")/valid.acc.ave.pth"
            # reads exp/student_wordkd[_seedN] (initial weights) and the references; writes exp/student_wordkd_ft[_seedN]/
            # shellcheck disable=SC2046
            train_seed=${student_seed} pool_run "wordkd_ft${suffix}" \
            run_training espnet2.bin.st_train "$(student_dir wordkd_ft "${suffix}")" "${finetune_config}" "${st_opts[@]}" \
                --init_param "$(student_dir wordkd "${suffix}")/valid.acc.ave.pth" \
                --frontend_conf fs="${fs}" --normalize_conf stats_file="${stats_dir}/train/feats_stats.npz" \
                $(st_data_opts "dump/raw/${train_set}" "${shape_dir}/${train_set}")
        done
        pool_wait "fine-tuning" "see exp/student_wordkd_ft<_seedN>/train.log"
    fi
    stage_end
fi

if stage_on 12; then
    stage_begin 12 "decoding (${test_sets}): MT teacher on transcripts, ST students on audio"
    for dset in ${test_sets}; do
        # reads dump/raw/<set>/text.<src_lang>; writes exp/mt_teacher/decode_<set>/text. A test set's empty
        # transcript (MuST-C keeps them) gets an empty translation rather than stopping the decode.
        mt_empty_opts "dump/raw/${dset}"
        decode_split mt "${teacher_dir}" "dump/raw/${dset}" "text.${src_lang}" \
            "${teacher_dir}/${decode_prefix}${dset}" "${mt_inference_config}" "${empty_opts[@]}"
        for student in ${student_dirs}; do
            # reads dump/raw/<set>/wav.scp; writes exp/student_<tag>[_seedN]/decode_<set>/text
            decode_split st "${student}" "dump/raw/${dset}" wav.scp \
                "${student}/${decode_prefix}${dset}" "${st_inference_config}"
        done
    done
    stage_end
fi

if stage_on 13; then
    stage_begin 13 "BLEU and chrF with sacrebleu"
    for model in ${teacher_dir} ${student_dirs}; do
        for dset in ${test_sets}; do
            require_file "${model}/${decode_prefix}${dset}/text"
            # reads the references dump/raw/<set>/text; writes score.json (with sacrebleu's signatures)
            python -m espnet_kd.bin.score_bleu --ref "dump/raw/${dset}/text" \
                --hyp "${model}/${decode_prefix}${dset}/text" --out "${model}/${decode_prefix}${dset}/score.json"
        done
    done
    stage_end
fi

if stage_on 14; then
    stage_begin 14 "results table → ${results_md}"
    student_args=()
    for student_seed in ${seeds}; do
        suffix=$(seed_suffix "${student_seed}" "${first_seed}")
        for i in "${!method_tags[@]}"; do
            student_args+=(--student "${method_words[$i]}=$(student_dir "${method_tags[$i]}" "${suffix}")")
        done
    done
    alternatives_args=()   # --alternatives_dir: each test set's file of every correct translation, where there is one
    for dset in ${test_sets}; do
        alternatives_file=${alternatives_dir}/${dset}/alternatives/text.${tgt_lang}.jsonl
        [ -z "${alternatives_dir}" ] || [ ! -f "${alternatives_file}" ] || alternatives_args+=(--alternatives "${dset}=${alternatives_file}")
    done
    # reads exp/*/decode_<set>/score.json and the models' config.yaml (and the alternatives files);
    # writes RESULTS.md
    # shellcheck disable=SC2086
    title=${results_title}
    [ "${teacher_folds}" -eq 1 ] || title+=" — the KD students' labels from ${teacher_folds} held-out MT teachers (--teacher_folds)"
    python -m espnet_kd.bin.st_results_table --title "${title}" --teacher "${teacher_dir}" \
        "${student_args[@]}" --test_sets ${test_sets} --src_lang "${src_lang}" --tgt_lang "${tgt_lang}" \
        --decode_prefix "${decode_prefix}" "${alternatives_args[@]}" --out "${results_md}"
    cat "${results_md}"
    stage_end
fi

log "finished stages ${stage}-${stop_stage}"

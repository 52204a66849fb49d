#!/usr/bin/env bash
# Speech translation by knowledge distillation on the embedded synthetic corpus (no download):
# English speech → Italian (default) or German (--tgt_lang de). An MT teacher reads the
# transcripts; ST students of one architecture learn from the references (baseline) or from
# the teacher (Seq-KD, Seq-Inter, word KD, word KD + fine-tuning), as in Gaido et al. 2020.
# The students' encoder starts from the ASR teacher of ../asr1 (same corpus, same conformer; Gaido
# et al. also initialise from ASR): run ../asr1 first (make demo does), or pass --pretrained_asr none.
#   ./run.sh                                   # everything, stages 1-14
#   ./run.sh --pretrained_asr none             # students from scratch (no ../asr1 needed)
#   ./run.sh --tgt_lang de                     # German (use a fresh recipe copy, or clean data/ dump/ exp/)
#   ./run.sh --methods "baseline seqkd"        # some methods only
#   ./run.sh --local_data_opts "--size small" --stage 1
set -euo pipefail

# --tgt_lang and --local_data_opts are read here (the corpus's data.sh needs the language too);
# everything else goes to st.sh, which refuses unknown options.
tgt_lang=it
local_data_opts="--size default"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --tgt_lang|--tgt-lang) tgt_lang=$2; shift 2 ;;
        --tgt_lang=*|--tgt-lang=*) tgt_lang=${1#*=}; shift ;;
        --local_data_opts|--local-data-opts) local_data_opts=$2; shift 2 ;;
        --local_data_opts=*|--local-data-opts=*) local_data_opts=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
case "${tgt_lang}" in it|de) ;; *) echo "ERROR: $0: --tgt_lang must be it or de, not '${tgt_lang}'" >&2; exit 1 ;; esac

# Everything else is st.sh's default: sets train, dev and test, source language en, configs
# conf/{train_mt,train_mt_backward,train_st,train_st_wordkd,finetune_st,decode_mt_nbest,decode_mt,
# decode_st}.yaml, the teacher's 8-best and top-8, and every method: baseline seqkd interp:bleu qe:backward
# wordkd wordkd_ft. The corpus is small: 150 BPE tokens for the English transcripts, 400 for the translations (a
# 150-piece target BPE spells most Italian words letter by letter, and the MT teacher's 1-best then writes doubled
# letters once: 104 of 800 training labels wrong, against 1 of 800 with 400; README, "translation alternatives").
# exec: this process becomes st.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
. ./db.sh   # MINI_SYNTH: where local/data.sh generates the corpus (its translation alternatives too)
exec ./st.sh \
    --tgt_lang "${tgt_lang}" \
    --alternatives_dir "${MINI_SYNTH}" \
    --local_data_opts "--tgt_lang ${tgt_lang} ${local_data_opts}" \
    --src_nbpe 150 --tgt_nbpe 400 \
    --pretrained_asr ../asr1/exp/teacher/valid.acc.ave.pth \
    --results_title "ST by knowledge distillation — mini_synth en→${tgt_lang} (embedded corpus)" \
    "${args[@]}"

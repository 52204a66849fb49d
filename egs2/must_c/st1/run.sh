#!/usr/bin/env bash
# Speech translation by knowledge distillation on MuST-C (English speech → --lang, German by default),
# in the setting of Gaido et al. 2020: an MT teacher trained on the transcripts, ST students of one
# architecture trained on references (baseline), on the teacher's outputs (Seq-KD, Seq-Inter) or on its
# token distributions (word KD, then fine-tuning). GPU defaults; see README.md.
#   ./run.sh                                   # everything, stages 1-14, en-de
#   ./run.sh --lang it                         # another pair (use a fresh copy, or clean data/ dump/ exp/)
#   ./run.sh --methods "baseline wordkd wordkd_ft" --stage 10
set -euo pipefail

# --lang and --local_data_opts are read here (data.sh needs the language too); the rest goes to st.sh.
lang=de
local_data_opts=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --lang) lang=$2; shift 2 ;;
        --lang=*) lang=${1#*=}; shift ;;
        --local_data_opts|--local-data-opts) local_data_opts=$2; shift 2 ;;
        --local_data_opts=*|--local-data-opts=*) local_data_opts=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done

# exec: this process becomes st.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
exec ./st.sh \
    --train_set "train.en-${lang}" \
    --valid_set "dev.en-${lang}" \
    --test_sets "dev.en-${lang} tst-COMMON.en-${lang}" \
    --src_lang en \
    --tgt_lang "${lang}" \
    --local_data_opts "--lang ${lang} --src_case lc.rm --tgt_case tc ${local_data_opts}" \
    --src_token_type bpe --src_nbpe 8000 \
    --tgt_token_type bpe --tgt_nbpe 8000 \
    --mt_config conf/train_mt.yaml \
    --backward_mt_config conf/train_mt.yaml \
    --st_config conf/train_st.yaml \
    --finetune_config conf/finetune_st.yaml \
    --wordkd_config conf/train_st_wordkd.yaml \
    --mt_nbest_config conf/decode_mt_nbest.yaml \
    --mt_inference_config conf/decode_mt.yaml \
    --st_inference_config conf/decode_st.yaml \
    --nbest 8 --topk 8 \
    --ngpu 1 --nj 16 \
    --methods "baseline seqkd interp:bleu qe:backward wordkd wordkd_ft" \
    --results_title "ST by knowledge distillation — MuST-C en→${lang}" \
    "${args[@]}"

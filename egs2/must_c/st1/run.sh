#!/usr/bin/env bash
# Speech translation by knowledge distillation on MuST-C (English speech → --tgt_lang, German by default),
# in the setting of Gaido et al. 2020: an MT teacher trained on the transcripts, ST students of one
# architecture trained on references (baseline), on the teacher's outputs (Seq-KD, Seq-Inter) or on its
# token distributions (word KD, then fine-tuning). GPU defaults; see README.md.
#   ./run.sh                                   # everything, stages 1-14, en-de
#   ./run.sh --tgt_lang it                     # another pair (use a fresh copy, or clean data/ dump/ exp/)
#   ./run.sh --methods "baseline wordkd wordkd_ft" --stage 10
set -euo pipefail

# --tgt_lang and --local_data_opts are read here (data.sh needs the language too); the rest goes to st.sh.
tgt_lang=de
local_data_opts=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --tgt_lang|--tgt-lang) tgt_lang=$2; shift 2 ;;
        --tgt_lang=*|--tgt-lang=*) tgt_lang=${1#*=}; shift ;;
        --lang|--lang=*) echo "ERROR: ${0##*/}: --lang was renamed: use --tgt_lang (e.g. --tgt_lang it)" >&2; exit 1 ;;
        --local_data_opts|--local-data-opts) local_data_opts=$2; shift 2 ;;
        --local_data_opts=*|--local-data-opts=*) local_data_opts=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done

# Everything else is st.sh's default: source language en, configs conf/{train_mt,train_st,train_st_wordkd,
# finetune_st,decode_mt_nbest,decode_mt,decode_st}.yaml, the teacher's 8-best and top-8 (Gaido et al.), and
# every method: baseline seqkd interp:bleu qe:backward wordkd wordkd_ft. The backward MT has the teacher's
# architecture (conf/train_mt.yaml). As ESPnet2's egs2/must_c/st1: 4000 BPE tokens a side (sentencepiece on the
# training transcripts and translations), the training set at speeds 0.9, 1.0 and 1.1 for the ST side (pass
# --speed_perturb_factors "" for one copy), train/dev utterances of 20 s or more dropped (st.sh's --max_wav_duration),
# tst-COMMON and tst-HE decoded (and dev, the table's first column).
# exec: this process becomes st.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
exec ./st.sh \
    --train_set "train.en-${tgt_lang}" \
    --valid_set "dev.en-${tgt_lang}" \
    --test_sets "dev.en-${tgt_lang} tst-COMMON.en-${tgt_lang} tst-HE.en-${tgt_lang}" \
    --tgt_lang "${tgt_lang}" \
    --local_data_opts "--lang ${tgt_lang} --src_case lc.rm --tgt_case tc ${local_data_opts}" \
    --src_nbpe 4000 --tgt_nbpe 4000 \
    --speed_perturb_factors "0.9 1.0 1.1" \
    --backward_mt_config conf/train_mt.yaml \
    --ngpu 1 --nj 16 \
    --results_title "ST by knowledge distillation — MuST-C en→${tgt_lang}" \
    "${args[@]}"

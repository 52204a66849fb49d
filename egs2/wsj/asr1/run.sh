#!/usr/bin/env bash
# ASR compression by sequence-level KD on WSJ (Mun'im, Inoue & Shinoda, ICASSP 2019):
# a ~31 M-parameter conformer teacher trained on si284, and students with ~1/10 of its
# parameters trained on the references (baseline), the teacher's 1-best (Seq-KD), its
# top-4 (multi-hypothesis Seq-KD), the n-best entry with the lowest WER (Seq-Inter), and the
# teacher's top-8 token distributions (word-level KD, conf/train_student_wordkd.yaml);
# WER on dev93 and eval92. Set WSJ0 / WSJ1 in db.sh first; see README.md for the GPU
# defaults and running times.
#   ./run.sh                                   # everything, stages 1-11
#   ./run.sh --stage 1 --stop_stage 1          # data preparation only
#   ./run.sh --stage 8 --methods "baseline 1best"
#   CMD_BACKEND=slurm SLURM_OPTS="--gres=gpu:1" ./run.sh --nj 32
set -euo pipefail

# Everything else is asr.sh's default: conf/{train_teacher,train_student,train_student_wordkd,decode_nbest,
# decode}.yaml, the teacher's 4-best, word KD from its top-8 (--kd_topk 8).
# exec: this process becomes asr.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
exec ./asr.sh \
    --train_set train_si284 \
    --valid_set test_dev93 \
    --test_sets "test_dev93 test_eval92" \
    --token_type bpe \
    --nbpe 500 \
    --methods "baseline 1best topk:4 interp:wer wordkd" \
    --ngpu 1 \
    --nj 16 \
    --results_title "ASR compression by sequence-level KD — WSJ (si284; dev93, eval92)" \
    "$@"

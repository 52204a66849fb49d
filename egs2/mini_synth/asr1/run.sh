#!/usr/bin/env bash
# ASR compression by sequence-level KD on the embedded synthetic corpus (no download).
# A ≈10x smaller student learns from a transformer teacher's beam-search hypotheses:
# baseline (references), Seq-KD (teacher 1-best), multi-hypothesis Seq-KD (teacher top-4).
#   ./run.sh                        # everything, stages 1-11
#   ./run.sh --stage 6 --stop_stage 7
#   ./run.sh --local_data_opts "--size tiny" --teacher_config conf/tuning/train_teacher_tiny.yaml ...
set -euo pipefail

# exec: this process becomes asr.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
exec ./asr.sh \
    --train_set train \
    --valid_set dev \
    --test_sets "dev test" \
    --token_type char \
    --teacher_config conf/train_teacher.yaml \
    --student_config conf/train_student.yaml \
    --nbest_config conf/decode_nbest.yaml \
    --inference_config conf/decode.yaml \
    --nbest 4 \
    --kd_methods "1best topk:4 interp:wer" \
    --results_title "ASR compression by sequence-level KD — mini_synth (embedded corpus)" \
    "$@"

#!/usr/bin/env bash
# ASR compression by sequence-level KD on the embedded synthetic corpus (no download).
# A ≈10x smaller student learns from a transformer teacher's beam-search hypotheses:
# baseline (references), Seq-KD (teacher 1-best), multi-hypothesis Seq-KD (teacher top-4),
# Seq-Inter (the n-best entry with the lowest WER).
#   ./run.sh                        # everything, stages 1-11
#   ./run.sh --stage 6 --stop_stage 7
#   ./run.sh --local_data_opts "--size tiny" --teacher_config conf/tuning/train_teacher_tiny.yaml ...
set -euo pipefail

# Everything else is asr.sh's default: sets train, dev and test ("dev test" decoded), char tokens,
# conf/{train_teacher,train_student,decode_nbest,decode}.yaml, the teacher's 4-best.
# exec: this process becomes asr.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
exec ./asr.sh \
    --methods "baseline 1best topk:4 interp:wer" \
    --results_title "ASR compression by sequence-level KD — mini_synth (embedded corpus)" \
    "$@"

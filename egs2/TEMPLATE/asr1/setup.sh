#!/usr/bin/env bash
# A new ASR recipe directory from this template (README.md, "Your own corpus"):
#   egs2/TEMPLATE/asr1/setup.sh egs2/mycorpus/asr1
#   egs2/TEMPLATE/asr1/setup.sh --data_src /corpora/mycorpus/data egs2/mycorpus/asr1
# makes <dir> with links to asr.sh, scripts/ and path.sh, copies of conf/ and cmd.sh (setup_recipe in
# scripts/common.sh says why), and a run.sh skeleton holding the corpus's choices (sets, sample rate, tokens,
# methods) and --data_src, the directory of its Kaldi data dirs (<data_src>/<set>/). Refuses a <dir> that exists
# and is not empty. Then: edit run.sh, and ./run.sh in <dir>.
set -euo pipefail

data_src=""     # the corpus's Kaldi data dirs, <data_src>/{train,dev,test}/, written into run.sh ("": set it there)
help_message="Usage: $0 [--data_src DIR] <new recipe dir, e.g. egs2/mycorpus/asr1>"
TEMPLATE_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
. "${TEMPLATE_DIR}/scripts/parse_options.sh"
. "${TEMPLATE_DIR}/scripts/common.sh"
[ $# -eq 1 ] || die "one argument, the new recipe directory, expected (got $#); ${help_message}"
dir=$1
# run.sh runs in <dir>: a relative --data_src is made absolute here, from where setup.sh was called
[ -z "${data_src}" ] || data_src=$(realpath -m -- "${data_src}")
corpus=$(basename "$(dirname "$(realpath -m -- "${dir}")")")

setup_recipe asr1 "${dir}"
cat > "${dir}/run.sh" <<EOF
#!/usr/bin/env bash
# ASR compression by knowledge distillation on ${corpus} (made by egs2/TEMPLATE/asr1/setup.sh).
# The corpus's choices are below; everything else is asr.sh's default (its header lists the stages,
# ./asr.sh --help every option and its value). conf/ is this recipe's copy of the template's configs,
# tuned on 800 training utterances on a CPU (README.md, "Your own corpus": sizes and what to change).
#   ./run.sh                                   # everything, stages 1-11
#   ./run.sh --stage 1 --stop_stage 2          # check and copy the data dirs, format the audio
#   ./run.sh --methods "baseline 1best" --teacher_config conf/tuning/train_teacher_tiny.yaml \\
#       --student_config conf/tuning/train_student_tiny.yaml --nbest_config conf/tuning/decode_nbest_tiny.yaml \\
#       --inference_config conf/tuning/decode_tiny.yaml   # a quick try of every stage (tiny models; rm -rf exp after)
set -euo pipefail

# The corpus in Kaldi form: a data dir per set, <data_src>/<set>/ with wav.scp, text, utt2spk (and optionally
# segments, spk2utt), the sets named by --train_set, --valid_set and --test_sets below; stage 1 checks them and
# copies them to data/ (the audio stays where wav.scp says: absolute paths, or relative to this directory).
# "" instead: stage 1 runs local/data.sh, a script of yours that writes data/<set>/ itself.
data_src=$(printf '%q' "${data_src}")

# --fs: the sample rate the models hear (conf/: 16 kHz features); audio at another rate is resampled by stage 2.
# --token_type: char (characters) or bpe (sentencepiece, --nbpe N). --methods: the students, in order (asr.sh's
# header: baseline, 1best, topk:K, interp:wer, qe:<scorer>, wordkd, wordkd_ft).
# exec: this process becomes asr.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
exec ./asr.sh \\
    --data_src "\${data_src}" \\
    --train_set train \\
    --valid_set dev \\
    --test_sets "dev test" \\
    --fs 16000 \\
    --token_type char \\
    --methods "baseline 1best topk:4 interp:wer" \\
    --results_title "ASR compression by sequence-level KD — ${corpus}" \\
    "\$@"
EOF
chmod +x "${dir}/run.sh"
log "made ${dir}: run.sh (edit its choices${data_src:+; --data_src ${data_src}}), conf/, cmd.sh; links asr.sh," \
    "scripts, path.sh → ${TEMPLATE_DIR}"

#!/usr/bin/env bash
# A new speech-translation recipe directory from this template (README.md, "Your own corpus"):
#   egs2/TEMPLATE/st1/setup.sh egs2/mycorpus/st1
#   egs2/TEMPLATE/st1/setup.sh --data_src /corpora/mycorpus/data egs2/mycorpus/st1
# makes <dir> with links to st.sh, tune_wordkd.sh, scripts/ and path.sh, copies of conf/ and cmd.sh
# (setup_recipe in scripts/common.sh says why), and a run.sh skeleton holding the corpus's choices (sets,
# languages, tokens, methods, the students' encoder initialisation) and --data_src, the directory of its Kaldi
# data dirs (<data_src>/<set>/ with text, the translation, and text.<src_lang>, the transcript). Refuses a <dir>
# that exists and is not empty. Then: edit run.sh, and ./run.sh in <dir>.
set -euo pipefail

data_src=""     # the corpus's Kaldi data dirs, <data_src>/{train,dev,test}/, written into run.sh ("": set it there)
help_message="Usage: $0 [--data_src DIR] <new recipe dir, e.g. egs2/mycorpus/st1>"
TEMPLATE_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
. "${TEMPLATE_DIR}/scripts/parse_options.sh"
. "${TEMPLATE_DIR}/scripts/common.sh"
[ $# -eq 1 ] || die "one argument, the new recipe directory, expected (got $#); ${help_message}"
dir=$1
# run.sh runs in <dir>: a relative --data_src is made absolute here, from where setup.sh was called
[ -z "${data_src}" ] || data_src=$(realpath -m -- "${data_src}")
corpus=$(basename "$(dirname "$(realpath -m -- "${dir}")")")

setup_recipe st1 "${dir}"
cat > "${dir}/run.sh" <<EOF
#!/usr/bin/env bash
# Speech translation by knowledge distillation from an MT teacher on ${corpus} (made by
# egs2/TEMPLATE/st1/setup.sh). The corpus's choices are below; everything else is st.sh's default (its header
# lists the stages, ./st.sh --help every option and its value). conf/ is this recipe's copy of the template's
# configs, tuned on 800 training utterances on a CPU (README.md, "Your own corpus": sizes and what to change).
#   ./run.sh                                   # everything, stages 1-14
#   ./run.sh --stage 1 --stop_stage 3          # check and copy the data dirs, format the audio, tokens
set -euo pipefail

# The corpus in Kaldi form: a data dir per set, <data_src>/<set>/ with wav.scp, text (the translation),
# text.<src_lang> (the transcript), utt2spk (and optionally segments, spk2utt), the sets named by --train_set,
# --valid_set and --test_sets below; stage 1 checks them and copies them to data/ (the audio stays where wav.scp
# says: absolute paths, or relative to this directory).
# "" instead: stage 1 runs local/data.sh, a script of yours that writes data/<set>/ itself.
data_src=$(printf '%q' "${data_src}")

# --src_lang: the transcripts' language (data/<set>/text.<src_lang>); --tgt_lang: the translations' (for the table).
# --*_nbpe: sentencepiece pieces per side (the template's configs: 150 on 800 utterances; char: --*_token_type char).
# --pretrained_asr: an ASR checkpoint whose encoder starts every ST student (Gaido et al.), e.g. the teacher of an
# asr1 recipe of this corpus made by egs2/TEMPLATE/asr1/setup.sh, ../asr1/exp/teacher/valid.acc.ave.pth (its
# conf/train_teacher.yaml has conf/train_st.yaml's encoder); none: from scratch.
# --methods: the students, in order (st.sh's header: baseline, seqkd, interp:bleu, qe:backward, wordkd, wordkd_ft).
# exec: this process becomes st.sh's, so that a signal to run.sh (kill, Ctrl-C) stops every stage and job
exec ./st.sh \\
    --data_src "\${data_src}" \\
    --train_set train \\
    --valid_set dev \\
    --test_sets "dev test" \\
    --src_lang en \\
    --tgt_lang de \\
    --fs 16000 \\
    --src_token_type bpe --src_nbpe 150 \\
    --tgt_token_type bpe --tgt_nbpe 150 \\
    --pretrained_asr none \\
    --methods "baseline seqkd interp:bleu qe:backward wordkd wordkd_ft" \\
    --results_title "ST by knowledge distillation — ${corpus}" \\
    "\$@"
EOF
chmod +x "${dir}/run.sh"
log "made ${dir}: run.sh (edit its choices${data_src:+; --data_src ${data_src}}), conf/, cmd.sh; links st.sh," \
    "tune_wordkd.sh, scripts, path.sh → ${TEMPLATE_DIR}"

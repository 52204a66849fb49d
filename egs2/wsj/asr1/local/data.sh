#!/usr/bin/env bash
# WSJ → Kaldi data dirs (espnet_kd.bin.prepare_wsj over espnet_kd.corpora.wsj; its docstring lists the index files and the
# transcript normalisation rules).
# Reads ${WSJ0} and ${WSJ1} (db.sh): the discs' index files (.ndx), .dot transcripts and .wv1
# SPHERE audio. Writes data/<set>/ (wav.scp text utt2spk spk2utt) for every set, and
# data/local/wsj/<set>.json (the options and what was found: counts, skipped utterances).
# A set already prepared with the same options is skipped; each set dir appears only when complete.
set -euo pipefail
sets="train_si284 test_dev93 test_eval92"   # of train_si284 train_si84 test_dev93 test_eval92 test_eval93
noise_word="<NOISE>"      # what [noise] markers become: <NOISE> (Kaldi's and ESPnet's marker: trained on, listed
                          # in data/nlsyms.txt and removed before WER scoring); none: dropped (not comparable)
verbal_punctuation=keep   # ,COMMA .PERIOD ...: keep (as Kaldi's and ESPnet's WSJ recipes), word (COMMA), drop
help_message="Usage: $0 [--sets \"${sets}\"] [--noise_word \"<NOISE>\"] [--verbal_punctuation keep]"
. scripts/parse_options.sh
[ -f ./path.sh ] && . ./path.sh
. ./db.sh

for corpus in WSJ0 WSJ1; do
    if [ -z "${!corpus}" ]; then
        echo "ERROR: $0: ${corpus} is not set: write the directory holding its LDC discs in db.sh" \
             "(or run with ${corpus}=/path ./run.sh)" >&2
        exit 1
    fi
done
# shellcheck disable=SC2086
python -m espnet_kd.bin.prepare_wsj --wsj0 "${WSJ0}" --wsj1 "${WSJ1}" --data_dir data \
    --sets ${sets} --noise_word "${noise_word}" --verbal_punctuation "${verbal_punctuation}"

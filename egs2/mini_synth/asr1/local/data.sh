#!/usr/bin/env bash
# Embedded corpus → Kaldi data dirs.
# Reads nothing (the corpus is synthesised with espeak-ng from a seed); writes the audio
# under ${MINI_SYNTH} (db.sh) and data/{train,dev,test}/ (wav.scp text text.en text.it
# text.de utt2spk spk2utt). With --unlabeled N (N > 0) also data/unlabeled/: N utterances of
# untranscribed audio (wav.scp utt2spk spk2utt, no text; the training voices, new sentences),
# their true texts apart, for analysis only, in ${MINI_SYNTH}/unlabeled/truth/{text.en,text.it,text.de};
# train, dev and test do not depend on N. Reruns with the same size, seed and N skip the work
# (another N makes or removes data/unlabeled alone).
set -euo pipefail
size=default      # tiny, small, default, or TRAIN:DEV:TEST utterance counts
seed=0            # corpus seed
nj=2              # synthesis processes
unlabeled=0       # utterances of the unlabeled set data/unlabeled (0: none)
generate=true     # false: only check that a generated corpus is there
help_message="Usage: $0 [--size default] [--seed 0] [--nj 2] [--unlabeled 0] [--generate true]"
. scripts/parse_options.sh
. ./db.sh

if [ "${generate}" = false ]; then
    dsets="train dev test"
    [ "${unlabeled}" = 0 ] || dsets+=" unlabeled"
    for dset in ${dsets}; do
        [ -f "data/${dset}/wav.scp" ] || { echo "ERROR: $0: data/${dset} not found and --generate false; corpus dir: ${MINI_SYNTH}" >&2; exit 1; }
    done
    exit 0
fi
python -m espnet_kd.bin.make_mini_synth --out_dir "${MINI_SYNTH}" --data_dir data \
    --size "${size}" --seed "${seed}" --nj "${nj}" --unlabeled "${unlabeled}"

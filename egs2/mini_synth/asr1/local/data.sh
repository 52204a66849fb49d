#!/usr/bin/env bash
# Embedded corpus → Kaldi data dirs.
# Reads nothing (the corpus is synthesised with espeak-ng from a seed); writes the audio
# under ${MINI_SYNTH} (db.sh) and data/{train,dev,test}/ (wav.scp text text.en text.it
# text.de utt2spk spk2utt). Reruns with the same size and seed skip the work.
set -euo pipefail
size=default      # tiny, small, default, or TRAIN:DEV:TEST utterance counts
seed=0            # corpus seed
nj=2              # synthesis processes
generate=true     # false: only check that a generated corpus is there
help_message="Usage: $0 [--size default] [--seed 0] [--nj 2] [--generate true]"
. scripts/parse_options.sh
. ./db.sh

if [ "${generate}" = false ]; then
    for dset in train dev test; do
        [ -f "data/${dset}/wav.scp" ] || { echo "ERROR: $0: data/${dset} not found and --generate false; corpus dir: ${MINI_SYNTH}" >&2; exit 1; }
    done
    exit 0
fi
python -m espnet_kd.bin.make_mini_synth --out_dir "${MINI_SYNTH}" --data_dir data \
    --size "${size}" --seed "${seed}" --nj "${nj}"

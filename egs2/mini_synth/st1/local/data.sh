#!/usr/bin/env bash
# Embedded corpus → Kaldi data dirs for speech translation.
# Reads nothing (the corpus is synthesised with espeak-ng from a seed); writes the audio under
# ${MINI_SYNTH} (db.sh), the corpus's own dirs under data/local/mini_synth/, and
# data/{train,dev,test}/ with `text` = the translation (--tgt_lang it or de) and `text.en` =
# the transcript. Reruns with the same size and seed reuse the audio.
set -euo pipefail
tgt_lang=it       # translation language: it or de
size=default      # tiny, small, default, or TRAIN:DEV:TEST utterance counts
seed=0            # corpus seed
nj=2              # synthesis processes
translation_variants=false   # true: translations with meaning-preserving alternatives per utterance
                             # (synonyms, word order, explicit pronouns; espnet_kd/corpora/variants.py)
help_message="Usage: $0 [--tgt_lang it|de] [--size default] [--seed 0] [--nj 2] [--translation_variants false]"
. scripts/parse_options.sh
. ./db.sh

case "${tgt_lang}" in it|de) ;; *) echo "ERROR: $0: --tgt_lang must be it or de, not '${tgt_lang}'" >&2; exit 1 ;; esac
python -m espnet_kd.bin.make_mini_synth --out_dir "${MINI_SYNTH}" --data_dir data/local/mini_synth \
    --size "${size}" --seed "${seed}" --nj "${nj}" --translation_variants "${translation_variants}"
for dset in train dev test; do
    src=data/local/mini_synth/${dset}
    tmp=data/.${dset}.tmp
    rm -rf "${tmp}"; mkdir -p "${tmp}"
    cp "${src}"/{wav.scp,utt2spk,spk2utt,text.en} "${tmp}/"
    cp "${src}/text.${tgt_lang}" "${tmp}/text"
    rm -rf "data/${dset}"; mv "${tmp}" "data/${dset}"
done

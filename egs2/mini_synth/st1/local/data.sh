#!/usr/bin/env bash
# Embedded corpus → Kaldi data dirs for speech translation.
# Reads nothing (the corpus is synthesised with espeak-ng from a seed); writes the audio under
# ${MINI_SYNTH} (db.sh), the corpus's own dirs under data/local/mini_synth/, and
# data/{train,dev,test}/ with `text` = the translation (--tgt_lang it or de) and `text.en` =
# the transcript. With --unlabeled N (N > 0) also data/unlabeled/: N utterances of untranscribed
# audio (wav.scp utt2spk spk2utt only: no transcript, no translation), their true texts apart, for
# analysis only, in ${MINI_SYNTH}/unlabeled/truth/{text.en,text.it,text.de}; train, dev and test do
# not depend on N. Reruns with the same size, seed and N reuse the audio.
set -euo pipefail
tgt_lang=it       # translation language: it or de
size=default      # tiny, small, default, or TRAIN:DEV:TEST utterance counts
seed=0            # corpus seed
nj=2              # synthesis processes
unlabeled=0       # utterances of the unlabeled set data/unlabeled (0: none)
translation_variants=false   # true: translations with meaning-preserving alternatives per utterance
                             # (synonyms, word order, explicit pronouns; espnet_kd/corpora/variants.py)
help_message="Usage: $0 [--tgt_lang it|de] [--size default] [--seed 0] [--nj 2] [--unlabeled 0] [--translation_variants false]"
. scripts/parse_options.sh
. ./db.sh

case "${tgt_lang}" in it|de) ;; *) echo "ERROR: $0: --tgt_lang must be it or de, not '${tgt_lang}'" >&2; exit 1 ;; esac
python -m espnet_kd.bin.make_mini_synth --out_dir "${MINI_SYNTH}" --data_dir data/local/mini_synth \
    --size "${size}" --seed "${seed}" --nj "${nj}" --translation_variants "${translation_variants}" \
    --unlabeled "${unlabeled}"
for dset in train dev test; do
    src=data/local/mini_synth/${dset}
    tmp=data/.${dset}.tmp
    rm -rf "${tmp}"; mkdir -p "${tmp}"
    cp "${src}"/{wav.scp,utt2spk,spk2utt,text.en} "${tmp}/"
    cp "${src}/text.${tgt_lang}" "${tmp}/text"
    rm -rf "data/${dset}"; mv "${tmp}" "data/${dset}"
done
if [ "${unlabeled}" != 0 ]; then   # the unlabeled set: audio only, no text of any language
    tmp=data/.unlabeled.tmp
    rm -rf "${tmp}"; mkdir -p "${tmp}"
    cp data/local/mini_synth/unlabeled/{wav.scp,utt2spk,spk2utt} "${tmp}/"
    rm -rf data/unlabeled; mv "${tmp}" data/unlabeled
fi

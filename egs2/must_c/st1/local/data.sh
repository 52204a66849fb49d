#!/usr/bin/env bash
# MuST-C → Kaldi data dirs.
# Reads ${MUST_C}/en-<lang>/data/<set>/{wav/*.wav,txt/<set>.yaml,txt/<set>.en,txt/<set>.<lang>} (db.sh);
# writes data/<set>.en-<lang>/ (wav.scp segments text text.en utt2spk spk2utt), `text` being the
# translation in --tgt_case and `text.en` the transcript in --src_case (tc, lc or lc.rm).
# Nothing is downloaded: get MuST-C from https://ict.fbk.eu/must-c/ and set MUST_C in db.sh.
set -euo pipefail
lang=de                                   # target language: en-<lang>
sets="train dev tst-COMMON tst-HE"        # MuST-C sets to prepare
src_case=lc.rm                            # transcript: tc, lc or lc.rm (ESPnet's MuST-C default: lc.rm)
tgt_case=tc                               # translation: tc, lc or lc.rm (ESPnet's MuST-C default: tc)
min_duration=0.2                          # shorter segments are widened to this many seconds
help_message="Usage: $0 [--lang de] [--sets \"train dev tst-COMMON tst-HE\"] [--src_case lc.rm] [--tgt_case tc]"
. scripts/parse_options.sh
. ./db.sh

if [ -z "${MUST_C:-}" ] || [ ! -d "${MUST_C}/en-${lang}" ]; then
    echo "ERROR: $0: MuST-C en-${lang} not found under MUST_C='${MUST_C:-}' (set it in db.sh)" >&2
    exit 1
fi
# shellcheck disable=SC2086
python -m espnet_kd.bin.prepare_must_c --must_c "${MUST_C}" --lang "${lang}" --data_dir data \
    --sets ${sets} --src_case "${src_case}" --tgt_case "${tgt_case}" --min_duration "${min_duration}"

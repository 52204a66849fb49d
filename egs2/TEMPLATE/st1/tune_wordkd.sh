#!/usr/bin/env bash
# Word-KD tuning: one wordkd student per (kd_lambda, kd_temperature) pair and seed, scored on the
# recipe's test sets next to the recipe's baseline student (at the same seeds), chosen by the mean
# BLEU on the first set (dev). Run from a recipe directory (egs2/<corpus>/st1) whose stages 1-13
# have run with the baseline method and stage 9 with wordkd (./run.sh does both): every student
# shares the recipe's data, tokens, MT teacher, top-k cache and encoder initialisation, so only
# λ, T and the seed differ.
#
#   ./tune_wordkd.sh                                         # λ ∈ {0.5, 1.0} × T ∈ {1, 2, 4}, one seed
#   ./tune_wordkd.sh --lambdas "0.5" --temperatures "2" --seeds "0 1 2"   # one point, three seeds
#   ./tune_wordkd.sh --wordkd_config conf/tuning/train_st_wordkd_tiny.yaml [run.sh options...]
#
#  reads   conf/train_st_wordkd.yaml (or --wordkd_config): the student, its schedule, k
#          exp/{mt_teacher,st_stats,shapes}, data/, dump/: what stages 1-9 wrote
#          exp/student_baseline: the reference point at its own seed; its encoder initialisation and seed
#  writes  <tuning_dir>/l<λ>_T<T>[_seed<s>]/ (a recipe directory: links to the shared inputs,
#          wordkd.yaml, exp/student_wordkd/ trained, decoded and scored by stages 10-13 of ./run.sh)
#          <tuning_dir>/baseline_seed<s>/exp/student_baseline/ (the baseline at the other seeds)
#          <tuning_dir>/RESULTS.md (every student: BLEU/chrF, Δ vs the baseline)
#          <tuning_dir>/SUMMARY.md (per setting: mean ± sd over seeds, Δ vs the baseline paired by seed; the best on dev)
#          <tuning_dir>/base_config.yaml (the base config; a tuning dir holds one, so its settings compare)
# A finished student is skipped on a rerun (st.sh's own resumption), so a grid can be extended;
# the tables cover every scored student under <tuning_dir>.
set -euo pipefail

# ---------------------------------------------------------------- options
lambdas="0.5 1.0"              # kd_lambda values: the KL term's weight (1 - λ goes to CE on references)
temperatures="1 2 4"           # kd_temperature values (the cached top-k is rescaled to each)
seeds=""                       # training seeds ("": the baseline student's own seed only)
tuning_dir=tuning/wordkd       # where the students go
wordkd_config=conf/train_st_wordkd.yaml   # the base config; each point overrides kd_lambda, kd_temperature
pretrained_asr=""              # the students' encoder initialisation ("": the baseline student's; none)
test_sets="dev test"           # the recipe's --test_sets (decoded, scored); the first one chooses the best point
help_message="Usage: $0 [--lambdas \"0.5 1.0\"] [--temperatures \"1 2 4\"] [--seeds \"0 1\"] [run.sh options ...]
Word-KD tuning on a finished recipe; see the header of $0."

# (upper case: not options) every other option goes to ./run.sh (the corpus's own options), which refuses
# what it does not know; this script's arguments (run_as_process_group runs it again with them); the
# egs2/TEMPLATE directory, through the recipe's symlink
OTHER_OPTIONS=()
STAGE_ARGS=("$@")
TEMPLATE_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "${TEMPLATE_DIR}/scripts/parse_options.sh"
. "${TEMPLATE_DIR}/scripts/common.sh"
[ $# -eq 0 ] || die "unexpected argument '$1' (every option is --name value)"
for ((i = 0; i < ${#OTHER_OPTIONS[@]}; i += 2)); do
    case "${OTHER_OPTIONS[$i]}" in
        --stage|--stop_stage|--methods|--seed)
            die "${OTHER_OPTIONS[$i]} is set by this script (stages 10-13, method wordkd or baseline, --seeds)" ;;
    esac
done
run_as_process_group "${STAGE_ARGS[@]}"   # a signal stops this script and every job it started

[ -f ./path.sh ] && . ./path.sh

recipe_dir=$(pwd)
for path in run.sh st.sh "${wordkd_config}" exp/mt_teacher/valid.acc.ave.pth exp/st_stats/train/feats_stats.npz \
            exp/shapes exp/student_baseline/config.yaml; do
    [ -e "${path}" ] || die "${path} not found: run the recipe first (./run.sh; stages 1-13 with the baseline method)"
done
for dset in ${test_sets}; do
    [ -f "exp/student_baseline/decode_${dset}/score.json" ] \
        || die "exp/student_baseline/decode_${dset}/score.json not found: run stages 12-13"
done
first_set=${test_sets%% *}
compgen -G "exp/mt_teacher/topk_*/meta.json" > /dev/null \
    || die "no exp/mt_teacher/topk_<set>/ cache: run stage 9 with the wordkd method (./run.sh --stage 9 --stop_stage 9)"
for value in ${lambdas} ${temperatures}; do
    [[ "${value}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--lambdas/--temperatures take numbers, not '${value}'"
done
for value in ${seeds}; do [[ "${value}" =~ ^[0-9]+$ ]] || die "--seeds takes integers, not '${value}'"; done
[ -n "${lambdas}" ] && [ -n "${temperatures}" ] || die "--lambdas and --temperatures need at least one value each"

# model_config <model dir> <prefix> <key>...: sets <prefix><key> to each key of the model's config.yaml
# (a list: an array; missing: ''), as ESPnet's trainer recorded it (espnet_kd.bin.model_config get).
model_config() {
    local model_dir=$1 prefix=$2 values; shift 2
    values=$(python -m espnet_kd.bin.model_config get --prefix "${prefix}" "${model_dir}" "$@") || exit 1
    eval "${values}"
}

# What the baseline was trained with (ESPnet's config.yaml records it): its encoder initialisation,
# made absolute, and its seed, so that the students differ from it in λ, T (and seed) only.
model_config exp/student_baseline base_ seed init_param
base_seed=${base_seed:-0}
base_init=${base_init_param[0]:-none}   # the first --init_param's file (FILE:SRC:DST)
base_init=${base_init%%:*}
[ -n "${seeds}" ] || seeds=${base_seed}
if [ -z "${pretrained_asr}" ]; then
    pretrained_asr=${base_init}
    log "exp/student_baseline: seed ${base_seed}, encoder initialisation ${pretrained_asr}"
fi
if [ "${pretrained_asr}" != none ]; then
    [ -f "${pretrained_asr}" ] || die "--pretrained_asr ${pretrained_asr} not found"
    pretrained_asr=$(readlink -f "${pretrained_asr}")
fi

take_stage_lock "tune_wordkd.sh --tuning_dir ${tuning_dir}"   # one run at a time in this recipe directory
mkdir -p "${tuning_dir}"
tuning_dir=$(readlink -f "${tuning_dir}")
# one base config per tuning dir: students of another schedule or model must not be averaged with these
if [ -f "${tuning_dir}/base_config.yaml" ]; then
    cmp -s "${wordkd_config}" "${tuning_dir}/base_config.yaml" || die "${tuning_dir} was tuned from another" \
        "base config (${tuning_dir}/base_config.yaml, not ${wordkd_config}): pass another --tuning_dir"
else
    cp "${wordkd_config}" "${tuning_dir}/base_config.yaml.tmp" && mv "${tuning_dir}/base_config.yaml.tmp" "${tuning_dir}/base_config.yaml"
fi

# kd_group <model dir>: the setting a word-KD student belongs to, from its config.yaml (wordkd_l<λ>_T<T>),
# so that seeds of one setting are averaged together whatever their directory is called.
kd_group() {
    local kd_kd_lambda kd_kd_temperature
    model_config "$1" kd_ kd_lambda kd_temperature
    [ -n "${kd_kd_lambda}" ] && [ -n "${kd_kd_temperature}" ] \
        || die "$1/config.yaml has no kd_lambda and kd_temperature: not a word-KD student"
    LC_ALL=C printf 'wordkd_l%g_T%g\n' "${kd_kd_lambda}" "${kd_kd_temperature}"
}
# the setting of the recipe's own wordkd student, if it was scored and trained from this base config
# (its config.yaml records --config) at the baseline's seed: then it is that setting's base seed
recipe_group=""
if [ -f "exp/student_wordkd/decode_${first_set}/score.json" ]; then
    model_config exp/student_wordkd recipe_ config seed
    if [ "$(readlink -f "${recipe_config}")" = "$(readlink -f "${wordkd_config}")" ] \
            && [ "${recipe_seed:-0}" = "${base_seed}" ]; then
        recipe_group=$(kd_group exp/student_wordkd)
    fi
fi

# make_recipe_dir <dir>: a recipe directory of its own, with links to the shared inputs and its own exp/.
make_recipe_dir() {
    local dir=$1 link
    mkdir -p "${dir}/exp"
    for link in data dump conf local scripts path.sh cmd.sh db.sh run.sh st.sh; do
        [ -e "${link}" ] && ln -sfn "${recipe_dir}/${link}" "${dir}/${link}"
    done
    for link in mt_teacher st_stats shapes; do ln -sfn "${recipe_dir}/exp/${link}" "${dir}/exp/${link}"; done
}

# train_student <dir> <seed> <method> [run.sh options]: stages 10-13 of ./run.sh in <dir>, logged to <dir>/run.log.
train_student() {
    local dir=$1 seed=$2 method=$3; shift 3
    ( cd "${dir}" && ./run.sh "${OTHER_OPTIONS[@]}" --stage 10 --stop_stage 13 --methods "${method}" --seed "${seed}" \
          --test_sets "${test_sets}" --pretrained_asr "${pretrained_asr}" "$@" ) > "${dir}/run.log" 2>&1 \
        || die "${dir} failed; see ${dir}/run.log"
}

for seed in ${seeds}; do
    suffix=""
    [ "${seed}" = "${base_seed}" ] || suffix="_seed${seed}"
    if [ -n "${suffix}" ]; then
        # the baseline at this seed (exp/student_baseline is the one at the recipe's seed)
        dir="${tuning_dir}/baseline${suffix}"
        log "baseline, seed ${seed} → ${dir}/exp/student_baseline (log: ${dir}/run.log)"
        make_recipe_dir "${dir}"
        train_student "${dir}" "${seed}" baseline
    fi
    for lam in ${lambdas}; do
        for temp in ${temperatures}; do
            dir="${tuning_dir}/l${lam}_T${temp}${suffix}"
            if [ -z "${suffix}" ] && [ "${recipe_group}" = "$(printf 'wordkd_l%g_T%g' "${lam}" "${temp}")" ]; then
                log "kd_lambda=${lam} kd_temperature=${temp}, seed ${seed}: the recipe's exp/student_wordkd (not trained again)"
                continue
            fi
            make_recipe_dir "${dir}"
            # the base config with this point's λ and T (written atomically: a half-written config never trains)
            python -m espnet_kd.bin.model_config override "${wordkd_config}" "${dir}/wordkd.yaml" \
                "kd_lambda=${lam}" "kd_temperature=${temp}" --by tune_wordkd.sh
            log "kd_lambda=${lam} kd_temperature=${temp}, seed ${seed} → ${dir}/exp/student_wordkd (log: ${dir}/run.log)"
            train_student "${dir}" "${seed}" wordkd --wordkd_config wordkd.yaml
        done
    done
done

# every scored student under the tuning dir (earlier grids and seeds too), the recipe's baseline and,
# when it is one of these settings, its wordkd
scored() { local dset; for dset in ${test_sets}; do [ -f "$1/decode_${dset}/score.json" ] || return 1; done; }
student_args=(--student "baseline=${recipe_dir}/exp/student_baseline")
summary_args=(--model "baseline=${recipe_dir}/exp/student_baseline")
for model_dir in "${tuning_dir}"/baseline_seed*/exp/student_baseline; do
    scored "${model_dir}" || continue
    name=${model_dir%/exp/student_baseline}; name=${name##*/}
    student_args+=(--student "${name}=${model_dir}"); summary_args+=(--model "baseline=${model_dir}")
done
if [ -n "${recipe_group}" ] && scored exp/student_wordkd; then
    student_args+=(--student "wordkd=${recipe_dir}/exp/student_wordkd")
    summary_args+=(--model "${recipe_group}=${recipe_dir}/exp/student_wordkd")
fi
for model_dir in "${tuning_dir}"/l*_T*/exp/student_wordkd; do
    scored "${model_dir}" || continue
    name=${model_dir%/exp/student_wordkd}; name=${name##*/}
    student_args+=(--student "wordkd_${name}=${model_dir}"); summary_args+=(--model "$(kd_group "${model_dir}")=${model_dir}")
done

# every student, in Gaido et al.'s shape (each row's λ and T are in its config.yaml), then the summary
python -m espnet_kd.bin.st_results_table --title "Word-KD tuning (kd_lambda × kd_temperature), ${recipe_dir##*/egs2/}" \
    --teacher exp/mt_teacher "${student_args[@]}" --test_sets ${test_sets} --out "${tuning_dir}/RESULTS.md"
log "every student: ${tuning_dir}/RESULTS.md"
python -m espnet_kd.bin.tuning_summary --title "Word-KD tuning over seeds, ${recipe_dir##*/egs2/}" \
    "${summary_args[@]}" --baseline baseline --test_sets ${test_sets} --out "${tuning_dir}/SUMMARY.md"
log "done: ${tuning_dir}/SUMMARY.md"

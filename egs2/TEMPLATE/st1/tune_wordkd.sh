#!/usr/bin/env bash
# Word-KD tuning: one wordkd student per (kd_lambda, kd_temperature) pair, each scored on the
# recipe's test sets next to the recipe's baseline student, chosen by the first set (dev).
# Run from a recipe directory (egs2/<corpus>/st1) whose stages 1-10 have run with the baseline
# and wordkd methods (./run.sh --stop_stage 10 is enough): every student shares the recipe's data,
# tokens, MT teacher, top-k cache and encoder initialisation, so only λ and T differ.
#
#   ./tune_wordkd.sh                                         # λ ∈ {0.5, 1.0} × T ∈ {1, 2, 4}
#   ./tune_wordkd.sh --lambdas "0.5 0.8" --temperatures "2"  # another grid
#   ./tune_wordkd.sh --wordkd_config conf/tuning/train_st_wordkd_tiny.yaml [run.sh options...]
#
#  reads   conf/train_st_wordkd.yaml (or --wordkd_config): the student, its schedule, k
#          exp/{mt_teacher,st_stats,shapes}, data/, dump/: what stages 1-9 wrote
#          exp/st_baseline: the reference point, and where the encoder initialisation is read
#  writes  <tuning_dir>/l<λ>_T<T>/ (a recipe directory: links to the shared inputs,
#          wordkd.yaml, exp/st_wordkd/ trained, decoded and scored by stages 10-13 of ./run.sh)
#          <tuning_dir>/RESULTS.md (BLEU/chrF per point, Δ vs the baseline; the best on dev named)
# A finished point is skipped on a rerun (st.sh's own resumption), so a grid can be extended.
set -euo pipefail

lambdas="0.5 1.0"              # kd_lambda values: the KL term's weight (1 - λ goes to CE on references)
temperatures="1 2 4"           # kd_temperature values (the cached top-k is rescaled to each)
tuning_dir=tuning/wordkd       # where the points go
wordkd_config=conf/train_st_wordkd.yaml   # the base config; each point overrides kd_lambda, kd_temperature
pretrained_asr=""              # the students' encoder initialisation ("": the baseline student's; none)
test_sets="dev test"           # the recipe's --test_sets (decoded, scored); the first one chooses the best point
args=()                        # everything else goes to ./run.sh (the corpus's own options)
while [ $# -gt 0 ]; do
    case "$1" in
        --lambdas) lambdas=$2; shift 2 ;;
        --temperatures) temperatures=$2; shift 2 ;;
        --tuning_dir) tuning_dir=$2; shift 2 ;;
        --wordkd_config) wordkd_config=$2; shift 2 ;;
        --pretrained_asr) pretrained_asr=$2; shift 2 ;;
        --test_sets) test_sets=$2; shift 2 ;;
        --stage|--stop_stage|--methods)
            echo "ERROR: $0: $1 is set by this script (stages 10-13, method wordkd)" >&2; exit 1 ;;
        *) args+=("$1"); shift ;;
    esac
done

log() { echo "$(date +%Y-%m-%dT%H:%M:%S) (tune_wordkd.sh) $*"; }
die() { echo "ERROR: $0: $*" >&2; exit 1; }
[ -f ./path.sh ] && . ./path.sh

recipe_dir=$(pwd)
for path in run.sh st.sh "${wordkd_config}" exp/mt_teacher/valid.acc.ave.pth exp/st_stats/train/feats_stats.npz \
            exp/shapes exp/st_baseline/config.yaml; do
    [ -e "${path}" ] || die "${path} not found: run the recipe first (./run.sh; stages 1-13 with the baseline method)"
done
for dset in ${test_sets}; do
    [ -f "exp/st_baseline/decode_${dset}/score.json" ] || die "exp/st_baseline/decode_${dset}/score.json not found: run stages 12-13"
done
first_set=${test_sets%% *}
compgen -G "exp/mt_teacher/topk_*/meta.json" > /dev/null \
    || die "no exp/mt_teacher/topk_<set>/ cache: run stage 9 with the wordkd method (./run.sh --stage 9 --stop_stage 9)"
for value in ${lambdas} ${temperatures}; do
    [[ "${value}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--lambdas/--temperatures take numbers, not '${value}'"
done
[ -n "${lambdas}" ] && [ -n "${temperatures}" ] || die "--lambdas and --temperatures need at least one value each"

# The encoder initialisation: the baseline student's (ESPnet's config.yaml records --init_param), made
# absolute, so that the students differ from the baseline in λ and T only.
if [ -z "${pretrained_asr}" ]; then
    pretrained_asr=$(python - <<'EOF'
import yaml
init = yaml.safe_load(open("exp/st_baseline/config.yaml", encoding="utf-8")).get("init_param") or []
print(init[0].split(":")[0] if init else "none")
EOF
)
    log "encoder initialisation of exp/st_baseline: ${pretrained_asr}"
fi
if [ "${pretrained_asr}" != none ]; then
    [ -f "${pretrained_asr}" ] || die "--pretrained_asr ${pretrained_asr} not found"
    pretrained_asr=$(readlink -f "${pretrained_asr}")
fi

student_args=(--student "baseline=${recipe_dir}/exp/st_baseline")
mkdir -p "${tuning_dir}"
tuning_dir=$(readlink -f "${tuning_dir}")
for lam in ${lambdas}; do
    for temp in ${temperatures}; do
        name="l${lam}_T${temp}"
        point="${tuning_dir}/${name}"
        # a recipe directory of its own: links to the shared inputs, its own exp/ for the student
        mkdir -p "${point}/exp"
        for link in data dump conf local scripts path.sh cmd.sh db.sh run.sh st.sh; do
            [ -e "${link}" ] && ln -sfn "${recipe_dir}/${link}" "${point}/${link}"
        done
        for link in mt_teacher st_stats shapes; do ln -sfn "${recipe_dir}/exp/${link}" "${point}/exp/${link}"; done
        # the base config with this point's λ and T (written atomically: a half-written config never trains)
        python - "${wordkd_config}" "${point}/wordkd.yaml" "${lam}" "${temp}" <<'EOF'
import os, sys, yaml
base, out, lam, temp = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
config = yaml.safe_load(open(base, encoding="utf-8"))
config.update(kd_lambda=lam, kd_temperature=temp)
with open(out + ".tmp", "w", encoding="utf-8") as handle:
    handle.write(f"# {base} with kd_lambda={lam}, kd_temperature={temp} (written by tune_wordkd.sh)\n")
    yaml.safe_dump(config, handle, sort_keys=False)
os.replace(out + ".tmp", out)
EOF
        log "point ${name}: kd_lambda=${lam} kd_temperature=${temp} → ${point}/exp/st_wordkd (log: ${point}/run.log)"
        ( cd "${point}" && ./run.sh "${args[@]}" --stage 10 --stop_stage 13 --methods wordkd --test_sets "${test_sets}" \
              --wordkd_config wordkd.yaml --pretrained_asr "${pretrained_asr}" ) > "${point}/run.log" 2>&1 \
            || die "point ${name} failed; see ${point}/run.log"
    done
done

# every scored point under the tuning dir (earlier grids too), and the recipe's own wordkd student
scored() { local dset; for dset in ${test_sets}; do [ -f "$1/decode_${dset}/score.json" ] || return 1; done; }
scored exp/st_wordkd && student_args+=(--student "wordkd=${recipe_dir}/exp/st_wordkd")
for model_dir in "${tuning_dir}"/l*_T*/exp/st_wordkd; do
    scored "${model_dir}" || continue
    name=${model_dir%/exp/st_wordkd}; name=${name##*/}
    student_args+=(--student "wordkd_${name}=${model_dir}")
done

# the table, in Gaido et al.'s shape (each row's λ and T are in its config.yaml); then the best on the first set
python -m espnet_kd.bin.st_results_table --title "Word-KD tuning (kd_lambda × kd_temperature), ${recipe_dir##*/egs2/}" \
    --teacher exp/mt_teacher "${student_args[@]}" --test_sets ${test_sets} --out "${tuning_dir}/RESULTS.md"
cat "${tuning_dir}/RESULTS.md"
python - "${first_set}" "${student_args[@]}" <<'EOF'
import json, sys
from pathlib import Path
first_set, pairs = sys.argv[1], sys.argv[2:][1::2]
scores = {}
for pair in pairs:
    name, path = pair.split("=", 1)
    scores[name] = json.loads((Path(path) / f"decode_{first_set}" / "score.json").read_text())["bleu"]
best = max((n for n in scores if n != "baseline"), key=lambda n: scores[n])
print(f"best on {first_set}: {best} ({first_set} BLEU {scores[best]:.2f}; baseline {scores['baseline']:.2f})")
EOF
log "done: ${tuning_dir}/RESULTS.md"

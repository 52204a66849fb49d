# Job backends: how split jobs (decoding, n-best) and trainings are run.
#   local: N processes on this machine   (egs2/TEMPLATE/scripts/jobs/local.sh)
#   slurm: a Slurm job array             (egs2/TEMPLATE/scripts/jobs/slurm.sh; options in SLURM_OPTS)
#          options for one kind of job only: `--slurm_opts OPTION` (repeatable) in its command below, e.g.
#          train_cmd="scripts/jobs/slurm.sh --slurm_opts --gres=gpu:1 --slurm_opts --time=2-00:00:00"
#          (one machine: sudo tools/slurm_localhost.sh start; eval "$(tools/slurm_localhost.sh env)"; README: Scaling out)
cmd_backend=${CMD_BACKEND:-local}
case "${cmd_backend}" in
    local) train_cmd="scripts/jobs/local.sh"; decode_cmd="scripts/jobs/local.sh" ;;
    slurm) train_cmd="scripts/jobs/slurm.sh"; decode_cmd="scripts/jobs/slurm.sh" ;;
    *) echo "ERROR: cmd.sh: unknown CMD_BACKEND '${cmd_backend}' (local or slurm)" >&2; exit 1 ;;
esac

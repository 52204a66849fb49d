# Environment for the stages: the repository's virtual environment first on PATH
# (override with VENV=/path/to/venv), UTF-8 I/O, one process's threads per core.
# The recipes link this file (egs2/<corpus>/<task>/path.sh → here), so the repository root is found
# from where it really lives, wherever the recipe directory is.
repo_root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)"
venv="${VENV:-${repo_root}/.venv}"
case "${venv}" in /*) ;; *) venv="${repo_root}/${venv}" ;; esac
[ -x "${venv}/bin/python" ] && export PATH="${venv}/bin:${PATH}"
export PYTHONIOENCODING=UTF-8
export PYTHONUNBUFFERED=1
export LC_ALL=C.UTF-8

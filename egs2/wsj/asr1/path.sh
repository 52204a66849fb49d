# Environment for the stages: the repository's virtual environment first on PATH
# (override with VENV=/path/to/venv), UTF-8 I/O. sph2pipe, needed for the LDC discs'
# shorten-compressed .wv1 files, must be on PATH too (SPH2PIPE_DIR=/path/to/dir adds it).
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="${VENV:-${repo_root}/.venv}"
case "${venv}" in /*) ;; *) venv="${repo_root}/${venv}" ;; esac
[ -x "${venv}/bin/python" ] && export PATH="${venv}/bin:${PATH}"
[ -n "${SPH2PIPE_DIR:-}" ] && export PATH="${SPH2PIPE_DIR}:${PATH}"
export PYTHONIOENCODING=UTF-8
export PYTHONUNBUFFERED=1
export LC_ALL=C.UTF-8

#!/usr/bin/env bash
# run_once.sh MARKER command args...: run the command unless MARKER exists; create MARKER on success.
# Lets a rerun of a split job skip the parts that finished.
set -u
marker=$1; shift
if [ -f "${marker}" ]; then
    echo "# ${marker} exists: skipped"; exit 0
fi
"$@" || exit $?
mkdir -p "$(dirname "${marker}")" && touch "${marker}"

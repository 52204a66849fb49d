#!/usr/bin/env bash
# A one-node Slurm cluster on this host (slurmctld + slurmd + munged), for trying the recipes'
# slurm job backend (CMD_BACKEND=slurm) and for the test tests/jobs/test_slurm_cluster.py.
#
#   tools/slurm_localhost.sh install   # apt-get install slurm-wlm munge (Debian; only if missing; root)
#   tools/slurm_localhost.sh start     # install if needed, configure, start the daemons, wait for the node
#   tools/slurm_localhost.sh status    # the daemons (pid files) and sinfo
#   tools/slurm_localhost.sh stop      # stop the daemons that `start` started (by their pid files)
#   tools/slurm_localhost.sh env       # prints `export SLURM_CONF=...`: eval "$(tools/slurm_localhost.sh env)"
#
# Everything lives under one directory of its own, SLURM_LOCALHOST_DIR (default
# /var/lib/espnet-kd-slurm): etc/slurm.conf, munge/ (key, socket), state/ (slurmctld), spool/
# (slurmd), log/{munged,slurmctld,slurmd}.log, run/*.pid. Nothing in /etc is changed: the clients
# (sbatch, squeue, sinfo, scancel) find the cluster through SLURM_CONF=<dir>/etc/slurm.conf.
# No systemd: the daemons run in the background, and `stop` ends exactly the processes named in
# run/*.pid. `start` is idempotent: running daemons are left alone. The node (this host's short
# hostname, its CPUs and memory as `slurmd -C` reports them) is in partition `debug`, the default;
# select/cons_tres with CR_CPU (memory not allocated, so jobs need no --mem), one CPU per task by default.
# Environment: SLURM_LOCALHOST_DIR, SLURM_LOCALHOST_TIMEOUT (seconds `start` waits for the node, 60),
# SLURM_LOCALHOST_PORTS ("slurmctld_port slurmd_port", default "6817 6818").
set -u -o pipefail

dir="${SLURM_LOCALHOST_DIR:-/var/lib/espnet-kd-slurm}"
timeout="${SLURM_LOCALHOST_TIMEOUT:-60}"
read -r ctld_port slurmd_port <<< "${SLURM_LOCALHOST_PORTS:-6817 6818}"
conf="${dir}/etc/slurm.conf"
export SLURM_CONF="${conf}"
me="$(basename "$0")"
daemons=(munged slurmctld slurmd)   # in start order

die() { echo "ERROR: ${me}: $*" >&2; exit 1; }
note() { echo "${me}: $*"; }

# ---------------------------------------------------------------- install
missing_programs() {
    local program missing=()
    for program in munged mungekey munge slurmctld slurmd sbatch squeue sinfo scancel scontrol; do
        command -v "${program}" > /dev/null 2>&1 || [ -x "/usr/sbin/${program}" ] || missing+=("${program}")
    done
    echo "${missing[*]}"
}

do_install() {
    local missing policy_made=""
    missing=$(missing_programs)
    if [ -z "${missing}" ]; then note "slurm-wlm and munge are installed"; return 0; fi
    [ "$(id -u)" -eq 0 ] || die "not root: cannot install slurm-wlm and munge (missing: ${missing}); run as root or install them"
    command -v apt-get > /dev/null || die "no apt-get: install Slurm (slurmctld, slurmd, clients) and munge by hand (missing: ${missing})"
    note "installing slurm-wlm and munge with apt-get (missing: ${missing})"
    # no service may start during the install (no systemd here; `start` runs the daemons itself)
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_made=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT   # (also when the install is interrupted)
    fi
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef
               -o Dpkg::Options::=--force-confold install --no-install-recommends slurm-wlm munge)
    local status=0
    if ! "${apt[@]}" > "/tmp/${me}.apt.log" 2>&1; then
        note "apt-get install failed; running apt-get update and trying again"
        { env DEBIAN_FRONTEND=noninteractive apt-get -q update && "${apt[@]}"; } >> "/tmp/${me}.apt.log" 2>&1 || status=$?
    fi
    [ -z "${policy_made}" ] || { rm -f /usr/sbin/policy-rc.d; trap - EXIT; }
    if [ "${status}" -ne 0 ]; then
        tail -n 20 "/tmp/${me}.apt.log" | sed 's/^/    /' >&2
        die "apt-get install slurm-wlm munge failed (exit ${status}; log /tmp/${me}.apt.log)"
    fi
    missing=$(missing_programs)
    [ -z "${missing}" ] || die "installed slurm-wlm and munge, but these are still missing: ${missing}"
    note "installed: $(dpkg-query -W -f '${Package} ${Version}  ' slurm-wlm munge 2> /dev/null)"
}

# ---------------------------------------------------------------- processes
# pid_alive NAME: the pid in run/NAME.pid, if that process runs and is NAME (not a reused pid)
pid_alive() {
    local pid comm
    pid=$(cat "${dir}/run/$1.pid" 2> /dev/null) || return 1
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/${pid}/comm" 2> /dev/null) || return 1
    [ "${comm}" = "$1" ] || return 1
    [ "$(awk '{print $3}' "/proc/${pid}/stat" 2> /dev/null)" != Z ] || return 1
    echo "${pid}"
}

log_tails() {
    local name
    for name in "${daemons[@]}"; do
        echo "--- last lines of ${dir}/log/${name}.log:" >&2
        tail -n 15 "${dir}/log/${name}.log" 2> /dev/null | sed 's/^/    /' >&2
    done
}

fail_start() { echo "ERROR: ${me}: $*" >&2; log_tails; exit 1; }

node_name() { hostname -s; }

# the node's line of slurm.conf, from `slurmd -C` (CPUs, boards, sockets, cores, threads, memory)
node_hardware() {
    local line
    line=$(/usr/sbin/slurmd -C 2> /dev/null | head -n 1) || return 1
    [[ "${line}" == NodeName=* ]] || return 1
    echo "${line#NodeName=* }"
}

write_config() {
    local node hardware new
    node=$(node_name)
    hardware=$(node_hardware) || fail_start "slurmd -C did not report this host's hardware: $(/usr/sbin/slurmd -C 2>&1 | head -n 3)"
    new=$(cat <<EOF
# Written by ${me} (a one-node cluster on this host): do not edit, it is rewritten by \`start\`.
ClusterName=espnetkd
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge/munge.socket
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/run/slurmctld.pid
SlurmdPidFile=${dir}/run/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# finished jobs stay in slurmctld's memory (squeue -t all, scontrol show job) for 10 s and more: short, as
# \`sbatch --wait\` polls every min(MinJobAge/2, 32) s at most (2 s, 8 s, 32 s, ...), slow for tiny jobs
MinJobAge=10
KillWait=5
SlurmdTimeout=60
InactiveLimit=0
NodeName=${node} NodeAddr=127.0.0.1 ${hardware} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP
EOF
)
    mkdir -p "${dir}/etc"
    if [ "$(cat "${conf}" 2> /dev/null)" != "${new}" ]; then
        echo "${new}" > "${conf}.tmp" && mv "${conf}.tmp" "${conf}"
        note "wrote ${conf} (node ${node}: ${hardware})"
        config_changed=1
    fi
}

start_munged() {
    local key="${dir}/munge/munge.key"
    if [ ! -s "${key}" ]; then
        /usr/sbin/mungekey --create --keyfile="${key}" > /dev/null 2>&1 \
            || dd if=/dev/urandom of="${key}" bs=1 count=1024 status=none \
            || fail_start "could not create the munge key ${key}"
        note "created the munge key ${key}"
    fi
    chmod 0400 "${key}"
    # munged runs as root here (the key and socket dir are root's); --force: it accepts root
    /usr/sbin/munged --force --key-file="${key}" --socket="${dir}/munge/munge.socket" \
        --pid-file="${dir}/run/munged.pid" --log-file="${dir}/log/munged.log" \
        --seed-file="${dir}/munge/munged.seed" > "${dir}/log/munged.out" 2>&1 \
        || fail_start "munged did not start: $(tail -n 5 "${dir}/log/munged.out")"
}

# wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND every 0.5 s until it succeeds; with watch=NAME,
# stop at once if daemon NAME wrote its pid file and has exited since
wait_for() {
    local seconds=$1 what=$2 deadline; shift 2
    deadline=$(( $(date +%s) + seconds ))
    until "$@"; do
        if [ -n "${watch:-}" ] && [ -s "${dir}/run/${watch}.pid" ] && ! pid_alive "${watch}" > /dev/null; then
            fail_start "${watch} exited while ${me} was waiting for ${what}"
        fi
        [ "$(date +%s)" -lt "${deadline}" ] || fail_start "timed out after ${seconds} s waiting for ${what}"
        sleep 0.5
    done
}

munge_works() { /usr/bin/munge -n --socket="${dir}/munge/munge.socket" 2> /dev/null | /usr/bin/unmunge --socket="${dir}/munge/munge.socket" > /dev/null 2>&1; }
node_state() { sinfo -h -N -n "$(node_name)" -o %T 2> /dev/null | head -n 1; }
node_ready() {
    case "$(node_state)" in
        idle|mixed|allocated|completing) return 0 ;;
        down*|drain*|drained*|fail*)
            # (a node that slurmctld remembers as down from an earlier run: slurmd is up, so resume it)
            scontrol update NodeName="$(node_name)" State=RESUME > /dev/null 2>&1; return 1 ;;
        *) return 1 ;;
    esac
}

do_start() {
    local name pid config_changed=""
    [ "$(id -u)" -eq 0 ] || die "not root: the daemons run as root (slurmd starts every user's jobs); run as root"
    do_install
    mkdir -p "${dir}"/{etc,munge,state,spool,log,run}
    chmod 0755 "${dir}/munge"   # (non-root clients reach munged through its socket there)
    write_config
    for name in "${daemons[@]}"; do
        if pid=$(pid_alive "${name}"); then
            note "${name} is running (pid ${pid})"
            continue
        fi
        rm -f "${dir}/run/${name}.pid"
        case "${name}" in
            munged)
                start_munged
                wait_for 15 "munged to answer on ${dir}/munge/munge.socket" munge_works ;;
            slurmctld)
                # -c: a clean start, without the jobs of an earlier run (`stop` cancels them; after a crash their
                # processes are gone, and slurmctld would hold their CPUs for them)
                /usr/sbin/slurmctld -c -f "${conf}" > "${dir}/log/slurmctld.out" 2>&1 \
                    || fail_start "slurmctld did not start: $(tail -n 5 "${dir}/log/slurmctld.out")"
                watch=slurmctld wait_for 20 "slurmctld to answer (scontrol ping)" sh -c 'scontrol ping 2> /dev/null | grep -q "is UP"' ;;
            slurmd)
                /usr/sbin/slurmd -f "${conf}" -N "$(node_name)" > "${dir}/log/slurmd.out" 2>&1 \
                    || fail_start "slurmd did not start: $(tail -n 5 "${dir}/log/slurmd.out")" ;;
        esac
        wait_for 15 "${name} to write ${dir}/run/${name}.pid" pid_alive "${name}" > /dev/null
        note "started ${name} (pid $(pid_alive "${name}"))"
    done
    if [ -n "${config_changed}" ]; then scontrol reconfigure > /dev/null 2>&1 || true; fi
    watch=slurmd wait_for "${timeout}" "node $(node_name) to be idle in sinfo (state now: '$(node_state)')" node_ready
    note "node $(node_name) is $(node_state) in partition debug; clients need: export SLURM_CONF=${conf}"
}

do_stop() {
    local name pid i stopped=0 jobs
    # jobs still queued or running are cancelled first (slurmd's end would leave their processes running)
    if pid_alive slurmctld > /dev/null && jobs=$(squeue -h -o %A 2> /dev/null | sort -u | tr '\n' ' ') \
            && [ -n "${jobs// /}" ]; then
        note "cancelling the jobs still in the queue: ${jobs}"
        # shellcheck disable=SC2086
        scancel ${jobs}
        for ((i = 0; i < 60; i++)); do [ -n "$(squeue -h -t PD,R,CG,CF,S 2> /dev/null)" ] || break; sleep 0.5; done
    fi
    for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do   # slurmd, slurmctld, then munged
        name=${daemons[$i]}
        if ! pid=$(pid_alive "${name}"); then
            [ ! -e "${dir}/run/${name}.pid" ] || { rm -f "${dir}/run/${name}.pid"; note "${name} was not running (stale pid file removed)"; }
            continue
        fi
        kill -TERM "${pid}"
        for ((t = 0; t < 40; t++)); do kill -0 "${pid}" 2> /dev/null || break; sleep 0.25; done
        if kill -0 "${pid}" 2> /dev/null; then kill -KILL "${pid}" 2> /dev/null; note "${name} (pid ${pid}) killed"; fi
        rm -f "${dir}/run/${name}.pid"
        note "stopped ${name} (pid ${pid})"
        stopped=$((stopped + 1))
    done
    [ "${stopped}" -gt 0 ] || note "no daemon of ${dir} was running"
}

do_status() {
    local name pid down=0
    for name in "${daemons[@]}"; do
        if pid=$(pid_alive "${name}"); then echo "${name}: running (pid ${pid})"; else echo "${name}: not running"; down=1; fi
    done
    if [ "${down}" -eq 0 ]; then sinfo -N -l 2>&1 | sed 's/^/    /'; fi
    echo "export SLURM_CONF=${conf}"
    return "${down}"
}

case "${1:-}" in
    install) do_install ;;
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    env) echo "export SLURM_CONF=$(printf '%q' "${conf}")" ;;
    *) echo "Usage: $0 {install|start|stop|status|env}   (directory: ${dir})" >&2; exit 1 ;;
esac

#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for testing the sweep's Slurm path.
#
#   hpc/slurm_local.sh start DIR   # install slurm-wlm and munge if missing (root + apt),
#                                  # start munged, slurmctld and slurmd with DIR/slurm.conf
#   hpc/slurm_local.sh stop DIR    # stop them
#
# Then: SLURM_CONF=DIR/slurm.conf sbatch ... . Every failure says what is missing.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
conf="$dir/slurm.conf"
host=$(hostname -s)

fail() { echo "slurm_local: cannot start a local Slurm: $*" >&2; exit 1; }

# stop the daemons started with this DIR (by the process ids in their pid files only)
stop_ours() {
  for p in slurmd slurmctld; do
    if [ -f "$dir/$p.pid" ]; then
      kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
      rm -f "$dir/$p.pid"
    fi
  done
}
if [ "$cmd" = stop ]; then
  stop_ours
  sleep 1
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

# 1. the packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "slurm_local: installing Debian's slurm-wlm and munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null; } \
      || fail "apt-get install slurm-wlm munge failed (no network to the Debian mirror?)"
  else
    fail "slurmctld, slurmd or munged is missing and this is not root with apt-get: install Debian's slurm-wlm and munge packages"
  fi
fi
[ "$(id -u)" = 0 ] || fail "the daemons need root here (slurmd runs jobs as their user); run as root or use a real cluster"

# 2. munge: a key and the daemon
if ! pgrep -x munged >/dev/null; then
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then mungekey --create --force >/dev/null 2>&1 || true; fi
    [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged >/dev/null 2>&1 || /usr/sbin/munged --force >/dev/null 2>&1 \
      || fail "munged did not start (see /var/log/munge/munged.log)"
  else
    /usr/sbin/munged --force >/dev/null 2>&1 || fail "munged did not start"
  fi
fi
munge -n </dev/null | unmunge >/dev/null 2>&1 || fail "munge does not work (munge -n | unmunge failed)"

# 3. the configuration: one node, this machine, private state and two free ports
ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))') || fail "python3 is needed to find two free ports"
read -r ctld_port slurmd_port <<<"$ports"
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
cat > "$conf" <<CONF
ClusterName=ilizarov-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"

# 4. the daemons (an earlier start with this DIR is stopped first; nothing else is touched)
stop_ours
sleep 1
/usr/sbin/slurmctld -f "$conf" || fail "slurmctld did not start (see $dir/log/slurmctld.log)"
/usr/sbin/slurmd -f "$conf" || fail "slurmd did not start (see $dir/log/slurmd.log)"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  case "$state" in idle|mix|alloc) echo "slurm_local: node $host is $state (SLURM_CONF=$conf)"; exit 0 ;; esac
  sleep 1
done
fail "the node did not become idle within 60 s (state '${state:-none}'; see $dir/log/)"

#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for spillway's cluster tests, CI and benches.
#
#   bash scripts/slurm-cluster.sh start    install slurm-wlm + munge when missing, write the config, start the daemons
#   bash scripts/slurm-cluster.sh stop     cancel every job, stop slurmd, slurmctld and munged (nothing left running)
#   bash scripts/slurm-cluster.sh status   daemons, node state, queue
#
# Needs root (it writes /etc/slurm/slurm.conf and runs the daemons). Both commands are idempotent: `start` on a running
# cluster only checks it (and rewrites the config + reconfigures when it changed), `stop` on a stopped one does nothing.
# Settings as seen to work with Debian's SLURM 22.05 without cgroups: processes tracked by /proc (proctrack/linuxproc),
# memory limits enforced by the accounting gatherer (OverMemoryKill), time limits by --time, no accounting database.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
LOG_DIR=/var/log/slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
CLUSTER_NAME=spillway
PARTITION=main

say() { printf 'slurm-cluster: %s\n' "$*"; }
die() { printf 'slurm-cluster: error: %s\n' "$*" >&2; exit 1; }

alive() { # pid file → running?
  [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return
  fi
  [[ $(id -u) -eq 0 ]] || die "slurm-wlm and munge are not installed and this is not root: run as root, or apt-get install slurm-wlm munge"
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

munge_key() {
  if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating a munge key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then mungekey --create --force --keyfile=/etc/munge/munge.key; else dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; fi
  fi
  chown -R munge:munge /etc/munge
  chmod 0700 /etc/munge
  chmod 0400 /etc/munge/munge.key
}

write_config() {
  local host cpus mem_mb real_mb
  host=$(hostname -s)
  cpus=$(nproc)
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
  # a little under the machine's memory: slurmd refuses a node that has less than configured
  real_mb=$(( mem_mb - mem_mb / 20 ))
  if (( mem_mb - real_mb < 256 )); then real_mb=$(( mem_mb - 256 )); fi
  # a job that asks for no memory gets this much per CPU (without it, it would get the whole node and run alone)
  local def_mem=$(( real_mb / cpus / 2 ))
  if (( def_mem > 2048 )); then def_mem=2048; fi
  mkdir -p "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd
  local next="$CONF.new.$$"
  cat >"$next" <<EOF
# Written by spillway's scripts/slurm-cluster.sh for a single-node test cluster on $host. Rewritten on every start.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
ReturnToService=2
# finished jobs stay visible to squeue/scontrol this long (s): the executor reads their state there
MinJobAge=600
# seconds between SIGTERM and SIGKILL for a job over its time limit or cancelled
KillWait=5
InactiveLimit=0
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  if [[ -f "$CONF" ]] && cmp -s "$next" "$CONF"; then
    rm -f "$next"
    return 1 # unchanged
  fi
  mv "$next" "$CONF"
  say "wrote $CONF (CPUs=$cpus RealMemory=${real_mb}M)"
  return 0
}

start_munge() {
  if alive "$MUNGE_PID"; then return; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock "$MUNGE_PID"
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged --force
  for _ in $(seq 50); do alive "$MUNGE_PID" && munge -n </dev/null >/dev/null 2>&1 && return; sleep 0.1; done
  die "munged did not start (see /var/log/munge/munged.log)"
}

start_slurm() {
  if ! alive "$CTLD_PID"; then
    say "starting slurmctld"
    /usr/sbin/slurmctld
  fi
  for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
  scontrol ping >/dev/null 2>&1 || die "slurmctld does not answer (see $LOG_DIR/slurmctld.log)"
  if ! alive "$SLURMD_PID"; then
    say "starting slurmd"
    /usr/sbin/slurmd
  fi
}

node_ready() {
  local state
  state=$(sinfo --noheader --Node --format=%T 2>/dev/null | head -n1)
  case "$state" in
    idle* | mixed* | allocated* | completing*) return 0 ;;
    *) return 1 ;;
  esac
}

wait_for_node() {
  local host state
  host=$(hostname -s)
  for i in $(seq 150); do
    node_ready && return 0
    state=$(sinfo --noheader --Node --format=%T 2>/dev/null | head -n1)
    # a node left down or drained by an earlier stop comes back when asked to
    if (( i % 10 == 5 )) && [[ "$state" == down* || "$state" == drain* ]]; then
      scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
    fi
    sleep 0.2
  done
  die "node $host is not ready: $(sinfo --noheader --Node --format='%T %E' 2>&1 | head -n1) (see $LOG_DIR/slurmd.log)"
}

cmd_start() {
  [[ $(id -u) -eq 0 ]] || die "run as root (it writes $CONF and starts the daemons)"
  install_packages
  munge_key
  local changed=0
  write_config && changed=1
  start_munge
  if (( changed )) && alive "$CTLD_PID"; then
    # the daemons run with an older config: restart them (reconfigure cannot change node definitions)
    say "config changed: restarting slurmctld and slurmd"
    stop_daemons
  fi
  start_slurm
  wait_for_node
  say "ready: partition $PARTITION on $(hostname -s), $(sinfo --noheader --Node --format='%c CPUs, %m MB, %T' | head -n1)"
}

kill_pidfile() { # name pidfile
  local pid
  if alive "$2"; then
    pid=$(cat "$2")
    say "stopping $1 ($pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$2"
}

stop_daemons() {
  kill_pidfile slurmd "$SLURMD_PID"
  kill_pidfile slurmctld "$CTLD_PID"
}

cmd_stop() {
  if alive "$CTLD_PID" && scontrol ping >/dev/null 2>&1; then
    if [[ -n "$(squeue --noheader --format=%i 2>/dev/null)" ]]; then
      say "cancelling every job"
      scancel --full --quiet --user=root 2>/dev/null || true
      scancel --full --quiet 2>/dev/null || true
      for _ in $(seq 100); do [[ -z "$(squeue --noheader --states=PENDING,RUNNING,COMPLETING,CONFIGURING,SUSPENDED --format=%i 2>/dev/null)" ]] && break; sleep 0.2; done
    fi
  fi
  # the job step daemons end with their (cancelled) jobs; wait for them before stopping slurmd, which they report to
  for _ in $(seq 50); do pgrep -x slurmstepd >/dev/null || break; sleep 0.2; done
  stop_daemons
  if pgrep -x slurmstepd >/dev/null; then
    say "warning: job step daemons still running (pids $(pgrep -x slurmstepd | tr '\n' ' ')); they end when their jobs do"
  fi
  kill_pidfile munged "$MUNGE_PID"
  say "stopped"
}

cmd_status() {
  local ok=0
  for d in "munged:$MUNGE_PID" "slurmctld:$CTLD_PID" "slurmd:$SLURMD_PID"; do
    if alive "${d#*:}"; then say "${d%%:*} running ($(cat "${d#*:}"))"; else say "${d%%:*} not running"; ok=1; fi
  done
  if (( ok == 0 )); then
    sinfo --Node --format='%N %c %m %T %E' || ok=1
    squeue --format='%i %j %T %M %R' || ok=1
  fi
  return $ok
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (munged, slurmctld, slurmd; no systemd), so that
# `--executor slurm` and tests/opt/slurm.rs run against a real Slurm. Debian 12's slurm-wlm and munge are
# installed by scripts/setup.sh; this script installs them too when they are missing. Idempotent: a
# second run finds the daemons alive (by their pid files) and only waits for the node to be idle.
#
# It writes /etc/slurm/slurm.conf only when there is none or when the one there is this script's own
# (first line below); a cluster configured by someone else is never overwritten. Stop the cluster with
# `scripts/slurm-local.sh stop` (it ends the three daemons by the process ids in their pid files).
set -euo pipefail

MARK="# gemforge scripts/slurm-local.sh: a one-node cluster for tests"
CONF=/etc/slurm/slurm.conf
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo bash "$0" "$@"
  fi
  echo "slurm-local.sh: must run as root (it starts munged, slurmctld and slurmd), and there is no sudo" >&2
  exit 1
fi

alive() { # pid file -> true if its process is running
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

if [ "${1:-}" = "stop" ]; then
  for f in "$SLURMD_PID" "$CTLD_PID" "$MUNGE_PID"; do
    if alive "$f"; then kill "$(cat "$f")"; echo "slurm-local.sh: stopped $(basename "$f" .pid)"; fi
  done
  exit 0
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "slurm-local.sh: installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends slurm-wlm munge
fi

mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
mkdir -p /run/munge
chown munge:munge /run/munge
chmod 0755 /run/munge

if [ ! -s /etc/munge/munge.key ]; then
  echo "slurm-local.sh: no /etc/munge/munge.key; creating one"
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi

if [ -e "$CONF" ] && [ "$(head -n 1 "$CONF")" != "$MARK" ]; then
  echo "slurm-local.sh: $CONF exists and was not written by this script; using it unchanged"
else
  cat >"$CONF.new" <<EOF
$MARK
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  if cmp -s "$CONF.new" "$CONF"; then
    rm "$CONF.new"
  else
    mv "$CONF.new" "$CONF"
    # A changed configuration needs restarted daemons.
    for f in "$SLURMD_PID" "$CTLD_PID"; do
      if alive "$f"; then kill "$(cat "$f")"; fi
    done
    sleep 1
  fi
fi

started=()
if ! alive "$MUNGE_PID"; then
  su -s /bin/sh munge -c /usr/sbin/munged
  started+=(munged)
fi
for _ in $(seq 50); do
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then break; fi
  sleep 0.1
done
if ! munge -n | unmunge >/dev/null 2>&1; then
  echo "slurm-local.sh: munged does not answer (munge -n | unmunge fails)" >&2
  exit 1
fi
if ! alive "$CTLD_PID"; then
  slurmctld
  started+=(slurmctld)
fi
if ! alive "$SLURMD_PID"; then
  slurmd
  started+=(slurmd)
fi

# Wait for the node to be usable (idle, mixed or allocated); a node left down by an earlier run is
# resumed.
state=""
for _ in $(seq 60); do
  state=$(sinfo -h -n localhost -o %t 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle | mix | alloc | comp) break ;;
    down* | drain* | drng*) scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.5
done
case "$state" in
  idle | mix | alloc | comp) ;;
  *)
    echo "slurm-local.sh: the node is '$state' after 30 s; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
    exit 1
    ;;
esac

if [ "${#started[@]}" -eq 0 ]; then
  echo "slurm-local.sh: the cluster is already running (node localhost $state)"
else
  echo "slurm-local.sh: started ${started[*]}; node localhost is $state"
fi

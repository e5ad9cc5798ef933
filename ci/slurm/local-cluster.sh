#!/bin/bash
# A throwaway single-node Slurm cluster in one folder, for trying `vbench slurm --submit` on a
# workstation (the same setup harness/vbench-cli/tests/shards_slurm.rs starts for itself).
# No systemd, no accounting, nothing outside DIR is written: munged runs as the munge user with
# its own key and socket in DIR/munge, slurmctld and slurmd run as root with DIR/slurm.conf.
#
#   ci/slurm/local-cluster.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf
#   ci/slurm/local-cluster.sh stop DIR    # stops what start started, by PID
#
# Needs (Debian 12): apt-get install -y slurm-wlm munge. Run as root.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
PATH=$PATH:/usr/sbin:/sbin

stop() {
  for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
}

case $cmd in
stop) stop; exit 0 ;;
start) ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

for p in slurmctld slurmd munged mungekey sbatch sinfo; do
  command -v "$p" >/dev/null || { echo "$p not found: apt-get install -y slurm-wlm munge" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root (SlurmUser=root)" >&2; exit 1; }

mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
# munged refuses a socket folder it cannot traverse, and a key it does not own.
chmod 755 "$dir" "$dir/munge"
[ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key"
chown -R munge:munge "$dir/munge"
runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/munged.seed"

port=$((20000 + ($$ % 10000) * 2))
cat > "$dir/slurm.conf" <<CONF
ClusterName=vbenchlocal
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
# -D keeps them in the foreground of a background job: their PIDs are the ones in the pid files.
nohup slurmctld -D -i >"$dir/slurmctld.out" 2>&1 &
nohup slurmd -D -N localhost >"$dir/slurmd.out" 2>&1 &
for _ in $(seq 100); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && { echo "export SLURM_CONF=$dir/slurm.conf"; exit 0; }
  sleep 0.2
done
echo "the node did not come up; logs in $dir" >&2
stop
exit 1

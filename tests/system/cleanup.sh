#!/bin/bash
# Removes what the system-test harness left behind: nspawn containers, network
# namespaces (with their bridge and veths), scratch directories. Everything it made
# carries the prefix "dmt-". Safe to run at any time, as often as you like.
#
#   cleanup.sh              every dmt-* cluster on this host
#   cleanup.sh --run RUN    the clusters a suite run listed in /var/tmp/dmt-runs/RUN
#   cleanup.sh --stale      the clusters of suite runs whose process is gone
#   cleanup.sh ID...        the named clusters (dmt-xxxx)
#
# Containers run in private mount namespaces, so their mounts go with them.
# DMT_KEEP=1 keeps the scratch directories (console logs, state) for a look.
set -u
trap '' PIPE # may be run by a process whose output pipe is gone
RUNS_DIR=/var/tmp/dmt-runs

ids=()
if [ "${1:-}" = "--run" ]; then
  f="$RUNS_DIR/${2:?--run needs a run id}"
  [ -f "$f" ] && mapfile -t ids < <(grep -v '^#' "$f" | sort -u)
  rm -f "$f"
  rmdir "$RUNS_DIR" 2>/dev/null
elif [ "${1:-}" = "--stale" ]; then
  # a run file starts with "# pid N" (the vitest process that owns it)
  for f in "$RUNS_DIR"/*; do
    [ -f "$f" ] || continue
    pid=$(sed -n 's/^# pid \([0-9]*\)$/\1/p' "$f" | head -n1)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then continue; fi
    mapfile -t -O "${#ids[@]}" ids < <(grep -v '^#' "$f" | sort -u)
    rm -f "$f"
  done
  rmdir "$RUNS_DIR" 2>/dev/null
elif [ $# -gt 0 ]; then
  ids=("$@")
else
  mapfile -t ids < <(
    { ip netns list 2>/dev/null | awk '{print $1}'
      ls /var/tmp 2>/dev/null
      cat "$RUNS_DIR"/* 2>/dev/null
      ls /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd 2>/dev/null | sed -n 's/^\(dmt-[0-9a-f]\{4\}\)-[0-9]*$/\1/p'
    } | grep -E '^dmt-[0-9a-f]{4}$' | sort -u)
  rm -rf "$RUNS_DIR"
fi
[ ${#ids[@]} -eq 0 ] && exit 0

# nspawn processes of those clusters, found by their --machine=<id>-N argument.
pattern="^systemd-nspawn .*--machine=($(IFS='|'; echo "${ids[*]}"))-[0-9]+( |$)"
nspawn_pids() { pgrep -f -- "$pattern"; }

# Commands the harness runs in a container (nsenter --target=<container PID 1>):
# when the container shuts down, systemd stops them with SIGSTOP, nsenter stops
# itself in turn and never reaps its child, and the container cannot finish dying.
kill_nsenters() {
  local n leader
  for n in $(nspawn_pids); do
    for leader in $(cat "/proc/$n/task/$n/children" 2>/dev/null); do
      pgrep -f -- "^nsenter --target=$leader " | xargs -r kill -KILL 2>/dev/null
    done
  done
}

pids=$(nspawn_pids)
if [ -n "$pids" ]; then
  echo "cleanup: stopping containers (nspawn pids $(echo $pids))" >&2
  kill_nsenters
  kill -TERM $pids 2>/dev/null
  deadline=$((SECONDS + 20))
  while [ -n "$(nspawn_pids)" ] && [ $SECONDS -lt $deadline ]; do kill_nsenters; sleep 0.2; done
  pids=$(nspawn_pids)
  [ -n "$pids" ] && { echo "cleanup: killing nspawn $(echo $pids)" >&2; kill -KILL $pids 2>/dev/null; }
fi

# Each container has a host cgroup named after its machine (harness/cgroup.ts): kill
# whatever is still in it (a container outlives a killed nspawn) and remove it.
cgroup_roots() {
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo /sys/fs/cgroup; return; fi
  for r in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do [ -d "$r" ] && echo "$r"; done
}
for root in $(cgroup_roots); do
  for id in "${ids[@]}"; do
    for cg in "$root/$id"-*; do
      [ -d "$cg" ] || continue
      for _ in $(seq 1 50); do
        procs=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
        [ -z "$procs" ] && break
        if [ -e "$cg/cgroup.kill" ]; then echo 1 > "$cg/cgroup.kill"; else kill -KILL $procs 2>/dev/null; fi
        sleep 0.1
      done
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$cg" ] && echo "cleanup: could not remove cgroup $cg" >&2
    done
  done
done

for id in "${ids[@]}"; do
  case "$id" in dmt-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;; *) continue ;; esac
  if [ -e "/run/netns/$id" ]; then
    echo "cleanup: removing network namespace $id" >&2
    ip netns del "$id" 2>/dev/null || umount -l "/run/netns/$id" 2>/dev/null
    rm -f "/run/netns/$id"
  fi
  if [ -d "/var/tmp/$id" ] && [ "${DMT_KEEP:-}" != 1 ]; then
    # nothing should be mounted below it (private mount namespaces); check anyway
    awk -v d="/var/tmp/$id/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
    rm -rf "/var/tmp/$id"
  fi
done
exit 0

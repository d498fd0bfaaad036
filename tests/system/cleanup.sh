#!/bin/bash
# Removes what the system-test harness left behind: nspawn containers, network
# namespaces (with their bridge and veths), scratch directories. Everything it made
# carries the prefix "dmt-". Safe to run at any time, as often as you like.
#
#   cleanup.sh              every dmt-* cluster on this host
#   cleanup.sh --run RUN    the clusters a suite run listed in /var/tmp/dmt-runs/RUN
#   cleanup.sh ID...        the named clusters (dmt-xxxx)
#
# Containers run in private mount namespaces, so their mounts go with them.
set -u
RUNS_DIR=/var/tmp/dmt-runs

ids=()
if [ "${1:-}" = "--run" ]; then
  f="$RUNS_DIR/${2:?--run needs a run id}"
  [ -f "$f" ] && mapfile -t ids < <(sort -u "$f")
  rm -f "$f"
elif [ $# -gt 0 ]; then
  ids=("$@")
else
  mapfile -t ids < <(
    { ip netns list 2>/dev/null | awk '{print $1}'
      ls /var/tmp 2>/dev/null
      cat "$RUNS_DIR"/* 2>/dev/null
    } | grep -E '^dmt-[0-9a-f]{4}$' | sort -u)
  rm -rf "$RUNS_DIR"
fi
[ ${#ids[@]} -eq 0 ] && exit 0

# nspawn processes of those clusters, found by their --machine=<id>-N argument.
nspawn_pids() {
  local p cmd id
  for p in /proc/[0-9]*; do
    cmd=$( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
    case "$cmd" in systemd-nspawn*) ;; *) continue ;; esac
    for id in "${ids[@]}"; do
      case "$cmd" in *"--machine=$id-"*) echo "${p#/proc/}"; break ;; esac
    done
  done
}

pids=$(nspawn_pids)
if [ -n "$pids" ]; then
  echo "cleanup: stopping containers (nspawn pids $(echo $pids))" >&2
  kill -TERM $pids 2>/dev/null
  for _ in $(seq 1 100); do
    pids=$(nspawn_pids); [ -z "$pids" ] && break; sleep 0.2
  done
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  for _ in $(seq 1 50); do [ -z "$(nspawn_pids)" ] && break; sleep 0.1; done
fi

for id in "${ids[@]}"; do
  case "$id" in dmt-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;; *) continue ;; esac
  if [ -e "/run/netns/$id" ]; then
    echo "cleanup: removing network namespace $id" >&2
    ip netns del "$id" 2>/dev/null || umount -l "/run/netns/$id" 2>/dev/null
    rm -f "/run/netns/$id"
  fi
  if [ -d "/var/tmp/$id" ]; then
    # nothing should be mounted below it (private mount namespaces); check anyway
    awk -v d="/var/tmp/$id/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
    rm -rf "/var/tmp/$id"
  fi
done
exit 0

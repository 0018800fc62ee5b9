#!/usr/bin/env bash
# What each kernel rule tier costs: runs the shared bench workload (scaled down by SCALE, default
# 5) under a private auditd once per tier set, and counts the events auditd hands the plugins.
#   sudo scripts/tier-cost.sh [WORKLOAD.sh]
# Needs root, containerd, busybox-static and gcc (installed if missing). Stops everything and
# deletes the rules on exit. Prints one line per tier set: events, events per second of
# workload, and events by key.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
workload=${1:-$root/../shared/testdata/bench/workload.sh}
scale=${SCALE:-5}
[ -r "$workload" ] || { echo "tier-cost: cannot read $workload" >&2; exit 2; }
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
e2e_preflight
command -v gcc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null

d=$(mktemp -d /tmp/adock-tiers.XXXXXX)
trap 'e2e_teardown "$d"; rm -rf "$d"' EXIT
# The workload, its loop counts divided by SCALE.
sed -E "s/seq 1 15000/seq 1 $((15000 / scale))/; s/seq 1 30\\)/seq 1 $((30 / scale)))/; s/seq 1 3000/seq 1 $((3000 / scale))/; s/range\\(2000\\)/range($((2000 / scale)))/" \
  "$workload" > "$d/workload.sh"
printf '#!/bin/sh\nexec cat > %s\n' "$d/stream" > "$d/capture"
chmod 755 "$d/capture"
e2e_auditd_conf "$d"
e2e_plugin "$d" capture "$d/capture"
e2e_start_containerd "$d"
export CONTAINERD_ADDRESS=$d/ctd.sock

printf '%-40s %8s %9s %8s  %s\n' "tiers" "events" "events/s" "secs" "by key"
for tiers in exec exec,cis exec,cis,container_fim exec,cis,container_fim,container_syscalls exec,cis,container_fim,container_syscalls,runtime_sockets; do
  "$root/scripts/render-rules.sh" --tiers "$tiers" > "$d/rules"
  rm -f "$d/stream"
  e2e_start_auditd "$d" "$d/rules"
  sleep 1
  start=$(date +%s.%N)
  bash "$d/workload.sh" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  sleep 3
  e2e_stop_auditd
  for _ in $(seq 50); do pgrep -f "cat > $d/stream" >/dev/null || break; sleep 0.1; done
  python3 - "$d/stream" "$tiers" "$start" "$end" <<'PY'
import collections, re, sys
path, tiers, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
events = {}
for line in open(path, "rb"):
    m = re.search(rb"audit\((\d+\.\d+):(\d+)\)", line)
    if not m:
        continue
    k = (m.group(1), m.group(2))
    key = re.search(rb' key="([^"]*)"', line)
    if key or k not in events:
        events[k] = key.group(1).decode() if key else events.get(k, "-")
secs = end - start
by = collections.Counter(events.values())
print(f"{tiers:40s} {len(events):8d} {len(events)/secs:9.0f} {secs:8.1f}  " + " ".join(f"{k}={v}" for k, v in by.most_common()))
PY
done

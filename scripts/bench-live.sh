#!/usr/bin/env bash
# Live cost: auditd alone, auditd + audisp-docker, auditd + Laurel, in the same run, same kernel
# rules (scripts/render-rules.sh: what install.sh loads), same workload.
#   sudo scripts/bench-live.sh [--quick] [--execs N] [--churn N] [--rate EXECS_PER_S]
#        [--rate-secs S] [--markers N] [--modes none,adock,laurel] [--bin PATH]
#        [--baseline-bin PATH] [--baseline-rules DIR] [--perf] [--keep DIR]
# Per mode, a private auditd (its own conf and plugins.d; tests/e2e/lib.sh) runs:
#   1. the workload: N execs of /bin/true, then N rounds of shell file churn (sh -c 'echo >f;
#      chmod; mv; rm'), as fast as they go (the highest rate this machine reaches);
#   2. a fixed-rate phase: execs of /bin/true paced at --rate for --rate-secs, with marker execs
#      (a copy of /bin/true that one extra detection rule alerts on) spread over it.
# --baseline-bin adds mode "base": another audisp-docker build (e.g. before a change), run the
# same way in the same run, since timings on a shared machine drift between runs;
# --baseline-rules gives it its own rules directory (that build's conf/rules: an older build
# refuses conditions it does not know). --perf
# records the plugin (perf record --call-graph dwarf -p, 400 Hz) during the burst: perf-MODE.txt, by symbol and by thread
# (kept with --keep, with perf-MODE.data).
# Reported per phase: CPU seconds (utime+stime from /proc/PID/stat, children excluded) of auditd
# and of its plugin, the kernel's `lost` counter (auditctl -s) before and after, the plugin's own
# input drops (its last state line), voluntary context switches of the plugin (its threads),
# and for audisp-docker the alert latency p50/p99: the marker's audit time (in the alert) to the
# moment the alert line is in the file (seen by an inotify watcher). --quick: small sizes, for
# CI (checks it runs and nothing is lost; no timing bars). Takes /run/adock-live.lock.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
execs=10000 churn=2000 rate=1000 rate_secs=10 markers=100 modes=none,adock,laurel keep="" base_bin="" base_rules="" perf=""
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
while [ $# -gt 0 ]; do
  case $1 in
    --quick) execs=1000 churn=200 rate=500 rate_secs=3 markers=30; shift ;;
    --execs) execs=$2; shift 2 ;;
    --churn) churn=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --rate-secs) rate_secs=$2; shift 2 ;;
    --markers) markers=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --baseline-bin) base_bin=$2; shift 2 ;;
    --baseline-rules) base_rules=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --perf) perf=1; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-live: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -z "$base_bin" ] || [[ ,$modes, == *,base,* ]] || modes=$modes,base
log() { echo "bench-live: $*" >&2; }
[ -x "$bin" ] || { echo "bench-live: no binary at $bin (build first, or --bin)" >&2; exit 2; }
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
e2e_preflight
command -v laurel >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq laurel >/dev/null
command -v cc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null

d=$(mktemp -d /tmp/adock-bench-live.XXXXXX)
WATCH_PID=""
was_enabled=$(auditctl -s | awk '/^enabled/{print $2}')
cleanup() {
  [ -z "$WATCH_PID" ] || kill "$WATCH_PID" 2>/dev/null || true
  e2e_teardown "$d"
  # auditd leaves the kernel's audit switch on: put it back as it was.
  [ "$was_enabled" != 0 ] || auditctl -e 0 >/dev/null 2>&1 || true
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp -a "$d"/. "$keep"/ 2>/dev/null || true; fi
  rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$root/scripts/render-rules.sh" > "$d/rules" 2> "$d/render.err"
# A program of its own (one byte more than /bin/true): not a package's program under another
# name, which binary_masquerade would report too.
cp /bin/true "$d/adock-marker" && printf '\0' >> "$d/adock-marker"
mkdir -p "$d/rules-plugin" "$d/work"
cp "$root"/conf/rules/*.yaml "$d/rules-plugin/"
cat > "$d/rules-plugin/99-bench-marker.yaml" <<YAML
lists:
  bench_marker: ["$d/adock-marker"]
rules:
  - id: bench_marker
    description: benchmark latency marker
    severity: info
    summary: "marker {process.pid}"
    match: {event: exec, actor_in: bench_marker}
YAML
# The shipped defaults (/proc on, integrity on) with one file output: what an install runs.
cat > "$d/adock.yaml" <<YAML
rules_dir: $d/rules-plugin
state_file: $d/state.json
seccomp_learn_file: $d/seccomp.json
status_interval_s: 0
spool_dir: $d/spool
integrity: {state_file: $d/baseline.json}
# The markers are 100 alerts of one program in 10 s: the per-source rate limit (20 at once)
# would hold most of them back and the latency would measure the limit, not the pipeline.
engine: {alert_rate_burst: 0}
outputs:
  - {name: local, type: file, path: $d/alerts.jsonl}
YAML
"$bin" --config "$d/adock.yaml" --check >/dev/null
cp "$d/adock.yaml" "$d/base.yaml"
if [ -n "$base_rules" ]; then
  mkdir -p "$d/rules-base"
  cp "$base_rules"/*.yaml "$d/rules-base/"
  cp "$d/rules-plugin/99-bench-marker.yaml" "$d/rules-base/"
  sed -i "s|^rules_dir: .*|rules_dir: $d/rules-base|" "$d/base.yaml"
fi
# An older build may not know a newer key: keys it refuses are left out of its config.
if [ -n "$base_bin" ]; then
  for _ in 1 2 3 4 5; do
    key=$({ "$base_bin" --config "$d/base.yaml" --check 2>&1 || true; } | sed -n "s/.*unknown key '\([a-z_]*\)' in the configuration.*/\1/p" | head -1)
    [ -n "$key" ] || break
    echo "bench-live: base: $key left out of its config (that build does not know it)"
    sed -i "/^$key:/d" "$d/base.yaml"
  done
  "$base_bin" --config "$d/base.yaml" --check >/dev/null
fi
mkdir -p "$d/laurel"
cat > "$d/laurel.toml" <<TOML
directory = "$d/laurel"
user = "root"
[auditlog]
file = "audit.log"
size = 1000000000
generations = 2
[transform]
execve-argv = ["array"]
[enrich]
pid = true
container = true
script = true
TOML

# The fixed-rate driver: execs paced at RATE for SECS (absolute deadlines, posix_spawn),
# MARKERS of them the marker binary. In C: a Python driver cannot keep 1,000 execs/s here.
cat > "$d/pace.c" <<'C'
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
extern char** environ;
int main(int argc, char** argv) {
    double rate = atof(argv[1]), secs = atof(argv[2]);
    long markers = atol(argv[3]), n = (long)(rate * secs), every = markers > 0 ? n / markers : 0, late = 0;
    if (every < 1 && markers > 0) every = 1;
    struct timespec t0, now, next;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        double at = (double)i / rate;
        next.tv_sec = t0.tv_sec + (time_t)at;
        next.tv_nsec = t0.tv_nsec + (long)((at - (double)(time_t)at) * 1e9);
        if (next.tv_nsec >= 1000000000L) { next.tv_sec++; next.tv_nsec -= 1000000000L; }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - next.tv_sec) * 1e9 + (now.tv_nsec - next.tv_nsec) > 5e7) late++;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        char* path = (every > 0 && i % every == every / 2) ? argv[4] : "/bin/true";
        char* args[] = {path, NULL};
        pid_t pid;
        if (posix_spawn(&pid, path, NULL, NULL, args, environ) != 0) return 1;
        while (waitpid(-1, NULL, WNOHANG) > 0) {}
    }
    while (wait(NULL) > 0) {}
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("%ld %.3f %ld\n", n, (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9, late);
    return 0;
}
C
cc -O2 -o "$d/pace" "$d/pace.c"
# The latency watcher: inotify on the alert file, stamps each new line when it appears.
cat > "$d/watch.py" <<'PY'
import ctypes, json, os, struct, sys, time, datetime
path, out = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL("libc.so.6", use_errno=True)
fd = libc.inotify_init()
directory = os.path.dirname(path)
libc.inotify_add_watch(fd, directory.encode(), 0x2 | 0x100)  # IN_MODIFY | IN_CREATE
pos = 0
buf = b""
with open(out, "w") as o:
    while True:
        os.read(fd, 4096)
        now = time.time()
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            continue
        pos += len(data)
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            try:
                a = json.loads(line)
            except ValueError:
                continue
            if a.get("rule", {}).get("id") != "bench_marker":
                continue
            t = datetime.datetime.strptime(a["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
            o.write(f"{(now - t) * 1000:.2f}\n")
            o.flush()
PY

cpu_of() {  # utime+stime ticks of PID (children excluded), 0 if gone
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
vcsw_of() {  # voluntary context switches of all threads of PID
  local t s=0
  for t in /proc/"$1"/task/*/status; do
    s=$((s + $(awk '/^voluntary_ctxt_switches/{print $2}' "$t" 2>/dev/null || echo 0)))
  done
  echo "$s"
}
threads_of() {  # "tid comm ticks" of each thread of PID (utime+stime)
  local t
  for t in /proc/"$1"/task/*; do
    awk -v t="${t##*/}" '{ s = $0; sub(/^[0-9]+ \(/, "", s); c = s; sub(/\) .*/, "", c); sub(/^.*\) /, "", s)
      split(s, f, " "); print t, c, f[12] + f[13] }' "$t/stat" 2>/dev/null || true
  done
}
lost() { auditctl -s | awk '/^lost/{print $2}'; }
hz=$(getconf CLK_TCK)

plugin_pid() {  # the plugin auditd started (its child), once it runs
  local p
  for _ in $(seq 100); do
    p=$(pgrep -P "$E2E_AUDITD_PID" | head -1 || true)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1
  done
  return 1
}
settle() {  # waits until PID used no CPU for a second (start-up scans done, backlog drained)
  local pid=$1 a b
  for _ in $(seq 60); do
    a=$(cpu_of "$pid"); sleep 1; b=$(cpu_of "$pid")
    [ "$a" = "$b" ] && return 0
  done
}

workload() {
  local i
  for ((i = 0; i < execs; i++)); do /bin/true; done
  for ((i = 0; i < churn; i++)); do
    sh -c 'echo aaa > '"$d"'/work/f.$$; chmod 600 '"$d"'/work/f.$$; mv '"$d"'/work/f.$$ '"$d"'/work/g.$$; rm '"$d"'/work/g.$$'
  done
}

# phase MODE NAME CMD...: runs CMD, prints "MODE NAME wall auditd_s plugin_s lost_delta vcsw".
phase() {
  local mode=$1 name=$2; shift 2
  local a0 p0 l0 v0 a1 p1 l1 v1 t0 t1
  a0=$(cpu_of "$E2E_AUDITD_PID"); p0=$([ -n "$PLUGIN" ] && cpu_of "$PLUGIN" || echo 0)
  v0=$([ -n "$PLUGIN" ] && vcsw_of "$PLUGIN" || echo 0); l0=$(lost)
  [ -z "$PLUGIN" ] || threads_of "$PLUGIN" > "$d/threads.0"
  t0=$(date +%s.%N)
  "$@" > "$d/phase.out"
  t1=$(date +%s.%N)
  # What is still queued is part of the cost: wait for auditd and the plugin to go idle.
  settle "$E2E_AUDITD_PID"; [ -z "$PLUGIN" ] || settle "$PLUGIN"
  a1=$(cpu_of "$E2E_AUDITD_PID"); p1=$([ -n "$PLUGIN" ] && cpu_of "$PLUGIN" || echo 0)
  v1=$([ -n "$PLUGIN" ] && vcsw_of "$PLUGIN" || echo 0); l1=$(lost)
  if [ -n "$PLUGIN" ]; then  # CPU per thread name over the phase, into $d/threads
    threads_of "$PLUGIN" | awk -v m="$mode" -v n="$name" -v hz="$hz" 'NR == FNR { b[$1] = $3; next }
      { c[$2] += $3 - ($1 in b ? b[$1] : 0) } END { for (k in c) if (c[k] > 0) printf "%s %s thread %s %.2f\n", m, n, k, c[k] / hz }' \
      "$d/threads.0" - | sort -k5 -nr >> "$d/threads"
  fi
  awk -v m="$mode" -v n="$name" -v t0="$t0" -v t1="$t1" -v a="$((a1 - a0))" -v p="$((p1 - p0))" \
      -v l="$((l1 - l0))" -v v="$((v1 - v0))" -v hz="$hz" \
      'BEGIN { printf "%s %s %.2f %.2f %.2f %d %d\n", m, n, t1 - t0, a / hz, p / hz, l, v }'
}

results=$d/results
: > "$results"; : > "$d/threads"
IFS=, read -r -a mode_list <<<"$modes"
for mode in "${mode_list[@]}"; do
  rm -f "$d/plugins.d"/*.conf "$d/alerts.jsonl" "$d/latency"
  rm -rf "$d/laurel"/*
  e2e_auditd_conf "$d"
  case $mode in
    none) ;;
    adock) e2e_plugin "$d" audisp-docker "$bin" "--config $d/adock.yaml --log-stderr" ;;
    base) e2e_plugin "$d" audisp-docker "$base_bin" "--config $d/base.yaml --log-stderr" ;;
    laurel) e2e_plugin "$d" laurel "$(command -v laurel)" "--config $d/laurel.toml" ;;
    *) echo "bench-live: unknown mode $mode" >&2; exit 2 ;;
  esac
  log "$mode: starting auditd"
  e2e_start_auditd "$d" "$d/rules"
  PLUGIN=""
  [ "$mode" = none ] || PLUGIN=$(plugin_pid)
  settle "$E2E_AUDITD_PID"; [ -z "$PLUGIN" ] || settle "$PLUGIN"
  if [ "$mode" = adock ] || [ "$mode" = base ]; then
    python3 "$d/watch.py" "$d/alerts.jsonl" "$d/latency" &
    WATCH_PID=$!
  fi
  log "$mode: workload ($execs execs, $churn churn rounds)"
  PERF_PID=""
  if [ -n "$perf" ] && [ -n "$PLUGIN" ] && command -v perf >/dev/null; then
    perf record -q -F 400 --call-graph dwarf,16384 -p "$PLUGIN" -o "$d/perf-$mode.data" > /dev/null 2>&1 &
    PERF_PID=$!
  fi
  phase "$mode" burst workload >> "$results"
  if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true
    perf report -i "$d/perf-$mode.data" --no-children -g none --percent-limit 0.5 --sort dso,sym --stdio 2>/dev/null | grep -v '^$' | head -60 > "$d/perf-$mode.txt" || true
    # The same samples by thread, then by thread and symbol: which thread pays for what.
    perf report -i "$d/perf-$mode.data" --no-children -g none --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' >> "$d/perf-$mode.txt" || true
    perf report -i "$d/perf-$mode.data" --no-children -g none --percent-limit 0.4 --sort comm,sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -80 >> "$d/perf-$mode.txt" || true
    # Inclusive cost on the engine thread (call graphs from DWARF): where its time goes.
    perf report -i "$d/perf-$mode.data" --children --comm adock-engine -g none --percent-limit 1.5 --sort sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 >> "$d/perf-$mode.txt" || true
    [ -n "$keep" ] || rm -f "$d/perf-$mode.data"
  fi
  log "$mode: fixed rate ($rate execs/s for $rate_secs s)"
  phase "$mode" rate "$d/pace" "$rate" "$rate_secs" "$markers" "$d/adock-marker" >> "$results"
  read -r n el late < "$d/phase.out"
  echo "$mode rate_achieved $(awk -v n="$n" -v e="$el" 'BEGIN{printf "%.0f", n / e}') late=$late" >> "$d/rates"
  if [ -n "$WATCH_PID" ]; then
    sleep 1
    kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=""
  fi
  if [ -n "$PLUGIN" ]; then
    echo "$mode rss_kb $(awk '/^VmHWM/{print $2}' "/proc/$PLUGIN/status" 2>/dev/null || echo 0)" >> "$d/rates"
  fi
  if [ "$mode" = adock ] || [ "$mode" = base ]; then
    # The plugin's own counters (its stderr is not kept by auditd): the state file, on SIGUSR1.
    rm -f "$d/state.json"
    kill -USR1 "$PLUGIN"
    for _ in $(seq 50); do [ -s "$d/state.json" ] && break; sleep 0.1; done
    drops=$(grep -o '"dropped_lines":[0-9]*' "$d/state.json" 2>/dev/null | cut -d: -f2 || true)
    echo "$mode plugin_dropped_lines ${drops:-?}" >> "$d/rates"
    echo "$mode input_queue_max_depth $(grep -o '"queue_max_depth":[0-9]*' "$d/state.json" 2>/dev/null | head -1 | cut -d: -f2 || true)" >> "$d/rates"
  fi
  e2e_stop_auditd
  if [ "$mode" = adock ] || [ "$mode" = base ]; then
    [ -s "$d/latency" ] && sort -n "$d/latency" | awk -v m="$mode" '{v[NR]=$1} END {
      p50 = v[int((NR + 1) * 0.50)]; i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; if (i < 1) i = 1
      printf "%s latency_ms n=%d p50=%.1f p99=%.1f max=%.1f\n", m, NR, p50, v[i], v[NR] }' >> "$d/rates"
  fi
done

echo
printf '%-7s %-6s %7s %10s %10s %6s %10s\n' mode phase wall_s auditd_s plugin_s lost plugin_vcsw
while read -r m n w a p l v; do
  printf '%-7s %-6s %7s %10s %10s %6s %10s\n' "$m" "$n" "$w" "$a" "$p" "$l" "$v"
done < "$results"
echo
cat "$d/rates" 2>/dev/null || true
cat "$d/threads" 2>/dev/null || true
# Ratios on the burst phase: the plugin's CPU against auditd alone and against Laurel's.
awk '$2 == "burst" { a[$1] = $4; p[$1] = $5 } $2 == "rate" { ra[$1] = $4; r[$1] = $5; w[$1] = $3 }
  END {
    for (m in p) if (m == "adock" || m == "base") {
      if ("none" in a && a["none"] > 0) printf "%s: plugin CPU / auditd-alone CPU (burst): %.2f\n", m, p[m] / a["none"]
      if ("laurel" in p && p["laurel"] > 0) printf "%s: plugin CPU / Laurel CPU (burst): %.2f\n", m, p[m] / p["laurel"]
    }
    for (m in r) if (w[m] > 0) printf "%s, fixed rate: auditd %.1f%% of one CPU, plugin %.1f%%\n", m, 100 * ra[m] / w[m], 100 * r[m] / w[m]
  }' "$results"
bad=$(awk '$6 != 0' "$results" | wc -l)
drops=$(awk '$1 == "adock" && $2 == "plugin_dropped_lines" {print $3}' "$d/rates" 2>/dev/null || true)
if [ "$bad" != 0 ] || { [ -n "$drops" ] && [ "$drops" != 0 ]; }; then
  echo "FAIL: events lost (kernel lost counter or plugin drops above)"
  exit 1
fi
echo "PASS: 0 lost in the kernel, 0 dropped by the plugin"

#!/usr/bin/env bash
# Throughput benchmark: audisp-docker against Laurel (Debian package) on the same real plugin
# stream, in the same run.
#   scripts/bench.sh [--runs N] [--delivery] [STREAM.log.zst]
# --delivery: only the alert-delivery case (file output alone against a dead webhook beside it).
# For 1/4, 1/2 and all of the stream (cut by lines), each program reads the decompressed text
# on stdin, as auditd feeds a plugin; /usr/bin/time measures wall, CPU (user+sys) and peak RSS;
# the median of N runs (default 3) is reported. Bars (the pipeline issue): audisp-docker at least
# 3x faster than Laurel on the whole stream; time growing linearly within 15%; peak RSS under
# 64 MB; and no alert of severity medium or above on this benign workload (the
# detection catalogue's false-alarm bar). Exit 1 when a bar fails. Also reported, not a bar:
# issue 12's replay goal (config holding only an output, with and without /proc: ratio to
# Laurel and peak RSS). Progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=3
stream=""
delivery_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --delivery) delivery_only=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) stream=$1; shift ;;
  esac
done
stream=${stream:-${AUDISP_DOCKER_BENCH_STREAM:-$root/../shared/testdata/bench/plugin-stream.log.zst}}
[ -r "$stream" ] || { echo "bench: cannot read $stream (pass the path)" >&2; exit 2; }
log() { echo "bench: $*" >&2; }

need=()
[ "$delivery_only" = 1 ] || command -v laurel >/dev/null || need+=(laurel)
command -v zstd >/dev/null || need+=(zstd)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "bench: needs ${need[*]} (apt-get install them, or run as root)" >&2; exit 2; }
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
if [ ! -x "$bin" ]; then
  log "building $bin (Release)"
  "$root/scripts/deps.sh"
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j"$(nproc)" --target audisp-docker >/dev/null
fi

d=$(mktemp -d /tmp/adock-bench.XXXXXX)
trap 'rm -rf "$d"' EXIT
log "decompressing $stream"
zstd -dqc "$stream" > "$d/all.log"
total=$(wc -l < "$d/all.log")
head -n $((total / 4)) "$d/all.log" > "$d/quarter.log"
head -n $((total / 2)) "$d/all.log" > "$d/half.log"
# Linearity needs content held fixed: the stream's quarters differ (execs first, containers and
# file churn later), so the prefixes alone cannot tell growth from content. Each quarter on its
# own, and the first quarter four times over, give the additive and the pure-scaling check.
for i in 1 2 3 4; do
  sed -n "$(( (i - 1) * total / 4 + 1 )),$(( i * total / 4 ))p" "$d/all.log" > "$d/q$i.log"
done
cat "$d/quarter.log" "$d/quarter.log" "$d/quarter.log" "$d/quarter.log" > "$d/q1x4.log"

# Ours: the shipped detection rules, one file output, /proc off (the stream is another boot's).
cat > "$d/adock.yaml" <<YAML
rules_dir: $root/conf/rules
state_file: $d/state.json
seccomp_learn_file: $d/seccomp.json
status_interval_s: 0
processes: {use_proc: false}
outputs:
  - {name: local, type: file, path: $d/alerts.jsonl}
YAML
# Laurel as its docs suggest, with the enrichments closest to ours.
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

# measure NAME INPUT CMD...: median wall/cpu/rss of $runs runs (ours: at least 5, it is cheap
# and this VM's timings are noisy) -> "wall cpu rss_kb"
measure() {
  local name=$1 input=$2; shift 2
  local i out=() n=$runs
  [ "$name" = laurel ] || [ "$n" -ge 5 ] || n=5
  for i in $(seq "$n"); do
    log "$name $(basename "$input" .log) run $i/$n"
    rm -rf "$d/laurel"/* "$d/alerts.jsonl"
    /usr/bin/time -f '%e %U %S %M' -o "$d/time" "$@" < "$input" > /dev/null 2> "$d/$name.err" \
      || { echo "bench: $name failed: $(tail -3 "$d/$name.err")" >&2; exit 1; }
    cp "$d/$name.err" "$d/$name.$(basename "$input" .log).err"
    out+=("$(awk '{printf "%.3f %.3f %d\n", $1, $2 + $3, $4}' "$d/time")")
  done
  printf '%s\n' "${out[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p"
}

declare -A ours theirs
if [ "$delivery_only" = 0 ]; then
for size in quarter half all; do
  ours[$size]=$(measure audisp-docker "$d/$size.log" "$bin" --config "$d/adock.yaml" --log-stderr)
  theirs[$size]=$(measure laurel "$d/$size.log" laurel -c "$d/laurel.toml")
done
# Both really consumed the input: our final status line, Laurel's output.
events=$(grep -o '"events":[0-9]*' "$d/audisp-docker.all.err" | tail -1 | cut -d: -f2)
alerts=$( [ -e "$d/alerts.jsonl" ] && wc -l < "$d/alerts.jsonl" || echo 0)
loud=$( [ -e "$d/alerts.jsonl" ] && grep -c '"severity":"\(critical\|high\|medium\)"' "$d/alerts.jsonl" || true)
loud=${loud:-0}
laurel_lines=$(cat "$d/laurel"/audit.log* 2>/dev/null | wc -l || true)

for part in q1 q2 q3 q4 q1x4; do
  ours[$part]=$(measure audisp-docker "$d/$part.log" "$bin" --config "$d/adock.yaml" --log-stderr)
done
# Issue 12's replay goal is set on a config holding only an output (the default rules, /proc
# and the integrity monitor as an install has them; only the state files kept in $d), and on
# the same with use_proc: false.
cat > "$d/only-output.yaml" <<YAML
state_file: $d/state.json
seccomp_learn_file: $d/seccomp.json
spool_dir: $d/spool
integrity: {state_file: $d/baseline.json}
outputs:
  - {name: local, type: file, path: $d/alerts.jsonl}
YAML
{ cat "$d/only-output.yaml"; echo "processes: {use_proc: false}"; } > "$d/only-output-noproc.yaml"
ours[only]=$(measure audisp-docker "$d/all.log" "$bin" --config "$d/only-output.yaml" --log-stderr)
ours[only_noproc]=$(measure audisp-docker "$d/all.log" "$bin" --config "$d/only-output-noproc.yaml" --log-stderr)
fi
# Alert delivery must never slow the engine: a rule that alerts on every exec (the benign stream
# raises none otherwise), once with the file output alone, once with a webhook at a dead address
# beside it (connection refused: every alert is retried, then spooled on disk).
mkdir -p "$d/rules-alerting"
cp "$root"/conf/rules/*.yaml "$d/rules-alerting/"
cat > "$d/rules-alerting/90-bench.yaml" <<YAML
rules:
  - id: bench_every_exec
    description: benchmark only
    severity: info
    summary: "{process.exe} (pid {process.pid})"
    match: {event: exec}
YAML
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
# The per-source rate limit (engine.alert_rate_burst) would hold back all but a few hundred of
# these alerts of one program: turned off, so delivery is what is measured.
sed "s|^rules_dir: .*|rules_dir: $d/rules-alerting\nengine: {alert_rate_burst: 0}|" "$d/adock.yaml" > "$d/file-only.yaml"
{ echo "spool_dir: $d/spool"
  cat "$d/file-only.yaml"
  echo "  - {name: dead, type: webhook, url: \"http://127.0.0.1:$dead_port/hook\", retries: 2, backoff_initial_ms: 100}"
} > "$d/dead-hook.yaml"
ours[file_only]=$(measure audisp-docker "$d/all.log" "$bin" --config "$d/file-only.yaml" --log-stderr)
file_alerts=$(wc -l < "$d/alerts.jsonl")
ours[dead_hook]=$(measure audisp-docker "$d/all.log" sh -c "rm -rf '$d/spool'; exec '$bin' --config '$d/dead-hook.yaml' --log-stderr")
dead_alerts=$(wc -l < "$d/alerts.jsonl")
dead_spooled=$(grep -o "output 'dead': [0-9]* alert(s) left in the spool" "$d/audisp-docker.all.err" | grep -o '[0-9]*' | head -1 || true)

fail=0
verdict() { if [ "$1" = 1 ]; then echo "PASS: $2"; else echo "FAIL: $2"; fail=1; fi; }
delivery_verdict() {
  read -r fw fc _ <<<"${ours[file_only]}"
  read -r hw hc _ <<<"${ours[dead_hook]}"
  printf 'alerting on every exec (%s alerts): file only %s s wall %s s CPU; with a dead webhook %s s wall %s s CPU (%s spooled)\n' \
    "$file_alerts" "$fw" "$fc" "$hw" "$hc" "${dead_spooled:-?}"
  verdict "$(awk -v a="$hw" -v b="$fw" -v n1="$file_alerts" -v n2="$dead_alerts" 'BEGIN{print (a <= 1.05 * b && n1 == n2 && n1 > 0) ? 1 : 0}')" \
    "a dead webhook beside the file output: $(awk -v a="$hw" -v b="$fw" 'BEGIN{printf "%.3f", a/b}')x the file-only time, same $file_alerts alerts in the file (bar <= 1.05)"
}
if [ "$delivery_only" = 1 ]; then
  delivery_verdict
  exit "$fail"
fi

lines_of() { wc -l < "$d/$1.log"; }
printf '\n%-8s %9s | %9s %9s %8s | %9s %9s %8s | %7s %7s\n' size lines "ours s" "cpu s" "RSS MB" "laurel s" "cpu s" "RSS MB" "wall x" "cpu x"
for size in quarter half all; do
  read -r ow oc orss <<<"${ours[$size]}"
  read -r lw lc lrss <<<"${theirs[$size]}"
  awk -v s="$size" -v n="$(lines_of "$size")" -v ow="$ow" -v oc="$oc" -v orss="$orss" -v lw="$lw" -v lc="$lc" -v lrss="$lrss" \
    'BEGIN { printf "%-8s %9d | %9.3f %9.3f %8.1f | %9.3f %9.3f %8.1f | %7.2f %7.2f\n", s, n, ow, oc, orss/1024, lw, lc, lrss/1024, lw/ow, lc/oc }'
done
echo
echo "audisp-docker: $events events parsed, $alerts alerts (whole stream); laurel wrote $laurel_lines lines"

read -r ow _ orss <<<"${ours[all]}"
read -r lw _ _ <<<"${theirs[all]}"
verdict "$(awk -v a="$lw" -v b="$ow" 'BEGIN{print (a >= 3 * b) ? 1 : 0}')" \
  "at least 3x faster than laurel on the whole stream ($(awk -v a="$lw" -v b="$ow" 'BEGIN{printf "%.2fx", a/b}'))"
# CPU seconds: less disturbed than wall time by the other vCPU's neighbours.
wall() { read -r _ c _ <<<"${ours[$1]}"; echo "$c"; }
printf 'audisp-docker CPU per quarter: %s %s %s %s s; first quarter x4: %s s\n' "$(wall q1)" "$(wall q2)" "$(wall q3)" "$(wall q4)" "$(wall q1x4)"
sum=$(awk -v a="$(wall q1)" -v b="$(wall q2)" -v c="$(wall q3)" -v e="$(wall q4)" 'BEGIN{print a+b+c+e}')
additive=$(awk -v t="$(wall all)" -v s="$sum" 'BEGIN{printf "%.3f", t/s}')
scaling=$(awk -v t="$(wall q1x4)" -v q="$(wall q1)" 'BEGIN{printf "%.3f", t/(4*q)}')
# At most 15% above linear. Below is not a failure: each separate run pays start-up (rules,
# identities) and warm-up once, so the parts can add up to more than the whole.
within() { awk -v r="$1" 'BEGIN{print (r <= 1.15) ? 1 : 0}'; }
verdict "$(within "$additive")" "linear: the whole stream takes ${additive}x the sum of its quarters (bar <= 1.15)"
verdict "$(within "$scaling")" "linear: the first quarter four times over takes ${scaling}x four times one (bar <= 1.15)"
delivery_verdict
verdict "$(awk -v r="$orss" 'BEGIN{print (r < 64 * 1024) ? 1 : 0}')" \
  "peak RSS $(awk -v r="$orss" 'BEGIN{printf "%.1f", r/1024}') MB (bar 64 MB)"
verdict "$([ "$loud" = 0 ] && echo 1 || echo 0)" "no alert of severity medium or above on the benign stream ($loud)"
# Reported, not a bar of this script (issue 12's goal: >= 8x Laurel, peak RSS <= 24 MB).
for cfg in only only_noproc; do
  read -r qw qc qrss <<<"${ours[$cfg]}"
  awk -v c="$cfg" -v w="$qw" -v cpu="$qc" -v r="$qrss" -v lw="$lw" -v lc="$(read -r _ x _ <<<"${theirs[all]}"; echo "$x")" 'BEGIN {
    printf "goal (issue 12), config holding only an output%s: %.3f s wall, %.3f s CPU, peak RSS %.1f MB: %.2fx Laurel wall, %.2fx CPU (goal >= 8x, <= 24 MB)\n",
      (c == "only" ? "" : ", use_proc: false"), w, cpu, r / 1024, lw / w, lc / cpu }'
done
exit "$fail"

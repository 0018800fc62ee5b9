#!/usr/bin/env bash
# Issue 14 items 3, 4, 7: the metrics file (Prometheus text that promtool accepts), the audit
# coverage alert on the real kernel, --check --format json. The replay and --check parts need
# nothing installed; the live part starts a private auditd (the machine-wide live lock held),
# makes the kernel lose events with a rate limit, then stalls auditd's queue to its plugins with
# a plugin that never reads; it restores the limit and the kernel's lost counter, deletes its
# rules and kills the stalling plugin on exit, also on failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
[ -x "$bin" ] || { echo "health: $bin not built"; exit 1; }
command -v promtool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
command -v promtool >/dev/null || { echo "health: promtool (Debian package prometheus) missing"; exit 1; }

# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"

d=$(mktemp -d /tmp/adock-health.XXXXXX)
passed=0; failed=0; live=0; rate_before=""; lost_before=""
cleanup() {
  set +e
  if [ "$live" = 1 ]; then
    [ -n "$rate_before" ] && auditctl -r "$rate_before" >/dev/null 2>&1
    # The stalling plugin: auditd's child, by pid; killed once auditd cannot restart it.
    stall=""
    [ -n "${E2E_AUDITD_PID:-}" ] && stall=$(pgrep -P "$E2E_AUDITD_PID" -x sleep)
    # The kernel's lost counter as it was, when it was 0 (the losses were ours).
    [ "$lost_before" = 0 ] && auditctl --reset-lost >/dev/null 2>&1
    e2e_teardown "$d"
    # auditd starts plugins with nearly every signal ignored: its SIGTERM leaves the sleep.
    for p in $stall; do kill -KILL "$p" 2>/dev/null; done
  fi
  if [ "$failed" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then echo "health: artefacts kept in $d"; else rm -rf "$d"; fi
}
trap cleanup EXIT
ok()  { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
metric() { awk -v n="$1" '$1 == n {print $2}' "$2"; }

# --- Replay: the metrics file written at the end of input --------------------------------------
mkdir -p "$d/textfile"
cat > "$d/replay.yaml" <<YAML
metrics_file: $d/textfile/audisp-docker.prom
outputs:
  - {name: local, type: file, path: $d/replay.jsonl}
YAML
"$bin" --config "$d/replay.yaml" --input "$root/tests/data/runc.log" 2>"$d/replay.err" || bad "replay failed: $(tail -3 "$d/replay.err")"
m=$d/textfile/audisp-docker.prom
if [ -s "$m" ] && promtool check metrics < "$m" > "$d/promtool.out" 2>&1; then
  ok "promtool check metrics accepts the metrics file ($(grep -c '^# TYPE' "$m") families)"
else
  bad "promtool check metrics: $(cat "$d/promtool.out" 2>/dev/null)"
fi
alerts=$(wc -l < "$d/replay.jsonl")
got=$(metric 'audisp_docker_output_delivered_total{output="local"}' "$m")
[ "$alerts" -gt 0 ] && [ "$got" = "$alerts" ] && ok "delivered counter = alerts written ($alerts)" || bad "delivered $got, file has $alerts"
got=$(metric 'audisp_docker_delivery_latency_seconds_count{output="local"}' "$m")
[ "$got" = "$alerts" ] && ok "latency histogram counts every delivered alert" || bad "latency count $got"
[ "$(stat -c %a "$m")" = 644 ] && ok "metrics file is 0644 (node_exporter reads it)" || bad "mode $(stat -c %a "$m")"
ls "$d/textfile" | grep -q '\.tmp$' && bad "a temporary file was left" || ok "no temporary file left beside it"
! grep -Eq '^audisp_docker_(kernel_audit_(lost|backlog|enabled)|auditd_)' "$m" && ok "a replay queries no kernel or auditd status" || bad "kernel figures in a replay"
# Never through a symlink.
ln -s "$d/textfile" "$d/link"
sed "s|$d/textfile/|$d/link/|" "$d/replay.yaml" > "$d/replay-link.yaml"
"$bin" --config "$d/replay-link.yaml" --input "$root/tests/data/runc.log" 2>"$d/link.err" || true
[ ! -e "$d/textfile/audisp-docker.prom.tmp" ] && grep -q 'cannot write the metrics file' "$d/link.err" &&
  ok "a metrics path through a symlink is refused" || bad "symlinked metrics path: $(cat "$d/link.err" | tail -2)"

# --- --check --format json -------------------------------------------------------------------
out=$("$bin" --config "$d/replay.yaml" --check --format json) && rc=0 || rc=$?
[ "$rc" = 0 ] && python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["ok"] is True and j["diagnostics"] == [] and j["rules"] > 0' "$out" &&
  ok "--check --format json: valid config, exit 0" || bad "valid config: rc $rc, $out"
printf 'outputs: []\ncoverage:\n  interval_s: 99999\n' > "$d/bad.yaml"
out=$("$bin" --config "$d/bad.yaml" --check --format json 2>/dev/null) && rc=0 || rc=$?
[ "$rc" = 1 ] && python3 - "$out" "$d/bad.yaml" <<'PY' && ok "--check --format json: out_of_range at 3:15, exit 1" || bad "bad config: rc $rc, $out"
import json, sys
j = json.loads(sys.argv[1])
d = j["diagnostics"][0]
assert j["ok"] is False and d["code"] == "out_of_range" and d["file"] == sys.argv[2], j
assert (d["line"], d["col"]) == (3, 15) and "interval_s" in d["message"], d
PY
text=$("$bin" --config "$d/bad.yaml" --check 2>&1 >/dev/null) && rc=0 || rc=$?
[ "$rc" = 1 ] && [ "$text" = "$d/bad.yaml:3:15: interval_s: 99999 is out of range [0, 3600]" ] &&
  ok "--check (text) unchanged: file:line:col: message, exit 1" || bad "text form: rc $rc, $text"
mkdir -p "$d/rules"
printf 'rules:\n  - id: x\n    severity: high\n    summary: s\n    match: {event: syscall, syscall: [nosuchcall]}\n' > "$d/rules/10-x.yaml"
out=$("$bin" --config "$d/replay.yaml" --rules-dir "$d/rules" --check --format json 2>/dev/null) && rc=0 || rc=$?
[ "$rc" = 1 ] && python3 -c 'import json,sys; d=json.loads(sys.argv[1])["diagnostics"][0]; assert d["code"]=="unknown_syscall" and d["file"].endswith("10-x.yaml") and d["line"]==5, d' "$out" &&
  ok "--check --format json: a rules file's error names that file and line" || bad "rules error: rc $rc, $out"

# --- Live: the kernel loses events, audit_coverage_degraded and the kernel's figures ----------
if [ "$(id -u)" != 0 ]; then
  echo "health: not root, live part skipped"; bad "live part needs root"
else
  e2e_preflight
  live=1
  e2e_auditd_conf "$d"
  cat > "$d/plugin.yaml" <<YAML
rules_dir: $root/conf/rules
state_file: $d/state.json
seccomp_learn_file: $d/seccomp.json
spool_dir: $d/spool
status_interval_s: 0
integrity: {enabled: false}
metrics_file: $d/textfile/live.prom
metrics_interval_s: 1
coverage: {interval_s: 1}
outputs:
  - {name: local, type: file, path: $d/alerts.jsonl}
YAML
  "$bin" --config "$d/plugin.yaml" --check >/dev/null
  e2e_plugin "$d" audisp-docker "$bin" "--config $d/plugin.yaml --log-stderr"
  printf -- '-a always,exit -F arch=b64 -S execve -k adock_exec\n' > "$d/rules.txt"
  e2e_start_auditd "$d" "$d/rules.txt" || bad "auditd did not start"
  pid=""
  for _ in $(seq 50); do pid=$(pgrep -f "$bin --config $d/plugin.yaml" | head -1) && break; sleep 0.1; done
  [ -n "$pid" ] && ok "auditd started the plugin" || bad "plugin not running"
  for _ in $(seq 50); do grep -q '^NoNewPrivs:.*1' "/proc/$pid/status" 2>/dev/null && break; sleep 0.1; done
  eff=$(awk '/^CapEff/{print $2}' "/proc/$pid/status" 2>/dev/null)
  [ "$eff" = 0000000040080004 ] && ok "CapEff 0x40080004: audit_control kept for the status query" || bad "CapEff $eff"
  # auditd starts the plugin before e2e_start_auditd raises the backlog: the first files may
  # show the limit as it was (the metrics are written every second).
  for _ in $(seq 50); do [ "$(metric audisp_docker_kernel_audit_backlog_limit "$d/textfile/live.prom" 2>/dev/null)" = 16384 ] && break; sleep 0.1; done
  [ "$(metric audisp_docker_kernel_audit_backlog_limit "$d/textfile/live.prom")" = 16384 ] &&
    ok "the kernel's backlog_limit in the metrics (16384, as auditctl -b set it)" || bad "no kernel figures: $(grep kernel "$d/textfile/live.prom" 2>/dev/null)"
  for _ in $(seq 50); do grep -q '^audisp_docker_auditd_plugin_queue_capacity' "$d/textfile/live.prom" 2>/dev/null && break; sleep 0.1; done
  [ "$(metric audisp_docker_auditd_plugin_queue_capacity "$d/textfile/live.prom")" = 20000 ] &&
    ok "auditd's queue to the plugins in the metrics (q_depth 20000 from its state report)" || bad "no auditd figures"
  # The kernel drops what exceeds a rate limit of 5 records/s: lost grows.
  rate_before=$(auditctl -s | awk '/^rate_limit/{print $2}')
  lost_before=$(auditctl -s | awk '/^lost/{print $2}')
  auditctl -r 5 >/dev/null
  for _ in $(seq 300); do /bin/true; done
  auditctl -r "$rate_before" >/dev/null
  lost_after=$(auditctl -s | awk '/^lost/{print $2}')
  [ "$lost_after" -gt "$lost_before" ] && ok "the kernel lost $((lost_after - lost_before)) events" || bad "no kernel loss ($lost_before -> $lost_after)"
  for _ in $(seq 80); do grep -q '"audit_coverage_degraded"' "$d/alerts.jsonl" 2>/dev/null && break; sleep 0.1; done
  python3 - "$d/alerts.jsonl" "$((lost_after - lost_before))" <<'PY' && ok "audit_coverage_degraded (high) with the kernel's figures" || bad "no coverage alert: $(tail -2 "$d/alerts.jsonl" 2>/dev/null)"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if '"audit_coverage_degraded"' in l]
assert len(a) == 1, a
a = a[0]
assert a["rule"]["severity"] == "high" and a["rule"]["mitre"] == ["T1562.012"], a["rule"]
c = a["coverage"]
assert 0 < c["kernel_lost_new"] <= int(sys.argv[2]) + 5 and c["kernel_backlog_limit"] == 16384, c
assert "the kernel lost" in a["summary"], a["summary"]
PY
  sleep 1.5
  promtool check metrics < "$d/textfile/live.prom" > "$d/promtool-live.out" 2>&1 &&
    ok "promtool check metrics accepts the live metrics file" || bad "live promtool: $(cat "$d/promtool-live.out")"
  [ "$(metric audisp_docker_audit_coverage_alerts_total "$d/textfile/live.prom")" = 1 ] &&
    ok "audisp_docker_audit_coverage_alerts_total 1" || bad "coverage alerts metric: $(metric audisp_docker_audit_coverage_alerts_total "$d/textfile/live.prom")"

  # auditd's queue to its plugins overflows: a second plugin that never reads stalls auditd's
  # dispatcher (it writes to plugins in turn, blocking), q_depth 100 fills, auditd drops.
  e2e_stop_auditd
  sed -i 's/^q_depth = .*/q_depth = 100/' "$d/auditd.conf"
  sed -e "s|$d/alerts.jsonl|$d/alerts2.jsonl|" -e "s|live.prom|live2.prom|" "$d/plugin.yaml" > "$d/plugin2.yaml"
  e2e_plugin "$d" audisp-docker "$bin" "--config $d/plugin2.yaml --log-stderr"
  e2e_plugin "$d" stall /usr/bin/sleep 3607
  e2e_start_auditd "$d" "$d/rules.txt" || bad "auditd did not start again"
  for _ in $(seq 50); do pgrep -f "$bin --config $d/plugin2.yaml" >/dev/null && break; sleep 0.1; done
  for _ in $(seq 300); do /bin/true; done
  for _ in $(seq 80); do grep -q '"audit_coverage_degraded"' "$d/alerts2.jsonl" 2>/dev/null && break; sleep 0.1; done
  python3 - "$d/alerts2.jsonl" <<'PY' && ok "audit_coverage_degraded when auditd's queue to its plugins overflowed" || bad "no overflow alert: $(tail -2 "$d/alerts2.jsonl" 2>/dev/null); state: $(grep plugin /run/auditd.state 2>/dev/null | tr '\n' ' ')"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if '"audit_coverage_degraded"' in l]
assert len(a) == 1, a
c = a[0]["coverage"]
assert c["auditd_queue_overflowed"] == 1 and c["auditd_queue_size"] == 100, c
assert "auditd's queue to its plugins overflowed" in a[0]["summary"], a[0]["summary"]
PY
  for _ in $(seq 30); do [ "$(metric audisp_docker_auditd_plugin_queue_overflowed "$d/textfile/live2.prom" 2>/dev/null)" = 1 ] && break; sleep 0.1; done
  [ "$(metric audisp_docker_auditd_plugin_queue_overflowed "$d/textfile/live2.prom")" = 1 ] &&
    ok "audisp_docker_auditd_plugin_queue_overflowed 1" || bad "overflow metric: $(grep overflowed "$d/textfile/live2.prom" 2>/dev/null)"
fi

echo "health: $passed passed, $failed failed"
[ "$failed" = 0 ]

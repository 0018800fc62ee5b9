#!/usr/bin/env bash
# End-to-end test on the real kernel audit subsystem: a private auditd runs the built plugin
# with the project's rules; real containers run under containerd; alerts are checked in the
# file output and at a loopback webhook. Everything started here is stopped on exit, and the
# rules loaded are deleted, also on failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
[ -x "$bin" ] || { echo "e2e: $bin not built"; exit 1; }

# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
e2e_preflight

d=$(mktemp -d /tmp/adock-e2e.XXXXXX)
hook_pid=""
passed=0; failed=0
cleanup() {
  set +e
  e2e_teardown "$d"
  [ -n "$hook_pid" ] && kill "$hook_pid" 2>/dev/null
  runc --root "$d/runc-root" delete -f e2e-b >/dev/null 2>&1
  if [ "$failed" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then echo "e2e: artefacts kept in $d"; else rm -rf "$d"; fi
}
trap cleanup EXIT

ok()   { echo "PASS: $*"; passed=$((passed + 1)); }
bad()  { echo "FAIL: $*"; failed=$((failed + 1)); }

# Webhook receiver on loopback.
python3 "$root/tests/e2e/webhook_receiver.py" "$d/hook.jsonl" > "$d/hook.port" &
hook_pid=$!
for _ in $(seq 50); do [ -s "$d/hook.port" ] && break; sleep 0.1; done
port=$(cat "$d/hook.port")

e2e_plugin_setup "$d" "$bin" "{name: hook, type: webhook, url: \"http://127.0.0.1:$port/hook\", retries: 3, backoff_initial_ms: 100}"
"$root/scripts/render-rules.sh" > "$d/rules"

e2e_rootfs "$d"
if e2e_start_auditd "$d" "$d/rules" 2>"$d/load.err"; then ok "rendered fragment loads ($(auditctl -l | wc -l) rules)"; else bad "fragment failed to load: $(cat "$d/load.err")"; fi
for _ in $(seq 50); do pgrep -f "$bin --config $d/plugin.yaml" >/dev/null && break; sleep 0.1; done
pgrep -f "$bin --config $d/plugin.yaml" >/dev/null && ok "auditd started the plugin" || bad "plugin not running"
# Least privilege: only dac_read_search (bit 2), sys_ptrace (bit 19) and, for the kernel audit
# status query of the coverage watch (on by default), audit_control (bit 30); bounding set too,
# no_new_privs; the detections below run with exactly these.
ppid_=$(pgrep -f "$bin --config $d/plugin.yaml" | head -1)
for _ in $(seq 50); do grep -q '^NoNewPrivs:.*1' "/proc/$ppid_/status" 2>/dev/null && break; sleep 0.1; done
caps=$(grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):' "/proc/$ppid_/status" 2>/dev/null | tr -s '\t ' ' ' | tr '\n' ' ')
echo "plugin privileges: $caps"
[ "$caps" = "CapPrm: 0000000040080004 CapEff: 0000000040080004 CapBnd: 0000000040080004 CapAmb: 0000000000000000 NoNewPrivs: 1 " ] &&
  ok "the plugin runs with dac_read_search, sys_ptrace and audit_control only, no_new_privs" || bad "plugin privileges: $caps"

e2e_start_containerd "$d" || bad "containerd did not start"

alerts() { python3 - "$d/alerts.jsonl" "$@" <<'PY'
import json, sys
path = sys.argv[1]
try:
    lines = [json.loads(l) for l in open(path)]
except FileNotFoundError:
    lines = []
print(len([a for a in lines if a["rule"]["id"] == "runc_suspicious_exec"]))
PY
}
wait_count() {  # wait until there are $1 alerts, at most 5 s
  for _ in $(seq 50); do [ "$(alerts)" -ge "$1" ] && return 0; sleep 0.1; done; return 1
}

# (a) a container started through containerd: no alert.
if ctr --address "$d/ctd.sock" run --rm --rootfs "$d/rootfs" e2e-a /bin/sh -c 'ls /bin >/dev/null' > "$d/ctr.out" 2>&1; then
  ok "ctr run container ran"
else
  bad "ctr run failed: $(tail -3 "$d/ctr.out")"
fi
sleep 2
n=$(alerts)
[ "$n" = 0 ] && ok "(a) ctr run gives no runc_suspicious_exec" || bad "(a) ctr run gave $n runc_suspicious_exec alerts"

# (b) runc run from a shell.
bash -c "cd '$d/bundle' && runc --root '$d/runc-root' run e2e-b" > "$d/runc-b.out" 2>&1 || bad "(b) runc run failed: $(tail -3 "$d/runc-b.out")"
wait_count 1 && ok "(b) alert within 5 s" || bad "(b) no alert"

# (c) runc started by a python script.
python3 -c "import subprocess; subprocess.run(['runc', '--version'], stdout=subprocess.DEVNULL)"
wait_count 2 && ok "(c) alert within 5 s" || bad "(c) no alert"

# (d) a copy of runc in /tmp: another file than the host's runc (identity), recognised by its
# content (runtime_binary_unrecognized, decided on the integrity thread after its start-up scan).
mkdir -p "$d/x" && cp "$(readlink -f "$(command -v runc)")" "$d/x/runc"
bash -c "'$d/x/runc' --version >/dev/null"
wait_count 3 || wait_count 3 || wait_count 3 || true
[ "$(grep -c runtime_binary_unrecognized "$d/alerts.jsonl" 2>/dev/null)" -ge 1 ] && ok "(d) alert within 15 s" || bad "(d) no alert"
sleep 1

bash_exe=$(readlink -f "$(command -v bash)")
py_exe=$(python3 -c "import os, sys; print(os.path.realpath(sys.executable))")
if python3 - "$d/alerts.jsonl" "$d/hook.jsonl" "$bash_exe" "$py_exe" "$d/x/runc" > "$d/check.out" 2>&1 <<'PY'
import json, sys
alerts_path, hook_path, bash_exe, py_exe, copy = sys.argv[1:6]
alerts = [json.loads(l) for l in open(alerts_path)]
runc = [a for a in alerts if a["rule"]["id"] == "runc_suspicious_exec"]
problems = []
def one(desc, pred, parent):
    hits = [a for a in runc if pred(a)]
    if len(hits) != 1:
        problems.append(f"{desc}: {len(hits)} alerts, want 1")
        return
    a = hits[0]
    anc = a["ancestry"][0]["exe"] if a["ancestry"] else None
    if anc != parent:
        problems.append(f"{desc}: ancestry[0].exe={anc}, want {parent}")
    for k in ("time", "host", "summary"):
        if not a.get(k):
            problems.append(f"{desc}: missing {k}")
    if a["rule"]["severity"] != "critical" or a["rule"]["mitre"] != ["T1609", "T1036"]:
        problems.append(f"{desc}: wrong rule metadata {a['rule']}")
    if a["container"] is not None:
        problems.append(f"{desc}: container should be null on the host")
    print(f"{desc}: serial {a['event']['serial']} key {a['event']['key']} parent {anc}")
one("(b) runc run from bash", lambda a: "e2e-b" in a["process"]["argv"], bash_exe)
one("(c) runc from python", lambda a: a["process"]["argv"] == ["runc", "--version"], py_exe)
copies = [a for a in alerts if a["rule"]["id"] == "runtime_binary_unrecognized" and a["process"]["exe"] == copy]
if len(copies) != 1 or copies[0]["rule"]["severity"] != "critical":
    problems.append(f"(d) copy in /tmp: {len(copies)} critical runtime_binary_unrecognized alerts, want 1")
if len(runc) != 2:
    problems.append(f"{len(runc)} runc_suspicious_exec alerts in all, want 2 (the copy is not the host's runc)")
hook = [json.loads(l) for l in open(hook_path)] if True else []
fk = sorted((a["rule"]["id"], a["event"]["serial"]) for a in alerts)
hk = sorted((a["rule"]["id"], a["event"]["serial"]) for a in hook)
if fk != hk:
    problems.append(f"webhook got {hk}, file has {fk}")
else:
    print(f"webhook received the same {len(hk)} alerts as the file")
# Latency: the audit event's own time to the POST's arrival (the issue asks for within a second).
from datetime import datetime
arrivals = [float(l) for l in open(hook_path + ".arrivals")]
# (content checks wait for the integrity thread's start-up scan by design: not measured here)
lat = [t - datetime.fromisoformat(a["time"].replace("Z", "+00:00")).timestamp() for a, t in zip(hook, arrivals)
       if a["rule"]["id"] == "runc_suspicious_exec"]
if lat:
    print(f"latency event->webhook max {max(lat)*1000:.0f} ms")
    if max(lat) > 1.0:
        problems.append(f"an alert took {max(lat):.2f} s to reach the webhook")
for p in problems:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
PY
then ok "alerts: $(tr '\n' ';' < "$d/check.out")"; else bad "alerts: $(tr '\n' ';' < "$d/check.out")"; fi

# SIGUSR1 writes the state file.
pkill -USR1 -f "$bin --config $d/plugin.yaml" || true
for _ in $(seq 30); do [ -s "$d/state.json" ] && break; sleep 0.1; done
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['parse']['events']>0" "$d/state.json" 2>/dev/null \
  && ok "SIGUSR1 state file" || bad "no state file after SIGUSR1"

# auditd stopping ends the plugin cleanly.
e2e_stop_auditd
sleep 1
pgrep -f "$bin --config $d/plugin.yaml" >/dev/null && bad "plugin still running after auditd stopped" || ok "plugin exited with auditd"

echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# Captures what a real auditd hands its plugins while a scenario runs, for the unit tests.
#   tests/data/capture.sh SCENARIO...      writes tests/data/SCENARIO.log for each
# Scenarios:
#   runc       a container through containerd (ctr run), `runc run` from bash, runc from python,
#              a copy of runc in a temporary directory run from bash.
#   fim, seccomp, tamper, dpkg, config, sensitive
#              the detection scenarios of tests/e2e/scenarios.sh (read it for what each does).
# Uses the project's rendered kernel rules (all tiers) and a private auditd whose only plugin is
# `cat`, restarted for each scenario; everything is stopped, the rules deleted and the host's
# runc and /etc/docker restored on exit. Other activity on the host during a capture lands in
# the file too: the tests must find their events among it, as the plugin does.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -gt 0 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/scenarios.sh
. "$root/tests/e2e/scenarios.sh"
e2e_preflight

d=$(mktemp -d /tmp/adock-capture.XXXXXX)
cleanup() {
  set +e
  e2e_teardown "$d"
  runc --root "$d/runc-root" delete -f cap-b >/dev/null 2>&1
  scenario_restore "$d"
  rm -rf "$d"
}
trap cleanup EXIT

printf '#!/bin/sh\nexec cat > %s\n' "$d/stream" > "$d/capture"
chmod 755 "$d/capture"
e2e_auditd_conf "$d"
e2e_plugin "$d" capture "$d/capture"
e2e_rootfs "$d"
scenario_prepare "$d"
"$root/scripts/render-rules.sh" > "$d/rules"
e2e_start_containerd "$d"

for scenario in "$@"; do
  out="$root/tests/data/$scenario.log"
  rm -f "$d/stream"
  e2e_start_auditd "$d" "$d/rules"
  sleep 1
  case $scenario in
    runc)
      ctr --address "$d/ctd.sock" run --rm --rootfs "$d/rootfs" cap-a /bin/sh -c 'ls /bin >/dev/null'
      bash -c "cd '$d/bundle' && runc --root '$d/runc-root' run cap-b; true"  # no exec optimisation: bash stays the parent
      python3 -c "import subprocess; subprocess.run(['runc', '--version'], stdout=subprocess.DEVNULL)"
      mkdir -p "$d/x" && cp "$(readlink -f "$(command -v runc)")" "$d/x/runc"
      bash -c "'$d/x/runc' --version >/dev/null"
      ;;
    fim | seccomp | tamper | dpkg | config | sensitive) "scenario_$scenario" "$d" ;;
    *) echo "capture: unknown scenario $scenario" >&2; exit 2 ;;
  esac
  sleep 3   # auditd's end_of_event_timeout is 2 s
  e2e_stop_auditd
  for _ in $(seq 50); do pgrep -f "cat > $d/stream" >/dev/null || break; sleep 0.1; done
  cp "$d/stream" "$out"
  echo "capture: $scenario: $(wc -l < "$out") lines, $(grep -c '^type=EOE' "$out") events -> $out"
done

#!/usr/bin/env bash
# Tests of the operator scripts.
#  1. render-rules.sh: resolves symlinks, skips missing paths with a note, dedupes; the result
#     loads into the kernel line for line.
#  2. check.sh: names missing rules and rules that can never fire (fixtures for `auditctl -l`).
#  3. install.sh / uninstall.sh round trip on this machine's real auditd: after install, runc
#     from a shell gives an alert in /var/log/audisp-docker/alerts.jsonl, check.sh is happy and
#     man finds the pages;
#     after uninstall, nothing of ours is loaded or running. Refuses to run over an existing
#     installation or a running auditd; on exit (also on failure) uninstalls, stops the auditd it
#     started and deletes the kernel rules.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
[ "$(id -u)" = 0 ] || { echo "scripts_test: needs root" >&2; exit 1; }
[ -x "$bin" ] || { echo "scripts_test: $bin not built" >&2; exit 1; }
d=$(mktemp -d /tmp/adock-scripts.XXXXXX)
passed=0; failed=0
ok()  { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
installed=0
# The installed plugin running: /usr/sbin/audisp-docker (other builds' replays are not ours).
installed_plugin_runs() {
  local p
  for p in $(pgrep -x audisp-docker || true); do
    case $(readlink "/proc/$p/exe" 2>/dev/null) in "/usr/sbin/audisp-docker"*) return 0 ;; esac
  done
  return 1
}
cleanup() {
  set +e
  if [ "$installed" = 1 ]; then
    "$root/scripts/uninstall.sh" --purge >/dev/null 2>&1
    pid=$(auditctl -s 2>/dev/null | awk '/^pid/{print $2}')
    if [ -n "$pid" ] && [ "$pid" != 0 ]; then
      auditctl --signal stop >/dev/null 2>&1 || kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  auditctl -D >/dev/null 2>&1
  rm -rf "$d"
}
trap cleanup EXIT

# --- 1. render-rules.sh ---------------------------------------------------------------------
mkdir -p "$d/fs/sbin" "$d/fs/bin" "$d/fs/etc"
printf '#!/bin/sh\n' > "$d/fs/sbin/runc" && chmod 755 "$d/fs/sbin/runc"
ln -s ../sbin/runc "$d/fs/bin/runc"
cat > "$d/tmpl" <<EOF
## a comment stays
-a always,exit -F arch=b64 -S execve -k adock_exec
@watch rwxa $d/fs/bin/runc
@watch rwxa $d/fs/sbin/runc
@watch wa $d/fs/etc
@watch wa $d/fs/nope
EOF
"$root/scripts/render-rules.sh" "$d/tmpl" > "$d/rendered"
grep -qxF -- "-w $d/fs/sbin/runc -p rwxa -k docker" "$d/rendered" && ok "render: symlink resolved" || bad "render: symlink not resolved: $(cat "$d/rendered")"
[ "$(grep -c -- "-w $d/fs/sbin/runc " "$d/rendered")" = 1 ] && ok "render: duplicate dropped" || bad "render: duplicate kept"
grep -q "## skipped: $d/fs/nope (not present on this host)" "$d/rendered" && ! grep -q -- "-w $d/fs/nope" "$d/rendered" \
  && ok "render: missing path skipped with a note" || bad "render: missing path"
grep -qxF "## a comment stays" "$d/rendered" && grep -qxF -- "-a always,exit -F arch=b64 -S execve -k adock_exec" "$d/rendered" \
  && ok "render: other lines copied" || bad "render: other lines"

# Tiers: a subset keeps only its rules; an unknown tier is an error.
"$root/scripts/render-rules.sh" --tiers exec,cis > "$d/two-tiers"
if grep -q 'adock_exec' "$d/two-tiers" && ! grep -q 'adock_fim\|adock_sens' "$d/two-tiers" && grep -q '^## tier container_fim: not selected' "$d/two-tiers"; then
  ok "render: --tiers exec,cis leaves the other tiers out"
else
  bad "render: --tiers exec,cis: $(grep -c '^-' "$d/two-tiers") rules"
fi
if "$root/scripts/render-rules.sh" --tiers exec,nope > /dev/null 2> "$d/tier.err"; then
  bad "render: an unknown tier was accepted"
else
  grep -q "unknown tier 'nope'" "$d/tier.err" && ok "render: an unknown tier is an error" || bad "render: unclear error: $(cat "$d/tier.err")"
fi
for tier in exec cis container_fim container_syscalls runtime_sockets; do
  grep -qx "@tier $tier" "$root/rules.d/45-audisp-docker.rules.in" || bad "template lacks tier $tier"
done

# The shipped template, rendered for this host, loads line for line (auditctl fails on a bad one).
"$root/scripts/render-rules.sh" > "$d/host.rules"
if [ -z "${ADOCK_LIVE_LOCKED:-}" ]; then  # one live suite at a time (tests/e2e/lib.sh)
  exec 9>/run/adock-live.lock
  flock -w 1800 9 || { echo "scripts_test: another live suite holds /run/adock-live.lock" >&2; exit 1; }
  export ADOCK_LIVE_LOCKED=1
fi
owner=$(auditctl -s 2>/dev/null | awk '/^pid/{print $2}')
if [ -n "$owner" ] && [ "$owner" != 0 ]; then
  echo "scripts_test: auditd pid $owner owns the audit connection; skipping the kernel parts" >&2
  bad "a running auditd prevents the kernel tests"
else
  n=0; load_errors=0
  while IFS= read -r line; do
    [[ $line == -* ]] || continue
    n=$((n + 1))
    # shellcheck disable=SC2086 # a rule line is a list of auditctl arguments
    auditctl $line > "$d/one.out" 2>&1 || { load_errors=$((load_errors + 1)); echo "  cannot load: $line: $(cat "$d/one.out")"; }
  done < "$d/host.rules"
  auditctl -l > "$d/loaded"
  auditctl -D >/dev/null
  [ "$load_errors" = 0 ] && [ "$n" -gt 2 ] && ok "host fragment: all $n lines load" || bad "host fragment: $load_errors of $n lines failed"

  # --- 2. check.sh --------------------------------------------------------------------------
  if "$root/scripts/check.sh" --rules-only --rules-file "$d/host.rules" --loaded "$d/loaded" > "$d/check1" 2>&1; then
    ok "check: everything loaded -> all good"
  else
    bad "check: false problems: $(cat "$d/check1")"
  fi
fi
grep -v -- '-w .*runc' "$d/loaded" > "$d/loaded-partial" || true
echo "-w $d/fs/bin/runc -p rwxa -k docker" >> "$d/loaded-partial"
echo "-w $d/fs/gone -p wa -k docker" >> "$d/loaded-partial"
if "$root/scripts/check.sh" --rules-only --rules-file "$d/host.rules" --loaded "$d/loaded-partial" > "$d/check2" 2>&1; then
  bad "check: exit 0 despite problems"
else
  grep -q "^MISSING: -w $(readlink -f "$(command -v runc)") " "$d/check2" && ok "check: names the missing runc watch" || bad "check: missing rule not named: $(cat "$d/check2")"
  grep -q "^NEVER FIRES: -w $d/fs/bin/runc .*is a symlink to $d/fs/sbin/runc" "$d/check2" && ok "check: a watch on a symlink never fires" || bad "check: symlink watch not flagged"
  grep -q "^NEVER FIRES: -w $d/fs/gone .*no longer exists" "$d/check2" && ok "check: a watch on a missing path never fires" || bad "check: gone path not flagged"
fi
"$root/scripts/check.sh" --rules-only --rules-file "$d/tmpl-stale" --loaded /dev/null > "$d/check3" 2>&1 || true
grep -q "^MISSING: $d/tmpl-stale" "$d/check3" && ok "check: a missing fragment is reported" || bad "check: missing fragment: $(cat "$d/check3")"

# --- audisp-docker --scan: the on-demand integrity scan from the command line -----------------
mkdir -p "$d/scan"
echo "a = 1" > "$d/scan/watched.conf"
cat > "$d/scan/cfg.yaml" <<YAML
rules_dir: $root/conf/rules
integrity: {state_file: $d/scan/baseline.json, files: [$d/scan/watched.conf]}
outputs:
  - {name: local, type: file, path: $d/scan/alerts.jsonl}
YAML
"$bin" --config "$d/scan/cfg.yaml" --scan > "$d/scan/out1" 2>&1; rc1=$?
echo "a = 2" > "$d/scan/watched.conf"
"$bin" --config "$d/scan/cfg.yaml" --scan > "$d/scan/out2" 2>&1 && rc2=0 || rc2=$?
if [ "$rc1" = 0 ] && [ "$rc2" = 2 ] && grep -q '"id":"integrity_drift"' "$d/scan/alerts.jsonl" \
   && grep -q "watched.conf" "$d/scan/alerts.jsonl" && [ "$(stat -c %a "$d/scan/baseline.json")" = 600 ]; then
  ok "--scan: first run baselines (exit 0), a change is integrity_drift (exit 2), baseline 0600"
else
  bad "--scan: exits $rc1/$rc2: $(tail -2 "$d/scan/out2")"
fi

# --- 3. install / uninstall round trip ----------------------------------------------------------
if [ -e /usr/sbin/audisp-docker ] || [ -e /etc/audit/plugins.d/audisp-docker.conf ] || [ -e /etc/audisp-docker ]; then
  bad "round trip: audisp-docker is already installed on this machine; not touching it"
elif [ -n "$owner" ] && [ "$owner" != 0 ]; then
  bad "round trip: auditd already runs; not touching it"
else
  installed=1
  if "$root/scripts/install.sh" --binary "$bin" > "$d/install.out" 2>&1; then
    sed 's/^/  | /' "$d/install.out"
    ok "install.sh ran ($(grep -c '^ok:' "$d/install.out") checks ok)"
  else
    bad "install.sh failed: $(tail -15 "$d/install.out")"
  fi
  grep -q "^check: all good" "$d/install.out" && ok "check.sh after install: all good" || bad "check.sh after install: $(grep -v '^ok:' "$d/install.out" | tail -8)"
  [ "$(stat -c %a /etc/audit/plugins.d/audisp-docker.conf 2>/dev/null)" = 640 ] && ok "plugins.d conf mode 0640" || bad "plugins.d conf mode"
  installed_plugin_runs && ok "auditd started the installed plugin" || bad "plugin not running after install"
  man -w 8 audisp-docker >/dev/null 2>&1 && man -w audisp-docker.yaml >/dev/null 2>&1 && man -w audisp-docker-rules >/dev/null 2>&1 \
    && ok "install.sh installed the man pages" || bad "man pages not installed"
  lines() { if [ -e "$1" ]; then wc -l < "$1"; else echo 0; fi; }
  before=$(lines /var/log/audisp-docker/alerts.jsonl)
  bash -c 'runc --version >/dev/null; true'
  got=0
  for _ in $(seq 20); do
    now=$(lines /var/log/audisp-docker/alerts.jsonl)
    [ "$now" -gt "$before" ] && { got=1; break; }
    sleep 0.1
  done
  if [ "$got" = 1 ] && tail -1 /var/log/audisp-docker/alerts.jsonl | grep -q '"id":"runc_suspicious_exec"'; then
    ok "runc from a shell -> alert in /var/log/audisp-docker/alerts.jsonl within 2 s"
  else
    bad "no alert in /var/log/audisp-docker/alerts.jsonl"
  fi
  [ "$(stat -c %a /var/log/audisp-docker/alerts.jsonl 2>/dev/null)" = 600 ] && ok "alerts file mode 0600" || bad "alerts file mode"

  echo "# edited by the operator" >> /etc/audisp-docker/audisp-docker.yaml
  if "$root/scripts/uninstall.sh" > "$d/uninstall.out" 2>&1; then ok "uninstall.sh ran"; else bad "uninstall.sh failed: $(tail -5 "$d/uninstall.out")"; fi
  sleep 0.5
  ! auditctl -l | grep -q 'adock_exec\|-k docker' && ok "uninstall: no rule of ours loaded" || bad "uninstall: rules left: $(auditctl -l | grep -c 'adock_exec\|-k docker')"
  ! installed_plugin_runs && ok "uninstall: plugin stopped" || bad "uninstall: plugin still running"
  [ ! -e /usr/sbin/audisp-docker ] && [ ! -e /etc/audit/plugins.d/audisp-docker.conf ] && [ ! -e /etc/audit/rules.d/45-audisp-docker.rules ] \
    && [ ! -e /usr/share/man/man8/audisp-docker.8 ] && [ ! -e /usr/share/man/man5/audisp-docker.yaml.5 ] \
    && ok "uninstall: files removed (man pages too)" || bad "uninstall: files left"
  [ -s /var/log/audisp-docker/alerts.jsonl ] && [ -e /etc/audisp-docker/audisp-docker.yaml ] && ok "uninstall: config and alerts kept" || bad "uninstall: evidence removed without --purge"
  ! grep -q leftover "$d/uninstall.out" && ok "uninstall: auditd's reload stopped the plugin" || bad "uninstall: the plugin outlived auditd's reload"

  # Installing while auditd runs: the reload path.
  if "$root/scripts/install.sh" --binary "$bin" > "$d/install2.out" 2>&1 && grep -q "reloading auditd" "$d/install2.out"; then
    ok "install.sh with auditd running reloads it"
  else
    bad "install.sh (auditd running): $(tail -8 "$d/install2.out")"
  fi
  grep -q "^check: all good" "$d/install2.out" && ok "check.sh after the reload install: all good" || bad "after reload install: $(grep -v '^ok:' "$d/install2.out" | tail -5)"
  grep -q "# edited by the operator" /etc/audisp-docker/audisp-docker.yaml && [ -e /etc/audisp-docker/audisp-docker.yaml.new ] \
    && ok "reinstall: the operator's config is kept, the shipped one written as .new" || bad "reinstall: the operator's config was not kept"
fi

echo "scripts_test: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# The Debian package on this machine's real auditd.
#  1. builds it (dpkg-buildpackage -us -uc -b, from a copy of the tree, niced, 2 jobs) before
#     taking the live lock, or takes ADOCK_DEB=PATH (a .deb built already);
#  2. lintian: no error or warning (the overrides in debian/ say why each one is there);
#     the conffiles, the modes dh_fixperms would reset, the man pages;
#  3. install with auditd running (rules rendered and loaded, the plugin started, runc from a
#     shell pages into the alerts file), auditd restarted, reinstalled (the plugin restarted on
#     the new binary), removed (the plugins.d entry inactive, conffiles kept), auditd
#     restarted, installed again (the entry active again), purged (config, rules fragment, state
#     and spool gone, alerts kept, our rules out of the kernel), auditd restarted; installed and
#     removed with auditd stopped (never started by the package), purged from config-files;
#     auditd must come up every time.
# Refuses to run over an installed audisp-docker or a running auditd. On exit (also on failure)
# purges the package, stops the auditd it started, deletes the kernel rules and restores
# /etc/audit/audit.rules (augenrules rewrites it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "package_test: needs root" >&2; exit 1; }
d=$(mktemp -d /tmp/adock-pkg.XXXXXX)
passed=0; failed=0
ok()  { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
entry=/etc/audit/plugins.d/audisp-docker.conf
fragment=/etc/audit/rules.d/45-audisp-docker.rules
touched=0
log_existed=0
[ -e /var/log/audisp-docker ] && log_existed=1
lib_existed=0
[ -e /var/lib/audisp-docker ] && lib_existed=1
# The system's auditd enables auditing and its rules set the backlog: both are put back as they
# were by cleanup, also when this test runs on its own (scripts/test.sh restores them too).
saved_enabled=$(auditctl -s 2>/dev/null | awk '/^enabled/{print $2}')
saved_backlog=$(auditctl -s 2>/dev/null | awk '/^backlog_limit/{print $2}')

auditd_pid() { auditctl -s 2>/dev/null | awk '$1 == "pid" {print $2}'; }
auditd_running() { local p; p=$(auditd_pid); [ -n "$p" ] && [ "$p" != 0 ] && kill -0 "$p" 2>/dev/null; }
stop_auditd() {
  local p; p=$(auditd_pid)
  [ -n "$p" ] && [ "$p" != 0 ] || return 0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  echo "package_test: auditd pid $p did not stop" >&2
  return 1
}
# start_auditd: auditd as this machine would start it (no systemd here); true if it came up and
# still runs a second later (a plugins.d entry it cannot use makes it exit at start).
start_auditd() {
  auditd > "$d/auditd-start.out" 2>&1 || { cat "$d/auditd-start.out" >&2; return 1; }
  for _ in $(seq 50); do auditd_running && break; sleep 0.1; done
  sleep 1
  auditd_running
}
restart_auditd() { stop_auditd && start_auditd; }
plugin_pid() {  # the plugin auditd runs
  local a p; a=$(auditd_pid)
  for p in $(pidof audisp-docker || true); do
    [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "$a" ] && { echo "$p"; return 0; }
  done
  return 1
}
wait_plugin() { for _ in $(seq 50); do plugin_pid >/dev/null && return 0; sleep 0.1; done; return 1; }
# Only a plugin auditd runs counts: other audisp-docker processes (a replay) are not ours.
wait_no_plugin() { for _ in $(seq 50); do plugin_pid >/dev/null || return 0; sleep 0.1; done; return 1; }
installed() { dpkg-query -W -f='${Status}' audisp-docker 2>/dev/null | grep -q 'ok installed'; }
pkg_state() { dpkg-query -W -f='${db:Status-Status}' audisp-docker 2>/dev/null || echo not-installed; }

cleanup() {
  set +e
  if [ "$touched" = 1 ]; then
    if [ "$(pkg_state)" != not-installed ]; then
      dpkg -P audisp-docker > "$d/cleanup-purge.out" 2>&1 || cat "$d/cleanup-purge.out"
    fi
    stop_auditd
    auditctl -D >/dev/null 2>&1
    if [ "$(auditctl -s 2>/dev/null | awk '/^enabled/{print $2}')" != 2 ]; then  # -e 2: locked
      [ -z "$saved_backlog" ] || auditctl -b "$saved_backlog" >/dev/null 2>&1
      [ -z "$saved_enabled" ] || auditctl -e "$saved_enabled" >/dev/null 2>&1
    fi
    [ -e "$d/audit.rules.orig" ] && cp -p "$d/audit.rules.orig" /etc/audit/audit.rules
    [ "$log_existed" = 1 ] || rm -rf /var/log/audisp-docker
    [ "$lib_existed" = 1 ] || rm -rf /var/lib/audisp-docker
  fi
  rm -rf "$d"
}
trap cleanup EXIT

# --- 1. build (no lock held: compiling takes minutes) ------------------------------------------
"$root/scripts/deps.sh" debhelper lintian
if [ -n "${ADOCK_DEB:-}" ]; then
  deb=$(readlink -f "$ADOCK_DEB")
else
  mkdir -p "$d/src"
  # The tree as it is (committed or not), without build directories.
  (cd "$root" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | xargs -0 cp --parents -t "$d/src")
  echo "package_test: dpkg-buildpackage -us -uc -b in $d/src (nice, 2 jobs)"
  if (cd "$d/src" && DEB_BUILD_OPTIONS="parallel=2" nice dpkg-buildpackage -us -uc -b > "$d/build.log" 2>&1); then
    ok "dpkg-buildpackage -us -uc -b"
  else
    tail -30 "$d/build.log"
    bad "dpkg-buildpackage failed"
    echo "package_test: $passed passed, $failed failed"; exit 1
  fi
  version=$(cd "$root" && dpkg-parsechangelog -S Version)
  deb=$d/audisp-docker_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
fi
[ -s "$deb" ] && ok "built $(basename "$deb")" || { bad "no $deb"; exit 1; }

# --- 2. lintian and contents ------------------------------------------------------------------
# TMPDIR: lintian leaves an mldbm-elf-* file in its temp directory; this one goes with $d.
if TMPDIR="$d" lintian --fail-on error,warning --info --display-info "$deb" > "$d/lintian.out" 2>&1; then
  ok "lintian: no error, no warning ($(grep -c '^[IPX]:' "$d/lintian.out" || true) info/pedantic/experimental tags)"
else
  bad "lintian: $(cat "$d/lintian.out")"
fi
sed 's/^/  lintian | /' "$d/lintian.out"
dpkg-deb -e "$deb" "$d/control"
for f in /etc/audisp-docker/audisp-docker.yaml "$entry" /etc/audisp-docker/45-audisp-docker.rules.in \
         /etc/audisp-docker/rules/10-runtime.yaml; do
  grep -qxF "$f" "$d/control/conffiles" && ok "conffile $f" || bad "not a conffile: $f"
done
dpkg-deb -c "$deb" > "$d/contents"
mode_of() { awk -v p="./${1#/}" '$NF == p {print $1}' "$d/contents"; }
[ "$(mode_of "$entry")" = "-rw-r-----" ] && ok "plugins.d entry 0640 in the package" || bad "plugins.d entry mode $(mode_of "$entry")"
[ "$(mode_of /etc/audisp-docker/audisp-docker.yaml)" = "-rw-r-----" ] && ok "config 0640" || bad "config mode $(mode_of /etc/audisp-docker/audisp-docker.yaml)"
for m in man8/audisp-docker.8.gz man5/audisp-docker.yaml.5.gz man5/audisp-docker-rules.5.gz; do
  grep -q "usr/share/man/$m\$" "$d/contents" && ok "man page $m" || bad "no man page $m"
done
grep -q 'usr/share/audisp-docker/render-rules.sh$' "$d/contents" && ok "render-rules.sh shipped" || bad "render-rules.sh missing"

# --- 3. on this machine: take the live lock -----------------------------------------------------
if [ -z "${ADOCK_LIVE_LOCKED:-}" ]; then
  exec 9>/run/adock-live.lock
  flock -w 1800 9 || { echo "package_test: another live suite holds /run/adock-live.lock" >&2; exit 1; }
  export ADOCK_LIVE_LOCKED=1
fi
if [ "$(pkg_state)" != not-installed ] || [ -e /usr/sbin/audisp-docker ] || [ -e "$entry" ] || [ -e /etc/audisp-docker ]; then
  bad "audisp-docker is already installed on this machine; not touching it"
  echo "package_test: $passed passed, $failed failed"; exit 1
fi
if auditd_running; then
  bad "auditd already runs (pid $(auditd_pid)); not touching it"
  echo "package_test: $passed passed, $failed failed"; exit 1
fi
touched=1
cp -p /etc/audit/audit.rules "$d/audit.rules.orig"
start_auditd && ok "auditd started (before the package)" || { bad "auditd does not start on this machine"; exit 1; }

lines() { if [ -e "$1" ]; then wc -l < "$1"; else echo 0; fi; }
pages() {  # runc from a shell gives runc_suspicious_exec in the alerts file within 5 s
  local before now
  before=$(lines /var/log/audisp-docker/alerts.jsonl)
  bash -c 'runc --version >/dev/null; true'
  for _ in $(seq 50); do
    now=$(lines /var/log/audisp-docker/alerts.jsonl)
    [ "$now" -gt "$before" ] && grep -q '"id":"runc_suspicious_exec"' <<<"$(tail -n +"$((before + 1))" /var/log/audisp-docker/alerts.jsonl)" && return 0
    sleep 0.1
  done
  return 1
}
active_of() { awk -F= '$1 ~ /^[[:space:]]*active[[:space:]]*$/ {gsub(/[[:space:]]/, "", $2); print $2}' "$entry"; }

# Install with auditd running.
if dpkg -i "$deb" > "$d/install.out" 2>&1; then ok "dpkg -i"; else bad "dpkg -i: $(tail -10 "$d/install.out")"; fi
sed 's/^/  dpkg | /' "$d/install.out"
[ -s "$fragment" ] && grep -q -- '-k adock_exec' "$fragment" && ok "postinst rendered $fragment" || bad "no rendered fragment"
runc_real=$(readlink -f "$(command -v runc)")
grep -qxF -- "-w $runc_real -p rwxa -k docker" "$fragment" && ok "the fragment watches this host's runc ($runc_real)" || bad "the fragment lacks -w $runc_real"
grep -q 'key=adock_exec' <<<"$(auditctl -l)" && ok "the kernel rules are loaded" || bad "rules not loaded"
[ "$(stat -c %a "$entry")" = 640 ] && ok "installed plugins.d entry 0640" || bad "entry mode $(stat -c %a "$entry")"
[ "$(active_of)" = yes ] && ok "entry active" || bad "entry active=$(active_of)"
wait_plugin && ok "auditd runs the plugin (pid $(plugin_pid))" || bad "the plugin does not run after install"
pages && ok "runc from a shell -> runc_suspicious_exec in /var/log/audisp-docker/alerts.jsonl" || bad "no alert after install"
man -w audisp-docker.yaml >/dev/null 2>&1 && man -w 8 audisp-docker >/dev/null 2>&1 && ok "man finds the pages" || bad "man does not find the pages"
deb_version=$(dpkg-deb -f "$deb" Version)
[ "$(audisp-docker --version)" = "audisp-docker $deb_version" ] && ok "audisp-docker --version is the package's $deb_version" \
  || bad "audisp-docker --version says '$(audisp-docker --version)', the package $deb_version"
if /usr/share/audisp-docker/check.sh > "$d/check.out" 2>&1; then
  ok "check.sh of the package: all good ($(grep -c '^ok:' "$d/check.out") checks)"
else
  bad "check.sh after install: $(grep -v '^ok:' "$d/check.out")"
fi

restart_auditd && ok "auditd restarts with the package installed" || bad "auditd does not restart (installed)"
wait_plugin && ok "the restarted auditd runs the plugin" || bad "no plugin after the restart"

# Reinstall (an upgrade to the same version): the plugin runs the new binary afterwards.
old=$(plugin_pid || true)
echo "# edited by the operator" >> /etc/audisp-docker/audisp-docker.yaml
if dpkg -i --force-confold "$deb" > "$d/reinstall.out" 2>&1; then ok "dpkg -i again (upgrade path)"; else bad "reinstall: $(tail -10 "$d/reinstall.out")"; fi
new=""
for _ in $(seq 50); do new=$(plugin_pid || true); [ -n "$new" ] && [ "$new" != "$old" ] && break; sleep 0.1; done
if [ -n "$new" ] && [ "$new" != "$old" ] && ! readlink "/proc/$new/exe" | grep -q deleted; then
  ok "the upgrade restarted the plugin on the new binary (pid $old -> $new)"
else
  bad "the plugin was not restarted on upgrade (pid $old -> ${new:-none}, exe $(readlink "/proc/${new:-0}/exe" 2>/dev/null)): $(grep audisp-docker: "$d/reinstall.out" | tr '\n' ' ')"
fi
grep -q "# edited by the operator" /etc/audisp-docker/audisp-docker.yaml && ok "the operator's config kept across the upgrade" || bad "config overwritten"

# Remove: conffiles stay, the entry becomes inactive, auditd keeps working.
if dpkg -r audisp-docker > "$d/remove.out" 2>&1; then ok "dpkg -r"; else bad "dpkg -r: $(tail -10 "$d/remove.out")"; fi
sed 's/^/  dpkg | /' "$d/remove.out"
[ "$(pkg_state)" = config-files ] && ok "state config-files after remove" || bad "state $(pkg_state)"
[ ! -e /usr/sbin/audisp-docker ] && ok "binary removed" || bad "binary left"
[ -e "$entry" ] && [ "$(active_of)" = no ] && ok "the plugins.d entry stays, inactive" || bad "entry after remove: $(grep active "$entry" 2>/dev/null)"
[ -e /etc/audisp-docker/audisp-docker.yaml ] && ok "config kept after remove" || bad "config gone after remove"
wait_no_plugin && ok "the plugin stopped" || bad "the plugin still runs after remove"
auditd_running && ok "auditd still runs after remove" || bad "auditd died on remove"
restart_auditd && ok "auditd restarts after remove" || bad "auditd does not restart after remove: $(cat "$d/auditd-start.out")"
! plugin_pid >/dev/null && ok "no plugin after the restart" || bad "auditd runs a plugin after remove (pid $(plugin_pid))"
# What this auditd does with the entry left active (its program gone): reported, not judged (the
# issue saw restarts fail; auditd 3.0.9 here starts anyway). The package never leaves it so.
stop_auditd
cp -p "$entry" "$d/entry.removed"
sed -i 's/^active = no$/active = yes/' "$entry"
if start_auditd; then echo "INFO: auditd $(dpkg-query -W -f='${Version}' auditd) starts with an active entry whose program is gone"
else echo "INFO: auditd does not start with an active entry whose program is gone"; fi
stop_auditd
cp -p "$d/entry.removed" "$entry"
start_auditd && ok "auditd starts again with the entry inactive" || bad "auditd does not start again"

# Installed again from config-files: the entry active again, the plugin back.
if dpkg -i "$deb" > "$d/install2.out" 2>&1; then ok "dpkg -i after remove"; else bad "dpkg -i after remove: $(tail -10 "$d/install2.out")"; fi
[ "$(active_of)" = yes ] && ok "the entry is active again" || bad "entry after reinstall: active=$(active_of)"
wait_plugin && ok "auditd runs the plugin again" || bad "no plugin after reinstall"
pages && ok "and it pages again" || bad "no alert after reinstall"
echo "# a local rule file" > /etc/audisp-docker/rules/90-local.yaml

# Purge: config, fragment, state and spool gone; the alerts stay; auditd keeps working.
if dpkg -P audisp-docker > "$d/purge.out" 2>&1; then ok "dpkg -P"; else bad "dpkg -P: $(tail -10 "$d/purge.out")"; fi
sed 's/^/  dpkg | /' "$d/purge.out"
[ "$(pkg_state)" = not-installed ] && ok "not installed after purge" || bad "state $(pkg_state) after purge"
left=""
for f in /etc/audisp-docker "$entry" "$fragment" /var/lib/audisp-docker /run/audisp-docker /usr/share/audisp-docker; do
  [ ! -e "$f" ] || left="$left $f"
done
[ -z "$left" ] && ok "purge removed config, entry, fragment, state, baseline, spool" || bad "left after purge:$left"
gone_for_good() {  # 2 s later nothing came back (a plugin still stopping could write its state)
  sleep 2
  local f left=""
  for f in /etc/audisp-docker /var/lib/audisp-docker /run/audisp-docker; do [ ! -e "$f" ] || left="$left $f"; done
  [ -z "$left" ] && ok "2 s after purge: still nothing of ours" || bad "came back after purge:$left"
}
gone_for_good
[ -s /var/log/audisp-docker/alerts.jsonl ] && ok "the alerts stay after purge" || bad "alerts removed by purge"
! grep -q 'adock_\|-k docker\|key=docker' <<<"$(auditctl -l)" && ok "no rule of ours loaded after purge" || bad "rules left in the kernel"
cmp -s /etc/audit/audit.rules "$d/audit.rules.orig" && ok "audit.rules as before" || bad "audit.rules differs after purge"
auditd_running && ok "auditd still runs after purge" || bad "auditd died on purge"
restart_auditd && ok "auditd restarts after purge" || bad "auditd does not restart after purge"

# With auditd stopped: installing does not start it; auditd then starts with the plugin; a
# remove with auditd stopped leaves the entry inactive all the same.
stop_auditd
if dpkg -i "$deb" > "$d/install3.out" 2>&1; then ok "dpkg -i with auditd stopped"; else bad "dpkg -i (auditd stopped): $(tail -5 "$d/install3.out")"; fi
! auditd_running && ok "the package did not start auditd" || bad "the package started auditd"
start_auditd && wait_plugin && ok "auditd started afterwards runs the plugin" || bad "auditd started after install: no plugin"
stop_auditd
if dpkg -r audisp-docker > "$d/remove2.out" 2>&1; then ok "dpkg -r with auditd stopped"; else bad "dpkg -r (auditd stopped): $(tail -5 "$d/remove2.out")"; fi
[ "$(active_of)" = no ] && ok "the entry is inactive after a remove with auditd stopped" || bad "entry active=$(active_of) after remove (auditd stopped)"
orphans=""  # the plugin auditd left running as it stopped (still hashing the runtime binaries)
for p in $(pidof audisp-docker || true); do
  case $(readlink "/proc/$p/exe" 2>/dev/null) in "/usr/sbin/audisp-docker"*) orphans="$orphans $p" ;; esac
done
[ -z "$orphans" ] && ok "no plugin of the removed package left running" || bad "the removed package's plugin still runs:$orphans"
start_auditd && ! plugin_pid >/dev/null && ok "auditd starts after that remove, without a plugin" || bad "auditd after remove (stopped): $(cat "$d/auditd-start.out")"

# Purge from config-files, with the alerts asked for.
if AUDISP_DOCKER_PURGE_ALERTS=yes dpkg -P audisp-docker > "$d/purge2.out" 2>&1; then ok "dpkg -P from config-files"; else bad "purge2: $(tail -5 "$d/purge2.out")"; fi
[ ! -e /var/log/audisp-docker ] && [ ! -e "$entry" ] && [ ! -e /etc/audisp-docker ] && [ ! -e /var/lib/audisp-docker ] \
  && ok "AUDISP_DOCKER_PURGE_ALERTS=yes: alerts purged too" || bad "left after purge2: $(ls -d /var/log/audisp-docker "$entry" /etc/audisp-docker /var/lib/audisp-docker 2>/dev/null)"
gone_for_good
restart_auditd && ok "auditd restarts at the end" || bad "auditd does not restart at the end"

echo "package_test: $passed passed, $failed failed"
[ "$failed" = 0 ]

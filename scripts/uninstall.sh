#!/usr/bin/env bash
# Takes audisp-docker back out (seed 000's backout plan): removes the kernel rules fragment and
# reloads the remaining rules, removes the plugins.d conf and reloads auditd (which stops the
# plugin), removes the binary, the man pages and /usr/share/audisp-docker.
#   sudo scripts/uninstall.sh [--purge]
# The config (/etc/audisp-docker), the alerts (/var/log/audisp-docker) and the integrity baseline
# (/var/lib/audisp-docker) are kept: they are
# evidence. --purge removes them too.
set -euo pipefail
purge=0
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "uninstall: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "uninstall: run as root" >&2; exit 1; }
say() { echo "uninstall: $*"; }

fragment=/etc/audit/rules.d/45-audisp-docker.rules
plugin_conf=/etc/audit/plugins.d/audisp-docker.conf

if [ -e "$fragment" ]; then
  rm -f "$fragment"
  say "removed $fragment"
  enabled=$(auditctl -s 2>/dev/null | awk '/^enabled/{print $2}')
  if [ "$enabled" = 2 ]; then
    say "the loaded rules are locked (enabled 2): they go away at the next boot"
  elif command -v augenrules >/dev/null; then
    augenrules --load >/dev/null
    say "kernel rules reloaded without the fragment ($(auditctl -l | grep -c 'key=adock_exec\|-k docker' || true) of ours left)"
  fi
fi
if [ -e "$plugin_conf" ]; then
  rm -f "$plugin_conf"
  say "removed $plugin_conf"
fi
# The installed plugin's processes: those running /usr/sbin/audisp-docker (deleted or not),
# never another build's or a replay (--input) someone runs by hand.
plugin_pids() {
  local p exe
  for p in $(pgrep -x audisp-docker || true); do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    [ "$exe" = /usr/sbin/audisp-docker ] || [ "$exe" = "/usr/sbin/audisp-docker (deleted)" ] || continue
    tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | grep -qxE -- '--input|-i' && continue
    echo "$p"
  done
}
pid=$(auditctl -s 2>/dev/null | awk '/^pid/{print $2}')
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
  auditctl --signal reload >/dev/null 2>&1 || kill -HUP "$pid"
  say "reloaded auditd (pid $pid)"
  # A plugin in its first integrity scan (the runtime binaries hashed at a bounded rate)
  # finishes it before it exits: give it time.
  for _ in $(seq 150); do [ -n "$(plugin_pids)" ] || break; sleep 0.1; done
fi
left=$(plugin_pids)
if [ -n "$left" ]; then
  # auditd only stops plugins it still knows; one left behind (auditd gone) ignores SIGTERM
  # from anyone but its parent, and stops cleanly on SIGINT.
  # shellcheck disable=SC2086 # a list of pids
  kill -INT $left 2>/dev/null || true
  for _ in $(seq 100); do [ -n "$(plugin_pids)" ] || break; sleep 0.1; done
  say "stopped a leftover audisp-docker (pid ${left//$'\n'/ })"
fi
rm -f /usr/sbin/audisp-docker
rm -rf /usr/share/audisp-docker
rm -f /usr/share/man/man8/audisp-docker.8 /usr/share/man/man5/audisp-docker.yaml.5 /usr/share/man/man5/audisp-docker-rules.5
say "removed /usr/sbin/audisp-docker and the man pages"
if [ "$purge" = 1 ]; then
  rm -rf /etc/audisp-docker /var/log/audisp-docker /run/audisp-docker /var/lib/audisp-docker
  say "purged /etc/audisp-docker, /var/log/audisp-docker, /run/audisp-docker, /var/lib/audisp-docker"
else
  say "kept /etc/audisp-docker and /var/log/audisp-docker (--purge removes them)"
fi

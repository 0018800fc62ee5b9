#!/usr/bin/env bash
# Installs audisp-docker and makes auditd run it.
#   sudo scripts/install.sh [--no-start] [--binary PATH] [--tiers LIST]
#
# 1. installs the Debian build dependencies and auditd, builds (Release);
# 2. installs /usr/sbin/audisp-docker, the man pages, the config (/etc/audisp-docker/audisp-docker.yaml, never
#    overwritten: a changed shipped file is written beside it as .new), the detection rules
#    (/etc/audisp-docker/rules/, shipped files replaced, your 90-local.yaml kept), the plugins.d
#    conf, and the host's rendering of the kernel rules (/etc/audit/rules.d/45-audisp-docker.rules);
# 3. validates the config, loads the kernel rules (augenrules --load) and reloads auditd (or
#    starts it) so that it starts the plugin; then runs scripts/check.sh.
# --no-start installs the files without touching auditd or the loaded rules.
# --binary PATH installs that build of audisp-docker instead of building one.
# --tiers LIST picks the kernel rule tiers (default all): exec (every exec: ancestry and
#   runc_suspicious_exec), cis (CIS Docker watches, key docker: runtime binaries and config),
#   container_fim (file syscalls for container_binary_modified and container_escape_write),
#   container_syscalls (mount, unshare, setns, modules, ptrace, bpf, keyctl), runtime_sockets
#   (connect to docker.sock). README "Kernel rules" gives each one's cost.
# scripts/uninstall.sh takes it all back out.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=1
built=""
tiers=""
while [ $# -gt 0 ]; do
  case $1 in
    --no-start) start=0; shift ;;
    --binary) built=$(readlink -f "$2"); shift 2 ;;
    --tiers) tiers=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "install: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$tiers" ]; then
  "$root/scripts/render-rules.sh" --tiers "$tiers" >/dev/null || exit 2  # a bad tier list fails before anything changes
fi
[ "$(id -u)" = 0 ] || { echo "install: run as root (sudo scripts/install.sh)" >&2; exit 1; }
say() { echo "install: $*"; }

etc=/etc/audisp-docker
share=/usr/share/audisp-docker
bin=/usr/sbin/audisp-docker
plugin_conf=/etc/audit/plugins.d/audisp-docker.conf
fragment=/etc/audit/rules.d/45-audisp-docker.rules

"$root/scripts/deps.sh"
if [ -z "$built" ]; then
  say "building (Release, $root/build-install)"
  cmake -S "$root" -B "$root/build-install" -DCMAKE_BUILD_TYPE=Release -DAUDISP_DOCKER_BUILD_TESTS=OFF >/dev/null
  cmake --build "$root/build-install" -j"$(nproc)" --target audisp-docker >/dev/null
  built=$root/build-install/plugin/audisp-docker
fi
[ -x "$built" ] || { echo "install: $built is not an executable" >&2; exit 1; }

# Binary first, through a temporary name: a running plugin keeps its old inode.
install -m 0755 "$built" "$bin.new"
mv -f "$bin.new" "$bin"
say "installed $bin ($("$bin" --version))"

install -d -m 0750 "$etc" "$etc/rules"
install -d -m 0700 /var/log/audisp-docker /var/lib/audisp-docker
if [ ! -e "$etc/audisp-docker.yaml" ]; then
  install -m 0640 "$root/conf/audisp-docker.yaml" "$etc/audisp-docker.yaml"
  say "installed $etc/audisp-docker.yaml"
elif ! cmp -s "$root/conf/audisp-docker.yaml" "$etc/audisp-docker.yaml"; then
  install -m 0640 "$root/conf/audisp-docker.yaml" "$etc/audisp-docker.yaml.new"
  say "kept your $etc/audisp-docker.yaml; the shipped one is $etc/audisp-docker.yaml.new"
fi
for f in "$root"/conf/rules/*.yaml; do
  install -m 0640 "$f" "$etc/rules/$(basename "$f")"
done
say "installed detection rules to $etc/rules/ ($(ls "$root"/conf/rules/*.yaml | wc -l) shipped files; put changes in 90-local.yaml)"

# What check.sh and uninstall.sh need after the source tree is gone.
install -d -m 0755 "$share"
install -m 0644 "$root/rules.d/45-audisp-docker.rules.in" "$share/45-audisp-docker.rules.in"
install -m 0755 "$root/scripts/render-rules.sh" "$root/scripts/check.sh" "$root/scripts/uninstall.sh" "$share/"

# The man pages, generated from docs/man/*.md and README.md (as the build and the package do).
for src in "$root"/docs/man/*.[0-9].md; do
  page=$(basename "$src" .md)
  install -d -m 0755 "/usr/share/man/man${page##*.}"
  python3 "$root/docs/man/mkman.py" --root "$root" --version "$("$bin" --version | awk '{print $2}')" \
    -o "/usr/share/man/man${page##*.}/$page" "$src"
  chmod 0644 "/usr/share/man/man${page##*.}/$page"
done
say "installed the man pages: audisp-docker(8), audisp-docker.yaml(5), audisp-docker-rules(5)"

# Refuse to hand auditd a config the plugin would reject.
if ! "$bin" --config "$etc/audisp-docker.yaml" --check; then
  echo "install: $etc/audisp-docker.yaml does not validate; fix it and run install.sh again" >&2
  exit 1
fi

install -m 0640 "$root/conf/plugins.d/audisp-docker.conf" "$plugin_conf"
say "installed $plugin_conf"
"$root/scripts/render-rules.sh" ${tiers:+--tiers "$tiers"} > "$fragment.tmp" || { rm -f "$fragment.tmp"; exit 2; }
chmod 0640 "$fragment.tmp"
mv -f "$fragment.tmp" "$fragment"
say "installed $fragment ($(grep -c '^-' "$fragment") rules; $(grep -c '^## skipped' "$fragment" || true) paths not on this host)"

if [ "$start" = 0 ]; then
  say "--no-start: files installed; auditd and the loaded rules untouched"
  exit 0
fi

enabled=$(auditctl -s | awk '/^enabled/{print $2}')
if [ "$enabled" = 2 ]; then
  echo "install: the audit rules are locked (enabled 2, '-e 2' in your rules): they load at the next boot" >&2
else
  augenrules --load >/dev/null
  say "kernel rules loaded ($(auditctl -l | grep -c 'key=adock_exec\|-k docker') from this fragment)"
fi

auditd_pid() { auditctl -s 2>/dev/null | awk '/^pid/{print $2}'; }
pid=$(auditd_pid)
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
  say "reloading auditd (pid $pid) so it starts the plugin"
  auditctl --signal reload >/dev/null 2>&1 || kill -HUP "$pid"
else
  say "starting auditd"
  if [ -d /run/systemd/system ]; then
    systemctl start auditd
  elif [ -x /etc/init.d/auditd ]; then
    service auditd start
  else
    auditd
  fi
fi
for _ in $(seq 50); do pgrep -x audisp-docker >/dev/null && break; sleep 0.1; done
if pgrep -x audisp-docker >/dev/null; then
  say "auditd runs the plugin (pid $(pgrep -x audisp-docker | head -1)); alerts go to the outputs in $etc/audisp-docker.yaml"
else
  echo "install: auditd did not start the plugin; see syslog and scripts/check.sh" >&2
fi
"$root/scripts/check.sh"

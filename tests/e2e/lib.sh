# shellcheck shell=bash
# Shared by the end-to-end test and tests/data/capture.sh: a private auditd (its own config, log
# and plugins.d), a private containerd, a busybox root filesystem and a runc bundle, all under one
# temporary directory. e2e_teardown stops everything and deletes the kernel rules it loaded; call
# it from an EXIT trap so a failing test never leaves the machine auditing.

e2e_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_AUDITD_PID=""
E2E_CTD_PID=""

# Refuses to run as non-root or while another auditd owns the kernel's audit connection;
# installs the packages the scenarios need.
e2e_preflight() {
  [ "$(id -u)" = 0 ] || { echo "e2e: needs root (the kernel audit subsystem)" >&2; return 1; }
  # One live suite at a time: the kernel has one audit connection, the machine one dockerd.
  # A caller that already holds the lock (ADOCK_LIVE_LOCKED=1) is not asked again.
  if [ -z "${ADOCK_LIVE_LOCKED:-}" ]; then
    exec 9>/run/adock-live.lock
    flock -w 1800 9 || { echo "e2e: another live suite holds /run/adock-live.lock" >&2; return 1; }
    export ADOCK_LIVE_LOCKED=1
  fi
  local need=() p
  for p in auditd:auditctl runc:runc containerd:containerd busybox-static:busybox python3:python3; do
    command -v "${p#*:}" >/dev/null || need+=("${p%%:*}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "e2e: installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  local owner
  owner=$(auditctl -s 2>/dev/null | awk '/^pid/{print $2}')
  if [ -n "$owner" ] && [ "$owner" != 0 ]; then
    echo "e2e: auditd pid $owner already owns the audit connection; refusing to run" >&2
    return 1
  fi
  # What the kernel's audit settings were (auditd enables auditing, e2e_start_auditd raises the
  # backlog): e2e_stop_auditd puts them back, so no suite leaves the machine auditing.
  if [ -z "${E2E_SAVED_ENABLED:-}" ]; then
    E2E_SAVED_ENABLED=$(auditctl -s 2>/dev/null | awk '/^enabled/{print $2}')
    E2E_SAVED_BACKLOG=$(auditctl -s 2>/dev/null | awk '/^backlog_limit/{print $2}')
  fi
}

# e2e_restore_audit: the kernel's audit enabled flag and backlog limit as e2e_preflight found
# them (not while an auditd owns the connection; a locked configuration, -e 2, stays).
e2e_restore_audit() {
  local owner enabled
  owner=$(auditctl -s 2>/dev/null | awk '/^pid/{print $2}')
  [ -z "$owner" ] || [ "$owner" = 0 ] || return 0
  enabled=$(auditctl -s 2>/dev/null | awk '/^enabled/{print $2}')
  [ "$enabled" = 2 ] && return 0
  [ -n "${E2E_SAVED_BACKLOG:-}" ] && auditctl -b "$E2E_SAVED_BACKLOG" >/dev/null 2>&1
  [ -n "${E2E_SAVED_ENABLED:-}" ] && [ "$E2E_SAVED_ENABLED" != "$enabled" ] && auditctl -e "$E2E_SAVED_ENABLED" >/dev/null 2>&1
  return 0
}

# e2e_auditd_conf DIR: auditd.conf for a private auditd with plugins in DIR/plugins.d.
e2e_auditd_conf() {
  local d=$1
  mkdir -p "$d/plugins.d" "$d/log"
  cat > "$d/auditd.conf" <<CONF
local_events = yes
write_logs = yes
log_file = $d/log/audit.log
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 64
num_logs = 2
max_log_file_action = ROTATE
space_left = 75
space_left_action = SYSLOG
admin_space_left = 50
admin_space_left_action = SUSPEND
disk_full_action = SUSPEND
disk_error_action = SUSPEND
q_depth = 20000
overflow_action = SYSLOG
max_restarts = 10
plugin_dir = $d/plugins.d
end_of_event_timeout = 2
CONF
  chmod 640 "$d/auditd.conf"
}

# e2e_plugin DIR NAME PATH [ARGS]: a plugins.d entry (format string, as auditd gives ours).
e2e_plugin() {
  local d=$1 name=$2 path=$3 args=${4:-}
  {
    printf 'active = yes\ndirection = out\npath = %s\ntype = always\n' "$path"
    [ -z "$args" ] || printf 'args = %s\n' "$args"
    printf 'format = string\n'
  } > "$d/plugins.d/$name.conf"
  chmod 640 "$d/plugins.d/$name.conf"
}

# e2e_plugin_setup DIR BIN [OUTPUT]: DIR/plugin.yaml (the shipped rules, a file output to
# DIR/alerts.jsonl, plus the flow-style OUTPUT entry if given), validated with --check; then the
# private auditd's config with BIN as its plugin.
e2e_plugin_setup() {
  local d=$1 bin=$2 extra=${3:-}
  {
    printf 'rules_dir: %s/conf/rules\nstate_file: %s/state.json\nseccomp_learn_file: %s/seccomp.json\nstatus_interval_s: 0\nspool_dir: %s/spool\n' "$e2e_root" "$d" "$d" "$d"
    # The integrity monitor: the runtime binaries, daemon.json, and a file no audit rule watches.
    printf 'integrity: {state_file: %s/baseline.json, files: [/etc/docker/daemon.json, %s/unwatched.conf]}\noutputs:\n' "$d" "$d"
    echo "setting = 1" > "$d/unwatched.conf"
    printf '  - {name: local, type: file, path: %s/alerts.jsonl}\n' "$d"
    [ -z "$extra" ] || printf '  - %s\n' "$extra"
  } > "$d/plugin.yaml"
  "$bin" --config "$d/plugin.yaml" --check
  e2e_auditd_conf "$d"
  e2e_plugin "$d" audisp-docker "$bin" "--config $d/plugin.yaml --log-stderr"
}

# e2e_rootfs DIR: DIR/rootfs (busybox) and DIR/bundle (a runc bundle running /bin/true). Made
# before auditd starts: `runc spec` from a shell is itself a detection.
e2e_rootfs() {
  local d=$1 c
  mkdir -p "$d/rootfs/bin" "$d/rootfs/usr/bin" "$d/rootfs/tmp" "$d/rootfs/proc" "$d/rootfs/dev" "$d/rootfs/sys"
  cp "$(command -v busybox)" "$d/rootfs/bin/busybox"
  for c in sh ls true echo cat chmod chown touch ln mv rm mkdir unshare mount; do ln -sf busybox "$d/rootfs/bin/$c"; done
  mkdir -p "$d/bundle" && cp -a "$d/rootfs" "$d/bundle/rootfs"
  (cd "$d/bundle" && runc spec)
  python3 - "$d/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["readonly"] = False
json.dump(c, open(p, "w"))
PY
}

# e2e_start_auditd DIR RULES_FILE: starts auditd -n on DIR/auditd.conf and loads RULES_FILE.
# Returns non-zero (with auditctl's message on stderr) if the rules do not load.
e2e_start_auditd() {
  local d=$1 rules=$2 p
  auditd -n -c "$d" > "$d/auditd.out" 2>&1 &
  E2E_AUDITD_PID=$!
  for _ in $(seq 50); do
    p=$(auditctl -s | awk '/^pid/{print $2}')
    [ "$p" != 0 ] && break
    sleep 0.1
  done
  auditctl -b 16384 >/dev/null
  auditctl -D >/dev/null
  auditctl -R "$rules" > "$d/auditctl.out" 2>&1 || { cat "$d/auditctl.out" >&2; return 1; }
}

# e2e_stop_auditd: deletes the rules and stops auditd (its plugins get EOF and exit).
e2e_stop_auditd() {
  auditctl -D >/dev/null 2>&1 || true
  if [ -n "$E2E_AUDITD_PID" ]; then
    kill "$E2E_AUDITD_PID" 2>/dev/null || true
    wait "$E2E_AUDITD_PID" 2>/dev/null || true
    E2E_AUDITD_PID=""
  fi
  e2e_restore_audit
}

# e2e_start_containerd DIR: a containerd with its root, state and socket under DIR.
e2e_start_containerd() {
  local d=$1
  containerd --root "$d/ctd-root" --state "$d/ctd-state" --address "$d/ctd.sock" > "$d/containerd.out" 2>&1 &
  E2E_CTD_PID=$!
  for _ in $(seq 100); do [ -S "$d/ctd.sock" ] && return 0; sleep 0.1; done
  echo "e2e: containerd did not come up: $(tail -3 "$d/containerd.out")" >&2
  return 1
}

# e2e_teardown DIR: stops what e2e_* started and deletes the rules; safe to call twice.
# e2e_stop_dockerd DIR PID: removes the containers and images of the private dockerd listening
# on DIR/docker.sock (client $DOCKER_CLI), then stops it (PID; SIGKILL after 10 s).
e2e_stop_dockerd() {
  local dir=$1 pid=$2 cli=${DOCKER_CLI:-docker}
  if [ -S "$dir/docker.sock" ]; then
    "$cli" -H "unix://$dir/docker.sock" ps -aq 2>/dev/null | xargs -r "$cli" -H "unix://$dir/docker.sock" rm -f >/dev/null 2>&1
    "$cli" -H "unix://$dir/docker.sock" images -q 2>/dev/null | sort -u | xargs -r "$cli" -H "unix://$dir/docker.sock" rmi -f >/dev/null 2>&1
  fi
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  return 0
}

e2e_teardown() {
  local d=$1
  e2e_stop_auditd
  if [ -n "$E2E_CTD_PID" ]; then
    kill "$E2E_CTD_PID" 2>/dev/null || true
    wait "$E2E_CTD_PID" 2>/dev/null || true
    E2E_CTD_PID=""
  fi
  umount -R "$d/ctd-state" >/dev/null 2>&1 || true
}

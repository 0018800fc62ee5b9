# shellcheck shell=bash
# The detection scenarios, shared by tests/e2e/detections.sh (which checks the alerts) and
# tests/data/capture.sh (which records the stream for the unit tests). Each takes the work
# directory made by lib.sh (rootfs, containerd socket) and runs real commands on this host.
# Call scenario_prepare before auditd starts and the rules are rendered, scenario_restore in
# the EXIT trap: the runc scenarios write the host's runc and put it back byte for byte.

SCENARIO_RUNC=""
SCENARIO_RUNC_SUM=""
SCENARIO_MADE_ETC_DOCKER=0
SCENARIO_MADE_DAEMON_JSON=0

# scenario_prepare DIR: files the scenarios need before the rules are rendered (a watch needs
# its path to exist) and before auditd starts (so the set-up is not itself in the stream).
scenario_prepare() {
  local d=$1
  SCENARIO_RUNC=$(readlink -f "$(command -v runc)")
  SCENARIO_RUNC_SUM=$(sha256sum "$SCENARIO_RUNC" | cut -d' ' -f1)
  cp -p "$SCENARIO_RUNC" "$d/runc.orig"
  if [ ! -e /etc/docker ]; then
    mkdir -p /etc/docker
    SCENARIO_MADE_ETC_DOCKER=1
  fi
  [ -e /etc/docker/daemon.json ] && cp -p /etc/docker/daemon.json "$d/daemon.json.orig"
  if [ ! -e /etc/docker/daemon.json ]; then
    echo '{}' > /etc/docker/daemon.json
    SCENARIO_MADE_DAEMON_JSON=1
  fi
  cat > "$d/seccomp.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}
JSON
  mkdir -p "$d/host/usr/bin"
  (cd "$d" && apt-get download -qq runc >/dev/null 2>&1) || true
}

# scenario_restore DIR: the host's runc and /etc/docker as they were.
scenario_restore() {
  local d=$1
  if [ -n "$SCENARIO_RUNC" ] && [ -e "$d/runc.orig" ]; then
    if [ "$(sha256sum "$SCENARIO_RUNC" | cut -d' ' -f1)" != "$SCENARIO_RUNC_SUM" ]; then
      cat "$d/runc.orig" > "$SCENARIO_RUNC"
    fi
    if [ "$(sha256sum "$SCENARIO_RUNC" | cut -d' ' -f1)" != "$SCENARIO_RUNC_SUM" ]; then
      echo "scenario: COULD NOT RESTORE $SCENARIO_RUNC (copy in $d/runc.orig)" >&2
      return 1
    fi
  fi
  if [ -e "$d/daemon.json.orig" ]; then
    cp -p "$d/daemon.json.orig" /etc/docker/daemon.json
  elif [ "$SCENARIO_MADE_ETC_DOCKER" = 1 ]; then
    rm -rf /etc/docker
  elif [ "$SCENARIO_MADE_DAEMON_JSON" = 1 ]; then
    rm -f /etc/docker/daemon.json
  fi
}

# A fresh /usr/bin/tool in the rootfs (ctr run --rootfs uses the directory as it is).
scenario_tool() {
  local d=$1
  mkdir -p "$d/rootfs/usr/bin"
  rm -f "$d/rootfs/usr/bin/tool"*
  printf '#!/bin/sh\necho tool\n' > "$d/rootfs/usr/bin/tool"
  chmod 755 "$d/rootfs/usr/bin/tool"
}

# fim: seven operations on /usr/bin/tool inside a ctr container (each one
# container_binary_modified), the same on /tmp inside it and on a host path ending in
# /usr/bin (none).
scenario_fim() {
  local d=$1
  scenario_tool "$d"
  ctr --address "$d/ctd.sock" run --rm --rootfs "$d/rootfs" fim-1 /bin/sh -c '
    chmod 700 /usr/bin/tool
    chown 1:1 /usr/bin/tool
    touch -d 2020-01-01 /usr/bin/tool
    echo x >> /usr/bin/tool
    ln /usr/bin/tool /usr/bin/tool2
    mv /usr/bin/tool2 /usr/bin/tool3
    rm /usr/bin/tool3
    echo x > /tmp/f; chmod 700 /tmp/f; chown 1:1 /tmp/f; touch -d 2020-01-01 /tmp/f; echo y >> /tmp/f
    ln /tmp/f /tmp/f2; mv /tmp/f2 /tmp/f3; rm /tmp/f3 /tmp/f'
  bash -c "cd '$d/host/usr/bin' && echo x > x && chmod 700 x && touch -d 2020-01-01 x && mv x y && rm y; true"
}

# evasion: the same /usr/bin/tool reached by other names inside a ctr container (issue 11, M2):
# through a symlinked directory (chmod, and a file created there) and through a hard link (the
# link, then a write to it). Each is container_binary_modified, file.same_as the real name.
scenario_evasion() {
  local d=$1
  local c=(ctr --address "$d/ctd.sock")
  scenario_tool "$d"
  # From inside a running container, as an intruder would (its root is read while it runs).
  "${c[@]}" run -d --rootfs "$d/rootfs" evade-1 /bin/busybox sleep 60
  sleep 0.5
  "${c[@]}" task exec --exec-id e1 evade-1 /bin/sh -c '
    ln -s /usr/bin /tmp/u
    chmod 700 /tmp/u/tool
    echo x > /tmp/u/dropped
    ln /usr/bin/tool /tmp/p
    echo x >> /tmp/p
    rm -f /tmp/u /tmp/p /usr/bin/dropped'
  "${c[@]}" task kill -s KILL evade-1
  sleep 0.5
  "${c[@]}" task rm -f evade-1 >/dev/null
  "${c[@]}" container rm evade-1
}

# seccomp: a container whose profile kills mkdir runs mkdir (seccomp_violation naming mkdir).
scenario_seccomp() {
  local d=$1
  ctr --address "$d/ctd.sock" run --rm --seccomp --seccomp-profile "$d/seccomp.json" \
    --rootfs "$d/rootfs" sc-1 /bin/mkdir /tmp/x || true
}

# tamper: bash appends to the host runc (runtime_binary_tampered, high), then a container
# appends to it through a bind mount (critical, container_escape); restored after each.
scenario_tamper() {
  local d=$1 dir
  dir=$(dirname "$SCENARIO_RUNC")
  bash -c "printf x >> '$SCENARIO_RUNC'; true"
  cat "$d/runc.orig" > "$SCENARIO_RUNC"
  ctr --address "$d/ctd.sock" run --rm --mount "type=bind,src=$dir,dst=/hostsbin,options=rbind:rw" \
    --rootfs "$d/rootfs" tamper-1 \
    /bin/sh -c "echo x >> /hostsbin/$(basename "$SCENARIO_RUNC")" || true
  cat "$d/runc.orig" > "$SCENARIO_RUNC"
}

# dpkg: the runc package reinstalled with dpkg -i (runtime_binary_tampered only as info,
# authorized_update). Needs the .deb fetched by scenario_prepare (apt-get download runc).
scenario_dpkg() {
  local d=$1 deb
  deb=$(ls "$d"/runc_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || { echo "scenario: no runc .deb (apt-get download runc failed)" >&2; return 1; }
  DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >/dev/null
}

# config: a shell rewrites /etc/docker/daemon.json (runtime_config_changed).
scenario_config() {
  bash -c "echo '{\"debug\": true}' > /etc/docker/daemon.json; true"
}

# sensitive: a container tries unshare and mount (container_sensitive_syscall, failed calls:
# no CAP_SYS_ADMIN); the host runs unshare (none).
scenario_sensitive() {
  local d=$1
  ctr --address "$d/ctd.sock" run --rm --rootfs "$d/rootfs" sens-1 /bin/sh -c \
    'unshare -m true; mount -t tmpfs none /tmp; true' || true
  unshare -m true
}

# appcontrol: runc copied under another name into a hidden directory and run from bash
# (runtime_binary_unrecognized: its content is runc); a different program installed as `runc`
# earlier in PATH and run (runtime_binary_unrecognized: untrusted content).
scenario_appcontrol() {
  local d=$1
  mkdir -p "$d/.x" "$d/pathbin"
  cp "$SCENARIO_RUNC" "$d/.x/kworker"
  cp "$(command -v busybox)" "$d/pathbin/runc"
  bash -c "'$d/.x/kworker' --version >/dev/null; true"
  bash -c "PATH='$d/pathbin':\$PATH; runc true; true"
}

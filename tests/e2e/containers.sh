#!/usr/bin/env bash
# Issue 10 on real daemons: a private auditd runs the built plugin (the shipped rules, a file
# output) and a capture plugin (`cat > stream`) side by side, with the full kernel rules fragment
# (all tiers). A private dockerd (with the containerd it starts), podman (private storage) and the
# e2e's own containerd (ctr) run:
#   - a benign soak: container churn with ctr, docker and podman, docker/podman exec, docker run
#     --init, docker cp in and out, docker build (classic builder, and BuildKit when it works
#     offline), importing an image that carries runtime binaries, apt-get install --reinstall runc
#     from the local cache. It must give no alert >= medium; the reinstall only info alerts tagged
#     authorized_update; and runtime_binary_unrecognized never for `runc init`.
#   - the detections, each alert naming its container (64-hex id, runtime, name, image): seed
#     004's 7 file operations under /usr/bin by `docker exec`, by a docker container's own
#     command, and the same with podman (their alerts naming the `exec`, `start` or `run` client
#     command as their initiator); a docker container appending to the host's runc through
#     a bind mount (critical, container_escape); a seccomp kill; unshare/mount from a capable
#     container; runc run by hand against docker's containers; a daemon.json edit.
# The checks are tests/e2e/containers_checks.py, shared with the replay of the capture
# (tests/e2e/containers_replay.sh): each phase's start and end time are in a manifest, and an
# alert belongs to the phase its event time falls in.
#
#   tests/e2e/containers.sh [--capture]
# --capture also writes the stream to tests/data/containers.log.zst, the manifest to
# tests/data/containers.json (for containers_replay.sh) and the podman container's own command
# alone to tests/data/podman_fim.log (for the unit replay test of issue 10's item 8). KEEP=1 keeps the work directory.
# Everything started here is stopped, the images, containers, mounts and rules removed and the
# host's runc and /etc/docker restored on exit, also on failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
capture=0
[ "${1:-}" = --capture ] && capture=1
[ -x "$bin" ] || { echo "containers: $bin not built"; exit 1; }
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/scenarios.sh
. "$root/tests/e2e/scenarios.sh"
e2e_preflight
need=()
for p in docker.io:dockerd podman:podman conmon:conmon zstd:zstd; do
  command -v "${p#*:}" >/dev/null || need+=("${p%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "containers: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian's docker.io client (a /usr/local/bin/docker of another version may come first in PATH).
DOCKER_CLI=/usr/bin/docker
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=$(command -v docker)

d=$(mktemp -d /tmp/adock-containers.XXXXXX)
passed=0; failed=0
DOCKERD_PID=""
MADE_DOCKER_KEY=0
ADDED_DEB=""
ok()  { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

dk() { "$DOCKER_CLI" -H "unix://$d/docker.sock" "$@"; }
pm() {
  podman --root "$d/pod-root" --runroot "$d/pod-run" --tmpdir "$d/pod-tmp" \
    --cgroup-manager=cgroupfs --events-backend=file "$@"
}
# podman's default rlimits (nofile and nproc 1048576) exceed this host's hard limits.
PM_RUN=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

cleanup() {
  set +e
  e2e_stop_auditd
  e2e_stop_dockerd "$d" "$DOCKERD_PID"
  if [ -d "$d/pod-root" ]; then
    pm rm -af -t 0 >/dev/null 2>&1
    pm system reset -f >/dev/null 2>&1
  fi
  if [ -S "$d/ctd.sock" ]; then
    for t in $(ctr --address "$d/ctd.sock" task ls -q 2>/dev/null); do ctr --address "$d/ctd.sock" task rm -f "$t" >/dev/null 2>&1; done
    for c in $(ctr --address "$d/ctd.sock" container ls -q 2>/dev/null); do ctr --address "$d/ctd.sock" container rm "$c" >/dev/null 2>&1; done
  fi
  e2e_teardown "$d"
  # Anything still running from the work directory (dockerd's containerd if dockerd had to be
  # killed, a shim, conmon): ours by their command line naming the private directory.
  for p in $(pgrep -f -- "$d/"); do
    [ "$p" != $$ ] && kill "$p" 2>/dev/null
  done
  sleep 0.5
  for p in $(pgrep -f -- "$d/"); do
    [ "$p" != $$ ] && kill -9 "$p" 2>/dev/null
  done
  [ "$MADE_DOCKER_KEY" = 1 ] && rm -f /etc/docker/key.json
  [ -n "$ADDED_DEB" ] && rm -f "/var/cache/apt/archives/$ADDED_DEB"
  scenario_restore "$d" || failed=$((failed + 1))
  # Whatever the daemons left mounted under the work directory (overlays, shm, netns).
  grep -F " $d/" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  if [ "$failed" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
    echo "containers: artefacts kept in $d (alerts.jsonl, stream, manifest.json, phase-*.out)"
  else
    rm -rf "$d"
  fi
}
trap cleanup EXIT

# --- set-up (before auditd starts: none of it is in the stream) ---------------------------
e2e_rootfs "$d"
printf '#!/bin/sh\necho tool\n' > "$d/rootfs/usr/bin/tool"
chmod 755 "$d/rootfs/usr/bin/tool"
mkdir -p "$d/rootfs/etc" "$d/rootfs/mnt" "$d/rootfs/sbin"
for c in sleep mkdir ls sh umount; do ln -sf busybox "$d/rootfs/bin/$c"; done
# Issue 15's escape techniques, tried harmlessly (tests/e2e/escape_probe.c), in the image and on the host.
gcc -static -O2 -o "$d/adock-probe" "$root/tests/e2e/escape_probe.c"
cp "$d/adock-probe" "$d/rootfs/usr/bin/adock-probe"
tar -C "$d/rootfs" -cf "$d/busybox.tar" .
# The shape of docker:dind, kind and CI images: runtime binaries under /usr/local/bin.
cp -a "$d/rootfs" "$d/rt-rootfs"
mkdir -p "$d/rt-rootfs/usr/local/bin"
for b in runc docker dockerd containerd ctr docker-init docker-proxy; do cp "$(command -v busybox)" "$d/rt-rootfs/usr/local/bin/$b"; done
tar -C "$d/rt-rootfs" -cf "$d/runtime-image.tar" .
scenario_prepare "$d"
# dockerd reads its own config file: the daemon.json edit of the detections is the host's file.
echo '{}' > "$d/daemon.json"
"$root/scripts/render-rules.sh" > "$d/rules"
# The test's dockerd listens on its own socket: the runtime_sockets tier for it, as the fragment
# has it for /run/docker.sock.
printf -- '-a always,exit -F arch=b64 -S connect -F path=%s -k adock_sock\n' "$d/docker.sock" >> "$d/rules"

e2e_start_containerd "$d" || bad "containerd did not start"
# dockerd 20.10 writes its trust key to /etc/docker/key.json whatever its --config-file.
[ -e /etc/docker/key.json ] || MADE_DOCKER_KEY=1
dockerd --iptables=false --bridge=none --data-root "$d/docker" --exec-root "$d/exec" \
  -H "unix://$d/docker.sock" --pidfile "$d/docker.pid" --config-file "$d/daemon.json" > "$d/dockerd.out" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 150); do dk version >/dev/null 2>&1 && break; sleep 0.2; done
if dk version >/dev/null 2>&1; then ok "dockerd up ($(dk version -f '{{.Server.Version}}'), its own containerd)"; else bad "dockerd did not start: $(tail -3 "$d/dockerd.out")"; exit 1; fi
dk import "$d/busybox.tar" adock-bb:1 >/dev/null && ok "busybox image imported into docker" || bad "docker import failed"
pm import -q "$d/busybox.tar" adock-bb:1 >/dev/null && ok "busybox image imported into podman" || bad "podman import failed"
# The runc .deb for the reinstall, from apt's cache (apt-get download without the network
# fails; scenario_prepare tried). The reinstall itself runs with --no-download.
if ! ls /var/cache/apt/archives/runc_*.deb >/dev/null 2>&1 && ls "$d"/runc_*.deb >/dev/null 2>&1; then
  cp "$d"/runc_*.deb /var/cache/apt/archives/ && ADDED_DEB=$(basename "$(ls "$d"/runc_*.deb | head -1)")
fi

# Plugins: audisp-docker with a file output, and the capture. The daemons' private state
# directories are given to the plugin (a host running them in /var/lib/docker needs nothing).
{
  printf 'rules_dir: %s/conf/rules\nstate_file: %s/state.json\nseccomp_learn_file: %s/seccomp.json\nstatus_interval_s: 0\nspool_dir: %s/spool\n' "$root" "$d" "$d" "$d"
  printf 'docker_containers_dir: %s/docker/containers\n' "$d"
  printf 'podman_storage_dir: %s/pod-root\n' "$d"
  printf 'containerd_state_dir: %s/ctd-state/io.containerd.runtime.v2.task\n' "$d"
  printf 'integrity: {state_file: %s/baseline.json, files: [/etc/docker/daemon.json]}\n' "$d"
  printf 'outputs:\n  - {name: local, type: file, path: %s/alerts.jsonl}\n' "$d"
} > "$d/plugin.yaml"
"$bin" --config "$d/plugin.yaml" --check > "$d/check.out" 2>&1 && ok "plugin config valid" || bad "plugin --check: $(cat "$d/check.out")"
e2e_auditd_conf "$d"
e2e_plugin "$d" audisp-docker "$bin" "--config $d/plugin.yaml --log-stderr"
printf '#!/bin/sh\ncat > %s\n' "$d/stream" > "$d/capture"  # no exec: pgrep finds it by its script
chmod 755 "$d/capture"
e2e_plugin "$d" capture "$d/capture"

if e2e_start_auditd "$d" "$d/rules" 2>"$d/load.err"; then
  ok "full fragment loads ($(auditctl -l | wc -l) rules), two plugins"
else
  bad "fragment failed to load: $(cat "$d/load.err")"; exit 1
fi
for _ in $(seq 50); do pgrep -f "$bin --config $d/plugin.yaml" >/dev/null && pgrep -f "$d/capture" >/dev/null && break; sleep 0.1; done
pgrep -f "$bin --config $d/plugin.yaml" >/dev/null && ok "auditd started the plugin" || bad "plugin not running"
pgrep -f "$d/capture" >/dev/null && ok "auditd started the capture" || bad "capture not running"
# The plugin's first integrity scan hashes the runtime binaries (rate-limited; seconds here):
# until it ends the content checks have nothing to compare with, and a soak run before it would
# be quieter than a host in steady state.
for _ in $(seq 600); do [ -s "$d/baseline.json" ] && break; sleep 0.2; done
[ -s "$d/baseline.json" ] && ok "the plugin's first integrity scan is done (baseline written)" || bad "no integrity baseline after 120 s"
sleep 1

# --- phases ----------------------------------------------------------------------------------
: > "$d/phases.tsv"; : > "$d/containers.tsv"
# phase NAME FUNCTION: runs FUNCTION, then waits for the daemons' own after-work (shim exit,
# runc delete) to end; records the window [start, end] of the audit clock.
phase() {
  local name=$1 fn=$2 start end rc=0 err=""
  start=$(date +%s.%N)
  # The kernel stamps audit events from the coarse clock (a tick behind, then cut to ms): a pause
  # keeps this phase's first event clear of the previous phase's window.
  sleep 0.05
  # In the background so that set -e holds inside FUNCTION (it does not in a `||` list).
  "$fn" > "$d/phase-$name.out" 2>&1 &
  wait $! || rc=$?
  [ "$rc" = 0 ] || err="exit $rc: $(tail -3 "$d/phase-$name.out" | tr '\n\t' '  ')"
  sleep 2
  end=$(date +%s.%N)
  # printf, not python: every process run here is in the stream (python3 may be a pyenv shim
  # that forks twenty more).
  printf '%s\t%s\t%s\t%s\n' "$name" "$start" "$end" "$err" >> "$d/phases.tsv"
  [ -z "$err" ] || echo "containers: $name: $err"
}
# remember KEY RUNTIME IMAGE...: the container named KEY for the checks (the images it may be called by).
remember() {
  local key=$1 runtime=$2 id
  shift 2
  if [ "$runtime" = docker ]; then id=$(dk inspect -f '{{.Id}}' "$key"); else id=$(pm inspect -f '{{.Id}}' "$key"); fi
  printf '%s\t%s\t%s\t%s\n' "$key" "$runtime" "$id" "$*" >> "$d/containers.tsv"
}
FIM_OPS='chmod 700 /usr/bin/tool
chown 1:1 /usr/bin/tool
touch -d 2020-01-01 /usr/bin/tool
echo x >> /usr/bin/tool
ln /usr/bin/tool /usr/bin/tool2
mv /usr/bin/tool2 /usr/bin/tool3
rm /usr/bin/tool3
echo x > /tmp/f; chmod 700 /tmp/f; chown 1:1 /tmp/f; touch -d 2020-01-01 /tmp/f; echo y >> /tmp/f
ln /tmp/f /tmp/f2; mv /tmp/f2 /tmp/f3; rm /tmp/f3 /tmp/f'

soak_ctr() {
  local c=(ctr --address "$d/ctd.sock") i
  for i in 1 2 3; do "${c[@]}" run --rm --rootfs "$d/rootfs" "soak-c$i" /bin/sh -c 'ls /bin >/dev/null'; done
  "${c[@]}" run -d --rootfs "$d/rootfs" soak-cd /bin/sleep 60
  sleep 0.5
  "${c[@]}" task exec --exec-id x1 soak-cd /bin/ls /usr/bin
  "${c[@]}" task exec --exec-id x2 soak-cd /bin/sh -c 'echo hi > /tmp/hi'
  "${c[@]}" task kill -s KILL soak-cd
  sleep 0.5
  "${c[@]}" task rm -f soak-cd
  "${c[@]}" container rm soak-cd
}
soak_docker() {
  local i
  for i in 1 2; do dk run --rm --network none adock-bb:1 sh -c 'ls /bin >/dev/null'; done
  dk run -d --name soak-d --network none adock-bb:1 sleep 300
  dk stop -t 1 soak-d
  dk start soak-d
}
soak_docker_exec() {
  dk exec soak-d ls /usr/bin
  dk exec soak-d sh -c 'echo hi > /tmp/hi; cat /tmp/hi'
}
soak_docker_init() {
  dk run --rm --init --network none adock-bb:1 sh -c 'ls / >/dev/null'
}
soak_docker_cp() {
  echo "copied in" > "$d/cp-in.txt"
  dk cp "$d/cp-in.txt" soak-d:/tmp/in.txt
  dk cp soak-d:/tmp/in.txt "$d/cp-out.txt"
  cmp "$d/cp-in.txt" "$d/cp-out.txt"
  dk stop -t 1 soak-d
  dk rm soak-d
}
mkdir -p "$d/build"
printf 'FROM adock-bb:1\nRUN echo built > /usr/bin/built && chmod 755 /usr/bin/built && rm /usr/bin/tool\nCOPY hello.txt /usr/bin/hello.txt\n' > "$d/build/Dockerfile"
echo hello > "$d/build/hello.txt"
soak_docker_build() {
  DOCKER_BUILDKIT=0 dk build --network none -t adock-built:1 "$d/build"
  dk run --rm --network none adock-built:1 cat /usr/bin/built
  dk rmi adock-built:1
}
soak_buildkit() {
  DOCKER_BUILDKIT=1 dk build --network none -t adock-built-bk:1 "$d/build"
  dk rmi adock-built-bk:1
}
soak_podman() {
  local i
  for i in 1 2; do pm run --rm "${PM_RUN[@]}" adock-bb:1 sh -c 'ls /bin >/dev/null'; done
  pm run -d --name soak-p "${PM_RUN[@]}" adock-bb:1 sleep 300
}
soak_podman_exec() {
  pm exec soak-p ls /usr/bin
  pm exec soak-p sh -c 'echo hi > /tmp/hi; cat /tmp/hi'
  pm stop -t 1 soak-p
  pm rm soak-p
}
soak_import_runtime_image() {
  dk import "$d/runtime-image.tar" adock-rt:1
  pm import -q "$d/runtime-image.tar" adock-rt:1
  dk rmi adock-rt:1
  pm rmi adock-rt:1
}
# From apt's cache (no network); if apt cannot (the cached .deb is not the candidate), dpkg -i
# of the .deb scenario_prepare downloaded or the cache holds.
soak_apt_reinstall() {
  local deb
  DEBIAN_FRONTEND=noninteractive apt-get install --reinstall -y -qq --no-download runc && return 0
  deb=$(ls "$d"/runc_*.deb /var/cache/apt/archives/runc_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || return 1
  echo "apt-get could not reinstall runc offline: dpkg -i $deb"
  DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
}

det_docker_fim_exec() {
  dk run -d --name fim-d --network none adock-bb:1 sleep 300
  remember fim-d docker adock-bb:1
  # From a "login" (auid 0, as a user's session has one): the initiator names its user. Only
  # the CLI has it: the exec'd process is the daemon's child, whose write-opens stay audited.
  LOGIN_UID=0 dk_login exec fim-d sh -c "$FIM_OPS"
}
dk_login() { bash -c 'echo "$LOGIN_UID" > /proc/self/loginuid && exec "$@"' dk "$DOCKER_CLI" -H "unix://$d/docker.sock" "$@"; }
det_docker_fim_cmd() {
  dk create --name fim-d2 --network none adock-bb:1 sh -c "$FIM_OPS"
  remember fim-d2 docker adock-bb:1
  dk start -a fim-d2
}
det_podman_fim_exec() {
  pm run -d --name fim-p "${PM_RUN[@]}" adock-bb:1 sleep 300
  remember fim-p podman localhost/adock-bb:1 adock-bb:1
  pm exec fim-p sh -c "$FIM_OPS"
}
det_podman_fim_cmd() {
  pm create --name fim-p2 "${PM_RUN[@]}" adock-bb:1 sh -c "$FIM_OPS"
  remember fim-p2 podman localhost/adock-bb:1 adock-bb:1
  pm start -a fim-p2
}
# Issue 15: a container `run --name` started; its own command's alerts name that CLI process.
det_docker_run_initiator() {
  dk run --name run-d --network none adock-bb:1 sh -c 'chmod 700 /usr/bin/tool'
  remember run-d docker adock-bb:1
  # Without --name: by the image docker keeps as the client named it. Recorded as run-d-image.
  dk run --network none adock-bb:1 sh -c 'chmod 700 /usr/bin/tool'
  printf 'run-d-image\tdocker\t%s\tadock-bb:1\n' "$(dk ps -lq --no-trunc)" >> "$d/containers.tsv"
}
# A container's file named like the summary's placeholders: shown as it is, never filled in.
det_docker_placeholder_name() {
  dk run --name hostile-d --network none adock-bb:1 \
    sh -c 'touch "/usr/bin/{container.name}{integrity.trust}"'
  remember hostile-d docker adock-bb:1
}
det_podman_run_initiator() {
  pm run --name run-p "${PM_RUN[@]}" adock-bb:1 sh -c 'chmod 700 /usr/bin/tool'
  remember run-p podman localhost/adock-bb:1 adock-bb:1
}
# put the host's runc back byte for byte (retried: ETXTBSY while a runc runs).
restore_runc() {
  for _ in $(seq 50); do
    [ "$(sha256sum "$SCENARIO_RUNC" | cut -d' ' -f1)" = "$SCENARIO_RUNC_SUM" ] && return 0
    cat "$d/runc.orig" > "$SCENARIO_RUNC" 2>/dev/null || sleep 0.1
  done
  return 1
}
det_docker_tamper() {
  local dir
  dir=$(dirname "$SCENARIO_RUNC")
  dk create --name tamper-d --network none -v "$dir:/hostsbin" adock-bb:1 \
    sh -c "echo x >> /hostsbin/$(basename "$SCENARIO_RUNC") || echo failed: \$?"
  remember tamper-d docker adock-bb:1
  dk start -a tamper-d
  restore_runc
}
# Issue 11, M2 on overlay roots: /usr/bin/tool reached through a symlinked directory and a hard
# link from inside running docker and podman containers.
EVADE_OPS='ln -s /usr/bin /tmp/u
chmod 700 /tmp/u/tool
echo x > /tmp/u/dropped
ln /usr/bin/tool /tmp/p
echo x >> /tmp/p
rm -f /tmp/u /tmp/p /usr/bin/dropped'
det_docker_evade() {
  dk run -d --name evade-d --network none adock-bb:1 sleep 300
  remember evade-d docker adock-bb:1
  sleep 0.5
  dk exec evade-d sh -c "$EVADE_OPS"
}
det_podman_evade() {
  pm run -d --name evade-p "${PM_RUN[@]}" adock-bb:1 sleep 300
  remember evade-p podman localhost/adock-bb:1 adock-bb:1
  sleep 0.5
  pm exec evade-p sh -c "$EVADE_OPS"
}
det_docker_seccomp() {
  dk create --name sc-d --network none --security-opt "seccomp=$d/seccomp.json" adock-bb:1 mkdir /tmp/x
  remember sc-d docker adock-bb:1
  dk start -a sc-d || true
}
det_docker_sensitive() {
  dk create --name sens-d --network none --cap-add ALL --cap-drop SYS_RESOURCE adock-bb:1 \
    sh -c 'unshare -m true; mount -t tmpfs none /mnt; umount /mnt; true'
  remember sens-d docker adock-bb:1
  dk start -a sens-d
}
det_runc_shell() {
  local id
  dk run -d --name runc-d --network none adock-bb:1 sleep 300
  id=$(dk inspect -f '{{.Id}}' runc-d)
  sleep 0.5
  bash -c "runc --root '$d/exec/runtime-runc/moby' list; true"
  bash -c "runc --root '$d/exec/runtime-runc/moby' exec $id /bin/true; true"
}
det_daemon_json() {
  scenario_config "$d"
}
# Issue 15: a capable container (--cap-add ALL, as close to --privileged as this host allows)
# with the daemon's socket bind-mounted tries the host's escape surfaces (Docker's read-only
# /proc/sys and /sys refuse: attempts), a cgroup v1 release_agent, the socket, and a memfd exec.
ESCAPE_OPS='adock-probe openw /proc/sys/kernel/core_pattern
adock-probe openw /proc/sysrq-trigger
adock-probe openw /sys/kernel/uevent_helper
mkdir -p /tmp/cg
if mount -t cgroup -o none,name=adock cgroup /tmp/cg; then adock-probe openw /tmp/cg/release_agent; umount /tmp/cg; else echo "release_agent: cgroup v1 mount refused"; fi
adock-probe connect /var/run/docker.sock
adock-probe memexec /bin/busybox true'
det_docker_escape() {
  dk create --name esc-d --network none --cap-add ALL --cap-drop SYS_RESOURCE \
    -v "$d/docker.sock:/var/run/docker.sock" adock-bb:1 sh -c "$ESCAPE_OPS"
  remember esc-d docker adock-bb:1
  dk start -a esc-d
}
det_podman_escape() {
  pm create --name esc-p "${PM_RUN[@]}" --cap-add ALL --cap-drop SYS_RESOURCE \
    -v "$d/docker.sock:/var/run/docker.sock" adock-bb:1 sh -c "$ESCAPE_OPS"
  remember esc-p podman localhost/adock-bb:1 adock-bb:1
  pm start -a esc-p
}
# Requests for the host: / bind-mounted, a working directory through a leaked descriptor
# (CVE-2024-21626: this host's runc is patched and refuses to start the process, the attempt is
# what is detected), and through Docker's API without a CLI (only the container's spec says it).
det_docker_request() {
  dk create --name mnt-d --network none -v /:/hostroot:ro adock-bb:1 busybox chroot /hostroot /bin/true
  remember mnt-d docker adock-bb:1
  dk start -a mnt-d
  dk create --name leak-d --network none -w /proc/self/fd/7 adock-bb:1 true
  remember leak-d docker adock-bb:1
  dk start -a leak-d || echo "leak-d: the runtime refused the working directory"
  # docker exec -w into a running container (the exec's process spec never reaches a file the
  # plugin reads: the client's command line is the evidence).
  dk run -d --name leakx-d --network none adock-bb:1 sleep 30 >/dev/null
  remember leakx-d docker adock-bb:1
  dk exec -w /proc/self/fd/7 leakx-d true || echo "leakx-d: the runtime refused the exec's working directory"
  dk rm -f leakx-d >/dev/null
  curl -sS --fail --unix-socket "$d/docker.sock" -H 'Content-Type: application/json' \
    -d '{"Image":"adock-bb:1","Cmd":["true"],"HostConfig":{"Binds":["/run:/hostrun:ro"],"NetworkMode":"none"}}' \
    'http://docker/containers/create?name=api-d' >/dev/null
  remember api-d docker adock-bb:1
  dk start -a api-d
  # The host's root disk by its numbers, mknod'ed and mounted from a capable container (the
  # devices cgroup refuses to open it: the attempt is the detection).
  local devno maj min
  devno=$(stat -c %d /); maj=$((devno >> 8)); min=$((devno & 255))
  dk create --name blk-d --network none --cap-add ALL --cap-drop SYS_RESOURCE adock-bb:1 \
    sh -c "mknod /tmp/hostdisk b $maj $min && mkdir -p /tmp/m && if mount -o ro /tmp/hostdisk /tmp/m; then echo mounted; umount /tmp/m; else echo 'mount refused'; fi"
  remember blk-d docker adock-bb:1
  dk start -a blk-d
}
det_podman_request() {
  pm create --name mnt-p "${PM_RUN[@]}" -v /:/hostroot:ro adock-bb:1 busybox chroot /hostroot /bin/true
  remember mnt-p podman localhost/adock-bb:1 adock-bb:1
  pm start -a mnt-p
  pm create --name leak-p "${PM_RUN[@]}" -w /proc/self/fd/7 adock-bb:1 true
  remember leak-p podman localhost/adock-bb:1 adock-bb:1
  pm start -a leak-p || echo "leak-p: the runtime refused the working directory"
}
# Drift: a program the container writes and runs (busybox copied, chmod'ed, renamed to one of
# its applets, run: binary_masquerade too), and the same container running its image's programs
# (quiet).
# (the sleep: the container's overlay stays mounted while image_diff reads it)
DRIFT_OPS='cp /bin/busybox /tmp/x && chmod 755 /tmp/x && mv /tmp/x /tmp/true && /tmp/true && ls / >/dev/null && echo ran && sleep 2'
det_docker_drift() {
  dk create --name drift-d --network none adock-bb:1 sh -c "$DRIFT_OPS"
  remember drift-d docker adock-bb:1
  dk start -a drift-d
}
det_podman_drift() {
  pm create --name drift-p "${PM_RUN[@]}" adock-bb:1 sh -c "$DRIFT_OPS"
  remember drift-p podman localhost/adock-bb:1 adock-bb:1
  pm start -a drift-p
}
# nsenter -t PID -m from a --pid=host container, into a host process's mount namespace (a sleep
# of this script's: this host's pid 1 is not readable).
det_docker_nsjoin() {
  local host_pid
  sleep 30 & host_pid=$!
  dk create --name ns-d --network none --pid=host --cap-add ALL --cap-drop SYS_RESOURCE adock-bb:1 \
    adock-probe nsjoin "$host_pid" mnt 2
  remember ns-d docker adock-bb:1
  dk start -a ns-d
  kill "$host_pid"
}
det_podman_nsjoin() {
  local host_pid
  sleep 30 & host_pid=$!
  pm create --name ns-p "${PM_RUN[@]}" --pid=host --cap-add ALL --cap-drop SYS_RESOURCE adock-bb:1 \
    adock-probe nsjoin "$host_pid" mnt 2
  remember ns-p podman localhost/adock-bb:1 adock-bb:1
  pm start -a ns-p
  kill "$host_pid"
}
det_host_fileless() {
  "$d/adock-probe" memexec /bin/true true
}
# binary_masquerade: a package's program copied under another name, on the host and in a
# container (the test image's busybox is the host's busybox-static file, named here as its
# sleep applet: busybox runs what argv[0] names). The container's copy runs for 2 s, as a
# renamed tool does: one that exits before the plugin pins its /proc/PID/exe cannot be read (a
# container's path names its own file system) and stays unverifiable.
det_masquerade() {
  cp /usr/bin/true "$d/crond"
  "$d/crond"
  dk create --name masq-d --network none adock-bb:1 sh -c 'cp /bin/busybox /tmp/sleep && /tmp/sleep 2'
  remember masq-d docker adock-bb:1
  dk start -a masq-d
}
# The benign controls of issue 15's detections: a container with the socket mounted that does
# not connect, reading the escape surfaces, writing its own files of those names under /tmp
# (not the kernel's), and the host's own client on the socket.
soak_escape_controls() {
  dk run --rm --network none -v "$d/docker.sock:/var/run/docker.sock" adock-bb:1 \
    sh -c 'cat /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe >/dev/null; ls -l /var/run/docker.sock; echo x > /tmp/core_pattern; rm /tmp/core_pattern'
  pm run --rm "${PM_RUN[@]}" adock-bb:1 sh -c 'cat /proc/sys/kernel/core_pattern >/dev/null; mkdir -p /tmp/sys/kernel; echo x > /tmp/sys/kernel/uevent_helper'
  "$d/adock-probe" connect "$d/docker.sock"
  dk version >/dev/null
}

phase soak.ctr soak_ctr
phase soak.docker soak_docker
phase soak.docker_exec soak_docker_exec
phase soak.docker_init soak_docker_init
phase soak.docker_cp soak_docker_cp
phase soak.docker_build soak_docker_build
buildkit="BuildKit builds offline here (docker.io's built-in BuildKit, --network none)"
phase soak.buildkit soak_buildkit
if awk -F'\t' '$1 == "soak.buildkit" && $4 != "" {found = 1} END {exit !found}' "$d/phases.tsv"; then
  buildkit="BuildKit did not build offline: $(tail -2 "$d/phase-soak.buildkit.out" | tr '\n' ' ')"
  awk -F'\t' '$1 != "soak.buildkit"' "$d/phases.tsv" > "$d/phases.tmp" && mv "$d/phases.tmp" "$d/phases.tsv"
fi
echo "containers: $buildkit"
phase soak.podman soak_podman
phase soak.podman_exec soak_podman_exec
phase soak.import_runtime_image soak_import_runtime_image
phase soak.escape_controls soak_escape_controls
phase soak.apt_reinstall soak_apt_reinstall
# The package's runc is the reference now (same version, a new inode).
SCENARIO_RUNC_SUM=$(sha256sum "$SCENARIO_RUNC" | cut -d' ' -f1)
cp -p "$SCENARIO_RUNC" "$d/runc.orig"

phase det.docker_fim_exec det_docker_fim_exec
phase det.docker_fim_cmd det_docker_fim_cmd
phase det.podman_fim_exec det_podman_fim_exec
phase det.podman_fim_cmd det_podman_fim_cmd
phase det.docker_run_initiator det_docker_run_initiator
phase det.podman_run_initiator det_podman_run_initiator
phase det.docker_placeholder_name det_docker_placeholder_name
phase det.docker_tamper det_docker_tamper
[ "$(sha256sum "$SCENARIO_RUNC" | cut -d' ' -f1)" = "$SCENARIO_RUNC_SUM" ] && ok "runc restored byte for byte" || bad "runc differs after the tamper scenario"
if grep -q "^failed:" "$d/phase-det.docker_tamper.out"; then
  echo "containers: the container's write to the host's runc failed ($(grep -v '^[0-9a-f]\{64\}$' "$d/phase-det.docker_tamper.out" | tr '\n' ' ')): an attempt, still a detection"
else
  echo "containers: the container's write to the host's runc succeeded (restored)"
fi
phase det.docker_evade det_docker_evade
phase det.podman_evade det_podman_evade
phase det.docker_seccomp det_docker_seccomp
phase det.docker_sensitive det_docker_sensitive
phase det.runc_shell det_runc_shell
phase det.daemon_json det_daemon_json
phase det.docker_escape det_docker_escape
phase det.podman_escape det_podman_escape
phase det.docker_request det_docker_request
phase det.podman_request det_podman_request
phase det.docker_drift det_docker_drift
phase det.podman_drift det_podman_drift
phase det.docker_nsjoin det_docker_nsjoin
phase det.podman_nsjoin det_podman_nsjoin
phase det.host_fileless det_host_fileless
phase det.masquerade det_masquerade

# Let the last alerts arrive (file growth stops), then stop auditd: the plugins get EOF.
last=-1
for _ in $(seq 40); do
  now=$( [ -e "$d/alerts.jsonl" ] && wc -l < "$d/alerts.jsonl" || echo 0)
  [ "$now" = "$last" ] && break
  last=$now; sleep 0.5
done
e2e_stop_auditd
for _ in $(seq 50); do pgrep -f "$d/capture" >/dev/null || break; sleep 0.1; done

python3 - "$d" "$SCENARIO_RUNC" "$buildkit" > "$d/manifest.json" <<'PY'
import json, os, sys
d, runc, buildkit = sys.argv[1:4]
phases = []
for l in open(os.path.join(d, "phases.tsv")):
    name, start, end, err = l.rstrip("\n").split("\t")
    phases.append({"name": name, "start": float(start), "end": float(end), "error": err or None})
containers = {}
for l in open(os.path.join(d, "containers.tsv")):
    key, runtime, cid, images = l.rstrip("\n").split("\t")
    containers[key] = {"runtime": runtime, "id": cid, "name": key, "image": images.split()}
json.dump({"workdir": d, "runc": runc, "buildkit": buildkit,
           "docker_exec_root": d + "/exec", "docker_data_root": d + "/docker",
           "podman_root": d + "/pod-root", "phases": phases, "containers": containers}, sys.stdout, indent=1)
PY
echo "containers: stream $(wc -l < "$d/stream") lines, $(du -h "$d/stream" | cut -f1); $(wc -l < "$d/alerts.jsonl" 2>/dev/null || echo 0) alerts"

if python3 "$root/tests/e2e/containers_checks.py" live "$d/alerts.jsonl" "$d/manifest.json" > "$d/checks.out" 2>&1; then :; fi
cat "$d/checks.out"
passed=$((passed + $(grep -c '^PASS' "$d/checks.out" || true)))
failed=$((failed + $(grep -c '^FAIL' "$d/checks.out" || true)))

if [ "$capture" = 1 ]; then
  zstd -q -9 -f "$d/stream" -o "$root/tests/data/containers.log.zst"
  cp "$d/manifest.json" "$root/tests/data/containers.json"
  # The podman container's own command alone (issue 10, item 8), whole events, for a unit test.
  python3 - "$d/manifest.json" "$d/stream" > "$root/tests/data/podman_fim.log" <<'PY'
import json, re, sys
p = next(p for p in json.load(open(sys.argv[1]))["phases"] if p["name"] == "det.podman_fim_cmd")
stamp = re.compile(rb"msg=audit\((\d+\.\d+):")
with open(sys.argv[2], "rb") as f:
    for line in f:
        m = stamp.search(line)
        if m and p["start"] <= float(m.group(1)) <= p["end"]:
            sys.stdout.buffer.write(line)
PY
  echo "containers: capture written: tests/data/containers.log.zst ($(du -h "$root/tests/data/containers.log.zst" | cut -f1)), tests/data/containers.json, tests/data/podman_fim.log ($(wc -l < "$root/tests/data/podman_fim.log") lines)"
fi
echo "containers: $passed passed, $failed failed"
[ "$failed" = 0 ]

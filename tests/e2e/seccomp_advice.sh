#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 15, seccomp advice, live: a private auditd captures the stream while three docker
# containers of one image run a fixed command under a learning profile (defaultAction
# SCMP_ACT_LOG: the kernel writes a SECCOMP record for every syscall); `audisp-docker
# --seccomp-profile IMAGE --input STREAM` makes a profile of it; the same command then runs under
# that profile without a refusal (exit 0, its output complete, no SECCOMP record), and a syscall
# the learning run never made (chroot) is refused with EPERM. docker 20.10 drops a profile's
# "flags" (SECCOMP_FILTER_FLAG_LOG), so the kernel logs no errno refusal: the exit status and
# output show them. The same with two podman containers of the image (private storage). And
# from the live plugin's state: the plugin itself runs under the same auditd, learns, writes
# seccomp_learn_file on SIGUSR1, and `--seccomp-profile IMAGE` without --input prints the same
# profiles.
#   tests/e2e/seccomp_advice.sh      KEEP=1 keeps the work directory.
# Everything started here (dockerd, its containerd, auditd, the containers, the rules) is stopped
# or removed on exit, also on failure; the kernel's audit state and actions_logged are restored.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
[ -x "$bin" ] || { echo "seccomp_advice: $bin not built"; exit 1; }
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
e2e_preflight
command -v dockerd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
DOCKER_CLI=/usr/bin/docker
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=$(command -v docker)
started=$(date +%s)
d=$(mktemp -d /tmp/adock-seccomp.XXXXXX)
passed=0; failed=0
DOCKERD_PID=""
MADE_DOCKER_KEY=0
LOGGED=/proc/sys/kernel/seccomp/actions_logged
SAVED_LOGGED=$(cat "$LOGGED")
ok()  { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
dk() { "$DOCKER_CLI" -H "unix://$d/docker.sock" "$@"; }
pm() {
  podman --root "$d/pod-root" --runroot "$d/pod-run" --tmpdir "$d/pod-tmp" \
    --cgroup-manager=cgroupfs --events-backend=file "$@"
}
PM_RUN=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

cleanup() {
  set +e
  e2e_stop_auditd
  pm rm -af >/dev/null 2>&1
  e2e_stop_dockerd "$d" "$DOCKERD_PID"
  e2e_teardown "$d"
  # dockerd's own containerd and shims, if dockerd had to be killed: ours by the private directory.
  for p in $(pgrep -f -- "$d/"); do
    [ "$p" != $$ ] && kill "$p" 2>/dev/null
  done
  sleep 0.3
  for p in $(pgrep -f -- "$d/"); do
    [ "$p" != $$ ] && kill -9 "$p" 2>/dev/null
  done
  [ "$MADE_DOCKER_KEY" = 1 ] && rm -f /etc/docker/key.json
  [ "$(cat "$LOGGED")" = "$SAVED_LOGGED" ] || echo "$SAVED_LOGGED" > "$LOGGED"
  grep -F " $d/" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  echo "seccomp_advice: $passed passed, $failed failed in $(( $(date +%s) - started )) s"
  if [ "$failed" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
    echo "seccomp_advice: artefacts kept in $d"
  else
    rm -rf "$d"
  fi
}
trap cleanup EXIT

# --- set-up (before auditd starts) ---------------------------------------------------------
# The kernel logs SCMP_ACT_LOG only if actions_logged names it (restored on exit).
grep -qw log "$LOGGED" || echo "$SAVED_LOGGED log" > "$LOGGED"
e2e_rootfs "$d"
ln -sf busybox "$d/rootfs/bin/chroot"
tar -C "$d/rootfs" -cf "$d/busybox.tar" .
"$root/scripts/render-rules.sh" > "$d/rules"
# The learning run's own rule (README, Seccomp advice): a shell's forked applets exec nothing; their
# exit_group tells the process table their parent.
printf -- '-a always,exit -F arch=b64 -S exit_group -k adock_seccomp_learn\n' >> "$d/rules"
printf '{"defaultAction": "SCMP_ACT_LOG"}\n' > "$d/learn.json"
# The fixed command: a shell writing, reading and listing files.
CMD='echo learned > /tmp/f && cat /tmp/f && mkdir /tmp/d && ls / /tmp > /dev/null && rm -r /tmp/d /tmp/f'
[ -e /etc/docker/key.json ] || MADE_DOCKER_KEY=1
mkdir -p "$d/etc"; echo '{}' > "$d/etc/daemon.json"
dockerd --iptables=false --bridge=none --data-root "$d/docker" --exec-root "$d/exec" \
  -H "unix://$d/docker.sock" --pidfile "$d/docker.pid" --config-file "$d/etc/daemon.json" > "$d/dockerd.out" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 150); do dk version >/dev/null 2>&1 && break; sleep 0.2; done
dk version >/dev/null 2>&1 && ok "dockerd up" || { bad "dockerd did not start: $(tail -3 "$d/dockerd.out")"; exit 1; }
dk import "$d/busybox.tar" adock-sc:1 >/dev/null && ok "busybox image imported" || { bad "docker import failed"; exit 1; }
pm import -q "$d/busybox.tar" adock-sc:1 >/dev/null && ok "busybox image imported into podman" || { bad "podman import failed"; exit 1; }
printf 'docker_containers_dir: %s/docker/containers\npodman_storage_dir: %s/pod-root\noutputs: []\n' "$d" "$d" > "$d/plugin.yaml"
# The live plugin: the same, learning into its own file.
{ cat "$d/plugin.yaml"
  printf 'seccomp_learn_file: %s/learned/seccomp.json\nstate_file: %s/state.json\n' "$d" "$d"
  printf 'integrity:\n  state_file: %s/baseline.json\n' "$d"; } > "$d/live.yaml"
mkdir -p "$d/learned"
"$bin" --config "$d/live.yaml" --check >/dev/null || { bad "live.yaml: $("$bin" --config "$d/live.yaml" --check 2>&1)"; exit 1; }
e2e_auditd_conf "$d"
printf '#!/bin/sh\ncat > %s\n' "$d/stream" > "$d/capture"
chmod 755 "$d/capture"
e2e_plugin "$d" capture "$d/capture"
e2e_plugin "$d" adock "$bin" "--config $d/live.yaml"
e2e_start_auditd "$d" "$d/rules" 2>"$d/load.err" && ok "rules loaded, capture plugin" || { bad "rules: $(cat "$d/load.err")"; exit 1; }
for _ in $(seq 50); do pgrep -f "$d/capture" >/dev/null && break; sleep 0.1; done

# --- learn: three containers of the image under SCMP_ACT_LOG -----------------------------------
for i in 1 2 3; do
  if dk run --name "sc-learn-$i" --network none --security-opt "seccomp=$d/learn.json" adock-sc:1 sh -c "$CMD" > "$d/learn-$i.out" 2>&1; then
    ok "learning run $i: exit 0 ($(cat "$d/learn-$i.out"))"
  else
    bad "learning run $i failed: $(cat "$d/learn-$i.out")"
  fi
done
for i in 1 2; do
  if pm run --name "sc-pod-$i" "${PM_RUN[@]}" --security-opt "seccomp=$d/learn.json" adock-sc:1 sh -c "$CMD" > "$d/pod-learn-$i.out" 2>&1; then
    ok "podman learning run $i: exit 0 ($(cat "$d/pod-learn-$i.out"))"
  else
    bad "podman learning run $i failed: $(cat "$d/pod-learn-$i.out")"
  fi
done
sleep 2  # auditd's end_of_event_timeout
cp "$d/stream" "$d/learn.log"
n=$(grep -c '^type=SECCOMP' "$d/learn.log" || true)
[ "$n" -gt 50 ] && ok "$n SECCOMP records in the learning stream" || bad "only $n SECCOMP records in the learning stream"

# --- generate -------------------------------------------------------------------------------
if "$bin" --config "$d/plugin.yaml" --input "$d/learn.log" --seccomp-profile adock-sc:1 > "$d/profile.json" 2> "$d/profile.err"; then
  ok "--seccomp-profile adock-sc:1 exit 0: $(head -1 "$d/profile.err")"
else
  bad "--seccomp-profile adock-sc:1: $(cat "$d/profile.err")"
fi
python3 - "$d/profile.json" "$d/profile.err" <<'PY' && ok "the profile: default EPERM, x86_64, the command's syscalls, 3 containers reported" || bad "profile content: $(cat "$d/profile.json" "$d/profile.err")"
import json, sys
p = json.load(open(sys.argv[1])); err = open(sys.argv[2]).read()
names = p["syscalls"][0]["names"]
assert p["defaultAction"] == "SCMP_ACT_ERRNO" and p["defaultErrnoRet"] == 1, p
assert p["architectures"] == ["SCMP_ARCH_X86_64"], p["architectures"]
assert p["syscalls"][0]["action"] == "SCMP_ACT_ALLOW" and names == sorted(names), p
for s in ("execve", "mkdir", "unlink", "getdents64", "write"):
    assert s in names, (s, names)
for s in ("chroot", "reboot", "mount", "unshare"):
    assert s not in names, (s, names)
assert "image: 3 container(s)" in err and "sc-learn-1" in err, err
assert any(l.split()[:1] == ["mkdir"] and l.split()[-1] == "3" for l in err.splitlines()), err
PY
# auditd's own log (no EOE records) says the same.
"$bin" --config "$d/plugin.yaml" --input "$d/log/audit.log" --seccomp-profile adock-sc:1 > "$d/profile-log.json" 2> "$d/profile-log.err" \
  && cmp -s "$d/profile.json" "$d/profile-log.json" && ok "the same profile from auditd's audit.log" \
  || bad "audit.log: $(diff "$d/profile.json" "$d/profile-log.json" | head -5) $(head -3 "$d/profile-log.err")"
"$bin" --config "$d/plugin.yaml" --input "$d/learn.log" --seccomp-profile sc-learn-2 > /dev/null 2> "$d/by-name.err" \
  && grep -q "name: 1 container(s)" "$d/by-name.err" && ok "by container name: one container" || bad "by name: $(cat "$d/by-name.err")"
rc=0; "$bin" --config "$d/plugin.yaml" --input "$d/learn.log" --seccomp-profile nosuch:1 > "$d/none.out" 2> "$d/none.err" || rc=$?
[ "$rc" = 2 ] && [ ! -s "$d/none.out" ] && grep -q "images seen: adock-sc:1 (3 containers)" "$d/none.err" \
  && ok "an unknown image: exit 2 naming the images seen" || bad "unknown image: rc $rc $(cat "$d/none.err")"

# podman's containers of the image (localhost/adock-sc:1), from the same stream.
if "$bin" --config "$d/plugin.yaml" --input "$d/learn.log" --seccomp-profile localhost/adock-sc:1 > "$d/profile-pod.json" 2> "$d/profile-pod.err" \
  && grep -q "image: 2 container(s)" "$d/profile-pod.err"; then
  ok "--seccomp-profile localhost/adock-sc:1 (podman): 2 containers"
else
  bad "--seccomp-profile localhost/adock-sc:1: $(cat "$d/profile-pod.err")"
fi
python3 - "$d/profile.json" "$d/profile-pod.json" <<'PY' && ok "podman's profile: the same command's syscalls (what docker's has, give or take the runtime's own)" || bad "podman profile: $(cat "$d/profile-pod.json")"
import json, sys
dock = set(json.load(open(sys.argv[1]))["syscalls"][0]["names"]); pod = json.load(open(sys.argv[2]))
names = pod["syscalls"][0]["names"]
assert pod["defaultAction"] == "SCMP_ACT_ERRNO" and names == sorted(names), pod
for s in ("execve", "mkdir", "unlink", "getdents64", "write"):
    assert s in names, (s, names)
for s in ("chroot", "reboot", "mount", "unshare"):
    assert s not in names, (s, names)
assert len(dock ^ set(names)) <= 12, sorted(dock ^ set(names))
PY

# From the live plugin's state: SIGUSR1 makes it write what it learned.
live_pid=$(pgrep -f -- "--config $d/live.yaml" | head -1 || true)
if [ -n "$live_pid" ] && kill -USR1 "$live_pid"; then
  for _ in $(seq 50); do [ -s "$d/learned/seccomp.json" ] && break; sleep 0.1; done
fi
[ -s "$d/learned/seccomp.json" ] && [ "$(stat -c %a "$d/learned/seccomp.json")" = 600 ] \
  && ok "the live plugin (pid $live_pid) wrote its learned state on SIGUSR1 (0600)" || bad "no learned state from the live plugin (pid ${live_pid:-none})"
for img in adock-sc:1 localhost/adock-sc:1; do
  ref=$([ "$img" = adock-sc:1 ] && echo "$d/profile.json" || echo "$d/profile-pod.json")
  out="$d/live-$(echo "$img" | tr '/:' '__').json"
  if "$bin" --config "$d/live.yaml" --seccomp-profile "$img" > "$out" 2> "$out.err" && grep -q "learned by the live plugin" "$out.err"; then
    python3 - "$ref" "$out" <<'PY' && ok "without --input, $img from the live plugin's state: the stream's profile" || bad "live $img: $(diff "$ref" "$out" | head -6)"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a == b or set(a["syscalls"][0]["names"]) ^ set(b["syscalls"][0]["names"]) <= {"exit_group", "exit"}, \
    sorted(set(a["syscalls"][0]["names"]) ^ set(b["syscalls"][0]["names"]))
PY
  else
    bad "--seccomp-profile $img without --input: $(cat "$out.err")"
  fi
done
{ cat "$d/plugin.yaml"; printf 'seccomp_learn_file: %s/none/seccomp.json\n' "$d"; } > "$d/nostate.yaml"
rc=0; "$bin" --config "$d/nostate.yaml" --seccomp-profile adock-sc:1 > /dev/null 2> "$d/nostate.err" || rc=$?
[ "$rc" = 1 ] && grep -q "cannot read the live plugin's learned state" "$d/nostate.err" \
  && ok "no learned state: exit 1 saying why" || bad "no state: rc $rc $(cat "$d/nostate.err")"
{ cat "$d/plugin.yaml"; printf 'seccomp_learn_file: ""\n'; } > "$d/off.yaml"
rc=0; "$bin" --config "$d/off.yaml" --seccomp-profile adock-sc:1 > /dev/null 2> "$d/off.err" || rc=$?
[ "$rc" = 1 ] && grep -q "seccomp_learn_file is off" "$d/off.err" \
  && ok "seccomp_learn_file off: exit 1, use --input" || bad "off: rc $rc $(cat "$d/off.err")"

# --- apply: the same command passes, a syscall it never made is refused ------------------------
cp "$d/profile.json" "$d/enforce.json"
before=$(stat -c %s "$d/stream")
if dk run --rm --name sc-apply --network none --security-opt "seccomp=$d/enforce.json" adock-sc:1 sh -c "$CMD" > "$d/apply.out" 2>&1 \
  && [ "$(cat "$d/apply.out")" = learned ]; then
  ok "the command under the learned profile: exit 0, output complete ($(cat "$d/apply.out"))"
else
  bad "the command under the learned profile failed: $(cat "$d/apply.out")"
fi
sleep 1.5
tail -c +"$((before + 1))" "$d/stream" > "$d/apply.log"
n=$(grep -c '^type=SECCOMP' "$d/apply.log" || true)
[ "$n" = 0 ] && ok "no SECCOMP record for it (no kill, no log action; an errno refusal shows in the exit status)" || bad "$n SECCOMP records under the learned profile: $(grep '^type=SECCOMP' "$d/apply.log" | head -3)"
before=$(stat -c %s "$d/stream")
rc=0; dk run --rm --name sc-refuse --network none --security-opt "seccomp=$d/enforce.json" adock-sc:1 chroot / /bin/true > "$d/refuse.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "Operation not permitted" "$d/refuse.out" && ok "chroot (never learned) refused: exit $rc, $(head -1 "$d/refuse.out")" \
  || bad "chroot under the learned profile: exit $rc $(cat "$d/refuse.out")"
sleep 1.5
tail -c +"$((before + 1))" "$d/stream" > "$d/refuse.log"
n=$(grep -c '^type=SECCOMP' "$d/refuse.log" || true)
[ "$n" = 0 ] && ok "the refusal is the profile's errno, not a kill or a log (no SECCOMP record)" || bad "$n SECCOMP records for the refused chroot: $(grep '^type=SECCOMP' "$d/refuse.log" | head -3)"
# The control: the same chroot under the learning profile works (the refusal is the profile's).
dk run --rm --network none --security-opt "seccomp=$d/learn.json" adock-sc:1 chroot / /bin/true > "$d/control.out" 2>&1 \
  && ok "chroot under the learning profile: exit 0" || bad "chroot control: $(cat "$d/control.out")"
# podman, under its learned profile: the command passes, chroot is refused.
if pm run --rm "${PM_RUN[@]}" --security-opt "seccomp=$d/profile-pod.json" adock-sc:1 sh -c "$CMD" > "$d/pod-apply.out" 2>&1 \
  && [ "$(cat "$d/pod-apply.out")" = learned ]; then
  ok "podman: the command under its learned profile: exit 0, output complete"
else
  bad "podman: the command under its learned profile failed: $(cat "$d/pod-apply.out")"
fi
rc=0; pm run --rm "${PM_RUN[@]}" --security-opt "seccomp=$d/profile-pod.json" adock-sc:1 chroot / /bin/true > "$d/pod-refuse.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "Operation not permitted" "$d/pod-refuse.out" && ok "podman: chroot (never learned) refused: exit $rc" \
  || bad "podman: chroot under the learned profile: exit $rc $(cat "$d/pod-refuse.out")"
[ "$failed" = 0 ]

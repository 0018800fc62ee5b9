#!/usr/bin/env bash
# The whole test suite: unit tests (Release, warnings as errors), the format check, clang-tidy's
# error checks, the unit tests under ASan+UBSan and under TSan, a bounded fuzzing run, the
# hostile regression suite, the end-to-end tests on the real auditd with real containers, and
# the Debian package's round trip. Needs root for the e2e.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (installs packages, drives the kernel audit subsystem)"; exit 1; }
scripts/deps.sh catch2 runc containerd busybox-static python3 zstd openssl docker.io podman conmon clang libclang-rt-14-dev clang-tidy-14 clang-format-14 prometheus \
  debhelper lintian mandoc man-db groff-base
jobs=$(nproc)
# The suites start auditd (which enables auditing) and the package test runs the system's: put
# the kernel's audit flag and backlog limit back as they were, whatever happens.
audit_enabled=$(auditctl -s 2>/dev/null | awk '/^enabled/{print $2}')
audit_backlog=$(auditctl -s 2>/dev/null | awk '/^backlog_limit/{print $2}')
restore_audit() {
  local owner
  owner=$(auditctl -s 2>/dev/null | awk '/^pid/{print $2}')
  [ -z "$owner" ] || [ "$owner" = 0 ] || return 0
  [ "$(auditctl -s 2>/dev/null | awk '/^enabled/{print $2}')" = 2 ] && return 0
  [ -z "$audit_backlog" ] || auditctl -b "$audit_backlog" >/dev/null 2>&1 || true
  [ -z "$audit_enabled" ] || auditctl -e "$audit_enabled" >/dev/null 2>&1 || true
}
trap restore_audit EXIT

echo "== unit tests (Release, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAUDISP_DOCKER_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure)
# The unit tests need no root (scripts/unit.sh runs them as any user): proved here as nobody.
echo "== unit tests as an unprivileged user (nobody)"
as_nobody() { (cd /tmp && setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env "$@"); }
if as_nobody test -r "$root/conf/rules/10-runtime.yaml" -a -x "$root/build/tests/unit_tests"; then
  as_nobody "$root/build/tests/unit_tests" >/tmp/adock-unit-nobody.log 2>&1 \
    || { tail -40 /tmp/adock-unit-nobody.log; echo "unit tests failed as nobody"; exit 1; }
  grep -E "^(All tests passed|test cases:)" /tmp/adock-unit-nobody.log; rm -f /tmp/adock-unit-nobody.log
else
  echo "SKIP: nobody cannot read this checkout ($root); scripts/unit.sh runs the unit tests as any user"
fi

echo "== clang-format (.clang-format: every C++ source formatted, scripts/format.sh --check)"
scripts/format.sh --check

echo "== clang-tidy (bugprone-*, concurrency-*, clang-analyzer-* over plugin/src: any finding fails)"
scripts/tidy.sh

echo "== unit tests (Debug, ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAUDISP_DOCKER_ENABLE_ASAN=ON \
  -DAUDISP_DOCKER_ENABLE_UBSAN=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure)

echo "== unit tests (Debug, ThreadSanitizer)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DAUDISP_DOCKER_ENABLE_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --output-on-failure)

echo "== fuzzing (libFuzzer, ASan+UBSan: every target ${ADOCK_FUZZ_SECONDS:-30} s)"
scripts/fuzz.sh "${ADOCK_FUZZ_SECONDS:-30}"

echo "== hostile regression suite (tests/data/hostile: PASS, or XFAIL for the known-open cases)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/hostile/run.py

echo "== end to end (real auditd, containerd, runc)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/run.sh

echo "== detections end to end (containers, runc tampering, dpkg, seccomp)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/detections.sh

echo "== issue 10 on real daemons (docker, podman, ctr: benign soak, detections with names)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/containers.sh

echo "== seccomp advice on docker (learn under SCMP_ACT_LOG, --seccomp-profile, apply: ~15 s)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/seccomp_advice.sh

echo "== replay of the captured container-host stream (tests/data/containers.log.zst)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/containers_replay.sh

echo "== alert delivery (TLS with a CA made here, --test-output, kill -9 with a spool, EOF)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/outputs_test.sh

echo "== metrics file (promtool), audit_coverage_degraded on the real kernel, --check --format json"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/health_test.sh

echo "== operator scripts (render, check, install/uninstall round trip)"
AUDISP_DOCKER_BIN="$root/build/plugin/audisp-docker" tests/e2e/scripts_test.sh
echo "== Debian package (dpkg-buildpackage, lintian, install/reinstall/remove/purge on this machine's auditd)"
tests/e2e/package_test.sh
echo "== all tests passed"

#!/usr/bin/env bash
# The unit tests alone, as any user: no root, no apt, no auditd. Builds a Release tree in
# BUILD_DIR (default build-unit/) and runs ctest. Needs the build dependencies installed
# (scripts/deps.sh lists them; as root it installs them): CMake says which one it misses.
#   scripts/unit.sh [BUILD_DIR] [-- CTEST_ARGS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build-unit}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DAUDISP_DOCKER_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
exec ctest --output-on-failure "$@"

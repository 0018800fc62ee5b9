#!/usr/bin/env bash
# clang-tidy 14 over plugin/src with the repository's .clang-tidy (STYLE.md §6.11). Configures
# build-tidy/ for its compile_commands.json (nothing is compiled).
#   scripts/tidy.sh              the checks CI treats as errors (bugprone-*, concurrency-*,
#                                clang-analyzer-*): every finding printed, exit 1 if there is one
#   scripts/tidy.sh --all        every check .clang-tidy lists: findings counted per check,
#                                exit 0 (advice for review, not a gate)
#   scripts/tidy.sh [--all] FILE...   only these sources
# A finding that is not a bug is silenced where it is, with NOLINT(check) and the reason.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
all=false
if [ "${1:-}" = "--all" ]; then
  all=true
  shift
fi
[ "$(id -u)" != 0 ] || scripts/deps.sh clang-tidy-14
for tool in clang-tidy-14 run-clang-tidy-14; do
  command -v "$tool" >/dev/null || { echo "tidy.sh: needs $tool (apt-get install clang-tidy-14)"; exit 2; }
done
b=build-tidy
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
if [ $# -gt 0 ]; then
  files=()
  for f in "$@"; do files+=("$(realpath "$f")"); done
else
  mapfile -t files < <(git ls-files 'plugin/src/*.cpp' | sed "s|^|$root/|")
fi
# The error set is the WarningsAsErrors of .clang-tidy; --all keeps the file's whole list.
gate=$(sed -n "s/^WarningsAsErrors: *'\(.*\)'/\1/p" .clang-tidy)
[ -n "$gate" ] || { echo "tidy.sh: no WarningsAsErrors in .clang-tidy"; exit 2; }
# -checks is appended to the file's Checks: after "-*" and the gate, the file's exclusions again.
excluded=$(sed -n "s/^Checks: *'\(.*\)'/\1/p" .clang-tidy | tr ',' '\n' | grep '^-[a-z]' | paste -sd, -)
args=(-p "$b" -j "$(nproc)" -quiet)
$all || args+=(-checks="-*,$gate,$excluded")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "tidy: ${#files[@]} sources, $($all && echo "every check of .clang-tidy" || echo "$gate")"
# run-clang-tidy exits non-zero when a file has an error; the count below decides.
# It colours its output even into a file: the colour codes are taken out before reading it.
run-clang-tidy-14 "${args[@]}" "${files[@]}" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$log" || true
# One finding per file:line:col and check (a header included by several sources repeats).
findings=$(grep -E '^/.*:[0-9]+:[0-9]+: (warning|error): .*\[[a-z0-9.,-]+\]$' "$log" | sed "s|^$root/||" | sort -u || true)
if grep -qE 'error: (unable to|no such file)|Error while processing' "$log"; then
  grep -E 'error: (unable to|no such file)|Error while processing' "$log" | sort -u | head -20
  echo "tidy.sh: clang-tidy could not process some sources (above)"
  exit 2
fi
count=0
[ -z "$findings" ] || count=$(printf '%s\n' "$findings" | wc -l)
if $all; then
  [ "$count" = 0 ] || printf '%s\n' "$findings" | grep -oE '\[[a-z0-9.-]+' | tr -d '[' | sort | uniq -c | sort -rn
  echo "tidy: $count findings of every check (advice)"
  exit 0
fi
if [ "$count" != 0 ]; then
  # The finding with its notes and the code it points at.
  awk -v r="$root/" '/^\/.*:[0-9]+:[0-9]+: (warning|error): /{p = ($0 ~ /\[[a-z0-9.,-]+\]$/)} p && !/warnings? generated/{sub(r, ""); print}' "$log" | head -400
  echo "tidy: $count findings of $gate"
  exit 1
fi
echo "tidy: 0 findings of $gate"

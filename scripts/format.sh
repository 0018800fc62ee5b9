#!/usr/bin/env bash
# clang-format 14 with the repository's .clang-format (STYLE.md §6.11) over the C++ sources
# under version control (plugin/, tests/).
#   scripts/format.sh             formats them in place
#   scripts/format.sh --check     changes nothing; lists the files that differ, exit 1 if any (CI)
#   scripts/format.sh [--check] FILE...   only these files
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=false
if [ "${1:-}" = "--check" ]; then
  check=true
  shift
fi
[ "$(id -u)" != 0 ] || scripts/deps.sh clang-format-14
command -v clang-format-14 >/dev/null || { echo "format.sh: needs clang-format-14 (apt-get install clang-format-14)"; exit 2; }
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files 'plugin/*.cpp' 'plugin/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'tests/*.c')
fi
if ! $check; then
  clang-format-14 -i --style=file "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
differ=()
for f in "${files[@]}"; do
  clang-format-14 --style=file "$f" | cmp -s "$f" - || differ+=("$f")
done
if [ ${#differ[@]} -gt 0 ]; then
  printf '%s\n' "${differ[@]}"
  echo "format: ${#differ[@]} of ${#files[@]} files are not formatted as .clang-format says (scripts/format.sh fixes them)"
  exit 1
fi
echo "format: ${#files[@]} files formatted as .clang-format says"

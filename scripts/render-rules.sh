#!/usr/bin/env bash
# Writes the host's version of the kernel rules fragment.
#   render-rules.sh [TEMPLATE] > 45-audisp-docker.rules
# Resolves every @watch path (a watch on a symlink never fires on exec), drops duplicates and
# paths the host does not have (a watch on a missing path fails to load), with a note for each.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
template=${1:-$here/rules.d/45-audisp-docker.rules.in}
[ -r "$template" ] || { echo "render-rules: cannot read $template" >&2; exit 2; }
declare -A seen=()
echo "## Rendered by audisp-docker render-rules.sh on $(hostname) from $(basename "$template")"
while IFS= read -r line || [ -n "$line" ]; do
  if [[ $line == "@watch "* ]]; then
    read -r _ perms path <<<"$line"
    if [ ! -e "$path" ]; then
      echo "## skipped: $path (not present on this host)"
      continue
    fi
    real=$(readlink -f -- "$path")
    if [ "$real" != "$path" ]; then
      echo "## $path is a link to $real: watching $real"
    fi
    if [ -n "${seen[$real]:-}" ]; then
      echo "## $real already watched"
      continue
    fi
    seen[$real]=1
    echo "-w $real -p $perms -k docker"
  else
    printf '%s\n' "$line"
  fi
done < "$template"

#!/usr/bin/env bash
# Writes the host's version of the kernel rules fragment.
#   render-rules.sh [--tiers exec,cis,container_fim,container_syscalls,runtime_sockets] [TEMPLATE] > 45-audisp-docker.rules
# Resolves every @watch and @connect path (a watch on a symlink never fires on exec), drops duplicates and
# paths the host does not have (a watch on a missing path fails to load), with a note for each.
# Keeps the tiers named (default: all of the template's tiers).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tiers=""
while [ $# -gt 0 ]; do
  case $1 in
    --tiers) tiers=$2; shift 2 ;;
    --tiers=*) tiers=${1#--tiers=}; shift ;;
    *) break ;;
  esac
done
template=${1:-$here/rules.d/45-audisp-docker.rules.in}
[ -r "$template" ] || { echo "render-rules: cannot read $template" >&2; exit 2; }
declare -A seen=() wanted=()
known=$(awk '$1 == "@tier" {print $2}' "$template")
if [ -n "$tiers" ]; then
  IFS=, read -r -a list <<<"$tiers"
  for t in "${list[@]}"; do
    grep -qxF -- "$t" <<<"$known" || { echo "render-rules: unknown tier '$t' (tiers: $(tr '\n' ' ' <<<"$known"))" >&2; exit 2; }
    wanted[$t]=1
  done
else
  for t in $known; do wanted[$t]=1; done
fi
echo "## Rendered by audisp-docker render-rules.sh on $(hostname) from $(basename "$template")"
keep=1
while IFS= read -r line || [ -n "$line" ]; do
  if [[ $line == "@tier "* ]]; then
    read -r _ tier <<<"$line"
    if [ -n "${wanted[$tier]:-}" ]; then
      keep=1
      echo "## tier $tier"
    else
      keep=0
      echo "## tier $tier: not selected"
    fi
    continue
  fi
  [ "$keep" = 1 ] || continue
  if [[ $line == "@connect "* ]]; then
    read -r _ path <<<"$line"
    dir=$(dirname -- "$path")
    if [ ! -d "$dir" ]; then
      echo "## skipped: $path (no directory $dir on this host)"
      continue
    fi
    real=$(readlink -f -- "$path")
    if [ "$real" != "$path" ]; then
      echo "## $path is $real"
    fi
    if [ -n "${seen[connect:$real]:-}" ]; then
      echo "## $real already covered"
      continue
    fi
    seen[connect:$real]=1
    echo "-a always,exit -F arch=b64 -S connect -F path=$real -k adock_sock"
    echo "-a always,exit -F arch=b32 -S connect -F path=$real -k adock_sock"
  elif [[ $line == "@watch "* ]]; then
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

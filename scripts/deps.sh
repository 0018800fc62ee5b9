#!/usr/bin/env bash
# Installs the Debian packages audisp-docker builds and runs with (shared by install.sh and
# test.sh). Pass extra package names to add them.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libauparse-dev libaudit-dev libyaml-cpp-dev
      libcurl4-openssl-dev libssl-dev libcap-ng-dev librdkafka-dev libexpected-dev python3 auditd "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

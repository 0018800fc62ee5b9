#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The generated man pages render without a warning: groff (what man(1) runs) with every
# warning on, at two widths through man itself, and mandoc's linter (warnings and above) when
# it is installed.
#   man_lint.sh MAN_DIR
set -eu
dir=$1
status=0
for page in audisp-docker.8 audisp-docker.yaml.5 audisp-docker-rules.5; do
  f=$dir/$page
  before=$status
  [ -s "$f" ] || { echo "FAIL: $f missing"; status=1; continue; }
  out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -wall -z "$f" 2>&1) || true
  [ -z "$out" ] || { echo "FAIL: groff -wall on $page:"; echo "$out"; status=1; }
  for width in 80 120; do
    out=$(LC_ALL=C.UTF-8 MANWIDTH=$width man --warnings=all -l "$f" 2>&1 >/dev/null) || true
    [ -z "$out" ] || { echo "FAIL: man -l (width $width) on $page:"; echo "$out"; status=1; }
  done
  if command -v mandoc >/dev/null; then
    out=$(mandoc -Tlint -Wwarning "$f" 2>&1) || true
    [ -z "$out" ] || { echo "FAIL: mandoc -Tlint on $page:"; echo "$out"; status=1; }
  fi
  [ "$status" != "$before" ] || echo "ok: $page"
done
exit $status

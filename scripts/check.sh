#!/usr/bin/env bash
# Verifies what is loaded against what should be (seed 000's test plan, made exact).
#   scripts/check.sh [--rules-file FILE] [--loaded FILE] [--rules-only] [--config FILE]
#
#   * every rule of the installed fragment is loaded in the kernel (MISSING otherwise);
#   * no loaded rule can never fire: a watch on a symlink (a watch follows the link's own inode,
#     so an exec of /usr/bin/runc -> /usr/sbin/runc is never seen) or on a path that is gone;
#   * the fragment still matches the host (a runtime installed since would be unwatched);
#   * auditd runs, the plugin conf is active and points at an executable, the plugin runs and
#     its config validates (skipped with --rules-only).
# --rules-file  expected rules (default /etc/audit/rules.d/45-audisp-docker.rules)
# --loaded      read the loaded rules from FILE instead of `auditctl -l` (for tests)
# Exit status: 0 all good, 1 problems found, 2 usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rules_file=/etc/audit/rules.d/45-audisp-docker.rules
loaded_file=""
rules_only=0
config=/etc/audisp-docker/audisp-docker.yaml
while [ $# -gt 0 ]; do
  case $1 in
    --rules-file) rules_file=$2; shift 2 ;;
    --loaded) loaded_file=$2; shift 2 ;;
    --rules-only) rules_only=1; shift ;;
    --config) config=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
problems=0
ok()   { echo "ok: $*"; }
bad()  { echo "$*"; problems=$((problems + 1)); }

# One canonical form for a rule as written and as `auditctl -l` prints it: -F key=K is -k K,
# -S lists are merged and sorted, an unset id (unset, 4294967295) is -1, whitespace collapsed.
canon() {
  awk '
    /^[[:space:]]*(#|$)/ { next }
    {
      out = ""; n = split($0, t, /[[:space:]]+/); sc = ""; key = ""
      for (i = 1; i <= n; i++) {
        if (t[i] == "") continue
        if (t[i] == "-S") { sc = sc (sc == "" ? "" : ",") t[++i]; continue }
        if (t[i] == "-k") { key = t[++i]; continue }
        if (t[i] == "-F" && t[i+1] ~ /^key=/) { key = substr(t[++i], 5); continue }
        if (t[i] ~ /^(auid|uid|euid|suid|fsuid|loginuid)=(unset|4294967295)$/) { sub(/=.*/, "=-1", t[i]) }
        out = out (out == "" ? "" : " ") t[i]
      }
      if (sc != "") {
        m = split(sc, s, ","); for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (s[b] < s[a]) { x = s[a]; s[a] = s[b]; s[b] = x }
        sc = s[1]; for (a = 2; a <= m; a++) sc = sc "," s[a]
        out = out " -S " sc
      }
      if (key != "") out = out " -k " key
      print out
    }' "$@"
}

if [ ! -r "$rules_file" ]; then
  bad "MISSING: $rules_file (run scripts/install.sh)"
  expected=""
else
  expected=$(canon "$rules_file")
fi
if [ -n "$loaded_file" ]; then
  loaded=$(canon "$loaded_file")
elif command -v auditctl >/dev/null; then
  loaded=$(auditctl -l 2>/dev/null | grep -v '^No rules' | canon)
else
  bad "MISSING: auditctl (apt-get install auditd)"
  loaded=""
fi

if [ -n "$expected" ]; then
  missing=0
  while IFS= read -r rule; do
    if ! grep -qxF -- "$rule" <<<"$loaded"; then
      bad "MISSING: $rule (in $rules_file, not loaded: augenrules --load)"
      missing=$((missing + 1))
    fi
  done <<<"$expected"
  [ "$missing" = 0 ] && ok "all $(wc -l <<<"$expected") rules of $rules_file are loaded"
fi

# Rules that can never fire, among everything loaded (ours or not).
while IFS= read -r rule; do
  [ -n "$rule" ] || continue
  path=""
  if [[ $rule == "-w "* ]]; then
    path=$(awk '{print $2}' <<<"$rule")
  elif [[ $rule =~ -F\ (path|dir)=([^ ]+) ]]; then
    path=${BASH_REMATCH[2]}
  fi
  [ -n "$path" ] || continue
  path=${path%/}
  if [ -L "$path" ]; then
    bad "NEVER FIRES: $rule (${path} is a symlink to $(readlink -f "$path"); watch that instead)"
  elif [ ! -e "$path" ] && [[ $rule == *"-S connect"* ]] && [ -d "$(dirname "$path")" ]; then
    # A runtime socket whose daemon is not running: the kernel attaches the rule to the file
    # when the daemon creates it.
    ok "$path is not there now: its connect rule fires once the daemon creates it"
  elif [ ! -e "$path" ]; then
    bad "NEVER FIRES: $rule ($path no longer exists)"
  fi
done <<<"$loaded"

# The fragment against a fresh rendering for this host.
template=""
for t in "$here/../rules.d/45-audisp-docker.rules.in" /etc/audisp-docker/45-audisp-docker.rules.in \
         /usr/share/audisp-docker/45-audisp-docker.rules.in; do  # source tree, package, install.sh
  [ -r "$t" ] && { template=$t; break; }
done
if [ -n "$template" ] && [ -r "$rules_file" ]; then
  fresh=$("$here/render-rules.sh" "$template" | canon)
  if [ "$fresh" = "$expected" ]; then
    ok "$rules_file matches this host"
  else
    while IFS= read -r rule; do
      grep -qxF -- "$rule" <<<"$expected" || bad "STALE: $rules_file lacks '$rule' (the host changed: run scripts/install.sh)"
    done <<<"$fresh"
    while IFS= read -r rule; do
      grep -qxF -- "$rule" <<<"$fresh" || bad "STALE: $rules_file has '$rule', which no longer fits this host"
    done <<<"$expected"
  fi
fi

if [ "$rules_only" = 0 ]; then
  pid=$(auditctl -s 2>/dev/null | awk '/^pid/{print $2}')
  if [ -n "$pid" ] && [ "$pid" != 0 ]; then ok "auditd runs (pid $pid)"; else bad "NOT RUNNING: auditd"; fi
  lost=$(auditctl -s 2>/dev/null | awk '/^lost/{print $2}')
  [ -z "$lost" ] || [ "$lost" = 0 ] || echo "note: the kernel lost $lost audit records since boot (auditctl -s; raise -b)"
  conf=/etc/audit/plugins.d/audisp-docker.conf
  if [ ! -r "$conf" ]; then
    bad "MISSING: $conf"
  else
    grep -Eq '^[[:space:]]*active[[:space:]]*=[[:space:]]*yes' "$conf" && ok "$conf is active" || bad "INACTIVE: $conf (active = no)"
    exe=$(awk -F= '/^[[:space:]]*path[[:space:]]*=/{gsub(/[[:space:]]/, "", $2); print $2}' "$conf")
    [ -x "$exe" ] && ok "plugin executable $exe" || bad "MISSING: plugin executable '$exe'"
  fi
  if [ -x /usr/sbin/audisp-docker ]; then
    if out=$(/usr/sbin/audisp-docker --config "$config" --check 2>&1); then ok "$out"; else bad "CONFIG: $out"; fi
  fi
  if p=$(pgrep -x audisp-docker | head -1) && [ -n "$p" ]; then
    ok "plugin runs (pid $p, parent $(ps -o comm= -p "$(ps -o ppid= -p "$p" | tr -d ' ')" 2>/dev/null))"
  else
    bad "NOT RUNNING: audisp-docker (auditd starts it; check syslog)"
  fi
fi

if [ "$problems" = 0 ]; then
  echo "check: all good"
  exit 0
fi
echo "check: $problems problem(s)"
exit 1

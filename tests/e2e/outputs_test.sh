#!/usr/bin/env bash
# Alert delivery with the real binary, real TLS and real processes (no auditd needed: the plugin
# reads a saved audit stream on stdin, as auditd would feed it):
#   1. --test-output over HTTPS with a CA made here and a client certificate (mutual TLS); the
#      same without the client certificate, or without the CA, is reported as not delivered;
#      an endpoint answering 401 is reported as refused.
#   2. the plugin is killed (-9) while its webhook is down and alerts are spooled; started again
#      with the endpoint up, it delivers them: every alert once, in the order they happened.
#   2b. the same a few seconds into an outage while the alerts are still being retried (many
#      retries, long backoff): the write-ahead spool has them all on disk before the first
#      attempt, so the restart delivers every one, once, in order.
#   3. on EOF with the endpoint down, the queue is spooled within the deadline, nothing dropped.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${AUDISP_DOCKER_BIN:-$root/build/plugin/audisp-docker}
[ -x "$bin" ] || { echo "outputs_test: build first ($bin missing)"; exit 1; }
command -v openssl >/dev/null && command -v python3 >/dev/null || { echo "outputs_test: needs openssl and python3"; exit 1; }

d=$(mktemp -d /tmp/adock-outputs.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$d"
}
trap cleanup EXIT

pass=0 fail=0
ok() { echo "ok   - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# receiver OUT [ARGS]: starts webhook_receiver.py, sets $port
receiver() {
  local out=$1; shift
  python3 "$root/tests/e2e/webhook_receiver.py" "$out" "$@" > "$out.port" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$out.port" ] && break; sleep 0.05; done
  port=$(cat "$out.port")
}

wait_lines() {  # wait_lines FILE N [SECONDS]
  local f=$1 n=$2 t=${3:-15} i
  for i in $(seq $((t * 10))); do
    [ -f "$f" ] && [ "$(wc -l < "$f")" -ge "$n" ] && return 0
    sleep 0.1
  done
  return 1
}

echo "== TLS material (a CA, a server certificate for 127.0.0.1, a client certificate)"
(
  cd "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=adock test CA" -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=audisp-docker" -keyout client.key -out client.csr 2>/dev/null
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem 2>/dev/null
)

receiver "$d/tls.jsonl" --tls "$d/server.pem" "$d/server.key" --client-ca "$d/ca.pem"
tls_port=$port
receiver "$d/refuse.jsonl" --status 401
refuse_port=$port
cat > "$d/test.yaml" <<EOF
rules_dir: $root/conf/rules
integrity: {enabled: false}
outputs:
  - {name: mtls, type: webhook, url: "https://127.0.0.1:$tls_port/hook", ca_file: $d/ca.pem,
     client_cert: $d/client.pem, client_key: $d/client.key}
  - {name: no-client-cert, type: webhook, url: "https://127.0.0.1:$tls_port/hook", ca_file: $d/ca.pem}
  - {name: unknown-ca, type: webhook, url: "https://127.0.0.1:$tls_port/hook"}
  - {name: refused, type: slack, url: "http://127.0.0.1:$refuse_port/services/T000/B000/secret-path"}
  - {name: otel, type: otlp, url: "https://127.0.0.1:$tls_port", ca_file: $d/ca.pem,
     client_cert: $d/client.pem, client_key: $d/client.key}
EOF

echo "== 1. --test-output"
if "$bin" --config "$d/test.yaml" --test-output mtls > "$d/t1.out" 2>&1; then rc=0; else rc=$?; fi
cat "$d/t1.out"
check "mutual TLS with the configured CA: delivered (exit 0)" [ "$rc" = 0 ]
check "the answer is reported" grep -q 'delivered, HTTP 200.*answer: {"status":"recorded"}' "$d/t1.out"
check "the receiver got the sample alert" grep -q '"rule":{"id":"audisp_docker_test"' "$d/tls.jsonl"
if "$bin" --config "$d/test.yaml" --test-output no-client-cert > "$d/t2.out" 2>&1; then rc=0; else rc=$?; fi
cat "$d/t2.out"
check "without the client certificate: not delivered (exit 1)" [ "$rc" = 1 ]
if "$bin" --config "$d/test.yaml" --test-output unknown-ca > "$d/t3.out" 2>&1; then rc=0; else rc=$?; fi
cat "$d/t3.out"
check "a server certificate from an unknown CA: not delivered (exit 1)" [ "$rc" = 1 ]
check "... and the reason names the certificate" grep -qi 'certificate' "$d/t3.out"
if "$bin" --config "$d/test.yaml" --test-output refused > "$d/t4.out" 2>&1; then rc=0; else rc=$?; fi
cat "$d/t4.out"
check "HTTP 401: reported as refused (exit 1)" bash -c "[ $rc = 1 ] && grep -q 'refused.*HTTP 401' '$d/t4.out'"
check "the webhook URL's secret path is never printed" bash -c "! grep -q secret-path '$d'/t*.out"
if "$bin" --config "$d/test.yaml" --test-output otel > "$d/t6.out" 2>&1; then rc=0; else rc=$?; fi
cat "$d/t6.out"
check "otlp over mutual TLS: delivered (exit 0)" [ "$rc" = 0 ]
check "... one OTLP log record with typed attributes" python3 - "$d/tls.jsonl" <<'PY'
import json, sys
req = json.loads(open(sys.argv[1]).read().splitlines()[-1])
rl = req["resourceLogs"][0]
res = {a["key"]: a["value"]["stringValue"] for a in rl["resource"]["attributes"]}
assert res["service.name"] == "audisp-docker" and res["host.name"], res
rec, = rl["scopeLogs"][0]["logRecords"]
assert rec["severityNumber"] == 9 and rec["severityText"] == "info", rec
assert int(rec["timeUnixNano"]) > 0 and isinstance(rec["observedTimeUnixNano"], str), rec
attrs = {a["key"]: a["value"] for a in rec["attributes"]}
assert attrs["rule.id"] == {"stringValue": "audisp_docker_test"}, attrs
assert set(attrs["process.pid"]) == {"intValue"} and int(attrs["process.pid"]["intValue"]) > 0, attrs
assert attrs["process.argv"]["arrayValue"]["values"][1] == {"stringValue": "--test-output"}, attrs
PY
if "$bin" --config "$d/test.yaml" --test-output nosuch > "$d/t5.out" 2>&1; then rc=0; else rc=$?; fi
check "an unknown output name: exit 1 with the names" bash -c "[ $rc = 1 ] && grep -q \"no output named 'nosuch' (outputs: mtls\" '$d/t5.out'"

echo "== 2. killed with alerts spooled, restarted: delivered once, in order"
cat "$root"/tests/data/{runc,fim,tamper,dpkg,sensitive}.log > "$d/stream.log"
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat > "$d/plugin.yaml" <<EOF
rules_dir: $root/conf/rules
processes: {use_proc: false}
integrity: {enabled: false}
state_file: $d/state.json
seccomp_learn_file: $d/seccomp.json
spool_dir: $d/spool
shutdown_timeout_ms: 1000
outputs:
  - {name: local, type: file, path: $d/alerts.jsonl}
  - {name: hook, type: webhook, url: "http://127.0.0.1:$dead/hook", retries: 1, backoff_initial_ms: 50,
     backoff_max_ms: 200, connect_timeout_ms: 200}
EOF
"$bin" --config "$d/plugin.yaml" --check
mkfifo "$d/in1"
"$bin" --config "$d/plugin.yaml" --log-stderr < "$d/in1" 2> "$d/run1.log" &
plugin=$!
pids+=($plugin)
exec 7> "$d/in1"
cat "$d/stream.log" >&7
n=0
# Settled: the file output's count is the spool's and did not move over the last look (the file
# can lag the spool under load: a count taken mid-stream made the checks below flaky).
for _ in $(seq 150); do
  prev=$n
  n=$(wc -l < "$d/alerts.jsonl" 2>/dev/null || echo 0)
  kill -USR1 "$plugin"
  sleep 0.1
  if [ "$n" -gt 0 ] && [ "$n" = "$prev" ] && [ -f "$d/state.json" ] &&
     python3 -c "import json,sys; o=[x for x in json.load(open('$d/state.json'))['outputs'] if x['name']=='hook'][0]; sys.exit(0 if o['spool_pending']==$n else 1)"; then
    break
  fi
done
python3 -c "import json; print([x for x in json.load(open('$d/state.json'))['outputs'] if x['name']=='hook'][0])"
check "$n alerts, all spooled while the webhook is down" python3 -c "import json,sys; o=[x for x in json.load(open('$d/state.json'))['outputs'] if x['name']=='hook'][0]; sys.exit(0 if $n>0 and o['spool_pending']==$n and o['dropped']==0 else 1)"
check "the spool is private (0700 directory, 0600 files)" bash -c "[ \$(stat -c %a '$d/spool/hook.webhook') = 700 ] && ! find '$d/spool/hook.webhook' -type f ! -perm 600 | grep -q ."
kill -9 "$plugin"
exec 7>&-
wait "$plugin" 2>/dev/null || true

receiver "$d/hook.jsonl" --port "$dead"
mkfifo "$d/in2"
"$bin" --config "$d/plugin.yaml" --log-stderr < "$d/in2" 2> "$d/run2.log" &
plugin=$!
pids+=($plugin)
exec 8> "$d/in2"
check "after the restart the endpoint receives all $n" wait_lines "$d/hook.jsonl" "$n" 20
sleep 1
check "... exactly $n, none twice" [ "$(wc -l < "$d/hook.jsonl")" = "$n" ]
python3 - "$d/alerts.jsonl" "$d/hook.jsonl" <<'PY' && ok "... in the order they happened" || bad "... in the order they happened"
import json, sys
want = [json.loads(l)["event"]["serial"] for l in open(sys.argv[1])]
got = [json.loads(l)["event"]["serial"] for l in open(sys.argv[2])]
print("file:", want, "\nhook:", got)
sys.exit(0 if want == got else 1)
PY
exec 8>&-
wait "$plugin" 2>/dev/null || true

echo "== 2b. killed -9 a few seconds into an outage, alerts still being retried: none lost"
rm -rf "$d/spool" "$d/alerts.jsonl" "$d/state.json"
dead3=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
sed -e "s/127.0.0.1:$dead/127.0.0.1:$dead3/" -e "s/retries: 1, backoff_initial_ms: 50,/retries: 100, backoff_initial_ms: 500,/" \
  -e "s/backoff_max_ms: 200,/backoff_max_ms: 1000,/" "$d/plugin.yaml" > "$d/plugin-retry.yaml"
grep -q "retries: 100," "$d/plugin-retry.yaml" || { bad "2b: config edit"; }
mkfifo "$d/in3"
"$bin" --config "$d/plugin-retry.yaml" --log-stderr < "$d/in3" 2> "$d/run2b.log" &
plugin=$!
pids+=($plugin)
exec 9> "$d/in3"
cat "$d/stream.log" >&9
n=0
for _ in $(seq 100); do  # every alert written by the file output (the engine has them all)
  m=$(wc -l < "$d/alerts.jsonl" 2>/dev/null || echo 0)
  [ "$m" -gt 0 ] && [ "$m" = "$n" ] && break
  n=$m
  sleep 0.2
done
sleep 3  # a few seconds into the outage: the webhook is retrying its first alert
kill -9 "$plugin"
exec 9>&-
wait "$plugin" 2>/dev/null || true
check "2b: $n alerts raised before the kill" [ "$n" -gt 0 ]
receiver "$d/hook2b.jsonl" --port "$dead3"
mkfifo "$d/in4"
"$bin" --config "$d/plugin-retry.yaml" --log-stderr < "$d/in4" 2> "$d/run2b-2.log" &
plugin=$!
pids+=($plugin)
exec 9> "$d/in4"
check "2b: after the restart the endpoint receives all $n" wait_lines "$d/hook2b.jsonl" "$n" 20
sleep 1
check "2b: ... exactly $n, none twice" [ "$(wc -l < "$d/hook2b.jsonl" 2>/dev/null || echo 0)" = "$n" ]
python3 - "$d/alerts.jsonl" "$d/hook2b.jsonl" <<'PY' && ok "2b: ... in the order they happened" || bad "2b: ... in the order they happened"
import json, sys
want = [json.loads(l)["event"]["serial"] for l in open(sys.argv[1])]
got = [json.loads(l)["event"]["serial"] for l in open(sys.argv[2])]
sys.exit(0 if want == got else 1)
PY
exec 9>&-
wait "$plugin" 2>/dev/null || true

echo "== 3. EOF with the endpoint down: drained within the deadline, the rest spooled"
rm -rf "$d/spool" "$d/alerts.jsonl"
dead2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
sed "s/127.0.0.1:$dead/127.0.0.1:$dead2/" "$d/plugin.yaml" > "$d/plugin2.yaml"
start=$(date +%s%N)
"$bin" --config "$d/plugin2.yaml" --log-stderr < "$d/stream.log" 2> "$d/run3.log"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
n=$(wc -l < "$d/alerts.jsonl")
echo "exit after ${ms} ms"
check "EOF: exit within the 1 s deadline plus start-up (${ms} ms)" [ "$ms" -lt 4000 ]
check "EOF: all $n alerts in the spool for the next start" grep -q "output 'hook': $n alert(s) left in the spool" "$d/run3.log"
grep -i 'drop' "$d/run3.log" || true
check "EOF: nothing dropped" bash -c "! grep -Eq 'alert dropped|queue full|spool full' '$d/run3.log'"

echo "== 4. every output example in the shipped config validates when uncommented"
mkdir -p "$d/secrets"
for f in slack.url teams.url discord.url otlp.auth kafka.password; do echo "https://hooks.example.net/x" > "$d/secrets/$f"; done
echo key > "$d/secrets/pagerduty.key"; echo key > "$d/secrets/opsgenie.key"
# The kafka example's CA is loaded when the producer is built: a real certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null \
  -subj /CN=example-ca -days 1 -out "$d/secrets/kafka-ca.pem" 2>/dev/null
sed -n '/^outputs:/,$p' "$root/conf/audisp-docker.yaml" |
  sed -E 's/^  # (- name)/  \1/; s/^  #   ([a-z])/    \1/' | grep -v '^  #' |
  sed "s|/etc/audisp-docker/|$d/secrets/|" > "$d/examples.yaml"
if "$bin" --config "$d/examples.yaml" --rules-dir "$root/conf/rules" --check > "$d/examples.out" 2>&1; then rc=0; else rc=$?; fi
cat "$d/examples.out"
check "the examples validate ($(grep -c '^  - name' "$d/examples.yaml") outputs)" bash -c "[ $rc = 0 ] && [ \$(grep -c '^  - name' '$d/examples.yaml') -ge 9 ]"

echo "outputs_test: $pass passed, $fail failed"
[ "$fail" = 0 ]

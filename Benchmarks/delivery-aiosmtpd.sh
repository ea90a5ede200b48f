#!/usr/bin/env bash
# Messages per second from `kuvert worker` into the Python test SMTP server
# (aiosmtpd, the one the tests use), with 1 and 8 SMTP sessions.
#
# Usage: Benchmarks/delivery-aiosmtpd.sh [N]   (default 2000 messages per run)
# KUVERT=path/to/kuvert picks the binary (default: release build, else debug).
# aiosmtpd is single-threaded Python: it, not Kuvert, is expected to be the
# bottleneck; Postfix's smtp-sink is the sink for speed comparisons.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-2000}
kuvert=${KUVERT:-$root/.build/release/kuvert}
[ -x "$kuvert" ] || kuvert=$root/.build/debug/kuvert
python=/usr/bin/python3
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

sleep 3600 | $python "$root/Tests/Support/smtp_test_server.py" "$work/sink" > "$work/sink.port" &
for _ in $(seq 50); do grep -q PORT "$work/sink.port" 2>/dev/null && break; sleep 0.1; done
smtp_port=$(awk '{print $2}' "$work/sink.port")

echo "binary: $kuvert"
echo "messages per run: $count"
for connections in 1 8; do
  export KUVERT_DATA_DIR=$work/data-$connections KUVERT_TEMPLATES=$root/Templates
  export KUVERT_SMTP_URL=smtp://127.0.0.1:$smtp_port KUVERT_SMTP_CONNECTIONS=$connections
  "$kuvert" lists add bench --name Bench --terms "$root/Deploy/terms.example.md" > /dev/null
  "$kuvert" serve --no-mailer --listen 127.0.0.1:18080 > "$work/serve.log" 2>&1 &
  serve=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18080/healthz > /dev/null && break; sleep 0.1; done
  $python "$root/Benchmarks/seed_intake.py" 127.0.0.1:18080 "$count" "c$connections-"
  kill $serve; wait $serve 2>/dev/null || true

  start=$(date +%s.%N)
  "$kuvert" worker > "$work/worker.log" 2>&1 &
  worker=$!
  until "$kuvert" queue | grep -q "sent $count,"; do sleep 0.05; done
  end=$(date +%s.%N)
  kill -TERM $worker; wait $worker 2>/dev/null || true
  awk -v n="$count" -v s="$start" -v e="$end" -v c="$connections" \
    'BEGIN { printf "%d connection(s): %d messages in %.2f s = %.0f msg/s\n", c, n, e - s, n / (e - s) }'
done

#!/usr/bin/env bash
# Intake throughput against GET /healthz on the same server: wrk, 64
# connections, 10 s each, alternating, 3 rounds. Target: POST /subscribe at
# least half of /healthz's requests per second, with p99 under 25 ms.
#
# Usage: Benchmarks/intake.sh [ROUNDS]   KUVERT=path/to/kuvert picks the binary.
# The mailer is off here (--no-mailer): this measures the intake alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
kuvert=${KUVERT:-$root/.build/release/kuvert}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
export KUVERT_DATA_DIR=$work KUVERT_TEMPLATES=$root/Templates
# One load generator is one client: lift the per-client limit for the run.
export KUVERT_RATE_LIMIT=100000000/1m
"$kuvert" lists add bench --name Bench --terms "$root/Deploy/terms.example.md" > /dev/null
"$kuvert" serve --no-mailer --listen 127.0.0.1:18081 > "$work/serve.log" 2>&1 &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18081/healthz > /dev/null && break; sleep 0.1; done
echo "binary: $kuvert"
for round in $(seq "$rounds"); do
  for target in healthz subscribe; do
    if [ "$target" = healthz ]; then
      out=$(wrk -t2 -c64 -d10s --latency http://127.0.0.1:18081/healthz)
    else
      out=$(wrk -t2 -c64 -d10s --latency -s "$root/Benchmarks/subscribe.lua" http://127.0.0.1:18081)
    fi
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    echo "round $round $target: $rps req/s, p50 $p50, p99 $p99, non-2xx ${errors:-0}"
  done
done

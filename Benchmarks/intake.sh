#!/usr/bin/env bash
# Intake throughput against GET /healthz on the same server: wrk, 64
# connections, 10 s each, alternating, ROUNDS rounds (default 3). The server
# runs as users run it, mailer included: the confirmation mails go into
# Postfix's smtp-sink meanwhile. Target: POST /subscribe at least half of
# /healthz's requests per second, with p99 under 25 ms.
#
# Every run starts with an empty outbox (the script waits for the mailer to
# send what the previous run queued), so /healthz is not measured against the
# backlog of the subscribe run before it.
#
# On PostgreSQL (BENCH_STORE=postgres) each round then runs pgbench, 64
# clients for 10 s, through the statements Kuvert sends for one request (the
# two rate-limit counts and kuvert_subscribe_many: Benchmarks/pg_ceiling.sh),
# with the mailer sending the confirmations meanwhile as in Kuvert's run:
# PostgreSQL's own ceiling for intake's store work. Target: 0.5× of it.
#
# Usage: Benchmarks/intake.sh [ROUNDS]   KUVERT=path/to/kuvert picks the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
kuvert=${KUVERT:-$root/.build/release/kuvert}
port=${BENCH_HTTP_PORT:-18081}
smtp_port=${BENCH_SMTP_PORT:-2627}
work=$(mktemp -d)
source "$root/Benchmarks/store.sh"
source "$root/Benchmarks/pg_ceiling.sh"
trap 'stop_jobs; store_stop; rm -rf "$work"' EXIT
# Something already listening would be measured instead of this run's servers.
for busy in $port $smtp_port; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$busy") 2>/dev/null; then echo "port $busy is in use: stop what listens there first" >&2; exit 1; fi
done
export KUVERT_DATA_DIR=$work/data KUVERT_TEMPLATES=$root/Templates KUVERT_SMTP_URL=smtp://127.0.0.1:$smtp_port
# One load generator is one client: lift the per-client limit for the run.
export KUVERT_RATE_LIMIT=100000000/1m

smtp-sink -u nobody 127.0.0.1:$smtp_port 1000 &
store_start
"$kuvert" migrate > /dev/null
"$kuvert" lists add bench --name Bench --terms "$root/Deploy/terms.example.md" > /dev/null
/usr/bin/time -v -o "$work/serve.time" "$kuvert" serve --listen 127.0.0.1:$port > "$work/serve.log" 2>&1 &
serve=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz > /dev/null && break; sleep 0.1; done
sleep 2
server_pid=$(pgrep -P $serve || echo $serve)
outbox() { outbox_counts; }
drain() {
  for _ in $(seq 1800); do
    read -r total sent <<< "$(outbox)"
    [ "$total" = "$sent" ] && return
    sleep 0.1
  done
  echo "the outbox did not drain within 180 s: $sent of $total sent"
}
echo "binary: $kuvert; store: $bench_store"
echo "serve idle RSS: $(awk '/VmRSS/ {print int($2 / 1024)}' /proc/$server_pid/status) MB"
for round in $(seq "$rounds"); do
  for target in healthz subscribe; do
    drain
    read -r rows_before _ <<< "$(outbox)"
    if [ "$target" = healthz ]; then
      out=$(wrk -t2 -c64 -d10s --latency http://127.0.0.1:$port/healthz)
    else
      out=$(wrk -t2 -c64 -d10s --latency -s "$root/Benchmarks/subscribe.lua" http://127.0.0.1:$port)
    fi
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    echo "round $round $target: $rps req/s, p50 $p50, p99 $p99, non-2xx ${errors:-0}"
    if [ "$target" = subscribe ]; then
      # Every accepted request named a new address, so each must have queued one
      # confirmation: fewer rows mean repeated addresses (a flattering figure).
      # Requests still in flight when wrk stops may add up to 64 more rows.
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      accepted=$((requests - ${errors:-0}))
      read -r rows_after _ <<< "$(outbox)"
      rows=$((rows_after - rows_before))
      echo "round $round subscribe: $rows new outbox rows for $accepted accepted requests"
      if [ "$rows" -lt "$accepted" ]; then echo "addresses repeated: the figure above is not valid" >&2; exit 1; fi
      if [ "$bench_store" = postgres ]; then
        drain
        ceiling=$(pg_intake_ceiling 64 10)
        echo "round $round pgbench: $ceiling subscriptions/s (64 clients, one request a transaction); kuvert/pgbench $(awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "%.2f", a / b }')"
      fi
    fi
  done
done
drain
echo "confirmation mails queued and sent into smtp-sink: $(outbox)"
kill -TERM $server_pid; wait $serve || true
echo "serve peak RSS: $(awk '/Maximum resident/ {print int($NF / 1024)}' "$work/serve.time") MB"

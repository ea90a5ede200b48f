#!/usr/bin/env bash
# One delivery run under perf, for finding where a message's CPU goes: a
# campaign to N active subscribers (default 30,000) sent by `kuvert worker` over
# C connections (default 4) into smtp-sink, with, after `campaign send`:
#   MODE=perf   perf record -F 999 -g of the worker for PERF_SECONDS (5) into /tmp/kuvert-delivery.perf
#   MODE=stat   perf stat (task-clock, context switches, page faults) into /tmp/kuvert-delivery.stat
#   MODE=none   nothing: the rate alone
# and prints the rate. KUVERT=path/to/kuvert picks the binary (release by
# default), BENCH_STORE=postgres the store, KUVERT_DKIM=on signing (RSA-2048;
# ED25519=on adds an Ed25519 key, so each message carries both signatures).
# Other settings pass through the environment (KUVERT_BOUNCE_DOMAIN for
# envelope senders of their own, KUVERT_WEBHOOK_URL and _SECRET).
# PERF_EVENT picks perf's event (page-faults, ...), PERF_CALLGRAPH=dwarf its stacks.
#
# Usage: Benchmarks/profile-delivery.sh [N] [C]   then: perf report -i /tmp/kuvert-delivery.perf
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-30000}
connections=${2:-4}
mode=${MODE:-perf}
kuvert=${KUVERT:-$root/.build/release/kuvert}
work=$(mktemp -d)
chmod 755 "$work"
port=${BENCH_SMTP_PORT:-2637}
source "$root/Benchmarks/store.sh"
trap 'stop_jobs; store_stop; rm -rf "$work"' EXIT
export KUVERT_DATA_DIR=$work/data KUVERT_TEMPLATES=$root/Templates KUVERT_SMTP_URL=smtp://127.0.0.1:$port
export KUVERT_FROM="Bench <bench@example.se>" KUVERT_DKIM=${KUVERT_DKIM:-off}
store_start
delivery_setup
[ "${ED25519:-off}" = off ] || "$kuvert" dkim generate example.se --algorithm ed25519 > /dev/null
smtp-sink -u nobody 127.0.0.1:$port 1000 &
sleep 0.3
id=$("$kuvert" campaign create --list bench --subject "Bench issue" --body "$work/body.md")
KUVERT_SMTP_CONNECTIONS=$connections "$kuvert" worker > "$work/worker.log" 2>&1 &
worker=$!
sleep 1
start=$(date +%s.%N)
"$kuvert" campaign send "$id" > /dev/null
profiler=""
case $mode in
  perf) perf record ${PERF_EVENT:+-e $PERF_EVENT} -F 999 --call-graph ${PERF_CALLGRAPH:-fp} -p $worker -o /tmp/kuvert-delivery.perf -- sleep "${PERF_SECONDS:-5}" 2> /dev/null &
        profiler=$! ;;
  stat) perf stat -p $worker -o /tmp/kuvert-delivery.stat -e ${PERF_STAT_EVENTS:-task-clock,context-switches,cpu-migrations,page-faults} \
          -- sleep "${PERF_SECONDS:-5}" &
        profiler=$! ;;
esac
until [ "$(outbox_counts "$id" | cut -d' ' -f2)" -ge "$count" ]; do sleep 0.1; done
end=$(date +%s.%N)
[ -z "$profiler" ] || wait $profiler || true
# The worker's CPU (user and system, in clock ticks) over the whole run, a message.
read -r user system <<< "$(awk '{print $14, $15}' /proc/$worker/stat)"
hz=$(getconf CLK_TCK)
awk -v s="$start" -v e="$end" -v n="$count" -v c="$connections" -v u="$user" -v k="$system" -v hz="$hz" \
  'BEGIN { printf "%d connections: %.0f msg/s, worker CPU %.0f us a message (user %.0f, system %.0f)\n", c, n / (e - s), (u + k) / hz * 1e6 / n, u / hz * 1e6 / n, k / hz * 1e6 / n }'
kill -TERM $worker
wait $worker || true

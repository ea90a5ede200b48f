#!/usr/bin/env bash
# Delivery throughput: a campaign to N active subscribers (default 50,000) sent
# into Postfix's smtp-sink over 1, 4 and 16 SMTP connections, timed from
# `kuvert campaign send` until every message is recorded sent. The reference is
# libcurl's own ceiling (curl_ceiling.c: the same messages through libcurl with
# no store and no rendering), since Kuvert sends through libcurl, which waits for
# each SMTP reply; target: at least 0.6x of it at 4 and 16 connections.
# Postfix's smtp-source, which pipelines, pushes as many messages of the same
# size over as many reused connections (`-d`) beside it. Each concurrency runs
# twice: unsigned (KUVERT_DKIM=off), then DKIM-signed with an RSA-2048 key of
# the From domain (kuvert dkim generate), the same campaign size each time.
#
# libcurl's ceiling runs right before and right after Kuvert's unsigned run,
# and Kuvert is judged against their mean: at one connection every sender is
# latency-bound, and the machine's load moves both. DKIM-signed delivery is
# judged against the lower of two ceilings: libcurl's, and the RSA-2048
# signatures per second the machine makes on all its cores (`openssl speed`,
# measured in the same run).
#
# On PostgreSQL (BENCH_STORE=postgres) each concurrency also runs pgbench with
# the same number of clients through the statements Kuvert sends for a lease
# of 32 and its records (Benchmarks/pg_ceiling.sh), on a campaign of the same
# size queued for it: PostgreSQL's own ceiling for delivery's store work.
#
# The newsletter is the smallest Kuvert makes (about 2.5 KB with its headers,
# text and HTML parts); BENCH_PARAGRAPHS=K adds K paragraphs of about 200
# characters to its Markdown (8 make about 5.7 KB). The size is measured from a
# copy the sink dumped.
#
# Usage: Benchmarks/delivery.sh [N] [CONNECTIONS...]   KUVERT=path/to/kuvert picks the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-50000}
shift || true
connections=${*:-1 4 16}
kuvert=${KUVERT:-$root/.build/release/kuvert}
work=$(mktemp -d)
chmod 755 "$work"
port=${BENCH_SMTP_PORT:-2627}
source "$root/Benchmarks/store.sh"
source "$root/Benchmarks/pg_ceiling.sh"
trap 'stop_jobs; store_stop; rm -rf "$work"' EXIT
# Something already listening would be measured instead of this run's servers.
for busy in $port; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$busy") 2>/dev/null; then echo "port $busy is in use: stop what listens there first" >&2; exit 1; fi
done
export KUVERT_DATA_DIR=$work/data KUVERT_TEMPLATES=$root/Templates KUVERT_SMTP_URL=smtp://127.0.0.1:$port
export KUVERT_FROM="Bench <bench@example.se>" KUVERT_DKIM=off

now() { date +%s.%N; }
sent_count() { outbox_counts "$1" | cut -d' ' -f2; }

store_start
delivery_setup
for _ in $(seq "${BENCH_PARAGRAPHS:-0}"); do
  printf '\nEvery member is welcome at the spring meeting in the community hall, where the board presents the year, the budget and the plans for the summer camp; coffee and buns are served from six.\n' >> "$work/body.md"
done

# The size of one message as it goes over the wire, for smtp-source's -l.
mkdir -m 777 "$work/dump"
smtp-sink -u nobody -D "$work/dump/message" 127.0.0.1:$port 100 &
sink=$!
sleep 0.3
probe=$("$kuvert" campaign create --list bench --subject "Bench issue" --body "$work/body.md")
"$kuvert" campaign test "$probe" --to probe@example.se > /dev/null
"$kuvert" worker > "$work/probe.log" 2>&1 &
probe_worker=$!
until [ -s "$work/dump/message" ]; do sleep 0.1; done
sleep 0.3
kill -TERM $probe_worker $sink; wait $probe_worker $sink 2>/dev/null || true
# The dump starts with the sink's own X- and Received: lines; the rest is the message, sent with CRLF.
size=$(awk 'kept {bytes += length($0) + 2; next} /^(X-|Received:|\t)/ {next} {kept = 1; bytes += length($0) + 2} END {print bytes}' "$work/dump/message")
# The signed runs must really sign: one copy with KUVERT_DKIM=on, checked.
rm -f "$work/dump/message"
smtp-sink -u nobody -D "$work/dump/message" 127.0.0.1:$port 100 &
sink=$!
sleep 0.3
"$kuvert" campaign test "$probe" --to probe@example.se > /dev/null
KUVERT_DKIM=on "$kuvert" worker > "$work/probe-signed.log" 2>&1 &
probe_worker=$!
until [ -s "$work/dump/message" ]; do sleep 0.1; done
sleep 0.3
kill -TERM $probe_worker $sink; wait $probe_worker $sink 2>/dev/null || true
grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.se' "$work/dump/message" \
  || { echo "the signed probe carries no DKIM signature" >&2; exit 1; }
echo "binary: $kuvert; store: $bench_store"
echo "message size: $size bytes; $count messages per run"

gcc -O2 -o "$work/curl_ceiling" "$root/Benchmarks/curl_ceiling.c" -lcurl -lpthread
rsa_ceiling=$(openssl speed -seconds 3 -multi "$(nproc)" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {printf "%.0f", $6}')
echo "RSA-2048 signatures per second on $(nproc) cores (openssl speed): $rsa_ceiling"

smtp-sink -u nobody 127.0.0.1:$port 1000 &
sleep 0.3
# One campaign sent by a worker with `KUVERT_DKIM=$2` over $1 connections;
# sets rate (msg/s) and rss (MB).
deliver() {
  local n=$1 signing=$2 id worker start end
  id=$("$kuvert" campaign create --list bench --subject "Bench issue" --body "$work/body.md")
  KUVERT_DKIM=$signing KUVERT_SMTP_CONNECTIONS=$n /usr/bin/time -v -o "$work/worker-$n-$signing.time" \
    "$kuvert" worker > "$work/worker-$n-$signing.log" 2>&1 &
  worker=$!
  sleep 1
  start=$(now)
  "$kuvert" campaign send "$id" > /dev/null
  until [ "$(sent_count "$id")" -ge "$count" ]; do sleep 0.1; done
  end=$(now)
  # TERM to kuvert itself, so /usr/bin/time lives to write its figures.
  pkill -TERM -P $worker; wait $worker || true
  rss=$(awk '/Maximum resident/ {print int($NF / 1024)}' "$work/worker-$n-$signing.time")
  rate=$(awk -v s="$start" -v e="$end" -v n="$count" 'BEGIN { printf "%.0f", n / (e - s) }')
}

for n in $connections; do
  before=$("$work/curl_ceiling" "smtp://127.0.0.1:$port" "$count" "$size" "$n")
  deliver "$n" off
  kuvert_rate=$rate unsigned_rss=$rss
  after=$("$work/curl_ceiling" "smtp://127.0.0.1:$port" "$count" "$size" "$n")
  deliver "$n" on
  signed_rate=$rate signed_rss=$rss

  start=$(now)
  smtp-source -d -s "$n" -m "$count" -l "$size" -f bench@example.se -t sink@example.se 127.0.0.1:$port
  end=$(now)
  source_rate=$(awk -v s="$start" -v e="$end" -v n="$count" 'BEGIN { printf "%.0f", n / (e - s) }')
  ratio=$(awk -v a="$kuvert_rate" -v b="$source_rate" 'BEGIN { printf "%.2f", a / b }')
  ceiling=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.0f", (a + b) / 2 }')
  ceiling_ratio=$(awk -v a="$ceiling" -v b="$source_rate" 'BEGIN { printf "%.2f", a / b }')
  kuvert_ceiling=$(awk -v a="$kuvert_rate" -v b="$ceiling" 'BEGIN { printf "%.2f", a / b }')
  signing_ceiling=$(( ceiling < rsa_ceiling ? ceiling : rsa_ceiling ))
  signed_ceiling=$(awk -v a="$signed_rate" -v b="$signing_ceiling" 'BEGIN { printf "%.2f", a / b }')
  echo "connections $n: kuvert $kuvert_rate msg/s unsigned, $signed_rate msg/s DKIM-signed (RSA-2048), smtp-source $source_rate msg/s, ratio $ratio, worker peak RSS ${unsigned_rss}/${signed_rss} MB; libcurl alone $before then $after msg/s (ratio $ceiling_ratio; kuvert/libcurl $kuvert_ceiling unsigned; signed against the lower of libcurl and RSA signing, $signing_ceiling: $signed_ceiling)"
  if [ "$bench_store" = postgres ]; then
    id=$("$kuvert" campaign create --list bench --subject "Bench issue" --body "$work/body.md")
    "$kuvert" campaign send "$id" > /dev/null
    pg_rate=$(pg_delivery_ceiling "$n" "$id" "$count")
    echo "connections $n: pgbench, lease of 32 and its records, $n clients: $pg_rate msg/s; kuvert/pgbench $(awk -v a="$kuvert_rate" -v b="$pg_rate" 'BEGIN { printf "%.2f", a / b }')"
  fi
done

#!/usr/bin/env bash
# The bounce reader's speed and memory over the real bounces of
# Tests/Fixtures/bounces/set-of-emails (629 messages from more than 80
# systems), read ROUNDS times in one process (default 20): `kuvert bounces
# read --summary`, which reads each file as `bounces ingest` and the LMTP
# listener do, without a store.
#
# Usage: Benchmarks/bounces.sh [ROUNDS]    KUVERT=path/to/kuvert picks the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-20}
kuvert=${KUVERT:-$root/.build/release/kuvert}
[ -x "$kuvert" ] || kuvert=$root/.build/debug/kuvert
fixtures=$root/Tests/Fixtures/bounces/set-of-emails
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=$(find "$fixtures" -name '*.eml' | wc -l)
bytes=$(cat "$fixtures"/*.eml | wc -c)
args=()
for _ in $(seq "$rounds"); do args+=("$fixtures"); done
echo "binary: $kuvert; $files messages ($bytes bytes) x $rounds rounds"
/usr/bin/time -v "$kuvert" bounces read --summary "${args[@]}" > "$work/out.txt" 2> "$work/time.txt"
sed 's/^/  /' "$work/out.txt"
elapsed=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
awk -v t="$elapsed" -v n="$((files * rounds))" -v b="$((bytes * rounds))" -v r="$rss" 'BEGIN {
  split(t, p, ":"); s = (length(p) == 3) ? p[1] * 3600 + p[2] * 60 + p[3] : p[1] * 60 + p[2];
  printf "  %d messages in %.2f s: %.0f messages/s, %.1f MB/s; peak RSS %.0f MB\n", n, s, n / s, b / s / 1e6, r / 1024 }'

#!/usr/bin/env bash
# The bounce reader's speed and memory over the real bounces of
# Tests/Fixtures/bounces/{set-of-emails,flufl-bounce,bounceparser} (860
# messages from more than 80 systems), read ROUNDS times in one process
# (default 20): `kuvert bounces read --summary`, which reads each file as
# `bounces ingest` and the LMTP listener do, without a store.
#
# With --hostile: once over eight mutations of each (Benchmarks/mutate_bounces.py:
# cut, bytes changed, boundaries gone, 2,000 repeated fields, a 1 MB line,
# 300 nested multiparts, NUL and 8-bit bytes, 50 times the body), under a
# time limit: it must end, exit 0 and stay small.
#
# Usage: Benchmarks/bounces.sh [--hostile] [ROUNDS]    KUVERT=path/to/kuvert picks the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hostile=
if [ "${1:-}" = --hostile ]; then hostile=1; shift; fi
rounds=${1:-20}
kuvert=${KUVERT:-$root/.build/release/kuvert}
[ -x "$kuvert" ] || kuvert=$root/.build/debug/kuvert
corpora=("$root"/Tests/Fixtures/bounces/{set-of-emails,flufl-bounce,bounceparser})
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$hostile" ]; then
  python3 "$root/Benchmarks/mutate_bounces.py" "$work/hostile" 35 "${corpora[@]}" > /dev/null
  corpora=("$work/hostile")
  rounds=1
fi
files=$(find "${corpora[@]}" -name '*.eml' | wc -l)
bytes=$(find "${corpora[@]}" -name '*.eml' -exec cat {} + | wc -c)
args=()
for _ in $(seq "$rounds"); do args+=("${corpora[@]}"); done
distinct=$(find "${corpora[@]}" -name '*.eml' -exec sha256sum {} + | cut -d' ' -f1 | sort -u | wc -l)
echo "binary: $kuvert; $files messages, $distinct distinct ($bytes bytes) x $rounds rounds"
/usr/bin/time -v timeout 600 "$kuvert" bounces read --summary "${args[@]}" > "$work/out.txt" 2> "$work/time.txt" \
  || { echo "the reader failed or did not end:"; tail -5 "$work/time.txt"; exit 1; }
sed 's/^/  /' "$work/out.txt"
elapsed=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
awk -v t="$elapsed" -v n="$((files * rounds))" -v b="$((bytes * rounds))" -v r="$rss" 'BEGIN {
  split(t, p, ":"); s = (length(p) == 3) ? p[1] * 3600 + p[2] * 60 + p[3] : p[1] * 60 + p[2];
  printf "  %d messages in %.2f s: %.0f messages/s, %.1f MB/s; peak RSS %.0f MB\n", n, s, n / s, b / s / 1e6, r / 1024 }'

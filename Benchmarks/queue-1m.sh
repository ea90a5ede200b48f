#!/usr/bin/env bash
# Wall time and peak memory of `kuvert campaign send` for a list of N active
# subscribers (default 1,000,000). Target: under 15 s and 300 MB.
#
# Usage: Benchmarks/queue-1m.sh [N]    KUVERT=path/to/kuvert picks the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-1000000}
kuvert=${KUVERT:-$root/.build/release/kuvert}
[ -x "$kuvert" ] || kuvert=$root/.build/debug/kuvert
work=$(mktemp -d)
source "$root/Benchmarks/store.sh"
trap 'store_stop; rm -rf "$work"' EXIT
export KUVERT_DATA_DIR=$work KUVERT_TEMPLATES=$root/Templates

store_start
bench_list
printf '# Bench\n\nHello.\n' > "$work/body.md"
id=$("$kuvert" campaign create --list bench --subject Bench --body "$work/body.md")
/usr/bin/time -v "$kuvert" campaign send "$id" 2> "$work/time.txt"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$work/time.txt" | sed 's/^\s*/  /'
echo "outbox rows: $(store_sql "SELECT count(*) FROM outboxMessage WHERE kind = 'newsletter'")"

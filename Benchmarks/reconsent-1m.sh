#!/usr/bin/env bash
# Wall time and peak memory of `kuvert lists terms --reconsent` for a list of N
# active subscribers (default 1,000,000): the new version, the change, and one
# request per subscriber queued in the outbox. Target: the campaign's, under
# 15 s and 300 MB.
#
# Usage: Benchmarks/reconsent-1m.sh [N]    KUVERT=path/to/kuvert picks the binary;
# BENCH_STORE=postgres runs it on a PostgreSQL cluster of its own.
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
{ cat "$root/Deploy/terms.example.md"; printf '\nWe now also count opens.\n'; } > "$work/terms-v2.md"
printf 'We **count opens** from now on.\n' > "$work/summary.md"
/usr/bin/time -v "$kuvert" lists terms bench --file "$work/terms-v2.md" --summary "$work/summary.md" --reconsent --deadline 30d \
    > "$work/out.txt" 2> "$work/time.txt"
sed 's/^/  /' "$work/out.txt"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$work/time.txt" | sed 's/^\s*/  /'
requests=$(store_sql "SELECT count(DISTINCT subscriptionId) FROM outboxMessage WHERE kind = 'reconsent'")
echo "re-consent requests queued: $requests"
[ "$requests" = "$count" ] || { echo "queued $requests requests for $count people" >&2; exit 1; }

# The deadline job on the same list: the reminder to everyone (nobody
# answered), then the lapse of everyone, each timed from `kuvert serve`'s
# start (it runs the job at once) to the step's mark in the store. No mailer:
# the mail itself is the delivery benchmark's business.
if [ "$bench_store" = postgres ]; then ago() { echo "now() - interval '$1'"; }
else ago() { echo "strftime('%Y-%m-%d %H:%M:%f', 'now', '-$1')"; }; fi
job() {  # $1: what is timed, $2: the SQL that reads 1 once it is done
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  start=$(date +%s.%N)
  "$kuvert" serve --no-mailer --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
  serve=$!
  until [ "$(store_sql "$2")" = 1 ]; do sleep 0.1; done
  awk -v s="$start" -v e="$(date +%s.%N)" -v w="$1" 'BEGIN { printf "%s in %.1f s (from the server'"'"'s start)\n", w, e - s }'
  kill "$serve"; wait "$serve" || true
}
store_sql "UPDATE outboxMessage SET status = 'sent' WHERE kind = 'reconsent'" > /dev/null
store_sql "UPDATE termsChange SET createdAt = $(ago '40 days')" > /dev/null
job "reminded $count" "SELECT count(*) FROM termsChange WHERE remindedAt IS NOT NULL"
echo "reminders queued: $(store_sql "SELECT count(*) FROM outboxMessage WHERE kind = 'reconsent-reminder'")"
store_sql "UPDATE termsChange SET deadline = $(ago '1 seconds')" > /dev/null
job "lapsed $count" "SELECT count(*) FROM termsChange WHERE closedAt IS NOT NULL"
echo "lapsed: $(store_sql "SELECT count(*) FROM subscription WHERE status = 'lapsed'"), ledger entries: $(store_sql "SELECT count(*) FROM consentEvent WHERE kind = 'lapsed'")"

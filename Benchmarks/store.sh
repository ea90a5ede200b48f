# Sourced by the benchmarks: the store they run on. BENCH_STORE=sqlite (the
# default: $KUVERT_DATA_DIR/kuvert.sqlite) or postgres (a cluster of the run's
# own, tuned as a user would run it: Tests/Support/postgres_cluster.sh durable).
# Needs $root and KUVERT_DATA_DIR set.
bench_store=${BENCH_STORE:-sqlite}
bench_pg=""

# Stops the script's background jobs and what they started (a kuvert under
# /usr/bin/time outlives a killed time), then waits for them: for EXIT traps.
stop_jobs() {
  local job
  for job in $(jobs -p); do
    pkill -TERM -P "$job" 2>/dev/null || true
    kill "$job" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}

# Starts the store's server, if it has one, and points KUVERT_DATABASE at it.
store_start() {
  if [ "$bench_store" = postgres ]; then
    bench_pg=$(mktemp -d /tmp/kuvert-bench-pg-XXXXXX)
    KUVERT_DATABASE=$("$root/Tests/Support/postgres_cluster.sh" start "$bench_pg" durable)
    export KUVERT_DATABASE
  fi
}

# Stops it and removes its files.
store_stop() {
  if [ -n "$bench_pg" ]; then "$root/Tests/Support/postgres_cluster.sh" stop "$bench_pg"; bench_pg=""; fi
}

# Runs SQL (the same text on both stores) and prints its rows, columns apart by spaces.
store_sql() {
  if [ "$bench_store" = postgres ]; then
    psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -h "$bench_pg/sock" -U kuvert -d kuvert -c "$1"
  else
    /usr/bin/python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1], isolation_level=None).execute(sys.argv[2]): print(*row)' \
      "$KUVERT_DATA_DIR/kuvert.sqlite" "$1"
  fi
}

# `total sent` of every outbox message, or of campaign $1's.
outbox_counts() {
  store_sql "SELECT count(*), count(*) FILTER (WHERE status = 'sent') FROM outboxMessage ${1:+WHERE campaignId = $1}"
}

# N active, confirmed subscriptions of list $1 (benchmark set-up only: real
# people only ever become active through their own confirmation).
seed_active() {
  if [ "$bench_store" = postgres ]; then
    store_sql "
      INSERT INTO subscriber (address, addressKey, createdAt)
        SELECT 'bench' || n || '@example.se', 'bench' || n || '@example.se', now() FROM generate_series(1, $2) n;
      INSERT INTO subscription (subscriberId, listId, status, language, confirmNonce, requestedAt, confirmedAt, updatedAt)
        SELECT s.id, l.id, 'active', 'sv', '0123456789abcdef0123456789abcdef', now(), now(), now()
        FROM subscriber s, mailingList l WHERE l.slug = '$1' AND s.addressKey LIKE 'bench%';
      ANALYZE;" > /dev/null
  else
    /usr/bin/python3 "$root/Benchmarks/seed_active.py" "$KUVERT_DATA_DIR/kuvert.sqlite" "$1" "$2"
  fi
}

# What a delivery run starts from: the schema, a DKIM key for the From domain,
# the list `bench` with $count active subscribers (bench1@ to bench$count@, each
# address once), and the campaign's Markdown in $work/body.md. Needs $kuvert,
# $count and $work.
delivery_setup() {
  "$kuvert" migrate > /dev/null
  "$kuvert" dkim generate example.se > /dev/null
  "$kuvert" lists add bench --name Bench --terms "$root/Deploy/terms.example.md" > /dev/null
  seed_active bench "$count"
  printf '# Bench issue\n\nHello, this is the benchmark issue with [a link](https://example.se/).\n\n- one\n- two\n' > "$work/body.md"
}

# The schema and the list `bench` with $count active subscriptions, timed,
# checked to be $count distinct people. Needs $kuvert and $count.
bench_list() {
  "$kuvert" migrate > /dev/null
  "$kuvert" lists add bench --name Bench --terms "$root/Deploy/terms.example.md" > /dev/null
  local start
  start=$(date +%s.%N)
  seed_active bench "$count"
  echo "binary: $kuvert; store: $bench_store"
  awk -v s="$start" -v e="$(date +%s.%N)" -v n="$count" 'BEGIN { printf "seeded %d active subscriptions in %.1f s\n", n, e - s }'
  local people
  people=$(store_sql "SELECT count(DISTINCT subscriberId) FROM subscription WHERE status = 'active'")
  [ "$people" = "$count" ] || { echo "seeded $people distinct active people, not $count" >&2; exit 1; }
}

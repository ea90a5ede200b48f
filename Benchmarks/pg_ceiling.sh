# Sourced by intake.sh and delivery.sh on PostgreSQL (after store.sh): the
# server's own ceiling for Kuvert's work, pgbench running the statements and
# functions Kuvert sends (Benchmarks/pgbench/*.sql) on the run's own cluster,
# with the same durability (the same server and settings; the functions set
# what they set for Kuvert too), prepared as Kuvert prepares them.
pgbench_bin=/usr/lib/postgresql/15/bin/pgbench

# pgbench's options for the run's cluster, $1 clients.
pgbench_args() {
  local threads=$(( $1 < $(nproc) ? $1 : $(nproc) ))
  echo "-n -M prepared -h $bench_pg/sock -U kuvert -c $1 -j $threads"
}

# Subscriptions per second (one request per transaction: the two counts and
# kuvert_subscribe_many) over $1 clients for $2 seconds; checks that every
# transaction named a new address. Needs the list `bench`.
pg_intake_ceiling() {
  local clients=$1 seconds=$2 before after out tps
  before=$(store_sql "SELECT count(*) FROM subscriber WHERE addressKey LIKE 'pgbench-%'")
  # shellcheck disable=SC2046
  out=$("$pgbench_bin" $(pgbench_args "$clients") -T "$seconds" -D run="$(date +%s%N)" -D seq=0 -f "$root/Benchmarks/pgbench/intake.sql" kuvert 2>&1) \
    || { echo "pgbench failed: $out" >&2; exit 1; }
  after=$(store_sql "SELECT count(*) FROM subscriber WHERE addressKey LIKE 'pgbench-%'")
  local transactions
  transactions=$(echo "$out" | awk '/number of transactions actually processed/ {print $NF}')
  [ $((after - before)) -eq "$transactions" ] \
    || { echo "pgbench intake: $transactions transactions made $((after - before)) new people" >&2; exit 1; }
  tps=$(echo "$out" | awk '/^tps = / {printf "%.0f", $3}')
  echo "$tps"
}

# Messages per second through the lease of 32, the campaign's row and each
# message's record (one mailer round), over $1 clients, until the campaign $2
# of $3 queued messages is recorded sent; checks that it was, each once.
pg_delivery_ceiling() {
  local clients=$1 campaign=$2 count=$3 rounds start end sent script out
  rounds=$(( (count + 32 * clients - 1) / (32 * clients) + 1 ))
  script=$(mktemp)
  cat "$root/Benchmarks/pgbench/delivery.sql" > "$script"
  for position in $(seq 32); do sed "s/POSITION/$position/g" "$root/Benchmarks/pgbench/record.sql" >> "$script"; done
  start=$(date +%s.%N)
  # shellcheck disable=SC2046
  out=$("$pgbench_bin" $(pgbench_args "$clients") -t "$rounds" -D campaign="$campaign" -f "$script" kuvert 2>&1) \
    || { echo "pgbench failed: $out" >&2; exit 1; }
  end=$(date +%s.%N)
  rm -f "$script"
  sent=$(store_sql "SELECT count(*) FILTER (WHERE status = 'sent' AND attempts = 1) FROM outboxMessage WHERE campaignId = $campaign")
  [ "$sent" -eq "$count" ] || { echo "pgbench delivery: $sent of $count messages recorded sent once" >&2; exit 1; }
  awk -v s="$start" -v e="$end" -v n="$count" 'BEGIN { printf "%.0f", n / (e - s) }'
}

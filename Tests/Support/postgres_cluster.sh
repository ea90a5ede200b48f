#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: its own data directory, a Unix
# socket in a directory of its own (no TCP port, nothing to clash with), no
# fsync. Never the system's instance. With `durable` (the benchmarks), it is
# tuned as a user would run it: fsync and synchronous_commit on, 2 GB of
# shared_buffers, WAL sized for bulk loads.
#
#   postgres_cluster.sh start DIR [durable]   prints the KUVERT_DATABASE URL of database kuvert
#   postgres_cluster.sh stop DIR              stops the server and removes DIR
#   postgres_cluster.sh crash DIR             kills the postmaster with SIGKILL (its backends follow)
#   postgres_cluster.sh restart DIR           starts a crashed or stopped server again (crash recovery)
#
# initdb refuses to run as root, so as root the cluster belongs to the postgres
# user; connections are trusted on the socket only.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
command=$1
dir=$2
settings="-c fsync=off -c full_page_writes=off"
if [ "${3:-}" = durable ]; then
  settings="-c fsync=on -c synchronous_commit=on -c shared_buffers=2GB -c wal_buffers=16MB -c max_wal_size=4GB -c checkpoint_timeout=15min"
fi
case "$command" in
start)
  mkdir -p "$dir/sock"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
  chmod 700 "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U kuvert --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 > "$dir/initdb.log"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir/sock -c listen_addresses='' $settings -c max_connections=200" start \
    < /dev/null > /dev/null 2>&1 || { cat "$dir/server.log" >&2; exit 1; }  # the server holds none of our pipes
  as_owner "$bin/createdb" -h "$dir/sock" -U kuvert kuvert
  echo "postgres://kuvert@localhost/kuvert?host=$dir/sock"
  ;;
crash)
  pid=$(head -1 "$dir/data/postmaster.pid")
  kill -9 "$pid"
  # Gone when its socket's lock file is: backends exit once they see the postmaster die.
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ;;
restart)
  rm -f "$dir/data/postmaster.pid"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir/sock -c listen_addresses='' $settings -c max_connections=200" start \
    < /dev/null > /dev/null 2>&1 || { cat "$dir/server.log" >&2; exit 1; }
  ;;
stop)
  if [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop|crash|restart DIR" >&2
  exit 2
  ;;
esac

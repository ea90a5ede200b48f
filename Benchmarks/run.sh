#!/usr/bin/env bash
# `make bench`: every benchmark in one run, on a release build, on SQLite and
# then on PostgreSQL (a local cluster of the run's own, tuned as a user would
# run it: see Benchmarks/store.sh). Prints the figures Benchmarks/RESULTS.md
# records. Needs wrk and Postfix's smtp-sink and smtp-source (the Makefile
# installs them; Postfix's daemon is never started). BENCH_STORES=sqlite (or
# postgres) runs one store only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2 / 1048576)}' /proc/meminfo) GiB, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
for store in ${BENCH_STORES:-sqlite postgres}; do
  export BENCH_STORE=$store
  echo "== $store: intake (wrk, 64 connections, 10 s a run, 3 rounds)"
  "$root/Benchmarks/intake.sh" 3
  echo "== $store: delivery of the smallest newsletter (20,000 messages a run into smtp-sink)"
  BENCH_PARAGRAPHS=0 "$root/Benchmarks/delivery.sh" 20000 1 4 16
  echo "== $store: delivery of a longer newsletter (20,000 messages a run into smtp-sink)"
  BENCH_PARAGRAPHS=8 "$root/Benchmarks/delivery.sh" 20000 1 4 16
  echo "== $store: queueing (1,000,000 active subscribers)"
  "$root/Benchmarks/queue-1m.sh" 1000000
done

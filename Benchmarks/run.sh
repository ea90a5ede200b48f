#!/usr/bin/env bash
# `make bench`: every benchmark in one run, on a release build. Prints the
# figures Benchmarks/RESULTS.md records. Needs wrk and Postfix's smtp-sink and
# smtp-source (the Makefile installs them; Postfix's daemon is never started).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2 / 1048576)}' /proc/meminfo) GiB, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== intake (wrk, 64 connections, 10 s a run, 3 rounds)"
"$root/Benchmarks/intake.sh" 3
echo "== delivery (50,000 messages into smtp-sink, against smtp-source)"
"$root/Benchmarks/delivery.sh" 50000 1 4 16
echo "== queueing (1,000,000 active subscribers)"
"$root/Benchmarks/queue-1m.sh" 1000000

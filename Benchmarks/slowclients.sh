#!/usr/bin/env bash
# Slow clients against Kuvert, directly and behind the shipped nginx config:
# slowhttptest (Debian's) attacks from 127.0.0.1 in three modes (slowloris:
# headers trickled; slow body; slow read), while a probe on another address
# (127.0.0.2, another client) asks GET /healthz four times a second. Reported per
# run: probes, how many got no 200 within 5 s, the slowest answer, and the
# longest stretch without an answer ("outage").
#
# "before" runs Kuvert as it was before the connection guard, emulated with
# settings: no per-client cap, no header deadline, systemd's default of 1,024
# descriptors. "after" is the defaults.
#
# Usage: Benchmarks/slowclients.sh [SECONDS]   KUVERT=path/to/kuvert picks the binary
# (default: the release build, else the debug one). Needs slowhttptest, nginx, curl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-40}
kuvert=${KUVERT:-$root/.build/release/kuvert}
[ -x "$kuvert" ] || kuvert=$root/.build/debug/kuvert
port=${BENCH_HTTP_PORT:-18091}
tls_port=${BENCH_TLS_PORT:-18443}
plain_port=${BENCH_PLAIN_PORT:-18090}
work=$(mktemp -d)
cleanup() {
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2> /dev/null
  for job in $(jobs -p); do kill "$job" 2> /dev/null; done
  wait 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
for busy in $port $tls_port $plain_port; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$busy") 2>/dev/null; then echo "port $busy is in use: stop what listens there first" >&2; exit 1; fi
done
ulimit -n "$(ulimit -Hn)"  # for slowhttptest's thousands of sockets; Kuvert's own limit is set per run
# A copy: a build meanwhile does not change what is measured.
cp "$kuvert" "$work/kuvert" && kuvert=$work/kuvert
export KUVERT_DATA_DIR=$work/data KUVERT_TEMPLATES=$root/Templates KUVERT_TRUSTED_PROXIES=127.0.0.1
"$kuvert" migrate > /dev/null

# The shipped config, listening on private ports with a throwaway certificate.
mkdir -p "$work/nginx/logs"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=news.example.se \
  -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" 2> /dev/null
sed -e "s|listen 80;|listen 127.0.0.1:$plain_port;|; /listen \[::\]/d" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:$tls_port ssl http2;|" \
    -e "s|/etc/letsencrypt/live/news.example.se/fullchain.pem|$work/nginx/cert.pem|" \
    -e "s|/etc/letsencrypt/live/news.example.se/privkey.pem|$work/nginx/key.pem|" \
    -e "s|127.0.0.1:8080|127.0.0.1:$port|g" "$root/Deploy/nginx/kuvert.conf" > "$work/nginx/kuvert.conf"
cat > "$work/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log crit;
events { worker_connections 16384; }
worker_rlimit_nofile 16384;
http {
  access_log off;
  include $work/nginx/kuvert.conf;
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -t 2> /dev/null
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"

# probe URL SECONDS: one line "probes failed slowest_ms outage_s".
probe() {
  local url=$1 until=$(( $(date +%s) + $2 )) probes=0 failed=0 slowest=0 last_ok now outage=0
  last_ok=$(date +%s.%N)
  while [ "$(date +%s)" -lt "$until" ]; do
    probes=$((probes + 1))
    result=$(curl -sk -o /dev/null -w '%{http_code} %{time_total}' --interface 127.0.0.2 -m 5 "$url" || true)
    now=$(date +%s.%N)
    if [ "${result%% *}" = 200 ]; then
      ms=$(awk -v t="${result#* }" 'BEGIN { printf "%d", t * 1000 }')
      [ "$ms" -gt "$slowest" ] && slowest=$ms
      last_ok=$now
    else
      failed=$((failed + 1))
    fi
    outage=$(awk -v a="$now" -v b="$last_ok" -v o="$outage" 'BEGIN { d = a - b; printf "%.1f", (d > o ? d : o) }')
    sleep 0.25
  done
  echo "$probes $failed $slowest $outage"
}

run() { # name kuvert-url attack-url mode-flags...
  local name=$1 url=$2 target=$3; shift 3
  slowhttptest -c 3000 -r 300 -l "$seconds" -u "$target" "$@" > "$work/attack.log" 2>&1 &
  local attack=$!
  sleep 1
  read -r probes failed slowest outage <<< "$(probe "$url" "$((seconds - 2))")"
  kill $attack 2>/dev/null || true; wait $attack 2>/dev/null || true
  printf "%-34s probes %4d  failed %4d  slowest %5d ms  outage %5.1f s\n" "$name" "$probes" "$failed" "$slowest" "$outage"
}

# label:path:flags. Slow bodies go to the form's route; slow readers ask for the
# largest answer there is (the API document).
modes=(
  "slowloris:/:-H -i 5 -x 20"
  "slow body:/subscribe:-B -i 5 -s 8192 -x 20"
  "slow read:/api/v1/openapi.json:-X -k 3 -n 5 -w 10 -y 20 -z 32"
)

for variant in ${VARIANTS:-before after}; do
  (
    if [ $variant = before ]; then
      ulimit -n 1024
      export KUVERT_MAX_CONNECTIONS_PER_CLIENT=100000 KUVERT_HEADER_TIMEOUT=1h KUVERT_MAX_CONNECTIONS=1000000
    fi
    exec "$kuvert" serve --no-mailer --listen 127.0.0.1:$port
  ) > "$work/serve-$variant.log" 2>&1 &
  serve=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz > /dev/null && break; sleep 0.1; done
  curl -sf http://127.0.0.1:$port/healthz > /dev/null || { echo "kuvert serve did not start:"; cat "$work/serve-$variant.log"; exit 1; }
  for mode in "${modes[@]}"; do
    IFS=: read -r label path flags <<< "$mode"
    # shellcheck disable=SC2086
    run "$variant, direct, $label" "http://127.0.0.1:$port/healthz" "http://127.0.0.1:$port$path" $flags
    # shellcheck disable=SC2086
    run "$variant, nginx, $label" "https://127.0.0.1:$tls_port/healthz" "https://127.0.0.1:$tls_port$path" $flags
  done
  kill $serve 2> /dev/null || echo "kuvert serve had stopped by itself: $(tail -3 "$work/serve-$variant.log")"
  wait $serve 2> /dev/null || true
done

#!/usr/bin/env bash
# A real OpenSMTPD (Debian's opensmtpd, unpacked by unpacked_mta.sh) as the
# relay Kuvert sends through: it takes mail on 127.0.0.1:PORT, relays it to
# the tests' SMTP server on SINK_PORT (which refuses some recipients), and
# when that refuses one, sends its own "Delivery status notification" to the
# envelope sender; mail for BOUNCE_DOMAIN is relayed over LMTP to
# 127.0.0.1:LMTP_PORT, Kuvert's listener.
# OpenSMTPD's spool (/var/spool/smtpd), control socket (/run) and chroot
# (/var/lib/opensmtpd/empty) are compiled in: it runs in a mount namespace of
# its own (unshare) where those three directories are DIR's, so the system's
# are never touched.
#
# Usage: opensmtpd_relay.sh start DIR PORT SINK_PORT LMTP_PORT [BOUNCE_DOMAIN]
#        opensmtpd_relay.sh stop DIR
set -euo pipefail
source "$(dirname "$0")/unpacked_mta.sh"
command=$1 dir=$2
if [ "$command" = stop ]; then
  pid=$(cat "$dir/smtpd.pid" 2>/dev/null) || exit 0
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  exit 0
fi
port=$3 sink=$4 lmtp=$5 bounces=${6:-bounces.kuvert.test}
mta_ensure
mta_user opensmtpd
mta_user opensmtpq
mkdir -p "$dir/spool" "$dir/run" "$dir/lib/opensmtpd/empty"
cat > "$dir/smtpd.conf" <<CONF
listen on 127.0.0.1 port $port
action "kuvert" relay host lmtp://127.0.0.1:$lmtp
action "onwards" relay host smtp://127.0.0.1:$sink
match from any for domain "$bounces" action "kuvert"
match from any for any action "onwards"
match from local for any action "onwards"
CONF
setsid unshare --mount --propagation private sh -c "
  mount --bind '$dir/spool' /var/spool && mount --bind '$dir/run' /run && mount --bind '$dir/lib' /var/lib &&
  exec '$mta_root/usr/sbin/smtpd' -d -f '$dir/smtpd.conf'" >"$dir/smtpd.log" 2>&1 </dev/null &
echo $! > "$dir/smtpd.pid"
mta_wait_port "$port" || { cat "$dir/smtpd.log" >&2; exit 1; }

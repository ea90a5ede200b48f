#!/usr/bin/env bash
# A real Exim (Debian's exim4-daemon-light, unpacked by unpacked_mta.sh) as the
# relay Kuvert sends through: it takes mail on 127.0.0.1:PORT, passes it on to
# the tests' SMTP server on SINK_PORT (which refuses some recipients as a
# remote MX would), and when that refuses one, writes its own bounce, as Exim
# does, to the message's envelope sender at BOUNCE_DOMAIN. Mail for
# BOUNCE_DOMAIN goes into the Maildir DIR/bounces (with Envelope-to added), for
# `kuvert bounces ingest` to read as a Maildir loop does.
# Its own config, spool and log directories under DIR; run with -C, so Exim
# drops root for the Debian-exim user throughout; the system's Exim (if any)
# and Postfix are never touched.
#
# Usage: exim_relay.sh start DIR PORT SINK_PORT [BOUNCE_DOMAIN]
#        exim_relay.sh stop DIR
set -euo pipefail
source "$(dirname "$0")/unpacked_mta.sh"
command=$1 dir=$2
if [ "$command" = stop ]; then
  pid=$(cat "$dir/exim.pid" 2>/dev/null) || exit 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  exit 0
fi
port=$3 sink=$4 bounces=${5:-bounces.kuvert.test}
mta_ensure
mta_user Debian-exim
exim="$mta_root/usr/sbin/exim4"
mkdir -p "$dir/spool" "$dir/log" "$dir/bounces"
chown -R Debian-exim:Debian-exim "$dir/spool" "$dir/log" "$dir/bounces"
cat > "$dir/exim.conf" <<CONF
exim_path = $exim
exim_user = Debian-exim
exim_group = Debian-exim
keep_environment =
never_users =
primary_hostname = mx.kuvert.test
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
pid_file_path = $dir/exim.pid
daemon_smtp_ports = $port
local_interfaces = 127.0.0.1
tls_advertise_hosts =
acl_smtp_rcpt = accept_all

begin acl
accept_all:
  accept

begin routers
bounce_domain:
  driver = manualroute
  domains = $bounces
  route_list = * localhost
  transport = bounce_maildir
  self = send
onwards:
  driver = manualroute
  route_list = * 127.0.0.1
  transport = to_sink
  self = send

begin transports
bounce_maildir:
  driver = appendfile
  directory = $dir/bounces
  maildir_format
  envelope_to_add
  return_path_add
  user = Debian-exim
to_sink:
  driver = smtp
  port = $sink
  allow_localhost
  hosts_avoid_tls = *

begin retry
* * F,1m,1m
CONF
"$exim" -C "$dir/exim.conf" -bd -q2s 2>>"$dir/log/start.log"
mta_wait_port "$port" || { cat "$dir/log/"* >&2; exit 1; }

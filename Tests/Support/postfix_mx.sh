#!/usr/bin/env bash
# A real Postfix as an operator runs it for Kuvert's bounces: it takes mail for
# kuvert.test (a local domain that accepts any recipient and bounces the ones
# with no mailbox later, as a remote MX behind a relay would) and hands mail for
# the bounce domain to Kuvert over LMTP (the transport map of Deploy/postfix).
# Mail for expired.kuvert.test goes to a port where nothing listens and, with
# no queue lifetime, comes back at once as "failed" with a 4.4.1 status.
# Its own config, queue and data directories under DIR; listens on
# 127.0.0.1:PORT only; the system's Postfix is never touched.
#
# Usage: postfix_mx.sh start DIR PORT LMTP_PORT [BOUNCE_DOMAIN]
#        postfix_mx.sh stop DIR
# Lines in $POSTFIX_MX_SETTINGS are added to main.cf (regenerating the
# fixtures asks for a delay notice that way). Logs to DIR/maillog.
set -euo pipefail
command=$1 dir=$2
source "$(dirname "$0")/postfix_instance.sh"
if [ "$command" = stop ]; then postfix_stop "$dir"; exit 0; fi
port=$3 lmtp=$4 bounces=${5:-bounces.kuvert.test}
mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
postfix_main_cf "$dir" <<CONF
myhostname = mx.kuvert.test
mydomain = kuvert.test
myorigin = kuvert.test
mydestination = kuvert.test
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
alias_maps =
alias_database =
# Accept every local recipient; local(8) bounces those without a mailbox.
local_recipient_maps =
relay_domains = $bounces
transport_maps = inline:{ $bounces=lmtp:inet:127.0.0.1:$lmtp, expired.kuvert.test=smtp:[127.0.0.1]:9 }
# Give up on the first transient failure: an expiry now, not in five days.
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
smtp_tls_security_level = none
lmtp_tls_security_level = none
smtpd_tls_security_level = none
${POSTFIX_MX_SETTINGS:-}
CONF
postfix_master_cf "$dir" "$port" <<CONF
local     unix - n n - - local
lmtp      unix - - n - - lmtp
CONF
postfix_start "$dir" "$port"

#!/usr/bin/env bash
# A real Postfix relay for Kuvert's tests, as operators run one in front of the
# internet: STARTTLS with a certificate from a throwaway CA, SASL AUTH (Cyrus,
# sasldb) only over TLS, relaying only for clients that logged in, to an
# upstream SMTP server on this machine. Its own config, queue and data
# directories under DIR; listens on 127.0.0.1:PORT only; the system's Postfix
# is never touched.
#
# Usage: postfix_relay.sh start DIR PORT UPSTREAM_PORT USER PASSWORD [plain]
#        postfix_relay.sh stop DIR
# With "plain" the relay offers no STARTTLS and takes AUTH in clear (the
# misconfigured relay a password must never be sent to).
# Writes DIR/ca.pem (the CA to trust) and logs to DIR/maillog.
set -euo pipefail
command=$1 dir=$2
source "$(dirname "$0")/postfix_instance.sh"
if [ "$command" = stop ]; then postfix_stop "$dir"; exit 0; fi
port=$3 upstream=$4 user=$5 password=$6 mode=${7:-tls}
mkdir -p "$dir/etc/sasl" "$dir/queue" "$dir/data"

# The throwaway CA and the relay's certificate, for 127.0.0.1 and localhost.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Kuvert test CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=relay.kuvert.test" \
  -keyout "$dir/etc/relay.key" -out "$dir/relay.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:relay.kuvert.test\n' > "$dir/san.ext"
openssl x509 -req -in "$dir/relay.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
  -extfile "$dir/san.ext" -out "$dir/etc/relay.pem" 2>/dev/null

# SASL: one user in a sasldb of the relay's own.
cat > "$dir/etc/sasl/smtpd.conf" <<CONF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $dir/etc/sasldb2
CONF
echo -n "$password" | saslpasswd2 -p -c -f "$dir/etc/sasldb2" -u kuvert.test "$user"
chown postfix "$dir/etc/sasldb2" "$dir/etc/relay.key"

if [ "$mode" = plain ]; then
  tls="smtpd_tls_security_level = none
smtpd_tls_auth_only = no"
else
  tls="smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_cert_file = $dir/etc/relay.pem
smtpd_tls_key_file = $dir/etc/relay.key"
fi
postfix_main_cf "$dir" <<CONF
myhostname = relay.kuvert.test
mydestination =
mynetworks =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
relayhost = [127.0.0.1]:$upstream
smtp_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_local_domain = kuvert.test
cyrus_sasl_config_path = $dir/etc/sasl
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
$tls
CONF
postfix_master_cf "$dir" "$port" < /dev/null
postfix_start "$dir" "$port"

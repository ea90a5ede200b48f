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
# master(8) runs directly: postfix(1) refuses a config directory that the
# system's main.cf does not list in alternate_config_directories.
master=/usr/lib/postfix/sbin/master
if [ "$command" = stop ]; then
  pid=$(cat "$dir/queue/pid/master.pid" 2>/dev/null | tr -d ' ') || true
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  exit 0
fi
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
cat > "$dir/etc/main.cf" <<CONF
compatibility_level = 3.6
meta_directory = /etc/postfix
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
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
# Only what a relay needs, none chrooted (the directories are the test's own).
cat > "$dir/etc/master.cf" <<CONF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
# The queue's layout, as postfix-files has it.
for queue in active bounce corrupt defer deferred flush hold incoming private saved trace; do
  mkdir -p "$dir/queue/$queue"; chown postfix "$dir/queue/$queue"; chmod 700 "$dir/queue/$queue"
done
mkdir -p "$dir/queue/pid" "$dir/queue/maildrop" "$dir/queue/public"
chown postfix:postdrop "$dir/queue/maildrop" "$dir/queue/public"
chmod 730 "$dir/queue/maildrop"; chmod 710 "$dir/queue/public"
chown postfix "$dir/data"
# master -w reports a failed start (a port taken meanwhile, say) only in the log.
"$master" -c "$dir/etc" -w || { echo "postfix master did not start:"; tail -n 5 "$dir/maillog" 2>/dev/null; exit 1; } >&2
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && exit 0
  sleep 0.1
done
echo "the relay did not start listening on 127.0.0.1:$port; see $dir/maillog" >&2
exit 1

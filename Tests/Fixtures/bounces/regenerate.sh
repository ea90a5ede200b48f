#!/usr/bin/env bash
# Regenerates the postfix-*.eml fixtures: real DSNs from Debian's Postfix
# (Tests/Support/postfix_mx.sh), taken by a small LMTP sink. Run as root from
# anywhere; needs postfix and python3. The other fixtures are written by hand
# after the RFCs' examples (see README.md here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
support=$here/../../Support
work=$(mktemp -d)
chmod 755 "$work" # Postfix's daemons run as postfix
trap 'bash "$support/postfix_mx.sh" stop "$work/mx" || true; bash "$support/postfix_mx.sh" stop "$work/late" || true; kill $sink 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/out"
python3 "$here/lmtp_sink.py" "$work/out" 24299 & sink=$!

send() { # PORT RECIPIENT ENVELOPE_SENDER
  python3 - "$@" <<'PY'
import smtplib, sys
from email.message import EmailMessage
port, rcpt, sender = int(sys.argv[1]), sys.argv[2], sys.argv[3]
m = EmailMessage()
m["From"] = "Kuvert <news@example.se>"; m["To"] = rcpt; m["Subject"] = "Please confirm your subscription"
m["Message-ID"] = "<fixture-%s@example.se>" % rcpt.split("@")[0]
m.set_content("Please confirm.")
with smtplib.SMTP("127.0.0.1", port) as s:
    s.send_message(m, from_addr=sender, to_addrs=[rcpt])
PY
}
wait_for() { for _ in $(seq 60); do [ -f "$work/out/received-$1.eml" ] && return 0; sleep 0.5; done; echo "no DSN $1" >&2; exit 1; }

bash "$support/postfix_mx.sh" start "$work/mx" 25299 24299
send 25299 nobody-here@kuvert.test m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test
wait_for 1
send 25299 someone@expired.kuvert.test m2-aaaaaaaaaaaaaaaa@bounces.kuvert.test
wait_for 2
POSTFIX_MX_SETTINGS=$'maximal_queue_lifetime = 1h\nbounce_queue_lifetime = 1h\ndelay_warning_time = 1s\nqueue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s' \
  bash "$support/postfix_mx.sh" start "$work/late" 25298 24299
send 25298 late@expired.kuvert.test m3-aaaaaaaaaaaaaaaa@bounces.kuvert.test
wait_for 3
cp "$work/out/received-1.eml" "$here/postfix-unknown-user.eml"
cp "$work/out/received-2.eml" "$here/postfix-expired.eml"
cp "$work/out/received-3.eml" "$here/postfix-delayed.eml"
echo "wrote postfix-unknown-user.eml, postfix-expired.eml, postfix-delayed.eml"

#!/usr/bin/env bash
# A real Dovecot IMAP server for Kuvert's tests: one user whose Maildir is
# DIR/home/USER/Maildir (owned by nobody, as Dovecot's mail user here), plain
# IMAP with a password on 127.0.0.1:PORT only, its own config, run and log
# directories under DIR; the system's Dovecot is never touched.
#
# Usage: dovecot_imap.sh start DIR PORT USER PASSWORD
#        dovecot_imap.sh stop DIR
# Tests put messages in DIR/home/USER/Maildir/new; logs go to DIR/dovecot.log.
set -euo pipefail
command=$1 dir=$2
if [ "$command" = stop ]; then
  pid=$(cat "$dir/run/master.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  exit 0
fi
[ -x /usr/sbin/dovecot ] || { echo "Dovecot is not installed (apt-get install dovecot-imapd; make test installs it)" >&2; exit 1; }
port=$3 user=$4 password=$5
mkdir -p "$dir/run" "$dir/state" "$dir/home/$user/Maildir/"{cur,new,tmp}
chmod 755 "$dir"
chown -R nobody:nogroup "$dir/home"
printf '%s:{PLAIN}%s\n' "$user" "$password" > "$dir/passwd"
chmod 644 "$dir/passwd"
cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dir/home/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
# Its daemon keeps no descriptor of the caller's: whoever reads this script's
# output would otherwise wait for the daemon to end.
/usr/sbin/dovecot -c "$dir/dovecot.conf" < /dev/null > "$dir/start.log" 2>&1 || { cat "$dir/start.log" >&2; exit 1; }
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && exit 0
  sleep 0.1
done
echo "dovecot did not start listening on 127.0.0.1:$port; see $dir/dovecot.log" >&2
tail -n 5 "$dir/dovecot.log" >&2 || true
exit 1

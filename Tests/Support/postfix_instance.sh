# Shared by the scripts that run a Postfix instance of the tests' own
# (postfix_relay.sh, postfix_mx.sh): its queue layout, its services, and how it
# starts and stops. Each instance has its own config, queue and data
# directories under DIR and listens on 127.0.0.1 only; the system's Postfix is
# never touched. Source this file; it defines functions only.

# master(8) runs directly: postfix(1) refuses a config directory that the
# system's main.cf does not list in alternate_config_directories.
postfix_master=/usr/lib/postfix/sbin/master
[ -x "$postfix_master" ] || { echo "Postfix is not installed (apt-get install postfix; make test installs it)" >&2; exit 1; }

# Stops the instance in DIR, if it runs.
postfix_stop() {
  local dir=$1 pid
  pid=$(cat "$dir/queue/pid/master.pid" 2>/dev/null | tr -d ' ') || true
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

# The head of main.cf every instance shares: its own queue, data and log under
# DIR; the rest of main.cf follows from stdin.
postfix_main_cf() {
  local dir=$1
  mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
  {
    cat <<CONF
compatibility_level = 3.6
meta_directory = /etc/postfix
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
CONF
    cat
  } > "$dir/etc/main.cf"
}

# The services every instance needs (none chrooted: the directories are the
# test's own), after an smtpd on 127.0.0.1:PORT; extra lines follow from stdin.
postfix_master_cf() {
  local dir=$1 port=$2
  {
    cat <<CONF
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
    cat
  } > "$dir/etc/master.cf"
}

# The queue's layout, as postfix-files has it, then master(8) started and
# 127.0.0.1:PORT answering.
postfix_start() {
  local dir=$1 port=$2
  for queue in active bounce corrupt defer deferred flush hold incoming private saved trace; do
    mkdir -p "$dir/queue/$queue"; chown postfix "$dir/queue/$queue"; chmod 700 "$dir/queue/$queue"
  done
  mkdir -p "$dir/queue/pid" "$dir/queue/maildrop" "$dir/queue/public"
  chown postfix:postdrop "$dir/queue/maildrop" "$dir/queue/public"
  chmod 730 "$dir/queue/maildrop"; chmod 710 "$dir/queue/public"
  chown postfix "$dir/data"
  # master -w reports a failed start (a port taken meanwhile, say) only in the log.
  "$postfix_master" -c "$dir/etc" -w || { echo "postfix master did not start:"; tail -n 5 "$dir/maillog" 2>/dev/null; return 1; } >&2
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "postfix did not start listening on 127.0.0.1:$port; see $dir/maillog" >&2
  return 1
}

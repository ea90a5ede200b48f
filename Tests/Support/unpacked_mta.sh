#!/usr/bin/env bash
# Debian's other MTAs for the tests, beside the system's Postfix: Exim
# (exim4-daemon-light) and OpenSMTPD. Each package, installed as Debian
# installs it, would replace Postfix as the machine's MTA (they all provide
# mail-transport-agent and conflict with each other), so the tests never
# install them: this fetches the packages with `apt-get download` and unpacks
# them with `dpkg-deb -x` under .build/mta/root, where nothing of the system
# sees them. Their shared libraries come from the Makefile's APT_PACKAGES; the
# system users each expects (Debian-exim; opensmtpd and opensmtpq) are made
# here, without homes or shells, as their packages' postinst would.
# exim_relay.sh and opensmtpd_relay.sh then run each from a config, spool and
# log directory of the test's own, on loopback ports of its own.
#
# Usage: unpacked_mta.sh ensure      (prints the root; fetches once)
# Source it for mta_root and mta_user.
set -euo pipefail
mta_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.build/mta/root"
mta_packages="exim4-daemon-light opensmtpd"

mta_ensure() {
  [ -x "$mta_root/usr/sbin/exim4" ] && [ -x "$mta_root/usr/sbin/smtpd" ] && return 0
  local debs="$mta_root/../debs"
  mkdir -p "$debs" "$mta_root"
  # apt-get download writes into the current directory; its sandbox user may not write ours.
  if ! (cd "$debs" && apt-get download -q $mta_packages >/dev/null 2>"$debs/download.log"); then
    apt-get update -qq && (cd "$debs" && apt-get download -q $mta_packages >/dev/null 2>"$debs/download.log") \
      || { cat "$debs/download.log" >&2; echo "could not fetch $mta_packages" >&2; return 1; }
  fi
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$mta_root"; done
}

# mta_user NAME: a system user with no home and no shell, made once.
mta_user() {
  id "$1" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$1"
}

# mta_wait_port PORT: returns once something listens on 127.0.0.1:PORT (10 s at most).
mta_wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = ensure ]; then
  mta_ensure
  echo "$mta_root"
fi

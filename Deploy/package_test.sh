#!/usr/bin/env bash
# Tests the Debian package as an operator meets it (make package-test, which
# .ci/run calls after make test): lintian finds no error; it installs on this
# machine with dpkg; `kuvert --version` names the version, the commit and the
# schemas; `kuvert migrate` and `kuvert doctor` run as the kuvert user with
# the packaged settings; the binary and templates the systemd units name are
# files the package owns (dpkg -L); the settings file is a conffile of mode
# 0640, group kuvert; kuvert(1) and kuvert-admin(8) are there. The package is
# purged afterwards, whatever happened.
set -euo pipefail
deb=$1
[ "$(id -u)" = 0 ] || { echo "package_test.sh installs a package: run it as root" >&2; exit 1; }
fail() { echo "package test: $*" >&2; exit 1; }
if dpkg-query -W -f='${Status}' kuvert 2>/dev/null | grep -q "install ok installed"; then
  fail "a kuvert package is installed already; this test installs and purges its own"
fi
echo "== lintian"
lintian --tag-display-limit 0 "$deb" 2>/dev/null | tee /tmp/kuvert-lintian.txt || true
! grep -q '^E: ' /tmp/kuvert-lintian.txt || fail "lintian reports errors"
trap 'dpkg --purge kuvert >/dev/null 2>&1 || true' EXIT
echo "== dpkg -i"
dpkg -i "$deb" >/dev/null
version=$(/usr/bin/kuvert --version)
echo "$version"
echo "$version" | grep -q '^kuvert [0-9]' || fail "kuvert --version names no version"
echo "$version" | grep -Eq '^commit: [0-9a-f]{12}' || fail "kuvert --version names no commit"
echo "$version" | grep -q '^schema: SQLite v.*PostgreSQL pg' || fail "kuvert --version names no schemas"
stat -c '%a %U %G' /etc/kuvert/kuvert.env | grep -qx '640 root kuvert' || fail "/etc/kuvert/kuvert.env is not 0640 root:kuvert"
grep -qx /etc/kuvert/kuvert.env /var/lib/dpkg/info/kuvert.conffiles || fail "the settings are no conffile"
getent passwd kuvert >/dev/null || fail "no kuvert user"
for page in /usr/share/man/man1/kuvert.1.gz /usr/share/man/man8/kuvert-admin.8.gz; do
  [ -s "$page" ] && zcat "$page" | grep -q '^\.SH NAME' || fail "no manual page $page"
done
files=$(dpkg -L kuvert)
for unit in /lib/systemd/system/kuvert.service /lib/systemd/system/kuvert-worker@.service; do
  echo "$files" | grep -qx "$unit" || fail "$unit is not in the package"
  for path in $(grep -o '/usr/[^ ]*' "$unit" | sed 's/[" ]//g' | sort -u); do
    case "$path" in
      */kuvert|*/templates) echo "$files" | grep -qx "$path" || fail "$unit names $path, which the package does not hold" ;;
    esac
  done
done
echo "== as the kuvert user, with the packaged settings"
# The example's relay, made one on this machine: an SMTP server for doctor to reach.
smtp_dir=$(mktemp -d)
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Debian's Python, which has aiosmtpd (make test installs it).
sleep 600 | /usr/bin/python3 "$(dirname "$0")/../Tests/Support/smtp_test_server.py" "$smtp_dir" "$port" > "$smtp_dir/out" 2>&1 &
smtp_pid=$!
trap 'dpkg --purge kuvert >/dev/null 2>&1 || true; kill "$smtp_pid" 2>/dev/null || true; pkill -P $$ sleep 2>/dev/null || true; rm -rf "$smtp_dir"' EXIT
for _ in $(seq 50); do grep -q PORT "$smtp_dir/out" 2>/dev/null && break; sleep 0.1; done
sed -i "s|^KUVERT_SMTP_URL=.*|KUVERT_SMTP_URL=smtp://127.0.0.1:$port|; /^KUVERT_SMTP_USER=/d; /^KUVERT_SMTP_PASSWORD=/d" /etc/kuvert/kuvert.env
kuvert-admin migrate
kuvert-admin doctor > /tmp/kuvert-doctor.txt 2>&1 || { cat /tmp/kuvert-doctor.txt; fail "kuvert doctor failed"; }
cat /tmp/kuvert-doctor.txt
[ -s /var/lib/kuvert/kuvert.sqlite ] || fail "migrate made no store in /var/lib/kuvert"
stat -c %U /var/lib/kuvert/kuvert.sqlite | grep -qx kuvert || fail "the store is not the kuvert user's"
echo "== dpkg --purge"
dpkg --purge kuvert >/dev/null
[ ! -e /usr/bin/kuvert ] && [ ! -e /etc/kuvert/kuvert.env ] || fail "purge left the binary or the settings"
rm -rf /var/lib/kuvert
echo "package test: passed"

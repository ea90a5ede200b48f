#!/usr/bin/env bash
# Builds the Debian package kuvert_VERSION_amd64.deb into .build/package/:
# the release binary with the Swift runtime linked in (--static-swift-stdlib:
# the machine needs no Swift), the templates in /usr/share/kuvert/templates
# (where the binary looks when it runs from /usr/bin), the systemd units and
# kuvert-admin with the package's paths, /etc/kuvert/kuvert.env as a conffile
# (mode 0640, group kuvert, set by postinst, which also makes the kuvert
# user), and dependencies on Debian's packages only (dpkg-shlibdeps).
#
# Usage: Deploy/package.sh        (make package)   KUVERT_COMMIT=abc123 names the commit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n 's/.*static let version = "\(.*\)"/\1/p' Sources/KuvertCLI/Kuvert.swift)
# KUVERT_COMMIT names the commit where there is no git checkout (a container build).
if [ -n "${KUVERT_COMMIT:-}" ]; then
  commit=$KUVERT_COMMIT
else
  commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD -- Sources 2>/dev/null || commit="$commit with local changes"
fi
out=.build/package
stage=$out/kuvert_${version}_amd64
# The commit goes into the binary for this build only.
stamp=Sources/KuvertCLI/BuildCommit.swift
cp "$stamp" "$out.BuildCommit.swift.orig" 2>/dev/null || { mkdir -p "$(dirname "$out")"; cp "$stamp" "$out.BuildCommit.swift.orig"; }
trap 'cp "$out.BuildCommit.swift.orig" "$stamp"' EXIT
sed -i "s|static let value = \".*\"|static let value = \"$commit\"|" "$stamp"
swift build -c release --product kuvert --static-swift-stdlib
cp "$out.BuildCommit.swift.orig" "$stamp"

rm -rf "$stage" && mkdir -p "$stage/DEBIAN"
install -D -m 755 .build/release/kuvert "$stage/usr/bin/kuvert"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/kuvert"
install -D -m 755 Deploy/kuvert-admin "$stage/usr/sbin/kuvert-admin"
sed -i 's|/usr/local/share/kuvert/Templates|/usr/share/kuvert/templates|; s|/usr/local/bin/kuvert|/usr/bin/kuvert|' "$stage/usr/sbin/kuvert-admin"
mkdir -p "$stage/usr/share/kuvert"
cp -r Templates "$stage/usr/share/kuvert/templates"
find "$stage/usr/share/kuvert" -type d -exec chmod 755 {} + && find "$stage/usr/share/kuvert" -type f -exec chmod 644 {} +
for unit in Deploy/systemd/*.service; do
  install -D -m 644 "$unit" "$stage/lib/systemd/system/$(basename "$unit")"
  sed -i 's|/usr/local/bin/kuvert|/usr/bin/kuvert|; s|/usr/local/share/kuvert/Templates|/usr/share/kuvert/templates|' \
    "$stage/lib/systemd/system/$(basename "$unit")"
done
install -D -m 640 Deploy/kuvert.env.example "$stage/etc/kuvert/kuvert.env"
install -D -m 644 Deploy/debian/copyright "$stage/usr/share/doc/kuvert/copyright"
for page in Deploy/debian/man/*.[18]; do
  section=${page##*.}
  mkdir -p "$stage/usr/share/man/man$section"
  gzip -9n < "$page" > "$stage/usr/share/man/man$section/$(basename "$page").gz"
  chmod 644 "$stage/usr/share/man/man$section/$(basename "$page").gz"
done
printf 'kuvert (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- Kuvert maintainers <maintainers@kuvert.example.org>  %s\n' \
  "$version" "$commit" "$(date -R)" | gzip -9n > "$stage/usr/share/doc/kuvert/changelog.gz"
chmod 644 "$stage/usr/share/doc/kuvert/changelog.gz"
install -m 755 Deploy/debian/postinst Deploy/debian/postrm "$stage/DEBIAN/"
echo /etc/kuvert/kuvert.env > "$stage/DEBIAN/conffiles"
# The shared libraries the binary links, as Debian's packages and versions.
shlibs=$(mktemp -d)
mkdir -p "$shlibs/debian" && printf 'Source: kuvert\n\nPackage: kuvert\nArchitecture: amd64\n' > "$shlibs/debian/control"
depends=$(cd "$shlibs" && dpkg-shlibdeps -O -e "$root/$stage/usr/bin/kuvert" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlibs"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed "s|@VERSION@|$version|; s|@SIZE@|$size|; s|@DEPENDS@|$depends|" Deploy/debian/control.in > "$stage/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/kuvert_${version}_amd64.deb" >/dev/null
echo "$out/kuvert_${version}_amd64.deb"

#!/bin/sh
# Builds coopd's Debian packages from a tree staged by `make install PREFIX=/usr` (make deb runs both):
#
#   Debian/build.sh STAGE OUTDIR          (DEB_THREADS: how many threads xz may use; make deb passes JOBS)
#
#   coopd                coopd, coopctl, coopd.service and coopd.socket (/lib/systemd/system), the sysusers entry
#                        (/usr/lib/sysusers.d/coopd.conf), coopd(8) and coopctl(1); maintainer scripts Debian/coopd.*
#   libcoopclient0       libcoopclient.so.0 (Multi-Arch: same, shlibs and an ldconfig trigger)
#   libcoopclient-dev    the headers (coop/), libcoopclient.a and .so, coopclient.pc
#   coopd-dbgsym, libcoopclient0-dbgsym   the debug information the binaries above are stripped of, as Debian's
#                        dbgsym packages hold it: /usr/lib/debug/.build-id/xx/yyyy.debug
#
# The version is Debian/changelog's; its upstream part must be what the staged `coopd --version` prints. Every file
# of the stage must land in a package. Control files come from Debian/control through dpkg-gencontrol, with
# dpkg-shlibdeps's dependencies; binaries are stripped as dh_strip strips them.
#
# Why not dpkg-buildpackage and debhelper: they would build coopd again inside the packaging run, from a source
# package whose Build-Depends cannot name the Swift toolchain (it is not a Debian package here), and the release build
# is by far the slowest step of the project. Building from the stage `make install` produces reuses that build, and
# keeps the install list in one place (the Makefile). The maintainer scripts are what dh_installsystemd and
# dh_installsysusers generate, written out.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 STAGE OUTDIR" >&2; exit 64; }
HERE=$(cd "$(dirname "$0")" && pwd)
STAGE=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
die() { echo "Debian/build.sh: $*" >&2; exit 1; }
umask 022

VERSION=$(dpkg-parsechangelog -l "$HERE/changelog" -S Version)
UPSTREAM=${VERSION%-*}
[ -x "$STAGE/usr/bin/coopd" ] || die "$STAGE/usr/bin/coopd: not staged (make install PREFIX=/usr DESTDIR=$STAGE)"
printed=$("$STAGE/usr/bin/coopd" --version)
[ "$printed" = "$UPSTREAM" ] ||
  die "coopd --version prints $printed, Debian/changelog's version is $VERSION: add a changelog entry (dch -v $printed-1)"
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

W=$OUT/tree
rm -rf "$W"
mkdir -p "$W/src/debian"
cp "$HERE/control" "$HERE/changelog" "$W/src/debian/"
cp -a "$STAGE" "$W/stage"

# take PACKAGE PATTERN...: moves what matches each shell pattern (relative to the stage) into PACKAGE's tree.
take() {
  pkg=$1
  shift
  for pattern in "$@"; do
    n=0
    for f in $(cd "$W/stage" && echo $pattern); do
      [ -e "$W/stage/$f" ] || [ -L "$W/stage/$f" ] || continue
      mkdir -p "$W/$pkg/$(dirname "$f")"
      mv "$W/stage/$f" "$W/$pkg/$f"
      n=$((n + 1))
    done
    [ "$n" -gt 0 ] || die "nothing staged matches $pattern (for $pkg)"
  done
}
take coopd usr/bin/coopd usr/bin/coopctl lib/systemd/system/coopd.service lib/systemd/system/coopd.socket \
  usr/lib/sysusers.d/coopd.conf 'usr/share/man/man*/*'
take libcoopclient0 "usr/lib/$MA/libcoopclient.so.*"
take libcoopclient-dev "usr/lib/$MA/libcoopclient.so" "usr/lib/$MA/libcoopclient.a" "usr/lib/$MA/pkgconfig/coopclient.pc" \
  usr/include/coop
left=$(cd "$W/stage" && find . ! -type d)
[ -z "$left" ] || die "staged but in no package (add them to Debian/build.sh):
$left"

# split_debug PACKAGE FILE [STRIP OPTION]: as dh_strip does, the debug information goes to PACKAGE-dbgsym under the
# build id, FILE is stripped and names it (.gnu_debuglink).
BUILD_IDS=""
split_debug() {
  f=$W/$1/$2
  id=$(readelf -n "$f" | sed -n 's/^ *Build ID: *//p')
  [ -n "$id" ] || die "$2 has no build id (link with --build-id)"
  debug=$W/$1-dbgsym/usr/lib/debug/.build-id/$(printf %s "$id" | cut -c1-2)/$(printf %s "$id" | cut -c3-).debug
  mkdir -p "$(dirname "$debug")"
  objcopy --only-keep-debug --compress-debug-sections "$f" "$debug"
  chmod 644 "$debug"
  strip --remove-section=.comment --remove-section=.note ${3:-} "$f"
  objcopy --add-gnu-debuglink="$debug" "$f"
  BUILD_IDS="$BUILD_IDS $1:$id"
}
split_debug coopd usr/bin/coopd
split_debug coopd usr/bin/coopctl
for so in "$W/libcoopclient0/usr/lib/$MA"/libcoopclient.so.*.*; do
  [ -L "$so" ] || split_debug libcoopclient0 "usr/lib/$MA/$(basename "$so")" --strip-unneeded
done
strip --strip-debug --remove-section=.comment --remove-section=.note --enable-deterministic-archives \
  "$W/libcoopclient-dev/usr/lib/$MA/libcoopclient.a"

# Man pages compressed; copyright, changelog and lintian overrides in each package.
find "$W/coopd/usr/share/man" -type f -exec gzip -9n {} +
gzip -9nc "$HERE/changelog" >"$W/changelog.Debian.gz"
for pkg in coopd libcoopclient0 libcoopclient-dev; do
  install -d "$W/$pkg/usr/share/doc/$pkg"
  install -m 644 "$HERE/copyright" "$W/$pkg/usr/share/doc/$pkg/copyright"
  install -m 644 "$W/changelog.Debian.gz" "$W/$pkg/usr/share/doc/$pkg/changelog.Debian.gz"
  if [ -f "$HERE/$pkg.lintian-overrides" ]; then
    install -D -m 644 "$HERE/$pkg.lintian-overrides" "$W/$pkg/usr/share/lintian/overrides/$pkg"
  fi
done
for pkg in coopd libcoopclient0; do
  install -d "$W/$pkg-dbgsym/usr/share/doc"
  ln -s "$pkg" "$W/$pkg-dbgsym/usr/share/doc/$pkg-dbgsym"
done

# Modes as Debian wants them: directories 755, files 644, programs 755.
find "$W"/coopd* "$W"/libcoopclient* -type d -exec chmod 755 {} +
find "$W"/coopd* "$W"/libcoopclient* -type f -exec chmod 644 {} +
chmod 755 "$W/coopd/usr/bin/coopd" "$W/coopd/usr/bin/coopctl"

# Maintainer scripts; the library's shlibs and ldconfig trigger, as dh_makeshlibs -V writes them (programs built
# against this version depend on at least this version: no symbols file tracks which version added what).
for pkg in coopd libcoopclient0 libcoopclient-dev coopd-dbgsym libcoopclient0-dbgsym; do mkdir -p "$W/$pkg/DEBIAN"; done
for s in postinst prerm postrm; do install -m 755 "$HERE/coopd.$s" "$W/coopd/DEBIAN/$s"; done
echo "libcoopclient 0 libcoopclient0 (>= $UPSTREAM)" >"$W/libcoopclient0/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$W/libcoopclient0/DEBIAN/triggers"
chmod 644 "$W/libcoopclient0/DEBIAN/shlibs" "$W/libcoopclient0/DEBIAN/triggers"

# Dependencies and control files.
cd "$W/src"
dpkg-shlibdeps -Tdebian/coopd.substvars "$W/coopd/usr/bin/coopd" "$W/coopd/usr/bin/coopctl"
dpkg-shlibdeps -Tdebian/libcoopclient0.substvars "$W/libcoopclient0/usr/lib/$MA"/libcoopclient.so.*.*
: >debian/libcoopclient-dev.substvars
for pkg in coopd libcoopclient0 libcoopclient-dev; do
  dpkg-gencontrol -p"$pkg" -P"$W/$pkg" -Tdebian/"$pkg".substvars -fdebian/files
done
for pkg in coopd libcoopclient0; do
  ids=$(printf '%s\n' $BUILD_IDS | sed -n "s/^$pkg://p" | tr '\n' ' ' | sed 's/ $//')
  dpkg-gencontrol -p"$pkg" -P"$W/$pkg-dbgsym" -Tdebian/"$pkg".substvars -fdebian/files -DPackage="$pkg-dbgsym" \
    -DDepends="$pkg (= $VERSION)" -DSection=debug -DPriority=optional -DAuto-Built-Package=debug-symbols \
    -DDescription="debug symbols for $pkg" -DBuild-Ids="$ids" -URecommends -USuggests
done

rm -f "$OUT"/*.deb
for pkg in coopd libcoopclient0 libcoopclient-dev coopd-dbgsym libcoopclient0-dbgsym; do
  (cd "$W/$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0r md5sum) \
    >"$W/$pkg/DEBIAN/md5sums"
  chmod 644 "$W/$pkg/DEBIAN/md5sums"
  dpkg-deb --root-owner-group -Zxz ${DEB_THREADS:+--threads-max="$DEB_THREADS"} --build "$W/$pkg" "$OUT/" >/dev/null
done
rm -rf "$W"
cd "$OUT"
ls -l *.deb

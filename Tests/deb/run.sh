#!/bin/sh
# The Debian packages `make deb` builds, checked and then installed, used and purged with apt-get under a real systemd.
#
#   Tests/deb/run.sh DIR        (make test-deb; DIR holds the packages: coopd_*.deb, coopd-dbgsym_*.deb, ...)
#
# 1. lintian reports no errors or warnings (but those Debian/*.lintian-overrides explain); the version is what the
#    packaged `coopd --version` prints; the packaged binaries are stripped and the -dbgsym packages hold their debug
#    information under their build ids.
# 2. As root with systemd-nspawn: boots this machine's systemd as PID 1 on a writable overlay of its root (so that
#    dpkg can install; Tests/lib/nspawn.sh) and there: `apt-get install ./coopd_*.deb` (and the library packages)
#    enables and starts coopd.socket and creates group coop; a ttrpc call starts coopd.service and gets an answer;
#    coopctl answers; a C program built with `pkg-config coopclient` against the installed library calls coopd;
#    installing again (the upgrade path) restarts the running coopd; `apt-get remove` stops both units and keeps the
#    database; `apt-get purge` deletes it and leaves no file of the packages behind. Where that cannot run (not
#    root, no nspawn, COOPD_TEST_NSPAWN=0) it says so and passes. COOPD_TEST_VERBOSE=1 prints apt-get's output and
#    coopd's journal.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 64; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(cd "$1" && pwd)
CALL="python3 $ROOT/Tests/systemd/ttrpc-call.py"
STARTED=$(date +%s)

T=$(mktemp -d "${TMPDIR:-/tmp}/coopd-deb.XXXXXX")
. "$ROOT/Tests/lib/nspawn.sh"
cleanup() {
  status=$?
  trap - EXIT INT TERM
  nspawn_stop
  rm -rf "$T"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# deb NAME: the one NAME_*.deb in DIR.
deb() {
  set -- "$DIR/$1"_*.deb
  [ $# -eq 1 ] && [ -f "$1" ] || fail "expected one $(basename "$1") in $DIR, found: $*"
  echo "$1"
}
COOPD=$(deb coopd)
LIB=$(deb libcoopclient0)
DEV=$(deb libcoopclient-dev)
DBG=$(deb coopd-dbgsym)
LIBDBG=$(deb libcoopclient0-dbgsym)
VERSION=$(dpkg-deb -f "$COOPD" Version)
size() { echo "$(($(stat -c %s "$1") / 1048576)) MiB"; }

echo "== Debian packages: static checks ($DIR)"
out=$(lintian --fail-on error,warning --display-info --show-overrides "$COOPD" "$LIB" "$DEV" "$DBG" "$LIBDBG" 2>&1 |
  grep -v '^running with root privileges') || fail "lintian:
$(printf '%s\n' "$out" | grep -E '^(E|W):')"
count() { printf '%s\n' "$out" | grep -c "^$1:" || true; }
ok "lintian: $(count E) errors, $(count W) warnings, $(count O) overridden, $(count I) informational tags"

dpkg-deb -x "$COOPD" "$T/coopd"
dpkg-deb -x "$DBG" "$T/dbgsym"
dpkg-deb -x "$LIB" "$T/lib"
dpkg-deb -x "$LIBDBG" "$T/libdbg"
printed=$("$T/coopd/usr/bin/coopd" --version)
[ "$VERSION" = "$printed-${VERSION##*-}" ] || fail "package version $VERSION, but coopd --version prints $printed"
ok "package version $VERSION: coopd --version prints $printed"
# stripped ROOT DEBUGROOT FILE: FILE has no symbol table or debug sections, names its debug file, which DEBUGROOT has.
stripped() {
  f=$1/$3
  sections=$(readelf -SW "$f")
  if printf '%s\n' "$sections" | grep -Eq ' \.(symtab|debug_[a-z]+) '; then fail "$3 is not stripped"; fi
  printf '%s\n' "$sections" | grep -q ' \.gnu_debuglink ' || fail "$3 has no .gnu_debuglink"
  id=$(readelf -n "$f" | sed -n 's/^ *Build ID: *//p')
  debug=$2/usr/lib/debug/.build-id/$(printf %s "$id" | cut -c1-2)/$(printf %s "$id" | cut -c3-).debug
  [ -n "$id" ] && [ -f "$debug" ] || fail "no debug file for $3 (build id '$id')"
  readelf -SW "$debug" 2>/dev/null | grep -q ' \.debug_info ' || fail "$debug has no .debug_info"
}
stripped "$T/coopd" "$T/dbgsym" usr/bin/coopd
stripped "$T/coopd" "$T/dbgsym" usr/bin/coopctl
so=$(cd "$T/lib" && find usr/lib -name 'libcoopclient.so.*.*' -type f)
stripped "$T/lib" "$T/libdbg" "$so"
ok "coopd, coopctl and $(basename "$so") are stripped; coopd-dbgsym and libcoopclient0-dbgsym hold their debug information"
ok "sizes: $(basename "$COOPD") $(size "$COOPD"), $(basename "$DBG") $(size "$DBG") (coopd installed: $(size "$T/coopd/usr/bin/coopd"))"
rm -rf "$T/coopd" "$T/dbgsym" "$T/lib" "$T/libdbg"

echo "== apt-get install, use, remove and purge under systemd as PID 1 (systemd-nspawn)"
why=$(nspawn_unavailable)
if [ -n "$why" ]; then
  skip "nspawn test: $why"
  if [ "${COOPD_TEST_VERBOSE:-0}" = 1 ]; then
  echo "--- journal of coopd.service and coopd.socket:"
  in_ct journalctl --no-pager -o short-monotonic -u coopd.service -u coopd.socket
fi
echo "PASS Debian packages (static checks only; nspawn test skipped: $why)"
  exit 0
fi

# The container has this machine's /etc, and so its enabled services: it boots to basic.target only (sockets,
# journal), without network. An empty /usr/local, so that nothing installed there shadows the packages' files.
NSPAWN_INIT_ARGS=systemd.unit=basic.target
nspawn_boot --overlay-root --private-network --tmpfs=/usr/local:mode=0755 --bind-ro="$DIR":/opt/coopd-deb \
  --bind-ro="$ROOT/Examples/c":/opt/coopd-examples
apt() {
  in_ct env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "$@" \
    >"$T/apt.log" 2>&1 || fail "apt-get $*: $(tail -n 30 "$T/apt.log")"
  if [ "${COOPD_TEST_VERBOSE:-0}" = 1 ]; then sed 's/^/     | /' "$T/apt.log"; fi
}
in_deb() { echo "/opt/coopd-deb/$(basename "$1")"; }
unit_state() { in_ct systemctl is-active "$1" 2>/dev/null || true; }
mainpid() { in_ct systemctl show -p MainPID --value coopd.service; }
status() { in_ct dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | tr -d ' ' || true; }
SOCK=/proc/$L/root/run/coopd/coopd.sock
health() { [ "$(timeout 30 $CALL "$SOCK" grpc.health.v1.Health Check 2>"$T/health.out")" = 0801 ]; }

# A policy-rc.d that forbids starting services (Docker images have one that exits 101) would stop the maintainer
# scripts from starting and stopping the units: the container is to be an ordinary system.
if in_ct test -e /usr/sbin/policy-rc.d; then
  in_ct rm /usr/sbin/policy-rc.d
  echo "     (removed /usr/sbin/policy-rc.d, this machine's, in the container: it forbids starting services)"
fi

# The packages' paths (as dpkg -L lists them), and which of them the container had before installation.
for f in "$COOPD" "$LIB" "$DEV"; do dpkg-deb --fsys-tarfile "$f" | tar -t; done |
  sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^/*$' | LC_ALL=C sort -u >"$T/files"
in_ct sh -c 'while read -r p; do if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi; done' <"$T/files" >"$T/before"

# 1. Installation: the socket is enabled and listening, the service waits for a client.
apt install "$(in_deb "$COOPD")" "$(in_deb "$LIB")" "$(in_deb "$DEV")"
for p in coopd libcoopclient0 libcoopclient-dev; do
  [ "$(status "$p")" = ii ] || fail "$p is '$(status "$p")' after apt-get install, not ii"
done
in_ct dpkg -L coopd libcoopclient0 libcoopclient-dev | grep -Ev '^(/\.)?$' | LC_ALL=C sort -u >"$T/listed"
cmp -s "$T/files" "$T/listed" || fail "dpkg -L lists other paths than the packages hold: $(diff "$T/files" "$T/listed")"
ok "apt-get install ./$(basename "$COOPD") ./$(basename "$LIB") ./$(basename "$DEV")"
[ "$(in_ct systemctl is-enabled coopd.socket 2>&1)" = enabled ] || fail "coopd.socket is not enabled"
[ "$(unit_state coopd.socket)" = active ] || fail "coopd.socket is $(unit_state coopd.socket), not active"
s=$(unit_state coopd.service)
[ "$s" = inactive ] || fail "coopd.service is $s before any client connected"
fragment=$(in_ct systemctl show -p FragmentPath --value coopd.service)
case $fragment in /lib/systemd/system/coopd.service | /usr/lib/systemd/system/coopd.service) ;;
  *) fail "coopd.service comes from $fragment, not the package's /lib/systemd/system/coopd.service" ;; esac
in_ct getent group coop >/dev/null || fail "no group coop after installation"
perm=$(in_ct stat -c '%a %G' /run/coopd/coopd.sock)
[ "$perm" = "660 coop" ] || fail "/run/coopd/coopd.sock has mode and group '$perm', not '660 coop'"
ok "coopd.socket enabled and listening on /run/coopd/coopd.sock (0660, group coop); coopd.service inactive; $fragment"

# 2. A call starts coopd; coopctl and a C program on the installed library get answers.
health || fail "Health/Check got no SERVING answer: $(cat "$T/health.out")"
[ "$(unit_state coopd.service)" = active ] || fail "coopd.service is $(unit_state coopd.service) after the first call"
PID=$(mainpid)
ok "the first call started coopd.service (MainPID $PID); Health/Check answered SERVING"
out=$(in_ct coopctl info 2>&1) || fail "coopctl info: $out"
printf '%s\n' "$out" | grep -qF "${VERSION%-*}" || fail "coopctl info does not show version ${VERSION%-*}: $out"
out=$(in_ct coopctl countries 2>&1) || fail "coopctl countries: $out"
printf '%s\n' "$out" | grep -qw VN || fail "coopctl countries does not list VN: $out"
ok "coopctl info (coopd ${VERSION%-*}) and coopctl countries answer"
out=$(in_ct sh -euc 'cc -o /tmp/worker_series /opt/coopd-examples/worker_series.c $(pkg-config --cflags --libs coopclient)
  ldd /tmp/worker_series | grep -F libcoopclient.so.0
  /tmp/worker_series' 2>&1) || fail "Examples/c/worker_series.c on the installed library: $out"
printf '%s\n' "$out" | grep -Eq 'libcoopclient\.so\.0 => (/usr)?/lib/' || fail "worker_series is not linked to the installed library: $out"
ok "Examples/c/worker_series.c built with pkg-config coopclient, linked to the installed libcoopclient.so.0, answered ($(printf '%s\n' "$out" | sed -n '2,$p' | wc -l) lines)"
in_ct test -f /var/lib/private/coopd/coop.sqlite || fail "no database in /var/lib/private/coopd"

# 3. The upgrade path: installing the package again restarts the running coopd; the socket keeps listening.
apt install --reinstall "$(in_deb "$COOPD")"
[ "$(unit_state coopd.socket)" = active ] || fail "coopd.socket is $(unit_state coopd.socket) after reinstalling"
[ "$(unit_state coopd.service)" = active ] || fail "coopd.service is $(unit_state coopd.service) after reinstalling"
after=$(mainpid)
[ "$after" != "$PID" ] || fail "reinstalling did not restart coopd (MainPID $PID)"
health || fail "no answer after reinstalling: $(cat "$T/health.out")"
ok "apt-get install --reinstall: coopd.service restarted (MainPID $PID -> $after), socket still active"

# 4. Removal stops both units and keeps the database; purge deletes it and every file of the packages.
apt remove coopd
[ "$(status coopd)" = rc ] || fail "coopd is '$(status coopd)' after apt-get remove, not rc"
for u in coopd.socket coopd.service; do
  s=$(unit_state $u)
  [ "$s" = inactive ] || fail "$u is $s after apt-get remove"
done
[ ! -e "$SOCK" ] || fail "/run/coopd/coopd.sock is still there after apt-get remove"
in_ct test ! -e /usr/bin/coopd || fail "/usr/bin/coopd is still there after apt-get remove"
in_ct test -f /var/lib/private/coopd/coop.sqlite || fail "apt-get remove deleted the database"
ok "apt-get remove coopd: coopd.socket and coopd.service stopped, socket file gone, database kept"

apt purge coopd libcoopclient-dev libcoopclient0
for p in coopd libcoopclient0 libcoopclient-dev; do
  s=$(status "$p")
  [ -z "$s" ] || [ "$s" = un ] || [ "$s" = pn ] || fail "$p is '$s' after apt-get purge"
done
for u in coopd.socket coopd.service; do
  s=$(in_ct systemctl show -p LoadState --value $u)
  [ "$s" = not-found ] || fail "$u is still known to systemd ($s) after apt-get purge"
done
left=$(in_ct sh -c 'for p in /var/lib/private/coopd /var/lib/coopd /etc/systemd/system/sockets.target.wants/coopd.socket \
  /etc/systemd/system/coopd.socket /var/lib/systemd/deb-systemd-helper-enabled/coopd.socket.dsh-also \
  /var/lib/systemd/deb-systemd-helper-masked/coopd.socket; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; true')
[ -z "$left" ] || fail "left behind by apt-get purge: $left"
# Every path dpkg -L listed is gone, but for those the container had before (/usr/bin, ...).
left=$(in_ct sh -c 'while read -r p; do if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi; done' <"$T/files" |
  LC_ALL=C comm -23 - "$T/before")
[ -z "$left" ] || fail "files of the packages left behind by apt-get purge:
$left"
in_ct getent group coop >/dev/null || fail "group coop is gone"
ok "apt-get purge: no unit, state (/var/lib/private/coopd), enablement link or file of the $(wc -l <"$T/files") paths left; group coop stays (Debian keeps system groups)"

if [ "${COOPD_TEST_VERBOSE:-0}" = 1 ]; then
  echo "--- journal of coopd.service and coopd.socket:"
  in_ct journalctl --no-pager -o short-monotonic -u coopd.service -u coopd.socket
fi
echo "PASS Debian packages (static checks and apt-get under systemd, $(($(date +%s) - STARTED)) s)"

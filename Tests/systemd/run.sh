#!/bin/sh
# The units in Systemd/, checked statically and then under a real systemd as PID 1.
#
#   Tests/systemd/run.sh PATH/TO/coopd        (make test-systemd, make test-systemd-release)
#
# 1. systemd-analyze verify prints nothing on the installed units (ExecStart= pointed at the binary under
#    test); systemd-analyze security rates coopd.service at most 1.0; the sysusers entry creates group coop.
# 2. As root with systemd-nspawn: boots this machine's systemd in a container on a tmpfs root, installs the
#    units under /usr/local as `make install` stages them, runs the README's steps, then checks socket
#    activation, the sandbox, STATUS=, reload, data across restart, backup and restore, the watchdog
#    and stop. Where that cannot run (not root, no nspawn, no namespaces, COOPD_TEST_NSPAWN=0) it says
#    so and passes.
#
# A binary linked to a Swift runtime outside /usr (a debug build) gets that runtime bound read-only into
# the container and LD_LIBRARY_PATH set in a drop-in; a --static-swift-stdlib binary needs neither.
# Environment: TTRPC_LOAD (the Go ttrpc client, default /tmp/ttrpc-anchor-bin/ttrpc-load), MAKE,
# COOPD_TEST_NSPAWN=0, COOPD_TEST_WATCHDOG_SEC (default 3), COOPD_TEST_VERBOSE=1 (print coopd's journal).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/coopd" >&2; exit 64; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(readlink -f "$1")
[ -f "$BIN" ] && [ -x "$BIN" ] || { echo "FAIL: $1 is not an executable file" >&2; exit 1; }
MAKE=${MAKE:-make}
TTRPC_LOAD=${TTRPC_LOAD:-/tmp/ttrpc-anchor-bin/ttrpc-load}
WATCHDOG_SEC=${COOPD_TEST_WATCHDOG_SEC:-3}
CALL="python3 $ROOT/Tests/systemd/ttrpc-call.py"
STARTED=$(date +%s)

T=$(mktemp -d "${TMPDIR:-/tmp}/coopd-systemd.XXXXXX")
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

hex() { printf %s "$1" | od -An -tx1 -v | tr -d ' \n'; }
# Protobuf in hex (field numbers under 16): pb_varint FIELD N, pb_string FIELD TEXT, pb_message FIELD HEX.
varint() {
  n=$1
  while [ "$n" -ge 128 ]; do printf '%02x' $(((n & 127) | 128)); n=$((n >> 7)); done
  printf '%02x' "$n"
}
pb_varint() { printf '%02x%s' $(($1 * 8)) "$(varint "$2")"; }
pb_message() { printf '%02x%s%s' $(($1 * 8 + 2)) "$(varint $((${#2} / 2)))" "$2"; }
pb_string() { pb_message "$1" "$(hex "$2")"; }

echo "== systemd units: static checks ($BIN)"
# Stage the units exactly as `make install` does, with ExecStart= at the binary under test.
mkdir -p "$T/lint/bin"
ln -s "$BIN" "$T/lint/bin/coopd"
$MAKE -s --no-print-directory -C "$ROOT" install-units DESTDIR="$T/lint" PREFIX=/usr/local BINDIR="$T/lint/bin" >/dev/null
U="$T/lint/usr/local/lib/systemd/system"
grep -qxF "ExecStart=$T/lint/bin/coopd" "$U/coopd.service" || fail "make install-units did not set ExecStart="
out=$(systemd-analyze verify --man=no "$U/coopd.socket" "$U/coopd.service" 2>&1) || fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed:
$out"
ok "systemd-analyze verify --man=no coopd.socket coopd.service prints nothing"
out=$(systemd-analyze security --offline=true --threshold=10 "$U/coopd.service" 2>&1) ||
  fail "systemd-analyze security --offline=true --threshold=10 coopd.service:
$(printf '%s\n' "$out" | grep -v '^✓')"
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for coopd.service: \([0-9.]*\).*/\1/p')
ok "systemd-analyze security --offline=true --threshold=10 coopd.service: exposure $score (at most 1.0)"
mkdir -p "$T/sysroot/etc"
out=$(systemd-sysusers --root="$T/sysroot" - <"$ROOT/Systemd/coopd.sysusers" 2>&1) || fail "systemd-sysusers: $out"
grep -q '^coop:' "$T/sysroot/etc/group" || fail "coopd.sysusers did not create group coop: $out"
ok "coopd.sysusers creates group coop"

echo "== under systemd as PID 1 (systemd-nspawn)"
why=$(nspawn_unavailable)
if [ -n "$why" ]; then
  skip "nspawn test: $why"
  echo "PASS systemd units (static checks only; nspawn test skipped: $why)"
  exit 0
fi

# The container's /usr/local is the tree `make install` stages (default PREFIX), with the binary under test
# bound over a placeholder at /usr/local/bin/coopd.
$MAKE -s --no-print-directory -C "$ROOT" install-units DESTDIR="$T/stage" PREFIX=/usr/local >/dev/null
mkdir -p "$T/stage/usr/local/bin"
: >"$T/stage/usr/local/bin/coopd"
set -- --bind-ro="$T/stage/usr/local":/usr/local --bind-ro="$BIN":/usr/local/bin/coopd \
  --bind-ro="$ROOT/Tests/systemd":/opt/coopd-test
# Libraries outside /usr (a debug build's Swift runtime): not in the container, so bind their directories.
libs=$(ldd "$BIN" 2>&1) || fail "ldd $BIN: $libs"
if printf '%s\n' "$libs" | grep -q 'not found'; then fail "ldd $BIN: $(printf '%s\n' "$libs" | grep 'not found')"; fi
LD_PATH=""
i=0
for dir in $(printf '%s\n' "$libs" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | xargs -r -n 1 dirname | sort -u |
  grep -Ev '^/(usr|lib|lib32|lib64|libx32)(/|$)' || true); do
  mkdir -p "$T/stage/usr/local/lib/coopd-test-runtime$i"
  set -- "$@" --bind-ro="$dir":/usr/local/lib/coopd-test-runtime$i
  LD_PATH="$LD_PATH${LD_PATH:+:}/usr/local/lib/coopd-test-runtime$i"
  i=$((i + 1))
done
[ -z "$LD_PATH" ] || echo "     (the binary needs libraries outside /usr: bound at $LD_PATH)"

nspawn_boot -D / --volatile=yes "$@"

# The README's steps after `make install`, plus test drop-ins: a configuration file (for the reload check)
# and, for a binary that needs one, the runtime library path.
in_ct sh -eu -c '
  systemd-sysusers
  mkdir -p /etc/coopd /etc/systemd/system/coopd.service.d
  echo "log-level = info" >/etc/coopd/coopd.conf
  printf "[Service]\nEnvironment=COOPD_CONFIG=/etc/coopd/coopd.conf\n" >/etc/systemd/system/coopd.service.d/50-config.conf
  if [ -n "$1" ]; then
    printf "[Service]\nEnvironment=LD_LIBRARY_PATH=%s\n" "$1" >/etc/systemd/system/coopd.service.d/90-test-runtime.conf
  fi
  systemctl daemon-reload
  systemctl enable --now coopd.socket
  getent group coop >/dev/null
  [ "$(systemctl show -p FragmentPath --value coopd.service)" = /usr/local/lib/systemd/system/coopd.service ]
' sh "$LD_PATH" >"$T/install.log" 2>&1 || fail "installing the units: $(cat "$T/install.log")"

SOCK=/proc/$L/root/run/coopd/coopd.sock
unit_state() { in_ct systemctl is-active "$1" 2>/dev/null || true; }
mainpid() { in_ct systemctl show -p MainPID --value coopd.service; }
is_active() { [ "$(unit_state coopd.service)" = active ]; }
journal_has() { in_ct journalctl --no-pager -o cat -u coopd.service | grep -qF -- "$1"; }
health() {
  if [ -x "$TTRPC_LOAD" ]; then
    timeout 30 "$TTRPC_LOAD" -socket "$SOCK" -check -service grpc.health.v1.Health -method Check \
      -payload-hex= -expect-hex 0801 >"$T/health.out" 2>&1
  else
    [ "$(timeout 30 $CALL "$SOCK" grpc.health.v1.Health Check 2>"$T/health.out")" = 0801 ]
  fi
}

# 1. The socket listens before coopd runs.
[ "$(unit_state coopd.socket)" = active ] || fail "coopd.socket is $(unit_state coopd.socket), not active"
s=$(unit_state coopd.service)
[ "$s" = inactive ] || fail "coopd.service is $s before any client connected"
[ -S "$SOCK" ] || fail "no socket at /run/coopd/coopd.sock"
perm=$(in_ct stat -c '%a %G' /run/coopd/coopd.sock)
[ "$perm" = "660 coop" ] || fail "/run/coopd/coopd.sock has mode and group '$perm', not '660 coop'"
ok "coopd.socket listens on /run/coopd/coopd.sock (mode 0660, group coop) while coopd.service is inactive"

# 2. The first client starts coopd and gets an answer.
health || fail "the first client got no SERVING answer: $(cat "$T/health.out")"
is_active || fail "coopd.service is $(unit_state coopd.service) after the first call"
PID=$(mainpid)
ok "the first connection started coopd.service (MainPID $PID); Health/Check answered SERVING"

# Group coop may connect, other users may not (SocketMode=0660, SocketGroup=coop).
gid=$(in_ct getent group coop | cut -d: -f3)
as_user() { in_ct setpriv --reuid="$1" --regid="$2" --clear-groups python3 /opt/coopd-test/ttrpc-call.py "$SOCK_CT" grpc.health.v1.Health Check; }
SOCK_CT=/run/coopd/coopd.sock
out=$(as_user 4242 "$gid" 2>&1) || fail "uid 4242 in group coop cannot call coopd: $out"
[ "$out" = 0801 ] || fail "uid 4242 in group coop got $out, not SERVING"
if out=$(as_user 4242 4242 2>&1); then fail "uid 4242 outside group coop could call coopd"; fi
case $out in *"Permission denied"*) ;; *) fail "uid 4242 outside group coop: expected 'Permission denied', got $out" ;; esac
ok "a user in group coop (gid $gid) gets answers; one outside it gets 'Permission denied'"

# The sandbox is really on: dynamic user, seccomp filter, no capabilities, no new privileges.
st=$(in_ct cat "/proc/$PID/status")
uid=$(printf '%s\n' "$st" | awk '/^Uid:/ { print $2 }')
[ "$uid" -ne 0 ] || fail "coopd runs as root"
printf '%s\n' "$st" | grep -Eq '^Seccomp:[[:space:]]+2$' || fail "coopd runs without a seccomp filter"
printf '%s\n' "$st" | grep -Eq '^NoNewPrivs:[[:space:]]+1$' || fail "coopd runs without NoNewPrivileges"
printf '%s\n' "$st" | grep -Eq '^CapEff:[[:space:]]+0+$' || fail "coopd has capabilities"
[ "$(in_ct readlink /var/lib/coopd)" = private/coopd ] || fail "/var/lib/coopd is not the dynamic user's state directory"
ok "coopd runs sandboxed: dynamic uid $uid, seccomp filter, no capabilities, NoNewPrivileges, /var/lib/private/coopd"

# Some load under the sandbox (event loops, Swift concurrency's threads), then no complaints in the journal.
if [ -x "$TTRPC_LOAD" ]; then
  out=$(timeout 30 "$TTRPC_LOAD" -socket "$SOCK" -service coop.v1.Diagnostics -method Echo -conns 4 -c 32 -d 1s \
    -warmup 0 2>&1) || fail "Echo load: $out"
  printf '%s\n' "$out" | grep -q ' errors=0 ' || fail "Echo load had errors: $out"
  calls=$(printf '%s\n' "$out" | sed -n 's/^calls=\([0-9]*\) .*/\1/p')
  ok "Echo under load: $calls calls on 4 connections in 1 s, no errors"
else
  [ "$($CALL "$SOCK" coop.v1.Diagnostics Echo 0a026869)" = 0a026869 ] || fail "Echo did not echo"
  ok "Echo answered ($TTRPC_LOAD not found: no load run)"
fi
in_ct journalctl --sync
warnings=$(in_ct journalctl --no-pager -o cat -p warning _SYSTEMD_UNIT=coopd.service _COMM=coopd)
[ -z "$warnings" ] || fail "coopd logged warnings under the sandbox:
$warnings"
ok "coopd logged no warnings or errors under the sandbox"

# Records reach the journal with fields: a write refused to uid 4242 is found by that uid.
if out=$(in_ct setpriv --reuid=4242 --regid="$gid" --clear-groups python3 /opt/coopd-test/ttrpc-call.py "$SOCK_CT" \
  coop.v1.Cooperation PutSource 2>&1); then fail "uid 4242, not a writer, could write: $out"; fi
in_ct journalctl --sync
rec=$(in_ct journalctl --no-pager -o json -u coopd.service COOPD_PEER_UID=4242)
for field in '"COOPD_METHOD":"coop.v1.Cooperation/PutSource"' '"COOPD_STATUS":"PERMISSION_DENIED"' '"PRIORITY":"4"' \
  '"CODE_FUNC":' '"CODE_FILE":' '"COOPD_PEER_PID":"'; do
  printf '%s\n' "$rec" | grep -qF -- "$field" || fail "the refused write's journal record has no $field: $rec"
done
ok "journal records carry fields: journalctl -u coopd COOPD_PEER_UID=4242 finds the refused write (method, status, pid, code location)"

# 3. systemctl status shows the STATUS= text.
status=$(in_ct systemctl status --no-pager --lines=0 coopd.service 2>&1 || true)
line=$(printf '%s\n' "$status" | grep -E '^ *Status: "serving on /run/coopd/coopd.sock' | sed 's/^ *//' || true)
[ -n "$line" ] || fail "systemctl status coopd shows no 'serving on' status:
$status"
ok "systemctl status coopd shows $line"

# 4. systemctl reload: SIGHUP, RELOADING=1 ... READY=1, the configuration file re-read, still active.
in_ct sh -c 'echo "log-level = debug" >/etc/coopd/coopd.conf'
out=$(in_ct timeout 30 systemctl reload coopd.service 2>&1) || fail "systemctl reload coopd: $out"
wait_until 10 "'configuration reloaded log_level=debug' in the journal" journal_has "configuration reloaded log_level=debug"
wait_until 10 "systemd's 'Reloaded coopd.service' in the journal" journal_has "Reloaded coopd.service"
is_active || fail "coopd.service is $(unit_state coopd.service) after reload"
health || fail "no answer after reload: $(cat "$T/health.out")"
after=$(mainpid)
if [ "$after" = "$PID" ]; then same="same MainPID $PID"; else same="MainPID $PID -> $after"; fi
ok "systemctl reload coopd: journal shows the reload (log level now debug), still active, $same"
in_ct sh -c 'echo "log-level = info" >/etc/coopd/coopd.conf'
in_ct systemctl reload coopd.service

# 5. Data written survives systemctl restart (with the Cooperation API; before it, the state directory does).
put_source() {
  src=$(pb_string 2 "$1")$(pb_string 3 "coopd systemd test")$(pb_string 5 "https://example.org/$1")
  src=$src$(pb_string 6 2026-01-15)$(pb_varint 7 3)
  out=$($CALL "$SOCK" coop.v1.Cooperation PutSource "$(pb_string 1 "$1")$(pb_message 2 "$src")" 2>&1) ||
    fail "PutSource $1: $out"
}
has_source() {
  out=$($CALL "$SOCK" coop.v1.Cooperation Search "$(pb_string 1 "$1")$(pb_varint 2 5)" 2>&1) || fail "Search $1: $out"
  case $out in *"$(hex "$1")"*) return 0 ;; *) return 1 ;; esac
}
TOKEN="coopdsystemdtest$$x$(date +%s)"
if $CALL "$SOCK" coop.v1.Cooperation ListCountries >/dev/null 2>"$T/coop.err"; then
  API=yes
  put_source "$TOKEN"
  written="source \"$TOKEN\" (written with PutSource)"
elif grep -q '^status 12:' "$T/coop.err"; then
  API=no
  skip "data across restart: this coopd does not serve coop.v1.Cooperation yet ($(cat "$T/coop.err")); checking that the state directory persists instead"
  in_ct sh -c "echo $TOKEN >/var/lib/coopd/systemd-test-marker"
  written="a file in the state directory"
else
  fail "coop.v1.Cooperation/ListCountries: $(cat "$T/coop.err")"
fi
before=$(mainpid)
out=$(in_ct timeout 60 systemctl restart coopd.service 2>&1) || fail "systemctl restart coopd: $out"
is_active || fail "coopd.service is $(unit_state coopd.service) after restart"
PID=$(mainpid)
[ "$PID" != "$before" ] || fail "systemctl restart kept MainPID $PID"
health || fail "no answer after restart: $(cat "$T/health.out")"
if [ "$API" = yes ]; then
  has_source "$TOKEN" || fail "source \"$TOKEN\" not found after restart (Search answered $out)"
else
  [ "$(in_ct cat /var/lib/coopd/systemd-test-marker)" = "$TOKEN" ] || fail "the state directory lost its contents"
  owner=$(in_ct stat -c %u /var/lib/private/coopd)
  uid=$(in_ct cat "/proc/$PID/status" | awk '/^Uid:/ { print $2 }')
  [ "$owner" = "$uid" ] || fail "/var/lib/private/coopd belongs to uid $owner, coopd runs as $uid"
fi
ok "$written survives systemctl restart (MainPID $before -> $PID)"

# Backup while coopd serves, and restore, as the README says.
if [ "$API" = yes ]; then
  out=$(in_ct env ${LD_PATH:+LD_LIBRARY_PATH=$LD_PATH} /usr/local/bin/coopd backup --state-directory /var/lib/coopd \
    /root/coop-backup.sqlite 2>&1) || fail "coopd backup: $out"
  case $out in *"integrity ok"*) ;; *) fail "coopd backup: $out" ;; esac
  put_source "${TOKEN}later"
  out=$(in_ct sh -euc '
    systemctl stop coopd.socket coopd.service
    cd /var/lib/private/coopd
    rm -f coop.sqlite-wal coop.sqlite-shm
    install -m 600 /root/coop-backup.sqlite coop.sqlite && chown --reference=. coop.sqlite
    systemctl start coopd.socket' 2>&1) || fail "restoring the backup: $out"
  health || fail "no answer after the restore: $(cat "$T/health.out")"
  has_source "$TOKEN" || fail "the restored database lacks source \"$TOKEN\""
  if has_source "${TOKEN}later"; then fail "the restored database has a source written after the backup"; fi
  ok "coopd backup (as root, while coopd serves) and restore: the backed-up source is back, the later one gone"
else
  skip "backup and restore: needs the Cooperation API"
fi

# 6. The watchdog: a short WatchdogSec= in a drop-in; a healthy coopd outlives it, a stopped one is killed
#    and restarted.
in_ct sh -c "printf '[Service]\nWatchdogSec=${WATCHDOG_SEC}s\nLimitCORE=0\n' >/etc/systemd/system/coopd.service.d/60-test-watchdog.conf"
in_ct systemctl daemon-reload
out=$(in_ct timeout 60 systemctl restart coopd.service 2>&1) || fail "systemctl restart coopd (watchdog drop-in): $out"
is_active || fail "coopd.service is $(unit_state coopd.service) with WatchdogSec=${WATCHDOG_SEC}s"
PID=$(mainpid)
restarts=$(in_ct systemctl show -p NRestarts --value coopd.service)
sleep $((WATCHDOG_SEC * 2))
[ "$(mainpid)" = "$PID" ] && is_active ||
  fail "a healthy coopd did not outlive WatchdogSec=${WATCHDOG_SEC}s (MainPID $PID -> $(mainpid), $(unit_state coopd.service))"
ok "a healthy coopd keeps the watchdog (WatchdogSec=${WATCHDOG_SEC}s) happy for $((WATCHDOG_SEC * 2)) s"
in_ct kill -STOP "$PID"
hung=$(date +%s)
restarted() { p=$(mainpid); [ "$p" != 0 ] && [ "$p" != "$PID" ] && is_active; }
wait_until $((WATCHDOG_SEC * 10 + 10)) "the watchdog to restart the stopped coopd (MainPID $PID)" restarted
took=$(($(date +%s) - hung))
journal_has "Watchdog timeout" || fail "no 'Watchdog timeout' in the journal"
now=$(in_ct systemctl show -p NRestarts --value coopd.service)
[ "$now" -gt "$restarts" ] || fail "NRestarts did not grow ($restarts -> $now)"
health || fail "no answer after the watchdog restart: $(cat "$T/health.out")"
ok "SIGSTOP to MainPID $PID: watchdog timeout, killed and restarted in ${took} s (MainPID $(mainpid), NRestarts $now)"
in_ct rm /etc/systemd/system/coopd.service.d/60-test-watchdog.conf
in_ct systemctl daemon-reload

# 7. systemctl stop coopd.service: a clean exit, and the socket starts it again.
out=$(in_ct timeout 60 systemctl stop coopd.service 2>&1) || fail "systemctl stop coopd.service: $out"
s=$(unit_state coopd.service)
[ "$s" = inactive ] || fail "coopd.service is $s after stop"
result=$(in_ct systemctl show -p Result --value coopd.service)
[ "$result" = success ] || fail "coopd.service stopped with result $result"
[ "$(unit_state coopd.socket)" = active ] || fail "coopd.socket is $(unit_state coopd.socket) after stopping the service"
[ -S "$SOCK" ] || fail "the socket file is gone after stopping the service"
wait_until 10 "'coopd stopped' in the journal" journal_has "coopd stopped"
health || fail "the socket did not start coopd again: $(cat "$T/health.out")"
is_active || fail "coopd.service is $(unit_state coopd.service) after a client connected"
ok "systemctl stop coopd.service: clean exit, socket still listening; the next client started it (MainPID $(mainpid))"

if [ "${COOPD_TEST_VERBOSE:-0}" = 1 ]; then
  echo "--- journal of coopd.service and coopd.socket:"
  in_ct journalctl --no-pager -o short-monotonic -u coopd.service -u coopd.socket
fi
echo "PASS systemd units (static checks and nspawn test, $(($(date +%s) - STARTED)) s)"

# Sourced by the suites that run coopd under this machine's systemd as PID 1 in systemd-nspawn (Tests/systemd/run.sh,
# Tests/deb/run.sh). The caller sets T, its temporary directory (console.log and machine-id go there), and calls
# nspawn_stop from its cleanup.
#
#   nspawn_unavailable     prints why the container cannot run here (not root, no nspawn, ...; nothing when it can)
#   nspawn_boot ARGS...    boots systemd with systemd-nspawn ARGS (the root, `-D / --volatile=yes`, and binds), waits
#                          until it is up and says so; sets NSPAWN (nspawn's pid), L (the container's init)
#   nspawn_boot --overlay-root ARGS...   the same on a writable copy of this machine's root: an overlay of / with a
#                          tmpfs upper layer (where dpkg and apt-get can install), mounted in a mount namespace of
#                          nspawn's own, so it goes away with the container. (nspawn's --volatile=overlay refuses
#                          the host's root directory; --ephemeral would copy it.)
#                          NSPAWN_INIT_ARGS: more arguments for the container's systemd (systemd.unit=...)
#   in_ct COMMAND...       runs COMMAND in the container (all of its namespaces)
#   nspawn_stop            halts the container (SIGTERM to nspawn; SIGKILL after 10 s)
#   ok, skip, fail, wait_until SECONDS WHAT COMMAND...   reporting; fail prints the journal of coopd's units and the
#                          last lines of the console
NSPAWN=""
L=""

ok() { echo "ok   $*"; }
skip() { echo "skip $*"; }
fail() {
  echo "FAIL $*" >&2
  if [ -n "$L" ] && [ -d "/proc/$L" ]; then
    echo "--- journal of coopd.service and coopd.socket:" >&2
    in_ct journalctl --no-pager -o short-monotonic -u coopd.service -u coopd.socket 2>&1 | tail -n 60 >&2 || true
  fi
  if [ -s "$T/console.log" ]; then
    echo "--- container console (last lines):" >&2
    tail -n 15 "$T/console.log" >&2
  fi
  exit 1
}
# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s.
wait_until() {
  limit=$1 what=$2
  shift 2
  end=$(($(date +%s) + limit))
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${limit} s waiting for $what"
    sleep 0.1
  done
}

nspawn_unavailable() {
  if [ "${COOPD_TEST_NSPAWN:-1}" = 0 ]; then
    echo "COOPD_TEST_NSPAWN=0"
  elif [ "$(id -u)" -ne 0 ]; then
    echo "needs root (systemd-nspawn boots a container)"
  elif ! command -v systemd-nspawn >/dev/null 2>&1; then
    echo "systemd-nspawn is not installed (Debian package systemd-container)"
  elif ! command -v nsenter >/dev/null 2>&1 || ! command -v unshare >/dev/null 2>&1; then
    echo "nsenter/unshare are not installed (util-linux)"
  elif ! command -v python3 >/dev/null 2>&1; then
    echo "python3 is not installed (the test's ttrpc client)"
  elif ! unshare --mount --pid --fork true 2>/dev/null; then
    echo "this environment cannot create mount and PID namespaces"
  fi
}

in_ct() { nsenter -t "$L" -a "$@"; }

nspawn_boot() {
  systemd-id128 new >"$T/machine-id"
  if ! mountpoint -q /run/systemd/nspawn; then   # nspawn fails at cleanup unless this is a tmpfs
    mkdir -p /run/systemd/nspawn
    mount -t tmpfs tmpfs /run/systemd/nspawn
  fi
  overlay=""
  if [ "$1" = --overlay-root ]; then
    overlay=$T/overlay
    shift
  fi
  set -- -q "$@" --bind="$T/machine-id":/etc/machine-id -M "coopd-test-$$" --boot --register=no --keep-unit \
    --console=read-only -- systemd.mask=systemd-machine-id-commit.service ${NSPAWN_INIT_ARGS:-}
  boot=$(date +%s%N)
  if [ -n "$overlay" ]; then
    mkdir "$overlay"
    # unshare and sh exec: $! is nspawn's pid.
    unshare --mount --propagation private sh -euc '
      o=$1
      shift
      mount -t tmpfs -o mode=0755 coopd-test "$o"
      mkdir "$o/upper" "$o/work" "$o/root"
      mount -t overlay coopd-test -o lowerdir=/,upperdir="$o/upper",workdir="$o/work" "$o/root"
      exec systemd-nspawn -D "$o/root" "$@"' sh "$overlay" "$@" </dev/null >"$T/console.log" 2>&1 &
  else
    systemd-nspawn "$@" </dev/null >"$T/console.log" 2>&1 &
  fi
  NSPAWN=$!
  wait_until 30 "systemd to start in the container" nspawn_find_init
  wait_until 30 "the container's systemd to listen" test -S "/proc/$L/root/run/systemd/private"
  state=$(in_ct timeout 60 systemctl is-system-running --wait 2>&1 | tr -d "\r" || true)
  case $state in
    running) ;;
    degraded) echo "     (container degraded; failed units: $(in_ct systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' '))" ;;
    *) fail "the container did not boot: is-system-running says '$state'" ;;
  esac
  ok "booted $(in_ct systemctl --version | head -n 1) as PID 1 in $((($(date +%s%N) - boot) / 1000000)) ms ($state)"
}

nspawn_find_init() {
  kill -0 "$NSPAWN" 2>/dev/null || fail "systemd-nspawn exited early"
  L=$(pgrep -P "$NSPAWN" -x systemd || true)
  [ -n "$L" ]
}

nspawn_stop() {
  if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
    kill -TERM "$NSPAWN" 2>/dev/null || true   # nspawn asks the container to halt
    i=0
    while kill -0 "$NSPAWN" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$NSPAWN" 2>/dev/null; then
      echo "systemd-nspawn did not exit within 10 s; killing the container" >&2
      [ -n "$L" ] && kill -KILL "$L" 2>/dev/null
      kill -KILL "$NSPAWN" 2>/dev/null || true
    fi
    wait "$NSPAWN" 2>/dev/null || true
  fi
}

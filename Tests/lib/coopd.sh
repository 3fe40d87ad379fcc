# Sourced by the shell test suites: `start_coopd` runs $COOPD on a fresh state directory under $tmp (so it loads
# the embedded dataset) and waits for its socket, setting $socket; `stop_coopd` ends it (call it from cleanup).
coopd_pid=""
socket=$tmp/coopd.sock

start_coopd() {
  "$COOPD" --socket "$socket" --state-directory "$tmp/state" >"$tmp/coopd.log" 2>&1 &
  coopd_pid=$!
  tries=0
  while [ ! -S "$socket" ]; do
    tries=$((tries + 1))
    if [ $tries -gt 300 ] || ! kill -0 "$coopd_pid" 2>/dev/null; then
      echo "coopd did not start:" >&2
      cat "$tmp/coopd.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}

stop_coopd() {
  if [ -n "$coopd_pid" ]; then
    kill "$coopd_pid" 2>/dev/null || true
    wait "$coopd_pid" 2>/dev/null || true
  fi
}

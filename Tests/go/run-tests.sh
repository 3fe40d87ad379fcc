#!/bin/sh
# The Go example (Examples/go/pair_summary.go, on containerd's ttrpc as Debian packages it) against a coopd started
# here on a fresh state directory (so with the embedded dataset): run by `make test-go`, itself run by `make test`.
# It is given the socket three ways (argument, $COOP_SOCKET, $COOPD_SOCKET) and must print the VN-JP relationship
# level and the latest figure of JP_MHLW_FOREIGN_WORKERS.
# Environment: COOPD (the coopd binary), PAIR_SUMMARY (the built example).
set -eu
: "${COOPD:?set COOPD to the coopd binary}"
: "${PAIR_SUMMARY:?set PAIR_SUMMARY to the built Examples/go/pair_summary}"

tmp=$(mktemp -d /tmp/coop-go-tests-XXXXXX)
. "$(dirname "$0")/../lib/coopd.sh"
cleanup() {
  stop_coopd
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_coopd

check() {
  what=$1
  shift
  status=0
  "$@" >"$tmp/out" 2>&1 || status=$?
  if [ $status -ne 0 ]; then
    cat "$tmp/out" >&2
    echo "pair_summary ($what) failed with status $status" >&2
    exit 1
  fi
  for expected in "relationship: Comprehensive Strategic Partnership" "JP_MHLW_FOREIGN_WORKERS"; do
    grep -q "$expected" "$tmp/out" || { cat "$tmp/out" >&2; echo "pair_summary ($what) did not print \"$expected\"" >&2; exit 1; }
  done
  echo "pair_summary ($what): ok"
}

echo "== Examples/go/pair_summary against coopd"
check "socket argument" "$PAIR_SUMMARY" "$socket"
cat "$tmp/out"
check "\$COOP_SOCKET" env -u COOPD_SOCKET COOP_SOCKET="$socket" "$PAIR_SUMMARY"
check "\$COOPD_SOCKET" env -u COOP_SOCKET COOPD_SOCKET="$socket" "$PAIR_SUMMARY" VN JP
# An unknown country is coopd's NOT_FOUND or INVALID_ARGUMENT, reported with a non-zero status.
if "$PAIR_SUMMARY" "$socket" VN XX >"$tmp/out" 2>&1; then
  cat "$tmp/out" >&2
  echo "pair_summary VN XX succeeded" >&2
  exit 1
fi
echo "pair_summary VN XX fails: $(cat "$tmp/out")"
echo "Go example tests passed"

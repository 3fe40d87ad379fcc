#!/bin/sh
# A private PostgreSQL server for the tests: initdb into a temporary directory, listening only on a Unix socket in
# that directory (no TCP), run as an unprivileged user, stopped and removed at the end.
#
#   sh Tests/lib/postgres.sh run COMMAND [ARG...]
#       starts a server, runs COMMAND with COOPD_TEST_POSTGRES set to its socket directory (connect as user
#       "postgres", trust authentication, database "postgres"), then stops the server; exits with COMMAND's status.
#   sh Tests/lib/postgres.sh start DIR    /    sh Tests/lib/postgres.sh stop DIR
#       the same in two steps (the server's files and socket in DIR, made by the first start).
#   sh Tests/lib/postgres.sh halt DIR
#       stops the server and keeps its files: `start DIR` starts it again on the same data (fault tests).
#   sh Tests/lib/postgres.sh standby PRIMARY_DIR DIR
#       makes a streaming standby of the server in PRIMARY_DIR with pg_basebackup -R and starts it, its files and
#       socket in DIR (stopped and removed by `stop DIR`).
#
# Uses Debian's postgresql packages (installed by the Makefile's test-deps). As root the server runs as the
# `postgres` user the package creates; otherwise as the calling user. If no server binaries can be found, `run`
# says so and runs COMMAND without COOPD_TEST_POSTGRES (the PostgreSQL tests then fail when
# COOPD_TEST_REQUIRE_POSTGRES=1, as `make test` sets it).
set -eu

bindir() {
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  dir=$1
  bin=$(bindir) || { echo "postgres.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2; return 1; }
  if [ ! -d "$dir/data" ]; then
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  # No TCP; the socket in DIR. No fsync: the tests test coopd, not the disk (a crash of the machine is not among
  # them), and hundreds of test databases made and dropped in parallel must not starve the other tests of I/O.
  # (PG_DURABLE=1 keeps fsync on, for benchmarks of durable writes.) More connections than the default 100, for
  # many coopd and test stores at once.
  durability="-c fsync=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = 1 ] && durability=""
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=300 -c shared_buffers=64MB \
        $durability" \
    start </dev/null >/dev/null 2>>"$dir/pg_ctl.log" || { cat "$dir/pg_ctl.log" "$dir/server.log" >&2; return 1; }
}

standby() {
  primary=$1
  dir=$2
  bin=$(bindir) || { echo "postgres.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2; return 1; }
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  chmod 700 "$dir"
  # initdb's trust rules include replication over the local socket; -R writes primary_conninfo and standby.signal;
  # a fast checkpoint: the default, spread, keeps the backup waiting for seconds.
  as_owner "$bin/pg_basebackup" -h "$primary" -U postgres -D "$dir/data" -R -X stream --no-sync --checkpoint=fast \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; return 1; }
  start "$dir"
}

halt() {
  dir=$1
  bin=$(bindir) || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
}

stop() {
  halt "$1"
  rm -rf "$1"
}

case "${1:-}" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  halt) halt "$2" ;;
  standby) standby "$2" "$3" ;;
  run)
    shift
    if ! bindir >/dev/null; then
      echo "postgres.sh: no PostgreSQL server binaries; running without one" >&2
      exec "$@"
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/coopd-pg.XXXXXX")
    rmdir "$dir"
    trap 'stop "$dir"' EXIT
    trap 'exit 130' INT TERM
    start "$dir"
    status=0
    COOPD_TEST_POSTGRES="$dir" "$@" || status=$?
    exit $status
    ;;
  *)
    echo "usage: $0 run COMMAND... | start DIR | stop DIR | halt DIR | standby PRIMARY_DIR DIR" >&2
    exit 64
    ;;
esac

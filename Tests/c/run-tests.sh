#!/bin/sh
# The C client's tests (run by `make test-c`, which builds everything first):
#   1. libcoopclient.so exports nothing but coop_* symbols;
#   2. the test program (fake-server tests, then live tests against a coopd started here) under valgrind memcheck,
#      and its threaded tests under helgrind;
#   3. `make install-c DESTDIR=...`, then the examples built with nothing but pkg-config and run against coopd
#      (under valgrind too).
# Environment: COOPD (the coopd binary), C_BUILD (build directory), CC, VALGRIND (empty: run without it).
set -eu
: "${COOPD:?set COOPD to the coopd binary}"
C_BUILD=${C_BUILD:-.build-c}
CC=${CC:-cc}
VALGRIND=${VALGRIND-valgrind --quiet --leak-check=full --errors-for-leak-kinds=all --error-exitcode=1}

tmp=$(mktemp -d /tmp/coop-c-tests-XXXXXX)
. "$(dirname "$0")/../lib/coopd.sh"
cleanup() {
  stop_coopd
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_coopd

echo "== exported symbols: libcoopclient.so and .a export the API of coop/client.h and coop__v1__*, nothing else"
sym=Sources/CCoopClient/libcoopclient.sym
header=Sources/CCoopClient/include/coop/client.h
sed -n '/global:/,/local:/{s/^[[:space:]]*\(coop_[a-z_]*\);.*/\1/p}' "$sym" | grep -v '^coop__' | sort >"$tmp/map"
grep -o '^[a-z0-9_ *]*[ *]\(coop_[a-z_]*\)(' "$header" | sed 's/.*[ *]\(coop_[a-z_]*\)(/\1/' | sort -u >"$tmp/declared"
if ! diff "$tmp/declared" "$tmp/map" >"$tmp/diff"; then
  echo "functions of coop/client.h (<) and libcoopclient.sym (>) differ:" >&2
  cat "$tmp/diff" >&2
  exit 1
fi
for library in "$C_BUILD/libcoopclient.so" "$C_BUILD/libcoopclient.a"; do
  case $library in *.so) nm_flags="-D --defined-only" ;; *) nm_flags="-g --defined-only" ;; esac
  # shellcheck disable=SC2086
  nm $nm_flags "$library" | awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' | grep -v '^LIBCOOPCLIENT_' | sort >"$tmp/exported"
  grep -v '^coop__v1__' "$tmp/exported" >"$tmp/api" || true
  if ! diff "$tmp/declared" "$tmp/api" >"$tmp/diff"; then
    echo "$library exports other functions than coop/client.h declares:" >&2
    cat "$tmp/diff" >&2
    exit 1
  fi
  echo "$library: $(wc -l <"$tmp/api") API functions and $(grep -c '^coop__v1__' "$tmp/exported") coop__v1__* symbols"
done

echo "== coop/client.h compiles as strict C11: cc -std=c11 -pedantic -Werror"
printf '#include <coop/client.h>\nint main(void) { return coop_client_connect(NULL, 0, NULL) == 0; }\n' >"$tmp/header.c"
# shellcheck disable=SC2046 # word splitting wanted
$CC -std=c11 -pedantic -Wall -Wextra -Wstrict-prototypes -Werror -fsyntax-only \
  -ISources/CCoopClient/include -ISources/CCoopClient/generated $(pkg-config --cflags libprotobuf-c) "$tmp/header.c"
echo "coop/client.h: ok"

echo "== C tests${VALGRIND:+ under valgrind}"
# shellcheck disable=SC2086 # VALGRIND is a command line
COOP_TEST_SOCKET=$socket $VALGRIND "$C_BUILD/test-client"

if [ -n "$VALGRIND" ]; then
  echo "== the threaded tests under helgrind (data races, lock order)"
  COOP_TEST_SOCKET=$socket valgrind --quiet --tool=helgrind --error-exitcode=1 "$C_BUILD/test-client" \
    out_of_order many_threads read_too_slowly
fi

echo "== make install-c DESTDIR=$tmp/dest, examples built with pkg-config alone"
dest=$tmp/dest
make -s install-c DESTDIR="$dest" PREFIX=/usr/local C_BUILD="$C_BUILD" >/dev/null
PKG_CONFIG_PATH=$dest/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
echo "pkg-config --cflags --libs coopclient: $(pkg-config --cflags --libs coopclient)"
for example in Examples/c/*.c; do
  name=$(basename "$example" .c)
  # shellcheck disable=SC2046 # word splitting wanted
  $CC -std=c11 -pedantic -Wall -Werror -o "$tmp/$name" "$example" $(pkg-config --cflags --libs coopclient)
  echo "built $name"
done
LD_LIBRARY_PATH=$dest/usr/local/lib
export LD_LIBRARY_PATH
if ldd "$tmp/worker_series" | grep -q "libcoopclient.so.0 => $dest"; then
  echo "examples load the installed libcoopclient.so.0"
else
  echo "examples do not load the installed libcoopclient.so.0:" >&2
  ldd "$tmp/worker_series" >&2
  exit 1
fi

status=0
# shellcheck disable=SC2086
$VALGRIND "$tmp/worker_series" "$socket" >"$tmp/series.out" 2>&1 || status=$?
cat "$tmp/series.out"
if [ $status -ne 0 ]; then
  echo "worker_series failed" >&2
  exit 1
fi
grep -q "^VN -> JP" "$tmp/series.out" || { echo "worker_series printed no series" >&2; exit 1; }
grep -q "^  as of 2023-10-31  518364 persons" "$tmp/series.out" || { echo "worker_series: no 2023 point" >&2; exit 1; }

# shellcheck disable=SC2086
$VALGRIND "$tmp/watch_changes" --from 1 --for 1 "$socket" >"$tmp/watch.out" 2>&1 || { cat "$tmp/watch.out"; echo "watch_changes failed" >&2; exit 1; }
echo "watch_changes --from 1 --for 1: $(wc -l <"$tmp/watch.out") changes"
head -3 "$tmp/watch.out"
[ -s "$tmp/watch.out" ] || { echo "watch_changes printed no change" >&2; exit 1; }
echo "C client tests passed"

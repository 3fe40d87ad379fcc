# coopd: build, run, test.
#   make run    build and run the daemon on its defaults (per-user socket and state, no root needed)
#   make test   run every test (unit, in-process, end to end against coopd and the Go ttrpc peer, the C client,
#               the systemd units under a real systemd in systemd-nspawn when root, and the Debian packages)
#   make fuzz [FUZZ_TIME=30]   build the libFuzzer targets (Fuzz/), run each FUZZ_TIME seconds; fails on a crash
#   make install [PREFIX=/usr/local] [DESTDIR=]   coopd (static Swift stdlib), coopctl, units, sysusers, man pages,
#               and the C client library
#   make deb    Debian packages in .build-debian (DEB_BUILD): coopd_VERSION_amd64.deb (stripped binaries, units,
#               sysusers entry, man pages, maintainer scripts), libcoopclient0, libcoopclient-dev, and their -dbgsym
#   make test-deb   lintian on them, then apt-get install, a call, remove and purge under a real systemd (nspawn)
#   make libcoopclient / install-c / test-c   the C client library (see "libcoopclient" below)
#   make examples-go / test-go   the Go example (Examples/go) on containerd's ttrpc from Debian's packages
# Both install missing Debian packages first (apt-get; via sudo when not root).
# SHARED: the shared reference folder (bench tools and peers, the shipped dataset), for `make bench` and
# `check-dataset`; by default found by scripts/shared-dir.sh, beside this checkout or the repository it was cloned from.

SWIFT       ?= swift
JOBS        ?= 2
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR      ?= $(PREFIX)/share/man
DESTDIR     ?=
BENCH_BIN   ?= /tmp/ttrpc-anchor-bin
SHARED      ?= $(shell sh "$(CURDIR)/scripts/shared-dir.sh")
export BENCH_BIN

# Build and runtime needs, then what the tests need (Go ttrpc peer, socket activation, valgrind, and promtool for
# the metrics' exposition: Debian ships it in `prometheus`, whose server unit `systemctl disable --now prometheus`
# turns off where it is not wanted).
BUILD_PACKAGES = libprotobuf-c-dev libsystemd-dev protobuf-c-compiler protobuf-compiler libsqlite3-dev pkg-config
TEST_PACKAGES  = golang-go golang-github-containerd-ttrpc-dev systemd systemd-container gcc sqlite3 util-linux valgrind binutils \
                 python3 python3-protobuf python3-pytest python3-pandas python3-pip python3-venv postgresql prometheus

# Installed executables: coopd, and coopctl once Package.swift declares it. Man pages: man/*.[1-8].
INSTALL_PRODUCTS = coopd $(shell grep -Eq 'executable(Target)?.name: *"coopctl"' Package.swift && echo coopctl)
MAN_PAGES        = $(wildcard man/*.[1-8])
RELEASE_FLAGS    = -c release --static-swift-stdlib

.PHONY: bench bench-scale rust-peer symbol-order all build release run test test-tsan deps test-deps go-peer generate check-generated \
        check-dataset man clean \
        install install-bin install-units install-man deb test-deb test-systemd test-systemd-release test-consumer \
        libcoopclient examples-c test-c install-c uninstall-c fuzz fuzz-build fuzz-ci test-python examples-go test-go

all: build

deps:
	@sh scripts/install-packages.sh $(BUILD_PACKAGES)

test-deps: deps
	@sh scripts/install-packages.sh $(TEST_PACKAGES)

build: deps
	$(SWIFT) build -j $(JOBS)

# The installed executables and coop-bench, product by product: a build of everything would also link GRDB's
# dynamic library product, which cannot take the static Swift runtime.
release: deps
	@for p in $(INSTALL_PRODUCTS) coop-bench; do $(SWIFT) build -j $(JOBS) $(RELEASE_FLAGS) --product $$p || exit 1; done
	@$(SYMBOL_ORDER_STALE)

run: build
	$(SWIFT) run -j $(JOBS) coopd

# The independent Go ttrpc peer used by the interop tests (Tests/interop/ttrpc-go, on Debian's containerd ttrpc),
# built once into $(BENCH_BIN). The tests need nothing outside this repository.
go-peer: test-deps
	@[ -x "$(BENCH_BIN)/ttrpc-load" ] && [ -x "$(BENCH_BIN)/ttrpc-echo-server" ] || sh Tests/interop/ttrpc-go/build.sh

# Then the store suite and the many-hosts tests again beside a private PostgreSQL server (Tests/lib/postgres.sh:
# initdb in a temporary directory, a Unix socket only), so the store suite runs against both stores;
# COOPD_TEST_REQUIRE_POSTGRES makes its absence fail. A run of their own: their databases and daemons load the
# machine enough to starve the timing tests of the first run.
WITH_POSTGRES = COOPD_TEST_REQUIRE_POSTGRES=1 sh Tests/lib/postgres.sh run
POSTGRES_SUITES = CoopStoreTests|PostgresDaemonTests

test: test-deps check-generated check-dataset go-peer test-systemd
	$(SWIFT) build -j $(JOBS) --build-tests
	TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" $(SWIFT) test -j $(JOBS) --skip-build
	$(WITH_POSTGRES) $(SWIFT) test -j $(JOBS) --skip-build --filter '$(POSTGRES_SUITES)'
	$(MAKE) test-c
	$(MAKE) test-go
	$(MAKE) test-python
	$(MAKE) test-consumer
	$(MAKE) test-deb

# Another package depends on this repository by version (a tagged clone of HEAD: what is committed) and calls a live
# coopd through CoopClient; coopd's own linker flags must not reach it.
test-consumer: test-deps
	$(SWIFT) build -j $(JOBS) --build-tests
	JOBS=$(JOBS) sh Tests/consumer/run.sh "$$($(SWIFT) build -j $(JOBS) --show-bin-path)/coopd"

# The units under a real systemd (PID 1 in systemd-nspawn; skipped, saying why, without root or nspawn), after
# systemd-analyze verify and security. Uses the debug coopd (with its Swift runtime bound into the container);
# test-systemd-release runs the same test on the static release binary that make install installs.
# --build-tests everywhere: one build configuration for every test target (switching it rebuilds everything).
test-systemd: test-deps go-peer
	$(SWIFT) build -j $(JOBS) --build-tests
	TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" sh Tests/systemd/run.sh "$$($(SWIFT) build -j $(JOBS) --show-bin-path)/coopd"

# The Swift tests again under ThreadSanitizer (own build directory; the daemons the tests start are instrumented too).
# Any race report fails the run. Waits are stretched (COOP_TEST_PATIENCE) as instrumented code runs slower; the
# suppressions (Tests/tsan.supp) name the one known false report of the Swift runtime. At most 8 tests run at once:
# all 340 together leave instrumented handlers and daemons waiting on two cores for longer than any patient wait.
TSAN_FLAGS = --sanitize=thread --scratch-path .build-tsan
TSAN_WIDTH = --experimental-maximum-parallelization-width 8
test-tsan: test-deps go-peer
	$(SWIFT) build -j $(JOBS) --build-tests $(TSAN_FLAGS)
	TSAN_OPTIONS="suppressions=$(CURDIR)/Tests/tsan.supp" COOP_TEST_PATIENCE=4 TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" \
	  $(SWIFT) test -j $(JOBS) --skip-build $(TSAN_FLAGS) $(TSAN_WIDTH)
	TSAN_OPTIONS="suppressions=$(CURDIR)/Tests/tsan.supp" COOP_TEST_PATIENCE=4 \
	  $(WITH_POSTGRES) $(SWIFT) test -j $(JOBS) --skip-build $(TSAN_FLAGS) $(TSAN_WIDTH) --filter '$(POSTGRES_SUITES)'

test-systemd-release: test-deps go-peer
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coopd
	TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" sh Tests/systemd/run.sh "$$($(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --show-bin-path)/coopd"

# Stages into $(DESTDIR)$(PREFIX); never calls systemctl (see README, "Running as a service"). The C client
# library's section below adds install-c.
install: install-bin install-units install-man

install-bin: deps
	@for p in $(INSTALL_PRODUCTS); do echo "$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product $$p"; \
	  $(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product $$p || exit 1; done
	bin="$$($(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --show-bin-path)" && \
	  install -d "$(DESTDIR)$(BINDIR)" && \
	  for p in $(INSTALL_PRODUCTS); do install -m 755 "$$bin/$$p" "$(DESTDIR)$(BINDIR)/$$p" || exit 1; done

# ExecStart= in Systemd/coopd.service names /usr/local/bin/coopd; installed, it names $(BINDIR)/coopd.
install-units:
	install -d "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)"
	sed 's|^ExecStart=/usr/local/bin/coopd|ExecStart=$(BINDIR)/coopd|' Systemd/coopd.service >"$(DESTDIR)$(UNITDIR)/coopd.service"
	grep -qxF 'ExecStart=$(BINDIR)/coopd' "$(DESTDIR)$(UNITDIR)/coopd.service"
	chmod 644 "$(DESTDIR)$(UNITDIR)/coopd.service"
	install -m 644 Systemd/coopd.socket "$(DESTDIR)$(UNITDIR)/coopd.socket"
	install -m 644 Systemd/coopd.sysusers "$(DESTDIR)$(SYSUSERSDIR)/coopd.conf"

install-man:
	@for f in $(MAN_PAGES); do s=$${f##*.}; echo "install $$f -> $(DESTDIR)$(MANDIR)/man$$s"; \
	  install -d "$(DESTDIR)$(MANDIR)/man$$s" && install -m 644 "$$f" "$(DESTDIR)$(MANDIR)/man$$s/" || exit 1; done

# Debian packages, in $(DEB_BUILD): coopd_VERSION_ARCH.deb (coopd, coopctl, units, sysusers entry, man pages; the
# maintainer scripts enable and start coopd.socket, stop it on removal, and delete the database on purge),
# libcoopclient0 and libcoopclient-dev (the C library, built with dpkg-buildflags, all hardening on), and
# coopd-dbgsym and libcoopclient0-dbgsym (the debug information the packaged binaries are stripped of). Staged with
# make install (PREFIX=/usr, units in /lib/systemd/system as debhelper puts them on Debian 12, the library in the
# multiarch directory), then packaged by Debian/build.sh; VERSION is Debian/changelog's, whose upstream part must be
# what coopd --version prints. test-deb lints them, checks the stripping, and
# installs, calls, removes and purges them with apt-get under a real systemd (Tests/deb/run.sh).
DEB_BUILD    ?= .build-debian
DEB_PACKAGES  = dpkg-dev lintian binutils
DEB_STAGE     = $(abspath $(DEB_BUILD))/stage
DEB_BUILDFLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags

deb: deps
	@sh scripts/install-packages.sh $(DEB_PACKAGES)
	rm -rf "$(DEB_STAGE)"
	$(MAKE) install-bin install-units install-man DESTDIR="$(DEB_STAGE)" PREFIX=/usr UNITDIR=/lib/systemd/system
	$(MAKE) install-c DESTDIR="$(DEB_STAGE)" PREFIX=/usr LIBDIR=/usr/lib/$$(dpkg-architecture -qDEB_HOST_MULTIARCH) \
	  C_BUILD="$(DEB_BUILD)/c" CFLAGS="$$($(DEB_BUILDFLAGS) --get CFLAGS) $$($(DEB_BUILDFLAGS) --get CPPFLAGS)" \
	  LDFLAGS="$$($(DEB_BUILDFLAGS) --get LDFLAGS)"
	DEB_THREADS=$(JOBS) sh Debian/build.sh "$(DEB_STAGE)" "$(DEB_BUILD)"

test-deb: test-deps deb
	sh Tests/deb/run.sh "$(DEB_BUILD)"

# The performance suite, side by side with Go's and Rust's ttrpc in the same run (see BENCHMARKS.md); REPS and DUR
# per case. The Rust reference builds offline from Debian's crates.
REPS ?= 3
DUR  ?= 5
rust-peer: test-deps
	@[ -x "$(BENCH_BIN)/ttrpc-rust-echo-server" ] || { sh scripts/install-packages.sh librust-ttrpc-dev cargo && \
	  sh "$(SHARED)/bench/ttrpc-rust/build.sh"; }

bench: test-deps go-peer rust-peer
	@[ -x "$(BENCH_BIN)/pingpong" ] || sh "$(SHARED)/bench/raw-uds/build.sh"
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coopd
	@$(SYMBOL_ORDER_STALE)
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coop-bench
	SHARED="$(SHARED)" python3 scripts/bench.py --reps $(REPS) --dur $(DUR)

# coopd at 10^4, 10^5, 10^6 synthetic observations (SIZES=1e4,1e5,1e6,1e7 for the full table: ~15 GB, ~1 hour):
# READY time, RSS, the query mix, bytes per observation, backup time (scripts/bench-scale.py).
SIZES ?= 1e4,1e5,1e6
bench-scale: test-deps
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coopd
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coop-bench
	python3 scripts/bench-scale.py --sizes $(SIZES) --dur $(DUR)

# Re-profile coopd and rewrite the function order the linker follows (see scripts/symbol-order.sh). make release
# and make bench say how many of the symbols it lists the release coopd no longer has (informational).
SYMBOL_ORDER_STALE = sh scripts/symbol-order.sh --stale "$$($(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --show-bin-path)/coopd" || true
symbol-order: test-deps
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coopd
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coop-bench
	sh scripts/symbol-order.sh
	@# The order file is a linker input SwiftPM does not track: drop the binary so the next build links it anew.
	bin="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" && rm -f "$$bin/coopd"

# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the frame decoder, the envelope codecs and every
# request message through coopd's checks (Fuzz/Sources). COOPD_FUZZ makes Package.swift declare the targets; they
# build in their own scratch path, so the normal build is untouched. Each run starts from a temporary copy of
# Fuzz/corpus/<target>; inputs that fail land in $(FUZZ_BUILD)/artifacts. Regenerate the seeds with
# `python3 Fuzz/make-corpus.py`; replay one input with `$(FUZZ_BUILD)/release/coop-fuzz-<target> <file>`.
FUZZ_TIME    ?= 30
FUZZ_BUILD   ?= .build-fuzz
FUZZ_TARGETS ?= frame envelope requests

FUZZ_SWIFT_BUILD = COOPD_FUZZ=1 $(SWIFT) build --scratch-path $(FUZZ_BUILD) -c release -j $(JOBS) \
                   -Xswiftc -sanitize=fuzzer,address

fuzz-build: deps
	@for t in $(FUZZ_TARGETS); do echo "$(FUZZ_SWIFT_BUILD) --product coop-fuzz-$$t"; \
	  $(FUZZ_SWIFT_BUILD) --product coop-fuzz-$$t || exit 1; done

fuzz: fuzz-build
	FUZZ_BIN=$(FUZZ_BUILD)/release FUZZ_TIME=$(FUZZ_TIME) FUZZ_ARTIFACTS=$(FUZZ_BUILD)/artifacts \
	  sh Fuzz/run.sh $(FUZZ_TARGETS)

# For CI: 30 s per target, whatever FUZZ_TIME the environment has.
fuzz-ci:
	$(MAKE) fuzz FUZZ_TIME=30

generate:
	Proto/generate.sh

# Run by make test: the committed protobuf code is what Proto/ generates, and the embedded dataset is the shared
# folder's CSV (skipped, saying so, when that CSV is not there).
check-generated: deps
	sh Proto/generate.sh --check

check-dataset:
	@csv="$(SHARED)/data/vn-jp-figures.csv"; if [ -f "$$csv" ]; then sh scripts/embed-dataset.sh --check "$$csv"; \
	  else echo "check-dataset: skipped, $$csv does not exist (set SHARED to the shared folder)"; fi

# Man pages for coopctl and coopd, from their --help (swift-argument-parser's generate-manual plugin).
man: deps
	sh scripts/generate-man.sh

clean:
	rm -rf .build $(C_BUILD) $(FUZZ_BUILD) $(GO_BUILD) $(DEB_BUILD)

# ---------------------------------------------------------------------------------------------------------------------
# libcoopclient: the C client (Sources/CCoopClient), built with plain cc into $(C_BUILD); SwiftPM builds the same
# sources as the CCoopClient target.
#   make libcoopclient   libcoopclient.a, libcoopclient.so (soname libcoopclient.so.MAJOR), coopclient.pc
#   make install         (or install-c) into $(DESTDIR)$(PREFIX): lib/, include/coop/, lib/pkgconfig/coopclient.pc
#   make test-c          C tests against a live coopd and a fake server (under valgrind), then an install into a
#                        DESTDIR and the examples built with nothing but pkg-config

CC           ?= cc
OBJCOPY      ?= objcopy
C_BUILD      ?= .build-c
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
C_OPTIMIZE   ?= -O2 -g
VALGRIND     ?= valgrind --quiet --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
                --error-exitcode=1 --track-fds=no

C_DIR        = Sources/CCoopClient
C_VERSION    = $(shell sed -n 's/^\#define COOP_VERSION "\(.*\)"/\1/p' $(C_DIR)/include/coop/client.h)
C_SOMAJOR    = $(firstword $(subst ., ,$(C_VERSION)))
C_SOURCES    = $(wildcard $(C_DIR)/*.c $(C_DIR)/generated/*/*.pb-c.c $(C_DIR)/generated/*/*/*.pb-c.c \
                          $(C_DIR)/generated/*/*/*/*.pb-c.c)
C_HEADERS    = $(wildcard $(C_DIR)/*.h $(C_DIR)/include/coop/*.h $(C_DIR)/generated/*.h $(C_DIR)/generated/*/*.pb-c.h \
                          $(C_DIR)/generated/*/*/*.pb-c.h $(C_DIR)/generated/*/*/*/*.pb-c.h)
C_OBJECTS    = $(patsubst $(C_DIR)/%.c,$(C_BUILD)/obj/%.o,$(C_SOURCES))
# The generated code uses anonymous unions for oneofs (C11, accepted by gcc and clang in C99 mode).
C_CFLAGS     = -std=c99 $(C_OPTIMIZE) -fPIC -pthread -Wall -Wextra -Wshadow -Wstrict-prototypes \
               -I$(C_DIR)/include -I$(C_DIR)/generated $$(pkg-config --cflags libprotobuf-c) $(CFLAGS)
PROTOBUF_C_LIBS = $$(pkg-config --libs libprotobuf-c)
C_LIB_SO     = $(C_BUILD)/libcoopclient.so.$(C_VERSION)

libcoopclient: $(C_BUILD)/libcoopclient.a $(C_BUILD)/libcoopclient.so $(C_BUILD)/coopclient.pc

# A method of the .proto that coop/client.h does not declare is an error, not a silently unexported function.
$(C_BUILD)/obj/services.o: C_CFLAGS += -Werror=missing-prototypes

$(C_BUILD)/obj/%.o: $(C_DIR)/%.c $(C_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(C_CFLAGS) -c $< -o $@

# The symbols of libcoopclient.sym, one per line (patterns such as coop__v1__* included).
$(C_BUILD)/exported-symbols.txt: $(C_DIR)/libcoopclient.sym
	@mkdir -p $(C_BUILD)
	sed -n '/global:/,/local:/{s/^[[:space:]]*\([A-Za-z0-9_*]*\);.*/\1/p}' $< > $@

# One relocatable object in which only the exported symbols stay global, so that static users see the same
# names as shared ones (no ttrpc__* or grpc__health__v1__* to clash with their own generated code).
$(C_BUILD)/libcoopclient.a: $(C_OBJECTS) $(C_BUILD)/exported-symbols.txt
	@rm -f $@
	$(LD) -r -o $(C_BUILD)/coopclient.o $(C_OBJECTS)
	$(OBJCOPY) --wildcard --keep-global-symbols=$(C_BUILD)/exported-symbols.txt $(C_BUILD)/coopclient.o
	$(AR) rcs $@ $(C_BUILD)/coopclient.o

# Only coop_* (the API and the coop__v1__* message code) is exported: see libcoopclient.sym.
$(C_LIB_SO): $(C_OBJECTS) $(C_DIR)/libcoopclient.sym
	$(CC) -shared -pthread -Wl,-soname,libcoopclient.so.$(C_SOMAJOR) -Wl,--version-script=$(C_DIR)/libcoopclient.sym \
	  -Wl,--no-undefined -o $@ $(C_OBJECTS) $(PROTOBUF_C_LIBS) $(LDFLAGS)

$(C_BUILD)/libcoopclient.so: $(C_LIB_SO)
	ln -sf libcoopclient.so.$(C_VERSION) $(C_BUILD)/libcoopclient.so.$(C_SOMAJOR)
	ln -sf libcoopclient.so.$(C_VERSION) $@

# Regenerated on every run: it records PREFIX, LIBDIR and INCLUDEDIR.
$(C_BUILD)/coopclient.pc: $(C_DIR)/coopclient.pc.in FORCE
	@mkdir -p $(C_BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	  -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	  -e 's|@VERSION@|$(C_VERSION)|' $< > $@

install: install-c

install-c: libcoopclient
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR)/coop/v1
	install -m 644 $(C_BUILD)/libcoopclient.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(C_LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libcoopclient.so.$(C_VERSION) $(DESTDIR)$(LIBDIR)/libcoopclient.so.$(C_SOMAJOR)
	ln -sf libcoopclient.so.$(C_VERSION) $(DESTDIR)$(LIBDIR)/libcoopclient.so
	install -m 644 $(C_DIR)/include/coop/client.h $(DESTDIR)$(INCLUDEDIR)/coop/
	install -m 644 $(C_DIR)/generated/coop/v1/cooperation.pb-c.h $(C_DIR)/generated/coop/v1/diagnostics.pb-c.h \
	  $(DESTDIR)$(INCLUDEDIR)/coop/v1/
	install -m 644 $(C_BUILD)/coopclient.pc $(DESTDIR)$(PKGCONFIGDIR)/

uninstall-c:
	rm -f $(DESTDIR)$(LIBDIR)/libcoopclient.a $(DESTDIR)$(LIBDIR)/libcoopclient.so \
	  $(DESTDIR)$(LIBDIR)/libcoopclient.so.$(C_SOMAJOR) $(DESTDIR)$(LIBDIR)/libcoopclient.so.$(C_VERSION) \
	  $(DESTDIR)$(INCLUDEDIR)/coop/client.h $(DESTDIR)$(INCLUDEDIR)/coop/v1/cooperation.pb-c.h \
	  $(DESTDIR)$(INCLUDEDIR)/coop/v1/diagnostics.pb-c.h $(DESTDIR)$(PKGCONFIGDIR)/coopclient.pc
	-rmdir $(DESTDIR)$(INCLUDEDIR)/coop/v1 $(DESTDIR)$(INCLUDEDIR)/coop 2>/dev/null

# The examples, linked against the static library of the build tree (test-c also builds them from an install).
C_EXAMPLES = $(patsubst Examples/c/%.c,$(C_BUILD)/examples/%,$(wildcard Examples/c/*.c))

examples-c: $(C_EXAMPLES)

$(C_BUILD)/examples/%: Examples/c/%.c $(C_BUILD)/libcoopclient.a
	@mkdir -p $(dir $@)
	$(CC) $(C_CFLAGS) -o $@ $< $(C_BUILD)/libcoopclient.a $(PROTOBUF_C_LIBS)

# The test program links the library's objects: its fake server uses the ttrpc and health message code too.
C_TEST_SOURCES = $(wildcard Tests/c/*.c)

$(C_BUILD)/test-client: $(C_TEST_SOURCES) $(wildcard Tests/c/*.h) $(C_OBJECTS)
	$(CC) $(C_CFLAGS) -O0 -o $@ $(C_TEST_SOURCES) $(C_OBJECTS) $(PROTOBUF_C_LIBS)

test-c: test-deps libcoopclient examples-c $(C_BUILD)/test-client
	$(SWIFT) build -j $(JOBS) --build-tests
	CC="$(CC)" VALGRIND="$(VALGRIND)" C_BUILD="$(C_BUILD)" COOPD="$$($(SWIFT) build -j $(JOBS) --show-bin-path)/coopd" \
	  sh Tests/c/run-tests.sh

# The Python client (clients/python): its pytest suite against a coopd it starts, with Debian's python3-protobuf,
# pytest and pandas (the system python3, not a pyenv or venv one that lacks them), from the source tree.
PYTHON ?= /usr/bin/python3
test-python: test-deps
	$(SWIFT) build -j $(JOBS) --build-tests
	cd clients/python && COOPD="$$($(SWIFT) build -j $(JOBS) --show-bin-path)/coopd" PYTHONPATH=src PYTHONDONTWRITEBYTECODE=1 \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests

# ---------------------------------------------------------------------------------------------------------------------
# The Go example: Examples/go/pair_summary.go calls GetPairSummary with containerd's ttrpc 1.1.1 as Debian packages it
# (GOPATH mode against /usr/share/gocode, offline), built into $(GO_BUILD); test-go runs it against a live coopd.
GO_BUILD ?= .build-go

examples-go: test-deps
	sh Examples/go/build.sh $(GO_BUILD)

test-go: examples-go
	$(SWIFT) build -j $(JOBS) --build-tests
	COOPD="$$($(SWIFT) build -j $(JOBS) --show-bin-path)/coopd" PAIR_SUMMARY="$(GO_BUILD)/pair_summary" \
	  sh Tests/go/run-tests.sh

FORCE:

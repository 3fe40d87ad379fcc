# coopd: build, run, test.
#   make run    build and run the daemon on its defaults (per-user socket and state, no root needed)
#   make test   run every test (unit, in-process, end to end against coopd and the Go ttrpc peer,
#               and the systemd units under a real systemd in systemd-nspawn when root)
#   make install [PREFIX=/usr/local] [DESTDIR=]   coopd (static Swift stdlib), coopctl, units, sysusers, man pages
# Both install missing Debian packages first (apt-get; via sudo when not root).

SWIFT       ?= swift
JOBS        ?= 2
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR      ?= $(PREFIX)/share/man
DESTDIR     ?=
BENCH_BIN   ?= /tmp/ttrpc-anchor-bin
SHARED      ?= $(firstword $(wildcard $(CURDIR)/../shared /work/shared) $(CURDIR)/../shared)
export BENCH_BIN

# Build and runtime needs, then what the tests need (Go ttrpc peer, socket activation, valgrind).
BUILD_PACKAGES = libprotobuf-c-dev libsystemd-dev protobuf-c-compiler protobuf-compiler libsqlite3-dev pkg-config
TEST_PACKAGES  = golang-go golang-github-containerd-ttrpc-dev systemd systemd-container gcc sqlite3 util-linux python3

# Installed executables: coopd, and coopctl once Package.swift declares it. Man pages: man/*.[1-8].
INSTALL_PRODUCTS = coopd $(shell grep -Eq 'executable(Target)?.name: *"coopctl"' Package.swift && echo coopctl)
MAN_PAGES        = $(wildcard man/*.[1-8])
RELEASE_FLAGS    = -c release --static-swift-stdlib

.PHONY: all build release run test deps test-deps go-peer generate check-generated clean \
        install install-bin install-units install-man test-systemd test-systemd-release

all: build

deps:
	@sh scripts/install-packages.sh $(BUILD_PACKAGES)

test-deps: deps
	@sh scripts/install-packages.sh $(TEST_PACKAGES)

build: deps
	$(SWIFT) build -j $(JOBS)

release: deps
	$(SWIFT) build -j $(JOBS) -c release --static-swift-stdlib

run: build
	$(SWIFT) run -j $(JOBS) coopd

# The independent Go ttrpc peer used by the interop tests.
go-peer: test-deps
	@if [ ! -x "$(BENCH_BIN)/ttrpc-load" ] || [ ! -x "$(BENCH_BIN)/ttrpc-echo-server" ]; then \
	  sh "$(SHARED)/bench/ttrpc-go/build.sh"; fi

test: test-deps go-peer test-systemd
	$(SWIFT) build -j $(JOBS) --build-tests
	TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" $(SWIFT) test -j $(JOBS) --skip-build

# The units under a real systemd (PID 1 in systemd-nspawn; skipped, saying why, without root or nspawn), after
# systemd-analyze verify and security. Uses the debug coopd (with its Swift runtime bound into the container);
# test-systemd-release runs the same test on the static release binary that make install installs.
test-systemd: test-deps go-peer
	$(SWIFT) build -j $(JOBS) --product coopd
	TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" sh Tests/systemd/run.sh "$$($(SWIFT) build -j $(JOBS) --show-bin-path)/coopd"

test-systemd-release: test-deps go-peer
	$(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --product coopd
	TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" sh Tests/systemd/run.sh "$$($(SWIFT) build $(RELEASE_FLAGS) -j $(JOBS) --show-bin-path)/coopd"

# Stages into $(DESTDIR)$(PREFIX); never calls systemctl (see README, "Running as a service").
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

generate:
	Proto/generate.sh

check-generated:
	Proto/generate.sh --check

clean:
	rm -rf .build

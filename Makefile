# coopd: build, run, test.
#   make run    build and run the daemon on its defaults (per-user socket and state, no root needed)
#   make test   run every test (unit, in-process, end to end against coopd and the Go ttrpc peer)
# Both install missing Debian packages first (apt-get; via sudo when not root).

SWIFT       ?= swift
JOBS        ?= 2
PREFIX      ?= /usr/local
BENCH_BIN   ?= /tmp/ttrpc-anchor-bin
SHARED      ?= $(firstword $(wildcard $(CURDIR)/../shared /work/shared) $(CURDIR)/../shared)
export BENCH_BIN

# Build and runtime needs, then what the tests need (Go ttrpc peer, socket activation, valgrind).
BUILD_PACKAGES = libprotobuf-c-dev libsystemd-dev protobuf-c-compiler protobuf-compiler libsqlite3-dev pkg-config
TEST_PACKAGES  = golang-go golang-github-containerd-ttrpc-dev systemd systemd-container gcc sqlite3 util-linux

.PHONY: all build release run test deps test-deps go-peer generate check-generated man clean

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

test: test-deps go-peer
	$(SWIFT) build -j $(JOBS) --build-tests
	TTRPC_LOAD="$(BENCH_BIN)/ttrpc-load" $(SWIFT) test -j $(JOBS) --skip-build

generate:
	Proto/generate.sh

check-generated:
	Proto/generate.sh --check

# Man pages for coopctl and coopd, from their --help (swift-argument-parser's generate-manual plugin).
man: deps
	sh scripts/generate-man.sh

clean:
	rm -rf .build

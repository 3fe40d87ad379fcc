#!/bin/sh
# Builds the independent ttrpc peer the interop tests run against: an echo server and a load generator on
# containerd's Go ttrpc (1.1.1) as Debian packages it (golang-go, golang-github-containerd-ttrpc-dev), offline:
# GOPATH mode against /usr/share/gocode, no modules, no network. Each .go file is its own `package main`.
# Output: $BENCH_BIN/ttrpc-echo-server and $BENCH_BIN/ttrpc-load (default /tmp/ttrpc-anchor-bin).
set -eu
cd "$(dirname "$0")"
export GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
export GOCACHE="${GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/go-build}"
bin="${BENCH_BIN:-/tmp/ttrpc-anchor-bin}"
mkdir -p "$bin"
go build -trimpath -o "$bin/ttrpc-echo-server" server.go
go build -trimpath -o "$bin/ttrpc-load" load.go

#!/bin/sh
# Builds Examples/go/pair_summary.go offline, as Tests/interop/ttrpc-go/build.sh builds the interop peer: GOPATH
# mode against Debian's /usr/share/gocode (golang-go, golang-github-containerd-ttrpc-dev: containerd ttrpc 1.1.1),
# no modules, no network.
#   usage: build.sh [OUTPUT_DIR]   (default .build-go; the binary is OUTPUT_DIR/pair_summary)
set -eu
out=${1:-.build-go}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")"
export GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
export GOCACHE="${GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/go-build}"
go vet pair_summary.go
go build -trimpath -o "$out/pair_summary" pair_summary.go
echo "built $out/pair_summary"

#!/bin/sh
# Regenerates the committed protobuf code from Proto/:
#   Swift (protoc-gen-swift) into Sources/CoopProto/
#   C     (protoc-c)         into Sources/CCoopClient/generated/
#   method tables (methods.py) into both: each RPC's path and message types, for routing and the clients
# Needs protoc and protoc-c (apt: protobuf-compiler protobuf-c-compiler). protoc-gen-swift is taken
# from $PROTOC_GEN_SWIFT, then PATH, else built once from the swift-protobuf package this project uses.
# With --check, generates into a temporary directory and fails on any difference from what is committed.
set -eu
cd "$(dirname "$0")/.."
root=$PWD

protos=$(cd Proto && find . -name '*.proto' | sed 's|^\./||' | sort)

swift_out=$root/Sources/CoopProto
c_out=$root/Sources/CCoopClient/generated
check=no
if [ "${1:-}" = "--check" ]; then
  check=yes
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  swift_out=$tmp/swift
  c_out=$tmp/c
fi

plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
if [ -z "$plugin" ]; then
  plugin=$root/.build-protoc-gen-swift/release/protoc-gen-swift
  if [ ! -x "$plugin" ]; then
    swift package resolve >/dev/null
    swift build -c release -j 2 --package-path .build/checkouts/swift-protobuf \
      --scratch-path "$root/.build-protoc-gen-swift" --product protoc-gen-swift >&2
  fi
fi

mkdir -p "$swift_out" "$c_out"
find "$swift_out" -name '*.pb.swift' -delete
find "$c_out" -name '*.pb-c.[ch]' -delete
rm -f "$c_out/coop_methods.h"
cd Proto
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  --swift_out="$swift_out" $protos
protoc-c --c_out="$c_out" $protos
# Method tables (service_methods.pb.swift, coop_methods.h) from the services' descriptors.
protoc --descriptor_set_out=/dev/stdout $protos | python3 methods.py "$swift_out" "$c_out"

if [ $check = yes ]; then
  diff -r "$tmp/swift" "$root/Sources/CoopProto" && diff -r "$tmp/c" "$root/Sources/CCoopClient/generated" \
    || { echo "generated code is out of date: run Proto/generate.sh" >&2; exit 1; }
fi

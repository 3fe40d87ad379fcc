#!/bin/sh
# Someone else's package depends on this repository by version (a tagged clone of what is committed) and calls a
# live coopd through CoopClient: the library keeps building for its users, and coopd's own linker tuning (lld,
# symbol order: unsafe flags on the coopd target) stays out of their builds.
# Usage: run.sh PATH-TO-COOPD
set -eu
coopd=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

git clone -q "$repo" "$tmp/coopd"
version=99.0.0
git -C "$tmp/coopd" tag "$version"

mkdir -p "$tmp/consumer/Sources/consumer"
cat > "$tmp/consumer/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "consumer",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "file://$tmp/coopd", from: "$version")],
    targets: [
        .executableTarget(name: "consumer", dependencies: [.product(name: "CoopClient", package: "coopd")]),
    ]
)
SWIFT
cat > "$tmp/consumer/Sources/consumer/main.swift" <<'SWIFT'
import CoopClient

let client = CoopClient(socketPath: CommandLine.arguments[1])
let summary = try await client.pairSummary("VN", "JP", options: CallOptions(timeout: .seconds(10)))
print("relationship:", summary.relationship.level)
print("indicators:", summary.indicators.map(\.indicator.code).joined(separator: " "))
await client.close()
SWIFT

echo "consumer: building against a tagged clone ($version)"
(cd "$tmp/consumer" && swift build -j "${JOBS:-2}" 2>&1 | tail -3)

mkdir -m 700 "$tmp/state"
"$coopd" serve --socket "$tmp/state/coopd.sock" --state-directory "$tmp/state" > "$tmp/coopd.log" 2>&1 &
pid=$!
i=0
until grep -q ready "$tmp/coopd.log" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 300 ] || { cat "$tmp/coopd.log"; echo "consumer: coopd did not start" >&2; exit 1; }
  sleep 0.1
done
out=$("$tmp/consumer/.build/debug/consumer" "$tmp/state/coopd.sock")
echo "$out"
echo "$out" | grep -q "relationship: Comprehensive Strategic Partnership" \
  || { echo "consumer: no relationship level in the answer" >&2; exit 1; }
echo "$out" | grep -q "JP_MHLW_FOREIGN_WORKERS" || { echo "consumer: no latest MHLW figure" >&2; exit 1; }
echo "PASS a package depending on CoopClient by version builds and calls coopd"

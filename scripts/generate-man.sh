#!/bin/sh
# Regenerates man/coopctl.1 and man/coopd.8 from the commands' own help, with swift-argument-parser's
# generate-manual plugin (works offline once the package's dependencies are fetched), then tidies the mdoc:
# blank lines become paragraph breaks (.Pp).
#   scripts/generate-man.sh [DATE]     DATE as yyyy-mm-dd, default today
set -eu
cd "$(dirname "$0")/.."
date="${1:-$(date -u +%Y-%m-%d)}"
out=.build/plugins/GenerateManual/outputs
mkdir -p man

tidy() { # tidy INPUT OUTPUT
    awk 'NF == 0 { print ".Pp"; next } { print }' "$1" > "$2.tmp"
    mv "$2.tmp" "$2"
}

swift package plugin generate-manual --configuration debug --date "$date" --section 1 --authors "the coopd project"
tidy "$out/coopctl/coopctl.1" man/coopctl.1

swift package plugin generate-manual --configuration debug --date "$date" --section 8 --authors "the coopd project"
tidy "$out/coopd/coopd.8" man/coopd.8
echo "wrote man/coopctl.1 man/coopd.8"

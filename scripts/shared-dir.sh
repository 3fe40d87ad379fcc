#!/bin/sh
# Prints the shared reference folder (the bench tools and peers, the shipped dataset).
# $SHARED when set; else the first `shared` folder found beside this checkout, beside the main checkout (when this
# is a linked worktree), or beside the repository this one was cloned from (when that is a local path); else
# ../shared beside this checkout, which then does not exist (what needs it says so).
set -eu
if [ -n "${SHARED:-}" ]; then
  echo "$SHARED"
  exit 0
fi
cd "$(dirname "$0")/.."
here=$(pwd -P)

found() {
  if [ -d "$1/shared" ]; then
    (cd "$1/shared" && pwd -P)
    exit 0
  fi
}

found "$here/.."
common=$(git rev-parse --git-common-dir 2>/dev/null || true)
if [ -n "$common" ] && [ -d "$common" ]; then
  found "$(cd "$common/.." && pwd -P)/.."
fi
origin=$(git config --get remote.origin.url 2>/dev/null || true)
case $origin in
  file://*) origin=${origin#file://} ;;
  /*) ;;
  *) origin= ;;
esac
if [ -n "$origin" ] && [ -d "$origin" ]; then
  found "$origin/.."
fi
echo "$here/../shared"

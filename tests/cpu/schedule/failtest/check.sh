#!/bin/sh
# Compiles each failtest/*.cpp and passes when every one fails with its "// expect:" text.
# Usage: check.sh [c++ compiler] [include dir]   (defaults: c++, the repo's include/)
set -u
here=$(cd "$(dirname "$0")" && pwd)
cxx=${1:-c++}
inc=${2:-$here/../../../../include}
status=0
for src in "$here"/*.cpp; do
    want=$(sed -n 's|^// expect: ||p' "$src")
    if out=$("$cxx" -std=c++20 -fsyntax-only -I"$inc" "$src" 2>&1); then
        echo "FAIL $(basename "$src"): compiled, expected an error"; status=1
    elif printf '%s' "$out" | grep -qF "$want"; then
        echo "ok   $(basename "$src")"
    else
        echo "FAIL $(basename "$src"): error without \"$want\""; status=1
    fi
done
exit $status

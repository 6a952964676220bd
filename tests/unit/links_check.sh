#!/bin/sh
# Checks what a client program links (docs/architecture.md), for the
# *_links.sh tests: links_check.sh NAME PROGRAM FORBIDDEN REQUIRED...
# fails when PROGRAM defines a symbol matching the extended regular
# expression FORBIDDEN, or lacks one of the REQUIRED functions. Run by make
# check from the build directory.
set -u
name=$1 prog=$2 bin=./$2 forbidden=$3
shift 3
[ -x "$bin" ] || { echo "$name: $bin not built"; exit 1; }
command -v nm >/dev/null 2>&1 || { echo "$name: SKIP: no nm"; exit 77; }
bad=$(nm "$bin" | awk '$2 == "T" || $2 == "t" || $2 == "D" || $2 == "R" || $2 == "B" { print $3 }' |
	grep -E "$forbidden" | head -n 20)
if [ -n "$bad" ]; then
	echo "$name: $prog links what it must not:"
	echo "$bad"
	exit 1
fi
for sym in "$@"; do
	nm "$bin" | grep -q " T $sym\$" || { echo "$name: no $sym"; exit 1; }
done
echo "$name: ok"

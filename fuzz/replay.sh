#!/bin/sh
# SPDX-License-Identifier: MIT
# replay.sh: every fuzz target over its generated seed corpus and over
# every input in fuzz/regress/ (each crash ever found, minimised), with
# the ordinary build. A crash or a broken invariant fails the test.
set -eu
b=${top_builddir:-.}
s=${top_srcdir:-.}
seeds=$b/fuzz/seeds
rm -rf "$seeds"
# The targets' scratch files go in a directory of ours, removed however
# a target ends (a crash runs no exit handler of its own).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mapq-replay.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export MAPQ_FUZZ_TMPDIR="$tmp"
targets="open frames ops"
run() { # a program of the build, and its arguments: under $WINE if set
	p=$1
	shift
	if [ -n "${WINE:-}" ]; then "$WINE" "$p.exe" "$@"; else "$p" "$@"; fi
}
if [ -n "${WINE:-}" ]; then
	# a Windows build (tests/windows.mk), under Wine
	targets="open frames"
	echo "replay: ops is not run on Windows: it kills a writer by dropping its lock with fcntl(F_OFD_SETLK)"
fi
run "$b/fuzz/gen-seeds" "$seeds" > /dev/null
for t in $targets; do
	set -- "$seeds/$t"
	[ -d "$s/fuzz/regress/$t" ] && set -- "$@" "$s/fuzz/regress/$t"
	run "$b/fuzz/replay-$t" "$@"
done

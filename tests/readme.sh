#!/bin/sh
# SPDX-License-Identifier: MIT
# readme: the README's API program (cut out of README.md and compiled by
# make with -Wall -Wextra -Werror) runs, sends "hello" and reads it back
# through its durable reader, twice over the same queue.
set -u
prog="${top_builddir:-.}/tests/readme_api"
[ -x "$prog" ] || { echo "readme: $prog was not built"; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/mapq-test.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
for run in 1 2; do
	out=$(MAPQ_DIR="$d" timeout 20 "$prog" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || { echo "readme: run $run exited $rc: $out"; exit 1; }
	[ "$out" = "got hello" ] || { echo "readme: run $run printed '$out', want 'got hello'"; exit 1; }
done
[ -f "$d/orders" ] || { echo "readme: the program did not create \$MAPQ_DIR/orders"; exit 1; }
echo "readme: the API program ran twice, each run read its own hello"

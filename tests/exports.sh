#!/bin/sh
# SPDX-License-Identifier: MIT
# exports: the shared library exports exactly the symbols in src/libmapq.sym.
set -eu
lib="${top_builddir:-.}/.libs/libmapq.so"
sym="${top_srcdir:-.}/src/libmapq.sym"
[ -f "$lib" ] || { echo "SKIP: $lib not built (static-only build?)"; exit 77; }
command -v nm >/dev/null || { echo "SKIP: nm not found"; exit 77; }
want=$(sed -n 's/^[[:space:]]*\(mapq_[a-z_0-9]*\);.*/\1/p' "$sym" | sort)
have=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ { sub(/@.*/, "", $3); print $3 }' | sort)
if [ "$want" != "$have" ]; then
	echo "exported symbols differ from $sym:"
	printf '%s\n' "$want" > exports.want
	printf '%s\n' "$have" > exports.have
	diff exports.want exports.have || true
	rm -f exports.want exports.have
	exit 1
fi
echo "exports: $(printf '%s\n' "$have" | wc -l) symbols, all listed"

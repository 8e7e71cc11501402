#!/bin/sh
# SPDX-License-Identifier: MIT
# win_exports.sh: the Windows DLL exports exactly the public symbols, the
# ones src/libmapq.sym lists (the Linux library's export list), no internal
# mapq__ name and nothing else. Run on the build machine, with the cross
# toolchain's objdump (OBJDUMP, from configure).
top=${top_srcdir:-$(dirname "$0")/..}
dll=$(ls .libs/libmapq-*.dll 2>/dev/null | head -1)
test -n "$dll" || { echo "win_exports.sh: no .libs/libmapq-*.dll: is this a Windows build?"; exit 99; }
objdump=${OBJDUMP:-objdump}
command -v "$objdump" > /dev/null || { echo "win_exports.sh: no $objdump"; exit 99; }
# The export table's names: lines "[ N] name" after "[Ordinal/Name Pointer] Table".
got=$("$objdump" -p "$dll" | sed -n '/Ordinal\/Name Pointer/,/^$/s/^[[:space:]]*\[[[:space:]]*[0-9]*\][[:space:]]*\([A-Za-z_0-9]*\)$/\1/p' | sort)
want=$(sed -n 's/^[[:space:]]*\(mapq_[a-z_0-9]*\);.*/\1/p' "$top/src/libmapq.sym" | sort)
test -n "$want" || { echo "win_exports.sh: no symbols read from src/libmapq.sym"; exit 99; }
if [ "$got" != "$want" ]; then
	echo "win_exports.sh: $dll exports what src/libmapq.sym does not list, or the other way round:"
	echo "--- src/libmapq.sym"
	echo "+++ $dll"
	printf '%s\n' "$want" > exports.want.$$
	printf '%s\n' "$got" > exports.got.$$
	diff exports.want.$$ exports.got.$$ | sed -n 's/^[<>] /&/p'
	rm -f exports.want.$$ exports.got.$$
	exit 1
fi
echo "win_exports.sh: $dll exports the $(printf '%s\n' "$got" | wc -l) public symbols and nothing else"

#!/bin/sh
# SPDX-License-Identifier: MIT
# abi: the library's binary interface is the one recorded. The soname's
# number is the Debian package's (libmapqN) and the symbols file's; every
# symbol of debian/libmapq0.symbols (the released interface) is exported
# with its version node, so a symbol removed or changed without a soname
# bump fails here; every exported symbol is recorded there; and the
# symbols file names exactly the symbols of src/libmapq.sym.
set -eu
top=${top_srcdir:-.}
lib="${top_builddir:-.}/.libs/libmapq.so"
symfile=$top/debian/libmapq0.symbols
[ -f "$lib" ] || { echo "SKIP: $lib not built (static-only build?)"; exit 77; }
for t in nm objdump; do
	command -v $t > /dev/null || { echo "SKIP: $t not found (binutils)"; exit 77; }
done
fail=0
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
major=${soname#libmapq.so.}
pkg=$(sed -n 's/^Package: \(libmapq[0-9][0-9]*\)$/\1/p' "$top/debian/control")
head=$(sed -n 1p "$symfile")
[ "$head" = "$soname libmapq$major #MINVER#" ] ||
	{ echo "FAIL: $symfile starts '$head', but the library's soname is $soname"; fail=1; }
[ "$pkg" = "libmapq$major" ] ||
	{ echo "FAIL: debian/control's library package is '$pkg', the soname $soname asks for libmapq$major"; fail=1; }
have=$(nm -D --defined-only "$lib" | awk '
	$2 == "A" { print $3 "@" $3; next }
	$2 ~ /^[TDBR]$/ { sub(/@@/, "@", $3); print $3 }' | sort)
want=$(sed -n 's/^ \([A-Za-z_0-9]*@[A-Z_0-9]*\) .*/\1/p' "$symfile" | sort)
gone=$(printf '%s\n' "$want" | grep -vxF "$have" || true)
new=$(printf '%s\n' "$have" | grep -vxF "$want" || true)
if [ -n "$gone" ]; then
	echo "FAIL: recorded in $symfile but not exported as recorded (removed, or moved to"
	echo "another version node): an incompatible change needs a soname bump (configure.ac's"
	echo "libtool version, the package libmapqN, and a new symbols file):"
	printf '  %s\n' $gone
	fail=1
fi
if [ -n "$new" ]; then
	echo "FAIL: exported but not recorded in $symfile; add each with the version"
	echo "that adds it (debian/gen-symbols VERSION prints the lines):"
	printf '  %s\n' $new
	fail=1
fi
map=$(sed -n 's/^[[:space:]]*\(mapq_[a-z_0-9]*\);.*/\1/p' "$top/src/libmapq.sym" | sort)
rec=$(printf '%s\n' "$want" | sed -n 's/^\(mapq_[a-z_0-9]*\)@.*/\1/p' | sort)
[ "$map" = "$rec" ] || { echo "FAIL: src/libmapq.sym and $symfile name different symbols"; fail=1; }
[ $fail -eq 0 ] || exit 1
echo "abi: $soname, $(printf '%s\n' "$have" | wc -l) symbols exported as recorded in debian/libmapq0.symbols"

#!/bin/sh
# SPDX-License-Identifier: MIT
# version: one version everywhere: AC_INIT in configure.ac, what
# mapq_version() returns and `mapq --version' says, the newest entry of
# debian/changelog, and the newest release in NEWS.
set -eu
top=${top_srcdir:-.}
mapq="${top_builddir:-.}/cli/mapq"
ac=$(sed -n 's/^AC_INIT(\[mapq\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
deb=$(sed -n '1s/^mapq (\([^)-]*\)\(-[^)]*\)\{0,1\}).*/\1/p' "$top/debian/changelog")
news=$(sed -n 's/^\* \([0-9][0-9.]*\) .*/\1/p' "$top/NEWS" | head -n 1)
[ -x "$mapq" ] || { echo "SKIP: $mapq not built"; exit 77; }
out=$("$mapq" --version)
tool=$(printf '%s\n' "$out" | sed -n 's/^mapq \([^ ]*\) (libmapq \([^)]*\))$/\1/p')
lib=$(printf '%s\n' "$out" | sed -n 's/^mapq \([^ ]*\) (libmapq \([^)]*\))$/\2/p')
fail=0
for pair in "configure.ac's AC_INIT:$ac" "debian/changelog:$deb" "NEWS:$news" \
	"mapq --version:$tool" "mapq_version():$lib"; do
	name=${pair%:*} v=${pair##*:}
	if [ "$v" != "$ac" ] || [ -z "$v" ]; then
		echo "FAIL: $name says '$v', configure.ac's AC_INIT '$ac'"
		fail=1
	fi
done
[ $fail -eq 0 ] || exit 1
echo "version: $ac in configure.ac, debian/changelog, NEWS, mapq --version and mapq_version()"

#!/bin/bash -eu
# SPDX-License-Identifier: MIT
# OSS-Fuzz / ClusterFuzzLite build: every target in fuzz/, linked with
# $LIB_FUZZING_ENGINE, with its seed corpus and dictionary, into $OUT.
# CI runs this script directly with clang's libFuzzer (make ossfuzz-check).
src=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-/tmp}/mapq-ossfuzz
rm -rf "$work" && mkdir -p "$work" "$OUT"
cd "$src"
[ -x configure ] || ./autogen.sh
cd "$work"
# The service's undefined-behaviour build reports unsigned wrap-around too
# (recoverably: a line of output, not a crash). The library counts down
# and wraps unsigned on purpose (CRC loops, lap arithmetic), so each run
# would print those lines: not asked for here.
if [ "${SANITIZER:-}" = undefined ]; then
	CFLAGS="$CFLAGS -fno-sanitize=unsigned-integer-overflow"
fi
"$src/configure" --disable-shared CC="$CC" CFLAGS="$CFLAGS" > configure.log
make -j"$(nproc)" fuzz/gen-seeds > make.log
./fuzz/gen-seeds seeds > /dev/null
# every library source but the other platform's layer (doc/platform.md)
lib=$(ls "$src"/src/*.c | grep -v '/os_win32\.c$')
for t in open frames ops; do
	$CC $CFLAGS -std=c11 -D_GNU_SOURCE -I"$work" -I"$work/include" -I"$src/include" -I"$src/src" \
		"$src/fuzz/fuzz_$t.c" "$src/fuzz/common.c" $lib $LIB_FUZZING_ENGINE -lpthread \
		-o "$OUT/mapq_fuzz_$t"
	cp "$src/fuzz/mapq.dict" "$OUT/mapq_fuzz_$t.dict"
	(cd "seeds/$t" && python3 -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1], "w")
for n in sorted(os.listdir(".")): z.write(n)' "$OUT/mapq_fuzz_${t}_seed_corpus.zip")
done

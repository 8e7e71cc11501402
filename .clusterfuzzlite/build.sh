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
# The library as configure built it for gen-seeds, with these CFLAGS: each
# target links it (the platform's layer only: doc/platform.md). The targets
# compile side by side; each compile is waited for, and fails the build.
core=$work/.libs/libmapq_core.a
[ -f "$core" ] || { echo "build.sh: $core was not built (see $work/make.log)"; exit 1; }
targets="open frames ops"
pids=()
for t in $targets; do
	$CC $CFLAGS -std=c11 -D_GNU_SOURCE -I"$work" -I"$work/include" -I"$src/include" -I"$src/src" \
		"$src/fuzz/fuzz_$t.c" "$src/fuzz/common.c" "$core" $LIB_FUZZING_ENGINE -lpthread \
		-o "$OUT/mapq_fuzz_$t" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for t in $targets; do
	cp "$src/fuzz/mapq.dict" "$OUT/mapq_fuzz_$t.dict"
	(cd "seeds/$t" && python3 -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1], "w")
for n in sorted(os.listdir(".")): z.write(n)' "$OUT/mapq_fuzz_${t}_seed_corpus.zip")
done

#!/bin/bash
# SPDX-License-Identifier: MIT
# .clusterfuzzlite/check.sh OUTDIR [SECONDS] - build.sh as the fuzzing
# service runs it, for each sanitizer of project.yaml, with the variables
# the service's build image sets (CC, CXX, CFLAGS, CXXFLAGS,
# LIB_FUZZING_ENGINE, SANITIZER, FUZZING_ENGINE, ARCHITECTURE, SRC, WORK,
# OUT: oss-fuzz's base-builder for libFuzzer); then every target it built
# runs SECONDS (3) from its seed corpus. Docker does not run here: the
# compiler is the machine's clang. `make ossfuzz-check' runs it.
set -euo pipefail
out=${1:?usage: .clusterfuzzlite/check.sh OUTDIR [SECONDS]}
secs=${2:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
command -v clang > /dev/null || { echo "ossfuzz-check: clang is needed (apt-get install clang)"; exit 1; }
sanitizers=$(sed -n '/^sanitizers:/,/^[a-z]/s/^ *- *\([a-z]*\).*/\1/p' "$src/.clusterfuzzlite/project.yaml")
[ -n "$sanitizers" ] || { echo "ossfuzz-check: no sanitizers in project.yaml"; exit 1; }
targets=$(sed -n 's/^for t in \([a-z ]*\); do$/\1/p' "$src/.clusterfuzzlite/build.sh")
[ -n "$targets" ] || { echo "ossfuzz-check: build.sh names no targets"; exit 1; }
base="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
ub=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr
tmp=$(mktemp -d /dev/shm/mapq-ossfuzz.XXXXXX 2> /dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MAPQ_FUZZ_TMPDIR="$tmp"
for san in $sanitizers; do
	case $san in
	address) flags="-fsanitize=address -fsanitize-address-use-after-scope" ;;
	undefined) flags="-fsanitize=$ub,unsigned-integer-overflow -fno-sanitize-recover=$ub" ;;
	*) echo "ossfuzz-check: sanitizer '$san' of project.yaml: no flags for it here"; exit 1 ;;
	esac
	o=$out/$san
	rm -rf "$o" && mkdir -p "$o"
	CC=clang CXX=clang++ CFLAGS="$base $flags -fsanitize=fuzzer-no-link" \
		CXXFLAGS="$base $flags -fsanitize=fuzzer-no-link" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
		SANITIZER=$san FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64 SRC="$src" WORK="$o/work" \
		OUT="$o" bash "$src/.clusterfuzzlite/build.sh" > "$o/build.log" 2>&1 ||
		{ tail -30 "$o/build.log"; echo "ossfuzz-check: build.sh failed with SANITIZER=$san"; exit 1; }
	for t in $targets; do
		bin=$o/mapq_fuzz_$t
		[ -x "$bin" ] || { echo "ossfuzz-check: SANITIZER=$san built no $bin"; exit 1; }
		[ -s "${bin}_seed_corpus.zip" ] || { echo "ossfuzz-check: no seed corpus for $t"; exit 1; }
		mkdir "$o/corpus-$t"
		(cd "$o/corpus-$t" && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()' "${bin}_seed_corpus.zip")
		seeds=$(find "$o/corpus-$t" -type f | wc -l)
		"$bin" -max_total_time="$secs" -dict="$bin.dict" "$o/corpus-$t" > "$o/$t.log" 2>&1 ||
			{ tail -30 "$o/$t.log"; echo "ossfuzz-check: mapq_fuzz_$t crashed (SANITIZER=$san)"; exit 1; }
		if grep -q "runtime error:" "$o/$t.log"; then
			grep -m5 "runtime error:" "$o/$t.log"
			echo "ossfuzz-check: mapq_fuzz_$t reported undefined behaviour (SANITIZER=$san)"
			exit 1
		fi
		echo "ossfuzz-check: SANITIZER=$san mapq_fuzz_$t ran $secs s from $seeds seeds, no crash"
	done
done

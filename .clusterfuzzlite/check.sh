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
targets=$(sed -n 's/^targets="\([a-z ]*\)"$/\1/p' "$src/.clusterfuzzlite/build.sh")
[ -n "$targets" ] || { echo "ossfuzz-check: build.sh names no targets"; exit 1; }
base="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
ub=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr
tmp=$(mktemp -d /dev/shm/mapq-ossfuzz.XXXXXX 2> /dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MAPQ_FUZZ_TMPDIR="$tmp"
# One sanitizer: build.sh, then each target for SECONDS, side by side.
one() {
	local san=$1 flags o t bin rc=0
	case $san in
	address) flags="-fsanitize=address -fsanitize-address-use-after-scope" ;;
	undefined) flags="-fsanitize=$ub,unsigned-integer-overflow -fno-sanitize-recover=$ub" ;;
	*) echo "ossfuzz-check: sanitizer '$san' of project.yaml: no flags for it here"; return 1 ;;
	esac
	o=$out/$san
	rm -rf "$o" && mkdir -p "$o"
	CC=clang CXX=clang++ CFLAGS="$base $flags -fsanitize=fuzzer-no-link" \
		CXXFLAGS="$base $flags -fsanitize=fuzzer-no-link" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
		SANITIZER=$san FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64 SRC="$src" WORK="$o/work" \
		OUT="$o" bash "$src/.clusterfuzzlite/build.sh" > "$o/build.log" 2>&1 ||
		{ tail -30 "$o/build.log"; echo "ossfuzz-check: build.sh failed with SANITIZER=$san"; return 1; }
	# every target ready before any runs: a failure here leaves no run
	# behind (a fuzzer whose directory goes with the script's exit aborts)
	for t in $targets; do
		bin=$o/mapq_fuzz_$t
		[ -x "$bin" ] || { echo "ossfuzz-check: SANITIZER=$san built no $bin"; return 1; }
		[ -s "${bin}_seed_corpus.zip" ] || { echo "ossfuzz-check: no seed corpus for $t"; return 1; }
		mkdir "$o/corpus-$t" || return 1
		(cd "$o/corpus-$t" && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()' "${bin}_seed_corpus.zip") ||
			return 1
		find "$o/corpus-$t" -type f | wc -l > "$o/$t.seeds" # (the run adds to it)
	done
	# a crash's input goes to $o, not to the directory make runs in
	for t in $targets; do
		bin=$o/mapq_fuzz_$t
		("$bin" -max_total_time="$secs" -dict="$bin.dict" -artifact_prefix="$o/$t-" \
			"$o/corpus-$t" > "$o/$t.log" 2>&1
			echo $? > "$o/$t.rc") &
	done
	wait
	for t in $targets; do
		bin=$o/mapq_fuzz_$t
		if [ "$(cat "$o/$t.rc")" != 0 ]; then
			tail -30 "$o/$t.log"; echo "ossfuzz-check: mapq_fuzz_$t crashed (SANITIZER=$san)"; rc=1
		elif grep -q "runtime error:" "$o/$t.log"; then
			grep -m5 "runtime error:" "$o/$t.log"
			echo "ossfuzz-check: mapq_fuzz_$t reported undefined behaviour (SANITIZER=$san)"; rc=1
		else
			echo "ossfuzz-check: SANITIZER=$san mapq_fuzz_$t ran $secs s from" \
				"$(cat "$o/$t.seeds") seeds, no crash"
		fi
	done
	return $rc
}

# The sanitizers' builds side by side (each configure runs on one CPU);
# each one's report in turn, and any failure fails the check.
mkdir -p "$out"
pids=()
for san in $sanitizers; do
	one "$san" > "$out/$san.report" 2>&1 &
	pids+=($!)
done
rc=0 i=0
for san in $sanitizers; do
	wait "${pids[$i]}" || rc=1
	cat "$out/$san.report"
	i=$((i + 1))
done
exit $rc

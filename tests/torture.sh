#!/bin/sh
# SPDX-License-Identifier: MIT
# torture.sh: short runs of harness/mapq-torture, one per fault mode, each
# of which must end with a clean verdict; then the checker's self-test:
# each deliberate break must make the verdict fail in its own category.
# (scripts/stress.py runs the long campaigns.) With MAPQ_TORTURE_EXE set
# (tests/win_torture.sh), the same runs of a Windows build under Wine.
set -u
T=${top_builddir:-.}/harness/mapq-torture
# $TMPDIR, else /dev/shm, else /tmp: as tests/util.c chooses
base=${TMPDIR:-}
[ -n "$base" ] || { [ -w /dev/shm ] && base=/dev/shm; } || base=/tmp
dir=$(mktemp -d "$base/mapq-torture-test.XXXXXX") || exit 99
trap 'rm -rf "$dir"' EXIT
if [ -n "${MAPQ_TORTURE_EXE:-}" ]; then
	# tests/win_torture.sh: a Windows build's mapq-torture.exe, under $WINE
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$WINE" "$MAPQ_TORTURE_EXE" > "$dir/mapq-torture"
	chmod +x "$dir/mapq-torture"
	T="$dir/mapq-torture"
fi
fails=0

run() { # name, expected exit status, args...
	name=$1 want=$2
	shift 2
	"$T" -q --dir "$dir" --json "$dir/$name.json" "$@" > "$dir/$name.out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $name: exit status $rc, want $want"
		cat "$dir/$name.out"
		fails=$((fails + 1))
		return 1
	fi
	echo "ok: $name ($(grep -o '"verdict": "[A-Z]*"' "$dir/$name.json"))"
}

field() { # json file, field: its number
	sed -n "s/^  \"$2\": \\([0-9]*\\),*\$/\\1/p" "$1"
}

run plain 0 --duration 2
run kills 0 --duration 3 --kill-rate 5
run durable-kills 0 --duration 3 --kill-rate 5 --durable
run pauses 0 --duration 3 --pause-rate 10 --unblock-ms 200
run alone-kills 0 --duration 3 --kill-rate 5 -w 1 --alone
run overwrite 0 --duration 2 --policy overwrite --kill-rate 2 --kill writers
if "$T" --fault-points all --duration 0.1 -q --dir "$dir" > /dev/null 2>&1 ||
   [ $? -ne 2 ]; then
	run fault-points 0 --duration 3 --fault-points all
	run alone-fault-points 0 --duration 2 --fault-points all -w 1 --alone
else
	echo "skip: fault-points (built without --enable-fault-injection)"
fi

# Self-test: each break must fail the verdict, in the right category.
for b in flip:corrupt skip:lost dup:duplicated reorder:reordered; do
	mode=${b%%:*} cat=${b#*:}
	run "break-$mode" 1 --duration 1 --break "$mode" || continue
	n=$(field "$dir/break-$mode.json" "$cat")
	if [ "${n:-0}" -gt 0 ]; then
		echo "ok: --break $mode was caught as $cat ($n)"
	else
		echo "FAIL: --break $mode: the verdict failed, but $cat is ${n:-missing}"
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ]

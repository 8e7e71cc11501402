# SPDX-License-Identifier: MIT
# sim_lib.sh: what the simulator's tests share (sourced by tests/sim.sh,
# sim_power.sh and sim_memory.sh, which make check runs side by side):
# the simulator, a scratch directory removed on exit, and expect(), which
# runs it and judges its exit status and what it printed.
set -u
S=${top_builddir:-.}/sim/mapq-sim
R=${top_srcdir:-.}/sim/regress.txt
[ -x "$S" ] || { echo "skip: no simulator in this build (./configure --enable-sim)"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/mapq-sim-test.XXXXXX") || exit 99
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run name, expected exit status, expected text (grep -E), args...
expect() {
	name=$1 want=$2 text=$3
	shift 3
	"$S" --dir "$dir" "$@" > "$dir/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit status $rc, want $want"
		cat "$dir/out"
	elif ! grep -Eq -- "$text" "$dir/out"; then
		fail "$name: no '$text' in what it printed:"
		cat "$dir/out"
	else
		echo "ok: $name"
	fi
}

# Campaigns. SIM_SCHEDULES scales them (CI's memcheck run makes it small).
N=${SIM_SCHEDULES:-10000}

# finish: nothing left in the scratch directory but expect()'s own files
# and saved schedules; the exit status.
finish() {
	left=$(ls -A "$dir" | grep -v '^\(out\|a\|b\|t\|junk\|[a-z0-9]*\.schedule\)$')
	[ -z "$left" ] || fail "left in $dir: $left"
	[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
	exit 0
}

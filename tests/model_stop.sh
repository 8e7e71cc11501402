#!/bin/sh
# SPDX-License-Identifier: MIT
# model_stop: scripts/model.py ended by SIGTERM in the middle of a search
# (a CI job's time limit, a kill) stops its verifiers and removes their
# work directories, as Ctrl-C does: nothing is left searching, and nothing
# is left in $TMPDIR. Needs spin (skipped without it).
set -eu
top=${top_srcdir:-.}
command -v spin >/dev/null 2>&1 || { echo "SKIP: spin is not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
[ -d /proc/self ] || { echo "SKIP: no /proc to look for the verifiers in"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mapq-test.model-stop.XXXXXX")
pid=
cleanup() {
	[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$tmp/t"
# A configuration of --campaign's: its search lasts minutes
TMPDIR=$tmp/t python3 "$top/scripts/model.py" --no-bugs --config 2x2x2 --jobs 1 \
	>"$tmp/out" 2>&1 &
pid=$!
fail() {
	echo "FAIL: $*"
	sed 's/^/  model.py: /' "$tmp/out"
	exit 1
}
# Wait (at most 60 s) for a verifier built and searching
i=0
until [ -n "$(find "$tmp/t" -name pan -type f 2>/dev/null)" ]; do
	kill -0 "$pid" 2>/dev/null || fail "model.py ended before its search began"
	i=$((i + 1))
	[ $i -le 600 ] || fail "no verifier built in 60 s"
	sleep 0.1
done
sleep 1
searching() { # the processes whose working directory is in $tmp/t
	for d in /proc/[0-9]*; do
		case $(readlink "$d/cwd" 2>/dev/null || true) in "$tmp/t"*) echo "${d#/proc/}" ;; esac
	done
}
[ -n "$(searching)" ] || fail "no verifier running in $tmp/t a second after it was built"
kill -TERM "$pid"
# It must end within 10 s, with 128 + SIGTERM
i=0
while kill -0 "$pid" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "still running 10 s after SIGTERM"
	sleep 0.1
done
status=0
wait "$pid" || status=$?
pid=
left=$(searching)
if [ -n "$left" ]; then
	# shellcheck disable=SC2086 # one argument per process
	kill -9 $left 2>/dev/null || true
	fail "processes left running in its work directory: $left"
fi
[ "$status" -eq 143 ] || fail "exit status $status after SIGTERM, not 143"
[ -z "$(ls -A "$tmp/t")" ] || fail "left behind in \$TMPDIR: $(ls -A "$tmp/t")"
grep -q "stopped by signal 15" "$tmp/out" || fail "no word of the stop in its output"
echo "model_stop: SIGTERM stopped the search, its verifier killed, nothing left in \$TMPDIR"

#!/bin/sh
# SPDX-License-Identifier: MIT
# win_skipped.sh: the Linux build's tests that a Windows build does not
# run, each with the reason and its Windows counterpart, if any. It reads
# the list from tests/local.mk, so that a new Linux test shows up here
# too, and reports SKIP (77): nothing is run, nothing is claimed.
set -u
s=${top_srcdir:-.}
mk="$s/tests/local.mk"
[ -r "$mk" ] || { echo "no $mk"; exit 99; }
# TEST_PROGS and TESTS, their continuation lines joined
tests=$(awk '/^(TEST_PROGS|TESTS) *\+?=/ { on = 1; sub(/^[A-Z_]+ *\+?=/, "") }
	on { c = sub(/\\$/, ""); print; on = c }' "$mk" | sed 's/\$(TEST_PROGS)//g')
n=0
for t in $tests; do
	name=${t#tests/}
	case $name in
	cli.sh) why="runs as tests/win_cli.sh, against mapq.exe" ;;
	examples.sh) continue ;; # runs as it is
	torture.sh) why="runs as tests/win_torture.sh, against mapq-torture.exe" ;;
	light_fence) why="membarrier(2) is Linux's: on Windows every commit makes the full fence (doc/windows.md)" ;;
	multiproc | overwrite_multiproc | dead_writer | durable_resume)
		why="forks; tests/win_procs.exe is its counterpart (CreateProcess, TerminateProcess)" ;;
	sim*.sh | bug_patches.sh | model_labels.sh) why="the simulator and the model are Linux only" ;;
	exports.sh | abi.sh) why="reads an ELF shared library; tests/win_exports.sh checks the DLL" ;;
	readme.sh | scripts.sh | version.sh | no_sse42.sh)
		why="checks the source tree or the Linux build's tools, not the library" ;;
	*)
		f="$s/tests/$name.c"
		if [ -r "$s/tests/$name.cc" ]; then
			why="the public header compiled as C++: the Windows build has no C++ test yet"
		elif [ ! -r "$f" ]; then
			why="not found in tests/"
		elif grep -q 'mapq_fault_arm\|MAPQ_FAULT\|fault_kill\|t_fault' "$f"; then
			why="needs fault points, which a Windows build does not have"
		elif grep -q 'fork()\|t_fork\|t_spawn\|waitpid' "$f"; then
			why="forks (tests/win_procs.exe spawns with CreateProcess instead)"
		else
			why="one process, but built on tests/util.c, the Linux tests' helpers (mkdtemp, nftw, signal handlers), not ported yet"
		fi
		;;
	esac
	echo "not run on Windows: tests/$name: $why"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no Linux tests found in $mk"; exit 99; }
echo "win_skipped: $n Linux tests not run on Windows, each with its reason above"
exit 77

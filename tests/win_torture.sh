#!/bin/sh
# SPDX-License-Identifier: MIT
# win_torture.sh: tests/torture.sh, the torture harness's short runs with
# kills, pauses and the checker's self-test, run against a Windows build's
# mapq-torture.exe under Wine (tests/windows.mk sets $WINE): children
# started by CreateProcess, killed by TerminateProcess, stopped by
# NtSuspendProcess.
set -u
B=${top_builddir:-.}
[ -n "${WINE:-}" ] || { echo "SKIP: no \$WINE to run mapq-torture.exe with"; exit 77; }
B=$(cd "$B" && pwd) || exit 99
MAPQ_TORTURE_EXE="$B/harness/mapq-torture.exe"
export MAPQ_TORTURE_EXE
exec sh "$top_srcdir/tests/torture.sh"

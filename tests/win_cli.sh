#!/bin/sh
# SPDX-License-Identifier: MIT
# win_cli.sh: tests/cli.sh, every check of the `mapq` command, run against
# a Windows build's mapq.exe under Wine (tests/windows.mk sets $WINE).
set -u
B=${top_builddir:-.}
[ -n "${WINE:-}" ] || { echo "SKIP: no \$WINE to run mapq.exe with"; exit 77; }
B=$(cd "$B" && pwd) || exit 99
MAPQ_EXE="$B/cli/mapq.exe" CLI_DIE_EXE="$B/tests/cli_die.exe"
export MAPQ_EXE CLI_DIE_EXE
exec sh "$top_srcdir/tests/cli.sh"

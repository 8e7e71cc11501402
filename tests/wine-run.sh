#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/wine-run.sh TEST.exe: run one test of a Windows build under Wine
# (tests/windows.mk's LOG_COMPILER), in the Wine prefix $WINEPREFIX, which
# the first test makes. Wine's own exit code 53 and a missing wine are
# errors of the set-up (99), not failures of the test.
test -n "$WINE" || { echo "wine-run.sh: WINE is not set (configure found no wine)"; exit 99; }
exe=$1
shift
case $exe in *.exe) ;; *) exe=$exe.exe ;; esac
test -f "$exe" || { echo "wine-run.sh: no $exe"; exit 99; }
# Five minutes is far more than any test takes; a hung one must not hang make.
timeout 300 "$WINE" "$exe" "$@"
rc=$?
test $rc = 124 && echo "wine-run.sh: $exe still running after 300 s: stopped"
exit $rc

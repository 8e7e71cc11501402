# SPDX-License-Identifier: MIT
# tests/windows.mk - the tests of a Windows build (configure
# --host=x86_64-w64-mingw32), included by the top Makefile.am in place of
# tests/local.mk. Cross compiled, they run under Wine ($(WINE)), in a Wine
# prefix of their own in the build tree, made fresh by each `make check'
# and removed after it.

check_PROGRAMS = tests/win_basic tests/win_procs tests/cli_die
# The fuzz targets that parse a file, replayed over their seeds and
# fuzz/regress/ (fuzz/replay.sh): every bad file met so far, on Windows.
check_PROGRAMS += fuzz/replay-open fuzz/replay-frames fuzz/gen-seeds
fuzz_replay_open_SOURCES = fuzz/replay.c fuzz/fuzz_open.c fuzz/common.c fuzz/fuzz.h
fuzz_replay_frames_SOURCES = fuzz/replay.c fuzz/fuzz_frames.c fuzz/common.c fuzz/fuzz.h
fuzz_gen_seeds_SOURCES = fuzz/gen_seeds.c fuzz/common.c fuzz/fuzz.h
fuzz_replay_open_LDADD = libmapq_core.la $(PLATFORM_LIBS)
fuzz_replay_frames_LDADD = libmapq_core.la $(PLATFORM_LIBS)
fuzz_gen_seeds_LDADD = libmapq_core.la $(PLATFORM_LIBS)
tests_win_basic_SOURCES = tests/win_basic.c tests/win_util.c tests/win_util.h
tests_win_basic_LDADD = libmapq_core.la $(PLATFORM_LIBS)
tests_win_procs_SOURCES = tests/win_procs.c tests/win_util.c tests/win_util.h
tests_win_procs_LDADD = libmapq_core.la $(PLATFORM_LIBS)
tests_cli_die_LDADD = libmapq.la
# The .sh tests run on the build machine (SH_LOG_COMPILER): win_exports.sh
# reads the DLL; win_cli.sh runs tests/cli.sh against mapq.exe,
# examples.sh the demo's two programs, and win_torture.sh tests/torture.sh
# against mapq-torture.exe, and fuzz/replay.sh the replays, through
# $(WINE); win_skipped.sh lists the
# Linux tests a Windows build does not run, each with the reason, and
# reports SKIP. The programs run on Windows.
TESTS = tests/win_basic tests/win_procs tests/win_exports.sh tests/win_cli.sh tests/examples.sh \
	tests/win_torture.sh fuzz/replay.sh tests/win_skipped.sh
AM_TESTS_ENVIRONMENT = OBJDUMP='$(OBJDUMP)'; top_srcdir='$(top_srcdir)'; top_builddir='$(top_builddir)'; \
	export OBJDUMP top_srcdir top_builddir;

WINE_PREFIX = $(abs_top_builddir)/wine-prefix
# Wine makes its server's socket directory in $TMPDIR, and leaves it
# there: a directory of the build tree instead, removed with the prefix.
WINE_TMP = $(abs_top_builddir)/wine-tmp
# At each link of a program, libtool runs Wine's winepath to write the
# Windows path of .libs into the program's wrapper. Left alone, that Wine
# makes a prefix in ~/.wine and a server directory in /tmp, and leaves
# both: it gets the tests' prefix and directory instead, removed once
# the programs are linked (all-local) and after the tests (check-local).
# The prefix's drive z: is a link to /, which a tool walking the tree
# (gcovr) would follow: it must not outlive the build.
WINE_LINK = mkdir -p '$(WINE_TMP)' && WINEPREFIX='$(WINE_PREFIX)' WINEDEBUG=-all TMPDIR='$(WINE_TMP)'
wine_remove = { WINEPREFIX='$(WINE_PREFIX)' TMPDIR='$(WINE_TMP)' wineserver -k 2>/dev/null || :; }; \
	rm -rf '$(WINE_PREFIX)' '$(WINE_TMP)'
all-local: $(PROGRAMS) $(LTLIBRARIES)
	@$(wine_remove)
clean-local:
	@$(wine_remove)
if WIN32_UNDER_WINE
LOG_COMPILER = $(srcdir)/tests/wine-run.sh
AM_TESTS_ENVIRONMENT += WINE='$(WINE)'; WINEPREFIX='$(WINE_PREFIX)'; WINEDEBUG=-all; \
	TMPDIR='$(WINE_TMP)'; mkdir -p "$$TMPDIR"; export WINE WINEPREFIX WINEDEBUG TMPDIR;
check-local: check-TESTS
	@$(wine_remove)
endif
# (tests/wine-run.sh and the win_*.sh scripts are in the top EXTRA_DIST:
# the Linux build's `make dist' ships them too)

# SPDX-License-Identifier: MIT
# tests/windows.mk - the tests of a Windows build (configure
# --host=x86_64-w64-mingw32), included by the top Makefile.am in place of
# tests/local.mk. Cross compiled, they run under Wine ($(WINE)), in a Wine
# prefix of their own in the build tree, made fresh by each `make check'
# and removed after it.

check_PROGRAMS = tests/win_basic
tests_win_basic_SOURCES = tests/win_basic.c
tests_win_basic_LDADD = libmapq_core.la $(PLATFORM_LIBS)
# win_exports.sh runs on the build machine (SH_LOG_COMPILER), the rest
# on Windows.
TESTS = $(check_PROGRAMS) tests/win_exports.sh
AM_TESTS_ENVIRONMENT = OBJDUMP='$(OBJDUMP)'; top_srcdir='$(top_srcdir)'; export OBJDUMP top_srcdir;

if WIN32_UNDER_WINE
WINE_PREFIX = $(abs_top_builddir)/wine-prefix
# Wine makes its server's socket directory in $TMPDIR, and leaves it
# there: a directory of the build tree instead, removed with the prefix.
WINE_TMP = $(abs_top_builddir)/wine-tmp
LOG_COMPILER = $(srcdir)/tests/wine-run.sh
AM_TESTS_ENVIRONMENT += WINE='$(WINE)'; WINEPREFIX='$(WINE_PREFIX)'; WINEDEBUG=-all; \
	TMPDIR='$(WINE_TMP)'; mkdir -p "$$TMPDIR"; export WINE WINEPREFIX WINEDEBUG TMPDIR;
check-local: check-TESTS
	@-WINEPREFIX='$(WINE_PREFIX)' TMPDIR='$(WINE_TMP)' wineserver -k 2>/dev/null; \
	  rm -rf '$(WINE_PREFIX)' '$(WINE_TMP)'
endif
# (tests/wine-run.sh and tests/win_exports.sh are in the top EXTRA_DIST:
# the Linux build's `make dist' ships them too)

# SPDX-License-Identifier: MIT
# src/local.mk - the library, and the static analysis of its sources.
# Included by the top Makefile.am (one non-recursive build): paths are
# from the top of the tree.

# ---- Library ---------------------------------------------------------------
# Everything is built once into a convenience library: the installed
# libmapq.la adds the export list; tests link the convenience library so
# they can reach internals such as both CRC paths.
noinst_LTLIBRARIES = libmapq_core.la
# The platform layer: os.h, with one file per platform (doc/platform.md).
mapq_core_c = \
	src/crc32c.c src/create.c src/error.c src/fault.c src/format.c src/inspect.c \
	src/name.c src/queue.c src/reader.c src/recover.c src/repair.c src/ring.c \
	src/slots.c src/sync.c src/version.c src/wait.c src/writer.c
if WIN32
mapq_os_c = src/os_win32.c
else
mapq_os_c = src/os_posix.c
endif
libmapq_core_la_SOURCES = $(mapq_core_c) $(mapq_os_c) src/atomic.h src/fault.h src/format.h \
	src/internal.h src/os.h src/sim.h
if SIM
libmapq_core_la_SOURCES += src/sim.c
endif
libmapq_core_la_LIBADD = $(PTHREAD_LIBS) $(PLATFORM_LIBS)

lib_LTLIBRARIES = libmapq.la
libmapq_la_SOURCES =
libmapq_la_LIBADD = libmapq_core.la $(PTHREAD_LIBS) $(PLATFORM_LIBS)
libmapq_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(MAPQ_LT_VERSION) -no-undefined $(MAPQ_LDFLAGS)
EXTRA_libmapq_la_DEPENDENCIES = $(top_srcdir)/src/libmapq.sym

# ---- Static analysis -----------------------------------------------------------
# `make analyze': clang's static analyzer (through scan-build), cppcheck and
# clang-tidy over src/. Any finding fails the target; the reports say where.
# (paths as seen from $(top_srcdir), where the analyzers run)
ANALYZE_CPPFLAGS = -I$(abs_top_builddir) -I$(abs_top_builddir)/include -Iinclude -Isrc
# cppcheck does not know the compiler's predefined macros that format.h
# checks; these are the values of every platform we build on.
CPPCHECK_FLAGS = --enable=warning,style,performance,portability --std=c11 --quiet \
	--error-exitcode=1 --inline-suppr --suppress=missingIncludeSystem \
	-D__GNUC__ -D__x86_64__ -DATOMIC_LLONG_LOCK_FREE=2 -DATOMIC_INT_LOCK_FREE=2 \
	-D__BYTE_ORDER__=1234 -D__ORDER_LITTLE_ENDIAN__=1234 \
	-DMAPQ_FAULT_INJECTION=1
# (with fault points compiled in: without, each point is the constant 0
# and every `if (err = MAPQ_FAULT(...))' reads as always false)
# clang-tidy's checks, and why each exclusion, are in .clang-tidy.

# The checks run side by side under make -j; the layers last, from the
# objects that scan-build has just built again.
analyze: analyze-scan-build analyze-cppcheck analyze-clang-tidy
	@$(MAKE) $(AM_MAKEFLAGS) analyze-layers
# The files of src/ depend on each other in layers, never in a circle
# (src/internal.h states the layering): read from the objects' symbols.
analyze-layers: libmapq_core.la
	@objs=`ls src/.libs/*.o 2>/dev/null || ls src/*.o`; \
	  $(PYTHON) $(srcdir)/scripts/check-layers.py $$objs
analyze-scan-build:
	@test -n "$(SCAN_BUILD)" || { echo "$@: scan-build not found (apt-get install clang-tools)"; exit 1; }
	rm -rf analyze-report
	@# scan-build exports CC as its analyzer wrapper; pass it to make so
	@# the library's objects are rebuilt through it.
	rm -f src/*.lo src/*.o src/.libs/*.o libmapq_core.la
	$(SCAN_BUILD) --status-bugs -o analyze-report sh -c \
	  '$(MAKE) $(AM_MAKEFLAGS) CC="$$CC" libmapq_core.la'
	@echo "scan-build: no findings in src/"
analyze-cppcheck:
	@test -n "$(CPPCHECK)" || { echo "$@: cppcheck not found (apt-get install cppcheck)"; exit 1; }
	cd $(top_srcdir) && $(CPPCHECK) $(CPPCHECK_FLAGS) $(ANALYZE_CPPFLAGS) \
	  $(mapq_core_c) $(mapq_os_c)
	@echo "cppcheck: no findings in src/"
analyze-clang-tidy:
	@test -n "$(CLANG_TIDY)" || { echo "$@: clang-tidy not found (apt-get install clang-tidy)"; exit 1; }
	@# (clang-tidy counts the warnings it hid in system headers; drop that noise)
	cd $(top_srcdir) && $(CLANG_TIDY) --quiet $(mapq_core_c) $(mapq_os_c) -- -std=c11 \
	  $(ANALYZE_CPPFLAGS) -D_GNU_SOURCE > $(abs_top_builddir)/analyze-clang-tidy.log 2>&1; \
	  rc=$$?; grep -v 'warnings* generated' $(abs_top_builddir)/analyze-clang-tidy.log; exit $$rc
	@echo "clang-tidy: no findings in src/"
.PHONY: analyze analyze-layers analyze-scan-build analyze-cppcheck analyze-clang-tidy

# SPDX-License-Identifier: MIT
# tests/local.mk - the tests, and the checkers that run them (Valgrind, coverage).
# Included by the top Makefile.am (one non-recursive build): paths are
# from the top of the tree.

# ---- Tests -----------------------------------------------------------------
TEST_PROGS = \
	tests/crc32c tests/open_errors tests/wrap_padding tests/full_ring \
	tests/overwrite_lapped tests/durable_resume tests/futex_wake \
	tests/zerocopy tests/msg_sizes tests/frame_crc tests/error_text \
	tests/counters tests/multiproc tests/threads tests/durable_churn tests/overwrite_multiproc tests/dead_writer_slot tests/dead_writer tests/fault_kill tests/recover_files tests/power_loss tests/fault_api tests/recover_live tests/dup tests/inspect tests/timeouts tests/ring_end tests/create_kill tests/damaged_ctl \
	tests/superblock tests/overwrite_resume tests/wakeups tests/forked tests/fd_zero \
	tests/create_nolink tests/os_failures tests/reader_slots tests/sync_wait tests/slot_bounds \
	tests/recover_walk tests/signals tests/create_steal tests/slot_race tests/lock_bytes \
	tests/join_head tests/repair_race tests/light_fence tests/read_batch tests/send_batch \
	tests/head_walk tests/first_frame
check_PROGRAMS = $(TEST_PROGS) tests/cli_die
tests_cli_die_LDADD = libmapq.la
# The README's API program, cut out of README.md as it stands, built with
# the public header only and every warning an error (tests/readme.sh).
check_PROGRAMS += tests/readme_api
nodist_tests_readme_api_SOURCES = tests/readme_api.c
tests_readme_api_CPPFLAGS = $(API_CPPFLAGS)
tests_readme_api_CFLAGS = $(AM_CFLAGS) -Wall -Wextra -Werror
tests_readme_api_LDADD = libmapq.la
CLEANFILES += tests/readme_api.c
tests/readme_api.c: $(srcdir)/README.md
	@$(MKDIR_P) tests
	$(AWK) '/^## The API/ { api = 1 } api && /^```c$$/ { code = 1; next } \
	  code && /^```$$/ { exit } code' $(srcdir)/README.md > $@.tmp
	@test -s $@.tmp || { echo "$@: no C block under '## The API' in README.md"; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@
check_LTLIBRARIES = tests/libtestutil.la
tests_libtestutil_la_SOURCES = tests/util.c tests/util.h tests/workload.c tests/workload.h
TEST_LDADD = tests/libtestutil.la libmapq_core.la $(PTHREAD_LIBS)
LDADD = $(TEST_LDADD)

TESTS = $(TEST_PROGS) tests/exports.sh tests/examples.sh tests/torture.sh tests/cli.sh tests/readme.sh tests/bug_patches.sh \
	tests/sim.sh tests/sim_power.sh tests/sim_memory.sh tests/no_sse42.sh tests/model_labels.sh \
	tests/model_stop.sh tests/scripts.sh tests/abi.sh \
	tests/version.sh
EXTRA_DIST += tests/exports.sh tests/examples.sh tests/torture.sh tests/cli.sh tests/readme.sh tests/bug_patches.sh tests/valgrind.supp tests/tsan.supp \
	tests/sim.sh tests/sim_lib.sh tests/sim_power.sh tests/sim_memory.sh tests/no_sse42.sh \
	tests/model_labels.sh tests/model_stop.sh tests/scripts.sh tests/scripts_test.py \
	tests/abi.sh tests/version.sh \
	tests/data/torture-pass.json tests/data/torture-fail.json tests/data/torture-hostile.json \
	tests/data/sim-pass.json tests/data/sim-fail.json tests/data/bench-quick.json \
	tests/data/mutants.json tests/data/queue-linux.q.gz tests/data/queue-windows.q.gz \
	tests/data/make-queue-files.sh
# history_size=7: tests/tsan.supp excuses a seqlock's read by its stack,
# which ThreadSanitizer must still have when the write it races with comes;
# with its default history (128K accesses a thread) a writer blocked for a
# while had lost it, the race was reported, and printing the report kept
# the writing thread, its reservation open, past the unblock timeout.
AM_TESTS_ENVIRONMENT = top_builddir='$(top_builddir)'; top_srcdir='$(top_srcdir)'; PYTHON='$(PYTHON)'; \
	TSAN_OPTIONS="suppressions=$(abs_top_srcdir)/tests/tsan.supp history_size=7 $${TSAN_OPTIONS:-}"; \
	UBSAN_OPTIONS="print_stacktrace=1 $${UBSAN_OPTIONS:-}"; \
	export top_builddir top_srcdir PYTHON TSAN_OPTIONS UBSAN_OPTIONS;

if HAVE_CXX
check_PROGRAMS += tests/header_cxx
TESTS += tests/header_cxx
tests_header_cxx_SOURCES = tests/header_cxx.cc
tests_header_cxx_LDADD = libmapq.la
endif

# The tests, one per line, for scripts that run them one at a time
# (scripts/mutate.py).
list-tests:
	@for t in $(TESTS); do echo $$t; done
PHONY += list-tests

# The multi-process test, many times in a row (CI runs it 20 times).
MULTIPROC_RUNS ?= 20
check-multiproc: tests/multiproc
	@for i in `seq 1 $(MULTIPROC_RUNS)`; do \
	  ./tests/multiproc > /dev/null || { echo "multiproc failed on run $$i"; exit 1; }; \
	done; echo "multiproc: $(MULTIPROC_RUNS) runs in a row passed"
PHONY += check-multiproc

# Kills at random fault points (needs --enable-fault-injection), shared
# among FAULT_JOBS processes side by side (one kills, then waits for its
# survivors: alone it leaves a CPU idle). Their seeds are FAULT_SEED (by
# default the time), then one more each; each one's report follows.
FAULT_KILLS ?= 1000
FAULT_JOBS ?= 2
check-faults: tests/fault_kill
	@seed='$(FAULT_SEED)'; seed=$${seed:-`date +%s`}; n=$(FAULT_JOBS); pids=; \
	for i in `seq 0 $$((n - 1))`; do \
	  ./tests/fault_kill --random $$((($(FAULT_KILLS) + i) / n)) --seed $$((seed + i)) \
	    > tests/check-faults.$$i.out 2>&1 & pids="$$pids $$!"; \
	done; $(WAIT_PIDS); \
	for i in `seq 0 $$((n - 1))`; do \
	  echo "check-faults: $$i of $$n:"; cat tests/check-faults.$$i.out; rm -f tests/check-faults.$$i.out; \
	done; exit $$rc
PHONY += check-faults

# ---- Valgrind ----------------------------------------------------------------
# check-valgrind: every test program under memcheck (children too: the
# tests fork), then the threaded test under DRD and Helgrind. T_SCALE
# shortens the long tests; the logs are test-suite-<tool>.log. DRD and
# Helgrind do not model C11 atomics, so their threads map the queue
# separately (T_SEPARATE_MAPPINGS, see tests/threads.c) and they judge
# the library's process-local memory only.
# --vgdb=no: Valgrind's gdbserver makes three FIFOs in $TMPDIR per process,
# and a process the tests kill (SIGKILL) leaves them there.
VALGRIND_COMMON = -q --error-exitcode=1 --trace-children=yes --vgdb=no \
	--suppressions=$(abs_top_srcdir)/tests/valgrind.supp
VALGRIND_memcheck = --tool=memcheck --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
VALGRIND_drd = --tool=drd
VALGRIND_helgrind = --tool=helgrind
VALGRIND_TESTS_memcheck = $(TEST_PROGS)
VALGRIND_TESTS_drd = tests/threads
VALGRIND_TESTS_helgrind = tests/threads

check-valgrind: check-valgrind-memcheck check-valgrind-drd check-valgrind-helgrind \
	check-valgrind-fuzz
# The fuzz targets over their seeds and regression inputs, under memcheck.
check-valgrind-fuzz: fuzz/replay-open fuzz/replay-frames fuzz/replay-ops fuzz/gen-seeds
	@test -n "$(VALGRIND)" || { echo "$@: valgrind not found (apt-get install valgrind)"; exit 1; }
	rm -rf fuzz/seeds && ./fuzz/gen-seeds fuzz/seeds > /dev/null
	@for t in $(FUZZ_TARGETS); do \
	  $(VALGRIND) $(VALGRIND_COMMON) $(VALGRIND_memcheck) ./fuzz/replay-$$t \
	    fuzz/seeds/$$t $(top_srcdir)/fuzz/regress/$$t || exit 1; \
	done
check-valgrind-memcheck check-valgrind-drd check-valgrind-helgrind:
	@test -n "$(VALGRIND)" || { echo "$@: valgrind not found (apt-get install valgrind)"; exit 1; }
	@tool=`echo $@ | sed 's/check-valgrind-//'`; \
	case $$tool in \
	  memcheck) flags='$(VALGRIND_memcheck)'; tests='$(VALGRIND_TESTS_memcheck)'; sep=0;; \
	  drd) flags='$(VALGRIND_drd)'; tests='$(VALGRIND_TESTS_drd)'; sep=1;; \
	  helgrind) flags='$(VALGRIND_helgrind)'; tests='$(VALGRIND_TESTS_helgrind)'; sep=1;; \
	esac; \
	T_SCALE=$${T_SCALE:-0.1} T_SEPARATE_MAPPINGS=$$sep $(MAKE) $(AM_MAKEFLAGS) check TESTS="$$tests" \
	  TEST_SUITE_LOG=test-suite-$$tool.log \
	  LOG_COMPILER="$(LIBTOOL) --mode=execute $(VALGRIND) $(VALGRIND_COMMON) $$flags"
PHONY += check-valgrind check-valgrind-memcheck check-valgrind-drd check-valgrind-helgrind \
	check-valgrind-fuzz

# ---- Coverage ------------------------------------------------------------------
# The gate, in one place: raise it as the tests improve, never lower it.
COVERAGE_MIN_LINES = 90
COVERAGE_MIN_BRANCHES = 76
# `make coverage' (after ./configure --enable-code-coverage): run the tests,
# write coverage/index.html, print a one-line summary for src/, and fail
# under the gate.
coverage:
if CODE_COVERAGE
	find $(top_builddir) -name '*.gcda' -delete
	-$(MAKE) $(AM_MAKEFLAGS) check
	@test -f test-suite.log && ! grep -q '^# FAIL: *[1-9]' test-suite.log || { echo "coverage: tests failed"; exit 1; }
	$(MKDIR_P) coverage
	$(GCOVR) --root $(abs_top_srcdir) --object-directory $(abs_top_builddir) \
	  --filter '$(abs_top_srcdir)/src/' --exclude-unreachable-branches \
	  --html-details coverage/index.html --print-summary \
	  --fail-under-line $(COVERAGE_MIN_LINES) --fail-under-branch $(COVERAGE_MIN_BRANCHES) \
	  > coverage/summary.txt || { cat coverage/summary.txt; \
	    echo "coverage: below the gate (lines $(COVERAGE_MIN_LINES) %, branches $(COVERAGE_MIN_BRANCHES) %)"; exit 1; }
	@sed -n 's/^\(lines\|branches\): */\1 /p' coverage/summary.txt | tr '\n' ' ' | \
	  sed 's/^/coverage of src\/: /; s/ $$/\n/'
	@echo "coverage: report in coverage/index.html (gate: lines $(COVERAGE_MIN_LINES) %, branches $(COVERAGE_MIN_BRANCHES) %)"
else
	@echo "coverage: configure with --enable-code-coverage first"; exit 1
endif
PHONY += coverage
clean-local: clean-coverage clean-fuzz-seeds
	-rm -rf analyze-report analyze-clang-tidy.log
clean-coverage:
	-rm -rf coverage
	-find $(top_builddir) -name '*.gcda' -o -name '*.gcno' | xargs rm -f
PHONY += clean-coverage

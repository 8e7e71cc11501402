# SPDX-License-Identifier: MIT
# fuzz/local.mk - fuzz targets, their replay in make check, and the fuzzing runs.
# Included by the top Makefile.am (one non-recursive build): paths are
# from the top of the tree.

# ---- Fuzzing (doc/fuzzing.md) --------------------------------------------------
# Each target is one source with LLVMFuzzerTestOneInput; replay-* runs it
# over files with the ordinary compiler (make check: the generated seeds
# and fuzz/regress/). `make fuzz-libfuzzer' builds the libFuzzer versions.
FUZZ_COMMON = fuzz/common.c fuzz/fuzz.h
check_PROGRAMS += fuzz/replay-open fuzz/replay-frames fuzz/replay-ops fuzz/gen-seeds
fuzz_replay_open_SOURCES = fuzz/replay.c fuzz/fuzz_open.c $(FUZZ_COMMON)
fuzz_replay_frames_SOURCES = fuzz/replay.c fuzz/fuzz_frames.c $(FUZZ_COMMON)
fuzz_replay_ops_SOURCES = fuzz/replay.c fuzz/fuzz_ops.c $(FUZZ_COMMON)
fuzz_gen_seeds_SOURCES = fuzz/gen_seeds.c $(FUZZ_COMMON)
fuzz_replay_open_LDADD = libmapq_core.la $(PTHREAD_LIBS)
fuzz_replay_frames_LDADD = libmapq_core.la $(PTHREAD_LIBS)
fuzz_replay_ops_LDADD = libmapq_core.la $(PTHREAD_LIBS)
fuzz_gen_seeds_LDADD = libmapq_core.la $(PTHREAD_LIBS)
TESTS += fuzz/replay.sh
EXTRA_DIST += fuzz/replay.sh fuzz/regress fuzz/afl_driver.c
FUZZ_TARGETS = open frames ops
LIBFUZZER_CC ?= clang
LIBFUZZER_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# (the targets build side by side; one that fails fails the build)
fuzz-libfuzzer:
	@$(FUZZ_SRCS); pids=; for t in $(FUZZ_TARGETS); do \
	  echo "  CCLD     fuzz/libfuzzer-$$t"; \
	  $(LIBFUZZER_CC) $(LIBFUZZER_FLAGS) -std=c11 -D_GNU_SOURCE -I$(top_builddir) $(AM_CPPFLAGS) \
	    -o fuzz/libfuzzer-$$t $(top_srcdir)/fuzz/fuzz_$$t.c $$srcs -lpthread & pids="$$pids $$!"; \
	done; $(WAIT_PIDS); exit $$rc
# A short libFuzzer run of every target from its generated seeds (CI);
# a crash fails it and leaves the input in fuzz/run-TARGET/, printed in hex.
# The targets run at the same time, each for FUZZ_SECONDS, sharing the CPUs.
FUZZ_SECONDS ?= 30
# Every run makes its queue files in a directory of its own, removed after
# (FUZZ_TMP): a target killed by its fuzzer cannot clean up after itself.
FUZZ_TMP = tmp=`mktemp -d /dev/shm/mapq-fuzz-run.XXXXXX 2>/dev/null || mktemp -d` || exit 1; \
	trap 'rm -rf "$$tmp"' EXIT; export MAPQ_FUZZ_TMPDIR="$$tmp"
fuzz-smoke: fuzz-libfuzzer fuzz/gen-seeds
	@rm -rf fuzz/seeds && ./fuzz/gen-seeds fuzz/seeds > /dev/null
	@$(FUZZ_TMP); for t in $(FUZZ_TARGETS); do \
	  rm -rf fuzz/run-$$t && mkdir -p fuzz/run-$$t/corpus && cp fuzz/seeds/$$t/* fuzz/run-$$t/corpus/; \
	  echo "fuzz-smoke: $$t for $(FUZZ_SECONDS) s"; \
	  (cd fuzz/run-$$t && ../libfuzzer-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	     -max_len=70000 -print_final_stats=1 corpus > log 2>&1; echo $$? > rc) & \
	done; wait; \
	bad=0; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz-smoke: $$t"; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' fuzz/run-$$t/log; \
	  [ "`cat fuzz/run-$$t/rc 2>/dev/null`" = 0 ] && continue; bad=1; tail -30 fuzz/run-$$t/log; \
	  for c in fuzz/run-$$t/crash-* fuzz/run-$$t/timeout-* fuzz/run-$$t/leak-*; do \
	    [ -f "$$c" ] && { echo "input $$c:"; od -An -tx1 -v "$$c" | head -64; }; done; \
	done; exit $$bad
# `make fuzz': the AFL++ builds of every target, in three variants:
# fuzz/afl-T (plain), fuzz/afl-asan-T (ASan+UBSan), fuzz/afl-cmplog-T.
# (the library's sources as seen from the build directory: $$srcs)
FUZZ_SRCS = srcs=; for f in $(mapq_core_c) $(mapq_os_c) fuzz/common.c; do srcs="$$srcs $(top_srcdir)/$$f"; done
AFL_BUILD = $(AFL_CC) -g -O2 -std=c11 -D_GNU_SOURCE -I$(top_builddir) $(AM_CPPFLAGS) \
	$(top_srcdir)/fuzz/afl_driver.c $$srcs -lpthread
fuzz:
	@test -n "$(AFL_CC)" || { echo "make fuzz: AFL++ not found (apt-get install afl++), then re-run configure"; exit 1; }
	@$(FUZZ_SRCS); pids=; for t in $(FUZZ_TARGETS); do \
	  echo "  AFL      fuzz/afl-$$t fuzz/afl-asan-$$t fuzz/afl-cmplog-$$t"; \
	  (AFL_QUIET=1 $(AFL_BUILD) $(top_srcdir)/fuzz/fuzz_$$t.c -o fuzz/afl-$$t && \
	   AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 $(AFL_BUILD) $(top_srcdir)/fuzz/fuzz_$$t.c \
	     -o fuzz/afl-asan-$$t && \
	   AFL_QUIET=1 AFL_LLVM_CMPLOG=1 $(AFL_BUILD) $(top_srcdir)/fuzz/fuzz_$$t.c \
	     -o fuzz/afl-cmplog-$$t) & pids="$$pids $$!"; \
	done; $(WAIT_PIDS); exit $$rc
# Each target under afl-fuzz (ASan build, with CMPLOG) for AFL_SECONDS
# (CI: 30), all at the same time; a crash or hang fails it and its input is
# printed in hex.
AFL_SECONDS ?= 120
fuzz-afl-smoke: fuzz fuzz/gen-seeds
	@test -n "$(AFL_FUZZ)" || { echo "$@: afl-fuzz not found (apt-get install afl++)"; exit 1; }
	@rm -rf fuzz/seeds && ./fuzz/gen-seeds fuzz/seeds > /dev/null
	@$(FUZZ_TMP); for t in $(FUZZ_TARGETS); do \
	  rm -rf fuzz/afl-run-$$t fuzz/afl-$$t.rc; \
	  echo "fuzz-afl-smoke: $$t for $(AFL_SECONDS) s"; \
	  (AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
	    $(AFL_FUZZ) -i fuzz/seeds/$$t -o fuzz/afl-run-$$t -V $(AFL_SECONDS) -m none -t 5000 \
	      -c ./fuzz/afl-cmplog-$$t -- ./fuzz/afl-asan-$$t > fuzz/afl-$$t.log 2>&1; \
	    echo $$? > fuzz/afl-$$t.rc) & \
	done; wait; \
	bad=0; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz-afl-smoke: $$t"; \
	  [ "`cat fuzz/afl-$$t.rc 2>/dev/null`" = 0 ] || { tail -30 fuzz/afl-$$t.log; bad=1; continue; }; \
	  grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs) ' \
	    fuzz/afl-run-$$t/default/fuzzer_stats; \
	  for c in fuzz/afl-run-$$t/default/crashes/id* fuzz/afl-run-$$t/default/hangs/id*; do \
	    [ -f "$$c" ] || continue; bad=1; echo "input $$c:"; od -An -tx1 -v "$$c" | head -64; done; \
	done; exit $$bad
# The OSS-Fuzz / ClusterFuzzLite build script, run as the service runs it
# (Docker does not run here): for each sanitizer of project.yaml, with the
# variables its build image sets; each binary then runs a few seconds from
# its seed corpus (.clusterfuzzlite/check.sh).
OSSFUZZ_SECONDS ?= 3
ossfuzz-check:
	bash $(top_srcdir)/.clusterfuzzlite/check.sh $(abs_builddir)/ossfuzz-out $(OSSFUZZ_SECONDS)
PHONY += fuzz fuzz-libfuzzer fuzz-smoke fuzz-afl-smoke ossfuzz-check
CLEANFILES += $(FUZZ_TARGETS:%=fuzz/libfuzzer-%) $(FUZZ_TARGETS:%=fuzz/afl-%) \
	$(FUZZ_TARGETS:%=fuzz/afl-asan-%) $(FUZZ_TARGETS:%=fuzz/afl-cmplog-%)
clean-fuzz-seeds:
	rm -rf fuzz/seeds
PHONY += clean-fuzz-seeds

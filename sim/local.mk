# SPDX-License-Identifier: MIT
# sim/local.mk - the deterministic simulator (doc/simulation.md), built
# only by ./configure --enable-sim. Included by the top Makefile.am.
#
# It is the one program besides tests/ that sees inside the library, and
# only through src/sim.h: the hooks a simulation build gives it.
EXTRA_DIST += sim/simulator.h sim/regress.txt sim/bugs
if SIM
noinst_PROGRAMS += sim/mapq-sim
sim_mapq_sim_SOURCES = sim/main.c sim/sched.c sim/kernel.c sim/roles.c sim/verdict.c sim/tape.c \
	sim/shrink.c sim/switch.c sim/power.c sim/memory.c sim/views.c sim/switch.h \
	sim/simulator.h harness/account.c harness/stamp.c harness/send.c harness/state.c \
	harness/verdict.c harness/torture.h harness/system.h harness/system_posix.c
sim_mapq_sim_LDADD = libmapq_core.la $(PTHREAD_LIBS)
sim_mapq_sim_CPPFLAGS = $(API_CPPFLAGS) -I$(top_srcdir)/src -I$(top_srcdir)/harness

# `make sim': a campaign of SIM_ARGS (doc/simulation.md has more).
SIM_ARGS ?= --schedules 20000
sim: sim/mapq-sim
	./sim/mapq-sim $(SIM_ARGS)
else
sim:
	@echo "make sim: this build has no simulator (./configure --enable-sim)"; exit 1
endif
PHONY += sim

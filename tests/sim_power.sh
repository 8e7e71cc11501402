#!/bin/sh
# SPDX-License-Identifier: MIT
# sim_power.sh: the simulator's power cuts (doc/simulation.md), in a build
# configured with --enable-sim; skipped in any other. Writers sync now and
# then; the file keeps what reached the disk; every synced message must
# survive the crash image, and the judgement bites.
. "$(dirname "$0")/sim_lib.sh"

# power cuts: writers sync now and then; the file keeps what reached the
# disk, page by page, torn by sectors; what was synced must survive
expect campaign-power 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 1 --stalls 1 --power-cuts 2 --capacity 16384 -m 24 --seed 9
# the same over a ring that laps many times: the disk's control page and
# checkpoint fall laps behind the ring
expect campaign-power-laps 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 1 --power-cuts 2 --capacity 16384 -m 100 --seed 14
# ... with loads that read older stores: every process comes back from a
# cut knowing only what it reads and locks, so the joins after a cut meet
# head movers with little ordered between them (it found the head
# mover's intent CAS weakened to relaxed, mutation/)
expect campaign-power-c11 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 1 --stalls 1 --power-cuts 2 --capacity 16384 -m 24 --memory c11 --seed 15
# ... with stalled writers over a ring that laps: a mapq_sync() that
# looks at a frame while head passes it must read head after the frame's
# word (mutation/: its acquire weakened, a later lap's bytes were taken
# for a corrupt frame)
expect campaign-power-c11-sync-stalls 0 'PASS: [0-9]+ schedules' -q -n "$((N / 10))" --time-limit 60 \
	-w 3 -r 1 -k 0 --stalls 3 --stall-ms 5 --unblock-ms 1 --power-cuts 1 --capacity 16384 \
	-m 100 --memory c11 --seed 1
# the judgement bites: with msync making nothing durable, a synced message is lost
expect power-break-sync 1 'lost after mapq_sync' -q -n 2000 --time-limit 60 \
	--power-cuts 1 --capacity 16384 --break sync --seed 9
finish

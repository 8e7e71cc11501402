#!/bin/sh
# SPDX-License-Identifier: MIT
# sim_memory.sh: the simulator's memory models (doc/simulation.md), in a
# build configured with --enable-sim; skipped in any other. Campaigns with
# store buffers (--memory tso, weak), plain stores buffered too, and loads
# that read older stores (--memory c11), and the self-tests that show the
# models bite.
. "$(dirname "$0")/sim_lib.sh"

# store buffers: x86's order, and what C11 allows; without deaths every
# wait is judged for lost wake-ups
expect campaign-tso 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 0 --memory tso --seed 10
expect campaign-weak 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 1 -k 0 --memory weak --seed 11
expect campaign-weak-deaths 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 3 -r 2 -k 2 --stalls 1 --memory weak --seed 12
expect campaign-weak-overwrite 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 2 --stalls 1 --max-size 1024 -m 24 --overwrite --memory weak --seed 13
# a platform without membarrier (Windows): every commit makes the full
# fence the default's commits leave to a sleeper's heavy one
expect campaign-weak-full-fences 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 1 -k 0 --full-fences --memory weak --seed 15
expect campaign-c11-full-fences 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 1 --full-fences --memory c11 --seed 17
# plain stores in the buffers too: a frame's payload and header wait
# there like relaxed stores; with the release stores ordering nothing,
# the payload arrives after its pos and a torn message is delivered
# (without --plain-stores the same breakage passes thousands)
expect break-release 1 'verdict: corrupt' -q -n 200 -k 0 --memory weak --plain-stores \
	--break release --seed 23
expect campaign-weak-plain-stores 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 3 -r 2 -k 2 --stalls 1 --memory weak --plain-stores --seed 24
expect campaign-weak-plain-overwrite 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" \
	--time-limit 60 -w 2 -r 2 -k 2 --stalls 1 --max-size 1024 -m 24 --overwrite --memory weak \
	--plain-stores --seed 25
expect campaign-tso-plain-stores 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 0 --memory tso --plain-stores --seed 26
# loads that read older stores; with the fences ignored, the sleeper's
# fence (wait.c) no longer keeps its look after its flag, and a wake-up
# is lost within a few hundred schedules (seed 4: the first)
expect c11-break-fence-wake 1 'lost wake-up' -q -n 2000 --time-limit 60 -w 2 -r 2 -k 0 \
	--max-size 1024 -m 24 --overwrite --memory c11 --break fence --seed 4
# ... and, where stalls keep lost wake-ups out of the judgement, the
# overwrite-mode reader's fence before it re-reads its cursor lets a
# torn frame through: one schedule in a few thousand (seeds 2 and 3 of
# 2, 3, 6, 8, 9 and 10 meet it within 6000; 8, 9 and 10 meet a lost
# wake-up first, in a schedule without stalls), at schedule 69 of seed 2
expect c11-break-fence 1 'MAPQ_ECORRUPT|verdict: corrupt' -q -n 6000 --time-limit 60 -w 2 -r 2 -k 0 \
	--stalls 2 --max-size 1024 -m 24 --overwrite --memory c11 --break fence --seed 2
# ... and every store of a writer's payload over bytes a reader read and
# released must happen after that read: with the release stores ordering
# nothing, a data race (what ARM may show as the reader's loads taking
# the new bytes: load buffering, which no model here plays out)
expect c11-break-release 1 'data race: .* writer .* stores [0-9]+ bytes at ring' -q -n 200 -k 0 \
	--memory c11 --break release --seed 27
expect campaign-c11 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 0 --memory c11 --seed 16
# the writer alone stalled past a 1 ms unblock timeout: its store of tail
# made relaxed, a reader saw the new tail and no record, filled the frame
# as unknown space, and the writer's commit landed on it (mutation/:
# b0d07931aa, two messages lost at schedule 157)
expect campaign-weak-alone 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 1 -r 2 -k 2 --stalls 2 --unblock-ms 1 --memory weak --alone --seed 31
expect campaign-weak-plain-alone 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 1 -r 2 -k 2 --stalls 1 --max-size 1024 --memory weak --plain-stores --alone --seed 33
expect campaign-c11-alone 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 1 -r 2 -k 2 --stalls 1 --reattach --memory c11 --alone --seed 32
expect campaign-c11-deaths 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 3 -r 2 -k 2 --stalls 1 --reattach --memory c11 --seed 17
expect campaign-c11-overwrite 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 2 --stalls 1 --max-size 1024 -m 24 --overwrite --memory c11 --seed 18
# lapped readers back from stalls, advancing while four writers push
# them and race to move head: where a writer's failed CAS of a cursor or
# of head must still acquire the reader's release (mutation/)
expect campaign-c11-lapped-stalls 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	--strategy random -w 4 -r 1 -k 0 --stalls 4 --stall-ms 1 --max-size 1024 -m 24 \
	--overwrite --memory c11 --seed 28
# stalled writers whose frames were forsaken abandon them while the ring
# laps (PCT): the repairer's look at a frame must read head after the
# frame's word (mutation/: its acquire weakened, a later lap's frame was
# aborted as a hole of this one, and its message lost)
expect campaign-c11-abandon-laps 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	--strategy pct -w 3 -r 1 -k 0 --stalls 6 --stall-ms 2 --unblock-ms 1 --max-size 1024 -m 32 \
	--memory c11 --seed 3
# ... with store buffers: a stalled writer's confirmation may still be
# in its buffer when a reader gives up on it (sim/regress.txt,
# mark-skipped-busy-record, found once in some 60000 such schedules)
expect campaign-weak-short-unblock 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 1 -k 2 --stalls 1 --unblock-ms 5 --memory weak --seed 21
# four writers: records read by repairers while others reserve. Met a
# record cleared before its frame's pos (sim/regress.txt,
# record-cleared-before-pos) and sees the tail CAS weakened to relaxed
# (a reservation past tail with no record yet), which two or three
# writers never showed
expect campaign-weak-four-writers 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 4 -r 1 -k 2 --stalls 2 --unblock-ms 5 --memory weak --seed 22
# readers without a name close and come back (PCT): a writer that finds
# a closed reader's slot free must happen after what it read, so the
# store of FREE is a release (mutation/: a data race when relaxed)
expect campaign-c11-reattach 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	--strategy pct -w 1 -r 2 -k 0 -m 40 --reattach --ephemeral --memory c11 --seed 29
# ... and durable ones drop their names as they close: the same for the
# drop's store of FREE
expect campaign-c11-drop 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	--strategy pct -w 1 -r 1 -k 0 -m 40 --reattach --drop --memory c11 --seed 30
# readers close now and then and come back: closes and joins during traffic
expect campaign-reattach 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 0 --reattach --ephemeral --memory weak --seed 14
finish

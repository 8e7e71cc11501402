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
# loads that read older stores; with the fences ignored (the
# overwrite-mode reader's before it re-reads its cursor), a torn frame:
# one schedule in a few thousand, at schedule 331 of seed 7
expect c11-break-fence 1 'MAPQ_ECORRUPT|verdict: corrupt' -q -n 6000 --time-limit 60 -w 2 -r 2 -k 0 \
	--max-size 1024 -m 24 --overwrite --memory c11 --break fence --seed 7
expect campaign-c11 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 0 --memory c11 --seed 16
expect campaign-c11-deaths 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 3 -r 2 -k 2 --stalls 1 --reattach --memory c11 --seed 17
expect campaign-c11-overwrite 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 2 --stalls 1 --max-size 1024 -m 24 --overwrite --memory c11 --seed 18
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
# readers close now and then and come back: closes and joins during traffic
expect campaign-reattach 0 'PASS: [0-9]+ schedules' -q -n "$((N / 5))" --time-limit 60 \
	-w 2 -r 2 -k 0 --reattach --ephemeral --memory weak --seed 14
finish

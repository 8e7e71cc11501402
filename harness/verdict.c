/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - judge a torture run from its state file, print the table,
 * write the JSON report (doc/harness.md explains every field).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mapq.h"
#include "torture.h"

/* The fresh open after a hostile run may fail, but only with a code the
 * library can name. */
static bool final_open_clear(const struct tt_run *run)
{
	return run->final_open == 0 || strcmp(mapq_err_name(run->final_open), "EUNKNOWN") != 0;
}

/* With a hostile peer nothing promises the data: judge crashes, calls
 * that overran their timeout, and the open afterwards. */
static void judge_hostile(const struct tt_state *st, const struct tt_run *run, struct tt_verdict *v)
{
	/* relaxed: the children that wrote these are gone */
	v->scribbles = atomic_load_explicit(&st->hdr->scribbles, memory_order_relaxed);
	v->calls = atomic_load_explicit(&st->hdr->calls, memory_order_relaxed);
	v->hangs = atomic_load_explicit(&st->hdr->hangs, memory_order_relaxed);
	v->max_over_ns = atomic_load_explicit(&st->hdr->max_over_ns, memory_order_relaxed);
	v->errors = atomic_load_explicit(&st->hdr->errors, memory_order_relaxed);
	v->reopens = atomic_load_explicit(&st->hdr->reopens, memory_order_relaxed);
	v->clean = !run->failure[0] && !run->crashes && !v->hangs && final_open_clear(run) &&
		   v->scribbles > 0;
}

/*
 * Under MAPQ_OVERWRITE a lapped reader is told how many messages it lost
 * (-MAPQ_ELAPPED, mapq_reader_lost()): for a reader that was never
 * restarted, those reports must add up to what it missed. Every
 * acknowledged message it did not receive was lost to it, so the reports
 * are at least that, less one per writer killed (a writer counts the loss
 * just after it pushes the cursor, and one killed in between never does:
 * doc/format.md, "Move head"); a writer killed after its commit and
 * before its acknowledgement adds one message nobody acknowledged, so
 * they are at most one more per writer incarnation.
 */
static void count_losses(const struct tt_state *st, const struct tt_run *run, uint32_t r,
			 struct tt_verdict *v)
{
	uint64_t lo = 0, hi = 0, killed = 0;
	for (uint32_t w = 0; w < st->writers; w++)
		for (uint32_t i = 0; i < run->incarnations[w]; i++) {
			killed += i > 0;
			/* acquire: the writer's count, stored before it exited */
			uint64_t acked = atomic_load_explicit(&st->acks[(size_t)w * TT_MAX_INC + i],
							      memory_order_acquire);
			uint64_t got = tt_pair(st, r, w, i)->got;
			lo += acked > got ? acked - got : 0;
			uint64_t sent = acked + (run->inflight_max ? run->inflight_max : 1);
			hi += sent > got ? sent - got : 0;
		}
	lo = lo > killed ? lo - killed : 0;
	uint64_t told = tt_rstats(st, r)->lapped_lost;
	v->readers_counted++;
	if (told >= lo && told <= hi)
		return;
	if (!v->miscounted++) {
		v->missed_lo = lo;
		v->missed_hi = hi;
		v->reported = told;
	}
}

void tt_judge(const struct tt_state *st, const struct tt_run *run, struct tt_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (run->hostile > 0) {
		judge_hostile(st, run, v);
		return;
	}
	/* A reader waits on a stalled live writer up to the unblock timeout;
	 * on a dead one a few milliseconds. The bound leaves room for a
	 * loaded 2-core machine. */
	v->stall_bound_ns = ((uint64_t)run->unblock_ms + 1000) * 1000000ull;
	for (uint32_t w = 0; w < st->writers; w++)
		for (uint32_t i = 0; i < run->incarnations[w]; i++)
			v->acked += atomic_load_explicit(&st->acks[(size_t)w * TT_MAX_INC + i],
							 memory_order_acquire);
	bool done = true;
	for (uint32_t r = 0; r < st->readers; r++) {
		const struct tt_rstats *rs = tt_rstats(st, r);
		v->delivered += rs->delivered;
		v->corrupt += rs->corrupt;
		v->duplicated += rs->duplicated;
		v->redelivered += rs->redelivered;
		v->reordered += rs->reordered;
		v->lapped += rs->lapped;
		v->lapped_lost += rs->lapped_lost;
		v->gaps += rs->gaps;
		if (!run->overwrite && rs->max_stall_ns > v->max_stall_ns)
			v->max_stall_ns = rs->max_stall_ns;
		done = done && rs->done;
		if (run->overwrite && rs->epoch == 0)
			count_losses(st, run, r, v);
		/* Loss is judged for readers that never missed anything by
		 * design: no lap, and no restart without a durable cursor. */
		if (rs->lossy || run->overwrite)
			continue;
		v->readers_checked++;
		for (uint32_t w = 0; w < st->writers; w++)
			for (uint32_t i = 0; i < run->incarnations[w]; i++) {
				uint64_t acked = atomic_load_explicit(
					&st->acks[(size_t)w * TT_MAX_INC + i],
					memory_order_acquire);
				uint64_t got = tt_pair(st, r, w, i)->got;
				if (got < acked)
					v->lost += acked - got;
				else
					v->inflight += got - acked;
			}
	}
	v->bytes = v->delivered * (run->min_size + run->max_size) / 2;
	v->clean = !run->failure[0] && done && !v->corrupt && !v->duplicated && !v->reordered &&
		   !v->lost && !v->miscounted && v->max_stall_ns <= v->stall_bound_ns;
}

static const char *verdict_word(const struct tt_verdict *v)
{
	return v->clean ? "PASS" : "FAIL";
}

static void print_hostile(FILE *f, const struct tt_run *run, const struct tt_verdict *v)
{
	fprintf(f, "\nmapq-torture verdict (hostile peer): %s\n", verdict_word(v));
	fprintf(f, "  %-28s %llu (about %.1f a second)\n", "scribbles",
		(unsigned long long)v->scribbles, run->hostile);
	fprintf(f, "  %-28s %llu\n", "crashes", (unsigned long long)run->crashes);
	fprintf(f,
		"  %-28s %llu of %llu timed calls (bound: timeout + %d ms); most over: %.1f ms\n",
		"hangs", (unsigned long long)v->hangs, (unsigned long long)v->calls,
		TT_HANG_BOUND_MS, (double)v->max_over_ns / 1e6);
	fprintf(f, "  %-28s %llu, all named; %llu handles opened again after one\n",
		"errors returned", (unsigned long long)v->errors, (unsigned long long)v->reopens);
	fprintf(f, "  %-28s writers %llu, readers %llu; pauses %llu\n", "kills",
		(unsigned long long)run->writer_kills, (unsigned long long)run->reader_kills,
		(unsigned long long)run->pauses);
	fprintf(f, "  %-28s %s: %s\n", "fresh open afterwards",
		run->final_open ? mapq_err_name(run->final_open) : "OK", run->final_report);
	if (run->failure[0])
		fprintf(f, "  %-28s %s\n", "failure", run->failure);
	fprintf(f, "  reproduce: %s\n", run->command);
}

void tt_print(FILE *f, const struct tt_state *st, const struct tt_run *run,
	      const struct tt_verdict *v)
{
	if (run->hostile > 0) {
		print_hostile(f, run, v);
		return;
	}
	uint32_t incs = 0;
	for (uint32_t w = 0; w < run->writers; w++)
		incs += run->incarnations[w];
	fprintf(f, "\nmapq-torture verdict: %s\n", verdict_word(v));
	fprintf(f, "  %-28s %llu (%u writers, %u incarnations)\n", "messages acknowledged",
		(unsigned long long)v->acked, run->writers, incs);
	fprintf(f, "  %-28s %llu over %u readers:", "messages delivered",
		(unsigned long long)v->delivered, run->readers);
	for (uint32_t r = 0; r < st->readers; r++)
		fprintf(f, " %llu", (unsigned long long)tt_rstats(st, r)->delivered);
	fprintf(f, "\n  %-28s writers %llu, readers %llu, at fault points %llu; pauses %llu\n",
		"kills", (unsigned long long)run->writer_kills,
		(unsigned long long)run->reader_kills, (unsigned long long)run->fault_kills,
		(unsigned long long)run->pauses);
	fprintf(f, "  %-28s %llu (dead or stalled writers' frames finished by others)\n",
		"frames repaired", (unsigned long long)run->repaired);
	fprintf(f, "  %-28s %llu\n", "corrupt", (unsigned long long)v->corrupt);
	fprintf(f, "  %-28s %llu (redelivered after a reader restart, allowed: %llu)\n",
		"duplicated", (unsigned long long)v->duplicated,
		(unsigned long long)v->redelivered);
	fprintf(f, "  %-28s %llu\n", "reordered", (unsigned long long)v->reordered);
	if (run->overwrite) {
		fprintf(f,
			"  %-28s not judged (overwrite policy: %llu laps, %llu messages lapped)\n",
			"lost after acknowledgement", (unsigned long long)v->lapped,
			(unsigned long long)v->lapped_lost);
		if (v->miscounted)
			fprintf(f,
				"  %-28s %u of %u readers; the first was told of %llu, but missed "
				"%llu to %llu\n",
				"losses miscounted", v->miscounted, v->readers_counted,
				(unsigned long long)v->reported, (unsigned long long)v->missed_lo,
				(unsigned long long)v->missed_hi);
		else
			fprintf(f, "  %-28s 0 (readers never restarted, checked: %u of %u)\n",
				"losses miscounted", v->readers_counted, run->readers);
	} else
		fprintf(f, "  %-28s %llu (readers checked: %u of %u)\n",
			"lost after acknowledgement", (unsigned long long)v->lost,
			v->readers_checked, run->readers);
	fprintf(f, "  %-28s %llu (unacknowledged messages of killed writers, intact)\n",
		"in-flight delivered", (unsigned long long)v->inflight);
	fprintf(f, "  %-28s %.1f ms (bound %.0f ms)\n", "longest stall",
		(double)v->max_stall_ns / 1e6, (double)v->stall_bound_ns / 1e6);
	double s = run->elapsed_s > 0 ? run->elapsed_s : 1;
	fprintf(f, "  %-28s %.0f msgs/s delivered, %.1f MB/s (%.1f s)\n", "throughput",
		(double)v->delivered / s, (double)v->bytes / s / 1e6, run->elapsed_s);
	if (run->failure[0])
		fprintf(f, "  %-28s %s\n", "failure", run->failure);
	fprintf(f, "  reproduce: %s\n", run->command);
}

int tt_write_json(const char *path, const struct tt_state *st, const struct tt_run *run,
		  const struct tt_verdict *v)
{
	FILE *f = fopen(path, "wb"); /* "\n" on every platform */
	if (!f)
		return -1;
	fprintf(f, "{\n  \"verdict\": \"%s\",\n", verdict_word(v));
	fprintf(f, "  \"command\": \"");
	for (const char *c = run->command; *c; c++)
		fprintf(f, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
	fprintf(f, "\",\n  \"seed\": %llu,\n", (unsigned long long)run->seed);
	fprintf(f,
		"  \"config\": {\"writers\": %u, \"readers\": %u, \"capacity\": %llu, "
		"\"min_size\": %u, \"max_size\": %u, \"policy\": \"%s\", \"durable\": %s, "
		"\"alone\": %s, \"duration_s\": %.1f, \"kill_rate\": %.3f, \"pause_rate\": %.3f, "
		"\"fault_points\": \"%s\", \"break\": \"%s\", \"unblock_ms\": %u},\n",
		run->writers, run->readers, (unsigned long long)run->capacity, run->min_size,
		run->max_size, run->overwrite ? "overwrite" : "block",
		run->durable ? "true" : "false", run->alone ? "true" : "false", run->duration_s,
		run->kill_rate, run->pause_rate, run->fault_points ? run->fault_points : "",
		run->brk ? run->brk : "none", run->unblock_ms);
	fprintf(f, "  \"elapsed_s\": %.3f,\n  \"acknowledged\": %llu,\n  \"delivered\": %llu,\n",
		run->elapsed_s, (unsigned long long)v->acked, (unsigned long long)v->delivered);
	fprintf(f, "  \"delivered_per_reader\": [");
	for (uint32_t r = 0; r < st->readers; r++)
		fprintf(f, "%s%llu", r ? ", " : "",
			(unsigned long long)tt_rstats(st, r)->delivered);
	fprintf(f, "],\n  \"reader_restarts\": [");
	for (uint32_t r = 0; r < st->readers; r++)
		fprintf(f, "%s%u", r ? ", " : "", run->reader_restarts[r]);
	fprintf(f,
		"],\n  \"kills\": {\"writers\": %llu, \"readers\": %llu, \"fault_points\": %llu},\n",
		(unsigned long long)run->writer_kills, (unsigned long long)run->reader_kills,
		(unsigned long long)run->fault_kills);
	fprintf(f, "  \"pauses\": %llu,\n  \"repaired\": %llu,\n", (unsigned long long)run->pauses,
		(unsigned long long)run->repaired);
	fprintf(f,
		"  \"corrupt\": %llu,\n  \"duplicated\": %llu,\n  \"redelivered\": %llu,\n"
		"  \"reordered\": %llu,\n  \"lost\": %llu,\n  \"readers_checked_for_loss\": %u,\n"
		"  \"inflight_delivered\": %llu,\n  \"lapped\": %llu,\n  \"lapped_messages\": %llu,\n"
		"  \"losses_miscounted\": %u,\n  \"readers_checked_for_loss_counts\": %u,\n",
		(unsigned long long)v->corrupt, (unsigned long long)v->duplicated,
		(unsigned long long)v->redelivered, (unsigned long long)v->reordered,
		(unsigned long long)v->lost, v->readers_checked, (unsigned long long)v->inflight,
		(unsigned long long)v->lapped, (unsigned long long)v->lapped_lost, v->miscounted,
		v->readers_counted);
	if (run->hostile > 0) {
		fprintf(f,
			"  \"hostile\": {\"rate\": %.3f, \"scribbles\": %llu, \"crashes\": %llu, "
			"\"calls\": %llu, \"hangs\": %llu, \"max_over_ms\": %.3f, \"errors\": %llu, "
			"\"reopens\": %llu, \"final_open\": \"%s\"},\n",
			run->hostile, (unsigned long long)v->scribbles,
			(unsigned long long)run->crashes, (unsigned long long)v->calls,
			(unsigned long long)v->hangs, (double)v->max_over_ns / 1e6,
			(unsigned long long)v->errors, (unsigned long long)v->reopens,
			run->final_open ? mapq_err_name(run->final_open) : "OK");
	}
	fprintf(f, "  \"max_stall_ms\": %.3f,\n  \"stall_bound_ms\": %.0f,\n",
		(double)v->max_stall_ns / 1e6, (double)v->stall_bound_ns / 1e6);
	double s = run->elapsed_s > 0 ? run->elapsed_s : 1;
	fprintf(f, "  \"msgs_per_s\": %.0f,\n  \"failure\": \"%s\"\n}\n", (double)v->delivered / s,
		run->failure);
	return fclose(f) == 0 ? 0 : -1;
}

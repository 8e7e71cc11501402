/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - judge one schedule: the torture harness's verdict
 * (harness/verdict.c: corrupt, duplicated, reordered, lost after
 * acknowledgement, stalled) over the state the simulated readers and
 * writers kept, after the simulator's own (deadlock, lost wake-up,
 * timeouts, unbounded spinning), which roles.c and sched.c report.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "simulator.h"

/* What failed, without the numbers, for shrink.c: a smaller schedule
 * must fail the same way, not just fail. */
static void kind_of(struct sim_result *res)
{
	const struct tt_verdict *v = &res->v;
	char *k = res->kind;
	size_t n = 0, cap = sizeof(res->kind);
	if (sim_w.failure[0]) {
		/* the text before its first ':', digits left out; "not finished"
		 * says whether the queue is stuck or a process spins */
		for (const char *s = sim_w.failure; *s && *s != ':' && n + 1 < cap; s++)
			if (!isdigit((unsigned char)*s) && *s != '.')
				k[n++] = *s;
		k[n] = 0;
		/* "power cut 2: lost after mapq_sync: ..." is the cut's
		 * judgement and what it found */
		const char *after = strchr(sim_w.failure, ':');
		if (!strncmp(k, "power cut", 9) && after)
			snprintf(k, cap, "power cut: %.*s", (int)strcspn(after + 2, ":("),
				 after + 2);
		if (!strncmp(k, "not finished", 12))
			snprintf(k, cap, "not finished, %s",
				 strstr(sim_w.failure, "is stuck") ? "stuck" : "spinning");
		/* a call that failed (roles.c, fail_rc): "reader 0.1: read:
		 * ... (MAPQ_ECORRUPT)" is the role, the call and the error */
		const char *call = strstr(sim_w.failure, ": "), *err = strrchr(sim_w.failure, '(');
		if ((!strncmp(k, "reader", 6) || !strncmp(k, "writer", 6) ||
		     !strncmp(k, "closer", 6)) &&
		    call && err) {
			int len = (int)strcspn(call + 2, ":");
			snprintf(k, cap, "%.6s %.*s: %.*s", sim_w.failure, len, call + 2,
				 (int)strcspn(err + 1, ")"), err + 1);
		}
		return;
	}
	snprintf(k, cap, "verdict:%s%s%s%s%s%s%s", v->corrupt ? " corrupt" : "",
		 v->duplicated ? " duplicated" : "", v->reordered ? " reordered" : "",
		 v->lost ? " lost" : "", v->miscounted ? " losses miscounted" : "",
		 v->max_stall_ns > v->stall_bound_ns ? " stalled" : "",
		 !v->corrupt && !v->duplicated && !v->reordered && !v->lost && !v->miscounted &&
				 v->max_stall_ns <= v->stall_bound_ns
			 ? " unfinished"
			 : "");
}

void sim_judge(struct sim_result *res)
{
	const struct sim_config *cfg = sim_w.cfg;
	struct tt_run run;
	memset(&run, 0, sizeof(run));
	memset(res, 0, sizeof(*res));
	run.writers = cfg->writers;
	run.readers = cfg->readers;
	run.min_size = cfg->min_size;
	run.max_size = cfg->max_size;
	run.unblock_ms = cfg->unblock_ms > 0 ? (uint32_t)cfg->unblock_ms : 0;
	run.capacity = cfg->capacity;
	run.seed = sim_w.seed;
	run.durable = cfg->durable;
	run.overwrite = cfg->overwrite;
	run.inflight_max = cfg->send_batch ? TT_SEND_BATCH : 1;
	for (unsigned w = 0; w < cfg->writers; w++)
		run.incarnations[w] = sim_w.incarnations[w];
	snprintf(run.failure, sizeof(run.failure), "%.*s", (int)sizeof(run.failure) - 1,
		 sim_w.failure);
	tt_judge(&sim_w.st, &run, &res->v);
	res->pass = res->v.clean;
	const struct tt_verdict *v = &res->v;
	unsigned done = 0;
	for (unsigned r = 0; r < cfg->readers; r++)
		done += tt_rstats(&sim_w.st, r)->done != 0;
	if (sim_w.failure[0])
		snprintf(res->why, sizeof(res->why), "%s", sim_w.failure);
	else if (!res->pass && v->miscounted)
		snprintf(res->why, sizeof(res->why),
			 "verdict: losses miscounted: %u of %u readers never restarted were told "
			 "of lost messages that do not add up to those they missed; the first was "
			 "told of %llu, but missed %llu to %llu",
			 v->miscounted, v->readers_counted, (unsigned long long)v->reported,
			 (unsigned long long)v->missed_lo, (unsigned long long)v->missed_hi);
	else if (!res->pass)
		snprintf(res->why, sizeof(res->why),
			 "verdict: %llu acknowledged, %llu delivered; corrupt %llu, duplicated "
			 "%llu, reordered %llu, lost after acknowledgement %llu; longest stall "
			 "%.1f ms (bound %.0f ms); readers that saw the end: %u of %u",
			 (unsigned long long)v->acked, (unsigned long long)v->delivered,
			 (unsigned long long)v->corrupt, (unsigned long long)v->duplicated,
			 (unsigned long long)v->reordered, (unsigned long long)v->lost,
			 (double)v->max_stall_ns / 1e6, (double)v->stall_bound_ns / 1e6, done,
			 cfg->readers);
	if (!res->pass)
		kind_of(res);
}

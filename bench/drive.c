/* SPDX-License-Identifier: MIT */
/*
 * drive.c - the processes of one case: consumers first, then producers
 * once every consumer says it is ready (attached, listening), so no
 * mechanism loses messages sent before its receiver was there.
 */
#define _GNU_SOURCE 1

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct shared {
	_Atomic int ready;  /* consumers ready; relaxed is enough: a start signal */
	_Atomic int done;   /* consumers finished (see bench_wait_consumers) */
	_Atomic int failed; /* consumers that failed: producers must not wait */
	int consumers;
	struct bench_tp_report rep[BENCH_MAX_PROCS];
	uint64_t rtt[]; /* latency cases: one per round trip */
};

static struct shared *cur;

/* Called by a consumer (or pong side) once it can receive. */
void bench_ready(void)
{
	/* release: what the consumer set up is visible to whoever starts */
	atomic_fetch_add_explicit(&cur->ready, 1, memory_order_release);
}

/* For a producer whose library drops what is still in flight when its
 * socket closes: wait (up to 30 s) until every consumer has finished. */
void bench_wait_consumers(void)
{
	struct timespec ts = { 0, 1000000 };
	/* acquire: a start signal only, as for ready */
	for (int i = 0;
	     i < 30000 && atomic_load_explicit(&cur->done, memory_order_acquire) < cur->consumers;
	     i++)
		nanosleep(&ts, NULL);
}

void bench_tp_done(struct bench_tp_report *r, uint64_t t0, uint64_t n)
{
	r->seconds = (double)(bench_now_ns() - t0) / 1e9 * (double)n / (double)(n - 1);
	r->received = n;
}

bool bench_oversubscribed(const struct bench_tp_case *c)
{
	return c->writers + c->readers > sysconf(_SC_NPROCESSORS_ONLN);
}

#define READY_LIMIT_NS 60000000000ull /* a consumer that never starts */

/* Until @n consumers are ready: false if one failed first (it will never
 * be ready, and a producer waiting for it would hang its case) or none
 * was ready in time. */
static bool wait_ready(int n)
{
	uint64_t t0 = bench_now_ns();
	/* acquire: pairs with bench_ready() */
	while (atomic_load_explicit(&cur->ready, memory_order_acquire) < n) {
		/* relaxed: a flag; the consumer's report is read after waitpid */
		if (atomic_load_explicit(&cur->failed, memory_order_relaxed) ||
		    bench_now_ns() - t0 > READY_LIMIT_NS)
			return false;
		sched_yield();
	}
	return true;
}

/* A consumer (or pong side) ends with @rc. */
static _Noreturn void consumer_exit(int rc)
{
	if (rc) /* relaxed: see wait_ready() */
		atomic_fetch_add_explicit(&cur->failed, 1, memory_order_relaxed);
	_exit(rc ? 1 : 0);
}

void bench_run_throughput(const struct bench_tp_case *c, void *ctx, bench_produce_fn produce,
			  bench_consume_fn consume, struct bench_tp_result *out)
{
	memset(out, 0, sizeof(*out));
	size_t sz = sizeof(struct shared);
	cur = bench_shared_alloc(sz);
	cur->consumers = c->readers;
	pid_t pids[2 * BENCH_MAX_PROCS] = { 0 };
	int n = 0;
	for (int i = 0; i < c->readers; i++) {
		pid_t p = fork();
		if (p == 0) {
			int rc = consume(ctx, i, c, &cur->rep[i]);
			/* release: as for ready */
			atomic_fetch_add_explicit(&cur->done, 1, memory_order_release);
			consumer_exit(rc);
		}
		pids[n++] = p;
	}
	for (int i = 0; i < c->writers; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(!wait_ready(c->readers) || produce(ctx, i, c) ? 1 : 0);
		pids[n++] = p;
	}
	bool ok = bench_wait_all(pids, n, out->why, sizeof(out->why));
	double worst = 0;
	for (int i = 0; i < c->readers; i++) {
		struct bench_tp_report *r = &cur->rep[i];
		if (r->failed) {
			snprintf(out->why, sizeof(out->why), "reader %d: %.140s", i, r->why);
			ok = false;
		}
		if (r->seconds > worst)
			worst = r->seconds;
	}
	if (ok && worst > 0) {
		double msgs = (double)c->count * c->writers;
		out->ok = true;
		out->msgs_per_s = msgs / worst;
		out->mb_per_s = out->msgs_per_s * (double)c->size / 1e6;
	}
	bench_shared_free(cur, sz);
}

void bench_run_latency(const struct bench_lat_case *c, void *ctx, bench_ping_fn ping,
		       bench_pong_fn pong, struct bench_lat_result *out)
{
	memset(out, 0, sizeof(*out));
	size_t sz = sizeof(struct shared) + c->iters * sizeof(uint64_t);
	cur = bench_shared_alloc(sz);
	pid_t pids[2] = { 0 };
	pids[0] = fork();
	if (pids[0] == 0)
		consumer_exit(pong(ctx, c));
	pids[1] = fork();
	if (pids[1] == 0)
		_exit(!wait_ready(1) || ping(ctx, c, cur->rtt) ? 1 : 0);
	/* the ping side ends first; the pong side sees the end of input */
	if (bench_wait_all(pids, 2, out->why, sizeof(out->why)))
		bench_lat_stats(cur->rtt, c->iters, out);
	bench_shared_free(cur, sz);
}

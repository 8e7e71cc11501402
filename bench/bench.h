/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what the parts of mapq-bench share.
 *
 * Every case runs as real processes: producers and consumers are forked
 * children that meet over the mechanism under test, and report through a
 * shared anonymous mapping. Every consumer checks every byte of every
 * message it counts (a stamp of writer and sequence, then the rest against
 * a reference pattern), whatever the mechanism, so all do the same work.
 */
#ifndef MAPQ_BENCH_H
#define MAPQ_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_SIZE 65536
#define BENCH_MAX_PROCS 4

/* One throughput case: @writers producers send @count messages each of
 * @size bytes; each of @readers consumers receives all of them. */
struct bench_tp_case {
	const char *mech;
	size_t size;
	int writers, readers;
	uint64_t count;
	const char *dir; /* for file-backed mechanisms */
};

/* What a consumer reports: the time from its first message to its last,
 * and how many it checked. */
struct bench_tp_report {
	double seconds;
	uint64_t received;
	int failed; /* a check failed: the run is void */
	char why[160];
};

/* One latency case: @iters round trips of @size bytes after @warmup. */
struct bench_lat_case {
	const char *mech;
	const char *mode; /* "poll" or "block" where the mechanism has both */
	size_t size;
	uint64_t iters, warmup;
	const char *dir;
};

/* Results, in nanoseconds; @ok is false when the case could not run, with
 * the reason in @why. */
struct bench_lat_result {
	bool ok;
	double p50, p99, p999, max;
	char why[160];
};
struct bench_tp_result {
	bool ok;
	double msgs_per_s, mb_per_s;
	char why[160];
};

/* A mechanism: throughput and, when it has one, latency. */
struct bench_mech {
	const char *name;
	const char *what;
	/* writers x readers it supports beyond 1 x 1 */
	bool multi_writer, broadcast;
	/* round trips busy-polling and blocking, each a case of its own */
	bool poll_and_block;
	void (*throughput)(const struct bench_tp_case *c, struct bench_tp_result *out);
	void (*latency)(const struct bench_lat_case *c, struct bench_lat_result *out);
};

extern const struct bench_mech bench_mapq, bench_mapq_alone, bench_mapq_batch, bench_pipe,
	bench_unix_stream, bench_unix_seqpacket, bench_posix_mq, bench_raw_ring, bench_batch_ring,
	bench_cacheline, bench_zeromq, bench_nng;

/* mech_mapq.c: @n sends, reads and releases in one process (--pairs);
 * @alone: in a queue of one writer slot; @batched: 64 at a time */
int bench_mapq_pairs(const char *dir, size_t size, uint64_t n, bool alone, bool batched);

/* check.c: payloads */
void bench_pay_fill(void *buf, size_t size, unsigned writer, uint64_t seq);
/* 0 if @buf is message @seq of @writer with @size bytes, else -1 */
int bench_pay_check(const void *buf, size_t size, unsigned *writer, uint64_t *seq);
uint64_t bench_now_ns(void);

/* check.c: shared results and processes */
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);
/* Wait for every pid; false (and @why filled) if any failed. */
bool bench_wait_all(pid_t *pids, int n, char *why, size_t whylen);
void bench_kill_all(pid_t *pids, int n);

/* check.c: a consumer's sequence checks across writers */
struct bench_seqcheck {
	uint64_t next[BENCH_MAX_PROCS];
};
/* Checks one message; returns 0, or -1 with @why filled. */
int bench_seq_accept(struct bench_seqcheck *s, const void *buf, size_t len, size_t size, char *why,
		     size_t whylen);

/* Latency statistics over @n round trips in ns (sorts @v). */
void bench_lat_stats(uint64_t *v, uint64_t n, struct bench_lat_result *out);

/* drive.c: a consumer (or the echo side of a latency case) calls this
 * once it can receive; producers start when every consumer has. */
void bench_ready(void);
/* A consumer's report once it has checked its @n messages, the first at
 * @t0: n - 1 intervals between n deliveries, scaled back to n (the first
 * delivery's wait is start-up, not throughput). */
void bench_tp_done(struct bench_tp_report *r, uint64_t t0, uint64_t n);
/* More processes in the case than CPUs: a side that waits should give its
 * CPU away rather than spin (each mechanism says how). */
bool bench_oversubscribed(const struct bench_tp_case *c);
/* A producer whose library drops what is in flight when its socket
 * closes calls this before closing: it returns when every consumer of the
 * case has finished (or after 30 s). */
void bench_wait_consumers(void);

/* Common drivers (drive.c): run @writers producers and @readers consumers
 * as processes around the functions below, and fill @out. */
typedef int (*bench_produce_fn)(void *ctx, int writer, const struct bench_tp_case *c);
typedef int (*bench_consume_fn)(void *ctx, int reader, const struct bench_tp_case *c,
				struct bench_tp_report *r);
void bench_run_throughput(const struct bench_tp_case *c, void *ctx, bench_produce_fn produce,
			  bench_consume_fn consume, struct bench_tp_result *out);
/* Ping (the measuring side) and pong (the echo side) as two processes. */
typedef int (*bench_ping_fn)(void *ctx, const struct bench_lat_case *c, uint64_t *rtt);
typedef int (*bench_pong_fn)(void *ctx, const struct bench_lat_case *c);
void bench_run_latency(const struct bench_lat_case *c, void *ctx, bench_ping_fn ping,
		       bench_pong_fn pong, struct bench_lat_result *out);

#endif /* MAPQ_BENCH_H */

/* SPDX-License-Identifier: MIT */
/*
 * mech_limits.c - the machine's limits, which no framed queue can beat:
 * a minimal single-producer single-consumer byte ring in a shared mapping
 * (no framing, no CRC, busy polling: the ceiling of throughput; with a
 * head per reader, the ceiling of 1 writer x 2 readers), the same
 * ring publishing its indices once per batch, as the fastest transports
 * do (a higher ceiling), and one cache line bounced between two processes
 * (the floor of a round trip).
 */
#define _GNU_SOURCE 1

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define RING (1u << 20) /* every benchmark size divides it: no message wraps */
#define SPIN_LIMIT_NS 20000000000ull

struct ring {
	_Alignas(128) _Atomic uint64_t tail; /* written by the producer */
	_Alignas(128) _Atomic uint64_t head; /* written by the consumer */
	_Alignas(128) uint8_t data[RING];
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static int produce(void *ctx, int w, const struct bench_tp_case *c)
{
	struct ring *r = ctx;
	static uint8_t buf[BENCH_MAX_SIZE];
	uint64_t head = 0, pos = 0;
	for (uint64_t i = 0; i < c->count; i++, pos += c->size) {
		while (pos + c->size - head > RING) {
			/* acquire: the consumer is done with the bytes it passed */
			head = atomic_load_explicit(&r->head, memory_order_acquire);
			relax();
		}
		/* the same work as every other producer: build the message,
		 * then copy it in */
		bench_pay_fill(buf, c->size, (unsigned)w, i);
		memcpy(r->data + pos % RING, buf, c->size);
		/* release: the bytes before the new tail */
		atomic_store_explicit(&r->tail, pos + c->size, memory_order_release);
	}
	return 0;
}

static int consume(void *ctx, int id, const struct bench_tp_case *c, struct bench_tp_report *rep)
{
	(void)id;
	struct ring *r = ctx;
	struct bench_seqcheck sc = { { 0 } };
	bench_ready();
	uint64_t tail = 0, pos = 0, t0 = 0, wait0 = bench_now_ns();
	for (uint64_t i = 0; i < c->count; i++, pos += c->size) {
		while (tail < pos + c->size) {
			/* acquire: pairs with the producer's release */
			tail = atomic_load_explicit(&r->tail, memory_order_acquire);
			relax();
			if (i == 0 && bench_now_ns() - wait0 > SPIN_LIMIT_NS) {
				snprintf(rep->why, sizeof(rep->why), "no data");
				rep->failed = 1;
				return -1;
			}
		}
		if (i == 0)
			t0 = bench_now_ns();
		if (bench_seq_accept(&sc, r->data + pos % RING, c->size, c->size, rep->why,
				     sizeof(rep->why))) {
			rep->failed = 1;
			return -1;
		}
		/* release: our reads of the bytes are done before they are reused */
		atomic_store_explicit(&r->head, pos + c->size, memory_order_release);
	}
	bench_tp_done(rep, t0, c->count);
	return 0;
}

/*
 * The raw ring broadcasting to two readers (1x2): the same ring and the
 * same work per message, each reader with its own head, the producer
 * waiting for the slower one. The ceiling of mapq 1x2: what a second
 * reader costs when nothing else is done. With more processes than
 * CPUs, each side spins a little and then yields its CPU, as mapq's
 * bench readers block then (mech_mapq.c): spinning would only steal the
 * time of the process it waits for.
 */
#define BCAST_READERS 2
#define BCAST_SPINS 64 /* pauses between two yields, oversubscribed */

struct bcast {
	_Alignas(128) _Atomic uint64_t tail;
	struct {
		_Alignas(128) _Atomic uint64_t pos;
	} head[BCAST_READERS];
	_Alignas(128) uint8_t data[RING];
};

/* One round of a wait: false once it has lasted SPIN_LIMIT_NS. */
static bool bcast_wait(bool yield, unsigned *spins, uint64_t t0)
{
	relax();
	if (yield && ++*spins % BCAST_SPINS == 0)
		sched_yield();
	return bench_now_ns() - t0 <= SPIN_LIMIT_NS;
}

static int bcast_produce(void *ctx, int w, const struct bench_tp_case *c)
{
	struct bcast *r = ctx;
	static uint8_t buf[BENCH_MAX_SIZE];
	bool yield = bench_oversubscribed(c);
	uint64_t head = 0, pos = 0;
	for (uint64_t i = 0; i < c->count; i++, pos += c->size) {
		unsigned spins = 0;
		uint64_t t0 = bench_now_ns();
		while (pos + c->size - head > RING) {
			/* acquire: each reader is done with the bytes it passed */
			head = UINT64_MAX;
			for (int k = 0; k < c->readers; k++) {
				uint64_t h = atomic_load_explicit(&r->head[k].pos,
								  memory_order_acquire);
				head = h < head ? h : head;
			}
			if (pos + c->size - head > RING && !bcast_wait(yield, &spins, t0))
				return -1; /* a reader stopped reading */
		}
		bench_pay_fill(buf, c->size, (unsigned)w, i);
		memcpy(r->data + pos % RING, buf, c->size);
		/* release: the bytes before the new tail */
		atomic_store_explicit(&r->tail, pos + c->size, memory_order_release);
	}
	return 0;
}

static int bcast_consume(void *ctx, int id, const struct bench_tp_case *c,
			 struct bench_tp_report *rep)
{
	struct bcast *r = ctx;
	struct bench_seqcheck sc = { { 0 } };
	bool yield = bench_oversubscribed(c);
	bench_ready();
	uint64_t tail = 0, pos = 0, t0 = 0;
	for (uint64_t i = 0; i < c->count; i++, pos += c->size) {
		unsigned spins = 0;
		uint64_t w0 = bench_now_ns();
		while (tail < pos + c->size) {
			/* acquire: pairs with the producer's release */
			tail = atomic_load_explicit(&r->tail, memory_order_acquire);
			if (tail < pos + c->size && !bcast_wait(yield, &spins, w0)) {
				snprintf(rep->why, sizeof(rep->why), "no data after message %llu",
					 (unsigned long long)i);
				rep->failed = 1;
				return -1;
			}
		}
		if (i == 0)
			t0 = bench_now_ns();
		if (bench_seq_accept(&sc, r->data + pos % RING, c->size, c->size, rep->why,
				     sizeof(rep->why))) {
			rep->failed = 1;
			return -1;
		}
		/* release: our reads of the bytes are done before they are reused */
		atomic_store_explicit(&r->head[id].pos, pos + c->size, memory_order_release);
	}
	bench_tp_done(rep, t0, c->count);
	return 0;
}

static void ring_throughput(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	if (c->readers > 1) {
		if (c->readers > BCAST_READERS || c->writers != 1) {
			memset(out, 0, sizeof(*out));
			snprintf(out->why, sizeof(out->why),
				 "the raw ring has 1 writer, 1 or 2 readers");
			return;
		}
		struct bcast *b = bench_shared_alloc(sizeof(*b));
		bench_run_throughput(c, b, bcast_produce, bcast_consume, out);
		bench_shared_free(b, sizeof(*b));
		return;
	}
	/* 1x1: the ring as it was when issue 17 set its targets against it */
	struct ring *r = bench_shared_alloc(sizeof(*r));
	bench_run_throughput(c, r, produce, consume, out);
	bench_shared_free(r, sizeof(*r));
}

/*
 * The batched ring: the same ring and the same work per message, but
 * each side reads the other's index only when what it last read is used
 * up, and publishes its own once per BATCH bytes (the producer also
 * before it waits for space, and at its end; the consumer also when it
 * has caught up), so the two index lines cross between the CPUs once per
 * batch instead of once per message. The data lines still cross once
 * each: that is the limit left.
 */
#define BATCH 4096 /* bytes between two publications of an index */

static int batch_produce(void *ctx, int w, const struct bench_tp_case *c)
{
	struct ring *r = ctx;
	static uint8_t buf[BENCH_MAX_SIZE];
	uint64_t head = 0, pos = 0, told = 0;
	for (uint64_t i = 0; i < c->count; i++, pos += c->size) {
		if (pos + c->size - head > RING && told != pos) {
			/* release: the bytes before it; the consumer may be
			 * waiting for them to free the space we need */
			atomic_store_explicit(&r->tail, pos, memory_order_release);
			told = pos;
		}
		while (pos + c->size - head > RING) {
			/* acquire: the consumer is done with the bytes it passed */
			head = atomic_load_explicit(&r->head, memory_order_acquire);
			relax();
		}
		bench_pay_fill(buf, c->size, (unsigned)w, i);
		memcpy(r->data + pos % RING, buf, c->size);
		if (pos + c->size - told >= BATCH) {
			/* release: the bytes before the new tail */
			atomic_store_explicit(&r->tail, pos + c->size, memory_order_release);
			told = pos + c->size;
		}
	}
	if (told != pos) /* release: the last bytes */
		atomic_store_explicit(&r->tail, pos, memory_order_release);
	return 0;
}

static int batch_consume(void *ctx, int id, const struct bench_tp_case *c,
			 struct bench_tp_report *rep)
{
	(void)id;
	struct ring *r = ctx;
	struct bench_seqcheck sc = { { 0 } };
	bench_ready();
	uint64_t tail = 0, pos = 0, told = 0, t0 = 0, wait0 = bench_now_ns();
	for (uint64_t i = 0; i < c->count; i++, pos += c->size) {
		if (tail < pos + c->size && told != pos) {
			/* caught up: release what we read before waiting */
			atomic_store_explicit(&r->head, pos, memory_order_release);
			told = pos;
		}
		while (tail < pos + c->size) {
			/* acquire: pairs with the producer's release */
			tail = atomic_load_explicit(&r->tail, memory_order_acquire);
			if (tail >= pos + c->size)
				break;
			relax();
			if (i == 0 && bench_now_ns() - wait0 > SPIN_LIMIT_NS) {
				snprintf(rep->why, sizeof(rep->why), "no data");
				rep->failed = 1;
				return -1;
			}
		}
		if (i == 0)
			t0 = bench_now_ns();
		if (bench_seq_accept(&sc, r->data + pos % RING, c->size, c->size, rep->why,
				     sizeof(rep->why))) {
			rep->failed = 1;
			return -1;
		}
		if (pos + c->size - told >= BATCH) {
			/* release: our reads of the bytes are done before reuse */
			atomic_store_explicit(&r->head, pos + c->size, memory_order_release);
			told = pos + c->size;
		}
	}
	bench_tp_done(rep, t0, c->count);
	return 0;
}

static void batch_throughput(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	struct ring *r = bench_shared_alloc(sizeof(*r));
	bench_run_throughput(c, r, batch_produce, batch_consume, out);
	bench_shared_free(r, sizeof(*r));
}

struct line {
	_Alignas(128) _Atomic uint64_t turn;
};

/* The pong side turns every odd value into the next even one. */
static int pong(void *ctx, const struct bench_lat_case *c)
{
	struct line *l = ctx;
	bench_ready();
	for (uint64_t i = 0; i < c->warmup + c->iters; i++) {
		uint64_t want = 2 * i + 1;
		/* acquire/release: the value is the message */
		while (atomic_load_explicit(&l->turn, memory_order_acquire) != want)
			relax();
		atomic_store_explicit(&l->turn, want + 1, memory_order_release);
	}
	return 0;
}

static int ping(void *ctx, const struct bench_lat_case *c, uint64_t *rtt)
{
	struct line *l = ctx;
	for (uint64_t i = 0; i < c->warmup + c->iters; i++) {
		uint64_t t0 = bench_now_ns();
		atomic_store_explicit(&l->turn, 2 * i + 1, memory_order_release);
		while (atomic_load_explicit(&l->turn, memory_order_acquire) != 2 * i + 2)
			relax();
		uint64_t t1 = bench_now_ns();
		if (i >= c->warmup)
			rtt[i - c->warmup] = t1 - t0;
	}
	return 0;
}

static void line_latency(const struct bench_lat_case *c, struct bench_lat_result *out)
{
	struct line *l = bench_shared_alloc(sizeof(*l));
	bench_run_latency(c, l, ping, pong, out);
	bench_shared_free(l, sizeof(*l));
}

const struct bench_mech bench_raw_ring = {
	.name = "raw-ring",
	.what = "limit: SPSC byte ring in a shared mapping, no framing, busy polling "
		"(1x2: a head per reader)",
	.throughput = ring_throughput,
	.broadcast = true,
};

const struct bench_mech bench_batch_ring = {
	.name = "batch-ring",
	.what = "limit: the raw ring publishing each index once per 4 KiB",
	.throughput = batch_throughput,
};

const struct bench_mech bench_cacheline = {
	.name = "cache-line",
	.what = "limit: one cache line bounced between two processes",
	.latency = line_latency,
};

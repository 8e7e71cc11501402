/* SPDX-License-Identifier: MIT */
/*
 * mech_mapq.c - mapq itself: copy-in sends (mapq_send), zero-copy reads
 * checked in place (mapq_read, mapq_release); round trips over two
 * queues, either busy-polling (timeout 0 in a loop) or blocking (futex).
 * mapq-alone: the same in queues of one writer slot, whose writer is
 * alone (doc/format.md, "Reserve alone"). mapq-batch: writers send 64
 * messages at a time (mapq_send_batch), readers take up to 64 a read
 * (mapq_read_batch) and release them at once.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "mapq.h"

#define READ_TIMEOUT_MS 20000 /* a stuck case fails instead of hanging */

/* Room for at least 32 messages of the largest size */
static uint64_t capacity_for(size_t size)
{
	return size >= 16384 ? 4u << 20 : 1u << 20;
}

/* @slots: writer slots, 0 for the default */
static int make_queue(char *path, size_t n, const char *dir, const char *tag, size_t size,
		      uint32_t slots)
{
	snprintf(path, n, "%s/mapq-bench.%d.%s", dir, (int)getpid(), tag);
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = capacity_for(size);
	o.max_msg = (uint32_t)(size < 64 ? 64 : size);
	if (slots)
		o.writer_slots = slots;
	mapq *q;
	int rc = mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o);
	if (rc)
		return rc;
	mapq_close(q);
	return 0;
}

static int produce(void *ctx, int w, const struct bench_tp_case *c)
{
	mapq *q;
	static uint8_t buf[BENCH_MAX_SIZE];
	int rc = mapq_open(&q, ctx, 0, NULL);
	for (uint64_t i = 0; !rc && i < c->count; i++) {
		bench_pay_fill(buf, c->size, (unsigned)w, i);
		rc = mapq_send(q, buf, c->size, READ_TIMEOUT_MS);
	}
	if (rc)
		fprintf(stderr, "mapq-bench: mapq writer %d: %s\n", w, mapq_strerror(rc));
	mapq_close(q);
	return rc;
}

/* How many messages mapq-batch's producer gives each mapq_send_batch(),
 * and its consumer takes per mapq_read_batch(). */
#define BATCH_MAX 64

/* mapq-batch's producer: the messages of a batch are made, then sent with
 * mapq_send_batch(), which may take fewer at a time. */
static int produce_batch(void *ctx, int w, const struct bench_tp_case *c)
{
	mapq *q;
	uint8_t *buf = malloc(BATCH_MAX * (size_t)c->size);
	mapq_msg m[BATCH_MAX];
	int rc = buf ? mapq_open(&q, ctx, 0, NULL) : -ENOMEM;
	if (rc) {
		fprintf(stderr, "mapq-bench: mapq writer %d: %s\n", w, mapq_strerror(rc));
		free(buf);
		return rc;
	}
	for (uint64_t i = 0; !rc && i < c->count;) {
		unsigned n = c->count - i < BATCH_MAX ? (unsigned)(c->count - i) : BATCH_MAX;
		for (unsigned k = 0; k < n; k++) {
			m[k].data = buf + (size_t)k * c->size;
			m[k].len = c->size;
			bench_pay_fill(buf + (size_t)k * c->size, c->size, (unsigned)w, i + k);
		}
		for (unsigned k = 0; k < n;) {
			int sent = mapq_send_batch(q, m + k, n - k, READ_TIMEOUT_MS);
			if (sent < 0) {
				rc = sent;
				break;
			}
			k += (unsigned)sent;
		}
		i += n;
	}
	if (rc)
		fprintf(stderr, "mapq-bench: mapq writer %d: %s\n", w, mapq_strerror(rc));
	mapq_close(q);
	free(buf);
	return rc;
}

static int next(mapq_reader *r, mapq_msg *m, unsigned max, bool poll);

/* Is @m message @seq of @size bytes, every byte as sent? */
static bool is_message(const mapq_msg *m, size_t size, uint64_t seq)
{
	unsigned w;
	uint64_t got;
	return m->len == size && !bench_pay_check(m->data, m->len, &w, &got) && got == seq;
}

/* The consumer busy-polls, as the raw ring's does, when every process of
 * the case has a CPU of its own: then the comparison with the ceiling is
 * one of protocols, not of sleeping and waking. With more processes than
 * CPUs, spinning would only steal the writers' time: it blocks. @batch:
 * messages per read, 1 for mapq_read(), more for mapq_read_batch(). */
static int consume_in(void *ctx, const struct bench_tp_case *c, struct bench_tp_report *r,
		      unsigned batch)
{
	mapq *q;
	mapq_reader *rd;
	struct bench_seqcheck sc = { { 0 } };
	int rc = mapq_open(&q, ctx, 0, NULL);
	if (!rc)
		rc = mapq_reader_open(q, &rd, NULL, MAPQ_START_OLDEST);
	if (rc) {
		snprintf(r->why, sizeof(r->why), "attach: %s", mapq_strerror(rc));
		r->failed = 1;
		return -1;
	}
	bench_ready();
	bool poll = !bench_oversubscribed(c);
	uint64_t total = c->count * (uint64_t)c->writers, t0 = 0;
	mapq_msg m[BATCH_MAX];
	for (uint64_t i = 0; i < total;) {
		unsigned want = total - i < batch ? (unsigned)(total - i) : batch;
		rc = next(rd, m, want, poll);
		if (i == 0)
			t0 = bench_now_ns(); /* from the first delivery: excludes start-up */
		if (rc < 0) {
			snprintf(r->why, sizeof(r->why), "read %llu: %s", (unsigned long long)i,
				 mapq_strerror(rc));
			r->failed = 1;
			return -1;
		}
		for (int k = 0; k < rc; k++, i++)
			if (bench_seq_accept(&sc, m[k].data, m[k].len, c->size, r->why,
					     sizeof(r->why))) {
				r->failed = 1;
				return -1;
			}
		if ((rc = mapq_release(rd)) != 0) {
			snprintf(r->why, sizeof(r->why), "release %llu: %s", (unsigned long long)i,
				 mapq_strerror(rc));
			r->failed = 1;
			return -1;
		}
	}
	bench_tp_done(r, t0, total);
	mapq_reader_close(rd);
	mapq_close(q);
	return 0;
}

static int consume(void *ctx, int id, const struct bench_tp_case *c, struct bench_tp_report *r)
{
	(void)id;
	return consume_in(ctx, c, r, 1);
}

static int consume_batch(void *ctx, int id, const struct bench_tp_case *c,
			 struct bench_tp_report *r)
{
	(void)id;
	return consume_in(ctx, c, r, BATCH_MAX);
}

static void throughput_in(const struct bench_tp_case *c, struct bench_tp_result *out,
			  uint32_t slots, bench_produce_fn producer, bench_consume_fn consumer)
{
	char path[4096];
	int rc = make_queue(path, sizeof(path), c->dir, "tp", c->size, slots);
	if (rc) {
		memset(out, 0, sizeof(*out));
		snprintf(out->why, sizeof(out->why), "%.80s: %.70s", path, mapq_strerror(rc));
		return;
	}
	bench_run_throughput(c, path, producer, consumer, out);
	unlink(path);
}

static void throughput(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	throughput_in(c, out, 0, produce, consume);
}

static void throughput_alone(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	throughput_in(c, out, 1, produce, consume);
}

static void throughput_batch(const struct bench_tp_case *c, struct bench_tp_result *out)
{
	throughput_in(c, out, 0, produce_batch, consume_batch);
}

struct pair {
	char ping[4096], pong[4096];
	bool poll;
};

/* One read of up to @max messages (mapq_read() for one, else
 * mapq_read_batch()): how many, or an error. */
static int read_up_to(mapq_reader *r, mapq_msg *m, unsigned max, int timeout_ms)
{
	if (max > 1)
		return mapq_read_batch(r, m, max, timeout_ms);
	int rc = mapq_read(r, m, timeout_ms);
	return rc ? rc : 1;
}

/* Wait for the next messages, up to @max: spinning on timeout 0, or
 * sleeping. How many, or an error. */
static int next(mapq_reader *r, mapq_msg *m, unsigned max, bool poll)
{
	if (!poll)
		return read_up_to(r, m, max, READ_TIMEOUT_MS);
	uint64_t t0 = 0;
	for (uint64_t spins = 0;; spins++) {
		int rc = read_up_to(r, m, max, 0);
		if (rc != -EAGAIN)
			return rc;
		if ((spins & 0xfffff) == 0) { /* now and then: are we stuck? */
			if (!t0)
				t0 = bench_now_ns();
			else if (bench_now_ns() - t0 > (uint64_t)READ_TIMEOUT_MS * 1000000)
				return -ETIMEDOUT;
		}
	}
}

/* Open both queues: @out is where we send, @in where we read. */
static int open_pair(const char *out_path, const char *in_path, mapq **out, mapq **in,
		     mapq_reader **r)
{
	int rc = mapq_open(out, out_path, 0, NULL);
	if (!rc)
		rc = mapq_open(in, in_path, 0, NULL);
	if (!rc)
		rc = mapq_reader_open(*in, r, NULL, MAPQ_START_OLDEST);
	return rc;
}

static int pong(void *ctx, const struct bench_lat_case *c)
{
	struct pair *p = ctx;
	mapq *out, *in;
	mapq_reader *r;
	int rc = open_pair(p->pong, p->ping, &out, &in, &r);
	if (rc)
		return rc;
	bench_ready();
	for (uint64_t i = 0; !rc && i < c->warmup + c->iters; i++) {
		mapq_msg m;
		if ((rc = next(r, &m, 1, p->poll)) > 0) {
			rc = mapq_send(out, m.data, m.len, READ_TIMEOUT_MS);
			int rel = mapq_release(r);
			rc = rc ? rc : rel;
		}
	}
	if (rc)
		fprintf(stderr, "mapq-bench: mapq pong: %s\n", mapq_strerror(rc));
	return rc;
}

static int ping(void *ctx, const struct bench_lat_case *c, uint64_t *rtt)
{
	struct pair *p = ctx;
	mapq *out, *in;
	mapq_reader *r;
	static uint8_t buf[BENCH_MAX_SIZE];
	int rc = open_pair(p->ping, p->pong, &out, &in, &r);
	for (uint64_t i = 0; !rc && i < c->warmup + c->iters; i++) {
		bench_pay_fill(buf, c->size, 0, i);
		uint64_t t0 = bench_now_ns();
		rc = mapq_send(out, buf, c->size, READ_TIMEOUT_MS);
		mapq_msg m;
		if (!rc && (rc = next(r, &m, 1, p->poll)) > 0) {
			uint64_t t1 = bench_now_ns();
			rc = 0;
			if (!is_message(&m, c->size, i))
				rc = -EPROTO;
			int rel = mapq_release(r);
			rc = rc ? rc : rel;
			if (i >= c->warmup)
				rtt[i - c->warmup] = t1 - t0;
		}
	}
	if (rc)
		fprintf(stderr, "mapq-bench: mapq ping: %s\n", mapq_strerror(rc));
	return rc;
}

/*
 * Round trips over two new queues. A new ring's first lap is slower than
 * the laps after it: each process's first write to each page of it
 * faults (doc/performance.md, "The round trip's tail"). The figures are
 * of the steady state, so the warm-up covers at least that first lap: a
 * frame is larger than its payload, so capacity / size round trips fill
 * more than a lap of each queue.
 */
static void latency_in(const struct bench_lat_case *lc, struct bench_lat_result *out,
		       uint32_t slots)
{
	struct bench_lat_case w = *lc, *c = &w;
	uint64_t lap = capacity_for(c->size) / c->size + 1;
	if (w.warmup < lap)
		w.warmup = lap;
	struct pair p = { .poll = strcmp(c->mode, "poll") == 0 };
	int rc = make_queue(p.ping, sizeof(p.ping), c->dir, "ping", c->size, slots);
	if (!rc)
		rc = make_queue(p.pong, sizeof(p.pong), c->dir, "pong", c->size, slots);
	if (rc) {
		memset(out, 0, sizeof(*out));
		snprintf(out->why, sizeof(out->why), "%s", mapq_strerror(rc));
	} else {
		bench_run_latency(c, &p, ping, pong, out);
	}
	unlink(p.ping);
	unlink(p.pong);
}

static void latency(const struct bench_lat_case *c, struct bench_lat_result *out)
{
	latency_in(c, out, 0);
}

static void latency_alone(const struct bench_lat_case *c, struct bench_lat_result *out)
{
	latency_in(c, out, 1);
}

/* --pairs with --only mapq-batch: @n messages sent BATCH_MAX at a time
 * with mapq_send_batch() (as many as fit in @buf's @room bytes), read back
 * with mapq_read_batch() and released, every byte checked, an empty poll
 * after every other batch. */
static int pairs_batched(mapq *q, mapq_reader *r, uint8_t *buf, size_t room, size_t size,
			 uint64_t n)
{
	mapq_msg m[BATCH_MAX];
	unsigned per = room / size < BATCH_MAX ? (unsigned)(room / size) : BATCH_MAX;
	int rc = 0;
	for (uint64_t i = 0, round = 0; !rc && i < n; round++) {
		unsigned k = n - i < per ? (unsigned)(n - i) : per;
		for (unsigned j = 0; j < k; j++) {
			bench_pay_fill(buf + j * size, size, 0, i + j);
			m[j] = (mapq_msg){ .data = buf + j * size, .len = size };
		}
		for (unsigned j = 0; !rc && j < k;) {
			int s = mapq_send_batch(q, m + j, k - j, 0);
			rc = s < 0 ? s : 0;
			j += s > 0 ? (unsigned)s : 0;
		}
		for (unsigned j = 0; !rc && j < k;) {
			int got = mapq_read_batch(r, m, k - j, 0);
			rc = got < 0 ? got : 0;
			for (int x = 0; x < got && !rc; x++)
				if (!is_message(&m[x], size, i + j + (unsigned)x))
					rc = -EPROTO;
			int rel = got > 0 ? mapq_release(r) : 0;
			rc = rc ? rc : rel;
			j += got > 0 ? (unsigned)got : 0;
		}
		if (!rc && (round & 1) && mapq_read(r, m, 0) != -EAGAIN)
			rc = -EPROTO; /* the queue must be empty now */
		i += k;
	}
	return rc;
}

/* @n sends, reads and releases of @size bytes in this one process, an
 * empty poll after every other one, every byte checked: the work of a
 * message without the second CPU, for an instruction count under
 * valgrind --tool=callgrind (scripts/bench.py --instructions). @alone:
 * in a queue of one writer slot. @batched: in batches (pairs_batched). */
int bench_mapq_pairs(const char *dir, size_t size, uint64_t n, bool alone, bool batched)
{
	char path[4096];
	static uint8_t buf[BENCH_MAX_SIZE];
	mapq *q = NULL;
	mapq_reader *r = NULL;
	int rc = make_queue(path, sizeof(path), dir, "pairs", size, alone ? 1 : 0);
	if (!rc)
		rc = mapq_open(&q, path, 0, NULL);
	if (!rc)
		rc = mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST);
	if (!rc && batched)
		rc = pairs_batched(q, r, buf, sizeof(buf), size, n);
	for (uint64_t i = 0; !rc && !batched && i < n; i++) {
		mapq_msg m;
		bench_pay_fill(buf, size, 0, i);
		if ((rc = mapq_send(q, buf, size, 0)) != 0 || (rc = mapq_read(r, &m, 0)) != 0)
			break;
		if (!is_message(&m, size, i))
			rc = -EPROTO;
		int rel = mapq_release(r);
		rc = rc ? rc : rel;
		if (!rc && (i & 1) && mapq_read(r, &m, 0) != -EAGAIN)
			rc = -EPROTO; /* the queue must be empty now */
	}
	if (rc)
		fprintf(stderr, "mapq-bench: --pairs: %s\n", mapq_strerror(rc));
	if (r)
		mapq_reader_close(r);
	if (q)
		mapq_close(q);
	unlink(path);
	return rc;
}

const struct bench_mech bench_mapq = {
	.name = "mapq",
	.what = "mapq_send, zero-copy mapq_read checked in place",
	.multi_writer = true,
	.broadcast = true,
	.poll_and_block = true,
	.throughput = throughput,
	.latency = latency,
};

const struct bench_mech bench_mapq_alone = {
	.name = "mapq-alone",
	.what = "the same in queues of one writer slot: the writer alone",
	.broadcast = true,
	.poll_and_block = true,
	.throughput = throughput_alone,
	.latency = latency_alone,
};

const struct bench_mech bench_mapq_batch = {
	.name = "mapq-batch",
	.what = "mapq_send_batch of 64, mapq_read_batch of up to 64 checked in place, one release",
	.multi_writer = true,
	.broadcast = true,
	.throughput = throughput_batch,
};

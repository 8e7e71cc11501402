/* SPDX-License-Identifier: MIT */
/*
 * roles.c - the child processes of a torture run: writers and readers.
 *
 * A writer stamps each message with (writer, incarnation, sequence) and
 * records in the state file, after each send that returned 0, how many
 * of its messages are acknowledged. A reader checks every message as it
 * arrives and records what it got, before releasing it (so a reader
 * killed in between sees that one message again after a restart, and the
 * verdict counts it as a redelivery, not a duplicate).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapq.h"
#include "torture.h"

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int open_queue(const struct tt_role_args *a, mapq **q)
{
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = a->unblock_ms;
	int rc = mapq_open(q, a->queue, 0, &o);
	if (rc)
		fprintf(stderr, "mapq-torture: %s: cannot open: %s\n", a->queue, mapq_strerror(rc));
	return rc;
}

/* Send one message; retries what the queue says to retry. 0 or exit code. */
static int send_one(mapq *q, const struct tt_role_args *a, struct tt_state *st, uint8_t *buf,
		    uint32_t len, uint64_t seq, bool flip)
{
	tt_fill(buf, len, (uint16_t)a->id, (uint16_t)a->inc, seq);
	if (flip)
		buf[len - 1] ^= 0x10; /* after stamping: only our checksum can tell */
	for (;;) {
		int rc = tt_send(q, buf, len, seq, 200);
		if (rc == 0)
			return 0;
		/* Full for a while, or readers gave up on us while we were
		 * stopped: the message was not sent; send it again. */
		if (rc != -ETIMEDOUT && rc != -EAGAIN && rc != -MAPQ_ESTALLED) {
			fprintf(stderr, "mapq-torture: writer %u.%u: seq %llu: %s\n", a->id, a->inc,
				(unsigned long long)seq, mapq_strerror(rc));
			return 3;
		}
		/* acquire: pairs with the parent's store of stop */
		if (atomic_load_explicit(&st->hdr->stop, memory_order_acquire))
			return -1;
	}
}

/* Messages *@seq.. through mapq_send_batch(), two to TT_SEND_BATCH of
 * them, each acknowledged as the call says it was sent; retries what the
 * queue says to retry. 0, -1 (told to stop) or an exit code. */
static int send_batch_of(mapq *q, const struct tt_role_args *a, struct tt_state *st, uint8_t *buf,
			 uint64_t *x, uint64_t *seq, _Atomic uint64_t *ack)
{
	uint32_t lens[TT_SEND_BATCH];
	unsigned n = 2 + (unsigned)(next_rand(x) % (TT_SEND_BATCH - 1));
	for (unsigned i = 0; i < n; i++)
		lens[i] = a->min_size + (uint32_t)(next_rand(x) % (a->max_size - a->min_size + 1));
	for (unsigned i = 0; i < n;) {
		int rc = tt_send_batch(q, buf, a->max_size, lens + i, n - i, (uint16_t)a->id,
				       (uint16_t)a->inc, *seq, 200);
		if (rc > 0) {
			i += (unsigned)rc;
			*seq += (uint64_t)rc;
			/* release: the verdict reads it after we are gone */
			atomic_store_explicit(ack, *seq, memory_order_release);
			continue;
		}
		/* as send_one() */
		if (rc != -ETIMEDOUT && rc != -EAGAIN && rc != -MAPQ_ESTALLED) {
			fprintf(stderr, "mapq-torture: writer %u.%u: seq %llu: %s\n", a->id, a->inc,
				(unsigned long long)*seq, mapq_strerror(rc));
			return 3;
		}
		/* acquire: pairs with the parent's store of stop */
		if (atomic_load_explicit(&st->hdr->stop, memory_order_acquire))
			return -1;
	}
	return 0;
}

int tt_writer(const struct tt_role_args *a)
{
	struct tt_state st;
	mapq *q;
	int rc = tt_state_map(&st, a->state, false, a->writers, a->readers);
	if (rc) {
		fprintf(stderr, "mapq-torture: %s: %s\n", a->state, strerror(-rc));
		return 2;
	}
	if (open_queue(a, &q))
		return 2;
	/* room for a batch (send_batch_of) */
	uint8_t *buf = malloc((size_t)a->max_size * TT_SEND_BATCH);
	if (!buf)
		return 2;
	_Atomic uint64_t *ack = &st.acks[(size_t)a->id * TT_MAX_INC + a->inc];
	uint64_t x = a->seed * 0x9E3779B97F4A7C15ull + a->id * 7919 + a->inc + 1;
	bool breaker = a->brk != TT_BREAK_NONE && a->id == 0 && a->inc == 0;
	uint64_t seq = 0;
	/* acquire: pairs with the parent's store of stop */
	while (!atomic_load_explicit(&st.hdr->stop, memory_order_acquire)) {
		uint32_t len = a->min_size +
			       (uint32_t)(next_rand(&x) % (a->max_size - a->min_size + 1));
		int r = 0;
		if (breaker && seq == 50) {
			switch (a->brk) {
			case TT_BREAK_FLIP:
				r = send_one(q, a, &st, buf, len, seq, true);
				break;
			case TT_BREAK_SKIP: /* acknowledged, never sent */
				break;
			case TT_BREAK_DUP:
				r = send_one(q, a, &st, buf, len, seq, false);
				if (!r)
					r = send_one(q, a, &st, buf, len, seq, false);
				break;
			case TT_BREAK_REORDER:
				r = send_one(q, a, &st, buf, len, seq + 1, false);
				if (!r)
					r = send_one(q, a, &st, buf, len, seq, false);
				if (!r)
					seq++;
				break;
			}
		} else if (seq % 8 == 4 && !(breaker && seq < 50 + TT_SEND_BATCH)) {
			/* (not over the breaker's message, which goes alone) */
			r = send_batch_of(q, a, &st, buf, &x, &seq, ack);
			if (r == 0)
				continue; /* acknowledged as sent */
		} else {
			r = send_one(q, a, &st, buf, len, seq, false);
		}
		if (r < 0)
			break; /* told to stop while retrying */
		if (r > 0)
			return r;
		/* release: the verdict reads it after we are gone */
		atomic_store_explicit(ack, ++seq, memory_order_release);
	}
	free(buf);
	mapq_close(q);
	return 0;
}

int tt_reader(const struct tt_role_args *a)
{
	struct tt_state st;
	mapq *q;
	mapq_reader *r;
	int rc = tt_state_map(&st, a->state, false, a->writers, a->readers);
	if (rc) {
		fprintf(stderr, "mapq-torture: %s: %s\n", a->state, strerror(-rc));
		return 2;
	}
	struct tt_rstats *rs = tt_rstats(&st, a->id);
	rs->epoch = a->epoch;
	if (open_queue(a, &q))
		return 2;
	char name[16];
	snprintf(name, sizeof(name), "r%u", a->id);
	int start = a->durable ? MAPQ_START_RESUME
		    : a->epoch ? MAPQ_START_LATEST
			       : MAPQ_START_OLDEST;
	rc = mapq_reader_open(q, &r, a->durable ? name : NULL, start);
	if (rc) {
		fprintf(stderr, "mapq-torture: reader %u: %s\n", a->id, mapq_strerror(rc));
		return 2;
	}
	if (a->epoch > 0 && !a->durable)
		rs->lossy = 1;
	mapq_geometry g;
	(void)mapq_info(q, &g);
	bool overwrite = g.policy == MAPQ_OVERWRITE;
	if (tt_ready_signal(a->ready) != 0)
		return 2;
	uint8_t *copy = malloc(65536);
	if (!copy)
		return 2;
	bool first_after_restart = a->epoch > 0 && a->durable;
	uint64_t prev_end = UINT64_MAX;
	for (;;) {
		mapq_msg m;
		uint64_t t0 = tt_now_ns();
		rc = mapq_read(r, &m, 500);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc == -MAPQ_ELAPPED) {
			rs->lapped++;
			rs->lapped_lost += mapq_reader_lost(r);
			rs->lossy = 1;
			prev_end = UINT64_MAX;
			continue;
		}
		if (rc == -MAPQ_EFRAMECRC) {
			rs->corrupt++; /* the library caught it: still a failure */
			continue;
		}
		if (rc) {
			fprintf(stderr, "mapq-torture: reader %u: %s\n", a->id, mapq_strerror(rc));
			return 3;
		}
		uint64_t waited = tt_now_ns() - t0;
		if (prev_end != UINT64_MAX && m.pos != prev_end && waited > rs->max_stall_ns)
			rs->max_stall_ns = waited;
		prev_end = tt_frame_end(&m);
		const void *data = m.data;
		size_t len = m.len;
		if (overwrite) {
			/* Writers may overwrite a held message: copy, then release,
			 * and judge the copy only if it was intact. */
			if (len > 65536)
				len = 65536;
			memcpy(copy, m.data, len);
			if (mapq_release(r) != 0)
				continue; /* the next read reports the lap */
			data = copy;
		}
		struct tt_stamp s;
		if (tt_check(data, len, &s)) {
			rs->corrupt++;
		} else if (s.writer == TT_END_WRITER) {
			rs->done = 1;
		} else if (s.writer >= a->writers || s.inc >= TT_MAX_INC) {
			rs->corrupt++;
		} else {
			tt_record(&st, a->id, a->epoch, a->durable, &s, &first_after_restart);
		}
		if (!overwrite && (rc = mapq_release(r)) != 0) {
			fprintf(stderr, "mapq-torture: reader %u: release: %s\n", a->id,
				mapq_strerror(rc));
			return 3;
		}
		if (rs->done)
			break;
	}
	if (overwrite)
		tt_last_losses(r, rs);
	free(copy);
	mapq_close(q);
	return 0;
}

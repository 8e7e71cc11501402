/* SPDX-License-Identifier: MIT */
/*
 * hostile.c - a run with a hostile peer (mapq-torture --hostile RATE).
 *
 * The peer maps the queue file read-write, as any process that can open
 * it may, and scribbles into it on a seeded schedule: at random bytes,
 * and at the fields the protocol trusts most (head, tail, head_intent,
 * reservation records, reader cursors and states, commit words carrying
 * this lap's tag beside a matching pos, frame lengths, checkpoints with a
 * valid CRC). It knows the layout only from doc/format.md, as an outside
 * program would. It leaves the superblock alone: that page is immutable,
 * every opener checks its CRC, and tests/open_errors covers its damage.
 *
 * Nothing can promise the data in such a queue, so the writers and
 * readers beside the peer judge other things: they must not crash (any
 * signal the harness did not send), no call may run past its timeout by
 * more than TT_HANG_BOUND_MS, and every error must be a clear code.
 * After the run the harness opens the queue afresh (verdict.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapq.h"
#include "torture.h"

/* doc/format.md: the superblock fields, the control words, the slots. */
#define SB_CAPACITY 16
#define SB_WSLOTS 28
#define SB_RSLOTS 32
#define SB_CTL_OFF 40
#define SB_WSLOT_OFF 48
#define SB_RSLOT_OFF 56
#define SB_DATA_OFF 64
#define SB_QUEUE_ID 88
#define CTL_TAIL 0
#define CTL_HEAD 128
#define CTL_HEAD_INTENT 136
#define CKPT_PAGES 2
#define WSLOT_SIZE 128
#define RSLOT_SIZE 256
#define PAGE 4096u

struct peer {
	uint8_t *m;
	uint64_t size, cap, ctl, wslot, rslot, data;
	uint32_t nw, nr, key, shift;
	uint64_t rng;
};

static uint64_t rnd(struct peer *p)
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return p->rng;
}

static uint64_t ld64(const struct peer *p, uint64_t off)
{
	uint64_t v;
	memcpy(&v, p->m + off, 8);
	return v;
}

static uint32_t ld32(const struct peer *p, uint64_t off)
{
	uint32_t v;
	memcpy(&v, p->m + off, 4);
	return v;
}

/* Aligned words are stored whole, as a process writing them would. */
static void st64(struct peer *p, uint64_t off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(void *)(p->m + off), v, __ATOMIC_RELAXED);
}

static void st32(struct peer *p, uint64_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)(p->m + off), v, __ATOMIC_RELAXED);
}

static uint32_t crc32c(const void *buf, size_t n)
{
	const uint8_t *b = buf;
	uint32_t c = ~0u;
	while (n--) {
		c ^= *b++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0x82F63B78u & -(c & 1));
	}
	return ~c;
}

/* A position a reader or writer is about to meet: exactly head, tail or
 * a reader's cursor, or a frame boundary near them, or near them. */
static uint64_t near_pos(struct peer *p)
{
	uint64_t base = ld64(p, p->ctl + (rnd(p) & 1 ? CTL_TAIL : CTL_HEAD));
	switch (rnd(p) % 4) {
	case 0:
		return base;
	case 1: /* a reader's cursor */
		return ld64(p, p->rslot + (rnd(p) % p->nr) * RSLOT_SIZE) & ~15ull;
	case 2: { /* a few frames on from head, as the commit words say */
		uint64_t c = ld64(p, p->ctl + CTL_HEAD) & ~15ull;
		for (unsigned n = (unsigned)(rnd(p) % 8); n--;) {
			uint64_t w = ld64(p, p->data + (c & (p->cap - 1)));
			uint64_t size = (w & 0xffffffffull) * 8;
			if (!size || size % 16 || size > p->cap / 2)
				break;
			c += size;
		}
		return c;
	}
	default:
		/* within 32 frame units either side of base, on the grid */
		return (base + (uint64_t)((int64_t)(rnd(p) % 64) - 32) * MAPQ_FRAME_ALIGN) &
		       ~(uint64_t)(MAPQ_FRAME_ALIGN - 1);
	}
}

/* A value a word should not hold, but might: mostly a plausible one near
 * the truth (which sends the code deep), sometimes off the 16-byte grid,
 * a lap away, anything, or zero (which it refuses at once). */
static uint64_t odd_value(struct peer *p, uint64_t truth)
{
	switch (rnd(p) % 16) {
	case 0:
		return truth + 1 + rnd(p) % 15;
	case 1:
		return truth + p->cap * (1 + rnd(p) % 3);
	case 2:
		return rnd(p);
	case 3:
		return 0;
	default:
		return truth + 16 * (rnd(p) % 16) - 128;
	}
}

/* A reservation that a dead writer made and never claimed, as far as
 * anyone can tell: a record in a slot nobody holds (the spare slots past
 * the run's writers, until a restarted writer takes one), then tail moved
 * past it. Its size is often one no frame can have. */
static void dead_reservation(struct peer *p)
{
	static const uint64_t sizes[] = { 16, 32, 48, 64, 4096 + 16 };
	uint64_t ws = p->wslot + (p->nw - 1 - rnd(p) % 2) * WSLOT_SIZE;
	uint64_t t = ld64(p, p->ctl + CTL_TAIL), room = p->cap - (t & (p->cap - 1));
	uint64_t pos = t, size = rnd(p) % 3 ? sizes[rnd(p) % 5] : room + 16 * (rnd(p) % 3);
	if (rnd(p) % 3 == 0 && room > 48) {
		/* the last few bytes before the ring's end; the space before
		 * it is no one's, which readers fill once they give up */
		size = 16 * (1 + rnd(p) % 3);
		pos = t + room - size;
	}
	st64(p, ws + 8, pos);
	st64(p, ws + 16, size | (uint64_t)(rnd(p) % 4 == 0) << 63);
	__atomic_compare_exchange_n((uint64_t *)(void *)(p->m + p->ctl + CTL_TAIL), &t, pos + size,
				    false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static void commit_word(struct peer *p)
{
	uint64_t pos = near_pos(p), off = p->data + (pos & (p->cap - 1));
	static const uint64_t sizes[] = { 0, 8, 16, 32, 48, 4096, 1u << 20, 0xffffffffull * 8 };
	uint64_t size = rnd(p) & 1 ? sizes[rnd(p) % 8] : (rnd(p) % 256) * 16;
	uint64_t lap = ((pos >> p->shift) + p->key) & 0x0FFFFFFF;
	uint64_t w = size / 8 | (rnd(p) % 4) << 32 | (uint64_t)(rnd(p) % 4 == 0) << 34 |
		     (uint64_t)(rnd(p) % 4 == 0) << 35 | lap << 36;
	st64(p, off, w);
	st64(p, off + 8, pos); /* published, as far as pos and tag go */
}

/*
 * A control word (head, tail, a cursor) set to @v for a moment, then put
 * back if nobody changed it meanwhile: damage the processes meet while
 * it lasts, without wrecking the queue for the rest of the run (an
 * off-grid tail makes every later call a clean -MAPQ_ECORRUPT, and the
 * deeper paths would never be visited again).
 */
static void for_a_moment(struct peer *p, uint64_t off, uint64_t v)
{
	uint64_t *w = (uint64_t *)(void *)(p->m + off);
	uint64_t was = __atomic_exchange_n(w, v, __ATOMIC_RELAXED);
	if (rnd(p) % 4 == 0)
		return; /* for good */
	tt_sleep_ns(100000 + rnd(p) % 20000000);
	__atomic_compare_exchange_n(w, &v, was, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void scribble(struct peer *p)
{
	uint64_t wi = rnd(p) % p->nw, ri = rnd(p) % p->nr;
	uint64_t ws = p->wslot + wi * WSLOT_SIZE, rs = p->rslot + ri * RSLOT_SIZE;
	switch (rnd(p) % 14) {
	case 12:
	case 13:
		dead_reservation(p);
		break;
	case 0: /* tail */
		for_a_moment(p, p->ctl + CTL_TAIL, odd_value(p, ld64(p, p->ctl + CTL_TAIL)));
		break;
	case 1: { /* head, or how far a head mover said it would move it */
		uint64_t at = p->ctl + (rnd(p) & 1 ? CTL_HEAD : CTL_HEAD_INTENT);
		for_a_moment(p, at, odd_value(p, ld64(p, at)));
		break;
	}
	case 2: { /* a reservation record: small frames, past the ring's end */
		uint64_t pos = rnd(p) & 1 ? near_pos(p)
					  : (near_pos(p) | (p->cap - 16)) - 16 * (rnd(p) % 4);
		static const uint64_t sizes[] = { 16, 32, 48, 4096 + 16, 1ull << 40 };
		uint64_t size = rnd(p) & 1 ? sizes[rnd(p) % 5] : 16 * (1 + rnd(p) % 256);
		st64(p, ws + 8, pos);
		st64(p, ws + 16, size | (rnd(p) & 1ull) << 63);
		break;
	}
	case 3: /* a writer slot's state */
		st32(p, ws, (uint32_t)(rnd(p) % 4));
		break;
	case 4: /* a reader's cursor */
		for_a_moment(p, rs, odd_value(p, ld64(p, rs)));
		break;
	case 5: /* a reader's state and flags */
		st32(p, rs + 128, (uint32_t)(rnd(p) % 6));
		st32(p, rs + 132, (uint32_t)(rnd(p) % 4));
		break;
	case 6: /* a reader's lost count and name */
		st64(p, rs + 8, rnd(p) % 4 ? rnd(p) % 100 : rnd(p));
		memset(p->m + rs + 144, (int)(rnd(p) & 0xff), 32);
		break;
	case 7:
	case 8: /* a commit word with this lap's tag and a matching pos */
		commit_word(p);
		break;
	case 9: { /* a frame's length: in a frame header, which ends before the ring does */
		uint64_t ro = near_pos(p) & (p->cap - 1);
		uint64_t last = p->cap - MAPQ_FRAME_HEADER;
		uint64_t off = p->data + (ro > last ? last : ro);
		st32(p, off + 16, rnd(p) & 1 ? (uint32_t)rnd(p) : ld32(p, off + 16) + 16);
		break;
	}
	case 10: { /* a checkpoint, with a CRC that matches */
		uint64_t off = p->ctl + PAGE * (1 + rnd(p) % CKPT_PAGES), rec[3];
		rec[0] = ld64(p, off) + 1 + rnd(p) % 3;
		rec[1] = odd_value(p, ld64(p, p->ctl + CTL_HEAD));
		rec[2] = odd_value(p, ld64(p, p->ctl + CTL_TAIL));
		memcpy(p->m + off + 8, &rec[1], 16);
		st32(p, off + 24, crc32c(rec, 24));
		st64(p, off, rec[0]);
		break;
	}
	default: { /* any bytes past the superblock */
		uint64_t off = PAGE + rnd(p) % (p->size - PAGE - 8);
		uint64_t v = rnd(p);
		memcpy(p->m + off, &v, 1 + rnd(p) % 8);
		break;
	}
	}
}

int tt_hostile(const struct tt_role_args *a)
{
	struct tt_state st;
	int rc = tt_state_map(&st, a->state, false, a->writers, a->readers);
	if (rc) {
		fprintf(stderr, "mapq-torture: %s: %s\n", a->state, strerror(-rc));
		return 2;
	}
	size_t size = 0;
	struct peer p = { 0 };
	p.m = tt_map_file(a->queue, false, &size, &rc);
	if (!p.m || size < 8 * PAGE) {
		fprintf(stderr, "mapq-torture: hostile: %s: %s\n", a->queue,
			p.m ? "too short for a queue" : strerror(-rc));
		return 2;
	}
	p.size = size;
	p.cap = ld64(&p, SB_CAPACITY);
	p.nw = ld32(&p, SB_WSLOTS);
	p.nr = ld32(&p, SB_RSLOTS);
	p.ctl = ld64(&p, SB_CTL_OFF);
	p.wslot = ld64(&p, SB_WSLOT_OFF);
	p.rslot = ld64(&p, SB_RSLOT_OFF);
	p.data = ld64(&p, SB_DATA_OFF);
	p.key = ld32(&p, SB_QUEUE_ID) & 0x0FFFFFFF;
	p.shift = (uint32_t)__builtin_ctzll(p.cap);
	p.rng = a->seed * 0x9E3779B97F4A7C15ull + 0x5bd1e995;
	if (p.data + p.cap != p.size) {
		fprintf(stderr, "mapq-torture: hostile: %s is not a queue file\n", a->queue);
		return 2;
	}
	/* Scribbles come @hostile times a second on average, in bursts
	 * now and then, until the run stops. */
	uint64_t gap_ns = (uint64_t)(1e9 / a->hostile);
	/* acquire: pairs with the parent's store of stop */
	while (!atomic_load_explicit(&st.hdr->stop, memory_order_acquire)) {
		unsigned burst = rnd(&p) % 16 == 0 ? 1 + (unsigned)(rnd(&p) % 8) : 1;
		for (unsigned i = 0; i < burst; i++)
			scribble(&p);
		/* relaxed: a statistic, read after we are gone */
		atomic_fetch_add_explicit(&st.hdr->scribbles, burst, memory_order_relaxed);
		tt_sleep_ns(gap_ns / 2 + rnd(&p) % (gap_ns + 1));
	}
	return 0;
}

/* Count a call that took @ns against its timeout @timeout_ms. */
static void timed(struct tt_state *st, uint64_t ns, int timeout_ms)
{
	uint64_t limit = (uint64_t)timeout_ms * 1000000u;
	uint64_t over = ns > limit ? ns - limit : 0;
	/* relaxed: statistics, read after we are gone */
	atomic_fetch_add_explicit(&st->hdr->calls, 1, memory_order_relaxed);
	if (over > (uint64_t)TT_HANG_BOUND_MS * 1000000u)
		atomic_fetch_add_explicit(&st->hdr->hangs, 1, memory_order_relaxed);
	uint64_t m = atomic_load_explicit(&st->hdr->max_over_ns, memory_order_relaxed);
	while (over > m &&
	       !atomic_compare_exchange_weak_explicit(&st->hdr->max_over_ns, &m, over,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* An error is fine as long as it is one the library can name. */
static int clear_error(struct tt_state *st, const char *who, int rc)
{
	atomic_fetch_add_explicit(&st->hdr->errors, 1, memory_order_relaxed);
	if (strcmp(mapq_err_name(rc), "EUNKNOWN") == 0) {
		fprintf(stderr, "mapq-torture: hostile run: %s: unnamed error %d\n", who, rc);
		return 3;
	}
	return 0;
}

static bool stopped(struct tt_state *st)
{
	/* acquire: pairs with the parent's store of stop */
	return atomic_load_explicit(&st->hdr->stop, memory_order_acquire) != 0;
}

static int open_timed(struct tt_state *st, const struct tt_role_args *a, mapq **q)
{
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = a->unblock_ms;
	for (;;) {
		uint64_t t0 = tt_now_ns();
		int rc = mapq_open(q, a->queue, 0, &o);
		timed(st, tt_now_ns() - t0, 0);
		if (!rc)
			return 0;
		if (clear_error(st, "open", rc) || stopped(st))
			return 3;
		tt_sleep_ns(10000000);
	}
}

static int map_state(struct tt_state *st, const struct tt_role_args *a)
{
	int rc = tt_state_map(st, a->state, false, a->writers, a->readers);
	if (rc)
		fprintf(stderr, "mapq-torture: %s: %s\n", a->state, strerror(-rc));
	return rc ? 2 : 0;
}

int tt_hostile_writer(const struct tt_role_args *a)
{
	struct tt_state st;
	mapq *q;
	if (map_state(&st, a) || open_timed(&st, a, &q))
		return 2;
	uint8_t *buf = malloc(a->max_size);
	if (!buf)
		return 2;
	uint64_t x = a->seed * 0x9E3779B97F4A7C15ull + a->id * 7919 + a->inc + 1, seq = 0;
	int err = 0;
	while (!err && !stopped(&st)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint32_t len = a->min_size + (uint32_t)(x % (a->max_size - a->min_size + 1));
		tt_fill(buf, len, (uint16_t)a->id, (uint16_t)a->inc, seq++);
		uint64_t t0 = tt_now_ns();
		int rc, timeout = 200;
		if (x % 256 == 0) {
			/* now and then a sync, whose fill frame may land anywhere;
			 * it waits up to twice the unblock timeout for space, and
			 * as long again for earlier frames */
			rc = mapq_sync(q);
			timeout = 4 * a->unblock_ms;
		} else {
			rc = mapq_send(q, buf, len, 200);
		}
		timed(&st, tt_now_ns() - t0, timeout);
		if (rc == 0 || rc == -ETIMEDOUT || rc == -EAGAIN || rc == -MAPQ_ESTALLED)
			continue;
		/* The queue says it is damaged: start again with a new handle,
		 * as an application would. */
		if ((err = clear_error(&st, "writer", rc)) != 0)
			break;
		mapq_close(q);
		atomic_fetch_add_explicit(&st.hdr->reopens, 1, memory_order_relaxed);
		tt_sleep_ns(1000000);
		err = open_timed(&st, a, &q) ? 3 : 0;
	}
	free(buf);
	if (!err)
		mapq_close(q);
	return err == 3 && stopped(&st) ? 0 : err;
}

int tt_hostile_reader(const struct tt_role_args *a)
{
	struct tt_state st;
	mapq *q;
	mapq_reader *r = NULL;
	if (map_state(&st, a) || open_timed(&st, a, &q))
		return 2;
	char name[16];
	snprintf(name, sizeof(name), "r%u", a->id);
	if (tt_ready_signal(a->ready) != 0)
		return 2;
	int err = 0, start = a->durable ? MAPQ_START_RESUME : MAPQ_START_OLDEST;
	while (!err && !stopped(&st)) {
		int rc;
		if (!r) {
			rc = mapq_reader_open(q, &r, a->durable ? name : NULL, start);
			if (rc) {
				r = NULL;
				err = clear_error(&st, "reader open", rc);
				tt_sleep_ns(10000000);
				continue;
			}
		}
		mapq_msg m;
		uint64_t t0 = tt_now_ns();
		rc = mapq_read(r, &m, 200);
		timed(&st, tt_now_ns() - t0, 200);
		if (rc == 0) {
			if ((rc = mapq_release(r)) == 0 || rc == -MAPQ_ELAPPED)
				continue;
		}
		if (rc == -ETIMEDOUT || rc == -EAGAIN || rc == -MAPQ_ELAPPED)
			continue;
		if ((err = clear_error(&st, "reader", rc)) != 0)
			break;
		if (rc == -MAPQ_EFRAMECRC)
			continue; /* skipped: the next read goes on */
		/* Stuck on damage: start again from the newest message. */
		mapq_reader_close(r);
		r = NULL;
		start = MAPQ_START_LATEST;
		atomic_fetch_add_explicit(&st.hdr->reopens, 1, memory_order_relaxed);
		tt_sleep_ns(1000000);
	}
	mapq_close(q);
	return err;
}

/* SPDX-License-Identifier: MIT */
/* send_batch: mapq_send_batch() sends the messages in order, several to a
 * reservation while their frames fit in 4 KiB and a larger one alone,
 * across the ring's end (padding) lap after lap; it stops at a full ring,
 * at a message it cannot send (which the next call reports) and at an
 * injected failure between two frames, whose rest it aborts; and it
 * counts what it sent. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"
#include "util.h"

#define MAX 64
#define BUF 4200 /* room for a message too large to share a reservation */

/* @n messages of @len bytes each (or @lens[i]), sequence numbers from @seq */
static void make(mapq_msg *m, char (*buf)[BUF], unsigned n, const size_t *lens, size_t len,
		 uint64_t seq)
{
	for (unsigned i = 0; i < n; i++) {
		size_t l = lens ? lens[i] : len;
		t_fill(buf[i], l, 0, seq + i);
		m[i] = (mapq_msg){ .data = buf[i], .len = l };
	}
}

/* The next @n messages are @seq.. of @len bytes (or @lens[i]), intact (of
 * those long enough to say) */
static void expect(mapq_reader *r, unsigned n, const size_t *lens, size_t len, uint64_t seq)
{
	static char in[BUF];
	for (unsigned i = 0; i < n; i++) {
		uint32_t w;
		uint64_t s;
		size_t l = lens ? lens[i] : len;
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 1000), (ssize_t)l);
		if (l < 20)
			continue; /* too short to carry a stamp (t_fill) */
		CHECK_OK(t_check_payload(in, l, &w, &s));
		CHECK_EQ(s, seq + i);
	}
}

static uint64_t sent_msgs(mapq *q)
{
	mapq_counters c;
	CHECK_OK(mapq_stats(q, &c));
	return c.msgs;
}

static void basics(void)
{
	mapq *q = t_create("basics", 1 << 16, MAPQ_BLOCK);
	mapq_reader *r;
	mapq_msg m[MAX];
	static char buf[MAX][BUF];
	void *p;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	make(m, buf, MAX, NULL, 40, 0);
	CHECK_RC(mapq_send_batch(NULL, m, 4, 0), -EINVAL);
	CHECK_RC(mapq_send_batch(q, NULL, 4, 0), -EINVAL);
	CHECK_RC(mapq_send_batch(q, m, 4, -2), -EINVAL);
	CHECK_RC(mapq_send_batch(q, m, 0, 0), 0);
	/* A reservation open: nothing else is sent until it is done with */
	CHECK_OK(mapq_reserve(q, 10, &p, 0));
	CHECK_RC(mapq_send_batch(q, m, 4, 0), -MAPQ_ESTATE);
	CHECK_OK(mapq_abort(q));

	/* Armed to count, not to fire: hits are counted while armed */
	bool counting = mapq_fault_enabled();
	if (counting)
		CHECK_OK(mapq_fault_arm("commit.batch_next:1000000:error"));
	CHECK_RC(mapq_send_batch(q, m, 60, 0), 60);
	expect(r, 60, NULL, 40, 0);
	CHECK_EQ(sent_msgs(q), 60);
	/* 80-byte frames, 51 to a reservation of at most 4 KiB: two
	 * reservations, whose frames after the first are each one step. */
	if (counting) {
		CHECK_EQ(mapq_fault_hits("commit.batch_next"), 58);
		mapq_fault_disarm();
	}

	/* Sizes mixed: a frame too large to share goes alone, the order
	 * stays */
	size_t lens[8] = { 0, 1, 500, 100, 4100, 481, 20, 300 };
	make(m, buf, 8, lens, 0, 100);
	CHECK_RC(mapq_send_batch(q, m, 8, 0), 8);
	expect(r, 8, lens, 0, 100);
	CHECK_EQ(sent_msgs(q), 68);

	/* A message that cannot be sent ends the call before it; the next
	 * call, which starts with it, says why */
	make(m, buf, 6, NULL, 40, 200);
	m[3].len = q->max_msg + 1;
	CHECK_RC(mapq_send_batch(q, m, 6, 0), 3);
	CHECK_RC(mapq_send_batch(q, m + 3, 3, 0), -EMSGSIZE);
	m[3] = (mapq_msg){ .data = NULL, .len = 5 };
	CHECK_RC(mapq_send_batch(q, m + 3, 3, 0), -EINVAL);
	m[3] = (mapq_msg){ .data = buf[3], .len = 40 };
	CHECK_RC(mapq_send_batch(q, m + 3, 3, 0), 3);
	expect(r, 6, NULL, 40, 200);
	mapq_reader_close(r);
	mapq_close(q);
}

/* A reader that does not read: the ring fills, the call says how many it
 * sent, and the next one cannot send any; all of them are delivered. */
static void full_ring(void)
{
	mapq *q = t_create("full", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	static mapq_msg m[200];
	static char buf[200][BUF];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	make(m, buf, 200, NULL, 40, 0);
	int n = mapq_send_batch(q, m, 200, 0);
	CHECK(n > 40 && n < 200);
	CHECK_RC(mapq_send_batch(q, m + n, 200 - (unsigned)n, 0), -EAGAIN);
	CHECK_RC(mapq_send_batch(q, m + n, 200 - (unsigned)n, 5), -ETIMEDOUT);
	expect(r, (unsigned)n, NULL, 40, 0);
	mapq_reader_close(r);
	mapq_close(q);
}

/* Lap after lap of a small ring, batches of sizes that do not divide it:
 * batches start with padding at the ring's end, and every message comes
 * out in order, intact. */
static void laps(void)
{
	mapq *q = t_create("laps", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	mapq_msg m[MAX];
	static char buf[MAX][BUF];
	size_t lens[MAX];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	uint64_t seq = 0;
	for (unsigned round = 0; round < 400; round++) {
		unsigned n = 1 + round % 9;
		for (unsigned i = 0; i < n; i++)
			lens[i] = (round * 7 + i * 13) % 150;
		make(m, buf, n, lens, 0, seq);
		for (unsigned k = 0; k < n;) {
			int s = mapq_send_batch(q, m + k, n - k, 1000);
			CHECK(s > 0);
			k += (unsigned)s;
		}
		expect(r, n, lens, 0, seq);
		seq += n;
	}
	mapq_counters c;
	CHECK_OK(mapq_stats(q, &c));
	CHECK(c.tail > 10 * 4096); /* ten laps at least */
	mapq_reader_close(r);
	mapq_close(q);
}

/* Where a reservation ends (fault-injection builds, which count the steps
 * between frames): frames that fill its 4 KiB exactly share it, and so do
 * messages of the queue's largest size. */
static void bounds(void)
{
	if (!mapq_fault_enabled())
		return;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	o.max_msg = 96;
	mapq *q;
	mapq_reader *r;
	mapq_msg m[MAX];
	static char buf[MAX][BUF];
	CHECK_OK(mapq_open(&q, t_path("bounds"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	/* 32 frames of 128 bytes: 4 KiB, one reservation, 31 steps */
	make(m, buf, 32, NULL, 96, 0);
	CHECK_OK(mapq_fault_arm("commit.batch_next:1000000:error"));
	CHECK_RC(mapq_send_batch(q, m, 32, 0), 32);
	CHECK_EQ(mapq_fault_hits("commit.batch_next"), 31);
	/* and one more: two reservations, 31 + 0 steps */
	make(m, buf, 33, NULL, 96, 32);
	CHECK_OK(mapq_fault_arm("commit.batch_next:1000000:error"));
	CHECK_RC(mapq_send_batch(q, m, 33, 0), 33);
	CHECK_EQ(mapq_fault_hits("commit.batch_next"), 31);
	mapq_fault_disarm();
	expect(r, 65, NULL, 96, 0);
	mapq_reader_close(r);
	mapq_close(q);
}

/* An injected failure between two frames: the first is sent, the rest of
 * the reservation aborted (readers pass over it), the call says 1, and
 * the next call sends the rest. */
static void injected(void)
{
	if (!mapq_fault_enabled())
		return;
	mapq *q = t_create("injected", 1 << 16, MAPQ_BLOCK);
	mapq_reader *r;
	mapq_msg m[4];
	static char buf[4][BUF];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	make(m, buf, 4, NULL, 40, 0);
	CHECK_OK(mapq_fault_arm("commit.batch_next:1:error"));
	CHECK_RC(mapq_send_batch(q, m, 4, 0), 1);
	mapq_fault_disarm();
	CHECK_RC(mapq_send_batch(q, m + 1, 3, 0), 3);
	expect(r, 4, NULL, 40, 0);
	mapq_counters c;
	CHECK_OK(mapq_stats(q, &c));
	CHECK_EQ(c.msgs, 4);
	CHECK_EQ(c.aborted, 1);
	mapq_reader_close(r);
	mapq_close(q);
}

int main(void)
{
	basics();
	full_ring();
	laps();
	bounds();
	injected();
	return 0;
}

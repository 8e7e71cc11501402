/* SPDX-License-Identifier: MIT */
/* read_batch: mapq_read_batch() hands out the ready messages in order,
 * skips aborted frames, stops at what is not ready, at a bad frame and at
 * the ring's end, and one mapq_release() consumes the batch: under
 * MAPQ_BLOCK writers cannot reuse its space until then; under
 * MAPQ_OVERWRITE a batch a writer laps is refused whole. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"
#include "util.h"

#define MAX 64

/* Send @n messages of @len bytes, sequence numbers from @seq on. */
static void send_seq(mapq *q, size_t len, uint64_t seq, unsigned n)
{
	char buf[256];
	for (unsigned i = 0; i < n; i++) {
		t_fill(buf, len, 0, seq + i);
		CHECK_OK(mapq_send(q, buf, len, 0));
	}
}

/* The batch @m of @n holds messages @seq.. of @len bytes, intact, each
 * further into the mapping than the one before. */
static void check_batch(const mapq_msg *m, int n, size_t len, uint64_t seq)
{
	for (int i = 0; i < n; i++) {
		uint32_t w;
		uint64_t s;
		CHECK_EQ(m[i].len, len);
		CHECK_OK(t_check_payload(m[i].data, m[i].len, &w, &s));
		CHECK_EQ(s, seq + (uint64_t)i);
		if (i)
			CHECK((const char *)m[i].data > (const char *)m[i - 1].data);
	}
}

static uint64_t delivered(mapq *q, mapq_reader *r)
{
	(void)r;
	mapq_slot_info si;
	CHECK_OK(mapq_reader_slot(q, 0, &si));
	return si.delivered;
}

/* A queue of 64 KiB under @policy, with a reader at its oldest message. */
static mapq *queue_with_reader(const char *name, int policy, mapq_reader **r)
{
	mapq *q = t_create(name, 1 << 16, policy);
	CHECK_OK(mapq_reader_open(q, r, NULL, MAPQ_START_OLDEST));
	return q;
}

static void basics(void)
{
	mapq_reader *r;
	mapq *q = queue_with_reader("basics", MAPQ_BLOCK, &r);
	mapq_msg m[MAX];
	void *p;
	CHECK_RC(mapq_read_batch(r, NULL, 4, 0), -EINVAL);
	CHECK_RC(mapq_read_batch(r, m, 0, 0), -EINVAL);
	CHECK_RC(mapq_read_batch(NULL, m, 4, 0), -EINVAL);
	CHECK_RC(mapq_read_batch(r, m, 4, 0), -EAGAIN);
	CHECK_RC(mapq_read_batch(r, m, 4, 5), -ETIMEDOUT);

	/* Ten messages, an aborted frame among them: read in batches of at
	 * most four, the aborted frame passed over inside a batch. */
	send_seq(q, 40, 0, 3);
	CHECK_OK(mapq_reserve(q, 40, &p, 0));
	CHECK_OK(mapq_abort(q));
	send_seq(q, 40, 3, 7);
	int n = mapq_read_batch(r, m, 4, 0);
	CHECK_EQ(n, 4);
	check_batch(m, n, 40, 0);
	/* Held: no other read until the release. */
	CHECK_RC(mapq_read_batch(r, m, 4, 0), -MAPQ_ESTATE);
	CHECK_RC(mapq_read(r, m, 0), -MAPQ_ESTATE);
	CHECK_OK(mapq_release(r));
	CHECK_RC(mapq_release(r), -MAPQ_ESTATE);
	CHECK_EQ(delivered(q, r), 4);
	n = mapq_read_batch(r, m, MAX, 0);
	CHECK_EQ(n, 6);
	check_batch(m, n, 40, 4);
	CHECK_OK(mapq_release(r));
	CHECK_EQ(delivered(q, r), 10);
	CHECK_RC(mapq_read_batch(r, m, MAX, 0), -EAGAIN);

	/* A batch ends at a frame still being written, and mapq_read goes on
	 * from there once it is committed. */
	send_seq(q, 40, 10, 2);
	CHECK_OK(mapq_reserve(q, 40, &p, 0));
	n = mapq_read_batch(r, m, MAX, 0);
	CHECK_EQ(n, 2);
	check_batch(m, n, 40, 10);
	CHECK_OK(mapq_release(r));
	CHECK_RC(mapq_read_batch(r, m, MAX, 0), -EAGAIN);
	t_fill(p, 40, 0, 12);
	CHECK_OK(mapq_commit(q, 40));
	CHECK_OK(mapq_read(r, m, 0));
	check_batch(m, 1, 40, 12);
	CHECK_OK(mapq_release(r));

	/* A batch ends before a damaged frame; the next read reports it. */
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	send_seq(q, 40, 13, 3);
	uint64_t second = st.tail + frame_size(40);
	q->ring[(second & q->mask) + FRAME_HDR + 20] ^= 0x01;
	n = mapq_read_batch(r, m, MAX, 0);
	CHECK_EQ(n, 1);
	check_batch(m, n, 40, 13);
	CHECK_OK(mapq_release(r));
	CHECK_RC(mapq_read_batch(r, m, MAX, 0), -MAPQ_EFRAMECRC);
	n = mapq_read_batch(r, m, MAX, 0);
	CHECK_EQ(n, 1);
	check_batch(m, n, 40, 15);
	CHECK_OK(mapq_release(r));

	/* mapq_read after a batch is a batch of one. */
	send_seq(q, 40, 16, 2);
	CHECK_OK(mapq_read(r, m, 0));
	CHECK_OK(mapq_release(r));
	CHECK_EQ(delivered(q, r), 16);
	mapq_reader_close(r);
	mapq_close(q);
}

/* Under MAPQ_BLOCK the held batch's space stays the batch's: a writer
 * that needs it waits, and gets it at the release. */
static void held(void)
{
	mapq_reader *r;
	mapq *q = queue_with_reader("held", MAPQ_BLOCK, &r);
	mapq_msg m[MAX];
	char buf[256];
	t_fill(buf, 200, 0, 0);
	int sent = t_send_until_full(q, buf, 200);
	CHECK(sent > MAX);
	int n = mapq_read_batch(r, m, MAX, 0);
	CHECK_EQ(n, MAX);
	CHECK_RC(mapq_send(q, buf, 200, 0), -EAGAIN);
	CHECK_RC(mapq_send(q, buf, 200, 5), -ETIMEDOUT);
	for (int i = 0; i < n; i++) {
		uint32_t w;
		uint64_t s;
		CHECK_OK(t_check_payload(m[i].data, m[i].len, &w, &s));
	}
	CHECK_OK(mapq_release(r));
	CHECK_OK(mapq_send(q, buf, 200, 0));
	mapq_reader_close(r);
	mapq_close(q);
}

/* A batch is one run of the mapping: it stops at the ring's end, and the
 * next one goes on from the start. Laps of the ring, each drained in
 * batches. */
static void wrapped(void)
{
	mapq_reader *r;
	mapq *q = queue_with_reader("wrapped", MAPQ_BLOCK, &r);
	mapq_msg m[MAX];
	char buf[256];
	uint64_t seq = 0, next = 0;
	unsigned cut = 0; /* batches that stopped short with more ready */
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 100; i++, seq++) {
			t_fill(buf, 200, 0, seq);
			CHECK_OK(mapq_send(q, buf, 200, 0));
		}
		bool was_short = false;
		for (;;) {
			int n = mapq_read_batch(r, m, MAX, 0);
			if (n == -EAGAIN)
				break;
			CHECK(n > 0);
			cut += was_short;
			was_short = n < MAX;
			check_batch(m, n, 200, next);
			next += (uint64_t)n;
			CHECK_OK(mapq_release(r));
		}
		CHECK_EQ(next, seq);
	}
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK(st.tail > 10 * q->cap); /* ten laps and more */
	CHECK(cut >= 10);             /* at each ring's end */
	CHECK_EQ(delivered(q, r), seq);
	mapq_reader_close(r);
	mapq_close(q);
}

/* Under MAPQ_OVERWRITE, writers that lap a held batch make its release
 * fail, and the next read reports the loss. */
static void lapped(void)
{
	mapq_reader *r;
	mapq *q = queue_with_reader("lapped", MAPQ_OVERWRITE, &r);
	mapq_msg m[MAX];
	send_seq(q, 200, 0, 20);
	int n = mapq_read_batch(r, m, MAX, 0);
	CHECK_EQ(n, 20);
	check_batch(m, n, 200, 0);
	send_seq(q, 200, 20, 1000); /* several laps */
	CHECK_RC(mapq_release(r), -MAPQ_ELAPPED);
	CHECK_EQ(delivered(q, r), 0);
	CHECK_RC(mapq_read_batch(r, m, MAX, 0), -MAPQ_ELAPPED);
	CHECK(mapq_reader_lost(r) > 0);
	n = mapq_read_batch(r, m, MAX, 0);
	CHECK(n > 0);
	uint32_t w;
	uint64_t s;
	CHECK_OK(t_check_payload(m[0].data, m[0].len, &w, &s));
	CHECK(s > 20);
	check_batch(m, n, 200, s);
	CHECK_OK(mapq_release(r));
	mapq_reader_close(r);
	mapq_close(q);
}

int main(void)
{
	basics();
	held();
	wrapped();
	lapped();
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * head_walk: head never passes a frame that is not published. A writer
 * publishes a frame with two stores, its commit word and then its pos
 * (writer.c, publish_frame()); between them the word already reads
 * committed, of this lap, of a believable size. Head's walk must still
 * stop there: its writer's store of pos is yet to come, and head passing
 * the frame would let a later lap's writer take the space under it.
 *
 * The window is held open by hand: a frame reserved with mapq_reserve()
 * gets its committed word, and no pos, and head is asked to move past it
 * with nobody reading (no reader's cursor bounds the walk). Then the
 * frame is committed for real, and head must pass it. Each case is made
 * at several places in the first three laps, so that the pos field holds
 * zero (the first lap), a stale position, or at position 0 of the new
 * queue what creation stores there (tests/first_frame).
 *
 * The walk judges most frames by a quick compare and leaves the others
 * to the full look (ring.c, walk_finished()); both must stop at a reader
 * and no earlier. So, last, an aborted frame at head that ends exactly
 * at the reader's cursor: head must pass it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "util.h"

enum {
	CAP = 16384,
	LEN = 64
};

static uint64_t head_of(const mapq *q)
{
	return mapq__load(&q->ctl->head, memory_order_relaxed);
}

/* One case: @before messages sent, then the half-published frame. */
static void half_published(mapq *q, unsigned before)
{
	static uint8_t buf[LEN];
	for (unsigned i = 0; i < before; i++) {
		t_fill(buf, LEN, 1, i);
		CHECK_OK(mapq_send(q, buf, LEN, 1000));
	}
	void *p = NULL;
	CHECK_OK(mapq_reserve(q, LEN, &p, 1000));
	t_fill(p, LEN, 1, before);
	uint64_t at = q->resv_pos, size = q->resv_size;
	/* The commit word as publish_frame() stores it, before pos */
	mapq__store(commit_at(q, at), cw_make(size, FRAME_COMMITTED, 0, lap_of(q, at)),
		    memory_order_relaxed);
	CHECK(frame_pos_at(q, at) != at);

	int r = mapq__advance_head(q, at + size, true);
	if (r != MAPQ__BLOCKED_BY_WRITER || head_of(q) > at)
		t_fail(__FILE__, __LINE__,
		       "after %u messages: head moved to %llu (returned %d) past the frame at "
		       "%llu, whose pos is not stored",
		       before, (unsigned long long)head_of(q), r, (unsigned long long)at);

	/* Published: now head passes it (the walk is not simply stuck) */
	CHECK_OK(mapq_commit(q, LEN));
	CHECK_OK(mapq__advance_head(q, at + size, true));
	CHECK(head_of(q) >= at + size);
}

/*
 * And a frame the quick judgment leaves to the full one (an aborted
 * frame), at head, ending exactly at the one reader's cursor: head must
 * pass it. A walk that stopped there would have the writer wait for a
 * writer, and for ever if the reader never moved again.
 */
static void aborted_at_reader(void)
{
	static uint8_t buf[LEN];
	mapq *q = t_create("aborted", CAP, MAPQ_BLOCK);
	mapq_reader *r = NULL;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	void *p = NULL;
	CHECK_OK(mapq_reserve(q, LEN, &p, 1000));
	uint64_t at = q->resv_pos, size = q->resv_size;
	CHECK_OK(mapq_abort(q));
	t_fill(buf, LEN, 1, 0);
	CHECK_OK(mapq_send(q, buf, LEN, 1000));
	/* The reader skips the aborted frame and holds the message after it */
	mapq_msg m;
	CHECK_OK(mapq_read(r, &m, 1000));
	CHECK_EQ(m.pos, at + size);
	CHECK_EQ(head_of(q), at);

	int rc = mapq__advance_head(q, at + size, true);
	if (rc != 0 || head_of(q) != at + size)
		t_fail(__FILE__, __LINE__,
		       "head at %llu (returned %d): it must pass the aborted frame at %llu "
		       "to the reader's cursor at %llu",
		       (unsigned long long)head_of(q), rc, (unsigned long long)at,
		       (unsigned long long)(at + size));
	CHECK_OK(mapq_release(r));
	mapq_reader_close(r);
	mapq_close(q);
}

int main(void)
{
	/* From a fresh ring, then after about one, two and a half laps */
	static const unsigned before[] = { 0, 1, 3, 100, 150, 300, 405 };
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "walk%zu", i);
		mapq *q = t_create(name, CAP, MAPQ_BLOCK);
		half_published(q, before[i]);
		mapq_close(q);
	}
	aborted_at_reader();
	return 0;
}

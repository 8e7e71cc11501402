/* SPDX-License-Identifier: MIT */
/* damaged_ctl: head, tail or a cursor that another process left off the
 * 16-byte frame grid (doc/format.md) is never used as a frame position:
 * each call that meets it says -MAPQ_ECORRUPT at once, and recovery
 * still works. mapq_sync() once read a frame header at such a head (a
 * misaligned access, UBSan's report) and waited out its timeout. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"
#include "util.h"

#define CAP 4096u

int main(void)
{
	mapq_options o;
	mapq *q;
	mapq_reader *r;
	uint8_t msg[1000] = { 0 };
	mapq_options_init(&o);
	o.capacity = CAP;
	o.unblock_ms = 100;
	CHECK_OK(mapq_open(&q, t_path("q"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (int i = 0; i < 3; i++)
		CHECK_OK(mapq_send(q, msg, sizeof(msg), 0));

	/* head off the grid: sync and a send that needs space */
	uint64_t head = atomic_load(&q->ctl->head);
	atomic_store(&q->ctl->head, head + 8);
	uint64_t t0 = t_now_ms();
	CHECK_RC(mapq_sync(q), -MAPQ_ECORRUPT);
	CHECK_RC(mapq_send(q, msg, sizeof(msg), 50), -MAPQ_ECORRUPT);
	CHECK(t_now_ms() - t0 < 1000);
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep)); /* others may have it open: live repair only */
	atomic_store(&q->ctl->head, head);

	/* tail off the grid */
	uint64_t tail = atomic_load(&q->ctl->tail);
	atomic_store(&q->ctl->tail, tail + 1);
	CHECK_RC(mapq_send(q, msg, 10, 0), -MAPQ_ECORRUPT);
	atomic_store(&q->ctl->tail, tail);

	/* the reader's cursor off the grid */
	_Atomic uint64_t *cur = &q->rslots[0].cursor;
	uint64_t c = atomic_load(cur);
	atomic_store(cur, c + 4);
	char buf[16];
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 0), -MAPQ_ECORRUPT);
	atomic_store(cur, c);
	CHECK_EQ(mapq_recv(r, msg, sizeof(msg), 0), sizeof(msg));

	/* exclusive recovery puts it all right */
	mapq_close(q);
	CHECK_OK(mapq_open(&q, t_path("q"), 0, &o));
	CHECK_OK(mapq_send(q, "ok", 2, 0));
	mapq_close(q);

	/* A control page that is not believable (head past tail: a crash in
	 * the middle of writing the page) is rebuilt from the log by the
	 * next exclusive recovery, and its rare-event counters, as garbled
	 * as the rest, start again from zero. */
	CHECK_OK(mapq_open(&q, t_path("q"), 0, &o));
	CHECK_OK(mapq_send(q, "after", 5, 0));
	tail = atomic_load(&q->ctl->tail);
	atomic_store(&q->ctl->head, tail + 2 * CAP);
	atomic_store(&q->ctl->crc_failures, 7);
	atomic_store(&q->ctl->lapped, 5);
	atomic_store(&q->ctl->lost, 9);
	mapq_close(q);
	CHECK_OK(mapq_open(&q, t_path("q"), 0, &o));
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.crc_failures, 0);
	CHECK_EQ(st.lapped, 0);
	CHECK_EQ(st.lost, 0);
	CHECK(st.head <= st.tail && st.tail - st.head <= CAP);
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	ssize_t n;
	bool after = false;
	for (int i = 0; i < 10 && (n = mapq_recv(r, msg, sizeof(msg), 0)) >= 0; i++)
		after = n == 5 && memcmp(msg, "after", 5) == 0;
	CHECK(after); /* the log's last message is still there */
	mapq_close(q);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* counters: the statistics in the file add up across handles. */
#include "config.h"

#include <errno.h>

#include "util.h"

int main(void)
{
	mapq *a = t_create("q", 1 << 16, MAPQ_BLOCK), *b;
	mapq_reader *r1, *r2, *r3;
	mapq_counters st;
	void *p;

	CHECK_OK(mapq_open(&b, t_path("q"), 0, NULL));
	CHECK_OK(mapq_stats(a, &st));
	CHECK_EQ(st.msgs + st.bytes + st.aborted + st.tail + st.head, 0);
	CHECK_EQ(st.writers_attached, 0);

	CHECK_OK(mapq_reader_open(a, &r1, NULL, MAPQ_START_OLDEST));
	CHECK_OK(mapq_reader_open(b, &r2, "durable", MAPQ_START_OLDEST));
	CHECK_OK(mapq_reader_open(b, &r3, NULL, MAPQ_START_OLDEST));
	for (int i = 0; i < 10; i++)
		CHECK_OK(mapq_send(a, "0123456789", 10, 0));
	for (int i = 0; i < 5; i++)
		CHECK_OK(mapq_send(b, "abc", 3, 0));
	CHECK_OK(mapq_reserve(b, 50, &p, 0));
	CHECK_OK(mapq_abort(b));

	CHECK_OK(mapq_stats(b, &st));
	CHECK_EQ(st.msgs, 15);
	CHECK_EQ(st.bytes, 115);
	CHECK_EQ(st.aborted, 1);
	CHECK_EQ(st.writers_attached, 2);
	CHECK_EQ(st.readers_attached, 3);
	CHECK_EQ(st.readers_durable, 1);
	CHECK_EQ(st.tail, 10 * 48 + 5 * 48 + 96); /* 16-byte aligned frames, 32-byte header */
	CHECK_EQ(st.crc_failures + st.lapped + st.lost, 0);

	mapq_reader_close(r3);
	mapq_reader_close(r2);
	CHECK_OK(mapq_stats(a, &st));
	CHECK_EQ(st.readers_attached, 1);
	CHECK_EQ(st.readers_durable, 1);
	mapq_close(b);
	CHECK_OK(mapq_stats(a, &st));
	CHECK_EQ(st.writers_attached, 1);
	CHECK_EQ(st.msgs, 15); /* counters outlive the handle that made them */
	mapq_close(a);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* overwrite_lapped: under MAPQ_OVERWRITE writers never wait; a reader
 * that falls a lap behind gets -MAPQ_ELAPPED with the exact number of
 * messages it missed, then continues in order from the oldest retained. */
#include "config.h"

#include <errno.h>

#include "util.h"

static uint64_t next_seq(mapq_reader *r)
{
	char in[200];
	uint32_t w;
	uint64_t s;
	ssize_t n = mapq_recv(r, in, sizeof(in), 0);
	CHECK_EQ(n, 100);
	CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
	return s;
}

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_OVERWRITE);
	mapq_reader *r, *fast;
	char buf[100], in[200];
	const uint64_t total = 100;

	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_OK(mapq_reader_open(q, &fast, NULL, MAPQ_START_OLDEST));
	for (uint64_t i = 0; i < total; i++) {
		t_fill(buf, sizeof(buf), 1, i);
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0)); /* never blocks */
		CHECK_EQ(next_seq(fast), i); /* a reader that keeps up loses nothing */
	}
	mapq_reader_close(fast);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -MAPQ_ELAPPED);
	uint64_t lost = mapq_reader_lost(r);
	CHECK(lost > 0 && lost < total);
	uint64_t expect = lost;
	ssize_t n;
	while ((n = mapq_recv(r, in, sizeof(in), 0)) > 0) {
		uint32_t w;
		uint64_t s;
		CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
		CHECK_EQ(s, expect);
		expect++;
	}
	CHECK_RC(n, -EAGAIN);
	CHECK_EQ(expect, total); /* lost + delivered == sent, exactly */

	/* A message held through the zero-copy API and overwritten meanwhile:
	 * release says so, and the next read counts it as lost. */
	mapq_msg m;
	t_fill(buf, sizeof(buf), 1, total);
	CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	CHECK_OK(mapq_read(r, &m, 0));
	for (uint64_t i = 0; i < 40; i++) {
		t_fill(buf, sizeof(buf), 1, total + 1 + i);
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	}
	CHECK_RC(mapq_release(r), -MAPQ_ELAPPED);
	CHECK_RC(mapq_read(r, &m, 0), -MAPQ_ELAPPED);
	uint64_t lost2 = mapq_reader_lost(r);
	CHECK(lost2 >= 1);
	uint64_t s = next_seq(r);
	CHECK_EQ(s, total + lost2); /* the held one counts among the lost */

	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.lapped, 2);
	CHECK_EQ(st.lost, lost + lost2);
	mapq_close(q);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* zerocopy: reserve/commit/abort and read/release, including misuse. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "util.h"

int main(void)
{
	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK);
	mapq_reader *r;
	mapq_msg m;
	void *p;

	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_RC(mapq_commit(q, 0), -MAPQ_ESTATE);
	CHECK_RC(mapq_abort(q), -MAPQ_ESTATE);
	CHECK_RC(mapq_release(r), -MAPQ_ESTATE);
	CHECK_RC(mapq_reserve(q, 10, NULL, 0), -EINVAL);

	/* Committed in place. */
	CHECK_OK(mapq_reserve(q, 11, &p, 0));
	CHECK_RC(mapq_reserve(q, 11, &p, 0), -MAPQ_ESTATE);
	/* Not visible until committed. */
	CHECK_RC(mapq_read(r, &m, 0), -EAGAIN);
	memcpy(p, "first frame", 11);
	CHECK_RC(mapq_commit(q, 12), -EMSGSIZE);
	CHECK_OK(mapq_commit(q, 11));

	/* Aborted: readers never see it. */
	CHECK_OK(mapq_reserve(q, 100, &p, 0));
	memset(p, 'A', 100);
	CHECK_OK(mapq_abort(q));

	/* Committed shorter than reserved. */
	CHECK_OK(mapq_reserve(q, 1000, &p, 0));
	memcpy(p, "short", 5);
	CHECK_OK(mapq_commit(q, 5));

	CHECK_OK(mapq_read(r, &m, 0));
	CHECK_EQ(m.len, 11);
	CHECK(memcmp(m.data, "first frame", 11) == 0);
	CHECK_RC(mapq_read(r, &m, 0), -MAPQ_ESTATE);
	CHECK_OK(mapq_release(r));
	CHECK_RC(mapq_release(r), -MAPQ_ESTATE);
	CHECK_OK(mapq_read(r, &m, 0));
	CHECK_EQ(m.len, 5);
	CHECK(memcmp(m.data, "short", 5) == 0);
	CHECK_OK(mapq_release(r));
	CHECK_RC(mapq_read(r, &m, 0), -EAGAIN);

	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, 2);
	CHECK_EQ(st.bytes, 16);
	CHECK_EQ(st.aborted, 1);

	/* Closing with an open reservation aborts it for the readers. */
	mapq *q2;
	CHECK_OK(mapq_open(&q2, t_path("q"), 0, NULL));
	CHECK_OK(mapq_reserve(q2, 8, &p, 0));
	CHECK_OK(mapq_send(q, "after", 5, 0));
	mapq_close(q2);
	CHECK_OK(mapq_read(r, &m, 0));
	CHECK_EQ(m.len, 5);
	CHECK_OK(mapq_release(r));
	mapq_close(q);
	return 0;
}

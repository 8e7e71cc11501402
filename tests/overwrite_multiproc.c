/* SPDX-License-Identifier: MIT */
/* overwrite_multiproc: 3 writer processes never wait (MAPQ_OVERWRITE);
 * one reader keeps up, one naps and is lapped again and again. Each sees
 * every writer's messages in order and intact, and for each reader
 * delivered + reported lost == sent, exactly. */
#include "config.h"

#include "util.h"
#include "workload.h"

enum {
	WRITERS = 3,
	READERS = 2
};

int main(void)
{
	uint64_t per_writer = t_scaled(20000);
	mapq *q = t_create("q", 1 << 14, MAPQ_OVERWRITE);
	CHECK_EQ(wl_run_processes(t_path("q"), WRITERS, READERS, per_writer, true, 2000), 0);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, WRITERS * per_writer);
	CHECK(st.lapped > 0 && st.lost > 0);
	mapq_close(q);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* multiproc: 4 writer processes and 3 reader processes over one small
 * ring. Every reader must get every message of every writer exactly once,
 * in each writer's order, with an intact payload. Back-pressure and
 * wrap-around happen thousands of times.
 *
 * Usage: multiproc [writers readers messages capacity]  (for longer runs) */
#include "config.h"

#include "util.h"
#include "workload.h"

int main(int argc, char **argv)
{
	int writers = 4, readers = 3;
	uint64_t per_writer = t_scaled(20000), cap = 1 << 16;
	if (argc == 5) {
		writers = atoi(argv[1]);
		readers = atoi(argv[2]);
		per_writer = strtoull(argv[3], NULL, 10);
		cap = strtoull(argv[4], NULL, 10);
	}
	if (writers < 1 || writers > WL_MAXW || readers < 1 || readers > WL_MAXW) {
		fprintf(stderr,
			"usage: multiproc [writers(1-16) readers(1-16) messages capacity]\n");
		return T_ERROR;
	}
	mapq *q = t_create("q", cap, MAPQ_BLOCK);
	uint64_t t0 = t_now_ms();
	int fails = wl_run_processes(t_path("q"), writers, readers, per_writer, false, 0);
	printf("%d writer x %d reader processes, %llu messages each: %llu ms\n", writers, readers,
	       (unsigned long long)per_writer, (unsigned long long)(t_now_ms() - t0));
	CHECK_EQ(fails, 0);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, per_writer * (uint64_t)writers);
	CHECK_EQ(st.crc_failures, 0);
	mapq_close(q);
	return 0;
}

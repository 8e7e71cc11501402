/* multiproc: 4 writer processes and 3 reader processes over one small
 * ring. Every reader must get every message of every writer exactly once,
 * in each writer's order, with an intact payload. Back-pressure and
 * wrap-around happen thousands of times.
 *
 * Usage: multiproc [writers readers messages capacity]  (for longer runs) */
#include "config.h"

#include <unistd.h>

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
	if (writers < 1 || writers > WL_MAXW || readers < 1 || readers > 16) {
		fprintf(stderr, "usage: multiproc [writers(1-16) readers(1-16) messages capacity]\n");
		return T_ERROR;
	}
	mapq *q = t_create("q", cap, MAPQ_BLOCK);
	const char *path = t_path("q");
	int ready[2], pids[32], n = 0, fails = 0;
	if (pipe(ready))
		return T_ERROR;
	uint64_t t0 = t_now_ms();
	for (int i = 0; i < readers; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			mapq *cq = wl_open(path);
			int rc = wl_reader(cq, writers, per_writer, ready[1]);
			mapq_close(cq);
			_exit(rc);
		}
		pids[n++] = pid;
	}
	/* Writers start only once every reader is attached. */
	for (int i = 0; i < readers; i++) {
		char c;
		if (read(ready[0], &c, 1) != 1)
			return T_ERROR;
	}
	for (int i = 0; i < writers; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			mapq *cq = wl_open(path);
			int rc = wl_writer(cq, (uint32_t)i, per_writer);
			mapq_close(cq);
			_exit(rc);
		}
		pids[n++] = pid;
	}
	for (int i = 0; i < n; i++) {
		int st = t_wait_child(pids[i]);
		if (st) {
			fprintf(stderr, "%s %d exited with %d\n", i < readers ? "reader" : "writer",
				pids[i], st);
			fails++;
		}
	}
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	uint64_t ms = t_now_ms() - t0;
	printf("%d writer x %d reader processes, %llu messages each: %llu ms\n", writers,
	       readers, (unsigned long long)per_writer, (unsigned long long)ms);
	CHECK_EQ(fails, 0);
	CHECK_EQ(st.msgs, per_writer * (uint64_t)writers);
	CHECK_EQ(st.crc_failures, 0);
	mapq_close(q);
	return 0;
}

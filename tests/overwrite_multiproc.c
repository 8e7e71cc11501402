/* overwrite_multiproc: 3 writer processes never wait (MAPQ_OVERWRITE);
 * one reader keeps up, one naps and is lapped again and again. Each sees
 * every writer's messages in order and intact, and for each reader
 * delivered + reported lost == sent, exactly. */
#include "config.h"

#include <unistd.h>

#include "util.h"
#include "workload.h"

enum { WRITERS = 3 };

int main(void)
{
	uint64_t per_writer = t_scaled(20000);
	mapq *q = t_create("q", 1 << 14, MAPQ_OVERWRITE);
	const char *path = t_path("q");
	int ready[2], pids[8], n = 0, fails = 0;
	CHECK_EQ(pipe(ready), 0);
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			mapq *cq = wl_open(path);
			int rc = wl_reader_lossy(cq, WRITERS, per_writer, ready[1], i ? 2000 : 0);
			mapq_close(cq);
			_exit(rc);
		}
		pids[n++] = pid;
	}
	for (int i = 0; i < 2; i++) {
		char c;
		CHECK_EQ(read(ready[0], &c, 1), 1);
	}
	for (int i = 0; i < WRITERS; i++) {
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
			fprintf(stderr, "child %d (%s) exited with %d\n", i, i < 2 ? "reader" : "writer", st);
			fails++;
		}
	}
	CHECK_EQ(fails, 0);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, WRITERS * per_writer);
	CHECK(st.lapped > 0 && st.lost > 0);
	mapq_close(q);
	return 0;
}

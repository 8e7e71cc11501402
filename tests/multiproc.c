/* multiproc: 4 writer processes and 3 reader processes over one small
 * ring. Every reader must get every message of every writer exactly once,
 * in each writer's order, with an intact payload. Back-pressure and
 * wrap-around happen thousands of times.
 *
 * Usage: multiproc [writers readers messages capacity]  (for longer runs) */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define MAXW 16

static int reader(const char *path, int writers, uint64_t per_writer, int ready_fd)
{
	mapq *q;
	mapq_reader *r;
	uint64_t next[MAXW] = { 0 }, got = 0, total = per_writer * (uint64_t)writers;
	static uint8_t in[4096];

	if (mapq_open(&q, path, 0, NULL) || mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST))
		return 2;
	if (write(ready_fd, "r", 1) != 1)
		return 2;
	while (got < total) {
		ssize_t n = mapq_recv(r, in, sizeof(in), 10000);
		if (n < 0) {
			fprintf(stderr, "reader %d: %s after %llu of %llu\n", getpid(),
				mapq_strerror((int)n), (unsigned long long)got,
				(unsigned long long)total);
			return 3;
		}
		uint32_t w;
		uint64_t s;
		if (t_check_payload(in, (size_t)n, &w, &s) || w >= (uint32_t)writers) {
			fprintf(stderr, "reader %d: corrupt payload (%zd bytes)\n", getpid(), n);
			return 4;
		}
		if (s != next[w]) {
			fprintf(stderr, "reader %d: writer %u seq %llu, expected %llu (%s)\n", getpid(),
				w, (unsigned long long)s, (unsigned long long)next[w],
				s < next[w] ? "duplicate or reordered" : "lost");
			return 5;
		}
		next[w]++;
		got++;
	}
	char extra[16];
	if (mapq_recv(r, extra, sizeof(extra), 0) != -EAGAIN)
		return 6; /* nothing beyond what was sent */
	mapq_close(q);
	return 0;
}

static int writer(const char *path, uint32_t id, uint64_t count)
{
	mapq *q;
	static uint8_t out[4096];
	if (mapq_open(&q, path, 0, NULL))
		return 2;
	for (uint64_t s = 0; s < count; s++) {
		size_t len = 20 + (size_t)((s * 2654435761u + id * 97) % 300);
		t_fill(out, len, id, s);
		int rc = mapq_send(q, out, len, 10000);
		if (rc) {
			fprintf(stderr, "writer %u: %s at %llu\n", id, mapq_strerror(rc),
				(unsigned long long)s);
			return 3;
		}
	}
	mapq_close(q);
	return 0;
}

int main(int argc, char **argv)
{
	int writers = 4, readers = 3;
	uint64_t per_writer = 20000, cap = 1 << 16;
	if (argc == 5) {
		writers = atoi(argv[1]);
		readers = atoi(argv[2]);
		per_writer = strtoull(argv[3], NULL, 10);
		cap = strtoull(argv[4], NULL, 10);
	}
	if (writers < 1 || writers > MAXW || readers < 1 || readers > 16) {
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
		if (pid == 0)
			_exit(reader(path, writers, per_writer, ready[1]));
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
		if (pid == 0)
			_exit(writer(path, (uint32_t)i, per_writer));
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
	printf("%d writers x %d readers, %llu messages each: %llu ms, %llu msgs/s per reader\n",
	       writers, readers, (unsigned long long)per_writer, (unsigned long long)ms,
	       (unsigned long long)(ms ? st.msgs * 1000 / ms : 0));
	CHECK_EQ(fails, 0);
	CHECK_EQ(st.msgs, per_writer * (uint64_t)writers);
	CHECK_EQ(st.crc_failures, 0);
	mapq_close(q);
	return 0;
}

/*
 * mapq-bench - throughput of one writer process and one reader process.
 *
 * This is the quick figure; the full benchmark with peers (pipes, sockets,
 * POSIX mq) and latency percentiles belongs to bench/ as well and grows
 * from here. The reader checks every message's length and first bytes so
 * that nothing is counted that was not delivered.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mapq.h"

static const char usage[] =
	"usage: mapq-bench [--size BYTES] [--count N] [--capacity BYTES] [--dir DIR]\n"
	"One writer process sends N messages of BYTES (default 64 bytes, 2000000\n"
	"messages, 1 MiB ring in /dev/shm); one reader process receives and checks\n"
	"them. Prints messages/s and MB/s as seen by the reader.\n";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long num(const char *flag, const char *v)
{
	char *end;
	unsigned long long n = v ? strtoull(v, &end, 0) : 0;
	if (!v || *end || n == 0) {
		fprintf(stderr, "mapq-bench: %s needs a positive number\n%s", flag, usage);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	unsigned long long size = 64, count = 2000000, cap = 1 << 20;
	const char *dir = "/dev/shm";
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--size"))
			size = num(argv[i], v), i++;
		else if (!strcmp(argv[i], "--count"))
			count = num(argv[i], v), i++;
		else if (!strcmp(argv[i], "--capacity"))
			cap = num(argv[i], v), i++;
		else if (!strcmp(argv[i], "--dir") && v)
			dir = v, i++;
		else {
			fputs(usage, strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/mapq-bench.%d", dir, getpid());
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = cap;
	o.max_msg = size < 8 ? 8 : (uint32_t)size;
	mapq *q;
	mapq_reader *r;
	int rc = mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o);
	if (!rc)
		rc = mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST);
	if (rc) {
		fprintf(stderr, "mapq-bench: %s: %s\n", path, mapq_strerror(rc));
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		mapq *wq;
		char *buf = calloc(1, size);
		if (!buf || mapq_open(&wq, path, 0, NULL))
			_exit(2);
		for (unsigned long long i = 0; i < count; i++) {
			memcpy(buf, &i, size < 8 ? size : 8);
			if ((rc = mapq_send(wq, buf, size, MAPQ_FOREVER)) < 0) {
				fprintf(stderr, "mapq-bench: send: %s\n", mapq_strerror(rc));
				_exit(3);
			}
		}
		_exit(0);
	}
	char *in = malloc(size);
	double t0 = 0;
	for (unsigned long long i = 0; i < count; i++) {
		ssize_t n = mapq_recv(r, in, size, 10000);
		if (i == 0)
			t0 = now_s(); /* from the first delivery: excludes fork and attach */
		unsigned long long got = 0;
		memcpy(&got, in, size < 8 ? size : 8);
		if (n != (ssize_t)size || (size >= 8 && got != i)) {
			fprintf(stderr, "mapq-bench: message %llu: %s\n", i,
				n < 0 ? mapq_strerror((int)n) : "wrong length or sequence");
			kill(pid, SIGKILL);
			unlink(path);
			return 1;
		}
	}
	double dt = now_s() - t0;
	mapq_counters st;
	mapq_stats(q, &st);
	int wst;
	waitpid(pid, &wst, 0);
	unlink(path);
	mapq_close(q);
	if (!WIFEXITED(wst) || WEXITSTATUS(wst)) {
		fprintf(stderr, "mapq-bench: writer failed\n");
		return 1;
	}
	printf("size %llu B, %llu messages, 1 writer x 1 reader: %.0f msgs/s, %.1f MB/s, "
	       "futex wake-ups: %u for data, %u for space\n",
	       size, count, (double)(count - 1) / dt, (double)(count - 1) * (double)size / dt / 1e6,
	       st.data_wakeups, st.space_wakeups);
	return 0;
}

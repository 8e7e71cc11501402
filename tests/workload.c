/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "util.h"
#include "workload.h"

mapq *wl_open(const char *path)
{
	mapq *q;
	return mapq_open(&q, path, 0, NULL) ? NULL : q;
}

int wl_writer(mapq *q, uint32_t id, uint64_t count)
{
	uint8_t out[512];
	if (!q)
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
	return 0;
}

int wl_reader(mapq *q, int writers, uint64_t per_writer, int ready_fd)
{
	mapq_reader *r;
	uint64_t next[WL_MAXW] = { 0 }, got = 0, total = per_writer * (uint64_t)writers;
	uint8_t in[512];
	int rc = 0;

	if (!q || mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST) || write(ready_fd, "r", 1) != 1)
		return 2;
	while (got < total && !rc) {
		ssize_t n = mapq_recv(r, in, sizeof(in), 10000);
		uint32_t w;
		uint64_t s;
		if (n < 0) {
			fprintf(stderr, "reader: %s after %llu of %llu\n", mapq_strerror((int)n),
				(unsigned long long)got, (unsigned long long)total);
			rc = 3;
		} else if (t_check_payload(in, (size_t)n, &w, &s) || w >= (uint32_t)writers) {
			fprintf(stderr, "reader: corrupt payload (%zd bytes)\n", n);
			rc = 4;
		} else if (s != next[w]) {
			fprintf(stderr, "reader: writer %u seq %llu, expected %llu (%s)\n", w,
				(unsigned long long)s, (unsigned long long)next[w],
				s < next[w] ? "duplicate or reordered" : "lost");
			rc = 5;
		} else {
			next[w]++;
			got++;
		}
	}
	if (!rc && mapq_recv(r, in, sizeof(in), 0) != -EAGAIN)
		rc = 6; /* nothing beyond what was sent */
	mapq_reader_close(r);
	return rc;
}

int wl_reader_lossy(mapq *q, int writers, uint64_t per_writer, int ready_fd, unsigned nap_us)
{
	mapq_reader *r;
	uint64_t next[WL_MAXW] = { 0 }, got = 0, lost = 0, laps = 0;
	uint64_t total = per_writer * (uint64_t)writers;
	uint8_t in[512];
	int rc = 0;

	if (!q || mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST) || write(ready_fd, "r", 1) != 1)
		return 2;
	while (got + lost < total && !rc) {
		ssize_t n = mapq_recv(r, in, sizeof(in), 10000);
		uint32_t w;
		uint64_t s;
		if (n == -MAPQ_ELAPPED) {
			lost += mapq_reader_lost(r);
			laps++;
			continue;
		}
		if (n < 0) {
			fprintf(stderr,
				"lossy reader: %s after %llu delivered, %llu lost of %llu\n",
				mapq_strerror((int)n), (unsigned long long)got,
				(unsigned long long)lost, (unsigned long long)total);
			rc = 3;
		} else if (t_check_payload(in, (size_t)n, &w, &s) || w >= (uint32_t)writers) {
			fprintf(stderr, "lossy reader: corrupt payload (%zd bytes)\n", n);
			rc = 4;
		} else if (s < next[w]) {
			fprintf(stderr,
				"lossy reader: writer %u seq %llu after %llu: duplicate or reordered\n",
				w, (unsigned long long)s, (unsigned long long)next[w]);
			rc = 5;
		} else {
			next[w] = s + 1;
			if (++got % 64 == 0 && nap_us)
				usleep(nap_us);
		}
	}
	if (!rc && got + lost != total) {
		fprintf(stderr, "lossy reader: delivered %llu + lost %llu != sent %llu\n",
			(unsigned long long)got, (unsigned long long)lost,
			(unsigned long long)total);
		rc = 7;
	}
	if (!rc && mapq_recv(r, in, sizeof(in), 0) != -EAGAIN)
		rc = 6;
	if (!rc && nap_us && laps == 0) {
		fprintf(stderr, "lossy reader: never lapped; the test proves nothing\n");
		rc = 8;
	}
	mapq_reader_close(r);
	return rc;
}

int wl_run_processes(const char *path, int writers, int readers, uint64_t per_writer, bool lossy,
		     unsigned nap_us)
{
	pid_t pids[2 * WL_MAXW];
	int ready[2], n = 0, fails = 0;

	if (writers > WL_MAXW || readers > WL_MAXW || pipe(ready))
		return writers + readers;
	for (int i = 0; i < readers + writers; i++) {
		if (i == readers) /* writers start only once every reader is attached */
			for (int k = 0; k < readers; k++) {
				char c;
				if (read(ready[0], &c, 1) != 1)
					return writers + readers;
			}
		pid_t pid = fork();
		if (pid == 0) {
			mapq *cq = wl_open(path);
			int rc;
			if (i >= readers)
				rc = wl_writer(cq, (uint32_t)(i - readers), per_writer);
			else if (lossy) /* the first reader keeps up, the others nap */
				rc = wl_reader_lossy(cq, writers, per_writer, ready[1],
						     i ? nap_us : 0);
			else
				rc = wl_reader(cq, writers, per_writer, ready[1]);
			mapq_close(cq);
			t_exit(rc);
		}
		pids[n++] = pid;
	}
	for (int i = 0; i < n; i++) {
		int st = t_wait_child(pids[i]);
		if (st) {
			fprintf(stderr, "%s %d exited with %d\n", i < readers ? "reader" : "writer",
				(int)pids[i], st);
			fails++;
		}
	}
	close(ready[0]);
	close(ready[1]);
	return fails;
}

/* SPDX-License-Identifier: MIT */
/*
 * gen_seeds.c - make the seed corpora from queues in known states, rather
 * than commit opaque blobs: empty, a few messages, wrapped, full behind a
 * durable reader, with aborted frames, with a dead writer's claim, with
 * padding at the ring's end, overwrite policy after laps.
 *
 * Usage: gen-seeds DIR   (writes the files in DIR/open, DIR/frames, DIR/ops)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"

#ifdef _WIN32
#include <direct.h>
#define mkdir(path, mode) _mkdir(path)
#endif

static const char *out;

static void save(const char *sub, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s/%s", out, sub, name);
	if (fz_write_file(path, p, n) != 0) {
		perror(path);
		exit(1);
	}
}

/* Snapshot queue @q (its file at @path) as seeds for both targets. */
static void snapshot(mapq *q, const char *path, const char *name)
{
	FILE *f = fopen(path, "rb");
	static uint8_t img[1 << 20];
	size_t n = f ? fread(img, 1, sizeof(img), f) : 0;
	if (f)
		fclose(f);
	save("open", name, img, n);
	/* frames: flags, head, tail, then the ring */
	static uint8_t fr[17 + 8192];
	fr[0] = (uint8_t)((q->overwrite ? 1 : 0) | (q->cap == 8192 ? 2 : 0));
	uint64_t h = atomic_load(&q->ctl->head), t = atomic_load(&q->ctl->tail);
	memcpy(fr + 1, &h, 8);
	memcpy(fr + 9, &t, 8);
	memcpy(fr + 17, q->ring, q->cap);
	save("frames", name, fr, 17 + q->cap);
}

static mapq *fresh(const char *path, uint64_t cap, int policy)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = cap;
	o.policy = (uint32_t)policy;
	o.writer_slots = 2;
	o.reader_slots = 2;
	unlink(path);
	mapq *q;
	if (mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o) != 0)
		exit(1);
	return q;
}

/* Consume one message, whatever it holds (the seeds only need the state). */
static void take(mapq_reader *r)
{
	uint8_t in[600];
	if (mapq_recv(r, in, sizeof(in), 0) < 0)
		return;
}

static void send_n(mapq *q, int n, size_t len)
{
	uint8_t buf[600];
	for (int i = 0; i < n; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		if (mapq_send(q, buf, len + (size_t)(i % 7) * 16, 0) != 0)
			return;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-seeds DIR\n");
		return 2;
	}
	out = argv[1];
	char d[4096];
	mkdir(out, 0755);
	snprintf(d, sizeof(d), "%s/open", out);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/frames", out);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/ops", out);
	mkdir(d, 0755);
	/* Programs for fuzz_ops: pairs (op, argument), see fuzz_ops.c. */
	static const uint8_t ops_basic[] = { 6, 0, 6, 1, 0, 10, 0, 21, 8, 0, 8, 1, 2,
					     4, 3, 6, 9, 0, 9,  1, 7,  0, 6, 0, 9, 0 };
	static const uint8_t ops_death[] = { 6, 0, 6, 2, 1, 11, 2, 13, 0, 30, 4,  0, 8,
					     0, 5, 0, 8, 0, 8,  0, 8,  2, 0,  40, 8, 0 };
	static const uint8_t ops_fill[] = { 6, 0,   0, 255, 0, 254, 0, 253, 0, 252, 0, 251, 0, 250,
					    0, 249, 0, 248, 0, 247, 0, 246, 0, 245, 0, 244, 0, 243,
					    8, 0,   8, 0,   8, 0,   7, 0,   0, 200, 6, 0,   8, 0 };
	save("ops", "basic", ops_basic, sizeof(ops_basic));
	save("ops", "death", ops_death, sizeof(ops_death));
	save("ops", "fill", ops_fill, sizeof(ops_fill));
	const char *p = fz_path("q");
	mapq *q;
	mapq_reader *r, *dr;
	void *buf;

	q = fresh(p, 4096, MAPQ_BLOCK);
	snapshot(q, p, "empty");
	send_n(q, 5, 40);
	snapshot(q, p, "few");
	mapq_close(q);

	/* Wrapped several times, with a reader keeping up. */
	q = fresh(p, 4096, MAPQ_BLOCK);
	if (mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST))
		return 1;
	for (int i = 0; i < 300; i++) {
		send_n(q, 1, 20 + (size_t)(i * 37 % 200));
		take(r);
	}
	snapshot(q, p, "wrapped");
	/* With aborted frames and a claim left open (a dead writer's). */
	for (int i = 0; i < 3; i++)
		if (mapq_reserve(q, 30, &buf, 0) == 0)
			mapq_abort(q);
	send_n(q, 2, 50);
	if (mapq_reserve(q, 64, &buf, 0) == 0)
		memset(buf, 'X', 32);
	snapshot(q, p, "claimed");
	mapq_close(q);

	/* Full behind a durable reader that stopped reading. */
	q = fresh(p, 8192, MAPQ_BLOCK);
	if (mapq_reader_open(q, &dr, "r0", MAPQ_START_OLDEST))
		return 1;
	send_n(q, 100, 100);
	take(dr);
	snapshot(q, p, "full-durable");
	mapq_close(q);

	/* Padding at the ring's end, then a frame at the start. */
	q = fresh(p, 4096, MAPQ_BLOCK);
	for (int i = 0; i < 40; i++) {
		send_n(q, 1, 90);
		if ((atomic_load(&q->ctl->tail) & 4095) > 3900)
			break;
	}
	send_n(q, 2, 200);
	snapshot(q, p, "padding");
	mapq_close(q);

	/* Overwrite policy after laps, a reader lapped. */
	q = fresh(p, 4096, MAPQ_OVERWRITE);
	if (mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST))
		return 1;
	send_n(q, 200, 60);
	take(r);
	snapshot(q, p, "overwrite-lapped");
	mapq_close(q);
	unlink(p);
	printf("gen-seeds: seeds in %s/open, %s/frames and %s/ops\n", out, out, out);
	return 0;
}

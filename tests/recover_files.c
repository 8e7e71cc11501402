/* SPDX-License-Identifier: MIT */
/* recover_files: recovery of damaged queue files. A good file (wrapped
 * ring, a durable reader part way through, aborted frames) is truncated,
 * bit-flipped, or has whole pages replaced by garbage. Opening it (which
 * recovers it, as nobody else has it open) must either fail with an error
 * code or succeed; after success every message a reader gets is intact
 * and in order per writer, recovering again changes nothing, and the
 * queue takes and delivers new messages. Nothing may crash.
 * These files are also seeds for the fuzzers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static uint8_t *image;
static size_t image_len;

static void save(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static void build(const char *path)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 16384;
	mapq *q;
	mapq_reader *d;
	char out[400], in[400];
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &d, "durable", MAPQ_START_OLDEST));
	for (uint64_t s = 0; s < 400; s++) {
		size_t len = 20 + (size_t)((s * 2654435761u) % 300);
		t_fill(out, len, 1, s);
		if (s % 7 == 3) {
			void *p;
			CHECK_OK(mapq_reserve(q, 50, &p, 0));
			CHECK_OK(mapq_abort(q));
		}
		CHECK_OK(mapq_send(q, out, len, 0));
		if (s < 360) /* leave a backlog of 40 for the durable reader */
			CHECK(mapq_recv(d, in, sizeof(in), 0) > 0);
	}
	mapq_close(q);
	int fd = open(path, O_RDONLY);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	image_len = (size_t)st.st_size;
	image = malloc(image_len);
	CHECK(image && read(fd, image, image_len) == (ssize_t)image_len);
	close(fd);
}

static unsigned long opened, refused, gaps;

/* Open a damaged file and check what it yields. */
static void judge(const char *path, const char *what)
{
	mapq *q;
	int rc = mapq_open(&q, path, 0, NULL);
	if (rc) {
		refused++;
		/* An error with a name: never a crash, never success by luck. */
		CHECK(strcmp(mapq_err_name(rc), "unknown") != 0);
		return;
	}
	opened++;
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep)); /* again: nothing left to do */
	if (rep.claims_aborted || rep.holes_filled || rep.bytes_discarded)
		t_fail(__FILE__, __LINE__, "%s: second recovery still repaired (%llu %llu %llu)",
		       what, (unsigned long long)rep.claims_aborted,
		       (unsigned long long)rep.holes_filled,
		       (unsigned long long)rep.bytes_discarded);
	mapq_reader *r[2];
	CHECK_OK(mapq_reader_open(q, &r[0], NULL, MAPQ_START_OLDEST));
	rc = mapq_reader_open(q, &r[1], "durable", MAPQ_START_RESUME);
	CHECK(rc == 0 || rc == -MAPQ_ENOSLOT);
	for (int k = 0; k < (rc == 0 ? 2 : 1); k++) {
		uint64_t next = 0;
		bool first = true;
		for (;;) {
			char in[400];
			uint32_t w;
			uint64_t s;
			ssize_t n = mapq_recv(r[k], in, sizeof(in), 0);
			if (n == -EAGAIN)
				break;
			if (n < 0)
				t_fail(__FILE__, __LINE__, "%s: read: %s", what,
				       mapq_strerror((int)n));
			if (t_check_payload(in, (size_t)n, &w, &s) || w != 1)
				t_fail(__FILE__, __LINE__, "%s: torn message delivered", what);
			/* A flipped state bit in a commit word (not covered by
			 * the CRC) can turn a message into an aborted frame, which
			 * is skipped: a gap, counted; never a step back. */
			if (!first && s < next)
				t_fail(__FILE__, __LINE__, "%s: seq %llu after %llu", what,
				       (unsigned long long)s, (unsigned long long)next - 1);
			if (!first && s > next)
				gaps++;
			first = false;
			next = s + 1;
		}
	}
	/* The queue works: a message goes in and comes out. */
	char out[100], in[100];
	uint32_t w;
	uint64_t s;
	t_fill(out, 60, 2, 7);
	CHECK_OK(mapq_send(q, out, 60, 0));
	CHECK_EQ(mapq_recv(r[0], in, sizeof(in), 0), 60);
	CHECK_OK(t_check_payload(in, 60, &w, &s));
	CHECK_EQ(w * 1000 + s, 2007);
	mapq_close(q);
}

int main(void)
{
	const char *good = t_path("good"), *bad = t_path("bad");
	build(good);
	uint8_t *buf = malloc(image_len);
	CHECK(buf);
	srandom(12345);

	/* The good file itself: recovery finds everything intact. */
	memcpy(buf, image, image_len);
	save(bad, buf, image_len);
	judge(bad, "intact");
	CHECK_EQ(opened, 1);

	/* Truncated anywhere: refused with a reason. */
	size_t cuts[] = { 0, 7, 100, 4095, 4096, 8192, image_len / 2, image_len - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		save(bad, image, cuts[i]);
		mapq *q;
		int rc = mapq_open(&q, bad, 0, NULL);
		CHECK(rc == -MAPQ_ETRUNCATED || rc == -MAPQ_EBADMAGIC);
	}

	/* Bit flips anywhere, superblock included. */
	for (int i = 0; i < 400; i++) {
		memcpy(buf, image, image_len);
		int flips = 1 + (int)(random() % 8);
		for (int f = 0; f < flips; f++) {
			size_t off = (size_t)random() % image_len;
			if (i % 10 == 0)
				off %= 4096; /* some in the superblock */
			buf[off] ^= (uint8_t)(1u << (random() % 8));
		}
		save(bad, buf, image_len);
		judge(bad, "bit flips");
	}

	/* Whole pages of garbage (a torn write of the page after a crash). */
	size_t pages = image_len / FMT_PAGE;
	for (int i = 0; i < 300; i++) {
		memcpy(buf, image, image_len);
		int n = 1 + (int)(random() % 3);
		for (int k = 0; k < n; k++) {
			size_t pg = 1 + (size_t)random() % (pages - 1);
			if (i < 60)
				pg = 1 + (size_t)i % 5; /* control, checkpoints, slots */
			for (size_t b = 0; b < FMT_PAGE; b++)
				buf[pg * FMT_PAGE + b] = (uint8_t)random();
		}
		save(bad, buf, image_len);
		judge(bad, "garbage pages");
	}

	/* Everything after the superblock is garbage. */
	for (int i = 0; i < 20; i++) {
		memcpy(buf, image, FMT_PAGE);
		for (size_t b = FMT_PAGE; b < image_len; b++)
			buf[b] = (uint8_t)random();
		save(bad, buf, image_len);
		judge(bad, "all garbage");
	}
	printf("damaged files: %lu opened and verified, %lu refused with an error; "
	       "%lu gaps (messages skipped as aborted after a flipped commit word)\n",
	       opened, refused, gaps);
	CHECK(refused > 0 && opened > 300);
	free(buf);
	free(image);
	return 0;
}

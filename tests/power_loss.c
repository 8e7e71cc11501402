/* SPDX-License-Identifier: MIT */
/* power_loss: simulated system crashes, as SQLite's crash VFS does them.
 * A writer sends messages and calls mapq_sync() now and then; we take an
 * image of the file at each sync and at moments after it. A crash image
 * takes every page that changed since the sync either new, old, or as
 * garbage (a torn write). Recovery of each image must yield every message
 * synced before the crash, intact and in order, then possibly some later
 * ones (intact and in order too, those of a torn page perhaps missing),
 * and nothing else; the queue then works.
 * One variant keeps a durable reader part way through the log. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define CAP (256 * 1024)

static uint8_t *snapshot(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	uint8_t *b = malloc((size_t)st.st_size);
	CHECK(b && pread(fd, b, (size_t)st.st_size, 0) == st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static unsigned long images, garbage_pages, extra_msgs, gaps;

/* Build one crash image from @old (synced) and @new, recover, check. */
static void crash(const uint8_t *old, const uint8_t *new, size_t len, uint64_t synced, bool durable,
		  const char *path)
{
	uint8_t *img = malloc(len);
	CHECK(img);
	for (size_t pg = 0; pg < len / FMT_PAGE; pg++) {
		const uint8_t *o = old + pg * FMT_PAGE, *n = new + pg *FMT_PAGE;
		uint8_t *d = img + pg * FMT_PAGE;
		long pick = memcmp(o, n, FMT_PAGE) ? random() % 3 : 0;
		if (pick == 2) {
			for (size_t b = 0; b < FMT_PAGE; b++)
				d[b] = (uint8_t)random();
			garbage_pages++;
		} else {
			memcpy(d, pick ? n : o, FMT_PAGE);
		}
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, img, len) == (ssize_t)len);
	close(fd);
	free(img);
	images++;

	mapq *q;
	CHECK_OK(mapq_open(&q, path, 0, NULL)); /* recovers: we are alone */
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	uint64_t next = 0;
	for (;;) {
		char in[600];
		uint32_t w;
		uint64_t s;
		ssize_t n = mapq_recv(r, in, sizeof(in), 0);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			t_fail(__FILE__, __LINE__, "read after crash: %s", mapq_strerror((int)n));
		if (t_check_payload(in, (size_t)n, &w, &s) || w != 1)
			t_fail(__FILE__, __LINE__, "torn message after crash");
		/* Past the synced ones, a torn page's messages may be missing
		 * and later ones still there (recovery skips damage before the
		 * tail the control page recorded): in order, never twice. */
		if (s < next || (s > next && next < synced))
			t_fail(__FILE__, __LINE__, "seq %llu, want %llu (synced %llu)",
			       (unsigned long long)s, (unsigned long long)next,
			       (unsigned long long)synced);
		if (s > next)
			gaps++;
		if (s >= synced)
			extra_msgs++;
		next = s + 1;
	}
	if (next < synced)
		t_fail(__FILE__, __LINE__, "only %llu of %llu synced messages survived",
		       (unsigned long long)next, (unsigned long long)synced);
	if (durable) {
		/* The durable reader resumes somewhere inside the log. */
		mapq_reader *d;
		CHECK_OK(mapq_reader_open(q, &d, "d", MAPQ_START_RESUME));
		char in[600];
		ssize_t n = mapq_recv(d, in, sizeof(in), 0);
		CHECK(n > 0 || n == -EAGAIN);
		mapq_reader_close(d);
	}
	/* And the queue works after recovery. */
	char out[100], in[100];
	t_fill(out, 50, 1, next);
	CHECK_OK(mapq_send(q, out, 50, 0));
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 50);
	mapq_close(q);
}

static void run(bool durable)
{
	const char *path = t_path(durable ? "pd" : "p"), *img = t_path("img");
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	mapq *q;
	mapq_reader *d = NULL;
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	if (durable)
		CHECK_OK(mapq_reader_open(q, &d, "d", MAPQ_START_OLDEST));
	size_t len = 0;
	uint8_t *synced_img = NULL;
	uint64_t synced = 0;
	char out[600], in[600];
	for (uint64_t s = 0; s < 800; s++) {
		size_t n = 20 + (size_t)((s * 2654435761u) % 280);
		t_fill(out, n, 1, s);
		CHECK_OK(mapq_send(q, out, n, 0));
		if (d && s % 3 == 0)
			CHECK(mapq_recv(d, in, sizeof(in), 0) > 0);
		if (s % 40 == 39) {
			CHECK_OK(mapq_sync(q));
			free(synced_img);
			synced_img = snapshot(path, &len);
			synced = s + 1;
		} else if (synced_img && s % 40 == 7 + (s / 40) % 25) {
			/* A moment after the sync: crash here, several ways. */
			size_t l2;
			uint8_t *later = snapshot(path, &l2);
			CHECK_EQ(l2, len);
			for (int k = 0; k < 12; k++)
				crash(synced_img, later, len, synced, durable, img);
			free(later);
		}
	}
	free(synced_img);
	mapq_close(q);
}

int main(void)
{
	srandom(4242);
	run(false);
	run(true);
	printf("%lu crash images (%lu garbage pages): every synced message recovered, "
	       "%lu later messages recovered intact (%lu torn runs of them skipped)\n",
	       images, garbage_pages, extra_msgs, gaps);
	CHECK(images >= 200 && garbage_pages > 100);
	return 0;
}

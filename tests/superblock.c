/* SPDX-License-Identifier: MIT */
/* superblock: damage to any byte of the superblock's page is noticed by
 * open. Each of the 4096 bytes in turn is changed in the file (every bit
 * of it flipped), the file is opened, and the error must be the one
 * doc/format.md gives for that byte: the magic (MAPQ_EBADMAGIC), the
 * version (MAPQ_EVERSION), a field the CRC covers or the CRC itself
 * (MAPQ_ESBCRC), the reserved word or the zero rest of the page, which
 * the CRC does not cover (MAPQ_EGEOMETRY). Put back, the file opens and
 * its messages are all there. */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static int expected(size_t off)
{
	if (off < 8)
		return -MAPQ_EBADMAGIC;
	if (off < offsetof(struct fmt_super, sb_size))
		return -MAPQ_EVERSION;
	if (off < offsetof(struct fmt_super, reserved0))
		return -MAPQ_ESBCRC;
	return -MAPQ_EGEOMETRY;
}

static void check_messages(const char *path, int n)
{
	mapq *q;
	mapq_reader *r;
	char buf[32];
	CHECK_OK(mapq_open(&q, path, 0, NULL));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (int i = 0; i < n; i++) {
		char want[32];
		int len = snprintf(want, sizeof(want), "message %d", i);
		CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), len);
		CHECK(memcmp(buf, want, (size_t)len) == 0);
	}
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 0), -EAGAIN);
	mapq_reader_close(r);
	mapq_close(q);
}

int main(void)
{
	const char *path = t_path("q");
	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	for (int i = 0; i < 5; i++) {
		char m[32];
		int len = snprintf(m, sizeof(m), "message %d", i);
		CHECK_OK(mapq_send(q, m, (size_t)len, 0));
	}
	mapq_close(q);
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	unsigned char page[FMT_PAGE];
	CHECK_EQ(pread(fd, page, sizeof(page), 0), sizeof(page));
	for (size_t off = 0; off < sizeof(page); off++) {
		unsigned char bad = (unsigned char)(page[off] ^ 0xff);
		CHECK_EQ(pwrite(fd, &bad, 1, (off_t)off), 1);
		int rc = mapq_open(&q, path, MAPQ_NORECOVER, NULL);
		if (rc == 0)
			mapq_close(q);
		if (rc != expected(off))
			t_fail(__FILE__, __LINE__,
			       "byte %zu of the superblock changed: open says %d (%s), want %s",
			       off, rc, mapq_err_name(rc), mapq_err_name(expected(off)));
		CHECK_EQ(pwrite(fd, &page[off], 1, (off_t)off), 1);
	}
	close(fd);
	check_messages(path, 5);
	return 0;
}

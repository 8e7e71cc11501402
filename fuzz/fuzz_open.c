/*
 * fuzz_open.c - fuzz target: an arbitrary queue file image is opened
 * (which recovers it: nobody else has it open), recovered again, read to
 * the end, and written to.
 *
 * The superblock's CRC is recomputed before the image is written, so the
 * fuzzer spends its time past the checksum; the checksum check itself is
 * covered by tests/open_errors. Invariants, checked with abort():
 * after exclusive recovery every frame in the log is valid (reads never
 * say MAPQ_ECORRUPT or MAPQ_EFRAMECRC), a second recovery finds nothing
 * to repair, and a message sent afterwards is read back intact.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

#define MAX_IMAGE (4u << 20)

static void bad(const char *what, int rc)
{
	fprintf(stderr, "fuzz_open: invariant broken: %s (%s)\n", what, mapq_err_name(rc));
	abort();
}

/* Read everything; returns the last result (-EAGAIN when drained). */
static ssize_t drain(mapq_reader *r, int limit)
{
	ssize_t n = -EAGAIN;
	uint8_t buf[256];
	for (int i = 0; i < limit; i++) {
		n = mapq_recv(r, buf, sizeof(buf), 0);
		if (n == -EMSGSIZE) { /* larger than our buffer: take it zero-copy */
			mapq_msg m;
			if (mapq_read(r, &m, 0) == 0)
				n = mapq_release(r);
		}
		if (n < 0 && n != -EMSGSIZE)
			break;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_IMAGE)
		return 0;
	uint8_t *img = malloc(size ? size : 1);
	if (!img)
		return 0;
	memcpy(img, data, size);
	if (size >= sizeof(struct fmt_super)) {
		struct fmt_super sb;
		memcpy(&sb, img, sizeof(sb));
		sb.crc = mapq__super_crc(&sb);
		memcpy(img, &sb, sizeof(sb));
	}
	const char *path = fz_path("img");
	if (fz_write_file(path, img, size) != 0)
		abort();
	free(img);

	mapq *q;
	if (mapq_open(&q, path, 0, NULL) != 0)
		return 0; /* refused with a reason: fine */
	mapq_recovery rep;
	int rc = mapq_recover(q, &rep);
	if (rc)
		bad("second recovery failed", rc);
	if (!rep.exclusive || rep.claims_aborted || rep.holes_filled || rep.bytes_discarded)
		bad("second recovery still found work", 0);
	mapq_reader *r;
	if (mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST) == 0) {
		ssize_t n = drain(r, 100000);
		if (n != -EAGAIN)
			bad("reading the recovered log", (int)n);
		/* A durable reader from the image, if there is one, resumes. */
		mapq_reader *d;
		if (mapq_reader_open(q, &d, "r0", MAPQ_START_RESUME) == 0) {
			(void)drain(d, 100000);
			mapq_reader_close(d);
		}
		rc = mapq_send(q, "fuzz!", 5, 0);
		if (rc == 0) {
			uint8_t buf[16];
			n = mapq_recv(r, buf, sizeof(buf), 0);
			if (n != 5 || memcmp(buf, "fuzz!", 5) != 0)
				bad("a message sent after recovery did not come back", (int)n);
		}
		mapq_reader_close(r);
	}
	mapq_close(q);
	return 0;
}

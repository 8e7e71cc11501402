/* SPDX-License-Identifier: MIT */
/*
 * fuzz_open.c - fuzz target: an arbitrary queue file image is opened
 * read-only as `mapq info` and `mapq dump` do (every slot and every frame
 * through the inspection API), then opened for real (which recovers it:
 * nobody else has it open), recovered again, walked again, read to the
 * end, and written to.
 *
 * The superblock's CRC is recomputed before the image is written, so the
 * fuzzer spends its time past the checksum; the checksum check itself is
 * covered by tests/open_errors. Invariants, checked with abort():
 * after exclusive recovery every frame in the log is valid (reads never
 * say MAPQ_ECORRUPT or MAPQ_EFRAMECRC, and mapq_frame() finds only
 * committed frames with good CRCs, aborted frames and padding between
 * head and tail, each ending where the next begins), a second recovery finds nothing
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

/*
 * Walk from head to tail with the inspection API, as `mapq dump` and
 * `mapq verify` do: stepping over anything that is not a frame 16 bytes
 * at a time. @recovered: the log was just recovered, so every step must
 * land on a finished, valid frame.
 */
static void walk(const mapq *q, bool recovered)
{
	mapq_geometry g;
	mapq_counters st;
	mapq_slot_info s;
	if (mapq_info(q, &g) || mapq_stats(q, &st))
		bad("info or stats failed on an open queue", 0);
	for (uint32_t i = 0; i < g.writer_slots; i++)
		if (mapq_writer_slot(q, i, &s) || s.state > MAPQ_SLOT_INVALID)
			bad("writer slot view", 0);
	for (uint32_t i = 0; i < g.reader_slots; i++)
		if (mapq_reader_slot(q, i, &s) || s.state > MAPQ_SLOT_INVALID ||
		    strlen(s.name) > MAPQ_NAME_MAX)
			bad("reader slot view", 0);
	if (st.tail < st.head || st.tail - st.head > g.capacity || st.head % 16) {
		if (recovered)
			bad("head and tail impossible after recovery", 0);
		return;
	}
	uint64_t pos = st.head;
	for (int steps = 0; pos < st.tail && steps < 4096; steps++) {
		mapq_frame_info f;
		if (mapq_frame(q, pos, &f) != 0)
			bad("mapq_frame refused an aligned position", 0);
		switch (f.kind) {
		case MAPQ_FRAME_COMMITTED:
			if (f.len > g.max_msg || f.crc_ok < 0 || (recovered && f.crc_ok != 1))
				bad("committed frame after recovery", 0);
			/* fallthrough */
		case MAPQ_FRAME_ABORTED:
		case MAPQ_FRAME_PADDING:
		case MAPQ_FRAME_CLAIMED:
			if (f.size < 16 || f.size % 16 || f.next != pos + f.size)
				bad("frame size", 0);
			if (recovered && (f.kind == MAPQ_FRAME_CLAIMED || f.next > st.tail))
				bad("unfinished frame or frame past tail after recovery", 0);
			pos = f.next;
			break;
		default:
			if (recovered)
				bad("no valid frame where recovery left one", 0);
			pos += 16;
			break;
		}
	}
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
	int rc;
	if (mapq_open(&q, path, MAPQ_RDONLY, NULL) != 0)
		return 0; /* refused with a reason: fine */
	walk(q, false);
	mapq_close(q);
	rc = mapq_open(&q, path, 0, NULL);
	if (rc == -MAPQ_EBADMAGIC || rc == -MAPQ_EVERSION || rc == -MAPQ_ESBCRC ||
	    rc == -MAPQ_EGEOMETRY || rc == -MAPQ_ETRUNCATED)
		bad("the superblock passed read-only but not for writing", rc);
	if (rc)
		return 0; /* recovery could not finish, and said why */
	walk(q, true);
	mapq_recovery rep;
	rc = mapq_recover(q, &rep);
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

/* SPDX-License-Identifier: MIT */
/* frame_crc: bytes damaged in the file after commit are never delivered:
 * a bad payload is -MAPQ_EFRAMECRC (counted, skipped), a bad header is
 * -MAPQ_ECORRUPT, and neither crashes the reader. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"
#include "util.h"

int main(void)
{
	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK);
	mapq_reader *r;
	char in[64];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));

	/* Frames at 0, 48, 96: 5-byte payloads, 48-byte frames. */
	CHECK_OK(mapq_send(q, "one..", 5, 0));
	CHECK_OK(mapq_send(q, "two..", 5, 0));
	CHECK_OK(mapq_send(q, "three", 5, 0));
	q->ring[48 + FRAME_HDR + 2] ^= 0x01; /* payload byte of "two" */
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 5);
	CHECK(memcmp(in, "one..", 5) == 0);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -MAPQ_EFRAMECRC);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 5);
	CHECK(memcmp(in, "three", 5) == 0);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.crc_failures, 1);

	/* Header fields: each damage below is refused, one at a time. */
	struct {
		const char *what;
		size_t off;
		uint8_t flip;
		int want;
	} cases[] = {
		{ "length beyond the frame", 16, 0x40, -MAPQ_ECORRUPT },
		/* A frame whose pos is not its position is not a frame there
		 * (format.h): the reader waits rather than trusting it. */
		{ "position field", 8, 0x08, -EAGAIN },
		{ "writer field", 24, 0x01, -MAPQ_EFRAMECRC },
		{ "frame size in commit word", 1, 0x10, -MAPQ_ECORRUPT },
		{ "commit word: padding bit mid-ring", 4, 0x04, -MAPQ_ECORRUPT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mapq_counters s0;
		CHECK_OK(mapq_stats(q, &s0));
		CHECK_OK(mapq_send(q, "victim", 6, 0));
		uint8_t *f = q->ring + (s0.tail & q->mask);
		f[cases[i].off] ^= cases[i].flip;
		int rc = (int)mapq_recv(r, in, sizeof(in), 0);
		if (rc != cases[i].want)
			t_fail(__FILE__, __LINE__, "%s: got %s, want %s", cases[i].what,
			       mapq_err_name(rc), mapq_err_name(cases[i].want));
		f[cases[i].off] ^= cases[i].flip; /* mend, so the reader can go on */
		if (cases[i].want != -MAPQ_EFRAMECRC)
			CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 6);
	}
	mapq_close(q);
	return 0;
}

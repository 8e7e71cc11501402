/* SPDX-License-Identifier: MIT */
/* msg_sizes: payloads of 0, 1 and the maximum bytes; one over is refused;
 * a buffer too small leaves the message unread. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static void roundtrip(mapq *q, mapq_reader *r, size_t len)
{
	static uint8_t out[1 << 17], in[1 << 17];
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 13 + len);
	CHECK_OK(mapq_send(q, out, len, 0));
	ssize_t n = mapq_recv(r, in, sizeof(in), 0);
	CHECK_EQ(n, len);
	CHECK(memcmp(in, out, len) == 0);
}

/* Every size is still there after an exclusive recovery, which checks
 * each frame: those whose payload fills the frame exactly (a multiple of
 * 16 bytes) as much as those with padding after it, and the largest. */
static void recovered_sizes(void)
{
	enum {
		SIZES = 100
	};
	static uint8_t out[1 << 15], in[1 << 15];
	mapq *q = t_create("sizes", 1 << 16, MAPQ_BLOCK);
	mapq_geometry g;
	CHECK_OK(mapq_info(q, &g));
	CHECK(g.max_msg <= sizeof(out));
	for (size_t len = 0; len < SIZES; len++) {
		memset(out, (int)len, len);
		CHECK_OK(mapq_send(q, out, len, 0));
	}
	memset(out, 0xee, g.max_msg);
	CHECK_OK(mapq_send(q, out, g.max_msg, 0));
	mapq_close(q);
	CHECK_OK(mapq_open(&q, t_path("sizes"), 0, NULL)); /* alone: recovers */
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 1);
	CHECK_EQ(rep.messages, SIZES + 1);
	CHECK_EQ(rep.bytes_discarded, 0);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (size_t len = 0; len < SIZES; len++) {
		memset(out, (int)len, len);
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), len);
		CHECK(memcmp(in, out, len) == 0);
	}
	memset(out, 0xee, g.max_msg);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), g.max_msg);
	CHECK(memcmp(in, out, g.max_msg) == 0);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	mapq_close(q);
}

int main(void)
{
	static uint8_t big[1 << 17];
	mapq *q = t_create("q", 1 << 20, MAPQ_BLOCK);
	mapq_reader *r;
	mapq_geometry g;

	CHECK_OK(mapq_info(q, &g));
	CHECK_EQ(g.max_msg, 65536);
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	roundtrip(q, r, 0);
	roundtrip(q, r, 1);
	roundtrip(q, r, 7);
	roundtrip(q, r, g.max_msg);
	for (int i = 0; i < 40; i++) /* many max-size frames wrap the ring */
		roundtrip(q, r, g.max_msg - (size_t)i);
	CHECK_RC(mapq_send(q, big, g.max_msg + 1, 0), -EMSGSIZE);
	void *p;
	CHECK_RC(mapq_reserve(q, g.max_msg + 1, &p, 0), -EMSGSIZE);
	CHECK_RC(mapq_send(q, NULL, 5, 0), -EINVAL);
	CHECK_OK(mapq_send(q, NULL, 0, 0));
	CHECK_EQ(mapq_recv(r, NULL, 0, 0), 0);

	/* Too small a buffer: -EMSGSIZE, and the message is still there. */
	CHECK_OK(mapq_send(q, "0123456789", 10, 0));
	char small[4], ok[16];
	CHECK_RC(mapq_recv(r, small, sizeof(small), 0), -EMSGSIZE);
	CHECK_EQ(mapq_recv(r, ok, sizeof(ok), 0), 10);
	CHECK(memcmp(ok, "0123456789", 10) == 0);
	mapq_close(q);

	/* The smallest ring: max_msg is what half the ring holds. */
	q = t_create("small", 4096, MAPQ_BLOCK);
	CHECK_OK(mapq_info(q, &g));
	CHECK_EQ(g.max_msg, 2048 - 32);
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (int i = 0; i < 20; i++)
		roundtrip(q, r, g.max_msg - (size_t)(i * 8 % 64));
	CHECK_RC(mapq_send(q, big, g.max_msg + 1, 0), -EMSGSIZE);
	mapq_close(q);
	recovered_sizes();
	return 0;
}

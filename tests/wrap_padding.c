/* SPDX-License-Identifier: MIT */
/* wrap_padding: for every possible padding size (16 bytes, just the
 * commit word and pos, up to the largest), a frame that does not fit
 * before the ring's end is preceded by exactly that padding, skipped by
 * the reader, and arrives intact and in order. Then many frames in flight
 * wrap the ring hundreds of times. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"
#include "util.h"

#define CAP 4096u

static mapq *q;
static mapq_reader *r;
static uint64_t seq;

static uint64_t tail(void)
{
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	return st.tail;
}

static void send_recv(size_t len)
{
	uint8_t out[2048] = { 0 }, in[2048];
	uint32_t w;
	uint64_t s;
	t_fill(out, len, 1, seq); /* payloads under 20 bytes stay zero */
	CHECK_OK(mapq_send(q, out, len, 0));
	ssize_t n = mapq_recv(r, in, sizeof(in), 0);
	CHECK_EQ(n, len);
	CHECK(memcmp(in, out, len) == 0);
	if (len >= 20) {
		CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
		CHECK_EQ(s, seq);
	}
	seq++;
}

/* Send (and read back) filler frames until the ring offset is @target. */
static void seek(uint64_t target)
{
	for (uint64_t off; (off = tail() & (CAP - 1)) != target;) {
		uint64_t d = (target - off) & (CAP - 1), size = d > 1024 ? 1024 : d;
		if (d - size == 16)
			size -= 32; /* never leave a gap smaller than a frame */
		if (d == 16)
			size = 48; /* cannot step 16: go round the ring instead */
		send_recv(size - FRAME_HDR);
	}
}

int main(void)
{
	q = t_create("q", CAP, MAPQ_BLOCK);
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));

	for (uint64_t pad = FRAME_ALIGN; pad <= 1024; pad += FRAME_ALIGN) {
		seek(CAP - pad);
		uint64_t t0 = tail(), fsize = pad + FRAME_ALIGN;
		if (fsize < FRAME_HDR)
			fsize = FRAME_HDR;
		send_recv(fsize - FRAME_HDR);
		/* The reservation was padding then the frame at the ring's start. */
		if (tail() != t0 + pad + fsize)
			t_fail(__FILE__, __LINE__, "pad %llu: tail moved by %llu, want %llu",
			       (unsigned long long)pad, (unsigned long long)(tail() - t0),
			       (unsigned long long)(pad + fsize));
		CHECK_EQ(tail() & (CAP - 1), fsize);
	}

	/* Fill-then-drain: several messages in flight across the wrap. */
	uint8_t out[2048], in[2048];
	for (int round = 0; round < 300; round++) {
		size_t lens[6];
		for (int k = 0; k < 6; k++) {
			lens[k] = 20 + (size_t)((round * 37 + k * 101) % 500);
			t_fill(out, lens[k], 2, seq + (uint64_t)k);
			CHECK_OK(mapq_send(q, out, lens[k], 0));
		}
		for (int k = 0; k < 6; k++) {
			ssize_t n = mapq_recv(r, in, sizeof(in), 0);
			uint32_t w;
			uint64_t s;
			CHECK_EQ(n, lens[k]);
			CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
			CHECK_EQ(s, seq + (uint64_t)k);
		}
		seq += 6;
	}
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, seq); /* padding frames are not messages */
	CHECK(st.tail > 100 * CAP);
	mapq_close(q);
	return 0;
}

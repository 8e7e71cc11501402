/* SPDX-License-Identifier: MIT */
/*
 * stamp.c - the harness's own message format and checksum, independent
 * of the library's CRC32C: a checker that trusted the library's checks
 * could not catch the library's bugs.
 */
#include "config.h"

#include <string.h>

#include "torture.h"

static uint32_t fnv1a(const uint8_t *p, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t sum_of(const uint8_t *p, size_t len)
{
	/* FNV-1a over the payload with the sum field taken as zero. */
	size_t at = offsetof(struct tt_stamp, sum);
	uint32_t zero = 0, h = fnv1a(p, at, 2166136261u);
	h = fnv1a((const uint8_t *)&zero, sizeof(zero), h);
	return fnv1a(p + at + sizeof(zero), len - at - sizeof(zero), h);
}

void tt_fill(void *buf, uint32_t len, uint16_t writer, uint16_t inc, uint64_t seq)
{
	uint8_t *p = buf;
	struct tt_stamp s = { TT_MAGIC, writer, inc, seq, len, 0 };
	memcpy(p, &s, sizeof(s));
	/* The body: xorshift from (writer, inc, seq), so each message differs. */
	uint64_t x = seq * 0x9E3779B97F4A7C15ull ^ ((uint64_t)writer << 48) ^
		     ((uint64_t)inc << 32) ^ 1;
	for (uint32_t i = sizeof(s); i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
	s.sum = sum_of(p, len);
	memcpy(p + offsetof(struct tt_stamp, sum), &s.sum, sizeof(s.sum));
}

int tt_check(const void *buf, size_t len, struct tt_stamp *out)
{
	if (len < sizeof(*out))
		return -1;
	memcpy(out, buf, sizeof(*out));
	if (out->magic != TT_MAGIC || out->len != len)
		return -1;
	return sum_of(buf, len) == out->sum ? 0 : -1;
}

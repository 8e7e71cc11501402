/* SPDX-License-Identifier: MIT */
/* crc32c: every CRC path against RFC 3720 B.4 vectors, and against each
 * other on every length and alignment up to 256 bytes, on every length
 * from 256 to 1400 (where the vector folding takes over, and hands its
 * last 0..63 bytes on), and on long buffers around the lengths where the
 * crc32-instruction path changes from three interleaved runs (of 1024,
 * then 64 bytes) to one; each at every vector width the CPU has (512-
 * and 256-bit folding, and none). */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "util.h"

struct vec {
	const char *name;
	uint8_t data[48];
	size_t len;
	uint32_t crc;
};

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_vectors(const char *path, crc_fn fn)
{
	static struct vec v[5];
	memset(v, 0, sizeof(v));
	v[0] = (struct vec){ "32 zero bytes", { 0 }, 32, 0x8a9136aa };
	v[1].name = "32 0xff bytes", v[1].len = 32, v[1].crc = 0x62a8ab43;
	memset(v[1].data, 0xff, 32);
	v[2].name = "0..31", v[2].len = 32, v[2].crc = 0x46dd794e;
	v[3].name = "31..0", v[3].len = 32, v[3].crc = 0x113fdb5c;
	for (int i = 0; i < 32; i++) {
		v[2].data[i] = (uint8_t)i;
		v[3].data[i] = (uint8_t)(31 - i);
	}
	/* An iSCSI SCSI Read (10) command PDU. */
	static const uint8_t pdu[48] = { 0x01, 0xc0, 0, 0,    0,    0, 0, 0,    0,    0, 0,    0,
					 0,    0,    0, 0,    0x14, 0, 0, 0,    0,    0, 0x04, 0,
					 0,    0,    0, 0x14, 0,    0, 0, 0x18, 0x28, 0, 0,    0,
					 0,    0,    0, 0,    0x02, 0, 0, 0,    0,    0, 0,    0 };
	v[4].name = "iSCSI read PDU", v[4].len = 48, v[4].crc = 0xd9963a56;
	memcpy(v[4].data, pdu, 48);
	for (int i = 0; i < 5; i++) {
		uint32_t got = fn(0, v[i].data, v[i].len);
		if (got != v[i].crc)
			t_fail(__FILE__, __LINE__, "%s path, %s: got %08x want %08x", path,
			       v[i].name, got, v[i].crc);
	}
	CHECK_EQ(fn(0, "123456789", 9), 0xe3069283);
	/* Chaining: crc(a||b) == crc(crc(a), b). */
	CHECK_EQ(fn(fn(0, "1234", 4), "56789", 5), 0xe3069283);
	CHECK_EQ(fn(0, "", 0), 0);
}

static uint8_t big[70000];

static void fill_big(void)
{
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < sizeof(big); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: no pattern to hide behind */
		big[i] = (uint8_t)x;
	}
}

/* mapq__crc32c_copy() of @len bytes of big (from @so) to @buf (of @size
 * bytes, from @d): the CRC of the bytes, which arrive, and nothing
 * around them is written. */
static bool copy_ok(uint8_t *buf, size_t size, size_t d, size_t so, size_t len)
{
	memset(buf, 0xa5, size);
	uint32_t got = mapq__crc32c_copy(0x5a5a, buf + d, big + so, len);
	return got == mapq__crc32c_sw(0x5a5a, big + so, len) && !memcmp(buf + d, big + so, len) &&
	       (!d || buf[d - 1] == 0xa5) && buf[d + len] == 0xa5;
}

/* The calls the library makes, each choosing the table or the crc32
 * instruction by what the CPU has: on every CPU they must give the table's
 * CRC (tests/no_sse42.sh runs this on one without SSE4.2). */
static void check_dispatch(void)
{
	/* a frame's CRC in one call equals header then payload (the format) */
	for (size_t len = 0; len < 5000; len += 97) {
		uint64_t a = 0x0123456789abcdefull + len, b = 0xfedcba9876543210ull ^ len;
		uint8_t h[16];
		memcpy(h, &a, 8);
		memcpy(h + 8, &b, 8);
		CHECK_EQ(mapq__crc32c_hdr(a, b, big, len),
			 mapq__crc32c_sw(mapq__crc32c_sw(0, h, 16), big, len));
	}
	/* copying while computing: the same CRC, and the bytes arrive */
	static uint8_t dst[5000 + 64];
	for (size_t len = 0; len < 5000; len += len < 300 ? 1 : 61) {
		size_t so = len % 7, d = len % 64;
		if (!copy_ok(dst, sizeof(dst), d, so, len))
			t_fail(__FILE__, __LINE__, "copy path wrong at len %zu", len);
		uint64_t a = 0x1111222233334444ull ^ len, b = len;
		uint8_t h[16];
		memcpy(h, &a, 8);
		memcpy(h + 8, &b, 8);
		memset(dst, 0xa5, sizeof(dst));
		uint32_t got = mapq__crc32c_hdr_copy(a, b, dst + d, big + so, len);
		if (got != mapq__crc32c_sw(mapq__crc32c_sw(0, h, 16), big + so, len) ||
		    memcmp(dst + d, big + so, len) || (d && dst[d - 1] != 0xa5) ||
		    dst[d + len] != 0xa5)
			t_fail(__FILE__, __LINE__, "header copy path wrong at len %zu", len);
	}
	/* an empty payload, as mapq_send() passes it: no source at all */
	memset(dst, 0xa5, sizeof(dst));
	uint64_t a = 0x0123456789abcdefull, b = 0;
	uint8_t h[16];
	memcpy(h, &a, 8);
	memcpy(h + 8, &b, 8);
	CHECK_EQ(mapq__crc32c_hdr_copy(a, b, dst, NULL, 0), mapq__crc32c_sw(0, h, 16));
	CHECK_EQ(dst[0], 0xa5);
	/* long copies, which stream in chunks where the CPU moves strings
	 * fast: around a chunk's length and its multiples */
	static uint8_t far[sizeof(big) + 64];
	static const size_t longs[] = { 8191, 16383, 16384, 16385, 32768, 40000, 65568, 69990 };
	for (size_t e = 0; e < sizeof(longs) / sizeof(longs[0]); e++) {
		if (!copy_ok(far, sizeof(far), (e * 29) % 64, e % 7, longs[e]))
			t_fail(__FILE__, __LINE__, "long copy wrong at len %zu", longs[e]);
	}
}

/* Every path against the table, at the vector width now in force. */
static void check_paths(unsigned width)
{
	char name[32];
	snprintf(name, sizeof(name), "best (vector width %u)", width);
	check_vectors(name, mapq__crc32c_hw);
	check_dispatch();
	uint8_t buf[256 + 8];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t align = 0; align < 8; align++)
		for (size_t len = 0; len <= 256; len++)
			if (mapq__crc32c_sw(0x1234, buf + align, len) !=
				    mapq__crc32c_sse(0x1234, buf + align, len) ||
			    mapq__crc32c_sw(0x1234, buf + align, len) !=
				    mapq__crc32c_hw(0x1234, buf + align, len))
				t_fail(__FILE__, __LINE__,
				       "width %u: paths differ at align %zu len %zu", width, align,
				       len);
	for (size_t len = 256; len <= 1400; len++) {
		size_t align = len % 61;
		uint32_t want = mapq__crc32c_sw(~(uint32_t)len, big + align, len);
		if (mapq__crc32c_hw(~(uint32_t)len, big + align, len) != want ||
		    mapq__crc32c_sse(~(uint32_t)len, big + align, len) != want)
			t_fail(__FILE__, __LINE__, "width %u: paths differ at align %zu len %zu",
			       width, align, len);
	}
	static const size_t edges[] = { 191,  192,  193,  200,  3071, 3072,  3073,  3072 + 192,
					4096, 4128, 6144, 6145, 9216, 65536, 65568, 69999 };
	for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++)
		for (size_t align = 0; align < 8; align += 3) {
			size_t len = edges[e] - (align && edges[e] == 69999 ? 8 : 0);
			uint32_t want = mapq__crc32c_sw(7, big + align, len);
			if (mapq__crc32c_hw(7, big + align, len) != want ||
			    mapq__crc32c_sse(7, big + align, len) != want)
				t_fail(__FILE__, __LINE__,
				       "width %u: paths differ at align %zu len %zu", width, align,
				       len);
		}
	/* a flipped bit in any run must change the CRC */
	uint32_t whole = mapq__crc32c_hw(0, big, 4096);
	for (size_t i = 0; i < 4096; i += 509) {
		big[i] ^= 0x10;
		CHECK(mapq__crc32c_hw(0, big, 4096) != whole);
		big[i] ^= 0x10;
	}
}

int main(void)
{
	check_vectors("table", mapq__crc32c_sw);
	check_vectors("dispatch", mapq__crc32c);
	fill_big();
	check_dispatch();
	/* a long copy streams where the CPU moves strings fast: the other
	 * way too, then */
	if (mapq__crc32c_stream_min == SIZE_MAX) {
		fprintf(stderr,
			"no fast string moves: streamed copy not checked on this machine\n");
	} else {
		mapq__crc32c_stream_off();
		check_dispatch();
	}
	if (!mapq__crc32c_hw_available()) {
		fprintf(stderr, "no SSE4.2: hardware path not checked on this machine\n");
		return 0;
	}
	check_vectors("sse4.2", mapq__crc32c_sse);
	unsigned have = mapq__crc32c_vx_width();
	if (have < 512)
		fprintf(stderr, "no AVX-512 VPCLMULQDQ: 512-bit vector path not checked on this "
				"machine\n");
	if (have < 256)
		fprintf(stderr, "no AVX2 VPCLMULQDQ: 256-bit vector path not checked on this "
				"machine\n");
	/* widest first: the library's width can only be lowered */
	static const unsigned widths[] = { 512, 256, 0 };
	for (size_t i = 0; i < 3; i++) {
		if (widths[i] > have)
			continue;
		mapq__crc32c_vx_limit(widths[i]);
		CHECK_EQ(mapq__crc32c_vx_width(), widths[i]);
		check_paths(widths[i]);
	}
	return 0;
}

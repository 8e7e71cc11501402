/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Two paths with one contract: a slicing-by-8 table walk that runs
 * anywhere, and the SSE4.2 crc32 instruction, picked at run time. The
 * instruction takes 3 cycles but can start one every cycle, so long
 * buffers are cut into three runs whose CRCs are computed interleaved and
 * then joined: the CRC register is linear, so the register after A||B is
 * the register after A "shifted" over |B| zero bytes, xor the register
 * B gives from zero. Shifting over a fixed length is a 32x32 bit matrix,
 * applied here as four 256-entry tables (built once). The
 * tests check both against RFC 3720's vectors and against each other.
 * crc arguments and results are the finished value (pre/post inverted
 * here), so mapq__crc32c(mapq__crc32c(0, a), b) == crc of a||b.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "internal.h"

#define POLY 0x82f63b78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		table[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 1; k < 8; k++)
			table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
}

uint32_t mapq__crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	pthread_once(&table_once, table_init);
	while (len && ((uintptr_t)p & 7)) {
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8); /* little-endian only: format.h enforces it */
		w ^= c;
		c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
		    table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
		    table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
	return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The lengths of the three interleaved runs: LONG for large messages,
 * SHORT for what is left (and for messages of a few hundred bytes). */
#define LONG ((size_t)1024)
#define SHORT ((size_t)64)
static uint32_t shift_long[4][256], shift_short[4][256];

/* The register after @n zero bytes are fed to register @c. */
static uint32_t feed_zeros(uint32_t c, size_t n)
{
	while (n--)
		c = (c >> 8) ^ table[0][c & 0xff];
	return c;
}

static void shift_build(uint32_t t[4][256], size_t n)
{
	uint32_t col[32]; /* where each single register bit goes */
	for (int b = 0; b < 32; b++)
		col[b] = feed_zeros(1u << b, n);
	for (int k = 0; k < 4; k++)
		for (uint32_t v = 0; v < 256; v++) {
			uint32_t r = 0;
			for (int b = 0; b < 8; b++)
				if (v & (1u << b))
					r ^= col[8 * k + b];
			t[k][v] = r;
		}
}

/* The shift tables are built when the library is loaded, before the
 * program can have started a thread: no thread ever sees them half built,
 * and race checkers (DRD, Helgrind, TSan) see plain happens-before instead
 * of a once-flag on the hot path. About 35,000 table steps. */
__attribute__((constructor)) static void shift_init(void)
{
	pthread_once(&table_once, table_init);
	shift_build(shift_long, LONG);
	shift_build(shift_short, SHORT);
}

static inline uint32_t shift(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

/* Three runs of @run bytes at once from register @c; returns the
 * register after all 3 * @run bytes. */
__attribute__((target("sse4.2"))) static inline uint64_t
crc3(uint64_t c, const uint8_t *p, size_t run, const uint32_t t[4][256])
{
	uint64_t c1 = 0, c2 = 0;
	for (size_t i = 0; i < run; i += 8) {
		uint64_t a, b, d;
		memcpy(&a, p + i, 8);
		memcpy(&b, p + run + i, 8);
		memcpy(&d, p + 2 * run + i, 8);
		c = __builtin_ia32_crc32di(c, a);
		c1 = __builtin_ia32_crc32di(c1, b);
		c2 = __builtin_ia32_crc32di(c2, d);
	}
	c = shift(t, (uint32_t)c) ^ (uint32_t)c1;
	return shift(t, (uint32_t)c) ^ (uint32_t)c2;
}

/* The raw register @c after @len bytes at @buf. */
__attribute__((target("sse4.2"))) static inline uint64_t hw_run(uint64_t c, const uint8_t *p,
								  size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	for (; len >= 3 * LONG; p += 3 * LONG, len -= 3 * LONG)
		c = crc3(c, p, LONG, shift_long);
	for (; len >= 3 * SHORT; p += 3 * SHORT, len -= 3 * SHORT)
		c = crc3(c, p, SHORT, shift_short);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return c;
}

__attribute__((target("sse4.2"))) uint32_t mapq__crc32c_hw(uint32_t crc, const void *buf,
							     size_t len)
{
	return ~(uint32_t)hw_run((uint32_t)~crc, buf, len);
}

/* A frame's CRC in one pass: the 16 header bytes are two words. */
__attribute__((target("sse4.2"))) static uint32_t hw_hdr(uint64_t a, uint64_t b,
							   const void *buf, size_t len)
{
	uint64_t c = __builtin_ia32_crc32di(0xffffffffu, a);
	c = __builtin_ia32_crc32di(c, b);
	return ~(uint32_t)hw_run(c, buf, len);
}

bool mapq__crc32c_hw_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}
#else
uint32_t mapq__crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return mapq__crc32c_sw(crc, buf, len);
}

static uint32_t hw_hdr(uint64_t a, uint64_t b, const void *buf, size_t len)
{
	uint8_t h[16];
	memcpy(h, &a, 8);
	memcpy(h + 8, &b, 8);
	return mapq__crc32c_sw(mapq__crc32c_sw(0, h, 16), buf, len);
}

bool mapq__crc32c_hw_available(void)
{
	return false;
}
#endif

/* 0: not yet probed, 1: table, 2: hardware. Every thread computes the same
 * answer, so a relaxed race on this cache is harmless. */
static _Atomic int crc_impl;

static inline int impl(void)
{
	int i = atomic_load_explicit(&crc_impl, memory_order_relaxed);

	if (i == 0) {
		i = mapq__crc32c_hw_available() ? 2 : 1;
		atomic_store_explicit(&crc_impl, i, memory_order_relaxed);
	}
	return i;
}

uint32_t mapq__crc32c(uint32_t crc, const void *buf, size_t len)
{
	return impl() == 2 ? mapq__crc32c_hw(crc, buf, len) : mapq__crc32c_sw(crc, buf, len);
}

uint32_t mapq__crc32c_hdr(uint64_t a, uint64_t b, const void *buf, size_t len)
{
	if (impl() == 2)
		return hw_hdr(a, b, buf, len);
	uint8_t h[16];
	memcpy(h, &a, 8);
	memcpy(h + 8, &b, 8);
	return mapq__crc32c_sw(mapq__crc32c_sw(0, h, 16), buf, len);
}

/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Two paths with one contract: a slicing-by-8 table walk that runs
 * anywhere, and the SSE4.2 crc32 instruction, picked at run time. The
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
__attribute__((target("sse4.2"))) uint32_t mapq__crc32c_hw(uint32_t crc, const void *buf,
							     size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = (uint32_t)~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
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

bool mapq__crc32c_hw_available(void)
{
	return false;
}
#endif

/* 0: not yet probed, 1: table, 2: hardware. Every thread computes the same
 * answer, so a relaxed race on this cache is harmless. */
static _Atomic int crc_impl;

uint32_t mapq__crc32c(uint32_t crc, const void *buf, size_t len)
{
	int impl = atomic_load_explicit(&crc_impl, memory_order_relaxed);

	if (impl == 0) {
		impl = mapq__crc32c_hw_available() ? 2 : 1;
		atomic_store_explicit(&crc_impl, impl, memory_order_relaxed);
	}
	return impl == 2 ? mapq__crc32c_hw(crc, buf, len) : mapq__crc32c_sw(crc, buf, len);
}

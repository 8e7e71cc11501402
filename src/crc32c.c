/* SPDX-License-Identifier: MIT */
/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Three paths with one contract, picked at run time:
 *
 * - a slicing-by-8 table walk that runs anywhere;
 * - the SSE4.2 crc32 instruction. It takes 3 cycles but can start one
 *   every cycle, so long buffers are cut into three runs whose CRCs are
 *   computed interleaved and then joined: the CRC register is linear, so
 *   the register after A||B is the register after A "shifted" over |B|
 *   zero bytes, xor the register B gives from zero. Shifting over a fixed
 *   length is a 32x32 bit matrix, applied here as four 256-entry tables;
 * - for the bulk of long buffers, carry-less multiplication on vectors
 *   (VPCLMULQDQ), 512-bit where the CPU has AVX-512 and else 256-bit
 *   where it has AVX2: 256 or 128 bytes per step are "folded" forward
 *   onto the next as many, which keeps the remainder modulo the
 *   polynomial, reads a whole vector a step, and lets a payload be
 *   copied and its CRC computed in one pass. The folded 16 bytes then go
 *   through the crc32 instruction like any other data.
 *
 * The constants of both joins are derived from the polynomial when the
 * library loads, not typed in. The tests check every path against RFC
 * 3720's vectors and against each other. crc arguments and results are
 * the finished value (pre/post inverted here), so
 * mapq__crc32c(mapq__crc32c(0, a), b) == crc of a||b.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "internal.h"

#define POLY 0x82f63b78u

/* Built by shift_init() below, when the library loads. */
static uint32_t table[8][256];

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
#include <cpuid.h>
#include <immintrin.h>

#if defined(__SANITIZE_THREAD__)
#define MAPQ__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MAPQ__TSAN 1
#endif
#endif
#ifdef MAPQ__TSAN
void __tsan_read_range(const void *addr, unsigned long size);
void __tsan_write_range(void *addr, unsigned long size);
#endif

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

/* x^n modulo the polynomial, reflected (bit 31 is x^0). */
static uint32_t xpow(unsigned n)
{
	uint32_t r = 0x80000000u;
	while (n--)
		r = (r & 1) ? (r >> 1) ^ POLY : r >> 1;
	return r;
}

/*
 * Folding constants. A 16-byte block, loaded little-endian, is the
 * polynomial lo * x^64 + hi, where each 64-bit half holds x^63 in bit 0
 * (the reflected order). Moving it D bits further along the message
 * multiplies it by x^D, and modulo the polynomial that is
 * clmul(lo, x^(64+D-1)) ^ clmul(hi, x^(D-1)): the "-1" because a
 * carry-less product of two reflected 64-bit halves comes out multiplied
 * by x. A remainder of degree < 32 sits in the high half of its 64 bits.
 * fold[i] moves a block by 128 * (i + 1) bits; FOLD_BIG by 256 bytes.
 */
#define FOLD_BIG 15
static uint64_t fold_k[16][2];
/* The widest vector folding this CPU runs: 512, 256, or 0 for none
 * (the crc32 instruction alone). Lowered only by a test. */
static unsigned vx_width;
/* The shortest copy made by the string instruction (copy_streamed()):
 * MAPQ__STREAM_MIN where the CPU has fast string moves, else never. */
size_t mapq__crc32c_stream_min = SIZE_MAX;

static void fold_build(void)
{
	for (int i = 0; i < 16; i++) {
		unsigned d = 128u * (unsigned)(i + 1);
		fold_k[i][0] = (uint64_t)xpow(64 + d - 1) << 32;
		fold_k[i][1] = (uint64_t)xpow(d - 1) << 32;
	}
}

/* The shift and fold tables are built, and the CPU probed, when the
 * library is loaded, before the program can have started a thread: no
 * thread ever sees them half built, and race checkers (DRD, Helgrind,
 * TSan) see plain happens-before instead of a once-flag on the hot path.
 * About 70,000 table steps. */
__attribute__((constructor)) static void shift_init(void)
{
	table_init();
	shift_build(shift_long, LONG);
	shift_build(shift_short, SHORT);
	fold_build();
	__builtin_cpu_init();
	/* Valgrind's CPU has no VPCLMULQDQ, so it answers 0 here and runs
	 * the crc32 path: memcheck still sees every byte read. */
	bool clmul = __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("sse4.2");
	vx_width = !clmul                              ? 0
		   : __builtin_cpu_supports("avx512f") ? 512
		   : __builtin_cpu_supports("avx2")    ? 256
						       : 0;
	/* ERMS: CPUID leaf 7, EBX bit 9 */
	unsigned a, b, c, d;
	if (__builtin_cpu_supports("sse4.2") && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
	    (b & (1u << 9)))
		mapq__crc32c_stream_min = MAPQ__STREAM_MIN;
}

static inline uint32_t shift(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

/* Three runs of @run bytes at once from register @c; returns the
 * register after all 3 * @run bytes. */
__attribute__((target("sse4.2"))) static inline uint64_t crc3(uint64_t c, const uint8_t *p,
							      size_t run, const uint32_t t[4][256])
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

#define VX_TARGET "avx512f,vpclmulqdq,pclmul,sse4.2"
#define VX_MIN ((size_t)256)

__attribute__((target(VX_TARGET))) static inline __m512i vx_fold(__m512i v, __m512i k, __m512i next)
{
	/* lo * k.lo ^ hi * k.hi ^ next, in each of the four 128-bit lanes;
	 * 0x96 is the truth table of a three-way xor */
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(v, k, 0x00),
					 _mm512_clmulepi64_epi128(v, k, 0x11), next, 0x96);
}

__attribute__((target("pclmul,sse4.2"))) static inline __m128i vx_fold1(__m128i v, int i,
									__m128i next)
{
	__m128i k = _mm_loadu_si128((const __m128i *)fold_k[i]);
	return _mm_xor_si128(
		_mm_xor_si128(_mm_clmulepi64_si128(v, k, 0x00), _mm_clmulepi64_si128(v, k, 0x11)),
		next);
}

/* The raw register after the 16 folded bytes @x, which equal the whole
 * run modulo the polynomial: they go through the crc32 instruction from
 * a zero register. */
__attribute__((target("sse4.2"))) static inline uint64_t vx_done(__m128i x)
{
	uint64_t c = __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(x));
	return __builtin_ia32_crc32di(c, (uint64_t)_mm_extract_epi64(x, 1));
}

/* The raw register @c after @len bytes at @p; @len >= VX_MIN and a
 * multiple of 64. The register goes into the first four bytes, every
 * 256 bytes fold onto the next 256 in four 64-byte accumulators, the
 * accumulators and then their lanes fold onto the last 16 bytes, and
 * those 16 bytes (which equal the whole run modulo the polynomial) go
 * through the crc32 instruction from a zero register. With @dst, every
 * vector loaded is also stored there: a copy and its CRC in one pass,
 * and the CRC is of exactly the bytes stored. */
__attribute__((target(VX_TARGET), always_inline)) static inline uint64_t vx_body(uint64_t c,
										 const uint8_t *p,
										 size_t len,
										 uint8_t *dst)
{
	const __m512i k4 = _mm512_broadcast_i32x4(
			      _mm_loadu_si128((const __m128i *)fold_k[FOLD_BIG])),
		      k1 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)fold_k[3]));
	__m512i v0 = _mm512_loadu_si512(p), v1 = _mm512_loadu_si512(p + 64),
		v2 = _mm512_loadu_si512(p + 128), v3 = _mm512_loadu_si512(p + 192);
	if (dst) {
		_mm512_storeu_si512(dst, v0);
		_mm512_storeu_si512(dst + 64, v1);
		_mm512_storeu_si512(dst + 128, v2);
		_mm512_storeu_si512(dst + 192, v3);
		dst += 256;
	}
	__m512i a0 = _mm512_xor_si512(
			v0, _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)(uint32_t)c)),
		a1 = v1, a2 = v2, a3 = v3;

	for (p += 256, len -= 256; len >= 256; p += 256, len -= 256) {
		v0 = _mm512_loadu_si512(p);
		v1 = _mm512_loadu_si512(p + 64);
		v2 = _mm512_loadu_si512(p + 128);
		v3 = _mm512_loadu_si512(p + 192);
		if (dst) {
			_mm512_storeu_si512(dst, v0);
			_mm512_storeu_si512(dst + 64, v1);
			_mm512_storeu_si512(dst + 128, v2);
			_mm512_storeu_si512(dst + 192, v3);
			dst += 256;
		}
		a0 = vx_fold(a0, k4, v0);
		a1 = vx_fold(a1, k4, v1);
		a2 = vx_fold(a2, k4, v2);
		a3 = vx_fold(a3, k4, v3);
	}
	a1 = vx_fold(a0, k1, a1);
	a2 = vx_fold(a1, k1, a2);
	a3 = vx_fold(a2, k1, a3);
	for (; len; p += 64, len -= 64) {
		v0 = _mm512_loadu_si512(p);
		if (dst) {
			_mm512_storeu_si512(dst, v0);
			dst += 64;
		}
		a3 = vx_fold(a3, k1, v0);
	}

	__m128i x = _mm512_extracti32x4_epi32(a3, 3);
	x = vx_fold1(_mm512_extracti32x4_epi32(a3, 0), 2, x);
	x = vx_fold1(_mm512_extracti32x4_epi32(a3, 1), 1, x);
	x = vx_fold1(_mm512_extracti32x4_epi32(a3, 2), 0, x);
	return vx_done(x);
}

__attribute__((target(VX_TARGET))) static uint64_t vx_run(uint64_t c, const uint8_t *p, size_t len)
{
	return vx_body(c, p, len, NULL);
}

__attribute__((target(VX_TARGET))) static uint64_t vx_copy(uint64_t c, const uint8_t *p, size_t len,
							   uint8_t *dst)
{
	return vx_body(c, p, len, dst);
}

#define VY_TARGET "avx2,vpclmulqdq,pclmul,sse4.2"

__attribute__((target(VY_TARGET))) static inline __m256i vy_fold(__m256i v, __m256i k, __m256i next)
{
	return _mm256_xor_si256(_mm256_xor_si256(_mm256_clmulepi64_epi128(v, k, 0x00),
						 _mm256_clmulepi64_epi128(v, k, 0x11)),
				next);
}

/* vx_body on 256-bit vectors, for CPUs with VPCLMULQDQ but without
 * AVX-512: four 32-byte accumulators, 128 bytes a step; the same
 * contract. */
__attribute__((target(VY_TARGET), always_inline)) static inline uint64_t vy_body(uint64_t c,
										 const uint8_t *p,
										 size_t len,
										 uint8_t *dst)
{
	const __m256i k4 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)fold_k[7])),
		      k1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)fold_k[1]));
	__m256i v0 = _mm256_loadu_si256((const __m256i *)p),
		v1 = _mm256_loadu_si256((const __m256i *)(p + 32)),
		v2 = _mm256_loadu_si256((const __m256i *)(p + 64)),
		v3 = _mm256_loadu_si256((const __m256i *)(p + 96));
	if (dst) {
		_mm256_storeu_si256((__m256i *)dst, v0);
		_mm256_storeu_si256((__m256i *)(dst + 32), v1);
		_mm256_storeu_si256((__m256i *)(dst + 64), v2);
		_mm256_storeu_si256((__m256i *)(dst + 96), v3);
		dst += 128;
	}
	__m256i a0 = _mm256_xor_si256(v0, _mm256_set_epi64x(0, 0, 0, (long long)(uint32_t)c)),
		a1 = v1, a2 = v2, a3 = v3;

	for (p += 128, len -= 128; len >= 128; p += 128, len -= 128) {
		v0 = _mm256_loadu_si256((const __m256i *)p);
		v1 = _mm256_loadu_si256((const __m256i *)(p + 32));
		v2 = _mm256_loadu_si256((const __m256i *)(p + 64));
		v3 = _mm256_loadu_si256((const __m256i *)(p + 96));
		if (dst) {
			_mm256_storeu_si256((__m256i *)dst, v0);
			_mm256_storeu_si256((__m256i *)(dst + 32), v1);
			_mm256_storeu_si256((__m256i *)(dst + 64), v2);
			_mm256_storeu_si256((__m256i *)(dst + 96), v3);
			dst += 128;
		}
		a0 = vy_fold(a0, k4, v0);
		a1 = vy_fold(a1, k4, v1);
		a2 = vy_fold(a2, k4, v2);
		a3 = vy_fold(a3, k4, v3);
	}
	a1 = vy_fold(a0, k1, a1);
	a2 = vy_fold(a1, k1, a2);
	a3 = vy_fold(a2, k1, a3);
	for (; len; p += 32, len -= 32) {
		v0 = _mm256_loadu_si256((const __m256i *)p);
		if (dst) {
			_mm256_storeu_si256((__m256i *)dst, v0);
			dst += 32;
		}
		a3 = vy_fold(a3, k1, v0);
	}

	return vx_done(vx_fold1(_mm256_castsi256_si128(a3), 0, _mm256_extracti128_si256(a3, 1)));
}

__attribute__((target(VY_TARGET))) static uint64_t vy_run(uint64_t c, const uint8_t *p, size_t len)
{
	return vy_body(c, p, len, NULL);
}

__attribute__((target(VY_TARGET))) static uint64_t vy_copy(uint64_t c, const uint8_t *p, size_t len,
							   uint8_t *dst)
{
	return vy_body(c, p, len, dst);
}

/* The raw register @c after @len bytes at @p, one stream: what is left
 * of a long run, and the whole of a small message's payload, where the
 * loop's own count and branch cost as much as the crc32 (hence four
 * words a turn). */
__attribute__((target("sse4.2"))) static inline uint64_t hw_short(uint64_t c, const uint8_t *p,
								  size_t len)
{
	for (; len >= 32; p += 32, len -= 32) {
		/* word by word: one memcpy of 32 would go through the stack */
		uint64_t w0, w1, w2, w3;
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		c = __builtin_ia32_crc32di(c, w0);
		c = __builtin_ia32_crc32di(c, w1);
		c = __builtin_ia32_crc32di(c, w2);
		c = __builtin_ia32_crc32di(c, w3);
	}
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return c;
}

/* The raw register @c after @len bytes at @buf, on the crc32 instruction
 * alone when @vx is false. */
__attribute__((target("sse4.2"))) static inline uint64_t hw_run(uint64_t c, const uint8_t *p,
								size_t len, unsigned vx)
{
	if (vx && len >= VX_MIN) {
		size_t n = len & ~(size_t)63;
		c = vx == 512 ? vx_run(c, p, n) : vy_run(c, p, n);
		p += n;
		len -= n;
	}
	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	for (; len >= 3 * LONG; p += 3 * LONG, len -= 3 * LONG)
		c = crc3(c, p, LONG, shift_long);
	for (; len >= 3 * SHORT; p += 3 * SHORT, len -= 3 * SHORT)
		c = crc3(c, p, SHORT, shift_short);
	return hw_short(c, p, len);
}

__attribute__((target("sse4.2"))) uint32_t mapq__crc32c_hw(uint32_t crc, const void *buf,
							   size_t len)
{
	return ~(uint32_t)hw_run((uint32_t)~crc, buf, len, vx_width);
}

__attribute__((target("sse4.2"))) uint32_t mapq__crc32c_sse(uint32_t crc, const void *buf,
							    size_t len)
{
	return ~(uint32_t)hw_run((uint32_t)~crc, buf, len, 0);
}

unsigned mapq__crc32c_vx_width(void)
{
	return vx_width;
}

void mapq__crc32c_vx_limit(unsigned width)
{
	if (width < vx_width)
		vx_width = width == 256 && vx_width == 512 ? 256 : 0;
}

void mapq__crc32c_stream_off(void)
{
	mapq__crc32c_stream_min = SIZE_MAX;
}

/* A frame's CRC in one pass: the 16 header bytes are two words. A
 * payload too short for three streams goes straight to one (the same
 * CRC; hw_run would only test for the long paths first). */
__attribute__((target("sse4.2"))) static uint32_t hw_hdr(uint64_t a, uint64_t b, const void *buf,
							 size_t len)
{
	uint64_t c = __builtin_ia32_crc32di(0xffffffffu, a);
	c = __builtin_ia32_crc32di(c, b);
	if (len < 3 * SHORT)
		return ~(uint32_t)hw_short(c, buf, len);
	return ~(uint32_t)hw_run(c, buf, len, vx_width);
}

/*
 * Copy @len bytes from @src to @dst with the string instruction. Where
 * the CPU has fast string moves (ERMS), a long one writes whole lines
 * without first fetching what they held: the lines of a frame, which a
 * reader on another CPU held a lap ago, are not each brought over only
 * to be overwritten, as every vector store of the copy below makes them
 * (or a prefetch for writing does). What that bought: doc/performance.md,
 * "Long copies by the string instruction".
 */
static inline void copy_streamed(void *dst, const void *src, size_t len)
{
#ifdef MAPQ__TSAN
	/* what TSan cannot see in the instruction */
	__tsan_read_range(src, len);
	__tsan_write_range(dst, len);
#endif
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
}

/* A long copy streams, and takes its CRC, this much at a time: the
 * source of one chunk stays in the first level of cache between the two. */
#define STREAM_CHUNK ((size_t)16384)

/* Copy @len bytes from @src to @dst and return the raw register after
 * them, from @c: in one pass where the vector path runs, else the copy
 * and then the CRC of the copy (so the CRC is of the bytes at @dst, even
 * if @src changes meanwhile). A long copy (mapq__crc32c_stream_min)
 * streams, and its CRC is then of @src: read back, the lines the string
 * instruction wrote would be fetched again (a caller that changes @src
 * during the call may then get a frame its readers reject as corrupt). */
__attribute__((target("sse4.2"))) static uint64_t hw_copy(uint64_t c, void *dst, const void *src,
							  size_t len)
{
	if (len >= mapq__crc32c_stream_min) {
		const uint8_t *s = src;
		uint8_t *d = dst;
		for (size_t n; len; s += n, d += n, len -= n) {
			n = len < STREAM_CHUNK ? len : STREAM_CHUNK;
			copy_streamed(d, s, n);
			c = hw_run(c, s, n, vx_width);
		}
		return c;
	}
	size_t n = 0;
	if (vx_width && len >= VX_MIN) {
		n = len & ~(size_t)63;
		c = vx_width == 512 ? vx_copy(c, src, n, dst) : vy_copy(c, src, n, dst);
	}
	memcpy((uint8_t *)dst + n, (const uint8_t *)src + n, len - n);
	return hw_run(c, (const uint8_t *)dst + n, len - n, vx_width);
}

static uint32_t crc_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
	return ~(uint32_t)hw_copy((uint32_t)~crc, dst, src, len);
}

static __attribute__((noinline)) uint32_t hdr_copy(uint64_t a, uint64_t b, void *dst,
						   const void *src, size_t len)
{
	return crc_copy(hw_hdr(a, b, NULL, 0), dst, src, len);
}

/* hdr_copy() of a payload too short for the vector path: each word is
 * loaded once, then stored at @dst and fed to the CRC (so the CRC is of
 * the bytes written, as ever), in one chain: no call to memcpy, and no
 * second pass that loads back what the copy has just stored, in words
 * that do not match the copy's wide and overlapping stores. What that
 * bought: doc/performance.md, "Small payloads copied and checksummed in
 * one pass". */
__attribute__((target("sse4.2"))) static uint32_t hw_hdr_copy(uint64_t a, uint64_t b, void *dst,
							      const void *src, size_t len)
{
	if (len >= VX_MIN)
		return hdr_copy(a, b, dst, src, len);
	uint64_t c = __builtin_ia32_crc32di(0xffffffffu, a);
	c = __builtin_ia32_crc32di(c, b);
	const uint8_t *s = src;
	uint8_t *d = dst;
	for (; len >= 32; s += 32, d += 32, len -= 32) {
		uint64_t w0, w1, w2, w3;
		memcpy(&w0, s, 8);
		memcpy(&w1, s + 8, 8);
		memcpy(&w2, s + 16, 8);
		memcpy(&w3, s + 24, 8);
		memcpy(d, &w0, 8);
		memcpy(d + 8, &w1, 8);
		memcpy(d + 16, &w2, 8);
		memcpy(d + 24, &w3, 8);
		c = __builtin_ia32_crc32di(c, w0);
		c = __builtin_ia32_crc32di(c, w1);
		c = __builtin_ia32_crc32di(c, w2);
		c = __builtin_ia32_crc32di(c, w3);
	}
	for (; len >= 8; s += 8, d += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		memcpy(d, &w, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	for (; len; len--) {
		uint8_t x = *s++;
		*d++ = x;
		c = __builtin_ia32_crc32qi((uint32_t)c, x);
	}
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

uint32_t mapq__crc32c_sse(uint32_t crc, const void *buf, size_t len)
{
	return mapq__crc32c_sw(crc, buf, len);
}

unsigned mapq__crc32c_vx_width(void)
{
	return 0;
}

void mapq__crc32c_vx_limit(unsigned width)
{
	(void)width;
}

size_t mapq__crc32c_stream_min = SIZE_MAX;

void mapq__crc32c_stream_off(void)
{
}

static uint32_t hw_hdr(uint64_t a, uint64_t b, const void *buf, size_t len)
{
	uint8_t h[16];
	memcpy(h, &a, 8);
	memcpy(h + 8, &b, 8);
	return mapq__crc32c_sw(mapq__crc32c_sw(0, h, 16), buf, len);
}

static uint32_t crc_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	return mapq__crc32c_sw(crc, dst, len);
}

static uint32_t hw_hdr_copy(uint64_t a, uint64_t b, void *dst, const void *src, size_t len)
{
	if (len)
		memcpy(dst, src, len);
	return hw_hdr(a, b, dst, len);
}

bool mapq__crc32c_hw_available(void)
{
	return false;
}
#endif

/* 0: not yet probed, 1: table, 2: hardware. Every thread computes the same
 * answer, so a relaxed race on this cache is harmless. */
static _Atomic int crc_impl;

/* Out of line, as every slow path below: what the hot paths keep inline
 * is a load and a branch, with no registers to save around a call. */
static __attribute__((noinline)) int probe(void)
{
	int i = mapq__crc32c_hw_available() ? 2 : 1;
	atomic_store_explicit(&crc_impl, i, memory_order_relaxed); /* process-local */
	return i;
}

static inline int impl(void)
{
	/* process-local: which code this process runs */
	int i = atomic_load_explicit(&crc_impl, memory_order_relaxed);
	return i ? i : probe();
}

uint32_t mapq__crc32c(uint32_t crc, const void *buf, size_t len)
{
	return impl() == 2 ? mapq__crc32c_hw(crc, buf, len) : mapq__crc32c_sw(crc, buf, len);
}

static __attribute__((noinline)) uint32_t sw_hdr(uint64_t a, uint64_t b, const void *buf,
						 size_t len)
{
	uint8_t h[16];
	memcpy(h, &a, 8);
	memcpy(h + 8, &b, 8);
	return mapq__crc32c_sw(mapq__crc32c_sw(0, h, 16), buf, len);
}

static __attribute__((noinline)) uint32_t sw_hdr_copy(uint64_t a, uint64_t b, void *dst,
						      const void *src, size_t len)
{
	if (len) /* src may be NULL then */
		memcpy(dst, src, len);
	return sw_hdr(a, b, dst, len);
}

/* Point mapq__crc32c_hdr() and mapq__crc32c_hdr_copy() straight at the
 * code this CPU runs. */
static bool hdr_set(void)
{
	bool hw = impl() == 2;
	/* relaxed: process-local; every caller stores the same pointers */
	atomic_store_explicit(&mapq__crc32c_hdr_impl, hw ? hw_hdr : sw_hdr, memory_order_relaxed);
	atomic_store_explicit(&mapq__crc32c_hdr_copy_impl, hw ? hw_hdr_copy : sw_hdr_copy,
			      memory_order_relaxed);
	return hw;
}

/* Calls made before hdr_init() (from another library's constructor). */
static uint32_t hdr_first(uint64_t a, uint64_t b, const void *buf, size_t len)
{
	return hdr_set() ? hw_hdr(a, b, buf, len) : sw_hdr(a, b, buf, len);
}

static uint32_t hdr_copy_first(uint64_t a, uint64_t b, void *dst, const void *src, size_t len)
{
	return hdr_set() ? hw_hdr_copy(a, b, dst, src, len) : sw_hdr_copy(a, b, dst, src, len);
}

_Atomic(mapq__crc32c_hdr_fn *) mapq__crc32c_hdr_impl = hdr_first;
_Atomic(mapq__crc32c_hdr_copy_fn *) mapq__crc32c_hdr_copy_impl = hdr_copy_first;

/* Set when the library loads, before the program can have started a
 * thread, as the tables are (shift_init()): threads that all stored it
 * at their first frame would be a race to DRD and Helgrind, which see
 * a relaxed store as a plain one. */
__attribute__((constructor)) static void hdr_init(void)
{
	(void)hdr_set();
}

uint32_t mapq__crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
	if (impl() == 2)
		return crc_copy(crc, dst, src, len);
	memcpy(dst, src, len);
	return mapq__crc32c_sw(crc, dst, len);
}

/* Exact arithmetic modulo p = 2^61 - 1 for the tile checks (see field.h for
 * the bounds every function here relies on). The SIMD forms add the same
 * products in another grouping; every partial sum is exact, so they return
 * the same integers as the portable loops. */
#include <string.h>

#if defined(__x86_64__) && !defined(ASSAY_NO_SIMD) /* ASSAY_NO_SIMD: portable build */
#include <immintrin.h>
#define FIELD_X86 1 /* the AVX2 and AVX-512 forms are built */
#endif

#include "consensus/compute/field.h"
#include "core/buf.h"
#include "core/sha256.h"

#define P61 FIELD_P61

/* x mod p for x < 2^128, by folding 2^61 = 1 (mod p). */
static uint64_t mod_p_u128(unsigned __int128 x)
{
	x = (x & P61) + (x >> 61); /* < 2^68 */
	x = (x & P61) + (x >> 61); /* < 2^61 + 2^7 */
	uint64_t v = (uint64_t)x;
	v = (v & P61) + (v >> 61);
	return v >= P61 ? v - P61 : v;
}

uint64_t field_mod_s128(__int128 x)
{
	if (x >= 0)
		return mod_p_u128((unsigned __int128)x);
	uint64_t m = mod_p_u128(-(unsigned __int128)x);
	return m ? P61 - m : 0;
}

/* hi = h1 2^30 + h0 (0 <= h0 < 2^30) gives hi 2^31 = h1 2^61 + h0 2^31 = h1
 * + h0 2^31 (mod p), and x = lo + h1 + h0 2^31 lies in (-2^57, 2^61 +
 * 2^57). Then x = q 2^61 + (x & p) with q in {-1, 0, 1} folds to v = (x & p)
 * + q, which lies in [0, p] (for x < 0, x & p = x + 2^61 > 2^60), one
 * subtraction from [0, p). */
uint64_t field_mod_limbs(int64_t lo, int64_t hi)
{
	int64_t x = lo + (hi >> 30) + (int64_t)((uint64_t)(hi & ((1 << 30) - 1)) << 31);
	uint64_t v = (uint64_t)(((int64_t)((uint64_t)x & P61)) + (x >> 61));
	return v >= P61 ? v - P61 : v;
}

void field_draw_vector(const char *tag, const uint8_t *prefix, size_t prefix_len, uint32_t n, uint64_t *r)
{
	uint8_t in[FIELD_DRAW_PREFIX_MAX + 8], h[HASH_LEN];
	memcpy(in, prefix, prefix_len);
	uint32_t got = 0;
	for (uint64_t b = 0; got < n; b++) {
		le64_put(in + prefix_len, b);
		hash_tagged(tag, in, prefix_len + 8, h);
		for (int w = 0; w < 4 && got < n; w++) {
			uint64_t x = le64_get(h + 8 * w) & P61;
			if (x != 0 && x != P61)
				r[got++] = x;
		}
	}
}

int field_simd_level(int cap)
{
#ifdef FIELD_X86
	__builtin_cpu_init();
	if (cap >= 2 && __builtin_cpu_supports("avx512f"))
		return 2;
	if (cap >= 1 && __builtin_cpu_supports("avx2"))
		return 1;
#else
	(void)cap;
#endif
	return 0;
}

/* ---- portable forms ---- */

static void axpy_i8(int64_t *acc, const int8_t *x, int64_t c, uint32_t k)
{
	for (uint32_t t = 0; t < k; t++)
		acc[t] += x[t] * c;
}

static void dot2_i8(const int8_t *x, const int64_t *w_lo, const int64_t *w_hi, uint32_t k, int64_t out[2])
{
	int64_t lo = 0, hi = 0;
	for (uint32_t t = 0; t < k; t++) {
		lo += x[t] * w_lo[t];
		hi += x[t] * w_hi[t];
	}
	out[0] = lo;
	out[1] = hi;
}

static void dot3_i32(const int32_t *v, const int64_t *c0, const int64_t *c1, const int64_t *c2, uint32_t n,
		     int64_t out[3])
{
	int64_t s0 = 0, s1 = 0, s2 = 0;
	for (uint32_t j = 0; j < n; j++) {
		s0 += (int64_t)v[j] * c0[j];
		s1 += (int64_t)v[j] * c1[j];
		s2 += (int64_t)v[j] * c2[j];
	}
	out[0] = s0;
	out[1] = s1;
	out[2] = s2;
}

/* ---- AVX2 forms: four 64-bit lanes ---- */

#ifdef FIELD_X86
__attribute__((target("avx2"))) static void axpy_i8_avx2(int64_t *acc, const int8_t *x, int64_t c, uint32_t k)
{
	__m256i cv = _mm256_set1_epi64x(c);
	uint32_t t = 0;
	for (; t + 4 <= k; t += 4) {
		int32_t four;
		memcpy(&four, x + t, 4);
		__m256i xv = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(four));
		__m256i *p = (__m256i *)(acc + t);
		_mm256_storeu_si256(p, _mm256_add_epi64(_mm256_loadu_si256(p), _mm256_mul_epi32(xv, cv)));
	}
	for (; t < k; t++)
		acc[t] += x[t] * c;
}

__attribute__((target("avx2"))) static int64_t hsum_avx2(__m256i v)
{
	int64_t lanes[4];
	_mm256_storeu_si256((__m256i *)lanes, v);
	return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx2"))) static void axpy4_i8_avx2(int64_t *lo, int64_t *hi, const int8_t *const x[4],
							  const int64_t c_lo[4], const int64_t c_hi[4],
							  uint32_t k)
{
	__m256i l0 = _mm256_set1_epi64x(c_lo[0]), l1 = _mm256_set1_epi64x(c_lo[1]);
	__m256i l2 = _mm256_set1_epi64x(c_lo[2]), l3 = _mm256_set1_epi64x(c_lo[3]);
	__m256i h0 = _mm256_set1_epi64x(c_hi[0]), h1 = _mm256_set1_epi64x(c_hi[1]);
	__m256i h2 = _mm256_set1_epi64x(c_hi[2]), h3 = _mm256_set1_epi64x(c_hi[3]);
	uint32_t t = 0;
	for (; t + 4 <= k; t += 4) {
		int32_t f0, f1, f2, f3;
		memcpy(&f0, x[0] + t, 4);
		memcpy(&f1, x[1] + t, 4);
		memcpy(&f2, x[2] + t, 4);
		memcpy(&f3, x[3] + t, 4);
		__m256i x0 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f0));
		__m256i x1 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f1));
		__m256i x2 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f2));
		__m256i x3 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f3));
		__m256i sl = _mm256_add_epi64(
			_mm256_add_epi64(_mm256_mul_epi32(x0, l0), _mm256_mul_epi32(x1, l1)),
			_mm256_add_epi64(_mm256_mul_epi32(x2, l2), _mm256_mul_epi32(x3, l3)));
		__m256i sh = _mm256_add_epi64(
			_mm256_add_epi64(_mm256_mul_epi32(x0, h0), _mm256_mul_epi32(x1, h1)),
			_mm256_add_epi64(_mm256_mul_epi32(x2, h2), _mm256_mul_epi32(x3, h3)));
		__m256i *pl = (__m256i *)(lo + t), *ph = (__m256i *)(hi + t);
		_mm256_storeu_si256(pl, _mm256_add_epi64(_mm256_loadu_si256(pl), sl));
		_mm256_storeu_si256(ph, _mm256_add_epi64(_mm256_loadu_si256(ph), sh));
	}
	for (; t < k; t++)
		for (int q = 0; q < 4; q++) {
			lo[t] += x[q][t] * c_lo[q];
			hi[t] += x[q][t] * c_hi[q];
		}
}

__attribute__((target("avx2"))) static void dot3_i32_avx2(const int32_t *v, const int64_t *c0,
							  const int64_t *c1, const int64_t *c2, uint32_t n,
							  int64_t out[3])
{
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0;
	uint32_t j = 0;
	for (; j + 4 <= n; j += 4) {
		__m256i vv = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(v + j)));
		s0 = _mm256_add_epi64(s0,
				      _mm256_mul_epi32(vv, _mm256_loadu_si256((const __m256i *)(c0 + j))));
		s1 = _mm256_add_epi64(s1,
				      _mm256_mul_epi32(vv, _mm256_loadu_si256((const __m256i *)(c1 + j))));
		s2 = _mm256_add_epi64(s2,
				      _mm256_mul_epi32(vv, _mm256_loadu_si256((const __m256i *)(c2 + j))));
	}
	out[0] = hsum_avx2(s0);
	out[1] = hsum_avx2(s1);
	out[2] = hsum_avx2(s2);
	for (; j < n; j++) {
		out[0] += (int64_t)v[j] * c0[j];
		out[1] += (int64_t)v[j] * c1[j];
		out[2] += (int64_t)v[j] * c2[j];
	}
}

__attribute__((target("avx2"))) static void dot2_i8_avx2(const int8_t *x, const int64_t *w_lo,
							 const int64_t *w_hi, uint32_t k, int64_t out[2])
{
	__m256i sl = _mm256_setzero_si256(), sh = sl;
	uint32_t t = 0;
	for (; t + 4 <= k; t += 4) {
		int32_t four;
		memcpy(&four, x + t, 4);
		__m256i xv = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(four));
		sl = _mm256_add_epi64(sl,
				      _mm256_mul_epi32(xv, _mm256_loadu_si256((const __m256i *)(w_lo + t))));
		sh = _mm256_add_epi64(sh,
				      _mm256_mul_epi32(xv, _mm256_loadu_si256((const __m256i *)(w_hi + t))));
	}
	out[0] = hsum_avx2(sl);
	out[1] = hsum_avx2(sh);
	for (; t < k; t++) {
		out[0] += x[t] * w_lo[t];
		out[1] += x[t] * w_hi[t];
	}
}

/* AVX-512 forms of the three Freivalds loops: eight 64-bit lanes, the same
 * products and sums (only their grouping differs, and every partial sum is
 * exact), so the same integers. The matmul check uses them (the client's
 * full check most) and so does the mlp check. */
#define AVX512 __attribute__((target("avx512f")))
AVX512 static void axpy4_i8_avx512(int64_t *lo, int64_t *hi, const int8_t *const x[4], const int64_t c_lo[4],
				   const int64_t c_hi[4], uint32_t k)
{
	__m512i l0 = _mm512_set1_epi64(c_lo[0]), l1 = _mm512_set1_epi64(c_lo[1]);
	__m512i l2 = _mm512_set1_epi64(c_lo[2]), l3 = _mm512_set1_epi64(c_lo[3]);
	__m512i h0 = _mm512_set1_epi64(c_hi[0]), h1 = _mm512_set1_epi64(c_hi[1]);
	__m512i h2 = _mm512_set1_epi64(c_hi[2]), h3 = _mm512_set1_epi64(c_hi[3]);
	uint32_t t = 0;
	for (; t + 8 <= k; t += 8) {
		__m512i x0 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[0] + t)));
		__m512i x1 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[1] + t)));
		__m512i x2 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[2] + t)));
		__m512i x3 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[3] + t)));
		__m512i sl = _mm512_add_epi64(
			_mm512_add_epi64(_mm512_mul_epi32(x0, l0), _mm512_mul_epi32(x1, l1)),
			_mm512_add_epi64(_mm512_mul_epi32(x2, l2), _mm512_mul_epi32(x3, l3)));
		__m512i sh = _mm512_add_epi64(
			_mm512_add_epi64(_mm512_mul_epi32(x0, h0), _mm512_mul_epi32(x1, h1)),
			_mm512_add_epi64(_mm512_mul_epi32(x2, h2), _mm512_mul_epi32(x3, h3)));
		_mm512_storeu_si512(lo + t, _mm512_add_epi64(_mm512_loadu_si512(lo + t), sl));
		_mm512_storeu_si512(hi + t, _mm512_add_epi64(_mm512_loadu_si512(hi + t), sh));
	}
	for (; t < k; t++)
		for (int q = 0; q < 4; q++) {
			lo[t] += x[q][t] * c_lo[q];
			hi[t] += x[q][t] * c_hi[q];
		}
}

AVX512 static void dot2_i8_avx512(const int8_t *x, const int64_t *w_lo, const int64_t *w_hi, uint32_t k,
				  int64_t out[2])
{
	__m512i sl = _mm512_setzero_si512(), sh = sl;
	uint32_t t = 0;
	for (; t + 8 <= k; t += 8) {
		__m512i xv = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x + t)));
		sl = _mm512_add_epi64(sl, _mm512_mul_epi32(xv, _mm512_loadu_si512(w_lo + t)));
		sh = _mm512_add_epi64(sh, _mm512_mul_epi32(xv, _mm512_loadu_si512(w_hi + t)));
	}
	out[0] = _mm512_reduce_add_epi64(sl);
	out[1] = _mm512_reduce_add_epi64(sh);
	for (; t < k; t++) {
		out[0] += x[t] * w_lo[t];
		out[1] += x[t] * w_hi[t];
	}
}

AVX512 static void dot3_i32_avx512(const int32_t *v, const int64_t *c0, const int64_t *c1, const int64_t *c2,
				   uint32_t n, int64_t out[3])
{
	__m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0;
	uint32_t j = 0;
	for (; j + 8 <= n; j += 8) {
		__m512i vv = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(v + j)));
		s0 = _mm512_add_epi64(s0, _mm512_mul_epi32(vv, _mm512_loadu_si512(c0 + j)));
		s1 = _mm512_add_epi64(s1, _mm512_mul_epi32(vv, _mm512_loadu_si512(c1 + j)));
		s2 = _mm512_add_epi64(s2, _mm512_mul_epi32(vv, _mm512_loadu_si512(c2 + j)));
	}
	out[0] = _mm512_reduce_add_epi64(s0);
	out[1] = _mm512_reduce_add_epi64(s1);
	out[2] = _mm512_reduce_add_epi64(s2);
	for (; j < n; j++) {
		out[0] += (int64_t)v[j] * c0[j];
		out[1] += (int64_t)v[j] * c1[j];
		out[2] += (int64_t)v[j] * c2[j];
	}
}

/* Four rows at once: each load of the limbs (kernel_freivalds: of y mod p,
 * or of r) serves four rows, so the full check streams A and C with little
 * else to read. */
AVX512 static void dot2x4_i8_avx512(const int8_t *const x[4], const int64_t *w_lo, const int64_t *w_hi,
				    uint32_t k, int64_t out[4][2])
{
	__m512i l0 = _mm512_setzero_si512(), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
	uint32_t t = 0;
	for (; t + 8 <= k; t += 8) {
		__m512i wl = _mm512_loadu_si512(w_lo + t), wh = _mm512_loadu_si512(w_hi + t);
		__m512i x0 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[0] + t)));
		__m512i x1 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[1] + t)));
		__m512i x2 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[2] + t)));
		__m512i x3 = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(x[3] + t)));
		l0 = _mm512_add_epi64(l0, _mm512_mul_epi32(x0, wl));
		h0 = _mm512_add_epi64(h0, _mm512_mul_epi32(x0, wh));
		l1 = _mm512_add_epi64(l1, _mm512_mul_epi32(x1, wl));
		h1 = _mm512_add_epi64(h1, _mm512_mul_epi32(x1, wh));
		l2 = _mm512_add_epi64(l2, _mm512_mul_epi32(x2, wl));
		h2 = _mm512_add_epi64(h2, _mm512_mul_epi32(x2, wh));
		l3 = _mm512_add_epi64(l3, _mm512_mul_epi32(x3, wl));
		h3 = _mm512_add_epi64(h3, _mm512_mul_epi32(x3, wh));
	}
	__m512i acc[4][2] = {{l0, h0}, {l1, h1}, {l2, h2}, {l3, h3}};
	for (int q = 0; q < 4; q++) {
		out[q][0] = _mm512_reduce_add_epi64(acc[q][0]);
		out[q][1] = _mm512_reduce_add_epi64(acc[q][1]);
		for (uint32_t u = t; u < k; u++) {
			out[q][0] += x[q][u] * w_lo[u];
			out[q][1] += x[q][u] * w_hi[u];
		}
	}
}

AVX512 static void dot3x4_i32_avx512(const int32_t *const v[4], const int64_t *c0, const int64_t *c1,
				     const int64_t *c2, uint32_t n, int64_t out[4][3])
{
	__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, b0 = a0, b1 = a0, b2 = a0;
	__m512i d0 = a0, d1 = a0, d2 = a0, e0 = a0, e1 = a0, e2 = a0;
	uint32_t j = 0;
	for (; j + 8 <= n; j += 8) {
		__m512i r0 = _mm512_loadu_si512(c0 + j), r1 = _mm512_loadu_si512(c1 + j);
		__m512i r2 = _mm512_loadu_si512(c2 + j);
		__m512i v0 = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(v[0] + j)));
		__m512i v1 = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(v[1] + j)));
		__m512i v2 = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(v[2] + j)));
		__m512i v3 = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(v[3] + j)));
		a0 = _mm512_add_epi64(a0, _mm512_mul_epi32(v0, r0));
		a1 = _mm512_add_epi64(a1, _mm512_mul_epi32(v0, r1));
		a2 = _mm512_add_epi64(a2, _mm512_mul_epi32(v0, r2));
		b0 = _mm512_add_epi64(b0, _mm512_mul_epi32(v1, r0));
		b1 = _mm512_add_epi64(b1, _mm512_mul_epi32(v1, r1));
		b2 = _mm512_add_epi64(b2, _mm512_mul_epi32(v1, r2));
		d0 = _mm512_add_epi64(d0, _mm512_mul_epi32(v2, r0));
		d1 = _mm512_add_epi64(d1, _mm512_mul_epi32(v2, r1));
		d2 = _mm512_add_epi64(d2, _mm512_mul_epi32(v2, r2));
		e0 = _mm512_add_epi64(e0, _mm512_mul_epi32(v3, r0));
		e1 = _mm512_add_epi64(e1, _mm512_mul_epi32(v3, r1));
		e2 = _mm512_add_epi64(e2, _mm512_mul_epi32(v3, r2));
	}
	__m512i acc[4][3] = {{a0, a1, a2}, {b0, b1, b2}, {d0, d1, d2}, {e0, e1, e2}};
	const int64_t *c[3] = {c0, c1, c2};
	for (int q = 0; q < 4; q++)
		for (int limb = 0; limb < 3; limb++) {
			out[q][limb] = _mm512_reduce_add_epi64(acc[q][limb]);
			for (uint32_t u = j; u < n; u++)
				out[q][limb] += (int64_t)v[q][u] * c[limb][u];
		}
}
#endif

/* ---- dispatch ---- */

void field_axpy_i8(int level, int64_t *acc, const int8_t *x, int64_t c, uint32_t k)
{
#ifdef FIELD_X86
	if (level >= 1) {
		axpy_i8_avx2(acc, x, c, k);
		return;
	}
#endif
	(void)level;
	axpy_i8(acc, x, c, k);
}

void field_axpy4_i8(int level, int64_t *lo, int64_t *hi, const int8_t *const x[4], const int64_t c_lo[4],
		    const int64_t c_hi[4], uint32_t k)
{
#ifdef FIELD_X86
	if (level >= 2) {
		axpy4_i8_avx512(lo, hi, x, c_lo, c_hi, k);
		return;
	}
	if (level >= 1) {
		axpy4_i8_avx2(lo, hi, x, c_lo, c_hi, k);
		return;
	}
#endif
	(void)level;
	for (int q = 0; q < 4; q++) {
		axpy_i8(lo, x[q], c_lo[q], k);
		axpy_i8(hi, x[q], c_hi[q], k);
	}
}

void field_dot2_i8(int level, const int8_t *x, const int64_t *lo, const int64_t *hi, uint32_t k,
		   int64_t out[2])
{
#ifdef FIELD_X86
	if (level >= 2) {
		dot2_i8_avx512(x, lo, hi, k, out);
		return;
	}
	if (level >= 1) {
		dot2_i8_avx2(x, lo, hi, k, out);
		return;
	}
#endif
	(void)level;
	dot2_i8(x, lo, hi, k, out);
}

void field_dot3_i32(int level, const int32_t *v, const int64_t *c0, const int64_t *c1, const int64_t *c2,
		    uint32_t n, int64_t out[3])
{
#ifdef FIELD_X86
	if (level >= 2) {
		dot3_i32_avx512(v, c0, c1, c2, n, out);
		return;
	}
	if (level >= 1) {
		dot3_i32_avx2(v, c0, c1, c2, n, out);
		return;
	}
#endif
	(void)level;
	dot3_i32(v, c0, c1, c2, n, out);
}

void field_dot2x4_i8(int level, const int8_t *const x[4], const int64_t *lo, const int64_t *hi, uint32_t k,
		     int64_t out[4][2])
{
#ifdef FIELD_X86
	if (level >= 2) {
		dot2x4_i8_avx512(x, lo, hi, k, out);
		return;
	}
#endif
	for (int q = 0; q < 4; q++)
		field_dot2_i8(level, x[q], lo, hi, k, out[q]);
}

void field_dot3x4_i32(int level, const int32_t *const v[4], const int64_t *c0, const int64_t *c1,
		      const int64_t *c2, uint32_t n, int64_t out[4][3])
{
#ifdef FIELD_X86
	if (level >= 2) {
		dot3x4_i32_avx512(v, c0, c1, c2, n, out);
		return;
	}
#endif
	for (int q = 0; q < 4; q++)
		field_dot3_i32(level, v[q], c0, c1, c2, n, out[q]);
}

/* ---- W . r by limbs ---- */

void field_limbs7(const uint64_t *r, uint32_t n, uint8_t *limbs)
{
	for (int q = 0; q < FIELD_LIMBS7; q++)
		for (uint32_t j = 0; j < n; j++)
			limbs[(size_t)q * n + j] = (uint8_t)(r[j] >> (7 * q) & 127);
}

/* u from a row's limb sums S_q (each exact in int32, field.h). */
static uint64_t from_limb_sums(const int32_t sum[FIELD_LIMBS7])
{
	__int128 total = 0;
	for (int q = 0; q < FIELD_LIMBS7; q++)
		total += (__int128)sum[q] * ((__int128)1 << (7 * q));
	return field_mod_s128(total);
}

static void matvec_i8(const int8_t *W, uint32_t rows, uint32_t n, const uint8_t *limbs, uint64_t *u)
{
	for (uint32_t i = 0; i < rows; i++) {
		const int8_t *w = W + (size_t)i * n;
		int32_t sum[FIELD_LIMBS7];
		for (int q = 0; q < FIELD_LIMBS7; q++) {
			const uint8_t *l = limbs + (size_t)q * n;
			int32_t acc = 0;
			for (uint32_t j = 0; j < n; j++)
				acc += w[j] * l[j];
			sum[q] = acc;
		}
		u[i] = from_limb_sums(sum);
	}
}

#ifdef FIELD_X86
/* One row at a time: vpmaddubsw multiplies 32 limb (u7) x weight (s8)
 * bytes and adds pairs into int16 (|pair| <= 2^15 - 2^8: no saturation),
 * vpmaddwd against ones adds pairs of those into int32. Nine named
 * accumulators (LIMBS7, below). */
#define LIMBS7(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
__attribute__((target("avx2"))) static void matvec_i8_avx2(const int8_t *W, uint32_t rows, uint32_t n,
							   const uint8_t *limbs, uint64_t *u)
{
	const __m256i ones = _mm256_set1_epi16(1);
	uint32_t n32 = n / 32 * 32;
	for (uint32_t i = 0; i < rows; i++) {
		const int8_t *w = W + (size_t)i * n;
#define DECL(q) __m256i a##q = _mm256_setzero_si256();
		LIMBS7(DECL)
#undef DECL
		for (uint32_t j = 0; j < n32; j += 32) {
			__m256i wv = _mm256_loadu_si256((const __m256i *)(w + j));
#define STEP(q)                                                                                      \
	a##q = _mm256_add_epi32(                                                                     \
		a##q, _mm256_madd_epi16(_mm256_maddubs_epi16(                                        \
					       _mm256_loadu_si256((const __m256i *)(limbs + (size_t)(q) * n + j)), wv), \
				       ones));
			LIMBS7(STEP)
#undef STEP
		}
		__m256i acc[FIELD_LIMBS7] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
		int32_t sum[FIELD_LIMBS7];
		for (int q = 0; q < FIELD_LIMBS7; q++) {
			__m128i v = _mm_add_epi32(_mm256_castsi256_si128(acc[q]), _mm256_extracti128_si256(acc[q], 1));
			v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4e));
			v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xb1));
			int32_t a = _mm_cvtsi128_si32(v);
			const uint8_t *l = limbs + (size_t)q * n;
			for (uint32_t j = n32; j < n; j++)
				a += w[j] * l[j];
			sum[q] = a;
		}
		u[i] = from_limb_sums(sum);
	}
}

/* acc += the u8 x s8 quads of u and w, as _mm512_dpbusd_epi32, but in asm:
 * with the intrinsic GCC 12 copied every accumulator through another
 * register and to the stack each step (three times slower). */
__attribute__((target("avx512f,avx512vnni"))) static inline __m512i dpbusd(__m512i acc, __m512i u, __m512i w)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(w));
	return acc;
}

/* Two rows at a time on AVX-512 VNNI: vpdpbusd multiplies 64 limb x weight
 * bytes and adds quads into int32 lanes; the row tail is a masked load.
 * Eighteen accumulators, named (in an array GCC kept them in memory). */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
matvec_i8_vnni(const int8_t *W, uint32_t rows, uint32_t n, const uint8_t *limbs, uint64_t *u)
{
	for (uint32_t i = 0; i < rows; i += 2) {
		const int8_t *w0 = W + (size_t)i * n, *w1 = i + 1 < rows ? w0 + n : w0;
#define DECL(q) __m512i p##q = _mm512_setzero_si512(), s##q = p##q;
		LIMBS7(DECL)
#undef DECL
		for (uint32_t j = 0; j < n; j += 64) {
			__mmask64 m = n - j >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - j)) - 1;
			__m512i x0 = _mm512_maskz_loadu_epi8(m, w0 + j), x1 = _mm512_maskz_loadu_epi8(m, w1 + j);
#define STEP(q)                                                                           \
	{                                                                                 \
		__m512i lv = _mm512_maskz_loadu_epi8(m, limbs + (size_t)(q) * n + j);     \
		p##q = dpbusd(p##q, lv, x0);                                              \
		s##q = dpbusd(s##q, lv, x1);                                              \
	}
			LIMBS7(STEP)
#undef STEP
		}
		int32_t sum0[FIELD_LIMBS7], sum1[FIELD_LIMBS7];
#define SUM(q) sum0[q] = _mm512_reduce_add_epi32(p##q), sum1[q] = _mm512_reduce_add_epi32(s##q);
		LIMBS7(SUM)
#undef SUM
		u[i] = from_limb_sums(sum0);
		if (i + 1 < rows)
			u[i + 1] = from_limb_sums(sum1);
	}
}
#endif

void field_matvec_i8(int level, const int8_t *W, uint32_t rows, uint32_t n, const uint8_t *limbs, uint64_t *u)
{
#ifdef FIELD_X86
	if (level >= 2 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) {
		matvec_i8_vnni(W, rows, n, limbs, u);
		return;
	}
	if (level >= 1) {
		matvec_i8_avx2(W, rows, n, limbs, u);
		return;
	}
#endif
	(void)level;
	matvec_i8(W, rows, n, limbs, u);
}

/* Exact integer arithmetic modulo the Freivalds prime p = 2^61 - 1, shared by
 * the matmul tile check (kernels.c) and the mlp check (mlp.c): reduction of
 * wide integers mod p, and the int64 limb sums both checks are made of, each
 * in a portable, an AVX2 and an AVX-512 form that compute the same integers.
 * Pure. Not a general field library: only what the two checks need. */
#ifndef ASSAY_COMPUTE_FIELD_H
#define ASSAY_COMPUTE_FIELD_H

#include <stddef.h>
#include <stdint.h>

/* The modulus, the Mersenne prime 2^61 - 1 (also KERNEL_P61). */
#define FIELD_P61 ((1ull << 61) - 1)

/* Bounds. The limb sums take a vector of residues r < p split into limbs,
 * each multiplier held in an int64 lane as the low 32 bits AVX2 and AVX-512
 * multiply signed (_mm256_mul_epi32): r = hi 2^31 + lo (31- and 30-bit
 * limbs, FIELD_LIMB31) against int8 entries, or r = c2 2^42 + c1 2^21 + c0
 * (21-, 21- and 19-bit limbs, FIELD_LIMB21) against int32 entries. With at
 * most 2^17 int8 entries (KERNEL_MAX_K) an int8 x 31-bit sum stays below
 * 2^17 * 2^7 * 2^31 = 2^55; with at most FIELD_DOT3_CHUNK int32 entries an
 * int32 x 21-bit sum stays below 2^10 * 2^31 * 2^21 = 2^62. So no int64 sum
 * overflows, every form computes the same integers whatever the order of its
 * additions, and only the caller's recombination (in __int128) and a
 * reduction below turn them into residues. */
#define FIELD_LIMB31 ((1ull << 31) - 1)
#define FIELD_LIMB21 ((1ull << 21) - 1)
#define FIELD_DOT3_CHUNK 1024

/* x mod p in [0, p), for every signed 128-bit x (folding 2^61 = 1 mod p). */
uint64_t field_mod_s128(__int128 x);
/* (lo + hi 2^31) mod p in [0, p) for |lo|, |hi| < 2^56, without 128-bit
 * arithmetic. */
uint64_t field_mod_limbs(int64_t lo, int64_t hi);

/* r[0..n): residues uniform on [1, p-1] from H_tag(tag, prefix || u64 LE
 * block) for block = 0, 1, ...: the low 61 bits of each of a hash's four
 * 64-bit LE words, 0 and p skipped (so no entry is zero). prefix_len <=
 * FIELD_DRAW_PREFIX_MAX. The matmul check's and the mlp check's vectors
 * (docs/compute.md §6) differ only in tag and prefix. */
#define FIELD_DRAW_PREFIX_MAX 64
void field_draw_vector(const char *tag, const uint8_t *prefix, size_t prefix_len, uint32_t n, uint64_t *r);

/* The highest form this CPU has, capped at cap: 0 portable, 1 AVX2, 2
 * AVX-512F (0 in a build without x86 SIMD). Each call below takes a level
 * from here; a lower level gives the same integers, only slower. */
int field_simd_level(int cap);

/* acc[t] += x[t] c for t < k, 0 <= c < 2^31 (|x c| < 2^38; the caller keeps
 * the number of calls on one acc within its bound). */
void field_axpy_i8(int level, int64_t *acc, const int8_t *x, int64_t c, uint32_t k);
/* Four columns at once, both limbs: lo[t] += sum_q x_q[t] c_lo[q], hi[t]
 * likewise (four products < 2^40), each accumulator loaded and stored once
 * per four columns. */
void field_axpy4_i8(int level, int64_t *lo, int64_t *hi, const int8_t *const x[4], const int64_t c_lo[4],
		    const int64_t c_hi[4], uint32_t k);
/* out = sum x[t] lo[t], sum x[t] hi[t] for t < k <= 2^17, 0 <= lo, hi < 2^31
 * (each < 2^55). */
void field_dot2_i8(int level, const int8_t *x, const int64_t *lo, const int64_t *hi, uint32_t k,
		   int64_t out[2]);
/* out[q] = sum v[j] c_q[j] for j < n <= FIELD_DOT3_CHUNK, 0 <= c_q < 2^21
 * (each < 2^62). */
void field_dot3_i32(int level, const int32_t *v, const int64_t *c0, const int64_t *c1, const int64_t *c2,
		    uint32_t n, int64_t out[3]);
/* field_dot2_i8 and field_dot3_i32 of four rows at once: each load of the
 * limbs serves four rows (at level 2; below it, one row after another). */
void field_dot2x4_i8(int level, const int8_t *const x[4], const int64_t *lo, const int64_t *hi, uint32_t k,
		     int64_t out[4][2]);
void field_dot3x4_i32(int level, const int32_t *const v[4], const int64_t *c0, const int64_t *c1,
		      const int64_t *c2, uint32_t n, int64_t out[4][3]);

/* W . r mod p by 7-bit limbs of r: limb q of r[j] = r[j] >> 7q & 127 (nine
 * cover r < 2^63), so each limb's dot product with an int8 row is a sum of
 * u7 x s8 products, |each| <= 2^14 - 2^7, which int32 holds exactly for
 * n <= 2^17 (the AVX2 form multiplies pairs into int16, the VNNI form
 * quads into int32, both without saturation at these bounds), and
 * sum_q 2^7q S_q is the exact dot product. */
#define FIELD_LIMBS7 9
/* limbs[q * n + j] = limb q of r[j], for r[j] < 2^63. */
void field_limbs7(const uint64_t *r, uint32_t n, uint8_t *limbs);
/* u[i] = (sum_{j < n} W[i n + j] r[j]) mod p for i < rows, r given by its
 * limbs, n <= 2^17. */
void field_matvec_i8(int level, const int8_t *W, uint32_t rows, uint32_t n, const uint8_t *limbs, uint64_t *u);

#endif

/* Tests of the exact arithmetic mod p = 2^61 - 1 the tile checks share
 * (consensus/compute/field.h): reductions against C's own % over the whole
 * range and at the edges, every limb sum at every SIMD level against a plain
 * 128-bit sum at the bounds field.h states, and the drawn vectors against
 * their definition and a pinned vector. Not for: the checks built on them
 * (test_kernels.c). */
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/field.h"
#include "consensus/compute/kernels.h"
#include "core/buf.h"
#include "core/sha256.h"
#include "tests/unit/test.h"

#define P ((__int128)FIELD_P61)
/* kernel_freivalds_vector(seed 00 01 .. 1f, i = 7)'s first and 41st words,
 * from the code before field_draw_vector: the draw is consensus. */
#define PINNED_0 0x1e72dcbe07baeeeaull
#define PINNED_LAST 0x07cfe4b0f00b49c3ull

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	return test_xorshift(&rng_state);
}

/* x mod p in [0, p) by C's remainder, the definition the folds must meet. */
static uint64_t ref_mod(__int128 x)
{
	__int128 m = x % P;
	return (uint64_t)(m < 0 ? m + P : m);
}

static void test_mod_s128(void)
{
	const __int128 max = (__int128)(((unsigned __int128)1 << 127) - 1), min = -max - 1;
	const __int128 edges[] = {0,
				  1,
				  -1,
				  P,
				  -P,
				  P - 1,
				  P + 1,
				  -(P - 1),
				  -(P + 1),
				  2 * P,
				  -2 * P,
				  P * P,
				  -P * P,
				  max,
				  min,
				  max - 1,
				  min + 1,
				  (__int128)1 << 64,
				  -((__int128)1 << 64)};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		CHECK_EQ_U64(field_mod_s128(edges[i]), ref_mod(edges[i]));
	int wrong = 0;
	for (int t = 0; t < 200000; t++) {
		__int128 x = (__int128)(((unsigned __int128)rng() << 64) | rng());
		x >>= rng() % 127; /* every magnitude, both signs */
		wrong += field_mod_s128(x) != ref_mod(x);
	}
	CHECK_EQ_INT(wrong, 0);
}

static void test_mod_limbs(void)
{
	const int64_t big = ((int64_t)1 << 56) - 1; /* the bound: |lo|, |hi| < 2^56 */
	const int64_t edges[] = {0,
				 1,
				 -1,
				 big,
				 -big,
				 big - 1,
				 -(big - 1),
				 (int64_t)1 << 55,
				 -((int64_t)1 << 55),
				 1 << 30,
				 -(1 << 30),
				 (1 << 30) - 1,
				 -((1 << 30) - 1)};
	size_t n = sizeof(edges) / sizeof(edges[0]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			CHECK_EQ_U64(field_mod_limbs(edges[i], edges[j]),
				     ref_mod((__int128)edges[i] + (__int128)edges[j] * ((__int128)1 << 31)));
	int wrong = 0;
	for (int t = 0; t < 200000; t++) {
		int64_t lo = (int64_t)(rng() % (2 * (uint64_t)big + 1)) - big;
		int64_t hi = (int64_t)(rng() % (2 * (uint64_t)big + 1)) - big;
		wrong +=
			field_mod_limbs(lo, hi) != ref_mod((__int128)lo + (__int128)hi * ((__int128)1 << 31));
	}
	CHECK_EQ_INT(wrong, 0);
}

/* Operands at the bounds (extreme = 1: every entry and multiplier at its
 * largest magnitude) or random within them. */
static void fill(int8_t *x, int32_t *v, int64_t *c31, int64_t *c21, uint32_t n, int extreme)
{
	for (uint32_t i = 0; i < n; i++) {
		x[i] = extreme ? -128 : (int8_t)rng();
		v[i] = extreme ? INT32_MIN : (int32_t)rng();
		c31[i] = extreme ? (int64_t)FIELD_LIMB31 : (int64_t)(rng() & FIELD_LIMB31);
		c21[i] = extreme ? (int64_t)FIELD_LIMB21 : (int64_t)(rng() & FIELD_LIMB21);
	}
}

/* The largest dot2 (k = 2^17 - 1 int8 at -128 against 2^31 - 1) and dot3
 * (FIELD_DOT3_CHUNK int32 at -2^31 against 2^21 - 1), and short random ones
 * with every tail length: each level equals the 128-bit sum. */
static void test_limb_sums_every_level(void)
{
	const uint32_t kmax = KERNEL_MAX_K;
	int8_t *x = malloc(kmax);
	int32_t *v = malloc(4 * (size_t)kmax);
	int64_t *c31 = malloc(8 * (size_t)kmax), *c21 = malloc(8 * (size_t)kmax);
	if (!x || !v || !c31 || !c21) {
		CHECK(0);
		goto out;
	}
	for (int cap = 0; cap <= 2; cap++) {
		int level = field_simd_level(cap);
		for (int round = 0; round < 40; round++) {
			int extreme = round < 2;
			uint32_t k = round == 0   ? kmax
				     : round == 1 ? FIELD_DOT3_CHUNK
						  : (uint32_t)(rng() % 70);
			uint32_t n = k < FIELD_DOT3_CHUNK ? k : FIELD_DOT3_CHUNK;
			fill(x, v, c31, c21, k, extreme);
			__int128 want2[2] = {0, 0}, want3[3] = {0, 0, 0};
			for (uint32_t t = 0; t < k; t++) {
				want2[0] += (__int128)x[t] * c31[t];
				want2[1] += (__int128)x[t] * c21[t];
			}
			for (uint32_t j = 0; j < n; j++)
				for (int q = 0; q < 3; q++)
					want3[q] += (__int128)v[j] *
						    (q == 1 ? c31[j] & (int64_t)FIELD_LIMB21 : c21[j]);
			int64_t got2[2], got3[3];
			field_dot2_i8(level, x, c31, c21, k, got2);
			CHECK(got2[0] == want2[0] && got2[1] == want2[1]);
			int64_t *c1 = malloc(8 * (size_t)(n ? n : 1));
			if (!c1) {
				CHECK(0);
				goto out;
			}
			for (uint32_t j = 0; j < n; j++)
				c1[j] = c31[j] & (int64_t)FIELD_LIMB21;
			field_dot3_i32(level, v, c21, c1, c21, n, got3);
			CHECK(got3[0] == want3[0] && got3[1] == want3[1] && got3[2] == want3[2]);
			/* four rows at once: the same sums as one at a time */
			const int8_t *x4[4] = {x, x, x, x};
			const int32_t *v4[4] = {v, v, v, v};
			int64_t got24[4][2], got34[4][3];
			field_dot2x4_i8(level, x4, c31, c21, k, got24);
			field_dot3x4_i32(level, v4, c21, c1, c21, n, got34);
			for (int q = 0; q < 4; q++) {
				CHECK(memcmp(got24[q], got2, sizeof(got2)) == 0);
				CHECK(memcmp(got34[q], got3, sizeof(got3)) == 0);
			}
			free(c1);
		}
	}
out:
	free(x);
	free(v);
	free(c31);
	free(c21);
}

/* field_matvec_i8 at every level against an __int128 sum, mod p: rows
 * around the two-row blocks, lengths around the 32- and 64-byte chunks,
 * and the extremes (every weight -128 or 127, every r[j] = p - 1), also at
 * the longest row the limits allow. */
static void test_matvec_every_level(void)
{
	const uint32_t nmax = KERNEL_MAX_K;
	static const uint32_t lens[] = {1, 31, 32, 33, 63, 64, 65, 100, 1000, KERNEL_MAX_K};
	int8_t *W = malloc(3 * (size_t)nmax);
	uint64_t *r = malloc(8 * (size_t)nmax), u[3];
	uint8_t *limbs = malloc((size_t)FIELD_LIMBS7 * nmax);
	if (!W || !r || !limbs) {
		CHECK(0);
		goto out;
	}
	int bad = 0;
	for (int cap = 0; cap <= 2; cap++) {
		int level = field_simd_level(cap);
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			for (int extreme = 0; extreme <= 2; extreme++) {
				uint32_t n = lens[li], rows = 1 + (uint32_t)(li % 3);
				for (size_t t = 0; t < (size_t)rows * n; t++)
					W[t] = extreme == 1 ? -128 : extreme == 2 ? 127 : (int8_t)rng();
				for (uint32_t j = 0; j < n; j++)
					r[j] = extreme ? FIELD_P61 - 1 : rng() % FIELD_P61;
				field_limbs7(r, n, limbs);
				field_matvec_i8(level, W, rows, n, limbs, u);
				for (uint32_t i = 0; i < rows; i++) {
					__int128 want = 0;
					for (uint32_t j = 0; j < n; j++)
						want += (__int128)W[(size_t)i * n + j] * r[j];
					bad += u[i] != field_mod_s128(want);
				}
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
out:
	free(W);
	free(r);
	free(limbs);
}

/* axpy and axpy4 at every level against plain int64 sums (each product
 * < 2^38, few of them: no overflow on either side). */
static void test_axpy_every_level(void)
{
	enum { K = 67 };
	int8_t cols[4][K];
	for (int q = 0; q < 4; q++)
		for (int t = 0; t < K; t++)
			cols[q][t] = (int8_t)(q == 0 ? -128 : (int)rng());
	const int8_t *x4[4] = {cols[0], cols[1], cols[2], cols[3]};
	int64_t c_lo[4], c_hi[4];
	for (int q = 0; q < 4; q++) {
		c_lo[q] = q == 0 ? (int64_t)FIELD_LIMB31 : (int64_t)(rng() & FIELD_LIMB31);
		c_hi[q] = (int64_t)(rng() >> 34);
	}
	int64_t want_lo[K], want_hi[K];
	for (int t = 0; t < K; t++) {
		want_lo[t] = want_hi[t] = 0;
		for (int q = 0; q < 4; q++) {
			want_lo[t] += cols[q][t] * c_lo[q];
			want_hi[t] += cols[q][t] * c_hi[q];
		}
	}
	for (int cap = 0; cap <= 2; cap++) {
		int level = field_simd_level(cap);
		int64_t lo[K] = {0}, hi[K] = {0}, one_lo[K] = {0}, one_hi[K] = {0};
		field_axpy4_i8(level, lo, hi, x4, c_lo, c_hi, K);
		for (int q = 0; q < 4; q++) {
			field_axpy_i8(level, one_lo, cols[q], c_lo[q], K);
			field_axpy_i8(level, one_hi, cols[q], c_hi[q], K);
		}
		CHECK_EQ_MEM(lo, want_lo, sizeof(lo));
		CHECK_EQ_MEM(hi, want_hi, sizeof(hi));
		CHECK_EQ_MEM(one_lo, want_lo, sizeof(lo));
		CHECK_EQ_MEM(one_hi, want_hi, sizeof(hi));
	}
}

/* The drawn words are the definition's: H_tag(tag, prefix || u64 LE block),
 * low 61 bits of each LE word, 0 and p skipped; kernel_freivalds_vector is
 * that draw with prefix seed || u32 LE i; and one vector is pinned. */
static void test_draw_vector(void)
{
	uint8_t seed[HASH_LEN];
	for (int i = 0; i < HASH_LEN; i++)
		seed[i] = (uint8_t)i;
	uint8_t prefix[HASH_LEN + 4];
	memcpy(prefix, seed, HASH_LEN);
	le32_put(prefix + HASH_LEN, 7);
	enum { N = 41 };
	uint64_t got[N], want[N], via_kernel[N];
	field_draw_vector("assay/freivalds", prefix, sizeof(prefix), N, got);
	uint32_t n = 0;
	for (uint64_t b = 0; n < N; b++) {
		uint8_t in[HASH_LEN + 4 + 8], h[HASH_LEN];
		memcpy(in, prefix, sizeof(prefix));
		le64_put(in + sizeof(prefix), b);
		hash_tagged("assay/freivalds", in, sizeof(in), h);
		for (int w = 0; w < 4 && n < N; w++) {
			uint64_t word = le64_get(h + 8 * w) & FIELD_P61;
			if (word != 0 && word != FIELD_P61)
				want[n++] = word;
		}
	}
	CHECK_EQ_MEM(got, want, sizeof(got));
	kernel_freivalds_vector(seed, 7, N, via_kernel);
	CHECK_EQ_MEM(via_kernel, got, sizeof(got));
	CHECK_EQ_U64(got[0], PINNED_0);
	CHECK_EQ_U64(got[N - 1], PINNED_LAST);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_mod_s128),         TEST(test_mod_limbs),   TEST(test_limb_sums_every_level),
		TEST(test_axpy_every_level), TEST(test_matvec_every_level), TEST(test_draw_vector),
	};
	return test_main("test_field", NULL, cases, TEST_COUNT(cases));
}

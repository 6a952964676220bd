/* The ChaCha keystream (see chacha.h). The SIMD paths keep one state word
 * of 8 or 16 consecutive blocks per vector register (block i's counter in
 * lane i), run the rounds lane-wise, and transpose the words back into
 * blocks before storing: the layout of the fast ChaCha implementations,
 * written here from the specification. Not for: anything but keystream. */
#include <string.h>
#if defined(__x86_64__) && !defined(ASSAY_NO_SIMD) /* ASSAY_NO_SIMD: portable build */
#include <immintrin.h>
#define CHACHA_X86 1
#endif

#include "core/buf.h"
#include "core/chacha.h"

/* "expand 32-byte k" as four little-endian words (RFC 8439 §2.3). */
static const uint32_t sigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};

static void initial_state(const uint8_t key[CHACHA_KEY_LEN], uint32_t block, uint32_t s[16])
{
	memcpy(s, sigma, sizeof(sigma));
	for (int i = 0; i < 8; i++)
		s[4 + i] = le32_get(key + 4 * i);
	s[12] = block;
	s[13] = s[14] = s[15] = 0; /* the nonce */
}

#define ROTL32(v, c) (((v) << (c)) | ((v) >> (32 - (c))))
#define QUARTER(a, b, c, d)                      \
	do {                                     \
		a += b, d ^= a, d = ROTL32(d, 16); \
		c += d, b ^= c, b = ROTL32(b, 12); \
		a += b, d ^= a, d = ROTL32(d, 8);  \
		c += d, b ^= c, b = ROTL32(b, 7);  \
	} while (0)

/* One 64-byte block of the keystream of state s. */
static void block_portable(const uint32_t s[16], unsigned rounds, uint8_t out[CHACHA_BLOCK_LEN])
{
	uint32_t x[16];
	memcpy(x, s, sizeof(x));
	for (unsigned r = 0; r < rounds; r += 2) {
		QUARTER(x[0], x[4], x[8], x[12]); /* columns */
		QUARTER(x[1], x[5], x[9], x[13]);
		QUARTER(x[2], x[6], x[10], x[14]);
		QUARTER(x[3], x[7], x[11], x[15]);
		QUARTER(x[0], x[5], x[10], x[15]); /* diagonals */
		QUARTER(x[1], x[6], x[11], x[12]);
		QUARTER(x[2], x[7], x[8], x[13]);
		QUARTER(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		le32_put(out + 4 * i, x[i] + s[i]);
}
#undef QUARTER

#ifdef CHACHA_X86
/* The rounds on vectors of one word per block: V is the vector type, ADD,
 * XOR and ROT its operations. Shared by both SIMD paths. */
#define VQUARTER(a, b, c, d)                              \
	do {                                              \
		a = ADD(a, b), d = XOR(d, a), d = ROT16(d); \
		c = ADD(c, d), b = XOR(b, c), b = ROT(b, 12); \
		a = ADD(a, b), d = XOR(d, a), d = ROT8(d);  \
		c = ADD(c, d), b = XOR(b, c), b = ROT(b, 7);  \
	} while (0)
#define VROUNDS(x, rounds)                                  \
	for (unsigned r = 0; r < (rounds); r += 2) {        \
		VQUARTER(x[0], x[4], x[8], x[12]);          \
		VQUARTER(x[1], x[5], x[9], x[13]);          \
		VQUARTER(x[2], x[6], x[10], x[14]);         \
		VQUARTER(x[3], x[7], x[11], x[15]);         \
		VQUARTER(x[0], x[5], x[10], x[15]);         \
		VQUARTER(x[1], x[6], x[11], x[12]);         \
		VQUARTER(x[2], x[7], x[8], x[13]);          \
		VQUARTER(x[3], x[4], x[9], x[14]);          \
	}

/* Words w[4q..4q+3] of a vector per word become, in each 128-bit lane L,
 * u[j] = (w0, w1, w2, w3) of block 4L + j: the 4 x 4 transposes inside
 * lanes that both paths start their output with. */
#define LANE_TRANSPOSE(UNLO32, UNHI32, UNLO64, UNHI64, w, u)        \
	do {                                                        \
		__typeof__(w[0]) t0 = UNLO32(w[0], w[1]), t1 = UNHI32(w[0], w[1]); \
		__typeof__(w[0]) t2 = UNLO32(w[2], w[3]), t3 = UNHI32(w[2], w[3]); \
		u[0] = UNLO64(t0, t2), u[1] = UNHI64(t0, t2);       \
		u[2] = UNLO64(t1, t3), u[3] = UNHI64(t1, t3);       \
	} while (0)

/* The AVX2 rounds in assembly. GCC 12 kept the sixteen state vectors and
 * the two byte-shuffle masks in the sixteen ymm registers there are by
 * spilling some of them every round, and ran a double round in about 60
 * cycles. Here word i of the state stays in ymm<i> for i = 1..15; word 0
 * lives in memory as the operand of its adds, the masks are memory
 * operands, and ymm0 is every temporary (the core renames it, so the four
 * quarter rounds still run side by side). AT&T order: source first.
 *   AROT: a += b, d ^= a, d = d <<< 16 or 8 (a byte shuffle); AROT0 with
 *         a = word 0 in memory
 *   CROT: c += d, b ^= c, b = b <<< n (two shifts and an or) */
#define AROT(a, b, d, mask)                                   \
	"vpaddd %%ymm" #b ", %%ymm" #a ", %%ymm" #a "\n\t"    \
	"vpxor %%ymm" #a ", %%ymm" #d ", %%ymm" #d "\n\t"     \
	"vpshufb " mask ", %%ymm" #d ", %%ymm" #d "\n\t"
#define AROT0(b, d, mask)                                     \
	"vpaddd (%[x]), %%ymm" #b ", %%ymm0\n\t"              \
	"vmovdqa %%ymm0, (%[x])\n\t"                          \
	"vpxor %%ymm0, %%ymm" #d ", %%ymm" #d "\n\t"          \
	"vpshufb " mask ", %%ymm" #d ", %%ymm" #d "\n\t"
#define CROT(b, c, d, n)                                      \
	"vpaddd %%ymm" #d ", %%ymm" #c ", %%ymm" #c "\n\t"    \
	"vpxor %%ymm" #c ", %%ymm" #b ", %%ymm" #b "\n\t"     \
	"vpslld $" #n ", %%ymm" #b ", %%ymm0\n\t"             \
	"vpsrld $(32-" #n "), %%ymm" #b ", %%ymm" #b "\n\t"   \
	"vpor %%ymm0, %%ymm" #b ", %%ymm" #b "\n\t"
/* The quarter rounds (0, b0, c0, d0), (1, b1, c1, d1), (2, ...), (3, ...)
 * side by side. */
#define HALF(b0, c0, d0, b1, c1, d1, b2, c2, d2, b3, c3, d3)                                   \
	AROT0(b0, d0, "%[r16]") AROT(1, b1, d1, "%[r16]")                                        \
	AROT(2, b2, d2, "%[r16]") AROT(3, b3, d3, "%[r16]")                                      \
	CROT(b0, c0, d0, 12) CROT(b1, c1, d1, 12) CROT(b2, c2, d2, 12) CROT(b3, c3, d3, 12) \
	AROT0(b0, d0, "%[r8]") AROT(1, b1, d1, "%[r8]")                                          \
	AROT(2, b2, d2, "%[r8]") AROT(3, b3, d3, "%[r8]")                                        \
	CROT(b0, c0, d0, 7) CROT(b1, c1, d1, 7) CROT(b2, c2, d2, 7) CROT(b3, c3, d3, 7)
#define LOAD(i) "vmovdqa " #i "*32(%[x]), %%ymm" #i "\n\t"
#define STORE(i) "vmovdqa %%ymm" #i ", " #i "*32(%[x])\n\t"

/* (rounds + 1) / 2 double rounds on x[0..16), as VROUNDS runs them. */
__attribute__((target("avx2"))) static void rounds8_avx2(__m256i x[16], unsigned rounds)
{
	static const uint8_t masks[2][32] __attribute__((aligned(32))) = {
		{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
		 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13}, /* <<< 16 */
		{3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
		 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14}, /* <<< 8 */
	};
	unsigned doubles = (rounds + 1) / 2;
	if (!doubles)
		return;
	__asm__ volatile(
		LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7) LOAD(8)
		LOAD(9) LOAD(10) LOAD(11) LOAD(12) LOAD(13) LOAD(14) LOAD(15)
		"1:\n\t"
		HALF(4, 8, 12, 5, 9, 13, 6, 10, 14, 7, 11, 15) /* columns */
		HALF(5, 10, 15, 6, 11, 12, 7, 8, 13, 4, 9, 14) /* diagonals */
		"dec %[n]\n\t"
		"jnz 1b\n\t"
		STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7) STORE(8)
		STORE(9) STORE(10) STORE(11) STORE(12) STORE(13) STORE(14) STORE(15)
		: [n] "+r"(doubles)
		: [x] "r"(x), [r16] "m"(masks[0]), [r8] "m"(masks[1])
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
		  "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}
#undef STORE
#undef LOAD
#undef HALF
#undef CROT
#undef AROT0
#undef AROT

/* Blocks block..block+7 into out[0..512). */
/* Blocks block..block+7 into out[0..512); sliced: word w of the eight
 * blocks as one ymm at out + 64 w (half of a word-sliced unit, chacha.h:
 * the caller puts the second eight blocks at out + 32). */
__attribute__((target("avx2"))) static void blocks8_avx2(const uint32_t s[16], unsigned rounds, uint8_t *out,
							 int sliced)
{
	const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	__m256i x[16];
	for (int i = 0; i < 16; i++)
		x[i] = _mm256_set1_epi32((int)s[i]);
	x[12] = _mm256_add_epi32(x[12], lanes);
	rounds8_avx2(x, rounds);
	for (int i = 0; i < 16; i++)
		x[i] = _mm256_add_epi32(x[i], _mm256_set1_epi32((int)s[i]));
	x[12] = _mm256_add_epi32(x[12], lanes);
	if (sliced) {
		for (int i = 0; i < 16; i++)
			_mm256_storeu_si256((__m256i *)(out + 64 * i), x[i]);
		return;
	}
	/* u[q][j], lane L: words 4q..4q+3 of block 4L + j */
	__m256i u[4][4];
	for (int q = 0; q < 4; q++)
		LANE_TRANSPOSE(_mm256_unpacklo_epi32, _mm256_unpackhi_epi32, _mm256_unpacklo_epi64,
			       _mm256_unpackhi_epi64, (x + 4 * q), u[q]);
	for (int j = 0; j < 4; j++) {
		uint8_t *lo = out + 64 * j, *hi = out + 64 * (4 + j);
		_mm256_storeu_si256((__m256i *)lo, _mm256_permute2x128_si256(u[0][j], u[1][j], 0x20));
		_mm256_storeu_si256((__m256i *)(lo + 32), _mm256_permute2x128_si256(u[2][j], u[3][j], 0x20));
		_mm256_storeu_si256((__m256i *)hi, _mm256_permute2x128_si256(u[0][j], u[1][j], 0x31));
		_mm256_storeu_si256((__m256i *)(hi + 32), _mm256_permute2x128_si256(u[2][j], u[3][j], 0x31));
	}
}
#define ADD _mm512_add_epi32
#define XOR _mm512_xor_si512
#define ROT(v, c) _mm512_rol_epi32(v, c)
#define ROT16(v) _mm512_rol_epi32(v, 16)
#define ROT8(v) _mm512_rol_epi32(v, 8)
/* The final add and the transposes of a 16-block batch x (counters
 * s[12] + lanes), stored as 16 blocks at out. */
static inline __attribute__((target("avx512f"), always_inline)) void
store16_avx512(__m512i x[16], const uint32_t s[16], __m512i lanes, uint8_t *out)
{
	for (int i = 0; i < 16; i++)
		x[i] = _mm512_add_epi32(x[i], _mm512_set1_epi32((int)s[i]));
	x[12] = _mm512_add_epi32(x[12], lanes);
	__m512i u[4][4];
	for (int q = 0; q < 4; q++)
		LANE_TRANSPOSE(_mm512_unpacklo_epi32, _mm512_unpackhi_epi32, _mm512_unpacklo_epi64,
			       _mm512_unpackhi_epi64, (x + 4 * q), u[q]);
	/* Block 4L + j is lane L of u[0][j], u[1][j], u[2][j], u[3][j]: a 4 x 4
	 * transpose of 128-bit lanes. */
	for (int j = 0; j < 4; j++) {
		__m512i p0 = _mm512_shuffle_i32x4(u[0][j], u[1][j], 0x44); /* u0 L0, L1, u1 L0, L1 */
		__m512i p1 = _mm512_shuffle_i32x4(u[0][j], u[1][j], 0xee); /* u0 L2, L3, u1 L2, L3 */
		__m512i q0 = _mm512_shuffle_i32x4(u[2][j], u[3][j], 0x44);
		__m512i q1 = _mm512_shuffle_i32x4(u[2][j], u[3][j], 0xee);
		_mm512_storeu_si512(out + 64 * j, _mm512_shuffle_i32x4(p0, q0, 0x88));
		_mm512_storeu_si512(out + 64 * (4 + j), _mm512_shuffle_i32x4(p0, q0, 0xdd));
		_mm512_storeu_si512(out + 64 * (8 + j), _mm512_shuffle_i32x4(p1, q1, 0x88));
		_mm512_storeu_si512(out + 64 * (12 + j), _mm512_shuffle_i32x4(p1, q1, 0xdd));
	}
}
/* Blocks block..block+15 into out[0..1024). */
__attribute__((target("avx512f"))) static void blocks16_avx512(const uint32_t s[16], unsigned rounds,
							       uint8_t *out)
{
	/* As in the AVX2 path, the input words are broadcast again at the end:
	 * kept, they and the state would take all 32 registers. */
	const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	__m512i x[16];
	for (int i = 0; i < 16; i++)
		x[i] = _mm512_set1_epi32((int)s[i]);
	x[12] = _mm512_add_epi32(x[12], lanes);
	VROUNDS(x, rounds)
	store16_avx512(x, s, lanes, out);
}

/* Two 16-block batches with their rounds in assembly: GCC 12 spilled a
 * third of the 32 words every double round, which held the path to about
 * half of what the vector units allow. Word i of the first batch stays in
 * zmm<i>, of the second in zmm<16 + i>; vprold rotates in place, so no
 * register is left over or needed. Each step runs on the four quarter
 * rounds of a half-round of both batches side by side (eight independent
 * chains). AT&T order: source first.
 *   ZSTEP: a += b, d ^= a, d = d <<< n */
#define ZSTEP(a, b, d, n)                                   \
	"vpaddd %%zmm" #b ", %%zmm" #a ", %%zmm" #a "\n\t"  \
	"vpxord %%zmm" #a ", %%zmm" #d ", %%zmm" #d "\n\t"  \
	"vprold $" #n ", %%zmm" #d ", %%zmm" #d "\n\t"
/* One step of quarter rounds (a_q, b_q, d_q) for q = 0..3 of the first
 * batch and the same words (+16) of the second. */
#define ZSTEP8(n, a0, b0, d0, a1, b1, d1, a2, b2, d2, a3, b3, d3, A0, B0, D0, A1, B1, D1, A2, B2, D2, A3, \
	       B3, D3)                                                                                    \
	ZSTEP(a0, b0, d0, n) ZSTEP(A0, B0, D0, n) ZSTEP(a1, b1, d1, n) ZSTEP(A1, B1, D1, n)               \
		ZSTEP(a2, b2, d2, n) ZSTEP(A2, B2, D2, n) ZSTEP(a3, b3, d3, n) ZSTEP(A3, B3, D3, n)
/* A half round: quarter rounds (q, b_q, c_q, d_q), q = 0..3, on both batches. */
#define ZHALF(b0, c0, d0, b1, c1, d1, b2, c2, d2, b3, c3, d3, B0, C0, D0, B1, C1, D1, B2, C2, D2, B3, C3,  \
	      D3)                                                                                          \
	ZSTEP8(16, 0, b0, d0, 1, b1, d1, 2, b2, d2, 3, b3, d3, 16, B0, D0, 17, B1, D1, 18, B2, D2, 19, B3, \
	       D3)                                                                                         \
	ZSTEP8(12, c0, d0, b0, c1, d1, b1, c2, d2, b2, c3, d3, b3, C0, D0, B0, C1, D1, B1, C2, D2, B2, C3, \
	       D3, B3)                                                                                     \
	ZSTEP8(8, 0, b0, d0, 1, b1, d1, 2, b2, d2, 3, b3, d3, 16, B0, D0, 17, B1, D1, 18, B2, D2, 19, B3,  \
	       D3)                                                                                         \
	ZSTEP8(7, c0, d0, b0, c1, d1, b1, c2, d2, b2, c3, d3, b3, C0, D0, B0, C1, D1, B1, C2, D2, B2, C3,  \
	       D3, B3)
#define ZLOAD(i) "vmovdqa64 " #i "*64(%[x]), %%zmm" #i "\n\t"
#define ZSTORE(i) "vmovdqa64 %%zmm" #i ", " #i "*64(%[x])\n\t"

/* (rounds + 1) / 2 double rounds on both batches, x[0..16) and x[16..32),
 * as VROUNDS runs them on each. */
__attribute__((target("avx512f"))) static void rounds32_avx512(__m512i x[32], unsigned rounds)
{
	unsigned doubles = (rounds + 1) / 2;
	if (!doubles)
		return;
	__asm__ volatile(
		ZLOAD(0) ZLOAD(1) ZLOAD(2) ZLOAD(3) ZLOAD(4) ZLOAD(5) ZLOAD(6) ZLOAD(7)
		ZLOAD(8) ZLOAD(9) ZLOAD(10) ZLOAD(11) ZLOAD(12) ZLOAD(13) ZLOAD(14) ZLOAD(15)
		ZLOAD(16) ZLOAD(17) ZLOAD(18) ZLOAD(19) ZLOAD(20) ZLOAD(21) ZLOAD(22) ZLOAD(23)
		ZLOAD(24) ZLOAD(25) ZLOAD(26) ZLOAD(27) ZLOAD(28) ZLOAD(29) ZLOAD(30) ZLOAD(31)
		"1:\n\t"
		ZHALF(4, 8, 12, 5, 9, 13, 6, 10, 14, 7, 11, 15,
		      20, 24, 28, 21, 25, 29, 22, 26, 30, 23, 27, 31) /* columns */
		ZHALF(5, 10, 15, 6, 11, 12, 7, 8, 13, 4, 9, 14,
		      21, 26, 31, 22, 27, 28, 23, 24, 29, 20, 25, 30) /* diagonals */
		"dec %[n]\n\t"
		"jnz 1b\n\t"
		ZSTORE(0) ZSTORE(1) ZSTORE(2) ZSTORE(3) ZSTORE(4) ZSTORE(5) ZSTORE(6) ZSTORE(7)
		ZSTORE(8) ZSTORE(9) ZSTORE(10) ZSTORE(11) ZSTORE(12) ZSTORE(13) ZSTORE(14) ZSTORE(15)
		ZSTORE(16) ZSTORE(17) ZSTORE(18) ZSTORE(19) ZSTORE(20) ZSTORE(21) ZSTORE(22) ZSTORE(23)
		ZSTORE(24) ZSTORE(25) ZSTORE(26) ZSTORE(27) ZSTORE(28) ZSTORE(29) ZSTORE(30) ZSTORE(31)
		"vzeroupper\n\t"
		: [n] "+r"(doubles)
		: [x] "r"(x)
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
		  "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19",
		  "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29",
		  "xmm30", "xmm31");
}
#undef ZSTORE
#undef ZLOAD
#undef ZHALF
#undef ZSTEP8
#undef ZSTEP

/* The final add of a 16-block batch, stored word-sliced (chacha.h): zmm
 * x[w] holds word w of the sixteen blocks, so it is stored whole at 64 w. */
static inline __attribute__((target("avx512f"), always_inline)) void
store16_sliced_avx512(__m512i x[16], const uint32_t s[16], __m512i lanes, uint8_t *out)
{
	for (int i = 0; i < 16; i++) {
		__m512i v = _mm512_add_epi32(x[i], _mm512_set1_epi32((int)s[i]));
		_mm512_storeu_si512(out + 64 * i, i == 12 ? _mm512_add_epi32(v, lanes) : v);
	}
}

/* Blocks block..block+31 into out[0..2048). */
__attribute__((target("avx512f"))) static void blocks32_avx512(const uint32_t s[16], unsigned rounds,
							       uint8_t *out, int sliced)
{
	const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	const __m512i lanes16 = _mm512_add_epi32(lanes, _mm512_set1_epi32(16));
	__m512i x[32] __attribute__((aligned(64)));
	for (int i = 0; i < 16; i++)
		x[i] = x[16 + i] = _mm512_set1_epi32((int)s[i]);
	x[12] = _mm512_add_epi32(x[12], lanes);
	x[28] = _mm512_add_epi32(x[28], lanes16);
	rounds32_avx512(x, rounds);
	if (sliced) {
		store16_sliced_avx512(x, s, lanes, out);
		store16_sliced_avx512(x + 16, s, lanes16, out + 16 * CHACHA_BLOCK_LEN);
		return;
	}
	store16_avx512(x, s, lanes, out);
	store16_avx512(x + 16, s, lanes16, out + 16 * CHACHA_BLOCK_LEN);
}
#undef ADD
#undef XOR
#undef ROT
#undef ROT16
#undef ROT8
#undef LANE_TRANSPOSE
#undef VROUNDS
#undef VQUARTER
#endif

int chacha_level(int max_level)
{
#ifdef CHACHA_X86
	__builtin_cpu_init();
	if (max_level >= CHACHA_AVX512 && __builtin_cpu_supports("avx512f"))
		return CHACHA_AVX512;
	if (max_level >= CHACHA_AVX2 && __builtin_cpu_supports("avx2"))
		return CHACHA_AVX2;
#else
	(void)max_level;
#endif
	return CHACHA_PORTABLE;
}

/* per blocks (1, 8, 16 or 32, as chacha_level allows) from state s into dst. */
static void blocks(const uint32_t s[16], unsigned rounds, size_t per, uint8_t *dst)
{
#ifdef CHACHA_X86
	if (per == 32)
		blocks32_avx512(s, rounds, dst, 0);
	else if (per == 16)
		blocks16_avx512(s, rounds, dst);
	else if (per == 8)
		blocks8_avx2(s, rounds, dst, 0);
	else
#endif
		block_portable(s, rounds, dst);
}

void chacha_keystream_at(const uint8_t key[CHACHA_KEY_LEN], unsigned rounds, uint32_t block, uint8_t *out,
			 size_t n, int max_level)
{
	uint32_t s[16];
	initial_state(key, block, s);
	int level = chacha_level(max_level);
	while (n) {
		/* the widest pass that the blocks left fill, one block at a time
		 * at the end, so that a short request costs no wasted blocks */
		size_t left = (n + CHACHA_BLOCK_LEN - 1) / CHACHA_BLOCK_LEN, per = 1;
		if (level >= CHACHA_AVX512 && left >= 32)
			per = 32;
		else if (level >= CHACHA_AVX512 && left >= 16)
			per = 16;
		else if (level >= CHACHA_AVX2 && left >= 8)
			per = 8;
		size_t bytes = per * CHACHA_BLOCK_LEN;
		if (n < bytes) { /* the last pass, cut: through a buffer */
			uint8_t tail[32 * CHACHA_BLOCK_LEN];
			blocks(s, rounds, per, tail);
			memcpy(out, tail, n);
			return;
		}
		blocks(s, rounds, per, out);
		s[12] += (uint32_t)per;
		out += bytes;
		n -= bytes;
	}
}

/* Word-sliced order within a unit of 16 blocks: the word w of block b of
 * the unit comes from byte (16 b + w) 4 of the plain keystream. */
static void slice_unit(const uint8_t *plain, uint8_t *out)
{
	for (int b = 0; b < 16; b++)
		for (int w = 0; w < 16; w++)
			memcpy(out + 4 * (16 * w + b), plain + 4 * (16 * b + w), 4);
}

void chacha_slice(const uint8_t *plain, uint8_t *out, size_t n)
{
	size_t u = 0;
	for (; u + CHACHA_SLICE_UNIT <= n; u += CHACHA_SLICE_UNIT)
		slice_unit(plain + u, out + u);
	memcpy(out + u, plain + u, n - u);
}

void chacha_keystream_sliced_at(const uint8_t key[CHACHA_KEY_LEN], unsigned rounds, uint32_t block,
				uint8_t *out, size_t n, int max_level)
{
	size_t units = n / CHACHA_SLICE_UNIT;
	uint32_t s[16];
	initial_state(key, block, s); /* s[12] counts the blocks done */
#ifdef CHACHA_X86
	int level = chacha_level(max_level);
	/* Pairs of units 32 blocks at a time, then units in halves of 8 (AVX-512
	 * implies AVX2). */
	for (; level >= CHACHA_AVX512 && units >= 2; units -= 2, s[12] += 32, out += 2 * CHACHA_SLICE_UNIT)
		blocks32_avx512(s, rounds, out, 1);
	for (; level >= CHACHA_AVX2 && units; units--, out += CHACHA_SLICE_UNIT) {
		blocks8_avx2(s, rounds, out, 1);
		s[12] += 8;
		blocks8_avx2(s, rounds, out + 32, 1);
		s[12] += 8;
	}
#endif
	/* Portable: the plain keystream, sliced. */
	uint8_t plain[CHACHA_SLICE_UNIT];
	for (; units; units--, s[12] += 16, out += CHACHA_SLICE_UNIT) {
		chacha_keystream_at(key, rounds, s[12], plain, sizeof(plain), max_level);
		slice_unit(plain, out);
	}
	size_t tail = n % CHACHA_SLICE_UNIT;
	if (tail)
		chacha_keystream_at(key, rounds, s[12], out, tail, max_level);
}

void chacha_keystream(const uint8_t key[CHACHA_KEY_LEN], unsigned rounds, uint32_t block, uint8_t *out,
		      size_t n)
{
	chacha_keystream_at(key, rounds, block, out, n, CHACHA_AVX512);
}

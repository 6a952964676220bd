/* The cpu backend (see backend.h): packed, cache-blocked int8 GEMM with
 * runtime dispatch to AVX-512 VNNI (vpdpbusd, 8 x 32 blocks), AVX2
 * (vpmaddwd on int16-widened pairs, 6 x 16 blocks in assembly) or portable
 * C, packing and multiplying on pthreads. Integer sums are exact, so any
 * blocking order gives the reference result bit for bit. Not for: GPUs. */
#include <pthread.h>
#if defined(__x86_64__) && !defined(ASSAY_NO_SIMD) /* ASSAY_NO_SIMD: portable build */
#include <immintrin.h>
#define BACKEND_X86 1 /* AVX2 and AVX-512 VNNI micro-kernels are built */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "worker/backend.h"

/* Every path packs A into panels of mr rows and B into panels of nr columns,
 * both as one 32-bit word per (row or column, group of k): for the madd
 * paths a group is two k values widened to int16, for VNNI four int8 (A
 * stored as a + 128, i.e. a ^ 0x80 as uint8, because vpdpbusd multiplies
 * unsigned by signed bytes; C starts at -128 * colsum(B) to take it back out,
 * exact because int32 sums wrap and the true result fits int32). */

/* Cache blocks, in k groups (KC) and B panels (NC). The AVX2 path takes
 * up to 2048 groups (k = 4096) and at most 8 panels: each k block after the
 * first reloads C's lines from memory, and measured on Zen 4 at 4096^3, 512
 * groups x 16 panels ran 10% slower than 2048 x 8 (at 1024^3 and 2048^3 the
 * larger block is as fast). Fewer panels where the group of B panels would
 * fill more than half of L2 (avx2_panels): every A panel of a chunk reads
 * the whole group, and at 4096^3 eight panels are 1 MiB, twice a Zen 3's
 * L2. VNNI keeps its measured 256 x 16. */
#define KC_GROUPS_AVX2 2048
#define NC_PANELS_AVX2 8
#define L2_GUESS_BYTES ((long)512 << 10) /* where the C library cannot tell */
#define KC_GROUPS 256
#define NC_PANELS 16
#define MAX_MR 8
#define MAX_NR 32

static int isa_cap = BACKEND_ISA_AVX512VNNI;

void backend_cpu_set_isa(int cap)
{
	isa_cap = cap;
}

void backend_cpu_force_portable(int force)
{
	isa_cap = force ? BACKEND_ISA_PORTABLE : BACKEND_ISA_AVX512VNNI;
}

static int isa_level(void)
{
#ifndef BACKEND_X86
	return BACKEND_ISA_PORTABLE;
#else
	__builtin_cpu_init();
	if (isa_cap >= BACKEND_ISA_AVX512VNNI && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"))
		return BACKEND_ISA_AVX512VNNI;
	if (isa_cap >= BACKEND_ISA_AVX2 && __builtin_cpu_supports("avx2"))
		return BACKEND_ISA_AVX2;
	return BACKEND_ISA_PORTABLE;
#endif
}

const char *backend_cpu_isa(void)
{
	static const char *const names[] = {"portable", "avx2", "avx512vnni"};
	return names[isa_level()];
}

/* Adds the block's product into c (row stride ldc), or stores it over c
 * when fresh (the first k block of the madd paths: C is never read first). */
typedef void (*micro_fn)(const uint32_t *a, const uint32_t *b, uint32_t groups, int32_t *c, size_t ldc,
			 int fresh);

struct gemm {
	const uint32_t *bp; /* packed B: panels of nr columns, one word per column and group */
	const uint32_t *ap; /* packed A: panels of mr rows, one word per row and group */
	int32_t *c;
	uint32_t m, n, kq;  /* kq: number of k groups */
	uint32_t mr, nr;
	uint32_t kc;        /* k groups per cache block */
	uint32_t nc;        /* B panels per cache block */
	micro_fn micro;
	const int8_t *A, *Bt; /* the caller's operands, packed by the first phase */
	uint32_t k;
	int vnni;
	uint32_t *ap_out, *bp_out; /* where the first phase writes ap and bp */
	int32_t *col_start;        /* n: the value every row of C starts from */
	uint32_t threads;          /* threads of the second phase */
	uint32_t *next_panel;      /* the first A panel no thread has taken (atomic) */
};

/* Packs one word per (row, group) of a row-major int8 matrix of `rows` x k,
 * panels [p0, p1) of panel_rows rows each. */
static void pack_words(const int8_t *X, uint32_t rows, uint32_t k, uint32_t kq, uint32_t panel_rows,
		       uint32_t p0, uint32_t p1, int vnni, int offset, uint32_t *out)
{
	uint32_t g = vnni ? 4 : 2;
	for (uint32_t p = p0; p < p1; p++) {
		uint32_t *dst = out + (size_t)p * kq * panel_rows;
		for (uint32_t i = 0; i < panel_rows; i++) {
			uint32_t row = p * panel_rows + i;
			const int8_t *src = row < rows ? X + (size_t)row * k : NULL;
			uint32_t whole = src ? k / g : 0; /* groups with no padding */
			for (uint32_t q = 0; q < whole; q++) {
				const int8_t *x = src + (size_t)q * g;
				uint32_t w;
				if (vnni) {
					memcpy(&w, x, 4); /* little-endian: byte e is k = 4q + e */
					w ^= offset ? 0x80808080u : 0;
				} else {
					w = (uint32_t)(uint16_t)(int16_t)x[0] | (uint32_t)(uint16_t)(int16_t)x[1] << 16;
				}
				dst[(size_t)q * panel_rows + i] = w;
			}
			for (uint32_t q = whole; q < kq; q++) {
				uint32_t w = 0;
				for (uint32_t e = 0; e < g; e++) {
					uint32_t t = q * g + e;
					int v = src && t < k ? src[t] : 0;
					/* Padding past k multiplies a zero B entry. */
					uint32_t field = vnni ? (uint8_t)(v + (offset ? 128 : 0)) : (uint16_t)(int16_t)v;
					w |= field << (vnni ? 8 * e : 16 * e);
				}
				dst[(size_t)q * panel_rows + i] = w;
			}
		}
	}
}

#ifdef BACKEND_X86
/* pack_words for the madd paths with AVX2: 8 rows x 8 groups at a time, each
 * row's 16 bytes widened to int16 (so a 32-bit lane is one group) and the
 * 8 x 8 block of words transposed so that each vector is one group's rows.
 * A row past the matrix or past the panel packs as zeros, and so do the
 * bytes past k (they multiply zero entries of the other operand). */
__attribute__((target("avx2"))) static inline __m256i pack_row16(const int8_t *X, uint32_t k, uint32_t row,
								 uint32_t q, int valid)
{
	if (!valid)
		return _mm256_setzero_si256();
	const int8_t *src = X + (size_t)row * k + (size_t)q * 2;
	if ((size_t)q * 2 + 16 <= k)
		return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)src));
	int8_t tail[16] = {0};
	memcpy(tail, src, k - (size_t)q * 2);
	return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)tail));
}

/* Stores go out whole where they can: a panel of at most 8 rows (the A
 * panels, 6 rows) writes its groups in order, so the lanes a group's
 * 8-word store puts past its rows land on the next group's, which is
 * written right after; only the panel's last group needs the masked store
 * (vpmaskmovd, slow on AMD cores: a fifth of the packing time on Zen 3). */
__attribute__((target("avx2"))) static void pack_madd_avx2(const int8_t *X, uint32_t rows, uint32_t k,
							    uint32_t kq, uint32_t panel_rows, uint32_t p0,
							    uint32_t p1, uint32_t *out)
{
	for (uint32_t p = p0; p < p1; p++) {
		uint32_t *dst = out + (size_t)p * kq * panel_rows;
		for (uint32_t r8 = 0; r8 < panel_rows; r8 += 8) {
			uint32_t lanes = panel_rows - r8 < 8 ? panel_rows - r8 : 8;
			uint32_t row0 = p * panel_rows + r8;
			__m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)lanes),
							  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
			int valid[8];
			for (uint32_t i = 0; i < 8; i++)
				valid[i] = i < lanes && row0 + i < rows;
			for (uint32_t q = 0; q < kq; q += 8) {
				__m256i t[8], u[8];
				for (uint32_t i = 0; i < 8; i += 2) {
					__m256i a = pack_row16(X, k, row0 + i, q, valid[i]);
					__m256i b = pack_row16(X, k, row0 + i + 1, q, valid[i + 1]);
					t[i] = _mm256_unpacklo_epi32(a, b);
					t[i + 1] = _mm256_unpackhi_epi32(a, b);
				}
				for (int i = 0; i < 8; i += 4) {
					u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
					u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
					u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
					u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
				}
				for (uint32_t j = 0; j < 8 && q + j < kq; j++) {
					__m256i w = j < 4 ? _mm256_permute2x128_si256(u[j], u[4 + j], 0x20)
							  : _mm256_permute2x128_si256(u[j - 4], u[j], 0x31);
					int32_t *d = (int32_t *)dst + (size_t)(q + j) * panel_rows + r8;
					if (lanes == 8 || (panel_rows <= 8 && q + j + 1 < kq))
						_mm256_storeu_si256((__m256i *)d, w);
					else
						_mm256_maskstore_epi32(d, mask, w);
				}
			}
		}
	}
}
#endif

static void micro_portable(const uint32_t *a, const uint32_t *b, uint32_t groups, int32_t *c, size_t ldc,
			   int fresh)
{
	for (int i = 0; i < 4 && fresh; i++)
		memset(c + i * ldc, 0, 16 * sizeof(int32_t));
	for (uint32_t q = 0; q < groups; q++)
		for (int i = 0; i < 4; i++) {
			uint32_t w = a[(size_t)q * 4 + i];
			int32_t lo = (int16_t)(w & 0xffff), hi = (int16_t)(w >> 16);
			for (int j = 0; j < 16; j++) {
				uint32_t bw = b[(size_t)q * 16 + j];
				c[i * ldc + j] += lo * (int16_t)(bw & 0xffff) + hi * (int16_t)(bw >> 16);
			}
		}
}

#ifdef BACKEND_X86
/* 6 x 16 block: 12 accumulators (ymm0-11: row i in ymm 2i, 2i+1), two B
 * vectors (ymm12, 13), a broadcast A word (ymm14) and a product (ymm15): all
 * 16 ymm registers. Every vpmaddwd needs a vpaddd (AVX2 has no fused form),
 * so the loop is bound by those two on the vector ports. It is assembly
 * because compilers reassociate the integer sums of the unrolled loop and
 * then spill the accumulators to the stack. */
#define AVX2_MADD(i, lo, hi, off)                          \
	"vpbroadcastd " #off "+4*" #i "(%[a]), %%ymm14\n\t" \
	"vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"           \
	"vpaddd %%ymm15, %%" #lo ", %%" #lo "\n\t"         \
	"vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\t"           \
	"vpaddd %%ymm14, %%" #hi ", %%" #hi "\n\t"
#define AVX2_GROUP(aoff, boff)                                                                   \
	"vmovdqa " #boff "(%[b]), %%ymm12\n\t"                                                   \
	"vmovdqa " #boff "+32(%[b]), %%ymm13\n\t" AVX2_MADD(0, ymm0, ymm1, aoff)                 \
		AVX2_MADD(1, ymm2, ymm3, aoff) AVX2_MADD(2, ymm4, ymm5, aoff)                    \
			AVX2_MADD(3, ymm6, ymm7, aoff) AVX2_MADD(4, ymm8, ymm9, aoff)            \
				AVX2_MADD(5, ymm10, ymm11, aoff)
#define AVX2_ZERO(r) "vpxor %%" #r ", %%" #r ", %%" #r "\n\t"
#define AVX2_STORE(lo, hi)                                 \
	"vpaddd (%[c]), %%" #lo ", %%" #lo "\n\t"          \
	"vmovdqu %%" #lo ", (%[c])\n\t"                    \
	"vpaddd 32(%[c]), %%" #hi ", %%" #hi "\n\t"        \
	"vmovdqu %%" #hi ", 32(%[c])\n\t"                  \
	"add %[ldc], %[c]\n\t"
#define AVX2_PUT(lo, hi)                                   \
	"vmovdqu %%" #lo ", (%[c])\n\t"                    \
	"vmovdqu %%" #hi ", 32(%[c])\n\t"                  \
	"add %[ldc], %[c]\n\t"
__attribute__((target("avx2"))) static void micro_avx2(const uint32_t *a, const uint32_t *b, uint32_t groups,
						       int32_t *c, size_t ldc, int fresh)
{
	size_t pairs = groups / 2, odd = groups & 1, ldc_bytes = ldc * sizeof(int32_t), put = fresh != 0;
	/* C's rows are read at the end: fetch their lines while the loop runs. */
	for (int i = 0; i < 6; i++) {
		__builtin_prefetch(c + (size_t)i * ldc);
		__builtin_prefetch(c + (size_t)i * ldc + 15);
	}
	__asm__ volatile(AVX2_ZERO(ymm0) AVX2_ZERO(ymm1) AVX2_ZERO(ymm2) AVX2_ZERO(ymm3)
			 AVX2_ZERO(ymm4) AVX2_ZERO(ymm5) AVX2_ZERO(ymm6) AVX2_ZERO(ymm7)
			 AVX2_ZERO(ymm8) AVX2_ZERO(ymm9) AVX2_ZERO(ymm10) AVX2_ZERO(ymm11)
			 "test %[n], %[n]\n\t"
			 "jz 2f\n\t"
			 "1:\n\t" AVX2_GROUP(0, 0) AVX2_GROUP(24, 64)
			 "add $48, %[a]\n\t"
			 "add $128, %[b]\n\t"
			 "dec %[n]\n\t"
			 "jnz 1b\n\t"
			 "2:\n\t"
			 "test %[odd], %[odd]\n\t"
			 "jz 3f\n\t" AVX2_GROUP(0, 0)
			 "3:\n\t"
			 "test %[put], %[put]\n\t"
			 "jnz 4f\n\t" AVX2_STORE(ymm0, ymm1) AVX2_STORE(ymm2, ymm3) AVX2_STORE(ymm4, ymm5)
			 AVX2_STORE(ymm6, ymm7) AVX2_STORE(ymm8, ymm9) AVX2_STORE(ymm10, ymm11)
			 "jmp 5f\n\t"
			 "4:\n\t" AVX2_PUT(ymm0, ymm1) AVX2_PUT(ymm2, ymm3) AVX2_PUT(ymm4, ymm5)
			 AVX2_PUT(ymm6, ymm7) AVX2_PUT(ymm8, ymm9) AVX2_PUT(ymm10, ymm11)
			 "5:\n\t"
			 "vzeroupper\n\t"
			 : [a] "+r"(a), [b] "+r"(b), [n] "+r"(pairs), [c] "+r"(c)
			 : [odd] "r"(odd), [ldc] "r"(ldc_bytes), [put] "r"(put)
			 : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}
#undef AVX2_STORE
#undef AVX2_PUT
#undef AVX2_ZERO
#undef AVX2_GROUP
#undef AVX2_MADD

/* 8 x 32 block with vpdpbusd: 16 zmm accumulators (row i in zmm 2i,
 * 2i+1), the group's two B vectors (zmm16, 17, or 18, 19 for the second
 * group of a pair) and a broadcast A word (zmm20). Assembly for the reason
 * given for AVX2 above: GCC 12 kept the accumulators in registers but
 * copied all sixteen every group and spilled two, which held the loop to
 * 60% of vpdpbusd's rate on Zen 5. */
#define VNNI_DP(i, lo, hi, off, b0, b1)                      \
	"vpbroadcastd " #off "+4*" #i "(%[a]), %%zmm20\n\t"  \
	"vpdpbusd %%" #b0 ", %%zmm20, %%" #lo "\n\t"         \
	"vpdpbusd %%" #b1 ", %%zmm20, %%" #hi "\n\t"
#define VNNI_GROUP(aoff, boff, b0, b1)                                                           \
	"vmovdqu64 " #boff "(%[b]), %%" #b0 "\n\t"                                              \
	"vmovdqu64 " #boff "+64(%[b]), %%" #b1 "\n\t" VNNI_DP(0, zmm0, zmm1, aoff, b0, b1)      \
		VNNI_DP(1, zmm2, zmm3, aoff, b0, b1) VNNI_DP(2, zmm4, zmm5, aoff, b0, b1)         \
			VNNI_DP(3, zmm6, zmm7, aoff, b0, b1) VNNI_DP(4, zmm8, zmm9, aoff, b0, b1) \
				VNNI_DP(5, zmm10, zmm11, aoff, b0, b1)                            \
					VNNI_DP(6, zmm12, zmm13, aoff, b0, b1)                    \
						VNNI_DP(7, zmm14, zmm15, aoff, b0, b1)
#define VNNI_ZERO(r) "vpxord %%" #r ", %%" #r ", %%" #r "\n\t"
#define VNNI_ADD(lo, hi)                                   \
	"vpaddd (%[c]), %%" #lo ", %%" #lo "\n\t"          \
	"vmovdqu32 %%" #lo ", (%[c])\n\t"                  \
	"vpaddd 64(%[c]), %%" #hi ", %%" #hi "\n\t"        \
	"vmovdqu32 %%" #hi ", 64(%[c])\n\t"                \
	"add %[ldc], %[c]\n\t"
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
micro_vnni(const uint32_t *a, const uint32_t *b, uint32_t groups, int32_t *c, size_t ldc, int fresh)
{
	(void)fresh; /* C starts from col_start: every block adds into it */
	size_t pairs = groups / 2, odd = groups & 1, ldc_bytes = ldc * sizeof(int32_t);
	for (int i = 0; i < 8; i++) {
		__builtin_prefetch(c + (size_t)i * ldc);
		__builtin_prefetch(c + (size_t)i * ldc + 16);
	}
	__asm__ volatile(VNNI_ZERO(zmm0) VNNI_ZERO(zmm1) VNNI_ZERO(zmm2) VNNI_ZERO(zmm3)
			 VNNI_ZERO(zmm4) VNNI_ZERO(zmm5) VNNI_ZERO(zmm6) VNNI_ZERO(zmm7)
			 VNNI_ZERO(zmm8) VNNI_ZERO(zmm9) VNNI_ZERO(zmm10) VNNI_ZERO(zmm11)
			 VNNI_ZERO(zmm12) VNNI_ZERO(zmm13) VNNI_ZERO(zmm14) VNNI_ZERO(zmm15)
			 "test %[n], %[n]\n\t"
			 "jz 2f\n\t"
			 "1:\n\t" VNNI_GROUP(0, 0, zmm16, zmm17) VNNI_GROUP(32, 128, zmm18, zmm19)
			 "add $64, %[a]\n\t"
			 "add $256, %[b]\n\t"
			 "dec %[n]\n\t"
			 "jnz 1b\n\t"
			 "2:\n\t"
			 "test %[odd], %[odd]\n\t"
			 "jz 3f\n\t" VNNI_GROUP(0, 0, zmm16, zmm17)
			 "3:\n\t" VNNI_ADD(zmm0, zmm1) VNNI_ADD(zmm2, zmm3) VNNI_ADD(zmm4, zmm5)
			 VNNI_ADD(zmm6, zmm7) VNNI_ADD(zmm8, zmm9) VNNI_ADD(zmm10, zmm11)
			 VNNI_ADD(zmm12, zmm13) VNNI_ADD(zmm14, zmm15)
			 "vzeroupper\n\t"
			 : [a] "+r"(a), [b] "+r"(b), [n] "+r"(pairs), [c] "+r"(c)
			 : [odd] "r"(odd), [ldc] "r"(ldc_bytes)
			 : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
			   "xmm19", "xmm20");
}
#undef VNNI_ADD
#undef VNNI_ZERO
#undef VNNI_GROUP
#undef VNNI_DP

#else
#define micro_avx2 micro_portable /* never chosen: isa_level() is portable */
#define micro_vnni micro_portable
#endif

struct gemm_job {
	const struct gemm *g;
	uint32_t panel0, panel1;   /* A row panels [panel0, panel1): packed */
	uint32_t bpanel0, bpanel1; /* B column panels [bpanel0, bpanel1): packed */
};

/* First phase: each thread packs its share of both operands (and, for VNNI,
 * the column sums that undo A's +128), so packing is not serial. */
static void *gemm_pack(void *arg)
{
	const struct gemm_job *job = arg;
	const struct gemm *g = job->g;
	/* B panels are columns of B, i.e. rows of Bt, so one packer serves both. */
#ifdef BACKEND_X86
	if (g->micro == micro_avx2) {
		pack_madd_avx2(g->Bt, g->n, g->k, g->kq, g->nr, job->bpanel0, job->bpanel1, g->bp_out);
		pack_madd_avx2(g->A, g->m, g->k, g->kq, g->mr, job->panel0, job->panel1, g->ap_out);
	} else
#endif
	{
		pack_words(g->Bt, g->n, g->k, g->kq, g->nr, job->bpanel0, job->bpanel1, g->vnni, 0, g->bp_out);
		pack_words(g->A, g->m, g->k, g->kq, g->mr, job->panel0, job->panel1, g->vnni, 1, g->ap_out);
	}
	uint32_t j1 = job->bpanel1 * g->nr < g->n ? job->bpanel1 * g->nr : g->n;
	for (uint32_t j = job->bpanel0 * g->nr; j < j1; j++) {
		int32_t colsum = 0;
		if (g->vnni)
			for (uint32_t t = 0; t < g->k; t++)
				colsum += g->Bt[(size_t)j * g->k + t];
		g->col_start[j] = -128 * colsum;
	}
	return NULL;
}

/* Second phase, on A panels [p0, p1). Loop order: a k block (A and B slices
 * sized for L1), a group of B panels (kept in L2), then the A panels against
 * each B panel. The madd paths store the first k block over C (reading C's
 * lines before writing them cost 10% at 1024^3) and add the later ones;
 * VNNI's C starts from col_start and every block adds into it. */
static void gemm_panels(const struct gemm *g, uint32_t p0, uint32_t p1)
{
	uint32_t mr = g->mr, nr = g->nr, bpanels = (g->n + nr - 1) / nr;
	int32_t edge[MAX_MR * MAX_NR] __attribute__((aligned(64)));
	uint32_t row1 = p1 * mr < g->m ? p1 * mr : g->m;
	for (uint32_t r = p0 * mr; r < row1 && g->vnni; r++)
		memcpy(g->c + (size_t)r * g->n, g->col_start, g->n * sizeof(int32_t));
	for (uint32_t q0 = 0; q0 < g->kq; q0 += g->kc) {
		uint32_t nq = g->kq - q0 < g->kc ? g->kq - q0 : g->kc;
		int fresh = !g->vnni && q0 == 0; /* VNNI's C starts from col_start */
		for (uint32_t jb = 0; jb < bpanels; jb += g->nc) {
			uint32_t jend = jb + g->nc < bpanels ? jb + g->nc : bpanels;
			for (uint32_t ap = p0; ap < p1; ap++) {
				uint32_t r0 = ap * mr, rows = g->m - r0 < mr ? g->m - r0 : mr;
				const uint32_t *a = g->ap + ((size_t)ap * g->kq + q0) * mr;
				for (uint32_t bpn = jb; bpn < jend; bpn++) {
					uint32_t c0 = bpn * nr, cols = g->n - c0 < nr ? g->n - c0 : nr;
					const uint32_t *b = g->bp + ((size_t)bpn * g->kq + q0) * nr;
					int32_t *c = g->c + (size_t)r0 * g->n + c0;
					if (rows == mr && cols == nr) {
						g->micro(a, b, nq, c, g->n, fresh);
						continue;
					}
					memset(edge, 0, sizeof(edge));
					for (uint32_t i = 0; i < rows; i++)
						memcpy(edge + i * nr, c + (size_t)i * g->n, cols * sizeof(int32_t));
					g->micro(a, b, nq, edge, nr, fresh);
					for (uint32_t i = 0; i < rows; i++)
						memcpy(c + (size_t)i * g->n, edge + i * nr, cols * sizeof(int32_t));
				}
			}
		}
	}
}

/* Each thread takes chunks of A panels from a shared counter until none
 * are left, so a thread that the machine slows down does less of the work.
 * A chunk is an eighth of what is left per thread, 2 to 16 panels: large
 * enough to reuse its B block in L2, small at the end so that threads
 * finish together (fixed 16-panel chunks left one thread idle for up to 9%
 * of a 1024^3 run). A chunk's rows of C are its own: no two threads write
 * the same bytes. */
static void *gemm_rows(void *arg)
{
	const struct gemm_job *job = arg;
	const struct gemm *g = job->g;
	uint32_t apanels = (g->m + g->mr - 1) / g->mr;
	uint32_t p0 = __atomic_load_n(g->next_panel, __ATOMIC_RELAXED);
	while (p0 < apanels) {
		uint32_t take = (apanels - p0) / (8 * g->threads);
		take = take < 2 ? 2 : take > 16 ? 16 : take;
		uint32_t p1 = apanels - p0 < take ? apanels : p0 + take;
		/* On failure p0 is reloaded with the counter's current value. */
		if (!__atomic_compare_exchange_n(g->next_panel, &p0, p1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		gemm_panels(g, p0, p1);
		p0 = __atomic_load_n(g->next_panel, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int thread_count(int threads)
{
	if (threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (int)n : 1;
	}
	return threads > BACKEND_MAX_THREADS ? BACKEND_MAX_THREADS : threads;
}

/* Runs fn on jobs[0..nt) with nt - 1 extra threads; the jobs of threads
 * that did not start run here, after our own, so the result is the same. */
static void run_jobs_fresh(void *(*fn)(void *), struct gemm_job *jobs, int nt)
{
	pthread_t tid[BACKEND_MAX_THREADS];
	int started = 0;
	for (int t = 1; t < nt; t++) {
		if (pthread_create(&tid[t], NULL, fn, &jobs[t]) != 0)
			break;
		started = t;
	}
	fn(&jobs[0]);
	for (int t = started + 1; t < nt; t++)
		fn(&jobs[t]);
	for (int t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);
}

/* Threads kept between calls. Starting threads for each of a call's two
 * phases cost more than the second thread gained on a 1024^3 product
 * (~3 ms on one VNNI core) where the host had to wake the second vCPU
 * first: two of three runs gained 4-6% from it, while OpenBLAS's resident
 * threads doubled. A helper polls for the next call for POOL_SPIN_NS
 * after each job (a GEMM's two phases, an MLP's layers follow at once),
 * then sleeps. One call uses the pool at a time; a concurrent call starts
 * threads of its own as before. Helpers never exit. */
#define POOL_SPIN_NS 20000

static struct {
	pthread_mutex_t busy;  /* held by the call using the pool */
	pthread_mutex_t lock;  /* guards sleeping on wake */
	pthread_cond_t wake;   /* generation moved */
	unsigned generation;   /* atomic, and under lock when bumped: one per phase */
	void *(*fn)(void *);   /* this phase: helper t runs fn(&jobs[t]) for t < nt */
	struct gemm_job *jobs;
	int nt;
	int pending;           /* atomic: helpers that have not answered this phase */
	int helpers;           /* threads started (1..helpers) */
	unsigned start_generation[BACKEND_MAX_THREADS]; /* per helper: the generation before its first phase */
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#ifdef BACKEND_X86
	_mm_pause();
#endif
}

static void *pool_helper(void *arg)
{
	int self = (int)(intptr_t)arg;
	/* not the generation now: the first phase may already have been posted */
	unsigned seen = pool.start_generation[self];
	for (;;) {
		uint64_t until = mono_ns() + POOL_SPIN_NS;
		unsigned now;
		while ((now = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE)) == seen && mono_ns() < until)
			for (int i = 0; i < 64; i++)
				cpu_relax();
		if (now == seen) {
			pthread_mutex_lock(&pool.lock);
			while ((now = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE)) == seen)
				pthread_cond_wait(&pool.wake, &pool.lock);
			pthread_mutex_unlock(&pool.lock);
		}
		seen = now;
		/* Every helper answers every phase, idle or not, so that none
		 * can still be reading this phase's fields when the next is
		 * posted. */
		if (self < pool.nt)
			pool.fn(&pool.jobs[self]);
		__atomic_fetch_sub(&pool.pending, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void run_jobs(void *(*fn)(void *), struct gemm_job *jobs, int nt)
{
	if (nt <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
		run_jobs_fresh(fn, jobs, nt);
		return;
	}
	while (pool.helpers < nt - 1) {
		pthread_t tid;
		int self = pool.helpers + 1;
		pool.start_generation[self] = pool.generation; /* only bumped under busy */
		if (pthread_create(&tid, NULL, pool_helper, (void *)(intptr_t)self) != 0)
			break;
		pthread_detach(tid);
		pool.helpers = self;
	}
	int helped = pool.helpers < nt - 1 ? pool.helpers : nt - 1;
	pool.fn = fn;
	pool.jobs = jobs;
	pool.nt = helped + 1;
	__atomic_store_n(&pool.pending, pool.helpers, __ATOMIC_RELAXED);
	pthread_mutex_lock(&pool.lock);
	__atomic_fetch_add(&pool.generation, 1, __ATOMIC_RELEASE); /* publishes the phase */
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	fn(&jobs[0]);
	for (int t = helped + 1; t < nt; t++)
		fn(&jobs[t]); /* threads that could not be started */
	while (__atomic_load_n(&pool.pending, __ATOMIC_ACQUIRE))
		cpu_relax();
	pthread_mutex_unlock(&pool.busy);
}

/* One packing buffer is kept between calls: fresh pages for every call cost
 * the kernel's page clearing, 10% of a 1024^3 multiplication, and at 4096^3
 * on two threads (the AVX2 path packs 66 MiB there) the two threads'
 * faults on the same address space cost 4-10%. Buffers over
 * SCRATCH_KEEP_BYTES (twice what any shape of max_dim 4096 packs) are not
 * kept. */
#define SCRATCH_KEEP_BYTES ((size_t)128 << 20)
static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;
static void *scratch;       /* guarded by scratch_lock */
static size_t scratch_size; /* its bytes */

/* A 64-byte aligned buffer of at least bytes (a multiple of 64); NULL when out of memory. */
static void *scratch_take(size_t bytes)
{
	void *p = NULL;
	pthread_mutex_lock(&scratch_lock);
	if (scratch && scratch_size >= bytes) {
		p = scratch;
		scratch = NULL;
	}
	pthread_mutex_unlock(&scratch_lock);
	return p ? p : aligned_alloc(64, bytes);
}

static void scratch_give(void *p, size_t bytes)
{
	pthread_mutex_lock(&scratch_lock);
	if (bytes <= SCRATCH_KEEP_BYTES && (!scratch || bytes > scratch_size)) {
		void *old = scratch;
		scratch = p;
		scratch_size = bytes;
		p = old;
	}
	pthread_mutex_unlock(&scratch_lock);
	free(p);
}

/* B panels per cache block on the AVX2 path for blocks of kc groups: as
 * many as fit half of this core's L2, from 1 to NC_PANELS_AVX2. A panel is
 * kc words for each of its 16 columns. */
static uint32_t avx2_panels(uint32_t kc)
{
	long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
	size_t panel = (size_t)kc * 16 * sizeof(uint32_t);
	size_t fit = (size_t)(l2 > 0 ? l2 : L2_GUESS_BYTES) / 2 / panel;
	return fit < 1 ? 1 : fit > NC_PANELS_AVX2 ? NC_PANELS_AVX2 : (uint32_t)fit;
}

static size_t round64(size_t bytes)
{
	return (bytes + 63) & ~(size_t)63;
}

int backend_cpu_matmul_i8(const int8_t *A, const int8_t *Bt, int32_t *C, uint32_t m, uint32_t n,
			  uint32_t k, int threads)
{
	if (!m || !n || !k || k > KERNEL_MAX_K)
		return ASSAY_EARG;
	int isa = isa_level(), vnni = isa == BACKEND_ISA_AVX512VNNI;
	struct gemm g = {.c = C, .m = m, .n = n, .A = A, .Bt = Bt, .k = k, .vnni = vnni};
	g.mr = vnni ? 8 : isa == BACKEND_ISA_AVX2 ? 6 : 4;
	g.nr = vnni ? 32 : 16;
	g.kc = isa == BACKEND_ISA_AVX2 ? KC_GROUPS_AVX2 : KC_GROUPS;
	g.micro = vnni ? micro_vnni : isa == BACKEND_ISA_AVX2 ? micro_avx2 : micro_portable;
	g.kq = vnni ? (k + 3) / 4 : (k + 1) / 2;
	g.nc = isa == BACKEND_ISA_AVX2 ? avx2_panels(g.kq < g.kc ? g.kq : g.kc) : NC_PANELS;
	uint32_t apanels = (m + g.mr - 1) / g.mr, bpanels = (n + g.nr - 1) / g.nr;
	size_t bbytes = round64((size_t)bpanels * g.kq * g.nr * sizeof(uint32_t));
	size_t abytes = round64((size_t)apanels * g.kq * g.mr * sizeof(uint32_t));
	size_t total = bbytes + abytes + round64((size_t)n * sizeof(int32_t));
	uint8_t *buf = scratch_take(total);
	if (!buf)
		return ASSAY_ENOMEM;
	uint32_t *bp = (uint32_t *)buf, *ap = (uint32_t *)(buf + bbytes);
	int32_t *col_start = (int32_t *)(buf + bbytes + abytes);
	g.ap = g.ap_out = ap;
	g.bp = g.bp_out = bp;
	g.col_start = col_start;
	int nt = thread_count(threads);
	if ((uint32_t)nt > apanels)
		nt = (int)apanels;
	if (nt < 1)
		nt = 1;
	struct gemm_job jobs[BACKEND_MAX_THREADS] = {{0}};
	for (int t = 0; t < nt; t++) {
		jobs[t].g = &g;
		jobs[t].panel0 = (uint32_t)((uint64_t)apanels * t / nt);
		jobs[t].panel1 = (uint32_t)((uint64_t)apanels * (t + 1) / nt);
		jobs[t].bpanel0 = (uint32_t)((uint64_t)bpanels * t / nt);
		jobs[t].bpanel1 = (uint32_t)((uint64_t)bpanels * (t + 1) / nt);
	}
	uint32_t next_panel = 0;
	g.threads = (uint32_t)nt;
	g.next_panel = &next_panel;
	/* Every B panel must be packed before any thread multiplies by it. */
	run_jobs(gemm_pack, jobs, nt);
	run_jobs(gemm_rows, jobs, nt);
	scratch_give(buf, total);
	return 0;
}

int backend_cpu_mlp_i8(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], int8_t *out,
		       uint8_t *pre, int threads)
{
	if (s->kind != JOB_MLP_I8 || s->layers < 1 || s->layers > MLP_MAX_LAYERS)
		return ASSAY_EARG;
	uint32_t widest = 0;
	size_t largest_w = 0; /* the largest weight matrix: at most MLP_MAX_WEIGHT_BYTES, where
				 widest x widest may be far more (one wide layer beside a narrow one) */
	for (unsigned l = 0; l <= s->layers; l++)
		widest = s->dims[l] > widest ? s->dims[l] : widest;
	for (unsigned l = 0; l < s->layers; l++)
		if ((size_t)s->dims[l] * s->dims[l + 1] > largest_w)
			largest_w = (size_t)s->dims[l] * s->dims[l + 1];
	int8_t *cur = malloc((size_t)s->m * widest), *wt = malloc(largest_w ? largest_w : 1);
	int32_t *acc = malloc(sizeof(int32_t) * (size_t)s->m * widest), *bias32 = malloc(sizeof(int32_t) * widest);
	int err = cur && wt && acc && bias32 ? 0 : ASSAY_ENOMEM;
	int level = isa_level(); /* BACKEND_ISA_* are field_simd_level's 0, 1, 2 (VNNI implies AVX-512F) */
	if (!err)
		memcpy(cur, in[0], (size_t)s->m * s->dims[0]);
	for (unsigned l = 0; l < s->layers && !err; l++) {
		uint32_t din = s->dims[l], dout = s->dims[l + 1];
		const int8_t *W = (const int8_t *)in[1 + 2 * l];
		const uint8_t *bias = in[2 + 2 * l];
		/* W is d_in x d_out row-major; the GEMM wants its columns contiguous. */
		for (uint32_t i = 0; i < din; i++)
			for (uint32_t j = 0; j < dout; j++)
				wt[(size_t)j * din + i] = W[(size_t)i * dout + j];
		err = backend_cpu_matmul_i8(cur, wt, acc, s->m, dout, din, threads);
		if (!err && pre) {
			/* the products are layer l+1's pre-activations (mlp.h): z_{l+1},
			 * m x d_out int32 LE, after the layers before it */
			memcpy(pre, acc, sizeof(int32_t) * (size_t)s->m * dout);
			pre += sizeof(int32_t) * (size_t)s->m * dout;
		}
		int last = l + 1 == s->layers;
		/* The product fits int32 (d_in <= 2^17); the bias is added in int64
		 * exactly as the reference does, a row at a time. */
		for (uint32_t j = 0; j < dout; j++)
			bias32[j] = (int32_t)le32_get(bias + 4 * (size_t)j);
		for (uint32_t r = 0; r < s->m && !err; r++)
			kernel_requant_row(level, acc + (size_t)r * dout, bias32, dout, s->shifts[l], !last,
					   cur + (size_t)r * dout);
	}
	if (!err)
		memcpy(out, cur, (size_t)s->m * s->n);
	free(cur);
	free(wt);
	free(acc);
	free(bias32);
	return err;
}

int backend_cpu_compute(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS],
			uint8_t **out, uint8_t **pre, int threads)
{
	uint8_t *o = malloc(kernel_output_bytes(s)), *z = NULL;
	if (pre)
		*pre = NULL;
	if (pre && s->kind == JOB_MLP_I8 && !(z = malloc(mlp_pre_bytes(s, s->m)))) {
		free(o);
		return ASSAY_ENOMEM;
	}
	if (!o) {
		free(z);
		return ASSAY_ENOMEM;
	}
	int err = s->kind == JOB_MATMUL_I8
			  ? backend_cpu_matmul_i8((const int8_t *)in[0], (const int8_t *)in[1], (int32_t *)o,
						  s->m, s->n, s->k, threads)
			  : backend_cpu_mlp_i8(s, in, (int8_t *)o, z, threads);
	if (err) {
		free(o);
		free(z);
		return err;
	}
	*out = o;
	if (pre)
		*pre = z;
	return 0;
}

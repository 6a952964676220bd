/* The cpu backend (see backend.h). Operands are widened to int16 and packed:
 * B into panels of 16 columns holding, for each pair of k, the 32 values
 * (b[k][j], b[k+1][j]) for j = 0..15; A into panels of 6 rows holding each
 * row's (a[k], a[k+1]) pair as one 32-bit word. The AVX2 micro-kernel then
 * broadcasts an A pair and multiplies it against two B vectors with
 * _mm256_madd_epi16, which sums each pair into int32: a 6 x 16 block of C
 * lives in 12 registers. Integer sums are exact, so blocking over k in any
 * order gives the reference result bit for bit. Not for: GPUs. */
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "worker/backend.h"

#define MR 6          /* rows of C per micro-kernel */
#define NR 16         /* columns of C per micro-kernel (two AVX2 vectors) */
#define KC_PAIRS 256  /* k pairs per cache block: a B panel is 16 KiB */
#define NC_PANELS 16  /* B panels per block of columns: 256 KiB, for L2 */

static int force_portable;

void backend_cpu_force_portable(int force)
{
	force_portable = force;
}

static int have_avx2(void)
{
	__builtin_cpu_init();
	return !force_portable && __builtin_cpu_supports("avx2");
}

const char *backend_cpu_isa(void)
{
	return have_avx2() ? "avx2" : "portable";
}

struct gemm {
	const int16_t *bp;  /* packed B: panels of NR columns */
	const int32_t *ap;  /* packed A: panels of MR rows, pairs as int32 words */
	int32_t *c;
	uint32_t m, n, kp;  /* kp: number of k pairs (k rounded up, / 2) */
	int avx2;
};

static void pack_b(const int8_t *Bt, uint32_t n, uint32_t k, uint32_t kp, int16_t *bp)
{
	uint32_t panels = (n + NR - 1) / NR;
	for (uint32_t p = 0; p < panels; p++) {
		int16_t *dst = bp + (size_t)p * kp * 2 * NR;
		for (uint32_t j = 0; j < NR; j++) {
			uint32_t col = p * NR + j;
			const int8_t *src = col < n ? Bt + (size_t)col * k : NULL;
			for (uint32_t q = 0; q < kp; q++) {
				uint32_t t = 2 * q;
				dst[(size_t)q * 2 * NR + 2 * j] = src && t < k ? src[t] : 0;
				dst[(size_t)q * 2 * NR + 2 * j + 1] = src && t + 1 < k ? src[t + 1] : 0;
			}
		}
	}
}

static void pack_a(const int8_t *A, uint32_t m, uint32_t k, uint32_t kp, int32_t *ap)
{
	uint32_t panels = (m + MR - 1) / MR;
	for (uint32_t p = 0; p < panels; p++) {
		int32_t *dst = ap + (size_t)p * kp * MR;
		for (uint32_t i = 0; i < MR; i++) {
			uint32_t row = p * MR + i;
			const int8_t *src = row < m ? A + (size_t)row * k : NULL;
			for (uint32_t q = 0; q < kp; q++) {
				uint32_t t = 2 * q;
				int16_t lo = src && t < k ? src[t] : 0;
				int16_t hi = src && t + 1 < k ? src[t + 1] : 0;
				dst[(size_t)q * MR + i] = (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
			}
		}
	}
}

/* c (MR x NR, row stride ldc) += npairs k pairs of an A panel . a B panel. */
static void micro_portable(const int32_t *a, const int16_t *b, uint32_t npairs, int32_t *c,
			   size_t ldc)
{
	for (uint32_t q = 0; q < npairs; q++) {
		const int16_t *bq = b + (size_t)q * 2 * NR;
		for (int i = 0; i < MR; i++) {
			int32_t w = a[(size_t)q * MR + i];
			int32_t lo = (int16_t)(w & 0xffff), hi = (int16_t)((uint32_t)w >> 16);
			for (int j = 0; j < NR; j++)
				c[i * ldc + j] += lo * bq[2 * j] + hi * bq[2 * j + 1];
		}
	}
}

__attribute__((target("avx2"))) static void micro_avx2(const int32_t *a, const int16_t *b,
						       uint32_t npairs, int32_t *c, size_t ldc)
{
	__m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
	__m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
	for (uint32_t q = 0; q < npairs; q++) {
		__m256i b0 = _mm256_loadu_si256((const __m256i *)(b + (size_t)q * 2 * NR));
		__m256i b1 = _mm256_loadu_si256((const __m256i *)(b + (size_t)q * 2 * NR + NR));
		const int32_t *aq = a + (size_t)q * MR;
		__m256i x;
		x = _mm256_set1_epi32(aq[0]);
		c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, b0));
		c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, b1));
		x = _mm256_set1_epi32(aq[1]);
		c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, b0));
		c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, b1));
		x = _mm256_set1_epi32(aq[2]);
		c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, b0));
		c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, b1));
		x = _mm256_set1_epi32(aq[3]);
		c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, b0));
		c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, b1));
		x = _mm256_set1_epi32(aq[4]);
		c40 = _mm256_add_epi32(c40, _mm256_madd_epi16(x, b0));
		c41 = _mm256_add_epi32(c41, _mm256_madd_epi16(x, b1));
		x = _mm256_set1_epi32(aq[5]);
		c50 = _mm256_add_epi32(c50, _mm256_madd_epi16(x, b0));
		c51 = _mm256_add_epi32(c51, _mm256_madd_epi16(x, b1));
	}
	/* Lane j of c?0 is column j, of c?1 column 8 + j. */
#define ADD_ROW(i, lo, hi)                                                                          \
	do {                                                                                        \
		__m256i *o = (__m256i *)(c + (size_t)(i) * ldc);                                    \
		_mm256_storeu_si256(o, _mm256_add_epi32(_mm256_loadu_si256(o), lo));               \
		_mm256_storeu_si256(o + 1, _mm256_add_epi32(_mm256_loadu_si256(o + 1), hi));       \
	} while (0)
	ADD_ROW(0, c00, c01);
	ADD_ROW(1, c10, c11);
	ADD_ROW(2, c20, c21);
	ADD_ROW(3, c30, c31);
	ADD_ROW(4, c40, c41);
	ADD_ROW(5, c50, c51);
#undef ADD_ROW
}

struct gemm_job {
	const struct gemm *g;
	uint32_t panel0, panel1; /* A row panels [panel0, panel1) */
};

/* Each thread owns whole rows of C, so no two threads write the same bytes.
 * Loop order: a k block (A and B slices sized for L1), a group of B panels
 * (kept in L2), then this thread's A panels against each B panel. C was
 * zeroed first; every block adds into it. */
static void *gemm_rows(void *arg)
{
	const struct gemm_job *job = arg;
	const struct gemm *g = job->g;
	uint32_t bpanels = (g->n + NR - 1) / NR;
	int32_t edge[MR * NR] __attribute__((aligned(32)));
	for (uint32_t q0 = 0; q0 < g->kp; q0 += KC_PAIRS) {
		uint32_t np = g->kp - q0 < KC_PAIRS ? g->kp - q0 : KC_PAIRS;
		for (uint32_t jb = 0; jb < bpanels; jb += NC_PANELS) {
			uint32_t jend = jb + NC_PANELS < bpanels ? jb + NC_PANELS : bpanels;
			for (uint32_t ap = job->panel0; ap < job->panel1; ap++) {
				uint32_t r0 = ap * MR, nr = g->m - r0 < MR ? g->m - r0 : MR;
				const int32_t *a = g->ap + ((size_t)ap * g->kp + q0) * MR;
				for (uint32_t bpn = jb; bpn < jend; bpn++) {
					uint32_t c0 = bpn * NR, nc = g->n - c0 < NR ? g->n - c0 : NR;
					const int16_t *b = g->bp + ((size_t)bpn * g->kp + q0) * 2 * NR;
					int32_t *c = g->c + (size_t)r0 * g->n + c0;
					int full = nr == MR && nc == NR;
					int32_t *dst = c;
					size_t ld = g->n;
					if (!full) {
						memset(edge, 0, sizeof(edge));
						for (uint32_t i = 0; i < nr; i++)
							memcpy(edge + i * NR, c + (size_t)i * g->n, nc * sizeof(int32_t));
						dst = edge;
						ld = NR;
					}
					if (g->avx2)
						micro_avx2(a, b, np, dst, ld);
					else
						micro_portable(a, b, np, dst, ld);
					if (!full)
						for (uint32_t i = 0; i < nr; i++)
							memcpy(c + (size_t)i * g->n, edge + i * NR, nc * sizeof(int32_t));
				}
			}
		}
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

int backend_cpu_matmul_i8(const int8_t *A, const int8_t *Bt, int32_t *C, uint32_t m, uint32_t n,
			  uint32_t k, int threads)
{
	if (!m || !n || !k || k > KERNEL_MAX_K)
		return ASSAY_EARG;
	uint32_t kp = (k + 1) / 2, apanels = (m + MR - 1) / MR, bpanels = (n + NR - 1) / NR;
	int16_t *bp = aligned_alloc(64, ((size_t)bpanels * kp * 2 * NR * sizeof(int16_t) + 63) & ~(size_t)63);
	int32_t *ap = aligned_alloc(64, ((size_t)apanels * kp * MR * sizeof(int32_t) + 63) & ~(size_t)63);
	if (!bp || !ap) {
		free(bp);
		free(ap);
		return ASSAY_ENOMEM;
	}
	pack_b(Bt, n, k, kp, bp);
	pack_a(A, m, k, kp, ap);
	memset(C, 0, (size_t)m * n * sizeof(int32_t));
	struct gemm g = {bp, ap, C, m, n, kp, have_avx2()};
	int nt = thread_count(threads);
	if ((uint32_t)nt > apanels)
		nt = (int)apanels;
	struct gemm_job jobs[BACKEND_MAX_THREADS];
	pthread_t tid[BACKEND_MAX_THREADS];
	int started = 0;
	for (int t = 0; t < nt; t++) {
		jobs[t].g = &g;
		jobs[t].panel0 = (uint32_t)((uint64_t)apanels * t / nt);
		jobs[t].panel1 = (uint32_t)((uint64_t)apanels * (t + 1) / nt);
	}
	for (int t = 1; t < nt; t++) {
		if (pthread_create(&tid[t], NULL, gemm_rows, &jobs[t]) != 0)
			break;
		started = t;
	}
	/* Rows whose thread did not start are done here, after our own. */
	gemm_rows(&jobs[0]);
	for (int t = started + 1; t < nt; t++)
		gemm_rows(&jobs[t]);
	for (int t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);
	free(bp);
	free(ap);
	return 0;
}

int backend_cpu_mlp_i8(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], int8_t *out,
		       int threads)
{
	if (s->kind != JOB_MLP_I8 || s->layers < 1 || s->layers > MLP_MAX_LAYERS)
		return ASSAY_EARG;
	uint32_t widest = 0;
	for (unsigned l = 0; l <= s->layers; l++)
		widest = s->dims[l] > widest ? s->dims[l] : widest;
	int8_t *cur = malloc((size_t)s->m * widest), *wt = malloc((size_t)widest * widest);
	int32_t *acc = malloc(sizeof(int32_t) * (size_t)s->m * widest);
	int err = cur && wt && acc ? 0 : ASSAY_ENOMEM;
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
		int last = l + 1 == s->layers;
		/* The product fits int32 (d_in <= 2^17); the bias is added in int64
		 * exactly as the reference does. */
		for (uint32_t r = 0; r < s->m && !err; r++)
			for (uint32_t j = 0; j < dout; j++) {
				int64_t v = (int64_t)acc[(size_t)r * dout + j] + (int32_t)le32_get(bias + 4 * (size_t)j);
				cur[(size_t)r * dout + j] = kernel_requant(v, s->shifts[l], !last);
			}
	}
	if (!err)
		memcpy(out, cur, (size_t)s->m * s->n);
	free(cur);
	free(wt);
	free(acc);
	return err;
}

int backend_cpu_compute(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS],
			uint8_t **out, int threads)
{
	uint8_t *o = malloc(kernel_output_bytes(s));
	if (!o)
		return ASSAY_ENOMEM;
	int err = s->kind == JOB_MATMUL_I8
			  ? backend_cpu_matmul_i8((const int8_t *)in[0], (const int8_t *)in[1], (int32_t *)o,
						  s->m, s->n, s->k, threads)
			  : backend_cpu_mlp_i8(s, in, (int8_t *)o, threads);
	if (err) {
		free(o);
		return err;
	}
	*out = o;
	return 0;
}

/* Benchmark: the cpu backend's int8 GEMM (GOPS, 1 thread and all threads) at
 * 1024^3 and 4096^3 beside OpenBLAS single-threaded sgemm (GFLOPS) on the same
 * shape, their ratio, and bit-exactness against the reference kernel (whole
 * output at 1024, sampled rows at 4096). Prints figures; never fails on time. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/compute/kernels.h"
#include "worker/backend.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best of reps runs (machines here are shared and noisy). */
static double time_gemm(const int8_t *A, const int8_t *Bt, int32_t *C, uint32_t n, int threads, int reps)
{
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		backend_cpu_matmul_i8(A, Bt, C, n, n, n, threads);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	return best;
}

static double time_sgemm(uint32_t n, int reps)
{
	size_t nn = (size_t)n * n;
	float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float)), *c = malloc(nn * sizeof(float));
	for (size_t i = 0; i < nn; i++) {
		a[i] = (float)((int)(i * 7 % 255) - 127);
		b[i] = (float)((int)(i * 13 % 255) - 127);
	}
	openblas_set_num_threads(1);
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f, a, (int)n,
			    b, (int)n, 0.0f, c, (int)n);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

static void run(uint32_t n, int reps)
{
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = n, .n = n, .k = n, .tile_rows = 64, .tile_cols = 64};
	struct kernel_src src = {.from_seed = 1};
	memset(src.seed, 0xab, sizeof(src.seed));
	uint8_t *in[KERNEL_MAX_INPUTS];
	if (kernel_src_load(&src, &s, in)) {
		printf("n=%u: out of memory\n", n);
		return;
	}
	const int8_t *A = (const int8_t *)in[0], *Bt = (const int8_t *)in[1];
	int32_t *C = malloc((size_t)n * n * sizeof(int32_t));
	double ops = 2.0 * n * n * n;
	double t1 = time_gemm(A, Bt, C, n, 1, reps);
	double tall = time_gemm(A, Bt, C, n, 0, reps);
	double ts = time_sgemm(n, reps);
	/* The AVX2 path on the same CPU, for machines without VNNI. */
	backend_cpu_set_isa(BACKEND_ISA_AVX2);
	const char *isa2 = backend_cpu_isa();
	double t2 = time_gemm(A, Bt, C, n, 1, reps);
	backend_cpu_set_isa(BACKEND_ISA_AVX512VNNI);
	backend_cpu_matmul_i8(A, Bt, C, n, n, n, 0);
	/* Exactness: all of C at 1024; 16 spread rows at larger n. */
	int exact = 1;
	uint32_t rows = n <= 1024 ? n : 16;
	int32_t *ref = malloc((size_t)rows * n * sizeof(int32_t));
	int8_t *arows = malloc((size_t)rows * n);
	for (uint32_t r = 0; r < rows; r++) {
		uint32_t row = rows == n ? r : (uint32_t)((uint64_t)r * (n - 1) / (rows - 1));
		memcpy(arows + (size_t)r * n, A + (size_t)row * n, n);
	}
	kernel_matmul_ref(arows, Bt, ref, rows, n, n);
	for (uint32_t r = 0; r < rows && exact; r++) {
		uint32_t row = rows == n ? r : (uint32_t)((uint64_t)r * (n - 1) / (rows - 1));
		exact = memcmp(ref + (size_t)r * n, C + (size_t)row * n, n * sizeof(int32_t)) == 0;
	}
	printf("n=%u  int8 cpu(%s) 1 thread: %.3f s %.1f GOPS | all threads: %.3f s %.1f GOPS | "
	       "OpenBLAS sgemm 1 thread: %.3f s %.1f GFLOPS | ratio (1 thread) %.2fx | bit-exact (%s): %s\n",
	       n, backend_cpu_isa(), t1, ops / t1 * 1e-9, tall, ops / tall * 1e-9, ts, ops / ts * 1e-9, ts / t1,
	       rows == n ? "all rows" : "16 rows", exact ? "yes" : "NO");
	printf("n=%u  int8 cpu(%s) 1 thread: %.3f s %.1f GOPS | ratio to sgemm %.2fx\n", n, isa2, t2,
	       ops / t2 * 1e-9, ts / t2);
	free(ref);
	free(arows);
	free(C);
	free(in[0]);
	free(in[1]);
}

int main(int argc, char **argv)
{
	int big = !(argc > 1 && strcmp(argv[1], "--quick") == 0);
	run(1024, 3);
	if (big)
		run(4096, 1);
	return 0;
}

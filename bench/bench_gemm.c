/* Benchmark: the cpu backend's int8 GEMM beside OpenBLAS sgemm at 1024^3 and
 * 4096^3, each kernel path this CPU has (avx512vnni, avx2, portable) against
 * sgemm with the same thread count (1 and all), as medians of paired runs;
 * each SIMD path also as a fraction of the core's vpmaddwd or vpdpbusd
 * peak, measured here. The reference is the best sgemm OpenBLAS has for the
 * CPU (see fair_reference). Checks bit-exactness against the reference.
 * Never fails on time. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_stats.h"
#include "consensus/compute/kernels.h"
#include "worker/backend.h"

#define MAX_RUNS 15

#if defined(__x86_64__)
/* The core's rates, timed on this thread's CPU clock so that time slices
 * given to other tenants do not count: cycles/s from a chain of dependent
 * adds (one cycle each), vpmaddwd/s from eight independent ones per trip,
 * and vpmaddwd/s when each is followed by the vpaddd an AVX2 GEMM needs. */
__attribute__((target("avx2"))) static void core_rates(double *hz, double *madd, double *madd_add)
{
	const uint64_t trips = 50000000;
	uint64_t n = trips, x = 0;
	double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
	__asm__ volatile("1:\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
			 "sub $1, %1\n\tjnz 1b\n\t"
			 : "+r"(x), "+r"(n));
	*hz = 4.0 * trips / (bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0);
	n = trips;
	t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
	__asm__ volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n\tvpxor %%ymm1, %%ymm1, %%ymm1\n\t"
			 "1:\n\t"
			 "vpmaddwd %%ymm0, %%ymm1, %%ymm2\n\tvpmaddwd %%ymm0, %%ymm1, %%ymm3\n\t"
			 "vpmaddwd %%ymm0, %%ymm1, %%ymm4\n\tvpmaddwd %%ymm0, %%ymm1, %%ymm5\n\t"
			 "vpmaddwd %%ymm0, %%ymm1, %%ymm6\n\tvpmaddwd %%ymm0, %%ymm1, %%ymm7\n\t"
			 "vpmaddwd %%ymm0, %%ymm1, %%ymm8\n\tvpmaddwd %%ymm0, %%ymm1, %%ymm9\n\t"
			 "sub $1, %0\n\tjnz 1b\n\tvzeroupper\n\t"
			 : "+r"(n)
			 :
			 : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9");
	*madd = 8.0 * trips / (bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0);
	n = trips;
	t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
#define MA(t, acc) "vpmaddwd %%ymm0, %%ymm1, %%" #t "\n\tvpaddd %%" #t ", %%" #acc ", %%" #acc "\n\t"
	__asm__ volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n\tvpxor %%ymm1, %%ymm1, %%ymm1\n\t"
			 "1:\n\t" MA(ymm2, ymm10) MA(ymm3, ymm11) MA(ymm4, ymm12) MA(ymm5, ymm13)
				 MA(ymm6, ymm14) MA(ymm7, ymm15) MA(ymm8, ymm10)
					 MA(ymm9, ymm11) "sub $1, %0\n\tjnz 1b\n\tvzeroupper\n\t"
			 : "+r"(n)
			 :
			 : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#undef MA
	*madd_add = 8.0 * trips / (bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0);
}

/* zmm vpdpbusd/s from sixteen independent ones per trip (the VNNI
 * micro-kernel keeps sixteen accumulators). */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double dpbusd_rate(void)
{
	const uint64_t trips = 20000000;
	uint64_t n = trips;
	double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
#define DP(acc) "vpdpbusd %%zmm16, %%zmm17, %%" #acc "\n\t"
	__asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
			 "1:\n\t" DP(zmm0) DP(zmm1) DP(zmm2) DP(zmm3) DP(zmm4) DP(zmm5) DP(zmm6) DP(zmm7)
				 DP(zmm8) DP(zmm9) DP(zmm10) DP(zmm11) DP(zmm12) DP(zmm13) DP(zmm14)
					 DP(zmm15) "sub $1, %0\n\tjnz 1b\n\tvzeroupper\n\t"
			 : "+r"(n)
			 :
			 : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17");
#undef DP
	return 16.0 * trips / (bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0);
}
#endif

/* The reference must be the best sgemm OpenBLAS has for this CPU. It
 * picks kernels by CPU model unless OPENBLAS_CORETYPE names a core, and an
 * environment can set that (and OPENBLAS_L2_SIZE) for every process: one
 * machine here held OpenBLAS to its AVX2 "Haswell" kernels on an AVX-512
 * Zen 5, half of what the AVX-512 kernels reach, which flattered the int8
 * ratio 2x. So where the CPU has the AVX-512 subsets OpenBLAS's AVX-512
 * kernels use and the core in use lacks them, the benchmark runs itself
 * again without those variables, and once more with
 * OPENBLAS_CORETYPE=SkylakeX if OpenBLAS's own choice still lacks them
 * (a release older than the CPU). BENCH_GEMM_RERUN stops a loop. */
static void fair_reference(char **argv)
{
#if defined(__x86_64__)
	static const char *const avx512_cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
	const char *core = openblas_get_corename();
	int has = 0;
	for (size_t i = 0; i < sizeof(avx512_cores) / sizeof(avx512_cores[0]) && core; i++)
		has |= strcmp(core, avx512_cores[i]) == 0;
	__builtin_cpu_init();
	int cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
	const char *rerun = getenv("BENCH_GEMM_RERUN");
	if (has || !cpu || (rerun && strcmp(rerun, "2") == 0))
		return;
	const char *forced = getenv("OPENBLAS_CORETYPE");
	if (forced && !rerun) {
		printf("sgemm: OPENBLAS_CORETYPE=%s holds OpenBLAS to a core without AVX-512 on this "
		       "AVX-512 CPU; running again without it (and without OPENBLAS_L2_SIZE)\n",
		       forced);
		unsetenv("OPENBLAS_CORETYPE");
		unsetenv("OPENBLAS_L2_SIZE");
		setenv("BENCH_GEMM_RERUN", "1", 1);
	} else {
		printf("sgemm: OpenBLAS chose %s, a core without AVX-512, on this AVX-512 CPU; running "
		       "again with OPENBLAS_CORETYPE=SkylakeX\n",
		       core ? core : "(unknown)");
		setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
		setenv("BENCH_GEMM_RERUN", "2", 1);
	}
	fflush(stdout);
	execv("/proc/self/exe", argv);
	printf("sgemm: could not run again; the reference is the %s core\n", core ? core : "(unknown)");
#else
	(void)argv;
#endif
}

/* Waits (at most a second) until this process has used less than a tenth
 * of one CPU over 20 ms: OpenBLAS's threads poll for about 0.1 s after a
 * call (about one CPU's worth here), the backend's for 20 us, and a timing
 * that starts while the other library's threads poll shares their cores. */
static void settle(void)
{
	for (int i = 0; i < 50; i++) {
		double c0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
		usleep(20000);
		if (bench_clock(CLOCK_PROCESS_CPUTIME_ID) - c0 < 0.002)
			return;
	}
}

/* Best of reps wall-clock runs, from a settled process. */
static double time_i8(const int8_t *A, const int8_t *Bt, int32_t *C, uint32_t n, int threads, int reps)
{
	double best = 1e30;
	settle();
	for (int r = 0; r < reps; r++) {
		double t0 = bench_clock(CLOCK_MONOTONIC);
		backend_cpu_matmul_i8(A, Bt, C, n, n, n, threads);
		double t = bench_clock(CLOCK_MONOTONIC) - t0;
		best = t < best ? t : best;
	}
	return best;
}

static double time_sgemm(const float *a, const float *b, float *c, uint32_t n, int threads, int reps)
{
	openblas_set_num_threads(threads);
	double best = 1e30;
	settle();
	for (int r = 0; r < reps; r++) {
		double t0 = bench_clock(CLOCK_MONOTONIC);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f, a,
			    (int)n, b, (int)n, 0.0f, c, (int)n);
		double t = bench_clock(CLOCK_MONOTONIC) - t0;
		best = t < best ? t : best;
	}
	return best;
}

/* All of C against the reference at n <= 1024; 16 spread rows above. */
static int exact(const int8_t *A, const int8_t *Bt, const int32_t *C, uint32_t n)
{
	uint32_t rows = n <= 1024 ? n : 16;
	int32_t *ref = malloc((size_t)rows * n * sizeof(int32_t));
	int8_t *arows = malloc((size_t)rows * n);
	int same = ref && arows;
	for (uint32_t r = 0; r < rows && same; r++) {
		uint32_t row = rows == n ? r : (uint32_t)((uint64_t)r * (n - 1) / (rows - 1));
		memcpy(arows + (size_t)r * n, A + (size_t)row * n, n);
	}
	if (same)
		kernel_matmul_ref(arows, Bt, ref, rows, n, n);
	for (uint32_t r = 0; r < rows && same; r++) {
		uint32_t row = rows == n ? r : (uint32_t)((uint64_t)r * (n - 1) / (rows - 1));
		same = memcmp(ref + (size_t)r * n, C + (size_t)row * n, n * sizeof(int32_t)) == 0;
	}
	free(ref);
	free(arows);
	return same;
}

/* The AVX2 kernel's bound per core: vpmaddwd with the vpaddd each needs (0 where not measured). */
static double madd_add_gops;

/* peak_gops[isa]: one core's peak for that path's instruction (0 where not measured). */
static void run(uint32_t n, int runs, int reps, int all, const double peak_gops[3])
{
	struct job_shape s = {
		.kind = JOB_MATMUL_I8, .m = n, .n = n, .k = n, .tile_rows = 64, .tile_cols = 64};
	struct kernel_src src = {.from_seed = 1};
	memset(src.seed, 0xab, sizeof(src.seed));
	uint8_t *in[KERNEL_MAX_INPUTS];
	if (kernel_src_load(&src, &s, in)) {
		printf("n=%u: out of memory\n", n);
		return;
	}
	const int8_t *A = (const int8_t *)in[0], *Bt = (const int8_t *)in[1];
	size_t nn = (size_t)n * n;
	int32_t *C = malloc(nn * sizeof(int32_t));
	float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float)),
	      *c = malloc(nn * sizeof(float));
	if (!C || !a || !b || !c) {
		printf("n=%u: out of memory\n", n);
		goto out;
	}
	/* The same values as floats; B row-major k x n from Bt. */
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			a[(size_t)i * n + j] = A[(size_t)i * n + j];
			b[(size_t)j * n + i] = Bt[(size_t)i * n + j];
		}
	double ops = 2.0 * n * n * n;
	int thread_counts[2] = {1, all};
	for (int isa = BACKEND_ISA_AVX512VNNI; isa >= BACKEND_ISA_PORTABLE; isa--) {
		backend_cpu_set_isa(isa);
		const char *path = backend_cpu_isa();
		/* Levels this CPU lacks fall back to one below: run each path once. */
		if (isa > BACKEND_ISA_PORTABLE &&
		    strcmp(path, isa == BACKEND_ISA_AVX2 ? "avx2" : "avx512vnni"))
			continue;
		if (isa == BACKEND_ISA_PORTABLE && strcmp(backend_cpu_isa(), "portable") == 0) {
			backend_cpu_set_isa(BACKEND_ISA_AVX2);
			int simd = strcmp(backend_cpu_isa(), "portable") != 0;
			backend_cpu_set_isa(BACKEND_ISA_PORTABLE);
			if (simd)
				continue; /* the portable path has no target where SIMD runs */
		}
		for (int ti = 0; ti < (all > 1 ? 2 : 1); ti++) {
			int threads = thread_counts[ti];
			double gops[MAX_RUNS] = {0}, gflops[MAX_RUNS] = {0}, ratio[MAX_RUNS] = {0};
			for (int r = 0; r < runs; r++) {
				/* Paired: the int8 and sgemm figures of a run are taken back to back. */
				double ti8 = time_i8(A, Bt, C, n, threads, reps);
				double ts = time_sgemm(a, b, c, n, threads, reps);
				gops[r] = ops / ti8 * 1e-9;
				gflops[r] = ops / ts * 1e-9;
				ratio[r] = ts / ti8;
			}
			double rlo = ratio[0], rhi = ratio[0];
			for (int r = 1; r < runs; r++) {
				rlo = ratio[r] < rlo ? ratio[r] : rlo;
				rhi = ratio[r] > rhi ? ratio[r] : rhi;
			}
			double mg = bench_median(gops, runs, NULL, NULL),
			       ms = bench_median(gflops, runs, NULL, NULL),
			       mr = bench_median(ratio, runs, NULL, NULL);
			printf("n=%-4u %-10s %d thread%s: int8 %6.1f GOPS | sgemm %6.1f GFLOPS | ratio %.2fx "
			       "(runs %.2f-%.2f)",
			       n, path, threads, threads == 1 ? " " : "s", mg, ms, mr, rlo, rhi);
			if (peak_gops[isa] > 0)
				printf(" | %.0f%% of %s peak", 100.0 * mg / (peak_gops[isa] * threads),
				       isa == BACKEND_ISA_AVX2 ? "vpmaddwd" : "vpdpbusd");
			if (isa == BACKEND_ISA_AVX2 && madd_add_gops > 0)
				printf(", %.0f%% of vpmaddwd + vpaddd", 100.0 * mg / (madd_add_gops * threads));
			backend_cpu_matmul_i8(A, Bt, C, n, n, n, threads);
			printf(" | bit-exact (%s): %s\n", n <= 1024 ? "all rows" : "16 rows",
			       exact(A, Bt, C, n) ? "yes" : "NO");
			fflush(stdout);
		}
	}
	backend_cpu_set_isa(BACKEND_ISA_AVX512VNNI);
out:
	free(C);
	free(a);
	free(b);
	free(c);
	free(in[0]);
	free(in[1]);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_gemm [--quick] [--runs N] [--threads N]\n"
		"  --quick      1024^3 only (default: also 4096^3)\n"
		"  --runs N     paired runs per figure, median printed (default 3, at most %d)\n"
		"  --threads N  the all-threads figure's count (default: online CPUs)\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	int big = 1, runs = 3;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int all = online > 0 ? (int)online : 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			big = 0;
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			all = atoi(argv[++i]);
		else {
			usage();
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || all < 1 || all > BACKEND_MAX_THREADS) {
		usage();
		return 2;
	}
	fair_reference(argv);
	printf("sgemm: OpenBLAS core %s (%s)\n", openblas_get_corename(), openblas_get_config());
	double peak[3] = {0, 0, 0};
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2")) {
		double hz, madd, madd_add;
		core_rates(&hz, &madd, &madd_add);
		/* A ymm vpmaddwd is 16 int16 multiplies and 16 adds: 32 int8 ops. */
		peak[BACKEND_ISA_AVX2] = madd * 32e-9;
		madd_add_gops = madd_add * 32e-9;
		printf("core: %.2f GHz, vpmaddwd %.2f/cycle -> peak %.1f GOPS per core; with the vpaddd "
		       "each needs %.2f/cycle -> %.1f GOPS\n",
		       hz * 1e-9, madd / hz, peak[BACKEND_ISA_AVX2], madd_add / hz, madd_add * 32e-9);
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vnni")) {
			/* A zmm vpdpbusd is 64 multiplies and 64 adds: 128 int8 ops. */
			double dp = dpbusd_rate();
			peak[BACKEND_ISA_AVX512VNNI] = dp * 128e-9;
			printf("core: vpdpbusd (zmm) %.2f/cycle -> peak %.1f GOPS per core\n", dp / hz,
			       peak[BACKEND_ISA_AVX512VNNI]);
		}
	}
#endif
	printf("runs: %d paired (int8 then sgemm, best of 3 reps each at 1024, 1 at 4096, each started "
	       "once the process is idle), medians; all threads = %d\n",
	       runs, all);
	run(1024, runs, 3, all, peak);
	if (big)
		run(4096, runs, 1, all, peak);
	return 0;
}

/* Benchmark: what checking a matmul-i8 job costs next to computing it. The
 * validator's spot-check per job (k tiles: Merkle proof + the tile check,
 * inputs expanded from the seed as a node does), the floor under it (only
 * expanding those tiles' rows and columns), and the client's full Freivalds
 * check with the bytes it reads, each over the worker's compute time (cpu
 * backend, best ISA or capped at AVX2) for the same job. Prints figures and
 * ratios; never fails on time. Not for: correctness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_stats.h"
#include "consensus/compute/compute_codec.h"
#include "consensus/compute/kernels.h"
#include "core/merkle.h"
#include "worker/backend.h"

#define REPS 5 /* timed repetitions of each check; the median is printed */

/* Sum of the 64-bit words of p[0..n) (n a multiple of 32): a pass that
 * only reads memory, four independent sums so that loads are the limit. */
static uint64_t sum_words(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t s[4] = {0, 0, 0, 0};
	for (size_t i = 0; i + 32 <= n; i += 32)
		for (int q = 0; q < 4; q++) {
			uint64_t w;
			memcpy(&w, b + i + 8 * q, 8);
			s[q] += w;
		}
	return s[0] + s[1] + s[2] + s[3];
}

/* One challenged tile as a reveal carries it. */
struct challenged {
	uint32_t index;
	size_t len, depth;
	uint8_t *tile;
	uint8_t path[MERKLE_MAX_DEPTH][HASH_LEN];
};

/* The challenged tiles' leaves and Merkle paths, verified as one batch
 * as the chain verifies a reveal's. Returns 1 if all pass. */
static int proofs_ok(const struct challenged *c, uint32_t got, uint32_t tiles, const uint8_t root[HASH_LEN])
{
	struct merkle_claim claims[JOB_MAX_SAMPLES];
	memset(claims, 0, sizeof(claims));
	uint8_t ok[JOB_MAX_SAMPLES];
	int all = 1;
	if (got > JOB_MAX_SAMPLES)
		got = JOB_MAX_SAMPLES;
	for (uint32_t i = 0; i < got;) { /* two leaves at a time, as the chain */
		if (i + 1 < got && c[i + 1].len == c[i].len) {
			kernel_tile_leaf2(c[i].index, c[i].tile, c[i + 1].index, c[i + 1].tile, c[i].len, claims[i].leaf,
					  claims[i + 1].leaf);
			i += 2;
		} else {
			kernel_tile_leaf(c[i].index, c[i].tile, c[i].len, claims[i].leaf);
			i++;
		}
	}
	for (uint32_t i = 0; i < got; i++) {
		claims[i].index = c[i].index;
		claims[i].path = (const uint8_t(*)[HASH_LEN])c[i].path;
		claims[i].depth = c[i].depth;
	}
	merkle_verify_batch(claims, got, tiles, root, ok);
	for (uint32_t i = 0; i < got; i++)
		all &= ok[i];
	return all;
}

/* The validator's work for one reveal: the proofs, then each tile's
 * check. Returns 1 if all pass. */
static int spot_check(const struct job_shape *s, const struct kernel_src *src, const uint8_t cseed[HASH_LEN],
		      const uint8_t root[HASH_LEN], uint32_t tiles, const struct challenged *c, uint32_t got)
{
	int all = proofs_ok(c, got, tiles, root), verdict[JOB_MAX_SAMPLES];
	uint32_t idx[JOB_MAX_SAMPLES];
	const uint8_t *tile[JOB_MAX_SAMPLES];
	size_t len[JOB_MAX_SAMPLES];
	for (uint32_t i = 0; i < got && i < JOB_MAX_SAMPLES; i++) {
		idx[i] = c[i].index;
		tile[i] = c[i].tile;
		len[i] = c[i].len;
	}
	kernel_check_tiles(s, src, cseed, got, idx, tile, len, verdict); /* as the chain checks a reveal */
	for (uint32_t i = 0; i < got; i++)
		all &= verdict[i] == 0;
	return all;
}

/* Best of reps single-thread (threads = 1) or all-thread (0) multiplications. */
static double compute_time(const uint8_t *const in[KERNEL_MAX_INPUTS], int32_t *C, uint32_t n, int threads,
			   int reps)
{
	double best = 1e9;
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now();
		backend_cpu_matmul_i8((const int8_t *)in[0], (const int8_t *)in[1], C, n, n, n, threads);
		double t = bench_now() - t0;
		best = t < best ? t : best;
	}
	return best;
}

/* profile > 0: only repeat the spot-check that many times, < 0: the full
 * check -profile times (for perf). */
static void run(uint32_t n, uint32_t tile, uint32_t k, int isa, int profile)
{
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = n, .n = n, .k = n, .tile_rows = tile, .tile_cols = tile};
	struct kernel_src src = {.from_seed = 1};
	memset(src.seed, 0x3c, sizeof(src.seed));
	uint8_t *in[KERNEL_MAX_INPUTS];
	/* The AVX2 run caps the check's vector forms too, as on an AVX2 CPU. */
	backend_cpu_set_isa(isa);
	kernel_simd_enable(isa == BACKEND_ISA_AVX2 ? 1 : 2);
	double t0 = bench_now();
	if (kernel_src_load(&src, &s, in))
		return;
	double t_expand = bench_now() - t0;
	int32_t *C = malloc((size_t)n * n * sizeof(int32_t));
	if (!C)
		return;
	int reps = n >= 4096 ? 2 : 3;
	double t_one = profile ? 1 : compute_time((const uint8_t *const *)in, C, n, 1, reps);
	double t_all = compute_time((const uint8_t *const *)in, C, n, 0, profile ? 1 : reps);
	const char *isa_name = backend_cpu_isa();
	uint8_t(*leaves)[HASH_LEN], root[HASH_LEN];
	t0 = bench_now(); /* the worker's commit: leaves and root */
	if (kernel_commit(&s, (const uint8_t *)C, &leaves, root, NULL))
		return;
	double t_commit = bench_now() - t0;

	uint32_t tiles = kernel_tile_count(&s), idx[256];
	uint8_t cseed[HASH_LEN] = {1, 2, 3};
	uint32_t got = kernel_challenge_indices(cseed, k, tiles, idx);
	struct challenged *c = calloc(got, sizeof(*c));
	for (uint32_t i = 0; i < got; i++) {
		c[i].index = idx[i];
		c[i].len = kernel_tile_bytes(&s, idx[i]);
		c[i].tile = malloc(c[i].len);
		kernel_tile_extract(&s, (const uint8_t *)C, idx[i], c[i].tile);
		merkle_proof((const uint8_t(*)[HASH_LEN])leaves, tiles, idx[i], c[i].path, &c[i].depth);
	}
	if (profile < 0) {
		int ok = 1;
		for (int p = 0; p < -profile; p++)
			ok &= kernel_freivalds_full(&s, in, (const uint8_t *)C, cseed) == 0;
		printf("n=%u: %d full checks (pass: %s)\n", n, -profile, ok ? "yes" : "NO");
		goto out;
	}
	if (profile) {
		int ok = 1;
		for (int p = 0; p < profile; p++)
			ok &= spot_check(&s, &src, cseed, root, tiles, c, got);
		printf("n=%u: %d spot-checks of %u tiles (pass: %s)\n", n, profile, got, ok ? "yes" : "NO");
		goto out;
	}
	double t_check[REPS], t_floor[REPS], t_proof[REPS], t_proof1[REPS], t_full[REPS];
	int all_ok = 1, full_ok = 1;
	uint8_t *rows = malloc((size_t)(2 * tile) * n);
	for (int r = 0; r < REPS; r++) {
		t0 = bench_now();
		all_ok &= spot_check(&s, &src, cseed, root, tiles, c, got);
		t_check[r] = bench_now() - t0;
		/* The floor: expanding the same rows of A and columns of B, in
		 * the order the check reads them. */
		t0 = bench_now();
		for (uint32_t i = 0; i < got; i++) {
			uint32_t r0, c0, nr, nc;
			kernel_tile_rect(&s, c[i].index, &r0, &c0, &nr, &nc);
			kernel_rows_read(&src, &s, 0, n, (uint64_t)r0 * n, rows, (size_t)nr * n);
			kernel_rows_read(&src, &s, 1, n, (uint64_t)c0 * n, rows + (size_t)nr * n, (size_t)nc * n);
		}
		t_floor[r] = bench_now() - t0;
		/* The proofs alone: leaf hash and Merkle path of each tile, as one
		 * batch (as the chain verifies them) and one by one. */
		t0 = bench_now();
		all_ok &= proofs_ok(c, got, tiles, root);
		t_proof[r] = bench_now() - t0;
		t0 = bench_now();
		for (uint32_t i = 0; i < got; i++) {
			uint8_t leaf[HASH_LEN];
			kernel_tile_leaf(c[i].index, c[i].tile, c[i].len, leaf);
			all_ok &= merkle_verify(leaf, c[i].index, tiles, (const uint8_t(*)[HASH_LEN])c[i].path,
						c[i].depth, root) == 0;
		}
		t_proof1[r] = bench_now() - t0;
	}
	double t_stream[3];
	uint64_t sink = 0;
	for (int r = 0; r < 3; r++) {
		t0 = bench_now();
		full_ok &= kernel_freivalds_full(&s, in, (const uint8_t *)C, cseed) == 0;
		t_full[r] = bench_now() - t0;
		/* The full check's floor: reading A, B and C once. */
		t0 = bench_now();
		sink += sum_words(in[0], (size_t)n * n) + sum_words(in[1], (size_t)n * n) +
			sum_words(C, (size_t)n * n * 4);
		t_stream[r] = bench_now() - t0;
	}
	free(rows);
	double check = bench_median(t_check, REPS, NULL, NULL), floor = bench_median(t_floor, REPS, NULL, NULL), proof = bench_median(t_proof, REPS, NULL, NULL);
	double proof1 = bench_median(t_proof1, REPS, NULL, NULL);
	double full = bench_median(t_full, 3, NULL, NULL), stream = bench_median(t_stream, 3, NULL, NULL);
	/* The full check reads A, B and C once each. */
	double full_bytes = (double)n * n * 2 + (double)n * n * 4;
	printf("n=%u tiles %ux%u (%u) k=%u | expand inputs %.3f s | worker compute (%s) 1 thread %.4f s, "
	       "all threads %.4f s, commit %.3f s\n",
	       n, tile, tile, tiles, got, t_expand, isa_name, t_one, t_all, t_commit);
	printf("  validator spot-check %.3f ms = %.1f us/tile = %.3f%% of 1-thread compute, %.3f%% of all-thread "
	       "(pass: %s)\n",
	       check * 1e3, check * 1e6 / got, 100 * check / t_one, 100 * check / t_all, all_ok ? "yes" : "NO");
	printf("  expansion floor (the tiles' rows and columns only) %.3f ms = %.1f us/tile = %.3f%% of 1-thread "
	       "compute (%.2f GB/s)\n",
	       floor * 1e3, floor * 1e6 / got, 100 * floor / t_one,
	       (double)got * 2 * tile * n / floor * 1e-9);
	printf("  of which: proofs (leaf + Merkle path, one batch) %.1f us/tile (one by one %.1f), expansion %.1f "
	       "us/tile, the rest (tile check arithmetic) %.1f us/tile\n",
	       proof * 1e6 / got, proof1 * 1e6 / got, floor * 1e6 / got, (check - proof - floor) * 1e6 / got);
	printf("  client full Freivalds %.2f ms = %.2f%% of 1-thread compute, %.2f%% of all-thread; reads %.1f MB "
	       "= %.1f GB/s (pass: %s)\n",
	       full * 1e3, 100 * full / t_one, 100 * full / t_all, full_bytes * 1e-6, full_bytes / full * 1e-9,
	       full_ok ? "yes" : "NO");
	printf("  reading those bytes once (floor) %.2f ms = %.1f GB/s = %.2f%% of 1-thread compute (%s)\n",
	       stream * 1e3, full_bytes / stream * 1e-9, 100 * stream / t_one, sink ? "read" : "zero");
out:
	for (uint32_t i = 0; i < got; i++)
		free(c[i].tile);
	free(c);
	free(leaves);
	free(C);
	free(in[0]);
	free(in[1]);
	backend_cpu_set_isa(BACKEND_ISA_AVX512VNNI);
	kernel_simd_enable(2);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	/* --k66: the default samples_k (66, docs/compute.md §9) on the default
	 * 8x8 tiles at 1024^3, 2048^3 and 4096^3, with the worker's best ISA
	 * and again with worker and check capped at AVX2, as on an AVX2 CPU. */
	if (strcmp(mode, "--k66") == 0) {
		for (int isa = BACKEND_ISA_AVX512VNNI; isa >= BACKEND_ISA_AVX2; isa--)
			for (uint32_t n = 1024; n <= 4096; n *= 2)
				run(n, 8, 66, isa, 0);
		return 0;
	}
	/* --profile: 400 spot-checks of a 1024^3 job; --profile-full: 20 full
	 * checks of a 4096^3 one; for perf. */
	if (strcmp(mode, "--profile") == 0) {
		run(1024, 8, 66, BACKEND_ISA_AVX512VNNI, 400);
		return 0;
	}
	if (strcmp(mode, "--profile-full") == 0) {
		run(4096, 8, 66, BACKEND_ISA_AVX512VNNI, -20);
		return 0;
	}
	run(1024, 32, 16, BACKEND_ISA_AVX512VNNI, 0);
	if (strcmp(mode, "--quick") != 0) {
		/* Check cost per tile grows with its rows + columns: smaller tiles
		 * are cheaper to spot-check at the same k. */
		run(4096, 128, 16, BACKEND_ISA_AVX512VNNI, 0);
		run(4096, 32, 16, BACKEND_ISA_AVX512VNNI, 0);
		run(4096, 8, 16, BACKEND_ISA_AVX512VNNI, 0);
		run(4096, 8, 66, BACKEND_ISA_AVX512VNNI, 0);
	}
	return 0;
}

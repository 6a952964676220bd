/* Benchmark: what checking a matmul-i8 job costs next to computing it. The
 * validator's spot-check per job (k tiles: Merkle proof + Freivalds, inputs
 * expanded from the seed as a node does) and the client's full Freivalds
 * check, each over the worker's compute time (cpu backend) for the same job.
 * Prints figures and ratios; never fails on time. Not for: correctness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/compute/kernels.h"
#include "core/merkle.h"
#include "worker/backend.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void run(uint32_t n, uint32_t tile, uint32_t k)
{
	struct job_shape s = {.kind = JOB_MATMUL_I8, .m = n, .n = n, .k = n, .tile_rows = tile, .tile_cols = tile};
	struct kernel_src src = {.from_seed = 1};
	memset(src.seed, 0x3c, sizeof(src.seed));
	uint8_t *in[KERNEL_MAX_INPUTS];
	double t0 = now();
	if (kernel_src_load(&src, &s, in))
		return;
	double t_expand = now() - t0;
	int32_t *C = malloc((size_t)n * n * sizeof(int32_t));
	t0 = now();
	backend_cpu_matmul_i8((const int8_t *)in[0], (const int8_t *)in[1], C, n, n, n, 1);
	double t_one = now() - t0;
	t0 = now();
	backend_cpu_matmul_i8((const int8_t *)in[0], (const int8_t *)in[1], C, n, n, n, 0);
	double t_all = now() - t0;
	uint8_t(*leaves)[HASH_LEN], root[HASH_LEN], oh[HASH_LEN];
	t0 = now();
	kernel_commit(&s, (const uint8_t *)C, &leaves, root, oh);
	double t_commit = now() - t0;

	uint32_t tiles = kernel_tile_count(&s), idx[256];
	uint8_t cseed[HASH_LEN] = {1, 2, 3};
	uint32_t got = kernel_challenge_indices(cseed, k, tiles, idx);
	uint8_t *tilebuf = malloc((size_t)tile * tile * 4);
	static uint8_t path[MERKLE_MAX_DEPTH][HASH_LEN];
	double t_check = 0;
	int all_ok = 1;
	for (uint32_t i = 0; i < got; i++) {
		size_t depth, len = kernel_tile_bytes(&s, idx[i]);
		kernel_tile_extract(&s, (const uint8_t *)C, idx[i], tilebuf);
		merkle_proof((const uint8_t(*)[HASH_LEN])leaves, tiles, idx[i], path, &depth);
		t0 = now();
		uint8_t leaf[HASH_LEN];
		kernel_tile_leaf(idx[i], tilebuf, len, leaf);
		all_ok &= merkle_verify(leaf, idx[i], tiles, (const uint8_t(*)[HASH_LEN])path, depth, root) == 0;
		all_ok &= kernel_check_tile(&s, &src, cseed, idx[i], tilebuf, len) == 0;
		t_check += now() - t0;
	}
	t0 = now();
	int full_ok = kernel_freivalds_full(&s, in, (const uint8_t *)C, cseed) == 0;
	double t_full = now() - t0;
	printf("n=%u tiles %ux%u (%u) k=%u | expand inputs %.3f s | worker compute (%s) 1 thread %.3f s, "
	       "all threads %.3f s, commit %.3f s\n",
	       n, tile, tile, tiles, got, t_expand, backend_cpu_isa(), t_one, t_all, t_commit);
	printf("  validator spot-check %.4f s = %.2f%% of 1-thread compute, %.2f%% of all-thread compute (pass: %s)\n",
	       t_check, 100 * t_check / t_one, 100 * t_check / t_all, all_ok ? "yes" : "NO");
	printf("  client full Freivalds %.4f s = %.2f%% of 1-thread compute, %.2f%% of all-thread compute (pass: %s)\n",
	       t_full, 100 * t_full / t_one, 100 * t_full / t_all, full_ok ? "yes" : "NO");
	free(tilebuf);
	free(leaves);
	free(C);
	free(in[0]);
	free(in[1]);
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	/* --k66: the default samples_k (66, docs/compute.md §9) on the default
	 * 8x8 tiles at 1024^3 and 2048^3 */
	if (argc > 1 && strcmp(argv[1], "--k66") == 0) {
		run(1024, 8, 66);
		run(2048, 8, 66);
		return 0;
	}
	run(1024, 32, 16);
	if (!quick) {
		/* Check cost per tile grows with its rows + columns: smaller tiles
		 * are cheaper to spot-check at the same k. */
		run(4096, 128, 16);
		run(4096, 32, 16);
		run(4096, 8, 16);
		run(4096, 8, 66);
	}
	return 0;
}

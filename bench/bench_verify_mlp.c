/* Benchmark: what checking an mlp-i8 job costs next to computing it. The
 * worker's compute is the cpu backend over the whole batch (keeping the
 * pre-activations, as the worker does); the validator's check is what a
 * node does for one reveal of k tiles: hash each tile's pre-activations to
 * its digest, its leaf and Merkle proof, then the Freivalds check of every
 * layer (W_l and the tiles' rows of X expanded from the seed, as a node
 * does). The recompute check that reveals used before is timed beside it.
 * Prints medians of paired runs and ratios; never fails on time. Not for:
 * correctness (tests/unit/test_kernels.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_stats.h"
#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"
#include "core/merkle.h"
#include "worker/backend.h"

#define MAX_RUNS 15

/* --profile N: the check of the default 1-row job repeated N times after one
 * compute, for perf. */
static int profile_reps;

struct times {
	double one, all;  /* worker compute, 1 thread / all threads */
	double check;     /* validator: digests, leaves, proofs, Freivalds */
	double proofs;    /* of which the digests, leaves and Merkle proofs */
	double setup;     /* and the reveal's W_l . r_l (mlp_check_create) */
	double recompute; /* validator, before: recompute of the k tiles */
	int ok;           /* the honest reveal passed both checks */
};

static void one_run(const struct job_shape *s, uint32_t k, int with_recompute, struct times *t)
{
	struct kernel_src src = {.from_seed = 1};
	memset(src.seed, 0x3c, sizeof(src.seed));
	uint8_t *in[KERNEL_MAX_INPUTS];
	memset(t, 0, sizeof(*t));
	if (kernel_src_load(&src, s, in))
		return;
	int8_t *out = malloc(kernel_output_bytes(s));
	uint8_t *pre = malloc(mlp_pre_bytes(s, s->m));
	double t0 = bench_now();
	backend_cpu_mlp_i8(s, in, out, pre, 1);
	t->one = bench_now() - t0;
	t0 = bench_now();
	backend_cpu_mlp_i8(s, in, out, pre, 0);
	t->all = bench_now() - t0;
	uint8_t(*digests)[HASH_LEN], (*leaves)[HASH_LEN], root[HASH_LEN], oh[HASH_LEN];
	mlp_pre_digests(s, pre, &digests);
	kernel_commit_pre(s, (const uint8_t *)out, (const uint8_t(*)[HASH_LEN])digests, &leaves, root, oh);

	uint32_t tiles = kernel_tile_count(s), idx[256];
	uint8_t cseed[HASH_LEN] = {1, 2, 3};
	uint32_t got = kernel_challenge_indices(cseed, k, tiles, idx);
	size_t tlen = (size_t)kernel_tile_bytes(s, 0), plen = (size_t)mlp_tile_pre_bytes(s, 0);
	uint8_t *tile = malloc(tlen * got), *z = malloc(plen * got);
	static uint8_t path[256][MERKLE_MAX_DEPTH][HASH_LEN];
	size_t depth[256];
	for (uint32_t i = 0; i < got; i++) { /* the reveal as it arrives */
		kernel_tile_extract(s, (const uint8_t *)out, idx[i], tile + i * tlen);
		mlp_tile_pre_extract(s, pre, idx[i], z + i * plen);
		merkle_proof((const uint8_t(*)[HASH_LEN])leaves, tiles, idx[i], path[i], &depth[i]);
	}
	int ok = 1;
	for (int rep = 0; rep < (profile_reps > 0 ? profile_reps : 1); rep++) {
		t0 = bench_now();
		/* as a node does: the digests two at a time, the leaves, the paths as
	 * one batch */
		static uint8_t digest[256][HASH_LEN], pass[256];
		static struct merkle_claim claims[256];
		for (uint32_t i = 0; i < got; i++) {
			size_t pl = (size_t)mlp_tile_pre_bytes(s, idx[i]);
			if (i + 1 < got && mlp_tile_pre_bytes(s, idx[i + 1]) == pl) {
				mlp_pre_digest2(z + i * plen, z + (i + 1) * plen, pl, digest[i],
						digest[i + 1]);
				i++;
			} else {
				mlp_pre_digest(z + i * plen, pl, digest[i]);
			}
		}
		for (uint32_t i = 0; i < got; i++) {
			ok &= mlp_tile_leaf(idx[i], tile + i * tlen, (size_t)kernel_tile_bytes(s, idx[i]),
					    digest[i], claims[i].leaf) == 0;
			claims[i].index = idx[i];
			claims[i].path = (const uint8_t(*)[HASH_LEN])path[i];
			claims[i].depth = depth[i];
		}
		merkle_verify_batch(claims, got, tiles, root, pass);
		for (uint32_t i = 0; i < got; i++)
			ok &= pass[i];
		t->proofs = bench_now() - t0;
		mlp_check_t *mc = mlp_check_create(s, &src, cseed);
		t->setup = bench_now() - t0 - t->proofs;
		ok &= mc != NULL;
		for (uint32_t i = 0; i < got && mc; i++)
			ok &= mlp_check_tile(mc, idx[i], tile + i * tlen,
					     (size_t)kernel_tile_bytes(s, idx[i]), z + i * plen,
					     (size_t)mlp_tile_pre_bytes(s, idx[i])) == 0;
		mlp_check_destroy(mc);
		t->check = bench_now() - t0;
	}
	if (with_recompute) {
		t0 = bench_now();
		for (uint32_t i = 0; i < got; i++)
			ok &= mlp_recompute_tile(s, &src, idx[i], tile + i * tlen,
						 (size_t)kernel_tile_bytes(s, idx[i])) == 0;
		t->recompute = bench_now() - t0;
	}
	t->ok = ok;
	free(tile);
	free(z);
	free(digests);
	free(leaves);
	free(out);
	free(pre);
	for (unsigned i = 0; i < kernel_input_count(s); i++)
		free(in[i]);
}

static void run(uint32_t m, const uint32_t *dims, unsigned layers, uint32_t tile_rows, uint32_t k, int runs,
		int with_recompute)
{
	struct job_shape s = {.kind = JOB_MLP_I8, .m = m, .layers = (uint8_t)layers, .tile_rows = tile_rows};
	for (unsigned l = 0; l <= layers; l++)
		s.dims[l] = dims[l];
	for (unsigned l = 0; l < layers; l++)
		s.shifts[l] = 8;
	s.n = s.tile_cols = dims[layers];
	double one[MAX_RUNS] = {0}, all[MAX_RUNS] = {0}, check[MAX_RUNS] = {0}, rec[MAX_RUNS] = {0},
	       proofs[MAX_RUNS] = {0}, setup[MAX_RUNS] = {0}, r1[MAX_RUNS] = {0}, ra[MAX_RUNS] = {0},
	       rr[MAX_RUNS] = {0};
	int ok = 1;
	for (int r = 0; r < runs; r++) {
		struct times t;
		one_run(&s, k, with_recompute, &t);
		ok &= t.ok;
		one[r] = t.one, all[r] = t.all, check[r] = t.check, rec[r] = t.recompute;
		proofs[r] = t.proofs, setup[r] = t.setup;
		r1[r] = t.check / t.one; /* the ratio of each run: both measured in it */
		ra[r] = t.check / t.all;
		rr[r] = t.recompute / t.one;
	}
	char w[64];
	int at = 0;
	for (unsigned l = 0; l <= layers; l++)
		at += snprintf(w + at, sizeof(w) - (size_t)at, "%s%u", l ? "-" : "", dims[l]);
	printf("mlp-i8 m=%u widths %s, %u-row tiles (%u), k=%u, %d runs (medians) | worker compute (%s) 1 "
	       "thread "
	       "%.4f s, all threads %.4f s\n",
	       m, w, tile_rows, kernel_tile_count(&s), k, runs, backend_cpu_isa(),
	       bench_median(one, runs, NULL, NULL), bench_median(all, runs, NULL, NULL));
	printf("  validator check (Freivalds) %.5f s = %.3f%% of 1-thread compute, %.3f%% of all-thread "
	       "(pass: %s)\n",
	       bench_median(check, runs, NULL, NULL), 100 * bench_median(r1, runs, NULL, NULL),
	       100 * bench_median(ra, runs, NULL, NULL), ok ? "yes" : "NO");
	double pm = bench_median(proofs, runs, NULL, NULL), sm = bench_median(setup, runs, NULL, NULL);
	printf("  of which: pre-activation digests, leaves and proofs %.3f ms, W_l . r_l of every layer %.3f "
	       "ms, the tiles' Freivalds checks %.3f ms\n",
	       pm * 1e3, sm * 1e3, (bench_median(check, runs, NULL, NULL) - pm - sm) * 1e3);
	if (with_recompute)
		printf("  validator check by recompute (before) %.4f s = %.1f%% of 1-thread compute\n",
		       bench_median(rec, runs, NULL, NULL), 100 * bench_median(rr, runs, NULL, NULL));
}

int main(int argc, char **argv)
{
	int runs = 3, with_recompute = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-recompute") == 0)
			with_recompute = 0;
		else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
			profile_reps = atoi(argv[++i]);
		else {
			fprintf(stderr,
				"usage: bench_verify_mlp [--runs N (1..%d)] [--no-recompute] [--profile N]\n",
				MAX_RUNS);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS)
		runs = 3;
	static const uint32_t wide[] = {1024, 1024, 1024}, small[] = {24, 32, 10};
	if (profile_reps > 0) {
		run(4096, wide, 2, 1, 66, 1, 0);
		return 0;
	}
	run(4096, wide, 2, 16, 66, runs, with_recompute);
	run(4096, small, 2, 16, 66, runs, with_recompute);
	/* How the ratio scales: the check reads k x tile_rows rows (26% of the
	 * batch above) once each, the worker computes all m; fewer rows per
	 * tile or a larger batch lower the ratio. */
	run(4096, wide, 2, 1, 66, runs, 0);
	run(16384, wide, 2, 16, 66, runs, 0);
	return 0;
}

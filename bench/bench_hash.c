/* Benchmark: core/sha256.c's SHA-256 on each compression path beside
 * OpenSSL's EVP (a fetched algorithm and a reused context, the way
 * core/sha256.c used it before) in the same run: ns per Merkle node hash
 * (65 bytes, two blocks, each output chained into the next input) and MB/s
 * over 1 MiB. Prints figures and ratios; never fails on time. Not for:
 * correctness (tests/unit/test_sha256.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench/bench_stats.h"
#include "core/merkle.h"
#include "core/sha256.h"

#define REPS 5            /* timed rounds; each figure is the median */
#define NODES 200000      /* node hashes per round */
#define BIG_LEN (1 << 20) /* bytes of the throughput input */
#define BIG_TIMES 16      /* 1 MiB hashes per round */

enum path { PATH_EVP, PATH_PORTABLE, PATH_SHANI, PATH_OPENSSL, NPATHS };
static const char *const path_name[NPATHS] = {"OpenSSL EVP", "ours, portable C", "ours, SHA extensions",
					      "ours, OpenSSL block function"};

static volatile uint8_t sink_out; /* keeps the hashing live */
static EVP_MD *evp_md;
static EVP_MD_CTX *evp_ctx;

static void evp_hash(const void *p, size_t n, uint8_t out[HASH_LEN])
{
	EVP_DigestInit_ex2(evp_ctx, evp_md, NULL);
	EVP_DigestUpdate(evp_ctx, p, n);
	EVP_DigestFinal_ex(evp_ctx, out, NULL);
}

/* Seconds for NODES chained node hashes; the result goes to *sink. */
static double time_nodes(enum path path, uint8_t *sink)
{
	uint8_t l[HASH_LEN] = {1}, r[HASH_LEN] = {2};
	double t0 = bench_now();
	if (path == PATH_EVP) {
		uint8_t in[1 + 2 * HASH_LEN];
		in[0] = 0x01;
		for (int i = 0; i < NODES; i++) {
			memcpy(in + 1, l, HASH_LEN);
			memcpy(in + 1 + HASH_LEN, r, HASH_LEN);
			evp_hash(in, sizeof(in), l);
		}
	} else {
		for (int i = 0; i < NODES; i++)
			merkle_node_hash(l, r, l);
	}
	double t = bench_now() - t0;
	*sink ^= l[0];
	return t;
}

static double time_big(enum path path, const uint8_t *big, uint8_t *sink)
{
	uint8_t out[HASH_LEN];
	double t0 = bench_now();
	for (int i = 0; i < BIG_TIMES; i++) {
		if (path == PATH_EVP)
			evp_hash(big, BIG_LEN, out);
		else
			sha256(big, BIG_LEN, out);
		*sink ^= out[0];
	}
	return bench_now() - t0;
}

static bool use_path(enum path path)
{
	switch (path) {
	case PATH_PORTABLE:
		return sha256_select(SHA256_IMPL_PORTABLE);
	case PATH_SHANI:
		return sha256_select(SHA256_IMPL_SHANI);
	case PATH_OPENSSL:
		return sha256_select(SHA256_IMPL_OPENSSL);
	default:
		return true;
	}
}

int main(void)
{
	evp_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	evp_ctx = EVP_MD_CTX_new();
	uint8_t *big = malloc(BIG_LEN);
	if (!evp_md || !evp_ctx || !big) {
		fprintf(stderr, "bench_hash: setup failed\n");
		return 1;
	}
	for (size_t i = 0; i < BIG_LEN; i++)
		big[i] = (uint8_t)(i * 131 + 7);
	bool have[NPATHS];
	double node[NPATHS][REPS], mbs[NPATHS][REPS];
	uint8_t sink = 0;
	for (int p = 0; p < NPATHS; p++)
		have[p] = use_path((enum path)p);
	/* Rounds interleave the paths so that noise on a shared machine falls
	 * on all of them alike. */
	for (int r = 0; r < REPS; r++) {
		for (int p = 0; p < NPATHS; p++) {
			if (!have[p] || !use_path((enum path)p))
				continue;
			node[p][r] = time_nodes((enum path)p, &sink) * 1e9 / NODES;
			mbs[p][r] = (double)BIG_LEN * BIG_TIMES / time_big((enum path)p, big, &sink) / 1e6;
		}
	}
	sha256_select(SHA256_IMPL_BEST);
	printf("SHA-256, median of %d rounds (%d node hashes, %d x 1 MiB each)\n", REPS, NODES, BIG_TIMES);
	double evp_node = bench_median(node[PATH_EVP], REPS, NULL, NULL);
	double evp_mbs = bench_median(mbs[PATH_EVP], REPS, NULL, NULL);
	for (int p = 0; p < NPATHS; p++) {
		if (!have[p]) {
			printf("  %-30s not on this CPU\n", path_name[p]);
			continue;
		}
		double n = bench_median(node[p], REPS, NULL, NULL),
		       m = bench_median(mbs[p], REPS, NULL, NULL);
		printf("  %-30s %7.1f ns/Merkle node (%.2fx EVP)  %7.0f MB/s over 1 MiB (%.2fx EVP)\n",
		       path_name[p], n, evp_node / n, m, m / evp_mbs);
	}
	free(big);
	EVP_MD_CTX_free(evp_ctx);
	EVP_MD_free(evp_md);
	sink_out = sink;
	return 0;
}

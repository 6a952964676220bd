/* Benchmark of the sparse Merkle tree at 1,000,000 accounts: the build, then
 * block-like batches (10,000 updates of existing keys, then the root), then
 * proofs and verifications; beside the updates, the same updates into a
 * plain open-addressing hash map as a reference (what a key-value write
 * costs with no tree to maintain). Prints figures only; never fails on time.
 * Not for: the LevelDB store (nothing here touches disk). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/smt.h"

#define BENCH_ACCOUNTS 1000000 /* tree size the figures are quoted at */
#define BENCH_BATCH 10000      /* updates per "block" */
#define BENCH_BATCHES 20
#define BENCH_PROOFS 100000

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void rng_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = rng();
		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The reference map: slot -> key index + 1 (0: empty), and the value. */
#define REF_SLOTS (1u << 21) /* a power of two, over twice BENCH_ACCOUNTS */
struct ref_slot {
	uint32_t idx1;
	uint8_t val[32];
};

static struct ref_slot *ref_find(struct ref_slot *map, const uint8_t (*keys)[32], const uint8_t key[32])
{
	uint64_t h;
	memcpy(&h, key, sizeof(h)); /* the keys are random bytes already */
	for (size_t i = h & (REF_SLOTS - 1);; i = (i + 1) & (REF_SLOTS - 1))
		if (!map[i].idx1 || memcmp(keys[map[i].idx1 - 1], key, 32) == 0)
			return &map[i];
}

/* Updates per second of the same kind of batch into the reference map. */
static double ref_update_rate(const uint8_t (*keys)[32])
{
	struct ref_slot *map = calloc(REF_SLOTS, sizeof(*map));
	uint8_t vh[32];
	if (!map)
		return 0;
	for (uint32_t i = 0; i < BENCH_ACCOUNTS; i++)
		ref_find(map, keys, keys[i])->idx1 = i + 1;
	double a = now();
	for (int i = 0; i < BENCH_BATCH * BENCH_BATCHES; i++) {
		rng_bytes(vh, 32);
		uint32_t k = (uint32_t)(rng() % BENCH_ACCOUNTS);
		memcpy(ref_find(map, keys, keys[k])->val, vh, 32);
	}
	double rate = BENCH_BATCH * BENCH_BATCHES / (now() - a);
	free(map);
	return rate;
}

int main(void)
{
	uint8_t(*keys)[32] = malloc((size_t)BENCH_ACCOUNTS * 32);
	uint8_t(*values)[32] = malloc((size_t)BENCH_ACCOUNTS * 32);
	smt_t *t = smt_new();
	uint8_t root[32], vh[32];
	if (!keys || !values || !t) {
		fprintf(stderr, "bench_smt: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < BENCH_ACCOUNTS; i++) {
		rng_bytes(keys[i], 32);
		rng_bytes(values[i], 32);
	}

	double t0 = now();
	for (size_t i = 0; i < BENCH_ACCOUNTS; i++)
		if (smt_update(t, keys[i], values[i]) != 0) {
			fprintf(stderr, "bench_smt: insert failed\n");
			return 1;
		}
	double t1 = now();
	smt_root(t, root);
	double t2 = now();
	printf("build: %d keys inserted in %.2f s (%.0f inserts/s), first root in %.2f s\n",
	       BENCH_ACCOUNTS, t1 - t0, BENCH_ACCOUNTS / (t1 - t0), t2 - t1);
	printf("memory: %.1f MiB in node pools (%.0f bytes per key)\n",
	       (double)smt_memory(t) / (1 << 20), (double)smt_memory(t) / BENCH_ACCOUNTS);

	double upd_time = 0, root_time = 0;
	for (int b = 0; b < BENCH_BATCHES; b++) {
		double a = now();
		for (int i = 0; i < BENCH_BATCH; i++) {
			rng_bytes(vh, 32);
			smt_update(t, keys[rng() % BENCH_ACCOUNTS], vh);
		}
		double m = now();
		smt_root(t, root);
		double e = now();
		upd_time += m - a;
		root_time += e - m;
	}
	double total = (double)BENCH_BATCH * BENCH_BATCHES;
	printf("updates: %d batches of %d random existing keys + root: %.0f updates/s "
	       "(%.1f ms per batch: %.1f ms updates, %.1f ms root)\n",
	       BENCH_BATCHES, BENCH_BATCH, total / (upd_time + root_time),
	       (upd_time + root_time) * 1e3 / BENCH_BATCHES, upd_time * 1e3 / BENCH_BATCHES,
	       root_time * 1e3 / BENCH_BATCHES);
	double ref = ref_update_rate((const uint8_t(*)[32])keys);
	printf("reference: the same updates into a plain hash map (no tree, no root): %.0f updates/s; the tree "
	       "with its root runs at %.3fx that\n",
	       ref, ref > 0 ? total / (upd_time + root_time) / ref : 0);

	struct smt_proof *proofs = malloc(sizeof(*proofs) * 1000);
	uint32_t *which = malloc(sizeof(*which) * 1000);
	if (!proofs || !which)
		return 1;
	/* Values changed in the batches, so prove and verify against the tree's
	 * own value hashes. */
	double prove_time = 0, verify_time = 0, depth_sum = 0;
	int failures = 0;
	for (int round = 0; round < BENCH_PROOFS / 1000; round++) {
		double a = now();
		for (int i = 0; i < 1000; i++) {
			which[i] = (uint32_t)(rng() % BENCH_ACCOUNTS);
			smt_prove(t, keys[which[i]], &proofs[i]);
		}
		double m = now();
		for (int i = 0; i < 1000; i++)
			if (smt_verify(root, keys[which[i]], proofs[i].leaf_value_hash, &proofs[i]) != 0)
				failures++;
		double e = now();
		prove_time += m - a;
		verify_time += e - m;
		for (int i = 0; i < 1000; i++)
			depth_sum += proofs[i].nsiblings;
	}
	printf("proofs: %.0f proofs/s, %.0f verifies/s (mean depth %.1f siblings)%s\n",
	       BENCH_PROOFS / prove_time, BENCH_PROOFS / verify_time, depth_sum / BENCH_PROOFS,
	       failures ? " -- SOME PROOFS DID NOT VERIFY" : "");
	free(proofs);
	free(which);
	smt_free(t);
	free(keys);
	free(values);
	return failures ? 1 : 0;
}

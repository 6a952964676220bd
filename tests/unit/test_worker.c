/* Unit tests of assay-worker's pure parts: the kept-level Merkle tree agrees
 * with core/merkle.h on every size and index, a reveal payload decodes and
 * every tile in it proves against the root and passes the chain's check, a
 * small output's blob fits the chain's blob and transaction limits and names
 * the output hash, and test-only corruption changes exactly the tiles it
 * says. */
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/compute.h"
#include "consensus/compute/compute_codec.h"
#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"
#include "core/error.h"
#include "core/merkle.h"
#include "tests/unit/test.h"
#include "worker/outtree.h"
#include "worker/work.h"

static void test_outtree_matches_rfc6962(void)
{
	for (size_t n = 1; n <= 70; n++) {
		uint8_t (*leaves)[HASH_LEN] = malloc(n * HASH_LEN), (*copy)[HASH_LEN] = malloc(n * HASH_LEN);
		for (size_t i = 0; i < n; i++) {
			uint8_t data[8];
			le64_put(data, i * 7919 + n);
			merkle_leaf_hash(data, sizeof(data), leaves[i]);
		}
		memcpy(copy, leaves, n * HASH_LEN);
		outtree_t *t = outtree_build(copy, n);
		uint8_t want[HASH_LEN], got[HASH_LEN];
		merkle_root((const uint8_t (*)[HASH_LEN])leaves, n, want);
		outtree_root(t, got);
		CHECK_EQ_MEM(want, got, HASH_LEN);
		for (size_t i = 0; i < n; i++) {
			uint8_t p1[MERKLE_MAX_DEPTH][HASH_LEN], p2[MERKLE_MAX_DEPTH][HASH_LEN];
			size_t d1 = 0, d2 = 0;
			CHECK(merkle_proof((const uint8_t (*)[HASH_LEN])leaves, n, i, p1, &d1) == 0);
			CHECK(outtree_proof(t, i, p2, &d2) == 0);
			CHECK(d1 == d2);
			CHECK(memcmp(p1, p2, d1 * HASH_LEN) == 0);
			CHECK(merkle_verify(leaves[i], i, n, (const uint8_t (*)[HASH_LEN])p2, d2, want) == 0);
		}
		uint8_t p[MERKLE_MAX_DEPTH][HASH_LEN];
		size_t d;
		CHECK(outtree_proof(t, n, p, &d) == ASSAY_EARG);
		outtree_destroy(t);
		free(leaves);
	}
	CHECK(outtree_build(NULL, 0) == NULL);
}

static void small_job(struct job_shape *s, uint8_t seed[HASH_LEN], uint8_t **output, uint8_t *in[KERNEL_MAX_INPUTS])
{
	memset(s, 0, sizeof(*s));
	s->kind = JOB_MATMUL_I8;
	s->m = 40, s->n = 36, s->k = 50;
	s->tile_rows = 8, s->tile_cols = 8; /* 5 x 5 = 25 tiles, edge tiles 8 x 4 */
	for (int i = 0; i < HASH_LEN; i++)
		seed[i] = (uint8_t)(i * 3 + 1);
	struct kernel_src src = {.from_seed = 1};
	memcpy(src.seed, seed, HASH_LEN);
	uint64_t len;
	CHECK(kernel_src_load(&src, s, in) == 0);
	CHECK(kernel_compute_ref(s, in, output, &len) == 0);
	CHECK(len == kernel_output_bytes(s));
}

static void test_reveal_payload(void)
{
	struct job_shape s;
	uint8_t seed[HASH_LEN], job_id[HASH_LEN], challenge[HASH_LEN], root[HASH_LEN];
	uint8_t *output, *in[KERNEL_MAX_INPUTS] = {0};
	small_job(&s, seed, &output, in);
	memset(job_id, 0x42, HASH_LEN);
	memset(challenge, 0x17, HASH_LEN);
	outtree_t *tree;
	uint8_t (*digests)[HASH_LEN];
	CHECK(work_commit(&s, output, NULL, &tree, &digests, root) == 0);
	CHECK(digests == NULL);
	uint8_t want_root[HASH_LEN], (*plain)[HASH_LEN];
	CHECK(kernel_commit(&s, output, &plain, want_root, NULL) == 0);
	CHECK_EQ_MEM(root, want_root, HASH_LEN); /* the kept tree's root is the commitment's */
	free(plain);
	struct kernel_src src = {.from_seed = 1};
	memcpy(src.seed, seed, HASH_LEN);
	for (uint32_t k = 1; k <= 30; k += 7) { /* 30 > 25 tiles: all of them */
		struct buf payload;
		uint64_t units = 0, want_units = 0;
		buf_init(&payload);
		CHECK(work_reveal_payload(&s, job_id, root, output, NULL, tree, challenge, k, &payload, &units) == 0);
		struct job_reveal_payload *v = calloc(1, sizeof(*v));
		CHECK(compute_reveal_decode(v, payload.data, payload.len) == 0);
		uint32_t idx[JOB_MAX_SAMPLES];
		uint32_t count = kernel_challenge_indices(challenge, k, 25, idx);
		CHECK(v->count == count);
		CHECK(memcmp(v->job_id, job_id, HASH_LEN) == 0);
		CHECK(memcmp(v->root, root, HASH_LEN) == 0);
		for (uint32_t c = 0; c < v->count && c < count; c++) {
			const struct tile_proof *tp = &v->tiles[c];
			uint8_t leaf[HASH_LEN];
			CHECK(tp->index == idx[c]);
			kernel_tile_leaf(tp->index, tp->tile, tp->tile_len, leaf);
			CHECK(merkle_verify(leaf, tp->index, 25, tp->path, tp->depth, root) == 0);
			CHECK(kernel_check_tile(&s, &src, challenge, tp->index, tp->tile, tp->tile_len) == 0);
			want_units += kernel_check_units(&s, tp->index) + tp->tile_len / 64 + tp->depth + 1;
		}
		CHECK(units == want_units && units > 0);
		free(v);
		buf_free(&payload);
	}
	struct buf b;
	uint64_t u;
	buf_init(&b);
	CHECK(work_reveal_payload(&s, job_id, root, output, NULL, tree, challenge, 0, &b, &u) == ASSAY_EARG);
	buf_free(&b);
	outtree_destroy(tree);
	free(output);
	for (int i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
}

/* An mlp reveal: the worker's leaves bind every tile's pre-activation
 * digest, each revealed tile carries the pre-activations that hash to it
 * and passes the chain's Freivalds check, and the units are the chain's
 * (per tile, plus W . r once). */
static void test_reveal_payload_mlp(void)
{
	struct job_shape s = {.kind = JOB_MLP_I8, .m = 37, .n = 10, .layers = 2, .dims = {24, 32, 10},
			      .shifts = {6, 6}, .tile_rows = 4, .tile_cols = 10};
	struct kernel_src src = {.from_seed = 1};
	memset(src.seed, 0x2b, HASH_LEN);
	uint8_t *in[KERNEL_MAX_INPUTS] = {0}, *output, *pre;
	CHECK(kernel_src_load(&src, &s, in) == 0);
	CHECK(mlp_compute_ref(&s, in, &output, &pre) == 0);
	uint8_t job_id[HASH_LEN], challenge[HASH_LEN], root[HASH_LEN];
	memset(job_id, 0x42, HASH_LEN);
	memset(challenge, 0x19, HASH_LEN);
	outtree_t *tree;
	uint8_t (*digests)[HASH_LEN];
	CHECK(work_commit(&s, output, NULL, &tree, &digests, root) == ASSAY_EARG);
	CHECK(work_commit(&s, output, pre, &tree, &digests, root) == 0);
	uint32_t tiles = kernel_tile_count(&s);
	struct buf payload;
	uint64_t units = 0, want_units = compute_reveal_fixed_units(&s);
	buf_init(&payload);
	CHECK(work_reveal_payload(&s, job_id, root, output, NULL, tree, challenge, 5, &payload, &units) == ASSAY_EARG);
	buf_reset(&payload);
	CHECK(work_reveal_payload(&s, job_id, root, output, pre, tree, challenge, 5, &payload, &units) == 0);
	struct job_reveal_payload *v = calloc(1, sizeof(*v));
	CHECK(compute_reveal_decode(v, payload.data, payload.len) == 0);
	CHECK(v->count == 5);
	mlp_check_t *mc = mlp_check_create(&s, &src, challenge);
	CHECK(mc != NULL);
	for (uint32_t c = 0; c < v->count; c++) {
		const struct tile_proof *tp = &v->tiles[c];
		uint8_t digest[HASH_LEN], leaf[HASH_LEN];
		CHECK_EQ_U64(tp->pre_len, mlp_tile_pre_bytes(&s, tp->index));
		mlp_pre_digest(tp->pre, tp->pre_len, digest);
		CHECK_EQ_MEM(digest, digests[tp->index], HASH_LEN);
		CHECK(mlp_tile_leaf(tp->index, tp->tile, tp->tile_len, digest, leaf) == 0);
		CHECK(merkle_verify(leaf, tp->index, tiles, tp->path, tp->depth, root) == 0);
		CHECK_EQ_INT(mlp_check_tile(mc, tp->index, tp->tile, tp->tile_len, tp->pre, tp->pre_len), 0);
		want_units += compute_tile_units(&s, tp->index, tp->tile_len + tp->pre_len, tp->depth);
	}
	CHECK_EQ_U64(units, want_units);
	mlp_check_destroy(mc);
	free(v);
	buf_free(&payload);
	outtree_destroy(tree);
	free(digests);
	free(output);
	free(pre);
	for (int i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
}

/* The gas the worker sets on a reveal is the chain's formula, in full
 * 128-bit precision: exact below 2^64, refused above. */
static void test_check_gas(void)
{
	uint64_t gas = 0;
	CHECK(compute_check_gas(1, 12345, &gas) == 0 && gas == 12345);
	CHECK(compute_check_gas(7, 0, &gas) == 0 && gas == 0);
	CHECK(compute_check_gas(1u << 20, 1ull << 43, &gas) == 0 && gas == 1ull << 63);
	CHECK(compute_check_gas(1u << 20, 1ull << 44, &gas) == ASSAY_EOVERFLOW && gas == UINT64_MAX);
	CHECK(compute_check_gas(3, (unsigned __int128)UINT64_MAX / 3, &gas) == 0 && gas == UINT64_MAX / 3 * 3);
	CHECK(compute_check_gas(3, (unsigned __int128)UINT64_MAX / 3 + 1, &gas) == ASSAY_EOVERFLOW);
}

static void test_corrupt(void)
{
	struct job_shape s;
	uint8_t seed[HASH_LEN], job_id[HASH_LEN];
	uint8_t *output, *in[KERNEL_MAX_INPUTS] = {0};
	small_job(&s, seed, &output, in);
	uint64_t len = kernel_output_bytes(&s);
	struct kernel_src src = {.from_seed = 1};
	memcpy(src.seed, seed, HASH_LEN);
	uint8_t *copy = malloc(len), tile[8 * 8 * 4];
	for (int trial = 0; trial < 8; trial++) {
		memset(job_id, trial, HASH_LEN);
		memcpy(copy, output, len);
		CHECK(work_corrupt(&s, job_id, copy, 0.0, 0) == 0);
		CHECK(memcmp(copy, output, len) == 0);
		CHECK(work_corrupt(&s, job_id, copy, 0.0, 1) == 1);
		uint32_t wrong = 0;
		for (uint32_t i = 0; i < 25; i++) {
			kernel_tile_extract(&s, copy, i, tile);
			int bad = kernel_check_tile(&s, &src, seed, i, tile, kernel_tile_bytes(&s, i)) != 0;
			CHECK(bad == work_corrupted(&s, job_id, i, 0.0, 1));
			wrong += (uint32_t)bad;
		}
		CHECK(wrong == 1);
		memcpy(copy, output, len);
		CHECK(work_corrupt(&s, job_id, copy, 0.0, 3) == 3);
		CHECK(work_corrupt(&s, job_id, copy, 0.0, 100) == 25);
	}
	/* Fraction mode over a 64 x 64 grid of 1 x 1 tiles: about 30% of 4096. */
	struct job_shape big = s;
	big.m = 64, big.n = 64, big.tile_rows = 1, big.tile_cols = 1;
	uint32_t chosen = 0;
	for (uint32_t i = 0; i < 4096; i++)
		chosen += (uint32_t)work_corrupted(&big, job_id, i, 0.3, 0);
	CHECK(chosen > 1100 && chosen < 1360); /* mean 1229, sd 29: over 4 sd either side */
	free(copy);
	free(output);
	for (int i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
}

/* The blob limit is the least of the three bounds, and a payload at the
 * limit is one the chain accepts (blob and transaction size) and names the
 * output hash. */
static void test_blob_output(void)
{
	static const struct {
		uint64_t max_blob, max_tx, want;
	} cases[] = {
		{1u << 20, 1u << 20, WORK_BLOB_OUTPUT_MAX}, /* the default chain */
		{1000, 1u << 20, 1000},                     /* max_blob_bytes lower */
		{1u << 20, 20000, 20000 - WORK_TX_ENVELOPE_BYTES - HASH_LEN - 10},
		{1u << 20, WORK_TX_ENVELOPE_BYTES + HASH_LEN + 10, 0}, /* nothing fits */
		{0, 1u << 20, 0},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint64_t most = work_blob_output_max(cases[c].max_blob, cases[c].max_tx);
		CHECK(most == cases[c].want);
		if (!most)
			continue;
		uint8_t *output = malloc(most), want[HASH_LEN];
		for (uint64_t i = 0; i < most; i++)
			output[i] = (uint8_t)(i * 131 + c);
		struct buf payload;
		struct blob_payload bl;
		buf_init(&payload);
		CHECK(work_blob_payload(output, most, &payload) == 0);
		CHECK(payload.len + WORK_TX_ENVELOPE_BYTES <= cases[c].max_tx);
		CHECK(compute_blob_decode(&bl, payload.data, payload.len) == 0);
		CHECK(bl.len == most && bl.len <= cases[c].max_blob);
		CHECK(memcmp(bl.data, output, most) == 0);
		sha256(output, most, want);
		CHECK_EQ_MEM(bl.hash, want, HASH_LEN);
		buf_free(&payload);
		free(output);
	}
}

int main(void)
{
	RUN(test_outtree_matches_rfc6962);
	RUN(test_reveal_payload);
	RUN(test_reveal_payload_mlp);
	RUN(test_check_gas);
	RUN(test_corrupt);
	RUN(test_blob_output);
	return test_report("test_worker");
}

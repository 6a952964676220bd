/* Output chunks (consensus/compute/avail.h, worker/upload.h): codecs, range
 * proofs over RFC 6962 trees of every size, and the check of a chunk
 * against its job: a good chunk, a wrong tile, a wrong proof, a run out of
 * range, a wrong length, another root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/mlp.h"
#include "core/error.h"
#include "tests/unit/test.h"
#include "worker/upload.h"
#include "worker/work.h"


static void test_range_proofs(void)
{
	uint8_t leaves[13][HASH_LEN], root[HASH_LEN], proof[AVAIL_MAX_PROOF][HASH_LEN];
	for (size_t n = 1; n <= 13; n++) {
		for (size_t i = 0; i < n; i++)
			merkle_leaf_hash(&i, sizeof(i), leaves[i]);
		merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, root);
		for (size_t lo = 0; lo < n; lo++)
			for (size_t hi = lo + 1; hi <= n; hi++) {
				size_t count;
				CHECK_EQ_INT(avail_range_proof(avail_subtree_of_leaves, leaves, n, lo, hi,
							       proof, &count),
					     0);
				CHECK_EQ_INT(avail_range_verify((const uint8_t(*)[HASH_LEN])leaves + lo, n,
								lo, hi, (const uint8_t(*)[HASH_LEN])proof,
								count, root),
					     0);
				if (count) { /* one bit of the proof changed */
					proof[0][0] ^= 1;
					CHECK_EQ_INT(
						avail_range_verify((const uint8_t(*)[HASH_LEN])leaves + lo, n,
								   lo, hi, (const uint8_t(*)[HASH_LEN])proof,
								   count, root),
						ASSAY_ESIG);
					/* one hash short */
					CHECK_EQ_INT(
						avail_range_verify((const uint8_t(*)[HASH_LEN])leaves + lo, n,
								   lo, hi, (const uint8_t(*)[HASH_LEN])proof,
								   count - 1, root),
						ASSAY_ESIG);
				}
			}
	}
	size_t count;
	CHECK_EQ_INT(avail_range_proof(avail_subtree_of_leaves, leaves, 5, 3, 3, proof, &count), ASSAY_EARG);
	CHECK_EQ_INT(avail_range_proof(avail_subtree_of_leaves, leaves, 5, 2, 6, proof, &count), ASSAY_EARG);
}

/* mlp chunks carry each tile's output then its pre-activation digest P_i:
 * they prove against the leaves that bind P_i, a wrong digest byte fails,
 * and the whole output comes back out of them. */
static void test_chunks_mlp(void)
{
	struct job_shape s = {.kind = JOB_MLP_I8, .m = 21, .n = 10, .layers = 2, .dims = {24, 32, 10},
			      .shifts = {6, 6}, .tile_rows = 4, .tile_cols = 10};
	struct kernel_src src = {.from_seed = 1};
	memset(src.seed, 0x61, HASH_LEN);
	uint8_t *in[KERNEL_MAX_INPUTS] = {0}, *out, *pre, job[HASH_LEN] = {9}, root[HASH_LEN];
	CHECK(kernel_src_load(&src, &s, in) == 0);
	CHECK(mlp_compute_ref(&s, in, &out, &pre) == 0);
	outtree_t *tree = NULL;
	uint8_t (*digests)[HASH_LEN];
	CHECK_EQ_INT(work_commit(&s, out, pre, &tree, &digests, root), 0);
	CHECK_EQ_U64(avail_run_bytes(&s, 0, 1), 40 + HASH_LEN);
	CHECK_EQ_U64(avail_run_bytes(&s, 5, 1), 10 + HASH_LEN); /* the edge tile: one row */
	CHECK_EQ_U64(avail_output_bytes(&s), 210 + 6 * HASH_LEN);
	struct buf enc;
	struct avail_ref ref;
	struct avail_chunk c;
	buf_init(&enc);
	CHECK_EQ_INT(upload_chunk(&s, job, out, NULL, tree, 0, 1024, &enc, &ref), ASSAY_EARG);
	uint8_t *whole = calloc(1, 210);
	for (uint32_t first = 0; first < 6;) {
		CHECK_EQ_INT(upload_chunk(&s, job, out, (const uint8_t(*)[HASH_LEN])digests, tree, first, 150, &enc, &ref),
			     0);
		CHECK_EQ_INT(avail_chunk_decode(&c, enc.data, enc.len), 0);
		CHECK_EQ_U64(c.data_len, avail_run_bytes(&s, first, c.tile_count));
		CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), 0);
		size_t off = 0;
		for (uint32_t i = first; i < first + c.tile_count; i++) {
			size_t t = (size_t)kernel_tile_bytes(&s, i);
			memcpy(whole + (size_t)i * 40, c.data + off, t);
			CHECK_EQ_MEM(c.data + off + t, digests[i], HASH_LEN);
			off += t + HASH_LEN;
		}
		/* a flipped digest byte no longer proves */
		((uint8_t *)c.data)[c.data_len - 1] ^= 1;
		CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), ASSAY_ESIG);
		first += ref.tile_count;
	}
	CHECK_EQ_MEM(whole, out, 210);
	/* the leaves without the digests are not the committed ones */
	uint8_t (*plain)[HASH_LEN], other[HASH_LEN];
	CHECK_EQ_INT(kernel_commit(&s, out, &plain, other, NULL), ASSAY_EARG);
	buf_free(&enc);
	free(whole);
	outtree_destroy(tree);
	free(digests);
	free(out);
	free(pre);
	for (int i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
}

static void test_chunks(void)
{
	/* 40 x 24 int32 in 8 x 8 tiles: 5 x 3 = 15 tiles of 256 bytes */
	struct job_shape s = {
		.kind = JOB_MATMUL_I8, .m = 40, .n = 24, .k = 4, .tile_rows = 8, .tile_cols = 8};
	uint64_t len = kernel_output_bytes(&s);
	uint8_t *out = malloc(len), job[HASH_LEN] = {7}, root[HASH_LEN];
	for (uint64_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 131 + 7);
	outtree_t *tree = NULL;
	uint8_t (*digests)[HASH_LEN];
	CHECK_EQ_INT(work_commit(&s, out, NULL, &tree, &digests, root), 0);
	struct buf enc, again;
	struct avail_ref ref;
	struct avail_chunk c;
	buf_init(&enc);
	buf_init(&again);
	/* 3 tiles fit in 800 bytes: tiles 4..6 */
	CHECK_EQ_INT(upload_chunk(&s, job, out, NULL, tree, 4, 800, &enc, &ref), 0);
	CHECK_EQ_INT(ref.tile_count, 3);
	CHECK_EQ_INT(avail_chunk_decode(&c, enc.data, enc.len), 0);
	avail_chunk_encode(&c, &again);
	CHECK(again.len == enc.len && memcmp(again.data, enc.data, enc.len) == 0);
	CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), 0);
	/* another root */
	uint8_t other[HASH_LEN];
	memcpy(other, root, HASH_LEN);
	other[5] ^= 1;
	CHECK_EQ_INT(avail_chunk_check(&s, other, &c, NULL, 0), ASSAY_EINVALID);
	/* a wrong tile byte */
	((uint8_t *)c.data)[300] ^= 1;
	CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), ASSAY_ESIG);
	((uint8_t *)c.data)[300] ^= 1;
	/* the same bytes claimed as other tiles (wrong index in the leaves) */
	c.first_tile = 5;
	CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), ASSAY_ESIG);
	/* out of range */
	c.first_tile = 13;
	CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), ASSAY_EINVALID);
	c.first_tile = 4;
	/* a wrong proof hash */
	((uint8_t *)c.proof)[0] ^= 1;
	CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), ASSAY_ESIG);
	((uint8_t *)c.proof)[0] ^= 1;
	/* a length that is not the tiles' */
	c.data_len -= 1;
	CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), ASSAY_EINVALID);
	/* every chunking of the whole output proves, and the last tile's run ends */
	for (uint32_t first = 0; first < 15;) {
		CHECK_EQ_INT(upload_chunk(&s, job, out, NULL, tree, first, 1024, &enc, &ref), 0);
		CHECK_EQ_INT(avail_chunk_decode(&c, enc.data, enc.len), 0);
		CHECK_EQ_INT(avail_chunk_check(&s, root, &c, NULL, 0), 0);
		first += ref.tile_count;
	}
	CHECK_EQ_INT(upload_chunk(&s, job, out, NULL, tree, 15, 1024, &enc, &ref), ASSAY_EARG);
	/* decoder: trailing byte, zero tiles */
	buf_put_u8(&enc, 0);
	CHECK_EQ_INT(avail_chunk_decode(&c, enc.data, enc.len), ASSAY_EDECODE);
	buf_free(&enc);
	buf_free(&again);
	outtree_destroy(tree);
	free(out);
}

static void test_payload(void)
{
	struct job_chunks_payload p, q;
	struct buf b;
	memset(&p, 0, sizeof(p));
	p.job_id[0] = 1;
	p.root[0] = 2;
	p.count = 2;
	p.refs[0] = (struct avail_ref){0, 4, 1024, {3}};
	p.refs[1] = (struct avail_ref){4, 2, 512, {4}};
	buf_init(&b);
	avail_chunks_encode(&p, &b);
	CHECK_EQ_INT(avail_chunks_decode(&q, b.data, b.len), 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	CHECK_EQ_U64(avail_chunks_declared(&q), 1536);
	p.count = 0;
	buf_reset(&b);
	avail_chunks_encode(&p, &b);
	CHECK_EQ_INT(avail_chunks_decode(&q, b.data, b.len), ASSAY_EDECODE);
	p.count = 1;
	p.refs[0].data_len = AVAIL_CHUNK_MAX_BYTES + 1;
	buf_reset(&b);
	avail_chunks_encode(&p, &b);
	CHECK_EQ_INT(avail_chunks_decode(&q, b.data, b.len), ASSAY_ELIMIT);
	buf_free(&b);
}

int main(void)
{
	RUN(test_range_proofs);
	RUN(test_chunks);
	RUN(test_chunks_mlp);
	RUN(test_payload);
	return test_report("test_avail");
}

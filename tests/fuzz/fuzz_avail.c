// fuzz-sources: consensus/compute/*.c consensus/*.c consensus/bft/*.c vm/*.c core/*.c
/* libFuzzer target for output chunks (consensus/compute/avail.h). First
 * byte even: the rest is an encoded chunk; odd: a job_chunks payload. A
 * decoder must accept or refuse any input without a crash, and what it
 * accepts must re-encode to the same bytes; an accepted chunk is then
 * checked against a fixed job and its true root (a matmul job, or with a
 * first byte of 2 mod 4 an mlp job, whose leaf bytes end in each tile's
 * pre-activation digest), which must never crash and must accept only the
 * true tiles with their true proof. Built with
 * -DFUZZ_DRIVER, a main() feeds it mutations of a valid chunk and payload
 * so that `make check` runs it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "core/error.h"

/* 24 x 16 int32 in 8 x 8 tiles: 3 x 2 = 6 tiles of 256 bytes. */
static const struct job_shape shape = {
	.kind = JOB_MATMUL_I8, .m = 24, .n = 16, .k = 4, .tile_rows = 8, .tile_cols = 8};
static uint8_t output[24 * 16 * 4], leaves[6][HASH_LEN], root[HASH_LEN];
/* 12 batch rows of 10 int8 outputs in 2-row tiles: 6 tiles of 20 + 32 leaf bytes. */
static const struct job_shape mlp_shape = {
	.kind = JOB_MLP_I8, .m = 12, .n = 10, .layers = 1, .dims = {4, 10}, .tile_rows = 2, .tile_cols = 10};
static uint8_t mlp_output[12 * 10], mlp_digests[6][HASH_LEN], mlp_leaves[6][HASH_LEN], mlp_root[HASH_LEN];
static int ready;

static void prepare(void)
{
	if (ready)
		return;
	uint8_t tile[256];
	for (size_t i = 0; i < sizeof(output); i++)
		output[i] = (uint8_t)(i * 37 + 11);
	for (uint32_t i = 0; i < 6; i++) {
		kernel_tile_extract(&shape, output, i, tile);
		kernel_tile_leaf(i, tile, sizeof(tile), leaves[i]);
	}
	merkle_root((const uint8_t(*)[HASH_LEN])leaves, 6, root);
	uint8_t unit[20 + HASH_LEN];
	for (size_t i = 0; i < sizeof(mlp_output); i++)
		mlp_output[i] = (uint8_t)(i * 53 + 5);
	for (uint32_t i = 0; i < 6; i++) {
		memset(mlp_digests[i], (int)(0x31 * i + 3), HASH_LEN);
		kernel_leaf_extract(&mlp_shape, mlp_output, (const uint8_t(*)[HASH_LEN])mlp_digests, i, unit);
		kernel_tile_leaf(i, unit, sizeof(unit), mlp_leaves[i]);
	}
	merkle_root((const uint8_t(*)[HASH_LEN])mlp_leaves, 6, mlp_root);
	ready = 1;
}

/* The true chunk of the mlp job's tiles [first, first + count) into b. */
static void true_mlp_chunk(uint32_t first, uint32_t count, struct buf *b)
{
	enum { UNIT = 20 + HASH_LEN };
	static uint8_t data[6 * UNIT], proof[AVAIL_MAX_PROOF][HASH_LEN];
	struct avail_chunk c = {.first_tile = first, .tile_count = count, .data = data, .data_len = UNIT * count};
	for (uint32_t i = 0; i < count; i++)
		kernel_leaf_extract(&mlp_shape, mlp_output, (const uint8_t(*)[HASH_LEN])mlp_digests, first + i,
				    data + UNIT * i);
	avail_range_proof(avail_subtree_of_leaves, mlp_leaves, 6, first, first + count, proof, &c.proof_len);
	c.proof = (const uint8_t(*)[HASH_LEN])proof;
	memcpy(c.root, mlp_root, HASH_LEN);
	buf_reset(b);
	avail_chunk_encode(&c, b);
}

/* The true chunk of tiles [first, first + count), encoded into b. */
static void true_chunk(uint32_t first, uint32_t count, struct buf *b)
{
	static uint8_t data[6 * 256], proof[AVAIL_MAX_PROOF][HASH_LEN];
	struct avail_chunk c = {
		.first_tile = first, .tile_count = count, .data = data, .data_len = 256u * count};
	for (uint32_t i = 0; i < count; i++)
		kernel_tile_extract(&shape, output, first + i, data + 256 * i);
	avail_range_proof(avail_subtree_of_leaves, leaves, 6, first, first + count, proof, &c.proof_len);
	c.proof = (const uint8_t(*)[HASH_LEN])proof;
	memcpy(c.root, root, HASH_LEN);
	buf_reset(b);
	avail_chunk_encode(&c, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	if (len < 1)
		return 0;
	prepare();
	const uint8_t *p = in + 1;
	size_t n = len - 1;
	struct buf b;
	buf_init(&b);
	if (in[0] % 2 == 0) {
		struct avail_chunk c;
		if (avail_chunk_decode(&c, p, n) == 0) {
			avail_chunk_encode(&c, &b);
			if (b.len != n || memcmp(b.data, p, n) != 0)
				abort(); /* accepted but not canonical */
			int mlp = in[0] % 4 == 2;
			int rc = avail_chunk_check(mlp ? &mlp_shape : &shape, mlp ? mlp_root : root, &c, NULL, 0);
			if (rc == 0) {
				/* accepted: it must be the true chunk of its run */
				struct buf t;
				buf_init(&t);
				if (mlp)
					true_mlp_chunk(c.first_tile, c.tile_count, &t);
				else
					true_chunk(c.first_tile, c.tile_count, &t);
				int same = t.len == n && memcmp(t.data + 2 * HASH_LEN, p + 2 * HASH_LEN,
								n - 2 * HASH_LEN) == 0;
				buf_free(&t);
				if (!same)
					abort(); /* a forged chunk proved */
			} else if (rc != ASSAY_EINVALID && rc != ASSAY_ESIG && rc != ASSAY_ENOMEM) {
				abort();
			}
		}
	} else {
		static struct job_chunks_payload q;
		if (avail_chunks_decode(&q, p, n) == 0) {
			avail_chunks_encode(&q, &b);
			if (b.len != n || memcmp(b.data, p, n) != 0)
				abort();
			if (avail_chunks_declared(&q) > (uint64_t)AVAIL_MAX_REFS * AVAIL_CHUNK_MAX_BYTES)
				abort();
		}
	}
	buf_free(&b);
	return 0;
}

#ifdef FUZZ_DRIVER
#include <stdio.h>

int main(void)
{
	prepare();
	struct buf seeds[4];
	for (int i = 0; i < 4; i++)
		buf_init(&seeds[i]);
	struct buf t;
	buf_init(&t);
	true_chunk(1, 3, &t);
	buf_put_u8(&seeds[0], 0);
	buf_put(&seeds[0], t.data, t.len);
	true_chunk(5, 1, &t);
	buf_put_u8(&seeds[1], 4);
	buf_put(&seeds[1], t.data, t.len);
	true_mlp_chunk(2, 3, &t);
	buf_put_u8(&seeds[3], 2);
	buf_put(&seeds[3], t.data, t.len);
	buf_free(&t);
	struct job_chunks_payload q = {.count = 2};
	q.refs[0] = (struct avail_ref){0, 2, 512, {1}};
	q.refs[1] = (struct avail_ref){2, 1, 256, {2}};
	buf_put_u8(&seeds[2], 1);
	avail_chunks_encode(&q, &seeds[2]);
	if (LLVMFuzzerTestOneInput(seeds[0].data, seeds[0].len) != 0 ||
	    LLVMFuzzerTestOneInput(seeds[3].data, seeds[3].len) != 0)
		return 1;
	uint64_t rs = 88172645463325252ull;
	static uint8_t in[1 << 12];
	long runs = 0;
	for (int i = 0; i < 4; i++) {
		for (int k = 0; k < 20000; k++, runs++) {
			size_t n = seeds[i].len;
			memcpy(in, seeds[i].data, n);
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			int flips = 1 + (int)(rs % 3);
			for (int f = 0; f < flips; f++) {
				rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
				in[1 + rs % (n - 1)] = (uint8_t)(rs >> 32);
			}
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			if (rs % 5 == 0)
				n = 1 + (size_t)(rs >> 20) % n; /* truncation */
			LLVMFuzzerTestOneInput(in, n);
		}
		buf_free(&seeds[i]);
	}
	printf("fuzz_avail: %ld mutated inputs, no crash, canonical round trips, no forged chunk proved\n",
	       runs);
	return 0;
}
#endif

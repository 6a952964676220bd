// fuzz-sources: consensus/compute/*.c consensus/*.c consensus/bft/*.c vm/*.c core/*.c
/* libFuzzer target for output chunks (consensus/compute/avail.h). First
 * byte even: the rest is an encoded chunk; odd: a job_chunks payload. A
 * decoder must accept or refuse any input without a crash, and what it
 * accepts must re-encode to the same bytes; an accepted chunk is then
 * checked against a fixed job and its true root, which must never crash and
 * must accept only the true tiles with their true proof. Built with
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
	ready = 1;
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
			int rc = avail_chunk_check(&shape, root, &c, NULL, 0);
			if (rc == 0) {
				/* accepted: it must be the true chunk of its run */
				struct buf t;
				buf_init(&t);
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
	struct buf seeds[3];
	for (int i = 0; i < 3; i++)
		buf_init(&seeds[i]);
	struct buf t;
	buf_init(&t);
	true_chunk(1, 3, &t);
	buf_put_u8(&seeds[0], 0);
	buf_put(&seeds[0], t.data, t.len);
	true_chunk(5, 1, &t);
	buf_put_u8(&seeds[1], 2);
	buf_put(&seeds[1], t.data, t.len);
	buf_free(&t);
	struct job_chunks_payload q = {.count = 2};
	q.refs[0] = (struct avail_ref){0, 2, 512, {1}};
	q.refs[1] = (struct avail_ref){2, 1, 256, {2}};
	buf_put_u8(&seeds[2], 1);
	avail_chunks_encode(&q, &seeds[2]);
	if (LLVMFuzzerTestOneInput(seeds[0].data, seeds[0].len) != 0)
		return 1;
	uint64_t rs = 88172645463325252ull;
	static uint8_t in[1 << 12];
	long runs = 0;
	for (int i = 0; i < 3; i++) {
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

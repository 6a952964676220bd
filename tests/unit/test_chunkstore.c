/* The node's chunk store (node/chunkstore.h): what it accepts against a
 * job in state (a good chunk, the same chunk twice, an unknown job, a root
 * no slot holds, a bad proof, the per-root bound), lookup by tile, a block's availability
 * (held, missing, contradicting its reference) and pruning past
 * chunk_retention_blocks, and the records of what waits for chunks across
 * a reopen. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/compute/compute.h"
#include "core/error.h"
#include "node/chunkstore.h"
#include "tests/unit/test.h"

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* 16 x 16 int32 in 8 x 8 tiles: 4 tiles of 256 bytes. */
static const struct job_shape shape = {
	.kind = JOB_MATMUL_I8, .m = 16, .n = 16, .k = 4, .tile_rows = 8, .tile_cols = 8};
static uint8_t output[16 * 16 * 4], leaves[4][HASH_LEN], root[HASH_LEN], job_id[HASH_LEN] = {0x77};

static void chunk_of(uint32_t first, uint32_t count, struct buf *b)
{
	static uint8_t data[4 * 256], proof[AVAIL_MAX_PROOF][HASH_LEN];
	struct avail_chunk c = {
		.first_tile = first, .tile_count = count, .data = data, .data_len = 256u * count};
	for (uint32_t i = 0; i < count; i++)
		kernel_tile_extract(&shape, output, first + i, data + 256 * i);
	avail_range_proof(avail_subtree_of_leaves, leaves, 4, first, first + count, proof, &c.proof_len);
	c.proof = (const uint8_t(*)[HASH_LEN])proof;
	memcpy(c.job_id, job_id, HASH_LEN);
	memcpy(c.root, root, HASH_LEN);
	buf_reset(b);
	avail_chunk_encode(&c, b);
}

static void put_job(const struct ledger *l, const struct job_record *j)
{
	uint8_t key[HASH_LEN];
	struct buf b;
	buf_init(&b);
	compute_job_encode(j, &b);
	state_key(NS_JOB, j->id, HASH_LEN, key);
	CHECK(ledger_put(l, key, b.data, b.len) == 0);
	buf_free(&b);
}

/* A block of one job_chunks transaction naming ref. */
static void block_of(const struct avail_ref *ref, struct block *blk, struct tx *t, struct buf *payload)
{
	struct job_chunks_payload p = {.count = 1};
	memcpy(p.job_id, job_id, HASH_LEN);
	memcpy(p.root, root, HASH_LEN);
	p.refs[0] = *ref;
	buf_reset(payload);
	avail_chunks_encode(&p, payload);
	memset(t, 0, sizeof(*t));
	t->kind = TX_JOB_CHUNKS;
	t->payload = payload->data;
	t->payload_len = payload->len;
	block_init(blk);
	blk->ntx = 1;
	blk->txs = t;
}

int main(void)
{
	char dir[] = "/tmp/assay-chunkstore-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char err[200];
	store_t *s = store_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	for (size_t i = 0; i < sizeof(output); i++)
		output[i] = (uint8_t)(i * 13 + 5);
	uint8_t tile[256];
	for (uint32_t i = 0; i < 4; i++) {
		kernel_tile_extract(&shape, output, i, tile);
		kernel_tile_leaf(i, tile, sizeof(tile), leaves[i]);
	}
	merkle_root((const uint8_t(*)[HASH_LEN])leaves, 4, root);

	ledger_mem_t *mem = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(mem);
	struct job_record j;
	memset(&j, 0, sizeof(j));
	memcpy(j.id, job_id, HASH_LEN);
	j.spec.shape = shape;
	j.spec.redundancy = 1;
	j.spec.samples = 2;
	j.state = JOB_COMMITTED;
	j.deadline_height = 50;
	j.slots[0].state = SLOT_VERIFIED; /* its root opened by its reveal */
	j.slots[0].reveal_height = 5;
	memcpy(j.slots[0].root, root, HASH_LEN);

	struct buf enc;
	buf_init(&enc);
	uint8_t hash[HASH_LEN], hash2[HASH_LEN];
	chunk_of(0, 3, &enc);
	/* unknown job */
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash, err, sizeof(err)), ASSAY_ENOTFOUND);
	put_job(&l, &j);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash, err, sizeof(err)), 0);
	CHECK_EQ_INT(chunkstore_has(s, hash), 1);
	/* duplicate */
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash2, err, sizeof(err)), ASSAY_EEXISTS);
	CHECK(memcmp(hash, hash2, HASH_LEN) == 0);
	/* a wrong tile byte: the proof fails */
	chunk_of(3, 1, &enc);
	enc.data[2 * HASH_LEN + 8 + 2 + 10] ^= 1;
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash2, err, sizeof(err)), ASSAY_ESIG);
	CHECK_EQ_INT(chunkstore_has(s, hash2), 0);
	/* a root no slot holds */
	chunk_of(3, 1, &enc);
	enc.data[HASH_LEN] ^= 1;
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash2, err, sizeof(err)),
		     ASSAY_ENOTFOUND);
	/* lookup by first tile */
	uint8_t *got;
	size_t len;
	CHECK_EQ_INT(chunkstore_get_at(s, job_id, root, 0, &got, &len), 0);
	free(got);
	CHECK_EQ_INT(chunkstore_get_at(s, job_id, root, 1, &got, &len), ASSAY_ENOTFOUND);

	/* availability of a block */
	struct block blk;
	struct tx t;
	struct buf payload;
	buf_init(&payload);
	uint8_t missing[4][HASH_LEN];
	size_t nmissing;
	struct avail_ref ref = {0, 3, 768, {0}};
	memcpy(ref.chunk_hash, hash, HASH_LEN);
	block_of(&ref, &blk, &t, &payload);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)), 0);
	ref.tile_count = 2; /* held, but not the chunk the reference describes */
	block_of(&ref, &blk, &t, &payload);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)),
		     ASSAY_EINVALID);
	chunk_of(3, 1, &enc);
	avail_chunk_hash(enc.data, enc.len, ref.chunk_hash);
	ref = (struct avail_ref){3, 1, 256, {0}};
	avail_chunk_hash(enc.data, enc.len, ref.chunk_hash);
	block_of(&ref, &blk, &t, &payload);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)),
		     ASSAY_EUNAVAIL);
	CHECK(nmissing == 1 && memcmp(missing[0], ref.chunk_hash, HASH_LEN) == 0);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash2, err, sizeof(err)), 0);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)), 0);

	/* the per-root bound: 1024 bytes of output, 2048 held at most unless needed */
	chunk_of(0, 4, &enc);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash2, err, sizeof(err)), 0); /* 2048 */
	chunk_of(1, 2, &enc);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 0, hash2, err, sizeof(err)), ASSAY_EFULL);
	CHECK_EQ_INT(chunkstore_has(s, hash2), 0);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, 1, hash2, err, sizeof(err)), 0);

	/* pruning: kept while the job lives and for chunk_retention_blocks after its end */
	struct compute_params p;
	compute_params_default(&p);
	p.chunk_retention_blocks = 10;
	size_t pruned;
	CHECK_EQ_INT(chunkstore_prune(s, &l, &p, 1000, &pruned), 0);
	CHECK_EQ_INT(pruned, 0); /* live */
	j.state = JOB_PAID;
	j.payout_height = 70; /* after the deadline (50): the end is 70 */
	put_job(&l, &j);
	CHECK_EQ_INT(chunkstore_prune(s, &l, &p, 80, &pruned), 0);
	CHECK_EQ_INT(pruned, 0);
	CHECK_EQ_INT(chunkstore_has(s, hash), 1);
	CHECK_EQ_INT(chunkstore_prune(s, &l, &p, 81, &pruned), 0);
	CHECK_EQ_INT(pruned, 4);
	CHECK_EQ_INT(chunkstore_has(s, hash), 0);
	CHECK_EQ_INT(chunkstore_has(s, hash2), 0);
	CHECK_EQ_INT(chunkstore_get_at(s, job_id, root, 0, &got, &len), ASSAY_ENOTFOUND);

	/* what waits for chunks: kept across a reopen, deleted by NULL */
	uint8_t *rec;
	size_t reclen;
	CHECK_EQ_INT(chunkstore_load_waiting(s, CHUNKSTORE_WAITING_BLOCK, &rec, &reclen), ASSAY_ENOTFOUND);
	CHECK_EQ_INT(chunkstore_save_waiting(s, CHUNKSTORE_WAITING_BLOCK, (const uint8_t *)"blk", 3), 0);
	CHECK_EQ_INT(chunkstore_save_waiting(s, CHUNKSTORE_WAITING_TXS, (const uint8_t *)"txs!", 4), 0);
	store_close(s);
	s = store_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	CHECK_EQ_INT(chunkstore_load_waiting(s, CHUNKSTORE_WAITING_BLOCK, &rec, &reclen), 0);
	CHECK(reclen == 3 && memcmp(rec, "blk", 3) == 0);
	free(rec);
	CHECK_EQ_INT(chunkstore_save_waiting(s, CHUNKSTORE_WAITING_BLOCK, NULL, 0), 0);
	CHECK_EQ_INT(chunkstore_load_waiting(s, CHUNKSTORE_WAITING_BLOCK, &rec, &reclen), ASSAY_ENOTFOUND);
	CHECK_EQ_INT(chunkstore_load_waiting(s, CHUNKSTORE_WAITING_TXS, &rec, &reclen), 0);
	CHECK(reclen == 4 && memcmp(rec, "txs!", 4) == 0);
	free(rec);

	buf_free(&payload);
	buf_free(&enc);
	ledger_mem_free(mem);
	store_close(s);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return test_report("test_chunkstore");
}

/* The node's chunk store (node/chunkstore.h): what it accepts against a
 * job in state (a good chunk, the same chunk twice, an unknown job, a root
 * no slot holds, a bad proof), the per-root bounds on stored bytes and
 * chunks and their running totals, chunks cut out of held ones, lookup by tile (a walk from tile 0 is
 * served chunks that lead on: those blocks named, else the longest; the
 * rest go once the output is uploaded), a block's availability
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

/* How far a client gets walking the output of (job_id, root) from tile 0
 * as `job output` does: each chunk served for the tile it reached; the
 * hash of each chunk taken goes to took[] (room for 4). */
static uint32_t walk(store_t *s, uint8_t took[4][HASH_LEN], size_t *ntook)
{
	uint32_t next = 0;
	*ntook = 0;
	while (next < 4) {
		uint8_t *enc;
		size_t len;
		struct avail_chunk c;
		if (chunkstore_get_at(s, job_id, root, next, &enc, &len) != 0)
			break;
		int ok = avail_chunk_decode(&c, enc, len) == 0 && c.first_tile == next && *ntook < 4;
		if (ok)
			avail_chunk_hash(enc, len, took[(*ntook)++]);
		free(enc);
		if (!ok)
			break;
		next += c.tile_count;
	}
	return next;
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

/* A job of 1 x 1 tiles (4 bytes each, 4096 of them) for the per-root
 * bounds: the smallest chunks a worker can make. */
struct tiny {
	struct job_shape shape;
	uint8_t output[64 * 64 * 4];
	uint8_t (*leaves)[HASH_LEN];
	uint8_t root[HASH_LEN], job_id[HASH_LEN];
	struct job_record j;
};

static void tiny_init(struct tiny *t, const struct ledger *l, uint8_t tag)
{
	memset(t, 0, sizeof(*t));
	t->shape = (struct job_shape){
		.kind = JOB_MATMUL_I8, .m = 64, .n = 64, .k = 4, .tile_rows = 1, .tile_cols = 1};
	uint32_t tiles = kernel_tile_count(&t->shape);
	for (size_t i = 0; i < sizeof(t->output); i++)
		t->output[i] = (uint8_t)(i * 7 + tag);
	t->leaves = malloc((size_t)tiles * HASH_LEN);
	CHECK(t->leaves != NULL);
	for (uint32_t i = 0; i < tiles; i++)
		kernel_tile_leaf(i, t->output + 4 * i, 4, t->leaves[i]);
	merkle_root((const uint8_t(*)[HASH_LEN])t->leaves, tiles, t->root);
	t->job_id[0] = tag;
	memcpy(t->j.id, t->job_id, HASH_LEN);
	t->j.spec.shape = t->shape;
	t->j.spec.redundancy = 1;
	t->j.spec.samples = 2;
	t->j.state = JOB_COMMITTED;
	t->j.deadline_height = 50;
	t->j.slots[0].state = SLOT_VERIFIED;
	t->j.slots[0].reveal_height = 5;
	memcpy(t->j.slots[0].root, t->root, HASH_LEN);
	put_job(l, &t->j);
}

static void tiny_chunk(const struct tiny *t, uint32_t first, uint32_t count, struct buf *b)
{
	static uint8_t proof[AVAIL_MAX_PROOF][HASH_LEN];
	struct avail_chunk c = {.first_tile = first,
				.tile_count = count,
				.data = t->output + 4 * first, /* 1 x 1 tiles: the output in tile order */
				.data_len = 4u * count};
	avail_range_proof(avail_subtree_of_leaves, t->leaves, kernel_tile_count(&t->shape), first,
			  first + count, proof, &c.proof_len);
	c.proof = (const uint8_t(*)[HASH_LEN])proof;
	memcpy(c.job_id, t->job_id, HASH_LEN);
	memcpy(c.root, t->root, HASH_LEN);
	buf_reset(b);
	avail_chunk_encode(&c, b);
}

/* The per-root bounds count what is stored (encoded chunks) and how many,
 * from a running total: one-tile chunks, each a few bytes of data under a
 * proof of 12 hashes, stop at the count bound with their stored bytes
 * within the bytes bound (they used to be taken by the thousand: the bound
 * counted tile bytes); an accept walks no index however many chunks the
 * root holds; large chunks stop at the stored-bytes bound; a needed chunk
 * is taken past both; the totals survive a reopen and go with a prune,
 * which walks the roots, not their chunks. */
static void test_root_bounds(const char *dir)
{
	char err[200];
	store_t *s = store_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	ledger_mem_t *mem = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(mem);
	struct tiny a, b;
	tiny_init(&a, &l, 0x31);
	tiny_init(&b, &l, 0x32);
	uint64_t max_bytes, max_chunks;
	chunkstore_root_limits(&a.shape, &max_bytes, &max_chunks);
	CHECK_EQ_U64(max_bytes, 2 * 16384 + CHUNKSTORE_ROOT_SLACK_BYTES);
	CHECK_EQ_U64(max_chunks, CHUNKSTORE_ROOT_BASE_CHUNKS + CHUNKSTORE_ROOT_CHUNKS_PER_MIB);

	struct buf enc;
	buf_init(&enc);
	uint8_t hash[HASH_LEN];
	uint64_t stored = 0, accepted = 0;
	int rc = 0;
	uint32_t i;
	for (i = 0; i < 200 && rc == 0; i++) {
		tiny_chunk(&a, i, 1, &enc);
		uint64_t walked = store_records_iterated(s);
		rc = chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err, sizeof(err));
		if (i > 0) /* the first may sum a database of the old layout once */
			CHECK_EQ_U64(store_records_iterated(s) - walked, 0);
		if (rc == 0) {
			stored += enc.len;
			accepted++;
		}
	}
	CHECK_EQ_INT(rc, ASSAY_EFULL);
	CHECK_EQ_U64(accepted, max_chunks);
	CHECK(stored <= max_bytes);
	CHECK_EQ_INT(chunkstore_has(s, hash), 0);
	struct chunkstore_root u;
	CHECK_EQ_INT(chunkstore_root_usage(s, a.job_id, a.root, &u), 0);
	CHECK_EQ_U64(u.bytes, stored);
	CHECK_EQ_U64(u.chunks, accepted);
	/* named only by a parked transaction (its worker may sign as many as
	 * it likes): the bounds widened by CHUNKSTORE_PARKED_FACTOR, no more */
	uint64_t parked_max = max_chunks + max_chunks * CHUNKSTORE_PARKED_FACTOR / CHUNKSTORE_ROOT_FACTOR;
	for (i = i - 1, rc = 0; i < 400 && rc == 0; i++) {
		tiny_chunk(&a, i, 1, &enc);
		rc = chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_PARKED, hash, err, sizeof(err));
		if (rc == 0) {
			stored += enc.len;
			accepted++;
		}
	}
	CHECK_EQ_INT(rc, ASSAY_EFULL);
	CHECK_EQ_U64(accepted, parked_max);
	/* named by the committed block waiting here: taken past every bound, and counted */
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_BLOCK, hash, err, sizeof(err)), 0);
	stored += enc.len;
	accepted++;

	/* chunks of 1024 tiles: the stored bytes bound comes first */
	uint64_t stored_b = 0;
	rc = 0;
	for (i = 0; i < 64 && rc == 0; i++) {
		tiny_chunk(&b, i, 1024, &enc);
		rc = chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err, sizeof(err));
		if (rc == 0)
			stored_b += enc.len;
	}
	CHECK_EQ_INT(rc, ASSAY_EFULL);
	CHECK(stored_b <= max_bytes && stored_b + enc.len > max_bytes);
	CHECK(i - 1 < max_chunks);

	/* the totals are kept, not recounted */
	store_close(s);
	CHECK((s = store_open(dir, err, sizeof(err))) != NULL);
	uint64_t walked = store_records_iterated(s);
	CHECK_EQ_INT(chunkstore_root_usage(s, a.job_id, a.root, &u), 0);
	CHECK_EQ_U64(u.bytes, stored);
	CHECK_EQ_U64(u.chunks, accepted);
	CHECK_EQ_INT(chunkstore_root_usage(s, b.job_id, b.root, &u), 0);
	CHECK_EQ_U64(u.bytes, stored_b);
	CHECK_EQ_U64(store_records_iterated(s) - walked, 0);

	/* a prune with nothing to drop reads the two roots' records, not their
	 * chunks; one that drops a job walks that job's chunks alone */
	struct compute_params p;
	compute_params_default(&p);
	p.chunk_retention_blocks = 10;
	size_t pruned;
	walked = store_records_iterated(s);
	CHECK_EQ_INT(chunkstore_prune(s, &l, &p, 1000, &pruned), 0);
	CHECK_EQ_INT(pruned, 0);
	CHECK_EQ_U64(store_records_iterated(s) - walked, 2);
	a.j.state = JOB_PAID;
	a.j.payout_height = 60;
	put_job(&l, &a.j);
	walked = store_records_iterated(s);
	CHECK_EQ_INT(chunkstore_prune(s, &l, &p, 1000, &pruned), 0);
	CHECK_EQ_U64(pruned, accepted);
	CHECK_EQ_U64(store_records_iterated(s) - walked, 2 + accepted);
	CHECK_EQ_INT(chunkstore_root_usage(s, a.job_id, a.root, &u), 0);
	CHECK(u.bytes == 0 && u.chunks == 0);
	CHECK_EQ_INT(chunkstore_root_usage(s, b.job_id, b.root, &u), 0);
	CHECK_EQ_U64(u.bytes, stored_b);

	free(a.leaves);
	free(b.leaves);
	buf_free(&enc);
	ledger_mem_free(mem);
	store_close(s);
}

/* Chunks cut out of held ones: a sub-run of one, and one across two
 * neighbours, each with its own valid proof, are refused when nothing
 * names them (EFULL, a node-local refusal) and taken when a parked
 * transaction does; a run that brings a tile not held is taken. The check
 * reads the index entries about the run, not the root's: with many chunks
 * held further on it walks no more, and among chunks before it only those
 * that start within the longest chunk's length of it. */
static void test_cut_chunks(const char *dir)
{
	char err[200];
	store_t *s = store_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	ledger_mem_t *mem = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(mem);
	struct tiny a;
	tiny_init(&a, &l, 0x34);
	struct buf enc;
	buf_init(&enc);
	uint8_t hash[HASH_LEN];
#define ACCEPT(first, count, need)                                                                                  \
	(tiny_chunk(&a, first, count, &enc),                                                                        \
	 chunkstore_accept(s, &l, enc.data, enc.len, need, hash, err, sizeof(err)))
	CHECK_EQ_INT(ACCEPT(0, 16, CHUNKSTORE_NEED_NONE), 0);    /* the worker's */
	CHECK_EQ_INT(ACCEPT(16, 16, CHUNKSTORE_NEED_NONE), 0);   /* and its next */
	CHECK_EQ_INT(ACCEPT(2, 3, CHUNKSTORE_NEED_NONE), ASSAY_EFULL); /* cut out of [0,16) */
	CHECK_EQ_INT(chunkstore_has(s, hash), 0);
	CHECK_EQ_INT(ACCEPT(0, 8, CHUNKSTORE_NEED_NONE), ASSAY_EFULL);
	CHECK_EQ_INT(ACCEPT(10, 20, CHUNKSTORE_NEED_NONE), ASSAY_EFULL); /* across both */
	CHECK_EQ_INT(ACCEPT(0, 32, CHUNKSTORE_NEED_NONE), ASSAY_EFULL);
	CHECK_EQ_INT(ACCEPT(30, 3, CHUNKSTORE_NEED_NONE), 0); /* tile 32 is new */
	CHECK_EQ_INT(ACCEPT(2, 3, CHUNKSTORE_NEED_PARKED), 0); /* named: the worker's re-chunking */
	struct chunkstore_root u;
	CHECK_EQ_INT(chunkstore_root_usage(s, a.job_id, a.root, &u), 0);
	CHECK_EQ_U64(u.chunks, 4);
	/* fifty one-tile chunks beyond: a cut at the start reads no more of them */
	for (uint32_t i = 100; i < 150; i++)
		CHECK_EQ_INT(ACCEPT(i, 1, CHUNKSTORE_NEED_NONE), 0);
	uint64_t walked = store_records_iterated(s);
	CHECK_EQ_INT(ACCEPT(4, 4, CHUNKSTORE_NEED_NONE), ASSAY_EFULL);
	CHECK(store_records_iterated(s) - walked <= 3);
	walked = store_records_iterated(s);
	CHECK_EQ_INT(ACCEPT(120, 1, CHUNKSTORE_NEED_NONE), ASSAY_EEXISTS);
	CHECK_EQ_INT(ACCEPT(119, 2, CHUNKSTORE_NEED_NONE), ASSAY_EFULL);
	/* among them, those starting within the longest chunk's 16 tiles before */
	CHECK(store_records_iterated(s) - walked <= 16 + 2);
	CHECK_EQ_INT(ACCEPT(149, 2, CHUNKSTORE_NEED_NONE), 0); /* tile 150 is new */
#undef ACCEPT
	free(a.leaves);
	buf_free(&enc);
	ledger_mem_free(mem);
	store_close(s);
}

/* A database from before the roots' records: its index entries hold tile
 * bytes alone. The first look sums them, once, from the chunks, and writes
 * each chunk's 'p' record (so chunkstore_has finds it); one with the
 * roots' records but not the 'p' ones gets those alone. */
static void test_root_totals_rebuilt(const char *dir)
{
	char err[200];
	store_t *s = store_open(dir, err, sizeof(err));
	CHECK(s != NULL);
	ledger_mem_t *mem = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(mem);
	struct tiny a;
	tiny_init(&a, &l, 0x33);
	struct buf enc;
	buf_init(&enc);
	uint64_t want = 0;
	store_batch_t *bt = store_batch_new();
	for (uint32_t i = 0; i < 3; i++) {
		uint8_t hash[HASH_LEN], ck[1 + HASH_LEN], ik[1 + 3 * HASH_LEN + 4], dl[4];
		tiny_chunk(&a, i, 1, &enc);
		avail_chunk_hash(enc.data, enc.len, hash);
		ck[0] = STORE_P_CHUNK;
		memcpy(ck + 1, hash, HASH_LEN);
		ik[0] = STORE_P_CHUNKIDX;
		memcpy(ik + 1, a.job_id, HASH_LEN);
		memcpy(ik + 1 + HASH_LEN, a.root, HASH_LEN);
		for (int k = 0; k < 4; k++)
			ik[1 + 2 * HASH_LEN + k] = (uint8_t)(i >> (24 - 8 * k));
		memcpy(ik + 1 + 2 * HASH_LEN + 4, hash, HASH_LEN);
		le32_put(dl, 4);
		store_batch_put(bt, ck, sizeof(ck), enc.data, enc.len);
		store_batch_put(bt, ik, sizeof(ik), dl, sizeof(dl));
		want += enc.len;
	}
	CHECK_EQ_INT(store_write(s, bt, 0), 0);
	store_batch_free(bt);
	uint8_t first_hash[HASH_LEN];
	tiny_chunk(&a, 0, 1, &enc);
	avail_chunk_hash(enc.data, enc.len, first_hash);
	CHECK_EQ_INT(chunkstore_has(s, first_hash), 1); /* its 'p' record written from the index */
	struct chunkstore_root u;
	CHECK_EQ_INT(chunkstore_root_usage(s, a.job_id, a.root, &u), 0);
	CHECK_EQ_U64(u.bytes, want);
	CHECK_EQ_U64(u.chunks, 3);
	/* a database with the roots' records but not the 'p' ones: written once */
	uint8_t pk[1 + HASH_LEN] = {STORE_P_CHUNKHELD};
	memcpy(pk + 1, first_hash, HASH_LEN);
	CHECK((bt = store_batch_new()) != NULL);
	store_batch_del(bt, pk, sizeof(pk));
	store_batch_put_meta(bt, "chunk_roots", "1", 1);
	CHECK_EQ_INT(store_write(s, bt, 0), 0);
	store_batch_free(bt);
	CHECK_EQ_INT(chunkstore_has(s, first_hash), 1);
	CHECK_EQ_INT(chunkstore_root_usage(s, a.job_id, a.root, &u), 0);
	CHECK_EQ_U64(u.chunks, 3); /* not summed twice */
	tiny_chunk(&a, 3, 1, &enc);
	uint8_t hash[HASH_LEN];
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err, sizeof(err)), 0);
	CHECK_EQ_INT(chunkstore_root_usage(s, a.job_id, a.root, &u), 0);
	CHECK_EQ_U64(u.bytes, want + enc.len);
	CHECK_EQ_U64(u.chunks, 4);
	free(a.leaves);
	buf_free(&enc);
	ledger_mem_free(mem);
	store_close(s);
}

/* A fresh directory under $TMPDIR (or /tmp) into out (len bytes): 0, or -1. */
static int fresh_dir(char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(out, len, "%s/assay-chunkstore-", tmp && *tmp ? tmp : "/tmp");
	if (n < 0 || (size_t)n + 7 > len)
		return -1;
	memset(out + n, 'X', 6); /* mkdtemp's template */
	out[n + 6] = 0;
	return mkdtemp(out) ? 0 : -1;
}

int main(void)
{
	char dir[256];
	if (fresh_dir(dir, sizeof(dir)) != 0)
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
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err, sizeof(err)), ASSAY_ENOTFOUND);
	put_job(&l, &j);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err, sizeof(err)), 0);
	uint64_t read_before = store_bytes_got(s);
	CHECK_EQ_INT(chunkstore_has(s, hash), 1);
	CHECK(store_bytes_got(s) - read_before < 64); /* its 'p' record, not the chunk */
	/* duplicate: told by its index entry, without reading the chunk */
	read_before = store_bytes_got(s);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash2, err, sizeof(err)), ASSAY_EEXISTS);
	CHECK(memcmp(hash, hash2, HASH_LEN) == 0);
	CHECK(store_bytes_got(s) - read_before < 64);
	/* the same from a caller that hashed it: the hash it passes is the key */
	CHECK_EQ_INT(chunkstore_accept_hashed(s, &l, enc.data, enc.len, hash, CHUNKSTORE_NEED_NONE, err, sizeof(err)),
		     ASSAY_EEXISTS);
	/* a wrong tile byte: the proof fails */
	chunk_of(3, 1, &enc);
	enc.data[2 * HASH_LEN + 8 + 2 + 10] ^= 1;
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash2, err, sizeof(err)), ASSAY_ESIG);
	CHECK_EQ_INT(chunkstore_has(s, hash2), 0);
	/* a root no slot holds */
	chunk_of(3, 1, &enc);
	enc.data[HASH_LEN] ^= 1;
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash2, err, sizeof(err)),
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
	read_before = store_bytes_got(s);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)), 0);
	CHECK(store_bytes_got(s) - read_before < 64); /* its index entry, not the chunk */
	ref.tile_count = 2; /* held, but not the chunk the reference describes */
	block_of(&ref, &blk, &t, &payload);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)),
		     ASSAY_EINVALID);
	ref.tile_count = 3;
	ref.data_len = 512; /* its tile bytes */
	block_of(&ref, &blk, &t, &payload);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)),
		     ASSAY_EINVALID);
	ref.data_len = 768;
	ref.first_tile = 1; /* another first tile: no entry there, the chunk itself is read */
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
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash2, err, sizeof(err)), 0);
	CHECK_EQ_INT(chunkstore_check_block(s, &blk, missing, 4, &nmissing, err, sizeof(err)), 0);

	chunk_of(0, 4, &enc); /* its tiles are all held: taken only as a parked transaction names it */
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_PARKED, hash2, err, sizeof(err)), 0);
	chunk_of(1, 2, &enc);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_BLOCK, hash2, err, sizeof(err)), 0);

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

	/* what a walk from tile 0 is served: a job whose run [0,1) hashes below
	 * [0,4), so that the lowest hash at tile 0 leads nowhere */
	uint8_t h01[HASH_LEN], h04[HASH_LEN], h02[HASH_LEN], h24[HASH_LEN], h03[HASH_LEN];
	for (job_id[0] = 1;; job_id[0]++) {
		chunk_of(0, 1, &enc);
		avail_chunk_hash(enc.data, enc.len, h01);
		chunk_of(0, 4, &enc);
		avail_chunk_hash(enc.data, enc.len, h04);
		if (memcmp(h01, h04, HASH_LEN) < 0)
			break;
	}
	memcpy(j.id, job_id, HASH_LEN);
	j.state = JOB_COMMITTED;
	j.payout_height = 0;
	put_job(&l, &j);
	uint8_t took[4][HASH_LEN];
	size_t ntook;
	chunk_of(0, 4, &enc); /* what the chain names */
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err, sizeof(err)), 0);
	chunk_of(0, 1, &enc); /* a run no block names (a parked transaction does) */
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_PARKED, hash, err, sizeof(err)), 0);
	CHECK_EQ_INT(walk(s, took, &ntook), 4); /* the longest at tile 0, not the lowest hash */
	CHECK(ntook == 1 && memcmp(took[0], h04, HASH_LEN) == 0);
	/* the chain names [0,2) then [2,4); a longer [0,3) and [0,4) lie beside
	 * them: once a block named [0,2) it is what tile 0 serves */
	chunk_of(0, 2, &enc);
	avail_chunk_hash(enc.data, enc.len, h02);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_PARKED, hash, err, sizeof(err)), 0);
	chunk_of(2, 2, &enc);
	avail_chunk_hash(enc.data, enc.len, h24);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_PARKED, hash, err, sizeof(err)), 0);
	chunk_of(0, 3, &enc);
	avail_chunk_hash(enc.data, enc.len, h03);
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_PARKED, hash, err, sizeof(err)), 0);
	size_t dropped;
	ref = (struct avail_ref){0, 2, 512, {0}};
	memcpy(ref.chunk_hash, h02, HASH_LEN);
	block_of(&ref, &blk, &t, &payload);
	j.slots[0].uploaded_tiles = 2;
	put_job(&l, &j);
	CHECK_EQ_INT(chunkstore_mark_block(s, &l, &blk, &dropped), 0);
	CHECK_EQ_INT(dropped, 0); /* the upload goes on */
	CHECK_EQ_INT(walk(s, took, &ntook), 4);
	CHECK(ntook == 2 && memcmp(took[0], h02, HASH_LEN) == 0 && memcmp(took[1], h24, HASH_LEN) == 0);
	/* the last block of the upload: what no block named goes */
	ref = (struct avail_ref){2, 2, 512, {0}};
	memcpy(ref.chunk_hash, h24, HASH_LEN);
	block_of(&ref, &blk, &t, &payload);
	j.slots[0].uploaded_tiles = 4;
	put_job(&l, &j);
	CHECK_EQ_INT(chunkstore_mark_block(s, &l, &blk, &dropped), 0);
	CHECK_EQ_INT(dropped, 3);
	CHECK(chunkstore_has(s, h04) == 0 && chunkstore_has(s, h01) == 0 && chunkstore_has(s, h03) == 0);
	CHECK(chunkstore_has(s, h02) == 1 && chunkstore_has(s, h24) == 1);
	struct chunkstore_root ru;
	CHECK_EQ_INT(chunkstore_root_usage(s, job_id, root, &ru), 0);
	CHECK_EQ_U64(ru.chunks, 2);
	CHECK_EQ_INT(walk(s, took, &ntook), 4);
	chunk_of(0, 1, &enc); /* and no more are taken for it, unless needed */
	CHECK_EQ_INT(chunkstore_accept(s, &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err, sizeof(err)), ASSAY_EFULL);

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

	char dir2[256], dir3[256], dir4[256];
	CHECK(fresh_dir(dir2, sizeof(dir2)) == 0 && fresh_dir(dir3, sizeof(dir3)) == 0 &&
	      fresh_dir(dir4, sizeof(dir4)) == 0);
	test_root_bounds(dir2);
	test_root_totals_rebuilt(dir3);
	test_cut_chunks(dir4);
	nftw(dir2, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(dir3, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(dir4, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return test_report("test_chunkstore");
}

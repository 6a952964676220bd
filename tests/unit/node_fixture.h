/* Shared set-up for node unit tests: a temporary data directory, a genesis
 * with funded deterministic keys and one validator, helpers to sign
 * transfers, and a record damaged on disk. Not for: functional tests
 * (tests/functional). */
#ifndef ASSAY_TEST_NODE_FIXTURE_H
#define ASSAY_TEST_NODE_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/compute/avail.h"
#include "core/buf.h"
#include "core/keys.h"
#include "core/tx.h"
#include "consensus/compute/compute.h"
#include "core/ledger.h"
#include "node/chain.h"
#include "node/genesis.h"
#include "node/state.h"
#include "node/store.h"

#define FIX_KEYS 8
#define FIX_FUNDS 1000000000000ull /* 1000 ASY each */

struct fixture {
	char dir[256];
	struct genesis g;
	uint8_t pk[FIX_KEYS][PUBKEY_LEN];
	uint8_t sk[FIX_KEYS][SECKEY_LEN];
	uint8_t addr[FIX_KEYS][ADDR_LEN];
};

/* Key 0 is the only validator; every key is funded. */
static inline void fixture_init(struct fixture *f)
{
	keys_init();
	/* mkdtemp's template: the prefix, then six placeholder characters. */
	int len = snprintf(f->dir, sizeof(f->dir) - 7, "%s/assay-test-", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	memset(f->dir + len, 'X', 6);
	f->dir[len + 6] = 0;
	if (!mkdtemp(f->dir))
		abort();
	memset(&f->g, 0, sizeof(f->g));
	snprintf(f->g.chain, sizeof(f->g.chain), "assay-unit");
	snprintf(f->g.network_name, sizeof(f->g.network_name), "local");
	f->g.net = NET_DEV;
	f->g.time_ms = 1000;
	chain_params_default(&f->g.params, 1);
	compute_params_default(&f->g.compute);
	f->g.allocs = calloc(FIX_KEYS, sizeof(*f->g.allocs));
	f->g.validators = calloc(1, sizeof(*f->g.validators));
	for (int i = 0; i < FIX_KEYS; i++) {
		uint8_t seed[SEED_LEN];
		memset(seed, i + 1, sizeof(seed));
		key_from_seed(seed, f->pk[i], f->sk[i]);
		address_from_pubkey(f->pk[i], f->addr[i]);
		memcpy(f->g.allocs[i].addr, f->addr[i], ADDR_LEN);
		f->g.allocs[i].amount = FIX_FUNDS;
	}
	f->g.nallocs = FIX_KEYS;
	memcpy(f->g.validators[0].pubkey, f->pk[0], PUBKEY_LEN);
	f->g.validators[0].stake = 10;
	f->g.nvalidators = 1;
	genesis_finish(&f->g);
}

static inline void fixture_free(struct fixture *f)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	genesis_free(&f->g);
}

/* A signed transfer from key `from` to address `to`. */
static inline void fixture_transfer(const struct fixture *f, struct tx *t, int from, const uint8_t to[ADDR_LEN],
				    uint64_t amount, uint64_t nonce, uint64_t fee)
{
	struct transfer_payload tp;
	struct buf b;
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, f->g.hash, HASH_LEN);
	t->nonce = nonce;
	memcpy(t->sender, f->pk[from], PUBKEY_LEN);
	t->fee = fee;
	t->kind = TX_TRANSFER;
	memcpy(tp.to, to, ADDR_LEN);
	tp.amount = amount;
	buf_init(&b);
	transfer_encode(&tp, &b);
	tx_set_payload(t, b.data, b.len);
	buf_free(&b);
	tx_sign(t, f->sk[from]);
}

/* Builds the next block of c holding txs[0..n) at time_ms, signs it and
 * its commit with key 0, and applies it with now_ms as the local clock. */
static inline int fixture_produce(const struct fixture *f, chain_t *c, const struct tx *const *txs, size_t n,
				  uint64_t time_ms, uint64_t now_ms)
{
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN];
	int rc = chain_build_block(c, txs, n, time_ms, f->sk[0], &blk, NULL, NULL, err, sizeof(err));
	if (rc)
		return rc;
	block_hash(&blk, hash);
	chain_sign_commit(c, f->sk[0], blk.hdr.height, hash, &cm);
	rc = chain_apply_block(c, &blk, &cm, now_ms, err, sizeof(err));
	commit_free(&cm);
	block_free(&blk);
	return rc;
}

/* A signed job_chunks transaction of p from the key pk/sk, nonce 0. */
static inline void fixture_chunks_tx(const struct fixture *f, struct tx *t, const uint8_t pk[PUBKEY_LEN],
				     const uint8_t sk[SECKEY_LEN], uint64_t fee, const struct job_chunks_payload *p)
{
	struct buf b;
	buf_init(&b);
	avail_chunks_encode(p, &b);
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, f->g.hash, HASH_LEN);
	memcpy(t->sender, pk, PUBKEY_LEN);
	t->fee = fee;
	t->kind = TX_JOB_CHUNKS;
	tx_set_payload(t, b.data, b.len);
	buf_free(&b);
	tx_sign(t, sk);
}

/* A job of four 8 x 8 tiles (256 bytes each) whose slot 0, worked by
 * worker, has its root opened at height 0, so uploads are open for the
 * upload window: put straight into the chain's committed state (no block
 * carries it; the tip's header does not know it, so the chain cannot be
 * reopened after), for the node's chunk paths to check real chunks
 * against. */
struct fixture_job {
	uint8_t output[16 * 16 * 4];
	uint8_t leaves[4][HASH_LEN];
	struct job_record j;
};

/* 0, or the step that failed. */
static inline int fixture_job_put(chain_t *c, struct fixture_job *fj, uint8_t tag, const uint8_t worker[ADDR_LEN])
{
	memset(fj, 0, sizeof(*fj));
	struct job_record *j = &fj->j;
	j->spec.shape = (struct job_shape){
		.kind = JOB_MATMUL_I8, .m = 16, .n = 16, .k = 4, .tile_rows = 8, .tile_cols = 8};
	for (size_t i = 0; i < sizeof(fj->output); i++)
		fj->output[i] = (uint8_t)(i * 13 + tag);
	uint8_t tile[256];
	for (uint32_t i = 0; i < 4; i++) {
		kernel_tile_extract(&j->spec.shape, fj->output, i, tile);
		kernel_tile_leaf(i, tile, sizeof(tile), fj->leaves[i]);
	}
	memset(j->id, tag, HASH_LEN);
	j->spec.redundancy = 1;
	j->spec.samples = 2;
	j->state = JOB_COMMITTED;
	j->deadline_height = 1000;
	j->slots[0].state = SLOT_VERIFIED;
	memcpy(j->slots[0].worker, worker, ADDR_LEN);
	merkle_root((const uint8_t(*)[HASH_LEN])fj->leaves, 4, j->slots[0].root);
	ledger_mem_t *mem = ledger_mem_new(NULL);
	if (!mem)
		return -1;
	struct ledger l = ledger_mem_ledger(mem);
	uint8_t key[HASH_LEN], state_root[HASH_LEN];
	struct buf b;
	buf_init(&b);
	compute_job_encode(j, &b);
	state_key(NS_JOB, j->id, HASH_LEN, key);
	int rc = ledger_put(&l, key, b.data, b.len);
	buf_free(&b);
	struct state_staged st;
	if (rc || (rc = state_stage(chain_state(c), mem, &st, state_root)) != 0) {
		ledger_mem_free(mem);
		return rc ? rc : -2;
	}
	store_batch_t *batch = store_batch_new();
	if (batch) {
		state_staged_to_batch(&st, batch);
		rc = store_write(chain_store(c), batch, 0);
		store_batch_free(batch);
	}
	if (batch && !rc)
		state_staged_committed(chain_state(c), &st);
	state_staged_free(&st);
	ledger_mem_free(mem);
	return batch ? rc : -3;
}

/* The encoded chunk of tiles [first, first + count) of fj's output, proved
 * against its root. */
static inline void fixture_job_chunk(struct fixture_job *fj, uint32_t first, uint32_t count, struct buf *b)
{
	uint8_t data[4 * 256], proof[AVAIL_MAX_PROOF][HASH_LEN];
	struct avail_chunk ch = {.first_tile = first, .tile_count = count, .data = data, .data_len = 256u * count};
	for (uint32_t i = 0; i < count; i++)
		kernel_tile_extract(&fj->j.spec.shape, fj->output, first + i, data + 256 * i);
	avail_range_proof(avail_subtree_of_leaves, fj->leaves, 4, first, first + count, proof, &ch.proof_len);
	ch.proof = (const uint8_t(*)[HASH_LEN])proof;
	memcpy(ch.job_id, fj->j.id, HASH_LEN);
	memcpy(ch.root, fj->j.slots[0].root, HASH_LEN);
	buf_init(b);
	avail_chunk_encode(&ch, b);
}

/* Damages one record on disk, as a failing disk or a bad sector would:
 * key -> val (vlen bytes) is written into the closed database at path, a
 * reopen moves it from the log into a new table file (LevelDB writes the
 * last session's log into a table when it opens), and one byte of the
 * value is flipped there. LevelDB verifies a block's checksum on every
 * read (store_open), so reading the key then fails with Corruption
 * (ASSAY_EIO), while the records of the other tables read as before. 0, or
 * -1 when a step failed or the value is not once in the newest table. */
static inline int fixture_damage_on_disk(const char *path, const void *key, size_t klen, const uint8_t *val,
					 size_t vlen)
{
	char err[256], file[600];
	store_t *s = store_open(path, err, sizeof(err));
	store_batch_t *b = store_batch_new();
	int rc = s && b ? 0 : -1;
	if (!rc) {
		store_batch_put(b, key, klen, val, vlen);
		rc = store_write(s, b, 1) == 0 ? 0 : -1;
	}
	store_batch_free(b);
	store_close(s);
	if (rc || !(s = store_open(path, err, sizeof(err)))) /* the log into a table */
		return -1;
	store_close(s);
	DIR *d = opendir(path);
	unsigned long newest = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char *end;
		unsigned long number = strtoul(e->d_name, &end, 10);
		if (end != e->d_name && strcmp(end, ".ldb") == 0 && number > newest)
			newest = number;
	}
	closedir(d);
	snprintf(file, sizeof(file), "%s/%06lu.ldb", path, newest);
	FILE *f = newest ? fopen(file, "r+b") : NULL;
	if (!f)
		return -1;
	long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1, at = -1;
	uint8_t *data = size > 0 ? malloc((size_t)size) : NULL;
	int found = 0;
	if (data && fseek(f, 0, SEEK_SET) == 0 && fread(data, 1, (size_t)size, f) == (size_t)size) {
		for (long i = 0; i + (long)vlen <= size; i++)
			if (memcmp(data + i, val, vlen) == 0 && found++ == 0)
				at = i + (long)(vlen / 2);
	}
	rc = found == 1 ? 0 : -1;
	if (!rc) {
		uint8_t bad = data[at] ^ 0x01;
		rc = fseek(f, at, SEEK_SET) == 0 && fwrite(&bad, 1, 1, f) == 1 ? 0 : -1;
	}
	free(data);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

#endif

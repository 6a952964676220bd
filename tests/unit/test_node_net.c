/* Unit tests for the node's p2p callbacks (node/node_net.c): what on_block
 * and on_tx return for each kind of input (net.h gives those codes their
 * meaning: relay, known, parent unknown, or the peer's fault), that a block
 * from a peer is applied without its own commit and its parent's commit is
 * checked when it arrives, that the read callbacks serve what the chain
 * and mempool hold, that a node under its free-space floor aborts:
 * nothing more is applied, and the peer is not blamed, and that a block
 * waiting for chunks is kept only when only a validator and the job's
 * workers could have made it, and that only a job_chunks transaction that
 * passed its checks is parked, a bounded number per sender. Not for: the
 * p2p protocol (test_net_*). */
#include <string.h>

#include "consensus/compute/avail.h"
#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/chunkstore.h"
#include "node/node.h"
#include "test.h"
#include "node_fixture.h"

static struct fixture fx;

static chain_t *open_chain(const char *name)
{
	char path[400], err[256];
	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	if (!c)
		fprintf(stderr, "chain_open: %s\n", err);
	return c;
}

/* Builds and signs the next block on the producer chain, into blk and cm
 * (the caller frees both on 0). */
static int build_next(chain_t *c, const struct tx *txs, size_t n, struct block *blk, struct commit *cm)
{
	const struct tx *cand[4];
	uint8_t hash[HASH_LEN];
	char err[256];
	for (size_t i = 0; i < n; i++)
		cand[i] = &txs[i];
	int rc = chain_build_block(c, cand, n, 2000 + chain_height(c) * 1000, fx.sk[0], blk, NULL, NULL, err,
				   sizeof(err));
	if (rc)
		return rc;
	block_hash(blk, hash);
	chain_sign_commit(c, fx.sk[0], blk->hdr.height, hash, cm);
	return 0;
}

/* Builds, signs and applies the next block on the producer chain. */
static int produce(chain_t *c, const struct tx *txs, size_t n)
{
	struct block blk;
	struct commit cm;
	char err[256];
	int rc = build_next(c, txs, n, &blk, &cm);
	if (rc)
		return rc;
	rc = chain_apply_block(c, &blk, &cm, UINT64_MAX, err, sizeof(err));
	commit_free(&cm);
	block_free(&blk);
	return rc;
}

/* A node of chain c as the p2p callbacks see it (no consensus, no net). */
static void node_of(struct node *n, struct net_node_ops *ops, chain_t *c)
{
	memset(n, 0, sizeof(*n));
	n->chain = c;
	n->mempool = mempool_new(c, 100, 1u << 20);
	node_net_ops(n, ops);
}

/* A node on a fresh chain name (CHECKed), for the chunk tests: its chain. */
static chain_t *open_node(const char *name, struct node *n, struct net_node_ops *ops)
{
	chain_t *c = open_chain(name);
	CHECK(c != NULL);
	node_of(n, ops, c);
	return c;
}

/* What open_node (and the chunk paths it ran) made. */
static void close_node(struct node *n)
{
	node_chunks_free(n);
	mempool_free(n->mempool);
	chain_close(n->chain);
}

static void encode_block(const struct block *blk, struct buf *b)
{
	buf_init(b);
	block_encode(blk, b);
}

static void test_on_block(void)
{
	chain_t *prod = open_chain("prod"), *fol = open_chain("fol");
	CHECK(prod && fol);
	struct tx t;
	fixture_transfer(&fx, &t, 1, fx.addr[2], 5000, 0, 1000);
	CHECK(produce(prod, &t, 1) == 0);
	tx_free(&t);
	CHECK(produce(prod, NULL, 0) == 0);
	CHECK(produce(prod, NULL, 0) == 0);
	CHECK(produce(prod, NULL, 0) == 0);

	uint8_t *raw[5] = {0};
	size_t len[5] = {0};
	for (int h = 1; h <= 4; h++)
		CHECK(chain_get_block_raw_at(prod, (uint64_t)h, &raw[h], &len[h]) == 0);

	struct node n;
	struct net_node_ops ops;
	node_of(&n, &ops, fol);
	CHECK(ops.ctx == &n);

	uint64_t height = 99;
	/* Block 2 before block 1: it does not connect (not the peer's fault). */
	CHECK(ops.on_block(ops.ctx, raw[2], len[2], NULL, 0, &height) == ASSAY_ENOTFOUND);
	CHECK(height == 2);
	/* Block 1 alone: no commit is known for it, so it waits (no verdict). */
	CHECK_EQ_INT(ops.on_block(ops.ctx, raw[1], len[1], NULL, 0, &height), NET_BLOCK_WAIT);
	CHECK(height == 1 && chain_height(fol) == 0);
	/* With block 2, whose last_commit is block 1's commit, it applies and
	 * the chain holds that commit for its tip. */
	CHECK(ops.on_block(ops.ctx, raw[1], len[1], raw[2], len[2], &height) == 0);
	CHECK(height == 1 && chain_height(fol) == 1);
	CHECK(chain_tip_commit(fol)->nsigs == 1 && chain_tip_commit(fol)->height == 1);
	CHECK(ops.on_block(ops.ctx, raw[1], len[1], NULL, 0, &height) == ASSAY_EEXISTS);

	uint64_t tip;
	uint8_t tip_hash[HASH_LEN], want[HASH_LEN];
	ops.get_tip(ops.ctx, &tip, tip_hash);
	chain_tip_hash(fol, want);
	CHECK(tip == 1 && memcmp(tip_hash, want, HASH_LEN) == 0);
	uint8_t *served;
	size_t served_len;
	CHECK(ops.get_block_at(ops.ctx, 1, &served, &served_len) == 0);
	CHECK(served_len == len[1] && memcmp(served, raw[1], len[1]) == 0);
	free(served);
	CHECK(ops.get_block_at(ops.ctx, 2, &served, &served_len) == ASSAY_ENOTFOUND);

	/* Truncated bytes: the peer's fault, neither "known" nor "parent unknown". */
	int rc = ops.on_block(ops.ctx, raw[2], len[2] - 1, raw[3], len[3], &height);
	CHECK(rc < 0 && rc != ASSAY_EEXISTS && rc != ASSAY_ENOTFOUND);

	struct block_limits lim = {fx.g.params.max_block_txs, fx.g.params.max_tx_bytes};
	struct block blk;
	struct buf b;
	/* Block 2 carries the precommits for block 1: a forged one is refused,
	 * by the header check while block 2 waits for its own commit. */
	CHECK(block_decode(&blk, raw[2], len[2], &lim) == 0);
	CHECK(blk.last_commit.nsigs == 1);
	blk.last_commit.sigs[0].sig[5] ^= 1;
	commit_hash(&blk.last_commit, blk.hdr.last_commit_hash);
	encode_block(&blk, &b);
	CHECK(ops.on_block(ops.ctx, b.data, b.len, NULL, 0, &height) == ASSAY_ESIG);
	/* As a next block, it is what is wrong: block 2 is not judged by it. */
	CHECK_EQ_INT(ops.on_block(ops.ctx, raw[2], len[2], b.data, b.len, &height), NET_BLOCK_NEXT_INVALID);
	buf_free(&b);
	block_free(&blk);
	/* So is a next block of the wrong height, and bytes that do not decode. */
	CHECK_EQ_INT(ops.on_block(ops.ctx, raw[2], len[2], raw[4], len[4], &height), NET_BLOCK_NEXT_INVALID);
	CHECK_EQ_INT(ops.on_block(ops.ctx, raw[2], len[2], raw[3], len[3] - 1, &height), NET_BLOCK_NEXT_INVALID);
	/* A wrong state root: the commit in block 3 is for the real block 2. */
	CHECK(block_decode(&blk, raw[2], len[2], &lim) == 0);
	blk.hdr.state_root[0] ^= 1;
	encode_block(&blk, &b);
	rc = ops.on_block(ops.ctx, b.data, b.len, raw[3], len[3], &height);
	CHECK(rc == ASSAY_EINVALID);
	buf_free(&b);
	block_free(&blk);
	CHECK(chain_height(fol) == 1);

	/* The real blocks 2 and 3 apply, each with the next; the chains agree. */
	CHECK(ops.on_block(ops.ctx, raw[2], len[2], raw[3], len[3], &height) == 0);
	CHECK(ops.on_block(ops.ctx, raw[3], len[3], raw[4], len[4], &height) == 0 && height == 3);
	struct block b3;
	CHECK(chain_get_block_at(prod, 3, &b3) == 0);
	CHECK(memcmp(chain_tip(fol)->state_root, b3.hdr.state_root, HASH_LEN) == 0);
	block_free(&b3);
	CHECK(n.txs_committed == 1);

	for (int h = 1; h <= 4; h++)
		free(raw[h]);
	mempool_free(n.mempool);
	chain_close(fol);
	chain_close(prod);
}

static void test_on_tx(void)
{
	chain_t *c = open_chain("txs");
	CHECK(c != NULL);
	struct tx t;
	fixture_transfer(&fx, &t, 1, fx.addr[2], 5000, 0, 1000);
	CHECK(produce(c, &t, 1) == 0); /* key 1's nonce 0 is used */
	tx_free(&t);

	struct node n;
	struct net_node_ops ops;
	node_of(&n, &ops, c);
	struct buf b;
	uint8_t txid[HASH_LEN], want[HASH_LEN];

	fixture_transfer(&fx, &t, 3, fx.addr[4], 7000, 0, 1000);
	tx_id(&t, want);
	buf_init(&b);
	tx_encode(&t, &b);
	CHECK(!ops.has_tx(ops.ctx, want));
	CHECK(ops.on_tx(ops.ctx, b.data, b.len, txid) == 0);
	CHECK(memcmp(txid, want, HASH_LEN) == 0);
	CHECK(ops.has_tx(ops.ctx, want));
	uint8_t *enc;
	size_t len;
	CHECK(ops.get_tx(ops.ctx, want, &enc, &len) == 0);
	CHECK(len == b.len && memcmp(enc, b.data, len) == 0);
	free(enc);
	CHECK(ops.on_tx(ops.ctx, b.data, b.len, txid) == ASSAY_EEXISTS);
	/* A broken signature is the sender's fault. */
	b.data[b.len - 1] ^= 1;
	int rc = ops.on_tx(ops.ctx, b.data, b.len, txid);
	CHECK(rc < 0 && rc != ASSAY_EEXISTS);
	buf_free(&b);
	tx_free(&t);

	/* A nonce already used on chain is a refusal of policy and timing (an
	 * honest peer may relay it late): "known", no points. */
	fixture_transfer(&fx, &t, 1, fx.addr[5], 1000, 0, 2000);
	buf_init(&b);
	tx_encode(&t, &b);
	CHECK(ops.on_tx(ops.ctx, b.data, b.len, txid) == ASSAY_EEXISTS);
	tx_id(&t, want);
	CHECK(!ops.has_tx(ops.ctx, want));
	buf_free(&b);
	tx_free(&t);

	/* Another chain's transaction is invalid. */
	fixture_transfer(&fx, &t, 6, fx.addr[5], 1000, 0, 2000);
	t.chain_id[0] ^= 1;
	tx_sign(&t, fx.sk[6]);
	buf_init(&b);
	tx_encode(&t, &b);
	rc = ops.on_tx(ops.ctx, b.data, b.len, txid);
	CHECK(rc < 0 && rc != ASSAY_EEXISTS);
	buf_free(&b);
	tx_free(&t);
	/* Garbage does not decode. */
	uint8_t junk[3] = {1, 2, 3};
	rc = ops.on_tx(ops.ctx, junk, sizeof(junk), txid);
	CHECK(rc < 0 && rc != ASSAY_EEXISTS);
	CHECK(mempool_size(n.mempool) == 1);
	/* Every refusal but "already there" is counted (the same counter as
	 * the RPC's): bad signature, used nonce, other chain, junk. */
	CHECK(n.txs_rejected == 4);

	mempool_free(n.mempool);
	chain_close(c);
}

/* -minfreespace above the free space: the block is not applied, the peer is
 * not at fault (ASSAY_EIO), the node is aborted, and once aborted it writes
 * nothing more even when the floor is lifted. */
static void test_abort_under_floor(void)
{
	chain_t *prod = open_chain("floor-prod"), *fol = open_chain("floor-fol");
	CHECK(prod && fol);
	CHECK(produce(prod, NULL, 0) == 0);
	CHECK(produce(prod, NULL, 0) == 0);
	uint8_t *raw, *next;
	size_t len, next_len;
	CHECK(chain_get_block_raw_at(prod, 1, &raw, &len) == 0);
	CHECK(chain_get_block_raw_at(prod, 2, &next, &next_len) == 0);

	struct node n;
	struct net_node_ops ops;
	node_of(&n, &ops, fol);
	snprintf(n.cfg.datadir, sizeof(n.cfg.datadir), "%s", fx.dir);
	n.cfg.minfreespace = UINT64_MAX / 2; /* MB: more than any disk */
	char err[256];
	CHECK(node_check_free_space(&n, err, sizeof(err)) == ASSAY_EFULL);
	CHECK(strstr(err, "disk full") && strstr(err, "free space under") && strstr(err, "-minfreespace"));
	uint64_t height;
	CHECK(ops.on_block(ops.ctx, raw, len, next, next_len, &height) == ASSAY_EIO);
	CHECK(n.aborted == 1 && chain_height(fol) == 0);
	n.cfg.minfreespace = 0;
	CHECK(node_check_free_space(&n, err, sizeof(err)) == 0);
	CHECK(ops.on_block(ops.ctx, raw, len, next, next_len, &height) == ASSAY_EIO);
	CHECK(chain_height(fol) == 0);
	free(raw);
	free(next);
	mempool_free(n.mempool);
	chain_close(fol);
	chain_close(prod);
}

/* A block that waits for chunks is kept, and its chunks asked for, only
 * when it is one the validators committed: the real block 2 with a
 * job_chunks transaction added (its tx_root made to match) that names a
 * chunk no one has is refused as invalid, by its execution alone or by the
 * commit block 3 carries, without being kept, and the real one then
 * connects. */
static void test_waiting_block_must_hold(void)
{
	chain_t *prod = open_chain("wait-prod"), *fol = open_chain("wait-fol");
	CHECK(prod && fol);
	CHECK(produce(prod, NULL, 0) == 0);
	CHECK(produce(prod, NULL, 0) == 0);
	CHECK(produce(prod, NULL, 0) == 0);
	uint8_t *raw[4] = {0};
	size_t len[4] = {0};
	for (int h = 1; h <= 3; h++)
		CHECK(chain_get_block_raw_at(prod, (uint64_t)h, &raw[h], &len[h]) == 0);
	struct node n;
	struct net_node_ops ops;
	node_of(&n, &ops, fol);
	uint64_t height;
	CHECK(ops.on_block(ops.ctx, raw[1], len[1], raw[2], len[2], &height) == 0);

	struct block_limits lim = {fx.g.params.max_block_txs, fx.g.params.max_tx_bytes};
	struct block blk;
	CHECK(block_decode(&blk, raw[2], len[2], &lim) == 0);
	struct job_chunks_payload p;
	memset(&p, 0x42, sizeof(p));
	p.count = 1;
	p.refs[0] = (struct avail_ref){0, 1, 64, {0x99}};
	struct buf b;
	struct tx t;
	fixture_chunks_tx(&fx, &t, fx.pk[3], fx.sk[3], 100000, &p);
	CHECK(block_add_tx(&blk, &t) == 0);
	block_tx_root(&blk, blk.hdr.tx_root);
	encode_block(&blk, &b);
	CHECK_EQ_INT(ops.on_block(ops.ctx, b.data, b.len, NULL, 0, &height), ASSAY_ENOTFOUND); /* no such job */
	CHECK(n.avail_pending == NULL);
	int rc = ops.on_block(ops.ctx, b.data, b.len, raw[3], len[3], &height);
	CHECK_EQ_INT(rc, ASSAY_EINVALID);
	CHECK(n.avail_pending == NULL);
	CHECK_EQ_U64(chain_height(fol), 1);
	buf_free(&b);
	/* the same with a forged signature */
	blk.txs[blk.ntx - 1].sig[0] ^= 1;
	block_tx_root(&blk, blk.hdr.tx_root);
	encode_block(&blk, &b);
	CHECK_EQ_INT(ops.on_block(ops.ctx, b.data, b.len, NULL, 0, &height), ASSAY_ENOTFOUND);
	CHECK_EQ_INT(ops.on_block(ops.ctx, b.data, b.len, raw[3], len[3], &height), ASSAY_EINVALID);
	CHECK(n.avail_pending == NULL);
	buf_free(&b);
	block_free(&blk);
	tx_free(&t);
	CHECK(ops.on_block(ops.ctx, raw[2], len[2], raw[3], len[3], &height) == 0 && height == 2);
	for (int h = 1; h <= 3; h++)
		free(raw[h]);
	mempool_free(n.mempool);
	chain_close(fol);
	chain_close(prod);
}

/* The fork a block without its own commit allowed: the real block 2 with
 * its transaction taken out, tx_root and state_root made to match (what
 * anyone can do: nothing the proposer signs binds the transactions, and
 * its beacon proof is deterministic, so it still holds). Here it is made by
 * a second chain that builds block 2 empty with the same key and time.
 * Alone it waits and is not applied; with the real block 3, whose
 * last_commit is for the real block 2, it is invalid; the real one then
 * connects and the chains agree. */
static void test_stripped_block_refused(void)
{
	chain_t *prod = open_chain("strip-prod"), *alt = open_chain("strip-alt"), *fol = open_chain("strip-fol");
	CHECK(prod && alt && fol);
	struct tx t;
	CHECK(produce(prod, NULL, 0) == 0);
	fixture_transfer(&fx, &t, 1, fx.addr[2], 5000, 0, 1000);
	CHECK(produce(prod, &t, 1) == 0);
	tx_free(&t);
	CHECK(produce(prod, NULL, 0) == 0);
	uint8_t *raw[4] = {0}, *fake;
	size_t len[4] = {0}, fake_len;
	for (int h = 1; h <= 3; h++)
		CHECK(chain_get_block_raw_at(prod, (uint64_t)h, &raw[h], &len[h]) == 0);
	struct node a;
	struct net_node_ops aops;
	node_of(&a, &aops, alt);
	uint64_t height;
	CHECK(aops.on_block(aops.ctx, raw[1], len[1], raw[2], len[2], &height) == 0);
	CHECK(produce(alt, NULL, 0) == 0);
	CHECK(chain_get_block_raw_at(alt, 2, &fake, &fake_len) == 0);
	struct block_limits lim = {fx.g.params.max_block_txs, fx.g.params.max_tx_bytes};
	struct block real2, fake2;
	CHECK(block_decode(&real2, raw[2], len[2], &lim) == 0 && block_decode(&fake2, fake, fake_len, &lim) == 0);
	CHECK(real2.ntx == 1 && fake2.ntx == 0);
	CHECK(memcmp(real2.hdr.beacon_proof, fake2.hdr.beacon_proof, sizeof(real2.hdr.beacon_proof)) == 0);
	CHECK(memcmp(real2.hdr.state_root, fake2.hdr.state_root, HASH_LEN) != 0);
	block_free(&real2);
	block_free(&fake2);

	struct node n;
	struct net_node_ops ops;
	node_of(&n, &ops, fol);
	CHECK(ops.on_block(ops.ctx, raw[1], len[1], raw[2], len[2], &height) == 0);
	CHECK_EQ_INT(ops.on_block(ops.ctx, fake, fake_len, NULL, 0, &height), NET_BLOCK_WAIT);
	CHECK_EQ_U64(chain_height(fol), 1);
	CHECK_EQ_INT(ops.on_block(ops.ctx, fake, fake_len, raw[3], len[3], &height), ASSAY_EINVALID);
	CHECK_EQ_U64(chain_height(fol), 1);
	CHECK(ops.on_block(ops.ctx, raw[2], len[2], raw[3], len[3], &height) == 0 && height == 2);
	uint8_t want[HASH_LEN], got[HASH_LEN];
	struct block b2;
	CHECK(chain_get_block_at(prod, 2, &b2) == 0);
	block_hash(&b2, want);
	block_free(&b2);
	chain_tip_hash(fol, got);
	CHECK(memcmp(want, got, HASH_LEN) == 0 && n.txs_committed == 1);
	free(fake);
	for (int h = 1; h <= 3; h++)
		free(raw[h]);
	mempool_free(a.mempool);
	mempool_free(n.mempool);
	chain_close(fol);
	chain_close(alt);
	chain_close(prod);
}

/* The waiting-block record outlives our own failure to connect it: a
 * block 1 kept with its commit (as before a restart) whose chunks are all
 * here is connected by node_chunks_restore; under the free-space floor the
 * node aborts and the record stays, so the next start connects it. (It
 * used to be deleted before the connect, losing the block.) */
static void test_waiting_record_kept_on_abort(void)
{
	chain_t *prod = open_chain("keep-prod"), *fol = open_chain("keep-fol");
	CHECK(prod && fol);
	CHECK(produce(prod, NULL, 0) == 0);
	CHECK(produce(prod, NULL, 0) == 0);
	uint8_t *raw1, *raw2;
	size_t len1, len2;
	CHECK(chain_get_block_raw_at(prod, 1, &raw1, &len1) == 0);
	CHECK(chain_get_block_raw_at(prod, 2, &raw2, &len2) == 0);
	struct block_limits lim = {fx.g.params.max_block_txs, fx.g.params.max_tx_bytes};
	struct block b2;
	CHECK(block_decode(&b2, raw2, len2, &lim) == 0);
	struct buf rec;
	buf_init(&rec);
	buf_put_u32(&rec, (uint32_t)len1);
	buf_put(&rec, raw1, len1);
	commit_encode(&b2.last_commit, &rec);
	CHECK(chunkstore_save_waiting(chain_store(fol), CHUNKSTORE_WAITING_BLOCK, rec.data, rec.len) == 0);

	struct node n;
	struct net_node_ops ops;
	node_of(&n, &ops, fol);
	snprintf(n.cfg.datadir, sizeof(n.cfg.datadir), "%s", fx.dir);
	n.cfg.minfreespace = UINT64_MAX / 2;
	char err[256];
	log_set_stderr(0);
	CHECK_EQ_INT(node_chunks_restore(&n, err, sizeof(err)), 0); /* the connect it tried aborted */
	log_set_stderr(1);
	CHECK(n.aborted && chain_height(fol) == 0);
	uint8_t *kept;
	size_t kept_len;
	CHECK_EQ_INT(chunkstore_load_waiting(chain_store(fol), CHUNKSTORE_WAITING_BLOCK, &kept, &kept_len), 0);
	free(kept);
	mempool_free(n.mempool);
	free(n.avail_pending);

	node_of(&n, &ops, fol); /* the next start */
	CHECK_EQ_INT(node_chunks_restore(&n, err, sizeof(err)), 0);
	CHECK_EQ_U64(chain_height(fol), 1);
	CHECK_EQ_INT(chunkstore_load_waiting(chain_store(fol), CHUNKSTORE_WAITING_BLOCK, &kept, &kept_len),
		     ASSAY_ENOTFOUND);
	free(n.avail_pending);
	mempool_free(n.mempool);
	buf_free(&rec);
	block_free(&b2);
	free(raw1);
	free(raw2);
	chain_close(fol);
	chain_close(prod);
}

/* A signed job_chunks transaction of sender pk/sk naming one chunk of a
 * job made of job (none exists on the test chain). */
static void chunks_tx(struct tx *t, const uint8_t pk[PUBKEY_LEN], const uint8_t sk[SECKEY_LEN], uint8_t job,
		      uint64_t fee)
{
	struct job_chunks_payload p;
	memset(&p, job, sizeof(p));
	p.count = 1;
	p.refs[0] = (struct avail_ref){0, 1, 64, {job}};
	fixture_chunks_tx(&fx, t, pk, sk, fee, &p);
}

static int parked_record_exists(chain_t *c)
{
	uint8_t *rec;
	size_t len;
	int rc = chunkstore_load_waiting(chain_store(c), CHUNKSTORE_WAITING_TXS, &rec, &len);
	if (rc == 0)
		free(rec);
	return rc == 0;
}

/* Only a job_chunks that could be mined waits for its chunks: a broken
 * signature from an account that does not exist is the peer's fault
 * (points, not "known"), and a well-signed one naming no job, from a
 * funded account or from none, is refused as the mempool refuses it. None
 * of them is parked, in memory or in the store. (They all used to be,
 * before their signature was looked at.) */
static void test_junk_chunks_not_parked(void)
{
	struct node n;
	struct net_node_ops ops;
	chain_t *c = open_node("junk-chunks", &n, &ops);
	uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN], txid[HASH_LEN];
	memset(seed, 0xee, sizeof(seed));
	key_from_seed(seed, pk, sk); /* no account */
	for (int i = 0; i < 3; i++) {
		struct tx t;
		struct buf b;
		chunks_tx(&t, i == 2 ? fx.pk[3] : pk, i == 2 ? fx.sk[3] : sk, (uint8_t)(0x40 + i), 1000);
		if (i == 0)
			t.sig[0] ^= 1;
		buf_init(&b);
		tx_encode(&t, &b);
		int rc = ops.on_tx(ops.ctx, b.data, b.len, txid);
		if (i == 0)
			CHECK_EQ_INT(rc, ASSAY_ESIG);
		else
			CHECK_EQ_INT(rc, ASSAY_EEXISTS); /* refused by the state: no points */
		CHECK_EQ_U64(n.avail_nparked, 0);
		buf_free(&b);
		tx_free(&t);
	}
	CHECK(!parked_record_exists(c));
	CHECK_EQ_U64(mempool_size(n.mempool), 0);
	CHECK_EQ_U64(n.txs_rejected, 3);
	close_node(&n);
}

/* A job_chunks that passed its checks waits for its chunks (the store
 * keeps it for a restart), once however often it comes; one sender holds
 * at most NODE_CHUNKS_PARKED_PER_SENDER places, its oldest giving way,
 * and another sender still gets one. */
static void test_parked_per_sender(void)
{
	struct node n;
	struct net_node_ops ops;
	chain_t *c = open_node("parked-bound", &n, &ops);
	char err[256];
	struct tx t;
	chunks_tx(&t, fx.pk[3], fx.sk[3], 0x50, 1000);
	CHECK_EQ_INT(node_chunks_tx_ready(&n, &t, err, sizeof(err)), ASSAY_EUNAVAIL);
	CHECK_EQ_U64(n.avail_nparked, 1);
	CHECK(parked_record_exists(c));
	CHECK_EQ_INT(node_chunks_tx_ready(&n, &t, err, sizeof(err)), ASSAY_EUNAVAIL);
	CHECK_EQ_U64(n.avail_nparked, 1); /* the same bytes again */
	tx_free(&t);
	for (int i = 1; i < NODE_CHUNKS_PARKED_PER_SENDER + 3; i++) {
		chunks_tx(&t, fx.pk[3], fx.sk[3], (uint8_t)(0x50 + i), 1000 + (uint64_t)i);
		CHECK_EQ_INT(node_chunks_tx_ready(&n, &t, err, sizeof(err)), ASSAY_EUNAVAIL);
		tx_free(&t);
	}
	CHECK_EQ_U64(n.avail_nparked, NODE_CHUNKS_PARKED_PER_SENDER);
	/* the newest are kept: the first has given way */
	const struct chain_params *p = &fx.g.params;
	CHECK(tx_decode(&t, n.avail_parked[0].data, n.avail_parked[0].len, p->max_tx_bytes) == 0);
	CHECK_EQ_U64(t.fee, 1000 + 3);
	tx_free(&t);
	chunks_tx(&t, fx.pk[4], fx.sk[4], 0x60, 1000);
	CHECK_EQ_INT(node_chunks_tx_ready(&n, &t, err, sizeof(err)), ASSAY_EUNAVAIL);
	CHECK_EQ_U64(n.avail_nparked, NODE_CHUNKS_PARKED_PER_SENDER + 1);
	tx_free(&t);
	close_node(&n);
}

/* The chunk store is pruned every NODE_CHUNKS_PRUNE_EVERY blocks, not
 * after each (a pass reads a record per root held): the chunks of a job
 * the state does not know stay through the blocks before that height and
 * go at it. */
static void test_prune_every(void)
{
	struct node n;
	struct net_node_ops ops;
	chain_t *c = open_node("prune-every", &n, &ops);
	/* a chunk of job 0x42 as an older database holds one (the first prune
	 * sums its root's record) */
	static const uint8_t data[64] = {7};
	struct avail_chunk ch = {.first_tile = 0, .tile_count = 1, .data = data, .data_len = sizeof(data)};
	memset(ch.job_id, 0x42, HASH_LEN);
	memset(ch.root, 0x43, HASH_LEN);
	struct buf enc;
	buf_init(&enc);
	avail_chunk_encode(&ch, &enc);
	uint8_t hash[HASH_LEN], ck[1 + HASH_LEN] = {STORE_P_CHUNK}, ik[1 + 3 * HASH_LEN + 4] = {STORE_P_CHUNKIDX};
	uint8_t tile_bytes[4] = {64};
	avail_chunk_hash(enc.data, enc.len, hash);
	memcpy(ck + 1, hash, HASH_LEN);
	memset(ik + 1, 0x42, HASH_LEN);
	memset(ik + 1 + HASH_LEN, 0x43, HASH_LEN);
	memcpy(ik + 1 + 2 * HASH_LEN + 4, hash, HASH_LEN);
	store_batch_t *b = store_batch_new();
	CHECK(b != NULL);
	store_batch_put(b, ck, sizeof(ck), enc.data, enc.len);
	store_batch_put(b, ik, sizeof(ik), tile_bytes, sizeof(tile_bytes));
	CHECK_EQ_INT(store_write(chain_store(c), b, 0), 0);
	store_batch_free(b);
	for (uint64_t h = 1; h < NODE_CHUNKS_PRUNE_EVERY; h++)
		node_chunks_block_connected(&n, h);
	CHECK_EQ_INT(chunkstore_has(chain_store(c), hash), 1);
	node_chunks_block_connected(&n, NODE_CHUNKS_PRUNE_EVERY);
	CHECK_EQ_INT(chunkstore_has(chain_store(c), hash), 0);
	buf_free(&enc);
	close_node(&n);
}

/* The chunk of (job, root) served for tile 0, its hash into hash. */
static int served_at_0(chain_t *c, const struct fixture_job *fj, uint8_t hash[HASH_LEN])
{
	uint8_t *enc;
	size_t len;
	int rc = chunkstore_get_at(chain_store(c), fj->j.id, fj->j.slots[0].root, 0, &enc, &len);
	if (rc == 0) {
		avail_chunk_hash(enc, len, hash);
		free(enc);
	}
	return rc;
}

/* The chunks of a block c connects, unmarked: fj's job is put, two
 * chunkings of its output's first tiles are held (h_one: one tile, which
 * the block names; h_two: two tiles, which a parked transaction named),
 * and the block joins the chain without the node (no marks after it). */
static void chunk_block_unmarked(chain_t *c, struct fixture_job *fj, uint8_t tag, uint8_t h_one[HASH_LEN],
				 uint8_t h_two[HASH_LEN])
{
	CHECK_EQ_INT(fixture_job_put(c, fj, tag, fx.addr[5]), 0);
	struct ledger l = chain_ledger(c);
	struct buf one, two;
	uint8_t got[HASH_LEN];
	char err[256];
	fixture_job_chunk(fj, 0, 1, &one);
	fixture_job_chunk(fj, 0, 2, &two);
	CHECK_EQ_INT(chunkstore_accept(chain_store(c), &l, one.data, one.len, CHUNKSTORE_NEED_NONE, h_one, err,
				       sizeof(err)),
		     0);
	CHECK_EQ_INT(chunkstore_accept(chain_store(c), &l, two.data, two.len, CHUNKSTORE_NEED_PARKED, h_two, err,
				       sizeof(err)),
		     0);
	struct job_chunks_payload p;
	memset(&p, 0, sizeof(p));
	memcpy(p.job_id, fj->j.id, HASH_LEN);
	memcpy(p.root, fj->j.slots[0].root, HASH_LEN);
	p.count = 1;
	p.refs[0] = (struct avail_ref){0, 1, 256, {0}};
	memcpy(p.refs[0].chunk_hash, h_one, HASH_LEN);
	struct tx t;
	fixture_chunks_tx(&fx, &t, fx.pk[5], fx.sk[5], 100000, &p);
	CHECK_EQ_INT(produce(c, &t, 1), 0); /* the block's write, and no marks after it */
	struct job_record j;
	l = chain_ledger(c);
	CHECK_EQ_INT(compute_get_job(&l, fj->j.id, &j), 0);
	CHECK_EQ_U64(j.slots[0].uploaded_tiles, 1); /* the block holds the upload */
	CHECK_EQ_INT(served_at_0(c, fj, got), 0);
	CHECK_EQ_MEM(got, h_two, HASH_LEN); /* unmarked: the longest */
	tx_free(&t);
	buf_free(&one);
	buf_free(&two);
}

/* A block joined the chain and the process died before the chunks it
 * names were marked (their batch follows the block's): what the walk of
 * the output is served at tile 0 is then the longest chunk, not the
 * chain's. The next start (node_chunks_restore) marks the tip block's
 * chunks again, and the chain's chunk is served. */
static void test_tip_marks_restored(void)
{
	struct node n;
	struct net_node_ops ops;
	chain_t *c = open_node("tip-marks", &n, &ops);
	struct fixture_job fj;
	uint8_t h_one[HASH_LEN], h_two[HASH_LEN], got[HASH_LEN];
	char err[256];
	chunk_block_unmarked(c, &fj, 0x71, h_one, h_two);
	CHECK_EQ_INT(node_chunks_restore(&n, err, sizeof(err)), 0);
	CHECK_EQ_INT(served_at_0(c, &fj, got), 0);
	CHECK_EQ_MEM(got, h_one, HASH_LEN); /* the chain's */
	close_node(&n);
}

/* What node_chunks_restore reads at start, damaged on disk so that the
 * store fails to read it: the tip block's height record (for its marks),
 * the waiting block and the parked transactions. Each stops the start,
 * naming what could not be read. They used to be taken for absent: the
 * tip's marks were skipped, and what waited was forgotten, then written
 * over by the next record saved. */
static void test_restore_unreadable(void)
{
	static const char *const name[] = {"restore-io-tip", "restore-io-block", "restore-io-txs"};
	static const char *const says[] = {"cannot read the tip block", "cannot read the block kept",
					   "cannot read the transactions kept"};
	for (int which = 0; which < 3; which++) {
		char path[400], err[256] = "";
		chain_t *c = open_chain(name[which]);
		CHECK(c != NULL);
		if (!c)
			return;
		/* the others at genesis: no marks, whose walk of the store would
		 * meet the damage */
		if (which == 0) {
			CHECK_EQ_INT(produce(c, NULL, 0), 0);
			CHECK_EQ_INT(produce(c, NULL, 0), 0);
		}
		uint8_t key[16], val[64];
		size_t klen, vlen = sizeof(val);
		for (size_t i = 0; i < sizeof(val); i++)
			val[i] = (uint8_t)(0x3c ^ (i * 29) ^ which);
		if (which == 0) { /* 'h' || u64 BE 2 -> the tip's hash */
			memset(key, 0, 9);
			key[0] = STORE_P_HEIGHT;
			key[8] = 2;
			klen = 9;
			chain_tip_hash(c, val);
			vlen = HASH_LEN;
		} else {
			const char *meta = which == 1 ? CHUNKSTORE_WAITING_BLOCK : CHUNKSTORE_WAITING_TXS;
			key[0] = STORE_P_META;
			klen = 1 + strlen(meta);
			memcpy(key + 1, meta, klen - 1);
		}
		chain_close(c);
		snprintf(path, sizeof(path), "%s/%s", fx.dir, name[which]);
		CHECK_EQ_INT(fixture_damage_on_disk(path, key, klen, val, vlen), 0);
		struct node n;
		struct net_node_ops ops;
		c = open_node(name[which], &n, &ops);
		if (!c)
			return;
		log_set_stderr(0);
		CHECK_EQ_INT(node_chunks_restore(&n, err, sizeof(err)), ASSAY_EIO);
		log_set_stderr(1);
		CHECK(strstr(err, says[which]) != NULL);
		close_node(&n);
	}
}

/* Marks the tip block's chunks as node_connect_block does after it, with
 * the marks' batch failing as when out of memory: they are owed. */
static void mark_tip_out_of_memory(struct node *n)
{
	struct block tip;
	CHECK_EQ_INT(chain_get_block_at(n->chain, chain_height(n->chain), &tip), 0);
	store_fail_next_batch(1);
	node_chunks_mark(n, &tip);
	store_fail_next_batch(0);
	block_free(&tip);
	CHECK(!n->aborted);
	CHECK_EQ_U64(n->avail_marks_owed, chain_height(n->chain));
}

/* Out of memory while the chunks a block names are marked leaves them
 * owed, and they are marked before the next block joins, whose marking
 * would delete the chunks of an uploaded root that carry no mark: the
 * chain's chunk is served again. They used to stay unmarked until a
 * restart. When marking them fails again there, the next block does not
 * join and the node stops; the restart marks them (node_chunks_restore). */
static void test_owed_marks(void)
{
	struct node n;
	struct net_node_ops ops;
	struct fixture_job fj;
	struct block next;
	struct commit cm;
	uint8_t h_one[HASH_LEN], h_two[HASH_LEN], got[HASH_LEN];
	char err[256];
	for (int again = 0; again < 2; again++) {
		chain_t *c = open_node(again ? "owed-marks-again" : "owed-marks", &n, &ops);
		chunk_block_unmarked(c, &fj, again ? 0x74 : 0x73, h_one, h_two);
		mark_tip_out_of_memory(&n);
		CHECK_EQ_INT(served_at_0(c, &fj, got), 0);
		CHECK_EQ_MEM(got, h_two, HASH_LEN); /* not marked */
		uint64_t height = chain_height(c);
		CHECK_EQ_INT(build_next(c, NULL, 0, &next, &cm), 0);
		if (again)
			store_fail_next_batch(1); /* the owed marks' batch */
		int rc = node_connect_block(&n, &next, &cm, NODE_BLOCK_PRODUCED, err, sizeof(err));
		store_fail_next_batch(0);
		CHECK_EQ_INT(rc, again ? ASSAY_ENOMEM : 0);
		CHECK_EQ_U64(chain_height(c), again ? height : height + 1);
		CHECK_EQ_INT(n.aborted, again);
		if (again) {
			CHECK(strstr(err, "cannot mark the chunks of block") != NULL);
			CHECK_EQ_INT(served_at_0(c, &fj, got), 0);
			CHECK_EQ_MEM(got, h_two, HASH_LEN);
			struct net_node_ops ops2;
			struct node restarted;
			node_of(&restarted, &ops2, c);
			CHECK_EQ_INT(node_chunks_restore(&restarted, err, sizeof(err)), 0);
			mempool_free(restarted.mempool);
		}
		CHECK_EQ_INT(served_at_0(c, &fj, got), 0);
		CHECK_EQ_MEM(got, h_one, HASH_LEN); /* the chain's */
		block_free(&next);
		commit_free(&cm);
		close_node(&n);
	}
}

/* A job_chunks whose chunks are all held is admitted with the mempool's
 * checks run once (they used to run as a dry run, then again to admit). */
static void test_chunks_tx_checked_once(void)
{
	struct node n;
	struct net_node_ops ops;
	chain_t *c = open_node("chunks-once", &n, &ops);
	struct fixture_job fj;
	CHECK_EQ_INT(fixture_job_put(c, &fj, 0x72, fx.addr[5]), 0);
	struct ledger l = chain_ledger(c);
	struct buf enc, b;
	uint8_t hash[HASH_LEN], txid[HASH_LEN];
	char err[256];
	fixture_job_chunk(&fj, 0, 1, &enc);
	CHECK_EQ_INT(chunkstore_accept(chain_store(c), &l, enc.data, enc.len, CHUNKSTORE_NEED_NONE, hash, err,
				       sizeof(err)),
		     0);
	struct job_chunks_payload p;
	memset(&p, 0, sizeof(p));
	memcpy(p.job_id, fj.j.id, HASH_LEN);
	memcpy(p.root, fj.j.slots[0].root, HASH_LEN);
	p.count = 1;
	p.refs[0] = (struct avail_ref){0, 1, 256, {0}};
	memcpy(p.refs[0].chunk_hash, hash, HASH_LEN);
	struct tx t;
	fixture_chunks_tx(&fx, &t, fx.pk[5], fx.sk[5], 100000, &p);
	buf_init(&b);
	tx_encode(&t, &b);
	uint64_t checks = mempool_state_checks(n.mempool);
	CHECK_EQ_INT(ops.on_tx(ops.ctx, b.data, b.len, txid), 0);
	CHECK_EQ_U64(mempool_size(n.mempool), 1);
	CHECK_EQ_U64(mempool_state_checks(n.mempool) - checks, 1);
	buf_free(&b);
	buf_free(&enc);
	tx_free(&t);
	close_node(&n);
}

/* The availability exemption (compute.md §15.4): only a block that came
 * with its own commit, and only more than chunk_retention_blocks below the
 * best height known; never a proposal, whatever height peers claim. */
static void test_retention_exemption(void)
{
	CHECK(node_chunks_exempt(100, 2000, 1000, 1));
	CHECK(!node_chunks_exempt(100, 2000, 1000, 0));       /* a proposal */
	CHECK(!node_chunks_exempt(100, UINT64_MAX / 2, 1000, 0)); /* under a claimed height */
	CHECK(!node_chunks_exempt(1000, 2000, 1000, 1));      /* exactly retention below: checked */
	CHECK(!node_chunks_exempt(100, 1000, 1000, 1));
}

/* Under -minfreespace a chunk is refused before anything is written:
 * ASSAY_EFULL (our own limit: the peer gets no points, net.c), the node
 * goes on, and once space is back chunks are taken again. (A chunk write
 * used to skip the floor: a full disk failed it and stopped the node.) */
static void test_chunk_under_floor(void)
{
	chain_t *fol = open_chain("floor-chunk");
	CHECK(fol != NULL);
	struct node n;
	struct net_node_ops ops;
	node_of(&n, &ops, fol);
	snprintf(n.cfg.datadir, sizeof(n.cfg.datadir), "%s", fx.dir);
	n.cfg.minfreespace = UINT64_MAX / 2;
	uint8_t chunk[200], hash[32];
	memset(chunk, 0x5a, sizeof(chunk));
	CHECK_EQ_INT(ops.on_chunk(ops.ctx, chunk, sizeof(chunk), hash), ASSAY_EFULL);
	CHECK(!n.aborted);
	n.cfg.minfreespace = 0; /* not refused for space now: judged (it is junk) */
	CHECK_EQ_INT(ops.on_chunk(ops.ctx, chunk, sizeof(chunk), hash), ASSAY_EDECODE);
	CHECK(!n.aborted);
	mempool_free(n.mempool);
	chain_close(fol);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	fixture_init(&fx);
	RUN(test_on_block);
	RUN(test_on_tx);
	RUN(test_abort_under_floor);
	RUN(test_chunk_under_floor);
	RUN(test_waiting_block_must_hold);
	RUN(test_stripped_block_refused);
	RUN(test_retention_exemption);
	RUN(test_waiting_record_kept_on_abort);
	RUN(test_junk_chunks_not_parked);
	RUN(test_parked_per_sender);
	RUN(test_prune_every);
	RUN(test_tip_marks_restored);
	RUN(test_owed_marks);
	RUN(test_restore_unreadable);
	RUN(test_chunks_tx_checked_once);
	fixture_free(&fx);
	return test_report("test_node_net");
}

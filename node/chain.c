/* Block commitment (see chain.h): the rules of consensus/ applied to
 * stored blocks. Execution of one block happens on a ledger_mem overlay
 * over the committed state; the overlay's writes become the new state only
 * if every check passes, in the same LevelDB batch as the block itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "consensus/exec.h"
#include "consensus/header.h"
#include "consensus/validators.h"
#include "core/merkle.h"
#include "node/chain.h"
#include "node/sigcheck.h"

#define META_TIP "tip"
#define META_TIP_COMMIT "tipcommit"
#define META_CHAIN_ID "chain_id"
#define META_NETWORK "network"
/* Present while a reindex is under way: the block it replays up to and that
 * block's commit (docs/storage.md, "Reindex"). */
#define META_REINDEX "reindex"

/* Keys a block of n transactions is expected to write, to size its overlay
 * once: a transfer writes its sender's and its recipient's accounts, and
 * the block a few records of its own. A guess only; more just grow it. */
#define OVERLAY_KEYS(n) (2 * (n) + 16)

/* Commits remembered as holding (chain.held): the tip's and the next
 * block's, with room to spare. */
#define COMMITS_HELD 4

/* A block this node built and executed, kept so that applying it does not
 * execute it a second time. */
struct built_block {
	int valid;
	uint8_t hash[HASH_LEN];
	ledger_mem_t *overlay;
	struct state_staged staged;
	struct receipt *receipts;
	size_t nreceipts;
	struct buf enc; /* the block as encoded: a block to apply with the
			 * same bytes is this one, its roots computed once */
	uint8_t (*txids)[HASH_LEN]; /* its txids as the builder's caller had
				     * them (malloc()ed); NULL: hashed on apply */
};

struct chain {
	store_t *store;
	state_t *state;
	struct genesis g;
	struct block_header tip;
	uint8_t tip_hash[HASH_LEN];
	struct commit tip_commit; /* precommits for the tip, for the next block */
	/* The validator sets of the tip's height (which signed the tip's
	 * commit) and of the next (which signs the next block), read from
	 * the state (protocol §10) for sets_height = tip height. */
	struct chain_sets {
		int loaded;
		uint64_t height;
		struct validator *v[2];
		struct validator_set vs[2]; /* [0] the tip's height (n = 0 at genesis), [1] the next */
		uint8_t next_hash[HASH_LEN];
	} sets;
	/* Commits that held lately, by height and commit_hash: a synced
	 * block's commit is checked when it is taken from the next block, when
	 * the block connects with it and again as the next block's
	 * last_commit. A height's set never changes on one chain, so once is
	 * enough. */
	struct commit_held {
		uint64_t height;
		uint8_t hash[HASH_LEN];
	} held[COMMITS_HELD];
	size_t held_next;
	int verify_threads;
	sigcache_t *sigcache;          /* signatures verified on admission; NULL: none */
	struct built_block built;
	int reindexing;                /* META_REINDEX was found or written */
	uint64_t reindex_target;       /* height the reindex replays up to */
	struct commit reindex_commit;  /* commit of the target block, if known */
	chain_batch_hook_fn batch_hook; /* optional extra records per block (chain_set_batch_hook) */
	void *batch_hook_arg;
};

static int load_reindex_marker(chain_t *c);

static void sets_clear(chain_t *c)
{
	free(c->sets.v[0]);
	free(c->sets.v[1]);
	memset(&c->sets, 0, sizeof(c->sets));
}

/* The stored set of height as the header rules take it (*v malloc()ed). */
static int set_load(chain_t *c, uint64_t height, struct validator **v, struct validator_set *vs)
{
	struct bft_valset bs;
	struct ledger l = state_ledger(c->state);
	int rc = validators_set_at(&l, height, &bs);
	memset(vs, 0, sizeof(*vs));
	*v = NULL;
	if (rc)
		return rc;
	*v = calloc(bs.n, sizeof(**v));
	if (!*v) {
		bft_valset_free(&bs);
		return ASSAY_ENOMEM;
	}
	for (uint32_t i = 0; i < bs.n; i++) {
		memcpy((*v)[i].pubkey, bs.v[i].pubkey, PUBKEY_LEN);
		(*v)[i].stake = bs.v[i].power;
	}
	vs->v = *v;
	vs->n = bs.n;
	vs->total_stake = bs.total;
	bft_valset_free(&bs);
	return 0;
}

/* Loads the sets for the current tip if they are not: 0 or a local failure
 * (a committed state always holds them). */
static int sets_ensure(chain_t *c, char *err, size_t errlen)
{
	if (c->sets.loaded && c->sets.height == c->tip.height)
		return 0;
	sets_clear(c);
	int rc = 0;
	if (c->tip.height > 0)
		rc = set_load(c, c->tip.height, &c->sets.v[0], &c->sets.vs[0]);
	if (!rc)
		rc = set_load(c, c->tip.height + 1, &c->sets.v[1], &c->sets.vs[1]);
	if (!rc)
		rc = header_validators_hash(&c->sets.vs[1], c->sets.next_hash);
	if (rc) {
		sets_clear(c);
		if (rc == ASSAY_ENOTFOUND)
			rc = ASSAY_ECORRUPT;
		return assay_fail(err, errlen, rc, "cannot read the validator set of height %llu: %s",
				  (unsigned long long)c->tip.height + 1, assay_strerror(rc));
	}
	c->sets.loaded = 1;
	c->sets.height = c->tip.height;
	return 0;
}

static void built_clear(chain_t *c)
{
	struct built_block *bb = &c->built;
	if (!bb->valid)
		return;
	state_unstage(c->state, &bb->staged);
	state_staged_free(&bb->staged);
	ledger_mem_free(bb->overlay);
	for (size_t i = 0; i < bb->nreceipts; i++)
		receipt_free(&bb->receipts[i]);
	free(bb->receipts);
	buf_free(&bb->enc);
	free(bb->txids);
	memset(bb, 0, sizeof(*bb));
}

/* The genesis block: height 0, no transactions, the initial state. */
static int genesis_block(chain_t *c, ledger_mem_t *ov, struct block *blk)
{
	struct ledger l = ledger_mem_ledger(ov);
	for (size_t i = 0; i < c->g.nallocs; i++) {
		int rc = ledger_credit(&l, c->g.allocs[i].addr, c->g.allocs[i].amount);
		if (rc)
			return rc;
	}
	/* The genesis validators' bonds and the sets of heights 1 and 2
	 * (protocol §7, §10.1). */
	struct bft_validator *vals = calloc(c->g.nvalidators ? c->g.nvalidators : 1, sizeof(*vals));
	struct validator *hv = calloc(c->g.nvalidators ? c->g.nvalidators : 1, sizeof(*hv));
	struct validator_set hs = {hv, c->g.nvalidators, 0};
	uint8_t vhash[HASH_LEN];
	char verr[160];
	int vrc = vals && hv ? 0 : ASSAY_ENOMEM;
	for (size_t i = 0; i < c->g.nvalidators && !vrc; i++) {
		memcpy(vals[i].pubkey, c->g.validators[i].pubkey, PUBKEY_LEN);
		vals[i].power = c->g.validators[i].stake;
		memcpy(hv[i].pubkey, c->g.validators[i].pubkey, PUBKEY_LEN);
		hv[i].stake = c->g.validators[i].stake;
		hs.total_stake += hv[i].stake;
	}
	if (!vrc)
		vrc = validators_genesis(&l, vals, (uint32_t)c->g.nvalidators, verr, sizeof(verr));
	if (!vrc)
		vrc = header_validators_hash(&hs, vhash);
	free(vals);
	free(hv);
	if (vrc)
		return vrc;
	block_init(blk);
	struct block_header *h = &blk->hdr;
	memcpy(h->chain_id, c->g.hash, HASH_LEN);
	h->height = 0;
	h->time_ms = c->g.time_ms;
	block_tx_root(blk, h->tx_root);
	commit_hash(&blk->last_commit, h->last_commit_hash);
	memcpy(h->validators_hash, vhash, HASH_LEN);
	header_genesis_beacon(c->g.hash, h->beacon);
	return 0;
}

/* 0, or ASSAY_ENOMEM: a commit that failed to encode must not be stored. */
static int put_tip(store_batch_t *b, const uint8_t hash[HASH_LEN], const struct commit *commit)
{
	store_batch_put_meta(b, META_TIP, hash, HASH_LEN);
	struct buf cb;
	buf_init(&cb);
	if (commit)
		commit_encode(commit, &cb);
	int rc = cb.oom ? ASSAY_ENOMEM : 0;
	if (!rc)
		store_batch_put_meta(b, META_TIP_COMMIT, cb.data, cb.len);
	buf_free(&cb);
	return rc;
}

static int load_header(chain_t *c, const uint8_t hash[HASH_LEN], struct block_header *h)
{
	struct block blk;
	int rc = chain_get_block(c, hash, &blk);
	if (rc)
		return rc;
	*h = blk.hdr;
	block_free(&blk);
	return 0;
}

/* Writes the genesis block and state into an empty database. */
static int init_genesis(chain_t *c, int fresh_db, char *err, size_t errlen)
{
	ledger_mem_t *ov = ledger_mem_new(NULL);
	struct block blk;
	struct state_staged st;
	int rc;
	if (!ov)
		return ASSAY_ENOMEM;
	rc = genesis_block(c, ov, &blk);
	if (rc) {
		ledger_mem_free(ov);
		snprintf(err, errlen, "genesis: %s", assay_strerror(rc));
		return rc;
	}
	rc = state_stage(c->state, ov, &st, blk.hdr.state_root);
	if (rc) {
		ledger_mem_free(ov);
		block_free(&blk);
		snprintf(err, errlen, "genesis state: %s", assay_strerror(rc));
		return rc;
	}
	uint8_t hash[HASH_LEN], stored[HASH_LEN];
	block_hash(&blk, hash);
	int other = 0, unread = 0;
	if (!fresh_db) {
		int got = store_get_hash_at(chain_store(c), 0, stored);
		other = got == 0 && memcmp(stored, hash, HASH_LEN) != 0;
		unread = got != 0 && got != ASSAY_ENOTFOUND ? got : 0;
	}
	if (other || unread) {
		/* the genesis rebuilt over a state that was not empty, or a
		 * database whose block 0 is another or cannot be read: never
		 * made the tip */
		state_unstage(c->state, &st);
		state_staged_free(&st);
		ledger_mem_free(ov);
		block_free(&blk);
		if (unread)
			return assay_fail(err, errlen, unread, "cannot read block 0's height record: %s",
					  assay_strerror(unread));
		snprintf(err, errlen, "the genesis state does not give the stored block 0: the database is damaged");
		return ASSAY_ECORRUPT;
	}
	store_batch_t *b = store_batch_new();
	struct buf enc;
	buf_init(&enc);
	block_encode(&blk, &enc);
	rc = !b || enc.oom ? ASSAY_ENOMEM : 0;
	if (!rc && fresh_db) {
		store_batch_put_block(b, hash, 0, enc.data, enc.len);
		store_batch_put_meta(b, META_CHAIN_ID, c->g.hash, HASH_LEN);
		store_batch_put_meta(b, META_NETWORK, c->g.network_name, strlen(c->g.network_name));
	}
	if (!rc) {
		state_staged_to_batch(&st, b);
		rc = put_tip(b, hash, NULL);
	}
	if (!rc)
		rc = store_write(chain_store(c), b, 1);
	store_batch_free(b);
	buf_free(&enc);
	if (!rc)
		state_staged_committed(c->state, &st);
	else
		state_unstage(c->state, &st);
	state_staged_free(&st);
	ledger_mem_free(ov);
	if (rc) {
		block_free(&blk);
		snprintf(err, errlen, "cannot write genesis: %s", assay_strerror(rc));
		return rc;
	}
	c->tip = blk.hdr;
	memcpy(c->tip_hash, hash, HASH_LEN);
	commit_free(&c->tip_commit);
	block_free(&blk);
	return 0;
}

/* reindex: opened for chain_reindex, which throws the state away and
 * rebuilds it from the blocks, so what only the state or the reindex record
 * got wrong does not stop the open (the tip and the blocks must still be
 * there). */
static chain_t *open_chain(const char *dir, const struct genesis *g, int reindex, char *err, size_t errlen)
{
	chain_t *c = calloc(1, sizeof(*c));
	uint8_t *val = NULL;
	size_t len;
	if (!c || genesis_copy(&c->g, g) < 0) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->verify_threads = 1;
	c->store = store_open(dir, err, errlen);
	if (!c->store)
		goto fail;
	int idrc = store_get_meta(c->store, META_CHAIN_ID, &val, &len);
	if (idrc < 0 && idrc != ASSAY_ENOTFOUND) {
		snprintf(err, errlen, "cannot read the chain id: %s", assay_strerror(idrc));
		goto fail;
	}
	int fresh = idrc == ASSAY_ENOTFOUND;
	if (fresh) {
		/* a database is new only when it holds nothing of a chain: one
		 * with blocks or a tip but no chain id is damaged, and writing a
		 * genesis over it would replace committed blocks */
		uint8_t h0[HASH_LEN], *tip = NULL;
		size_t tl;
		int tiprc = store_get_meta(c->store, META_TIP, &tip, &tl);
		free(tip);
		int h0rc = store_get_hash_at(c->store, 0, h0);
		int unread = 0;
		if (tiprc && tiprc != ASSAY_ENOTFOUND)
			unread = tiprc;
		else if (h0rc && h0rc != ASSAY_ENOTFOUND)
			unread = h0rc;
		if (unread) {
			snprintf(err, errlen, "cannot read the tip record or block 0's height record: %s",
				 assay_strerror(unread));
			goto fail;
		}
		if (tiprc == 0 || h0rc == 0) {
			snprintf(err, errlen,
				 "the database holds blocks but no chain id record: it is damaged (restore a "
				 "backup, or move the data directory away to start afresh)");
			goto fail;
		}
	}
	if (!fresh) {
		if (len != HASH_LEN || memcmp(val, c->g.hash, HASH_LEN) != 0) {
			char theirs[16] = "?";
			uint8_t *net = NULL;
			size_t nl;
			if (store_get_meta(c->store, META_NETWORK, &net, &nl) == 0 && nl < sizeof(theirs)) {
				memcpy(theirs, net, nl);
				theirs[nl] = 0;
			}
			free(net);
			char theirs_id[17] = "?", ours_id[17];
			if (len == HASH_LEN)
				hex_encode(val, 8, theirs_id);
			hex_encode(c->g.hash, 8, ours_id);
			snprintf(err, errlen,
				 "the data directory holds another chain (network \"%s\", chain id %s...); this "
				 "node runs network \"%s\" (%s, chain id %s...): use another -datadir",
				 theirs, theirs_id, c->g.network_name, c->g.chain, ours_id);
			goto fail;
		}
		free(val);
		val = NULL;
	}
	c->state = state_open(c->store, err, errlen);
	if (!c->state)
		goto fail;
	if (fresh) {
		if (init_genesis(c, 1, err, errlen) < 0)
			goto fail;
		return c;
	}
	/* What the open reads of the tip, its commit and the reindex record
	 * may fail to read (an I/O error, a table that fails its checksum):
	 * that stops the open. Taken for "no record", it would make the node
	 * forget a commit or a reindex target it holds. */
	int rc = store_get_meta(c->store, META_TIP, &val, &len);
	if (rc && rc != ASSAY_ENOTFOUND) {
		snprintf(err, errlen, "cannot read the tip record: %s", assay_strerror(rc));
		goto fail;
	}
	if (rc || len != HASH_LEN) {
		snprintf(err, errlen,
			 "the database has no tip record: it is damaged (restore the data "
			 "directory from a backup)");
		goto fail;
	}
	memcpy(c->tip_hash, val, HASH_LEN);
	free(val);
	val = NULL;
	if (load_header(c, c->tip_hash, &c->tip) < 0) {
		snprintf(err, errlen, "cannot read the tip block: the database is damaged (-reindex)");
		goto fail;
	}
	/* an empty record, or none, is a tip without a commit (genesis) */
	rc = store_get_meta(c->store, META_TIP_COMMIT, &val, &len);
	if (rc && rc != ASSAY_ENOTFOUND) {
		snprintf(err, errlen, "cannot read the tip's commit record: %s", assay_strerror(rc));
		goto fail;
	}
	if (!rc && len) {
		struct reader r;
		rd_init(&r, val, len);
		if (commit_read(&c->tip_commit, &r) < 0 || rd_finish(&r) < 0) {
			/* -reindex cannot rebuild it: no stored block holds it */
			snprintf(err, errlen,
				 "the tip's commit record is damaged: restore the data directory "
				 "from a backup");
			goto fail;
		}
	}
	free(val);
	val = NULL;
	rc = load_reindex_marker(c);
	if (rc && rc != ASSAY_ECORRUPT) {
		snprintf(err, errlen, "cannot read the reindex record: %s", assay_strerror(rc));
		goto fail;
	}
	if (rc) {
		if (!reindex) {
			snprintf(err, errlen, "the reindex record is damaged: run with -reindex");
			goto fail;
		}
		log_warn("chain: the reindex record is damaged; the reindex starts over");
		c->reindexing = 0; /* chain_reindex writes a new one */
		commit_free(&c->reindex_commit);
	}
	uint8_t root[HASH_LEN];
	state_root(c->state, root);
	if (c->reindexing && memcmp(root, c->tip.state_root, HASH_LEN) != 0 && state_count(c->state) == 0) {
		/* Killed after the reindex dropped the state (with its marker,
		 * in one batch) and before the genesis state was written. A
		 * state that is there but does not match is damaged: it is
		 * not written over (-reindex drops it and starts over). */
		if (init_genesis(c, 0, err, errlen) < 0)
			goto fail;
		state_root(c->state, root);
	}
	if (memcmp(root, c->tip.state_root, HASH_LEN) != 0) {
		if (!reindex) {
			snprintf(err, errlen, "state does not match the tip's state root: run with -reindex");
			goto fail;
		}
		log_warn("chain: the state does not match the tip's state root; the reindex rebuilds it");
	}
	return c;
fail:
	free(val);
	chain_close(c);
	return NULL;
}

chain_t *chain_open(const char *dir, const struct genesis *g, char *err, size_t errlen)
{
	return open_chain(dir, g, 0, err, errlen);
}

chain_t *chain_open_for_reindex(const char *dir, const struct genesis *g, char *err, size_t errlen)
{
	return open_chain(dir, g, 1, err, errlen);
}

void chain_close(chain_t *c)
{
	if (!c)
		return;
	built_clear(c);
	state_close(c->state);
	store_close(c->store);
	commit_free(&c->tip_commit);
	commit_free(&c->reindex_commit);
	genesis_free(&c->g);
	sets_clear(c);
	free(c);
}

const struct genesis *chain_genesis(const chain_t *c) { return &c->g; }
uint64_t chain_height(const chain_t *c) { return c->tip.height; }
const struct block_header *chain_tip(const chain_t *c) { return &c->tip; }
void chain_tip_hash(const chain_t *c, uint8_t hash[HASH_LEN]) { memcpy(hash, c->tip_hash, HASH_LEN); }
state_t *chain_state(chain_t *c) { return c->state; }
store_t *chain_store(chain_t *c) { return c->store; }
struct ledger chain_ledger(chain_t *c) { return state_ledger(c->state); }
void chain_set_verify_threads(chain_t *c, int n) { c->verify_threads = n < 1 ? 1 : n; }
void chain_set_sigcache(chain_t *c, sigcache_t *cache) { c->sigcache = cache; }

/* After sets_ensure. */
static struct header_ctx header_ctx_of(const chain_t *c, uint64_t now_ms)
{
	return (struct header_ctx){&c->g.params, c->g.hash, &c->sets.vs[1], c->sets.next_hash,
				   &c->tip, c->tip_hash, now_ms, &c->sets.vs[0]};
}

/* A commit of the tip (by the tip height's set) or of the block on it (by
 * the next set). */
static int check_commit(chain_t *c, const struct commit *cm, uint64_t height, const uint8_t hash[HASH_LEN],
			char *err, size_t errlen)
{
	int rc = sets_ensure(c, err, errlen);
	if (rc)
		return rc;
	if (height != c->tip.height && height != c->tip.height + 1)
		return assay_fail(err, errlen, ASSAY_EINVALID, "commit for height %llu is not of the tip or the next",
				  (unsigned long long)height);
	uint8_t digest[HASH_LEN];
	commit_hash(cm, digest);
	for (size_t i = 0; i < COMMITS_HELD; i++)
		if (c->held[i].height == height && height == cm->height && memcmp(cm->block_hash, hash, HASH_LEN) == 0 &&
		    memcmp(c->held[i].hash, digest, HASH_LEN) == 0)
			return 0;
	rc = header_check_commit(&c->sets.vs[height == c->tip.height ? 0 : 1], c->g.hash, cm, height, hash, err,
				 errlen);
	if (rc == 0) {
		struct commit_held *slot = &c->held[c->held_next++ % COMMITS_HELD];
		slot->height = height;
		memcpy(slot->hash, digest, HASH_LEN);
	}
	return rc;
}

void chain_drop_staged(chain_t *c)
{
	built_clear(c);
}

int chain_check_next_commit(chain_t *c, const struct commit *cm, char *err, size_t errlen)
{
	return check_commit(c, cm, c->tip.height + 1, cm->block_hash, err, errlen);
}

int chain_validator_set(chain_t *c, uint64_t height, struct bft_valset *vs)
{
	struct ledger l = chain_ledger(c);
	return validators_set_at(&l, height, vs);
}

/* Executes blk on a fresh overlay, checking every rule (protocol §4.5, §5);
 * on success the overlay's writes are staged in the tree and returned with
 * the receipts. The signature checks started here run on while the caller
 * builds the block's batch; *scp is theirs to finish. */
static int execute_block(chain_t *c, const struct block *blk, const uint8_t (*txids)[HASH_LEN], uint64_t now_ms,
			 ledger_mem_t **ovp, struct state_staged *st, struct receipt **rcp, sigcheck_t **scp,
			 char *err, size_t errlen)
{
	const struct block_header *hd = &blk->hdr;
	int rc = sets_ensure(c, err, errlen);
	if (rc)
		return rc;
	struct header_ctx hc = header_ctx_of(c, now_ms);
	uint8_t root[HASH_LEN];
	rc = header_check(&hc, blk, err, errlen);
	if (rc)
		return rc;
	/* Signatures are checked by helper threads from here on, while this
	 * thread checks the header's proofs and executes the block (on an
	 * overlay, thrown away if any signature fails); this thread then helps
	 * with whatever is left, just before the block is written. */
	ledger_mem_t *ov = NULL;
	struct receipt *receipts = NULL;
	*scp = sigcheck_start_cached(blk->txs, txids, blk->ntx, c->verify_threads, c->sigcache, 0);
	if (!*scp)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	if ((rc = header_check_proofs(&hc, blk, err, errlen)) < 0)
		goto fail;
	struct ledger ro = chain_ledger(c);
	ov = ledger_mem_new(&ro);
	if (ov)
		(void)ledger_mem_reserve(ov, OVERLAY_KEYS(blk->ntx)); /* a hint: else it grows as it fills */
	receipts = calloc(blk->ntx ? blk->ntx : 1, sizeof(*receipts));
	if (!ov || !receipts) {
		rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		goto fail;
	}
	struct ledger ol = ledger_mem_ledger(ov);
	struct exec_ctx x;
	exec_ctx_init(&x, &c->g.params, &c->g.compute, c->g.hash, &ol, hd);
	x.last_commit = &blk->last_commit;
	if ((rc = exec_block(&x, blk, receipts, err, errlen)) < 0)
		goto fail;
	rc = state_stage(c->state, ov, st, root);
	if (rc) {
		snprintf(err, errlen, "state update failed: %s", assay_strerror(rc));
		goto fail;
	}
	if (memcmp(root, hd->state_root, HASH_LEN) != 0) {
		state_unstage(c->state, st);
		state_staged_free(st);
		rc = assay_fail(err, errlen, ASSAY_EINVALID, "state_root does not match the state after the block");
		goto fail;
	}
	*ovp = ov;
	*rcp = receipts;
	return 0;
fail:;
	char ignored[8];
	sigcheck_finish(*scp, ignored, sizeof(ignored)); /* joins the helpers */
	*scp = NULL;
	ledger_mem_free(ov);
	receipts_free(receipts, blk->ntx);
	return rc;
}

/* A block's transaction, for sorting by txid. */
struct tx_order {
	uint8_t txid[HASH_LEN];
	uint32_t index; /* in the block */
};

static int cmp_by_txid(const void *a, const void *b)
{
	return memcmp(((const struct tx_order *)a)->txid, ((const struct tx_order *)b)->txid, HASH_LEN);
}

/* The block's batch: block, height, each transaction's record (where it is
 * and its receipt), state, tip. 0, or ASSAY_ENOMEM when anything failed to
 * encode: a batch with a short record in it must never reach the disk. *bp
 * is the caller's to free. The state records come in key order
 * (state_stage's) and the transactions' in txid order: LevelDB inserts a
 * run of ascending keys into its memtable faster than keys at random. */
static int block_batch(chain_t *c, const struct block *blk, const uint8_t hash[HASH_LEN],
		       const uint8_t (*txids)[HASH_LEN], const struct buf *enc, const struct state_staged *st,
		       const struct receipt *receipts, const struct commit *commit, store_batch_t **bp)
{
	store_batch_t *b = *bp = store_batch_new();
	if (!b || enc->oom)
		return ASSAY_ENOMEM;
	store_batch_put_block(b, hash, blk->hdr.height, enc->data, enc->len);
	state_staged_to_batch(st, b);
	struct tx_order *order = malloc((blk->ntx ? blk->ntx : 1) * sizeof(*order));
	if (!order)
		return ASSAY_ENOMEM;
	for (size_t i = 0; i < blk->ntx; i++) {
		memcpy(order[i].txid, txids[i], HASH_LEN);
		order[i].index = (uint32_t)i;
	}
	qsort(order, blk->ntx, sizeof(*order), cmp_by_txid);
	struct buf rb;
	int rc = 0;
	buf_init(&rb);
	for (size_t k = 0; k < blk->ntx && !rc; k++) {
		uint32_t i = order[k].index;
		buf_reset(&rb);
		receipt_encode(&receipts[i], &rb);
		if (rb.oom)
			rc = ASSAY_ENOMEM;
		else
			store_batch_put_tx(b, txids[i], blk->hdr.height, i, rb.data, rb.len);
	}
	buf_free(&rb);
	free(order);
	if (!rc && c->batch_hook)
		c->batch_hook(c->batch_hook_arg, blk, b); /* its failures stick to b */
	return rc ? rc : put_tip(b, hash, commit);
}

void chain_set_batch_hook(chain_t *c, chain_batch_hook_fn fn, void *arg)
{
	c->batch_hook = fn;
	c->batch_hook_arg = arg;
}

static void set_tip_commit(chain_t *c, const struct commit *commit);

/* The block is on disk: it becomes the tip, with commit kept for the next. */
static void set_tip(chain_t *c, const struct block *blk, const uint8_t hash[HASH_LEN], const struct commit *commit)
{
	c->tip = blk->hdr;
	memcpy(c->tip_hash, hash, HASH_LEN);
	set_tip_commit(c, commit);
}

/* The tip's commit becomes a copy of commit (NULL: none known). */
static void set_tip_commit(chain_t *c, const struct commit *commit)
{
	commit_free(&c->tip_commit);
	if (commit)
		commit_copy(&c->tip_commit, commit); /* out of memory: none, which only costs
						      * proposing on this tip (chain_build_block) */
}

const struct commit *chain_tip_commit(const chain_t *c)
{
	return &c->tip_commit;
}

/* cm checked for the tip, then stored and kept as its commit. */
static int store_tip_commit(chain_t *c, const struct commit *cm, char *err, size_t errlen)
{
	int rc = check_commit(c, cm, c->tip.height, c->tip_hash, err, errlen);
	if (rc)
		return rc;
	store_batch_t *b = store_batch_new();
	if (!b)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	rc = put_tip(b, c->tip_hash, cm);
	if (!rc)
		rc = store_write(c->store, b, 1);
	store_batch_free(b);
	if (rc)
		return assay_fail(err, errlen, rc, "cannot store the tip's commit: %s", assay_strerror(rc));
	set_tip_commit(c, cm);
	return 0;
}

int chain_set_tip_commit(chain_t *c, const struct commit *cm, char *err, size_t errlen)
{
	char held[64];
	if (c->tip.height == 0 || (c->tip_commit.nsigs && check_commit(c, &c->tip_commit, c->tip.height, c->tip_hash,
								       held, sizeof(held)) == 0))
		return ASSAY_EEXISTS;
	return store_tip_commit(c, cm, err, errlen);
}

int chain_widen_tip_commit(chain_t *c, const struct commit *cm, char *err, size_t errlen)
{
	const struct commit *held = &c->tip_commit;
	if (c->tip.height == 0 || !held->nsigs || cm->nsigs <= held->nsigs || cm->round != held->round ||
	    memcmp(cm->block_hash, held->block_hash, HASH_LEN) != 0)
		return ASSAY_EEXISTS;
	return store_tip_commit(c, cm, err, errlen);
}

/* What applying and checking a block both need first: its encoding, within
 * max_block_bytes. 0, ASSAY_ELIMIT or ASSAY_ENOMEM; on 0 the caller frees
 * *enc. */
static int block_prepare(chain_t *c, const struct block *blk, struct buf *enc, char *err, size_t errlen)
{
	buf_init(enc);
	block_encode(blk, enc);
	if (enc->oom) {
		buf_free(enc);
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory encoding the block");
	}
	if (enc->len > c->g.params.max_block_bytes) {
		size_t len = enc->len;
		buf_free(enc);
		return assay_fail(err, errlen, ASSAY_ELIMIT, "block is %zu bytes; limit %llu", len,
				  (unsigned long long)c->g.params.max_block_bytes);
	}
	return 0;
}

/* Each txid of blk once, for the signature cache and the tx index: a
 * malloc()ed array of blk->ntx ids the caller frees, or NULL when out of
 * memory. */
static uint8_t (*block_txids(const struct block *blk, char *err, size_t errlen))[HASH_LEN]
{
	uint8_t (*txids)[HASH_LEN] = malloc((blk->ntx ? blk->ntx : 1) * sizeof(*txids));
	if (!txids) {
		assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < blk->ntx; i++)
		tx_id(&blk->txs[i], txids[i]);
	return txids;
}

/* Whether blk (encoded as enc) is the block this node built last, byte for
 * byte, with a last_commit that holds: then it was executed already, and
 * its tx root and last_commit_hash were computed from these very bytes
 * when it was built (not a second time here). */
static int built_here(chain_t *c, const struct block *blk, const uint8_t hash[HASH_LEN], const struct buf *enc)
{
	char cerr[160];
	if (!c->built.valid || memcmp(c->built.hash, hash, HASH_LEN) != 0)
		return 0;
	return c->built.enc.len == enc->len && memcmp(c->built.enc.data, enc->data, enc->len) == 0 &&
	       (blk->hdr.height <= 1 ||
		check_commit(c, &blk->last_commit, blk->hdr.height - 1, c->tip_hash, cerr, sizeof(cerr)) == 0);
}

int chain_apply_block(chain_t *c, const struct block *blk, const struct commit *commit,
		      uint64_t now_ms, char *err, size_t errlen)
{
	uint8_t hash[HASH_LEN];
	ledger_mem_t *ov = NULL;
	struct state_staged st;
	struct receipt *receipts = NULL;
	int rc;
	block_hash(blk, hash);
	int same = c->built.valid && memcmp(c->built.hash, hash, HASH_LEN) == 0;
	if (commit && (rc = check_commit(c, commit, blk->hdr.height, hash, err, errlen)) < 0) {
		if (!same)
			built_clear(c);
		return rc;
	}
	struct buf enc;
	uint8_t (*txids)[HASH_LEN] = NULL;
	if ((rc = block_prepare(c, blk, &enc, err, errlen)) != 0) {
		if (rc == ASSAY_ELIMIT)
			built_clear(c); /* even our own: a block over the limit must not stay staged */
		return rc;
	}
	sigcheck_t *sc = NULL;
	if (same && built_here(c, blk, hash, &enc)) {
		/* Our own block: executed when it was built, its txids
		 * perhaps given then too. */
		ov = c->built.overlay;
		st = c->built.staged;
		receipts = c->built.receipts;
		txids = c->built.txids;
		buf_free(&c->built.enc);
		memset(&c->built, 0, sizeof(c->built));
		if (!txids && !(txids = block_txids(blk, err, errlen))) {
			rc = ASSAY_ENOMEM;
			state_unstage(c->state, &st);
			state_staged_free(&st);
			receipts_free(receipts, blk->ntx);
			ledger_mem_free(ov);
			buf_free(&enc);
			return rc;
		}
	} else {
		built_clear(c);
		if (!(txids = block_txids(blk, err, errlen))) {
			buf_free(&enc);
			return ASSAY_ENOMEM;
		}
		rc = execute_block(c, blk, (const uint8_t(*)[HASH_LEN])txids, now_ms, &ov, &st, &receipts, &sc, err,
				   errlen);
		if (rc) {
			free(txids);
			buf_free(&enc);
			return rc;
		}
	}
	store_batch_t *b = NULL;
	rc = block_batch(c, blk, hash, (const uint8_t(*)[HASH_LEN])txids, &enc, &st, receipts, commit, &b);
	if (rc) {
		char ignored[8];
		sigcheck_finish(sc, ignored, sizeof(ignored));
		snprintf(err, errlen, "cannot build the block's database batch: %s", assay_strerror(rc));
	} else {
		rc = sigcheck_finish(sc, err, errlen);
	}
	if (!rc && (rc = store_write(c->store, b, 1)) != 0)
		snprintf(err, errlen, "database write failed: %s", assay_strerror(rc));
	store_batch_free(b);
	buf_free(&enc);
	free(txids);
	receipts_free(receipts, blk->ntx);
	if (rc)
		state_unstage(c->state, &st);
	else
		state_staged_committed(c->state, &st);
	state_staged_free(&st);
	ledger_mem_free(ov); /* after st, which points into it */
	if (rc)
		return rc;
	set_tip(c, blk, hash, commit);
	return 0;
}

int chain_check_header(chain_t *c, const struct block *blk, uint64_t now_ms, char *err, size_t errlen)
{
	int rc = sets_ensure(c, err, errlen);
	if (rc)
		return rc;
	struct header_ctx hc = header_ctx_of(c, now_ms);
	if ((rc = header_check(&hc, blk, err, errlen)) != 0)
		return rc;
	return header_check_proofs(&hc, blk, err, errlen);
}

int chain_check_block(chain_t *c, const struct block *blk, uint64_t now_ms, char *err, size_t errlen)
{
	uint8_t hash[HASH_LEN];
	block_hash(blk, hash);
	if (c->built.valid && memcmp(c->built.hash, hash, HASH_LEN) == 0)
		return 0; /* ours, or checked already */
	built_clear(c);
	struct buf enc;
	int rc = block_prepare(c, blk, &enc, err, errlen);
	if (rc)
		return rc;
	uint8_t (*txids)[HASH_LEN] = block_txids(blk, err, errlen);
	if (!txids) {
		buf_free(&enc);
		return ASSAY_ENOMEM;
	}
	ledger_mem_t *ov = NULL;
	struct state_staged st;
	struct receipt *receipts = NULL;
	sigcheck_t *sc = NULL;
	rc = execute_block(c, blk, (const uint8_t(*)[HASH_LEN])txids, now_ms, &ov, &st, &receipts, &sc, err,
			   errlen);
	if (!rc && (rc = sigcheck_finish(sc, err, errlen)) < 0) {
		state_unstage(c->state, &st);
		state_staged_free(&st);
		receipts_free(receipts, blk->ntx);
		ledger_mem_free(ov);
	}
	if (rc) {
		free(txids); /* the signature helpers read them until sigcheck_finish */
		buf_free(&enc);
		return rc;
	}
	/* kept as if built here: chain_apply_block of the same bytes reuses it */
	c->built.valid = 1;
	memcpy(c->built.hash, hash, HASH_LEN);
	c->built.overlay = ov;
	c->built.staged = st;
	c->built.receipts = receipts;
	c->built.nreceipts = blk->ntx;
	c->built.enc = enc;
	c->built.txids = txids; /* applying it next hashes none again */
	return 0;
}

/* The header of the block to build on the tip, without its roots. */
static int build_header(chain_t *c, uint64_t time_ms, const uint8_t sk[SECKEY_LEN], struct block *blk,
			char *err, size_t errlen)
{
	struct block_header *hd = &blk->hdr;
	memcpy(hd->chain_id, c->g.hash, HASH_LEN);
	hd->height = c->tip.height + 1;
	hd->time_ms = time_ms > c->tip.time_ms ? time_ms : c->tip.time_ms + 1;
	memcpy(hd->prev_hash, c->tip_hash, HASH_LEN);
	int rc = sets_ensure(c, err, errlen);
	if (rc)
		return rc;
	memcpy(hd->validators_hash, c->sets.next_hash, HASH_LEN);
	memcpy(hd->proposer, sk + 32, PUBKEY_LEN);
	rc = header_beacon_prove(sk, c->g.hash, hd->height, c->tip.beacon, hd->beacon_proof, hd->beacon);
	if (rc)
		return assay_fail(err, errlen, rc, "cannot compute the beacon: %s", assay_strerror(rc));
	if (hd->height > 1 && check_commit(c, &c->tip_commit, c->tip.height, c->tip_hash, err, errlen) < 0)
		/* A node that synced its tip from peers holds no commit for it
		 * until the next block brings one: it cannot propose on it. */
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "no valid commit known for the tip (height %llu): cannot propose on it",
				  (unsigned long long)c->tip.height);
	if (c->tip_commit.nsigs || hd->height > 1) {
		blk->last_commit = c->tip_commit;
		blk->last_commit.sigs = NULL;
		if (c->tip_commit.nsigs) {
			blk->last_commit.sigs = malloc(c->tip_commit.nsigs * sizeof(struct commit_sig));
			if (!blk->last_commit.sigs)
				return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
			memcpy(blk->last_commit.sigs, c->tip_commit.sigs,
			       c->tip_commit.nsigs * sizeof(struct commit_sig));
		}
	}
	commit_hash(&blk->last_commit, hd->last_commit_hash);
	return 0;
}

int chain_build_block(chain_t *c, const struct tx *const *txs, size_t n, uint64_t time_ms,
		      const uint8_t sk[SECKEY_LEN], struct block *blk, size_t *skipped, size_t *nskipped,
		      char *err, size_t errlen)
{
	return chain_build_block_ids(c, txs, NULL, n, time_ms, sk, blk, skipped, nskipped, err, errlen);
}

int chain_build_block_ids(chain_t *c, const struct tx *const *txs, const uint8_t (*txids)[HASH_LEN], size_t n,
			  uint64_t time_ms, const uint8_t sk[SECKEY_LEN], struct block *blk, size_t *skipped,
			  size_t *nskipped, char *err, size_t errlen)
{
	const struct chain_params *p = &c->g.params;
	struct ledger ro = chain_ledger(c);
	built_clear(c);
	block_init(blk);
	if (nskipped)
		*nskipped = 0;
	/* At most max_block_txs of the n candidates are included: the arrays
	 * below are indexed by the included ones, so a long candidate list
	 * (the whole mempool, producer_build_block) costs no more room. */
	size_t room = n < p->max_block_txs ? n : p->max_block_txs;
	ledger_mem_t *ov = ledger_mem_new(&ro);
	if (ov)
		(void)ledger_mem_reserve(ov, OVERLAY_KEYS(room)); /* a hint: else it grows as it fills */
	struct receipt *receipts = calloc(room ? room : 1, sizeof(*receipts));
	/* The tx root's leaves, hashed from the encodings made for the size
	 * count: each transaction is encoded and hashed once. */
	uint8_t (*leaves)[HASH_LEN] = malloc((room ? room : 1) * sizeof(*leaves));
	struct buf tb;
	buf_init(&tb);
	blk->txs = malloc((room ? room : 1) * sizeof(*blk->txs)); /* one array, not a realloc per tx */
	/* the included ones' ids, kept for applying the block */
	uint8_t (*ids)[HASH_LEN] = txids ? malloc((room ? room : 1) * sizeof(*ids)) : NULL;
	int rc = !ov || !receipts || !leaves || !blk->txs || (txids && !ids) ? ASSAY_ENOMEM : 0;
	if (rc)
		assay_fail(err, errlen, rc, "out of memory");
	if (rc || (rc = build_header(c, time_ms, sk, blk, err, errlen)) < 0)
		goto fail;
	struct block_header *hd = &blk->hdr;
	struct ledger ol = ledger_mem_ledger(ov);
	struct exec_ctx x;
	exec_ctx_init(&x, p, &c->g.compute, c->g.hash, &ol, hd);
	x.last_commit = &blk->last_commit;
	/* Exact size: header, the tx count (at its widest), each tx with its
	 * length prefix, and the commit as it will be encoded. */
	commit_encode(&blk->last_commit, &tb);
	uint64_t gas = 0, reveal_gas = 0, chunk_bytes = 0;
	uint64_t bytes = HEADER_BYTES + buf_varint_len(p->max_block_txs) + tb.len;
	for (size_t i = 0; i < n; i++) {
		const struct tx *t = txs[i];
		char terr[160];
		if (blk->ntx >= p->max_block_txs) { /* full by count: no later candidate fits either */
			for (; skipped && i < n; i++)
				skipped[(*nskipped)++] = i;
			break;
		}
		int lane = exec_in_reveal_lane(t); /* reveals have their own gas budget */
		/* Sized without encoding: a candidate over a budget is passed
		 * over without a copy of it (up to max_tx_bytes) being made. */
		size_t tx_len = tx_encoded_len(t);
		uint64_t tx_bytes = buf_varint_len(tx_len) + tx_len;
		int full = bytes + tx_bytes > p->max_block_bytes ||
			   (lane ? reveal_gas + t->gas_limit > c->g.compute.reveal_block_gas
				 : gas + t->gas_limit > p->max_block_gas) ||
			   chunk_bytes + exec_tx_chunk_bytes(t) > c->g.compute.chunk_budget_bytes;
		if (!full) {
			buf_reset(&tb);
			tx_encode(t, &tb);
			if (tb.oom) {
				rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
				goto fail;
			}
		}
		size_t snap = ledger_snapshot(&x.l);
		int e = full ? ASSAY_ELIMIT : exec_tx(&x, t, &receipts[blk->ntx], terr, sizeof(terr));
		if (assay_err_is_local(e)) {
			/* Our failure, not the transaction's: no block rather
			 * than a block whose state others would not reach. */
			rc = assay_fail(err, errlen, e, "transaction %zu not executed: %s", i, terr);
			goto fail;
		}
		if (e < 0) {
			receipt_free(&receipts[blk->ntx]);
			ledger_revert(&x.l, snap);
			if (skipped)
				skipped[(*nskipped)++] = i;
			continue;
		}
		merkle_leaf_hash(tb.data, tb.len, leaves[blk->ntx]);
		if (ids)
			memcpy(ids[blk->ntx], txids[i], HASH_LEN);
		if (tx_copy(&blk->txs[blk->ntx], t) < 0) { /* blk->txs has room for every one included */
			rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
			goto fail;
		}
		blk->ntx++;
		if (lane)
			reveal_gas += t->gas_limit;
		else
			gas += t->gas_limit;
		chunk_bytes += exec_tx_chunk_bytes(t);
		bytes += tx_bytes;
	}
	if (blk->ntx < room) { /* what was skipped leaves no room behind in a block that is kept */
		struct tx *fit = realloc(blk->txs, (blk->ntx ? blk->ntx : 1) * sizeof(*fit));
		if (fit)
			blk->txs = fit;
	}
	if ((rc = exec_end_block(&x, err, errlen)) < 0)
		goto fail;
	merkle_root((const uint8_t(*)[HASH_LEN])leaves, blk->ntx, hd->tx_root);
	rc = state_stage(c->state, ov, &c->built.staged, hd->state_root);
	if (rc) {
		snprintf(err, errlen, "state update failed: %s", assay_strerror(rc));
		goto fail;
	}
	buf_free(&tb);
	free(leaves);
	buf_init(&c->built.enc);
	block_encode(blk, &c->built.enc);
	if (c->built.enc.oom)
		buf_free(&c->built.enc); /* then applying it executes it again */
	c->built.valid = 1;
	c->built.overlay = ov;
	c->built.receipts = receipts;
	c->built.nreceipts = blk->ntx;
	c->built.txids = ids;
	block_hash(blk, c->built.hash);
	return 0;
fail:
	if (nskipped)
		*nskipped = 0;
	buf_free(&tb);
	free(leaves);
	free(ids);
	ledger_mem_free(ov);
	receipts_free(receipts, room);
	block_free(blk);
	return rc;
}

void chain_sign_commit(const chain_t *c, const uint8_t sk[SECKEY_LEN], uint64_t height,
		       const uint8_t hash[HASH_LEN], struct commit *out)
{
	uint8_t msg[HASH_LEN];
	memset(out, 0, sizeof(*out));
	out->height = height;
	memcpy(out->block_hash, hash, HASH_LEN);
	out->sigs = calloc(1, sizeof(*out->sigs));
	if (!out->sigs)
		return;
	out->nsigs = 1;
	memcpy(out->sigs[0].validator, sk + 32, PUBKEY_LEN);
	header_commit_msg(c->g.hash, height, 0, hash, msg);
	sig_sign(sk, msg, HASH_LEN, out->sigs[0].sig);
}

static struct block_limits limits_of(const chain_t *c)
{
	return (struct block_limits){c->g.params.max_block_txs, c->g.params.max_tx_bytes};
}

int chain_get_block(chain_t *c, const uint8_t hash[HASH_LEN], struct block *blk)
{
	uint8_t *enc;
	size_t len;
	int rc = store_get_block(c->store, hash, &enc, &len);
	if (rc)
		return rc;
	struct block_limits lim = limits_of(c);
	rc = block_decode(blk, enc, len, &lim);
	free(enc);
	return rc;
}

int chain_get_block_raw_at(chain_t *c, uint64_t height, uint8_t **enc, size_t *len)
{
	uint8_t hash[HASH_LEN];
	if (height > c->tip.height)
		return ASSAY_ENOTFOUND;
	int rc = store_get_hash_at(c->store, height, hash);
	if (rc)
		return rc;
	return store_get_block(c->store, hash, enc, len);
}

int chain_get_block_at(chain_t *c, uint64_t height, struct block *blk)
{
	uint8_t hash[HASH_LEN];
	if (height > c->tip.height)
		return ASSAY_ENOTFOUND;
	int rc = store_get_hash_at(c->store, height, hash);
	return rc ? rc : chain_get_block(c, hash, blk);
}

int chain_get_tx(chain_t *c, const uint8_t txid[HASH_LEN], struct tx *t, uint64_t *height,
		 uint32_t *index, struct receipt *r)
{
	struct block blk;
	uint8_t *rec;
	size_t rlen;
	int rc = store_get_tx(c->store, txid, height, index, &rec, &rlen);
	if (rc)
		return rc;
	if (*height > c->tip.height)
		rc = ASSAY_ENOTFOUND; /* indexed by a block later undone by -reindex */
	else
		rc = chain_get_block_at(c, *height, &blk);
	if (!rc) {
		if (*index < blk.ntx)
			rc = tx_copy(t, &blk.txs[*index]);
		else
			rc = ASSAY_EIO;
		block_free(&blk);
	}
	if (!rc && r) {
		memset(r, 0, sizeof(*r));
		/* one that does not decode is damage, never a receipt of zeros
		 * (which reads as a failed transaction) */
		if (rec && (rc = receipt_decode(r, rec, rlen)) != 0 && rc != ASSAY_ENOMEM)
			rc = ASSAY_ECORRUPT;
		if (rc)
			tx_free(t);
	}
	free(rec);
	return rc;
}

struct key_list {
	uint8_t (*keys)[1 + HASH_LEN];
	size_t n, cap;
};

static int collect_state_key(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct key_list *kl = arg;
	if (klen != 1 + HASH_LEN)
		return 0;
	if (kl->n == kl->cap) {
		size_t ncap = kl->cap ? kl->cap * 2 : 1024;
		void *nk = realloc(kl->keys, ncap * sizeof(*kl->keys));
		if (!nk)
			return ASSAY_ENOMEM;
		kl->keys = nk;
		kl->cap = ncap;
	}
	memcpy(kl->keys[kl->n++], key, klen);
	return 0;
}

/* The reindex marker (docs/storage.md, "Reindex"): u64 target height, then
 * the target block's commit as the tip record holds it (may be empty). */
static int put_reindex_marker(store_batch_t *b, uint64_t target, const struct commit *cm)
{
	struct buf mb;
	buf_init(&mb);
	buf_put_u64(&mb, target);
	commit_encode(cm, &mb);
	int rc = mb.oom ? ASSAY_ENOMEM : 0;
	if (!rc)
		store_batch_put_meta(b, META_REINDEX, mb.data, mb.len);
	buf_free(&mb);
	return rc;
}

/* Reads the marker into c; 0 when there is none. */
static int load_reindex_marker(chain_t *c)
{
	uint8_t *val = NULL;
	size_t len;
	int rc = store_get_meta(c->store, META_REINDEX, &val, &len);
	if (rc == ASSAY_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	struct reader r;
	rd_init(&r, val, len);
	commit_free(&c->reindex_commit);
	c->reindex_target = rd_u64(&r);
	rc = commit_read(&c->reindex_commit, &r);
	if (!rc)
		rc = rd_finish(&r);
	free(val);
	if (rc) {
		commit_free(&c->reindex_commit);
		return ASSAY_ECORRUPT;
	}
	c->reindexing = 1;
	return 0;
}

int chain_reindex_pending(const chain_t *c, uint64_t *target)
{
	if (c->reindexing && target)
		*target = c->reindex_target;
	return c->reindexing;
}

/* Into *highest, the highest height from `from` up whose block the height
 * index holds: a database damaged by an older, unsafe reindex has blocks
 * above its tip. 0, or the error of a read that failed (at *highest + 1):
 * taken for the end of the index, it would leave the blocks above out of
 * the reindex's target, and the chain would lose them. */
static int highest_stored(chain_t *c, uint64_t from, uint64_t *highest)
{
	uint8_t hash[HASH_LEN];
	int rc = ASSAY_ENOTFOUND;
	while (from < UINT64_MAX && (rc = store_get_hash_at(c->store, from + 1, hash)) == 0)
		from++;
	*highest = from;
	return rc == ASSAY_ENOTFOUND || from == UINT64_MAX ? 0 : rc;
}

/* Replays stored blocks from the tip + 1 up to the marker's target, then
 * removes the marker. Each block commits with its own batch, so a kill at
 * any moment leaves a consistent prefix and the marker to resume from. */
static int reindex_replay(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err,
			  size_t errlen)
{
	uint64_t target = c->reindex_target;
	int rc = 0;
	for (uint64_t h = c->tip.height + 1; !rc && h <= target; h++) {
		struct block blk;
		uint8_t hash[HASH_LEN];
		rc = store_get_hash_at(c->store, h, hash);
		if (!rc)
			rc = chain_get_block(c, hash, &blk);
		if (rc) {
			snprintf(err, errlen, "block %llu is missing or damaged: %s", (unsigned long long)h,
				 assay_strerror(rc));
			return rc == ASSAY_ENOTFOUND ? ASSAY_ECORRUPT : rc;
		}
		char berr[256];
		const struct commit *cm = h == target && c->reindex_commit.nsigs ? &c->reindex_commit : NULL;
		rc = chain_apply_block(c, &blk, cm, UINT64_MAX, berr, sizeof(berr));
		block_free(&blk);
		if (rc) {
			snprintf(err, errlen, "block %llu fails validation: %s", (unsigned long long)h, berr);
			return rc;
		}
		if (progress && progress(h, target) != 0) {
			snprintf(err, errlen, "reindex stopped at block %llu of %llu; the next start resumes it",
				 (unsigned long long)h, (unsigned long long)target);
			return ASSAY_ECANCELED;
		}
	}
	store_batch_t *b = store_batch_new();
	if (!b)
		return ASSAY_ENOMEM;
	store_batch_put_meta(b, META_REINDEX, NULL, 0); /* NULL deletes */
	rc = store_write(c->store, b, 1);
	store_batch_free(b);
	if (rc) {
		snprintf(err, errlen, "cannot finish the reindex: %s", assay_strerror(rc));
		return rc;
	}
	c->reindexing = 0;
	commit_free(&c->reindex_commit);
	return 0;
}

int chain_reindex_resume(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err, size_t errlen)
{
	if (!c->reindexing)
		return 0;
	built_clear(c);
	return reindex_replay(c, progress, err, errlen);
}

int chain_reindex(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err, size_t errlen)
{
	/* The target is the highest block this database has ever held: the
	 * marker's, if an earlier reindex was interrupted, else the tip (or
	 * above it, for a database an older version left behind). */
	uint64_t target = c->reindexing ? c->reindex_target : c->tip.height;
	int rc = highest_stored(c, target, &target);
	if (rc) {
		snprintf(err, errlen, "cannot read the height index at %llu: %s",
			 (unsigned long long)target + 1, assay_strerror(rc));
		return rc;
	}
	/* The target block's commit, for the marker: the unfinished
	 * reindex's, the tip's, or none (a target above the tip). It stays
	 * where it is until the marker that carries it is written, so a first
	 * batch that fails leaves the chain as it was, commit included. */
	static const struct commit no_commit;
	struct commit *last = NULL;
	if (c->reindexing && target == c->reindex_target)
		last = &c->reindex_commit;
	else if (target == c->tip.height)
		last = &c->tip_commit;
	built_clear(c);
	/* Drop the state and write the marker in one batch, then rebuild the
	 * state from genesis by replaying blocks up to the target. */
	struct key_list kl = {0};
	const uint8_t prefix = STORE_P_STATE;
	rc = store_iterate(c->store, &prefix, 1, collect_state_key, &kl);
	if (!rc) {
		store_batch_t *b = store_batch_new();
		if (!b)
			rc = ASSAY_ENOMEM;
		for (size_t i = 0; b && i < kl.n; i++)
			store_batch_del(b, kl.keys[i], sizeof(kl.keys[i]));
		if (b && !(rc = put_reindex_marker(b, target, last ? last : &no_commit)))
			rc = store_write(c->store, b, 1);
		store_batch_free(b);
	}
	free(kl.keys);
	if (rc) {
		snprintf(err, errlen, "cannot clear the state: %s", assay_strerror(rc));
		return rc;
	}
	/* The replay gives the target block the marker's commit: the tip's
	 * moves there, since the tip is about to go back to genesis. */
	if (last != &c->reindex_commit) {
		commit_free(&c->reindex_commit);
		if (last == &c->tip_commit) {
			c->reindex_commit = c->tip_commit;
			memset(&c->tip_commit, 0, sizeof(c->tip_commit));
		}
	}
	c->reindex_target = target;
	c->reindexing = 1;
	state_close(c->state);
	c->state = state_open(c->store, err, errlen);
	if (!c->state)
		return ASSAY_EIO;
	rc = init_genesis(c, 0, err, errlen);
	return rc ? rc : reindex_replay(c, progress, err, errlen);
}

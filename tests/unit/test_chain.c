/* Unit tests for node/chain.c and node/state.c: genesis, building and
 * applying blocks, every header rule rejecting a tampered block without
 * touching the state, receipts and the tx index, reopening and -reindex. */
#include "consensus/compute/compute_codec.h"
#include "core/error.h"
#include "core/ledger.h"
#include "node/chain.h"
#include "vm/vm.h"
#include "node_fixture.h"
#include "test.h"

static struct fixture fx;
static chain_t *ch;

static uint64_t balance_of(const uint8_t addr[ADDR_LEN], uint64_t *nonce)
{
	struct account a;
	struct ledger l = chain_ledger(ch);
	CHECK(ledger_get_account(&l, addr, &a) == 0);
	if (nonce)
		*nonce = a.nonce;
	return a.balance;
}

static void open_chain(void)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	ch = chain_open(path, &fx.g, err, sizeof(err));
	if (!ch)
		fprintf(stderr, "chain_open: %s\n", err);
	CHECK(ch != NULL);
}

/* Builds and applies one block of the given txs, signed by the validator. */
static int produce(const struct tx *txs, size_t n, uint64_t time_ms, struct block *out)
{
	const struct tx *ptrs[64];
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN];
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &txs[i];
	int rc = chain_build_block(ch, ptrs, n, time_ms, fx.sk[0], &blk, NULL, NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "build: %s\n", err);
		return rc;
	}
	block_hash(&blk, hash);
	chain_sign_commit(ch, fx.sk[0], blk.hdr.height, hash, &cm);
	rc = chain_apply_block(ch, &blk, &cm, time_ms, err, sizeof(err));
	if (rc)
		fprintf(stderr, "apply: %s\n", err);
	commit_free(&cm);
	if (out)
		*out = blk;
	else
		block_free(&blk);
	return rc;
}

/* What contracts see of a job: verified only once paid, since a verified
 * job can still be disputed into failed (and refunded) until its payout. */
static void test_job_vm_state(void)
{
	CHECK(exec_job_vm_state(JOB_OPEN) == VM_JOB_PENDING);
	CHECK(exec_job_vm_state(JOB_ASSIGNED) == VM_JOB_PENDING);
	CHECK(exec_job_vm_state(JOB_COMMITTED) == VM_JOB_PENDING);
	CHECK(exec_job_vm_state(JOB_VERIFIED) == VM_JOB_PENDING);
	CHECK(exec_job_vm_state(JOB_PAID) == VM_JOB_VERIFIED);
	CHECK(exec_job_vm_state(JOB_FAILED) == VM_JOB_FAILED);
	CHECK(exec_job_vm_state(JOB_REFUNDED) == VM_JOB_FAILED);
}

static void test_genesis_state(void)
{
	CHECK(chain_height(ch) == 0);
	CHECK(balance_of(fx.addr[3], NULL) == FIX_FUNDS);
	uint8_t root[HASH_LEN];
	state_root(chain_state(ch), root);
	CHECK_EQ_MEM(root, chain_tip(ch)->state_root, HASH_LEN);
	/* the accounts, the genesis validator's record, the validator index
	 * and the sets of heights 1 and 2 (protocol §10.1) */
	CHECK(state_count(chain_state(ch)) == FIX_KEYS + 4);
}

static void test_transfers_apply(void)
{
	struct tx txs[3];
	fixture_transfer(&fx, &txs[0], 1, fx.addr[2], 5000, 0, 2000);
	fixture_transfer(&fx, &txs[1], 1, fx.addr[3], 7000, 1, 2000);
	fixture_transfer(&fx, &txs[2], 2, fx.addr[1], 100, 0, 1000);
	struct block blk;
	CHECK(produce(txs, 3, 2000, &blk) == 0);
	CHECK(chain_height(ch) == 1);
	CHECK(blk.ntx == 3);
	uint64_t nonce;
	CHECK(balance_of(fx.addr[1], &nonce) == FIX_FUNDS - 5000 - 7000 - 4000 + 100);
	CHECK(nonce == 2);
	CHECK(balance_of(fx.addr[2], &nonce) == FIX_FUNDS + 5000 - 100 - 1000);
	CHECK(nonce == 1);
	CHECK(balance_of(fx.addr[3], NULL) == FIX_FUNDS + 7000);
	CHECK(balance_of(fx.addr[0], NULL) == FIX_FUNDS + 5000); /* the proposer earns the fees */
	/* Lookup by txid, with its receipt. */
	uint8_t txid[HASH_LEN];
	struct tx got;
	struct receipt r;
	uint64_t h;
	uint32_t idx;
	tx_id(&txs[1], txid);
	CHECK(chain_get_tx(ch, txid, &got, &h, &idx, &r) == 0);
	CHECK(h == 1 && idx == 1 && r.ok == 1);
	CHECK(got.nonce == 1);
	tx_free(&got);
	receipt_free(&r);
	/* The same block cannot be applied twice. */
	char err[256];
	CHECK(chain_apply_block(ch, &blk, NULL, 3000, err, sizeof(err)) == ASSAY_EEXISTS);
	block_free(&blk);
	for (int i = 0; i < 3; i++)
		tx_free(&txs[i]);
}

/* A transaction's stored receipt that does not decode is damage
 * (ASSAY_ECORRUPT, "cannot read transaction" in RPC), not a receipt of
 * zeros: that read as a transaction that failed, with no error. */
static void test_damaged_receipt(void)
{
	struct block blk;
	struct tx got;
	struct receipt r;
	uint8_t txid[HASH_LEN], *rec;
	size_t rlen;
	uint64_t h;
	uint32_t idx;
	CHECK_EQ_INT(chain_get_block_at(ch, 1, &blk), 0);
	tx_id(&blk.txs[1], txid);
	block_free(&blk);
	store_t *s = chain_store(ch);
	CHECK_EQ_INT(store_get_tx(s, txid, &h, &idx, &rec, &rlen), 0);
	static const uint8_t junk[] = {1, 0xff, 0xff, 0xff};
	store_batch_t *b = store_batch_new();
	store_batch_put_tx(b, txid, h, idx, junk, sizeof(junk));
	CHECK_EQ_INT(store_write(s, b, 1), 0);
	CHECK_EQ_INT(chain_get_tx(ch, txid, &got, &h, &idx, &r), ASSAY_ECORRUPT);
	store_batch_clear(b);
	store_batch_put_tx(b, txid, h, idx, rec, rlen); /* put back */
	CHECK_EQ_INT(store_write(s, b, 1), 0);
	store_batch_free(b);
	free(rec);
	CHECK_EQ_INT(chain_get_tx(ch, txid, &got, &h, &idx, &r), 0);
	CHECK(r.ok == 1);
	tx_free(&got);
	receipt_free(&r);
}

static void test_invalid_txs_are_skipped_by_the_builder(void)
{
	struct tx txs[3];
	uint64_t n1;
	balance_of(fx.addr[4], &n1);
	fixture_transfer(&fx, &txs[0], 4, fx.addr[5], 1, n1 + 1, 1000);         /* nonce gap */
	fixture_transfer(&fx, &txs[1], 4, fx.addr[5], FIX_FUNDS * 2, n1, 1000); /* overdraft */
	fixture_transfer(&fx, &txs[2], 4, fx.addr[5], 1, n1, 1000);
	struct block blk;
	CHECK(produce(txs, 3, 4000, &blk) == 0);
	CHECK(blk.ntx == 1);
	block_free(&blk);
	for (int i = 0; i < 3; i++)
		tx_free(&txs[i]);
}

/* Builds a valid next block, lets `tamper` break it, and checks that the
 * chain refuses it and its state and tip are untouched. */
/* Builds (does not apply) a block on the tip, a second after it, of one
 * transfer of 10 from key 6 to key 7: t is the caller's to free, as blk. */
static uint64_t build_transfer(struct tx *t, struct block *blk)
{
	uint64_t nonce;
	char err[256];
	balance_of(fx.addr[6], &nonce);
	fixture_transfer(&fx, t, 6, fx.addr[7], 10, nonce, 1000);
	const struct tx *ptr = t;
	uint64_t now = chain_tip(ch)->time_ms + 1000;
	int rc = chain_build_block(ch, &ptr, 1, now, fx.sk[0], blk, NULL, NULL, err, sizeof(err));
	if (rc)
		fprintf(stderr, "build: %s\n", err);
	CHECK(rc == 0);
	return now;
}

static void expect_rejected(void (*tamper)(struct block *), int resign, const char *what)
{
	struct tx t;
	struct block blk;
	char err[256];
	uint8_t root_before[HASH_LEN], root_after[HASH_LEN], tip_before[HASH_LEN], tip_after[HASH_LEN];
	state_root(chain_state(ch), root_before);
	chain_tip_hash(ch, tip_before);
	uint64_t now = build_transfer(&t, &blk);
	tamper(&blk);
	if (resign)
		tx_sign(&blk.txs[0], fx.sk[6]);
	int rc = chain_apply_block(ch, &blk, NULL, now, err, sizeof(err));
	if (rc == 0)
		fprintf(stderr, "tampered block accepted: %s\n", what);
	CHECK(rc < 0);
	state_root(chain_state(ch), root_after);
	chain_tip_hash(ch, tip_after);
	CHECK_EQ_MEM(root_before, root_after, HASH_LEN);
	CHECK_EQ_MEM(tip_before, tip_after, HASH_LEN);
	CHECK(balance_of(fx.addr[7], NULL) == FIX_FUNDS);
	block_free(&blk);
	tx_free(&t);
}

static void t_state_root(struct block *b) { b->hdr.state_root[0] ^= 1; }
static void t_tx_root(struct block *b) { b->hdr.tx_root[5] ^= 1; }
static void t_sig(struct block *b) { b->txs[0].sig[10] ^= 1; }
static void t_time(struct block *b) { b->hdr.time_ms = 1; }
static void t_future(struct block *b) { b->hdr.time_ms += 3600 * 1000; }
static void t_beacon(struct block *b) { b->hdr.beacon[0] ^= 1; }
static void t_proof(struct block *b) { b->hdr.beacon_proof[40] ^= 1; }
static void t_proposer(struct block *b) { memcpy(b->hdr.proposer, fx.pk[3], PUBKEY_LEN); }
static void t_prev(struct block *b) { b->hdr.prev_hash[0] ^= 1; }
static void t_height(struct block *b) { b->hdr.height += 1; }
static void t_chain(struct block *b) { b->hdr.chain_id[0] ^= 1; }
static void t_valhash(struct block *b) { b->hdr.validators_hash[0] ^= 1; }
static void t_commit(struct block *b) { b->last_commit.sigs[0].sig[0] ^= 1; }
static void t_commit_hash(struct block *b) { b->hdr.last_commit_hash[0] ^= 1; }
static void t_nocommit(struct block *b)
{
	commit_free(&b->last_commit);
	commit_hash(&b->last_commit, b->hdr.last_commit_hash);
}
static void t_amount(struct block *b)
{
	/* Changes the amount and re-signs: valid tx, but the roots no longer match. */
	b->txs[0].payload[ADDR_LEN] ^= 1;
}
static void t_txchain(struct block *b) { b->txs[0].chain_id[0] ^= 1; }

static void test_tampered_blocks(void)
{
	expect_rejected(t_state_root, 0, "state_root");
	expect_rejected(t_tx_root, 0, "tx_root");
	expect_rejected(t_sig, 0, "tx signature");
	expect_rejected(t_time, 0, "time before parent");
	expect_rejected(t_future, 0, "time in the future");
	expect_rejected(t_beacon, 0, "beacon");
	expect_rejected(t_proof, 0, "beacon proof");
	expect_rejected(t_proposer, 0, "proposer");
	expect_rejected(t_prev, 0, "prev_hash");
	expect_rejected(t_height, 0, "height");
	expect_rejected(t_chain, 0, "chain_id");
	expect_rejected(t_valhash, 0, "validators_hash");
	expect_rejected(t_commit, 0, "last_commit signature");
	expect_rejected(t_commit_hash, 0, "last_commit_hash");
	expect_rejected(t_nocommit, 0, "missing last_commit");
	expect_rejected(t_amount, 1, "amount changed after execution");
	expect_rejected(t_txchain, 1, "tx for another chain");
}

static void test_reopen_and_reindex(void)
{
	uint8_t tip[HASH_LEN], root[HASH_LEN], again[HASH_LEN];
	uint64_t h = chain_height(ch);
	char err[256];
	chain_tip_hash(ch, tip);
	memcpy(root, chain_tip(ch)->state_root, HASH_LEN);
	chain_close(ch);
	open_chain();
	CHECK(chain_height(ch) == h);
	chain_tip_hash(ch, again);
	CHECK_EQ_MEM(tip, again, HASH_LEN);
	CHECK(chain_reindex(ch, NULL, err, sizeof(err)) == 0);
	CHECK(chain_height(ch) == h);
	state_root(chain_state(ch), again);
	CHECK_EQ_MEM(root, again, HASH_LEN);
	/* The chain goes on after a reindex (the tip commit was kept). */
	CHECK(produce(NULL, 0, chain_tip(ch)->time_ms + 1000, NULL) == 0);
	CHECK(chain_height(ch) == h + 1);
}

/* A block checked first (a BFT VALIDATE) and applied after the decision
 * is executed once and indexes every transaction under its id, at its
 * place: the ids hashed for the check are the ones the index gets. */
static void test_checked_block_then_applied(void)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/check-prod", fx.dir);
	chain_t *prod = chain_open(path, &fx.g, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/check-fol", fx.dir);
	chain_t *fol = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(prod && fol);
	if (!prod || !fol)
		return;
	struct tx txs[3];
	const struct tx *ptrs[3];
	fixture_transfer(&fx, &txs[0], 1, fx.addr[4], 5000, 0, 1000);
	fixture_transfer(&fx, &txs[1], 2, fx.addr[4], 6000, 0, 2000);
	fixture_transfer(&fx, &txs[2], 1, fx.addr[5], 7000, 1, 1000);
	for (int i = 0; i < 3; i++)
		ptrs[i] = &txs[i];
	struct block blk;
	struct commit cm;
	uint8_t hash[HASH_LEN];
	CHECK(chain_build_block(prod, ptrs, 3, 2000, fx.sk[0], &blk, NULL, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_U64(blk.ntx, 3);
	block_hash(&blk, hash);
	chain_sign_commit(prod, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK(chain_check_block(fol, &blk, 2000, err, sizeof(err)) == 0);
	CHECK(chain_height(fol) == 0);
	/* the checked block is staged in the tree; dropping it gives the tip's
	 * state back (what getproof proves against), and the block still applies */
	uint8_t root[HASH_LEN];
	state_root(chain_state(fol), root);
	CHECK(memcmp(root, chain_tip(fol)->state_root, HASH_LEN) != 0);
	chain_drop_staged(fol);
	state_root(chain_state(fol), root);
	CHECK_EQ_MEM(root, chain_tip(fol)->state_root, HASH_LEN);
	CHECK(chain_check_block(fol, &blk, 2000, err, sizeof(err)) == 0);
	CHECK(chain_apply_block(fol, &blk, &cm, 2000, err, sizeof(err)) == 0);
	CHECK(chain_height(fol) == 1);
	for (size_t i = 0; i < blk.ntx; i++) {
		uint8_t txid[HASH_LEN];
		struct tx got;
		struct receipt r;
		uint64_t height = 0;
		uint32_t index = 99;
		tx_id(&blk.txs[i], txid);
		CHECK(chain_get_tx(fol, txid, &got, &height, &index, &r) == 0);
		CHECK(height == 1 && index == i && r.ok == 1);
		CHECK(got.nonce == blk.txs[i].nonce && got.fee == blk.txs[i].fee);
		tx_free(&got);
		receipt_free(&r);
	}
	CHECK_EQ_MEM(chain_tip(fol)->state_root, blk.hdr.state_root, HASH_LEN);
	commit_free(&cm);
	block_free(&blk);
	for (int i = 0; i < 3; i++)
		tx_free(&txs[i]);
	chain_close(fol);
	chain_close(prod);
}

/* Builds a block on c by proposer, applies it with the precommits of the
 * signers (nsigners keys); 0 or the apply's error. */
static int produce_by(chain_t *c, const struct tx *txs, size_t n, int proposer, const int *signers,
		      int nsigners, char *err, size_t errlen)
{
	const struct tx *ptrs[4];
	struct block blk;
	struct commit cm, one;
	uint8_t hash[HASH_LEN];
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &txs[i];
	int rc = chain_build_block(c, ptrs, n, chain_tip(c)->time_ms + 1000, fx.sk[proposer], &blk, NULL, NULL, err,
				   errlen);
	if (rc)
		return rc;
	block_hash(&blk, hash);
	memset(&cm, 0, sizeof(cm));
	cm.height = blk.hdr.height;
	memcpy(cm.block_hash, hash, HASH_LEN);
	cm.sigs = calloc(nsigners, sizeof(*cm.sigs));
	for (int i = 0; i < nsigners; i++) {
		chain_sign_commit(c, fx.sk[signers[i]], blk.hdr.height, hash, &one);
		cm.sigs[cm.nsigs++] = one.sigs[0];
		commit_free(&one);
	}
	rc = chain_apply_block(c, &blk, &cm, blk.hdr.time_ms, err, errlen);
	commit_free(&cm);
	block_free(&blk);
	return rc;
}

/* The set is the state's (protocol §10.1): a bond in block h changes the
 * validators_hash of block h+2, whose commit then needs the new member;
 * the new member proposes; reindex replays it all. */
static void test_validator_set_from_state(void)
{
	struct genesis g;
	char err[256], path[300];
	CHECK(genesis_copy(&g, &fx.g) == 0);
	g.params.min_validator_bond = 100 * 1000000000ull;
	genesis_finish(&g);
	snprintf(path, sizeof(path), "%s/valchain", fx.dir);
	chain_t *c = chain_open(path, &g, err, sizeof(err));
	CHECK(c != NULL);
	if (!c) {
		genesis_free(&g);
		return;
	}
	int only0[1] = {0}, both[2] = {0, 1};
	CHECK(produce_by(c, NULL, 0, 0, only0, 1, err, sizeof(err)) == 0);
	struct tx bond;
	uint8_t amount[8];
	le64_put(amount, 500 * 1000000000ull);
	memset(&bond, 0, sizeof(bond));
	memcpy(bond.chain_id, g.hash, HASH_LEN);
	memcpy(bond.sender, fx.pk[1], PUBKEY_LEN);
	bond.fee = 1000;
	bond.kind = TX_VALIDATOR_BOND;
	CHECK(tx_set_payload(&bond, amount, sizeof(amount)) == 0);
	tx_sign(&bond, fx.sk[1]);
	CHECK(produce_by(c, &bond, 1, 0, only0, 1, err, sizeof(err)) == 0); /* block 2 bonds */
	tx_free(&bond);
	struct block b2;
	CHECK(chain_get_block_at(c, 2, &b2) == 0);
	CHECK_EQ_U64(b2.ntx, 1);
	block_free(&b2);
	CHECK(produce_by(c, NULL, 0, 0, only0, 1, err, sizeof(err)) == 0); /* block 3: the old set */
	struct bft_valset vs;
	CHECK(chain_validator_set(c, 4, &vs) == 0);
	CHECK_EQ_U64(vs.n, 2);
	CHECK_EQ_U64(vs.total, 510);
	bft_valset_free(&vs);
	/* block 4's commit needs key 1's precommit now */
	CHECK(produce_by(c, NULL, 0, 0, only0, 1, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "more than 2/3") != NULL);
	CHECK_EQ_U64(chain_height(c), 3);
	CHECK(produce_by(c, NULL, 0, 0, both, 2, err, sizeof(err)) == 0);
	struct block b4, b3;
	CHECK(chain_get_block_at(c, 4, &b4) == 0);
	CHECK(chain_get_block_at(c, 3, &b3) == 0);
	CHECK(memcmp(b4.hdr.validators_hash, b3.hdr.validators_hash, HASH_LEN) != 0);
	block_free(&b3);
	block_free(&b4);
	/* the new validator proposes block 5 */
	CHECK(produce_by(c, NULL, 0, 1, both, 2, err, sizeof(err)) == 0);
	CHECK_EQ_U64(chain_height(c), 5);
	uint8_t root[HASH_LEN], again[HASH_LEN];
	memcpy(root, chain_tip(c)->state_root, HASH_LEN);
	CHECK(chain_reindex(c, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_U64(chain_height(c), 5);
	state_root(chain_state(c), again);
	CHECK_EQ_MEM(root, again, HASH_LEN);
	CHECK(produce_by(c, NULL, 0, 1, both, 2, err, sizeof(err)) == 0);
	chain_close(c);
	genesis_free(&g);
}

static void test_other_chain_refused(void)
{
	struct genesis other;
	char err[256], path[300];
	CHECK(genesis_dev(&other) == 0);
	chain_close(ch);
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	CHECK(chain_open(path, &other, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "another chain") != NULL);
	genesis_free(&other);
	open_chain();
}

/* The stateless checks with this chain's parameters, as mempool and p2p
 * call them. */
static int check_tx(const struct tx *t, char *err, size_t errlen)
{
	const struct genesis *g = chain_genesis(ch);
	return tx_rules_check(&g->params, g->hash, t, 1, err, errlen);
}

static void test_check_tx(void)
{
	struct tx t;
	char err[256];
	fixture_transfer(&fx, &t, 1, fx.addr[2], 1, 0, 999);
	CHECK(check_tx(&t, err, sizeof(err)) == ASSAY_EFEE);
	tx_free(&t);
	fixture_transfer(&fx, &t, 1, fx.addr[2], UINT64_MAX, 0, 1000);
	CHECK(check_tx(&t, err, sizeof(err)) == ASSAY_EOVERFLOW);
	tx_free(&t);
	fixture_transfer(&fx, &t, 1, fx.addr[2], 1, 0, 1000);
	t.kind = TX_KIND_COUNT; /* no such kind */
	tx_sign(&t, fx.sk[1]);
	CHECK(check_tx(&t, err, sizeof(err)) == ASSAY_EINVALID);
	t.kind = TX_EVIDENCE; /* a transfer's payload is no evidence record */
	tx_sign(&t, fx.sk[1]);
	CHECK(check_tx(&t, err, sizeof(err)) == ASSAY_EDECODE);
	t.kind = TX_TRANSFER;
	t.gas_limit = 10;
	tx_sign(&t, fx.sk[1]);
	CHECK(check_tx(&t, err, sizeof(err)) == ASSAY_EFEE); /* gas costs fee */
	t.fee = 1010;
	tx_sign(&t, fx.sk[1]);
	CHECK(check_tx(&t, err, sizeof(err)) == 0);
	t.sig[0] ^= 1;
	CHECK(check_tx(&t, err, sizeof(err)) == ASSAY_ESIG);
	tx_free(&t);
}

static void test_receipt_codec(void)
{
	struct receipt r = {0}, back;
	struct buf b;
	r.ok = 0;
	snprintf(r.error, sizeof(r.error), "revert: nope");
	r.gas_used = 1234;
	r.created_len = ADDR_LEN;
	memset(r.created, 7, ADDR_LEN);
	buf_init(&b);
	receipt_encode(&r, &b);
	CHECK(receipt_decode(&back, b.data, b.len) == 0);
	CHECK(back.gas_used == 1234 && back.created_len == ADDR_LEN && strcmp(back.error, r.error) == 0);
	receipt_free(&back);
	CHECK(receipt_decode(&back, b.data, b.len - 1) != 0);
	buf_free(&b);
}

/* A commit that held is not checked again (chain.c's held commits), but a
 * commit that differs from it in any byte still is: a flipped signature,
 * the same signatures for another block. */
static void test_commit_held_once(void)
{
	struct tx t;
	struct block blk;
	struct commit cm, bad;
	char err[256];
	uint8_t hash[HASH_LEN];
	uint64_t now = build_transfer(&t, &blk);
	block_hash(&blk, hash);
	chain_sign_commit(ch, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK(chain_check_next_commit(ch, &cm, err, sizeof(err)) == 0);
	CHECK(chain_check_next_commit(ch, &cm, err, sizeof(err)) == 0);

	CHECK(commit_copy(&bad, &cm) == 0);
	bad.sigs[0].sig[7] ^= 1;
	CHECK(chain_check_next_commit(ch, &bad, err, sizeof(err)) == ASSAY_ESIG);
	bad.sigs[0].sig[7] ^= 1;
	bad.block_hash[0] ^= 1; /* the same signature, another block */
	CHECK(chain_check_next_commit(ch, &bad, err, sizeof(err)) == ASSAY_ESIG);
	commit_free(&bad);

	CHECK(chain_apply_block(ch, &blk, &cm, now, err, sizeof(err)) == 0);
	/* as the tip's commit now, by the tip's set */
	CHECK(chain_set_tip_commit(ch, &cm, err, sizeof(err)) == ASSAY_EEXISTS);
	CHECK(commit_copy(&bad, chain_tip_commit(ch)) == 0);
	bad.sigs[0].sig[3] ^= 1;
	struct block next;
	const struct tx *none = NULL;
	CHECK(chain_build_block(ch, &none, 0, now + 1000, fx.sk[0], &next, NULL, NULL, err, sizeof(err)) == 0);
	commit_free(&next.last_commit);
	CHECK(commit_copy(&next.last_commit, &bad) == 0);
	commit_hash(&next.last_commit, next.hdr.last_commit_hash);
	CHECK(chain_apply_block(ch, &next, NULL, now + 1000, err, sizeof(err)) < 0);
	CHECK(strstr(err, "signature") != NULL);
	commit_free(&bad);
	block_free(&next);
	commit_free(&cm);
	block_free(&blk);
	tx_free(&t);
}

int main(void)
{
	fixture_init(&fx);
	open_chain();
	if (!ch)
		return test_report("test_chain");
	RUN(test_job_vm_state);
	RUN(test_genesis_state);
	RUN(test_transfers_apply);
	RUN(test_damaged_receipt);
	RUN(test_invalid_txs_are_skipped_by_the_builder);
	RUN(test_tampered_blocks);
	RUN(test_commit_held_once);
	RUN(test_check_tx);
	RUN(test_receipt_codec);
	RUN(test_reopen_and_reindex);
	RUN(test_other_chain_refused);
	RUN(test_checked_block_then_applied);
	RUN(test_validator_set_from_state);
	chain_close(ch);
	fixture_free(&fx);
	return test_report("test_chain");
}

/* Unit tests for node/mempool.c: admission rules (signature, duplicates,
 * nonces, cumulative funds), replacement, fee-ordered selection that keeps
 * each sender's nonces in order, eviction when full, refitting after a
 * block, and the proposer's block built from the pool. */
#include <stdio.h>
#include <string.h>

#include "consensus/compute/compute_codec.h"
#include "consensus/exec.h"
#include "core/error.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "node/producer.h"
#include "vm/vm.h"
#include "node_fixture.h"
#include "test.h"

static struct fixture fx;
static chain_t *ch;

static int add(mempool_t *m, int from, uint64_t amount, uint64_t nonce, uint64_t fee)
{
	struct tx t;
	char err[256];
	fixture_transfer(&fx, &t, from, fx.addr[7], amount, nonce, fee);
	int rc = mempool_add(m, &t, NULL, err, sizeof(err));
	tx_free(&t);
	return rc;
}

static void test_admission(void)
{
	mempool_t *m = mempool_new(ch, 100, 1 << 20);
	struct tx t;
	char err[256];
	CHECK(add(m, 1, 10, 0, 1000) == 0);
	fixture_transfer(&fx, &t, 1, fx.addr[7], 10, 0, 1000);
	CHECK(mempool_add(m, &t, NULL, err, sizeof(err)) == ASSAY_EEXISTS);
	t.sig[3] ^= 1;
	CHECK(mempool_add(m, &t, NULL, err, sizeof(err)) == ASSAY_ESIG);
	tx_free(&t);
	CHECK(add(m, 1, 10, 2, 1000) == ASSAY_ENONCE); /* gap */
	CHECK(add(m, 1, 10, 1, 1000) == 0);
	CHECK(mempool_next_nonce(m, fx.addr[1]) == 2);
	CHECK(mempool_next_nonce(m, fx.addr[2]) == 0);
	/* Cumulative funds: two pending costs plus this one exceed the balance. */
	CHECK(add(m, 1, FIX_FUNDS - 10, 2, 1000) == ASSAY_EBALANCE);
	/* ... and says so in ASY, base units in parentheses */
	fixture_transfer(&fx, &t, 1, fx.addr[7], FIX_FUNDS - 10, 2, 1000);
	CHECK(mempool_add(m, &t, NULL, err, sizeof(err)) == ASSAY_EBALANCE);
	tx_free(&t);
	char want[128];
	snprintf(want, sizeof(want), "insufficient balance: has %llu.%09llu ASY (%llu), pending transactions need ",
		 (unsigned long long)(FIX_FUNDS / 1000000000ull), (unsigned long long)(FIX_FUNDS % 1000000000ull),
		 (unsigned long long)FIX_FUNDS);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	CHECK(strstr(err + strlen(want), " ASY (") != NULL);
	CHECK(add(m, 1, 1, 2, 999) == ASSAY_EFEE);
	CHECK(mempool_size(m) == 2);
	mempool_free(m);
}

/* Adds a signed transaction of kind with payload from key `from` carrying
 * gas, with the fee that covers it. */
static int add_gas_kind(mempool_t *m, int from, uint64_t nonce, uint8_t kind, const struct buf *payload,
			uint64_t gas, char *err, size_t errlen)
{
	struct tx t;
	memset(&t, 0, sizeof(t));
	memcpy(t.chain_id, fx.g.hash, HASH_LEN);
	memcpy(t.sender, fx.pk[from], PUBKEY_LEN);
	t.kind = kind;
	t.nonce = nonce;
	t.gas_limit = gas;
	t.fee = 1000 + gas;
	tx_set_payload(&t, payload->data, payload->len);
	tx_sign(&t, fx.sk[from]);
	int rc = mempool_add(m, &t, NULL, err, errlen);
	tx_free(&t);
	return rc;
}

/* A transfer that would fail for want of the gas that creates its
 * recipient's account is refused (protocol §9); with the gas, or to an
 * account that is there, it is taken. So is a blob short of the gas it
 * stores with, and a job_submit short of its record's. */
static void test_gas_policy(void)
{
	mempool_t *m = mempool_new(ch, 100, 1 << 20);
	struct tx t;
	char err[256];
	uint8_t fresh[ADDR_LEN];
	memset(fresh, 0xab, ADDR_LEN);
	fixture_transfer(&fx, &t, 2, fresh, 10, 0, 1000);
	CHECK_EQ_INT(mempool_add(m, &t, NULL, err, sizeof(err)), ASSAY_EGAS);
	CHECK(strstr(err, "needs gas_limit 11264") != NULL);
	tx_free(&t);
	fixture_transfer(&fx, &t, 2, fresh, 10, 0, 1000);
	t.gas_limit = VM_GAS_NEW_KEY;
	t.fee = 1000 + VM_GAS_NEW_KEY;
	tx_sign(&t, fx.sk[2]);
	CHECK_EQ_INT(mempool_add(m, &t, NULL, err, sizeof(err)), 0);
	tx_free(&t);
	CHECK_EQ_INT(add(m, 2, 10, 1, 1000), 0); /* fx.addr[7] is funded at genesis */
	CHECK(mempool_size(m) == 2);
	/* a blob pays exec_blob_gas for what it stores */
	uint8_t data[100];
	memset(data, 0x3c, sizeof(data));
	struct blob_payload bl = {.data = data, .len = sizeof(data)};
	sha256(data, sizeof(data), bl.hash);
	struct buf b;
	buf_init(&b);
	compute_blob_encode(&bl, &b);
	for (int enough = 0; enough < 2; enough++) {
		int rc = add_gas_kind(m, 3, 0, TX_BLOB, &b, exec_blob_gas(sizeof(data)) - (enough ? 0 : 1), err,
				      sizeof(err));
		CHECK_EQ_INT(rc, enough ? 0 : ASSAY_EGAS);
		CHECK(enough || strstr(err, "needs gas_limit 17664") != NULL);
	}
	buf_free(&b);
	/* a job_submit pays exec_job_gas for the record it leaves */
	struct job_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.shape = (struct job_shape){.kind = JOB_MATMUL_I8, .m = 16, .n = 16, .k = 8, .tile_rows = 8, .tile_cols = 8};
	spec.input_kind = JOB_INPUT_SEED;
	spec.samples = 2;
	spec.redundancy = 1;
	spec.reward = 2000000000;
	spec.deadline_blocks = 200;
	buf_init(&b);
	compute_spec_encode(&spec, &b);
	for (int enough = 0; enough < 2; enough++) {
		int rc = add_gas_kind(m, 4, 0, TX_JOB_SUBMIT, &b, exec_job_gas(b.len, 1) - (enough ? 0 : 1), err,
				      sizeof(err));
		CHECK_EQ_INT(rc, enough ? 0 : ASSAY_EGAS);
		CHECK(enough || strstr(err, "out of gas: the record of this job needs gas_limit") != NULL);
	}
	buf_free(&b);
	CHECK(mempool_size(m) == 4);
	mempool_free(m);
}

static void test_replacement(void)
{
	mempool_t *m = mempool_new(ch, 100, 1 << 20);
	CHECK(add(m, 2, 10, 0, 10000) == 0);
	CHECK(add(m, 2, 11, 0, 10500) == ASSAY_EFEE); /* +5% is not enough */
	CHECK(add(m, 2, 11, 0, 11000) == 0);          /* +10% replaces */
	CHECK(mempool_size(m) == 1);
	const struct tx *sel[4];
	CHECK(mempool_select(m, sel, 4) == 1);
	CHECK(sel[0]->fee == 11000);
	mempool_free(m);
}

/* A signed TX_CALL from key `from` as large as a blob of len bytes: the
 * calldata makes up the size, which is what the pool weighs (it runs
 * nothing; a blob now pays 64 gas a byte stored, protocol §5.2, so it is
 * no longer a large transaction that pays little). */
static int add_big(mempool_t *m, int from, size_t len, uint64_t nonce, uint64_t fee, char *err, size_t errlen)
{
	struct tx t;
	memset(&t, 0, sizeof(t));
	memcpy(t.chain_id, fx.g.hash, HASH_LEN);
	t.nonce = nonce;
	memcpy(t.sender, fx.pk[from], PUBKEY_LEN);
	t.fee = fee;
	t.kind = TX_CALL;
	uint8_t data[4004];
	memset(data, 0x5c, sizeof(data));
	/* to ‖ value is 28 bytes, 4 short of a blob's hash: the payload is
	 * as long as the blob's these tests were written with */
	struct vm_call_payload cp = {.calldata = data, .calldata_len = (len < 4000 ? len : 4000) + 4};
	memset(cp.to, 0x77, ADDR_LEN);
	struct buf b;
	buf_init(&b);
	vm_call_payload_encode(&cp, &b);
	tx_set_payload(&t, b.data, b.len);
	buf_free(&b);
	tx_sign(&t, fx.sk[from]);
	int rc = mempool_add(m, &t, NULL, err, errlen);
	tx_free(&t);
	return rc;
}

/* A replacement is bound by max_bytes as an addition is: a small
 * transaction replaced by a large one at a higher fee must not grow the
 * pool past its bound (it would, one sender after another, without end). */
static void test_replacement_bounded(void)
{
	mempool_t *m = mempool_new(ch, 10, 4096);
	char err[256];
	CHECK_EQ_INT(add(m, 2, 10, 0, 10000), 0);
	size_t small = mempool_bytes(m);
	CHECK_EQ_INT(add_big(m, 2, 3000, 1, 20000, err, sizeof(err)), 0);
	CHECK(mempool_bytes(m) <= 4096);
	/* replacing the transfer with a 3000-byte call leaves no room */
	CHECK_EQ_INT(add_big(m, 2, 3000, 0, 11000, err, sizeof(err)), ASSAY_EFULL);
	CHECK(strstr(err, "mempool full") != NULL);
	CHECK(mempool_bytes(m) <= 4096);
	CHECK_EQ_U64(mempool_size(m), 2);
	/* a replacement that fits is taken */
	CHECK_EQ_INT(add_big(m, 2, 10, 0, 11000, err, sizeof(err)), 0);
	CHECK(mempool_bytes(m) <= 4096 && mempool_bytes(m) >= small);
	CHECK_EQ_U64(mempool_size(m), 2);
	mempool_free(m);
}

/* Fees are weighed per encoded byte, since the pool and a block are bounded
 * in bytes: large calls at a fee above a transfer's, but paying far less
 * for each byte, neither keep a full pool from a transfer nor go into a
 * block before it. By its fee alone a spammer held a 64 MiB pool with 64
 * transactions and filled every block with 7 of them, for a few times
 * the fee floor each. */
static void test_fee_per_byte(void)
{
	char err[256];
	mempool_t *m = mempool_new(ch, 100, 9700);
	uint64_t nonce[8];
	for (int k = 1; k <= 4; k++)
		nonce[k] = mempool_next_nonce(m, fx.addr[k]);
	for (int k = 1; k <= 3; k++) /* 3 x ~3.2 KB at 5000 each: about 1.6 per byte */
		CHECK_EQ_INT(add_big(m, k, 3000, nonce[k], 5000, err, sizeof(err)), 0);
	size_t bigs = mempool_bytes(m);
	CHECK(bigs <= 9700 && bigs + 206 > 9700); /* no room for a transfer */
	/* A transfer at 2000 (about 9.7 per byte) evicts one call. */
	CHECK_EQ_INT(add(m, 4, 1, nonce[4], 2000), 0);
	CHECK_EQ_U64(mempool_size(m), 3);
	CHECK(mempool_bytes(m) < bigs);
	/* And goes first into a block. */
	const struct tx *sel[4];
	CHECK_EQ_U64(mempool_select(m, sel, 4), 3);
	CHECK_EQ_INT(sel[0]->kind, TX_TRANSFER);
	/* A call paying more in all but less per byte than every tail is
	 * refused at once. */
	CHECK_EQ_INT(add_big(m, 5, 3000, mempool_next_nonce(m, fx.addr[5]), 4000, err, sizeof(err)), ASSAY_EFULL);
	CHECK(strstr(err, "mempool full") != NULL);
	mempool_free(m);
}

static void test_selection_order(void)
{
	mempool_t *m = mempool_new(ch, 100, 1 << 20);
	/* Sender 3: fees 1000 then 9000; sender 4: 5000 then 4000. */
	CHECK(add(m, 3, 1, 0, 1000) == 0);
	CHECK(add(m, 3, 1, 1, 9000) == 0);
	CHECK(add(m, 4, 1, 0, 5000) == 0);
	CHECK(add(m, 4, 1, 1, 4000) == 0);
	const struct tx *sel[8];
	size_t n = mempool_select(m, sel, 8);
	CHECK(n == 4);
	/* Best available first, each sender in nonce order. */
	CHECK(sel[0]->fee == 5000 && sel[1]->fee == 4000 && sel[2]->fee == 1000 && sel[3]->fee == 9000);
	CHECK(mempool_select(m, sel, 2) == 2);
	mempool_free(m);
}

static void test_eviction(void)
{
	mempool_t *m = mempool_new(ch, 3, 1 << 20);
	CHECK(add(m, 1, 1, 0, 1000) == 0);
	CHECK(add(m, 2, 1, 0, 2000) == 0);
	CHECK(add(m, 3, 1, 0, 3000) == 0);
	CHECK(add(m, 4, 1, 0, 1000) == ASSAY_EFULL); /* not better than the cheapest */
	CHECK(add(m, 4, 1, 0, 5000) == 0);           /* evicts the 1000-fee tx */
	CHECK(mempool_size(m) == 3);
	CHECK(mempool_next_nonce(m, fx.addr[1]) == 0);
	mempool_free(m);
}

static void test_after_block(void)
{
	mempool_t *m = mempool_new(ch, 100, 1 << 20);
	CHECK(add(m, 5, 1, 0, 1000) == 0);
	CHECK(add(m, 5, 1, 1, 1000) == 0);
	CHECK(add(m, 6, 1, 0, 1000) == 0);
	const struct tx *sel[8];
	size_t n = mempool_select(m, sel, 2);
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN];
	CHECK(chain_build_block(ch, sel, n, 5000, fx.sk[0], &blk, NULL, NULL, err, sizeof(err)) == 0);
	block_hash(&blk, hash);
	chain_sign_commit(ch, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK(chain_apply_block(ch, &blk, &cm, 5000, err, sizeof(err)) == 0);
	mempool_on_block(m, &blk);
	CHECK(mempool_size(m) == 1);
	for (size_t i = 0; i < blk.ntx; i++) {
		uint8_t txid[HASH_LEN];
		tx_id(&blk.txs[i], txid);
		CHECK(mempool_get(m, txid) == NULL);
	}
	commit_free(&cm);
	block_free(&blk);
	mempool_free(m);
}

/* The proposer's path: the pool's ids go with its candidates into the
 * block built, and applying that block indexes every transaction under its
 * own id, at its place in the block. */
static void test_build_with_pool_ids(void)
{
	mempool_t *m = mempool_new(ch, 100, 1 << 20);
	uint64_t n1 = mempool_next_nonce(m, fx.addr[1]), n2 = mempool_next_nonce(m, fx.addr[2]);
	CHECK(add(m, 1, 1, n1, 1000) == 0);
	CHECK(add(m, 1, 2, n1 + 1, 1000) == 0);
	CHECK(add(m, 2, 3, n2, 3000) == 0);
	const struct tx *sel[8];
	uint8_t ids[8][HASH_LEN];
	size_t n = mempool_select_ids(m, sel, ids, 8);
	CHECK_EQ_U64(n, 3);
	for (size_t i = 0; i < n; i++) {
		uint8_t txid[HASH_LEN];
		tx_id(sel[i], txid);
		CHECK(memcmp(ids[i], txid, HASH_LEN) == 0);
	}
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN];
	uint64_t time_ms = chain_tip(ch)->time_ms + 1000;
	CHECK(chain_build_block_ids(ch, sel, (const uint8_t(*)[HASH_LEN])ids, n, time_ms, fx.sk[0], &blk, NULL, NULL,
				    err, sizeof(err)) == 0);
	CHECK_EQ_U64(blk.ntx, 3);
	block_hash(&blk, hash);
	chain_sign_commit(ch, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK(chain_apply_block(ch, &blk, &cm, time_ms, err, sizeof(err)) == 0);
	for (size_t i = 0; i < blk.ntx; i++) {
		uint8_t txid[HASH_LEN];
		struct tx t;
		struct receipt r;
		uint64_t height = 0;
		uint32_t index = 99;
		tx_id(&blk.txs[i], txid);
		CHECK(chain_get_tx(ch, txid, &t, &height, &index, &r) == 0);
		CHECK_EQ_U64(height, blk.hdr.height);
		CHECK_EQ_U64(index, i);
		CHECK(t.nonce == blk.txs[i].nonce && memcmp(t.sender, blk.txs[i].sender, PUBKEY_LEN) == 0);
		tx_free(&t);
		receipt_free(&r);
	}
	mempool_on_block(m, &blk);
	CHECK_EQ_U64(mempool_size(m), 0);
	commit_free(&cm);
	block_free(&blk);
	mempool_free(m);
}

/* Builds, applies and reports to m a block of txs[0..n) (NULL: what m selects). */
static void block_of(mempool_t *m, const struct tx *const *txs, size_t n, uint64_t time_ms)
{
	const struct tx *sel[8];
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN];
	if (!txs) {
		n = mempool_select(m, sel, 8);
		txs = sel;
	}
	CHECK(chain_build_block(ch, txs, n, time_ms, fx.sk[0], &blk, NULL, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_U64(blk.ntx, n);
	block_hash(&blk, hash);
	chain_sign_commit(ch, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK(chain_apply_block(ch, &blk, &cm, time_ms, err, sizeof(err)) == 0);
	mempool_on_block(m, &blk);
	commit_free(&cm);
	block_free(&blk);
}

/* A sender whose queue a block emptied is kept for its next transaction:
 * its nonces go on from the committed one, also after a block the pool
 * did not build moved that nonce, and after it is dropped. */
static void test_sender_after_its_queue_empties(void)
{
	mempool_t *m = mempool_new(ch, 100, 1 << 20);
	uint64_t base = mempool_next_nonce(m, fx.addr[3]);
	CHECK(add(m, 3, 1, base, 1000) == 0);
	block_of(m, NULL, 0, 6000);
	CHECK_EQ_U64(mempool_size(m), 0);
	CHECK_EQ_U64(mempool_next_nonce(m, fx.addr[3]), base + 1);
	CHECK(add(m, 3, 1, base, 1000) == ASSAY_ENONCE);     /* used by the block */
	CHECK(add(m, 3, 1, base + 2, 1000) == ASSAY_ENONCE); /* a gap */
	CHECK(add(m, 3, 1, base + 1, 1000) == 0);
	block_of(m, NULL, 0, 7000);
	CHECK_EQ_U64(mempool_next_nonce(m, fx.addr[3]), base + 2);
	/* a block from elsewhere spends the next nonce while the sender is idle */
	struct tx t;
	const struct tx *ptr = &t;
	fixture_transfer(&fx, &t, 3, fx.addr[7], 1, base + 2, 1000);
	block_of(m, &ptr, 1, 8000);
	tx_free(&t);
	CHECK_EQ_U64(mempool_next_nonce(m, fx.addr[3]), base + 3);
	CHECK(add(m, 3, 1, base + 2, 1000) == ASSAY_ENONCE);
	CHECK(add(m, 3, 1, base + 3, 1000) == 0);
	CHECK(mempool_select(m, &ptr, 1) == 1 && ptr->nonce == base + 3);
	block_of(m, NULL, 0, 9000);
	block_of(m, NULL, 0, 10000); /* idle through a whole block: dropped */
	block_of(m, NULL, 0, 11000);
	CHECK_EQ_U64(mempool_next_nonce(m, fx.addr[3]), base + 4);
	CHECK(add(m, 3, 1, base + 4, 1000) == 0);
	CHECK_EQ_U64(mempool_size(m), 1);
	mempool_free(m);
}

/* A transaction refused for want of room evicts nothing: the evictions
 * are planned first (protocol §9: it evicts if it pays more, otherwise it
 * is refused). Five cheap transfers and an attacker's own tail fill a
 * byte-bound pool; a big call that would need more room than the cheaper
 * tails free (it stops at its own sender's tail) is refused, and all six
 * stay. A fee at or below every tail is then refused at once, and one that
 * can make room does. */
static void test_refused_evicts_nothing(void)
{
	mempool_t *m = mempool_new(ch, 100, 3000);
	char err[256];
	for (int s = 1; s <= 5; s++)
		CHECK_EQ_INT(add(m, s, 1, 0, 1000), 0);
	uint64_t n6 = mempool_next_nonce(m, fx.addr[6]);
	CHECK_EQ_INT(add(m, 6, 1, n6, 1500), 0);
	size_t before = mempool_size(m);
	CHECK_EQ_INT(add_big(m, 6, 2800, n6 + 1, 1000000, err, sizeof(err)), ASSAY_EFULL);
	CHECK_EQ_U64(mempool_size(m), before);
	/* another sender's call stopped by a tail paying as much as it */
	CHECK_EQ_INT(add_big(m, 0, 2800, mempool_next_nonce(m, fx.addr[0]), 1500, err, sizeof(err)), ASSAY_EFULL);
	CHECK_EQ_U64(mempool_size(m), before);
	CHECK_EQ_INT(add_big(m, 0, 2800, mempool_next_nonce(m, fx.addr[0]), 1000, err, sizeof(err)), ASSAY_EFULL);
	CHECK(strstr(err, "fee too low") != NULL);
	CHECK_EQ_U64(mempool_size(m), before);
	/* one that outbids every tail per byte makes room */
	CHECK_EQ_INT(add_big(m, 0, 2000, mempool_next_nonce(m, fx.addr[0]), 20000, err, sizeof(err)), 0);
	CHECK(mempool_size(m) < before + 1);
	mempool_free(m);
}

/* The proposer's block takes every pending transaction as a candidate:
 * one the builder passes over (here: over the gas the block has left)
 * takes none of the max_block_txs places. When the node handed the builder
 * only max_block_txs candidates, each one passed over was a place lost: a
 * block of 3 held 2 here, with a transfer left waiting. */
static void test_skipped_take_no_place(void)
{
	struct fixture f3 = fx; /* shallow: the same keys and allocations */
	f3.g.params.max_block_txs = 3;
	genesis_finish(&f3.g);
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/three", fx.dir);
	chain_t *c = chain_open(path, &f3.g, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	mempool_t *m = mempool_new(c, 100, 1 << 20);
	uint64_t whole = f3.g.params.max_block_gas, floor;
	CHECK_EQ_INT(chain_min_fee(&f3.g.params, whole, &floor), 0);
	/* Senders 1 and 2 each take the block's whole gas; 2 pays more. */
	for (int k = 1; k <= 5; k++) {
		struct tx t;
		fixture_transfer(&f3, &t, k, fx.addr[7], 1, 0, 1000);
		if (k <= 2) {
			t.gas_limit = whole;
			t.fee = floor + (uint64_t)k * 1000;
			tx_sign(&t, fx.sk[k]);
		}
		CHECK_EQ_INT(mempool_add(m, &t, NULL, err, sizeof(err)), 0);
		tx_free(&t);
	}
	struct block blk;
	uint64_t time_ms = chain_tip(c)->time_ms + 1000;
	/* The builder lists every candidate it leaves out, those after the
	 * block is full by count included: sender 1's and the last transfer. */
	const struct tx *sel[5];
	size_t skipped[5], nskipped = 0;
	CHECK_EQ_U64(mempool_select(m, sel, 5), 5);
	int rc = chain_build_block(c, sel, 5, time_ms, fx.sk[0], &blk, skipped, &nskipped, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_U64(blk.ntx, 3);
	CHECK_EQ_U64(nskipped, 2);
	CHECK(nskipped == 2 && skipped[0] == 1 && skipped[1] == 4);
	block_free(&blk);
	CHECK_EQ_INT(producer_build_block(c, m, time_ms, fx.sk[0], &blk, err, sizeof(err)), 0);
	/* sender 2's, then sender 1's passed over (no gas left), then two transfers */
	CHECK_EQ_U64(blk.ntx, 3);
	int senders = 0;
	for (size_t i = 0; i < blk.ntx; i++)
		for (int k = 1; k <= 5; k++)
			if (memcmp(blk.txs[i].sender, fx.pk[k], PUBKEY_LEN) == 0)
				senders |= 1 << k;
	CHECK(senders & (1 << 2));
	CHECK(!(senders & (1 << 1)));
	struct commit cm;
	uint8_t hash[HASH_LEN];
	block_hash(&blk, hash);
	chain_sign_commit(c, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK_EQ_INT(chain_apply_block(c, &blk, &cm, time_ms, err, sizeof(err)), 0);
	mempool_on_block(m, &blk);
	CHECK_EQ_U64(mempool_size(m), 2); /* sender 1's waits for a block with gas for it */
	commit_free(&cm);
	block_free(&blk);
	mempool_free(m);
	chain_close(c);
}

/* A candidate over the bytes the block has left is passed over and the
 * next one that fits goes in: the builder sizes each candidate before it
 * encodes one (a copy of up to max_tx_bytes), and the sizes it counts
 * are the encodings'. Room here for one 2 KB blob and a transfer. */
static void test_byte_budget_passes_over(void)
{
	struct fixture fb = fx; /* shallow, as in test_skipped_take_no_place */
	/* header, a 2-byte count, block 1's empty commit (45 bytes), then
	 * the transactions: chain_open takes what the genesis says */
	/* a blob is 2191 bytes with its length prefix, a transfer 184 */
	fb.g.params.max_block_bytes = HEADER_BYTES + 2 + 45 + 2400;
	genesis_finish(&fb.g);
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/bytes", fx.dir);
	chain_t *c = chain_open(path, &fb.g, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	struct tx t[3];
	for (int k = 0; k < 2; k++) { /* two blobs of 2000 payload bytes, 1 the better per byte */
		uint8_t data[2000];
		memset(data, 0x21 + k, sizeof(data));
		struct blob_payload bl = {.data = data, .len = sizeof(data)};
		sha256(bl.data, bl.len, bl.hash);
		struct buf b;
		buf_init(&b);
		compute_blob_encode(&bl, &b);
		fixture_transfer(&fb, &t[k], k + 1, fx.addr[7], 1, 0, 20000 - 1000 * (uint64_t)k);
		t[k].kind = TX_BLOB;
		tx_set_payload(&t[k], b.data, b.len);
		buf_free(&b);
		tx_sign(&t[k], fx.sk[k + 1]);
	}
	fixture_transfer(&fb, &t[2], 3, fx.addr[7], 1, 0, 1000);
	const struct tx *cand[3] = {&t[0], &t[1], &t[2]};
	size_t skipped[3], nskipped = 0;
	struct block blk;
	uint64_t time_ms = chain_tip(c)->time_ms + 1000;
	int rc = chain_build_block(c, cand, 3, time_ms, fx.sk[0], &blk, skipped, &nskipped, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_U64(blk.ntx, 2);
	CHECK(nskipped == 1 && skipped[0] == 1);
	CHECK(blk.ntx == 2 && blk.txs[0].kind == TX_BLOB && blk.txs[1].kind == TX_TRANSFER);
	struct buf enc;
	buf_init(&enc);
	block_encode(&blk, &enc);
	CHECK(enc.len <= fb.g.params.max_block_bytes);
	CHECK(enc.len + tx_encoded_len(&t[1]) > fb.g.params.max_block_bytes);
	buf_free(&enc);
	block_free(&blk);
	for (int k = 0; k < 3; k++)
		tx_free(&t[k]);
	chain_close(c);
}

int main(void)
{
	char err[256], path[300];
	fixture_init(&fx);
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	ch = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(ch != NULL);
	if (!ch)
		return test_report("test_mempool");
	RUN(test_admission);
	RUN(test_gas_policy);
	RUN(test_refused_evicts_nothing);
	RUN(test_replacement);
	RUN(test_replacement_bounded);
	RUN(test_selection_order);
	RUN(test_fee_per_byte);
	RUN(test_eviction);
	RUN(test_after_block);
	RUN(test_build_with_pool_ids);
	RUN(test_sender_after_its_queue_empties);
	RUN(test_skipped_take_no_place);
	RUN(test_byte_budget_passes_over);
	chain_close(ch);
	fixture_free(&fx);
	return test_report("test_mempool");
}

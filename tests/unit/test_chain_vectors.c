/* Consensus vectors for the chain's execution path (node/chain.c,
 * node/state.c, node/smt.c, consensus/exec.c): a fixed chain of transfers,
 * transfers that create accounts (one without the gas for it, which
 * fails), skipped transactions, a contract with storage and events and a call that
 * reverts, built and applied here, applied by a second node as blocks from
 * a peer, and replayed by -reindex. Each path must end on the same tip,
 * state root and receipts, and those must equal the golden values below:
 * a change made for speed must leave every consensus result as it was.
 * Not for: the rules one by one (test_chain.c, test_exec.c). */
#include "core/error.h"
#include "core/ledger.h"
#include "node/chain.h"
#include "vm/asm.h"
#include "vm/vm.h"
#include "node_fixture.h"
#include "test.h"

/* The golden values: the tip block's hash, its state root, and SHA-256 over
 * every receipt's encoding in chain order, as the code before the
 * producer's speed work computed them, changed since only by rules that
 * change results (the latest: a transfer that creates an account pays gas). */
static const char GOLDEN_TIP[] = "eb0762ff205b71985ab5b7d3847a5506203de5034c750238fdcd616fda4dcdae";
static const char GOLDEN_ROOT[] = "b2c9f1481b4326ad95a6e98ba292e1b72ce6f8d93fb575a343f486a5bd422016";
static const char GOLDEN_RECEIPTS[] = "accb8ab873d66e5f3f61826e231e5d8c6de7206c35d862ecd55516dd13685489";

#define BLOCKS 6
#define PER_BLOCK 40
#define MAX_TXS (BLOCKS * PER_BLOCK)

static struct fixture fx;

/* Counts calls in storage slot 0 and emits the count; a call with calldata
 * reverts (a failed receipt: fee paid, writes undone). */
static const char counter_asm[] = ".const CSLOT 0x1100\n"
				  ".const OUT 0x1200\n"
				  "\tjeqi r1, 0, count\n"
				  "\t.revert \"asked to fail\"\n"
				  "count:\n"
				  "\tmovi r1, CSLOT\n\tmovi r2, OUT\n\tmovi r3, 8\n\tsys storage_get\n"
				  "\tmovi r9, OUT\n\tld64 r7, [r9 + 0]\n\taddi r7, r7, 1\n\tst64 [r9 + 0], r7\n"
				  "\tmovi r1, CSLOT\n\tmovi r2, OUT\n\tmovi r3, 8\n\tsys storage_set\n"
				  "\tmovi r1, OUT\n\tmovi r2, 8\n\tsys emit\n"
				  "\tret\n";

static void signed_kind(struct tx *t, int from, uint64_t nonce, uint8_t kind, uint64_t gas, const struct buf *p)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, fx.g.hash, HASH_LEN);
	memcpy(t->sender, fx.pk[from], PUBKEY_LEN);
	t->nonce = nonce;
	t->gas_limit = gas;
	t->fee = 1000 + gas;
	t->kind = kind;
	CHECK(tx_set_payload(t, p->data, p->len) == 0);
	tx_sign(t, fx.sk[from]);
}

static chain_t *open_at(const char *name)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	if (!c)
		fprintf(stderr, "chain_open: %s\n", err);
	return c;
}

/* The candidates of block b (the builder skips what is invalid at its
 * turn). nonce[] tracks each key's next nonce as the builder will see it. */
static size_t block_txs(int b, struct tx *txs, uint64_t nonce[FIX_KEYS], const uint8_t contract[ADDR_LEN])
{
	size_t n = 0;
	struct buf p;
	buf_init(&p);
	for (int i = 0; i < PER_BLOCK - 4; i++) {
		int from = 1 + (b * 7 + i) % (FIX_KEYS - 1);
		uint8_t to[ADDR_LEN];
		memcpy(to, fx.addr[(from + 1 + i % 3) % FIX_KEYS], ADDR_LEN);
		if (i % 5 == 0) { /* a fresh account */
			memset(to, 0, ADDR_LEN);
			to[0] = (uint8_t)b;
			to[1] = (uint8_t)i;
			to[2] = 0xa5;
		}
		struct tx *t = &txs[n++];
		fixture_transfer(&fx, t, from, to, 1000 + (uint64_t)(b * 100 + i), nonce[from]++,
				 1000 + (uint64_t)(i % 4) * 10);
		if (i % 5 == 0 && i > 0) { /* the gas that creates it; i == 0 fails without */
			t->gas_limit = VM_GAS_NEW_KEY;
			t->fee += VM_GAS_NEW_KEY;
			tx_sign(t, fx.sk[from]);
		}
	}
	/* skipped: a nonce gap and an overdraft */
	fixture_transfer(&fx, &txs[n++], 2, fx.addr[3], 1, nonce[2] + 5, 1000);
	fixture_transfer(&fx, &txs[n++], 3, fx.addr[4], FIX_FUNDS * 2, nonce[3], 1000);
	if (b == 0) {
		struct buf code;
		char err[160];
		buf_init(&code);
		CHECK(vm_asm_assemble(counter_asm, "counter", &code, err, sizeof(err)) == 0);
		struct vm_deploy_payload dp = {code.data, code.len, 0, NULL, 0};
		vm_deploy_payload_encode(&dp, &p);
		signed_kind(&txs[n++], 5, nonce[5]++, TX_DEPLOY, 200000, &p);
		buf_free(&code);
	} else {
		struct vm_call_payload ok = {{0}, 0, NULL, 0}, bad = {{0}, 0, (const uint8_t *)"x", 1};
		memcpy(ok.to, contract, ADDR_LEN);
		memcpy(bad.to, contract, ADDR_LEN);
		buf_reset(&p);
		vm_call_payload_encode(&ok, &p);
		signed_kind(&txs[n++], 6, nonce[6]++, TX_CALL, 100000, &p);
		buf_reset(&p);
		vm_call_payload_encode(&bad, &p);
		signed_kind(&txs[n++], 7, nonce[7]++, TX_CALL, 100000, &p);
	}
	buf_free(&p);
	return n;
}

/* SHA-256 over the encoding of every receipt of c's blocks, in order;
 * each block's first transfer, to a fresh account without the gas that
 * creates it, failed for want of it and the other fresh ones did not. */
static void receipts_digest(chain_t *c, uint8_t out[HASH_LEN])
{
	size_t short_of_gas = 0, created = 0;
	struct buf all, one;
	buf_init(&all);
	buf_init(&one);
	for (uint64_t h = 1; h <= chain_height(c); h++) {
		struct block blk;
		CHECK(chain_get_block_at(c, h, &blk) == 0);
		for (size_t i = 0; i < blk.ntx; i++) {
			uint8_t txid[HASH_LEN];
			struct tx t;
			struct receipt r;
			uint64_t height;
			uint32_t index;
			tx_id(&blk.txs[i], txid);
			CHECK(chain_get_tx(c, txid, &t, &height, &index, &r) == 0);
			CHECK(height == h && index == i);
			buf_reset(&one);
			receipt_encode(&r, &one);
			buf_put(&all, one.data, one.len);
			if (t.kind == TX_TRANSFER && !r.ok && strstr(r.error, "out of gas"))
				short_of_gas++;
			if (t.kind == TX_TRANSFER && r.ok && r.gas_used == VM_GAS_NEW_KEY)
				created++;
			tx_free(&t);
			receipt_free(&r);
		}
		block_free(&blk);
	}
	CHECK_EQ_U64(short_of_gas, BLOCKS);
	CHECK_EQ_U64(created, BLOCKS * ((PER_BLOCK - 4 + 4) / 5 - 1));
	sha256(all.data, all.len, out);
	buf_free(&all);
	buf_free(&one);
}

static void check_hex(const char *what, const uint8_t got[HASH_LEN], const char *want)
{
	char hex[2 * HASH_LEN + 1];
	hex_encode(got, HASH_LEN, hex);
	if (strcmp(hex, want) != 0) {
		fprintf(stderr, "%s is %s, golden %s\n", what, hex, want);
		CHECK(0);
	} else {
		CHECK(1);
	}
}

static void test_vectors(void)
{
	chain_t *c = open_at("producer"), *f = open_at("follower");
	CHECK(c != NULL && f != NULL);
	if (!c || !f)
		return;
	uint64_t nonce[FIX_KEYS] = {0};
	uint8_t contract[ADDR_LEN] = {0};
	size_t skipped_total = 0, included = 0;
	for (int b = 0; b < BLOCKS; b++) {
		struct tx txs[PER_BLOCK];
		const struct tx *ptrs[PER_BLOCK];
		size_t skipped[PER_BLOCK], nskipped;
		size_t n = block_txs(b, txs, nonce, contract);
		for (size_t i = 0; i < n; i++)
			ptrs[i] = &txs[i];
		struct block blk;
		struct commit cm;
		char err[256];
		uint8_t hash[HASH_LEN];
		uint64_t now = 2000 + (uint64_t)b * 1000;
		CHECK(chain_build_block(c, ptrs, n, now, fx.sk[0], &blk, skipped, &nskipped, err, sizeof(err)) == 0);
		skipped_total += nskipped;
		included += blk.ntx;
		block_hash(&blk, hash);
		chain_sign_commit(c, fx.sk[0], blk.hdr.height, hash, &cm);
		CHECK(chain_apply_block(c, &blk, &cm, now, err, sizeof(err)) == 0);
		CHECK(chain_apply_block(f, &blk, &cm, now, err, sizeof(err)) == 0); /* executed, not built */
		/* the contract's receipts: created; counted with an event; reverted */
		for (size_t k = b == 0 ? 1 : 2; k > 0; k--) {
			uint8_t txid[HASH_LEN];
			struct tx t;
			struct receipt r;
			uint64_t h;
			uint32_t idx;
			tx_id(&blk.txs[blk.ntx - k], txid);
			CHECK(chain_get_tx(c, txid, &t, &h, &idx, &r) == 0);
			if (b == 0) {
				CHECK(r.ok == 1 && r.created_len == ADDR_LEN);
				memcpy(contract, r.created, ADDR_LEN);
			} else if (k == 2) {
				CHECK(r.ok == 1 && r.nevents == 1 && r.gas_used > 0);
			} else {
				CHECK(r.ok == 0 && strcmp(r.error, "revert: asked to fail") == 0 && r.nevents == 0);
			}
			tx_free(&t);
			receipt_free(&r);
		}
		commit_free(&cm);
		block_free(&blk);
		for (size_t i = 0; i < n; i++)
			tx_free(&txs[i]);
	}
	CHECK_EQ_U64(skipped_total, 2 * BLOCKS);
	CHECK_EQ_U64(included, BLOCKS * (PER_BLOCK - 2) - 1); /* block 0 deploys once, the others call twice */
	uint8_t tip[HASH_LEN], ftip[HASH_LEN], rd[HASH_LEN], frd[HASH_LEN], root[HASH_LEN];
	chain_tip_hash(c, tip);
	chain_tip_hash(f, ftip);
	CHECK_EQ_MEM(tip, ftip, HASH_LEN);
	state_root(chain_state(f), root);
	CHECK_EQ_MEM(root, chain_tip(c)->state_root, HASH_LEN);
	receipts_digest(c, rd);
	receipts_digest(f, frd);
	CHECK_EQ_MEM(rd, frd, HASH_LEN);
	check_hex("tip hash", tip, GOLDEN_TIP);
	check_hex("state root", chain_tip(c)->state_root, GOLDEN_ROOT);
	check_hex("receipts digest", rd, GOLDEN_RECEIPTS);
	/* -reindex replays the stored blocks to the same state and receipts */
	char err[256];
	CHECK(chain_reindex(c, NULL, err, sizeof(err)) == 0);
	state_root(chain_state(c), root);
	CHECK_EQ_MEM(root, chain_tip(f)->state_root, HASH_LEN);
	receipts_digest(c, rd);
	CHECK_EQ_MEM(rd, frd, HASH_LEN);
	chain_close(c);
	chain_close(f);
}

int main(void)
{
	fixture_init(&fx);
	RUN(test_vectors);
	fixture_free(&fx);
	return test_report("test_chain_vectors");
}

/* Unit tests for the RPC methods that read the mempool (getrawmempool in
 * node/node_rpc.c, estimatefee in node/rpc_extra.c: fees weighed per
 * encoded byte, as the pool and blocks rank them), called through the
 * RPC server's method table on a node with a chain and a mempool. Linked
 * with tx_id wrapped (-Wl,--wrap=tx_id, node/local.mk), so a test can count
 * the transactions hashed during a call. Not for: the mempool's own rules
 * (test_mempool.c) or the calls over HTTP (rpc_methods.py). */
#include <string.h>

#include <event2/event.h>

#include "core/error.h"
#include "core/log.h"
#include "node/node.h"
#include "vm/vm.h"
#include "test.h"
#include "node_fixture.h"
#include "rpc_node_fixture.h"

/* Every tx_id call outside core/tx.c comes here (--wrap). */
void __real_tx_id(const struct tx *t, uint8_t out[HASH_LEN]);
void __wrap_tx_id(const struct tx *t, uint8_t out[HASH_LEN]);
static uint64_t tx_id_calls;

void __wrap_tx_id(const struct tx *t, uint8_t out[HASH_LEN])
{
	tx_id_calls++;
	__real_tx_id(t, out);
}

static struct fixture fx;

struct rpc_node {
	struct node n;
};

static void rpc_node_init(struct rpc_node *r, const char *name)
{
	rpc_test_node_open(&r->n, &fx, name);
	node_register_rpc(&r->n);
	node_register_extra_rpc(&r->n);
}

static void rpc_node_done(struct rpc_node *r)
{
	rpc_test_node_close(&r->n);
}

/* Calls method with params (a new reference, taken); its result (the
 * caller's), or NULL with the error printed. */
static json_t *call(struct rpc_node *r, const char *method, json_t *params)
{
	size_t nm;
	const struct rpc_method *m = rpc_methods(r->n.rpc, &nm);
	rpc_method_fn fn = NULL;
	for (size_t i = 0; i < nm; i++)
		if (strcmp(m[i].name, method) == 0)
			fn = m[i].fn;
	CHECK(fn != NULL);
	struct rpc_error e = {0};
	json_t *result = NULL;
	int rc = fn ? fn(&r->n, params, &result, &e) : -1;
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", method, e.message);
	json_decref(params);
	return rc == 0 ? result : NULL;
}

/* A transfer of key `from` (nonce, fee), admitted. */
static void pool_transfer(struct rpc_node *r, int from, uint64_t nonce, uint64_t fee)
{
	struct tx t;
	char err[256];
	fixture_transfer(&fx, &t, from, fx.addr[7], 1, nonce, fee);
	int rc = mempool_add(r->n.mempool, &t, NULL, err, sizeof(err));
	if (rc)
		fprintf(stderr, "mempool_add: %s\n", err);
	CHECK_EQ_INT(rc, 0);
	tx_free(&t);
}

/* getrawmempool lists the pool's ids in selection order without hashing a
 * transaction again: the ids are the ones admission computed. Before, each
 * call hashed every pending transaction (a full pool is 64 MiB). */
static void test_getrawmempool_uses_pool_ids(void)
{
	struct rpc_node r;
	rpc_node_init(&r, "rawmempool");
	for (int k = 1; k <= 4; k++)
		for (uint64_t nonce = 0; nonce < 5; nonce++)
			pool_transfer(&r, k, nonce, 1000 + 100 * (uint64_t)k);
	size_t size = mempool_size(r.n.mempool);
	CHECK_EQ_U64(size, 20);

	uint64_t before = tx_id_calls;
	json_t *ids = call(&r, "getrawmempool", json_array());
	CHECK_EQ_U64(tx_id_calls - before, 0);
	CHECK(json_is_array(ids));
	CHECK_EQ_U64(json_array_size(ids), size);

	/* The reference: each selected transaction hashed here. */
	const struct tx *sel[20];
	CHECK_EQ_U64(mempool_select(r.n.mempool, sel, 20), size);
	for (size_t i = 0; i < size && i < json_array_size(ids); i++) {
		uint8_t want[HASH_LEN];
		char hex[2 * HASH_LEN + 1];
		__real_tx_id(sel[i], want);
		hex_encode(want, HASH_LEN, hex);
		const char *got = json_string_value(json_array_get(ids, i));
		CHECK(got && strcmp(got, hex) == 0);
	}
	json_decref(ids);
	rpc_node_done(&r);
}

/* A signed call from key `from` (nonce, fee) with len bytes of calldata,
 * to an address with no code: a large transaction, paying more in all but
 * less per byte than a transfer (a blob no longer can: it pays 64 gas a
 * byte stored, protocol §5.2). */
static void big_tx(struct tx *t, int from, uint64_t nonce, uint64_t fee, size_t len)
{
	static uint8_t data[4000];
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, fx.g.hash, HASH_LEN);
	t->nonce = nonce;
	memcpy(t->sender, fx.pk[from], PUBKEY_LEN);
	t->fee = fee;
	t->kind = TX_CALL;
	memset(data, 0x40 + from, sizeof(data));
	struct vm_call_payload cp = {.calldata = data, .calldata_len = len < sizeof(data) ? len : sizeof(data)};
	memset(cp.to, 0x66, ADDR_LEN);
	struct buf b;
	buf_init(&b);
	vm_call_payload_encode(&cp, &b);
	tx_set_payload(t, b.data, b.len);
	buf_free(&b);
	tx_sign(t, fx.sk[from]);
}

/* estimatefee TARGET_BLOCKS [TX_BYTES] (0: not given): its result. */
static json_t *estimate(struct rpc_node *r, uint64_t target, uint64_t tx_bytes)
{
	json_t *params = tx_bytes ? json_pack("[I,I]", (json_int_t)target, (json_int_t)tx_bytes)
				  : json_pack("[I]", (json_int_t)target);
	json_t *est = call(r, "estimatefee", params);
	CHECK(est != NULL);
	return est;
}

static uint64_t field(const json_t *est, const char *name)
{
	json_t *v = json_object_get(est, name);
	CHECK(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

/* The chain's blocks hold 2 transactions (main). A transfer at 3000, a
 * call of about 2 KB at 20,000 (about 10 per byte) and a transfer at 1000
 * wait: a block takes the first transfer and the call, so a transaction
 * must pay more per byte than the call. For a transfer that is about
 * 1830, not the 20,001 that outbidding the call's tip (19,000) cost when
 * the estimate read absolute tips. */
static void test_estimatefee_pool_per_byte(void)
{
	struct rpc_node r;
	rpc_node_init(&r, "poolrate");
	const uint64_t min_fee = fx.g.params.min_fee;
	struct tx big;
	char err[256];
	pool_transfer(&r, 1, 0, 3000);
	big_tx(&big, 2, 0, 20000, 1800);
	CHECK_EQ_INT(mempool_add(r.n.mempool, &big, NULL, err, sizeof(err)), 0);
	pool_transfer(&r, 3, 0, 1000);
	struct buf b;
	buf_init(&b);
	tx_encode(&big, &b);
	const uint64_t big_bytes = b.len, transfer_bytes = 182;
	buf_free(&b);
	tx_free(&big);

	json_t *est = estimate(&r, 1, 0);
	uint64_t fee = field(est, "fee");
	CHECK_EQ_U64(field(est, "tx_bytes"), transfer_bytes); /* the default: a transfer */
	CHECK_EQ_U64(fee, 20000 * transfer_bytes / big_bytes + 1);
	/* the least fee that outbids the call per byte */
	CHECK((unsigned __int128)fee * big_bytes > (unsigned __int128)20000 * transfer_bytes);
	CHECK((unsigned __int128)(fee - 1) * big_bytes <= (unsigned __int128)20000 * transfer_bytes);
	CHECK_EQ_U64(field(est, "tip"), fee - min_fee);
	CHECK_EQ_U64(field(est, "fee_per_kb"), 20000 * 1000 / big_bytes + 1);
	CHECK_EQ_U64(field(est, "mempool_size"), 3);
	json_decref(est);

	/* A transaction the call's size must pay one more than the call. */
	est = estimate(&r, 1, big_bytes);
	CHECK_EQ_U64(field(est, "fee"), 20001);
	CHECK_EQ_U64(field(est, "tx_bytes"), big_bytes);
	json_decref(est);

	/* Two blocks hold the whole pool: the floor. */
	est = estimate(&r, 2, 0);
	CHECK_EQ_U64(field(est, "fee"), min_fee);
	CHECK_EQ_U64(field(est, "fee_per_kb"), 0);
	json_decref(est);

	/* TX_BYTES from 1 to max_tx_bytes */
	size_t nm;
	const struct rpc_method *m = rpc_methods(r.n.rpc, &nm);
	for (size_t i = 0; i < nm; i++) {
		if (strcmp(m[i].name, "estimatefee") != 0)
			continue;
		uint64_t bad[] = {0, (uint64_t)fx.g.params.max_tx_bytes + 1};
		for (size_t j = 0; j < 2; j++) {
			struct rpc_error e = {0};
			json_t *res = NULL, *params = json_pack("[i,I]", 1, (json_int_t)bad[j]);
			CHECK(m[i].fn(&r.n, params, &res, &e) != 0);
			CHECK_EQ_INT(e.code, RPC_INVALID_PARAMS);
			CHECK(strstr(e.message, "TX_BYTES must be an integer from 1 to 1048576") != NULL);
			json_decref(params);
			json_decref(res);
		}
	}
	rpc_node_done(&r);
}

/* A full block (2 of 2) of a transfer at 3000 and the call at 20,000: the
 * lowest fee per byte that got in is the call's, so a transfer matching
 * it pays about 1830. The lowest tip (the transfer's 2000) put the
 * estimate at 3000, above a transfer that the block took. */
static void test_estimatefee_blocks_per_byte(void)
{
	struct rpc_node r;
	rpc_node_init(&r, "blockrate");
	struct tx t[2];
	fixture_transfer(&fx, &t[0], 1, fx.addr[7], 1, 0, 3000);
	big_tx(&t[1], 2, 0, 20000, 1800);
	const struct tx *cand[2] = {&t[0], &t[1]};
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN];
	uint64_t time_ms = chain_tip(r.n.chain)->time_ms + 1000;
	int rc = chain_build_block(r.n.chain, cand, 2, time_ms, fx.sk[0], &blk, NULL, NULL, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_U64(blk.ntx, 2);
	block_hash(&blk, hash);
	chain_sign_commit(r.n.chain, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK_EQ_INT(chain_apply_block(r.n.chain, &blk, &cm, time_ms, err, sizeof(err)), 0);
	const uint64_t big_bytes = tx_encoded_len(&t[1]);

	json_t *est = estimate(&r, 1, 0);
	CHECK_EQ_U64(field(est, "full_blocks"), 1);
	CHECK_EQ_U64(field(est, "fee"), (20000 * 182 + big_bytes - 1) / big_bytes);
	CHECK_EQ_U64(field(est, "fee_per_kb"), (20000 * 1000 + big_bytes - 1) / big_bytes);
	json_decref(est);
	est = estimate(&r, 1, big_bytes); /* as much as the call paid */
	CHECK_EQ_U64(field(est, "fee"), 20000);
	json_decref(est);

	commit_free(&cm);
	block_free(&blk);
	tx_free(&t[0]);
	tx_free(&t[1]);
	rpc_node_done(&r);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	fixture_init(&fx);
	/* blocks of two transactions: a few make a contested block */
	fx.g.params.max_block_txs = 2;
	genesis_finish(&fx.g);
	RUN(test_getrawmempool_uses_pool_ids);
	RUN(test_estimatefee_pool_per_byte);
	RUN(test_estimatefee_blocks_per_byte);
	fixture_free(&fx);
	return test_report("test_rpc_mempool");
}

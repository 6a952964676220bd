/* The node's JSON-RPC methods (docs/rpc.md) and its /metrics text. Each
 * method validates its parameters, reads the chain or mempool, and turns the
 * result into JSON; none of them changes the chain except through the
 * mempool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "consensus/validators.h"
#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/consensus.h"
#include "node/node.h"
#include "node/smt.h"
#include "node/txaccept.h"

static json_t *addr_json(const struct node *n, const uint8_t addr[ADDR_LEN])
{
	char text[ADDR_STR_MAX];
	address_encode(n->genesis.net, addr, text);
	return json_string(text);
}

static int parse_hash(json_t *v, uint8_t out[HASH_LEN])
{
	return json_is_string(v) && hex_decode(json_string_value(v), out, HASH_LEN) == HASH_LEN ? 0 : -1;
}

static json_t *payload_json(const struct node *n, const struct tx *t)
{
	if (t->kind == TX_TRANSFER) {
		struct transfer_payload tp;
		if (transfer_decode(&tp, t->payload, t->payload_len) == 0)
			return json_pack("{s:o,s:I}", "to", addr_json(n, tp.to), "amount", (json_int_t)tp.amount);
	}
	uint64_t amount; /* validator_bond, validator_unbond (protocol §10.3) */
	if ((t->kind == TX_VALIDATOR_BOND || t->kind == TX_VALIDATOR_UNBOND) &&
	    validators_amount_decode(t->payload, t->payload_len, &amount) == 0)
		return json_pack("{s:I}", "amount", (json_int_t)amount);
	return json_pack("{s:o}", "hex", rpc_hex(t->payload, t->payload_len));
}

static json_t *receipt_json(const struct node *n, const struct receipt *r)
{
	json_t *events = json_array();
	for (size_t i = 0; i < r->nevents; i++)
		json_array_append_new(events, json_pack("{s:o,s:o}", "contract", addr_json(n, r->events[i].contract),
							"data", rpc_hex(r->events[i].data, r->events[i].len)));
	json_t *o = json_pack("{s:b,s:o,s:I,s:o}", "ok", r->ok, "error", r->ok ? json_null() : json_string(r->error),
			      "gas_used", (json_int_t)r->gas_used, "events", events);
	if (r->created_len == ADDR_LEN)
		json_object_set_new(o, "contract", addr_json(n, r->created));
	else if (r->created_len == HASH_LEN)
		json_object_set_new(o, "job_id", rpc_hex(r->created, HASH_LEN));
	return o;
}

static json_t *tx_json(const struct node *n, const struct tx *t)
{
	uint8_t txid[HASH_LEN], addr[ADDR_LEN];
	struct buf b;
	buf_init(&b);
	tx_encode(t, &b);
	tx_id(t, txid);
	tx_sender_addr(t, addr);
	json_t *o = json_pack("{s:o,s:s,s:o,s:o,s:I,s:I,s:I,s:o,s:I}", "txid", rpc_hex(txid, HASH_LEN), "kind",
			      tx_kind_name(t->kind), "sender", addr_json(n, addr), "sender_pubkey",
			      rpc_hex(t->sender, PUBKEY_LEN), "nonce", (json_int_t)t->nonce, "fee",
			      (json_int_t)t->fee, "gas_limit", (json_int_t)t->gas_limit, "payload", payload_json(n, t),
			      "size", (json_int_t)b.len);
	buf_free(&b);
	return o;
}

json_t *node_tx_json(const struct node *n, const struct tx *t)
{
	return tx_json(n, t);
}

static int m_getblockchaininfo(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t tip[HASH_LEN];
	const struct block_header *h = chain_tip(n->chain);
	chain_tip_hash(n->chain, tip);
	struct net_sync_status st = {0, h->height, h->height, 0, 1.0};
	if (n->net)
		net_sync_status(n->net, &st);
	if (!st.syncing) /* caught up: exactly 1.0, even when peers are behind us */
		st.progress = 1.0;
	*result = json_pack("{s:s,s:s,s:I,s:o,s:o,s:o,s:I,s:b,s:I,s:f,s:I}", "chain", n->genesis.chain, "network",
			    n->genesis.network_name, "height", (json_int_t)h->height, "best_hash",
			    rpc_hex(tip, HASH_LEN), "state_root", rpc_hex(h->state_root, HASH_LEN),
			    "genesis_hash", rpc_hex(n->genesis.hash, HASH_LEN), "time_ms", (json_int_t)h->time_ms,
			    "syncing", st.syncing, "sync_target", (json_int_t)(st.syncing ? st.target : h->height), "progress", st.progress, "mempool_size",
			    (json_int_t)mempool_size(n->mempool));
	return 0;
}

static int m_getblockcount(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	*result = json_integer((json_int_t)chain_height(n->chain));
	return 0;
}

static int height_param(struct node *n, json_t *v, uint64_t *h, struct rpc_error *e)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "height must be a non-negative integer");
	*h = (uint64_t)json_integer_value(v);
	if (*h > chain_height(n->chain))
		return rpc_fail(e, RPC_INVALID_PARAMETER, "block height %llu out of range (tip is %llu)",
				(unsigned long long)*h, (unsigned long long)chain_height(n->chain));
	return 0;
}

static int m_getblockhash(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint64_t h;
	uint8_t hash[HASH_LEN];
	if (height_param(n, rpc_param(params, 0), &h, e) < 0)
		return -1;
	if (store_get_hash_at(chain_store(n->chain), h, hash) < 0)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "height index damaged at %llu", (unsigned long long)h);
	*result = rpc_hex(hash, HASH_LEN);
	return 0;
}

static int m_getblock(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *id = rpc_param(params, 0), *verb = rpc_param(params, 1);
	struct block blk;
	uint8_t hash[HASH_LEN];
	int rc;
	/* 0, 1, and 2 for anything above (docs/rpc.md), taken from the whole
	 * integer: cast to int, 4294967296 was 0 and gave hex. */
	json_int_t verbosity = 1;
	if (verb && !json_is_null(verb)) {
		if (!json_is_integer(verb))
			return rpc_fail(e, RPC_INVALID_PARAMS,
					"getblock: VERBOSITY must be an integer (0: hex, 1: txids, 2: txs)");
		verbosity = json_integer_value(verb);
	}
	if (verbosity < 0) /* documented: acts as 1 */
		verbosity = 1;
	if (json_is_integer(id)) {
		uint64_t h;
		if (height_param(n, id, &h, e) < 0)
			return -1;
		rc = chain_get_block_at(n->chain, h, &blk);
	} else if (parse_hash(id, hash) == 0) {
		rc = chain_get_block(n->chain, hash, &blk);
	} else {
		return rpc_fail(e, RPC_INVALID_PARAMS, "getblock takes a block hash (64 hex digits) or a height");
	}
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "block not found");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read block: %s", assay_strerror(rc));
	if (verbosity == 0) {
		struct buf b;
		buf_init(&b);
		block_encode(&blk, &b);
		*result = rpc_hex(b.data, b.len);
		buf_free(&b);
		block_free(&blk);
		return 0;
	}
	const struct block_header *h = &blk.hdr;
	block_hash(&blk, hash);
	json_t *txs = json_array();
	for (size_t i = 0; i < blk.ntx; i++) {
		if (verbosity >= 2) {
			json_array_append_new(txs, tx_json(n, &blk.txs[i]));
		} else {
			uint8_t txid[HASH_LEN];
			tx_id(&blk.txs[i], txid);
			json_array_append_new(txs, rpc_hex(txid, HASH_LEN));
		}
	}
	json_t *sigs = json_array();
	for (uint32_t i = 0; i < blk.last_commit.nsigs; i++)
		json_array_append_new(sigs, rpc_hex(blk.last_commit.sigs[i].validator, PUBKEY_LEN));
	*result = json_pack(
		"{s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o}", "hash", rpc_hex(hash, HASH_LEN),
		"version", (json_int_t)h->version, "height", (json_int_t)h->height, "time_ms", (json_int_t)h->time_ms,
		"prev_hash", rpc_hex(h->prev_hash, HASH_LEN), "tx_root", rpc_hex(h->tx_root, HASH_LEN), "state_root",
		rpc_hex(h->state_root, HASH_LEN), "last_commit_hash", rpc_hex(h->last_commit_hash, HASH_LEN),
		"validators_hash", rpc_hex(h->validators_hash, HASH_LEN), "proposer", rpc_hex(h->proposer, PUBKEY_LEN),
		"beacon", rpc_hex(h->beacon, HASH_LEN), "beacon_proof", rpc_hex(h->beacon_proof, VRF_PROOF_LEN),
		"txs", txs, "ntx", (json_int_t)blk.ntx, "last_commit_signers", sigs);
	if (h->height > 1)
		json_object_set_new(*result, "last_commit", node_commit_json(n, &blk.last_commit));
	block_free(&blk);
	return 0;
}

static int m_gettransaction(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t txid[HASH_LEN];
	if (parse_hash(rpc_param(params, 0), txid) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "gettransaction takes a txid (64 hex digits)");
	const struct tx *pending = mempool_get(n->mempool, txid);
	if (pending) {
		*result = tx_json(n, pending);
		json_object_set_new(*result, "status", json_string("pending"));
		json_object_set_new(*result, "height", json_null());
		json_object_set_new(*result, "index", json_null());
		json_object_set_new(*result, "result", json_null());
		return 0;
	}
	struct tx t;
	struct receipt r;
	uint64_t height;
	uint32_t index;
	int rc = chain_get_tx(n->chain, txid, &t, &height, &index, &r);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "transaction not found (neither pending nor committed)");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read transaction: %s", assay_strerror(rc));
	*result = tx_json(n, &t);
	json_object_set_new(*result, "status", json_string("committed"));
	json_object_set_new(*result, "height", json_integer((json_int_t)height));
	json_object_set_new(*result, "index", json_integer(index));
	json_object_set_new(*result, "confirmations", json_integer((json_int_t)(chain_height(n->chain) - height + 1)));
	json_object_set_new(*result, "result", receipt_json(n, &r));
	tx_free(&t);
	receipt_free(&r);
	return 0;
}

int node_raw_tx_param(json_t *hex, const char *what, uint8_t **raw, size_t *len, struct rpc_error *e)
{
	*raw = NULL;
	if (!json_is_string(hex))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s takes the transaction as hex", what);
	*len = json_string_length(hex) / 2;
	*raw = malloc(*len ? *len : 1);
	if (!*raw)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	if (hex_decode_n(json_string_value(hex), json_string_length(hex), *raw, *len) != (long)*len) {
		free(*raw);
		*raw = NULL;
		return rpc_fail(e, RPC_DESERIALIZATION_ERROR, "transaction decode failed: not valid hex");
	}
	return 0;
}

/* The RPC error for a refused transaction (rc not 0 nor ASSAY_EEXISTS). */
static void refusal_error(int rc, enum txaccept_stage stage, const char *why, struct rpc_error *e)
{
	if (assay_err_is_local(rc))
		rpc_fail(e, RPC_INTERNAL_ERROR, "cannot check the transaction: %s", why);
	else if (stage == TXACCEPT_DECODE)
		rpc_fail(e, RPC_DESERIALIZATION_ERROR, "transaction decode failed: %s", why);
	else
		rpc_fail(e, RPC_VERIFY_REJECTED, "transaction rejected: %s", why);
}

/* A sendrawtransaction(s) call whose signatures are on the verification
 * pool: the reply is sent once its batch is admitted (txaccept.h). */
struct raw_call {
	rpc_deferred_t *d; /* NULL once the client left (the batch is admitted anyway) */
	int single;        /* sendrawtransaction: a txid or an error, not a list */
	struct txaccept_result res[];
};

/* sendrawtransactions' result: one object per transaction, in order. */
static json_t *batch_results(const struct txaccept_result *res, size_t count)
{
	json_t *list = json_array();
	for (size_t i = 0; i < count; i++) {
		json_t *o = json_object();
		if (res[i].stage != TXACCEPT_DECODE || res[i].rc == 0)
			json_object_set_new(o, "txid", rpc_hex(res[i].txid, HASH_LEN));
		if (res[i].rc && res[i].rc != ASSAY_EEXISTS) {
			struct rpc_error te;
			refusal_error(res[i].rc, res[i].stage, res[i].err, &te);
			json_object_set_new(o, "error", json_pack("{s:i,s:s}", "code", te.code, "message", te.message));
		}
		json_array_append_new(list, o);
	}
	return list;
}

/* sendrawtransaction's answer: the txid (also when pooled already), or -1. */
static int single_result(const struct txaccept_result *r, json_t **result, struct rpc_error *e)
{
	if (r->rc && r->rc != ASSAY_EEXISTS) {
		refusal_error(r->rc, r->stage, r->err, e);
		return -1;
	}
	*result = rpc_hex(r->txid, HASH_LEN);
	return 0;
}

static void on_raw_event(void *arg, rpc_deferred_t *d, enum rpc_defer_event ev)
{
	struct raw_call *rc = arg;
	(void)d;
	if (ev != RPC_DEFER_WAKE) /* gone, or timed out (answered null): no reply of ours */
		rc->d = NULL;
}

static void on_raw_admitted(void *arg, struct txaccept_result *res, size_t count, int rc_local)
{
	struct raw_call *rc = arg;
	(void)rc_local; /* each result says it */
	if (rc->d) {
		json_t *result = NULL;
		struct rpc_error e = {0};
		if (rc->single ? single_result(res, &result, &e) == 0 : (result = batch_results(res, count)) != NULL)
			rpc_deferred_reply(rc->d, result, NULL);
		else
			rpc_deferred_reply(rc->d, NULL, &e);
	}
	free(rc);
}

/* Both methods: pass 1 now; the signatures on the pool with the reply
 * deferred when the bounds allow (a single request, not a JSON-RPC batch),
 * else checked while this call waits. */
static int submit_raw(struct node *n, uint8_t **raws, const size_t *lens, size_t count, int single,
		      json_t **result, struct rpc_error *e)
{
	struct raw_call *call = calloc(1, sizeof(*call) + (count ? count : 1) * sizeof(call->res[0]));
	struct txaccept_batch *b = call ? txaccept_batch_new(n, TXACCEPT_FROM_CLIENT, count, call->res) : NULL;
	if (!b) {
		free(call);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	}
	call->single = single;
	for (size_t i = 0; i < count; i++)
		txaccept_batch_add(b, raws[i], lens[i]);
	size_t pending = txaccept_batch_pending(b);
	struct rpc_error ignored;
	if (pending && txaccept_can_defer(n, pending) &&
	    (call->d = rpc_defer(n->rpc, RPC_MAX_DEFER_MS, on_raw_event, call, &ignored)) != NULL) {
		txaccept_batch_defer(b, on_raw_admitted, call); /* cannot fail: can_defer said yes */
		return RPC_DEFERRED;
	}
	txaccept_batch_finish(b, 0);
	int rc = 0;
	if (single)
		rc = single_result(&call->res[0], result, e);
	else
		*result = batch_results(call->res, count);
	free(call);
	return rc;
}

/* ---- sendrawtransaction(s) prepared off the event thread ----
 * The prepare step (rpc.h, on a pool thread) decodes the hex and the
 * transactions, takes their ids, checks the stateless rules and queues the
 * signatures on the pool (txaccept_prep_*); the method then only admits,
 * on the event thread. The step returns NULL (the method does it all, and
 * words every refusal itself) unless the params pass every check the
 * method makes before submitting, so a prepared call is answered as an
 * unprepared one would be. */

static void raw_prep_verified(void *arg)
{
	rpc_work_release(arg);
}

/* list: the hex strings (single: just the one). */
static void *raw_prepare(struct node *n, json_t *list, int single, rpc_work_t *w)
{
	size_t count = single ? 1 : json_array_size(list);
	if ((!single && !json_is_array(list)) || count > TXACCEPT_MAX_BATCH)
		return NULL;
	for (size_t i = 0; i < count; i++) /* the method's checks, before anything is done */
		if (!json_is_string(single ? list : json_array_get(list, i)))
			return NULL;
	struct txaccept_prep *p = txaccept_prep_new(n, count);
	/* One buffer for the batch's bytes, each transaction decoded from it
	 * in turn (txaccept_prep_add copies what it keeps): the checks are
	 * node_raw_tx_param's, and any failure leaves the call to the method. */
	uint8_t stack_raw[1024], *raw = stack_raw;
	size_t raw_cap = sizeof(stack_raw);
	for (size_t i = 0; p && i < count; i++) {
		json_t *hex = single ? list : json_array_get(list, i);
		size_t chars = json_string_length(hex), len = chars / 2;
		if (len > raw_cap) {
			uint8_t *grown = malloc(len);
			if (raw != stack_raw)
				free(raw);
			raw = grown;
			raw_cap = grown ? len : 0;
		}
		if (!raw || hex_decode_n(json_string_value(hex), chars, raw, len) != (long)len) {
			txaccept_prep_free(p);
			p = NULL;
			break;
		}
		txaccept_prep_add(p, raw, len);
	}
	if (raw != stack_raw)
		free(raw);
	if (!p)
		return NULL;
	rpc_work_hold(w); /* released once the signatures are in */
	txaccept_prep_verify(p, raw_prep_verified, w);
	return p;
}

static void *p_sendrawtransaction(void *ctx, json_t *params, rpc_work_t *w)
{
	json_t *hex = rpc_param(params, 0);
	return hex ? raw_prepare(ctx, hex, 1, w) : NULL;
}

static void *p_sendrawtransactions(void *ctx, json_t *params, rpc_work_t *w)
{
	return raw_prepare(ctx, rpc_param(params, 0), 0, w);
}

static void raw_prep_release(void *prepared)
{
	txaccept_prep_free(prepared);
}

/* The answer to a prepared call: admission in order, then the reply. */
static int answer_prepared(struct node *n, struct txaccept_prep *p, int single, json_t **result, struct rpc_error *e)
{
	const struct txaccept_result *res;
	size_t count;
	txaccept_prep_admit(p, TXACCEPT_FROM_CLIENT, &res, &count);
	if (single)
		return single_result(&res[0], result, e);
	*result = batch_results(res, count);
	return 0;
}

static int m_sendrawtransaction(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t *raw;
	size_t len;
	struct txaccept_prep *p = rpc_prepared(n->rpc);
	if (p)
		return answer_prepared(n, p, 1, result, e);
	if (node_raw_tx_param(rpc_param(params, 0), "sendrawtransaction", &raw, &len, e) < 0)
		return -1;
	int rc = submit_raw(n, &raw, &len, 1, 1, result, e);
	free(raw);
	return rc;
}

/* sendrawtransactions [HEX, ...]: up to TXACCEPT_MAX_BATCH transactions,
 * their signatures checked in parallel; one result per transaction, in
 * order: {"txid": ...} or {"txid": ... (when it decodes), "error":
 * {"code", "message"}} with the code sendrawtransaction would return. */
static int m_sendrawtransactions(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct txaccept_prep *p = rpc_prepared(n->rpc);
	if (p)
		return answer_prepared(n, p, 0, result, e);
	json_t *list = rpc_param(params, 0);
	if (!json_is_array(list))
		return rpc_fail(e, RPC_INVALID_PARAMS, "sendrawtransactions takes an array of transactions as hex");
	size_t count = json_array_size(list);
	if (count > TXACCEPT_MAX_BATCH)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "%zu transactions; at most %d in one call", count,
				TXACCEPT_MAX_BATCH);
	uint8_t **raws = calloc(count ? count : 1, sizeof(*raws));
	size_t *lens = calloc(count ? count : 1, sizeof(*lens));
	int rc = !raws || !lens ? rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory") : 0;
	for (size_t i = 0; !rc && i < count; i++) {
		if (node_raw_tx_param(json_array_get(list, i), "sendrawtransactions", &raws[i], &lens[i], e) < 0) {
			char why[sizeof(e->message)];
			snprintf(why, sizeof(why), "%s", e->message);
			rc = rpc_fail(e, e->code, "transaction %zu: %s", i, why); /* nothing submitted */
		}
	}
	if (!rc)
		rc = submit_raw(n, raws, lens, count, 0, result, e);
	for (size_t i = 0; raws && i < count; i++)
		free(raws[i]);
	free(raws);
	free(lens);
	return rc;
}

static int addr_param(struct node *n, json_t *v, uint8_t addr[ADDR_LEN], struct rpc_error *e)
{
	enum network net;
	if (!json_is_string(v) || address_decode(json_string_value(v), &net, addr) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected an address (bech32m, %s1...)",
				network_hrp(n->genesis.net));
	if (net != n->genesis.net)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "address is for another network (this one uses %s1...)",
				network_hrp(n->genesis.net));
	return 0;
}

static int m_getaccount(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t addr[ADDR_LEN];
	struct account a;
	static const uint8_t zero[HASH_LEN];
	if (addr_param(n, rpc_param(params, 0), addr, e) < 0)
		return -1;
	struct ledger l = chain_ledger(n->chain);
	if (ledger_get_account(&l, addr, &a) < 0)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "state read failed");
	*result = json_pack("{s:o,s:I,s:I,s:I,s:o}", "address", addr_json(n, addr), "balance", (json_int_t)a.balance,
			    "nonce", (json_int_t)a.nonce, "pending_nonce",
			    (json_int_t)mempool_next_nonce(n->mempool, addr), "code_hash",
			    memcmp(a.code_hash, zero, HASH_LEN) ? rpc_hex(a.code_hash, HASH_LEN) : json_null());
	return 0;
}

/* The tip's proof for an account or a raw state key, in the compact form of
 * docs/storage.md §2: depth, presence bitmap, the non-empty siblings (the
 * same fields as the canonical `proof` bytes, which are also given). */
static int m_getproof(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *arg = rpc_param(params, 0);
	uint8_t key[HASH_LEN], root[HASH_LEN], addr[ADDR_LEN], bitmap[SMT_MAX_DEPTH / 8];
	enum network net;
	json_t *label;
	if (json_is_string(arg) && address_decode(json_string_value(arg), &net, addr) == 0) {
		if (net != n->genesis.net)
			return rpc_fail(e, RPC_INVALID_PARAMETER, "address is for another network (this one uses %s1...)",
					network_hrp(n->genesis.net));
		state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
		label = json_pack("{s:s,s:O}", "type", "account", "address", arg);
	} else if (parse_hash(arg, key) == 0) {
		label = json_pack("{s:s}", "type", "key");
	} else {
		return rpc_fail(e, RPC_INVALID_PARAMS, "getproof takes an address or a 32-byte state key in hex");
	}
	state_t *st = chain_state(n->chain);
	struct smt_proof *proof = malloc(sizeof(*proof));
	if (!proof) {
		json_decref(label);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	}
	/* a block checked or built here (a proposal, a block waiting for its
	 * commit) is staged in the tree: the proof is of the committed tip */
	chain_drop_staged(n->chain);
	state_root(st, root);
	if (memcmp(root, chain_tip(n->chain)->state_root, HASH_LEN) != 0) {
		free(proof);
		json_decref(label);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "the state tree is not the tip's");
	}
	int rc = smt_prove(state_tree(st), key, proof);
	if (rc) {
		free(proof);
		json_decref(label);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot build proof: %s", assay_strerror(rc));
	}
	/* The tree says whether the key is present; the store holds its bytes. */
	int included = proof->has_leaf && memcmp(proof->leaf_key, key, HASH_LEN) == 0;
	uint8_t *val = NULL;
	size_t vlen = 0;
	if (included && (rc = store_get_state(chain_store(n->chain), key, &val, &vlen)) != 0) {
		free(proof);
		json_decref(label);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "state read failed: %s", assay_strerror(rc));
	}
	struct buf pb;
	buf_init(&pb);
	smt_proof_encode(proof, &pb);
	if (pb.oom) {
		buf_free(&pb);
		free(val);
		free(proof);
		json_decref(label);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	}
	smt_proof_bitmap(proof, bitmap);
	json_t *siblings = json_array();
	for (uint32_t i = 0; i < proof->nsiblings; i++)
		if (smt_key_bit(bitmap, i))
			json_array_append_new(siblings, rpc_hex(proof->siblings[i], HASH_LEN));
	*result = json_pack("{s:o,s:o,s:I,s:o,s:b,s:o,s:I,s:o,s:o,s:o}", "of", label, "key",
			    rpc_hex(key, HASH_LEN), "height", (json_int_t)chain_height(n->chain), "state_root",
			    rpc_hex(root, HASH_LEN), "included", included, "value",
			    included ? rpc_hex(val, vlen) : json_null(), "depth", (json_int_t)proof->nsiblings,
			    "bitmap", rpc_hex(bitmap, (proof->nsiblings + 7) / 8), "siblings", siblings, "proof",
			    rpc_hex(pb.data, pb.len));
	if (proof->has_leaf && !included)
		json_object_set_new(*result, "other_leaf",
				    json_pack("{s:o,s:o}", "key", rpc_hex(proof->leaf_key, HASH_LEN), "value_hash",
					      rpc_hex(proof->leaf_value_hash, HASH_LEN)));
	buf_free(&pb);
	free(val);
	free(proof);
	return 0;
}

static int m_getmempoolinfo(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	*result = json_pack("{s:I,s:I,s:I}", "size", (json_int_t)mempool_size(n->mempool), "bytes",
			    (json_int_t)mempool_bytes(n->mempool), "max_size", (json_int_t)mempool_max_txs(n->mempool));
	return 0;
}

static int m_getrawmempool(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	size_t cap = mempool_size(n->mempool);
	/* The pool's own ids, computed once at admission: hashing every
	 * pending transaction again on each call cost a full pool's worth
	 * of SHA-256 (up to 64 MiB) per request. */
	const struct tx **txs = malloc((cap ? cap : 1) * sizeof(*txs));
	uint8_t (*txids)[HASH_LEN] = malloc((cap ? cap : 1) * sizeof(*txids));
	if (!txs || !txids) {
		free(txs);
		free(txids);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	}
	size_t k = mempool_select_ids(n->mempool, txs, txids, cap);
	*result = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(*result, rpc_hex(txids[i], HASH_LEN));
	free(txs);
	free(txids);
	return 0;
}

static int m_stop(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	log_info("rpc: stop requested");
	node_request_stop(n);
	*result = json_string("assayd stopping");
	return 0;
}

static int m_help(void *ctx, json_t *params, json_t **result, struct rpc_error *e);

static const struct rpc_method node_methods[] = {
	{"getblockchaininfo", m_getblockchaininfo, "getblockchaininfo - chain, network, height, best_hash, state_root, genesis_hash"},
	{"getblockcount", m_getblockcount, "getblockcount - height of the tip"},
	{"getblockhash", m_getblockhash, "getblockhash HEIGHT - hash of the block at HEIGHT"},
	{"getblock", m_getblock, "getblock HASH|HEIGHT [VERBOSITY] - block as JSON (0: hex, 1: txids, 2: txs)"},
	{"gettransaction", m_gettransaction, "gettransaction TXID - transaction with status pending|committed and its result"},
	{"sendrawtransaction", m_sendrawtransaction, "sendrawtransaction HEX - submit a signed transaction; returns its txid"},
	{"sendrawtransactions", m_sendrawtransactions,
	 "sendrawtransactions [HEX,...] - submit up to 1000 signed transactions, signatures checked in parallel; returns a result per transaction"},
	{"getaccount", m_getaccount, "getaccount ADDRESS - balance, nonce, pending_nonce, code_hash"},
	{"getproof", m_getproof, "getproof ADDRESS|KEY - sparse Merkle proof of inclusion or exclusion"},
	{"getmempoolinfo", m_getmempoolinfo, "getmempoolinfo - size, bytes, max_size"},
	{"getrawmempool", m_getrawmempool, "getrawmempool - txids in the mempool, best first"},
	{"stop", m_stop,
	 "stop - shut the node down cleanly\n"
	 "Replies first, then stops; no block is made after the reply. SIGINT and SIGTERM do the same."},
	{"help", m_help,
	 "help [METHOD] - list the RPC methods (one synopsis line each), or METHOD's full help as text\n"
	 "The words of a synopsis before its dash name the positional parameters: [X] is optional, X... may\n"
	 "repeat, [X,...] is one JSON array. More parameters than a synopsis names are refused (-32602)."},
};

static int m_help(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *which = rpc_param(params, 0);
	if (which) { /* help METHOD: that method's full help, as text */
		if (!json_is_string(which))
			return rpc_fail(e, RPC_INVALID_PARAMS, "help takes a method name");
		char *text = rpc_method_help(n->rpc, json_string_value(which));
		if (!text)
			return rpc_fail(e, RPC_INVALID_PARAMETER, "help: unknown method %.64s (help lists them)",
					json_string_value(which));
		*result = json_string(text);
		free(text);
		return *result ? 0 : rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	}
	size_t count;
	const struct rpc_method *m = rpc_methods(n->rpc, &count);
	*result = json_array();
	for (size_t i = 0; i < count; i++) { /* the synopsis line of each */
		const char *h = m[i].help;
		json_array_append_new(*result, json_stringn(h, strcspn(h, "\n")));
	}
	return 0;
}

/* The RPC server's executor: the verification pool (refuses when it is
 * not running, and the server then parses on the event thread). */
static int rpc_execute(void *ctx, void (*task)(void *arg), void *arg)
{
	return txaccept_run(ctx, task, arg);
}

void node_register_rpc(struct node *n)
{
	rpc_register(n->rpc, node_methods, sizeof(node_methods) / sizeof(node_methods[0]), n);
	rpc_set_metrics(n->rpc, node_metrics, n);
	rpc_set_executor(n->rpc, rpc_execute, n);
	rpc_set_prepare(n->rpc, "sendrawtransaction", p_sendrawtransaction, raw_prep_release);
	rpc_set_prepare(n->rpc, "sendrawtransactions", p_sendrawtransactions, raw_prep_release);
}

void node_metrics(void *ctx, struct evbuffer *out)
{
	struct node *n = ctx;
	const struct block_header *h = chain_tip(n->chain);
	evbuffer_add_printf(out,
			    "# HELP assay_block_height Height of the chain tip.\n# TYPE assay_block_height gauge\n"
			    "assay_block_height %llu\n"
			    "# HELP assay_block_timestamp_seconds Time of the tip block, in seconds since the epoch.\n"
			    "# TYPE assay_block_timestamp_seconds gauge\n"
			    "assay_block_timestamp_seconds %llu.%03u\n"
			    "# HELP assay_mempool_size Transactions in the mempool.\n# TYPE assay_mempool_size gauge\n"
			    "assay_mempool_size %zu\n"
			    "# HELP assay_mempool_bytes Bytes in the mempool.\n# TYPE assay_mempool_bytes gauge\n"
			    "assay_mempool_bytes %zu\n"
			    "# HELP assay_blocks_produced_total Blocks this node produced.\n# TYPE assay_blocks_produced_total counter\n"
			    "assay_blocks_produced_total %llu\n"
			    "# HELP assay_txs_committed_total Transactions in blocks this node applied.\n# TYPE assay_txs_committed_total counter\n"
			    "assay_txs_committed_total %llu\n"
			    "# HELP assay_txs_rejected_total Transactions refused at admission.\n# TYPE assay_txs_rejected_total counter\n"
			    "assay_txs_rejected_total %llu\n"
			    "# HELP assay_state_entries Entries in the state tree.\n# TYPE assay_state_entries gauge\n"
			    "assay_state_entries %zu\n",
			    (unsigned long long)h->height, (unsigned long long)(h->time_ms / 1000),
			    (unsigned)(h->time_ms % 1000), mempool_size(n->mempool),
			    mempool_bytes(n->mempool), (unsigned long long)n->blocks_produced,
			    (unsigned long long)n->txs_committed, (unsigned long long)n->txs_rejected,
			    state_count(chain_state(n->chain)));
	consensus_metrics(n, out);
	if (!n->net)
		return;
	struct net_sync_status st;
	struct net_peer_info *peers = NULL;
	size_t npeers = 0, inbound = 0;
	uint64_t sent, recv;
	net_sync_status(n->net, &st);
	net_traffic_totals(n->net, &sent, &recv);
	if (net_peers(n->net, &peers, &npeers) == 0) {
		for (size_t i = 0; i < npeers; i++)
			inbound += peers[i].inbound != 0;
		free(peers);
	}
	evbuffer_add_printf(out,
			    "# HELP assay_peers Connected peers.\n# TYPE assay_peers gauge\n"
			    "assay_peers{direction=\"inbound\"} %zu\nassay_peers{direction=\"outbound\"} %zu\n"
			    "# HELP assay_sync_target Best height known from peers.\n# TYPE assay_sync_target gauge\n"
			    "assay_sync_target %llu\n"
			    "# HELP assay_syncing 1 while downloading blocks from peers.\n# TYPE assay_syncing gauge\n"
			    "assay_syncing %d\n"
			    "# HELP assay_p2p_bytes_total Bytes on the wire with peers since start, closed connections included.\n"
			    "# TYPE assay_p2p_bytes_total counter\n"
			    "assay_p2p_bytes_total{direction=\"sent\"} %llu\nassay_p2p_bytes_total{direction=\"received\"} %llu\n",
			    inbound, npeers - inbound, (unsigned long long)st.target, st.syncing,
			    (unsigned long long)sent, (unsigned long long)recv);
}

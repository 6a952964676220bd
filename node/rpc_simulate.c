/* simulatetransaction (docs/rpc.md): a dry run of one signed transaction
 * through the checks and the execution a block applies (tx_rules, then
 * exec_tx), on a throw-away overlay of the committed state, so that a wallet
 * can refuse a doomed transaction before it pays a fee. Its answer is a
 * prediction for the next block. Not for: admission or relay (txaccept.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/exec.h"
#include "consensus/tx_rules.h"
#include "core/error.h"
#include "node/node.h"

static json_t *address_json(const struct node *n, const uint8_t addr[ADDR_LEN])
{
	char text[ADDR_STR_MAX];
	address_encode(n->genesis.net, addr, text);
	return json_string(text);
}

/* The one reply shape, for every outcome (docs/rpc.md). */
static json_t *simulation_json(const struct node *n, int valid, const struct tx *t, const struct receipt *r,
			       const char *error)
{
	json_t *events = json_array();
	for (size_t i = 0; r && i < r->nevents; i++)
		json_array_append_new(events, json_pack("{s:o,s:o}", "contract",
							address_json(n, r->events[i].contract), "data",
							rpc_hex(r->events[i].data, r->events[i].len)));
	int ok = valid && r && r->ok;
	return json_pack("{s:b,s:b,s:o,s:I,s:I,s:o,s:o}", "valid", valid, "ok", ok, "error",
			 ok ? json_null() : json_string(error), "gas_used", (json_int_t)(r ? r->gas_used : 0),
			 "fee", (json_int_t)(valid && t ? t->fee : 0), "created",
			 r && r->created_len ? rpc_hex(r->created, r->created_len) : json_null(), "events",
			 events);
}

/* Applies, in nonce order, the sender's pending transactions that come
 * before t, so that t with nonce = committed nonce + pending count is judged
 * on what its predecessors leave. Their own failures are not t's: a gap
 * they leave shows as t's nonce error. The call is not charged, so what it
 * runs is bounded by what the next block can hold: when t and its
 * predecessors together pass a block's count or either gas budget
 * (max_block_gas, reveal_block_gas), t cannot be in the next block, *fits
 * is cleared with the reason in err and nothing is executed (without the
 * bound one call ran up to MEMPOOL_MAX_PER_SENDER full blocks' gas). 0, or
 * a local failure. */
static int apply_pending(struct node *n, struct exec_ctx *x, const struct tx *t, int *fits, char *err,
			 size_t errlen)
{
	const struct genesis *g = chain_genesis(n->chain);
	const struct tx *queue[MEMPOOL_MAX_PER_SENDER];
	uint8_t addr[ADDR_LEN];
	tx_sender_addr(t, addr);
	size_t nq = mempool_sender_txs(n->mempool, addr, queue, MEMPOOL_MAX_PER_SENDER), k = 0;
	while (k < nq && queue[k]->nonce < t->nonce) /* the queue is in nonce order */
		k++;
	unsigned __int128 gas[2] = {0, 0}; /* by lane: the block's, the reveals' */
	gas[exec_in_reveal_lane(t)] += t->gas_limit;
	for (size_t i = 0; i < k; i++)
		gas[exec_in_reveal_lane(queue[i])] += queue[i]->gas_limit;
	const char *over = k + 1 > g->params.max_block_txs ? "max_block_txs"
			   : gas[0] > g->params.max_block_gas  ? "max_block_gas"
			   : gas[1] > g->compute.reveal_block_gas ? "reveal_block_gas"
								  : NULL;
	*fits = !over;
	if (over) {
		snprintf(err, errlen,
			 "cannot be in the next block: with the sender's %zu pending transactions before it, "
			 "it is over the block's %s",
			 k, over);
		return 0;
	}
	for (size_t i = 0; i < k; i++) {
		struct receipt r;
		char perr[160];
		size_t snap = ledger_snapshot(&x->l);
		int e = exec_tx(x, queue[i], &r, perr, sizeof(perr));
		receipt_free(&r);
		if (assay_err_is_local(e))
			return assay_fail(err, errlen, e, "%s", perr);
		if (e < 0)
			ledger_revert(&x->l, snap);
	}
	return 0;
}

/* The header the next block will most likely have: tip + 1, now (or just
 * after the tip), the tip's beacon and proposer. The real beacon is the next
 * proposer's VRF output, unknown here: anything that depends on it (a
 * dispute's check vectors) is predicted with the tip's. */
static void next_header(struct node *n, struct block_header *hd)
{
	const struct block_header *tip = chain_tip(n->chain);
	uint64_t now = node_now_ms();
	memset(hd, 0, sizeof(*hd));
	hd->height = tip->height + 1;
	hd->time_ms = now > tip->time_ms ? now : tip->time_ms + 1;
	memcpy(hd->beacon, tip->beacon, HASH_LEN);
	memcpy(hd->proposer, tip->proposer, PUBKEY_LEN);
}

static int simulate(struct node *n, const struct tx *t, json_t **result, struct rpc_error *e)
{
	const struct genesis *g = chain_genesis(n->chain);
	char err[256];
	int rc = tx_rules_check(&g->params, g->hash, t, 1, err, sizeof(err));
	if (rc) {
		*result = simulation_json(n, 0, t, NULL, err);
		return 0;
	}
	struct ledger ro = chain_ledger(n->chain);
	ledger_mem_t *ov = ledger_mem_new(&ro);
	if (!ov)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	struct ledger ol = ledger_mem_ledger(ov);
	struct block_header hd;
	struct exec_ctx x;
	struct receipt r;
	next_header(n, &hd);
	exec_ctx_init(&x, &g->params, &g->compute, g->hash, &ol, &hd);
	memset(&r, 0, sizeof(r));
	int fits = 1;
	rc = apply_pending(n, &x, t, &fits, err, sizeof(err));
	if (!rc && fits)
		rc = exec_tx(&x, t, &r, err, sizeof(err));
	ledger_mem_free(ov); /* nothing of the run is kept */
	if (assay_err_is_local(rc)) {
		receipt_free(&r);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot simulate the transaction: %s", err);
	}
	if (!fits) {
		*result = simulation_json(n, 0, t, NULL, err);
		return 0;
	}
	*result = simulation_json(n, rc == 0, t, rc == 0 ? &r : NULL, rc == 0 ? r.error : err);
	receipt_free(&r);
	return 0;
}

/* simulatetransaction HEX: the same decoding as sendrawtransaction, the same
 * rules as a block; nothing is written and nothing is relayed. */
static int m_simulatetransaction(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	uint8_t *raw;
	size_t len;
	if (node_raw_tx_param(rpc_param(params, 0), "simulatetransaction", &raw, &len, e) < 0)
		return -1;
	if (len > p->max_tx_bytes) { /* a stateless rule, as sendrawtransaction applies it */
		char err[96];
		free(raw);
		snprintf(err, sizeof(err), "%zu bytes, limit %u", len, p->max_tx_bytes);
		*result = simulation_json(n, 0, NULL, NULL, err);
		return 0;
	}
	struct tx t;
	char derr[160];
	int rc = tx_decode_err(&t, raw, len, p->max_tx_bytes, derr, sizeof(derr));
	free(raw);
	if (rc)
		return rpc_fail(e, RPC_DESERIALIZATION_ERROR, "transaction decode failed: %s", derr);
	rc = simulate(n, &t, result, e);
	tx_free(&t);
	return rc;
}

static const struct rpc_method simulate_methods[] = {
	{"simulatetransaction", m_simulatetransaction,
	 "simulatetransaction HEX - dry run of a signed transaction on the next block; nothing is sent"},
};

void node_register_simulate_rpc(struct node *n)
{
	rpc_register(n->rpc, simulate_methods, sizeof(simulate_methods) / sizeof(simulate_methods[0]), n);
}

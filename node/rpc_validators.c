/* getvalidators: the validator set of a height with its proposer
 * priorities, and every validator record at the tip (bond, jail, unbonding
 * stake), for operators, the CLI and tests (docs/rpc.md). Not for: the
 * rules (consensus/validators.c) or the engine (consensus.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/validators.h"
#include "node/node.h"

/* One validator: its set entry (vs may be NULL) and its record at the tip. */
static json_t *validator_json(struct node *n, const uint8_t pk[PUBKEY_LEN], const struct bft_validator *v,
			      const struct validator_record *r)
{
	char addr_s[ADDR_STR_MAX];
	uint8_t addr[ADDR_LEN];
	address_from_pubkey(pk, addr);
	address_encode(n->genesis.net, addr, addr_s);
	json_t *unb = json_array();
	for (uint32_t i = 0; r && i < r->nunbonding; i++)
		json_array_append_new(unb, json_pack("{s:I,s:I}", "amount", (json_int_t)r->unbonding[i].amount,
						     "release_height", (json_int_t)r->unbonding[i].release_height));
	json_t *o = json_pack("{s:s,s:o,s:I,s:b,s:I,s:o}", "address", addr_s, "pubkey", rpc_hex(pk, PUBKEY_LEN),
			      "power", (json_int_t)(v ? v->power : 0), "jailed", r ? r->jailed : 0, "bond",
			      (json_int_t)(r ? r->bond : 0), "unbonding", unb);
	json_object_set_new(o, "proposer_priority", v ? json_integer(v->priority) : json_null());
	json_object_set_new(o, "jailed_until", json_integer((json_int_t)(r && r->jailed ? r->jailed_until : 0)));
	return o;
}

static int m_getvalidators(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	json_t *hp = rpc_param(params, 0);
	uint64_t tip = chain_height(n->chain), h = tip + 1;
	if (hp && !json_is_null(hp)) {
		/* 0 is a height, only never a kept one: -8 below, as for any
		 * other height outside the range (docs/rpc.md) */
		if (!json_is_integer(hp) || json_integer_value(hp) < 0)
			return rpc_fail(e, RPC_INVALID_PARAMS, "height must be a non-negative integer");
		h = (uint64_t)json_integer_value(hp);
	}
	struct bft_valset vs;
	int rc = chain_validator_set(n->chain, h, &vs);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_INVALID_PARAMETER,
				"no validator set kept for height %llu (kept: the last evidence_max_age heights up to "
				"tip + 2 = %llu)", (unsigned long long)h, (unsigned long long)tip + 2);
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the validator set: %s", assay_strerror(rc));
	struct ledger l = chain_ledger(n->chain);
	json_t *list = json_array();
	for (uint32_t i = 0; i < vs.n && !rc; i++) {
		struct validator_record r;
		rc = validators_get(&l, vs.v[i].pubkey, &r);
		if (rc == 0 || rc == ASSAY_ENOTFOUND)
			json_array_append_new(list, validator_json(n, vs.v[i].pubkey, &vs.v[i], rc ? NULL : &r));
		rc = rc == ASSAY_ENOTFOUND ? 0 : rc;
	}
	/* Records outside this set: jailed, unbonding, or entering later. */
	json_t *others = json_array();
	uint8_t *pks = NULL;
	size_t count = 0;
	if (!rc)
		rc = validators_list(&l, &pks, &count);
	for (size_t i = 0; i < count && !rc; i++) {
		const uint8_t *pk = pks + i * PUBKEY_LEN;
		struct validator_record r;
		if (bft_valset_find(&vs, pk) >= 0 || validators_get(&l, pk, &r) != 0)
			continue;
		json_array_append_new(others, validator_json(n, pk, NULL, &r));
	}
	free(pks);
	if (rc) {
		json_decref(list);
		json_decref(others);
		bft_valset_free(&vs);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read validator records: %s", assay_strerror(rc));
	}
	*result = json_pack("{s:I,s:I,s:o,s:o,s:o}", "height", (json_int_t)h, "total_power", (json_int_t)vs.total,
			    "proposer", rpc_hex(vs.v[vs.proposer].pubkey, PUBKEY_LEN), "validators", list, "others",
			    others);
	bft_valset_free(&vs);
	return 0;
}

static const struct rpc_method validators_methods[] = {
	{"getvalidators", m_getvalidators,
	 "getvalidators [HEIGHT] - the validator set of HEIGHT (default: the next block's) with powers, proposer "
	 "priorities, bonds, jail and unbonding stake"},
};

void node_register_validators_rpc(struct node *n)
{
	rpc_register(n->rpc, validators_methods, sizeof(validators_methods) / sizeof(validators_methods[0]), n);
}

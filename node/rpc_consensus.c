/* getconsensusstate: where this node's BFT engine is (height, round, step,
 * the round's proposer and proposal, lock and valid rounds, the prevote and
 * precommit power seen), for operators and tests; and the commit object of
 * getblock (its signers with their power). Not for: the engine itself
 * (consensus.c) or chain data (node_rpc.c). */
#include <jansson.h>
#include <string.h>

#include "node/consensus.h"
#include "node/node.h"

static const char *step_name(enum bft_step s)
{
	return s == BFT_STEP_PROPOSE ? "propose" : s == BFT_STEP_PREVOTE ? "prevote" : "precommit";
}

static json_t *votes_json(const struct consensus_votes *v)
{
	json_t *values = json_array();
	for (uint32_t i = 0; i < v->nvalues; i++)
		json_array_append_new(values, json_pack("{s:o,s:I}", "hash", rpc_hex(v->values[i].value, HASH_LEN),
							"power", (json_int_t)v->values[i].power));
	return json_pack("{s:I,s:i,s:I,s:o}", "power", (json_int_t)v->any, "voters", (int)v->voters, "nil",
			 (json_int_t)v->nil, "values", values);
}

static json_t *hash_or_null(int64_t round, const uint8_t hash[HASH_LEN])
{
	return round >= 0 ? rpc_hex(hash, HASH_LEN) : json_null();
}

static int m_getconsensusstate(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct consensus_info ci;
	(void)params;
	(void)e;
	consensus_info(n, &ci);
	if (!ci.running) {
		*result = json_pack("{s:b}", "running", 0);
		return 0;
	}
	json_t *proposal = json_null();
	if (ci.has_proposal)
		proposal = json_pack("{s:o,s:I,s:s}", "hash", rpc_hex(ci.proposal, HASH_LEN), "pol_round",
				     (json_int_t)ci.proposal_pol_round, "validity",
				     ci.proposal_validity > 0 ? "valid" : ci.proposal_validity < 0 ? "invalid" : "unknown");
	*result = json_pack("{s:b,s:I,s:i,s:s,s:b,s:o,s:I,s:I,s:I}", "running", 1, "height", (json_int_t)ci.height,
			    "round", (int)ci.round, "step", step_name(ci.step), "validator", ci.is_validator,
			    "proposer", rpc_hex(ci.proposer, PUBKEY_LEN), "locked_round", (json_int_t)ci.locked_round,
			    "valid_round", (json_int_t)ci.valid_round, "decided", (json_int_t)ci.decided);
	json_object_set_new(*result, "locked_value", hash_or_null(ci.locked_round, ci.locked_value));
	json_object_set_new(*result, "valid_value", hash_or_null(ci.valid_round, ci.valid_value));
	json_object_set_new(*result, "proposal", proposal);
	json_object_set_new(*result, "total_power", json_integer((json_int_t)ci.total_power));
	json_object_set_new(*result, "prevotes", votes_json(&ci.prevotes));
	json_object_set_new(*result, "precommits", votes_json(&ci.precommits));
	json_object_set_new(*result, "evidence", json_integer((json_int_t)ci.evidence));
	json_object_set_new(*result, "wal_bytes", json_integer((json_int_t)ci.wal_bytes));
	json_object_set_new(*result, "wal_replayed", json_integer((json_int_t)ci.replayed));
	json_object_set_new(*result, "doublesigned", json_integer((json_int_t)ci.doublesigned));
	json_object_set_new(*result, "engine_rebuilds", json_integer((json_int_t)ci.rebuilt));
	return 0;
}

json_t *node_commit_json(struct node *n, const struct commit *c)
{
	const struct genesis *g = &n->genesis;
	struct bft_valset vs;
	/* powers from the set of the commit's height while the state keeps it
	 * (docs/protocol.md §10.1); null beyond */
	int known = chain_validator_set(n->chain, c->height, &vs) == 0;
	uint64_t signed_power = 0;
	json_t *signers = json_array();
	for (uint32_t i = 0; i < c->nsigs; i++) {
		int at = known ? bft_valset_find(&vs, c->sigs[i].validator) : -1;
		uint64_t power = at >= 0 ? vs.v[at].power : 0;
		signed_power += power;
		char addr[ADDR_STR_MAX];
		uint8_t a[ADDR_LEN];
		address_from_pubkey(c->sigs[i].validator, a);
		address_encode(g->net, a, addr);
		json_array_append_new(signers, json_pack("{s:o,s:s,s:o}", "pubkey", rpc_hex(c->sigs[i].validator, PUBKEY_LEN),
							 "address", addr, "power",
							 at >= 0 ? json_integer((json_int_t)power) : json_null()));
	}
	json_t *out = json_pack("{s:I,s:i,s:o,s:o,s:o,s:o}", "height", (json_int_t)c->height, "round", (int)c->round,
				"block_hash", rpc_hex(c->block_hash, HASH_LEN), "signers", signers, "power_signed",
				known ? json_integer((json_int_t)signed_power) : json_null(), "total_power",
				known ? json_integer((json_int_t)vs.total) : json_null());
	if (known)
		bft_valset_free(&vs);
	return out;
}

static const struct rpc_method consensus_methods[] = {
	{"getconsensusstate", m_getconsensusstate,
	 "getconsensusstate - the BFT engine's height, round, step, proposer, proposal, lock and valid rounds, "
	 "prevote and precommit power"},
};

void node_register_consensus_rpc(struct node *n)
{
	rpc_register(n->rpc, consensus_methods, sizeof(consensus_methods) / sizeof(consensus_methods[0]), n);
}

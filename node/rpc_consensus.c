/* getconsensusstate: where this node's BFT engine is (height, round, step,
 * the round's proposer, lock and valid rounds), for operators and tests.
 * Not for: the engine itself (consensus.c) or chain data (node_rpc.c). */
#include <jansson.h>

#include "node/consensus.h"
#include "node/node.h"

static const char *step_name(enum bft_step s)
{
	return s == BFT_STEP_PROPOSE ? "propose" : s == BFT_STEP_PREVOTE ? "prevote" : "precommit";
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
	*result = json_pack("{s:b,s:I,s:i,s:s,s:b,s:o,s:I,s:I,s:I}", "running", 1, "height", (json_int_t)ci.height,
			    "round", (int)ci.round, "step", step_name(ci.step), "validator", ci.is_validator,
			    "proposer", rpc_hex(ci.proposer, PUBKEY_LEN), "locked_round", (json_int_t)ci.locked_round,
			    "valid_round", (json_int_t)ci.valid_round, "decided", (json_int_t)ci.decided);
	return 0;
}

static const struct rpc_method consensus_methods[] = {
	{"getconsensusstate", m_getconsensusstate,
	 "getconsensusstate - the BFT engine's height, round, step, proposer, lock and valid rounds"},
};

void node_register_consensus_rpc(struct node *n)
{
	rpc_register(n->rpc, consensus_methods, sizeof(consensus_methods) / sizeof(consensus_methods[0]), n);
}

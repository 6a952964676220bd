/* What a client (assay-cli, assay-worker) learns about the chain it talks to
 * from the node's getchainparams: the network, the chain id every
 * transaction signs over, and the chain parameters the fee floor and the
 * limits come from, so that no client copies a genesis default. Pure: the
 * caller makes the RPC call. Not for: compute parameters (getcomputeparams). */
#ifndef ASSAY_WALLET_CLIENT_CHAIN_H
#define ASSAY_WALLET_CLIENT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "consensus/params.h"
#include "core/network.h"
#include "core/sha256.h"

struct client_chain {
	const struct network_info *network; /* the node's network (core/network.h) */
	uint8_t chain_id[HASH_LEN];         /* genesis hash */
	struct chain_params params;         /* as the genesis fixed them */
};

/* Reads a getchainparams result (docs/rpc.md) into chain. 0, or
 * ASSAY_EDECODE with err naming the missing or bad field (an unknown network
 * is one). */
int client_chain_parse(const json_t *result, struct client_chain *chain, char *err, size_t errlen);

#endif

/* The block producer: every chain's blocks come from the BFT engine
 * (consensus.h), which this starts and stops for the node. A validator key
 * of the genesis set takes part; one validator decides alone every -blocktime
 * ms; a node without a key follows. Not for: validity (chain.c) or what
 * follows a connected block (node_connect_block in node.c). */
#ifndef ASSAY_NODE_PRODUCER_H
#define ASSAY_NODE_PRODUCER_H

#include <stddef.h>

#include "node/node.h"

/* Starts the consensus driver. 0, or an error with err filled. */
int producer_start(struct node *n, char *err, size_t errlen);
/* Stops it: nothing is signed or connected by it after this returns. */
void producer_stop(struct node *n);
/* Builds the block this node proposes next from m's candidates, best fee
 * per byte first, at time_ms and signed with sk (chain_build_block_ids,
 * with the pool's ids). Every pending transaction is a candidate, so one
 * the builder leaves out (over the gas, chunk or byte budget left, or
 * invalid where it would run) takes none of the max_block_txs places: the
 * block fills with the next ones. 0, or chain_build_block's error, with
 * no block (ASSAY_ENOMEM included); the caller frees blk. */
int producer_build_block(chain_t *c, mempool_t *m, uint64_t time_ms, const uint8_t sk[SECKEY_LEN],
			 struct block *blk, char *err, size_t errlen);

#endif

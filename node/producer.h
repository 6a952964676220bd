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

#endif

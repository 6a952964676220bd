/* The block producer: on a chain where this node's key holds more than 2/3
 * of the stake (a one-validator chain, until the BFT engine), a timer builds
 * a block from the mempool every blocktime ms, signs its commit and connects
 * it. Not for: validity (chain.c) or what follows a connected block
 * (node_connect_block in node.c). */
#ifndef ASSAY_NODE_PRODUCER_H
#define ASSAY_NODE_PRODUCER_H

#include "node/node.h"

/* Starts the timer when n's key may produce alone (logs why not otherwise).
 * 0, or ASSAY_ENOMEM. */
int producer_start(struct node *n);
/* Stops the timer: no block is produced after it returns. */
void producer_stop(struct node *n);
/* Builds, signs and connects one block now. 0, or the error (logged; a
 * local failure has aborted the node). */
int producer_produce_block(struct node *n);

#endif

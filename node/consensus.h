/* The node's BFT driver (docs/consensus.md §10): one consensus/bft engine
 * for the current height, fed by p2p proposals and votes and by libevent
 * timers, answered with blocks built and executed by the chain, its
 * decisions connected through node_connect_block; signatures go through the
 * sign-state file DATADIR/signstate. Not for: the algorithm (consensus/bft/),
 * block rules (chain.c) or the wire (net/). */
#ifndef ASSAY_NODE_CONSENSUS_H
#define ASSAY_NODE_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/bft/bft.h"

struct node;
typedef struct consensus consensus_t;

/* Candidate blocks kept by hash (our own and proposed ones) for the current
 * and the next height, until decided or pushed out by newer ones. */
#define CONSENSUS_MAX_CANDIDATES 8
/* Period of bft_rebroadcast (docs/consensus.md §7). */
#define CONSENSUS_REBROADCAST_MS 1000

/* Starts the engine at the chain's next height, with n's key as validator
 * when it is one of the genesis set (a follower otherwise). 0, or an error
 * with err filled (the sign-state file cannot be opened or is corrupt). */
int consensus_start(struct node *n, char *err, size_t errlen);
/* After a stop request or an abort: timers stop and inputs are ignored, so
 * nothing more is signed or connected; the memory stays until consensus_stop
 * (safe to call from inside the driver's own callbacks). */
void consensus_halt(struct node *n);
/* Stops timers and frees the engine; nothing is signed after it returns. */
void consensus_stop(struct node *n);
/* A proposal (is_vote 0: proposal || block) or vote payload from a peer:
 * returns the engine's code (docs/consensus.md §2), ASSAY_EDECODE for bytes
 * that do not decode, ASSAY_EINVALID for a block that is not the proposal's. */
int consensus_on_message(struct node *n, int is_vote, const uint8_t *p, size_t len);
/* A block was connected: when it came from elsewhere (block sync) and the
 * engine's height is now behind, the engine restarts at the next height. */
void consensus_on_block_connected(struct node *n, uint64_t height);

/* Where the engine is, for getconsensusstate. */
struct consensus_info {
	int running;
	uint64_t height;
	uint32_t round;
	enum bft_step step;
	int is_validator;
	int64_t locked_round, valid_round;
	uint8_t proposer[PUBKEY_LEN];
	uint64_t decided;              /* heights decided by this engine since start */
};
void consensus_info(struct node *n, struct consensus_info *info);

#endif

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
/* Duplicate-vote evidence records remembered, so that one reported again
 * (a replay) is not submitted twice; the oldest is forgotten first. */
#define CONSENSUS_MAX_EVIDENCE 64
/* Engine rebuilds from the WAL after ASSAY_ENOMEM in a row (each within
 * CONSENSUS_REBUILD_QUIET_MS of the last, no height decided between) before
 * the node gives up and aborts: memory that stays short fails the rebuilds
 * at once. */
#define CONSENSUS_MAX_REBUILDS 3
#define CONSENSUS_REBUILD_QUIET_MS 1000
/* A height's WAL past this size takes no more proposals or votes from peers
 * (a flood of validly signed messages from a faulty validator; 32 blocks of
 * the 8 MiB limit): the node's own inputs are still logged, and it gets the
 * height by block sync, which starts the next with an empty log. */
#define CONSENSUS_WAL_MAX_BYTES (256u << 20)
/* Rounds of precommits for the tip gathered at once (block sync). */
#define CONSENSUS_TIP_ROUNDS 4
/* Heights decided are counted by the rounds they took: up to 1, 2, 3, 5,
 * 10 and more. */
#define CONSENSUS_ROUND_BUCKETS 5
/* Values listed per vote kind in consensus_info. */
#define CONSENSUS_INFO_VALUES 4

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
/* A chunk was stored (node_chunks_accept): a proposal of the engine's
 * height found unavailable for want of it, now with all its chunks, is
 * judged again and the engine given its verdict (docs/consensus.md §9). */
void consensus_on_chunk(struct node *n, const uint8_t chunk[HASH_LEN]);

/* A commit this node knows for the block hash at height, which came
 * without one (block sync, block gossip: a block carries its parent's
 * commit, not its own): one the engine decided without the block, or more
 * than 2/3 of the power in one round of the engine's precommits for it.
 * 1 with *out filled (commit_free), 0 when none is known, ASSAY_EINVALID
 * when the validators committed another block at that height (as the
 * engine decided it, or saw the precommits). */
int consensus_known_commit(struct node *n, uint64_t height, const uint8_t hash[HASH_LEN], struct commit *out);

/* The prevotes or precommits of one round as the engine counted them. */
struct consensus_votes {
	uint64_t any;                  /* power of the validators that voted, each once */
	uint64_t nil;                  /* power behind nil */
	uint32_t voters;               /* validators that voted */
	uint32_t nvalues;              /* values[0 .. nvalues-1], most power first */
	struct {
		uint8_t value[HASH_LEN];
		uint64_t power;
	} values[CONSENSUS_INFO_VALUES];
};

/* Where the engine is, for getconsensusstate. */
struct consensus_info {
	int running;
	uint64_t height;
	uint32_t round;
	enum bft_step step;
	int is_validator;
	int64_t locked_round, valid_round;
	uint8_t locked_value[HASH_LEN], valid_value[HASH_LEN];
	uint8_t proposer[PUBKEY_LEN];
	uint64_t decided;              /* heights decided by this engine since start */
	uint64_t total_power;
	int has_proposal;              /* a proposal of the current round is held */
	uint8_t proposal[HASH_LEN];    /* its block hash */
	int64_t proposal_pol_round;    /* -1: none */
	int proposal_validity;         /* 1 valid, -1 invalid, 0 not checked yet */
	struct consensus_votes prevotes, precommits; /* of the current round */
	uint64_t evidence;             /* duplicate-vote evidence reported since start */
	uint64_t wal_bytes;            /* size of DATADIR/consensus.wal (0: a follower) */
	uint64_t replayed;             /* WAL records replayed at the last engine start */
	uint64_t doublesigned;         /* -testdoublesign: conflicting votes sent */
	uint64_t rebuilt;              /* engine rebuilt from the WAL after ASSAY_ENOMEM, since start */
	size_t outputs_queued;         /* engine outputs not yet handled: 0 between inputs */
};
void consensus_info(struct node *n, struct consensus_info *info);
/* The consensus figures in Prometheus text (for node_metrics): height,
 * round and step, rounds per height, proposal-to-commit time, missed votes
 * per validator, evidence. */
struct evbuffer;
void consensus_metrics(struct node *n, struct evbuffer *out);

#endif

/* The Tendermint consensus engine (Buchman, Kwon, Milosevic, "The latest
 * gossip on BFT consensus", 2018, Algorithm 1), as a pure state machine
 * (docs/consensus.md): inputs are proposals, votes, timer expiries, the
 * node's proposal value and its verdict on a proposed value; outputs are
 * queued (messages to broadcast, timers to set, requests to the node,
 * decisions with their commit, evidence). No clock, I/O or randomness.
 * Not for: gossip, storage, the WAL or the sign-state file (the node). */
#ifndef ASSAY_CONSENSUS_BFT_BFT_H
#define ASSAY_CONSENSUS_BFT_BFT_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/bft/msg.h"
#include "consensus/bft/valset.h"
#include "consensus/bft/voteset.h"
#include "core/block.h"

/* Distinct proposals kept per round (a faulty proposer may send many; one
 * with less vote power behind it makes room for one with more). */
#define BFT_MAX_PROPOSALS_PER_ROUND 4u
/* Messages more than this many rounds above ours are dropped unread: the
 * proposer of a round costs a step per round to compute, and correct
 * validators, moved only by timeouts that grow per round, are never this far
 * apart (10000 rounds take weeks at the default timeouts). */
#define BFT_MAX_ROUND_JUMP 10000u
/* bft_rebroadcast repeats our votes of the current round and of this many
 * rounds before it. */
#define BFT_REBROADCAST_ROUNDS 3u
/* Messages for the next height kept until this engine gets there, per
 * signer (a correct validator sends three a round: a proposal, a prevote, a
 * precommit; this keeps five rounds of it) and in all: room for every
 * member of the largest set, so that no signers crowd out the others. */
#define BFT_MAX_FUTURE_PER_SIGNER 16u
#define BFT_MAX_FUTURE_MSGS (BFT_MAX_VALIDATORS * BFT_MAX_FUTURE_PER_SIGNER)

enum bft_step { BFT_STEP_PROPOSE = 0, BFT_STEP_PREVOTE = 1, BFT_STEP_PRECOMMIT = 2 };

/* timeout(step, round) = base + delta x round, in milliseconds. */
struct bft_timeouts {
	uint64_t propose_ms, propose_delta_ms;
	uint64_t prevote_ms, prevote_delta_ms;
	uint64_t precommit_ms, precommit_delta_ms;
};
/* CometBFT's defaults: 3 s / 1 s / 1 s, each + 0.5 s per round. */
void bft_timeouts_default(struct bft_timeouts *t);
/* dev and local chains: 500 ms / 200 ms / 200 ms, each + 100 ms per round. */
void bft_timeouts_local(struct bft_timeouts *t);
uint64_t bft_timeout_ms(const struct bft_timeouts *t, enum bft_step step, uint32_t round);

/* What the engine asks of the node, synchronously. Callbacks must not call
 * back into the engine. */
struct bft_ops {
	void *ctx;
	/* Fill sig for this vote / proposal (all fields but sig set). The node
	 * enforces its sign-state here; any non-zero return refuses, and the
	 * engine then goes on without sending that message. */
	int (*sign_vote)(void *ctx, const struct bft_vote *v, uint8_t sig[SIG_LEN]);
	int (*sign_proposal)(void *ctx, const struct bft_proposal *p, uint8_t sig[SIG_LEN]);
	/* 0 if sig by pubkey over sighash verifies (bft_vote_sighash /
	 * bft_proposal_sighash), else non-zero. */
	int (*verify)(void *ctx, const uint8_t pubkey[PUBKEY_LEN], const uint8_t sighash[HASH_LEN],
		      const uint8_t sig[SIG_LEN]);
};

struct bft_config {
	uint8_t chain_id[HASH_LEN];
	uint64_t height;               /* first height to decide (>= 1) */
	struct bft_timeouts timeouts;
	int is_validator;              /* 0: follow and decide, never sign */
	uint8_t self[PUBKEY_LEN];      /* our validator key, when is_validator */
};

enum bft_output_kind {
	BFT_OUT_PROPOSAL = 1, /* broadcast .proposal */
	BFT_OUT_VOTE,         /* broadcast .vote */
	BFT_OUT_TIMEOUT,      /* call bft_on_timeout(.step, .height, .round) after .delay_ms */
	BFT_OUT_GET_VALUE,    /* we propose at (.height, .round): answer with bft_on_value */
	BFT_OUT_VALIDATE,     /* execute .value for .height: answer with bft_on_validity */
	BFT_OUT_DECIDE,       /* .height decided .value in .round, with .commit */
	BFT_OUT_EVIDENCE,     /* .evidence: a validator signed two conflicting votes */
};

struct bft_output {
	enum bft_output_kind kind;
	uint64_t height;
	uint32_t round;
	enum bft_step step;            /* TIMEOUT */
	uint64_t delay_ms;             /* TIMEOUT */
	uint8_t value[HASH_LEN];       /* VALIDATE, DECIDE */
	struct bft_proposal proposal;  /* PROPOSAL; DECIDE: the decided proposal (zero if decided by bft_on_commit without it) */
	struct bft_vote vote;          /* VOTE */
	struct bft_evidence evidence;  /* EVIDENCE */
	struct commit commit;          /* DECIDE: sigs malloc()ed, see bft_output_free */
};

typedef struct bft_engine bft_engine_t;

/* Copies cfg, vals (whose proposer is the proposer of round 0 at
 * cfg->height) and ops. The same set serves every later height, stepped
 * once per height (docs/consensus.md §4). NULL on failure (err filled). */
bft_engine_t *bft_create(const struct bft_config *cfg, const struct bft_valset *vals, const struct bft_ops *ops,
			 char *err, size_t errlen);
void bft_destroy(bft_engine_t *e);

/* Starts round 0 of the first height. */
int bft_start(bft_engine_t *e);
/* Starts the first height at `round` instead: for a validator restarted
 * after it signed in rounds below it at this height (its sign-state), which
 * must not sign again in those rounds and would otherwise wait in them. */
int bft_start_at(bft_engine_t *e, uint32_t round);

/* Inputs. Each returns 0 when the message was new and taken;
 * ASSAY_EEXISTS when it was already known or is for a past height
 * (harmless); ASSAY_ELIMIT for a height or round too far ahead;
 * ASSAY_ENOTFOUND for a signer outside the set; ASSAY_EINVALID for a
 * proposal from the wrong proposer; ASSAY_ESIG for a bad signature;
 * ASSAY_ENOMEM (local: the engine is then unusable, replay into a new one). */
int bft_on_proposal(bft_engine_t *e, const struct bft_proposal *p);
int bft_on_vote(bft_engine_t *e, const struct bft_vote *v);
/* A timer set by BFT_OUT_TIMEOUT fired; stale ones are ignored. */
int bft_on_timeout(bft_engine_t *e, enum bft_step step, uint64_t height, uint32_t round);
/* The node's block for a BFT_OUT_GET_VALUE (ignored when stale). */
int bft_on_value(bft_engine_t *e, uint64_t height, uint32_t round, const uint8_t value[HASH_LEN]);
/* The node's verdict on a BFT_OUT_VALIDATE: valid = 1 or 0. */
int bft_on_validity(bft_engine_t *e, uint64_t height, const uint8_t value[HASH_LEN], int valid);
/* A commit for our current height from outside the rounds (block sync,
 * or a peer that decided while we missed its precommits): when it holds
 * distinct validators' valid precommit signatures over c->block_hash with
 * more than 2/3 of the power, the height is decided. The node calls this
 * once it has the block and found it valid. Errors as for votes. */
int bft_on_commit(bft_engine_t *e, const struct commit *c);
/* Queues again, for a gossip layer that resends what peers may have
 * missed: our votes of the current round and the BFT_REBROADCAST_ROUNDS
 * before it, the proposals of the current round with the prevotes of their
 * POL rounds, the prevotes behind our valid value, and the last decided
 * height's proposal and precommits. */
int bft_rebroadcast(bft_engine_t *e);

/* Moves the oldest queued output into out: 1, or 0 when none. The caller
 * calls bft_output_free on each output it took. */
int bft_next_output(bft_engine_t *e, struct bft_output *out);
void bft_output_free(struct bft_output *out);
/* Outputs queued and not yet taken (a driver that gave the engine an input
 * and did not drain the queue leaves them here: votes unsent, timeouts
 * unset). */
size_t bft_outputs_queued(const bft_engine_t *e);

/* Where the engine is. */
uint64_t bft_height(const bft_engine_t *e);
uint32_t bft_round(const bft_engine_t *e);
enum bft_step bft_step(const bft_engine_t *e);
/* locked / valid round, -1 when none; value copied when not NULL. */
int64_t bft_locked(const bft_engine_t *e, uint8_t value[HASH_LEN]);
int64_t bft_valid(const bft_engine_t *e, uint8_t value[HASH_LEN]);
/* Proposer of (current height, round): 0 and pubkey, or ASSAY_ELIMIT for a
 * round beyond the window, ASSAY_ENOMEM. */
int bft_proposer(bft_engine_t *e, uint32_t round, uint8_t pubkey[PUBKEY_LEN]);

/* What the engine has seen at its current height, for operators (the
 * node's getconsensusstate and figures) and tests; pure reads, valid until
 * the next input. */
/* The prevotes or precommits (type VOTE_PREVOTE / VOTE_PRECOMMIT) of round,
 * or NULL when none of that round is stored: power_any and the power behind
 * each value are in the set (voteset.h). */
const struct bft_voteset *bft_votes(const bft_engine_t *e, uint32_t round, uint8_t type);
/* Total voting power of the height's set. */
uint64_t bft_total_power(const bft_engine_t *e);
/* The i-th proposal stored for round: 1 and *p (and *validity: 1 valid, -1
 * invalid, 0 not known yet, when not NULL), or 0 when there is none. */
int bft_round_proposal(const bft_engine_t *e, uint32_t round, uint32_t i, struct bft_proposal *p, int *validity);
/* Messages the engine holds for its height and the next (votes counted once
 * per stored copy, proposals, messages kept for the next height): what the
 * bounds of docs/consensus.md §5 keep finite. */
size_t bft_stored_messages(const bft_engine_t *e);

#endif

/* Vote sets (docs/consensus.md §5): the prevotes or precommits of one
 * (height, round, type), at most one per validator, with the power behind
 * each value; and the rounds of one height, bounded by a window ahead of the
 * current round. A second, different vote of a validator is not counted: it
 * is duplicate-vote evidence. Not for: checking signatures (the caller does
 * that before adding) or deciding (bft.c). */
#ifndef ASSAY_CONSENSUS_BFT_VOTESET_H
#define ASSAY_CONSENSUS_BFT_VOTESET_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/bft/msg.h"
#include "consensus/bft/valset.h"
#include "core/block.h"

/* Besides its first vote, a validator's conflicting votes in one (round,
 * type) count for the values they name, up to this many: Algorithm 1
 * counts senders per value, and a node that saw an equivocator's other
 * vote first must still be able to see the quorum the rest saw. When they
 * are full, a further one replaces the kept one whose value has the least
 * power behind it, if its own value has more; otherwise it is dropped. */
#define BFT_MAX_EXTRA_VOTES 3u
/* Votes for rounds more than this far above the current round are not
 * stored (they still count toward the round-skip rule, bft.c). Memory for a
 * height is then O((current round + BFT_MAX_ROUNDS_AHEAD) x validators). */
#define BFT_MAX_ROUNDS_AHEAD 8u

struct bft_tally {
	uint8_t has_value;       /* 0: nil */
	uint8_t value[HASH_LEN];
	uint64_t power;
};

struct bft_voteset {
	uint64_t height;
	uint32_t round;
	uint8_t type;             /* VOTE_PREVOTE or VOTE_PRECOMMIT */
	uint32_t n;               /* validators */
	struct bft_vote *votes;   /* n slots; slot i holds validator i's first vote */
	uint8_t *state;           /* per validator: 0 none, 1 voted, 2 voted and evidence reported */
	struct bft_vote *extra;   /* NULL until a conflict; n x BFT_MAX_EXTRA_VOTES */
	uint8_t *nextra;          /* per validator: conflicting votes kept in extra */
	struct bft_tally *tallies; /* one per distinct value */
	uint32_t ntallies, captallies;
	uint64_t power_any;       /* power of the validators that voted, each once */
};

/* 0 or ASSAY_ENOMEM. */
int bft_voteset_init(struct bft_voteset *s, uint64_t height, uint32_t round, uint8_t type, uint32_t nvals);
void bft_voteset_free(struct bft_voteset *s);

/* Adds validator idx's vote v (already verified; type, height and round
 * must match the set, else ASSAY_EINVALID) with its power. Returns 0 when
 * counted, ASSAY_EEXISTS when this vote (same value) is already here, and
 * ASSAY_ELIMIT when it conflicts, the validator's conflicting votes are at
 * BFT_MAX_EXTRA_VOTES and none has less power behind its value. On the
 * validator's first conflict here
 * *got_evidence = 1 and *ev holds both signed votes. */
int bft_voteset_add(struct bft_voteset *s, uint32_t idx, uint64_t power, const struct bft_vote *v,
		    struct bft_evidence *ev, int *got_evidence);
/* Power behind value (has_value = 0: nil). */
uint64_t bft_voteset_power(const struct bft_voteset *s, int has_value, const uint8_t value[HASH_LEN]);
/* Validator idx's first vote, or NULL. */
const struct bft_vote *bft_voteset_get(const struct bft_voteset *s, uint32_t idx);
/* Validator idx's vote for value (has_value = 0: nil), first or conflicting, or NULL. */
const struct bft_vote *bft_voteset_get_for(const struct bft_voteset *s, uint32_t idx, int has_value,
					   const uint8_t value[HASH_LEN]);
/* The signatures for value as a commit (protocol §4.2), in validator order:
 * 0 or ASSAY_ENOMEM; c->sigs is malloc()ed, commit_free releases it. */
int bft_voteset_commit(const struct bft_voteset *s, const struct bft_valset *vals, const uint8_t value[HASH_LEN],
		       struct commit *c);

/* The prevotes and precommits of one height, by round. */
struct bft_round_votes {
	struct bft_voteset prevotes, precommits;
};
struct bft_height_votes {
	uint64_t height;
	uint32_t nvals;
	uint32_t nrounds;                /* rounds[0 .. nrounds-1], allocated lazily */
	struct bft_round_votes **rounds; /* NULL where nothing arrived */
};

void bft_height_votes_init(struct bft_height_votes *hv, uint64_t height, uint32_t nvals);
void bft_height_votes_free(struct bft_height_votes *hv);
/* Adds a vote of v->height == hv->height as bft_voteset_add does; rounds
 * above current_round + BFT_MAX_ROUNDS_AHEAD are refused with ASSAY_ELIMIT
 * before anything is allocated. */
int bft_height_votes_add(struct bft_height_votes *hv, uint32_t current_round, uint32_t idx, uint64_t power,
			 const struct bft_vote *v, struct bft_evidence *ev, int *got_evidence);
/* The set for (round, type), or NULL when no vote of that round arrived. */
const struct bft_voteset *bft_height_votes_get(const struct bft_height_votes *hv, uint32_t round, uint8_t type);

#endif

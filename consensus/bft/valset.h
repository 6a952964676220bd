/* The validator set of one height for BFT consensus (docs/consensus.md §4):
 * validators sorted by public key with their voting power, the quorum
 * arithmetic (> 2/3 and > 1/3 of total power) and the weighted round-robin
 * proposer priority. Pure and self-contained. Not for: bonding, jailing or
 * set changes between heights (consensus/validators.h, protocol §10). */
#ifndef ASSAY_CONSENSUS_BFT_VALSET_H
#define ASSAY_CONSENSUS_BFT_VALSET_H

#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"

/* At most as many validators as a commit can carry signatures (protocol §4.2). */
#define BFT_MAX_VALIDATORS 1024u
/* Total power bound, so that 3 x power and priority arithmetic never overflow. */
#define BFT_MAX_TOTAL_POWER ((uint64_t)INT64_MAX / 8)
/* Priorities are rescaled when max - min exceeds this many times the total. */
#define BFT_PRIORITY_WINDOW_FACTOR 2

struct bft_validator {
	uint8_t pubkey[PUBKEY_LEN];
	uint64_t power;   /* voting power (bonded stake), > 0 */
	int64_t priority; /* proposer priority, see bft_valset_step */
};

struct bft_valset {
	uint32_t n;
	struct bft_validator *v; /* malloc()ed, n entries, ascending pubkey */
	uint64_t total;          /* sum of power */
	uint32_t proposer;       /* index chosen by the latest step */
};

/* Builds a set from n (pubkey, power) pairs in any order (priorities in vals
 * are ignored): sorts by pubkey, all priorities 0, then one step, so
 * vs->proposer is the proposer of round 0 of the first height. Rejects
 * n = 0, n > BFT_MAX_VALIDATORS, a zero power, a repeated key and a total
 * above BFT_MAX_TOTAL_POWER (ASSAY_EINVALID, message in err). */
int bft_valset_init(struct bft_valset *vs, const struct bft_validator *vals, uint32_t n, char *err,
		    size_t errlen);
/* Deep copy: 0 or ASSAY_ENOMEM. */
int bft_valset_copy(struct bft_valset *dst, const struct bft_valset *src);
void bft_valset_free(struct bft_valset *vs);

/* One proposer-selection step (CometBFT's IncrementProposerPriority(1)):
 * rescale if max - min > BFT_PRIORITY_WINDOW_FACTOR x total (each priority
 * divided, truncating, by ceil(diff / window)); centre (each priority minus
 * floor(sum / n)); every priority += power; the highest priority (ties: the
 * lowest pubkey) becomes vs->proposer and loses total. */
void bft_valset_step(struct bft_valset *vs);

/* Index of pubkey, or -1. */
int bft_valset_find(const struct bft_valset *vs, const uint8_t pubkey[PUBKEY_LEN]);

/* power > 2/3 of total (a quorum) and power > 1/3 of total (at least one
 * honest validator when fewer than 1/3 are faulty). */
static inline int bft_power_quorum(uint64_t power, uint64_t total)
{
	return power * 3 > total * 2;
}
static inline int bft_power_one_third(uint64_t power, uint64_t total)
{
	return power * 3 > total;
}

#endif

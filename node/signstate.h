/* The validator's sign-state file DATADIR/signstate (docs/consensus.md §10):
 * the last signature released, written and fsynced before the signature
 * leaves, so that nothing conflicting with it is ever signed, across
 * restarts and kill -9. Not for: when to sign or the write-ahead log of the
 * engine's inputs (node/consensus.c, node/conswal.h). */
#ifndef ASSAY_NODE_SIGNSTATE_H
#define ASSAY_NODE_SIGNSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/bft/msg.h"
#include "core/sha256.h"

typedef struct signstate signstate_t;

/* Steps as the sign-state orders them within one (height, round). */
enum signstate_step { SIGNSTATE_PROPOSAL = 0, SIGNSTATE_PREVOTE = 1, SIGNSTATE_PRECOMMIT = 2 };

/* The last signature released. */
struct signstate_last {
	int any;                  /* 0: nothing signed yet */
	uint64_t height;
	uint32_t round;
	uint32_t step;            /* enum signstate_step */
	uint8_t value[HASH_LEN];  /* what was signed (signstate_vote_value, signstate_proposal_value) */
};

/* Opens the file at path (none: nothing signed yet; the first signature
 * makes it), removing a temporary file a crash left beside it: 0 with *out
 * set, ASSAY_EIO, or ASSAY_ECORRUPT for a file that is not exactly one
 * whole line, an empty one included (the node must not sign without knowing
 * what was signed); err filled. */
int signstate_open(const char *path, signstate_t **out, char *err, size_t errlen);
void signstate_close(signstate_t *s);
const struct signstate_last *signstate_last(const signstate_t *s);

/* (height, round, step) against the last signature: -1 below, 0 the same
 * position, 1 above (or nothing signed yet). */
int signstate_cmp(const signstate_t *s, uint64_t height, uint32_t round, uint32_t step);

/* 0 when (height, round, step, value) may be signed: above the last
 * signature, or the very same thing again; a new one is then durable
 * (written to path.tmp, fsynced, renamed over path, the directory fsynced)
 * before the caller releases the signature. ASSAY_EEXISTS when it conflicts
 * (below the last, or another value at its position), ASSAY_EIO when the
 * file cannot be written (nothing may be signed; after a failed directory
 * fsync, nothing more until the file is opened again), errno saying why. */
int signstate_allow(signstate_t *s, uint64_t height, uint32_t round, uint32_t step,
		    const uint8_t value[HASH_LEN]);

/* What the file records for a vote: its block hash, all zero for nil (the
 * rest of a vote's sign bytes is its position). */
void signstate_vote_value(const struct bft_vote *v, uint8_t out[HASH_LEN]);
/* For a proposal: its whole sighash, so that the same block proposed at the
 * same (height, round) with another pol_round is a conflict, not a repeat. */
void signstate_proposal_value(const uint8_t chain_id[HASH_LEN], const struct bft_proposal *p,
			      uint8_t out[HASH_LEN]);

#endif

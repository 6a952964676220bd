/* BFT consensus messages and their canonical encodings (docs/consensus.md
 * §3): proposals, prevotes and precommits, what each signs, and the
 * duplicate-vote evidence record. Encodings follow docs/protocol.md §1;
 * votes sign exactly the vote sighash of protocol §4.3, so a set of
 * precommits is a commit the block check verifies. Not for: p2p framing or
 * gossip (net/), deciding anything (bft.c). */
#ifndef ASSAY_CONSENSUS_BFT_MSG_H
#define ASSAY_CONSENSUS_BFT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/block.h"
#include "core/buf.h"
#include "core/keys.h"
#include "core/sha256.h"

/* Rounds are below 2^31 (as CometBFT's int32 rounds); a higher round in an
 * encoding is rejected. */
#define BFT_MAX_ROUND 0x7fffffffu
/* pol_round of a proposal that carries no proof-of-lock round (the paper's -1). */
#define BFT_POL_NONE 0xffffffffu

/* Encoded sizes (fixed apart from the nil vote being 32 bytes shorter). */
#define BFT_VOTE_MAX_BYTES (1 + 8 + 4 + 1 + HASH_LEN + PUBKEY_LEN + SIG_LEN)
#define BFT_PROPOSAL_BYTES (8 + 4 + 4 + HASH_LEN + PUBKEY_LEN + SIG_LEN)
#define BFT_EVIDENCE_MAX_BYTES (1 + 2 * BFT_VOTE_MAX_BYTES)

/* Evidence kinds (the first byte of an encoded evidence record). */
#define BFT_EVIDENCE_DUPLICATE_VOTE 1

struct bft_vote {
	uint8_t type;                 /* VOTE_PREVOTE or VOTE_PRECOMMIT (core/block.h) */
	uint64_t height;
	uint32_t round;               /* <= BFT_MAX_ROUND */
	uint8_t has_value;            /* 0: a vote for nil */
	uint8_t value[HASH_LEN];      /* block hash; all zero when nil, never all zero otherwise */
	uint8_t validator[PUBKEY_LEN];
	uint8_t sig[SIG_LEN];         /* over bft_vote_sighash */
};

struct bft_proposal {
	uint64_t height;
	uint32_t round;               /* <= BFT_MAX_ROUND */
	uint32_t pol_round;           /* BFT_POL_NONE, or < round */
	uint8_t value[HASH_LEN];      /* block hash, not all zero */
	uint8_t proposer[PUBKEY_LEN];
	uint8_t sig[SIG_LEN];         /* over bft_proposal_sighash */
};

/* Two votes of one validator for the same (height, round, type) and
 * different values; a is the one whose encoding sorts first. */
struct bft_evidence {
	struct bft_vote a, b;
};

/* Vote:     type:u8 height:u64 round:u32 has_value:u8 [value[32]] validator[32] sig[64]
 * Proposal: height:u64 round:u32 pol_round:u32 value[32] proposer[32] sig[64]
 * Evidence: kind:u8 (1) vote_a vote_b, encode(vote_a) < encode(vote_b) bytewise */
void bft_vote_encode(const struct bft_vote *v, struct buf *b);
int bft_vote_read(struct bft_vote *v, struct reader *r);
/* Exactly one vote in p..p+n: 0 or ASSAY_EDECODE. */
int bft_vote_decode(struct bft_vote *v, const uint8_t *p, size_t n);
void bft_proposal_encode(const struct bft_proposal *pr, struct buf *b);
int bft_proposal_decode(struct bft_proposal *pr, const uint8_t *p, size_t n);
void bft_evidence_encode(const struct bft_evidence *ev, struct buf *b);
/* Checks the shape too: same validator, type, height and round, different
 * values, canonical order (ASSAY_EDECODE / ASSAY_EINVALID). Not the signatures. */
int bft_evidence_decode(struct bft_evidence *ev, const uint8_t *p, size_t n);
/* Orders two conflicting votes into ev: 0, or ASSAY_EINVALID when they do
 * not conflict (different validator, height, round or type, or same value). */
int bft_evidence_make(struct bft_evidence *ev, const struct bft_vote *x, const struct bft_vote *y);

/* Vote sign bytes: vote_sighash (protocol §4.3) with an all-zero block hash for nil. */
void bft_vote_sighash(const uint8_t chain_id[HASH_LEN], const struct bft_vote *v, uint8_t out[HASH_LEN]);
/* H_tag("assay/proposal", chain_id || height:u64 || round:u32 || pol_round:u32 || value). */
void bft_proposal_sighash(const uint8_t chain_id[HASH_LEN], const struct bft_proposal *pr,
			  uint8_t out[HASH_LEN]);

/* Ed25519 signing and checking of the above (libsodium through core/keys.h):
 * what a node's bft_ops use. Verifiers return 0 or ASSAY_ESIG. */
void bft_vote_sign(const uint8_t chain_id[HASH_LEN], const uint8_t sk[SECKEY_LEN], struct bft_vote *v);
int bft_vote_verify(const uint8_t chain_id[HASH_LEN], const struct bft_vote *v);
void bft_proposal_sign(const uint8_t chain_id[HASH_LEN], const uint8_t sk[SECKEY_LEN], struct bft_proposal *pr);
int bft_proposal_verify(const uint8_t chain_id[HASH_LEN], const struct bft_proposal *pr);
/* Both signatures of an evidence record verify (0 or ASSAY_ESIG). */
int bft_evidence_verify(const uint8_t chain_id[HASH_LEN], const struct bft_evidence *ev);

/* 1 when both are votes for the same thing (nil or the same block hash). */
int bft_vote_same_value(const struct bft_vote *x, const struct bft_vote *y);

#endif

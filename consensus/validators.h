/* The validator set as state (docs/protocol.md §10): validator records
 * (bond, jail, unbonding stake, missed blocks), the per-height sets with
 * their proposer priorities, and the rules of validator_bond,
 * validator_unbond, evidence and validator_unjail and of the end of block
 * (downtime jailing, unbonding release, the set for height h+2). Pure: all
 * state goes through struct ledger. Not for: the BFT engine itself
 * (consensus/bft/) or the node's caches of the sets (node/chain.c). */
#ifndef ASSAY_CONSENSUS_VALIDATORS_H
#define ASSAY_CONSENSUS_VALIDATORS_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/bft/msg.h"
#include "consensus/bft/valset.h"
#include "consensus/params.h"
#include "core/block.h"
#include "core/ledger.h"

/* Base units per unit of voting power: power = bond / 10^9 (whole ASY). */
#define VALIDATOR_POWER_UNIT 1000000000ull
/* Unbonding entries one validator may hold at once (protocol §10.2). */
#define VALIDATOR_MAX_UNBONDING 16u
/* Ceiling of downtime_window (the missed-block bitmap is window bits). */
#define VALIDATOR_MAX_WINDOW 10000u

struct validator_unbonding {
	uint64_t amount;         /* base units, still slashable */
	uint64_t release_height; /* returned to the balance at the end of this block */
};

/* NS_VALIDATOR record, by consensus public key. */
struct validator_record {
	uint64_t bond;           /* bonded base units */
	uint8_t jailed;          /* 1: out of the set until unjailed */
	uint64_t jailed_until;   /* first height at which validator_unjail is allowed */
	uint32_t nunbonding;
	struct validator_unbonding unbonding[VALIDATOR_MAX_UNBONDING];
	uint32_t missed_bytes;   /* 0 (no miss recorded) or ceil(downtime_window / 8) */
	uint8_t missed[(VALIDATOR_MAX_WINDOW + 7) / 8]; /* bit (height % window): missed that commit */
};

/* Record codec: bond:u64 jailed:u8 jailed_until:u64 n:varint n x (amount:u64
 * release_height:u64) missed:bytes. decode: 0 or ASSAY_EDECODE. */
void validator_record_encode(const struct validator_record *r, struct buf *b);
int validator_record_decode(struct validator_record *r, const uint8_t *p, size_t n);
/* 0, ASSAY_ENOTFOUND (absent: r zeroed), or a local failure. */
int validators_get(const struct ledger *l, const uint8_t pk[PUBKEY_LEN], struct validator_record *r);

/* Every public key with a record, ascending, from the index in either of
 * its forms (protocol §10.2). *pks is malloc()ed (NULL when n = 0). */
int validators_list(const struct ledger *l, uint8_t **pks, size_t *n);

/* The set for one height as stored (NS_META "validators/set" || height:u64):
 * proposer:u32 n:varint n x (pubkey[32] power:u64 priority:i64), ascending
 * pubkey; vs->proposer is round 0's proposer at that height. *vs is
 * malloc()ed (bft_valset_free). 0, ASSAY_ENOTFOUND (not kept: beyond
 * height + 2 or older than evidence_max_age), or a local failure. */
int validators_set_at(const struct ledger *l, uint64_t height, struct bft_valset *vs);

/* The genesis state: a record with bond = stake x 10^9 per genesis
 * validator, and the sets of heights 1 and 2 (the genesis set, stepped once
 * and twice from zero priorities). vals: n (pubkey, power) pairs. */
int validators_genesis(const struct ledger *l, const struct bft_validator *vals, uint32_t n, char *err,
		       size_t errlen);

/* Payload decoders of the kinds (protocol §3). */
int validators_amount_decode(const uint8_t *p, size_t n, uint64_t *amount);

/* What the kinds' effects need besides the ledger. */
struct validators_ctx {
	const struct ledger *l;
	const struct chain_params *params;
	const uint8_t *chain_id;  /* HASH_LEN bytes */
	uint64_t height;          /* of the block being executed */
};

/* The kinds' effects (protocol §10.3). sender_key: the sender account's
 * state key (it is the validator's public key's address). Rule errors
 * (<0, not local) fill msg and make the transaction failed; note (may be
 * NULL) gets a line worth a receipt event on success. */
int validators_apply_bond(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN],
			  const uint8_t sender_key[HASH_LEN], uint64_t amount, char *msg, size_t msglen);
int validators_apply_unbond(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN], uint64_t amount,
			    char *msg, size_t msglen);
int validators_apply_unjail(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN], char *msg,
			    size_t msglen);
int validators_apply_evidence(const struct validators_ctx *vc, const struct bft_evidence *ev, char *msg,
			      size_t msglen, char *note, size_t notelen);

/* protocol §10.4, after the block's transactions: downtime from
 * last_commit (NULL or empty: none), unbonding releases, and the set for
 * height + 2. 0 or a local failure (with err). */
int validators_end_block(const struct validators_ctx *vc, const struct commit *last_commit, char *err,
			 size_t errlen);

#endif

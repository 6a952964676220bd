/* Header rules (docs/protocol.md §4): the beacon and its VRF proof, the
 * validators hash, commit verification, and the checks of a block header
 * against its parent. The validator set comes in as data. Pure: the caller
 * passes the local clock reading in. Not for: executing transactions
 * (consensus/exec.h) or storing blocks (node/chain.c). */
#ifndef ASSAY_CONSENSUS_HEADER_H
#define ASSAY_CONSENSUS_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/params.h"
#include "core/block.h"
#include "core/keys.h"
#include "core/vrf.h"

struct validator {
	uint8_t pubkey[PUBKEY_LEN];
	uint64_t stake; /* voting power */
};

struct validator_set {
	const struct validator *v;
	size_t n;
	uint64_t total_stake; /* sum of v[i].stake; below 2^63 (genesis) */
};

/* VRF input of the beacon at height (protocol §4.4): chain_id || u64 height
 * || parent beacon. */
#define HEADER_ALPHA_LEN (HASH_LEN + 8 + HASH_LEN)
void header_beacon_alpha(const uint8_t chain_id[HASH_LEN], uint64_t height,
			 const uint8_t parent_beacon[HASH_LEN], uint8_t alpha[HEADER_ALPHA_LEN]);
/* beacon = H_tag("assay/beacon", parent beacon || VRF output). */
void header_beacon_from(const uint8_t parent_beacon[HASH_LEN], const uint8_t beta[VRF_OUTPUT_LEN],
			uint8_t out[HASH_LEN]);
/* Genesis beacon: H_tag("assay/beacon", chain_id). */
void header_genesis_beacon(const uint8_t chain_id[HASH_LEN], uint8_t out[HASH_LEN]);
/* As proposer with sk: the proof and the beacon of the block at height. */
int header_beacon_prove(const uint8_t sk[SECKEY_LEN], const uint8_t chain_id[HASH_LEN], uint64_t height,
			const uint8_t parent_beacon[HASH_LEN], uint8_t proof[VRF_PROOF_LEN],
			uint8_t beacon[HASH_LEN]);

/* H_tag("assay/validators", varint n || n × (pubkey || u64 stake)).
 * 0, or ASSAY_ENOMEM (out is then not written). */
int header_validators_hash(const struct validator_set *vs, uint8_t out[HASH_LEN]);
/* 1 if pk is in vs (its stake in *stake when not NULL), else 0. */
int header_is_validator(const struct validator_set *vs, const uint8_t pk[PUBKEY_LEN], uint64_t *stake);
/* The message a precommit for (height, round, hash) signs (protocol §4.3). */
void header_commit_msg(const uint8_t chain_id[HASH_LEN], uint64_t height, uint32_t round,
		       const uint8_t hash[HASH_LEN], uint8_t msg[HASH_LEN]);
/* protocol §4.3: cm holds distinct validators' valid precommits for
 * (height, hash) with more than 2/3 of the stake. */
int header_check_commit(const struct validator_set *vs, const uint8_t chain_id[HASH_LEN],
			const struct commit *cm, uint64_t height, const uint8_t hash[HASH_LEN], char *err,
			size_t errlen);

/* What a header is judged against. */
struct header_ctx {
	const struct chain_params *params;
	const uint8_t *chain_id;        /* HASH_LEN bytes */
	const struct validator_set *vs;
	const uint8_t *validators_hash; /* of vs */
	const struct block_header *parent;
	const uint8_t *parent_hash;     /* HASH_LEN bytes */
	uint64_t now_ms;                /* local clock; UINT64_MAX: no bound (reindex) */
	const struct validator_set *commit_vs; /* the parent height's set, which signed
						* last_commit (protocol §10.1); NULL: vs */
};

/* protocol §4.5, the cheap part: chain id, height and parent, time,
 * validators_hash, proposer, transaction count. ASSAY_EEXISTS for a height
 * at or below the parent's, ASSAY_ENOTFOUND for one that does not extend it. */
int header_check(const struct header_ctx *hc, const struct block *blk, char *err, size_t errlen);
/* protocol §4.4–4.5, the costly part: the beacon's proof and value, the
 * last_commit (empty in block 1, else a commit of the parent) and tx_root. */
int header_check_proofs(const struct header_ctx *hc, const struct block *blk, char *err, size_t errlen);

#endif

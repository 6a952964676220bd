/* Blocks (docs/protocol.md §4): header, body of transactions, and the commit
 * (precommit signatures) for the parent. Codec, hashes and the tx root.
 * Not for: deciding whether a block is valid (node/chain.c, consensus/). */
#ifndef ASSAY_CORE_BLOCK_H
#define ASSAY_CORE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/keys.h"
#include "core/sha256.h"
#include "core/tx.h"
#include "core/vrf.h"

#define BLOCK_VERSION 1
#define HEADER_BYTES (4 + 32 + 8 + 8 + 32 * 5 + PUBKEY_LEN + 32 + VRF_PROOF_LEN)
/* Hard ceilings, whatever the chain parameters say. */
#define BLOCK_MAX_TXS_HARD 100000u
#define COMMIT_MAX_SIGS 1024u
/* The largest encoded commit (protocol §4.2): height, round, block hash,
 * the signature count (a 2-byte varint for 1024) and the signatures. */
#define COMMIT_MAX_BYTES (8u + 4u + HASH_LEN + 2u + COMMIT_MAX_SIGS * (PUBKEY_LEN + SIG_LEN))

struct block_header {
	uint32_t version;
	uint8_t chain_id[HASH_LEN];
	uint64_t height;                  /* genesis block is 0 */
	uint64_t time_ms;                 /* proposer's clock, ms since the epoch */
	uint8_t prev_hash[HASH_LEN];
	uint8_t tx_root[HASH_LEN];        /* merkle over the encoded txs */
	uint8_t state_root[HASH_LEN];     /* state after this block */
	uint8_t last_commit_hash[HASH_LEN];
	uint8_t validators_hash[HASH_LEN]; /* set that must sign this block */
	uint8_t proposer[PUBKEY_LEN];
	uint8_t beacon[HASH_LEN];         /* H_tag("assay/beacon", parent.beacon || vrf_out) */
	uint8_t beacon_proof[VRF_PROOF_LEN];
};

struct commit_sig {
	uint8_t validator[PUBKEY_LEN];
	uint8_t sig[SIG_LEN]; /* precommit signature */
};

struct commit {
	uint64_t height;
	uint32_t round;
	uint8_t block_hash[HASH_LEN];
	uint32_t nsigs;
	struct commit_sig *sigs; /* malloc()ed */
};

struct block {
	struct block_header hdr;
	size_t ntx;
	struct tx *txs; /* malloc()ed array; each tx owns its payload */
	struct commit last_commit;
};

struct block_limits {
	size_t max_txs;
	size_t max_tx_payload;
};

void block_header_encode(const struct block_header *h, struct buf *b);
int block_header_read(struct block_header *h, struct reader *r);
void block_header_hash(const struct block_header *h, uint8_t out[HASH_LEN]);

void commit_encode(const struct commit *c, struct buf *b);
int commit_read(struct commit *c, struct reader *r);
void commit_hash(const struct commit *c, uint8_t out[HASH_LEN]);
void commit_free(struct commit *c);
/* A deep copy (its own sigs): 0, or ASSAY_ENOMEM with *dst empty. */
int commit_copy(struct commit *dst, const struct commit *src);

void block_init(struct block *blk);
void block_free(struct block *blk);
void block_encode(const struct block *blk, struct buf *b);
/* Decodes exactly one block; rejects more than lim->max_txs transactions
 * (ASSAY_ELIMIT) before allocating for them. */
int block_decode(struct block *blk, const uint8_t *p, size_t n, const struct block_limits *lim);
/* The same, and on failure writes a message with the byte offset in the
 * block and the field, e.g. "malformed block: transaction 2: trailing bytes
 * at offset 411" (err may be NULL). */
int block_decode_err(struct block *blk, const uint8_t *p, size_t n, const struct block_limits *lim, char *err,
		     size_t errlen);
/* Reads only the header and last_commit of an encoded block, stepping over
 * its transactions by their length prefixes without decoding them (what
 * sync needs of the block after the one it connects). The framing must hold
 * as block_decode's does (count limit, lengths, no trailing bytes); the
 * transactions themselves are judged when the block is decoded in full.
 * 0, or an error as block_decode's. */
int block_read_commit(const uint8_t *p, size_t n, const struct block_limits *lim, struct block_header *hdr,
		      struct commit *c);
/* Appends a copy of t (0 or ASSAY_ENOMEM). */
int block_add_tx(struct block *blk, const struct tx *t);
/* Merkle root over leaf(encoding of each tx) in order. */
void block_tx_root(const struct block *blk, uint8_t out[HASH_LEN]);
void block_hash(const struct block *blk, uint8_t out[HASH_LEN]);
/* The block_hash and the header height of an encoded block, taken from the
 * header's bytes without decoding anything: the header's encoding is
 * fixed-length and comes first, so these are the bytes block_header_hash
 * hashes. 0, or ASSAY_EDECODE if p is shorter than a header (nothing is
 * written). What the p2p layer matches a block against the hash it asked
 * for, and its claimed height against; whether the rest decodes and holds
 * is judged when the block is applied. height may be NULL. */
int block_header_peek(const uint8_t *p, size_t n, uint8_t hash[HASH_LEN], uint64_t *height);

/* What a validator signs for a vote (docs/protocol.md §4.3):
 * H_tag("assay/vote", chain_id || u8 type || u64 height || u32 round || block_hash). */
enum vote_type { VOTE_PREVOTE = 1, VOTE_PRECOMMIT = 2 };
void vote_sighash(const uint8_t chain_id[HASH_LEN], uint8_t type, uint64_t height, uint32_t round,
		  const uint8_t block_hash[HASH_LEN], uint8_t out[HASH_LEN]);
#endif

/* Proofs of the state tree (docs/storage.md §1-2): the leaf and node hashes,
 * the key bit order, the canonical proof encoding and the pure verifier, so
 * a light client or assay-cli can check a getproof answer against a header's
 * state_root without the node's tree or LevelDB. Not for: building the tree
 * or proofs (node/smt.[ch]), or deciding which state_root to trust. */
#ifndef ASSAY_CORE_SMT_PROOF_H
#define ASSAY_CORE_SMT_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* A key has 256 bits, so no path (and no proof) is longer. */
#define SMT_MAX_DEPTH 256
/* Domain tags of docs/storage.md §1 (consensus-critical). */
#define SMT_TAG_LEAF "assay/smt-leaf"
#define SMT_TAG_NODE "assay/smt-node"
/* Longest canonical encoding: flag, 2-byte varint, bitmap, 256 siblings, leaf. */
#define SMT_PROOF_MAX_BYTES (1 + 2 + SMT_MAX_DEPTH / 8 + SMT_MAX_DEPTH * 32 + 64)

struct smt_proof {
	uint32_t nsiblings;                  /* siblings from the root down = depth where the path ends */
	uint8_t siblings[SMT_MAX_DEPTH][32]; /* siblings[i]: hash of the other subtree at depth i + 1 */
	int has_leaf;                        /* the path ends at a leaf (the key's own, or another's) */
	uint8_t leaf_key[32], leaf_value_hash[32]; /* that leaf, when has_leaf */
};

/* Bit i (0..255) of a key: most significant bit of byte 0 first; at depth i
 * it picks the side, 0 left and 1 right (docs/storage.md §1). */
static inline unsigned smt_key_bit(const uint8_t key[32], unsigned i)
{
	return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

/* H_tag("assay/smt-leaf", key || value_hash): a subtree holding one key. */
void smt_hash_leaf(const uint8_t key[32], const uint8_t value_hash[32], uint8_t out[32]);
/* H_tag("assay/smt-node", left || right): a subtree holding two or more. */
void smt_hash_node(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);
/* What the tree holds for a state value: SHA-256 of its canonical bytes
 * (docs/protocol.md §6.1). */
void smt_value_hash(const uint8_t *value, size_t len, uint8_t out[32]);

/* value_hash != NULL: inclusion of (key, value_hash); NULL: exclusion of key.
 * 0 if the proof holds against root, else ASSAY_ESIG (docs/storage.md §2).
 * Pure: no allocation, no I/O. */
int smt_verify(const uint8_t root[32], const uint8_t key[32], const uint8_t *value_hash,
	       const struct smt_proof *p);
/* smt_verify for a state value's bytes (value != NULL: inclusion of that
 * value, hashed with smt_value_hash; NULL: exclusion; len is then ignored). */
int smt_verify_value(const uint8_t root[32], const uint8_t key[32], const uint8_t *value, size_t len,
		     const struct smt_proof *p);

/* Canonical encoding (docs/storage.md §2); appends to b. */
void smt_proof_encode(const struct smt_proof *p, struct buf *b);
/* 0, ASSAY_EDECODE (malformed, non-canonical, trailing bytes) or ASSAY_ELIMIT
 * (more than SMT_MAX_DEPTH siblings). On failure p is zeroed. */
int smt_proof_decode(struct smt_proof *p, const uint8_t *in, size_t n);
/* The presence bitmap of the encoding: bit i (MSB first) set iff siblings[i]
 * is not 32 zero bytes; fills (nsiblings + 7) / 8 bytes of out and returns
 * how many siblings are non-empty. */
unsigned smt_proof_bitmap(const struct smt_proof *p, uint8_t out[SMT_MAX_DEPTH / 8]);

#endif

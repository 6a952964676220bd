/* The compact sparse Merkle tree over the 256-bit state key space whose root
 * is a block's state_root (docs/storage.md §1): a leaf sits at
 * the shortest unique prefix of its key, proofs of inclusion and exclusion,
 * and their canonical encoding. In memory only; node/state persists leaves.
 * Not for: storing values (the tree holds value hashes) or thread sharing. */
#ifndef ASSAY_NODE_SMT_H
#define ASSAY_NODE_SMT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* A key has 256 bits, so no path (and no proof) is longer. */
#define SMT_MAX_DEPTH 256
/* Domain tags of docs/storage.md §1 (consensus-critical). */
#define SMT_TAG_LEAF "assay/smt-leaf"
#define SMT_TAG_NODE "assay/smt-node"

typedef struct smt smt_t;

/* Returns an empty tree (root = 32 zero bytes), or NULL if out of memory. */
smt_t *smt_new(void);
void smt_free(smt_t *t);
/* Inserts key or replaces its value hash. 0, ASSAY_ENOMEM or ASSAY_EFULL. */
int smt_update(smt_t *t, const uint8_t key[32], const uint8_t value_hash[32]);
/* 0, or ASSAY_ENOTFOUND if the key is absent. */
int smt_remove(smt_t *t, const uint8_t key[32]);
/* Copies the key's value hash; ASSAY_ENOTFOUND if absent. */
int smt_get(const smt_t *t, const uint8_t key[32], uint8_t value_hash[32]);
/* The root; rehashes only the paths changed since the last call. */
void smt_root(smt_t *t, uint8_t root[32]);
size_t smt_count(const smt_t *t);
/* Bytes of memory the tree's node pools hold (for benchmarks and metrics). */
size_t smt_memory(const smt_t *t);

struct smt_proof {
	uint32_t nsiblings;                  /* siblings from the root down = depth where the path ends */
	uint8_t siblings[SMT_MAX_DEPTH][32]; /* siblings[i]: hash of the other subtree at depth i + 1 */
	int has_leaf;                        /* the path ends at a leaf (the key's own, or another's) */
	uint8_t leaf_key[32], leaf_value_hash[32]; /* that leaf, when has_leaf */
};

/* Fills p with the path of key: an inclusion proof if the key is present,
 * else an exclusion proof (ending at an empty subtree or at another key's
 * leaf). Hashes pending changes first. Always 0. */
int smt_prove(smt_t *t, const uint8_t key[32], struct smt_proof *p);
/* value_hash != NULL: inclusion of (key, value_hash); NULL: exclusion of key.
 * 0 if it holds, else ASSAY_ESIG. Pure. */
int smt_verify(const uint8_t root[32], const uint8_t key[32], const uint8_t *value_hash,
	       const struct smt_proof *p);
/* Canonical encoding (docs/storage.md §2); appends to b. */
void smt_proof_encode(const struct smt_proof *p, struct buf *b);
/* 0, ASSAY_EDECODE (malformed, non-canonical, trailing bytes) or ASSAY_ELIMIT. */
int smt_proof_decode(struct smt_proof *p, const uint8_t *in, size_t n);

/* The hashes of docs/storage.md §1, for the proof verifier, tests and docs. */
void smt_hash_leaf(const uint8_t key[32], const uint8_t value_hash[32], uint8_t out[32]);
void smt_hash_node(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

#endif

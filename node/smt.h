/* The compact sparse Merkle tree over the 256-bit state key space whose root
 * is a block's state_root (docs/storage.md §1): a leaf sits at the shortest
 * unique prefix of its key; the tree builds proofs of inclusion and exclusion.
 * Hashes, the proof codec and the verifier are in core/smt_proof.h. In memory
 * only; node/state persists leaves.
 * Not for: storing values (the tree holds value hashes) or thread sharing. */
#ifndef ASSAY_NODE_SMT_H
#define ASSAY_NODE_SMT_H

#include <stddef.h>
#include <stdint.h>

#include "core/smt_proof.h"

typedef struct smt smt_t;

/* Returns an empty tree (root = 32 zero bytes), or NULL if out of memory. */
smt_t *smt_new(void);
void smt_free(smt_t *t);
/* Inserts key or replaces its value hash. 0, ASSAY_ENOMEM or ASSAY_EFULL. */
int smt_update(smt_t *t, const uint8_t key[32], const uint8_t value_hash[32]);
/* smt_update that also gives the value hash it replaced (*had_old 1 and
 * old_hash set, or *had_old 0 when the key was new; so even on an error):
 * one walk down the tree instead of smt_get's and smt_update's. */
int smt_replace(smt_t *t, const uint8_t key[32], const uint8_t value_hash[32], uint8_t old_hash[32],
		int *had_old);
/* 0, or ASSAY_ENOTFOUND if the key is absent. */
int smt_remove(smt_t *t, const uint8_t key[32]);
/* Copies the key's value hash; ASSAY_ENOTFOUND if absent. */
int smt_get(const smt_t *t, const uint8_t key[32], uint8_t value_hash[32]);
/* The root; rehashes only the paths changed since the last call. */
void smt_root(smt_t *t, uint8_t root[32]);
size_t smt_count(const smt_t *t);
/* Bytes of memory the tree's node pools hold (for benchmarks and metrics). */
size_t smt_memory(const smt_t *t);

/* Fills p with the path of key: an inclusion proof if the key is present,
 * else an exclusion proof (ending at an empty subtree or at another key's
 * leaf). Hashes pending changes first. Always 0. */
int smt_prove(smt_t *t, const uint8_t key[32], struct smt_proof *p);

#endif

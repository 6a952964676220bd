/* The Merkle tree over a job output's tile leaves, with every level kept, so
 * that assay-worker can give the audit paths of its k challenged tiles (and
 * anyone's disputed tile) without rehashing the tree per proof as
 * core/merkle.h's merkle_proof does. Same RFC 6962 shape and hashes as
 * core/merkle.h (docs/compute.md §3). Not for: tx roots (core/merkle.h). */
#ifndef ASSAY_WORKER_OUTTREE_H
#define ASSAY_WORKER_OUTTREE_H

#include <stddef.h>
#include <stdint.h>

#include "core/merkle.h"
#include "core/sha256.h"

typedef struct outtree outtree_t;

/* Builds the tree over n >= 1 leaf hashes, taking ownership of leaves (a
 * malloc()ed array, as kernel_commit returns; freed by outtree_destroy, or
 * here on failure). NULL on n == 0 or out of memory. */
outtree_t *outtree_build(uint8_t (*leaves)[HASH_LEN], size_t n);
void outtree_destroy(outtree_t *t);
size_t outtree_leaves(const outtree_t *t);
void outtree_root(const outtree_t *t, uint8_t root[HASH_LEN]);
/* The RFC 6962 audit path of leaf i, bottom-up, into path (room for
 * MERKLE_MAX_DEPTH); its length in *depth. 0, or ASSAY_EARG if i is out of
 * range. */
int outtree_proof(const outtree_t *t, size_t i, uint8_t (*path)[HASH_LEN], size_t *depth);
/* Root of the RFC 6962 subtree over leaves [start, start + size), for a
 * subtree of the tree's own split (start a multiple of the power of two at
 * or above size): one node of a kept level. The avail_subtree_fn of a range
 * proof (consensus/compute/avail.h); ctx is the tree. */
void outtree_subtree(void *tree, size_t start, size_t size, uint8_t out[HASH_LEN]);

#endif

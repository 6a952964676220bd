/* RFC 6962-shaped Merkle trees (docs/protocol.md §2): leaf = H(0x00 || data),
 * node = H(0x01 || left || right), split at the largest power of two below n.
 * Plain SHA-256, as RFC 6962, so its test vectors apply unchanged. Used for
 * block tx roots and compute-job output commitments. The root of zero leaves
 * is SHA256(""), as in RFC 6962. */
#ifndef ASSAY_CORE_MERKLE_H
#define ASSAY_CORE_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sha256.h"

#define MERKLE_MAX_DEPTH 64

void merkle_leaf_hash(const void *data, size_t n, uint8_t out[HASH_LEN]);
void merkle_node_hash(const uint8_t l[HASH_LEN], const uint8_t r[HASH_LEN], uint8_t out[HASH_LEN]);
/* Two nodes at once (hash_tagged_x2): out0 = node(l0, r0), out1 = node(l1,
 * r1). The inputs are read before either output is written, so an output
 * may overwrite an input. */
void merkle_node_hash2(const uint8_t l0[HASH_LEN], const uint8_t r0[HASH_LEN], const uint8_t l1[HASH_LEN],
		       const uint8_t r1[HASH_LEN], uint8_t out0[HASH_LEN], uint8_t out1[HASH_LEN]);
/* Level l + 1 of a tree from level l's n nodes, as RFC 6962's shape gives
 * it bottom-up: up[k] = node(below[2k], below[2k + 1]), a lone last node
 * carried up unchanged; (n + 1) / 2 nodes. up may be below itself. */
void merkle_level_up(const uint8_t (*below)[HASH_LEN], size_t n, uint8_t (*up)[HASH_LEN]);
/* Root over n leaf hashes (already hashed with merkle_leaf_hash). */
void merkle_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t root[HASH_LEN]);
/* Audit path for leaf index i of n, as RFC 6962 PATH(m, D[n]): bottom-up
 * sibling hashes into path (room for MERKLE_MAX_DEPTH), count in *depth.
 * 0 ok, ASSAY_EARG if i >= n. */
int merkle_proof(const uint8_t (*leaves)[HASH_LEN], size_t n, size_t i,
		 uint8_t (*path)[HASH_LEN], size_t *depth);
/* 0 if leaf hash at index i of a tree of n leaves with this path has root. */
int merkle_verify(const uint8_t leaf[HASH_LEN], size_t i, size_t n,
		  const uint8_t (*path)[HASH_LEN], size_t depth, const uint8_t root[HASH_LEN]);

/* One audit path of a batch: the leaf hash at index, its bottom-up path. */
struct merkle_claim {
	uint8_t leaf[HASH_LEN];
	size_t index;
	const uint8_t (*path)[HASH_LEN];
	size_t depth;
};

#define MERKLE_BATCH_MAX 256 /* claims a batch shares work across; more are verified one by one */

/* Verifies claims[0..count) against the root of a tree of n leaves:
 * ok[j] = 1 exactly when merkle_verify would return 0 for claim j, else 0.
 * Where n is a power of two, two paths taken in index order meet at the
 * level of the highest bit their indices differ in; a path whose lower
 * part hashes to the node a verified path has there, and whose siblings
 * above it are that path's, would hash to the same root, so its upper
 * levels are not hashed again. The outcome is merkle_verify's for each
 * claim; only the work differs. */
void merkle_verify_batch(const struct merkle_claim *claims, size_t count, size_t n, const uint8_t root[HASH_LEN],
			 uint8_t *ok);

#endif

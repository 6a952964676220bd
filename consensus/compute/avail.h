/* Output availability (docs/compute.md §15): the pure rules for output
 * chunks, the sidecars in which a worker uploads its whole output after its
 * root is on chain. Chunk and job_chunks payload codecs, the range proof of
 * a run of tiles against the committed tile root, the check of a chunk
 * against a job's shape and root, and what a job_chunks transaction declares
 * against the per-block chunk budget. No storage, no network, no clock: the
 * node's chunk store (node/chunkstore.h) and the state machine
 * (compute.c) call these. */
#ifndef ASSAY_COMPUTE_AVAIL_H
#define ASSAY_COMPUTE_AVAIL_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/compute_codec.h"
#include "consensus/compute/kernels.h"
#include "core/buf.h"
#include "core/merkle.h"
#include "core/sha256.h"

/* Limits (docs/compute.md §15.1). */
#define AVAIL_CHUNK_MAX_BYTES (1u << 20) /* tile bytes in one chunk (= TILE_MAX_BYTES: any tile fits) */
#define AVAIL_MAX_PROOF 128 /* hashes of one range proof (2 per level of a 2^20-tile tree, < 64) */
#define AVAIL_MAX_REFS 16   /* chunk references in one job_chunks transaction */
/* Largest encoded chunk: the fixed fields, the tile bytes, the proof. */
#define AVAIL_CHUNK_MAX_ENCODED (32 + 32 + 4 + 4 + 10 + AVAIL_CHUNK_MAX_BYTES + 10 + 32 * AVAIL_MAX_PROOF)

/* One chunk: a run of whole tiles [first_tile, first_tile + tile_count) of
 * the output committed under root, with the hashes that prove the run
 * against root. Pointers point into the decoded bytes. */
struct avail_chunk {
	uint8_t job_id[HASH_LEN];
	uint8_t root[HASH_LEN]; /* the slot's committed tile root */
	uint32_t first_tile;
	uint32_t tile_count;              /* >= 1 */
	const uint8_t *data;              /* the tiles' leaf bytes (output; mlp: then P_i), in index order */
	size_t data_len;                  /* <= AVAIL_CHUNK_MAX_BYTES */
	const uint8_t (*proof)[HASH_LEN]; /* range proof, in avail_range_proof's order */
	size_t proof_len;                 /* <= AVAIL_MAX_PROOF */
};

/* One chunk as a job_chunks transaction names it. */
struct avail_ref {
	uint32_t first_tile;
	uint32_t tile_count;
	uint32_t data_len;            /* the chunk's tile bytes: counted against the block's chunk budget */
	uint8_t chunk_hash[HASH_LEN]; /* avail_chunk_hash of the chunk */
};

/* The job_chunks payload (kind 13): the sender's slot of job_id, whose root
 * must be root, uploads the chunks refs[] in order. */
struct job_chunks_payload {
	uint8_t job_id[HASH_LEN];
	uint8_t root[HASH_LEN];
	uint32_t count; /* 1..AVAIL_MAX_REFS */
	struct avail_ref refs[AVAIL_MAX_REFS];
};

void avail_chunk_encode(const struct avail_chunk *c, struct buf *b);
/* Decodes exactly one chunk (canonical: no trailing bytes, minimal varints,
 * tile_count >= 1, limits above). c points into p. 0, ASSAY_EDECODE or
 * ASSAY_ELIMIT. */
int avail_chunk_decode(struct avail_chunk *c, const uint8_t *p, size_t n);
/* chunk_hash = H_tag("assay/chunk", encoded chunk). */
void avail_chunk_hash(const uint8_t *enc, size_t n, uint8_t out[HASH_LEN]);

void avail_chunks_encode(const struct job_chunks_payload *p, struct buf *b);
int avail_chunks_decode(struct job_chunks_payload *p, const uint8_t *bytes, size_t n);
/* Tile bytes a job_chunks payload declares (the sum of its data_len): what
 * it takes of the block's chunk budget, whether or not it then succeeds. */
uint64_t avail_chunks_declared(const struct job_chunks_payload *p);

/* Root of the RFC 6962 subtree over leaves [start, start + size) of the
 * tree being proven; the prover supplies it (from kept levels, or by hashing
 * leaves). */
typedef void (*avail_subtree_fn)(void *ctx, size_t start, size_t size, uint8_t out[HASH_LEN]);
/* The range proof of leaves [lo, hi) in a tree of n leaves: the roots of
 * the maximal subtrees of RFC 6962's split that lie wholly outside the
 * range, in the left-to-right order of the split's recursion
 * (docs/compute.md §15.2). Writes at most AVAIL_MAX_PROOF hashes into out
 * and their number into *count. ASSAY_EARG unless lo < hi <= n. */
int avail_range_proof(avail_subtree_fn fn, void *ctx, size_t n, size_t lo, size_t hi,
		      uint8_t (*out)[HASH_LEN], size_t *count);
/* The same prover on a plain array of all n leaf hashes. */
void avail_subtree_of_leaves(void *leaves, size_t start, size_t size, uint8_t out[HASH_LEN]);
/* Recomputes the root from leaves[0..hi-lo) (the range's leaf hashes) and
 * the proof; 0 if it equals root and every proof hash was used, else
 * ASSAY_ESIG. */
int avail_range_verify(const uint8_t (*leaves)[HASH_LEN], size_t n, size_t lo, size_t hi,
		       const uint8_t (*proof)[HASH_LEN], size_t proof_len, const uint8_t root[HASH_LEN]);

/* Checks a decoded chunk against the job's shape and root (docs/compute.md
 * §15.3): the run lies inside the job's tiles, data is exactly those tiles'
 * bytes, and the leaves they hash to prove up to root. 0, ASSAY_EINVALID
 * (range, length, root not the one given), ASSAY_ESIG (proof), ASSAY_ENOMEM.
 * why (may be NULL) says what failed. */
int avail_chunk_check(const struct job_shape *s, const uint8_t root[HASH_LEN], const struct avail_chunk *c,
		      char *why, size_t whylen);
/* Whether slot may upload now (docs/compute.md §15.3): its root is known
 * on chain and no output of the job can still be copied into another
 * slot's commitment: the slot is verified, i.e. its reveal opened its root
 * (every slot had committed by hash before any root was opened) and passed
 * the spot-check. *from: the height its upload window counts from, the
 * reveal's. The one place that says when "the root is known". */
int avail_slot_open(const struct job_record *j, unsigned slot, uint64_t *from);
/* Chunk data bytes of tiles [first, first + count) of shape s (each tile's
 * leaf bytes: its output, and for mlp its 32-byte pre-activation digest
 * P_i); UINT64_MAX when the run leaves the job's tiles. */
uint64_t avail_run_bytes(const struct job_shape *s, uint32_t first, uint32_t count);
/* Chunk data bytes of the whole output: the output, plus 32 per tile for
 * mlp. What the upload window must carry. */
uint64_t avail_output_bytes(const struct job_shape *s);

#endif

/* The node's store of output chunks (docs/compute.md §15, docs/storage.md):
 * the sidecars that job_chunks transactions reference by hash, kept in the
 * chain's LevelDB under their own prefixes, outside the state tree, until
 * chunk_retention_blocks after their job ended, then pruned. Accepting a
 * chunk checks it against the job's shape and one of its slots' roots in
 * the given (tip) state; a block is available when every chunk its
 * job_chunks transactions reference is held. Not for: the rules (they are
 * consensus/compute/avail.h's) or the network (node/node_chunks.c). */
#ifndef ASSAY_NODE_CHUNKSTORE_H
#define ASSAY_NODE_CHUNKSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/compute.h"
#include "core/block.h"
#include "core/ledger.h"
#include "node/store.h"

/* What one root may hold of chunks that nothing here names (docs/compute.md
 * §15.6). Every chunking of an output proves, so its worker could make far
 * more distinct chunks than the output holds, and tiny ones at that (a tile
 * may be 4 bytes, its chunk's proof 40 hashes): the bound is on what is
 * stored, the encoded chunks, and on their number.
 * - stored bytes: CHUNKSTORE_ROOT_FACTOR times the output's chunk bytes
 *   (avail_output_bytes), plus CHUNKSTORE_ROOT_SLACK_BYTES for the chunks'
 *   heads and proofs;
 * - chunks: CHUNKSTORE_ROOT_BASE_CHUNKS plus CHUNKSTORE_ROOT_CHUNKS_PER_MIB
 *   for each MiB (begun) of output.
 * An honest upload holds the output once, in chunks of up to
 * AVAIL_CHUNK_MAX_BYTES (at most about 3 per MiB, counting the short ones
 * at a block's budget and the output's end). */
#define CHUNKSTORE_ROOT_FACTOR 2u
#define CHUNKSTORE_ROOT_SLACK_BYTES (64u << 10)
#define CHUNKSTORE_ROOT_BASE_CHUNKS 64u
#define CHUNKSTORE_ROOT_CHUNKS_PER_MIB 8u

/* The two bounds above for an output of shape s. */
void chunkstore_root_limits(const struct job_shape *s, uint64_t *max_bytes, uint64_t *max_chunks);

/* What the store holds for one (job, root), kept as a running total in its
 * own record and updated with every chunk stored or pruned, so that no
 * accept has to walk the root's chunks. */
struct chunkstore_root {
	uint64_t bytes;  /* encoded chunk bytes stored */
	uint32_t chunks; /* chunks stored */
	uint32_t flags;  /* internal to chunkstore.c */
	uint32_t max_tiles; /* internal: the most tiles of one chunk stored since the record began */
};
/* The running total of (job_id, root) (zero when nothing is held): 0 or a
 * local failure. */
int chunkstore_root_usage(store_t *s, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
			  struct chunkstore_root *u);

/* The further multiple of its output (in bytes, and in proportion in
 * chunks) a root may hold in chunks that only a parked transaction (not yet
 * mined) names: a worker can sign many different uploads of one output, so
 * naming a chunk in one does not make it needed without bound. */
#define CHUNKSTORE_PARKED_FACTOR 1u

/* Why a chunk is wanted here, which sets how far past the per-root bound
 * it is taken. */
enum chunkstore_need {
	CHUNKSTORE_NEED_NONE = 0, /* nothing here names it: CHUNKSTORE_ROOT_FACTOR */
	CHUNKSTORE_NEED_PARKED,   /* only a parked transaction names it: + CHUNKSTORE_PARKED_FACTOR */
	CHUNKSTORE_NEED_BLOCK,    /* the committed block waiting here names it: no bound */
};

/* Checks and stores one encoded chunk; its hash goes to hash (when it
 * decodes). 0 stored; ASSAY_EEXISTS held already; ASSAY_ENOTFOUND the job,
 * or a slot with the chunk's root and uploads open, is not in this state
 * (perhaps not yet: no fault of the sender's); ASSAY_EDECODE, ASSAY_ELIMIT,
 * ASSAY_EINVALID, ASSAY_ESIG: the chunk is wrong; ASSAY_EFULL: the chunks
 * held for its root already reach chunkstore_root_limits (widened for
 * CHUNKSTORE_NEED_PARKED), or every slot with its root has uploaded its
 * whole output (neither applies to CHUNKSTORE_NEED_BLOCK: the committed
 * block waiting here names it), or (CHUNKSTORE_NEED_NONE only) every tile
 * of it lies in chunks held for its root already (docs/compute.md §15.6:
 * anyone holding chunks can cut valid sub-runs out of them); or a local
 * failure. */
int chunkstore_accept(store_t *s, const struct ledger *l, const uint8_t *enc, size_t len,
		      enum chunkstore_need needed, uint8_t hash[HASH_LEN], char *err, size_t errlen);
/* The same for a caller that hashed the chunk already (hash: its
 * avail_chunk_hash, which it needed to say how the chunk is needed):
 * node_chunks.c's one accept path, which so hashes each chunk once. */
int chunkstore_accept_hashed(store_t *s, const struct ledger *l, const uint8_t *enc, size_t len,
			     const uint8_t hash[HASH_LEN], enum chunkstore_need needed, char *err,
			     size_t errlen);
/* 1 held, 0 not, or a local failure. */
int chunkstore_has(store_t *s, const uint8_t hash[HASH_LEN]);
/* The encoded chunk (malloc()ed; the caller frees). ASSAY_ENOTFOUND. */
int chunkstore_get(store_t *s, const uint8_t hash[HASH_LEN], uint8_t **enc, size_t *len);
/* A chunk of (job_id, root) whose run starts at first_tile: one that a
 * connected block named when there is one (so that a walk from tile 0
 * follows the chain's own chunks to the end, whatever other runs a worker
 * made), else the one with the most tiles. ASSAY_ENOTFOUND. */
int chunkstore_get_at(store_t *s, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
		      uint32_t first_tile, uint8_t **enc, size_t *len);
/* Availability of blk (docs/compute.md §15.4): 0 when every chunk its
 * job_chunks transactions reference is held and says what the reference
 * says; ASSAY_EUNAVAIL with the missing hashes in missing[] (room for max;
 * *nmissing counts them); ASSAY_EINVALID when a held chunk contradicts its
 * reference (the block is wrong); or a local failure. */
int chunkstore_check_block(store_t *s, const struct block *blk, uint8_t (*missing)[HASH_LEN], size_t max,
			   size_t *nmissing, char *err, size_t errlen);
/* After blk joined the chain (l: the state after it): marks the held
 * chunks its job_chunks transactions name, which chunkstore_get_at serves
 * first, and then, for each root all of whose slots have now uploaded
 * their whole output, deletes the root's chunks that no block named, when
 * the named ones lead from the first tile to the last (no block can name a
 * chunk of the root any more). *dropped counts chunks deleted. 0 or a
 * local failure. */
int chunkstore_mark_block(store_t *s, const struct ledger *l, const struct block *blk, size_t *dropped);
/* What node_chunks.c holds while chunks are on the way, kept beside the
 * chunks so that a restarted process takes it up again (docs/storage.md
 * §4): the block waiting at the next height (CHUNKSTORE_WAITING_BLOCK, its
 * encoding) and the parked job_chunks transactions (CHUNKSTORE_WAITING_TXS,
 * each as u32 LE length || encoded tx). One meta record each, written
 * without fsync like a chunk; val NULL deletes the record. 0 or a local
 * failure. */
#define CHUNKSTORE_WAITING_BLOCK "avail_block"
#define CHUNKSTORE_WAITING_TXS "avail_txs"
int chunkstore_save_waiting(store_t *s, const char *name, const uint8_t *val, size_t len);
/* The record (malloc()ed; the caller frees): 0, ASSAY_ENOTFOUND, or a
 * local failure. */
int chunkstore_load_waiting(store_t *s, const char *name, uint8_t **val, size_t *len);
/* Deletes the chunks of every job that ended (paid, failed or refunded)
 * more than p->chunk_retention_blocks before height: its end is the later
 * of its payout height and its deadline. It walks the roots' records, one
 * state read per job held, and a root's chunks only when they go. *pruned
 * counts chunks deleted. */
int chunkstore_prune(store_t *s, const struct ledger *l, const struct compute_params *p, uint64_t height,
		     size_t *pruned);

#endif

/* The worker's upload of its output as chunks (docs/compute.md §15): cuts
 * the output into chunks of whole tiles with their range proofs from the
 * kept-level tree. Pure: assay-worker (main.c) sends what this builds.
 * Not for: RPC or transactions. */
#ifndef ASSAY_WORKER_UPLOAD_H
#define ASSAY_WORKER_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/avail.h"
#include "core/buf.h"
#include "worker/outtree.h"

/* Encodes into enc the chunk of as many whole tiles from first as fit in
 * max_bytes of leaf bytes (at least one; max_bytes <= AVAIL_CHUNK_MAX_BYTES)
 * of output (row-major, the whole job) with, for mlp, each tile's
 * pre-activation digest from pre_digests (NULL for matmul), proven against
 * tree's root, and fills ref to name it. 0, ASSAY_EARG (first past the last
 * tile, or mlp without digests), ASSAY_ENOMEM. */
int upload_chunk(const struct job_shape *s, const uint8_t job_id[HASH_LEN], const uint8_t *output,
		 const uint8_t (*pre_digests)[HASH_LEN], const outtree_t *tree, uint32_t first, uint64_t max_bytes,
		 struct buf *enc, struct avail_ref *ref);

#endif

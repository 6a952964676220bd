/* The pure parts of assay-worker's job loop (docs/compute.md §3-§4, §13):
 * the reveal payload for a challenge (tiles, audit paths, and the checking
 * work the chain will charge as gas), the blob that carries a small output
 * on chain, and the test-only corruption of chosen tiles. No I/O, clock or randomness: a restarted worker recomputes the same
 * output, root and reveal. Not for: RPC, signing or scheduling (main.c). */
#ifndef ASSAY_WORKER_WORK_H
#define ASSAY_WORKER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/kernels.h"
#include "core/buf.h"
#include "worker/outtree.h"

/* Leaves and root of a whole output, with the tree kept for proofs (no
 * hash of the whole output: nothing on chain or off names an output by
 * one, and it cost a third as much as the tree at 4096^3). For mlp, pre is the whole job's pre-activations (mlp.h) and
 * *digests receives every tile's P_i (malloc()ed, the caller frees; NULL
 * for matmul, where pre is NULL). *tree is the caller's to destroy. 0,
 * ASSAY_EARG or ASSAY_ENOMEM. */
int work_commit(const struct job_shape *s, const uint8_t *output, const uint8_t *pre, outtree_t **tree,
		uint8_t (**digests)[HASH_LEN], uint8_t root[HASH_LEN]);

/* Appends the job_reveal payload (docs/compute.md §7.5): the root it opens,
 * then the tiles that challenge_seed selects out of output's tree, in
 * challenge order, each with its pre-activations out of pre for mlp (NULL
 * for matmul); *units is the checking work the chain will meter (§6.4;
 * gas is units x gas_per_check_unit). 0, ASSAY_ENOMEM or ASSAY_EARG. */
int work_reveal_payload(const struct job_shape *s, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
			const uint8_t *output, const uint8_t *pre, const outtree_t *tree,
			const uint8_t challenge_seed[HASH_LEN], uint32_t samples, struct buf *payload, uint64_t *units);

/* Outputs of at most this many bytes go on chain as a blob (docs/compute.md
 * §13): 64 KiB is a 128 x 128 int32 product or a large mlp batch, small next
 * to a block, so a client reads it from any node; larger outputs stay with
 * the worker's output server. */
#define WORK_BLOB_OUTPUT_MAX (64u << 10)
/* What the chain allows a transaction beyond its payload: a payload of n
 * bytes fits when n + this <= max_tx_bytes (tx_rules_check). */
#define WORK_TX_ENVELOPE_BYTES 200u

/* The largest output posted as a blob on a chain with these limits:
 * WORK_BLOB_OUTPUT_MAX, lowered to max_blob_bytes and to what a blob
 * transaction of max_tx_bytes can carry; 0 if nothing fits. */
uint64_t work_blob_output_max(uint64_t max_blob_bytes, uint64_t max_tx_bytes);

/* Appends the blob payload (docs/compute.md §7.7) carrying the whole output
 * to payload: its hash is the output hash of the commitment. 0 or
 * ASSAY_ENOMEM. */
int work_blob_payload(const uint8_t *output, size_t len, struct buf *payload);

/* Test-only cheating: changes one byte of each chosen tile of output. With
 * count > 0 exactly min(count, tiles) distinct tiles are chosen, else each
 * tile is chosen with probability fraction; choices derive from job_id
 * alone (H_tag("assay/worker-corrupt", job_id || ...)), so they repeat after
 * a restart. Returns the number of tiles changed. */
uint32_t work_corrupt(const struct job_shape *s, const uint8_t job_id[HASH_LEN], uint8_t *output,
		      double fraction, uint32_t count);
/* 1 if tile i was one that work_corrupt changed (same arguments). */
int work_corrupted(const struct job_shape *s, const uint8_t job_id[HASH_LEN], uint32_t i, double fraction,
		   uint32_t count);

#endif

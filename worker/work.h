/* The pure parts of assay-worker's job loop (docs/compute.md §3-§4): the
 * reveal payload for a challenge (tiles, audit paths, and the checking work
 * the chain will charge as gas), and the test-only corruption of chosen
 * tiles. No I/O, clock or randomness: a restarted worker recomputes the same
 * output, root and reveal. Not for: RPC, signing or scheduling (main.c). */
#ifndef ASSAY_WORKER_WORK_H
#define ASSAY_WORKER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/kernels.h"
#include "core/buf.h"
#include "worker/outtree.h"

/* Leaves, root and output hash of a whole output, with the tree kept for
 * proofs. *tree is the caller's to destroy. 0 or ASSAY_ENOMEM. */
int work_commit(const struct job_shape *s, const uint8_t *output, outtree_t **tree,
		uint8_t root[HASH_LEN], uint8_t output_hash[HASH_LEN]);

/* Appends the job_reveal payload (docs/compute.md §7.5) for the tiles that
 * challenge_seed selects out of output's tree, in challenge order, to
 * payload; *units is the checking work the chain will meter (§6.4; gas is
 * units x gas_per_check_unit). 0, ASSAY_ENOMEM or ASSAY_EARG. */
int work_reveal_payload(const struct job_shape *s, const uint8_t job_id[HASH_LEN], const uint8_t *output,
			const outtree_t *tree, const uint8_t challenge_seed[HASH_LEN], uint32_t samples,
			struct buf *payload, uint64_t *units);

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

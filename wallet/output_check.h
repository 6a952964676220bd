/* A client's first check of a job output it fetched (docs/compute.md §6.2):
 * the size its shape gives and the Merkle root the worker opened on chain.
 * Pure, so that a fuzzer drives it with any bytes a worker may serve. Not
 * for: the full Freivalds test or recomputation (cli_compute.c), fetching. */
#ifndef ASSAY_WALLET_OUTPUT_CHECK_H
#define ASSAY_WALLET_OUTPUT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/kernels.h"

/* 0 and *leaves (malloc()ed, kernel_tile_count entries; the caller frees)
 * when output is len bytes, the shape's output size, and its tile leaves
 * (for mlp with the tiles' pre-activation digests pre_digests[]; NULL for
 * matmul) give root. Otherwise *leaves is NULL, nothing is left allocated, why
 * says what differs, and the code is ASSAY_EINVALID (size or root) or
 * ASSAY_ENOMEM. The output itself stays the caller's in every case. */
int output_check_root(const struct job_shape *s, const uint8_t *output, size_t len,
		      const uint8_t (*pre_digests)[HASH_LEN], const uint8_t root[HASH_LEN],
		      uint8_t (**leaves)[HASH_LEN], char *why, size_t whylen);

#endif

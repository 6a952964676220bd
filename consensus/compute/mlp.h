/* mlp-i8 in the compute protocol (docs/compute.md §2, §3, §5): the reference
 * rows with their pre-activations, the per-tile pre-activation digest that
 * leaves commit to, the recompute check a dispute uses, and the reveal's
 * spot-check: Freivalds on each layer's product against the revealed
 * pre-activations, the requantize/ReLU step elementwise. Pure and exact.
 * Not for: matmul-i8 (kernels.c), speed of the worker (worker/backend.h). */
#ifndef ASSAY_COMPUTE_MLP_H
#define ASSAY_COMPUTE_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/kernels.h"

/* Pre-activations. z_l (l = 1..L) is the product a_{l-1} . W_l of a row's
 * activations with layer l's weights, bias NOT included: an int32 for every
 * allowed shape (|z| <= (2^17 - 1) 2^14 < 2^31), which a product plus a full
 * int32 bias is not. A tile's pre-activations are z_1 (nr x d_1 int32 LE,
 * row-major), then z_2, ..., z_L; a whole job's are the same with m rows. */
uint64_t mlp_pre_bytes(const struct job_shape *s, uint32_t nrows);
uint64_t mlp_tile_pre_bytes(const struct job_shape *s, uint32_t i);
/* P_i = H_tag("assay/mlp-pre", tile pre-activations). */
void mlp_pre_digest(const uint8_t *pre, size_t len, uint8_t digest[HASH_LEN]);
/* mlp_pre_digest of two tiles' pre-activations of one length, at once
 * (hash_tagged_x2). */
void mlp_pre_digest2(const uint8_t *a, const uint8_t *b, size_t len, uint8_t da[HASH_LEN], uint8_t db[HASH_LEN]);
/* Tile i's leaf (kernels.h): H(0x00 || u32 LE i || out || digest). 0 or
 * ASSAY_ENOMEM. */
int mlp_tile_leaf(uint32_t i, const uint8_t *out, size_t len, const uint8_t digest[HASH_LEN],
		  uint8_t leaf[HASH_LEN]);
/* Copies tile i's pre-activations out of a whole job's (layouts above). */
void mlp_tile_pre_extract(const struct job_shape *s, const uint8_t *job_pre, uint32_t i, uint8_t *tile_pre);
/* Every tile's P_i from a whole job's pre-activations: *digests malloc()ed
 * (kernel_tile_count entries), the caller frees. 0 or ASSAY_ENOMEM. */
int mlp_pre_digests(const struct job_shape *s, const uint8_t *job_pre, uint8_t (**digests)[HASH_LEN]);

/* Reference rows: runs nrows rows of x (nrows x d_0) through every layer
 * (w[l], bias[l] as kernel_src_load gives them) into out (nrows x d_L) and,
 * when pre is not NULL, their pre-activations in tile layout (nrows rows).
 * 0 or ASSAY_ENOMEM. */
int mlp_ref_rows(const struct job_shape *s, const int8_t *x, uint8_t *const w[MLP_MAX_LAYERS],
		 uint8_t *const bias[MLP_MAX_LAYERS], uint32_t nrows, int8_t *out, uint8_t *pre);
/* The whole job's output (m x n) and pre-activations (mlp_pre_bytes(s, m),
 * whole-job layout), both malloc()ed for the caller; in[] as
 * kernel_src_load gives. 0 or ASSAY_ENOMEM. */
int mlp_compute_ref(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], uint8_t **out,
		    uint8_t **pre);

/* Recompute check of tile i's output bytes (what a dispute and a client
 * use): 0 if they are what the inputs give, ASSAY_EINVALID if not or of the
 * wrong length, ASSAY_ENOMEM. */
int mlp_recompute_tile(const struct job_shape *s, const struct kernel_src *src, uint32_t i,
		       const uint8_t *tile, size_t len);
/* The same, and with digest (not NULL) also the tile's pre-activation
 * digest P_i: ASSAY_EINVALID when it is not the digest of the tile's true
 * pre-activations, though the output bytes be right (what a dispute of an
 * mlp leaf needs: the leaf commits to both). */
int mlp_recompute_tile_digest(const struct job_shape *s, const struct kernel_src *src, uint32_t i,
			      const uint8_t *tile, size_t len, const uint8_t *digest);
/* Work units of mlp_recompute_tile(i): the tile's rows through every layer. */
uint64_t mlp_recompute_units(const struct job_shape *s, uint32_t i);
/* Bytes of all layers' weights together (sum of d_l d_{l+1}); the shape
 * check bounds it by MLP_MAX_WEIGHT_BYTES. */
uint64_t mlp_weight_bytes(const struct job_shape *s);

/* The reveal's spot-check (docs/compute.md §5.2). One context per reveal:
 * it draws r_l (d_l entries in [1, p-1], p = 2^61 - 1) for every layer from
 * vec_seed, the challenge seed, fixed only after the root that commits to
 * every tile's P_i, and computes u_l = W_l . r_l mod p once; each tile then
 * costs O(d_{l-1} + d_l) per row and layer. */
typedef struct mlp_check mlp_check_t;
/* NULL when out of memory. src must outlive the context. */
mlp_check_t *mlp_check_create(const struct job_shape *s, const struct kernel_src *src,
			      const uint8_t vec_seed[HASH_LEN]);
void mlp_check_destroy(mlp_check_t *c);
/* Checks revealed tile i: out (its output bytes) and pre (its
 * pre-activations, whose digest the leaf already bound): per row and layer
 * z_l . r_l == a_{l-1} . u_l (mod p), with a_0 the row of X and a_l =
 * requant(z_l + bias_l, shift_l, ReLU for l < L), and out == a_L exactly.
 * 0 if it passes, ASSAY_EINVALID if not (or a length is wrong),
 * ASSAY_ENOMEM. */
int mlp_check_tile(mlp_check_t *c, uint32_t i, const uint8_t *out, size_t out_len, const uint8_t *pre,
		   size_t pre_len);
/* Caps the vector forms the check uses where the CPU has them: 0 portable,
 * 1 up to AVX2, 2 up to AVX-512 (the default). All compute the same
 * integers; tests run every level. */
void mlp_simd_enable(int level);
/* Work units: of one reveal's fixed part (drawing r_l and W_l . r_l) and of
 * each tile (docs/compute.md §6). */
uint64_t mlp_check_fixed_units(const struct job_shape *s);
uint64_t mlp_check_units(const struct job_shape *s, uint32_t i);

#endif

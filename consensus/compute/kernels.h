/* Reference kernels of the compute protocol (docs/compute.md §2-§5): job
 * shapes, deterministic seed expansion of inputs, the int8 GEMM and int8 MLP
 * every node and worker must reproduce bit for bit, tile layout, leaves and
 * commitment, the matmul tile check (recompute of small tiles, Freivalds
 * modulo p = 2^61 - 1 of larger ones), and challenge sampling.
 * Pure: no clock, I/O or randomness. Not for speed (worker/backend.h is). */
#ifndef ASSAY_COMPUTE_KERNELS_H
#define ASSAY_COMPUTE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"
#include "core/sha256.h"

/* int8 x int8 products lie in [-2^14 + 2^7, 2^14] (2^14 only as -128 x -128);
 * K of them stay inside int32 for every input only while K * 2^14 < 2^31,
 * i.e. K <= 2^17 - 1 (at K = 2^17 an all -128 input sums to 2^31). */
#define KERNEL_MAX_K ((1u << 17) - 1)
/* The Freivalds modulus, the Mersenne prime 2^61 - 1. */
#define KERNEL_P61 ((1ull << 61) - 1)
/* mlp-i8: at most this many layers; and all weights together at most this
 * many bytes, so that a validator's recompute of one tile stays cheap. */
#define MLP_MAX_LAYERS 4
#define MLP_MAX_WEIGHT_BYTES (4u << 20)
/* Input matrices of one job: mlp has X plus (W, bias) per layer. */
#define KERNEL_MAX_INPUTS (1 + 2 * MLP_MAX_LAYERS)
/* Tiles of one job's output; bounds commitments, challenges and records. */
#define KERNEL_MAX_TILES (1u << 20)

enum job_kind {
	JOB_MATMUL_I8 = 1, /* C (int32, m x n) = A (int8, m x k) . B (int8, k x n) */
	JOB_MLP_I8 = 2,    /* int8 MLP over m batch rows */
};

struct job_shape {
	uint8_t kind;                      /* enum job_kind */
	uint32_t m, n, k;                  /* matmul dims; mlp: m = batch, n = dims[layers], k unused (0) */
	uint8_t layers;                    /* mlp: number of layers, 1..MLP_MAX_LAYERS; matmul: 0 */
	uint32_t dims[MLP_MAX_LAYERS + 1]; /* mlp: widths d0..dL */
	uint8_t shifts[MLP_MAX_LAYERS];    /* mlp: requantization right shift of each layer, 0..31 */
	uint32_t tile_rows, tile_cols;     /* tile shape; mlp: tile_cols == n */
};

/* Validates a shape against the limits (max_dim bounds every dimension,
 * max_output_bytes the output). 0, ASSAY_ELIMIT or ASSAY_EINVALID; msg (may
 * be NULL) receives a reason. */
int kernel_shape_check(const struct job_shape *s, uint32_t max_dim, uint64_t max_output_bytes,
		       char *msg, size_t msglen);
/* Output element size in bytes (4 for matmul int32, 1 for mlp int8). */
unsigned kernel_elem_bytes(const struct job_shape *s);
uint64_t kernel_output_bytes(const struct job_shape *s);
/* Number of input matrices and the byte size of input id (layouts in
 * docs/compute.md §2: matmul 0 = A row-major, 1 = B column-major; mlp 0 = X,
 * 1+2l = W_l (d_l x d_{l+1} row-major int8), 2+2l = bias_l (int32 LE)). */
unsigned kernel_input_count(const struct job_shape *s);
uint64_t kernel_input_bytes(const struct job_shape *s, unsigned id);

/* Bytes [off, off+n) of the expansion stream of (seed, id): the ChaCha8
 * keystream (ChaCha of RFC 8439 with 8 rounds, zero nonce, counter from 0,
 * core/chacha.h) under the key
 * H_tag("assay/expand", seed || u8 id). Inputs stay below 2^32 blocks
 * (max_dim <= 2^17, so at most 2^34 bytes). */
void kernel_expand(const uint8_t seed[HASH_LEN], uint8_t id, uint64_t off, uint8_t *out, size_t n);
/* Bytes [off, off+n) of input id when the job's inputs come from a seed: the
 * stream itself, except bias inputs, whose int32 LE words are the stream's
 * words arithmetically shifted right by 16 (off and n multiples of 4 there). */
void kernel_expand_input(const struct job_shape *s, const uint8_t seed[HASH_LEN], unsigned id,
			 uint64_t off, uint8_t *out, size_t n);

/* Where a job's inputs come from: a seed, or whole input arrays (blobs). */
struct kernel_src {
	int from_seed;                            /* 1: expand from seed; 0: data[] */
	uint8_t seed[HASH_LEN];                   /* input seed when from_seed */
	const uint8_t *data[KERNEL_MAX_INPUTS];   /* input arrays when !from_seed */
};
/* Copies bytes [off, off+n) of input id into out. */
void kernel_src_read(const struct kernel_src *src, const struct job_shape *s, unsigned id,
		     uint64_t off, uint8_t *out, size_t n);
/* Whole rows of row bytes of input id from off (a multiple of row) as a
 * check reads them: word-sliced (chacha_keystream_sliced_at) where
 * kernel_rows_sliced says so (inputs from a seed, not a bias, row a
 * multiple of CHACHA_SLICE_UNIT, an AVX2 or AVX-512 path: it saves its
 * transposes), else plain. The order is a permutation within each row,
 * the same for every row; a sum over a row is unchanged if its other
 * operand is put in the same order (chacha_slice): the matmul tile check
 * reads A and Bt this way (its sums run over k alone), the mlp check W_l
 * against r_l's limbs. */
int kernel_rows_sliced(const struct kernel_src *src, const struct job_shape *s, unsigned id, uint64_t row);
void kernel_rows_read(const struct kernel_src *src, const struct job_shape *s, unsigned id, uint64_t row,
		      uint64_t off, uint8_t *out, size_t n);
/* Materializes every input: returns malloc()ed arrays in in[] (the caller
 * frees each). 0 or ASSAY_ENOMEM. */
int kernel_src_load(const struct kernel_src *src, const struct job_shape *s,
		    uint8_t *in[KERNEL_MAX_INPUTS]);

/* Reference int8 GEMM: C[i*n+j] = sum_t A[i*k+t] * Bt[j*k+t] (Bt = B stored
 * column by column), int32 accumulate. k <= KERNEL_MAX_K. */
void kernel_matmul_ref(const int8_t *A, const int8_t *Bt, int32_t *C, uint32_t m, uint32_t n,
		       uint32_t k);
/* One requantization step: (acc + 2^(shift-1)) >> shift (arithmetic, i.e.
 * round half up; no rounding when shift = 0), then ReLU when relu, then
 * saturation to [-128, 127]. */
int8_t kernel_requant(int64_t acc, unsigned shift, int relu);
/* out[j] = kernel_requant((int64_t)z[j] + bias[j], shift, relu) for j < d,
 * shift <= 31: a layer's requantization of one row at once, in int64 lanes
 * at level 1 (AVX2) or 2 (AVX-512F), as field_simd_level gives (the same
 * bytes at every level). */
void kernel_requant_row(int level, const int32_t *z, const int32_t *bias, uint32_t d, unsigned shift,
			int relu, int8_t *out);
/* Reference mlp-i8 for batch rows [row0, row0 + nrows): out is nrows x n
 * int8. in[] as kernel_src_load gives. Hidden layers use ReLU, the last not.
 * 0 or ASSAY_ENOMEM. */
int kernel_mlp_ref(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], uint32_t row0,
		   uint32_t nrows, int8_t *out);
/* Computes the whole output (malloc()ed into *out, the caller frees) with the
 * reference kernels. 0 or ASSAY_ENOMEM. */
int kernel_compute_ref(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS],
		       uint8_t **out, uint64_t *out_len);

/* Tiles: a grid of tile_rows x tile_cols blocks over the output, numbered
 * row-major; edge tiles are smaller. A tile's bytes are its elements
 * row-major, little-endian. */
uint32_t kernel_tile_count(const struct job_shape *s);
void kernel_tile_rect(const struct job_shape *s, uint32_t i, uint32_t *r0, uint32_t *c0,
		      uint32_t *nr, uint32_t *nc);
uint64_t kernel_tile_bytes(const struct job_shape *s, uint32_t i);
/* Copies tile i out of the whole output (row-major, element bytes LE). */
void kernel_tile_extract(const struct job_shape *s, const uint8_t *output, uint32_t i, uint8_t *tile);
/* leaf = H(0x00 || u32 LE i || leaf bytes) (merkle_leaf_hash). A tile's
 * leaf bytes are its output bytes, and for mlp then its 32-byte
 * pre-activation digest P_i (consensus/compute/mlp.h, docs/compute.md §3). */
void kernel_tile_leaf(uint32_t i, const uint8_t *tile, size_t len, uint8_t leaf[HASH_LEN]);
/* kernel_tile_leaf of tiles i and j of one length at once (hash_tagged_x2,
 * for leaves up to KERNEL_LEAF_PAIR_MAX bytes; larger ones one after the
 * other). */
#define KERNEL_LEAF_PAIR_MAX 2048
void kernel_tile_leaf2(uint32_t i, const uint8_t *ti, uint32_t j, const uint8_t *tj, size_t len,
		       uint8_t leaf_i[HASH_LEN], uint8_t leaf_j[HASH_LEN]);
/* Leaf bytes of tile i: kernel_tile_bytes, plus 32 for mlp. */
uint64_t kernel_leaf_bytes(const struct job_shape *s, uint32_t i);
/* Copies tile i's leaf bytes out of the whole output and, for mlp, the
 * tiles' digests pre_digests[] (NULL for matmul). */
void kernel_leaf_extract(const struct job_shape *s, const uint8_t *output, const uint8_t (*pre_digests)[HASH_LEN],
			 uint32_t i, uint8_t *unit);
/* All leaves of an output: *leaves is malloc()ed (count kernel_tile_count),
 * the caller frees. Also the root (skipped when root is NULL: a caller
 * building the tree anyway) and output_hash = SHA256(output) (skipped
 * when output_hash is NULL). pre_digests: mlp's P_i of every tile, NULL for
 * matmul (ASSAY_EARG for mlp without them). 0, ASSAY_EARG or ASSAY_ENOMEM. */
int kernel_commit_pre(const struct job_shape *s, const uint8_t *output, const uint8_t (*pre_digests)[HASH_LEN],
		      uint8_t (**leaves)[HASH_LEN], uint8_t root[HASH_LEN], uint8_t output_hash[HASH_LEN]);
/* kernel_commit_pre without digests: matmul only. */
int kernel_commit(const struct job_shape *s, const uint8_t *output, uint8_t (**leaves)[HASH_LEN],
		  uint8_t root[HASH_LEN], uint8_t output_hash[HASH_LEN]);

/* Challenge (docs/compute.md §4): seed = H_tag("assay/challenge", beacon ||
 * salt || job_id || worker || root), beacon the job's challenge beacon (of
 * block c + challenge_delay, c the job's last commit), salt the submitter's
 * 32-byte salt or nothing (salt NULL) when it was not opened in time, root
 * the slot's opened root. */
void kernel_challenge_seed(const uint8_t beacon[HASH_LEN], const uint8_t *salt, const uint8_t job_id[HASH_LEN],
			   const uint8_t worker[ADDR_LEN], const uint8_t root[HASH_LEN], uint8_t seed[HASH_LEN]);
/* A slot's commitment to its root: H_tag("assay/root-commit", root || worker),
 * bound to the worker so that a copied commitment opens for nobody else. */
void kernel_root_commitment(const uint8_t root[HASH_LEN], const uint8_t worker[ADDR_LEN],
			    uint8_t commitment[HASH_LEN]);
/* What job_submit carries for the submitter's salt: H_tag("assay/salt", salt). */
void kernel_salt_hash(const uint8_t salt[HASH_LEN], uint8_t salt_hash[HASH_LEN]);
/* Writes min(k, tiles) indices into out and returns that count. */
uint32_t kernel_challenge_indices(const uint8_t seed[HASH_LEN], uint32_t k, uint32_t tiles,
				  uint32_t *out);

/* Freivalds vector for tile i: n entries uniform in [1, p-1], drawn from
 * H_tag("assay/freivalds", seed || u32 LE i || u64 LE block). */
void kernel_freivalds_vector(const uint8_t seed[HASH_LEN], uint32_t i, uint32_t n, uint64_t *r);
/* Freivalds' test of T (nr x nc int32, row-major) == A_rows . B_cols, where
 * A_rows is nr x k (row-major) and Bt_cols nc x k (each column contiguous),
 * with vector r (nc entries). 0 if it passes, ASSAY_EINVALID if not,
 * ASSAY_ENOMEM. */
int kernel_freivalds(const int8_t *A_rows, const int8_t *Bt_cols, const int32_t *T, uint32_t nr,
		     uint32_t nc, uint32_t k, const uint64_t *r);
/* Matmul tiles of at most this many entries are checked by recomputing them
 * (docs/compute.md §6.1): for the default 8x8 tiles that is cheaper than
 * Freivalds' two limb passes and needs no vector. */
#define KERNEL_RECOMPUTE_MAX 64
/* Exact check of a tile of nr x nc <= KERNEL_RECOMPUTE_MAX entries (tile:
 * int32 LE, row-major) by recomputing every entry from A_rows and Bt_cols
 * (as for kernel_freivalds). 0 if equal, ASSAY_EINVALID if not, ASSAY_EARG
 * if the tile is larger. */
int kernel_tile_recompute(const int8_t *A_rows, const int8_t *Bt_cols, const uint8_t *tile, uint32_t nr,
			  uint32_t nc, uint32_t k);
/* Caps the vector forms kernel_freivalds, kernel_tile_recompute and the
 * input expansion use where the CPU has them: 0 portable, 1 up to AVX2, 2
 * up to AVX-512 (F for Freivalds and the expansion, BW + VNNI for the
 * recompute; the default). All compute the same integers and bytes; tests
 * run every level. */
void kernel_simd_enable(int level);
/* Checks tile i (output bytes) of a job against its inputs: for matmul
 * recompute (tiles of <= KERNEL_RECOMPUTE_MAX entries) or Freivalds with
 * vectors from vec_seed, recompute for mlp (a dispute's and a client's
 * check; a reveal checks mlp with mlp_check_tile). Thread-safe. 0 if correct,
 * ASSAY_EINVALID if wrong (or of the wrong length), ASSAY_ENOMEM. */
int kernel_check_tile(const struct job_shape *s, const struct kernel_src *src,
		      const uint8_t vec_seed[HASH_LEN], uint32_t i, const uint8_t *tile, size_t len);
/* kernel_check_tile of n tiles of one job: verdict[q] is kernel_check_tile's
 * for tile idx[q] (bytes tiles[q], lens[q]). For matmul, rows of A or
 * columns of B that two of the tiles share are expanded once (at most
 * KERNEL_SHARE_MAX_BYTES of them kept), the rest per tile. */
#define KERNEL_SHARE_MAX_BYTES (4u << 20)
void kernel_check_tiles(const struct job_shape *s, const struct kernel_src *src, const uint8_t vec_seed[HASH_LEN],
			uint32_t n, const uint32_t *idx, const uint8_t *const *tiles, const size_t *lens, int *verdict);
/* Work units of checking revealed tile i, the basis of its gas (docs §6):
 * kernel_check_tile's for matmul, mlp_check_units for mlp (whose reveal
 * adds mlp_check_fixed_units once; its disputes pay mlp_recompute_units). */
uint64_t kernel_check_units(const struct job_shape *s, uint32_t i);
/* The client's full check of a matmul output (C row-major int32 LE) with one
 * vector from vec_seed. 0 pass, ASSAY_EINVALID, ASSAY_ENOMEM. */
int kernel_freivalds_full(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS],
			  const uint8_t *output, const uint8_t vec_seed[HASH_LEN]);

#endif

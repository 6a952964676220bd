/* Reference kernels of the compute protocol (see kernels.h). Written for
 * clarity and exactness first: validators run them on small slices (one tile
 * at a time); workers run worker/backend.h, which must match these bit for bit.
 * Output arrays are little-endian on the wire; the host is assumed LE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consensus/compute/kernels.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/merkle.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "output arrays are little-endian and used in place");

#define P61 KERNEL_P61

static int fail(char *msg, size_t msglen, int err, const char *why)
{
	if (msg && msglen)
		snprintf(msg, msglen, "%s", why);
	return err;
}

static uint64_t mlp_weight_bytes(const struct job_shape *s)
{
	uint64_t total = 0;
	for (unsigned l = 0; l < s->layers; l++)
		total += (uint64_t)s->dims[l] * s->dims[l + 1];
	return total;
}

int kernel_shape_check(const struct job_shape *s, uint32_t max_dim, uint64_t max_output_bytes,
		       char *msg, size_t msglen)
{
	if (s->kind == JOB_MATMUL_I8) {
		if (s->layers != 0 || s->dims[0] || s->shifts[0])
			return fail(msg, msglen, ASSAY_EINVALID, "matmul shape carries mlp fields");
		for (unsigned l = 0; l <= MLP_MAX_LAYERS; l++)
			if (s->dims[l] || (l < MLP_MAX_LAYERS && s->shifts[l]))
				return fail(msg, msglen, ASSAY_EINVALID, "matmul shape carries mlp fields");
		if (!s->m || !s->n || !s->k)
			return fail(msg, msglen, ASSAY_EINVALID, "zero dimension");
		if (s->m > max_dim || s->n > max_dim || s->k > max_dim)
			return fail(msg, msglen, ASSAY_ELIMIT, "dimension over max_dim");
		if (s->k > KERNEL_MAX_K)
			return fail(msg, msglen, ASSAY_ELIMIT, "k over 2^17 - 1 (int32 accumulation)");
	} else if (s->kind == JOB_MLP_I8) {
		if (s->layers < 1 || s->layers > MLP_MAX_LAYERS)
			return fail(msg, msglen, ASSAY_EINVALID, "mlp layer count out of range");
		for (unsigned l = 0; l <= MLP_MAX_LAYERS; l++) {
			int live = l <= s->layers;
			if (live && (s->dims[l] == 0 || s->dims[l] > max_dim || s->dims[l] > KERNEL_MAX_K))
				return fail(msg, msglen, ASSAY_ELIMIT, "mlp width zero or over max_dim");
			if (!live && s->dims[l])
				return fail(msg, msglen, ASSAY_EINVALID, "mlp width beyond last layer");
			if (l < MLP_MAX_LAYERS && l >= s->layers && s->shifts[l])
				return fail(msg, msglen, ASSAY_EINVALID, "mlp shift beyond last layer");
			if (l < MLP_MAX_LAYERS && s->shifts[l] > 31)
				return fail(msg, msglen, ASSAY_EINVALID, "mlp shift over 31");
		}
		if (!s->m || s->m > max_dim)
			return fail(msg, msglen, ASSAY_ELIMIT, "mlp batch zero or over max_dim");
		if (s->k != 0 || s->n != s->dims[s->layers])
			return fail(msg, msglen, ASSAY_EINVALID, "mlp n must equal the last width, k 0");
		if (mlp_weight_bytes(s) > MLP_MAX_WEIGHT_BYTES)
			return fail(msg, msglen, ASSAY_ELIMIT, "mlp weights over 4 MiB");
		if (s->tile_cols != s->n)
			return fail(msg, msglen, ASSAY_EINVALID, "mlp tiles are whole batch rows");
	} else {
		return fail(msg, msglen, ASSAY_EINVALID, "unknown job kind");
	}
	if (!s->tile_rows || s->tile_rows > s->m || !s->tile_cols || s->tile_cols > s->n)
		return fail(msg, msglen, ASSAY_EINVALID, "tile shape outside the output");
	if (kernel_output_bytes(s) > max_output_bytes)
		return fail(msg, msglen, ASSAY_ELIMIT, "output over max_output_bytes");
	uint64_t tr = (s->m + (uint64_t)s->tile_rows - 1) / s->tile_rows;
	uint64_t tc = (s->n + (uint64_t)s->tile_cols - 1) / s->tile_cols;
	if (tr * tc > KERNEL_MAX_TILES)
		return fail(msg, msglen, ASSAY_ELIMIT, "more than 2^20 tiles");
	return 0;
}

unsigned kernel_elem_bytes(const struct job_shape *s)
{
	return s->kind == JOB_MATMUL_I8 ? 4 : 1;
}

uint64_t kernel_output_bytes(const struct job_shape *s)
{
	return (uint64_t)s->m * s->n * kernel_elem_bytes(s);
}

unsigned kernel_input_count(const struct job_shape *s)
{
	return s->kind == JOB_MATMUL_I8 ? 2 : 1 + 2u * s->layers;
}

uint64_t kernel_input_bytes(const struct job_shape *s, unsigned id)
{
	if (s->kind == JOB_MATMUL_I8)
		return id == 0 ? (uint64_t)s->m * s->k : (uint64_t)s->k * s->n;
	if (id == 0)
		return (uint64_t)s->m * s->dims[0];
	unsigned l = (id - 1) / 2;
	if ((id - 1) % 2 == 0)
		return (uint64_t)s->dims[l] * s->dims[l + 1];
	return 4ull * s->dims[l + 1];
}

static int is_bias_input(const struct job_shape *s, unsigned id)
{
	return s->kind == JOB_MLP_I8 && id > 0 && (id - 1) % 2 == 1;
}

/* The stream of (seed, id) is the ChaCha20 keystream (RFC 8439: 96-bit
 * all-zero nonce, 32-bit block counter from 0) under the key
 * H_tag("assay/expand", seed || u8 id). ChaCha20 is specified, fast with
 * SIMD and seekable by block counter, so a validator expands only the rows
 * and columns of the tiles it checks. */
#define CHACHA_BLOCK 64

static void expand_key(const uint8_t seed[HASH_LEN], uint8_t id, uint8_t key[HASH_LEN])
{
	uint8_t in[HASH_LEN + 1];
	memcpy(in, seed, HASH_LEN);
	in[HASH_LEN] = id;
	hash_tagged("assay/expand", in, sizeof(in), key);
}

void kernel_expand(const uint8_t seed[HASH_LEN], uint8_t id, uint64_t off, uint8_t *out, size_t n)
{
	static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
	uint8_t key[HASH_LEN];
	expand_key(seed, id, key);
	uint64_t block = off / CHACHA_BLOCK;
	size_t skip = (size_t)(off % CHACHA_BLOCK);
	if (skip && n) {
		uint8_t tmp[CHACHA_BLOCK] = {0};
		size_t take = CHACHA_BLOCK - skip < n ? CHACHA_BLOCK - skip : n;
		crypto_stream_chacha20_ietf_xor_ic(tmp, tmp, CHACHA_BLOCK, nonce, (uint32_t)block, key);
		memcpy(out, tmp + skip, take);
		out += take;
		n -= take;
		block++;
	}
	if (n) {
		memset(out, 0, n);
		crypto_stream_chacha20_ietf_xor_ic(out, out, n, nonce, (uint32_t)block, key);
	}
}

void kernel_expand_input(const struct job_shape *s, const uint8_t seed[HASH_LEN], unsigned id,
			 uint64_t off, uint8_t *out, size_t n)
{
	kernel_expand(seed, (uint8_t)id, off, out, n);
	if (!is_bias_input(s, id))
		return;
	/* Biases: a full-range int32 would swamp the products; >> 16 keeps
	 * them in [-2^15, 2^15), the scale of a few dozen products. */
	for (size_t i = 0; i + 4 <= n; i += 4) {
		int32_t w = (int32_t)le32_get(out + i);
		le32_put(out + i, (uint32_t)(w >> 16));
	}
}

void kernel_src_read(const struct kernel_src *src, const struct job_shape *s, unsigned id,
		     uint64_t off, uint8_t *out, size_t n)
{
	if (src->from_seed)
		kernel_expand_input(s, src->seed, id, off, out, n);
	else
		memcpy(out, src->data[id] + off, n);
}

int kernel_src_load(const struct kernel_src *src, const struct job_shape *s,
		    uint8_t *in[KERNEL_MAX_INPUTS])
{
	unsigned n = kernel_input_count(s);
	memset(in, 0, sizeof(uint8_t *) * KERNEL_MAX_INPUTS);
	for (unsigned id = 0; id < n; id++) {
		uint64_t len = kernel_input_bytes(s, id);
		in[id] = malloc(len ? len : 1);
		if (!in[id]) {
			for (unsigned j = 0; j < id; j++)
				free(in[j]);
			return ASSAY_ENOMEM;
		}
		kernel_src_read(src, s, id, 0, in[id], len);
	}
	return 0;
}

void kernel_matmul_ref(const int8_t *A, const int8_t *Bt, int32_t *C, uint32_t m, uint32_t n,
		       uint32_t k)
{
	for (uint32_t i = 0; i < m; i++)
		for (uint32_t j = 0; j < n; j++) {
			const int8_t *a = A + (size_t)i * k, *b = Bt + (size_t)j * k;
			int32_t acc = 0;
			for (uint32_t t = 0; t < k; t++)
				acc += (int32_t)a[t] * b[t];
			C[(size_t)i * n + j] = acc;
		}
}

int8_t kernel_requant(int64_t acc, unsigned shift, int relu)
{
	if (shift)
		acc = (acc + ((int64_t)1 << (shift - 1))) >> shift;
	if (relu && acc < 0)
		acc = 0;
	if (acc > 127)
		acc = 127;
	if (acc < -128)
		acc = -128;
	return (int8_t)acc;
}

/* Runs nrows rows x (nrows x d0) through every layer into out (nrows x dL). */
static int mlp_rows(const struct job_shape *s, const int8_t *x, uint8_t *const w[MLP_MAX_LAYERS],
		    uint8_t *const bias[MLP_MAX_LAYERS], uint32_t nrows, int8_t *out)
{
	uint32_t widest = 0;
	for (unsigned l = 0; l <= s->layers; l++)
		if (s->dims[l] > widest)
			widest = s->dims[l];
	int8_t *cur = malloc(widest), *next = malloc(widest);
	int64_t *acc = malloc(sizeof(int64_t) * widest);
	if (!cur || !next || !acc) {
		free(cur);
		free(next);
		free(acc);
		return ASSAY_ENOMEM;
	}
	for (uint32_t row = 0; row < nrows; row++) {
		memcpy(cur, x + (size_t)row * s->dims[0], s->dims[0]);
		for (unsigned l = 0; l < s->layers; l++) {
			uint32_t din = s->dims[l], dout = s->dims[l + 1];
			const int8_t *W = (const int8_t *)w[l];
			for (uint32_t j = 0; j < dout; j++)
				acc[j] = (int32_t)le32_get(bias[l] + 4 * (size_t)j);
			for (uint32_t i = 0; i < din; i++) {
				int64_t xi = cur[i];
				const int8_t *wr = W + (size_t)i * dout;
				for (uint32_t j = 0; j < dout; j++)
					acc[j] += xi * wr[j];
			}
			int last = l + 1 == s->layers;
			for (uint32_t j = 0; j < dout; j++)
				next[j] = kernel_requant(acc[j], s->shifts[l], !last);
			int8_t *t = cur;
			cur = next;
			next = t;
		}
		memcpy(out + (size_t)row * s->n, cur, s->n);
	}
	free(cur);
	free(next);
	free(acc);
	return 0;
}

int kernel_mlp_ref(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], uint32_t row0,
		   uint32_t nrows, int8_t *out)
{
	uint8_t *w[MLP_MAX_LAYERS] = {0}, *bias[MLP_MAX_LAYERS] = {0};
	for (unsigned l = 0; l < s->layers; l++) {
		w[l] = in[1 + 2 * l];
		bias[l] = in[2 + 2 * l];
	}
	return mlp_rows(s, (const int8_t *)in[0] + (size_t)row0 * s->dims[0], w, bias, nrows, out);
}

int kernel_compute_ref(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS],
		       uint8_t **out, uint64_t *out_len)
{
	uint64_t len = kernel_output_bytes(s);
	uint8_t *o = malloc(len);
	if (!o)
		return ASSAY_ENOMEM;
	int err = 0;
	if (s->kind == JOB_MATMUL_I8)
		kernel_matmul_ref((const int8_t *)in[0], (const int8_t *)in[1], (int32_t *)o, s->m,
				  s->n, s->k);
	else
		err = kernel_mlp_ref(s, in, 0, s->m, (int8_t *)o);
	if (err) {
		free(o);
		return err;
	}
	*out = o;
	*out_len = len;
	return 0;
}

static uint32_t tiles_across(const struct job_shape *s)
{
	return (s->n + s->tile_cols - 1) / s->tile_cols;
}

uint32_t kernel_tile_count(const struct job_shape *s)
{
	return ((s->m + s->tile_rows - 1) / s->tile_rows) * tiles_across(s);
}

void kernel_tile_rect(const struct job_shape *s, uint32_t i, uint32_t *r0, uint32_t *c0,
		      uint32_t *nr, uint32_t *nc)
{
	uint32_t across = tiles_across(s);
	*r0 = (i / across) * s->tile_rows;
	*c0 = (i % across) * s->tile_cols;
	*nr = s->m - *r0 < s->tile_rows ? s->m - *r0 : s->tile_rows;
	*nc = s->n - *c0 < s->tile_cols ? s->n - *c0 : s->tile_cols;
}

uint64_t kernel_tile_bytes(const struct job_shape *s, uint32_t i)
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	return (uint64_t)nr * nc * kernel_elem_bytes(s);
}

void kernel_tile_extract(const struct job_shape *s, const uint8_t *output, uint32_t i, uint8_t *tile)
{
	uint32_t r0, c0, nr, nc;
	unsigned e = kernel_elem_bytes(s);
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	for (uint32_t r = 0; r < nr; r++)
		memcpy(tile + (size_t)r * nc * e, output + ((size_t)(r0 + r) * s->n + c0) * e,
		       (size_t)nc * e);
}

void kernel_tile_leaf(uint32_t i, const uint8_t *tile, size_t len, uint8_t leaf[HASH_LEN])
{
	uint8_t prefix[5];
	prefix[0] = 0x00; /* RFC 6962 leaf prefix, as merkle_leaf_hash */
	le32_put(prefix + 1, i);
	sha256_2(prefix, sizeof(prefix), tile, len, leaf);
}

int kernel_commit(const struct job_shape *s, const uint8_t *output, uint8_t (**leaves)[HASH_LEN],
		  uint8_t root[HASH_LEN], uint8_t output_hash[HASH_LEN])
{
	uint32_t n = kernel_tile_count(s);
	uint8_t(*lv)[HASH_LEN] = malloc((size_t)n * HASH_LEN);
	uint8_t *tile = malloc((size_t)s->tile_rows * s->tile_cols * kernel_elem_bytes(s));
	if (!lv || !tile) {
		free(lv);
		free(tile);
		return ASSAY_ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		kernel_tile_extract(s, output, i, tile);
		kernel_tile_leaf(i, tile, kernel_tile_bytes(s, i), lv[i]);
	}
	free(tile);
	merkle_root((const uint8_t(*)[HASH_LEN])lv, n, root);
	sha256(output, kernel_output_bytes(s), output_hash);
	*leaves = lv;
	return 0;
}

void kernel_challenge_seed(const uint8_t beacon[HASH_LEN], const uint8_t job_id[HASH_LEN],
			   const uint8_t worker[ADDR_LEN], uint8_t seed[HASH_LEN])
{
	uint8_t in[2 * HASH_LEN + ADDR_LEN];
	memcpy(in, beacon, HASH_LEN);
	memcpy(in + HASH_LEN, job_id, HASH_LEN);
	memcpy(in + 2 * HASH_LEN, worker, ADDR_LEN);
	hash_tagged("assay/challenge", in, sizeof(in), seed);
}

uint32_t kernel_challenge_indices(const uint8_t seed[HASH_LEN], uint32_t k, uint32_t tiles,
				  uint32_t *out)
{
	if (k >= tiles) {
		for (uint32_t i = 0; i < tiles; i++)
			out[i] = i;
		return tiles;
	}
	/* Accept x only below the largest multiple of tiles that fits in 2^64,
	 * so x mod tiles is exactly uniform; repeats are drawn again. */
	uint64_t rem = (uint64_t)(-(uint64_t)tiles) % tiles; /* 2^64 mod tiles */
	uint32_t got = 0;
	for (uint64_t c = 0; got < k; c++) {
		uint8_t in[HASH_LEN + 8], h[HASH_LEN];
		memcpy(in, seed, HASH_LEN);
		le64_put(in + HASH_LEN, c);
		sha256(in, sizeof(in), h);
		for (int w = 0; w < 4 && got < k; w++) {
			uint64_t x = le64_get(h + 8 * w);
			if (rem && x >= (uint64_t)0 - rem)
				continue;
			uint32_t idx = (uint32_t)(x % tiles);
			int dup = 0;
			for (uint32_t q = 0; q < got; q++)
				dup |= out[q] == idx;
			if (!dup)
				out[got++] = idx;
		}
	}
	return got;
}

void kernel_freivalds_vector(const uint8_t seed[HASH_LEN], uint32_t i, uint32_t n, uint64_t *r)
{
	uint8_t in[HASH_LEN + 4 + 8], h[HASH_LEN];
	memcpy(in, seed, HASH_LEN);
	le32_put(in + HASH_LEN, i);
	uint32_t got = 0;
	for (uint64_t b = 0; got < n; b++) {
		le64_put(in + HASH_LEN + 4, b);
		hash_tagged("assay/freivalds", in, sizeof(in), h);
		for (int w = 0; w < 4 && got < n; w++) {
			uint64_t x = le64_get(h + 8 * w) & P61;
			if (x != 0 && x != P61) /* uniform on [1, p-1]: never zero */
				r[got++] = x;
		}
	}
}

/* x mod p for x < 2^128, by folding 2^61 = 1 (mod p). */
static uint64_t mod_p_u128(unsigned __int128 x)
{
	x = (x & P61) + (x >> 61); /* < 2^68 */
	x = (x & P61) + (x >> 61); /* < 2^61 + 2^7 */
	uint64_t v = (uint64_t)x;
	v = (v & P61) + (v >> 61);
	return v >= P61 ? v - P61 : v;
}

static uint64_t mod_p_s128(__int128 x)
{
	if (x >= 0)
		return mod_p_u128((unsigned __int128)x);
	uint64_t m = mod_p_u128(-(unsigned __int128)x);
	return m ? P61 - m : 0;
}

int kernel_freivalds(const int8_t *A_rows, const int8_t *Bt_cols, const int32_t *T, uint32_t nr,
		     uint32_t nc, uint32_t k, const uint64_t *r)
{
	/* Bounds: |b r_j| < 2^68, nc <= 2^20 terms: |y| < 2^88; |a y| < 2^68, k
	 * <= 2^17 terms; |T r| < 2^92, nc terms: all far inside int128. */
	__int128 *y = calloc(k ? k : 1, sizeof(*y));
	uint64_t *ym = malloc(sizeof(uint64_t) * (k ? k : 1));
	if (!y || !ym) {
		free(y);
		free(ym);
		return ASSAY_ENOMEM;
	}
	for (uint32_t j = 0; j < nc; j++) {
		const int8_t *col = Bt_cols + (size_t)j * k;
		int64_t rj = (int64_t)r[j];
		for (uint32_t t = 0; t < k; t++)
			y[t] += (__int128)col[t] * rj;
	}
	for (uint32_t t = 0; t < k; t++)
		ym[t] = mod_p_s128(y[t]);
	free(y);
	int err = 0;
	for (uint32_t i = 0; i < nr && !err; i++) {
		const int8_t *a = A_rows + (size_t)i * k;
		const int32_t *trow = T + (size_t)i * nc;
		__int128 z = 0, w = 0;
		for (uint32_t t = 0; t < k; t++)
			z += (__int128)a[t] * (int64_t)ym[t];
		for (uint32_t j = 0; j < nc; j++)
			w += (__int128)trow[j] * (int64_t)r[j];
		if (mod_p_s128(z) != mod_p_s128(w))
			err = ASSAY_EINVALID;
	}
	free(ym);
	return err;
}

int kernel_check_tile(const struct job_shape *s, const struct kernel_src *src,
		      const uint8_t vec_seed[HASH_LEN], uint32_t i, const uint8_t *tile, size_t len)
{
	uint32_t r0, c0, nr, nc;
	if (i >= kernel_tile_count(s) || len != kernel_tile_bytes(s, i))
		return ASSAY_EINVALID;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	int err = ASSAY_ENOMEM;
	if (s->kind == JOB_MATMUL_I8) {
		uint8_t *a = malloc((size_t)nr * s->k), *b = malloc((size_t)nc * s->k);
		int32_t *t = malloc(len);
		uint64_t *r = malloc(sizeof(uint64_t) * nc);
		if (a && b && t && r) {
			kernel_src_read(src, s, 0, (uint64_t)r0 * s->k, a, (size_t)nr * s->k);
			kernel_src_read(src, s, 1, (uint64_t)c0 * s->k, b, (size_t)nc * s->k);
			memcpy(t, tile, len);
			kernel_freivalds_vector(vec_seed, i, nc, r);
			err = kernel_freivalds((const int8_t *)a, (const int8_t *)b, t, nr, nc, s->k, r);
		}
		free(a);
		free(b);
		free(t);
		free(r);
		return err;
	}
	uint8_t *x = malloc((size_t)nr * s->dims[0]);
	int8_t *out = malloc(len);
	uint8_t *w[MLP_MAX_LAYERS] = {0}, *bias[MLP_MAX_LAYERS] = {0};
	int ok = x && out;
	for (unsigned l = 0; l < s->layers && ok; l++) {
		uint64_t wl = kernel_input_bytes(s, 1 + 2 * l), bl = kernel_input_bytes(s, 2 + 2 * l);
		w[l] = malloc(wl);
		bias[l] = malloc(bl);
		ok = w[l] && bias[l];
		if (ok) {
			kernel_src_read(src, s, 1 + 2 * l, 0, w[l], wl);
			kernel_src_read(src, s, 2 + 2 * l, 0, bias[l], bl);
		}
	}
	if (ok) {
		kernel_src_read(src, s, 0, (uint64_t)r0 * s->dims[0], x, (size_t)nr * s->dims[0]);
		err = mlp_rows(s, (const int8_t *)x, w, bias, nr, out);
		if (!err && memcmp(out, tile, len) != 0)
			err = ASSAY_EINVALID;
	}
	for (unsigned l = 0; l < MLP_MAX_LAYERS; l++) {
		free(w[l]);
		free(bias[l]);
	}
	free(x);
	free(out);
	return err;
}

uint64_t kernel_check_units(const struct job_shape *s, uint32_t i)
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	if (s->kind == JOB_MATMUL_I8)
		return 2 * ((uint64_t)nr + nc) * s->k + (uint64_t)nr * nc;
	return ((uint64_t)nr + 1) * mlp_weight_bytes(s) + (uint64_t)nr * s->dims[0];
}

int kernel_freivalds_full(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS],
			  const uint8_t *output, const uint8_t vec_seed[HASH_LEN])
{
	if (s->kind != JOB_MATMUL_I8)
		return ASSAY_EARG;
	uint64_t *r = malloc(sizeof(uint64_t) * s->n);
	if (!r)
		return ASSAY_ENOMEM;
	kernel_freivalds_vector(vec_seed, UINT32_MAX, s->n, r);
	int err = kernel_freivalds((const int8_t *)in[0], (const int8_t *)in[1],
				   (const int32_t *)output, s->m, s->n, s->k, r);
	free(r);
	return err;
}

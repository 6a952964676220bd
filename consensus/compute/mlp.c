/* mlp-i8 pre-activations, reference rows and the reveal's Freivalds
 * spot-check (see mlp.h, docs/compute.md §5.2). Exact integers throughout:
 * products are split into limbs so that every partial sum fits int64, and
 * the two sides of each Freivalds equation are compared modulo p = 2^61 - 1.
 * Output and pre-activation arrays are little-endian; the host is LE. */
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/field.h"
#include "consensus/compute/mlp.h"
#include "core/buf.h"
#include "core/chacha.h"
#include "core/error.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "pre-activations and biases are int32 LE, used in place");


static uint32_t widest(const struct job_shape *s)
{
	uint32_t w = 0;
	for (unsigned l = 0; l <= s->layers; l++)
		w = s->dims[l] > w ? s->dims[l] : w;
	return w;
}

static uint64_t hidden_sum(const struct job_shape *s)
{
	uint64_t sum = 0;
	for (unsigned l = 1; l <= s->layers; l++)
		sum += s->dims[l];
	return sum;
}

uint64_t mlp_pre_bytes(const struct job_shape *s, uint32_t nrows)
{
	return 4ull * nrows * hidden_sum(s);
}

uint64_t mlp_tile_pre_bytes(const struct job_shape *s, uint32_t i)
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	return mlp_pre_bytes(s, nr);
}

void mlp_pre_digest(const uint8_t *pre, size_t len, uint8_t digest[HASH_LEN])
{
	hash_tagged("assay/mlp-pre", pre, len, digest);
}

void mlp_pre_digest2(const uint8_t *a, const uint8_t *b, size_t len, uint8_t da[HASH_LEN], uint8_t db[HASH_LEN])
{
	hash_tagged_x2("assay/mlp-pre", a, b, len, da, db);
}

int mlp_tile_leaf(uint32_t i, const uint8_t *out, size_t len, const uint8_t digest[HASH_LEN],
		  uint8_t leaf[HASH_LEN])
{
	uint8_t *unit = malloc(len + HASH_LEN);
	if (!unit)
		return ASSAY_ENOMEM;
	memcpy(unit, out, len);
	memcpy(unit + len, digest, HASH_LEN);
	kernel_tile_leaf(i, unit, len + HASH_LEN, leaf);
	free(unit);
	return 0;
}

void mlp_tile_pre_extract(const struct job_shape *s, const uint8_t *job_pre, uint32_t i, uint8_t *tile_pre)
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	const uint8_t *layer = job_pre;
	for (unsigned l = 1; l <= s->layers; l++) {
		size_t row = 4ull * s->dims[l];
		memcpy(tile_pre, layer + (size_t)r0 * row, (size_t)nr * row);
		tile_pre += (size_t)nr * row;
		layer += (size_t)s->m * row;
	}
}

int mlp_pre_digests(const struct job_shape *s, const uint8_t *job_pre, uint8_t (**digests)[HASH_LEN])
{
	uint32_t tiles = kernel_tile_count(s);
	uint8_t(*d)[HASH_LEN] = malloc((size_t)tiles * HASH_LEN);
	size_t most = (size_t)mlp_pre_bytes(s, s->tile_rows); /* tile 0's: no tile has more */
	uint8_t *buf = malloc(2 * most);
	if (!d || !buf) {
		free(d);
		free(buf);
		return ASSAY_ENOMEM;
	}
	for (uint32_t i = 0; i < tiles;) { /* two at a time where two have one length */
		size_t len = (size_t)mlp_tile_pre_bytes(s, i);
		mlp_tile_pre_extract(s, job_pre, i, buf);
		if (i + 1 < tiles && mlp_tile_pre_bytes(s, i + 1) == len) {
			mlp_tile_pre_extract(s, job_pre, i + 1, buf + most);
			mlp_pre_digest2(buf, buf + most, len, d[i], d[i + 1]);
			i += 2;
		} else {
			mlp_pre_digest(buf, len, d[i]);
			i++;
		}
	}
	free(buf);
	*digests = d;
	return 0;
}

int mlp_ref_rows(const struct job_shape *s, const int8_t *x, uint8_t *const w[MLP_MAX_LAYERS],
		 uint8_t *const bias[MLP_MAX_LAYERS], uint32_t nrows, int8_t *out, uint8_t *pre)
{
	uint32_t wd = widest(s);
	int8_t *cur = malloc(wd), *next = malloc(wd);
	int64_t *acc = malloc(sizeof(int64_t) * wd);
	if (!cur || !next || !acc) {
		free(cur);
		free(next);
		free(acc);
		return ASSAY_ENOMEM;
	}
	for (uint32_t row = 0; row < nrows; row++) {
		memcpy(cur, x + (size_t)row * s->dims[0], s->dims[0]);
		uint8_t *layer_pre = pre;
		for (unsigned l = 0; l < s->layers; l++) {
			uint32_t din = s->dims[l], dout = s->dims[l + 1];
			const int8_t *W = (const int8_t *)w[l];
			memset(acc, 0, sizeof(int64_t) * dout);
			for (uint32_t i = 0; i < din; i++) {
				int64_t xi = cur[i];
				const int8_t *wr = W + (size_t)i * dout;
				for (uint32_t j = 0; j < dout; j++)
					acc[j] += xi * wr[j];
			}
			if (pre) {
				for (uint32_t j = 0; j < dout; j++)
					le32_put(layer_pre + 4 * ((size_t)row * dout + j),
						 (uint32_t)(int32_t)acc[j]);
				layer_pre += 4ull * nrows * dout;
			}
			int last = l + 1 == s->layers;
			for (uint32_t j = 0; j < dout; j++)
				next[j] = kernel_requant(acc[j] + (int32_t)le32_get(bias[l] + 4 * (size_t)j),
							 s->shifts[l], !last);
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

int mlp_compute_ref(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], uint8_t **out,
		    uint8_t **pre)
{
	uint8_t *w[MLP_MAX_LAYERS] = {0}, *bias[MLP_MAX_LAYERS] = {0};
	for (unsigned l = 0; l < s->layers; l++) {
		w[l] = in[1 + 2 * l];
		bias[l] = in[2 + 2 * l];
	}
	uint64_t plen = mlp_pre_bytes(s, s->tile_rows);
	uint8_t *o = malloc(kernel_output_bytes(s)), *p = malloc(mlp_pre_bytes(s, s->m));
	uint8_t *tile_pre = malloc(plen);
	int err = o && p && tile_pre ? 0 : ASSAY_ENOMEM;
	/* tile by tile, so each tile's pre-activations land in whole-job layout */
	for (uint32_t r0 = 0; r0 < s->m && !err; r0 += s->tile_rows) {
		uint32_t nr = s->m - r0 < s->tile_rows ? s->m - r0 : s->tile_rows;
		err = mlp_ref_rows(s, (const int8_t *)in[0] + (size_t)r0 * s->dims[0], w, bias, nr,
				   (int8_t *)o + (size_t)r0 * s->n, tile_pre);
		const uint8_t *src = tile_pre;
		uint8_t *layer = p;
		for (unsigned l = 1; l <= s->layers && !err; l++) {
			size_t row = 4ull * s->dims[l];
			memcpy(layer + (size_t)r0 * row, src, (size_t)nr * row);
			src += (size_t)nr * row;
			layer += (size_t)s->m * row;
		}
	}
	free(tile_pre);
	if (err) {
		free(o);
		free(p);
		return err;
	}
	*out = o;
	*pre = p;
	return 0;
}

/* Weights and biases of every layer, read from src: w[l] d_l x d_{l+1}. */
struct mlp_params {
	uint8_t *w[MLP_MAX_LAYERS], *bias[MLP_MAX_LAYERS];
};

static void params_free(struct mlp_params *p)
{
	for (unsigned l = 0; l < MLP_MAX_LAYERS; l++) {
		free(p->w[l]);
		free(p->bias[l]);
	}
}

static int params_load(const struct job_shape *s, const struct kernel_src *src, struct mlp_params *p,
		       int weights)
{
	memset(p, 0, sizeof(*p));
	for (unsigned l = 0; l < s->layers; l++) {
		uint64_t wl = kernel_input_bytes(s, 1 + 2 * l), bl = kernel_input_bytes(s, 2 + 2 * l);
		p->bias[l] = malloc(bl);
		p->w[l] = weights ? malloc(wl) : NULL;
		if (!p->bias[l] || (weights && !p->w[l])) {
			params_free(p);
			return ASSAY_ENOMEM;
		}
		if (weights)
			kernel_src_read(src, s, 1 + 2 * l, 0, p->w[l], wl);
		kernel_src_read(src, s, 2 + 2 * l, 0, p->bias[l], bl);
	}
	return 0;
}

int mlp_recompute_tile_digest(const struct job_shape *s, const struct kernel_src *src, uint32_t i,
			      const uint8_t *tile, size_t len, const uint8_t *digest)
{
	uint32_t r0, c0, nr, nc;
	if (i >= kernel_tile_count(s) || len != kernel_tile_bytes(s, i))
		return ASSAY_EINVALID;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	struct mlp_params p;
	if (params_load(s, src, &p, 1))
		return ASSAY_ENOMEM;
	size_t pre_len = digest ? (size_t)mlp_tile_pre_bytes(s, i) : 0;
	uint8_t *x = malloc((size_t)nr * s->dims[0]), *pre = digest ? malloc(pre_len) : NULL;
	int8_t *out = malloc(len);
	int err = ASSAY_ENOMEM;
	if (x && out && (pre || !digest)) {
		kernel_src_read(src, s, 0, (uint64_t)r0 * s->dims[0], x, (size_t)nr * s->dims[0]);
		err = mlp_ref_rows(s, (const int8_t *)x, p.w, p.bias, nr, out, pre);
		if (!err && memcmp(out, tile, len) != 0)
			err = ASSAY_EINVALID;
		if (!err && digest) {
			uint8_t want[HASH_LEN];
			mlp_pre_digest(pre, pre_len, want);
			if (memcmp(want, digest, HASH_LEN) != 0)
				err = ASSAY_EINVALID;
		}
	}
	params_free(&p);
	free(x);
	free(pre);
	free(out);
	return err;
}

int mlp_recompute_tile(const struct job_shape *s, const struct kernel_src *src, uint32_t i,
		       const uint8_t *tile, size_t len)
{
	return mlp_recompute_tile_digest(s, src, i, tile, len, NULL);
}

uint64_t mlp_weight_bytes(const struct job_shape *s)
{
	uint64_t total = 0;
	for (unsigned l = 0; l < s->layers; l++)
		total += (uint64_t)s->dims[l] * s->dims[l + 1];
	return total;
}

uint64_t mlp_recompute_units(const struct job_shape *s, uint32_t i)
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	return ((uint64_t)nr + 1) * mlp_weight_bytes(s) + (uint64_t)nr * s->dims[0];
}

/* ---- the Freivalds spot-check ---- */

static int simd_level = 2;

void mlp_simd_enable(int level)
{
	simd_level = level;
}

struct mlp_layer_vec {
	int64_t *r21[3]; /* r_l (d_l entries) as 21-, 21- and 19-bit limbs */
	int64_t *u_lo;   /* u_l = W_l . r_l mod p (d_{l-1} entries): low 31 bits */
	int64_t *u_hi;   /* ... and the high 30 */
	int32_t *bias;   /* d_l biases */
};

struct mlp_check {
	const struct job_shape *s;
	const struct kernel_src *src;
	int level; /* field_simd_level under mlp_simd_enable's cap */
	struct mlp_layer_vec layer[MLP_MAX_LAYERS];
	int8_t *a, *next; /* one row's activations (widest entries each) */
	int32_t *z;       /* one row's pre-activations of one layer */
	uint8_t *x;       /* one tile's rows of X */
};

/* r_l: d entries uniform on [1, p-1] from H_tag("assay/mlp-freivalds", seed
 * || u8 l || u64 LE block), four 61-bit words per block (as
 * kernel_freivalds_vector draws matmul's: field_draw_vector). */
static void draw_vector(const uint8_t seed[HASH_LEN], unsigned l, uint32_t d, uint64_t *r)
{
	uint8_t prefix[HASH_LEN + 1]; /* seed || u8 l */
	memcpy(prefix, seed, HASH_LEN);
	prefix[HASH_LEN] = (uint8_t)l;
	field_draw_vector("assay/mlp-freivalds", prefix, sizeof(prefix), d, r);
}

void mlp_check_destroy(mlp_check_t *c)
{
	if (!c)
		return;
	for (unsigned l = 0; l < MLP_MAX_LAYERS; l++) {
		for (int q = 0; q < 3; q++)
			free(c->layer[l].r21[q]);
		free(c->layer[l].u_lo);
		free(c->layer[l].u_hi);
		free(c->layer[l].bias);
	}
	free(c->a);
	free(c->next);
	free(c->z);
	free(c->x);
	free(c);
}

#define W_ROWS_BYTES (64 * 1024) /* mlp_check_create's share of W_l at a time */

mlp_check_t *mlp_check_create(const struct job_shape *s, const struct kernel_src *src,
			      const uint8_t vec_seed[HASH_LEN])
{
	mlp_check_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->src = src;
	c->level = field_simd_level(simd_level);
	uint32_t wd = widest(s);
	c->a = malloc(wd);
	c->next = malloc(wd);
	c->z = malloc(sizeof(int32_t) * wd);
	c->x = malloc((size_t)s->tile_rows * s->dims[0]);
	uint64_t *r = malloc(sizeof(uint64_t) * wd);
	uint8_t *limbs = malloc((size_t)FIELD_LIMBS7 * wd);
	int8_t *W = NULL;
	uint64_t *u = NULL;
	int ok = c->a && c->next && c->z && c->x && r && limbs;
	for (unsigned l = 0; l < s->layers && ok; l++) {
		struct mlp_layer_vec *v = &c->layer[l];
		uint32_t din = s->dims[l], dout = s->dims[l + 1];
		uint64_t bl = kernel_input_bytes(s, 2 + 2 * l);
		/* W_l is read W_ROWS_BYTES at a time (whole pairs of rows), not
		 * whole: a buffer that stays in cache, and no pages to fault in
		 * for a megabyte read once */
		uint32_t rows = W_ROWS_BYTES / dout / 2 * 2;
		rows = rows < 2 ? 2 : rows > din ? din : rows;
		for (int q = 0; q < 3; q++)
			v->r21[q] = malloc(sizeof(int64_t) * dout);
		v->u_lo = malloc(sizeof(int64_t) * din);
		v->u_hi = malloc(sizeof(int64_t) * din);
		v->bias = malloc(bl);
		W = malloc((size_t)rows * dout);
		u = malloc(sizeof(uint64_t) * rows);
		ok = v->r21[0] && v->r21[1] && v->r21[2] && v->u_lo && v->u_hi && v->bias && W && u;
		if (!ok)
			break;
		kernel_src_read(src, s, 2 + 2 * l, 0, (uint8_t *)v->bias,
				bl); /* int32 LE, the host's order */
		draw_vector(vec_seed, l + 1, dout, r);
		for (uint32_t j = 0; j < dout; j++) {
			v->r21[0][j] = (int64_t)(r[j] & FIELD_LIMB21);
			v->r21[1][j] = (int64_t)(r[j] >> 21 & FIELD_LIMB21);
			v->r21[2][j] = (int64_t)(r[j] >> 42);
		}
		/* u_l[i] = row i of W_l . r_l, by r_l's 7-bit limbs (field.h); W_l's
		 * rows word-sliced where that is faster, and the limbs with them */
		field_limbs7(r, dout, limbs);
		if (kernel_rows_sliced(src, s, 1 + 2 * l, dout))
			for (int q = 0; q < FIELD_LIMBS7; q++) {
				memcpy(W, limbs + (size_t)q * dout, dout); /* W is >= one row */
				chacha_slice((const uint8_t *)W, limbs + (size_t)q * dout, dout);
			}
		for (uint32_t i0 = 0; i0 < din; i0 += rows) {
			uint32_t nr = din - i0 < rows ? din - i0 : rows;
			kernel_rows_read(src, s, 1 + 2 * l, dout, (uint64_t)i0 * dout, (uint8_t *)W, (size_t)nr * dout);
			field_matvec_i8(c->level, W, nr, dout, limbs, u);
			for (uint32_t i = 0; i < nr; i++) {
				v->u_lo[i0 + i] = (int64_t)(u[i] & FIELD_LIMB31);
				v->u_hi[i0 + i] = (int64_t)(u[i] >> 31);
			}
		}
		free(W);
		free(u);
		W = NULL;
		u = NULL;
	}
	free(W);
	free(u);
	free(r);
	free(limbs);
	if (!ok) {
		mlp_check_destroy(c);
		return NULL;
	}
	return c;
}

/* z . r_l mod p: per FIELD_DOT3_CHUNK entries three limb sums (< 2^62 each); the
 * total stays below 2^17 * 2^31 * 2^61 = 2^109. */
static uint64_t z_dot_r(const mlp_check_t *c, const int32_t *z, const struct mlp_layer_vec *v, uint32_t d)
{
	__int128 total = 0;
	for (uint32_t j0 = 0; j0 < d; j0 += FIELD_DOT3_CHUNK) {
		uint32_t len = d - j0 < FIELD_DOT3_CHUNK ? d - j0 : FIELD_DOT3_CHUNK;
		int64_t part[3];
		field_dot3_i32(c->level, z + j0, v->r21[0] + j0, v->r21[1] + j0, v->r21[2] + j0, len, part);
		total += (__int128)part[0] + (__int128)part[1] * ((__int128)1 << 21) +
			 (__int128)part[2] * ((__int128)1 << 42);
	}
	return field_mod_s128(total);
}

/* a . u_l mod p from the two limb sums (< 2^55 each). */
static uint64_t a_dot_u(const mlp_check_t *c, const int8_t *a, const struct mlp_layer_vec *v, uint32_t d)
{
	int64_t sum[2];
	field_dot2_i8(c->level, a, v->u_lo, v->u_hi, d, sum);
	return field_mod_s128((__int128)sum[0] + (__int128)sum[1] * ((__int128)1 << 31));
}

int mlp_check_tile(mlp_check_t *c, uint32_t i, const uint8_t *out, size_t out_len, const uint8_t *pre,
		   size_t pre_len)
{
	const struct job_shape *s = c->s;
	uint32_t r0, c0, nr, nc;
	if (i >= kernel_tile_count(s) || out_len != kernel_tile_bytes(s, i) ||
	    pre_len != mlp_tile_pre_bytes(s, i))
		return ASSAY_EINVALID;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	kernel_src_read(c->src, s, 0, (uint64_t)r0 * s->dims[0], c->x, (size_t)nr * s->dims[0]);
	for (uint32_t row = 0; row < nr; row++) {
		memcpy(c->a, c->x + (size_t)row * s->dims[0], s->dims[0]);
		const uint8_t *layer_pre = pre;
		for (unsigned l = 0; l < s->layers; l++) {
			const struct mlp_layer_vec *v = &c->layer[l];
			uint32_t din = s->dims[l], dout = s->dims[l + 1];
			memcpy(c->z, layer_pre + 4ull * row * dout,
			       4ull * dout); /* int32 LE, the host's order */
			if (z_dot_r(c, c->z, v, dout) != a_dot_u(c, c->a, v, din))
				return ASSAY_EINVALID;
			kernel_requant_row(c->level, c->z, v->bias, dout, s->shifts[l], l + 1 < s->layers,
					   c->next);
			int8_t *t = c->a;
			c->a = c->next;
			c->next = t;
			layer_pre += 4ull * nr * dout;
		}
		if (memcmp(c->a, out + (size_t)row * s->n, s->n) != 0)
			return ASSAY_EINVALID;
	}
	return 0;
}

uint64_t mlp_check_fixed_units(const struct job_shape *s)
{
	/* expanding W_l and bias_l, two limb sums per weight, drawing r_l */
	uint64_t units = 3 * mlp_weight_bytes(s);
	for (unsigned l = 1; l <= s->layers; l++)
		units += 5ull * s->dims[l];
	return units;
}

uint64_t mlp_check_units(const struct job_shape *s, uint32_t i)
{
	/* per row: its X row, then per layer two limb sums over a_{l-1} and
	 * three over z_l plus the requantization */
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	uint64_t per_row = s->dims[0];
	for (unsigned l = 0; l < s->layers; l++)
		per_row += 2ull * s->dims[l] + 4ull * s->dims[l + 1];
	return nr * per_row;
}

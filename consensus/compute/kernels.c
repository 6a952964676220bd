/* Reference kernels of the compute protocol (see kernels.h). Written for
 * clarity and exactness first: validators run them on small slices (one tile
 * at a time); workers run worker/backend.h, which must match these bit for bit.
 * Output arrays are little-endian on the wire; the host is assumed LE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#if defined(__x86_64__) && !defined(ASSAY_NO_SIMD) /* ASSAY_NO_SIMD: portable build */
#include <immintrin.h>
#define KERNEL_X86 1 /* AVX2 forms of the Freivalds loops are built */
#endif

#include <openssl/evp.h>

#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"
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

/* OpenSSL's ChaCha20 (its IV is the RFC 8439 block: u32 LE counter ||
 * 96-bit nonce) has AVX2/AVX-512 code paths; fetched once. */
static EVP_CIPHER *chacha;
static pthread_once_t chacha_once = PTHREAD_ONCE_INIT;
static void chacha_fetch(void)
{
	chacha = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	if (!chacha)
		abort(); /* OpenSSL without ChaCha20: inputs cannot be expanded */
}

/* out[0..n) = keystream from block `block` on (n need not be whole blocks). */
static void chacha_stream(const uint8_t key[HASH_LEN], uint32_t block, uint8_t *out, size_t n)
{
	pthread_once(&chacha_once, chacha_fetch);
	uint8_t iv[16] = {0};
	le32_put(iv, block);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_EncryptInit_ex2(ctx, chacha, key, iv, NULL))
		abort(); /* allocation failure in a void, pure function */
	memset(out, 0, n);
	while (n) {
		int chunk = n > (1u << 30) ? 1 << 30 : (int)n, outl = 0;
		EVP_EncryptUpdate(ctx, out, &outl, out, chunk);
		out += chunk;
		n -= (size_t)chunk;
	}
	EVP_CIPHER_CTX_free(ctx);
}

void kernel_expand(const uint8_t seed[HASH_LEN], uint8_t id, uint64_t off, uint8_t *out, size_t n)
{
	uint8_t key[HASH_LEN];
	expand_key(seed, id, key);
	uint64_t block = off / CHACHA_BLOCK;
	size_t skip = (size_t)(off % CHACHA_BLOCK);
	if (skip && n) {
		uint8_t tmp[CHACHA_BLOCK];
		size_t take = CHACHA_BLOCK - skip < n ? CHACHA_BLOCK - skip : n;
		chacha_stream(key, (uint32_t)block, tmp, CHACHA_BLOCK);
		memcpy(out, tmp + skip, take);
		out += take;
		n -= take;
		block++;
	}
	if (n)
		chacha_stream(key, (uint32_t)block, out, n);
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

int kernel_mlp_ref(const struct job_shape *s, uint8_t *const in[KERNEL_MAX_INPUTS], uint32_t row0,
		   uint32_t nrows, int8_t *out)
{
	uint8_t *w[MLP_MAX_LAYERS] = {0}, *bias[MLP_MAX_LAYERS] = {0};
	for (unsigned l = 0; l < s->layers; l++) {
		w[l] = in[1 + 2 * l];
		bias[l] = in[2 + 2 * l];
	}
	return mlp_ref_rows(s, (const int8_t *)in[0] + (size_t)row0 * s->dims[0], w, bias, nrows, out, NULL);
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

uint64_t kernel_leaf_bytes(const struct job_shape *s, uint32_t i)
{
	return kernel_tile_bytes(s, i) + (s->kind == JOB_MLP_I8 ? HASH_LEN : 0);
}

void kernel_leaf_extract(const struct job_shape *s, const uint8_t *output, const uint8_t (*pre_digests)[HASH_LEN],
			 uint32_t i, uint8_t *unit)
{
	kernel_tile_extract(s, output, i, unit);
	if (s->kind == JOB_MLP_I8)
		memcpy(unit + kernel_tile_bytes(s, i), pre_digests[i], HASH_LEN);
}

int kernel_commit_pre(const struct job_shape *s, const uint8_t *output, const uint8_t (*pre_digests)[HASH_LEN],
		      uint8_t (**leaves)[HASH_LEN], uint8_t root[HASH_LEN], uint8_t output_hash[HASH_LEN])
{
	if (s->kind == JOB_MLP_I8 && !pre_digests)
		return ASSAY_EARG;
	uint32_t n = kernel_tile_count(s);
	uint8_t(*lv)[HASH_LEN] = malloc((size_t)n * HASH_LEN);
	uint8_t *unit = malloc((size_t)kernel_leaf_bytes(s, 0)); /* tile 0 is never an edge tile */
	if (!lv || !unit) {
		free(lv);
		free(unit);
		return ASSAY_ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		kernel_leaf_extract(s, output, pre_digests, i, unit);
		kernel_tile_leaf(i, unit, kernel_leaf_bytes(s, i), lv[i]);
	}
	free(unit);
	merkle_root((const uint8_t(*)[HASH_LEN])lv, n, root);
	sha256(output, kernel_output_bytes(s), output_hash);
	*leaves = lv;
	return 0;
}

int kernel_commit(const struct job_shape *s, const uint8_t *output, uint8_t (**leaves)[HASH_LEN],
		  uint8_t root[HASH_LEN], uint8_t output_hash[HASH_LEN])
{
	return kernel_commit_pre(s, output, NULL, leaves, root, output_hash);
}

void kernel_challenge_seed(const uint8_t beacon[HASH_LEN], const uint8_t *salt, const uint8_t job_id[HASH_LEN],
			   const uint8_t worker[ADDR_LEN], const uint8_t root[HASH_LEN], uint8_t seed[HASH_LEN])
{
	/* Every part has a fixed length and the salt is the only optional one,
	 * so the two input lengths cannot be confused. */
	uint8_t in[4 * HASH_LEN + ADDR_LEN], *p = in;
	memcpy(p, beacon, HASH_LEN);
	p += HASH_LEN;
	if (salt) {
		memcpy(p, salt, HASH_LEN);
		p += HASH_LEN;
	}
	memcpy(p, job_id, HASH_LEN);
	p += HASH_LEN;
	memcpy(p, worker, ADDR_LEN);
	p += ADDR_LEN;
	memcpy(p, root, HASH_LEN);
	p += HASH_LEN;
	hash_tagged("assay/challenge", in, (size_t)(p - in), seed);
}

void kernel_root_commitment(const uint8_t root[HASH_LEN], const uint8_t worker[ADDR_LEN],
			    uint8_t commitment[HASH_LEN])
{
	uint8_t in[HASH_LEN + ADDR_LEN];
	memcpy(in, root, HASH_LEN);
	memcpy(in + HASH_LEN, worker, ADDR_LEN);
	hash_tagged("assay/root-commit", in, sizeof(in), commitment);
}

void kernel_salt_hash(const uint8_t salt[HASH_LEN], uint8_t salt_hash[HASH_LEN])
{
	hash_tagged("assay/salt", salt, HASH_LEN, salt_hash);
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

/* Exact integer building blocks of Freivalds' test. Multipliers are split
 * into limbs below 2^31 (or 2^21) so that every product and every partial
 * sum fits int64, the form AVX2 multiplies four at a time (_mm256_mul_epi32:
 * low 32 bits of each lane, signed). Both versions compute the same
 * integers; the AVX2 one is only faster. */
#define LIMB31 ((1ull << 31) - 1)
#define LIMB21 ((1ull << 21) - 1)
#define DOT32_CHUNK 1024 /* int32 x 21-bit products: 1024 of them stay < 2^62 */

/* acc[t] += x[t] * c, 0 <= c < 2^31: |x c| < 2^38. */
static void axpy_i8(int64_t *acc, const int8_t *x, int64_t c, uint32_t k)
{
	for (uint32_t t = 0; t < k; t++)
		acc[t] += x[t] * c;
}

/* sum x[t] * w[t], 0 <= w[t] < 2^31, k <= 2^24 terms. */
static int64_t dot_i8(const int8_t *x, const int64_t *w, uint32_t k)
{
	int64_t s = 0;
	for (uint32_t t = 0; t < k; t++)
		s += x[t] * w[t];
	return s;
}

/* sum v[j] * c[j], int32 v, 0 <= c[j] < 2^21, n <= DOT32_CHUNK. */
static int64_t dot_i32(const int32_t *v, const int64_t *c, uint32_t n)
{
	int64_t s = 0;
	for (uint32_t j = 0; j < n; j++)
		s += (int64_t)v[j] * c[j];
	return s;
}

#ifdef KERNEL_X86
__attribute__((target("avx2"))) static void axpy_i8_avx2(int64_t *acc, const int8_t *x, int64_t c, uint32_t k)
{
	__m256i cv = _mm256_set1_epi64x(c);
	uint32_t t = 0;
	for (; t + 4 <= k; t += 4) {
		int32_t four;
		memcpy(&four, x + t, 4);
		__m256i xv = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(four));
		__m256i *p = (__m256i *)(acc + t);
		_mm256_storeu_si256(p, _mm256_add_epi64(_mm256_loadu_si256(p), _mm256_mul_epi32(xv, cv)));
	}
	for (; t < k; t++)
		acc[t] += x[t] * c;
}

__attribute__((target("avx2"))) static int64_t hsum_avx2(__m256i v)
{
	int64_t lanes[4];
	_mm256_storeu_si256((__m256i *)lanes, v);
	return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx2"))) static int64_t dot_i8_avx2(const int8_t *x, const int64_t *w, uint32_t k)
{
	__m256i sv = _mm256_setzero_si256();
	uint32_t t = 0;
	for (; t + 4 <= k; t += 4) {
		int32_t four;
		memcpy(&four, x + t, 4);
		__m256i xv = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(four));
		sv = _mm256_add_epi64(sv, _mm256_mul_epi32(xv, _mm256_loadu_si256((const __m256i *)(w + t))));
	}
	int64_t s = hsum_avx2(sv);
	for (; t < k; t++)
		s += x[t] * w[t];
	return s;
}

/* Four columns at once, both limbs: lo[t] += sum_q x_q[t] c_lo[q], hi
 * likewise (four products < 2^40), so each accumulator is loaded and stored
 * once per four columns. */
__attribute__((target("avx2"))) static void axpy4_i8_avx2(int64_t *lo, int64_t *hi, const int8_t *const x[4],
							  const int64_t c_lo[4], const int64_t c_hi[4], uint32_t k)
{
	__m256i l0 = _mm256_set1_epi64x(c_lo[0]), l1 = _mm256_set1_epi64x(c_lo[1]);
	__m256i l2 = _mm256_set1_epi64x(c_lo[2]), l3 = _mm256_set1_epi64x(c_lo[3]);
	__m256i h0 = _mm256_set1_epi64x(c_hi[0]), h1 = _mm256_set1_epi64x(c_hi[1]);
	__m256i h2 = _mm256_set1_epi64x(c_hi[2]), h3 = _mm256_set1_epi64x(c_hi[3]);
	uint32_t t = 0;
	for (; t + 4 <= k; t += 4) {
		int32_t f0, f1, f2, f3;
		memcpy(&f0, x[0] + t, 4);
		memcpy(&f1, x[1] + t, 4);
		memcpy(&f2, x[2] + t, 4);
		memcpy(&f3, x[3] + t, 4);
		__m256i x0 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f0));
		__m256i x1 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f1));
		__m256i x2 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f2));
		__m256i x3 = _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(f3));
		__m256i sl = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epi32(x0, l0), _mm256_mul_epi32(x1, l1)),
					      _mm256_add_epi64(_mm256_mul_epi32(x2, l2), _mm256_mul_epi32(x3, l3)));
		__m256i sh = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epi32(x0, h0), _mm256_mul_epi32(x1, h1)),
					      _mm256_add_epi64(_mm256_mul_epi32(x2, h2), _mm256_mul_epi32(x3, h3)));
		__m256i *pl = (__m256i *)(lo + t), *ph = (__m256i *)(hi + t);
		_mm256_storeu_si256(pl, _mm256_add_epi64(_mm256_loadu_si256(pl), sl));
		_mm256_storeu_si256(ph, _mm256_add_epi64(_mm256_loadu_si256(ph), sh));
	}
	for (; t < k; t++)
		for (int q = 0; q < 4; q++) {
			lo[t] += x[q][t] * c_lo[q];
			hi[t] += x[q][t] * c_hi[q];
		}
}

/* The three 21-bit limb sums of one chunk of a row in one pass. */
__attribute__((target("avx2"))) static void dot3_i32_avx2(const int32_t *v, const int64_t *c0, const int64_t *c1,
							  const int64_t *c2, uint32_t n, int64_t out[3])
{
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0;
	uint32_t j = 0;
	for (; j + 4 <= n; j += 4) {
		__m256i vv = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(v + j)));
		s0 = _mm256_add_epi64(s0, _mm256_mul_epi32(vv, _mm256_loadu_si256((const __m256i *)(c0 + j))));
		s1 = _mm256_add_epi64(s1, _mm256_mul_epi32(vv, _mm256_loadu_si256((const __m256i *)(c1 + j))));
		s2 = _mm256_add_epi64(s2, _mm256_mul_epi32(vv, _mm256_loadu_si256((const __m256i *)(c2 + j))));
	}
	out[0] = hsum_avx2(s0);
	out[1] = hsum_avx2(s1);
	out[2] = hsum_avx2(s2);
	for (; j < n; j++) {
		out[0] += (int64_t)v[j] * c0[j];
		out[1] += (int64_t)v[j] * c1[j];
		out[2] += (int64_t)v[j] * c2[j];
	}
}

#else
/* Elsewhere the vector entry points are the portable loops (never reached:
 * avx2 is 0), so the code below compiles unchanged. */
static void axpy_i8_avx2(int64_t *acc, const int8_t *x, int64_t c, uint32_t k)
{
	axpy_i8(acc, x, c, k);
}
static int64_t dot_i8_avx2(const int8_t *x, const int64_t *w, uint32_t k)
{
	return dot_i8(x, w, k);
}
static void axpy4_i8_avx2(int64_t *lo, int64_t *hi, const int8_t *const x[4], const int64_t c_lo[4],
			  const int64_t c_hi[4], uint32_t k)
{
	for (int q = 0; q < 4; q++) {
		axpy_i8(lo, x[q], c_lo[q], k);
		axpy_i8(hi, x[q], c_hi[q], k);
	}
}
static void dot3_i32_avx2(const int32_t *v, const int64_t *c0, const int64_t *c1, const int64_t *c2,
			  uint32_t n, int64_t out[3])
{
	out[0] = dot_i32(v, c0, n);
	out[1] = dot_i32(v, c1, n);
	out[2] = dot_i32(v, c2, n);
}
#endif

static int simd_allowed = 1;

void kernel_simd_enable(int on)
{
	simd_allowed = on;
}

int kernel_freivalds(const int8_t *A_rows, const int8_t *Bt_cols, const int32_t *T, uint32_t nr,
		     uint32_t nc, uint32_t k, const uint64_t *r)
{
#ifdef KERNEL_X86
	__builtin_cpu_init();
	int avx2 = simd_allowed && __builtin_cpu_supports("avx2");
#else
	int avx2 = 0;
#endif
	size_t kk = k ? k : 1, cc = nc ? nc : 1;
	/* ylo/yhi: y = B.r split by r = rhi 2^31 + rlo; |b r_lo| < 2^38 and at
	 * most 2^17 columns keep both under 2^56. ymod: y mod p as 31 + 30-bit
	 * limbs. rl: r as three 21-bit limbs. */
	int64_t *ylo = calloc(kk, 8), *yhi = calloc(kk, 8), *ym_lo = malloc(kk * 8), *ym_hi = malloc(kk * 8);
	int64_t *rl = malloc(cc * 3 * 8);
	int err = 0;
	if (!ylo || !yhi || !ym_lo || !ym_hi || !rl) {
		err = ASSAY_ENOMEM;
		goto out;
	}
	uint32_t j4 = avx2 ? nc / 4 * 4 : 0; /* columns done four at a time */
	for (uint32_t j = 0; j < j4; j += 4) {
		const int8_t *cols[4];
		int64_t lo[4], hi[4];
		for (int q = 0; q < 4; q++) {
			cols[q] = Bt_cols + (size_t)(j + q) * k;
			lo[q] = (int64_t)(r[j + q] & LIMB31);
			hi[q] = (int64_t)(r[j + q] >> 31);
		}
		axpy4_i8_avx2(ylo, yhi, cols, lo, hi, k);
	}
	for (uint32_t j = 0; j < nc; j++) {
		rl[j] = (int64_t)(r[j] & LIMB21);
		rl[cc + j] = (int64_t)(r[j] >> 21 & LIMB21);
		rl[2 * cc + j] = (int64_t)(r[j] >> 42);
	}
	for (uint32_t j = j4; j < nc; j++) {
		const int8_t *col = Bt_cols + (size_t)j * k;
		int64_t lo = (int64_t)(r[j] & LIMB31), hi = (int64_t)(r[j] >> 31);
		if (avx2) {
			axpy_i8_avx2(ylo, col, lo, k);
			axpy_i8_avx2(yhi, col, hi, k);
		} else {
			axpy_i8(ylo, col, lo, k);
			axpy_i8(yhi, col, hi, k);
		}
	}
	for (uint32_t t = 0; t < k; t++) {
		uint64_t y = mod_p_s128((__int128)ylo[t] + (__int128)yhi[t] * ((__int128)1 << 31));
		ym_lo[t] = (int64_t)(y & LIMB31);
		ym_hi[t] = (int64_t)(y >> 31);
	}
	for (uint32_t i = 0; i < nr && !err; i++) {
		const int8_t *a = A_rows + (size_t)i * k;
		const int32_t *trow = T + (size_t)i * nc;
		__int128 z, w = 0;
		if (avx2)
			z = (__int128)dot_i8_avx2(a, ym_lo, k) + (__int128)dot_i8_avx2(a, ym_hi, k) * ((__int128)1 << 31);
		else
			z = (__int128)dot_i8(a, ym_lo, k) + (__int128)dot_i8(a, ym_hi, k) * ((__int128)1 << 31);
		for (uint32_t j0 = 0; j0 < nc; j0 += DOT32_CHUNK) {
			uint32_t len = nc - j0 < DOT32_CHUNK ? nc - j0 : DOT32_CHUNK;
			int64_t part[3];
			if (avx2) {
				dot3_i32_avx2(trow + j0, rl + j0, rl + cc + j0, rl + 2 * cc + j0, len, part);
			} else {
				for (int limb = 0; limb < 3; limb++)
					part[limb] = dot_i32(trow + j0, rl + (size_t)limb * cc + j0, len);
			}
			for (int limb = 0; limb < 3; limb++)
				w += (__int128)part[limb] * ((__int128)1 << (21 * limb));
		}
		if (mod_p_s128(z) != mod_p_s128(w))
			err = ASSAY_EINVALID;
	}
out:
	free(ylo);
	free(yhi);
	free(ym_lo);
	free(ym_hi);
	free(rl);
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
	return mlp_recompute_tile(s, src, i, tile, len);
}

uint64_t kernel_check_units(const struct job_shape *s, uint32_t i)
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	if (s->kind == JOB_MATMUL_I8)
		return 2 * ((uint64_t)nr + nc) * s->k + (uint64_t)nr * nc;
	return mlp_check_units(s, i);
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

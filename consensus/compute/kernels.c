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
#define KERNEL_X86 1 /* the AVX2 and VNNI forms of the small-tile recompute are built */
#endif

#include "consensus/compute/field.h"
#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"
#include "core/buf.h"
#include "core/chacha.h"
#include "core/error.h"
#include "core/merkle.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "output arrays are little-endian and used in place");

_Static_assert(KERNEL_P61 == FIELD_P61, "one modulus");

static int fail(char *msg, size_t msglen, int err, const char *why)
{
	if (msg && msglen)
		snprintf(msg, msglen, "%s", why);
	return err;
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

/* The stream of (seed, id) is the ChaCha8 keystream (ChaCha of RFC 8439
 * with 8 rounds: 96-bit all-zero nonce, 32-bit block counter from 0) under
 * the key H_tag("assay/expand", seed || u8 id), docs/compute.md §2. ChaCha
 * is specified, fast with SIMD and seekable by block counter, so a
 * validator expands only the rows and columns of the tiles it checks;
 * 8 rounds rather than 20 because that expansion is most of a spot-check. */
#define CHACHA_BLOCK 64
#define EXPAND_ROUNDS 8

static int simd_allowed = 2; /* the highest form used: 0 portable, 1 AVX2, 2 AVX-512 */

static void expand_key(const uint8_t seed[HASH_LEN], uint8_t id, uint8_t key[HASH_LEN])
{
	uint8_t in[HASH_LEN + 1];
	memcpy(in, seed, HASH_LEN);
	in[HASH_LEN] = id;
	hash_tagged("assay/expand", in, sizeof(in), key);
}

/* Each thread keeps a scratch buffer for tile checks and the stream keys it
 * used last (struct kernel_thread). Threads never share them, so consensus
 * code may check tiles on several threads; the key's destructor frees them
 * when a thread ends. */
static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

struct kernel_thread {
	uint8_t *scratch;    /* tile check inputs; kept while <= SCRATCH_KEEP bytes */
	size_t scratch_cap;  /* bytes at scratch */
	struct {
		int used;               /* entry filled */
		uint8_t in[HASH_LEN + 1]; /* seed || u8 id */
		uint8_t key[HASH_LEN];  /* expand_key of in */
	} keys[KERNEL_MAX_INPUTS];      /* last stream key per input id (a tile check reads two) */
};
#define SCRATCH_KEEP (1u << 20)

static void thread_free(void *p)
{
	struct kernel_thread *t = p;
	free(t->scratch);
	free(t);
}

static void thread_key_make(void)
{
	if (pthread_key_create(&thread_key, thread_free) != 0)
		abort(); /* no thread key: per-thread state cannot be kept */
}

/* This thread's state, made on first use (NULL only when out of memory). */
static struct kernel_thread *thread_state(void)
{
	pthread_once(&thread_once, thread_key_make);
	struct kernel_thread *t = pthread_getspecific(thread_key);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (t && pthread_setspecific(thread_key, t) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* out[0..n) = keystream from block `block` on (n need not be whole blocks). */
static void chacha_stream(const uint8_t key[HASH_LEN], uint32_t block, uint8_t *out, size_t n)
{
	chacha_keystream_at(key, EXPAND_ROUNDS, block, out, n, simd_allowed);
}

/* expand_key, remembered per thread and input id: a validator expands the
 * same two inputs for every tile it checks. */
static void stream_key(const uint8_t seed[HASH_LEN], uint8_t id, uint8_t key[HASH_LEN])
{
	struct kernel_thread *t = thread_state();
	unsigned slot = id % KERNEL_MAX_INPUTS;
	if (t && t->keys[slot].used && t->keys[slot].in[HASH_LEN] == id &&
	    memcmp(t->keys[slot].in, seed, HASH_LEN) == 0) {
		memcpy(key, t->keys[slot].key, HASH_LEN);
		return;
	}
	expand_key(seed, id, key);
	if (t) {
		memcpy(t->keys[slot].in, seed, HASH_LEN);
		t->keys[slot].in[HASH_LEN] = id;
		memcpy(t->keys[slot].key, key, HASH_LEN);
		t->keys[slot].used = 1;
	}
}

void kernel_expand(const uint8_t seed[HASH_LEN], uint8_t id, uint64_t off, uint8_t *out, size_t n)
{
	uint8_t key[HASH_LEN];
	stream_key(seed, id, key);
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

static void requant_row(const int32_t *z, const int32_t *bias, uint32_t j, uint32_t d, unsigned shift,
			int relu, int8_t *out)
{
	int64_t half = shift ? (int64_t)1 << (shift - 1) : 0, lo = relu ? 0 : -128;
	for (; j < d; j++) {
		int64_t v = ((int64_t)z[j] + bias[j] + half) >> shift;
		/* two selects, no branches: the signs of random rows mispredict */
		v = v > 127 ? 127 : v;
		v = v < lo ? lo : v;
		out[j] = (int8_t)v;
	}
}

#ifdef KERNEL_X86
/* Four entries per ymm of int64: AVX2 has no 64-bit arithmetic shift, so
 * the sign is shifted back in (t >> s | sign << (64 - s) for s > 0), and the
 * two clamps are compare-and-blend. The low byte of each clamped lane is
 * the result. */
__attribute__((target("avx2"))) static void
requant_row_avx2(const int32_t *z, const int32_t *bias, uint32_t d, unsigned shift, int relu, int8_t *out)
{
	const __m256i half = _mm256_set1_epi64x(shift ? (int64_t)1 << (shift - 1) : 0);
	const __m256i hi = _mm256_set1_epi64x(127), lo = _mm256_set1_epi64x(relu ? 0 : -128);
	const __m256i zero = _mm256_setzero_si256();
	/* s = 0 shifts the sign back by 64: nothing */
	const __m128i cnt = _mm_cvtsi32_si128((int)shift), back = _mm_cvtsi32_si128(64 - (int)shift);
	const __m256i pick = _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0,
					      8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
	uint32_t j = 0;
	for (; j + 4 <= d; j += 4) {
		__m256i v =
			_mm256_add_epi64(_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(z + j))),
					 _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(bias + j))));
		v = _mm256_add_epi64(v, half);
		__m256i sign = _mm256_cmpgt_epi64(zero, v);
		v = _mm256_or_si256(_mm256_srl_epi64(v, cnt), _mm256_sll_epi64(sign, back));
		v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
		v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
		__m256i b = _mm256_shuffle_epi8(v, pick); /* bytes 0, 8 of each half */
		uint32_t two = (uint32_t)(uint16_t)_mm256_extract_epi16(b, 0) |
			       (uint32_t)(uint16_t)_mm256_extract_epi16(b, 8) << 16;
		memcpy(out + j, &two, 4);
	}
	requant_row(z, bias, j, d, shift, relu, out);
}

/* Eight entries per step, in a zmm of int64: vpsraq, vpmaxsq and
 * vpminsq, then vpmovqb packs each lane's low byte. */
__attribute__((target("avx512f"))) static void
requant_row_avx512(const int32_t *z, const int32_t *bias, uint32_t d, unsigned shift, int relu, int8_t *out)
{
	const __m512i half = _mm512_set1_epi64(shift ? (int64_t)1 << (shift - 1) : 0);
	const __m512i hi = _mm512_set1_epi64(127), lo = _mm512_set1_epi64(relu ? 0 : -128);
	const __m128i cnt = _mm_cvtsi32_si128((int)shift);
	uint32_t j = 0;
	for (; j + 8 <= d; j += 8) {
		__m512i v = _mm512_add_epi64(
			_mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(z + j))),
			_mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(bias + j))));
		v = _mm512_sra_epi64(_mm512_add_epi64(v, half), cnt);
		v = _mm512_max_epi64(_mm512_min_epi64(v, hi), lo);
		_mm_storel_epi64((__m128i *)(out + j), _mm512_cvtepi64_epi8(v));
	}
	requant_row(z, bias, j, d, shift, relu, out);
}
#endif

void kernel_requant_row(int level, const int32_t *z, const int32_t *bias, uint32_t d, unsigned shift,
			int relu, int8_t *out)
{
#ifdef KERNEL_X86
	if (level >= 2 && shift <= 31) {
		requant_row_avx512(z, bias, d, shift, relu, out);
		return;
	}
	if (level >= 1 && shift <= 31) {
		requant_row_avx2(z, bias, d, shift, relu, out);
		return;
	}
#endif
	(void)level;
	requant_row(z, bias, 0, d, shift, relu, out);
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

void kernel_tile_leaf2(uint32_t i, const uint8_t *ti, uint32_t j, const uint8_t *tj, size_t len,
		       uint8_t leaf_i[HASH_LEN], uint8_t leaf_j[HASH_LEN])
{
	if (len > KERNEL_LEAF_PAIR_MAX) {
		kernel_tile_leaf(i, ti, len, leaf_i);
		kernel_tile_leaf(j, tj, len, leaf_j);
		return;
	}
	uint8_t unit[2][5 + KERNEL_LEAF_PAIR_MAX]; /* kernel_tile_leaf's prefix, then the tile */
	unit[0][0] = unit[1][0] = 0x00;
	le32_put(unit[0] + 1, i);
	le32_put(unit[1] + 1, j);
	memcpy(unit[0] + 5, ti, len);
	memcpy(unit[1] + 5, tj, len);
	hash_tagged_x2(NULL, unit[0], unit[1], 5 + len, leaf_i, leaf_j);
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
	size_t most = (size_t)kernel_leaf_bytes(s, 0); /* tile 0 is never an edge tile */
	uint8_t *unit = malloc(2 * most);
	if (!lv || !unit) {
		free(lv);
		free(unit);
		return ASSAY_ENOMEM;
	}
	for (uint32_t i = 0; i < n;) { /* two at a time where two have one length */
		size_t len = (size_t)kernel_leaf_bytes(s, i);
		kernel_leaf_extract(s, output, pre_digests, i, unit);
		if (i + 1 < n && kernel_leaf_bytes(s, i + 1) == len) {
			kernel_leaf_extract(s, output, pre_digests, i + 1, unit + most);
			kernel_tile_leaf2(i, unit, i + 1, unit + most, len, lv[i], lv[i + 1]);
			i += 2;
		} else {
			kernel_tile_leaf(i, unit, len, lv[i]);
			i++;
		}
	}
	free(unit);
	if (root)
		merkle_root((const uint8_t(*)[HASH_LEN])lv, n, root);
	if (output_hash) /* a client checking a root needs no output hash */
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
	uint8_t prefix[HASH_LEN + 4]; /* seed || u32 LE i */
	memcpy(prefix, seed, HASH_LEN);
	le32_put(prefix + HASH_LEN, i);
	field_draw_vector("assay/freivalds", prefix, sizeof(prefix), n, r);
}

/* Exact recompute of a small tile: out[i*nc+j] = sum_t a_i[t] * b_j[t].
 * Accumulating in int32 is exact: every partial sum is a sum of at most k <=
 * KERNEL_MAX_K products, each in [-2^14 + 2^7, 2^14] (kernels.h). */
static void tile_dots(const int8_t *a, const int8_t *b, uint32_t nr, uint32_t nc, uint32_t k, int32_t *out)
{
	for (uint32_t i = 0; i < nr; i++)
		for (uint32_t j = 0; j < nc; j++) {
			const int8_t *x = a + (size_t)i * k, *y = b + (size_t)j * k;
			int32_t acc = 0;
			for (uint32_t t = 0; t < k; t++)
				acc += x[t] * y[t];
			out[(size_t)i * nc + j] = acc;
		}
}

#ifdef KERNEL_X86
/* Sign-extends 16 int8 at p to int16 lanes. */
__attribute__((target("avx2"))) static __m256i load_i8x16_avx2(const int8_t *p)
{
	return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

__attribute__((target("avx2"))) static int32_t hsum32_avx2(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

/* tile_dots in blocks of 2 rows x 4 columns: _mm256_madd_epi16 multiplies 16
 * int16 pairs and adds neighbours into int32 lanes, each lane a partial sum
 * of the same exact dot product (int32 suffices, as in tile_dots). Rows and
 * columns past the tile's edge repeat the last one and are not stored. */
__attribute__((target("avx2"))) static void tile_dots_avx2(const int8_t *a, const int8_t *b, uint32_t nr,
							   uint32_t nc, uint32_t k, int32_t *out)
{
	uint32_t k16 = k / 16 * 16;
	for (uint32_t i = 0; i < nr; i += 2) {
		const int8_t *x0 = a + (size_t)i * k, *x1 = i + 1 < nr ? x0 + k : x0;
		for (uint32_t j = 0; j < nc; j += 4) {
			const int8_t *y[4];
			for (uint32_t q = 0; q < 4; q++)
				y[q] = b + (size_t)(j + q < nc ? j + q : nc - 1) * k;
			/* Named accumulators: an array here was kept in memory. */
			__m256i s00 = _mm256_setzero_si256(), s01 = s00, s02 = s00, s03 = s00;
			__m256i s10 = s00, s11 = s00, s12 = s00, s13 = s00;
			for (uint32_t t = 0; t < k16; t += 16) {
				__m256i a0 = load_i8x16_avx2(x0 + t), a1 = load_i8x16_avx2(x1 + t);
				__m256i b0 = load_i8x16_avx2(y[0] + t), b1 = load_i8x16_avx2(y[1] + t);
				s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(a0, b0));
				s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(a1, b0));
				s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(a0, b1));
				s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(a1, b1));
				__m256i b2 = load_i8x16_avx2(y[2] + t), b3 = load_i8x16_avx2(y[3] + t);
				s02 = _mm256_add_epi32(s02, _mm256_madd_epi16(a0, b2));
				s12 = _mm256_add_epi32(s12, _mm256_madd_epi16(a1, b2));
				s03 = _mm256_add_epi32(s03, _mm256_madd_epi16(a0, b3));
				s13 = _mm256_add_epi32(s13, _mm256_madd_epi16(a1, b3));
			}
			__m256i acc[2][4] = {{s00, s01, s02, s03}, {s10, s11, s12, s13}};
			for (uint32_t r = 0; r < 2 && i + r < nr; r++) {
				const int8_t *x = r ? x1 : x0;
				for (uint32_t q = 0; q < 4 && j + q < nc; q++) {
					int32_t sum = hsum32_avx2(acc[r][q]);
					for (uint32_t t = k16; t < k; t++)
						sum += x[t] * y[q][t];
					out[(size_t)(i + r) * nc + j + q] = sum;
				}
			}
		}
	}
}

/* acc += the u8 x s8 quads of u and w (vpdpbusd, wrapping), in asm: with the
 * intrinsic GCC 12 copied accumulators through other registers. */
__attribute__((target("avx512f,avx512vnni"))) static inline __m512i dpbusd_k(__m512i acc, __m512i u, __m512i w)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(w));
	return acc;
}

/* tile_dots in blocks of 4 rows x 4 columns on AVX-512 VNNI: vpdpbusd
 * multiplies 64 byte pairs, u8 by s8, and adds quads into 16 int32 lanes;
 * the rows of A go in as a + 128 (the sign bit flipped), so each sum is
 * sum_t a b + 128 sum_t b, and 128 times the column's own sum (taken with
 * vpdpbusd against ones) is taken off. The lanes wrap mod 2^32 (vpdpbusd
 * does not saturate); the true dot product fits int32 (tile_dots), so the
 * wrapped difference is exact. 16 accumulators, 4 + 4 operands. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
tile_dots_vnni(const int8_t *a, const int8_t *b, uint32_t nr, uint32_t nc, uint32_t k, int32_t *out)
{
	uint32_t k64 = k / 64 * 64;
	const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
	uint32_t bsum[KERNEL_RECOMPUTE_MAX]; /* nc <= nr nc <= KERNEL_RECOMPUTE_MAX */
	for (uint32_t j = 0; j < nc; j++) {
		__m512i sv = _mm512_setzero_si512();
		for (uint32_t t = 0; t < k64; t += 64)
			sv = dpbusd_k(sv, ones, _mm512_loadu_si512(b + (size_t)j * k + t));
		bsum[j] = (uint32_t)_mm512_reduce_add_epi32(sv);
	}
	for (uint32_t i = 0; i < nr; i += 4) {
		const int8_t *x[4];
		for (uint32_t r = 0; r < 4; r++)
			x[r] = a + (size_t)(i + r < nr ? i + r : nr - 1) * k;
		for (uint32_t j = 0; j < nc; j += 4) {
			const int8_t *y[4];
			for (uint32_t q = 0; q < 4; q++)
				y[q] = b + (size_t)(j + q < nc ? j + q : nc - 1) * k;
			__m512i s00 = _mm512_setzero_si512(), s01 = s00, s02 = s00, s03 = s00;
			__m512i s10 = s00, s11 = s00, s12 = s00, s13 = s00;
			__m512i s20 = s00, s21 = s00, s22 = s00, s23 = s00;
			__m512i s30 = s00, s31 = s00, s32 = s00, s33 = s00;
			for (uint32_t t = 0; t < k64; t += 64) {
				__m512i a0 = _mm512_xor_si512(_mm512_loadu_si512(x[0] + t), flip);
				__m512i a1 = _mm512_xor_si512(_mm512_loadu_si512(x[1] + t), flip);
				__m512i a2 = _mm512_xor_si512(_mm512_loadu_si512(x[2] + t), flip);
				__m512i a3 = _mm512_xor_si512(_mm512_loadu_si512(x[3] + t), flip);
				__m512i b0 = _mm512_loadu_si512(y[0] + t), b1 = _mm512_loadu_si512(y[1] + t);
				__m512i b2 = _mm512_loadu_si512(y[2] + t), b3 = _mm512_loadu_si512(y[3] + t);
				s00 = dpbusd_k(s00, a0, b0);
				s01 = dpbusd_k(s01, a0, b1);
				s02 = dpbusd_k(s02, a0, b2);
				s03 = dpbusd_k(s03, a0, b3);
				s10 = dpbusd_k(s10, a1, b0);
				s11 = dpbusd_k(s11, a1, b1);
				s12 = dpbusd_k(s12, a1, b2);
				s13 = dpbusd_k(s13, a1, b3);
				s20 = dpbusd_k(s20, a2, b0);
				s21 = dpbusd_k(s21, a2, b1);
				s22 = dpbusd_k(s22, a2, b2);
				s23 = dpbusd_k(s23, a2, b3);
				s30 = dpbusd_k(s30, a3, b0);
				s31 = dpbusd_k(s31, a3, b1);
				s32 = dpbusd_k(s32, a3, b2);
				s33 = dpbusd_k(s33, a3, b3);
			}
			__m512i acc[4][4] = {
				{s00, s01, s02, s03}, {s10, s11, s12, s13}, {s20, s21, s22, s23}, {s30, s31, s32, s33}};
			for (uint32_t r = 0; r < 4 && i + r < nr; r++)
				for (uint32_t q = 0; q < 4 && j + q < nc; q++) {
					uint32_t sum = (uint32_t)_mm512_reduce_add_epi32(acc[r][q]) - 128u * bsum[j + q];
					for (uint32_t t = k64; t < k; t++)
						sum += (uint32_t)(x[r][t] * y[q][t]);
					out[(size_t)(i + r) * nc + j + q] = (int32_t)sum;
				}
		}
	}
}

#else
/* Elsewhere the vector forms are the portable loop (never reached: the
 * level is 0), so the code below compiles unchanged. */
static void tile_dots_avx2(const int8_t *a, const int8_t *b, uint32_t nr, uint32_t nc, uint32_t k, int32_t *out)
{
	tile_dots(a, b, nr, nc, k, out);
}
static void tile_dots_vnni(const int8_t *a, const int8_t *b, uint32_t nr, uint32_t nc, uint32_t k, int32_t *out)
{
	tile_dots(a, b, nr, nc, k, out);
}
#endif

void kernel_simd_enable(int level)
{
	simd_allowed = level;
}

int kernel_freivalds(const int8_t *A_rows, const int8_t *Bt_cols, const int32_t *T, uint32_t nr,
		     uint32_t nc, uint32_t k, const uint64_t *r)
{
	int level = field_simd_level(simd_allowed);
	size_t kk = k ? k : 1, cc = nc ? nc : 1;
	/* One allocation: ylo/yhi, y = B.r split by r = rhi 2^31 + rlo; |b r_lo|
	 * < 2^38 and at most 2^17 columns keep both under 2^56. ym_lo/ym_hi: y
	 * mod p as 31 + 30-bit limbs. rl: r as three 21-bit limbs. */
	int64_t *ylo = calloc(4 * kk + 3 * cc, 8);
	if (!ylo)
		return ASSAY_ENOMEM;
	int64_t *yhi = ylo + kk, *ym_lo = yhi + kk, *ym_hi = ym_lo + kk, *rl = ym_hi + kk;
	int err = 0;
	uint32_t j4 = level >= 1 ? nc / 4 * 4 : 0; /* columns done four at a time */
	for (uint32_t j = 0; j < j4; j += 4) {
		const int8_t *cols[4];
		int64_t lo[4], hi[4];
		for (int q = 0; q < 4; q++) {
			cols[q] = Bt_cols + (size_t)(j + q) * k;
			lo[q] = (int64_t)(r[j + q] & FIELD_LIMB31);
			hi[q] = (int64_t)(r[j + q] >> 31);
		}
		field_axpy4_i8(level, ylo, yhi, cols, lo, hi, k);
	}
	for (uint32_t j = 0; j < nc; j++) {
		rl[j] = (int64_t)(r[j] & FIELD_LIMB21);
		rl[cc + j] = (int64_t)(r[j] >> 21 & FIELD_LIMB21);
		rl[2 * cc + j] = (int64_t)(r[j] >> 42);
	}
	for (uint32_t j = j4; j < nc; j++) {
		const int8_t *col = Bt_cols + (size_t)j * k;
		int64_t lo = (int64_t)(r[j] & FIELD_LIMB31), hi = (int64_t)(r[j] >> 31);
		field_axpy_i8(level, ylo, col, lo, k);
		field_axpy_i8(level, yhi, col, hi, k);
	}
	for (uint32_t t = 0; t < k; t++) {
		uint64_t y = field_mod_limbs(ylo[t], yhi[t]);
		ym_lo[t] = (int64_t)(y & FIELD_LIMB31);
		ym_hi[t] = (int64_t)(y >> 31);
	}
	/* Rows four at a time where AVX-512 serves them together, then one at
	 * a time: z_i = A_i . (y mod p), w_i = T_i . r, both over the integers
	 * from their limb sums, then compared mod p. */
	uint32_t i4 = level >= 2 ? nr / 4 * 4 : 0;
	for (uint32_t i = 0; i < nr && !err; i += i < i4 ? 4 : 1) {
		uint32_t rows = i < i4 ? 4 : 1;
		int64_t zl[4][2], wl[4][3];
		__int128 z[4], w[4] = {0, 0, 0, 0};
		const int8_t *a[4];
		const int32_t *trow[4];
		for (uint32_t q = 0; q < rows; q++) {
			a[q] = A_rows + (size_t)(i + q) * k;
			trow[q] = T + (size_t)(i + q) * nc;
		}
		if (rows == 4)
			field_dot2x4_i8(level, a, ym_lo, ym_hi, k, zl);
		else
			field_dot2_i8(level, a[0], ym_lo, ym_hi, k, zl[0]);
		for (uint32_t j0 = 0; j0 < nc; j0 += FIELD_DOT3_CHUNK) {
			uint32_t len = nc - j0 < FIELD_DOT3_CHUNK ? nc - j0 : FIELD_DOT3_CHUNK;
			const int64_t *c0 = rl + j0, *c1 = rl + cc + j0, *c2 = rl + 2 * cc + j0;
			if (rows == 4) {
				const int32_t *part[4] = {trow[0] + j0, trow[1] + j0, trow[2] + j0, trow[3] + j0};
				field_dot3x4_i32(level, part, c0, c1, c2, len, wl);
			} else {
				field_dot3_i32(level, trow[0] + j0, c0, c1, c2, len, wl[0]);
			}
			for (uint32_t q = 0; q < rows; q++)
				for (int limb = 0; limb < 3; limb++)
					w[q] += (__int128)wl[q][limb] * ((__int128)1 << (21 * limb));
		}
		for (uint32_t q = 0; q < rows; q++) {
			z[q] = (__int128)zl[q][0] + (__int128)zl[q][1] * ((__int128)1 << 31);
			if (field_mod_s128(z[q]) != field_mod_s128(w[q]))
				err = ASSAY_EINVALID;
		}
	}
	free(ylo);
	return err;
}

int kernel_tile_recompute(const int8_t *A_rows, const int8_t *Bt_cols, const uint8_t *tile, uint32_t nr,
			  uint32_t nc, uint32_t k)
{
	int level = field_simd_level(simd_allowed);
#ifdef KERNEL_X86
	int vnni = level >= 2 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
#else
	int vnni = 0;
#endif
	int32_t want[KERNEL_RECOMPUTE_MAX];
	if ((uint64_t)nr * nc > KERNEL_RECOMPUTE_MAX)
		return ASSAY_EARG;
	if (vnni)
		tile_dots_vnni(A_rows, Bt_cols, nr, nc, k, want);
	else if (level >= 1)
		tile_dots_avx2(A_rows, Bt_cols, nr, nc, k, want);
	else
		tile_dots(A_rows, Bt_cols, nr, nc, k, want);
	/* The host is little-endian (asserted above): want's bytes are the
	 * tile's wire form. */
	return memcmp(want, tile, (size_t)nr * nc * 4) == 0 ? 0 : ASSAY_EINVALID;
}

/* The matmul tile check of tile i (docs/compute.md §6.1) on its nr rows of
 * A and nc columns of B (as rows of Bt): exact recompute for tiles of at
 * most KERNEL_RECOMPUTE_MAX entries, else Freivalds with vector
 * (vec_seed, i). */
static int check_matmul_rows(const struct job_shape *s, const uint8_t vec_seed[HASH_LEN], uint32_t i,
			     const uint8_t *tile, size_t len, const int8_t *a, const int8_t *b, uint32_t nr,
			     uint32_t nc)
{
	if ((uint64_t)nr * nc <= KERNEL_RECOMPUTE_MAX)
		return kernel_tile_recompute(a, b, tile, nr, nc, s->k);
	int32_t *t = malloc(len);
	uint64_t *r = malloc(sizeof(uint64_t) * nc);
	int err = ASSAY_ENOMEM;
	if (t && r) {
		memcpy(t, tile, len); /* int32 alignment */
		kernel_freivalds_vector(vec_seed, i, nc, r);
		err = kernel_freivalds(a, b, t, nr, nc, s->k, r);
	}
	free(t);
	free(r);
	return err;
}

/* need bytes of this thread's scratch buffer (kept while at most
 * SCRATCH_KEEP), or of one the caller frees through *own; NULL when out
 * of memory. */
static uint8_t *scratch(size_t need, uint8_t **own)
{
	struct kernel_thread *th = thread_state();
	*own = NULL;
	if (!th)
		return NULL;
	if (need <= th->scratch_cap)
		return th->scratch;
	uint8_t *in = malloc(need);
	if (in && need <= SCRATCH_KEEP) {
		free(th->scratch);
		th->scratch = in;
		th->scratch_cap = need;
	} else {
		*own = in;
	}
	return in;
}

/* The matmul tile check of tile i on its rows of A and columns of B: where
 * part[0] or part[1] is NULL, those are expanded (or read) into this
 * thread's scratch buffer, so small tiles allocate nothing. */
int kernel_rows_sliced(const struct kernel_src *src, const struct job_shape *s, unsigned id, uint64_t row)
{
	return src->from_seed && !is_bias_input(s, id) && row && row % CHACHA_SLICE_UNIT == 0 &&
	       chacha_level(simd_allowed) >= CHACHA_AVX2;
}

void kernel_rows_read(const struct kernel_src *src, const struct job_shape *s, unsigned id, uint64_t row,
		      uint64_t off, uint8_t *out, size_t n)
{
	if (kernel_rows_sliced(src, s, id, row)) {
		uint8_t key[HASH_LEN];
		stream_key(src->seed, (uint8_t)id, key);
		chacha_keystream_sliced_at(key, EXPAND_ROUNDS, (uint32_t)(off / CHACHA_BLOCK), out, n, simd_allowed);
		return;
	}
	kernel_src_read(src, s, id, off, out, n);
}

static int check_matmul_tile_with(const struct job_shape *s, const struct kernel_src *src,
				  const uint8_t vec_seed[HASH_LEN], uint32_t i, const uint8_t *tile, size_t len,
				  const uint8_t *part[2])
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(s, i, &r0, &c0, &nr, &nc);
	size_t na = part[0] ? 0 : (size_t)nr * s->k, nb = part[1] ? 0 : (size_t)nc * s->k;
	uint8_t *own = NULL, *in = na + nb ? scratch(na + nb, &own) : NULL;
	if (na + nb && !in)
		return ASSAY_ENOMEM;
	if (!part[0]) {
		kernel_rows_read(src, s, 0, s->k, (uint64_t)r0 * s->k, in, na);
		part[0] = in;
	}
	if (!part[1]) {
		kernel_rows_read(src, s, 1, s->k, (uint64_t)c0 * s->k, in + na, nb);
		part[1] = in + na;
	}
	int err = check_matmul_rows(s, vec_seed, i, tile, len, (const int8_t *)part[0], (const int8_t *)part[1], nr,
				    nc);
	free(own);
	return err;
}

static int check_matmul_tile(const struct job_shape *s, const struct kernel_src *src,
			     const uint8_t vec_seed[HASH_LEN], uint32_t i, const uint8_t *tile, size_t len)
{
	const uint8_t *part[2] = {NULL, NULL};
	return check_matmul_tile_with(s, src, vec_seed, i, tile, len, part);
}

/* Rows [start, start + count) of input id (A's rows; B's columns, as Bt's
 * rows): a part of a tile check that another tile's may share. */
struct shared_rows {
	unsigned id;
	uint32_t start, count;
	uint8_t *data; /* expanded on first use; NULL until then, or if it could not be kept */
	int tried;
};

/* The index in share[0..*n) of tile q's input id rows if another of the
 * tiles from q on needs them too and they fit in what is kept, adding them
 * if new; -1 where they are the tile's alone. start[id][q], count[id][q]:
 * the rows tile q needs of input id (its row band of A, its column band of
 * B), worked out once per tile. */
static int share_slot(const struct job_shape *s, uint32_t n, uint32_t q, unsigned id, uint32_t *const start[2],
		      uint32_t *const count[2], struct shared_rows *share, size_t *nshare, size_t *kept)
{
	uint32_t st = start[id][q], cnt = count[id][q];
	for (size_t e = 0; e < *nshare; e++)
		if (share[e].id == id && share[e].start == st && share[e].count == cnt)
			return (int)e;
	size_t bytes = (size_t)cnt * s->k;
	for (uint32_t o = q + 1; o < n; o++)
		if (start[id][o] == st && count[id][o] == cnt) {
			if (*kept + bytes > KERNEL_SHARE_MAX_BYTES)
				return -1;
			*kept += bytes;
			share[*nshare] = (struct shared_rows){.id = id, .start = st, .count = cnt};
			return (int)(*nshare)++;
		}
	return -1;
}

void kernel_check_tiles(const struct job_shape *s, const struct kernel_src *src, const uint8_t vec_seed[HASH_LEN],
			uint32_t n, const uint32_t *idx, const uint8_t *const *tiles, const size_t *lens, int *verdict)
{
	int matmul = s->kind == JOB_MATMUL_I8;
	struct shared_rows *share = matmul ? calloc(2 * (size_t)n + 1, sizeof(*share)) : NULL;
	uint32_t *bands = matmul ? malloc(sizeof(uint32_t) * 4 * (size_t)(n ? n : 1)) : NULL;
	if (!share || !bands) { /* mlp, or no memory to share with: one by one */
		free(share);
		free(bands);
		for (uint32_t q = 0; q < n; q++)
			verdict[q] = kernel_check_tile(s, src, vec_seed, idx[q], tiles[q], lens[q]);
		return;
	}
	uint32_t *start[2] = {bands, bands + n}, *count[2] = {bands + 2 * (size_t)n, bands + 3 * (size_t)n};
	uint32_t ntiles = kernel_tile_count(s);
	for (uint32_t q = 0; q < n; q++) {
		uint32_t r0 = 0, c0 = 0, nr = 0, nc = 0; /* an index past the end shares nothing */
		if (idx[q] < ntiles)
			kernel_tile_rect(s, idx[q], &r0, &c0, &nr, &nc);
		start[0][q] = r0, count[0][q] = nr, start[1][q] = c0, count[1][q] = nc;
	}
	size_t nshare = 0, kept = 0;
	for (uint32_t q = 0; q < n; q++) {
		if (idx[q] >= ntiles || lens[q] != kernel_tile_bytes(s, idx[q])) {
			verdict[q] = ASSAY_EINVALID;
			continue;
		}
		const uint8_t *part[2] = {NULL, NULL};
		for (unsigned id = 0; id < 2; id++) {
			int e = share_slot(s, n, q, id, start, count, share, &nshare, &kept);
			if (e < 0)
				continue;
			struct shared_rows *sr = &share[e];
			if (!sr->tried) {
				sr->tried = 1;
				if ((sr->data = malloc((size_t)sr->count * s->k)))
					kernel_rows_read(src, s, id, s->k, (uint64_t)sr->start * s->k, sr->data,
							(size_t)sr->count * s->k);
			}
			part[id] = sr->data; /* NULL if it could not be kept: the tile's own */
		}
		verdict[q] = check_matmul_tile_with(s, src, vec_seed, idx[q], tiles[q], lens[q], part);
	}
	for (size_t e = 0; e < nshare; e++)
		free(share[e].data);
	free(share);
	free(bands);
}

int kernel_check_tile(const struct job_shape *s, const struct kernel_src *src,
		      const uint8_t vec_seed[HASH_LEN], uint32_t i, const uint8_t *tile, size_t len)
{
	if (i >= kernel_tile_count(s) || len != kernel_tile_bytes(s, i))
		return ASSAY_EINVALID;
	if (s->kind == JOB_MATMUL_I8)
		return check_matmul_tile(s, src, vec_seed, i, tile, len);
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

/* SHA-256 (see sha256.h), written from FIPS 180-4 §6.2: one compression
 * function over whole 64-byte blocks, chosen once per process (the x86 SHA
 * extensions where the CPU has them, else OpenSSL's block function, else
 * portable C), and a small
 * buffering layer. The hot path is Merkle-sized inputs, so nothing here
 * allocates per call and each tag's 64-byte prefix is absorbed once. */
#include <stdlib.h>
#include <string.h>

/* OpenSSL's one-block function (SHA256_Transform) is the fallback path on
 * CPUs without SHA extensions: its assembly (AVX2, SSSE3) is several times
 * faster than portable C there. It is deprecated in OpenSSL 3 but kept in
 * its default builds; where it is compiled out, the fallback is portable C. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "core/sha256.h"

#if !defined(OPENSSL_NO_DEPRECATED_3_0)
#define SHA256_HAVE_OPENSSL_BLOCK 1
#endif

#if defined(__x86_64__) || defined(__i386__)
#define SHA256_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#define BLOCK_LEN 64

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 §5.3.3: H(0). */
static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* Absorbs nblocks whole blocks into the state h[0..7] = a..h. */
typedef void compress_fn(uint32_t h[8], const uint8_t *blocks, size_t nblocks);

static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t rotr(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

/* FIPS 180-4 §4.1.2. */
#define BIG_SIGMA0(x) (rotr((x), 2) ^ rotr((x), 13) ^ rotr((x), 22))
#define BIG_SIGMA1(x) (rotr((x), 6) ^ rotr((x), 11) ^ rotr((x), 25))
#define SMALL_SIGMA0(x) (rotr((x), 7) ^ rotr((x), 18) ^ ((x) >> 3))
#define SMALL_SIGMA1(x) (rotr((x), 17) ^ rotr((x), 19) ^ ((x) >> 10))

/* One round of §6.2.2 step 3 with the working variables renamed instead of
 * moved: the caller rotates the names, so only d and h are written. */
#define PORTABLE_ROUND(a, b, c, d, e, f, g, h, t)                                                \
	do {                                                                                     \
		uint32_t t1_ = (h) + BIG_SIGMA1(e) + (((e) & (f)) ^ (~(e) & (g))) + K[t] + w[t]; \
		uint32_t t2_ = BIG_SIGMA0(a) + (((a) & (b)) ^ ((a) & (c)) ^ ((b) & (c)));        \
		(d) += t1_;                                                                      \
		(h) = t1_ + t2_;                                                                 \
	} while (0)

/* §6.2.2. */
static void compress_portable(uint32_t h[8], const uint8_t *blocks, size_t nblocks)
{
	for (; nblocks; nblocks--, blocks += BLOCK_LEN) {
		uint32_t w[64];
		for (int t = 0; t < 16; t++)
			w[t] = be32_get(blocks + 4 * t);
		for (int t = 16; t < 64; t++)
			w[t] = SMALL_SIGMA1(w[t - 2]) + w[t - 7] + SMALL_SIGMA0(w[t - 15]) + w[t - 16];
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
		for (int t = 0; t < 64; t += 8) {
			PORTABLE_ROUND(a, b, c, d, e, f, g, hh, t);
			PORTABLE_ROUND(hh, a, b, c, d, e, f, g, t + 1);
			PORTABLE_ROUND(g, hh, a, b, c, d, e, f, t + 2);
			PORTABLE_ROUND(f, g, hh, a, b, c, d, e, t + 3);
			PORTABLE_ROUND(e, f, g, hh, a, b, c, d, t + 4);
			PORTABLE_ROUND(d, e, f, g, hh, a, b, c, t + 5);
			PORTABLE_ROUND(c, d, e, f, g, hh, a, b, t + 6);
			PORTABLE_ROUND(b, c, d, e, f, g, hh, a, t + 7);
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
	}
}

#ifdef SHA256_HAVE_SHANI
/* The SHA extensions keep the state as two vectors, ABEF and CDGH (lane 3
 * holds A, resp. C). sha256rnds2 runs two rounds on them with W[t] + K[t]
 * for those rounds in lanes 0 and 1; afterwards the old ABEF is the new
 * CDGH, so the two vectors take turns. */
#define SHANI_TARGET __attribute__((target("sha,sse4.1")))

/* Four rounds starting at round t on the state (abef, cdgh), with message
 * words m = W[t..t+3]. */
#define SHANI_ROUNDS4(t, m, abef, cdgh)                                                    \
	do {                                                                               \
		__m128i wk_ = _mm_add_epi32((m), _mm_loadu_si128((const __m128i *)&K[t])); \
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk_);                             \
		abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk_, 0x0e));    \
	} while (0)

/* §6.2.2 step 1: w0 = W[t-16..t-13] becomes W[t..t+3], from w1 = W[t-12..],
 * w2 = W[t-8..] and w3 = W[t-4..]; alignr gives W[t-7..t-4]. */
#define SHANI_SCHEDULE(w0, w1, w2, w3) \
	((w0) = _mm_sha256msg2_epu32(  \
		 _mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3)))

/* Big-endian words: reverse the bytes within each 32-bit lane. */
#define SHANI_BSWAP _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL)
#define SHANI_WORDS(blocks, i) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((blocks) + 16 * (i))), SHANI_BSWAP)

/* h[0..7] into the two state vectors, and back. */
SHANI_TARGET static inline void shani_load(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
	__m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0x1b);
	__m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1b);
	*abef = _mm_unpackhi_epi64(hgfe, dcba); /* lanes F E B A */
	*cdgh = _mm_unpacklo_epi64(hgfe, dcba); /* lanes H G D C */
}

SHANI_TARGET static inline void shani_store(uint32_t h[8], __m128i abef, __m128i cdgh)
{
	__m128i dcba = _mm_unpackhi_epi64(cdgh, abef), hgfe = _mm_unpacklo_epi64(cdgh, abef);
	_mm_storeu_si128((__m128i *)&h[0], _mm_shuffle_epi32(dcba, 0x1b));
	_mm_storeu_si128((__m128i *)&h[4], _mm_shuffle_epi32(hgfe, 0x1b));
}

SHANI_TARGET static void compress_shani(uint32_t h[8], const uint8_t *blocks, size_t nblocks)
{
	__m128i abef, cdgh;
	shani_load(h, &abef, &cdgh);
	for (; nblocks; nblocks--, blocks += BLOCK_LEN) {
		const __m128i abef_in = abef, cdgh_in = cdgh;
		__m128i w0 = SHANI_WORDS(blocks, 0), w1 = SHANI_WORDS(blocks, 1);
		__m128i w2 = SHANI_WORDS(blocks, 2), w3 = SHANI_WORDS(blocks, 3);
		SHANI_ROUNDS4(0, w0, abef, cdgh);
		SHANI_ROUNDS4(4, w1, abef, cdgh);
		SHANI_ROUNDS4(8, w2, abef, cdgh);
		SHANI_ROUNDS4(12, w3, abef, cdgh);
		for (int t = 16; t < 64; t += 16) {
			SHANI_SCHEDULE(w0, w1, w2, w3);
			SHANI_ROUNDS4(t, w0, abef, cdgh);
			SHANI_SCHEDULE(w1, w2, w3, w0);
			SHANI_ROUNDS4(t + 4, w1, abef, cdgh);
			SHANI_SCHEDULE(w2, w3, w0, w1);
			SHANI_ROUNDS4(t + 8, w2, abef, cdgh);
			SHANI_SCHEDULE(w3, w0, w1, w2);
			SHANI_ROUNDS4(t + 12, w3, abef, cdgh);
		}
		abef = _mm_add_epi32(abef, abef_in);
		cdgh = _mm_add_epi32(cdgh, cdgh_in);
	}
	shani_store(h, abef, cdgh);
}

/* Two messages' blocks at once, g after h, instruction by instruction: a
 * round's sha256rnds2 waits on the one before it, so one message leaves
 * the unit idle half the time (1.8 against 3.4 GB/s on a Zen 4). */
SHANI_TARGET static void compress_shani_x2(uint32_t h[8], uint32_t g[8], const uint8_t *hb, const uint8_t *gb,
					   size_t nblocks)
{
	__m128i abef, cdgh, abef2, cdgh2;
	shani_load(h, &abef, &cdgh);
	shani_load(g, &abef2, &cdgh2);
	for (; nblocks; nblocks--, hb += BLOCK_LEN, gb += BLOCK_LEN) {
		const __m128i abef_in = abef, cdgh_in = cdgh, abef2_in = abef2, cdgh2_in = cdgh2;
		__m128i w0 = SHANI_WORDS(hb, 0), w1 = SHANI_WORDS(hb, 1), w2 = SHANI_WORDS(hb, 2), w3 = SHANI_WORDS(hb, 3);
		__m128i v0 = SHANI_WORDS(gb, 0), v1 = SHANI_WORDS(gb, 1), v2 = SHANI_WORDS(gb, 2), v3 = SHANI_WORDS(gb, 3);
		SHANI_ROUNDS4(0, w0, abef, cdgh);
		SHANI_ROUNDS4(0, v0, abef2, cdgh2);
		SHANI_ROUNDS4(4, w1, abef, cdgh);
		SHANI_ROUNDS4(4, v1, abef2, cdgh2);
		SHANI_ROUNDS4(8, w2, abef, cdgh);
		SHANI_ROUNDS4(8, v2, abef2, cdgh2);
		SHANI_ROUNDS4(12, w3, abef, cdgh);
		SHANI_ROUNDS4(12, v3, abef2, cdgh2);
		for (int t = 16; t < 64; t += 16) {
			SHANI_SCHEDULE(w0, w1, w2, w3);
			SHANI_SCHEDULE(v0, v1, v2, v3);
			SHANI_ROUNDS4(t, w0, abef, cdgh);
			SHANI_ROUNDS4(t, v0, abef2, cdgh2);
			SHANI_SCHEDULE(w1, w2, w3, w0);
			SHANI_SCHEDULE(v1, v2, v3, v0);
			SHANI_ROUNDS4(t + 4, w1, abef, cdgh);
			SHANI_ROUNDS4(t + 4, v1, abef2, cdgh2);
			SHANI_SCHEDULE(w2, w3, w0, w1);
			SHANI_SCHEDULE(v2, v3, v0, v1);
			SHANI_ROUNDS4(t + 8, w2, abef, cdgh);
			SHANI_ROUNDS4(t + 8, v2, abef2, cdgh2);
			SHANI_SCHEDULE(w3, w0, w1, w2);
			SHANI_SCHEDULE(v3, v0, v1, v2);
			SHANI_ROUNDS4(t + 12, w3, abef, cdgh);
			SHANI_ROUNDS4(t + 12, v3, abef2, cdgh2);
		}
		abef = _mm_add_epi32(abef, abef_in);
		cdgh = _mm_add_epi32(cdgh, cdgh_in);
		abef2 = _mm_add_epi32(abef2, abef2_in);
		cdgh2 = _mm_add_epi32(cdgh2, cdgh2_in);
	}
	shani_store(h, abef, cdgh);
	shani_store(g, abef2, cdgh2);
}

/* CPUID: leaf 7 EBX bit 29 is SHA; leaf 1 ECX bits 9 and 19 are SSSE3 and
 * SSE4.1, which the shuffles above use. */
static bool cpu_has_shani(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & 1u << 9) || !(c & 1u << 19))
		return false;
	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & 1u << 29) != 0;
}
#endif

#ifdef SHA256_HAVE_OPENSSL_BLOCK
_Static_assert(sizeof(((SHA256_CTX *)0)->h[0]) == 4, "SHA256_CTX holds 32-bit chaining words");

/* Our chaining state through OpenSSL's block function: only h[] matters to
 * it (the length and buffer fields are its own buffering's, unused here). */
static void compress_openssl(uint32_t h[8], const uint8_t *blocks, size_t nblocks)
{
	SHA256_CTX c;
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 8; i++)
		c.h[i] = h[i];
	for (size_t b = 0; b < nblocks; b++)
		SHA256_Transform(&c, blocks + b * BLOCK_LEN);
	for (int i = 0; i < 8; i++)
		h[i] = c.h[i];
}
#endif

static compress_fn compress_select;

/* Starts at compress_select, which replaces itself with the best path on the
 * first call. Every candidate computes the same function, so a thread that
 * reads the old pointer meanwhile is still right. */
static compress_fn *compress_active = compress_select;

static compress_fn *compress_best(void)
{
#ifdef SHA256_HAVE_SHANI
	if (cpu_has_shani())
		return compress_shani;
#endif
#ifdef SHA256_HAVE_OPENSSL_BLOCK
	return compress_openssl;
#else
	return compress_portable;
#endif
}

/* The block function in use, settling compress_select's choice first. */
static compress_fn *compress_now(void)
{
	compress_fn *fn = __atomic_load_n(&compress_active, __ATOMIC_RELAXED);
	if (fn == compress_select) {
		fn = compress_best();
		__atomic_store_n(&compress_active, fn, __ATOMIC_RELAXED);
	}
	return fn;
}

static void compress_select(uint32_t h[8], const uint8_t *blocks, size_t nblocks)
{
	compress_now()(h, blocks, nblocks);
}

static inline void compress(uint32_t h[8], const uint8_t *blocks, size_t nblocks)
{
	__atomic_load_n(&compress_active, __ATOMIC_RELAXED)(h, blocks, nblocks);
}

/* compress() of two messages of nblocks blocks each: side by side where
 * the SHA extensions are the block function in use. */
static void compress_x2(uint32_t h[8], uint32_t g[8], const uint8_t *hb, const uint8_t *gb, size_t nblocks)
{
	compress_fn *fn = compress_now();
#ifdef SHA256_HAVE_SHANI
	if (fn == compress_shani) {
		compress_shani_x2(h, g, hb, gb, nblocks);
		return;
	}
#endif
	fn(h, hb, nblocks);
	fn(g, gb, nblocks);
}

bool sha256_select(enum sha256_impl impl)
{
	compress_fn *fn = NULL;
	switch (impl) {
	case SHA256_IMPL_BEST:
		fn = compress_best();
		break;
	case SHA256_IMPL_PORTABLE:
		fn = compress_portable;
		break;
	case SHA256_IMPL_SHANI:
#ifdef SHA256_HAVE_SHANI
		if (cpu_has_shani())
			fn = compress_shani;
#endif
		break;
	case SHA256_IMPL_OPENSSL:
#ifdef SHA256_HAVE_OPENSSL_BLOCK
		fn = compress_openssl;
#endif
		break;
	}
	if (!fn)
		return false;
	__atomic_store_n(&compress_active, fn, __ATOMIC_RELAXED);
	return true;
}

/* A hash in progress: the chaining state and the partial block. */
struct sha_ctx {
	uint32_t h[8];
	uint64_t len; /* bytes absorbed; len % 64 of them wait in buf */
	uint8_t buf[BLOCK_LEN];
};

static void ctx_init(struct sha_ctx *c)
{
	memcpy(c->h, H0, sizeof(c->h));
	c->len = 0;
}

static void ctx_update(struct sha_ctx *c, const void *data, size_t n)
{
	if (!n)
		return;
	const uint8_t *p = data;
	size_t fill = (size_t)(c->len % BLOCK_LEN);
	c->len += n;
	if (fill) {
		size_t take = BLOCK_LEN - fill < n ? BLOCK_LEN - fill : n;
		memcpy(c->buf + fill, p, take);
		if (fill + take < BLOCK_LEN)
			return;
		compress(c->h, c->buf, 1);
		p += take;
		n -= take;
	}
	if (n >= BLOCK_LEN) {
		compress(c->h, p, n / BLOCK_LEN);
		p += n - n % BLOCK_LEN;
		n %= BLOCK_LEN;
	}
	if (n)
		memcpy(c->buf, p, n);
}

/* §5.1.1: the last tail < 64 bytes of a message of total bytes, a 1 bit,
 * zeros, and the length in bits as 64 big-endian bits, laid out in out;
 * returns the blocks that makes (1, or 2 where the length does not fit). */
static size_t pad_final(uint8_t out[2 * BLOCK_LEN], const uint8_t *tail, size_t n, uint64_t total)
{
	size_t blocks = n + 1 + 8 > BLOCK_LEN ? 2 : 1, end = blocks * BLOCK_LEN;
	uint64_t bits = total * 8;
	memmove(out, tail, n);
	out[n] = 0x80;
	memset(out + n + 1, 0, end - 8 - (n + 1));
	be32_put(out + end - 8, (uint32_t)(bits >> 32));
	be32_put(out + end - 4, (uint32_t)bits);
	return blocks;
}

static void ctx_final(struct sha_ctx *c, uint8_t out[HASH_LEN])
{
	uint8_t last[2 * BLOCK_LEN];
	compress(c->h, last, pad_final(last, c->buf, (size_t)(c->len % BLOCK_LEN), c->len));
	for (int i = 0; i < 8; i++)
		be32_put(out + 4 * i, c->h[i]);
}

/* Each thread caches up to TAG_CACHE tag midstates. The cache keeps its own
 * copy of each tag: a caller's buffer may be rewritten, so its address says
 * nothing about its contents. Tags longer than TAG_CACHE_LEN bytes are
 * hashed without the cache. */
#define TAG_CACHE 32
#define TAG_CACHE_LEN 47

struct tag_state {
	char tag[TAG_CACHE_LEN + 1];
	uint32_t mid[8]; /* the state after SHA256(tag) || SHA256(tag) */
};

struct tag_cache {
	struct tag_state tags[TAG_CACHE];
	int ntags;
};

static _Thread_local struct tag_cache tag_cache;

static void absorb_tag(uint32_t mid[8], const char *tag)
{
	uint8_t prefix[BLOCK_LEN];
	sha256(tag, strlen(tag), prefix);
	memcpy(prefix + HASH_LEN, prefix, HASH_LEN);
	memcpy(mid, H0, sizeof(H0));
	compress(mid, prefix, 1);
}

/* Leaves c ready to absorb the message of H_tag, or of a plain hash when
 * tag is NULL. */
static void ctx_begin(struct sha_ctx *c, const char *tag)
{
	if (!tag) {
		ctx_init(c);
		return;
	}
	c->len = BLOCK_LEN;
	struct tag_cache *t = &tag_cache;
	for (int i = 0; i < t->ntags; i++) {
		if (strcmp(t->tags[i].tag, tag) == 0) {
			memcpy(c->h, t->tags[i].mid, sizeof(c->h));
			return;
		}
	}
	absorb_tag(c->h, tag);
	if (t->ntags < TAG_CACHE && strlen(tag) <= TAG_CACHE_LEN) {
		struct tag_state *s = &t->tags[t->ntags++];
		strcpy(s->tag, tag);
		memcpy(s->mid, c->h, sizeof(s->mid));
	}
}

void sha256(const void *p, size_t n, uint8_t out[HASH_LEN])
{
	sha256_2(p, n, NULL, 0, out);
}

void sha256_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[HASH_LEN])
{
	hash_tagged2(NULL, a, na, b, nb, out);
}

void hash_tagged(const char *tag, const void *p, size_t n, uint8_t out[HASH_LEN])
{
	hash_tagged2(tag, p, n, NULL, 0, out);
}

void hash_tagged2(const char *tag, const void *a, size_t na, const void *b, size_t nb, uint8_t out[HASH_LEN])
{
	struct sha_ctx c;
	ctx_begin(&c, tag);
	ctx_update(&c, a, na);
	ctx_update(&c, b, nb);
	ctx_final(&c, out);
}

void hash_tagged_x2(const char *tag, const void *a, const void *b, size_t n, uint8_t out_a[HASH_LEN],
		    uint8_t out_b[HASH_LEN])
{
	struct sha_ctx ca, cb;
	ctx_begin(&ca, tag); /* ends on a block boundary: 0 or one block absorbed */
	cb = ca;
	size_t whole = n / BLOCK_LEN * BLOCK_LEN;
	compress_x2(ca.h, cb.h, a, b, whole / BLOCK_LEN);
	/* one length, so the same number of last blocks: those side by side too */
	uint8_t last_a[2 * BLOCK_LEN], last_b[2 * BLOCK_LEN];
	size_t blocks = pad_final(last_a, (const uint8_t *)a + whole, n - whole, ca.len + n);
	pad_final(last_b, (const uint8_t *)b + whole, n - whole, cb.len + n);
	compress_x2(ca.h, cb.h, last_a, last_b, blocks);
	for (int i = 0; i < 8; i++) {
		be32_put(out_a + 4 * i, ca.h[i]);
		be32_put(out_b + 4 * i, cb.h[i]);
	}
}

struct sha256_stream {
	struct sha_ctx ctx;
};

sha256_stream_t *sha256_stream_new(void)
{
	sha256_stream_t *s = calloc(1, sizeof(*s));
	if (s)
		ctx_init(&s->ctx);
	return s;
}

void sha256_stream_begin(sha256_stream_t *s, const char *tag)
{
	ctx_begin(&s->ctx, tag);
}

void sha256_stream_update(sha256_stream_t *s, const void *p, size_t n)
{
	ctx_update(&s->ctx, p, n);
}

void sha256_stream_final(sha256_stream_t *s, uint8_t out[HASH_LEN])
{
	ctx_final(&s->ctx, out);
}

void sha256_stream_free(sha256_stream_t *s)
{
	free(s);
}

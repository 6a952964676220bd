/* SHA-256 (see sha256.h). The hot path is Merkle-sized inputs, so nothing here
 * allocates per call: the EVP_MD is fetched once, each thread keeps a context,
 * and each tag's 64-byte prefix is absorbed once and copied from. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/sha256.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md)
		abort(); /* OpenSSL without SHA-256: nothing can work */
}

static const EVP_MD *md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

/* Each thread caches a scratch context and up to TAG_CACHE tag midstates.
 * The cache keeps its own copy of each tag: a caller's buffer may be
 * rewritten, so its address says nothing about its contents. Tags longer
 * than TAG_CACHE_LEN bytes are hashed without the cache. */
#define TAG_CACHE 32
#define TAG_CACHE_LEN 47

struct tag_state {
	char tag[TAG_CACHE_LEN + 1];
	EVP_MD_CTX *mid; /* absorbed SHA256(tag) || SHA256(tag) */
};

struct sha256_tls {
	EVP_MD_CTX *scratch;
	struct tag_state tags[TAG_CACHE];
	int ntags;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
	struct sha256_tls *t = p;
	EVP_MD_CTX_free(t->scratch);
	for (int i = 0; i < t->ntags; i++)
		EVP_MD_CTX_free(t->tags[i].mid);
	free(t);
}

static void tls_init(void)
{
	pthread_key_create(&tls_key, tls_free);
}

static struct sha256_tls *tls(void)
{
	pthread_once(&tls_once, tls_init);
	struct sha256_tls *t = pthread_getspecific(tls_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || !(t->scratch = EVP_MD_CTX_new()))
			abort();
		pthread_setspecific(tls_key, t);
	}
	return t;
}

static void absorb_tag(EVP_MD_CTX *ctx, const char *tag)
{
	uint8_t th[HASH_LEN];
	sha256(tag, strlen(tag), th);
	EVP_DigestInit_ex2(ctx, md(), NULL);
	EVP_DigestUpdate(ctx, th, HASH_LEN);
	EVP_DigestUpdate(ctx, th, HASH_LEN);
}

/* Leaves the thread's scratch context ready to absorb the message. */
static EVP_MD_CTX *begin(const char *tag)
{
	struct sha256_tls *t = tls();
	if (!tag) {
		EVP_DigestInit_ex2(t->scratch, md(), NULL);
		return t->scratch;
	}
	for (int i = 0; i < t->ntags; i++) {
		if (strcmp(t->tags[i].tag, tag) == 0) {
			EVP_MD_CTX_copy_ex(t->scratch, t->tags[i].mid);
			return t->scratch;
		}
	}
	if (t->ntags < TAG_CACHE && strlen(tag) <= TAG_CACHE_LEN) {
		EVP_MD_CTX *mid = EVP_MD_CTX_new();
		if (!mid)
			abort();
		absorb_tag(mid, tag);
		strcpy(t->tags[t->ntags].tag, tag);
		t->tags[t->ntags].mid = mid;
		t->ntags++;
		EVP_MD_CTX_copy_ex(t->scratch, mid);
		return t->scratch;
	}
	absorb_tag(t->scratch, tag);
	return t->scratch;
}

void sha256(const void *p, size_t n, uint8_t out[HASH_LEN])
{
	sha256_2(p, n, NULL, 0, out);
}

void sha256_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *ctx = tls()->scratch;
	EVP_DigestInit_ex2(ctx, md(), NULL);
	EVP_DigestUpdate(ctx, a, na);
	if (nb)
		EVP_DigestUpdate(ctx, b, nb);
	EVP_DigestFinal_ex(ctx, out, NULL);
}

void hash_tagged(const char *tag, const void *p, size_t n, uint8_t out[HASH_LEN])
{
	hash_tagged2(tag, p, n, NULL, 0, out);
}

void hash_tagged2(const char *tag, const void *a, size_t na, const void *b, size_t nb,
		  uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *ctx = begin(tag);
	EVP_DigestUpdate(ctx, a, na);
	if (nb)
		EVP_DigestUpdate(ctx, b, nb);
	EVP_DigestFinal_ex(ctx, out, NULL);
}

struct sha256_stream {
	EVP_MD_CTX *ctx;
};

sha256_stream_t *sha256_stream_new(void)
{
	sha256_stream_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx) {
		free(s);
		return NULL;
	}
	return s;
}

void sha256_stream_begin(sha256_stream_t *s, const char *tag)
{
	if (tag)
		EVP_MD_CTX_copy_ex(s->ctx, begin(tag));
	else
		EVP_DigestInit_ex2(s->ctx, md(), NULL);
}

void sha256_stream_update(sha256_stream_t *s, const void *p, size_t n)
{
	EVP_DigestUpdate(s->ctx, p, n);
}

void sha256_stream_final(sha256_stream_t *s, uint8_t out[HASH_LEN])
{
	EVP_DigestFinal_ex(s->ctx, out, NULL);
}

void sha256_stream_free(sha256_stream_t *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	free(s);
}

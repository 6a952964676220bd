/* SHA-256 (FIPS 180-4) of our own, with no per-call allocation: the x86 SHA
 * extensions where the CPU has them, portable C elsewhere; plus the
 * domain-separated hash H_tag(m) = SHA256(SHA256(tag) || SHA256(tag) || m)
 * (docs/protocol.md §2) whose 64-byte prefix is absorbed once per tag.
 * Not for: passwords (keystore uses scrypt) or HMAC. */
#ifndef ASSAY_CORE_SHA256_H
#define ASSAY_CORE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 32

void sha256(const void *p, size_t n, uint8_t out[HASH_LEN]);
/* SHA256(a || b) without concatenating. */
void sha256_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[HASH_LEN]);

/* Streaming hash; the context is opaque and owned by the caller. */
typedef struct sha256_stream sha256_stream_t;
sha256_stream_t *sha256_stream_new(void);
/* Starts a plain hash, or a tagged one when tag != NULL. */
void sha256_stream_begin(sha256_stream_t *s, const char *tag);
void sha256_stream_update(sha256_stream_t *s, const void *p, size_t n);
void sha256_stream_final(sha256_stream_t *s, uint8_t out[HASH_LEN]);
void sha256_stream_free(sha256_stream_t *s);

/* H_tag(m). Tags are short strings such as "assay/tx". */
void hash_tagged(const char *tag, const void *p, size_t n, uint8_t out[HASH_LEN]);
/* H_tag(a || b). */
void hash_tagged2(const char *tag, const void *a, size_t na, const void *b, size_t nb, uint8_t out[HASH_LEN]);
/* hash_tagged(tag, a, n) and hash_tagged(tag, b, n) (tag NULL: SHA256 of
 * each): two messages of one length, their blocks run side by side where
 * the block function is the SHA extensions' (about twice the rate of one
 * after the other), else one after the other. */
void hash_tagged_x2(const char *tag, const void *a, const void *b, size_t n, uint8_t out_a[HASH_LEN],
		    uint8_t out_b[HASH_LEN]);

/* The compression path. Every path gives the same hashes; the default is
 * the fastest this CPU has. */
enum sha256_impl {
	SHA256_IMPL_BEST,     /* SHA extensions if present, else OpenSSL's block function */
	SHA256_IMPL_PORTABLE, /* plain C, any CPU */
	SHA256_IMPL_SHANI,    /* x86 SHA extensions */
	SHA256_IMPL_OPENSSL,  /* OpenSSL's SHA256_Transform (its own assembly) */
};
/* Makes impl the path for every thread, for tests and benches; call it while
 * no other thread hashes. Returns false, changing nothing, when this CPU or
 * build lacks impl. */
bool sha256_select(enum sha256_impl impl);

#endif

/* The signature cache (after Bitcoin Core's sigcache): positive results of
 * signature checks on admission, so that applying a block whose
 * transactions were admitted here does not verify them again; and of
 * consensus messages, which the node checks on arrival and the engine again
 * when it takes them. Holds only "this exact signature verified"; never a
 * failure. Not for:
 * the rule itself (tx_verify_sig, protocol §5.1) or anything consensus/
 * may depend on: a miss only costs a verification. */
#ifndef ASSAY_NODE_SIGCACHE_H
#define ASSAY_NODE_SIGCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sha256.h"
#include "core/tx.h"

/* Entries held by the node's cache: 32 bytes each, 8 MiB in all; about
 * four full mempools' worth of transfers. Beyond it the oldest entry of a
 * bucket is overwritten. */
#define SIGCACHE_DEFAULT_ENTRIES (1u << 18)
#define SIGCACHE_WAYS 4 /* entries per bucket */
#define SIGCACHE_SALT_LEN 32

typedef struct sigcache sigcache_t;

/* A cache of at most max_entries (rounded down to a power of two buckets
 * of SIGCACHE_WAYS, at least one bucket), keyed with salt: the node passes
 * fresh random bytes per process, so that nobody outside can aim entries at
 * one bucket. NULL when out of memory. Safe to use from several threads. */
sigcache_t *sigcache_new(size_t max_entries, const uint8_t salt[SIGCACHE_SALT_LEN]);
void sigcache_free(sigcache_t *sc);
/* Entries the cache can hold. */
size_t sigcache_capacity(const sigcache_t *sc);

/* The cache key of t, whose id is txid: H(salt || txid || sig). txid
 * commits to every byte of t, the signature included; the signature is
 * hashed once more so that the key names it whatever txid says. */
void sigcache_key(const sigcache_t *sc, const struct tx *t, const uint8_t txid[HASH_LEN],
		  uint8_t key[HASH_LEN]);
/* 0 when sig by pubkey over the 32-byte msg verifies, from the cache (sc)
 * or by verifying it (then cached); ASSAY_ESIG when it does not. Keyed
 * H(salt || pubkey || msg || sig), apart from transaction keys by length.
 * sc NULL: verifies. */
int sigcache_verify_msg(sigcache_t *sc, const uint8_t pubkey[PUBKEY_LEN], const uint8_t msg[HASH_LEN],
			const uint8_t sig[SIG_LEN]);
/* 1 when key is held (the signature verified before), else 0. */
int sigcache_contains(sigcache_t *sc, const uint8_t key[HASH_LEN]);
/* Records that the signature under key verified. Call it only after
 * tx_verify_sig returned 0 for those exact bytes. */
void sigcache_insert(sigcache_t *sc, const uint8_t key[HASH_LEN]);

/* Counters, for /metrics and tests. */
struct sigcache_stats {
	uint64_t hits, misses, inserts, evictions;
	size_t entries; /* held now */
};
void sigcache_stats(sigcache_t *sc, struct sigcache_stats *out);

#endif

/* The signature cache (see sigcache.h): a set-associative table of 32-byte
 * keys. The bucket comes from the key's first bytes, which the salt makes
 * unpredictable; within a bucket a full one overwrites its entries in turn.
 * One mutex: a lookup costs far less than the verification it saves. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/keys.h"
#include "node/sigcache.h"

struct sigcache_bucket {
	uint8_t keys[SIGCACHE_WAYS][HASH_LEN];
	uint8_t used;   /* bit i: keys[i] holds an entry */
	uint8_t victim; /* next way to overwrite when full */
};

struct sigcache {
	uint8_t salt[SIGCACHE_SALT_LEN];
	struct sigcache_bucket *buckets;
	size_t nbuckets; /* a power of two */
	pthread_mutex_t lock;
	struct sigcache_stats stats;
};

sigcache_t *sigcache_new(size_t max_entries, const uint8_t salt[SIGCACHE_SALT_LEN])
{
	sigcache_t *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	size_t want = max_entries / SIGCACHE_WAYS;
	sc->nbuckets = 1;
	while (sc->nbuckets * 2 <= want)
		sc->nbuckets *= 2;
	sc->buckets = calloc(sc->nbuckets, sizeof(*sc->buckets));
	if (!sc->buckets || pthread_mutex_init(&sc->lock, NULL) != 0) {
		free(sc->buckets);
		free(sc);
		return NULL;
	}
	memcpy(sc->salt, salt, SIGCACHE_SALT_LEN);
	return sc;
}

void sigcache_free(sigcache_t *sc)
{
	if (!sc)
		return;
	pthread_mutex_destroy(&sc->lock);
	free(sc->buckets);
	free(sc);
}

size_t sigcache_capacity(const sigcache_t *sc)
{
	return sc->nbuckets * SIGCACHE_WAYS;
}

void sigcache_key(const sigcache_t *sc, const struct tx *t, const uint8_t txid[HASH_LEN],
		  uint8_t key[HASH_LEN])
{
	uint8_t in[SIGCACHE_SALT_LEN + HASH_LEN + SIG_LEN];
	memcpy(in, sc->salt, SIGCACHE_SALT_LEN);
	memcpy(in + SIGCACHE_SALT_LEN, txid, HASH_LEN);
	memcpy(in + SIGCACHE_SALT_LEN + HASH_LEN, t->sig, SIG_LEN);
	sha256(in, sizeof(in), key);
}

static struct sigcache_bucket *bucket_of(sigcache_t *sc, const uint8_t key[HASH_LEN])
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return &sc->buckets[h & (sc->nbuckets - 1)];
}

/* The way holding key, or -1. Under the lock. */
static int find_way(const struct sigcache_bucket *b, const uint8_t key[HASH_LEN])
{
	for (int i = 0; i < SIGCACHE_WAYS; i++)
		if ((b->used >> i & 1) && memcmp(b->keys[i], key, HASH_LEN) == 0)
			return i;
	return -1;
}

int sigcache_contains(sigcache_t *sc, const uint8_t key[HASH_LEN])
{
	struct sigcache_bucket *b = bucket_of(sc, key);
	pthread_mutex_lock(&sc->lock);
	int hit = find_way(b, key) >= 0;
	if (hit)
		sc->stats.hits++;
	else
		sc->stats.misses++;
	pthread_mutex_unlock(&sc->lock);
	return hit;
}

void sigcache_insert(sigcache_t *sc, const uint8_t key[HASH_LEN])
{
	struct sigcache_bucket *b = bucket_of(sc, key);
	pthread_mutex_lock(&sc->lock);
	if (find_way(b, key) < 0) {
		int way = -1;
		for (int i = 0; i < SIGCACHE_WAYS && way < 0; i++)
			if (!(b->used >> i & 1))
				way = i;
		if (way < 0) {
			way = b->victim;
			b->victim = (uint8_t)((b->victim + 1) % SIGCACHE_WAYS);
			sc->stats.evictions++;
		} else {
			sc->stats.entries++;
		}
		memcpy(b->keys[way], key, HASH_LEN);
		b->used |= (uint8_t)(1u << way);
		sc->stats.inserts++;
	}
	pthread_mutex_unlock(&sc->lock);
}

void sigcache_stats(sigcache_t *sc, struct sigcache_stats *out)
{
	pthread_mutex_lock(&sc->lock);
	*out = sc->stats;
	pthread_mutex_unlock(&sc->lock);
}

int sigcache_verify_msg(sigcache_t *sc, const uint8_t pubkey[PUBKEY_LEN], const uint8_t msg[HASH_LEN],
			const uint8_t sig[SIG_LEN])
{
	uint8_t in[SIGCACHE_SALT_LEN + PUBKEY_LEN + HASH_LEN + SIG_LEN], key[HASH_LEN];
	if (sc) {
		memcpy(in, sc->salt, SIGCACHE_SALT_LEN);
		memcpy(in + SIGCACHE_SALT_LEN, pubkey, PUBKEY_LEN);
		memcpy(in + SIGCACHE_SALT_LEN + PUBKEY_LEN, msg, HASH_LEN);
		memcpy(in + SIGCACHE_SALT_LEN + PUBKEY_LEN + HASH_LEN, sig, SIG_LEN);
		sha256(in, sizeof(in), key);
		if (sigcache_contains(sc, key))
			return 0;
	}
	if (sig_verify(pubkey, msg, HASH_LEN, sig) != 0)
		return ASSAY_ESIG;
	if (sc)
		sigcache_insert(sc, key);
	return 0;
}

/* Bounded hash set (see hashset.h): a FIFO ring of keys for eviction order
 * plus an open-addressing index (linear probing, backward-shift deletion) of
 * twice the capacity, so lookups stay O(1) with the table at most half full.
 * Keys come from peers, so slots are chosen by SipHash under a secret key. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/hashset.h"

struct net_hashset {
	size_t capacity;     /* keys kept at most */
	size_t count;        /* keys held */
	size_t head;         /* ring slot of the oldest key */
	uint8_t (*ring)[32]; /* keys in insertion order */
	size_t nslots;       /* index size, a power of two >= 2 * capacity */
	size_t *slots;       /* ring position + 1, or 0 for empty */
	uint8_t sip_key[crypto_shorthash_KEYBYTES]; /* random per set: peers cannot aim keys at one slot */
};

net_hashset_t *net_hashset_new(size_t capacity)
{
	if (capacity == 0)
		return NULL;
	net_hashset_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (sodium_init() < 0) {
		free(s);
		return NULL;
	}
	randombytes_buf(s->sip_key, sizeof(s->sip_key));
	s->capacity = capacity;
	s->nslots = 4;
	while (s->nslots < 2 * capacity)
		s->nslots *= 2;
	s->ring = calloc(capacity, 32);
	s->slots = calloc(s->nslots, sizeof(size_t));
	if (!s->ring || !s->slots) {
		net_hashset_free(s);
		return NULL;
	}
	return s;
}

void net_hashset_free(net_hashset_t *s)
{
	if (!s)
		return;
	free(s->ring);
	free(s->slots);
	free(s);
}

/* Keys are hashes, but a peer can announce hashes of nothing (or grind
 * real ones) that share their first bytes; masking those would put every
 * key in one probe run and make each lookup O(n). A keyed SipHash of the
 * whole key spreads them whatever the peer picks. */
static size_t home(const net_hashset_t *s, const uint8_t key[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, 32, s->sip_key);
	return (size_t)le64_get(h) & (s->nslots - 1);
}

/* Slot index holding key, or the empty slot where it would go. */
static size_t find(const net_hashset_t *s, const uint8_t key[32])
{
	size_t i = home(s, key);
	while (s->slots[i] && memcmp(s->ring[s->slots[i] - 1], key, 32) != 0)
		i = (i + 1) & (s->nslots - 1);
	return i;
}

int net_hashset_has(const net_hashset_t *s, const uint8_t key[32])
{
	return s->slots[find(s, key)] != 0;
}

static void remove_slot(net_hashset_t *s, size_t i)
{
	size_t mask = s->nslots - 1;
	s->slots[i] = 0;
	/* Backward shift: move later members of the probe run into the hole
	 * when their home position allows it, so lookups never stop early. */
	for (size_t j = (i + 1) & mask; s->slots[j]; j = (j + 1) & mask) {
		size_t h = home(s, s->ring[s->slots[j] - 1]);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			s->slots[i] = s->slots[j];
			s->slots[j] = 0;
			i = j;
		}
	}
}

int net_hashset_add(net_hashset_t *s, const uint8_t key[32])
{
	size_t i = find(s, key);
	if (s->slots[i])
		return 0;
	size_t pos;
	if (s->count == s->capacity) {
		pos = s->head;
		remove_slot(s, find(s, s->ring[pos]));
		s->head = (s->head + 1) % s->capacity;
		s->count--;
		i = find(s, key); /* the shift may have moved the empty slot */
	} else {
		pos = (s->head + s->count) % s->capacity;
	}
	memcpy(s->ring[pos], key, 32);
	s->slots[i] = pos + 1;
	s->count++;
	return 1;
}

size_t net_hashset_count(const net_hashset_t *s)
{
	return s->count;
}

size_t net_hashset_longest_run(const net_hashset_t *s)
{
	size_t longest = 0, run = 0;
	/* twice round, so a run that wraps past the last slot is counted whole */
	for (size_t k = 0; k < 2 * s->nslots; k++) {
		run = s->slots[k & (s->nslots - 1)] ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	return longest < s->nslots ? longest : s->nslots;
}

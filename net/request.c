/* In-flight tx requests (see request.h): a dense array of entries, so that
 * expiry scans only what is in flight, plus an open-addressing index keyed by
 * SipHash (as net/hashset.c, for the same reason: hashes come from peers)
 * of twice NET_REQ_MAX slots holding entry position + 1; counts of requests
 * per asked peer and per its net group; and the per-peer block requests. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "net/request.h"

#define REQ_SLOTS (2 * NET_REQ_MAX) /* a power of two: the index stays at most half full */

struct req_entry {
	uint8_t hash[32];
	uint64_t peer;                 /* asked of; 0 once it left (due) */
	uint64_t group;                /* the asked peer's net group */
	uint64_t deadline_ms;          /* due at or after this; 0: due now */
	uint64_t alts[NET_REQ_ALTS];   /* other announcers, in order of arrival */
	uint64_t alt_groups[NET_REQ_ALTS]; /* their net groups */
	size_t nalts;
};

/* Requests in flight per key (a peer or a group). Each key counted has at
 * least one entry, so NET_REQ_MAX keys always suffice; a key is found by a
 * scan, over at most as many keys as there are peers with requests. */
struct req_counts {
	struct {
		uint64_t key;
		uint32_t count;
	} items[NET_REQ_MAX];
	size_t n;
};

struct net_req {
	struct req_entry entries[NET_REQ_MAX];
	size_t count;
	struct req_counts per_peer, per_group;
	uint64_t timeout_ms;           /* a request's time to be answered */
	size_t cursor;                 /* where net_req_next_due goes on */
	uint64_t visited;              /* entries the walks have looked at (net_req_visited) */
	uint32_t slots[REQ_SLOTS];     /* entry position + 1, or 0 for empty */
	uint8_t sip_key[crypto_shorthash_KEYBYTES];
};

net_req_t *net_req_new(uint64_t timeout_ms)
{
	if (sodium_init() < 0)
		return NULL;
	net_req_t *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	randombytes_buf(r->sip_key, sizeof(r->sip_key));
	r->timeout_ms = timeout_ms;
	return r;
}

void net_req_free(net_req_t *r)
{
	free(r);
}

static size_t counts_get(const struct req_counts *c, uint64_t key)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->items[i].key == key)
			return c->items[i].count;
	return 0;
}

static void counts_add(struct req_counts *c, uint64_t key, int delta)
{
	size_t i = 0;
	while (i < c->n && c->items[i].key != key)
		i++;
	if (i == c->n) {
		if (delta < 0 || c->n == NET_REQ_MAX)
			return;
		c->items[c->n].key = key;
		c->items[c->n++].count = 0;
	}
	if (delta < 0 && c->items[i].count == 0)
		return;
	c->items[i].count += (uint32_t)delta;
	if (c->items[i].count == 0)
		c->items[i] = c->items[--c->n];
}

/* Points the entry's request at peer (0: nobody), keeping the counts. */
static void set_asked(net_req_t *r, struct req_entry *e, uint64_t peer, uint64_t group)
{
	if (e->peer) {
		counts_add(&r->per_peer, e->peer, -1);
		counts_add(&r->per_group, e->group, -1);
	}
	e->peer = peer;
	e->group = group;
	if (peer) {
		counts_add(&r->per_peer, peer, 1);
		counts_add(&r->per_group, group, 1);
	}
}

static size_t home(const net_req_t *r, const uint8_t hash[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, hash, 32, r->sip_key);
	return (size_t)le64_get(h) & (REQ_SLOTS - 1);
}

/* Slot holding hash, or the empty slot where it would go. */
static size_t find(const net_req_t *r, const uint8_t hash[32])
{
	size_t i = home(r, hash);
	while (r->slots[i] && memcmp(r->entries[r->slots[i] - 1].hash, hash, 32) != 0)
		i = (i + 1) & (REQ_SLOTS - 1);
	return i;
}

static struct req_entry *lookup(net_req_t *r, const uint8_t hash[32])
{
	size_t i = find(r, hash);
	return r->slots[i] ? &r->entries[r->slots[i] - 1] : NULL;
}

/* Removes the entry at pos: its slot is emptied with a backward shift (so
 * probe runs stay whole), and the last entry moves into its place. */
static void remove_at(net_req_t *r, size_t pos)
{
	set_asked(r, &r->entries[pos], 0, 0);
	size_t i = find(r, r->entries[pos].hash);
	r->slots[i] = 0;
	for (size_t j = (i + 1) & (REQ_SLOTS - 1); r->slots[j]; j = (j + 1) & (REQ_SLOTS - 1)) {
		size_t h = home(r, r->entries[r->slots[j] - 1].hash);
		if (((j - h) & (REQ_SLOTS - 1)) >= ((j - i) & (REQ_SLOTS - 1))) {
			r->slots[i] = r->slots[j];
			r->slots[j] = 0;
			i = j;
		}
	}
	size_t last = --r->count;
	if (pos != last) {
		r->entries[pos] = r->entries[last];
		r->slots[find(r, r->entries[pos].hash)] = (uint32_t)pos + 1;
	}
}

static int alt_index(const struct req_entry *e, uint64_t peer)
{
	for (size_t k = 0; k < e->nalts; k++)
		if (e->alts[k] == peer)
			return (int)k;
	return -1;
}

static void alt_remove(struct req_entry *e, int k)
{
	size_t tail = e->nalts - (size_t)k - 1;
	memmove(&e->alts[k], &e->alts[k + 1], tail * sizeof(e->alts[0]));
	memmove(&e->alt_groups[k], &e->alt_groups[k + 1], tail * sizeof(e->alt_groups[0]));
	e->nalts--;
}

/* How many of the entry's asked peer and alternatives are of group. */
static size_t group_uses(const struct req_entry *e, uint64_t group)
{
	size_t n = e->peer && e->group == group;
	for (size_t k = 0; k < e->nalts; k++)
		n += e->alt_groups[k] == group;
	return n;
}

/* A new announcer of a hash in flight: kept while there is room; when the
 * alternatives are full, one of a group not yet among them takes the place
 * of the latest alternative whose group is there twice. Else the
 * connections of one address could fill every place first and answer
 * notfound in turn, and the hash be forgotten before any other announcer
 * was asked. */
static void alt_add(struct req_entry *e, uint64_t peer, uint64_t group)
{
	if (e->peer == peer || alt_index(e, peer) >= 0)
		return;
	if (e->nalts < NET_REQ_ALTS) {
		e->alt_groups[e->nalts] = group;
		e->alts[e->nalts++] = peer;
		return;
	}
	if (group_uses(e, group))
		return;
	for (size_t k = e->nalts; k-- > 0;)
		if (group_uses(e, e->alt_groups[k]) >= 2) {
			e->alts[k] = peer;
			e->alt_groups[k] = group;
			return;
		}
}

int net_req_announce(net_req_t *r, const uint8_t hash[32], uint64_t peer, uint64_t group,
		     uint64_t now_ms)
{
	size_t i = find(r, hash);
	if (r->slots[i]) {
		alt_add(&r->entries[r->slots[i] - 1], peer, group);
		return 0;
	}
	/* Bounds on new requests only: what is in flight stays, whoever
	 * floods, so a flood costs the flooder its own budget. */
	if (counts_get(&r->per_peer, peer) >= NET_REQ_PER_PEER ||
	    counts_get(&r->per_group, group) >= NET_REQ_PER_GROUP)
		return ASSAY_ELIMIT;
	if (r->count == NET_REQ_MAX)
		return ASSAY_EFULL;
	struct req_entry *e = &r->entries[r->count];
	memset(e, 0, sizeof(*e));
	memcpy(e->hash, hash, 32);
	set_asked(r, e, peer, group);
	e->deadline_ms = now_ms + r->timeout_ms;
	r->slots[i] = (uint32_t)++r->count;
	return 1;
}

int net_req_received(net_req_t *r, const uint8_t hash[32], uint64_t *asked)
{
	size_t i = find(r, hash);
	if (!r->slots[i])
		return 0;
	size_t pos = r->slots[i] - 1;
	*asked = r->entries[pos].peer;
	remove_at(r, pos);
	return 1;
}

/* Moves the request at pos to its next announcer, or forgets it with none
 * left (then the last entry takes pos). Returns 1 if it is still at pos. */
static int move_on(net_req_t *r, size_t pos, uint64_t now_ms, struct net_req_move *mv)
{
	struct req_entry *e = &r->entries[pos];
	memcpy(mv->hash, e->hash, 32);
	mv->from = e->peer;
	if (!e->nalts) {
		mv->to = 0;
		remove_at(r, pos);
		return 0;
	}
	/* an alternative takes the request even over its own bound: it was
	 * announced while in flight, and the alternatives per hash are bounded
	 * themselves */
	mv->to = e->alts[0];
	set_asked(r, e, e->alts[0], e->alt_groups[0]);
	alt_remove(e, 0);
	e->deadline_ms = now_ms + r->timeout_ms;
	return 1;
}

int net_req_notfound(net_req_t *r, const uint8_t hash[32], uint64_t peer, uint64_t now_ms,
		     struct net_req_move *mv)
{
	struct req_entry *e = lookup(r, hash);
	if (!e)
		return 0;
	if (e->peer == peer) {
		move_on(r, (size_t)(e - r->entries), now_ms, mv);
		return 1;
	}
	int k = alt_index(e, peer);
	if (k >= 0)
		alt_remove(e, k);
	return 0;
}

void net_req_peer_gone(net_req_t *r, uint64_t peer)
{
	r->visited += r->count;
	for (size_t pos = 0; pos < r->count; pos++) {
		struct req_entry *e = &r->entries[pos];
		if (e->peer == peer) {
			set_asked(r, e, 0, 0); /* nothing to take back from a peer that left */
			e->deadline_ms = 0;
		}
		int k = alt_index(e, peer);
		if (k >= 0)
			alt_remove(e, k);
	}
}

int net_req_next_due(net_req_t *r, uint64_t now_ms, struct net_req_move *mv)
{
	while (r->cursor < r->count) {
		struct req_entry *e = &r->entries[r->cursor];
		r->visited++;
		if (e->deadline_ms > now_ms) {
			r->cursor++;
			continue;
		}
		if (move_on(r, r->cursor, now_ms, mv))
			r->cursor++; /* else the last entry moved here: look at it next */
		return 1;
	}
	r->cursor = 0;
	return 0;
}

uint64_t net_req_visited(const net_req_t *r)
{
	return r->visited;
}

size_t net_req_count(const net_req_t *r)
{
	return r->count;
}

size_t net_req_peer_count(const net_req_t *r, uint64_t peer)
{
	return counts_get(&r->per_peer, peer);
}

size_t net_req_group_count(const net_req_t *r, uint64_t group)
{
	return counts_get(&r->per_group, group);
}

int net_block_reqs_add(struct net_block_reqs *q, const uint8_t hash[32])
{
	if (q->count == NET_MAX_BLOCK_REQUESTS)
		return ASSAY_EFULL;
	memcpy(q->hash[q->count++], hash, 32);
	return 0;
}

static void block_reqs_remove(struct net_block_reqs *q, size_t k)
{
	memmove(q->hash[k], q->hash[k + 1], (q->count - k - 1) * 32);
	q->count--;
}

static int block_reqs_index(const struct net_block_reqs *q, const uint8_t hash[32])
{
	for (size_t k = 0; k < q->count; k++)
		if (memcmp(q->hash[k], hash, 32) == 0)
			return (int)k;
	return -1;
}

int net_block_reqs_answered(struct net_block_reqs *q, const uint8_t hash[32])
{
	int k = block_reqs_index(q, hash);
	if (k < 0)
		return 0;
	block_reqs_remove(q, (size_t)k);
	return 1;
}

int net_block_reqs_holds(const struct net_block_reqs *q, const uint8_t hash[32])
{
	return block_reqs_index(q, hash) >= 0;
}

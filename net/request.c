/* In-flight tx requests (see request.h): a dense array of entries, so that
 * expiry scans only what is in flight, plus an open-addressing index keyed by
 * SipHash (as net/hashset.c, for the same reason: hashes come from peers)
 * of twice NET_REQ_MAX slots holding entry position + 1; counts of requests
 * per asked peer and per its net group; per peer, a list through the places
 * it holds in entries (asked or alternative), so that a disconnect visits
 * those and nothing else; and the per-peer block requests. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "net/request.h"

#define REQ_SLOTS (2 * NET_REQ_MAX) /* a power of two: the index stays at most half full */
/* Places a peer can hold in one entry: 0 is the peer asked, 1 + k its
 * alternative k. A peer holds at most one place per entry. */
#define REQ_PLACES (1 + NET_REQ_ALTS)
/* Peers with a place: at most one per place in the table, NET_REQ_MAX *
 * REQ_PLACES = 40960, so a power of two over that keeps the open-addressing
 * map of peers under two thirds full. */
#define REQ_PEER_SLOTS 65536

struct req_entry {
	uint8_t hash[32];
	uint64_t peer;                 /* asked of; 0 once it left (due) */
	uint64_t group;                /* the asked peer's net group */
	uint64_t deadline_ms;          /* due at or after this; 0: due now */
	uint64_t alts[NET_REQ_ALTS];   /* other announcers, in order of arrival */
	uint64_t alt_groups[NET_REQ_ALTS]; /* their net groups */
	size_t nalts;
	/* the holder's list of places, for each place held: the next and the
	 * previous place (a link, below), 0 at either end */
	uint32_t next[REQ_PLACES], prev[REQ_PLACES];
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
	/* peers holding a place (0: an empty slot), by linear probing on their
	 * id (ours, not a peer's choice), and the first link of each one's list */
	uint64_t peer_ids[REQ_PEER_SLOTS];
	uint32_t peer_heads[REQ_PEER_SLOTS];
};

/* A link names one place: entry position * REQ_PLACES + place, + 1 (0 is
 * no link). Links of an entry are renamed when it moves (remove_at) and
 * when its alternatives shift (alt_remove). */
static uint32_t link_of(size_t pos, size_t place)
{
	return (uint32_t)(pos * REQ_PLACES + place) + 1;
}

static struct req_entry *link_entry(net_req_t *r, uint32_t link)
{
	return &r->entries[(link - 1) / REQ_PLACES];
}

static size_t link_place(uint32_t link)
{
	return (link - 1) % REQ_PLACES;
}

static size_t peer_home(uint64_t peer)
{
	return (size_t)((peer * 0x9e3779b97f4a7c15ull) >> 48) & (REQ_PEER_SLOTS - 1);
}

/* Slot of peer in the map of peers, or the empty slot where it would go. */
static size_t peer_find(const net_req_t *r, uint64_t peer)
{
	size_t i = peer_home(peer);
	while (r->peer_ids[i] && r->peer_ids[i] != peer)
		i = (i + 1) & (REQ_PEER_SLOTS - 1);
	return i;
}

/* Empties slot i with a backward shift, as remove_at does for hashes. */
static void peer_slot_clear(net_req_t *r, size_t i)
{
	r->peer_ids[i] = 0;
	for (size_t j = (i + 1) & (REQ_PEER_SLOTS - 1); r->peer_ids[j]; j = (j + 1) & (REQ_PEER_SLOTS - 1)) {
		size_t h = peer_home(r->peer_ids[j]);
		if (((j - h) & (REQ_PEER_SLOTS - 1)) >= ((j - i) & (REQ_PEER_SLOTS - 1))) {
			r->peer_ids[i] = r->peer_ids[j];
			r->peer_heads[i] = r->peer_heads[j];
			r->peer_ids[j] = 0;
			i = j;
		}
	}
}

/* Puts link at the head of peer's list (the place is peer's now). */
static void link_add(net_req_t *r, uint32_t link, uint64_t peer)
{
	size_t i = peer_find(r, peer);
	if (!r->peer_ids[i]) {
		r->peer_ids[i] = peer;
		r->peer_heads[i] = 0;
	}
	struct req_entry *e = link_entry(r, link);
	size_t place = link_place(link);
	uint32_t head = r->peer_heads[i];
	e->next[place] = head;
	e->prev[place] = 0;
	if (head)
		link_entry(r, head)->prev[link_place(head)] = link;
	r->peer_heads[i] = link;
}

/* Takes link out of peer's list; a peer left with no place leaves the map. */
static void link_del(net_req_t *r, uint32_t link, uint64_t peer)
{
	struct req_entry *e = link_entry(r, link);
	size_t place = link_place(link);
	uint32_t next = e->next[place], prev = e->prev[place];
	if (prev) {
		link_entry(r, prev)->next[link_place(prev)] = next;
	} else {
		size_t i = peer_find(r, peer);
		r->peer_heads[i] = next;
		if (!next)
			peer_slot_clear(r, i);
	}
	if (next)
		link_entry(r, next)->prev[link_place(next)] = prev;
}

/* peer's place at link `from` is now at link `to` (a place not held). */
static void link_move(net_req_t *r, uint32_t from, uint32_t to, uint64_t peer)
{
	struct req_entry *ef = link_entry(r, from), *et = link_entry(r, to);
	uint32_t next = ef->next[link_place(from)], prev = ef->prev[link_place(from)];
	et->next[link_place(to)] = next;
	et->prev[link_place(to)] = prev;
	if (prev)
		link_entry(r, prev)->next[link_place(prev)] = to;
	else
		r->peer_heads[peer_find(r, peer)] = to;
	if (next)
		link_entry(r, next)->prev[link_place(next)] = to;
}

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

/* Points the entry's request at peer (0: nobody), keeping the counts and
 * the peers' lists. */
static void set_asked(net_req_t *r, struct req_entry *e, uint64_t peer, uint64_t group)
{
	uint32_t link = link_of((size_t)(e - r->entries), 0);
	if (e->peer) {
		counts_add(&r->per_peer, e->peer, -1);
		counts_add(&r->per_group, e->group, -1);
		link_del(r, link, e->peer);
	}
	e->peer = peer;
	e->group = group;
	if (peer) {
		counts_add(&r->per_peer, peer, 1);
		counts_add(&r->per_group, group, 1);
		link_add(r, link, peer);
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
	struct req_entry *e = &r->entries[pos];
	set_asked(r, e, 0, 0);
	for (size_t k = 0; k < e->nalts; k++)
		link_del(r, link_of(pos, 1 + k), e->alts[k]);
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
		struct req_entry *moved = &r->entries[pos];
		if (moved->peer)
			link_move(r, link_of(last, 0), link_of(pos, 0), moved->peer);
		for (size_t k = 0; k < moved->nalts; k++)
			link_move(r, link_of(last, 1 + k), link_of(pos, 1 + k), moved->alts[k]);
	}
}

static int alt_index(const struct req_entry *e, uint64_t peer)
{
	for (size_t k = 0; k < e->nalts; k++)
		if (e->alts[k] == peer)
			return (int)k;
	return -1;
}

static void alt_remove(net_req_t *r, struct req_entry *e, int k)
{
	size_t pos = (size_t)(e - r->entries);
	link_del(r, link_of(pos, 1 + (size_t)k), e->alts[k]);
	for (size_t j = (size_t)k + 1; j < e->nalts; j++)
		link_move(r, link_of(pos, 1 + j), link_of(pos, j), e->alts[j]);
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
static void alt_add(net_req_t *r, struct req_entry *e, uint64_t peer, uint64_t group)
{
	size_t pos = (size_t)(e - r->entries);
	if (e->peer == peer || alt_index(e, peer) >= 0)
		return;
	if (e->nalts < NET_REQ_ALTS) {
		link_add(r, link_of(pos, 1 + e->nalts), peer);
		e->alt_groups[e->nalts] = group;
		e->alts[e->nalts++] = peer;
		return;
	}
	if (group_uses(e, group))
		return;
	for (size_t k = e->nalts; k-- > 0;)
		if (group_uses(e, e->alt_groups[k]) >= 2) {
			link_del(r, link_of(pos, 1 + k), e->alts[k]);
			link_add(r, link_of(pos, 1 + k), peer);
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
		alt_add(r, &r->entries[r->slots[i] - 1], peer, group);
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
	uint64_t to = e->alts[0], to_group = e->alt_groups[0];
	alt_remove(r, e, 0); /* first: a peer holds one place per entry */
	mv->to = to;
	set_asked(r, e, to, to_group);
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
		alt_remove(r, e, k);
	return 0;
}

uint64_t net_req_asked_of(net_req_t *r, const uint8_t hash[32])
{
	const struct req_entry *e = lookup(r, hash);
	return e ? e->peer : 0;
}

void net_req_peer_gone(net_req_t *r, uint64_t peer)
{
	size_t i = peer_find(r, peer);
	uint32_t link = r->peer_ids[i] ? r->peer_heads[i] : 0;
	/* each step takes this peer's place out of its list, and may rename
	 * other peers' places in the same entry, never this peer's next one
	 * (in another entry) */
	while (link) {
		struct req_entry *e = link_entry(r, link);
		size_t place = link_place(link);
		link = e->next[place];
		r->visited++;
		if (place == 0) {
			set_asked(r, e, 0, 0); /* nothing to take back from a peer that left */
			e->deadline_ms = 0;
		} else {
			alt_remove(r, e, (int)place - 1);
		}
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

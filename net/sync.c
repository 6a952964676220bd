/* Range scheduler (see sync.h). Buffered blocks live in a ring indexed by
 * height modulo NET_SYNC_WINDOW; since only heights in (tip, tip + WINDOW]
 * are ever stored, a slot holds at most one candidate height at a time. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/msg.h"
#include "net/sync.h"

#define MAX_RANGES (NET_SYNC_WINDOW / NET_SYNC_RANGE + 1)

struct sync_slot {
	uint8_t *data;  /* NULL if empty */
	size_t len;
	uint64_t height;
	uint64_t peer;  /* sender, to blame if the node rejects it */
};

struct sync_range {
	int active;
	uint64_t from;
	uint32_t count;
	uint64_t peer;
	uint64_t deadline_ms; /* pushed back on every block that arrives */
	uint64_t stall_deadline_ms; /* 0, or set once when it first holds up a full
				     * window: the whole range is due by then */
};

struct sync_peer {
	uint64_t id;
	uint64_t claimed;        /* best height it says it has: ranges are asked up to here */
	uint64_t proven;         /* highest block from it that connected to our chain */
	int backed;              /* has proven a block and never failed a range: only
				  * then does its claim count for the target */
	int failed;              /* it, or a peer of its host, has let a range time
				  * out: its claims never count again (a peer that
				  * relays real blocks first could else re-back a false
				  * claim with each one, and keep the node thinking it
				  * is far behind) */
	uint8_t host[16];        /* net_sync_peer_host; meaningful if has_host */
	int has_host;            /* not told: its failure dies with the connection */
	int busy;                /* has a range in flight */
	uint64_t stalled_until;  /* after a timeout, others are preferred */
};

/* A host that let a range time out. Kept past its connections, since a
 * peer that reconnects would else come back unfailed, re-back its false claim
 * with one real block and hold the target up for another timeout, forever. */
struct sync_failed {
	uint8_t host[16];
	uint64_t at_ms;          /* its latest timeout; forgotten NET_SYNC_FAILED_MS on */
	int used;
};

struct net_sync {
	uint64_t tip;
	size_t max_block_bytes;  /* the chain's limit: larger blocks are refused on arrival */
	size_t hard_bytes;       /* buffered bytes never exceeded (sync.h) */
	struct sync_slot slots[NET_SYNC_WINDOW];
	size_t buffered_bytes;
	size_t buffered_count;
	uint64_t stall_ms;       /* time a range holding up the window has to finish */
	struct sync_range ranges[MAX_RANGES];
	struct sync_peer peers[NET_SYNC_MAX_PEERS];
	size_t npeers;
	struct sync_failed failed[NET_SYNC_FAILED_MAX]; /* unordered: found by scanning */
};

net_sync_t *net_sync_new(uint64_t tip, size_t max_block_bytes)
{
	net_sync_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tip = tip;
	s->stall_ms = NET_SYNC_STALL_MIN_MS;
	s->max_block_bytes = max_block_bytes && max_block_bytes < NET_MAX_OBJECT ? max_block_bytes
										 : NET_MAX_OBJECT;
	/* requests stop at NET_SYNC_MAX_BYTES; answers to one range may still come */
	s->hard_bytes = NET_SYNC_MAX_BYTES + (size_t)NET_SYNC_RANGE * s->max_block_bytes;
	return s;
}

static void slot_clear(net_sync_t *s, struct sync_slot *sl)
{
	if (!sl->data)
		return;
	s->buffered_bytes -= sl->len;
	s->buffered_count--;
	free(sl->data);
	memset(sl, 0, sizeof(*sl));
}

/* An empty slot takes data (malloc()ed, now the buffer's). */
static void slot_fill(net_sync_t *s, struct sync_slot *sl, uint8_t *data, size_t len, uint64_t height,
		      uint64_t peer)
{
	sl->data = data;
	sl->len = len;
	sl->height = height;
	sl->peer = peer;
	s->buffered_bytes += len;
	s->buffered_count++;
}

void net_sync_free(net_sync_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < NET_SYNC_WINDOW; i++)
		slot_clear(s, &s->slots[i]);
	free(s);
}

static struct sync_peer *find_peer(net_sync_t *s, uint64_t id)
{
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].id == id)
			return &s->peers[i];
	return NULL;
}

static void range_end(net_sync_t *s, struct sync_range *r)
{
	struct sync_peer *p = find_peer(s, r->peer);
	if (p)
		p->busy = 0;
	r->active = 0;
}

void net_sync_set_tip(net_sync_t *s, uint64_t tip)
{
	s->tip = tip;
	for (size_t i = 0; i < NET_SYNC_WINDOW; i++)
		if (s->slots[i].data && s->slots[i].height <= tip)
			slot_clear(s, &s->slots[i]);
	for (size_t i = 0; i < MAX_RANGES; i++)
		if (s->ranges[i].active && s->ranges[i].from + s->ranges[i].count - 1 <= tip)
			range_end(s, &s->ranges[i]);
}

uint64_t net_sync_tip(const net_sync_t *s)
{
	return s->tip;
}

uint64_t net_sync_target(const net_sync_t *s)
{
	uint64_t t = s->tip;
	for (size_t i = 0; i < s->npeers; i++) {
		const struct sync_peer *p = &s->peers[i];
		uint64_t credible = p->backed ? p->claimed : p->proven;
		if (credible > t)
			t = credible;
	}
	return t;
}

/* Highest claim of any peer: how far requests may reach (the window aside). */
static uint64_t claimed_limit(const net_sync_t *s)
{
	uint64_t t = s->tip;
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].claimed > t)
			t = s->peers[i].claimed;
	return t;
}

static struct sync_peer *peer_add(net_sync_t *s, uint64_t peer)
{
	struct sync_peer *p = find_peer(s, peer);
	if (p || s->npeers == NET_SYNC_MAX_PEERS)
		return p;
	p = &s->peers[s->npeers++];
	memset(p, 0, sizeof(*p));
	p->id = peer;
	return p;
}

/* host let a range time out less than NET_SYNC_FAILED_MS before now_ms. */
static int host_failed(const net_sync_t *s, const uint8_t host[16], uint64_t now_ms)
{
	for (size_t i = 0; i < NET_SYNC_FAILED_MAX; i++) {
		const struct sync_failed *f = &s->failed[i];
		if (f->used && memcmp(f->host, host, 16) == 0 &&
		    (now_ms < f->at_ms || now_ms - f->at_ms < NET_SYNC_FAILED_MS))
			return 1;
	}
	return 0;
}

/* Remembers host as failed at now_ms, in its own entry, else a free one,
 * else the oldest (an expired one, if any): the table is bounded, so a liar
 * with more hosts than NET_SYNC_FAILED_MAX can push its first ones out (each
 * still costs it a timeout), but never grow our memory. Its peers connected
 * now fail too: a second connection must not keep the claim the first lost. */
static void host_fail(net_sync_t *s, const uint8_t host[16], uint64_t now_ms)
{
	struct sync_failed *slot = &s->failed[0];
	for (size_t i = 0; i < NET_SYNC_FAILED_MAX; i++) {
		struct sync_failed *f = &s->failed[i];
		if (f->used && memcmp(f->host, host, 16) == 0) {
			slot = f;
			break;
		}
		if (slot->used && (!f->used || f->at_ms < slot->at_ms))
			slot = f;
	}
	memcpy(slot->host, host, 16);
	slot->at_ms = now_ms;
	slot->used = 1;
	for (size_t i = 0; i < s->npeers; i++) {
		struct sync_peer *p = &s->peers[i];
		if (p->has_host && memcmp(p->host, host, 16) == 0) {
			p->backed = 0;
			p->failed = 1;
		}
	}
}

void net_sync_peer_host(net_sync_t *s, uint64_t peer, const uint8_t host[16], uint64_t now_ms)
{
	struct sync_peer *p = peer_add(s, peer);
	if (!p)
		return;
	memcpy(p->host, host, 16);
	p->has_host = 1;
	if (host_failed(s, host, now_ms)) {
		p->backed = 0;
		p->failed = 1;
	}
}

void net_sync_peer_height(net_sync_t *s, uint64_t peer, uint64_t height)
{
	struct sync_peer *p = peer_add(s, peer);
	if (p && height > p->claimed)
		p->claimed = height;
}

void net_sync_peer_proven(net_sync_t *s, uint64_t peer, uint64_t height)
{
	struct sync_peer *p = peer_add(s, peer);
	if (!p)
		return;
	if (height > p->proven)
		p->proven = height;
	if (height > p->claimed)
		p->claimed = height;
	p->backed = !p->failed;
}

void net_sync_peer_gone(net_sync_t *s, uint64_t peer)
{
	/* what it sent and was not yet applied is fetched again from others:
	 * a banned peer's blocks must not sit in the buffer */
	for (size_t i = 0; i < NET_SYNC_WINDOW; i++)
		if (s->slots[i].data && s->slots[i].peer == peer)
			slot_clear(s, &s->slots[i]);
	for (size_t i = 0; i < MAX_RANGES; i++)
		if (s->ranges[i].active && s->ranges[i].peer == peer)
			range_end(s, &s->ranges[i]);
	struct sync_peer *p = find_peer(s, peer);
	if (p)
		*p = s->peers[--s->npeers];
}

static struct sync_slot *slot_for(net_sync_t *s, uint64_t height)
{
	return &s->slots[height % NET_SYNC_WINDOW];
}

static int have_block(const net_sync_t *s, uint64_t height)
{
	const struct sync_slot *sl = &s->slots[height % NET_SYNC_WINDOW];
	return sl->data && sl->height == height;
}

/* The active range covering height, or NULL. */
static struct sync_range *covering(net_sync_t *s, uint64_t height)
{
	for (size_t i = 0; i < MAX_RANGES; i++) {
		struct sync_range *r = &s->ranges[i];
		if (r->active && height >= r->from && height - r->from < r->count)
			return r;
	}
	return NULL;
}

/* Idle peer that has `height`, preferring ones that have not stalled. */
static struct sync_peer *pick_peer(net_sync_t *s, uint64_t height, uint64_t now_ms)
{
	struct sync_peer *fallback = NULL;
	for (size_t i = 0; i < s->npeers; i++) {
		struct sync_peer *p = &s->peers[i];
		if (p->busy || p->claimed < height)
			continue;
		if (p->stalled_until <= now_ms)
			return p;
		if (!fallback || p->stalled_until < fallback->stalled_until)
			fallback = p;
	}
	return fallback;
}

/* Nothing more can be asked (the window or the byte cap is full): the
 * range holding the next height to apply is what everything waits on, and
 * must finish within stall_ms of this moment, however it trickles in. A peer
 * that sends the range's lowest block just before each timeout would else
 * hold the window for count x NET_SYNC_TIMEOUT_MS. */
static void mark_stall(net_sync_t *s, uint64_t now_ms)
{
	if (have_block(s, s->tip + 1))
		return;
	struct sync_range *r = covering(s, s->tip + 1);
	if (r && !r->stall_deadline_ms)
		r->stall_deadline_ms = now_ms + s->stall_ms;
}

int net_sync_next_request(net_sync_t *s, uint64_t now_ms, uint64_t *peer, uint64_t *from,
			  uint32_t *count)
{
	for (size_t i = 0; i < MAX_RANGES; i++) {
		struct sync_range *r = &s->ranges[i];
		int stalled = r->active && r->stall_deadline_ms && now_ms >= r->stall_deadline_ms;
		if (r->active && (now_ms >= r->deadline_ms || stalled)) {
			if (stalled) { /* slow peers all round: give the next one longer */
				s->stall_ms *= 2;
				if (s->stall_ms > NET_SYNC_STALL_MAX_MS)
					s->stall_ms = NET_SYNC_STALL_MAX_MS;
			}
			struct sync_peer *p = find_peer(s, r->peer);
			if (p) {
				p->stalled_until = now_ms + 4 * NET_SYNC_TIMEOUT_MS;
				/* it did not deliver what it claimed: back to what it
				 * proved, and its claims no longer count for the target */
				p->claimed = p->proven;
				p->backed = 0;
				p->failed = 1;
				if (p->has_host)
					host_fail(s, p->host, now_ms);
			}
			range_end(s, r);
		}
	}
	if (s->buffered_bytes >= NET_SYNC_MAX_BYTES) {
		mark_stall(s, now_ms);
		return 0;
	}
	struct sync_range *slot = NULL;
	for (size_t i = 0; i < MAX_RANGES && !slot; i++)
		if (!s->ranges[i].active)
			slot = &s->ranges[i];
	if (!slot)
		return 0;
	uint64_t limit = claimed_limit(s);
	if (limit > s->tip + NET_SYNC_WINDOW)
		limit = s->tip + NET_SYNC_WINDOW;
	/* the first height neither buffered nor being fetched */
	uint64_t h = s->tip + 1;
	while (h <= limit) {
		struct sync_range *r = covering(s, h);
		if (r)
			h = r->from + r->count;
		else if (have_block(s, h))
			h++;
		else
			break;
	}
	if (h > limit) {
		if (limit == s->tip + NET_SYNC_WINDOW)
			mark_stall(s, now_ms);
		return 0;
	}
	struct sync_peer *p = pick_peer(s, h, now_ms);
	if (!p)
		return 0;
	/* up to the range size, the peer's height, the window, and the next
	 * height already covered */
	uint64_t end = h + NET_SYNC_RANGE - 1;
	if (end > p->claimed)
		end = p->claimed;
	if (end > limit)
		end = limit;
	for (uint64_t k = h + 1; k <= end; k++)
		if (covering(s, k) || have_block(s, k)) {
			end = k - 1;
			break;
		}
	slot->active = 1;
	slot->from = h;
	slot->count = (uint32_t)(end - h + 1);
	slot->peer = p->id;
	slot->deadline_ms = now_ms + NET_SYNC_TIMEOUT_MS;
	slot->stall_deadline_ms = 0;
	p->busy = 1;
	*peer = p->id;
	*from = slot->from;
	*count = slot->count;
	return 1;
}

/* The lowest height of r neither buffered nor applied (past its end: none). */
static uint64_t first_missing(net_sync_t *s, const struct sync_range *r)
{
	uint64_t k = r->from > s->tip ? r->from : s->tip + 1;
	while (k < r->from + r->count && have_block(s, k))
		k++;
	return k;
}

/* A range is done once every height in it is buffered or applied. One that
 * held up the window and still finished in time eases the stall timeout. */
static void range_check_done(net_sync_t *s, struct sync_range *r)
{
	for (uint64_t k = r->from; k < r->from + r->count; k++)
		if (k > s->tip && !have_block(s, k))
			return;
	if (r->stall_deadline_ms && s->stall_ms > NET_SYNC_STALL_MIN_MS) {
		s->stall_ms -= s->stall_ms / 4;
		if (s->stall_ms < NET_SYNC_STALL_MIN_MS)
			s->stall_ms = NET_SYNC_STALL_MIN_MS;
	}
	range_end(s, r);
}

int net_sync_on_block(net_sync_t *s, uint64_t peer, uint64_t height, const uint8_t *data, size_t len,
		      uint64_t now_ms)
{
	struct sync_range *r = covering(s, height);
	if (!r || r->peer != peer)
		return 0;
	if (len > s->max_block_bytes)
		return ASSAY_ELIMIT;
	if (height > s->tip && !have_block(s, height) && height != s->tip + 1 &&
	    s->buffered_bytes + len > s->hard_bytes) {
		/* more than the scheduler let be in flight: give the range back,
		 * to be asked again once the buffer drains (tip + 1 is always
		 * taken, so the buffer can always drain) */
		range_end(s, r);
		return ASSAY_EFULL;
	}
	if (height > s->tip && !have_block(s, height)) {
		/* only the range's lowest missing block is progress: a peer
		 * answers in height order, and one that resends what it sent, or
		 * trickles the heights above a block it holds back, must not keep
		 * a range (and its claim) alive */
		if (height == first_missing(s, r))
			r->deadline_ms = now_ms + NET_SYNC_TIMEOUT_MS;
		struct sync_slot *sl = slot_for(s, height);
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			return ASSAY_ENOMEM;
		memcpy(copy, data, len);
		slot_clear(s, sl);
		slot_fill(s, sl, copy, len, height, peer);
	}
	range_check_done(s, r);
	return 1;
}

int net_sync_pop(net_sync_t *s, uint8_t **data, size_t *len, uint64_t *peer)
{
	uint64_t h = s->tip + 1;
	if (!have_block(s, h))
		return 0;
	struct sync_slot *sl = slot_for(s, h);
	*data = sl->data;
	*len = sl->len;
	*peer = sl->peer;
	s->buffered_bytes -= sl->len;
	s->buffered_count--;
	memset(sl, 0, sizeof(*sl));
	return 1;
}

int net_sync_peek(const net_sync_t *s, uint64_t height, const uint8_t **data, size_t *len, uint64_t *peer)
{
	if (!have_block(s, height))
		return 0;
	const struct sync_slot *sl = &s->slots[height % NET_SYNC_WINDOW];
	*data = sl->data;
	*len = sl->len;
	*peer = sl->peer;
	return 1;
}

void net_sync_unpop(net_sync_t *s, uint64_t height, uint8_t *data, size_t len, uint64_t peer)
{
	struct sync_slot *sl = slot_for(s, height);
	if (height <= s->tip || height > s->tip + NET_SYNC_WINDOW || sl->data) {
		free(data);
		return;
	}
	slot_fill(s, sl, data, len, height, peer);
}

void net_sync_drop(net_sync_t *s, uint64_t height)
{
	if (have_block(s, height))
		slot_clear(s, slot_for(s, height));
}

size_t net_sync_buffered(const net_sync_t *s)
{
	return s->buffered_count;
}

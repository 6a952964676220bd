/* Unit tests of the in-flight request tables (net/request.c): a request
 * moves to the next announcer on timeout, notfound and disconnect, is
 * forgotten when nobody is left or the tx arrives, the table's bounds hold
 * (per peer, per net group, in all), a notfound moves what it names at once,
 * each table keeps its own timeout, block requests count only what was
 * asked, a disconnect looks only at the peer's own places, and random
 * operations agree with a model of the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "net/request.h"
#include "tests/unit/test.h"

static void hash_of(uint32_t k, uint8_t out[32])
{
	memset(out, 0, 32);
	le32_put(out + 28, k); /* shared prefixes: the index must not care */
}

static void test_first_asked_then_received(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32];
	uint64_t asked = 0;
	hash_of(1, h);
	CHECK(net_req_announce(r, h, 1, 1, 0) == 1);
	CHECK(net_req_announce(r, h, 2, 1, 0) == 0);
	CHECK(net_req_announce(r, h, 1, 1, 0) == 0);
	CHECK(net_req_count(r) == 1);
	CHECK(net_req_received(r, h, &asked) == 1 && asked == 1);
	CHECK(net_req_count(r) == 0);
	CHECK(net_req_received(r, h, &asked) == 0);
	CHECK(net_req_peer_count(r, 1) == 0 && net_req_group_count(r, 1) == 0);
	net_req_free(r);
}

static void test_timeout_moves_on(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32];
	struct net_req_move mv;
	hash_of(7, h);
	CHECK(net_req_announce(r, h, 1, 1, 1000) == 1);
	CHECK(net_req_announce(r, h, 2, 1, 1000) == 0);
	CHECK(net_req_next_due(r, 1000 + NET_REQ_TIMEOUT_MS - 1, &mv) == 0);
	CHECK(net_req_next_due(r, 1000 + NET_REQ_TIMEOUT_MS, &mv) == 1);
	CHECK(memcmp(mv.hash, h, 32) == 0 && mv.from == 1 && mv.to == 2);
	CHECK(net_req_next_due(r, 1000 + NET_REQ_TIMEOUT_MS, &mv) == 0);
	CHECK(net_req_next_due(r, 1000 + 2 * NET_REQ_TIMEOUT_MS, &mv) == 1);
	CHECK(mv.from == 2 && mv.to == 0); /* nobody left: forgotten */
	CHECK(net_req_count(r) == 0);
	CHECK(net_req_next_due(r, 1000 + 3 * NET_REQ_TIMEOUT_MS, &mv) == 0);
	/* forgotten, so a new announcement asks again */
	CHECK(net_req_announce(r, h, 1, 1, 50000) == 1);
	net_req_free(r);
}

static void test_notfound_and_gone(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32], g[32];
	struct net_req_move mv;
	hash_of(1, h);
	hash_of(2, g);
	CHECK(net_req_announce(r, h, 1, 1, 0) == 1);
	CHECK(net_req_announce(r, h, 2, 1, 0) == 0);
	CHECK(net_req_announce(r, h, 3, 1, 0) == 0);
	CHECK(net_req_announce(r, g, 3, 1, 0) == 1);
	CHECK(net_req_announce(r, g, 2, 1, 0) == 0);
	/* notfound from an alternative drops it; from the asked peer, moves
	 * now, without a step */
	CHECK(net_req_notfound(r, h, 2, 1, &mv) == 0);
	CHECK(net_req_next_due(r, 1, &mv) == 0);
	uint8_t none[32];
	hash_of(99, none);
	CHECK(net_req_notfound(r, none, 1, 1, &mv) == 0); /* not in flight */
	CHECK(net_req_asked_of(r, h) == 1 && net_req_asked_of(r, none) == 0);
	CHECK(net_req_notfound(r, h, 1, 1, &mv) == 1);
	CHECK(memcmp(mv.hash, h, 32) == 0 && mv.from == 1 && mv.to == 3);
	CHECK(net_req_asked_of(r, h) == 3);
	CHECK(net_req_next_due(r, 1, &mv) == 0); /* nothing is left due */
	CHECK(net_req_peer_count(r, 1) == 0 && net_req_peer_count(r, 3) == 2);
	/* peer 3 leaves: both hashes asked of it move, to 2 for g, to nobody for h */
	net_req_peer_gone(r, 3);
	int moved_g = 0, dropped_h = 0;
	while (net_req_next_due(r, 2, &mv)) {
		CHECK(mv.from == 0);
		if (memcmp(mv.hash, g, 32) == 0 && mv.to == 2)
			moved_g++;
		if (memcmp(mv.hash, h, 32) == 0 && mv.to == 0)
			dropped_h++;
	}
	CHECK(moved_g == 1 && dropped_h == 1);
	CHECK(net_req_count(r) == 1);
	/* a peer that left is no one's alternative */
	CHECK(net_req_announce(r, g, 4, 1, 2) == 0);
	net_req_peer_gone(r, 4);
	CHECK(net_req_next_due(r, 2 + NET_REQ_TIMEOUT_MS, &mv) == 1 && mv.from == 2 && mv.to == 0);
	net_req_free(r);
}

/* Five connections of one group announce a hash first and answer notfound
 * in turn; a peer of another group that announced it after them is asked
 * all the same: it takes the place of an alternative of the crowded group
 * (before, the places were full and it was never recorded, the hash
 * forgotten once the five had answered). */
static void test_crowded_group_keeps_room(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32];
	struct net_req_move mv;
	hash_of(7, h);
	CHECK(net_req_announce(r, h, 1, 5, 0) == 1);
	for (uint64_t p = 2; p <= 5; p++)
		CHECK(net_req_announce(r, h, p, 5, 0) == 0);
	CHECK(net_req_announce(r, h, 9, 8, 0) == 0); /* another group: kept */
	CHECK(net_req_announce(r, h, 10, 8, 0) == 0); /* its group is there: not twice */
	uint64_t asked = 1, honest_asked = 0;
	for (int round = 0; round < NET_REQ_ALTS + 1 && asked && !honest_asked; round++) {
		CHECK(net_req_notfound(r, h, asked, 1, &mv) == 1);
		asked = mv.to;
		honest_asked = asked == 9;
	}
	CHECK(honest_asked);
	net_req_free(r);
}

static void test_bounds(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32];
	uint64_t asked;
	hash_of(1, h);
	CHECK(net_req_announce(r, h, 1, 1, 0) == 1);
	for (uint64_t p = 2; p < 2 + 2 * NET_REQ_ALTS; p++)
		net_req_announce(r, h, p, 1, 0);
	struct net_req_move mv;
	int moves = 0;
	for (uint64_t t = NET_REQ_TIMEOUT_MS; t < 100 * NET_REQ_TIMEOUT_MS && net_req_count(r);
	     t += NET_REQ_TIMEOUT_MS)
		while (net_req_next_due(r, t, &mv))
			moves++;
	CHECK(moves == NET_REQ_ALTS + 1); /* each alternative once, then forgotten */
	for (uint32_t k = 0; k < NET_REQ_MAX; k++) {
		hash_of(k, h);
		if (net_req_announce(r, h, 1 + k % 16, 1 + k % 16, 0) != 1) {
			CHECK(0);
			break;
		}
	}
	hash_of(NET_REQ_MAX, h);
	CHECK(net_req_announce(r, h, 1, 1, 0) == ASSAY_EFULL);
	/* remove every other; the rest stay findable after the moves */
	for (uint32_t k = 0; k < NET_REQ_MAX; k += 2) {
		hash_of(k, h);
		CHECK(net_req_received(r, h, &asked) == 1 && asked == 1 + k % 16);
	}
	CHECK(net_req_count(r) == NET_REQ_MAX / 2);
	int found = 0;
	for (uint32_t k = 1; k < NET_REQ_MAX; k += 2) {
		hash_of(k, h);
		found += net_req_received(r, h, &asked) == 1 && asked == 1 + k % 16;
	}
	CHECK(found == NET_REQ_MAX / 2);
	CHECK(net_req_count(r) == 0);
	net_req_free(r);
}

/* The flood: nine connections from one address each announce 1000
 * fresh txids again and again and never deliver. They share their group's
 * bound, so the table keeps room, and a real tx announced by a follower of
 * another group is asked at once; nothing of the follower's is displaced. */
static void test_flood_from_one_group(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32];
	const uint64_t flood_group = 77, honest = 100, honest_group = 5;
	uint32_t next = 1;
	int asked = 0, limited = 0, full = 0;
	for (uint64_t now = 0; now < 6 * NET_REQ_TIMEOUT_MS; now += 2000) {
		struct net_req_move mv;
		while (net_req_next_due(r, now, &mv))
			;
		for (uint64_t peer = 1; peer <= 9; peer++)
			for (int i = 0; i < 1000; i++) {
				hash_of(next++, h);
				int rc = net_req_announce(r, h, peer, flood_group, now);
				asked += rc == 1;
				limited += rc == ASSAY_ELIMIT;
				full += rc == ASSAY_EFULL;
			}
		CHECK(net_req_group_count(r, flood_group) <= NET_REQ_PER_GROUP);
		for (uint64_t peer = 1; peer <= 9; peer++)
			CHECK(net_req_peer_count(r, peer) <= NET_REQ_PER_PEER);
		CHECK(net_req_count(r) < NET_REQ_MAX);
		/* the follower's tx, in the middle of the flood */
		hash_of(0xF0000000u + (uint32_t)now, h);
		CHECK(net_req_announce(r, h, honest, honest_group, now) == 1);
		uint64_t from = 0;
		CHECK(net_req_received(r, h, &from) == 1 && from == honest);
	}
	CHECK(asked > 0 && limited > 0 && full == 0);
	/* unanswered flood requests expire: after the timeout nothing is left */
	struct net_req_move mv;
	while (net_req_next_due(r, 7 * NET_REQ_TIMEOUT_MS, &mv))
		;
	CHECK(net_req_count(r) == 0 && net_req_group_count(r, flood_group) == 0);
	net_req_free(r);
}

/* One peer's bound, and a request moved to an alternative counts for it. */
static void test_per_peer_bound(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32];
	for (uint32_t k = 0; k < NET_REQ_PER_PEER; k++) {
		hash_of(k, h);
		CHECK(net_req_announce(r, h, 1, 1, 0) == 1);
	}
	hash_of(NET_REQ_PER_PEER, h);
	CHECK(net_req_announce(r, h, 1, 1, 0) == ASSAY_ELIMIT);
	CHECK(net_req_announce(r, h, 2, 2, 0) == 1); /* another peer is not held back */
	/* peer 3 of another group is an alternative of hash 0 */
	hash_of(0, h);
	CHECK(net_req_announce(r, h, 3, 3, 0) == 0);
	net_req_peer_gone(r, 1);
	struct net_req_move mv;
	while (net_req_next_due(r, 1, &mv))
		;
	CHECK(net_req_peer_count(r, 1) == 0 && net_req_group_count(r, 1) == 0);
	CHECK(net_req_peer_count(r, 3) == 1 && net_req_group_count(r, 3) == 1);
	CHECK(net_req_count(r) == 2);
	net_req_free(r);
}

/* A notfound for a block hash never asked frees nothing: 20 rounds of 64
 * announcements and 64 made-up notfounds draw 64 requests, not 1280. */
static void test_block_reqs(void)
{
	struct net_block_reqs q;
	memset(&q, 0, sizeof(q));
	uint8_t h[32];
	int drawn = 0;
	for (uint32_t round = 0; round < 20; round++) {
		for (uint32_t i = 0; i < NET_MAX_BLOCK_REQUESTS; i++) {
			hash_of(round * 1000 + i, h);
			drawn += net_block_reqs_add(&q, h) == 0;
		}
		for (uint32_t i = 0; i < NET_MAX_BLOCK_REQUESTS; i++) {
			hash_of(0xB0000000u + round * 1000 + i, h);
			CHECK(net_block_reqs_answered(&q, h) == 0);
		}
	}
	CHECK(drawn == NET_MAX_BLOCK_REQUESTS);
	CHECK(q.count == NET_MAX_BLOCK_REQUESTS);
	/* a notfound for one that was asked frees exactly its slot */
	hash_of(5, h);
	CHECK(net_block_reqs_answered(&q, h) == 1);
	CHECK(net_block_reqs_answered(&q, h) == 0);
	CHECK(q.count == NET_MAX_BLOCK_REQUESTS - 1);
	hash_of(9999, h);
	CHECK(net_block_reqs_add(&q, h) == 0);
	CHECK(net_block_reqs_add(&q, h) == ASSAY_EFULL);
	/* held: asked and not answered (what a stalled download is told by) */
	CHECK(net_block_reqs_holds(&q, h) == 1);
	hash_of(5, h);
	CHECK(net_block_reqs_holds(&q, h) == 0);
	hash_of(0, h);
	CHECK(net_block_reqs_holds(&q, h) == 1);
	/* a block answers the request for its own hash only: one of a hash
	 * never asked frees nothing, however many are outstanding */
	hash_of(0xC0000000u, h);
	CHECK(net_block_reqs_answered(&q, h) == 0);
	CHECK(q.count == NET_MAX_BLOCK_REQUESTS);
	hash_of(0, h);
	CHECK(net_block_reqs_holds(&q, h) == 1);
	hash_of(40, h);
	CHECK(net_block_reqs_answered(&q, h) == 1);
	CHECK(net_block_reqs_holds(&q, h) == 0);
	hash_of(0, h);
	CHECK(net_block_reqs_holds(&q, h) == 1); /* the oldest still waits */
}

/* Each table keeps the timeout it was made with: the block table's
 * requests move on after NET_BLOCK_REQ_TIMEOUT_MS, on notfound too. */
static void test_table_timeout(void)
{
	enum { TIMEOUT = 2500 };
	net_req_t *r = net_req_new(TIMEOUT);
	uint8_t h[32];
	struct net_req_move mv;
	hash_of(3, h);
	CHECK(net_req_announce(r, h, 1, 1, 100) == 1);
	CHECK(net_req_announce(r, h, 2, 2, 100) == 0);
	CHECK(net_req_announce(r, h, 3, 3, 100) == 0);
	CHECK(net_req_next_due(r, 100 + TIMEOUT - 1, &mv) == 0);
	CHECK(net_req_next_due(r, 100 + TIMEOUT, &mv) == 1 && mv.from == 1 && mv.to == 2);
	CHECK(net_req_notfound(r, h, 2, 5000, &mv) == 1 && mv.from == 2 && mv.to == 3);
	CHECK(net_req_next_due(r, 5000 + TIMEOUT - 1, &mv) == 0);
	CHECK(net_req_next_due(r, 5000 + TIMEOUT, &mv) == 1 && mv.from == 3 && mv.to == 0);
	CHECK(net_req_count(r) == 0);
	net_req_free(r);
}

/* Peers that connect, announce a few hashes and leave while 8000 requests
 * of others are in flight: a disconnect used to walk every entry of the
 * table (8000 a peer, CHURN x 8000 in all: quadratic in connections made
 * while the table is full, on the event thread). Now it looks at the
 * places the peer itself holds, asked or alternative, and nothing else
 * (counted with net_req_visited, not timed). What it held still moves:
 * its requests to their next announcers, and it is no one's alternative. */
static void test_peer_gone_touches_own(void)
{
	enum { FILL_PEERS = 8, CHURN = 2000, OWN = 3, ALT = 2 };
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	uint8_t h[32];
	struct net_req_move mv;
	for (uint32_t p = 1; p <= FILL_PEERS; p++)
		for (uint32_t k = 0; k < NET_REQ_PER_PEER; k++) {
			hash_of(p * 100000 + k, h);
			CHECK(net_req_announce(r, h, p, p, 0) == 1);
		}
	CHECK(net_req_count(r) == FILL_PEERS * NET_REQ_PER_PEER);
	uint64_t gone_visits = 0;
	size_t moved_to_fill = 0;
	for (uint32_t i = 0; i < CHURN; i++) {
		uint64_t peer = 1000 + i, now = 1 + i;
		for (uint32_t k = 0; k < OWN; k++) {
			hash_of(0xA0000000u + i * OWN + k, h);
			CHECK(net_req_announce(r, h, peer, peer, now) == 1);
			CHECK(net_req_announce(r, h, 1, 1, now) == 0); /* peer 1 waits behind it */
		}
		for (uint32_t k = 0; k < ALT; k++) {
			hash_of(2 * 100000 + (i * ALT + k) % NET_REQ_PER_PEER, h);
			CHECK(net_req_announce(r, h, peer, peer, now) == 0);
		}
		uint64_t v0 = net_req_visited(r);
		net_req_peer_gone(r, peer);
		gone_visits += net_req_visited(r) - v0;
		CHECK(net_req_peer_count(r, peer) == 0 && net_req_group_count(r, peer) == 0);
		uint8_t moved[OWN][32];
		size_t nmoved = 0;
		while (net_req_next_due(r, now, &mv)) {
			CHECK(mv.from == 0 && mv.to == 1 && nmoved < OWN);
			if (nmoved < OWN)
				memcpy(moved[nmoved++], mv.hash, 32);
		}
		moved_to_fill += nmoved;
		for (size_t k = 0; k < nmoved; k++) { /* peer 1 delivers them */
			uint64_t asked = 0;
			CHECK(net_req_received(r, moved[k], &asked) == 1 && asked == 1);
		}
	}
	printf("%d disconnects with %d requests in flight: %llu entries looked at\n", CHURN,
	       FILL_PEERS * NET_REQ_PER_PEER, (unsigned long long)gone_visits);
	CHECK(moved_to_fill == (size_t)CHURN * OWN);
	CHECK_EQ_U64(gone_visits, (uint64_t)CHURN * (OWN + ALT));
	/* the peers that left are no one's alternative: peer 2's requests
	 * that they waited behind are forgotten at its notfound */
	for (uint32_t k = 0; k < NET_REQ_PER_PEER; k++) {
		hash_of(2 * 100000 + k, h);
		CHECK(net_req_notfound(r, h, 2, CHURN + 1, &mv) == 1 && mv.to == 0);
	}
	CHECK(net_req_count(r) == (FILL_PEERS - 1) * NET_REQ_PER_PEER);
	net_req_free(r);
}

/* A model of the table for test_random_ops: per hash, the peer asked (0:
 * due, left by its peer) and the alternatives in order; each peer of its
 * own group, so an alternative is never displaced. */
enum { MODEL_HASHES = 64, MODEL_PEERS = 12 };
struct model {
	int live[MODEL_HASHES];
	uint64_t asked[MODEL_HASHES];
	uint64_t alts[MODEL_HASHES][NET_REQ_ALTS];
	size_t nalts[MODEL_HASHES];
};

static void model_alt_remove(struct model *m, int h, size_t k)
{
	memmove(&m->alts[h][k], &m->alts[h][k + 1], (m->nalts[h] - k - 1) * sizeof(m->alts[h][0]));
	m->nalts[h]--;
}

static void model_move_on(struct model *m, int h)
{
	if (!m->nalts[h]) {
		m->live[h] = 0;
		return;
	}
	m->asked[h] = m->alts[h][0];
	model_alt_remove(m, h, 0);
}

/* Random announcements, notfounds, arrivals, disconnects and steps over a
 * few hashes and peers, checked against the model after each: the per-peer
 * lists a disconnect walks must follow every entry that moves and every
 * alternative that shifts. At the end each hash is walked to its end by
 * notfounds, which shows its alternatives in order. */
static void test_random_ops(void)
{
	net_req_t *r = net_req_new(NET_REQ_TIMEOUT_MS);
	struct model m;
	memset(&m, 0, sizeof(m));
	uint32_t seed = 12345;
	uint8_t h[32];
	struct net_req_move mv;
	for (int step = 0; step < 200000; step++) {
		seed = seed * 1103515245u + 12345u;
		int op = (int)((seed >> 16) % 10);
		int k = (int)((seed >> 8) % MODEL_HASHES);
		uint64_t p = 1 + (seed >> 24) % MODEL_PEERS;
		hash_of((uint32_t)k, h);
		if (op < 5) {
			int rc = net_req_announce(r, h, p, p, 0);
			if (!m.live[k]) {
				CHECK(rc == 1);
				m.live[k] = 1;
				m.asked[k] = p;
				m.nalts[k] = 0;
			} else {
				CHECK(rc == 0);
				int known = m.asked[k] == p;
				for (size_t a = 0; a < m.nalts[k]; a++)
					known |= m.alts[k][a] == p;
				if (!known && m.nalts[k] < NET_REQ_ALTS)
					m.alts[k][m.nalts[k]++] = p;
			}
		} else if (op < 7) {
			int rc = net_req_notfound(r, h, p, 0, &mv);
			int want = m.live[k] && m.asked[k] == p;
			CHECK(rc == want);
			if (want) {
				model_move_on(&m, k);
				CHECK(mv.from == p && mv.to == (m.live[k] ? m.asked[k] : 0));
			} else if (m.live[k]) {
				for (size_t a = 0; a < m.nalts[k]; a++)
					if (m.alts[k][a] == p) {
						model_alt_remove(&m, k, a);
						break;
					}
			}
		} else if (op == 7) {
			uint64_t asked = 0;
			CHECK(net_req_received(r, h, &asked) == m.live[k]);
			if (m.live[k])
				CHECK(asked == m.asked[k]);
			m.live[k] = 0;
		} else if (op == 8) {
			net_req_peer_gone(r, p);
			for (int j = 0; j < MODEL_HASHES; j++) {
				if (!m.live[j])
					continue;
				if (m.asked[j] == p)
					m.asked[j] = 0;
				for (size_t a = 0; a < m.nalts[j]; a++)
					if (m.alts[j][a] == p) {
						model_alt_remove(&m, j, a);
						break;
					}
			}
		} else {
			while (net_req_next_due(r, 0, &mv)) {
				int j = (int)le32_get(mv.hash + 28);
				CHECK(m.live[j] && m.asked[j] == 0 && mv.from == 0);
				model_move_on(&m, j);
				CHECK(mv.to == (m.live[j] ? m.asked[j] : 0));
			}
		}
		size_t live = 0;
		for (int j = 0; j < MODEL_HASHES; j++)
			live += (size_t)m.live[j];
		CHECK(net_req_count(r) == live);
		size_t asked_of_p = 0;
		for (int j = 0; j < MODEL_HASHES; j++)
			asked_of_p += m.live[j] && m.asked[j] == p;
		CHECK(net_req_peer_count(r, p) == asked_of_p);
	}
	while (net_req_next_due(r, 0, &mv)) {
		int j = (int)le32_get(mv.hash + 28);
		model_move_on(&m, j);
	}
	for (int j = 0; j < MODEL_HASHES; j++) {
		hash_of((uint32_t)j, h);
		while (m.live[j]) {
			uint64_t from = m.asked[j];
			CHECK(net_req_notfound(r, h, from, 0, &mv) == 1);
			model_move_on(&m, j);
			CHECK(mv.to == (m.live[j] ? m.asked[j] : 0));
		}
	}
	CHECK(net_req_count(r) == 0);
	net_req_free(r);
}

int main(void)
{
	RUN(test_first_asked_then_received);
	RUN(test_timeout_moves_on);
	RUN(test_notfound_and_gone);
	RUN(test_crowded_group_keeps_room);
	RUN(test_bounds);
	RUN(test_flood_from_one_group);
	RUN(test_per_peer_bound);
	RUN(test_block_reqs);
	RUN(test_table_timeout);
	RUN(test_peer_gone_touches_own);
	RUN(test_random_ops);
	return test_report("test_net_request");
}

/* Unit tests of the block download scheduler (net/sync.c): ranges split over
 * several peers, in-order release, unsolicited blocks, re-assignment after a
 * stall and after a peer leaves, the window bound, and the byte bounds a
 * hostile peer meets: blocks over the chain's limit, a buffer past its cap,
 * and a departed peer's blocks; blocks given back or dropped by the node;
 * a host's failed range outliving its connections, in a bounded table. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "net/sync.h"
#include "tests/unit/test.h"

#define MAX_TEST_RANGES 64

static void deliver(net_sync_t *s, uint64_t peer, uint64_t from, uint32_t count, uint64_t now)
{
	for (uint64_t h = from; h < from + count; h++) {
		uint8_t body[8];
		le64_put(body, h);
		CHECK(net_sync_on_block(s, peer, h, body, sizeof(body), now) == 1);
	}
}

/* Pops everything in order, checking each body names its height. */
static uint64_t drain(net_sync_t *s)
{
	uint8_t *data;
	size_t len;
	uint64_t peer, n = 0;
	while (net_sync_pop(s, &data, &len, &peer) == 1) {
		CHECK(len == 8 && le64_get(data) == net_sync_tip(s) + 1);
		net_sync_set_tip(s, net_sync_tip(s) + 1);
		free(data);
		n++;
	}
	return n;
}

static void test_split_and_order(void)
{
	net_sync_t *s = net_sync_new(10, 0);
	net_sync_peer_height(s, 1, 300);
	net_sync_peer_height(s, 2, 300);
	net_sync_peer_height(s, 3, 150);
	CHECK(net_sync_target(s) == 10); /* bare claims: nothing proven yet */
	uint64_t peer[4], from[4];
	uint32_t count[4];
	int n = 0;
	while (n < 4 && net_sync_next_request(s, 0, &peer[n], &from[n], &count[n]))
		n++;
	/* one range per peer; peer 3 (best 150) has nothing past 210 to give */
	CHECK(n == 2);
	CHECK(from[0] == 11 && count[0] == NET_SYNC_RANGE);
	CHECK(from[1] == 111 && count[1] == NET_SYNC_RANGE);
	CHECK(peer[0] != peer[1]);
	/* deliver out of order: nothing is released until the first range is in */
	deliver(s, peer[1], from[1], count[1], 1);
	CHECK(drain(s) == 0);
	CHECK(net_sync_next_request(s, 1, &peer[2], &from[2], &count[2]) == 1);
	CHECK(from[2] == 211 && count[2] == 90 && peer[2] != 3);
	deliver(s, peer[2], from[2], count[2], 1);
	CHECK(drain(s) == 0);
	deliver(s, peer[0], from[0], count[0], 1);
	CHECK(drain(s) == 290);
	net_sync_peer_proven(s, peer[0], 110);
	CHECK(net_sync_target(s) == 300);
	CHECK(net_sync_tip(s) == 300);
	uint64_t p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 2, &p, &f, &c) == 0);
	net_sync_free(s);
}

static void test_unsolicited(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	net_sync_peer_height(s, 1, 50);
	net_sync_peer_height(s, 2, 50);
	uint64_t p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && f == 1 && c == 50);
	uint64_t other = p == 1 ? 2 : 1;
	uint8_t body[8] = {0};
	CHECK(net_sync_on_block(s, other, 1, body, 8, 0) == 0);  /* not asked of it */
	CHECK(net_sync_on_block(s, p, 51, body, 8, 0) == 0);     /* outside the range */
	CHECK(net_sync_buffered(s) == 0);
	net_sync_free(s);
}

static void test_stall_moves_range(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	net_sync_peer_height(s, 1, 40);
	net_sync_peer_height(s, 2, 40);
	uint64_t p, f, p2;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && f == 1 && c == 40);
	CHECK(net_sync_next_request(s, 0, &p2, &f, &c) == 0); /* all covered */
	/* the peer sends half, then stalls */
	deliver(s, p, 1, 20, 1000);
	CHECK(drain(s) == 20);
	CHECK(net_sync_next_request(s, 1000 + NET_SYNC_TIMEOUT_MS - 1, &p2, &f, &c) == 0);
	CHECK(net_sync_next_request(s, 1000 + NET_SYNC_TIMEOUT_MS, &p2, &f, &c) == 1);
	CHECK(p2 != p && f == 21 && c == 20);
	/* the slow peer's late blocks are no longer accepted */
	uint8_t body[8];
	le64_put(body, 21);
	CHECK(net_sync_on_block(s, p, 21, body, 8, 20000) == 0);
	deliver(s, p2, 21, 20, 20000);
	CHECK(drain(s) == 20 && net_sync_tip(s) == 40);
	net_sync_free(s);
}

static void test_peer_gone(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	net_sync_peer_height(s, 7, 10);
	uint64_t p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && p == 7);
	net_sync_peer_gone(s, 7);
	CHECK(net_sync_target(s) == 0);
	net_sync_peer_height(s, 8, 10);
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && p == 8 && f == 1 && c == 10);
	net_sync_free(s);
}

static void test_window(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	for (uint64_t id = 1; id <= 20; id++)
		net_sync_peer_height(s, id, 100000);
	uint64_t p, f, last = 0;
	uint32_t c;
	int n = 0;
	while (net_sync_next_request(s, 0, &p, &f, &c)) {
		last = f + c - 1;
		n++;
	}
	CHECK(last <= NET_SYNC_WINDOW);
	CHECK(n >= NET_SYNC_WINDOW / NET_SYNC_RANGE);
	net_sync_free(s);
}

/* A block over the chain's limit is refused on arrival, not buffered. */
static void test_oversize_block(void)
{
	net_sync_t *s = net_sync_new(0, 100);
	net_sync_peer_height(s, 1, 10);
	uint64_t p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1);
	static uint8_t body[101];
	CHECK(net_sync_on_block(s, 1, 2, body, 101, 0) == ASSAY_ELIMIT);
	CHECK(net_sync_buffered(s) == 0);
	CHECK(net_sync_on_block(s, 1, 2, body, 100, 0) == 1);
	CHECK(net_sync_buffered(s) == 1);
	net_sync_free(s);
}

/* Peers that fill every height of their ranges with blocks at the size
 * limit: the buffer stops at the cap plus one range of such blocks, the
 * refused range goes back to the pool, tip + 1 is still taken, and a
 * peer's blocks leave the buffer with it. */
static void test_buffer_cap(void)
{
	enum { BIG = 128 << 10 };
	const size_t hard = NET_SYNC_MAX_BYTES + (size_t)NET_SYNC_RANGE * BIG;
	net_sync_t *s = net_sync_new(0, BIG);
	uint8_t *body = calloc(1, BIG);
	CHECK(body != NULL);
	if (!body)
		return;
	for (uint64_t id = 1; id <= 20; id++)
		net_sync_peer_height(s, id, 100000);
	uint64_t peer[MAX_TEST_RANGES], from[MAX_TEST_RANGES];
	uint32_t count[MAX_TEST_RANGES];
	int n = 0;
	while (n < MAX_TEST_RANGES && net_sync_next_request(s, 0, &peer[n], &from[n], &count[n]))
		n++;
	CHECK(n >= NET_SYNC_WINDOW / NET_SYNC_RANGE);
	/* everything but height 1, so nothing can be released */
	size_t bytes = 0;
	int refused = 0;
	uint64_t refused_peer = 0;
	for (int i = 0; i < n; i++)
		for (uint64_t h = from[i]; h < from[i] + count[i]; h++) {
			if (h == 1)
				continue;
			int rc = net_sync_on_block(s, peer[i], h, body, BIG, 0);
			if (rc == 1) {
				bytes += BIG;
			} else {
				CHECK(rc == ASSAY_EFULL);
				refused++;
				refused_peer = peer[i];
				break; /* its range is gone: the rest would be unasked */
			}
		}
	fprintf(stderr, "sync: buffered %zu bytes (cap %u, hard %zu), %d ranges refused\n", bytes,
		NET_SYNC_MAX_BYTES, hard, refused);
	CHECK(refused > 0);
	CHECK(bytes <= hard && bytes + BIG > hard);
	/* a refused peer's range was given back: its later blocks are unasked */
	if (refused_peer) {
		for (int i = 0; i < n; i++)
			if (peer[i] == refused_peer)
				CHECK(net_sync_on_block(s, refused_peer, from[i] + count[i] - 1, body, BIG, 0) == 0);
	}
	/* tip + 1 is always taken, so the buffer drains */
	uint64_t p1 = peer[0];
	CHECK(from[0] == 1);
	CHECK(net_sync_on_block(s, p1, 1, body, BIG, 0) == 1);
	uint8_t *data;
	size_t len;
	uint64_t who;
	CHECK(net_sync_pop(s, &data, &len, &who) == 1 && who == p1);
	free(data);
	net_sync_set_tip(s, 1);
	/* the first range's peer leaves: its 99 buffered blocks go with it */
	size_t before = net_sync_buffered(s);
	net_sync_peer_gone(s, p1);
	CHECK(net_sync_buffered(s) == before - 99);
	CHECK(net_sync_pop(s, &data, &len, &who) == 0);
	free(body);
	net_sync_free(s);
}

/* A peer that claims an absurd height (as a version with best_height =
 * UINT64_MAX does) is asked for one range; the target stays at our tip all
 * along, and once the range times out its claim falls back to what it
 * proved, so it is not asked again. A peer that connects a block makes its
 * claim count. */
static void test_claim_needs_proof(void)
{
	net_sync_t *s = net_sync_new(10, 0);
	net_sync_peer_height(s, 1, UINT64_MAX);
	CHECK(net_sync_target(s) == 10);
	uint64_t p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && p == 1 && f == 11 &&
	      c == NET_SYNC_RANGE);
	CHECK(net_sync_target(s) == 10);
	CHECK(net_sync_next_request(s, NET_SYNC_TIMEOUT_MS, &p, &f, &c) == 0);
	CHECK(net_sync_next_request(s, 10 * NET_SYNC_TIMEOUT_MS, &p, &f, &c) == 0);
	CHECK(net_sync_target(s) == 10);
	/* an honest peer: its claim counts once a block of it connects */
	net_sync_peer_height(s, 2, 50);
	CHECK(net_sync_target(s) == 10);
	CHECK(net_sync_next_request(s, 10 * NET_SYNC_TIMEOUT_MS, &p, &f, &c) == 1 && p == 2 &&
	      f == 11 && c == 40);
	deliver(s, 2, 11, 1, 10 * NET_SYNC_TIMEOUT_MS);
	CHECK(drain(s) == 1);
	net_sync_peer_proven(s, 2, 11);
	CHECK(net_sync_target(s) == 50);
	/* a proven peer that later fails a range loses its claim, and a block
	 * it relays later (a real one, first) does not make a new claim count */
	CHECK(net_sync_next_request(s, 11 * NET_SYNC_TIMEOUT_MS, &p, &f, &c) == 0);
	CHECK(net_sync_target(s) == 11);
	net_sync_peer_height(s, 2, 1000000);
	net_sync_peer_proven(s, 2, 12);
	CHECK(net_sync_target(s) == 12);
	net_sync_free(s);
}

/* A host key for the tests: k in its first bytes (an IPv4 address is
 * enough, as net_ip_host gives it: the key is opaque to sync). */
static void host_key(uint8_t host[16], uint32_t k)
{
	memset(host, 0, 16);
	host[10] = host[11] = 0xff;
	host[12] = (uint8_t)(k >> 24);
	host[13] = (uint8_t)(k >> 16);
	host[14] = (uint8_t)(k >> 8);
	host[15] = (uint8_t)k;
}

/* A new connection (peer) from host claims claim and relays the real block
 * at tip + 1 by gossip: 1 if its claim then counts for the target. The peer
 * is gone afterwards. */
static int claim_counts(net_sync_t *s, uint64_t peer, uint32_t host, uint64_t claim, uint64_t now)
{
	uint8_t key[16];
	host_key(key, host);
	net_sync_peer_host(s, peer, key, now);
	net_sync_peer_height(s, peer, claim);
	net_sync_peer_proven(s, peer, net_sync_tip(s) + 1);
	int counts = net_sync_target(s) == claim;
	net_sync_peer_gone(s, peer);
	return counts;
}

/* A peer that let a range time out and reconnects under a new id from the
 * same host, then relays one real block, does not get its claim counted
 * again (it could else hold the target up for one timeout per reconnection,
 * forever); a peer of another host does; the failure is forgotten after
 * NET_SYNC_FAILED_MS. */
static void test_failure_outlives_connection(void)
{
	net_sync_t *s = net_sync_new(10, 0);
	uint8_t liar[16];
	host_key(liar, 1);
	net_sync_peer_host(s, 1, liar, 0);
	net_sync_peer_height(s, 1, 1000000);
	uint64_t p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && p == 1 && f == 11);
	CHECK(net_sync_next_request(s, NET_SYNC_TIMEOUT_MS, &p, &f, &c) == 0);
	net_sync_peer_gone(s, 1);
	/* back as peer 2: asked a range again, it delivers a real block */
	uint64_t t = NET_SYNC_TIMEOUT_MS + 1;
	net_sync_peer_host(s, 2, liar, t);
	net_sync_peer_height(s, 2, 1000000);
	CHECK(net_sync_next_request(s, t, &p, &f, &c) == 1 && p == 2 && f == 11);
	deliver(s, 2, 11, 1, t);
	CHECK(drain(s) == 1);
	net_sync_peer_proven(s, 2, 11);
	CHECK_EQ_U64(net_sync_target(s), 11);
	net_sync_peer_gone(s, 2);
	/* and again, by gossip only */
	CHECK(!claim_counts(s, 3, 1, 1000000, t));
	CHECK_EQ_U64(net_sync_target(s), 11);
	/* another host's claim counts */
	CHECK(claim_counts(s, 4, 2, 500, t));
	/* just before the failure is forgotten, and after */
	CHECK(!claim_counts(s, 5, 1, 1000000, NET_SYNC_TIMEOUT_MS + NET_SYNC_FAILED_MS - 1));
	CHECK(claim_counts(s, 6, 1, 1000000, NET_SYNC_TIMEOUT_MS + NET_SYNC_FAILED_MS));
	net_sync_free(s);
}

/* Two connections of one host: when one lets a range time out, the other,
 * backed until then, loses its claim too; a peer of another host keeps its. */
static void test_failure_fails_host_peers(void)
{
	net_sync_t *s = net_sync_new(10, 0);
	uint8_t a[16], b[16];
	host_key(a, 1);
	host_key(b, 2);
	net_sync_peer_host(s, 1, a, 0);
	net_sync_peer_height(s, 1, 2000);
	net_sync_peer_host(s, 2, a, 0);
	net_sync_peer_height(s, 2, 3000);
	net_sync_peer_proven(s, 2, 11);
	net_sync_peer_host(s, 3, b, 0);
	net_sync_peer_height(s, 3, 500);
	net_sync_peer_proven(s, 3, 11);
	CHECK_EQ_U64(net_sync_target(s), 3000);
	uint64_t p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && p == 1);
	/* peer 1's range times out (others are then asked, no matter) */
	while (net_sync_next_request(s, NET_SYNC_TIMEOUT_MS, &p, &f, &c) == 1)
		CHECK(p != 1);
	CHECK_EQ_U64(net_sync_target(s), 500);
	net_sync_peer_proven(s, 2, 12); /* a real block does not bring it back */
	CHECK_EQ_U64(net_sync_target(s), 500);
	net_sync_free(s);
}

/* The table of failed hosts is bounded: past NET_SYNC_FAILED_MAX hosts, the
 * one that failed first is forgotten, and only it. A peer of a new host is
 * asked a range every 2 s; each range times out 15 s on, when its peer goes,
 * so 8 are in flight at once and all fail well within NET_SYNC_FAILED_MS. */
static void test_failed_hosts_bounded(void)
{
	net_sync_t *s = net_sync_new(10, 0);
	const uint64_t step = 2000;
	const uint32_t hosts = NET_SYNC_FAILED_MAX + 1;
	const uint32_t lag = (NET_SYNC_TIMEOUT_MS + step - 1) / step; /* steps until a range times out */
	uint64_t p, f;
	uint32_t c;
	CHECK(lag < NET_SYNC_WINDOW / NET_SYNC_RANGE && (uint64_t)hosts * step < NET_SYNC_FAILED_MS);
	for (uint32_t i = 0; i < hosts; i++) {
		uint8_t key[16];
		host_key(key, i);
		net_sync_peer_host(s, i + 1, key, i * step);
		net_sync_peer_height(s, i + 1, 1000);
		/* the range of the peer of host i - lag times out here */
		CHECK(net_sync_next_request(s, i * step, &p, &f, &c) == 1 && p == i + 1);
		if (i >= lag)
			net_sync_peer_gone(s, i - lag + 1);
	}
	uint64_t end = (uint64_t)hosts * step + NET_SYNC_TIMEOUT_MS;
	CHECK(net_sync_next_request(s, end, &p, &f, &c) == 0);
	for (uint32_t i = hosts - lag; i < hosts; i++)
		net_sync_peer_gone(s, i + 1);
	CHECK_EQ_U64(net_sync_target(s), 10);
	CHECK(claim_counts(s, 100000, 0, 2000, end));  /* the first, pushed out */
	CHECK(!claim_counts(s, 100001, 1, 2000, end)); /* the second, kept */
	CHECK(!claim_counts(s, 100002, hosts / 2, 2000, end));
	CHECK(!claim_counts(s, 100003, hosts - 1, 2000, end)); /* the last */
	net_sync_free(s);
}

/* Resending a block already delivered is not progress: the range still
 * times out. */
static void test_duplicate_keeps_no_range(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	net_sync_peer_height(s, 1, 20);
	net_sync_peer_height(s, 2, 20);
	uint64_t p, p2, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && f == 1 && c == 20);
	uint8_t body[8];
	le64_put(body, 5);
	CHECK(net_sync_on_block(s, p, 5, body, 8, 1000) == 1);
	for (uint64_t t = 2000; t < 1000 + 3 * NET_SYNC_TIMEOUT_MS; t += 1000)
		CHECK(net_sync_on_block(s, p, 5, body, 8, t) == 1); /* harmless, but no progress */
	CHECK(net_sync_next_request(s, 1000 + NET_SYNC_TIMEOUT_MS, &p2, &f, &c) == 1);
	CHECK(p2 != p && f == 1 && c == 4);
	net_sync_free(s);
}

/* A peer that holds back the first block of its range and trickles the
 * others, highest first, each a new height: not progress. The range moves
 * on NET_SYNC_TIMEOUT_MS after it was asked, not after the last trickle. */
static void test_trickle_keeps_no_range(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	net_sync_peer_height(s, 1, 20);
	net_sync_peer_height(s, 2, 20);
	uint64_t p, p2, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &p, &f, &c) == 1 && f == 1 && c == 20);
	uint8_t body[8];
	for (uint64_t h = 20, t = 1000; h >= 2; h--, t += 1000) {
		le64_put(body, h);
		CHECK(net_sync_on_block(s, p, h, body, 8, t) == 1);
	}
	CHECK(net_sync_next_request(s, NET_SYNC_TIMEOUT_MS, &p2, &f, &c) == 1);
	CHECK(p2 != p && f == 1 && c == 1);
	/* in order, each block is progress */
	net_sync_t *s2 = net_sync_new(0, 0);
	net_sync_peer_height(s2, 1, 20);
	net_sync_peer_height(s2, 2, 20);
	CHECK(net_sync_next_request(s2, 0, &p, &f, &c) == 1);
	for (uint64_t h = 1, t = 10000; h <= 10; h++, t += 10000) {
		le64_put(body, h);
		CHECK(net_sync_on_block(s2, p, h, body, 8, t) == 1);
	}
	CHECK(net_sync_next_request(s2, 100000 + NET_SYNC_TIMEOUT_MS - 1, &p2, &f, &c) == 0); /* still its */
	CHECK(net_sync_next_request(s2, 100000 + NET_SYNC_TIMEOUT_MS, &p2, &f, &c) == 1 && p2 != p && f == 11);
	net_sync_free(s2);
	net_sync_free(s);
}

/* A peer that trickles the window's first range in order, one block just
 * before each timeout, while another peer has filled the rest of the
 * window: once nothing more can be asked, that range has NET_SYNC_STALL_MIN_MS
 * to finish, whatever progress it shows, then moves (and the next stall is
 * given twice as long). */
static void test_trickle_holding_window(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	net_sync_peer_height(s, 1, 5000);
	net_sync_peer_height(s, 2, 5000);
	uint64_t slow, fast, p, f;
	uint32_t c;
	CHECK(net_sync_next_request(s, 0, &slow, &f, &c) == 1 && f == 1 && c == NET_SYNC_RANGE);
	/* the other peer fetches every later range of the window */
	uint64_t t = 0;
	while (net_sync_next_request(s, t, &fast, &f, &c) == 1) {
		CHECK(fast != slow);
		deliver(s, fast, f, c, t);
		t += 10;
	}
	CHECK(net_sync_buffered(s) == NET_SYNC_WINDOW - NET_SYNC_RANGE);
	uint64_t blocked = t; /* the call that found the window full ran at t */
	/* the slow one sends its blocks in order, each just in time */
	uint64_t h = 1;
	for (uint64_t at = blocked + 1000; at < blocked + NET_SYNC_STALL_MIN_MS; at += 1000, h++)
		deliver(s, slow, h, 1, at);
	CHECK(net_sync_next_request(s, blocked + NET_SYNC_STALL_MIN_MS - 1, &p, &f, &c) == 0);
	CHECK(net_sync_next_request(s, blocked + NET_SYNC_STALL_MIN_MS, &p, &f, &c) == 1);
	CHECK(p == fast && f == h);
	net_sync_free(s);
}

/* A block the node cannot connect yet (no commit known) goes back where it
 * was and is offered again; the block after it is visible without being
 * taken; an invalid one is dropped and its height asked again; one given
 * back after the tip passed it is freed, not kept. */
static void test_peek_unpop_drop(void)
{
	net_sync_t *s = net_sync_new(0, 0);
	net_sync_peer_height(s, 7, 3);
	uint64_t peer, from;
	uint32_t count;
	CHECK(net_sync_next_request(s, 0, &peer, &from, &count) == 1 && from == 1 && count == 3);
	deliver(s, peer, 1, 3, 0);
	const uint8_t *next;
	size_t next_len;
	uint64_t next_peer;
	CHECK(net_sync_peek(s, 2, &next, &next_len, &next_peer) == 1 && le64_get(next) == 2 && next_peer == 7);
	CHECK(net_sync_peek(s, 4, &next, &next_len, &next_peer) == 0);
	uint8_t *data;
	size_t len;
	CHECK(net_sync_pop(s, &data, &len, &peer) == 1 && le64_get(data) == 1);
	CHECK(net_sync_buffered(s) == 2);
	net_sync_unpop(s, 1, data, len, peer);
	CHECK(net_sync_buffered(s) == 3);
	CHECK(net_sync_peek(s, 1, &next, &next_len, &next_peer) == 1 && le64_get(next) == 1);
	/* block 2 is dropped: height 2 is asked again, of the same claim */
	net_sync_drop(s, 2);
	CHECK(net_sync_buffered(s) == 2 && net_sync_peek(s, 2, &next, &next_len, &next_peer) == 0);
	CHECK(net_sync_next_request(s, 0, &peer, &from, &count) == 1 && from == 2 && count == 1);
	/* given back after the tip moved past it: freed (ASan sees a leak otherwise) */
	CHECK(net_sync_pop(s, &data, &len, &peer) == 1);
	net_sync_set_tip(s, 1);
	net_sync_unpop(s, 1, data, len, peer);
	CHECK(net_sync_peek(s, 1, &next, &next_len, &next_peer) == 0 && net_sync_buffered(s) == 1);
	net_sync_free(s);
}

int main(void)
{
	RUN(test_split_and_order);
	RUN(test_unsolicited);
	RUN(test_stall_moves_range);
	RUN(test_peer_gone);
	RUN(test_window);
	RUN(test_oversize_block);
	RUN(test_buffer_cap);
	RUN(test_claim_needs_proof);
	RUN(test_failure_outlives_connection);
	RUN(test_failure_fails_host_peers);
	RUN(test_failed_hosts_bounded);
	RUN(test_duplicate_keeps_no_range);
	RUN(test_peek_unpop_drop);
	RUN(test_trickle_keeps_no_range);
	RUN(test_trickle_holding_window);
	return test_report("test_net_sync");
}

/* Unit tests of the in-flight tx request table (net/request.c): a request
 * moves to the next announcer on timeout, notfound and disconnect, is
 * forgotten when nobody is left or the tx arrives, and the table's bounds
 * hold. */
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
	net_req_t *r = net_req_new();
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
	/* a peer over its own limit is not asked and nothing is tracked */
	CHECK(net_req_announce(r, h, 3, 0, 0) == 0 && net_req_count(r) == 0);
	net_req_free(r);
}

static void test_timeout_moves_on(void)
{
	net_req_t *r = net_req_new();
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
	net_req_t *r = net_req_new();
	uint8_t h[32], g[32];
	struct net_req_move mv;
	hash_of(1, h);
	hash_of(2, g);
	CHECK(net_req_announce(r, h, 1, 1, 0) == 1);
	CHECK(net_req_announce(r, h, 2, 1, 0) == 0);
	CHECK(net_req_announce(r, h, 3, 1, 0) == 0);
	CHECK(net_req_announce(r, g, 3, 1, 0) == 1);
	CHECK(net_req_announce(r, g, 2, 1, 0) == 0);
	/* notfound from an alternative drops it; from the asked peer, moves now */
	net_req_notfound(r, h, 2);
	CHECK(net_req_next_due(r, 1, &mv) == 0);
	net_req_notfound(r, h, 1);
	CHECK(net_req_next_due(r, 1, &mv) == 1);
	CHECK(memcmp(mv.hash, h, 32) == 0 && mv.from == 1 && mv.to == 3);
	CHECK(net_req_next_due(r, 1, &mv) == 0);
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

static void test_bounds(void)
{
	net_req_t *r = net_req_new();
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
		if (net_req_announce(r, h, 1 + k % 7, 1, 0) != 1) {
			CHECK(0);
			break;
		}
	}
	hash_of(NET_REQ_MAX, h);
	CHECK(net_req_announce(r, h, 1, 1, 0) == ASSAY_EFULL);
	/* remove every other; the rest stay findable after the moves */
	for (uint32_t k = 0; k < NET_REQ_MAX; k += 2) {
		hash_of(k, h);
		CHECK(net_req_received(r, h, &asked) == 1 && asked == 1 + k % 7);
	}
	CHECK(net_req_count(r) == NET_REQ_MAX / 2);
	int found = 0;
	for (uint32_t k = 1; k < NET_REQ_MAX; k += 2) {
		hash_of(k, h);
		found += net_req_received(r, h, &asked) == 1 && asked == 1 + k % 7;
	}
	CHECK(found == NET_REQ_MAX / 2);
	CHECK(net_req_count(r) == 0);
	net_req_free(r);
}

int main(void)
{
	RUN(test_first_asked_then_received);
	RUN(test_timeout_moves_on);
	RUN(test_notfound_and_gone);
	RUN(test_bounds);
	return test_report("test_net_request");
}

/* Unit tests of the bounded hash set (net/hashset.c): membership, eviction of
 * the oldest key when full, and that keys a peer chooses to share their
 * first bytes do not pile up in one probe run. */
#include <string.h>

#include "core/buf.h"
#include "net/hashset.h"
#include "tests/unit/test.h"

static void key_of(uint64_t i, uint8_t key[32])
{
	memset(key, 0, 32);
	le64_put(key + 24, i);
}

static void test_add_has_evict(void)
{
	net_hashset_t *s = net_hashset_new(3);
	uint8_t k[32];
	CHECK(s != NULL);
	if (!s)
		return;
	for (uint64_t i = 1; i <= 3; i++) {
		key_of(i, k);
		CHECK(net_hashset_add(s, k) == 1);
		CHECK(net_hashset_add(s, k) == 0);
	}
	CHECK(net_hashset_count(s) == 3);
	key_of(4, k);
	CHECK(net_hashset_add(s, k) == 1); /* evicts key 1, the oldest */
	CHECK(net_hashset_count(s) == 3);
	key_of(1, k);
	CHECK(!net_hashset_has(s, k));
	for (uint64_t i = 2; i <= 4; i++) {
		key_of(i, k);
		CHECK(net_hashset_has(s, k));
	}
	net_hashset_free(s);
}

/* 4096 keys whose first 8 bytes are all zero: with the slot taken from those
 * bytes they would form one run of 4096 slots (every lookup a full scan). */
static void test_colliding_prefix(void)
{
	enum { N = 4096 };
	net_hashset_t *s = net_hashset_new(N);
	uint8_t k[32];
	CHECK(s != NULL);
	if (!s)
		return;
	for (uint64_t i = 0; i < N; i++) {
		key_of(i, k);
		CHECK(net_hashset_add(s, k) == 1);
	}
	size_t run = net_hashset_longest_run(s);
	fprintf(stderr, "hashset: longest probe run %zu for %d keys with one prefix\n", run, N);
	/* a uniform hash at load 1/2 gives runs of a few dozen at most */
	CHECK(run < 128);
	for (uint64_t i = 0; i < N; i++) {
		key_of(i, k);
		CHECK(net_hashset_has(s, k));
	}
	net_hashset_free(s);
}

int main(void)
{
	RUN(test_add_has_evict);
	RUN(test_colliding_prefix);
	return test_report("test_net_hashset");
}

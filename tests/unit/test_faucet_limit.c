/* Unit tests of the faucet's rate limits (faucet/limit.c): a key waits its
 * interval after a grant and no longer; other keys are not held up; a full
 * table refuses new keys instead of forgetting live ones, and reuses
 * expired slots; an IPv6 /32 shares one budget of several grants; a client
 * holds at most FAUCET_CONNS_PER_CLIENT connections. */
#include <stdio.h>

#include "core/error.h"
#include "faucet/limit.h"
#include "tests/unit/test.h"

static void test_interval(void)
{
	faucet_limits_t *l = faucet_limits_new(60000, 1);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 1000), 0);
	CHECK_EQ_INT(faucet_limits_record(l, "tassay1a", 1000), 0);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 1000), 60000);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 60999), 1);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 61000), 0);
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1b", 1000), 0);    /* another key */
	CHECK_EQ_INT(faucet_limits_record(l, "tassay1a", 61000), 0); /* served again: waits anew */
	CHECK_EQ_U64(faucet_limits_wait(l, "tassay1a", 61000), 60000);
	CHECK_EQ_INT(faucet_limits_record(l, "", 1), ASSAY_EARG);
	char longkey[FAUCET_KEY_MAX + 1];
	memset(longkey, 'x', FAUCET_KEY_MAX);
	longkey[FAUCET_KEY_MAX] = 0;
	CHECK_EQ_INT(faucet_limits_record(l, longkey, 1), ASSAY_EARG);
	faucet_limits_free(l);
}

/* One IPv6 /64 is one client; IPv4 and IPv4-mapped addresses are each one. */
static void test_client_key(void)
{
	char k[FAUCET_KEY_MAX], k2[FAUCET_KEY_MAX];
	faucet_client_key("192.0.2.7", k);
	CHECK(strcmp(k, "192.0.2.7") == 0);
	faucet_client_key("::ffff:192.0.2.7", k);
	CHECK(strcmp(k, "192.0.2.7") == 0);
	faucet_client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k);
	CHECK(strcmp(k, "2001:db8:1:2::/64") == 0);
	faucet_client_key("2001:db8:1:2::1", k2);
	CHECK(strcmp(k, k2) == 0);
	faucet_client_key("2001:db8:1:3::1", k2);
	CHECK(strcmp(k, k2) != 0);
	faucet_client_key("unknown", k);
	CHECK(strcmp(k, "unknown") == 0);
	/* so the second address of a /64 waits its turn */
	faucet_limits_t *l = faucet_limits_new(1000, 1);
	faucet_client_key("2001:db8::1", k);
	CHECK(faucet_limits_record(l, k, 5000) == 0);
	faucet_client_key("2001:db8::2", k2);
	CHECK(faucet_limits_wait(l, k2, 5100) == 900);
	faucet_limits_free(l);
}

static void test_full(void)
{
	faucet_limits_t *l = faucet_limits_new(1000, 1);
	char key[32];
	for (int i = 0; i < FAUCET_TRACKED_MAX; i++) {
		snprintf(key, sizeof(key), "ip-%d", i);
		CHECK(faucet_limits_record(l, key, 5000) == 0);
	}
	CHECK(!faucet_limits_has_room(l, "newcomer", 5500));
	CHECK_EQ_INT(faucet_limits_record(l, "newcomer", 5500), ASSAY_EFULL);
	CHECK_EQ_U64(faucet_limits_wait(l, "ip-0", 5500), 500); /* not forgotten */
	CHECK(faucet_limits_has_room(l, "ip-7", 5500));         /* its own slot */
	/* once the interval passed, the slots are free again */
	CHECK(faucet_limits_has_room(l, "newcomer", 6000));
	CHECK_EQ_INT(faucet_limits_record(l, "newcomer", 6000), 0);
	CHECK_EQ_U64(faucet_limits_wait(l, "newcomer", 6000), 1000);
	faucet_limits_free(l);
}

/* A budget of several grants: the window starts at the first and holds
 * them all; past it the key starts afresh. */
static void test_budget(void)
{
	faucet_limits_t *l = faucet_limits_new(1000, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_U64(faucet_limits_wait(l, "2001:db8::/32", 5000 + (uint64_t)i), 0);
		CHECK_EQ_INT(faucet_limits_record(l, "2001:db8::/32", 5000 + (uint64_t)i), 0);
	}
	CHECK_EQ_U64(faucet_limits_wait(l, "2001:db8::/32", 5100), 900); /* from the first grant */
	CHECK_EQ_U64(faucet_limits_wait(l, "2001:db9::/32", 5100), 0);
	CHECK_EQ_U64(faucet_limits_wait(l, "2001:db8::/32", 6000), 0);
	CHECK_EQ_INT(faucet_limits_record(l, "2001:db8::/32", 6000), 0); /* a new window, one grant in it */
	CHECK_EQ_U64(faucet_limits_wait(l, "2001:db8::/32", 6001), 0);
	faucet_limits_free(l);
}

/* IPv6 clients share a budget per /32, so the 65,536 /64s of one /48 get
 * FAUCET_NET6_GRANTS between them; IPv4 has none. */
static void test_net_key(void)
{
	char k[FAUCET_KEY_MAX], k2[FAUCET_KEY_MAX];
	faucet_client_net_key("2001:db8:1:2::1", k);
	CHECK(strcmp(k, "2001:db8::/32") == 0);
	faucet_client_net_key("2001:db8:ffff:ffff:1::1", k2);
	CHECK(strcmp(k, k2) == 0);
	faucet_client_net_key("2001:db9::1", k2);
	CHECK(strcmp(k2, "2001:db9::/32") == 0);
	faucet_client_net_key("192.0.2.7", k);
	CHECK(k[0] == 0);
	faucet_client_net_key("::ffff:192.0.2.7", k);
	CHECK(k[0] == 0);
	faucet_client_net_key("unknown", k);
	CHECK(k[0] == 0);
	/* one /48's /64s, each its own per-IP key, run out of the shared budget */
	faucet_limits_t *by_ip = faucet_limits_new(1000, 1);
	faucet_limits_t *by_net = faucet_limits_new(1000, FAUCET_NET6_GRANTS);
	int served = 0;
	for (int i = 0; i < 100; i++) {
		char ip[64], key[FAUCET_KEY_MAX], net[FAUCET_KEY_MAX];
		snprintf(ip, sizeof(ip), "2001:db8:7:%x::1", i);
		faucet_client_key(ip, key);
		faucet_client_net_key(ip, net);
		if (faucet_limits_wait(by_ip, key, 5000) || faucet_limits_wait(by_net, net, 5000))
			continue;
		CHECK_EQ_INT(faucet_limits_record(by_ip, key, 5000), 0);
		CHECK_EQ_INT(faucet_limits_record(by_net, net, 5000), 0);
		served++;
	}
	CHECK_EQ_INT(served, FAUCET_NET6_GRANTS);
	faucet_limits_free(by_ip);
	faucet_limits_free(by_net);
}

static int open_ids[FAUCET_CONNS_TRACKED_MAX + 1];
static int open_checks; /* calls of id_open */
static int id_open(int id, const char *peer, void *arg)
{
	(void)peer;
	(void)arg;
	open_checks++;
	return open_ids[id];
}

/* At most FAUCET_CONNS_PER_CLIENT connections per client key; a closed one
 * frees its place; a reused descriptor is one connection; liveness is
 * asked only of the entries that would refuse. */
static void test_conns(void)
{
	faucet_conns_t *c = faucet_conns_new();
	char peer[32];
	for (int i = 0; i < FAUCET_CONNS_PER_CLIENT; i++) {
		snprintf(peer, sizeof(peer), "192.0.2.7:%d", 1000 + i);
		CHECK_EQ_INT(faucet_conns_admit(c, i, "192.0.2.7", peer, id_open, NULL), 0);
		open_ids[i] = 1;
	}
	CHECK_EQ_INT(open_checks, 0); /* under the cap: no look at the others */
	CHECK_EQ_U64(faucet_conns_count(c, "192.0.2.7"), FAUCET_CONNS_PER_CLIENT);
	CHECK_EQ_INT(faucet_conns_admit(c, 100, "192.0.2.7", "192.0.2.7:2000", id_open, NULL), ASSAY_EFULL);
	CHECK_EQ_INT(open_checks, FAUCET_CONNS_PER_CLIENT); /* its own entries only */
	/* another client */
	CHECK_EQ_INT(faucet_conns_admit(c, 101, "192.0.2.8", "192.0.2.8:2000", id_open, NULL), 0);
	open_ids[101] = 1;
	/* descriptor 3 reused by the same client: replaced, not counted twice */
	CHECK_EQ_INT(faucet_conns_admit(c, 3, "192.0.2.7", "192.0.2.7:3000", id_open, NULL), 0);
	CHECK_EQ_U64(faucet_conns_count(c, "192.0.2.7"), FAUCET_CONNS_PER_CLIENT);
	open_ids[0] = 0; /* one closes: its place is found free when needed */
	CHECK_EQ_INT(faucet_conns_admit(c, 102, "192.0.2.7", "192.0.2.7:2001", id_open, NULL), 0);
	open_ids[102] = 1;
	CHECK_EQ_U64(faucet_conns_count(c, "192.0.2.7"), FAUCET_CONNS_PER_CLIENT);
	CHECK_EQ_INT(faucet_conns_admit(c, 103, "192.0.2.7", "192.0.2.7:2002", id_open, NULL), ASSAY_EFULL);
	char longkey[FAUCET_KEY_MAX + 1];
	memset(longkey, 'x', FAUCET_KEY_MAX);
	longkey[FAUCET_KEY_MAX] = 0;
	CHECK_EQ_INT(faucet_conns_admit(c, 200, longkey, "p", id_open, NULL), ASSAY_EARG);
	CHECK_EQ_INT(faucet_conns_admit(c, -1, "k", "p", id_open, NULL), ASSAY_EARG);
	faucet_conns_free(c);

	/* a full table refuses rather than forgets, once it finds every
	 * entry open; a closed one gives its slot */
	c = faucet_conns_new();
	for (int i = 0; i < FAUCET_CONNS_TRACKED_MAX; i++) {
		char key[32];
		snprintf(key, sizeof(key), "198.51.%d.%d", i / 256, i % 256);
		open_ids[i] = 1;
		CHECK(faucet_conns_admit(c, i, key, key, id_open, NULL) == 0);
	}
	int next = FAUCET_CONNS_TRACKED_MAX;
	open_checks = 0;
	CHECK_EQ_INT(faucet_conns_admit(c, next, "203.0.113.1", "203.0.113.1:1", id_open, NULL), ASSAY_EFULL);
	CHECK_EQ_INT(open_checks, FAUCET_CONNS_TRACKED_MAX); /* the first refusal looks at all */
	/* a flood against the full table: one look at every entry in
	 * FAUCET_CONNS_FULL_LOOK_EVERY refusals, not one per accept (that was
	 * FAUCET_CONNS_TRACKED_MAX system calls an accept) */
	open_checks = 0;
	for (int i = 0; i < 4 * FAUCET_CONNS_FULL_LOOK_EVERY; i++)
		CHECK_EQ_INT(faucet_conns_admit(c, next, "203.0.113.1", "203.0.113.1:1", id_open, NULL),
			     ASSAY_EFULL);
	CHECK(open_checks <= 4 * FAUCET_CONNS_TRACKED_MAX);
	open_ids[77] = 0; /* a place freed is found within FAUCET_CONNS_FULL_LOOK_EVERY accepts */
	int tries = 0, rc = ASSAY_EFULL;
	while (rc == ASSAY_EFULL && tries++ < FAUCET_CONNS_FULL_LOOK_EVERY)
		rc = faucet_conns_admit(c, next, "203.0.113.1", "203.0.113.1:1", id_open, NULL);
	CHECK_EQ_INT(rc, 0);
	faucet_conns_free(c);
}

static int closed_ids[8]; /* calls of id_close per id */
static void id_close(int id, void *arg)
{
	(void)arg;
	closed_ids[id]++;
}

/* A connection marked before the deadline's start is closed (if still
 * open) and forgotten; one marked since, or never marked, stays; a mark
 * after an answer restarts the clock; an empty key has no per-client cap. */
static void test_conns_deadline(void)
{
	faucet_conns_t *c = faucet_conns_new();
	for (int i = 0; i < 4; i++) {
		open_ids[i] = 1;
		CHECK_EQ_INT(faucet_conns_admit(c, i, "192.0.2.9", "192.0.2.9:1", id_open, NULL), 0);
	}
	faucet_conns_mark(c, 0, 1000); /* slow: never answered */
	faucet_conns_mark(c, 1, 1000); /* answered at 9000 */
	faucet_conns_mark(c, 1, 9000);
	faucet_conns_mark(c, 2, 1000); /* closed by evhttp meanwhile */
	open_ids[2] = 0;
	faucet_conns_mark(c, 99, 1000); /* not tracked: ignored */
	CHECK_EQ_U64(faucet_conns_expire(c, 5000, id_open, id_close, NULL), 1);
	CHECK_EQ_INT(closed_ids[0], 1);
	CHECK_EQ_INT(closed_ids[1], 0);
	CHECK_EQ_INT(closed_ids[2], 0);
	CHECK_EQ_INT(closed_ids[3], 0);
	CHECK_EQ_U64(faucet_conns_count(c, "192.0.2.9"), 2); /* 1, and 3 (never marked) */
	CHECK_EQ_U64(faucet_conns_expire(c, 5000, id_open, id_close, NULL), 0);
	CHECK_EQ_U64(faucet_conns_expire(c, 9001, id_open, id_close, NULL), 1);
	CHECK_EQ_INT(closed_ids[1], 1);
	faucet_conns_free(c);
	for (int i = 0; i < 4; i++)
		open_ids[i] = 0;

	c = faucet_conns_new();
	for (int i = 0; i < FAUCET_CONNS_PER_CLIENT + 2; i++)
		CHECK_EQ_INT(faucet_conns_admit(c, 200 + i, "", "198.51.100.1:1", id_open, NULL), 0);
	faucet_conns_free(c);
}

int main(void)
{
	RUN(test_interval);
	RUN(test_client_key);
	RUN(test_full);
	RUN(test_budget);
	RUN(test_net_key);
	RUN(test_conns);
	RUN(test_conns_deadline);
	return test_report("test_faucet_limit");
}

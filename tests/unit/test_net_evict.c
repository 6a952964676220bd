/* Unit tests of inbound eviction, net groups and hosts (net/evict.c): silent
 * connections from one address are evicted before an honest peer of
 * another group, the protections hold, and an all-protected set refuses. */
#include <string.h>

#include "net/evict.h"
#include "tests/unit/test.h"

static void ipv4(uint8_t ip[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(ip, 0, 16);
	ip[10] = ip[11] = 0xff;
	ip[12] = a;
	ip[13] = b;
	ip[14] = c;
	ip[15] = d;
}

static void test_groups(void)
{
	uint8_t a[16], b[16], ga[16], gb[16];
	/* public IPv4: the /16 */
	ipv4(a, 8, 8, 1, 1);
	ipv4(b, 8, 8, 200, 7);
	net_ip_group(a, ga);
	net_ip_group(b, gb);
	CHECK(memcmp(ga, gb, 16) == 0);
	ipv4(b, 8, 9, 1, 1);
	net_ip_group(b, gb);
	CHECK(memcmp(ga, gb, 16) != 0);
	/* loopback: the whole address, so 127.0.0.x stand for distinct sources */
	ipv4(a, 127, 0, 0, 1);
	ipv4(b, 127, 0, 0, 2);
	net_ip_group(a, ga);
	net_ip_group(b, gb);
	CHECK(memcmp(ga, gb, 16) != 0);
	net_ip_group(a, gb);
	CHECK(memcmp(ga, gb, 16) == 0);
	/* IPv6: the /32 */
	uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 1}, v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 2};
	net_ip_group(v6a, ga);
	net_ip_group(v6b, gb);
	CHECK(memcmp(ga, gb, 16) == 0);
}

/* Hosts: IPv4 the whole address, IPv6 the /64. */
static void test_hosts(void)
{
	uint8_t a[16], b[16], ha[16], hb[16];
	ipv4(a, 8, 8, 1, 1);
	ipv4(b, 8, 8, 1, 2);
	net_ip_host(a, ha);
	net_ip_host(b, hb);
	CHECK(memcmp(ha, a, 16) == 0);
	CHECK(memcmp(ha, hb, 16) != 0);
	uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xaa, 0, 0, 0, 0, 0, 0, 1};
	uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xbb, 0, 0, 0, 0, 0, 0, 7};
	uint8_t v6c[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2, 0xaa, 0, 0, 0, 0, 0, 0, 1};
	net_ip_host(v6a, ha);
	net_ip_host(v6b, hb);
	CHECK(memcmp(ha, hb, 16) == 0);
	net_ip_host(v6c, hb);
	CHECK(memcmp(ha, hb, 16) != 0);
}

/* The case: silent inbound connections of one group fill the slots
 * (never finishing the handshake); an honest follower of another group got
 * in. A new connection evicts a silent one, never the follower. */
static void test_silent_flood(void)
{
	struct net_evict_candidate c[8];
	memset(c, 0, sizeof(c));
	for (int i = 0; i < 7; i++) {
		c[i].id = (uint64_t)i + 1;
		c[i].group = 1000;
		c[i].connected_ms = 100 + (uint64_t)i;
		c[i].ping_ms = -1;
	}
	/* the follower is the youngest of all, with no ping measured yet */
	c[7].id = 99;
	c[7].group = 5;
	c[7].connected_ms = 500;
	c[7].ping_ms = -1;
	c[7].ready = 1;
	uint64_t victim = net_evict_select(c, 8);
	CHECK(victim == 7); /* the youngest silent connection */
	/* with 30 that did shake hands and answer pings, one of them still
	 * goes, not the follower (protected as its group's member) */
	struct net_evict_candidate many[31];
	memset(many, 0, sizeof(many));
	for (int i = 0; i < 30; i++) {
		many[i].id = (uint64_t)i + 1;
		many[i].group = 1000;
		many[i].connected_ms = 100 + (uint64_t)i;
		many[i].ping_ms = 900 + i;
		many[i].ready = 1;
	}
	many[30] = c[7];
	victim = net_evict_select(many, 31);
	CHECK(victim == 30);
}

static void test_protections(void)
{
	/* 20 ready peers: ten older ones with fast pings, each in its own
	 * group, and ten younger, slower ones in group 7 */
	struct net_evict_candidate c[20];
	memset(c, 0, sizeof(c));
	for (int i = 0; i < 20; i++) {
		c[i].id = (uint64_t)i + 1;
		c[i].group = i < 10 ? 7 : 100 + (uint64_t)i;
		c[i].connected_ms = i < 10 ? 2000 + 10 * (uint64_t)i : 1000 + 10 * (uint64_t)i;
		c[i].ping_ms = i < 10 ? 900 + i : 100;
		c[i].ready = 1;
	}
	/* protected: four groups (ids 17-20), eight pings (11-16, 1, 2), half
	 * the rest by age (3-6); of 7-10, all group 7, the youngest goes ... */
	CHECK(net_evict_select(c, 20) == 10);
	/* ... unless it relayed a tx we accepted, or a block, or pings fast */
	struct net_evict_candidate d[20];
	memcpy(d, c, sizeof(c));
	d[9].last_tx_ms = 5000;
	CHECK(net_evict_select(d, 20) == 9);
	memcpy(d, c, sizeof(c));
	d[9].last_block_ms = 5000;
	CHECK(net_evict_select(d, 20) == 9);
	memcpy(d, c, sizeof(c));
	d[9].ping_ms = 1;
	CHECK(net_evict_select(d, 20) == 9);
	/* the protected flag says who was set aside */
	int prot = 0;
	for (int i = 0; i < 20; i++)
		prot += d[i].is_protected;
	CHECK(prot >= NET_EVICT_PROTECT_GROUPS + NET_EVICT_PROTECT_PING);
}

static void test_all_protected(void)
{
	struct net_evict_candidate c[4];
	memset(c, 0, sizeof(c));
	for (int i = 0; i < 4; i++) {
		c[i].id = (uint64_t)i + 1;
		c[i].group = (uint64_t)i;
		c[i].connected_ms = (uint64_t)i;
		c[i].ping_ms = 10;
		c[i].ready = 1;
	}
	CHECK(net_evict_select(c, 4) == 0); /* refuse the newcomer instead */
	CHECK(net_evict_select(c, 0) == 0);
	/* one still in its handshake is never protected */
	c[0].ready = 0;
	CHECK(net_evict_select(c, 4) == 1);
}

int main(void)
{
	RUN(test_groups);
	RUN(test_hosts);
	RUN(test_silent_flood);
	RUN(test_protections);
	RUN(test_all_protected);
	return test_report("test_net_evict");
}

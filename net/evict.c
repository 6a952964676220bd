/* Inbound eviction (see evict.h). Each protection step marks up to k of the
 * candidates not yet protected; what is left unmarked at the end can be
 * evicted. n is at most the inbound slot count, so each step simply scans. */
#include <string.h>

#include "net/evict.h"

void net_ip_group(const uint8_t ip[16], uint8_t group[16])
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	size_t keep = 4; /* IPv6 /32 */
	if (memcmp(ip, v4, 12) == 0)
		keep = ip[12] == 127 ? 16 : 14; /* loopback: the address; else a.b */
	else if (memcmp(ip, loop6, 16) == 0)
		keep = 16;
	memset(group, 0, 16);
	memcpy(group, ip, keep);
}

void net_ip_host(const uint8_t ip[16], uint8_t host[16])
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	size_t keep = memcmp(ip, v4, 12) == 0 ? 16 : 8; /* IPv4: all; IPv6: the /64 */
	memset(host, 0, 16);
	memcpy(host, ip, keep);
}

/* Each protection step: k times, the best candidate not yet protected
 * that the step can vouch for (ready, and with something measured) is
 * protected; `before(a, b)` says a is the better of two. */
typedef int (*eligible_fn)(const struct net_evict_candidate *all, size_t n,
			   const struct net_evict_candidate *a);
typedef int (*before_fn)(const struct net_evict_candidate *a, const struct net_evict_candidate *b);

static void protect(struct net_evict_candidate *c, size_t n, size_t k, eligible_fn eligible,
		    before_fn before)
{
	for (size_t round = 0; round < k; round++) {
		struct net_evict_candidate *best = NULL;
		for (size_t i = 0; i < n; i++) {
			if (c[i].is_protected || !c[i].ready || !eligible(c, n, &c[i]))
				continue;
			if (!best || before(&c[i], best))
				best = &c[i];
		}
		if (!best)
			return;
		best->is_protected = 1;
	}
}

static int older(const struct net_evict_candidate *a, const struct net_evict_candidate *b)
{
	return a->connected_ms < b->connected_ms ||
	       (a->connected_ms == b->connected_ms && a->id < b->id);
}

/* Net groups: the highest keyed hash first, one peer (the oldest) per
 * group: which groups those are cannot be predicted or chosen by a peer. A
 * group with a protected member is not eligible again. */
static int group_free(const struct net_evict_candidate *all, size_t n,
		      const struct net_evict_candidate *a)
{
	for (size_t i = 0; i < n; i++)
		if (all[i].is_protected && all[i].group == a->group)
			return 0;
	return 1;
}

static int group_before(const struct net_evict_candidate *a, const struct net_evict_candidate *b)
{
	return a->group > b->group || (a->group == b->group && older(a, b));
}

static int has_ping(const struct net_evict_candidate *all, size_t n,
		    const struct net_evict_candidate *a)
{
	(void)all;
	(void)n;
	return a->ping_ms >= 0;
}

static int ping_before(const struct net_evict_candidate *a, const struct net_evict_candidate *b)
{
	return a->ping_ms < b->ping_ms || (a->ping_ms == b->ping_ms && older(a, b));
}

static int has_tx(const struct net_evict_candidate *all, size_t n,
		    const struct net_evict_candidate *a)
{
	(void)all;
	(void)n;
	return a->last_tx_ms != 0;
}

static int tx_before(const struct net_evict_candidate *a, const struct net_evict_candidate *b)
{
	return a->last_tx_ms > b->last_tx_ms || (a->last_tx_ms == b->last_tx_ms && older(a, b));
}

static int has_block(const struct net_evict_candidate *all, size_t n,
		    const struct net_evict_candidate *a)
{
	(void)all;
	(void)n;
	return a->last_block_ms != 0;
}

static int block_before(const struct net_evict_candidate *a, const struct net_evict_candidate *b)
{
	return a->last_block_ms > b->last_block_ms ||
	       (a->last_block_ms == b->last_block_ms && older(a, b));
}

static int any(const struct net_evict_candidate *all, size_t n, const struct net_evict_candidate *a)
{
	(void)all;
	(void)n;
	(void)a;
	return 1;
}

uint64_t net_evict_select(struct net_evict_candidate *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		c[i].is_protected = 0;
	protect(c, n, NET_EVICT_PROTECT_GROUPS, group_free, group_before);
	protect(c, n, NET_EVICT_PROTECT_PING, has_ping, ping_before);
	protect(c, n, NET_EVICT_PROTECT_TX, has_tx, tx_before);
	protect(c, n, NET_EVICT_PROTECT_BLOCK, has_block, block_before);
	size_t ready_left = 0;
	for (size_t i = 0; i < n; i++)
		ready_left += c[i].ready && !c[i].is_protected;
	protect(c, n, ready_left / 2, any, older);
	/* the most represented group; ties go to the one with the youngest */
	const struct net_evict_candidate *victim = NULL;
	size_t victim_count = 0;
	for (size_t i = 0; i < n; i++) {
		if (c[i].is_protected)
			continue;
		size_t count = 0;
		const struct net_evict_candidate *youngest = NULL;
		for (size_t j = 0; j < n; j++)
			if (!c[j].is_protected && c[j].group == c[i].group) {
				count++;
				if (!youngest || older(youngest, &c[j]))
					youngest = &c[j];
			}
		if (!victim || count > victim_count ||
		    (count == victim_count && older(victim, youngest))) {
			victim = youngest;
			victim_count = count;
		}
	}
	return victim ? victim->id : 0;
}

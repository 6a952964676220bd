/* Unit tests of the address book and ban list (net/book.c): add/refresh, a
 * flood from one source that cannot take the book over, stale entries
 * replaced, exponential backoff of failed dials and the tried table (a
 * group's buckets fill before anything is evicted), the
 * addr rate budget, ban expiry, and the peers.dat / banlist.dat files
 * (round trip with key and backoff, version 1 still read, corruption refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/sha256.h"
#include "net/book.h"
#include "net/msg.h"
#include "tests/unit/test.h"

static void ip_n(uint32_t k, uint8_t ip[16])
{
	char text[32];
	snprintf(text, sizeof(text), "10.%u.%u.%u", (k >> 16) & 255, (k >> 8) & 255, k & 255);
	net_ip_parse(text, ip);
}

#define NOW_MS 1800000000000ull /* a wall clock for the tests */

/* Every book here has this bucket key: with a random one (the node's), two
 * entries may draw one slot and a test would pass or fail by chance. */
static const uint8_t test_key[NET_BOOK_KEY_LEN] = {0x5a, 0x17, 0x42};
#define NOW_S (NOW_MS / 1000)

static void test_addresses(void)
{
	net_book_t *b = net_book_new(test_key);
	uint8_t ip[16], src[16], zero[16] = {0};
	ip_n(1, ip);
	ip_n(500, src);
	CHECK(net_book_add(b, ip, 0, 5, src, NOW_MS) == ASSAY_EARG);
	CHECK(net_book_add(b, zero, 1, 5, src, NOW_MS) == ASSAY_EARG); /* :: is nobody */
	net_ip_parse("0.1.2.3", zero);
	CHECK(net_book_add(b, zero, 1, 5, src, NOW_MS) == ASSAY_EARG);
	CHECK(net_book_add(b, ip, 18444, NOW_S - 50, src, NOW_MS) == 1);
	CHECK(net_book_add(b, ip, 18444, NOW_S - 80, src, NOW_MS) == 0);
	CHECK_EQ_U64(net_book_find(b, ip, 18444)->last_seen, NOW_S - 50); /* older does not lower it */
	CHECK(net_book_add(b, ip, 18444, NOW_S - 10, src, NOW_MS) == 0);
	CHECK_EQ_U64(net_book_find(b, ip, 18444)->last_seen, NOW_S - 10);
	CHECK_EQ_MEM(net_book_find(b, ip, 18444)->source, src, 16);
	CHECK(net_book_add(b, ip, 18445, NOW_S, src, NOW_MS) == 1); /* another port is another peer */
	CHECK_EQ_U64(net_book_count(b), 2);
	net_book_remove(b, ip, 18445);
	CHECK_EQ_U64(net_book_count(b), 1);
	CHECK(net_book_find(b, ip, 18445) == NULL);
	net_book_free(b);
}

/* One source (one net group) announcing a flood of addresses from every
 * group reaches only NET_BOOK_NEW_BUCKETS_PER_GROUP new buckets, and the
 * addresses other sources gave us first keep their slots. */
static void test_flood(void)
{
	net_book_t *b = net_book_new(test_key);
	uint8_t ip[16], src[16], attacker[16];
	/* 200 honest sources in distinct /16s, five addresses each */
	size_t honest = 0;
	for (uint32_t s = 0; s < 200; s++) {
		char text[32];
		snprintf(text, sizeof(text), "20.%u.0.1", s);
		net_ip_parse(text, src);
		for (uint32_t k = 0; k < 5; k++) {
			snprintf(text, sizeof(text), "30.%u.%u.1", s, k);
			net_ip_parse(text, ip);
			honest += net_book_add(b, ip, 19444, NOW_S, src, NOW_MS) == 1;
		}
	}
	CHECK(honest > 800); /* some collide among themselves and are dropped */
	CHECK_EQ_U64(net_book_count(b), honest);
	net_ip_parse("66.6.6.6", attacker);
	size_t took = 0;
	for (uint32_t k = 0; k < 100000; k++) {
		char text[32];
		snprintf(text, sizeof(text), "%u.%u.%u.7", 40 + k % 100, (k / 100) % 256, k / 25600);
		net_ip_parse(text, ip);
		took += net_book_add(b, ip, 19444, NOW_S, attacker, NOW_MS) == 1;
	}
	size_t from_attacker = 0, honest_left = 0;
	int buckets[NET_BOOK_NEW_BUCKETS] = {0};
	size_t nbuckets = 0;
	for (size_t i = 0; i < NET_BOOK_MAX; i++) {
		const struct net_book_entry *e = net_book_slot(b, i);
		if (!e)
			continue;
		if (memcmp(e->source, attacker, 16) == 0) {
			from_attacker++;
			size_t bk = net_book_bucket_of(b, e);
			if (bk < NET_BOOK_NEW_BUCKETS && !buckets[bk]++)
				nbuckets++;
		} else {
			honest_left++;
		}
	}
	CHECK_EQ_U64(from_attacker, took);
	CHECK(from_attacker <= NET_BOOK_NEW_BUCKETS_PER_GROUP * NET_BOOK_BUCKET_SIZE);
	CHECK(nbuckets <= NET_BOOK_NEW_BUCKETS_PER_GROUP);
	CHECK_EQ_U64(honest_left, honest); /* nobody honest was displaced */
	CHECK(from_attacker <= NET_BOOK_NEW_SLOTS / 8); /* an eighth of the new table at most */
	/* a second address from the same /16 is the same source group */
	net_ip_parse("66.6.200.1", attacker);
	for (uint32_t k = 0; k < 20000; k++) {
		char text[32];
		snprintf(text, sizeof(text), "%u.%u.%u.9", 40 + k % 100, (k / 100) % 256, k / 25600);
		net_ip_parse(text, ip);
		took += net_book_add(b, ip, 19444, NOW_S, attacker, NOW_MS) == 1;
	}
	CHECK(took <= NET_BOOK_NEW_BUCKETS_PER_GROUP * NET_BOOK_BUCKET_SIZE);
	net_book_free(b);
}

/* Stale entries are terrible: a newcomer may take their slot. */
static void test_terrible(void)
{
	uint8_t key[NET_BOOK_KEY_LEN] = {1, 2, 3};
	net_book_t *b = net_book_new(key);
	uint8_t ip[16], src[16];
	ip_n(9, src);
	/* fill one source's buckets with addresses last seen 60 days ago */
	for (uint32_t k = 0; k < 20000; k++) {
		ip_n(k + 10, ip);
		net_book_add(b, ip, 1, NOW_S - 60u * 24 * 3600, src, NOW_MS);
	}
	size_t stale = net_book_count(b);
	CHECK(stale > 0);
	struct net_book_entry out[16];
	CHECK_EQ_U64(net_book_sample(b, out, 16, NOW_MS, 1), 0); /* never gossiped */
	size_t fresh = 0;
	for (uint32_t k = 0; k < 20000; k++) {
		ip_n(k + 30000, ip);
		fresh += net_book_add(b, ip, 1, NOW_S, src, NOW_MS) == 1;
	}
	CHECK(fresh >= stale); /* every stale slot could be taken over */
	CHECK_EQ_U64(net_book_sample(b, out, 16, NOW_MS, 1), 16);
	net_book_free(b);
}

static int refuse_all(void *ctx, const struct net_book_entry *e)
{
	(void)ctx;
	(void)e;
	return 1;
}

/* A failed dial backs off exponentially; a handshake resets it and moves
 * the address to the tried table. */
static void test_backoff(void)
{
	net_book_t *b = net_book_new(test_key);
	uint8_t ip[16];
	ip_n(77, ip);
	CHECK(net_book_add(b, ip, 19444, NOW_S, ip, NOW_MS) == 1);
	const struct net_book_entry *e = net_book_find(b, ip, 19444);
	CHECK(net_book_due(e, NOW_MS));
	CHECK(net_book_select(b, NOW_MS, 5, NULL, NULL) == e);
	uint64_t t = NOW_MS;
	uint64_t want_wait = NET_BOOK_RETRY_MS;
	for (int round = 1; round <= 10; round++) {
		net_book_attempt(b, ip, 19444, t);
		e = net_book_find(b, ip, 19444);
		CHECK_EQ_U64(e->failures, round);
		CHECK_EQ_U64(net_book_next_try_ms(e) - t, want_wait);
		CHECK(!net_book_due(e, t + want_wait - 1));
		CHECK(net_book_select(b, t + want_wait - 1, 5, NULL, NULL) == NULL);
		CHECK(net_book_due(e, t + want_wait));
		CHECK(net_book_select(b, t + want_wait, 5, NULL, NULL) == e);
		t += want_wait;
		want_wait = want_wait * 2 > NET_BOOK_BACKOFF_MAX_MS ? NET_BOOK_BACKOFF_MAX_MS : want_wait * 2;
	}
	CHECK_EQ_U64(net_book_next_try_ms(e) - e->last_try_ms, NET_BOOK_BACKOFF_MAX_MS); /* capped */
	CHECK_EQ_U64(net_book_count_tried(b), 0);
	net_book_attempt(b, ip, 19444, t);
	net_book_good(b, ip, 19444, t + 100);
	e = net_book_find(b, ip, 19444);
	CHECK(e && e->tried && e->failures == 0 && e->last_good_ms == t + 100);
	CHECK_EQ_U64(net_book_count_tried(b), 1);
	CHECK_EQ_U64(net_book_count(b), 1);
	CHECK(net_book_bucket_of(b, e) >= NET_BOOK_NEW_BUCKETS);
	CHECK(net_book_due(e, t + 100));
	CHECK(net_book_select(b, t + 100, 5, NULL, NULL) == e);
	/* skip refuses it (e.g. connected already): nothing else to dial */
	CHECK(net_book_select(b, t + 100, 5, refuse_all, NULL) == NULL);
	net_book_free(b);
}

static void test_budget(void)
{
	struct net_addr_budget r;
	net_addr_budget_init(&r, 1000);
	int taken = 0;
	for (int i = 0; i < 5000; i++)
		taken += net_addr_budget_take(&r, 1000);
	CHECK_EQ_INT(taken, (int)NET_ADDR_BURST);
	CHECK(!net_addr_budget_take(&r, 1000 + 9999)); /* 0.1/s: one after 10 s */
	CHECK(net_addr_budget_take(&r, 1000 + 10000));
	CHECK(!net_addr_budget_take(&r, 1000 + 10000));
}

static void test_bans(void)
{
	net_book_t *b = net_book_new(test_key);
	uint8_t ip[16], other[16];
	ip_n(7, ip);
	ip_n(8, other);
	CHECK(net_book_ban(b, ip, 5000, "bad magic") == 0);
	CHECK(net_book_is_banned(b, ip, 4999));
	CHECK(!net_book_is_banned(b, ip, 5000));
	CHECK(!net_book_is_banned(b, other, 0));
	CHECK(net_book_ban(b, ip, 9000, "again") == 0); /* replaces */
	CHECK(net_book_nbans(b) == 1 && net_book_ban_at(b, 0)->until_ms == 9000);
	CHECK(net_book_ban(b, other, 3000, "x") == 0);
	CHECK(net_book_expire_bans(b, 3000) == 1);
	CHECK(net_book_nbans(b) == 1 && net_book_is_banned(b, ip, 3000));
	CHECK(net_book_unban(b, other) == ASSAY_ENOTFOUND);
	CHECK(net_book_unban(b, ip) == 0 && net_book_nbans(b) == 0);
	net_book_free(b);
}

/* A fresh directory under $TMPDIR (or /tmp) for one test's files. */
static int make_tmpdir(char *out, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(out, len, "%s/assay-%s-", tmp && *tmp ? tmp : "/tmp", name);
	if (n < 0 || (size_t)n + 7 > len)
		return -1;
	memset(out + n, 'X', 6); /* mkdtemp's template */
	out[n + 6] = 0;
	return mkdtemp(out) ? 0 : -1;
}

/* One address in each /16: every one its own net group. */
static void ip_g(uint32_t k, uint8_t ip[16])
{
	char text[32];
	snprintf(text, sizeof(text), "10.%u.%u.1", k & 255, (k >> 8) & 255);
	net_ip_parse(text, ip);
}

static void test_files(void)
{
	char dir[256];
	CHECK(make_tmpdir(dir, sizeof(dir), "book") == 0);
	char peers[300], bans[300];
	snprintf(peers, sizeof(peers), "%s/peers.dat", dir);
	snprintf(bans, sizeof(bans), "%s/banlist.dat", dir);
	net_book_t *b = net_book_new(test_key);
	CHECK(net_book_load_peers(b, peers) == 0); /* missing: empty */
	uint8_t ip[16];
	for (uint32_t k = 1; k <= 50; k++) {
		ip_g(k, ip);
		/* each heard from itself: distinct sources (a rare slot collision drops one) */
		net_book_add(b, ip, (uint16_t)(1000 + k), NOW_S - k, ip, NOW_MS);
	}
	ip_g(3, ip);
	net_book_attempt(b, ip, 1003, NOW_MS);
	net_book_good(b, ip, 1003, NOW_MS + 5);
	ip_g(4, ip);
	net_book_attempt(b, ip, 1004, NOW_MS);
	net_book_attempt(b, ip, 1004, NOW_MS + 60000);
	net_ip_parse("2001:db8::5", ip);
	net_book_ban(b, ip, 1234567, "invalid block");
	CHECK(net_book_save_peers(b, peers) == 0);
	CHECK(net_book_save_bans(b, bans) == 0);

	net_book_t *r = net_book_new(test_key);
	CHECK(net_book_load_peers(r, peers) == 0);
	CHECK(net_book_load_bans(r, bans, UINT64_MAX) == 0);
	CHECK(net_book_count(b) >= 45);
	CHECK_EQ_U64(net_book_count(r), net_book_count(b));
	CHECK_EQ_U64(net_book_count_tried(r), 1);
	int all = 1;
	for (size_t i = 0; i < NET_BOOK_MAX; i++) {
		const struct net_book_entry *e = net_book_slot(r, i), *o = net_book_slot(b, i);
		if (!e || !o) {
			all &= !e && !o; /* the same slots: the key came back with them */
			continue;
		}
		all &= memcmp(e, o, sizeof(*e)) == 0;
		all &= e->tried || e->last_seen == NOW_S - (e->port - 1000u);
	}
	CHECK(all);
	ip_g(4, ip);
	CHECK_EQ_U64(net_book_find(r, ip, 1004)->failures, 2); /* backoff survives a restart */
	CHECK_EQ_U64(net_book_next_try_ms(net_book_find(r, ip, 1004)), NOW_MS + 60000 + 2 * NET_BOOK_RETRY_MS);
	net_ip_parse("2001:db8::5", ip);
	CHECK(net_book_nbans(r) == 1);
	CHECK(net_book_ban_at(r, 0)->until_ms == 1234567);
	CHECK(strcmp(net_book_ban_at(r, 0)->reason, "invalid block") == 0);
	CHECK(memcmp(net_book_ban_at(r, 0)->ip, ip, 16) == 0);
	/* a ban past the longest a node makes ends at that bound */
	net_book_t *r2 = net_book_new(test_key);
	CHECK(net_book_load_bans(r2, bans, 1000000) == 0);
	CHECK(net_book_nbans(r2) == 1 && net_book_ban_at(r2, 0)->until_ms == 1000000);
	net_book_free(r2);

	/* one flipped byte: the seal fails and nothing is loaded */
	FILE *f = fopen(peers, "r+b");
	fseek(f, 10, SEEK_SET);
	int byte = fgetc(f);
	fseek(f, 10, SEEK_SET);
	fputc(byte ^ 1, f);
	fclose(f);
	net_book_t *z = net_book_new(test_key);
	CHECK(net_book_load_peers(z, peers) == ASSAY_EDECODE);
	CHECK(net_book_count(z) == 0);
	/* a ban file is not a peers file */
	CHECK(net_book_load_peers(z, bans) == ASSAY_EDECODE);
	net_book_free(z);
	net_book_free(r);

	/* a version 1 file (ip, port, last_seen) is still read */
	struct buf v1;
	buf_init(&v1);
	buf_put(&v1, "ASYP", 4);
	buf_put_u32(&v1, 1);
	buf_put_varint(&v1, 2);
	for (uint32_t k = 1; k <= 2; k++) {
		ip_n(k, ip);
		buf_put(&v1, ip, 16);
		buf_put_u16(&v1, 19444);
		buf_put_u64(&v1, NOW_S - k);
	}
	uint8_t seal[HASH_LEN];
	sha256(v1.data, v1.len, seal);
	buf_put(&v1, seal, HASH_LEN);
	f = fopen(peers, "wb");
	fwrite(v1.data, 1, v1.len, f);
	fclose(f);
	buf_free(&v1);
	z = net_book_new(test_key);
	CHECK(net_book_load_peers(z, peers) == 0);
	CHECK_EQ_U64(net_book_count(z), 2);
	ip_n(2, ip);
	CHECK(net_book_find(z, ip, 19444) && net_book_find(z, ip, 19444)->last_seen == NOW_S - 2);
	net_book_free(z);
	net_book_free(b);
	unlink(peers);
	unlink(bans);
	rmdir(dir);
}

/* Handshakes with addresses of one net group fill that group's
 * NET_BOOK_TRIED_BUCKETS_PER_GROUP tried buckets before any of them is
 * pushed out (a few peers on one subnet, or on loopback, all stay tried),
 * and never more than those buckets hold; a restart keeps them. */
static void test_tried_fill(void)
{
	char dir[256];
	CHECK(make_tmpdir(dir, sizeof(dir), "tried") == 0);
	char peers[300];
	snprintf(peers, sizeof(peers), "%s/peers.dat", dir);
	net_book_t *b = net_book_new(test_key);
	uint8_t ip[16];
	const uint32_t few = 40; /* at most 40 per bucket: none may be evicted */
	for (uint32_t k = 1; k <= few; k++) {
		ip_n(k, ip); /* 10.0.0.k: one group */
		CHECK(net_book_add(b, ip, 2000, NOW_S, ip, NOW_MS) == 1);
		net_book_good(b, ip, 2000, NOW_MS + k);
	}
	CHECK_EQ_U64(net_book_count_tried(b), few);
	for (uint32_t k = 1; k <= few; k++) {
		ip_n(k, ip);
		const struct net_book_entry *e = net_book_find(b, ip, 2000);
		CHECK(e && e->tried);
	}
	/* many more of the group: its two buckets fill, and no further */
	for (uint32_t k = few + 1; k <= 600; k++) {
		ip_n(k, ip);
		if (net_book_add(b, ip, 2000, NOW_S, ip, NOW_MS) == 1)
			net_book_good(b, ip, 2000, NOW_MS + k);
	}
	const uint64_t group_cap = (uint64_t)NET_BOOK_TRIED_BUCKETS_PER_GROUP * NET_BOOK_BUCKET_SIZE;
	CHECK_EQ_U64(net_book_count_tried(b), group_cap);
	CHECK(net_book_save_peers(b, peers) == 0);
	net_book_t *r = net_book_new(test_key);
	CHECK(net_book_load_peers(r, peers) == 0);
	CHECK_EQ_U64(net_book_count_tried(r), group_cap);
	CHECK_EQ_U64(net_book_count(r), net_book_count(b));
	net_book_free(r);
	net_book_free(b);
	unlink(peers);
	rmdir(dir);
}

int main(void)
{
	RUN(test_addresses);
	RUN(test_flood);
	RUN(test_terrible);
	RUN(test_backoff);
	RUN(test_tried_fill);
	RUN(test_budget);
	RUN(test_bans);
	RUN(test_files);
	return test_report("test_net_book");
}

/* Unit tests of the address book and ban list (net/book.c): add/refresh,
 * eviction of the stalest, ban expiry, and the peers.dat / banlist.dat files
 * (round trip, and a corrupted file refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "net/book.h"
#include "net/msg.h"
#include "tests/unit/test.h"

static void ip_n(uint32_t k, uint8_t ip[16])
{
	char text[32];
	snprintf(text, sizeof(text), "10.%u.%u.%u", (k >> 16) & 255, (k >> 8) & 255, k & 255);
	net_ip_parse(text, ip);
}

static void test_addresses(void)
{
	net_book_t *b = net_book_new();
	uint8_t ip[16];
	ip_n(1, ip);
	CHECK(net_book_add(b, ip, 0, 5) == ASSAY_EARG);
	CHECK(net_book_add(b, ip, 18444, 5) == 1);
	CHECK(net_book_add(b, ip, 18444, 3) == 0);
	CHECK(net_book_at(b, 0)->last_seen == 5); /* an older sighting does not lower it */
	CHECK(net_book_add(b, ip, 18444, 9) == 0);
	CHECK(net_book_at(b, 0)->last_seen == 9);
	CHECK(net_book_add(b, ip, 18445, 1) == 1); /* another port is another peer */
	CHECK(net_book_count(b) == 2);
	net_book_remove(b, ip, 18445);
	CHECK(net_book_count(b) == 1);
	/* fill up: the stalest entry makes room */
	for (uint32_t k = 2; k <= NET_BOOK_MAX; k++) {
		ip_n(k, ip);
		net_book_add(b, ip, 1, 100 + k);
	}
	CHECK(net_book_count(b) == NET_BOOK_MAX);
	ip_n(999999, ip);
	CHECK(net_book_add(b, ip, 1, 1000000) == 1);
	CHECK(net_book_count(b) == NET_BOOK_MAX);
	int old_left = 0;
	for (size_t i = 0; i < net_book_count(b); i++)
		if (net_book_at(b, i)->last_seen == 9)
			old_left = 1;
	CHECK(!old_left);
	net_book_free(b);
}

static void test_bans(void)
{
	net_book_t *b = net_book_new();
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

static void test_files(void)
{
	char dir[256];
	CHECK(make_tmpdir(dir, sizeof(dir), "book") == 0);
	char peers[300], bans[300];
	snprintf(peers, sizeof(peers), "%s/peers.dat", dir);
	snprintf(bans, sizeof(bans), "%s/banlist.dat", dir);
	net_book_t *b = net_book_new();
	CHECK(net_book_load_peers(b, peers) == 0); /* missing: empty */
	uint8_t ip[16];
	for (uint32_t k = 1; k <= 50; k++) {
		ip_n(k, ip);
		net_book_add(b, ip, (uint16_t)(1000 + k), 1700000000 + k);
	}
	net_ip_parse("2001:db8::5", ip);
	net_book_ban(b, ip, 1234567, "invalid block");
	CHECK(net_book_save_peers(b, peers) == 0);
	CHECK(net_book_save_bans(b, bans) == 0);

	net_book_t *r = net_book_new();
	CHECK(net_book_load_peers(r, peers) == 0);
	CHECK(net_book_load_bans(r, bans) == 0);
	CHECK(net_book_count(r) == 50);
	int all = 1;
	for (size_t i = 0; i < 50; i++) {
		const struct net_book_entry *e = net_book_at(r, i);
		all &= e->last_seen == 1700000000u + (e->port - 1000u);
	}
	CHECK(all);
	CHECK(net_book_nbans(r) == 1);
	CHECK(net_book_ban_at(r, 0)->until_ms == 1234567);
	CHECK(strcmp(net_book_ban_at(r, 0)->reason, "invalid block") == 0);
	CHECK(memcmp(net_book_ban_at(r, 0)->ip, ip, 16) == 0);

	/* one flipped byte: the seal fails and nothing is loaded */
	FILE *f = fopen(peers, "r+b");
	fseek(f, 10, SEEK_SET);
	int byte = fgetc(f);
	fseek(f, 10, SEEK_SET);
	fputc(byte ^ 1, f);
	fclose(f);
	net_book_t *z = net_book_new();
	CHECK(net_book_load_peers(z, peers) == ASSAY_EDECODE);
	CHECK(net_book_count(z) == 0);
	/* a ban file is not a peers file */
	CHECK(net_book_load_peers(z, bans) == ASSAY_EDECODE);
	net_book_free(z);
	net_book_free(r);
	net_book_free(b);
	unlink(peers);
	unlink(bans);
	rmdir(dir);
}

int main(void)
{
	RUN(test_addresses);
	RUN(test_bans);
	RUN(test_files);
	return test_report("test_net_book");
}

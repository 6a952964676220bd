/* Unit tests of core/network: the table's rows as docs/p2p.md §2, docs/rpc.md
 * and docs/cli.md state them, name lookup, and the invariants a new row must
 * keep (unique names, magics that share no byte position). */
#include <stdint.h>
#include <string.h>

#include "core/keys.h"
#include "core/network.h"
#include "tests/unit/test.h"

static void test_rows(void)
{
	static const struct {
		const char *name, *hrp;
		enum network family;
		unsigned rpc, p2p;
		uint32_t magic;
	} want[] = {
		{"dev", "dassay", NET_DEV, 29443, 29444, 0xD1A5A7E0u},
		{"local", "dassay", NET_DEV, 29443, 29444, 0xC2B6B8F1u},
		{"testnet", "tassay", NET_TEST, 19443, 19444, 0xB3C7C902u},
		{"main", "assay", NET_MAIN, 9443, 9444, 0xA4D8DA13u},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct network_info *n = network_find(want[i].name);
		CHECK(n != NULL);
		if (!n)
			continue;
		CHECK(n == network_at((unsigned)i));
		CHECK(strcmp(n->hrp, want[i].hrp) == 0);
		CHECK(n->family == want[i].family);
		CHECK(n->rpc_port == want[i].rpc && n->p2p_port == want[i].p2p);
		CHECK(n->magic == want[i].magic);
		CHECK(strlen(n->name) <= NETWORK_NAME_MAX);
		/* the address code reads its HRPs from the same rows */
		CHECK(strcmp(network_hrp(n->family), n->hrp) == 0);
	}
	CHECK(network_at(4) == NULL);
}

static void test_lookup(void)
{
	CHECK(network_find("regtest") == NULL);
	CHECK(network_find("") == NULL);
	CHECK(network_find(NULL) == NULL);
	CHECK(network_find("Dev") == NULL); /* names are exact */
	CHECK(network_find("testnet ") == NULL);
	CHECK(strcmp(network_of_family(NET_DEV)->name, "dev") == 0);
	CHECK(strcmp(network_of_family(NET_TEST)->name, "testnet") == 0);
	CHECK(strcmp(network_of_family(NET_MAIN)->name, "main") == 0);
	CHECK(strcmp(network_of_family((enum network)99)->name, "dev") == 0);
}

static void test_invariants(void)
{
	const struct network_info *a, *b;
	for (unsigned i = 0; (a = network_at(i)); i++) {
		CHECK(network_find(a->name) == a); /* names are unique */
		for (unsigned j = i + 1; (b = network_at(j)); j++) {
			for (int k = 0; k < 4; k++)
				CHECK(((a->magic >> (8 * k)) & 0xff) != ((b->magic >> (8 * k)) & 0xff));
			/* one address family, one HRP */
			CHECK((a->family == b->family) == (strcmp(a->hrp, b->hrp) == 0));
		}
		for (int k = 0; k < 4; k++) {
			unsigned byte = (a->magic >> (8 * k)) & 0xff;
			CHECK(byte < 0x20 || byte > 0x7e); /* never printable ASCII */
		}
	}
}

/* The compiled networks and the seeds.txt reader. */
static void test_builtin(void)
{
	const struct network_builtin *b = network_builtin("testnet");
	CHECK(b != NULL && network_find(b->name) != NULL);
	CHECK(network_builtin("dev") == NULL); /* dev's genesis is built in code */
	CHECK(network_builtin("nosuch") == NULL);
	CHECK(b && strstr(b->genesis_json, "\"network\": \"testnet\"") != NULL);
	char seed[128];
	const char *cursor = b ? b->seeds : "";
	int count = 0;
	while (network_seed_next(&cursor, seed, sizeof(seed))) {
		CHECK(strchr(seed, ':') != NULL && seed[0] != '#');
		count++;
	}
	CHECK(count >= 1);
	const char *text = "# comment\n\n  1.2.3.4:19444 \r\n\t# indented comment\nseed.example:1\nlast:2";
	cursor = text;
	CHECK(network_seed_next(&cursor, seed, sizeof(seed)) && strcmp(seed, "1.2.3.4:19444") == 0);
	CHECK(network_seed_next(&cursor, seed, sizeof(seed)) && strcmp(seed, "seed.example:1") == 0);
	CHECK(network_seed_next(&cursor, seed, sizeof(seed)) && strcmp(seed, "last:2") == 0);
	CHECK(!network_seed_next(&cursor, seed, sizeof(seed)));
	cursor = "averyveryverylongname:1\nok:1\n";
	CHECK(network_seed_next(&cursor, seed, 8) && strcmp(seed, "ok:1") == 0); /* too long: skipped */
}

int main(void)
{
	RUN(test_builtin);
	RUN(test_rows);
	RUN(test_lookup);
	RUN(test_invariants);
	return test_report("test_network");
}

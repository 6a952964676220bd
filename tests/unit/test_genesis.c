/* Unit tests for node/genesis.c: parsing, every refusal with its message,
 * the canonical chain id (independent of JSON layout), the dev genesis, and
 * the choice of genesis with the compiled testnet (genesis_select). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/network.h"
#include "node/genesis.h"
#include "test.h"

static const char *good =
	"{\"chain\":\"assay-local\",\"network\":\"local\",\"time_ms\":5,"
	"\"params\":{\"block_time_ms\":700,\"min_fee\":5},"
	"\"balances\":[{\"address\":\"%s\",\"amount\":1000},{\"address\":\"%s\",\"amount\":\"2000\"}],"
	"\"validators\":[{\"pubkey\":\"%s\",\"stake\":3}]}";

static char a1[ADDR_STR_MAX], a2[ADDR_STR_MAX], pkhex[65];

static void setup(void)
{
	uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN], addr[ADDR_LEN];
	keys_init();
	genesis_dev_key(pk, sk);
	address_from_pubkey(pk, addr);
	address_encode(NET_DEV, addr, a1);
	addr[0] ^= 1;
	address_encode(NET_DEV, addr, a2);
	hex_encode(pk, PUBKEY_LEN, pkhex);
}

static int parse(const char *json, struct genesis *g, char *err)
{
	return genesis_parse(g, json, strlen(json), err, 256);
}

static void test_parse_and_hash(void)
{
	char json[2048], json2[2048], err[256];
	struct genesis g, g2;
	snprintf(json, sizeof(json), good, a1, a2, pkhex);
	CHECK(parse(json, &g, err) == 0);
	CHECK(g.nallocs == 2 && g.nvalidators == 1 && g.params.block_time_ms == 700 && g.params.min_fee == 5);
	/* Same content, other order and spacing: same chain id. */
	snprintf(json2, sizeof(json2),
		 "{ \"validators\": [ {\"stake\": 3, \"pubkey\": \"%s\"} ],\n \"balances\": [{\"amount\":\"2000\",\"address\":\"%s\"},"
		 "{\"address\":\"%s\",\"amount\":1000}], \"params\": {\"min_fee\":5, \"block_time_ms\":700},"
		 "\"time_ms\": 5, \"network\": \"local\", \"chain\": \"assay-local\" }",
		 pkhex, a2, a1);
	CHECK(parse(json2, &g2, err) == 0);
	CHECK_EQ_MEM(g.hash, g2.hash, HASH_LEN);
	genesis_free(&g2);
	/* Any change of content changes it. */
	snprintf(json2, sizeof(json2), good, a1, a2, pkhex);
	json2[strlen("{\"chain\":\"assay-loca")] = 'X';
	CHECK(parse(json2, &g2, err) == 0);
	CHECK(memcmp(g.hash, g2.hash, HASH_LEN) != 0);
	genesis_free(&g2);
	genesis_free(&g);
}

static void expect_error(const char *json, const char *needle)
{
	struct genesis g;
	char err[256] = "";
	int rc = parse(json, &g, err);
	CHECK(rc == ASSAY_EDECODE);
	if (!strstr(err, needle))
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, needle);
	CHECK(strstr(err, needle) != NULL);
}

static void test_refusals(void)
{
	char json[2048];
	expect_error("{", "JSON error");
	expect_error("{\"chain\":\"x\",\"network\":\"moon\"}", "network");
	snprintf(json, sizeof(json), good, a1, a1, pkhex);
	expect_error(json, "twice");
	snprintf(json, sizeof(json), good, a1, "tassay1qqqq", pkhex);
	expect_error(json, "balances[1].address");
	snprintf(json, sizeof(json), good, a1, a2, "abcd");
	expect_error(json, "pubkey");
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"params\":{\"bogus\":1},\"balances\":[],"
		 "\"validators\":[{\"pubkey\":\"%s\",\"stake\":1}]}", pkhex);
	expect_error(json, "unknown parameter");
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"balances\":[{\"address\":\"%s\",\"amount\":"
		 "\"9223372036854775807\"},{\"address\":\"%s\",\"amount\":1}],\"validators\":[{\"pubkey\":\"%s\",\"stake\":1}]}",
		 a1, a2, pkhex);
	expect_error(json, "2^63");
	expect_error("{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"balances\":[],\"validators\":[]}",
		     "validators");
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"compute\":{\"samples_kk\":3},\"balances\":[],"
		 "\"validators\":[{\"pubkey\":\"%s\",\"stake\":1}]}", pkhex);
	expect_error(json, "unknown compute parameter");
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"balances\":[],\"validators\":"
		 "[{\"pubkey\":\"%s\",\"stake\":\"18446744073709551615\"},{\"pubkey\":\"%.62s00\",\"stake\":2}]}",
		 pkhex, pkhex);
	expect_error(json, "total stake");
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"balances\":[],\"validators\":"
		 "[{\"pubkey\":\"%s\",\"stake\":\"99999999999999999999999\"}]}", pkhex);
	expect_error(json, "stake must be");
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"compute\":{\"samples_k\":0},\"balances\":[],"
		 "\"validators\":[{\"pubkey\":\"%s\",\"stake\":1}]}", pkhex);
	expect_error(json, "not a valid value");
	/* Integers in strings are decimal digits only: no sign, no space (strtoull
	 * alone read " -1" as 2^64 - 1). */
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"params\":{\"block_time_ms\":\" -1\"},"
		 "\"balances\":[],\"validators\":[{\"pubkey\":\"%s\",\"stake\":1}]}", pkhex);
	expect_error(json, "\"block_time_ms\" must be a positive integer");
	snprintf(json, sizeof(json),
		 "{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":1,\"balances\":[],\"validators\":"
		 "[{\"pubkey\":\"%s\",\"stake\":\"+5\"}]}", pkhex);
	expect_error(json, "stake must be");
	expect_error("{\"chain\":\"c\",\"network\":\"local\",\"time_ms\":\"1 \"}", "time_ms");
}

/* The validator and timeout parameters (protocol §8): set by name, in the
 * chain id, bounded; a genesis stake must fit as a bond of stake x 10^9. */
static void test_validator_params(void)
{
	char json[2048], err[256];
	struct genesis g, plain;
	const char *fmt = "{\"chain\":\"c\",\"network\":\"%s\",\"time_ms\":1,\"params\":{%s},\"balances\":[],"
			  "\"validators\":[{\"pubkey\":\"%s\",\"stake\":%s}]}";
	snprintf(json, sizeof(json), fmt, "local", "\"unbonding_period\":7,\"evidence_max_age\":5,"
		 "\"timeout_propose_ms\":900,\"downtime_window\":20,\"downtime_max_missed\":19", pkhex, "3");
	CHECK(parse(json, &g, err) == 0);
	CHECK_EQ_U64(g.params.unbonding_period, 7);
	CHECK_EQ_U64(g.params.evidence_max_age, 5);
	CHECK_EQ_U64(g.params.timeout_propose_ms, 900);
	CHECK_EQ_U64(g.params.timeout_prevote_ms, 200); /* local default (bft_timeouts_local) */
	CHECK_EQ_U64(g.params.min_validator_bond, 1000000000000ull);
	snprintf(json, sizeof(json), fmt, "local", "", pkhex, "3");
	CHECK(parse(json, &plain, err) == 0);
	CHECK(memcmp(g.hash, plain.hash, HASH_LEN) != 0); /* the new parameters are in the chain id */
	CHECK_EQ_U64(plain.params.timeout_propose_ms, 500);
	genesis_free(&plain);
	genesis_free(&g);
	snprintf(json, sizeof(json), fmt, "testnet", "", pkhex, "3");
	CHECK(parse(json, &g, err) == 0);
	CHECK_EQ_U64(g.params.timeout_propose_ms, 3000); /* bft_timeouts_default */
	CHECK_EQ_U64(g.params.timeout_precommit_delta_ms, 500);
	CHECK_EQ_U64(g.params.unbonding_period, 120960);
	genesis_free(&g);

	snprintf(json, sizeof(json), fmt, "local", "\"unbonding_period\":4,\"evidence_max_age\":5", pkhex, "3");
	expect_error(json, "evidence_max_age not below unbonding_period");
	snprintf(json, sizeof(json), fmt, "local", "\"unbonding_period\":5,\"evidence_max_age\":5", pkhex, "3");
	expect_error(json, "evidence_max_age not below unbonding_period"); /* equal: the stake escapes (protocol §8) */
	snprintf(json, sizeof(json), fmt, "local", "\"evidence_slash_bps\":10001", pkhex, "3");
	expect_error(json, "evidence_slash_bps");
	snprintf(json, sizeof(json), fmt, "local", "\"downtime_window\":10,\"downtime_max_missed\":10", pkhex, "3");
	expect_error(json, "downtime_max_missed");
	snprintf(json, sizeof(json), fmt, "local", "\"min_validator_bond\":999999999", pkhex, "3");
	expect_error(json, "min_validator_bond");
	snprintf(json, sizeof(json), fmt, "local", "\"timeout_prevote_ms\":3600001", pkhex, "3");
	expect_error(json, "timeout");
	snprintf(json, sizeof(json), fmt, "local", "\"jail_blocks\":0", pkhex, "3");
	expect_error(json, "positive");
	/* a block must fit one p2p message beside its proposal (consensus.md §9) */
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_bytes\":8380417", pkhex, "3");
	expect_error(json, "max_block_bytes above the hard ceiling");
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_bytes\":8380416", pkhex, "3");
	CHECK(parse(json, &g, err) == 0);
	CHECK_EQ_U64(g.params.max_block_bytes, CHAIN_MAX_BLOCK_BYTES);
	genesis_free(&g);
	/* a transaction that fits no block would wait in every mempool for good */
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_bytes\":1048576", pkhex, "3");
	expect_error(json, "max_tx_bytes 1048576 fits no block");
	/* Nor one that fits only a block without header or commit: a 1 MiB
	 * transaction (3-byte length prefix) needs the 356-byte header, the
	 * count (2 bytes for max_block_txs 10000) and room for a commit of
	 * 1024 signatures (98,350 bytes) beside it: 1,147,287 bytes. */
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_bytes\":1048577", pkhex, "3");
	expect_error(json, "max_block_bytes must be at least 1147287");
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_bytes\":1147286", pkhex, "3");
	expect_error(json, "max_tx_bytes 1048576 fits no block");
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_bytes\":1147287", pkhex, "3");
	CHECK(parse(json, &g, err) == 0);
	CHECK_EQ_U64(g.params.max_block_bytes, 1147287);
	genesis_free(&g);
	/* the count at its widest: 100000 transactions take a 3-byte count */
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_bytes\":1147287,\"max_block_txs\":100000",
		 pkhex, "3");
	expect_error(json, "max_block_bytes must be at least 1147288");
	/* block gas sums stay far from 2^64 (protocol §8) */
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_gas\":1000000000001", pkhex, "3");
	expect_error(json, "max_block_gas above the hard ceiling");
	snprintf(json, sizeof(json), fmt, "local", "\"max_block_gas\":1000000000000", pkhex, "3");
	CHECK(parse(json, &g, err) == 0);
	CHECK_EQ_U64(g.params.max_block_gas, CHAIN_MAX_BLOCK_GAS);
	genesis_free(&g);
	/* 10^10 power is a bond of 10^19 base units: above 2^63 */
	snprintf(json, sizeof(json), fmt, "local", "", pkhex, "10000000000");
	expect_error(json, "bonds");
}

static void test_dev(void)
{
	struct genesis g1, g2;
	CHECK(genesis_dev(&g1) == 0);
	CHECK(genesis_dev(&g2) == 0);
	CHECK_EQ_MEM(g1.hash, g2.hash, HASH_LEN);
	char dev_id[2 * HASH_LEN + 1];
	hex_encode(g1.hash, HASH_LEN, dev_id);
	CHECK(strcmp(dev_id, NETWORK_DEV_CHAIN_ID) == 0); /* the clients' copy */
	CHECK(g1.nvalidators == 1 && g1.nallocs == 2);
	uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN], addr[ADDR_LEN];
	genesis_dev_key(pk, sk);
	address_from_pubkey(pk, addr);
	int found = 0;
	for (size_t i = 0; i < g1.nallocs; i++)
		if (memcmp(g1.allocs[i].addr, addr, ADDR_LEN) == 0)
			found = g1.allocs[i].amount == GENESIS_DEV_FUNDS;
	CHECK(found);
	CHECK_EQ_MEM(g1.validators[0].pubkey, pk, PUBKEY_LEN);
	CHECK(g1.compute.samples_k == 66 && g1.compute.challenge_delay == 2);
	CHECK(strcmp(g1.network_name, "dev") == 0 && g1.params.block_time_ms == 1000);
	genesis_free(&g1);
	genesis_free(&g2);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* The compiled testnet (docs/testnet/testnet/genesis.json) is what
 * -network=testnet runs with nothing on disk; a file naming its chain with
 * other contents is refused with both chain ids; another chain of network
 * testnet is taken. */
static void test_select(void)
{
	char dir[] = "/tmp/assay-genesis-XXXXXX", path[256], source[1200], err[1024];
	CHECK(mkdtemp(dir) != NULL);
	const struct network_builtin *b = network_builtin("testnet");
	CHECK(b != NULL && b->genesis_len == strlen(b->genesis_json));
	struct genesis g, c;
	CHECK(genesis_select(&g, "testnet", "", dir, source, sizeof(source), err, sizeof(err)) == 0);
	CHECK(strcmp(source, "compiled") == 0);
	CHECK(strcmp(g.network_name, "testnet") == 0 && g.nvalidators >= 1);
	CHECK(genesis_builtin_of(&g) == b);
	/* the clients' copy of each compiled chain (network_chain_at) is the
	 * chain its genesis makes, and every compiled network has one */
	unsigned rows = 0;
	for (const struct network_chain *nc; (nc = network_chain_at(rows)); rows++) {
		struct genesis n;
		char id[2 * HASH_LEN + 1];
		CHECK(genesis_select(&n, nc->network, "", dir, source, sizeof(source), err, sizeof(err)) == 0);
		hex_encode(n.hash, HASH_LEN, id);
		CHECK(strcmp(id, nc->chain_id) == 0 && strcmp(n.chain, nc->chain) == 0);
		genesis_free(&n);
	}
	CHECK_EQ_INT(rows, network_builtin_count);
	/* the same file on disk (as shipped) is the same chain */
	snprintf(path, sizeof(path), "%s/genesis.json", dir);
	CHECK(write_text(path, b->genesis_json) == 0);
	CHECK(genesis_select(&c, "testnet", NULL, dir, source, sizeof(source), err, sizeof(err)) == 0);
	CHECK(strcmp(source, path) == 0);
	CHECK_EQ_MEM(c.hash, g.hash, HASH_LEN);
	genesis_free(&c);
	/* altered: one more unit of stake */
	char *altered = strdup(b->genesis_json);
	char *stake = strstr(altered, "\"stake\": 100");
	CHECK(stake != NULL);
	if (stake)
		stake[strlen("\"stake\": 10")] = '1';
	CHECK(write_text(path, altered) == 0);
	CHECK(genesis_select(&c, "testnet", path, dir, source, sizeof(source), err, sizeof(err)) == ASSAY_EINVALID);
	char want[2 * HASH_LEN + 1];
	hex_encode(g.hash, HASH_LEN, want);
	CHECK(strstr(err, want) != NULL); /* both chain ids shown */
	CHECK(strstr(err, "assay-testnet-1") != NULL);
	/* renamed: a testnet of one's own */
	char *name = strstr(altered, "assay-testnet-1");
	if (name)
		memcpy(name, "assay-testnet-9", 15);
	CHECK(write_text(path, altered) == 0);
	CHECK(genesis_select(&c, "testnet", path, dir, source, sizeof(source), err, sizeof(err)) == 0);
	CHECK(genesis_builtin_of(&c) == NULL);
	genesis_free(&c);
	/* wrong network, and no genesis at all for local */
	CHECK(genesis_select(&c, "local", path, dir, source, sizeof(source), err, sizeof(err)) == ASSAY_EINVALID);
	unlink(path);
	CHECK(genesis_select(&c, "local", "", dir, source, sizeof(source), err, sizeof(err)) == ASSAY_EIO);
	CHECK(strstr(err, "no genesis for network local") != NULL);
	free(altered);
	genesis_free(&g);
	rmdir(dir);
}

int main(void)
{
	setup();
	RUN(test_select);
	RUN(test_parse_and_hash);
	RUN(test_refusals);
	RUN(test_validator_params);
	RUN(test_dev);
	return test_report("test_genesis");
}

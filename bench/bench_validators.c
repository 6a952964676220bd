/* End-of-block time of the validator module (consensus/validators.c) with
 * 1, 1000 and 30000 validator records on an in-memory ledger: a block with
 * no validator change, and a block whose one bond changed (docs/benchmarks.md).
 * Prints figures; never fails on time. Not for: the node's LevelDB state
 * (bench_chain measures blocks through the node). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/params.h"
#include "consensus/validators.h"
#include "core/error.h"
#include "core/keys.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record_pk(uint32_t i, uint8_t pk[PUBKEY_LEN])
{
	memset(pk, 0x33, PUBKEY_LEN);
	pk[0] = (uint8_t)(i >> 24);
	pk[1] = (uint8_t)(i >> 16);
	pk[2] = (uint8_t)(i >> 8);
	pk[3] = (uint8_t)i;
}

static int bond(const struct validators_ctx *vc, uint32_t i, uint64_t amount)
{
	uint8_t pk[PUBKEY_LEN], addr[ADDR_LEN], key[HASH_LEN];
	char msg[200];
	record_pk(i, pk);
	address_from_pubkey(pk, addr);
	state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
	if (ledger_credit(vc->l, addr, amount) != 0)
		return -1;
	return validators_apply_bond(vc, pk, key, amount, msg, sizeof(msg));
}

int main(int argc, char **argv)
{
	int blocks = argc > 1 ? atoi(argv[1]) : 50;
	static const uint32_t sizes[] = {1, 1000, 30000};
	struct chain_params params;
	chain_params_default(&params, 1);
	uint8_t chain_id[HASH_LEN];
	memset(chain_id, 0xbe, HASH_LEN);
	printf("bench_validators: end of block, %d blocks per figure, in-memory ledger\n", blocks);
	printf("%8s %16s %16s\n", "records", "unchanged (us)", "one bond (us)");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		ledger_mem_t *mem = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(mem);
		struct bft_validator g;
		char err[200];
		record_pk(0, g.pubkey);
		g.power = 5000;
		g.priority = 0;
		if (validators_genesis(&l, &g, 1, err, sizeof(err)) != 0) {
			fprintf(stderr, "genesis: %s\n", err);
			return 1;
		}
		uint64_t h = 1;
		struct validators_ctx vc = {&l, &params, chain_id, h};
		for (uint32_t i = 1; i < sizes[s]; i++)
			if (bond(&vc, i, params.min_validator_bond) != 0) {
				fprintf(stderr, "bond %u failed\n", i);
				return 1;
			}
		double t[2] = {0, 0};
		for (int b = 0; b < 2 * blocks + 4; b++) {
			vc.height = h++;
			int changed = b % 2 == 1;
			if (changed && bond(&vc, 0, 1000000000ull) != 0)
				return 1;
			double t0 = now_s();
			if (validators_end_block(&vc, NULL, err, sizeof(err)) != 0) {
				fprintf(stderr, "end of block: %s\n", err);
				return 1;
			}
			if (b >= 4)
				t[changed] += now_s() - t0;
		}
		printf("%8u %16.1f %16.1f\n", sizes[s], t[0] / blocks * 1e6, t[1] / blocks * 1e6);
		ledger_mem_free(mem);
	}
	return 0;
}

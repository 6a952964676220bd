// fuzz-sources: node/genesis.c consensus/*.c consensus/bft/*.c consensus/compute/*.c vm/*.c core/*.c
/* libFuzzer target for the genesis JSON parser (genesis_parse,
 * docs/protocol.md §7): no input crashes or leaks, a refusal always says
 * why, and an accepted genesis is internally sound: its counts are within
 * the documented limits, balances and validators are sorted and distinct,
 * and its chain id is a function of the parsed content alone.
 * Not for: loading files or the dev genesis (tests/unit/test_genesis.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/genesis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct genesis g;
	char err[256] = "";
	if (genesis_parse(&g, (const char *)data, size, err, sizeof(err)) != 0) {
		if (!err[0])
			abort(); /* refused without a message */
		return 0;
	}
	if (g.nvalidators == 0 || g.nvalidators > GENESIS_MAX_VALIDATORS || g.nallocs > GENESIS_MAX_ALLOCS)
		abort();
	for (size_t i = 1; i < g.nallocs; i++)
		if (memcmp(g.allocs[i - 1].addr, g.allocs[i].addr, ADDR_LEN) >= 0)
			abort();
	for (size_t i = 1; i < g.nvalidators; i++)
		if (memcmp(g.validators[i - 1].pubkey, g.validators[i].pubkey, PUBKEY_LEN) >= 0)
			abort();
	uint8_t id[HASH_LEN];
	memcpy(id, g.hash, HASH_LEN);
	genesis_finish(&g);
	if (memcmp(id, g.hash, HASH_LEN) != 0)
		abort(); /* the chain id depends on more than the parsed content */
	genesis_free(&g);
	return 0;
}

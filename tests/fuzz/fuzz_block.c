/* libFuzzer target for block_decode: no input may crash it or make it leak,
 * and whatever decodes must re-encode to exactly the input bytes; the hashes
 * of a decoded block must be computable.
 * fuzz-sources: core/buf.c core/error.c core/sha256.c core/keys.c core/network.c core/bech32.c
 * fuzz-sources: core/merkle.c core/tx.c core/block.c
 */
#include <stdlib.h>
#include <string.h>

#include "core/block.h"

/* Small limits, so the limit paths are reached by short inputs. */
static const struct block_limits fuzz_limits = {.max_txs = 64, .max_tx_payload = 4096};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block blk;
	if (block_decode(&blk, data, size, &fuzz_limits) != 0)
		return 0;
	struct buf b;
	buf_init(&b);
	block_encode(&blk, &b);
	if (b.len != size || memcmp(b.data, data, size) != 0)
		abort(); /* decoded, but not canonical */
	uint8_t h[HASH_LEN];
	block_hash(&blk, h);
	block_tx_root(&blk, h);
	commit_hash(&blk.last_commit, h);
	buf_free(&b);
	block_free(&blk);
	return 0;
}

/* The block producer (see producer.h): starting and stopping the consensus
 * driver that builds, agrees on and connects every block, and building the
 * block it proposes from the mempool. Not for: the engine's handling
 * (consensus.c) or block rules (chain.c). */
#include <stdlib.h>

#include "core/error.h"
#include "node/consensus.h"
#include "node/producer.h"

int producer_start(struct node *n, char *err, size_t errlen)
{
	int rc = consensus_start(n, err, errlen);
	if (rc < 0 && !err[0])
		assay_fail(err, errlen, rc, "cannot start consensus: %s", assay_strerror(rc));
	return rc;
}

void producer_stop(struct node *n)
{
	consensus_stop(n);
}

int producer_build_block(chain_t *c, mempool_t *m, uint64_t time_ms, const uint8_t sk[SECKEY_LEN],
			 struct block *blk, char *err, size_t errlen)
{
	/* The whole pool, not max_block_txs of it: the builder passes over a
	 * candidate that does not fit without encoding it and stops once the
	 * block is full by count, so the long tail costs little. */
	size_t cap = mempool_size(m);
	const struct tx **cand = malloc((cap ? cap : 1) * sizeof(*cand));
	uint8_t (*ids)[HASH_LEN] = malloc((cap ? cap : 1) * sizeof(*ids)); /* the pool's, not hashed again */
	if (!cand || !ids) {
		free(cand);
		free(ids);
		block_init(blk);
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	}
	size_t k = mempool_select_ids(m, cand, ids, cap);
	int rc = chain_build_block_ids(c, cand, (const uint8_t(*)[HASH_LEN])ids, k, time_ms, sk, blk, NULL,
				       NULL, err, errlen);
	free(cand);
	free(ids);
	return rc;
}

/* The block producer (see producer.h): starting and stopping the consensus
 * driver that builds, agrees on and connects every block. Not for: the
 * engine's handling (consensus.c) or block rules (chain.c). */
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

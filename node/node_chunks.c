/* The node's side of output availability (docs/compute.md §15): the one
 * path that accepts a chunk (from RPC or a peer), the availability check of
 * a peer's block with the retry once its chunks arrive, the mempool policy
 * for job_chunks transactions, the p2p callbacks for chunks, and pruning
 * after each block. Not for: the rules (consensus/compute/avail.h) or the
 * storage layout (chunkstore.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/chunkstore.h"
#include "node/node.h"

#define NODE_CHUNKS_MISSING_MAX \
	256 /* chunks one block can reference: 10000 txs would be more; asked in rounds */

static void retry_pending(struct node *n)
{
	if (!n->avail_pending)
		return;
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	struct block_limits lim = {p->max_block_txs, p->max_tx_bytes};
	struct block blk;
	uint8_t missing[1][HASH_LEN];
	size_t nmissing;
	char err[256];
	if (block_decode(&blk, n->avail_pending, n->avail_pending_len, &lim)) {
		node_chunks_free(n);
		return;
	}
	if (blk.hdr.height != chain_height(n->chain) + 1) {
		block_free(&blk);
		node_chunks_free(n); /* the chain moved on without it */
		return;
	}
	int rc = chunkstore_check_block(chain_store(n->chain), &blk, missing, 1, &nmissing, err, sizeof(err));
	if (rc == 0) {
		node_chunks_free(n);
		log_info("avail: chunks of block %llu arrived; connecting it",
			 (unsigned long long)blk.hdr.height);
		rc = node_connect_block(n, &blk, NULL, NODE_BLOCK_PEER, err, sizeof(err));
		if (rc && !assay_err_is_local(rc))
			log_warn("avail: block %llu not applied: %s", (unsigned long long)blk.hdr.height,
				 err);
		if (!rc && n->net)
			net_on_tip_changed(n->net); /* sync goes on from the new tip */
	}
	block_free(&blk);
}

int node_chunks_accept(struct node *n, const uint8_t *enc, size_t len, uint8_t hash[HASH_LEN], char *err,
		       size_t errlen)
{
	struct ledger l = chain_ledger(n->chain);
	int rc = chunkstore_accept(chain_store(n->chain), &l, enc, len, hash, err, errlen);
	if (rc)
		return rc;
	if (n->net)
		net_announce_chunk(n->net, hash);
	retry_pending(n);
	return 0;
}

/* Blocks this far below the best height known may reference chunks every
 * node has pruned (docs/compute.md §15.7): the validators that finalized
 * them checked their availability, so a node catching up does not. */
static int older_than_retention(struct node *n, const struct block *blk)
{
	struct net_sync_status st = {0};
	if (n->net)
		net_sync_status(n->net, &st);
	uint64_t best = st.target > chain_height(n->chain) ? st.target : chain_height(n->chain);
	return blk->hdr.height + chain_genesis(n->chain)->compute.chunk_retention_blocks < best;
}

static int check_block(struct node *n, const struct block *blk, int keep, char *err, size_t errlen)
{
	if (older_than_retention(n, blk))
		return 0;
	uint8_t(*missing)[HASH_LEN] = malloc(NODE_CHUNKS_MISSING_MAX * HASH_LEN);
	size_t nmissing = 0;
	if (!missing)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	int rc = chunkstore_check_block(chain_store(n->chain), blk, missing, NODE_CHUNKS_MISSING_MAX,
					&nmissing, err, errlen);
	if (rc == ASSAY_EUNAVAIL && keep && blk->hdr.height == chain_height(n->chain) + 1) {
		struct buf b;
		buf_init(&b);
		block_encode(blk, &b);
		if (!b.oom) {
			node_chunks_free(n);
			n->avail_pending = buf_take(&b, &n->avail_pending_len);
		}
		buf_free(&b);
	}
	if (rc == ASSAY_EUNAVAIL) {
		if (n->net)
			net_request_chunks(n->net, (const uint8_t(*)[32])missing,
					   nmissing < NODE_CHUNKS_MISSING_MAX ? nmissing
									      : NODE_CHUNKS_MISSING_MAX);
		log_info("avail: block %llu waits for %zu chunk(s)", (unsigned long long)blk->hdr.height,
			 nmissing);
	}
	free(missing);
	return rc;
}

int node_chunks_check_block(struct node *n, const struct block *blk, char *err, size_t errlen)
{
	return check_block(n, blk, 1, err, errlen);
}

int node_chunks_check_proposal(struct node *n, const struct block *blk, char *err, size_t errlen)
{
	return check_block(n, blk, 0, err, errlen);
}

int node_chunks_tx_ready(struct node *n, const struct tx *t, char *err, size_t errlen)
{
	if (t->kind != TX_JOB_CHUNKS)
		return 0;
	struct block one;
	uint8_t missing[1][HASH_LEN];
	size_t nmissing;
	block_init(&one);
	one.ntx = 1;
	one.txs = (struct tx *)t;
	int rc = chunkstore_check_block(chain_store(n->chain), &one, missing, 1, &nmissing, err, errlen);
	if (rc == ASSAY_EUNAVAIL)
		snprintf(err, errlen,
			 "%zu referenced chunk(s) not held by this node: submit them first (submitjobchunk)",
			 nmissing);
	return rc;
}

void node_chunks_block_connected(struct node *n, uint64_t height)
{
	size_t pruned = 0;
	struct ledger l = chain_ledger(n->chain);
	int rc = chunkstore_prune(chain_store(n->chain), &l, &chain_genesis(n->chain)->compute, height,
				  &pruned);
	if (rc)
		log_warn("avail: pruning chunks failed: %s", assay_strerror(rc));
	else if (pruned)
		log_info("avail: pruned %zu chunk(s) past chunk_retention_blocks", pruned);
	if (n->avail_pending)
		retry_pending(n);
}

void node_chunks_free(struct node *n)
{
	free(n->avail_pending);
	n->avail_pending = NULL;
	n->avail_pending_len = 0;
}

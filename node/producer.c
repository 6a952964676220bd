/* The block producer (see producer.h): the timer, building a block from the
 * mempool's best candidates, signing its commit and handing it to
 * node_connect_block. Not for: what happens once a block is connected, or
 * the rules a block must meet (chain.c). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "node/producer.h"

int producer_produce_block(struct node *n)
{
	if (n->aborted)
		return ASSAY_EIO; /* nothing more is written after an abort */
	size_t cap = chain_genesis(n->chain)->params.max_block_txs;
	const struct tx **cand = malloc((cap ? cap : 1) * sizeof(*cand));
	if (!cand) {
		node_abort(n, ASSAY_ENOMEM, "producer: out of memory");
		return ASSAY_ENOMEM;
	}
	size_t k = mempool_select(n->mempool, cand, cap);
	struct block blk;
	char err[256], what[320];
	uint64_t height = chain_height(n->chain) + 1;
	int rc = chain_build_block(n->chain, cand, k, node_now_ms(), n->key_sk, &blk, NULL, NULL, err, sizeof(err));
	free(cand);
	if (rc) {
		snprintf(what, sizeof(what), "producer: cannot build block %llu: %s", (unsigned long long)height, err);
		if (assay_err_is_local(rc))
			node_abort(n, rc, what);
		else
			log_error("%s", what);
		return rc;
	}
	uint8_t hash[HASH_LEN];
	struct commit commit;
	block_hash(&blk, hash);
	chain_sign_commit(n->chain, n->key_sk, blk.hdr.height, hash, &commit);
	rc = node_connect_block(n, &blk, &commit, NODE_BLOCK_PRODUCED, err, sizeof(err));
	commit_free(&commit);
	if (rc && !assay_err_is_local(rc))
		log_error("producer: block %llu rejected: %s", (unsigned long long)height, err);
	block_free(&blk);
	return rc;
}

static void on_produce(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	producer_produce_block(arg);
}

/* Without the BFT engine a validator produces alone only when it holds more
 * than 2/3 of the stake (a one-validator chain). */
static int may_produce_alone(const struct node *n)
{
	uint64_t total = 0, mine = 0;
	for (size_t i = 0; i < n->genesis.nvalidators; i++) {
		total += n->genesis.validators[i].stake;
		if (memcmp(n->genesis.validators[i].pubkey, n->key_pk, PUBKEY_LEN) == 0)
			mine = n->genesis.validators[i].stake;
	}
	return (unsigned __int128)mine * 3 > (unsigned __int128)total * 2;
}

int producer_start(struct node *n)
{
	if (!n->has_key)
		return 0;
	if (!may_produce_alone(n)) {
		log_warn("validator key is not a >2/3 validator of this chain: not producing blocks");
		return 0;
	}
	struct timeval tv = {(time_t)(n->blocktime_ms / 1000), (suseconds_t)(n->blocktime_ms % 1000) * 1000};
	n->produce_ev = event_new(n->base, -1, EV_PERSIST, on_produce, n);
	if (!n->produce_ev)
		return ASSAY_ENOMEM;
	event_add(n->produce_ev, &tv);
	char addr[ADDR_STR_MAX];
	uint8_t a[ADDR_LEN];
	address_from_pubkey(n->key_pk, a);
	address_encode(n->genesis.net, a, addr);
	log_info("producing a block every %llu ms as validator %s", (unsigned long long)n->blocktime_ms, addr);
	return 0;
}

void producer_stop(struct node *n)
{
	if (n->produce_ev) {
		event_free(n->produce_ev);
		n->produce_ev = NULL;
	}
}

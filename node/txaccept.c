/* The one "accept a transaction" path (see txaccept.h). Every stateless
 * check of a transaction from outside runs here, once, before the mempool
 * sees it (mempool_add_verified then skips the signature). Not for: rules of
 * validity or mempool policy, which it only calls. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/txaccept.h"

static int refuse(struct node *n, enum txaccept_stage *stage, enum txaccept_stage at, int rc)
{
	*stage = at;
	if (!assay_err_is_local(rc)) /* our own failure is no verdict on the transaction */
		n->txs_rejected++;
	return rc;
}

int txaccept_submit(struct node *n, const uint8_t *enc, size_t len, enum txaccept_origin origin,
		    uint8_t txid[HASH_LEN], enum txaccept_stage *stage, char *err, size_t errlen)
{
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	const char *from = origin == TXACCEPT_FROM_PEER ? "a peer" : "a client";
	struct tx t;
	char hex[65];
	*stage = TXACCEPT_OK;
	memset(txid, 0, HASH_LEN);
	if (len > p->max_tx_bytes) {
		snprintf(err, errlen, "%zu bytes, limit %u", len, p->max_tx_bytes);
		return refuse(n, stage, TXACCEPT_CHECK, ASSAY_ELIMIT);
	}
	char derr[160];
	int rc = tx_decode_err(&t, enc, len, p->max_tx_bytes, derr, sizeof(derr));
	if (rc) {
		snprintf(err, errlen, "%s", derr);
		return refuse(n, stage, TXACCEPT_DECODE, rc);
	}
	tx_id(&t, txid);
	hex_encode(txid, HASH_LEN, hex);
	if (mempool_get(n->mempool, txid)) {
		tx_free(&t);
		snprintf(err, errlen, "transaction already in the mempool");
		return ASSAY_EEXISTS;
	}
	rc = tx_rules_check(p, chain_genesis(n->chain)->hash, &t, 1, err, errlen);
	if (rc) {
		log_info("mempool: invalid transaction %.16s from %s: %s", hex, from, err);
		tx_free(&t);
		return refuse(n, stage, TXACCEPT_CHECK, rc);
	}
	rc = mempool_add_verified(n->mempool, &t, txid, err, errlen);
	tx_free(&t);
	if (rc == ASSAY_EEXISTS)
		return rc;
	if (rc) {
		log_debug("mempool: refused %.16s from %s: %s", hex, from, err);
		return refuse(n, stage, TXACCEPT_MEMPOOL, rc);
	}
	log_debug("mempool: accepted %.16s from %s", hex, from);
	if (origin == TXACCEPT_FROM_CLIENT && n->net)
		net_announce_tx(n->net, txid);
	return 0;
}

/* The one "accept a transaction" path (see txaccept.h). Every stateless
 * check of a transaction from outside runs here, once, before the mempool
 * sees it (mempool_add_verified then skips the signature). A batch runs in
 * three passes: decode and stateless rules on this thread, the signatures
 * on a pool of threads (node/sigcheck.h) through the signature cache, then
 * admission in order. Not for: rules of validity or mempool policy, which
 * it only calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/sigcheck.h"
#include "node/txaccept.h"

static int refuse(struct node *n, struct txaccept_result *r, enum txaccept_stage at, int rc)
{
	r->stage = at;
	r->rc = rc;
	if (!assay_err_is_local(rc)) /* our own failure is no verdict on the transaction */
		n->txs_rejected++;
	return rc;
}

static int verify_threads_of(const struct node *n)
{
	if (n->cfg.verifythreads > 0)
		return n->cfg.verifythreads;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	return ncpu > 0 ? (int)ncpu : 1;
}

/* Pass 1 for one transaction: size, decode, already pooled, stateless
 * rules but the signature. 0 when t (decoded, the caller's to free) goes
 * on to the signature check; otherwise r says why not and t is empty. */
static int precheck(struct node *n, const uint8_t *enc, size_t len, struct tx *t, struct txaccept_result *r)
{
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	memset(t, 0, sizeof(*t));
	if (len > p->max_tx_bytes) {
		snprintf(r->err, sizeof(r->err), "%zu bytes, limit %u", len, p->max_tx_bytes);
		return refuse(n, r, TXACCEPT_CHECK, ASSAY_ELIMIT);
	}
	int rc = tx_decode_err(t, enc, len, p->max_tx_bytes, r->err, sizeof(r->err));
	if (rc)
		return refuse(n, r, TXACCEPT_DECODE, rc);
	tx_id(t, r->txid);
	if (mempool_get(n->mempool, r->txid)) {
		tx_free(t);
		snprintf(r->err, sizeof(r->err), "transaction already in the mempool");
		return r->rc = ASSAY_EEXISTS;
	}
	rc = tx_rules_check(p, chain_genesis(n->chain)->hash, t, 0, r->err, sizeof(r->err));
	if (rc) {
		tx_free(t);
		return refuse(n, r, TXACCEPT_CHECK, rc);
	}
	if ((rc = node_chunks_tx_ready(n, t, r->err, sizeof(r->err))) != 0) { /* avail: chunks first */
		tx_free(t);
		return refuse(n, r, assay_err_is_local(rc) || rc == ASSAY_EUNAVAIL ? TXACCEPT_MEMPOOL : TXACCEPT_CHECK, rc);
	}
	return 0;
}

/* Pass 3 for one transaction whose signature verified. */
static int admit(struct node *n, const struct tx *t, enum txaccept_origin origin, struct txaccept_result *r)
{
	char hex[65];
	const char *from = origin == TXACCEPT_FROM_PEER ? "a peer" : "a client";
	hex_encode(r->txid, HASH_LEN, hex);
	int rc = mempool_add_verified(n->mempool, t, NULL, r->err, sizeof(r->err));
	if (rc == ASSAY_EEXISTS)
		return r->rc = rc;
	if (rc) {
		log_debugc(LOG_CAT_MEMPOOL, "mempool: refused %.16s from %s: %s", hex, from, r->err);
		return refuse(n, r, TXACCEPT_MEMPOOL, rc);
	}
	log_debugc(LOG_CAT_MEMPOOL, "mempool: accepted %.16s from %s", hex, from);
	if (origin == TXACCEPT_FROM_CLIENT && n->net)
		net_announce_tx(n->net, r->txid);
	return 0;
}

int txaccept_submit_batch(struct node *n, const uint8_t *const *encs, const size_t *lens, size_t count,
			  enum txaccept_origin origin, int nthreads, struct txaccept_result *res)
{
	if (count > TXACCEPT_MAX_BATCH)
		return ASSAY_ELIMIT;
	const char *from = origin == TXACCEPT_FROM_PEER ? "a peer" : "a client";
	struct tx *txs = calloc(count ? count : 1, sizeof(*txs));
	uint8_t(*txids)[HASH_LEN] = malloc((count ? count : 1) * sizeof(*txids));
	size_t *which = malloc((count ? count : 1) * sizeof(*which)); /* txs[k] is encs[which[k]] */
	int rc = 0;
	size_t k = 0;
	for (size_t i = 0; i < count; i++)
		memset(&res[i], 0, sizeof(res[i]));
	if (!txs || !txids || !which) {
		rc = ASSAY_ENOMEM;
		for (size_t i = 0; i < count; i++) {
			snprintf(res[i].err, sizeof(res[i].err), "out of memory");
			refuse(n, &res[i], TXACCEPT_CHECK, rc);
		}
		goto done;
	}
	for (size_t i = 0; i < count; i++) {
		if (precheck(n, encs[i], lens[i], &txs[k], &res[i]) != 0) {
			if (res[i].stage == TXACCEPT_CHECK) {
				char hex[65];
				hex_encode(res[i].txid, HASH_LEN, hex);
				log_info("mempool: invalid transaction %.16s from %s: %s", hex, from,
					 res[i].err);
			}
			continue;
		}
		memcpy(txids[k], res[i].txid, HASH_LEN);
		which[k++] = i;
	}
	/* The signatures: taken from the cache or verified on nthreads
	 * threads (each verified one cached), while this thread admits them
	 * to the mempool in the order given as their verdicts come in, and
	 * verifies beside the helpers when the next verdict is not in yet. A
	 * signature is a property of the bytes alone, so its verdict is the
	 * same whenever it is taken: the outcomes are those of admitting each
	 * in turn. */
	sigcheck_t *sc =
		k ? sigcheck_start_cached(txs, (const uint8_t(*)[HASH_LEN])txids, k,
					  nthreads > 0 ? nthreads : verify_threads_of(n), n->sigcache, 1)
		  : NULL;
	if (k && !sc)
		rc = ASSAY_ENOMEM;
	for (size_t j = 0; j < k; j++) {
		struct txaccept_result *r = &res[which[j]];
		if (rc) { /* after a local failure nothing more is admitted */
			r->rc = rc;
			r->stage = TXACCEPT_MEMPOOL;
			snprintf(r->err, sizeof(r->err), "not admitted after a local failure");
			continue;
		}
		if (sigcheck_wait(sc, j)) {
			char hex[65];
			hex_encode(r->txid, HASH_LEN, hex);
			snprintf(r->err, sizeof(r->err), "bad signature");
			log_info("mempool: invalid transaction %.16s from %s: %s", hex, from, r->err);
			refuse(n, r, TXACCEPT_CHECK, ASSAY_ESIG);
			continue;
		}
		int e = admit(n, &txs[j], origin, r);
		if (assay_err_is_local(e))
			rc = e;
	}
	char ignored[8];
	sigcheck_finish(sc, ignored, sizeof(ignored)); /* joins the helpers */
done:
	for (size_t j = 0; txs && j < k; j++)
		tx_free(&txs[j]);
	free(txs);
	free(txids);
	free(which);
	return rc;
}

int txaccept_submit(struct node *n, const uint8_t *enc, size_t len, enum txaccept_origin origin,
		    uint8_t txid[HASH_LEN], enum txaccept_stage *stage, char *err, size_t errlen)
{
	struct txaccept_result r;
	int rc = txaccept_submit_batch(n, &enc, &len, 1, origin, 1, &r);
	if (!rc)
		rc = r.rc;
	memcpy(txid, r.txid, HASH_LEN);
	*stage = r.rc ? r.stage : TXACCEPT_OK;
	if (r.rc)
		snprintf(err, errlen, "%s", r.err);
	return rc;
}

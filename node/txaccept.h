/* "Accept a transaction": the one entry point for a transaction that comes
 * from outside the node, used by the sendrawtransaction(s) RPC and by p2p
 * relay alike (Bitcoin Core's BroadcastTransaction): decode, stateless
 * check, signatures (in parallel for a batch, through the signature
 * cache), mempool admission, relay, counters and logs. Not for: the rules
 * themselves (tx_rules_check, mempool.c). */
#ifndef ASSAY_NODE_TXACCEPT_H
#define ASSAY_NODE_TXACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "node/node.h"

/* Where the transaction was refused, so that each caller can say whose
 * fault it is: an RPC client gets a decode error or a rejection; a peer is
 * scored only for what is wrong with the transaction itself. */
enum txaccept_stage {
	TXACCEPT_OK = 0,
	TXACCEPT_DECODE,  /* the bytes are no transaction (or too many of them) */
	TXACCEPT_CHECK,   /* stateless rules: chain, kind, sizes, fee floor, signature */
	TXACCEPT_MEMPOOL, /* policy against our state: nonce, funds, pool full; or our own failure */
};

/* Where the transaction came from: a local client (RPC), which we announce
 * to every peer, or a peer, which net/ relays itself to every peer but the
 * sender once this returns 0. */
enum txaccept_origin {
	TXACCEPT_FROM_CLIENT,
	TXACCEPT_FROM_PEER,
};

/* Accepts the encoded transaction enc (len bytes) into the mempool. 0 when
 * admitted (and announced, for a client's), ASSAY_EEXISTS when the mempool
 * holds it already (txid filled: success for a client); otherwise the error
 * code, with *stage saying which step refused it and why in err. txid is
 * filled whenever the bytes decode. Refusals are counted in
 * n->txs_rejected; a local failure (assay_err_is_local: out of memory, a
 * failed state read) is returned as it is and not counted. */
int txaccept_submit(struct node *n, const uint8_t *enc, size_t len, enum txaccept_origin origin,
		    uint8_t txid[HASH_LEN], enum txaccept_stage *stage, char *err, size_t errlen);

/* Most transactions in one txaccept_submit_batch (and one
 * sendrawtransactions call, docs/rpc.md). */
#define TXACCEPT_MAX_BATCH 1000

/* One transaction's outcome in a batch: what txaccept_submit returns for it. */
struct txaccept_result {
	int rc;                    /* 0, ASSAY_EEXISTS, or the refusal's code */
	enum txaccept_stage stage; /* where it was refused */
	uint8_t txid[HASH_LEN];    /* filled whenever the bytes decode */
	char err[192];             /* why, when rc != 0 */
};

/* Accepts count (at most TXACCEPT_MAX_BATCH) encoded transactions, encs[i]
 * of lens[i] bytes, with the outcome of each in res[i]: the same outcomes,
 * counters and order of admission as count calls of txaccept_submit, but
 * the signatures are checked on nthreads threads at once (the stateless
 * rules and the signature cache first; each that verifies is cached), and
 * only then does the mempool see them, one by one in order. nthreads < 1:
 * the node's own count (-verifythreads, else one per CPU). Returns 0, or
 * the first local failure (then res holds it and every transaction after
 * it is marked with it, not admitted). ASSAY_ELIMIT when count is over the
 * bound (nothing done). */
int txaccept_submit_batch(struct node *n, const uint8_t *const *encs, const size_t *lens, size_t count,
			  enum txaccept_origin origin, int nthreads, struct txaccept_result *res);

#endif

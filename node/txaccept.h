/* "Accept a transaction": the one entry point for a transaction that comes
 * from outside the node, used by the sendrawtransaction RPC and by p2p
 * relay alike (Bitcoin Core's BroadcastTransaction): decode, stateless
 * check, mempool admission, relay, counters and logs. Not for: the rules
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

#endif

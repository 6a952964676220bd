/* "Accept a transaction": the one entry point for a transaction that comes
 * from outside the node, used by the sendrawtransaction(s) RPC and by p2p
 * relay alike (Bitcoin Core's BroadcastTransaction): decode, stateless
 * check, signatures (in parallel for a batch, through the signature
 * cache), mempool admission, relay, counters and logs. Signatures are
 * checked either while the caller waits (txaccept_submit*,
 * txaccept_batch_finish) or on the node's persistent verification pool
 * while the event thread goes on serving others (txaccept_batch_defer,
 * txaccept_relay), the batch then admitted in order from the event loop.
 * Not for: the rules themselves (tx_rules_check, mempool.c). */
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
 * rules and the signature cache first; each the mempool takes is cached), and
 * only then does the mempool see them, one by one in order. nthreads < 1:
 * the node's own count (-verifythreads, else one per CPU). Returns 0, or
 * the first local failure (then res holds it and every transaction after
 * it is marked with it, not admitted). ASSAY_ELIMIT when count is over the
 * bound (nothing done). */
int txaccept_submit_batch(struct node *n, const uint8_t *const *encs, const size_t *lens, size_t count,
			  enum txaccept_origin origin, int nthreads, struct txaccept_result *res);

/* ---- Admission off the event thread ---- */

/* Transactions whose signatures may be on the verification pool at once,
 * deferred RPC calls and relayed batches together (docs/rpc.md "Limits").
 * A call or relayed transaction that would go over it is handled while
 * its caller waits instead (the event thread verifies it beside the pool):
 * nothing is refused for it, the node only stops taking more work until
 * that one is admitted. */
#define TXACCEPT_MAX_IN_FLIGHT 8000
/* Encoded bytes of relayed transactions waiting for their signature check
 * at once. Over it a relayed transaction is refused for now (ASSAY_EFULL,
 * stage TXACCEPT_MEMPOOL: no fault of the peer's), so that what peers send
 * is held in memory only up to this, however well it compresses on the
 * wire (docs/p2p.md §3). */
#define TXACCEPT_MAX_RELAY_BYTES (32u << 20)
/* Deferred sendrawtransaction(s) calls at once: half of RPC_MAX_DEFERRED,
 * so that long polls keep the other half. Over it a call waits. */
#define TXACCEPT_MAX_DEFERRED_CALLS 16
/* txaccept_relay's return for a transaction whose verdict comes later. */
#define TXACCEPT_PENDING 1

/* Starts the verification pool (nthreads < 1: -verifythreads, else one per
 * CPU) and its wake-up on n->base. 0, or an error in err. Without it every
 * admission is made while its caller waits. */
int txaccept_start(struct node *n, int nthreads, char *err, size_t errlen);
/* Finishes every batch in flight (admitted, their callbacks run), then
 * stops the pool. Before the RPC server and p2p are freed. */
void txaccept_stop(struct node *n);
/* Threads of the pool (0: not started). */
int txaccept_pool_threads(const struct node *n);
/* Transactions whose signatures are queued or being checked now. */
size_t txaccept_in_flight(const struct node *n);

/* A batch built one transaction at a time: pass 1 (size, decode, already
 * pooled, stateless rules) runs in txaccept_batch_add, the signatures and
 * admission at finish or defer. res (room for cap, cap at most
 * TXACCEPT_MAX_BATCH) is the caller's and stays put until the batch ends.
 * NULL when out of memory. */
struct txaccept_batch;
struct txaccept_batch *txaccept_batch_new(struct node *n, enum txaccept_origin origin, size_t cap,
					  struct txaccept_result *res);
/* Pass 1 for the next transaction (its outcome goes to res[index], in the
 * order added): 0 when it goes on to the signature check, else its
 * outcome's rc (ASSAY_EEXISTS: pooled already; a refusal). ASSAY_ELIMIT
 * when the batch holds cap already (nothing done). */
int txaccept_batch_add(struct txaccept_batch *b, const uint8_t *enc, size_t len);
/* Transactions added that wait for their signature check. */
size_t txaccept_batch_pending(const struct txaccept_batch *b);
/* Checks the signatures while the caller waits (nthreads as in
 * txaccept_submit_batch), admits in order, frees b: 0 or the first local
 * failure (as txaccept_submit_batch). */
int txaccept_batch_finish(struct txaccept_batch *b, int nthreads);
/* Called on the event thread once a deferred batch is admitted: res as
 * given to txaccept_batch_new, count added, rc as txaccept_batch_finish's. */
typedef void (*txaccept_done_fn)(void *arg, struct txaccept_result *res, size_t count, int rc);
/* 1 when a batch of `pending` transactions may be deferred now (the pool
 * runs, TXACCEPT_MAX_IN_FLIGHT and TXACCEPT_MAX_DEFERRED_CALLS allow). */
int txaccept_can_defer(const struct node *n, size_t pending);
/* Hands b's signatures to the pool and returns at once; b is admitted,
 * after every batch deferred before it, from the event loop, then fn runs
 * and b is freed. 0; ASSAY_EFULL when txaccept_can_defer says no (b is
 * untouched: finish it). */
int txaccept_batch_defer(struct txaccept_batch *b, txaccept_done_fn fn, void *arg);

/* ---- Pass 1 and the signatures off the event thread ----
 * A batch prepared on a pool thread (the RPC server's prepare step,
 * docs/rpc.md "Threads"): size, decode, txid and the stateless rules in
 * txaccept_prep_add, the signatures on the pool (txaccept_prep_verify);
 * these read only what stays put while the node runs (the genesis, the
 * signature cache, which locks itself). The event thread then does only
 * what reads or changes the node's state, in txaccept_prep_admit: already
 * pooled, chunks held, admission in order. The outcomes, counters and
 * logs are those of txaccept_submit_batch on the same transactions. */
struct txaccept_prep;
/* Any thread, while the pool runs (between txaccept_start and the end of
 * txaccept_stop): room for cap (at most TXACCEPT_MAX_BATCH). NULL when
 * out of memory or cap is over the bound. */
struct txaccept_prep *txaccept_prep_new(struct node *n, size_t cap);
/* Any thread (the one that made p): pass 1's stateless part for the next
 * transaction. ASSAY_ELIMIT when p holds cap already. */
int txaccept_prep_add(struct txaccept_prep *p, const uint8_t *enc, size_t len);
/* Any thread (the one that made p), once all are added: the signatures of
 * those that passed go to the pool; done(arg) runs once every verdict is
 * in, on whichever thread gave the last one. A handful (at most 8) are
 * verified here instead, as they are all when the pool is gone: done then
 * runs here before this returns. */
void txaccept_prep_verify(struct txaccept_prep *p, void (*done)(void *arg), void *arg);
/* Event thread, after done: the rest of each transaction's checks and its
 * admission, in order; *res (count entries, p's: valid until
 * txaccept_prep_free) holds the outcomes. 0 or the first local failure
 * (as txaccept_submit_batch). */
int txaccept_prep_admit(struct txaccept_prep *p, enum txaccept_origin origin, const struct txaccept_result **res,
			size_t *count);
/* Any thread (not while its signatures are on the pool). NULL: nothing. */
void txaccept_prep_free(struct txaccept_prep *p);
/* Event thread: runs fn(arg) once on a pool thread, in order with the
 * signature batches queued before it. 0; -1 when the pool is not running
 * (nothing done). */
int txaccept_run(struct node *n, void (*fn)(void *arg), void *arg);

/* A transaction relayed by peer `peer` (net's id): pass 1 now; the
 * signature joins the relay batch of this event-loop turn, checked on the
 * pool. TXACCEPT_PENDING then, with txid filled: the verdict comes later
 * through node_net_tx_verdict. Otherwise the verdict now, as
 * txaccept_submit's (also when the pool is not running or full). */
int txaccept_relay(struct node *n, uint64_t peer, const uint8_t *enc, size_t len, uint8_t txid[HASH_LEN],
		   enum txaccept_stage *stage);
/* node_net.c: the later verdict on a relayed transaction (rc and stage as
 * txaccept_submit's), handed to net/ for relay or scoring. */
void node_net_tx_verdict(struct node *n, uint64_t peer, const uint8_t txid[HASH_LEN], int rc,
			 enum txaccept_stage stage);

#endif

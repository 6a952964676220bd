/* Parallel verification of transaction signatures: a block's checks run on
 * helper threads while the calling thread executes the block, and the
 * caller joins in once it is done; and the node's persistent verification
 * pool, which checks admission batches queued by the event thread. Node-
 * side because it uses threads; the rule itself (a valid signature,
 * protocol §5.1) is tx_verify_sig's. */
#ifndef ASSAY_NODE_SIGCHECK_H
#define ASSAY_NODE_SIGCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "core/tx.h"
#include "node/sigcache.h"

#define SIGCHECK_MAX_THREADS 64 /* helpers per check, at most */

typedef struct sigcheck sigcheck_t;

/* Starts checking txs[0..n) on nthreads - 1 helpers (none for a handful of
 * transactions); txs must stay put until sigcheck_finish. NULL when out of
 * memory. */
sigcheck_t *sigcheck_start(const struct tx *txs, size_t n, int nthreads);
/* The verdict on txs[i] as soon as it is known: 0 or ASSAY_ESIG. While it
 * is not, this thread verifies unclaimed ones itself, so a caller that
 * consumes verdicts in order works beside the helpers instead of waiting
 * for all of them. */
int sigcheck_wait(sigcheck_t *sc, size_t i);
/* Verifies what is left on this thread, joins the helpers and frees sc:
 * 0, or ASSAY_ESIG with the first bad index in err. NULL sc is fine (0). */
int sigcheck_finish(sigcheck_t *sc, char *err, size_t errlen);
/* The same, skipping each transaction whose signature the cache holds
 * (txids[i] is txs[i]'s id; both stay put until sigcheck_finish); insert:
 * each that verifies is cached (admission does; a block's apply does not,
 * its signatures are seldom seen again). cache NULL: sigcheck_start. */
sigcheck_t *sigcheck_start_cached(const struct tx *txs, const uint8_t (*txids)[HASH_LEN], size_t n, int nthreads,
				  sigcache_t *cache, int insert);
/* All at once: bad[i] set for each that fails (room for n); 0 when all
 * verify, else ASSAY_ESIG. */
int sigcheck_verify(const struct tx *txs, size_t n, int nthreads, uint8_t *bad);
/* The same through the cache (admission): a held signature is taken as
 * verified, and each one that verifies here is inserted. */
int sigcheck_verify_cached(const struct tx *txs, const uint8_t (*txids)[HASH_LEN], size_t n, int nthreads,
			   sigcache_t *cache, uint8_t *bad);

/* ---- The node's persistent verification pool ----
 * Threads started once (txaccept_start) that verify the signatures of
 * admission batches queued by the event thread, oldest batch first, so
 * that the event thread can serve other requests meanwhile. */
typedef struct sigpool sigpool_t;

/* One batch of signature checks. The submitter fills the public fields and
 * keeps txs, txids and bad in place until done; on_done(arg) runs once,
 * on whichever thread gave the last verdict (a pool thread, or a thread in
 * sigpool_help), after every bad[i] is written.
 * Or one task: task set (txs, txids, bad, on_done unused; n must be 1):
 * task(j) runs once on whichever thread claims it, in the queue's order,
 * and owns j from when it starts (the pool reads nothing of j after), so
 * it may free j or submit more jobs. */
struct sigpool_job {
	void (*task)(struct sigpool_job *j);
	const struct tx *txs;
	const uint8_t (*txids)[HASH_LEN]; /* txs[i]'s id, for the cache */
	size_t n;
	uint8_t *bad; /* bad[i] set for each signature that fails (room for n) */
	void (*on_done)(void *arg);
	void *arg;
	/* the pool's */
	size_t next;  /* next unclaimed index (under the pool's lock) */
	size_t left;  /* verdicts still to come (atomic) */
	int done;     /* atomic: every verdict is in */
	struct sigpool_job *qnext;
};

/* nthreads (1 to SIGCHECK_MAX_THREADS) threads checking through cache
 * (NULL: none); insert: each signature that verifies is inserted (else the
 * cache is only read, and the caller inserts what it keeps). NULL when the
 * threads cannot be started or memory ran out. */
sigpool_t *sigpool_new(int nthreads, sigcache_t *cache, int insert);
/* Finishes every queued job (their on_done run), then stops and joins the
 * threads. NULL: nothing. */
void sigpool_free(sigpool_t *p);
int sigpool_threads(const sigpool_t *p);
/* Queues j (n may be 0: done at once, on_done run here). */
void sigpool_submit(sigpool_t *p, struct sigpool_job *j);
/* The calling thread verifies one chunk, of j when it has unclaimed
 * signatures, else of the oldest queued job: 1, or 0 when nothing was left
 * to claim. */
int sigpool_help(sigpool_t *p, struct sigpool_job *j);
/* 1 once every verdict of j is in (acquire: bad[] may then be read). */
int sigpool_job_done(const struct sigpool_job *j);
/* Until j is done this thread verifies beside the pool (and yields when
 * every remaining signature of the queue is being checked elsewhere). */
void sigpool_wait(sigpool_t *p, struct sigpool_job *j);

#endif

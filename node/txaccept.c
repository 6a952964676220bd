/* The one "accept a transaction" path (see txaccept.h). Every stateless
 * check of a transaction from outside runs here, once, before the mempool
 * sees it (mempool_add_checked then skips them and the txid). A batch runs
 * in three passes: decode and stateless rules on the event thread, the
 * signatures through the signature cache, then admission in order. The
 * signatures are checked either on threads started for the batch while
 * the caller waits (txaccept_batch_finish), or on the node's persistent
 * pool (sigpool_*, node/sigcheck.h) while the event thread serves others:
 * deferred batches queue in order, the pool's last verdict of a batch
 * writes a byte to a pipe the event loop watches, and the loop admits the
 * finished batches at the head of the queue. Relayed transactions gather
 * into one such batch per event-loop turn. A prepared batch
 * (txaccept_prep_*, the RPC server's prepare step) runs pass 1's stateless
 * part and the signatures off the event thread altogether, leaving it the
 * checks against the node's state and admission. Not for: rules of
 * validity or mempool policy, which it only calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/sigcheck.h"
#include "node/txaccept.h"

/* The node's admission state (n->txaccept). Everything but the pool's
 * threads runs on the event thread. */
struct txaccept {
	struct node *n;
	sigpool_t *pool;
	int wake[2];                /* the pool writes a byte when a batch is done */
	struct event *wake_ev;
	struct txaccept_batch *head, *tail; /* deferred batches, in order of admission */
	size_t in_flight;           /* transactions in them and in `relay` */
	size_t relay_bytes;         /* encoded bytes of the relayed ones (TXACCEPT_MAX_RELAY_BYTES) */
	size_t deferred_calls;      /* of them, RPC calls */
	/* the relay batch of this event-loop turn */
	struct txaccept_batch *relay;
	struct txaccept_result *relay_res;
	uint64_t *relay_peers;
	struct event *relay_ev;
};

struct txaccept_batch {
	struct node *n;
	enum txaccept_origin origin;
	size_t cap, count;            /* results: room, added */
	struct txaccept_result *res;  /* the caller's */
	struct tx *txs;               /* the k that go on to their signature */
	uint8_t (*txids)[HASH_LEN];
	size_t *which;                /* txs[j] is res[which[j]] */
	size_t k;
	uint8_t *bad;
	struct sigpool_job job;
	int is_call;                  /* counted in deferred_calls */
	txaccept_done_fn fn;
	void *arg;
	uint64_t *peers;              /* relay: peers[i] sent res[i]; owned with res */
	size_t bytes;                 /* encoded bytes of the k */
	struct txaccept_batch *next;
};

/* A task queued on the pool (txaccept_run). */
struct pool_task {
	struct sigpool_job job; /* first: the pool hands the task this */
	void (*fn)(void *arg);
	void *arg;
};

static void run_task(struct sigpool_job *j)
{
	struct pool_task *t = (struct pool_task *)j;
	void (*fn)(void *) = t->fn;
	void *arg = t->arg;
	free(t);
	fn(arg);
}

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

/* Pass 1's first step, which reads nothing that changes (any thread):
 * size and decode, then the txid. 0 with t decoded (the caller's to free);
 * else the refusal's code with r->stage and r->err filled (nothing counted)
 * and t empty. */
static int precheck_decode(const struct node *n, const uint8_t *enc, size_t len, struct tx *t,
			   struct txaccept_result *r)
{
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	memset(t, 0, sizeof(*t));
	if (len > p->max_tx_bytes) {
		snprintf(r->err, sizeof(r->err), "%zu bytes, limit %u", len, p->max_tx_bytes);
		r->stage = TXACCEPT_CHECK;
		return ASSAY_ELIMIT;
	}
	int rc = tx_decode_err(t, enc, len, p->max_tx_bytes, r->err, sizeof(r->err));
	if (rc) {
		r->stage = TXACCEPT_DECODE;
		return rc;
	}
	tx_id(t, r->txid);
	return 0;
}

/* The stateless rules but the signature (any thread): 0, or the code with
 * the reason in err. */
static int precheck_rules(const struct node *n, const struct tx *t, char *err, size_t errlen)
{
	const struct genesis *g = chain_genesis(n->chain);
	return tx_rules_check(&g->params, g->hash, t, 0, err, errlen);
}

/* Pass 1's steps that read the node's state (event thread), for a decoded
 * transaction whose stateless rules gave rules_rc (reason in r->err): already pooled,
 * then the rules' verdict. 0 when it goes on to its signature; else r's
 * outcome (refusals counted). */
static int precheck_state(struct node *n, int rules_rc, struct txaccept_result *r)
{
	if (mempool_get(n->mempool, r->txid)) {
		snprintf(r->err, sizeof(r->err), "transaction already in the mempool");
		return r->rc = ASSAY_EEXISTS;
	}
	if (rules_rc)
		return refuse(n, r, TXACCEPT_CHECK, rules_rc);
	return 0;
}

/* avail (docs/compute.md §15.4): a job_chunks is admitted only once this
 * node holds its chunks. Asked by the mempool (mempool_add_checked_when)
 * after its own checks pass (nonce, funds, the job's slot and tiles), so
 * that only a transaction that can be mined is parked to wait for them
 * (node_chunks_tx_ready), anything else is refused as the mempool refuses
 * it, and those checks run once. refused: this check said no. */
struct chunks_gate {
	struct node *n;
	int refused;
};

static int chunks_ready(void *ctx, const struct tx *t, char *err, size_t errlen)
{
	struct chunks_gate *g = ctx;
	int rc = node_chunks_tx_ready(g->n, t, err, errlen);
	g->refused = rc != 0;
	return rc;
}

/* Pass 1 for one transaction: size, decode, already pooled, stateless
 * rules but the signature. 0 when t (decoded, the caller's to free) goes
 * on to the signature check; otherwise r says why not and t is empty. */
static int precheck(struct node *n, const uint8_t *enc, size_t len, struct tx *t, struct txaccept_result *r)
{
	int rc = precheck_decode(n, enc, len, t, r);
	if (rc)
		return refuse(n, r, r->stage, rc);
	rc = precheck_state(n, precheck_rules(n, t, r->err, sizeof(r->err)), r);
	if (rc)
		tx_free(t);
	return rc;
}

/* Pass 3 for one transaction whose signature verified. */
static int admit(struct node *n, const struct tx *t, enum txaccept_origin origin, struct txaccept_result *r)
{
	char hex[65];
	const char *from = origin == TXACCEPT_FROM_PEER ? "a peer" : "a client";
	hex_encode(r->txid, HASH_LEN, hex);
	/* pass 1 checked the stateless rules and computed the id */
	struct chunks_gate gate = {n, 0};
	int rc = t->kind == TX_JOB_CHUNKS
			 ? mempool_add_checked_when(n->mempool, t, r->txid, chunks_ready, &gate, r->err,
						    sizeof(r->err))
			 : mempool_add_checked(n->mempool, t, r->txid, r->err, sizeof(r->err));
	if (rc == ASSAY_EEXISTS)
		return r->rc = rc;
	if (rc && gate.refused) {
		/* EUNAVAIL: parked, no fault; a held chunk that contradicts its reference is one */
		log_debugc(LOG_CAT_MEMPOOL, "mempool: not admitted %.16s from %s: %s", hex, from, r->err);
		return refuse(n, r,
			      assay_err_is_local(rc) || rc == ASSAY_EUNAVAIL ? TXACCEPT_MEMPOOL
									     : TXACCEPT_CHECK,
			      rc);
	}
	if (rc) {
		log_debugc(LOG_CAT_MEMPOOL, "mempool: refused %.16s from %s: %s", hex, from, r->err);
		return refuse(n, r, TXACCEPT_MEMPOOL, rc);
	}
	log_debugc(LOG_CAT_MEMPOOL, "mempool: accepted %.16s from %s", hex, from);
	/* Only now is its signature cached: one that verified but was refused
	 * (a nonce gap, no funds) would be no block's, yet each took a place,
	 * so a peer could flush the cache at no cost by relaying such. */
	if (n->sigcache) {
		uint8_t key[HASH_LEN];
		sigcache_key(n->sigcache, t, r->txid, key);
		sigcache_insert(n->sigcache, key);
	}
	if (origin == TXACCEPT_FROM_CLIENT && n->net)
		net_announce_tx(n->net, r->txid);
	return 0;
}


static const char *origin_name(enum txaccept_origin origin)
{
	return origin == TXACCEPT_FROM_PEER ? "a peer" : "a client";
}

struct txaccept_batch *txaccept_batch_new(struct node *n, enum txaccept_origin origin, size_t cap,
					  struct txaccept_result *res)
{
	if (cap > TXACCEPT_MAX_BATCH)
		return NULL;
	struct txaccept_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	size_t c = cap ? cap : 1;
	b->txs = calloc(c, sizeof(*b->txs));
	b->txids = malloc(c * sizeof(*b->txids));
	b->which = malloc(c * sizeof(*b->which));
	b->bad = calloc(c, 1);
	if (!b->txs || !b->txids || !b->which || !b->bad) {
		free(b->txs);
		free(b->txids);
		free(b->which);
		free(b->bad);
		free(b);
		return NULL;
	}
	b->n = n;
	b->origin = origin;
	b->cap = cap;
	b->res = res;
	return b;
}

static void batch_free(struct txaccept_batch *b)
{
	for (size_t j = 0; j < b->k; j++)
		tx_free(&b->txs[j]);
	free(b->txs);
	free(b->txids);
	free(b->which);
	free(b->bad);
	free(b);
}

int txaccept_batch_add(struct txaccept_batch *b, const uint8_t *enc, size_t len)
{
	if (b->count >= b->cap)
		return ASSAY_ELIMIT;
	struct txaccept_result *r = &b->res[b->count++];
	memset(r, 0, sizeof(*r));
	if (precheck(b->n, enc, len, &b->txs[b->k], r) != 0) {
		if (r->stage == TXACCEPT_CHECK) {
			char hex[65];
			hex_encode(r->txid, HASH_LEN, hex);
			log_info("mempool: invalid transaction %.16s from %s: %s", hex, origin_name(b->origin), r->err);
		}
		return r->rc;
	}
	/* relayed: the same bytes twice in one turn are checked once (a
	 * client's batch keeps the outcomes of one-by-one submission) */
	for (size_t j = 0; b->peers && j < b->k; j++)
		if (memcmp(b->txids[j], r->txid, HASH_LEN) == 0) {
			tx_free(&b->txs[b->k]);
			snprintf(r->err, sizeof(r->err), "transaction already being checked");
			r->stage = TXACCEPT_MEMPOOL;
			return r->rc = ASSAY_EEXISTS;
		}
	memcpy(b->txids[b->k], r->txid, HASH_LEN);
	b->which[b->k++] = b->count - 1;
	b->bytes += len;
	return 0;
}

size_t txaccept_batch_pending(const struct txaccept_batch *b)
{
	return b->k;
}

/* Pass 3 for txs[j], whose verdict is bad: admitted or refused. rc: a
 * local failure so far (then nothing more is admitted); returns the same
 * or a new one. */
static int admit_verdict(struct node *n, enum txaccept_origin origin, const struct tx *t, struct txaccept_result *r,
			 int bad, int rc)
{
	if (rc) {
		r->rc = rc;
		r->stage = TXACCEPT_MEMPOOL;
		snprintf(r->err, sizeof(r->err), "not admitted after a local failure");
		return rc;
	}
	if (bad) {
		char hex[65];
		hex_encode(r->txid, HASH_LEN, hex);
		snprintf(r->err, sizeof(r->err), "bad signature");
		log_info("mempool: invalid transaction %.16s from %s: %s", hex, origin_name(origin), r->err);
		refuse(n, r, TXACCEPT_CHECK, ASSAY_ESIG);
		return 0;
	}
	int e = admit(n, t, origin, r);
	return assay_err_is_local(e) ? e : 0;
}

static int admit_one(struct txaccept_batch *b, size_t j, int bad, int rc)
{
	return admit_verdict(b->n, b->origin, &b->txs[j], &b->res[b->which[j]], bad, rc);
}

int txaccept_batch_finish(struct txaccept_batch *b, int nthreads)
{
	struct node *n = b->n;
	int rc = 0;
	/* The signatures: taken from the cache or verified on nthreads
	 * threads (each one the mempool takes is cached), while this thread admits them
	 * to the mempool in the order given as their verdicts come in, and
	 * verifies beside the helpers when the next verdict is not in yet. A
	 * signature is a property of the bytes alone, so its verdict is the
	 * same whenever it is taken: the outcomes are those of admitting each
	 * in turn. */
	sigcheck_t *sc = b->k ? sigcheck_start_cached(b->txs, (const uint8_t(*)[HASH_LEN])b->txids, b->k,
						      nthreads > 0 ? nthreads : verify_threads_of(n), n->sigcache, 0)
			      : NULL;
	if (b->k && !sc)
		rc = ASSAY_ENOMEM;
	for (size_t j = 0; j < b->k; j++)
		rc = admit_one(b, j, rc ? 0 : sigcheck_wait(sc, j) != 0, rc);
	char ignored[8];
	sigcheck_finish(sc, ignored, sizeof(ignored)); /* joins the helpers */
	batch_free(b);
	return rc;
}

int txaccept_submit_batch(struct node *n, const uint8_t *const *encs, const size_t *lens, size_t count,
			  enum txaccept_origin origin, int nthreads, struct txaccept_result *res)
{
	if (count > TXACCEPT_MAX_BATCH)
		return ASSAY_ELIMIT;
	struct txaccept_batch *b = txaccept_batch_new(n, origin, count, res);
	if (!b) {
		for (size_t i = 0; i < count; i++) {
			memset(&res[i], 0, sizeof(res[i]));
			snprintf(res[i].err, sizeof(res[i].err), "out of memory");
			refuse(n, &res[i], TXACCEPT_CHECK, ASSAY_ENOMEM);
		}
		return ASSAY_ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		txaccept_batch_add(b, encs[i], lens[i]);
	return txaccept_batch_finish(b, nthreads);
}

/* ---- batches prepared off the event thread ---- */

/* Written by the thread that makes it until the signatures are queued,
 * by the pool while they are checked, then read and admitted by the event
 * thread: each hand-over is ordered by the pool's lock or the last
 * verdict's release (job.left) and the event loop's wake-up (a mutex and a
 * pipe in the RPC server). Nothing in it is shared while it is written. */
struct txaccept_prep {
	struct node *n;
	size_t cap, count;
	struct txaccept_result *res;
	struct tx *txs;               /* txs[i] decoded when decoded[i] */
	uint8_t *decoded;
	int *rules_rc;                /* the stateless rules' verdict on txs[i] (reason in res[i].err) */
	struct tx *sig_txs;           /* the k that go on to their signature (copies of txs[i]'s fields) */
	uint8_t (*txids)[HASH_LEN];
	size_t *which;                /* sig_txs[j] is txs[which[j]] */
	size_t k;
	uint8_t *bad;                 /* bad[j]: sig_txs[j]'s signature failed */
	struct sigpool_job job;
	void (*done)(void *arg);
	void *arg;
};

struct txaccept_prep *txaccept_prep_new(struct node *n, size_t cap)
{
	if (cap > TXACCEPT_MAX_BATCH)
		return NULL;
	struct txaccept_prep *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	size_t c = cap ? cap : 1;
	p->n = n;
	p->cap = cap;
	p->res = calloc(c, sizeof(*p->res));
	p->txs = calloc(c, sizeof(*p->txs));
	p->decoded = calloc(c, 1);
	p->rules_rc = calloc(c, sizeof(*p->rules_rc));
	p->sig_txs = calloc(c, sizeof(*p->sig_txs));
	p->txids = malloc(c * sizeof(*p->txids));
	p->which = malloc(c * sizeof(*p->which));
	p->bad = calloc(c, 1);
	if (!p->res || !p->txs || !p->decoded || !p->rules_rc || !p->sig_txs || !p->txids || !p->which || !p->bad) {
		txaccept_prep_free(p);
		return NULL;
	}
	return p;
}

void txaccept_prep_free(struct txaccept_prep *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->txs && i < p->count; i++)
		if (p->decoded[i])
			tx_free(&p->txs[i]);
	free(p->res);
	free(p->txs);
	free(p->decoded);
	free(p->rules_rc);
	free(p->sig_txs); /* shallow copies: txs[] owned the payloads */
	free(p->txids);
	free(p->which);
	free(p->bad);
	free(p);
}

int txaccept_prep_add(struct txaccept_prep *p, const uint8_t *enc, size_t len)
{
	if (p->count >= p->cap)
		return ASSAY_ELIMIT;
	size_t i = p->count++;
	struct txaccept_result *r = &p->res[i];
	r->rc = precheck_decode(p->n, enc, len, &p->txs[i], r);
	if (r->rc)
		return r->rc;
	p->decoded[i] = 1;
	p->rules_rc[i] = precheck_rules(p->n, &p->txs[i], r->err, sizeof(r->err));
	if (p->rules_rc[i])
		return p->rules_rc[i];
	/* Its signature is checked now, before the state's checks on the
	 * event thread: a signature is a property of the bytes alone, so its
	 * verdict is the same whenever it is taken, and one that turns out
	 * pooled already cost a verification (cached) but changed no
	 * outcome. */
	p->sig_txs[p->k] = p->txs[i];
	memcpy(p->txids[p->k], r->txid, HASH_LEN);
	p->which[p->k++] = i;
	return 0;
}

/* Signatures of a prepared batch checked on the preparing thread itself
 * (a pool thread, for the RPC server's prepare step) rather than queued:
 * one chunk of the pool's, whose queueing and wake-up would cost more than
 * spreading it gains. */
#define TXACCEPT_PREP_INLINE 8

static void prep_verified(void *arg)
{
	struct txaccept_prep *p = arg;
	p->done(p->arg); /* hands p to the event thread: nothing of p is touched here after */
}

void txaccept_prep_verify(struct txaccept_prep *p, void (*done)(void *arg), void *arg)
{
	/* n->txaccept and its pool stay put until txaccept_stop has finished
	 * every job and task (the pool is freed first, the pointer cleared
	 * after): a pool thread may read them. */
	struct txaccept *q = p->n->txaccept;
	p->done = done;
	p->arg = arg;
	if (!q || !q->pool || p->k <= TXACCEPT_PREP_INLINE) {
		/* read through the cache, not written: admit() inserts what the mempool takes */
		sigcheck_t *sc = sigcheck_start_cached(p->sig_txs, (const uint8_t(*)[HASH_LEN])p->txids, p->k, 1,
						       p->n->sigcache, 0);
		for (size_t j = 0; sc && j < p->k; j++)
			p->bad[j] = sigcheck_wait(sc, j) != 0;
		char ignored[8];
		if (sc)
			sigcheck_finish(sc, ignored, sizeof(ignored));
		else /* out of memory: verified without the cache, which needs none */
			sigcheck_verify(p->sig_txs, p->k, 1, p->bad);
		prep_verified(p);
		return;
	}
	p->job.txs = p->sig_txs;
	p->job.txids = (const uint8_t(*)[HASH_LEN])p->txids;
	p->job.n = p->k;
	p->job.bad = p->bad;
	p->job.on_done = prep_verified;
	p->job.arg = p;
	sigpool_submit(q->pool, &p->job);
}

int txaccept_prep_admit(struct txaccept_prep *p, enum txaccept_origin origin, const struct txaccept_result **res,
			size_t *count)
{
	struct node *n = p->n;
	int rc = 0;
	size_t j = 0; /* the next of sig_txs */
	for (size_t i = 0; i < p->count; i++) {
		struct txaccept_result *r = &p->res[i];
		int state_rc;
		if (!p->decoded[i]) {
			refuse(n, r, r->stage, r->rc);
			state_rc = r->rc;
		} else {
			state_rc = precheck_state(n, p->rules_rc[i], r);
		}
		int sig = j < p->k && p->which[j] == i;
		if (state_rc) {
			if (r->rc != ASSAY_EEXISTS && r->stage == TXACCEPT_CHECK) { /* as txaccept_batch_add logs */
				char hex[65];
				hex_encode(r->txid, HASH_LEN, hex);
				log_info("mempool: invalid transaction %.16s from %s: %s", hex, origin_name(origin), r->err);
			}
			j += sig;
			continue;
		}
		rc = admit_verdict(n, origin, &p->txs[i], r, p->bad[j++], rc); /* its signature was checked */
	}
	*res = p->res;
	*count = p->count;
	return rc;
}

int txaccept_run(struct node *n, void (*fn)(void *arg), void *arg)
{
	struct txaccept *q = n->txaccept;
	struct pool_task *t = q && q->pool ? calloc(1, sizeof(*t)) : NULL;
	if (!t)
		return -1;
	t->job.task = run_task;
	t->job.n = 1;
	t->fn = fn;
	t->arg = arg;
	sigpool_submit(q->pool, &t->job);
	return 0;
}

/* ---- deferred batches ---- */

/* On a pool thread: a batch's last verdict is in. The byte wakes the
 * event loop (a full pipe already will). */
static void on_pool_done(void *arg)
{
	struct txaccept *q = arg;
	ssize_t w = write(q->wake[1], "", 1);
	(void)w;
}

static void relay_verdicts(struct txaccept *q, struct txaccept_batch *b);

/* Admits b (its verdicts are in), runs its callback (a relay batch: the
 * verdicts to net/) and frees it. */
static void deferred_admit(struct txaccept *q, struct txaccept_batch *b)
{
	int rc = 0;
	for (size_t j = 0; j < b->k; j++)
		rc = admit_one(b, j, rc ? 0 : b->bad[j], rc);
	q->in_flight -= b->k;
	if (b->is_call)
		q->deferred_calls--;
	if (b->fn)
		b->fn(b->arg, b->res, b->count, rc);
	if (b->peers) {
		q->relay_bytes -= b->bytes;
		relay_verdicts(q, b);
		free(b->peers);
		free(b->res); /* a relay batch owns its results */
	}
	batch_free(b);
}

/* The oldest deferred batches whose verdicts are in, admitted in order. */
static void drain(struct txaccept *q)
{
	while (q->head && sigpool_job_done(&q->head->job)) {
		struct txaccept_batch *b = q->head;
		q->head = b->next;
		if (!q->head)
			q->tail = NULL;
		deferred_admit(q, b);
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];
	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	drain(arg);
}

int txaccept_can_defer(const struct node *n, size_t pending)
{
	const struct txaccept *q = n->txaccept;
	return q && q->pool && q->deferred_calls < TXACCEPT_MAX_DEFERRED_CALLS && q->in_flight + pending <= TXACCEPT_MAX_IN_FLIGHT;
}

static void enqueue(struct txaccept *q, struct txaccept_batch *b, txaccept_done_fn fn, void *arg)
{
	b->fn = fn;
	b->arg = arg;
	b->job.txs = b->txs;
	b->job.txids = (const uint8_t(*)[HASH_LEN])b->txids;
	b->job.n = b->k;
	b->job.bad = b->bad;
	b->job.on_done = on_pool_done;
	b->job.arg = q;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	sigpool_submit(q->pool, &b->job); /* none to check: done at once, admitted on the next turn */
}

int txaccept_batch_defer(struct txaccept_batch *b, txaccept_done_fn fn, void *arg)
{
	struct txaccept *q = b->n->txaccept;
	if (!txaccept_can_defer(b->n, b->k))
		return ASSAY_EFULL;
	q->in_flight += b->k;
	q->deferred_calls++;
	b->is_call = 1;
	enqueue(q, b, fn, arg);
	return 0;
}

/* ---- relay batches ---- */

/* A relay batch admitted: the verdicts of the ones that went to the pool
 * go to net/ (the others had theirs at once). */
static void relay_verdicts(struct txaccept *q, struct txaccept_batch *b)
{
	for (size_t j = 0; j < b->k; j++) {
		size_t i = b->which[j];
		struct txaccept_result *r = &b->res[i];
		node_net_tx_verdict(q->n, b->peers[i], r->txid, r->rc, r->rc ? r->stage : TXACCEPT_OK);
	}
}

/* The relay batch of this turn goes to the pool. */
static void relay_flush(struct txaccept *q)
{
	struct txaccept_batch *b = q->relay;
	if (!b)
		return;
	q->relay = NULL;
	q->relay_res = NULL;
	q->relay_peers = NULL;
	enqueue(q, b, NULL, NULL); /* in_flight counted as it filled */
}

static void on_relay_turn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_flush(arg);
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

int txaccept_relay(struct node *n, uint64_t peer, const uint8_t *enc, size_t len, uint8_t txid[HASH_LEN],
		   enum txaccept_stage *stage)
{
	struct txaccept *q = n->txaccept;
	char err[8];
	if (q && q->relay_bytes + len > TXACCEPT_MAX_RELAY_BYTES) {
		/* not now, no fault: what peers send waits in memory only up to
		 * this, however well it compresses on the wire */
		memset(txid, 0, HASH_LEN);
		*stage = TXACCEPT_MEMPOOL;
		return ASSAY_EFULL;
	}
	if (!q || !q->pool || q->in_flight + 1 > TXACCEPT_MAX_IN_FLIGHT)
		return txaccept_submit(n, enc, len, TXACCEPT_FROM_PEER, txid, stage, err, sizeof(err));
	if (!q->relay) {
		q->relay_res = calloc(TXACCEPT_MAX_BATCH, sizeof(*q->relay_res));
		q->relay_peers = calloc(TXACCEPT_MAX_BATCH, sizeof(*q->relay_peers));
		q->relay = q->relay_res && q->relay_peers
				   ? txaccept_batch_new(n, TXACCEPT_FROM_PEER, TXACCEPT_MAX_BATCH, q->relay_res)
				   : NULL;
		if (!q->relay) {
			free(q->relay_res);
			free(q->relay_peers);
			q->relay_res = NULL;
			q->relay_peers = NULL;
			return txaccept_submit(n, enc, len, TXACCEPT_FROM_PEER, txid, stage, err, sizeof(err));
		}
		q->relay->peers = q->relay_peers;
		event_active(q->relay_ev, EV_WRITE, 0); /* after what arrives in this turn */
	}
	struct txaccept_batch *b = q->relay;
	size_t i = b->count;
	b->peers[i] = peer;
	int rc = txaccept_batch_add(b, enc, len);
	struct txaccept_result *r = &b->res[i];
	memcpy(txid, r->txid, HASH_LEN);
	*stage = r->rc ? r->stage : TXACCEPT_OK;
	if (rc == 0) {
		q->in_flight++;
		q->relay_bytes += len;
		rc = TXACCEPT_PENDING;
	}
	if (b->count == b->cap)
		relay_flush(q);
	return rc;
}

static void txaccept_stop_q(struct txaccept *q);

int txaccept_start(struct node *n, int nthreads, char *err, size_t errlen)
{
	struct txaccept *q = calloc(1, sizeof(*q));
	if (!q)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	q->n = n;
	q->wake[0] = q->wake[1] = -1;
	if (pipe(q->wake) != 0 || evutil_make_socket_nonblocking(q->wake[0]) < 0 ||
	    evutil_make_socket_nonblocking(q->wake[1]) < 0) {
		txaccept_stop_q(q);
		return assay_fail(err, errlen, ASSAY_EIO, "cannot make the verification pool's pipe");
	}
	q->wake_ev = event_new(n->base, q->wake[0], EV_READ | EV_PERSIST, on_wake, q);
	q->relay_ev = event_new(n->base, -1, 0, on_relay_turn, q);
	q->pool = sigpool_new(nthreads > 0 ? nthreads : verify_threads_of(n), n->sigcache, 0); /* admit() inserts */
	if (!q->wake_ev || !q->relay_ev || !q->pool) {
		txaccept_stop_q(q);
		return assay_fail(err, errlen, ASSAY_ENOMEM, "cannot start the verification pool");
	}
	event_add(q->wake_ev, NULL);
	n->txaccept = q;
	return 0;
}

/* Frees what txaccept_start made (q not yet in the node). */
static void txaccept_stop_q(struct txaccept *q)
{
	sigpool_free(q->pool);
	if (q->wake_ev)
		event_free(q->wake_ev);
	if (q->relay_ev)
		event_free(q->relay_ev);
	if (q->wake[0] >= 0)
		close(q->wake[0]);
	if (q->wake[1] >= 0)
		close(q->wake[1]);
	free(q);
}

void txaccept_stop(struct node *n)
{
	struct txaccept *q = n->txaccept;
	if (!q)
		return;
	relay_flush(q);
	/* Every job and task queued runs to its end (a task may queue more
	 * signatures), then the threads are joined; n->txaccept and q->pool
	 * stay valid meanwhile, since tasks read them. */
	sigpool_free(q->pool);
	q->pool = NULL; /* from here nothing is deferred or run on the pool */
	drain(q); /* every batch in flight is admitted, in order */
	/* calls the RPC server prepared on the pool run now, while RPC and
	 * p2p still run */
	rpc_offload_drain(n->rpc);
	n->txaccept = NULL;
	txaccept_stop_q(q);
}

int txaccept_pool_threads(const struct node *n)
{
	return n->txaccept ? sigpool_threads(n->txaccept->pool) : 0;
}

size_t txaccept_in_flight(const struct node *n)
{
	return n->txaccept ? n->txaccept->in_flight : 0;
}

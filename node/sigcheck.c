/* Parallel signature verification (see sigcheck.h). Threads take chunks of
 * SIGCHECK_CHUNK transactions from a shared counter until none are left, so
 * the work balances itself: the thread executing a block joins in when it
 * is done. The persistent pool (sigpool_*) keeps its threads and a queue
 * of jobs under one mutex; a claim is a few instructions against the
 * chunk's verifications. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "node/sigcheck.h"

#define SIGCHECK_CHUNK 16

struct verify_pool {
	const struct tx *txs;
	const uint8_t (*txids)[HASH_LEN]; /* with cache: txs[i]'s id */
	sigcache_t *cache;                /* NULL: verify every one */
	int insert;                       /* record each that verifies in cache */
	size_t n;
	uint8_t *bad;  /* bad[i] set for each failing signature */
	uint8_t *done; /* done[i] set (release) once bad[i] holds its verdict; may be NULL */
	size_t next;  /* next unclaimed index (atomic) */
	int any_bad;  /* atomic */
	int helpers;
	pthread_t tids[SIGCHECK_MAX_THREADS];
	int started[SIGCHECK_MAX_THREADS];
};

struct sigcheck {
	struct verify_pool pool;
	uint8_t *bad;  /* owned */
	uint8_t *done; /* owned */
};

/* Claims and verifies one chunk; 0 when none was left. */
static int verify_chunk(struct verify_pool *p)
{
	{
		size_t from = __atomic_fetch_add(&p->next, SIGCHECK_CHUNK, __ATOMIC_RELAXED);
		if (from >= p->n)
			return 0;
		size_t to = from + SIGCHECK_CHUNK < p->n ? from + SIGCHECK_CHUNK : p->n;
		for (size_t i = from; i < to; i++) {
			uint8_t key[HASH_LEN];
			if (p->cache) {
				sigcache_key(p->cache, &p->txs[i], p->txids[i], key);
				if (sigcache_contains(p->cache, key)) {
					p->bad[i] = 0;
					if (p->done)
						__atomic_store_n(&p->done[i], 1, __ATOMIC_RELEASE);
					continue;
				}
			}
			p->bad[i] = tx_verify_sig(&p->txs[i]) != 0;
			if (p->bad[i])
				__atomic_store_n(&p->any_bad, 1, __ATOMIC_RELAXED);
			else if (p->cache && p->insert)
				sigcache_insert(p->cache, key);
			if (p->done)
				__atomic_store_n(&p->done[i], 1, __ATOMIC_RELEASE);
		}
		return 1;
	}
}

static void *verify_work(void *arg)
{
	struct verify_pool *p = arg;
	while (verify_chunk(p))
		;
	return NULL;
}

/* Starts `helpers` threads on the signatures of txs[0..n). */
static void verify_start(struct verify_pool *p, const struct tx *txs, const uint8_t (*txids)[HASH_LEN],
			 sigcache_t *cache, int insert, size_t n, int helpers, uint8_t *bad, uint8_t *done)
{
	memset(p, 0, sizeof(*p));
	p->done = done; /* before any helper starts */
	p->txs = txs;
	p->txids = txids;
	p->cache = txids ? cache : NULL;
	p->insert = insert;
	p->n = n;
	p->bad = bad;
	if (n < 2 * SIGCHECK_CHUNK)
		helpers = 0; /* not worth a thread */
	p->helpers = helpers < SIGCHECK_MAX_THREADS ? helpers : SIGCHECK_MAX_THREADS;
	for (int i = 0; i < p->helpers; i++)
		p->started[i] = pthread_create(&p->tids[i], NULL, verify_work, p) == 0;
}

/* This thread verifies what is left, then joins the helpers; ASSAY_ESIG if
 * any signature failed. */
static int verify_finish(struct verify_pool *p)
{
	verify_work(p);
	for (int i = 0; i < p->helpers; i++)
		if (p->started[i])
			pthread_join(p->tids[i], NULL);
	p->helpers = 0;
	return __atomic_load_n(&p->any_bad, __ATOMIC_RELAXED) ? ASSAY_ESIG : 0;
}

int sigcheck_verify_cached(const struct tx *txs, const uint8_t (*txids)[HASH_LEN], size_t n, int nthreads,
			   sigcache_t *cache, uint8_t *bad)
{
	struct verify_pool pool;
	verify_start(&pool, txs, txids, cache, 1, n, nthreads - 1, bad, NULL);
	return verify_finish(&pool);
}

int sigcheck_verify(const struct tx *txs, size_t n, int nthreads, uint8_t *bad)
{
	return sigcheck_verify_cached(txs, NULL, n, nthreads, NULL, bad);
}

sigcheck_t *sigcheck_start(const struct tx *txs, size_t n, int nthreads)
{
	return sigcheck_start_cached(txs, NULL, n, nthreads, NULL, 0);
}

sigcheck_t *sigcheck_start_cached(const struct tx *txs, const uint8_t (*txids)[HASH_LEN], size_t n, int nthreads,
				  sigcache_t *cache, int insert)
{
	sigcheck_t *sc = malloc(sizeof(*sc));
	if (!sc)
		return NULL;
	sc->bad = calloc(n ? n : 1, 1);
	sc->done = calloc(n ? n : 1, 1);
	if (!sc->bad || !sc->done) {
		free(sc->bad);
		free(sc->done);
		free(sc);
		return NULL;
	}
	verify_start(&sc->pool, txs, txids, cache, insert, n, nthreads - 1, sc->bad, sc->done);
	return sc;
}

int sigcheck_wait(sigcheck_t *sc, size_t i)
{
	struct verify_pool *p = &sc->pool;
	while (!__atomic_load_n(&sc->done[i], __ATOMIC_ACQUIRE))
		if (!verify_chunk(p))
			sched_yield(); /* another thread holds i's chunk */
	return sc->bad[i] ? ASSAY_ESIG : 0;
}

int sigcheck_finish(sigcheck_t *sc, char *err, size_t errlen)
{
	if (!sc)
		return 0;
	int rc = verify_finish(&sc->pool);
	if (rc) {
		size_t i = 0;
		while (i < sc->pool.n && !sc->bad[i])
			i++;
		snprintf(err, errlen, "transaction %zu has a bad signature", i);
	}
	free(sc->bad);
	free(sc->done);
	free(sc);
	return rc;
}

/* ---- the persistent pool ---- */

#define SIGPOOL_CHUNK 8 /* signatures per claim: small, so that a short batch spreads over the threads */

struct sigpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sigpool_job *head, *tail; /* jobs with unclaimed signatures, oldest first */
	int stop;
	int nthreads;
	sigcache_t *cache;
	int insert; /* each signature that verifies goes into cache */
	pthread_t tids[SIGCHECK_MAX_THREADS];
};

/* j may be freed by its owner as soon as done is set: on_done and arg are
 * read before, and arg must outlive j (the node's admission state does). */
static void job_complete(struct sigpool_job *j)
{
	void (*fn)(void *) = j->on_done;
	void *arg = j->arg;
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	if (fn)
		fn(arg);
}

/* Verifies j's signatures [from, to) and reports the chunk. */
static void pool_verify(sigpool_t *p, struct sigpool_job *j, size_t from, size_t to)
{
	if (j->task) { /* one unit, claimed whole: nobody else holds j */
		j->task(j);
		return;
	}
	for (size_t i = from; i < to; i++) {
		uint8_t key[HASH_LEN];
		if (p->cache) {
			sigcache_key(p->cache, &j->txs[i], j->txids[i], key);
			if (sigcache_contains(p->cache, key)) {
				j->bad[i] = 0;
				continue;
			}
		}
		j->bad[i] = tx_verify_sig(&j->txs[i]) != 0;
		if (!j->bad[i] && p->cache && p->insert)
			sigcache_insert(p->cache, key);
	}
	if (__atomic_sub_fetch(&j->left, to - from, __ATOMIC_ACQ_REL) == 0)
		job_complete(j);
}

/* Under the lock: claims a chunk of j (or of the head when j is NULL or
 * fully claimed). NULL when nothing is left to claim. */
static struct sigpool_job *claim(sigpool_t *p, struct sigpool_job *j, size_t *from, size_t *to)
{
	if (!j || j->next >= j->n)
		j = p->head;
	if (!j)
		return NULL;
	*from = j->next;
	*to = j->next + SIGPOOL_CHUNK < j->n ? j->next + SIGPOOL_CHUNK : j->n;
	j->next = *to;
	if (j->next >= j->n) { /* fully claimed: off the queue */
		struct sigpool_job **pp = &p->head, *prev = NULL;
		while (*pp && *pp != j) {
			prev = *pp;
			pp = &(*pp)->qnext;
		}
		if (*pp) {
			*pp = j->qnext;
			if (p->tail == j)
				p->tail = prev;
		}
	}
	return j;
}

static void *pool_main(void *arg)
{
	sigpool_t *p = arg;
#ifdef __linux__
	pthread_setname_np(pthread_self(), "assay-verify"); /* top -H, perf: the pool's share */
#endif
	pthread_mutex_lock(&p->lock);
	for (;;) {
		size_t from, to;
		struct sigpool_job *j = claim(p, NULL, &from, &to);
		if (!j) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		pool_verify(p, j, from, to);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

sigpool_t *sigpool_new(int nthreads, sigcache_t *cache, int insert)
{
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > SIGCHECK_MAX_THREADS)
		nthreads = SIGCHECK_MAX_THREADS;
	sigpool_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return NULL;
	}
	if (pthread_cond_init(&p->cond, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	p->cache = cache;
	p->insert = insert;
	for (; p->nthreads < nthreads; p->nthreads++)
		if (pthread_create(&p->tids[p->nthreads], NULL, pool_main, p) != 0)
			break;
	if (p->nthreads == 0) {
		sigpool_free(p);
		return NULL;
	}
	return p;
}

void sigpool_free(sigpool_t *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1; /* the threads leave once the queue is empty */
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->tids[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int sigpool_threads(const sigpool_t *p)
{
	return p ? p->nthreads : 0;
}

void sigpool_submit(sigpool_t *p, struct sigpool_job *j)
{
	j->next = 0;
	j->done = 0;
	j->qnext = NULL;
	__atomic_store_n(&j->left, j->n, __ATOMIC_RELAXED);
	if (j->n == 0) {
		job_complete(j);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->qnext = j;
	else
		p->head = j;
	p->tail = j;
	/* one thread per chunk at most: a single transaction wakes one */
	if ((j->n + SIGPOOL_CHUNK - 1) / SIGPOOL_CHUNK >= (size_t)p->nthreads)
		pthread_cond_broadcast(&p->cond);
	else
		for (size_t c = 0; c < (j->n + SIGPOOL_CHUNK - 1) / SIGPOOL_CHUNK; c++)
			pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int sigpool_help(sigpool_t *p, struct sigpool_job *j)
{
	size_t from, to;
	pthread_mutex_lock(&p->lock);
	struct sigpool_job *got = claim(p, j, &from, &to);
	pthread_mutex_unlock(&p->lock);
	if (!got)
		return 0;
	pool_verify(p, got, from, to);
	return 1;
}

int sigpool_job_done(const struct sigpool_job *j)
{
	return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
}

void sigpool_wait(sigpool_t *p, struct sigpool_job *j)
{
	while (!sigpool_job_done(j))
		if (!sigpool_help(p, j))
			sched_yield(); /* j's last chunks are being checked by the pool */
}

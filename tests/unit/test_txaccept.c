/* Unit tests for admission off the event thread: the persistent
 * verification pool (sigpool_*, node/sigcheck.c) and deferred batches
 * (txaccept_batch_defer, txaccept_relay, node/txaccept.c). The pool gives
 * each signature its verdict and caches the good ones; a deferred batch
 * returns at once and is admitted only from the event loop, batches in the
 * order they were deferred (a later batch that needs an earlier one's
 * nonces is admitted after it), with the same outcomes as the batch
 * admitted while its caller waits; relayed transactions go through the
 * pool in one batch per loop turn; the in-flight bound; stopping admits
 * what is in flight; a batch prepared on another thread (txaccept_prep_*)
 * has the outcomes of one admitted while its caller waits. Not for: the RPC methods (functional tests
 * rpc_sendrawtransactions.py, rpc_admission_overlap.py). */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include <event2/event.h>

#include "consensus/compute/compute_codec.h"
#include "consensus/exec.h"
#include "core/error.h"
#include "core/log.h"
#include "node/node.h"
#include "node/sigcache.h"
#include "node/sigcheck.h"
#include "node/txaccept.h"
#include "test.h"
#include "node_fixture.h"

static struct fixture fx;
static const uint8_t salt[SIGCACHE_SALT_LEN] = {4, 5, 6};

static chain_t *open_chain(const char *name)
{
	char path[400], err[256];
	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	if (!c)
		fprintf(stderr, "chain_open: %s\n", err);
	return c;
}

static int done_count;
static void count_done(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&done_count, 1, __ATOMIC_RELAXED);
}

/* Eight jobs at once on three threads, one bad signature in each: every
 * verdict right, every on_done run once, the good ones cached. */
static void test_pool_verdicts(void)
{
	enum { JOBS = 8, N = 37 };
	sigcache_t *sc = sigcache_new(4096, salt);
	sigpool_t *p = sigpool_new(3, sc, 1);
	CHECK(p != NULL);
	CHECK_EQ_INT(sigpool_threads(p), 3);
	static struct tx txs[JOBS][N];
	static uint8_t txids[JOBS][N][HASH_LEN], bad[JOBS][N];
	struct sigpool_job jobs[JOBS];
	done_count = 0;
	for (int j = 0; j < JOBS; j++) {
		for (int i = 0; i < N; i++) {
			fixture_transfer(&fx, &txs[j][i], 1 + j % 4, fx.addr[0], 5, (uint64_t)(j * N + i),
					 1000);
			if (i == j)
				txs[j][i].sig[5] ^= 0x20;
			tx_id(&txs[j][i], txids[j][i]);
		}
		memset(&jobs[j], 0, sizeof(jobs[j]));
		jobs[j].txs = txs[j];
		jobs[j].txids = (const uint8_t(*)[HASH_LEN])txids[j];
		jobs[j].n = N;
		jobs[j].bad = bad[j];
		jobs[j].on_done = count_done;
		sigpool_submit(p, &jobs[j]);
	}
	sigpool_wait(p, &jobs[JOBS - 1]); /* this thread helps with any job */
	for (int j = 0; j < JOBS; j++) {
		sigpool_wait(p, &jobs[j]);
		CHECK(sigpool_job_done(&jobs[j]));
		for (int i = 0; i < N; i++)
			CHECK_EQ_INT(bad[j][i], i == j);
	}
	struct sigcache_stats st;
	sigcache_stats(sc, &st);
	CHECK_EQ_U64(st.inserts, JOBS * (N - 1));
	/* An empty job is done at once. */
	struct sigpool_job empty;
	memset(&empty, 0, sizeof(empty));
	empty.on_done = count_done;
	sigpool_submit(p, &empty);
	CHECK(sigpool_job_done(&empty));
	sigpool_free(p); /* joins */
	CHECK_EQ_INT(done_count, JOBS + 1);
	for (int j = 0; j < JOBS; j++)
		for (int i = 0; i < N; i++)
			tx_free(&txs[j][i]);
	sigcache_free(sc);
}

/* A node around a fresh chain with a mempool, a cache, an event base and
 * the pool started (no RPC, no p2p). */
static void node_init(struct node *n, const char *name, int pool_threads)
{
	char err[256];
	memset(n, 0, sizeof(*n));
	n->chain = open_chain(name);
	n->mempool = mempool_new(n->chain, 5000, 1u << 26);
	n->sigcache = sigcache_new(1u << 14, salt);
	n->base = event_base_new();
	chain_set_sigcache(n->chain, n->sigcache);
	if (pool_threads && txaccept_start(n, pool_threads, err, sizeof(err)) != 0)
		fprintf(stderr, "txaccept_start: %s\n", err);
}

static void node_done(struct node *n)
{
	txaccept_stop(n);
	mempool_free(n->mempool);
	chain_close(n->chain);
	sigcache_free(n->sigcache);
	event_base_free(n->base);
}

struct encoded {
	struct buf b[TXACCEPT_MAX_BATCH];
	size_t n;
};

static void encode_add(struct encoded *e, const struct tx *t)
{
	buf_init(&e->b[e->n]);
	tx_encode(t, &e->b[e->n++]);
}

static void encoded_free(struct encoded *e)
{
	for (size_t i = 0; i < e->n; i++)
		buf_free(&e->b[i]);
	e->n = 0;
}

/* Batch A: 200 transfers of key 1 (nonces 0..199), key 2's nonce 0 twice
 * (the second a duplicate), key 3's nonce 0 with a bad signature, bytes
 * that are no transaction. Batch B: key 1's nonces 200..209, which only
 * fit after A's. */
static struct encoded enc_a, enc_b;
static void make_batches(void)
{
	struct tx t;
	for (uint64_t i = 0; i < 200; i++) {
		fixture_transfer(&fx, &t, 1, fx.addr[0], 5, i, 1000);
		encode_add(&enc_a, &t);
		tx_free(&t);
	}
	fixture_transfer(&fx, &t, 2, fx.addr[0], 5, 0, 1000);
	encode_add(&enc_a, &t);
	encode_add(&enc_a, &t);
	tx_free(&t);
	fixture_transfer(&fx, &t, 3, fx.addr[0], 5, 0, 1000);
	t.sig[0] ^= 1;
	encode_add(&enc_a, &t);
	tx_free(&t);
	buf_init(&enc_a.b[enc_a.n]);
	buf_put(&enc_a.b[enc_a.n++], "\x01\x02\x03", 3);
	for (uint64_t i = 200; i < 210; i++) {
		fixture_transfer(&fx, &t, 1, fx.addr[0], 5, i, 1000);
		encode_add(&enc_b, &t);
		tx_free(&t);
	}
}

struct seen {
	int calls;
	int order[4]; /* tags, in the order the callbacks ran */
	size_t count[4];
};
struct tagged {
	struct seen *s;
	int tag;
};

static void on_admitted(void *arg, struct txaccept_result *res, size_t count, int rc)
{
	struct tagged *t = arg;
	(void)res;
	CHECK_EQ_INT(rc, 0);
	t->s->order[t->s->calls] = t->tag;
	t->s->count[t->s->calls++] = count;
}

static struct txaccept_batch *batch_of(struct node *n, const struct encoded *e, struct txaccept_result *res)
{
	struct txaccept_batch *b = txaccept_batch_new(n, TXACCEPT_FROM_CLIENT, e->n, res);
	for (size_t i = 0; b && i < e->n; i++)
		txaccept_batch_add(b, e->b[i].data, e->b[i].len);
	return b;
}

/* Submits e to ref while the caller waits (txaccept_submit_batch, into
 * want) and checks that got holds the same outcome for every transaction. */
static void same_as_waiting(struct node *ref, const struct encoded *e, const struct txaccept_result *got,
			    struct txaccept_result *want)
{
	const uint8_t *ptrs[TXACCEPT_MAX_BATCH];
	size_t lens[TXACCEPT_MAX_BATCH];
	for (size_t i = 0; i < e->n; i++) {
		ptrs[i] = e->b[i].data;
		lens[i] = e->b[i].len;
	}
	CHECK_EQ_INT(txaccept_submit_batch(ref, ptrs, lens, e->n, TXACCEPT_FROM_CLIENT, 2, want), 0);
	for (size_t i = 0; i < e->n; i++) {
		CHECK_EQ_INT(got[i].rc, want[i].rc);
		CHECK_EQ_INT(got[i].stage, want[i].stage);
		CHECK_EQ_MEM(got[i].txid, want[i].txid, HASH_LEN);
		CHECK(strcmp(got[i].err, want[i].err) == 0);
	}
}

static void test_deferred_in_order(void)
{
	static struct txaccept_result ra[TXACCEPT_MAX_BATCH], rb[TXACCEPT_MAX_BATCH],
		want[TXACCEPT_MAX_BATCH];
	struct node n, ref;
	node_init(&n, "deferred", 2);
	CHECK_EQ_INT(txaccept_pool_threads(&n), 2);
	struct txaccept_batch *a = batch_of(&n, &enc_a, ra), *b = batch_of(&n, &enc_b, rb);
	CHECK(a && b);
	CHECK_EQ_U64(txaccept_batch_pending(a), 203); /* 200 + 2 (the duplicate too) + the bad one */
	struct seen s = {0};
	struct tagged ta = {&s, 1}, tb = {&s, 2};
	CHECK(txaccept_can_defer(&n, 203));
	CHECK_EQ_INT(txaccept_batch_defer(a, on_admitted, &ta), 0);
	CHECK_EQ_INT(txaccept_batch_defer(b, on_admitted, &tb), 0);
	/* Both returned at once: nothing is admitted until the loop runs. */
	CHECK_EQ_U64(mempool_size(n.mempool), 0);
	CHECK_EQ_U64(txaccept_in_flight(&n), 213);
	CHECK_EQ_INT(s.calls, 0);
	while (s.calls < 2)
		event_base_loop(n.base, EVLOOP_ONCE);
	CHECK_EQ_INT(s.order[0], 1); /* A before B, though B is far shorter */
	CHECK_EQ_INT(s.order[1], 2);
	CHECK_EQ_U64(s.count[0], enc_a.n);
	CHECK_EQ_U64(s.count[1], enc_b.n);
	CHECK_EQ_U64(txaccept_in_flight(&n), 0);
	CHECK_EQ_U64(mempool_size(n.mempool), 211); /* 200 + 10 + key 2's */
	for (size_t i = 0; i < enc_b.n; i++)
		CHECK_EQ_INT(rb[i].rc, 0);
	CHECK_EQ_INT(ra[200].rc, 0);
	CHECK_EQ_INT(ra[201].rc, ASSAY_EEXISTS); /* the duplicate: its txid, no error */
	CHECK_EQ_MEM(ra[201].txid, ra[200].txid, HASH_LEN);
	CHECK_EQ_INT(ra[202].rc, ASSAY_ESIG);
	CHECK_EQ_INT(ra[202].stage, TXACCEPT_CHECK);
	CHECK(strstr(ra[202].err, "bad signature") != NULL);
	CHECK_EQ_INT(ra[203].stage, TXACCEPT_DECODE);
	CHECK(ra[203].rc != 0);
	CHECK_EQ_U64(n.txs_rejected, 2);
	/* The same batch admitted while the caller waits: the same outcomes. */
	node_init(&ref, "waiting", 0);
	same_as_waiting(&ref, &enc_a, ra, want);
	/* Without the pool nothing can be deferred. */
	CHECK(!txaccept_can_defer(&ref, 1));
	node_done(&ref);
	/* The bound. */
	CHECK(txaccept_can_defer(&n, TXACCEPT_MAX_IN_FLIGHT));
	CHECK(!txaccept_can_defer(&n, TXACCEPT_MAX_IN_FLIGHT + 1));
	node_done(&n);
}

/* Relayed transactions of one loop turn: pending, then admitted together
 * from the loop; what fails pass 1 has its verdict at once. */
static void test_relay_turn(void)
{
	struct node n;
	node_init(&n, "relay", 2);
	uint8_t txid[HASH_LEN];
	enum txaccept_stage stage;
	for (size_t i = 0; i < 50; i++)
		CHECK_EQ_INT(txaccept_relay(&n, 7, enc_a.b[i].data, enc_a.b[i].len, txid, &stage),
			     TXACCEPT_PENDING);
	CHECK(txaccept_relay(&n, 7, enc_a.b[203].data, enc_a.b[203].len, txid, &stage) <
	      0); /* no transaction */
	CHECK_EQ_INT(stage, TXACCEPT_DECODE);
	CHECK_EQ_U64(txaccept_in_flight(&n), 50);
	CHECK_EQ_U64(mempool_size(n.mempool), 0);
	while (txaccept_in_flight(&n) > 0)
		event_base_loop(n.base, EVLOOP_ONCE);
	CHECK_EQ_U64(mempool_size(n.mempool), 50);
	/* One already pooled is known at once. */
	CHECK_EQ_INT(txaccept_relay(&n, 7, enc_a.b[0].data, enc_a.b[0].len, txid, &stage), ASSAY_EEXISTS);
	node_done(&n);
}

/* The signature cache holds only what the mempool took: a transaction
 * whose signature verifies but that is refused (a nonce gap) is in no
 * block, and a peer relaying such without end, at no fault and no fee,
 * evicted the cached signatures of the pooled ones. Through each path:
 * a client's call, a relayed batch on the pool, a prepared batch. */
static void test_cache_holds_admitted_only(void)
{
	struct node n;
	node_init(&n, "cacheonly", 2);
	struct tx gap, good;
	struct encoded e = {.n = 0};
	fixture_transfer(&fx, &gap, 4, fx.addr[0], 5, 7, 1000); /* nonce 7 of a fresh key: a gap */
	fixture_transfer(&fx, &good, 4, fx.addr[0], 5, 0, 1000);
	encode_add(&e, &gap);
	encode_add(&e, &good);
	for (uint64_t k = 8; k < 20; k++) { /* more gaps, for the relayed and prepared batches */
		struct tx t;
		fixture_transfer(&fx, &t, 5, fx.addr[0], 5, k, 1000);
		encode_add(&e, &t);
		tx_free(&t);
	}
	uint8_t txid[HASH_LEN];
	enum txaccept_stage stage;
	char err[192];
	struct sigcache_stats st;
	CHECK_EQ_INT(txaccept_submit(&n, e.b[0].data, e.b[0].len, TXACCEPT_FROM_CLIENT, txid, &stage, err,
				     sizeof(err)),
		     ASSAY_ENONCE);
	sigcache_stats(n.sigcache, &st);
	CHECK_EQ_U64(st.inserts, 0);
	CHECK_EQ_INT(txaccept_submit(&n, e.b[1].data, e.b[1].len, TXACCEPT_FROM_CLIENT, txid, &stage, err,
				     sizeof(err)),
		     0);
	sigcache_stats(n.sigcache, &st);
	CHECK_EQ_U64(st.inserts, 1);
	for (size_t i = 2; i < 8; i++)
		CHECK_EQ_INT(txaccept_relay(&n, 9, e.b[i].data, e.b[i].len, txid, &stage), TXACCEPT_PENDING);
	while (txaccept_in_flight(&n) > 0)
		event_base_loop(n.base, EVLOOP_ONCE);
	struct txaccept_prep *p = txaccept_prep_new(&n, 12);
	for (size_t i = 8; p && i < e.n; i++)
		CHECK_EQ_INT(txaccept_prep_add(p, e.b[i].data, e.b[i].len), 0);
	txaccept_prep_verify(p, count_done, NULL); /* a handful: verified here */
	const struct txaccept_result *res;
	size_t count;
	CHECK_EQ_INT(txaccept_prep_admit(p, TXACCEPT_FROM_CLIENT, &res, &count), 0);
	for (size_t i = 0; i < count; i++)
		CHECK_EQ_INT(res[i].rc, ASSAY_ENONCE);
	txaccept_prep_free(p);
	sigcache_stats(n.sigcache, &st);
	CHECK_EQ_U64(st.inserts, 1);
	CHECK_EQ_U64(mempool_size(n.mempool), 1);
	tx_free(&gap);
	tx_free(&good);
	encoded_free(&e);
	node_done(&n);
}

/* A blob transaction of about `bytes` of key `from` at `nonce` (nonces far
 * ahead leave a gap: refused by the mempool after its signature check). */
static void big_tx(struct buf *out, int from, uint64_t nonce, size_t bytes)
{
	static uint8_t data[1u << 20];
	memset(data, (int)(nonce & 0xff), bytes);
	struct blob_payload bl = {.data = data, .len = bytes};
	sha256(data, bytes, bl.hash);
	struct buf p;
	buf_init(&p);
	compute_blob_encode(&bl, &p);
	struct tx t;
	memset(&t, 0, sizeof(t));
	memcpy(t.chain_id, fx.g.hash, HASH_LEN);
	t.nonce = nonce;
	memcpy(t.sender, fx.pk[from], PUBKEY_LEN);
	t.gas_limit = exec_blob_gas(bytes); /* what it stores with (protocol §5.2) */
	t.fee = 100000000;                  /* above 1000 + that, for up to 1 MiB */
	t.kind = TX_BLOB;
	tx_set_payload(&t, p.data, p.len);
	tx_sign(&t, fx.sk[from]);
	buf_init(out);
	tx_encode(&t, out);
	tx_free(&t);
	buf_free(&p);
}

/* What relayed transactions hold in memory is bounded by bytes, not only
 * by count: the same bytes twice in one turn are checked once (the second
 * is known), and past TXACCEPT_MAX_RELAY_BYTES waiting a relayed
 * transaction is refused for now, no fault of the peer's (a 1 MB blob of
 * zeros compresses to tens of bytes on the wire, so a count of 8000 would
 * have let a peer make the node hold 8 GB). */
static void test_relay_bytes_bounded(void)
{
	struct node n;
	node_init(&n, "relay-bytes", 2);
	uint8_t txid[HASH_LEN];
	enum txaccept_stage stage;
	struct buf one;
	size_t each = 1000000;
	big_tx(&one, 1, 5, each);
	CHECK_EQ_INT(txaccept_relay(&n, 7, one.data, one.len, txid, &stage), TXACCEPT_PENDING);
	for (int i = 0; i < 10; i++) {
		CHECK_EQ_INT(txaccept_relay(&n, 7, one.data, one.len, txid, &stage), ASSAY_EEXISTS);
		CHECK_EQ_INT(stage, TXACCEPT_MEMPOOL);
	}
	CHECK_EQ_U64(txaccept_in_flight(&n), 1);
	buf_free(&one);
	size_t fits = TXACCEPT_MAX_RELAY_BYTES / (each + 200), sent = 1;
	for (; sent < fits; sent++) {
		big_tx(&one, 1, 5 + sent, each);
		CHECK_EQ_INT(txaccept_relay(&n, 7, one.data, one.len, txid, &stage), TXACCEPT_PENDING);
		buf_free(&one);
	}
	big_tx(&one, 1, 5 + sent + 1, each);
	CHECK_EQ_INT(txaccept_relay(&n, 7, one.data, one.len, txid, &stage), ASSAY_EFULL);
	CHECK_EQ_INT(stage, TXACCEPT_MEMPOOL); /* no fault: node_net maps it to known */
	CHECK_EQ_U64(txaccept_in_flight(&n), fits);
	while (txaccept_in_flight(&n) > 0)
		event_base_loop(n.base, EVLOOP_ONCE);
	/* checked and refused (the nonce gap): room again */
	CHECK_EQ_INT(txaccept_relay(&n, 7, one.data, one.len, txid, &stage), TXACCEPT_PENDING);
	while (txaccept_in_flight(&n) > 0)
		event_base_loop(n.base, EVLOOP_ONCE);
	buf_free(&one);
	node_done(&n);
}

/* Stopping with a batch in flight admits it and runs its callback. */
static void test_stop_admits(void)
{
	static struct txaccept_result res[TXACCEPT_MAX_BATCH];
	struct node n;
	node_init(&n, "stop", 1);
	struct txaccept_batch *b = batch_of(&n, &enc_b, res);
	struct seen s = {0};
	struct tagged t = {&s, 3};
	CHECK_EQ_INT(txaccept_batch_defer(b, on_admitted, &t), 0);
	CHECK_EQ_U64(txaccept_relay(&n, 1, enc_a.b[0].data, enc_a.b[0].len, (uint8_t[HASH_LEN]){0},
				    &(enum txaccept_stage){0}),
		     TXACCEPT_PENDING);
	txaccept_stop(&n);
	CHECK(n.txaccept == NULL);
	CHECK_EQ_INT(s.calls, 1);
	CHECK_EQ_U64(mempool_size(n.mempool),
		     1); /* B's need A's nonces first: a gap; the relayed one is in */
	CHECK_EQ_INT(res[0].rc, ASSAY_ENONCE);
	node_done(&n);
}

/* ---- batches prepared off the event thread (txaccept_prep_*) ---- */

struct prep_run {
	struct node *n;
	const struct encoded *e;
	struct txaccept_prep *p;
	int done;           /* atomic: the verdicts are in */
	pthread_t preparer; /* the thread that made p */
	pthread_t verdict;  /* the one that ran done */
};

static void on_prep_done(void *arg)
{
	struct prep_run *r = arg;
	r->verdict = pthread_self();
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

static void *prepare_main(void *arg)
{
	struct prep_run *r = arg;
	r->preparer = pthread_self();
	r->p = txaccept_prep_new(r->n, r->e->n);
	for (size_t i = 0; r->p && i < r->e->n; i++)
		txaccept_prep_add(r->p, r->e->b[i].data, r->e->b[i].len);
	if (r->p)
		txaccept_prep_verify(r->p, on_prep_done, r);
	return NULL;
}

/* Prepared on another thread, verified on the pool, admitted here. */
static void prepare_on_thread(struct prep_run *r, struct node *n, const struct encoded *e)
{
	pthread_t tid;
	memset(r, 0, sizeof(*r));
	r->n = n;
	r->e = e;
	CHECK_EQ_INT(pthread_create(&tid, NULL, prepare_main, r), 0);
	pthread_join(tid, NULL);
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE))
		sched_yield();
}

/* The same outcomes, errors and counters as the batch admitted while its
 * caller waits; only the event thread's part (admission) is left for it. */
static void test_prepared_outcomes(void)
{
	static struct txaccept_result want[TXACCEPT_MAX_BATCH];
	struct node n, ref;
	node_init(&n, "prepared", 2);
	node_init(&ref, "prepared-ref", 0);
	struct prep_run r;
	prepare_on_thread(&r, &n, &enc_a);
	CHECK(r.p != NULL);
	CHECK_EQ_U64(mempool_size(n.mempool), 0); /* nothing admitted off the event thread */
	CHECK_EQ_U64(n.txs_rejected, 0);
	const struct txaccept_result *res;
	size_t count;
	CHECK_EQ_INT(txaccept_prep_admit(r.p, TXACCEPT_FROM_CLIENT, &res, &count), 0);
	CHECK_EQ_U64(count, enc_a.n);
	same_as_waiting(&ref, &enc_a, res, want);
	CHECK_EQ_INT(res[202].rc, ASSAY_ESIG);
	CHECK_EQ_U64(n.txs_rejected, ref.txs_rejected);
	CHECK_EQ_U64(mempool_size(n.mempool), mempool_size(ref.mempool));
	txaccept_prep_free(r.p);
	/* Prepared again: every one pooled already or refused as before. */
	prepare_on_thread(&r, &n, &enc_a);
	CHECK_EQ_INT(txaccept_prep_admit(r.p, TXACCEPT_FROM_CLIENT, &res, &count), 0);
	CHECK_EQ_INT(res[0].rc, ASSAY_EEXISTS);
	CHECK_EQ_INT(res[202].rc, ASSAY_ESIG);
	txaccept_prep_free(r.p);
	/* Without the pool the preparing thread verifies, and done runs there. */
	prepare_on_thread(&r, &ref, &enc_b);
	CHECK(pthread_equal(r.verdict, r.preparer));
	CHECK_EQ_INT(txaccept_prep_admit(r.p, TXACCEPT_FROM_CLIENT, &res, &count), 0);
	for (size_t i = 0; i < count; i++) /* B's nonces follow A's, pooled above */
		CHECK_EQ_INT(res[i].rc, 0);
	CHECK_EQ_U64(mempool_size(ref.mempool), 211);
	txaccept_prep_free(r.p);
	node_done(&ref);
	node_done(&n);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	fixture_init(&fx);
	make_batches();
	RUN(test_pool_verdicts);
	RUN(test_deferred_in_order);
	RUN(test_relay_turn);
	RUN(test_relay_bytes_bounded);
	RUN(test_stop_admits);
	RUN(test_prepared_outcomes);
	RUN(test_cache_holds_admitted_only);
	encoded_free(&enc_a);
	encoded_free(&enc_b);
	fixture_free(&fx);
	return test_report("test_txaccept");
}

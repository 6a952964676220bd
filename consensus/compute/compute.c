/* The compute protocol's state machine (see compute.h; the rules are those of
 * docs/compute.md §1 and §6-§9). Every amount moves between an account and a
 * protocol-held field (job escrow, worker bond) or LEDGER_BURN_ADDR, so the
 * sum of balances, escrows and bonds never changes. Records and the two
 * indexes (live jobs, workers) live in state, so all of it is in the state
 * root. Not for: signature, fee or nonce checks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/compute.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/merkle.h"

#define BPS 10000u
#define WORKERS_PAGE_SLOTS 16 /* addresses in a page of the worker registry */
/* Registered workers at most: the genesis range of max_workers, and the
 * legacy registry value (compute.md §8) stays within one state value. */
#define COMPUTE_WORKERS_CAP 50000u

/* ---- parameters ---- */

void compute_params_default(struct compute_params *p)
{
	p->samples_k = 66; /* f = 10% wrong tiles caught with >= 99.9% (0.9^66 < 10^-3) */
	p->max_dim = 4096;
	p->max_output_bytes = 64ull << 20; /* 4096 x 4096 int32 */
	p->reveal_window = 20;
	p->dispute_window = 100;
	p->commit_window = 50;
	p->min_reward = 1000000;        /* 0.001 ASY */
	p->min_bond = 100000000000ull;  /* 100 ASY */
	p->max_blob_bytes = LEDGER_VALUE_MAX;
	p->slash_bps = 10000; /* the whole lock */
	p->slash_submitter_bps = 5000;
	p->missed_deadline_slash_bps = 100;
	p->gas_per_check_unit = 1;
	p->dispute_bond = 1000000000ull; /* 1 ASY */
	p->bond_reward_bps = 10000;
	p->max_live_jobs = 4096;
	p->max_workers = 1024;
	p->max_jobs_per_worker = 16;
	p->max_deadline_blocks = 100000;
	p->unbond_delay = 200;
	p->challenge_delay = 2;
	p->salt_window = 10;
	p->reveal_block_gas = 1000000000ull;
	p->upload_window = 20;                /* 64 MiB: 8 blocks at the full budget, ~9 s of a worker's RPC */
	p->chunk_budget_bytes = 8ull << 20;
	p->chunk_retention_blocks = 1000;
}

struct param_desc {
	const char *name;
	size_t off;
	int wide;        /* uint64_t field (else uint32_t) */
	uint64_t lo, hi; /* accepted range */
};

#define P32(f, lo, hi) {#f, offsetof(struct compute_params, f), 0, lo, hi}
#define P64(f, lo, hi) {#f, offsetof(struct compute_params, f), 1, lo, hi}
static const struct param_desc param_table[] = {
	P32(samples_k, 1, JOB_MAX_SAMPLES),
	P32(max_dim, 1, KERNEL_MAX_K),
	P64(max_output_bytes, 4, COMPUTE_OUTPUT_BYTES_CAP),
	P32(reveal_window, 1, 1u << 20),
	P32(dispute_window, 1, 1u << 24),
	P32(commit_window, 1, 1u << 20),
	P64(min_reward, 1, UINT64_MAX),
	P64(min_bond, 1, UINT64_MAX),
	P64(max_blob_bytes, 1, LEDGER_VALUE_MAX),
	P32(slash_bps, 0, BPS),
	P32(slash_submitter_bps, 0, BPS),
	P32(missed_deadline_slash_bps, 0, BPS),
	P64(gas_per_check_unit, 0, 1u << 20),
	P64(dispute_bond, 0, UINT64_MAX),
	P32(bond_reward_bps, 0, 1000000),
	P32(max_live_jobs, 1, 30000), /* bounds the end-of-block pass */
	P32(max_workers, 1, COMPUTE_WORKERS_CAP),
	P32(max_jobs_per_worker, 1, 1u << 16),
	P32(max_deadline_blocks, 1, 1u << 30),
	P32(unbond_delay, 0, 1u << 30),
	P32(challenge_delay, 2, 1024),
	P32(salt_window, 1, 1u << 20),
	P64(reveal_block_gas, 1, UINT64_MAX),
	P32(upload_window, 1, 1u << 20),
	P64(chunk_budget_bytes, AVAIL_CHUNK_MAX_BYTES, 1ull << 30),
	P32(chunk_retention_blocks, 0, 1u << 30),
};

int compute_params_set(struct compute_params *p, const char *name, uint64_t value)
{
	for (size_t i = 0; i < sizeof(param_table) / sizeof(param_table[0]); i++) {
		const struct param_desc *d = &param_table[i];
		if (strcmp(d->name, name) != 0)
			continue;
		if (value < d->lo || value > d->hi)
			return ASSAY_ELIMIT;
		if (d->wide)
			*(uint64_t *)((char *)p + d->off) = value;
		else
			*(uint32_t *)((char *)p + d->off) = (uint32_t)value;
		return 0;
	}
	return ASSAY_EARG;
}

/* ---- names ---- */

const char *compute_job_state_name(unsigned state)
{
	static const char *const names[] = {"open", "assigned", "committed", "verified",
					    "paid", "failed", "refunded"};
	return state < JOB_STATE_COUNT ? names[state] : "unknown";
}

const char *compute_slot_state_name(unsigned state)
{
	static const char *const names[] = {"empty", "assigned", "committed", "challenged",
					    "verified", "failed"};
	return state <= SLOT_FAILED ? names[state] : "unknown";
}

const char *compute_worker_status_name(unsigned status)
{
	static const char *const names[] = {"unknown", "active", "unbonding", "exited"};
	return status <= WORKER_EXITED ? names[status] : "unknown";
}

/* ---- records ---- */

static int reject(struct compute_result *res, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int reject(struct compute_result *res, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	return err;
}

static int put_buf(const struct ledger *l, const uint8_t key[HASH_LEN], struct buf *b)
{
	int err = b->oom ? ASSAY_ENOMEM : ledger_put(l, key, b->data, b->len);
	buf_free(b);
	return err;
}

int compute_get_worker(const struct ledger *l, const uint8_t addr[20], struct worker_record *out)
{
	uint8_t key[HASH_LEN], *val;
	size_t len;
	state_key(NS_WORKER, addr, ADDR_LEN, key);
	int err = ledger_get(l, key, &val, &len);
	if (err)
		return err;
	/* A stored record that does not decode is a damaged database, ours
	 * (docs/protocol.md §5.4), not a verdict on the block or transaction. */
	err = compute_worker_decode(out, val, len) ? ASSAY_ECORRUPT : 0;
	free(val);
	return err;
}

static int put_worker(const struct ledger *l, const struct worker_record *w)
{
	uint8_t key[HASH_LEN];
	struct buf b;
	buf_init(&b);
	compute_worker_encode(w, &b);
	state_key(NS_WORKER, w->addr, ADDR_LEN, key);
	return put_buf(l, key, &b);
}

/* The end-of-block pass reads every worker once into this array (address
 * order, that of the draws), when it first has a slot to draw
 * (worker_cache_load), and keeps it equal to state as it writes, so that
 * drawing a worker costs no state reads: open jobs that nobody can take are
 * retried every block and must stay cheap. Transactions pass NULL. */
struct worker_cache {
	struct worker_record *w;
	size_t n;
	int loaded; /* w holds every registered worker; before, n = 0 */
};

static int put_worker_cached(const struct ledger *l, struct worker_cache *cache, const struct worker_record *w)
{
	int err = put_worker(l, w);
	if (err || !cache)
		return err;
	size_t lo = 0, hi = cache->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(cache->w[mid].addr, w->addr, ADDR_LEN);
		if (c == 0) {
			cache->w[mid] = *w;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int compute_get_job(const struct ledger *l, const uint8_t job_id[32], struct job_record *out)
{
	uint8_t key[HASH_LEN], *val;
	size_t len;
	state_key(NS_JOB, job_id, HASH_LEN, key);
	int err = ledger_get(l, key, &val, &len);
	if (err)
		return err;
	err = compute_job_decode(out, val, len) ? ASSAY_ECORRUPT : 0; /* damaged, as a worker record */
	free(val);
	return err;
}

/* For a record the state itself names (an index entry, a slot's worker):
 * absent, it is damage as an undecodable one is (protocol §5.4). */
static int named_record(int err)
{
	return err == ASSAY_ENOTFOUND ? ASSAY_ECORRUPT : err;
}

static int put_job(const struct ledger *l, const struct job_record *j)
{
	uint8_t key[HASH_LEN];
	struct buf b;
	buf_init(&b);
	compute_job_encode(j, &b);
	state_key(NS_JOB, j->id, HASH_LEN, key);
	return put_buf(l, key, &b);
}

/* An index: varint count, then count fixed-size ids. *ids is malloc()ed.
 * The legacy forms of the worker registry and of the live jobs. */
static int index_get(const struct ledger *l, const char *name, size_t idlen, uint8_t **ids,
		     size_t *count)
{
	uint8_t key[HASH_LEN], *val = NULL;
	size_t len = 0;
	state_key(NS_META, name, strlen(name), key);
	*ids = NULL;
	*count = 0;
	int err = ledger_get(l, key, &val, &len);
	if (err == ASSAY_ENOTFOUND)
		return 0;
	if (err)
		return err;
	struct reader r;
	rd_init(&r, val, len);
	uint64_t n = rd_count(&r, LEDGER_VALUE_MAX / idlen);
	const uint8_t *p = rd_fixed(&r, (size_t)n * idlen);
	err = rd_finish(&r) ? ASSAY_ECORRUPT : 0; /* a stored index: damaged, not a verdict */
	if (!err && n) {
		*ids = malloc((size_t)n * idlen);
		if (!*ids)
			err = ASSAY_ENOMEM;
		else
			memcpy(*ids, p, (size_t)n * idlen);
	}
	if (!err)
		*count = (size_t)n;
	free(val);
	return err;
}

/* ---- the live jobs, in submission order (compute.md §8) ----
 * A doubly linked list: JOBS_LIST = u64 count || head || tail, and for each
 * live job JOBS_LINK || job_id -> prev || next. The ends are known from
 * JOBS_LIST, so the head's prev and the tail's next are zero and never
 * followed. Appending and unlinking read and write a few values of at most
 * 72 bytes whatever the number of live jobs; the single value this replaces
 * (JOBS_LEGACY, up to max_live_jobs x 32 bytes) was read and rewritten
 * whole per submission and per ending job, and the block overlay kept every
 * version for its revert. No JOBS_LIST: no live job, or the legacy form,
 * which the first change or end of block moves into the list once. */
static const char JOBS_LEGACY[] = "compute/jobs";    /* varint count || count x job_id */
static const char JOBS_LIST[] = "compute/jobs/list"; /* absent when empty */
static const char JOBS_LINK[] = "compute/jobs/link"; /* followed by the job id */
#define JOBS_LIST_BYTES (8 + 2 * HASH_LEN)
#define JOBS_LINK_BYTES (2 * HASH_LEN)

static const uint8_t NO_JOB[HASH_LEN]; /* an end's missing neighbour */

struct jobs_list {
	uint64_t count;
	uint8_t head[HASH_LEN]; /* first submitted; meaningless when count = 0 */
	uint8_t tail[HASH_LEN]; /* last submitted */
};

static void jobs_list_key(uint8_t key[HASH_LEN])
{
	state_meta_key(JOBS_LIST, NULL, 0, key);
}

static void jobs_link_key(const uint8_t id[HASH_LEN], uint8_t key[HASH_LEN])
{
	state_meta_key(JOBS_LINK, id, HASH_LEN, key);
}

/* ASSAY_ENOTFOUND when absent (empty, or the legacy form). */
static int jobs_list_get(const struct ledger *l, struct jobs_list *list)
{
	uint8_t key[HASH_LEN], val[JOBS_LIST_BYTES];
	jobs_list_key(key);
	memset(list, 0, sizeof(*list));
	int err = ledger_get_exact(l, key, val, sizeof(val));
	if (err)
		return err;
	list->count = le64_get(val);
	memcpy(list->head, val + 8, HASH_LEN);
	memcpy(list->tail, val + 8 + HASH_LEN, HASH_LEN);
	return list->count ? 0 : ASSAY_ECORRUPT; /* empty is stored as absent */
}

static int jobs_list_put(const struct ledger *l, const struct jobs_list *list)
{
	uint8_t key[HASH_LEN], val[JOBS_LIST_BYTES];
	jobs_list_key(key);
	if (list->count == 0)
		return ledger_del(l, key);
	le64_put(val, list->count);
	memcpy(val + 8, list->head, HASH_LEN);
	memcpy(val + 8 + HASH_LEN, list->tail, HASH_LEN);
	return ledger_put(l, key, val, sizeof(val));
}

/* A listed job's link; absent, it is damage (named_record). */
static int jobs_link_get(const struct ledger *l, const uint8_t id[HASH_LEN], uint8_t prev[HASH_LEN],
			 uint8_t next[HASH_LEN])
{
	uint8_t key[HASH_LEN], val[JOBS_LINK_BYTES];
	jobs_link_key(id, key);
	int err = named_record(ledger_get_exact(l, key, val, sizeof(val)));
	if (err)
		return err;
	memcpy(prev, val, HASH_LEN);
	memcpy(next, val + HASH_LEN, HASH_LEN);
	return 0;
}

static int jobs_link_put(const struct ledger *l, const uint8_t id[HASH_LEN], const uint8_t prev[HASH_LEN],
			 const uint8_t next[HASH_LEN])
{
	uint8_t key[HASH_LEN], val[JOBS_LINK_BYTES];
	jobs_link_key(id, key);
	memcpy(val, prev, HASH_LEN);
	memcpy(val + HASH_LEN, next, HASH_LEN);
	return ledger_put(l, key, val, sizeof(val));
}

/* The legacy value into the list, in its order, and deleted: once, so its
 * cost (a link per live job) is paid by one block of a chain that had live
 * jobs before the list existed. A job listed twice is damage. */
static int jobs_migrate(const struct ledger *l, struct jobs_list *list)
{
	uint8_t *ids, key[HASH_LEN], val[JOBS_LINK_BYTES];
	size_t n;
	memset(list, 0, sizeof(*list));
	int err = index_get(l, JOBS_LEGACY, HASH_LEN, &ids, &n);
	for (size_t i = 0; i < n && !err; i++) {
		const uint8_t *id = ids + i * HASH_LEN;
		jobs_link_key(id, key);
		err = ledger_get_exact(l, key, val, sizeof(val));
		if (err == 0)
			err = ASSAY_ECORRUPT;
		else if (err == ASSAY_ENOTFOUND)
			err = jobs_link_put(l, id, i ? id - HASH_LEN : NO_JOB,
					    i + 1 < n ? id + HASH_LEN : NO_JOB);
	}
	if (!err && n) {
		list->count = n;
		memcpy(list->head, ids, HASH_LEN);
		memcpy(list->tail, ids + (n - 1) * HASH_LEN, HASH_LEN);
		state_key(NS_META, JOBS_LEGACY, strlen(JOBS_LEGACY), key);
		if (!(err = jobs_list_put(l, list)))
			err = ledger_del(l, key);
	}
	free(ids);
	return err;
}

/* The list before a change, the legacy form moved into it first. */
static int jobs_load(const struct ledger *l, struct jobs_list *list)
{
	int err = jobs_list_get(l, list);
	return err == ASSAY_ENOTFOUND ? jobs_migrate(l, list) : err;
}

/* Appends a job that is not listed (a new id) at the tail. */
static int jobs_append(const struct ledger *l, const uint8_t id[HASH_LEN])
{
	struct jobs_list list;
	int err = jobs_load(l, &list);
	if (!err && list.count) {
		uint8_t prev[HASH_LEN], next[HASH_LEN];
		if (!(err = jobs_link_get(l, list.tail, prev, next)))
			err = jobs_link_put(l, list.tail, prev, id);
	} else if (!err) {
		memcpy(list.head, id, HASH_LEN);
	}
	if (!err)
		err = jobs_link_put(l, id, list.count ? list.tail : NO_JOB, NO_JOB);
	if (err)
		return err;
	memcpy(list.tail, id, HASH_LEN);
	list.count++;
	return jobs_list_put(l, &list);
}

/* Unlinks a listed job; its neighbours must name it, or the list is damaged. */
static int jobs_unlink(const struct ledger *l, const uint8_t id[HASH_LEN])
{
	struct jobs_list list;
	uint8_t prev[HASH_LEN], next[HASH_LEN], p[HASH_LEN], n[HASH_LEN], key[HASH_LEN];
	int err = jobs_load(l, &list);
	if (!err)
		err = jobs_link_get(l, id, prev, next);
	if (err)
		return err;
	if (list.count == 0)
		return ASSAY_ECORRUPT; /* a link without a list */
	int is_head = memcmp(id, list.head, HASH_LEN) == 0, is_tail = memcmp(id, list.tail, HASH_LEN) == 0;
	if (is_head) {
		memcpy(list.head, next, HASH_LEN);
	} else {
		if ((err = jobs_link_get(l, prev, p, n)))
			return err;
		if (memcmp(n, id, HASH_LEN) != 0)
			return ASSAY_ECORRUPT;
		if ((err = jobs_link_put(l, prev, p, is_tail ? NO_JOB : next)))
			return err;
	}
	if (is_tail) {
		memcpy(list.tail, prev, HASH_LEN);
	} else {
		if ((err = jobs_link_get(l, next, p, n)))
			return err;
		if (memcmp(p, id, HASH_LEN) != 0)
			return ASSAY_ECORRUPT;
		if ((err = jobs_link_put(l, next, is_head ? NO_JOB : prev, n)))
			return err;
	}
	jobs_link_key(id, key);
	if ((err = ledger_del(l, key)))
		return err;
	list.count--;
	return jobs_list_put(l, &list);
}

/* fn on each of the list's count jobs from its head, in submission order.
 * The next id is read before fn runs, so fn may unlink the job it is given
 * (end of block does), but nothing else. */
static int jobs_walk(const struct ledger *l, const struct jobs_list *list,
		     int (*fn)(void *arg, const uint8_t id[HASH_LEN]), void *arg)
{
	uint8_t id[HASH_LEN], prev[HASH_LEN], next[HASH_LEN];
	int err = 0;
	memcpy(id, list->head, HASH_LEN);
	for (uint64_t i = 0; i < list->count && !err; i++) {
		if (!(err = jobs_link_get(l, id, prev, next)))
			err = fn(arg, id);
		memcpy(id, next, HASH_LEN);
	}
	return err;
}

struct list_jobs_ctx {
	const struct ledger *l;
	int (*fn)(void *arg, const struct job_record *j);
	void *arg;
};

static int list_one_job(void *arg, const uint8_t id[HASH_LEN])
{
	struct list_jobs_ctx *c = arg;
	struct job_record j;
	int err = named_record(compute_get_job(c->l, id, &j));
	return err ? err : c->fn(c->arg, &j);
}

/* Reads only, so that the RPC can list a legacy chain's jobs from a view. */
int compute_list_jobs(const struct ledger *l, int (*fn)(void *arg, const struct job_record *j),
		      void *arg)
{
	struct list_jobs_ctx c = {l, fn, arg};
	struct jobs_list list;
	int err = jobs_list_get(l, &list);
	if (err != ASSAY_ENOTFOUND)
		return err ? err : jobs_walk(l, &list, list_one_job, &c);
	uint8_t *ids;
	size_t n;
	err = index_get(l, JOBS_LEGACY, HASH_LEN, &ids, &n);
	for (size_t i = 0; i < n && !err; i++)
		err = list_one_job(&c, ids + i * HASH_LEN);
	free(ids);
	return err;
}

/* ---- the worker registry (compute.md §8) ----
 * Every registered address that has not exited, once, in pages of
 * WORKERS_PAGE_SLOTS (registration order, but for an exit, which moves the
 * last address into the place it leaves), with WORKERS_SLOT || address ->
 * u64 its place, so that the exit costs a few values too:
 * WORKERS_COUNT = u64 count, and WORKERS_PAGE || u64 p -> the addresses
 * p x WORKERS_PAGE_SLOTS onwards, a full page but for the last. A new
 * registration reads the count and the last page (at most 300 bytes) and
 * writes both whatever the registry's size; the legacy form
 * (WORKERS_LEGACY, varint count || count x address, ascending, up to 1 MB
 * at COMPUTE_WORKERS_CAP) was read and rewritten whole by each, and the
 * block overlay kept every version for its revert. Pages, not one value
 * per address: an end of block that draws reads the whole registry, and a
 * read per address was most of its cost after the records' own. The rules
 * take the workers in ascending address order (the draws of §5, the
 * listing): workers_sorted sorts, once per end-of-block pass that draws.
 * No WORKERS_COUNT: no worker, or the legacy form, which the first new
 * registration or end of block moves into pages once.
 *
 * The due list says which unbonding workers an end of block looks at:
 * WORKERS_DUE || u64 height -> u64 count, and WORKERS_DUE || u64 height ||
 * u64 i -> address for each i < count. An unbond files its worker at its
 * unbond_height; a worker whose last job in flight ends after that height
 * is filed at the height of that block. The end of block h reads and
 * deletes the entries of h and releases the bonds that are due (the rule
 * of §1.1, judged on the record): before, every block read every worker
 * record to find them. An entry that no longer applies changes nothing. */
static const char WORKERS_LEGACY[] = "compute/workers";      /* absent once moved */
static const char WORKERS_COUNT[] = "compute/workers/count"; /* absent with the legacy form or none */
static const char WORKERS_PAGE[] = "compute/workers/page";   /* followed by u64 page */
static const char WORKERS_DUE[] = "compute/workers/due";     /* followed by u64 height [|| u64 i] */
static const char WORKERS_SLOT[] = "compute/workers/slot";   /* followed by address: u64 place in the pages */

static void workers_page_key(uint64_t page, uint8_t key[HASH_LEN])
{
	uint8_t s[8];
	le64_put(s, page);
	state_meta_key(WORKERS_PAGE, s, sizeof(s), key);
}

static void workers_slot_key(const uint8_t addr[ADDR_LEN], uint8_t key[HASH_LEN])
{
	state_meta_key(WORKERS_SLOT, addr, ADDR_LEN, key);
}

/* Page p of a registry of count addresses: addresses (its length exactly
 * that of the page, or it is damaged). */
static int workers_page_get(const struct ledger *l, uint64_t count, uint64_t p, uint8_t *addrs)
{
	uint8_t key[HASH_LEN];
	uint64_t first = p * WORKERS_PAGE_SLOTS, n = count - first;
	workers_page_key(p, key);
	return named_record(ledger_get_exact(l, key, addrs, (n < WORKERS_PAGE_SLOTS ? n : WORKERS_PAGE_SLOTS) * ADDR_LEN));
}

/* The entries' count of height (i NULL), or entry *i of height. */
static void workers_due_key(uint64_t height, const uint64_t *i, uint8_t key[HASH_LEN])
{
	uint8_t s[16];
	le64_put(s, height);
	if (i)
		le64_put(s + 8, *i);
	state_meta_key(WORKERS_DUE, s, i ? 16 : 8, key);
}

/* The paged form's count: ASSAY_ENOTFOUND while it is not in force, and
 * damage above COMPUTE_WORKERS_CAP (no genesis allows more). */
static int workers_count_get(const struct ledger *l, uint64_t *count)
{
	uint8_t key[HASH_LEN];
	state_meta_key(WORKERS_COUNT, NULL, 0, key);
	int err = ledger_get_u64(l, key, count);
	return !err && *count > COMPUTE_WORKERS_CAP ? ASSAY_ECORRUPT : err;
}

/* Files addr under height's due list: the end of that block reads it. */
static int workers_due_add(const struct ledger *l, uint64_t height, const uint8_t addr[ADDR_LEN])
{
	uint8_t key[HASH_LEN];
	uint64_t count;
	workers_due_key(height, NULL, key);
	int err = ledger_get_u64(l, key, &count);
	if (err && err != ASSAY_ENOTFOUND)
		return err;
	workers_due_key(height, &count, key);
	if ((err = ledger_put(l, key, addr, ADDR_LEN)))
		return err;
	workers_due_key(height, NULL, key);
	return ledger_put_u64(l, key, count + 1);
}

/* An unbonding worker whose last job in flight has just ended, in block
 * env->height, after its unbond height: the end of that height found it
 * busy, so it is filed again, for this block's end. At its unbond height
 * or before, the entry filed by its unbond is still to come. */
static int workers_due_idle(const struct compute_env *env, const struct worker_record *w)
{
	if (w->status != WORKER_UNBONDING || w->jobs_in_flight || w->unbond_height >= env->height)
		return 0;
	return workers_due_add(env->ledger, env->height, w->addr);
}

static int by_addr(const void *a, const void *b)
{
	return memcmp(a, b, ADDR_LEN);
}

/* The legacy value into pages, in its order, which must be strictly
 * ascending, and deleted, leaving out the workers that exited (the
 * registry no longer holds them); every unbonding worker filed as due at
 * its unbond height, or this block's if that is past (the due list did
 * not exist before). Once: its cost, a record read per worker, is that of
 * one end of block before the pages existed. *count: the addresses kept. */
static int workers_migrate(const struct compute_env *env, uint64_t *count)
{
	const struct ledger *l = env->ledger;
	uint8_t *addrs, key[HASH_LEN];
	size_t n, kept = 0;
	*count = 0;
	int err = index_get(l, WORKERS_LEGACY, ADDR_LEN, &addrs, &n);
	if (!err && n > COMPUTE_WORKERS_CAP)
		err = ASSAY_ECORRUPT;
	for (size_t i = 0; i < n && !err; i++) {
		const uint8_t *a = addrs + i * ADDR_LEN;
		struct worker_record w;
		if (i && memcmp(a - ADDR_LEN, a, ADDR_LEN) >= 0) {
			err = ASSAY_ECORRUPT; /* not as a registration writes it */
			break;
		}
		if ((err = named_record(compute_get_worker(l, a, &w))) || w.status == WORKER_EXITED)
			continue;
		if (w.status == WORKER_UNBONDING &&
		    (err = workers_due_add(l, w.unbond_height > env->height ? w.unbond_height : env->height, a)))
			break;
		workers_slot_key(a, key);
		if ((err = ledger_put_u64(l, key, kept)))
			break;
		/* kept <= i: moved down in place; a - ADDR_LEN, read next, is
		 * then still the legacy order's previous address or itself */
		memmove(addrs + kept++ * ADDR_LEN, a, ADDR_LEN);
	}
	for (size_t i = 0; i < kept && !err; i += WORKERS_PAGE_SLOTS) {
		workers_page_key(i / WORKERS_PAGE_SLOTS, key);
		err = ledger_put(l, key, addrs + i * ADDR_LEN,
				 (kept - i < WORKERS_PAGE_SLOTS ? kept - i : WORKERS_PAGE_SLOTS) * ADDR_LEN);
	}
	free(addrs);
	if (err || !n)
		return err;
	state_meta_key(WORKERS_COUNT, NULL, 0, key);
	if ((err = ledger_put_u64(l, key, kept)))
		return err;
	state_meta_key(WORKERS_LEGACY, NULL, 0, key);
	*count = kept;
	return ledger_del(l, key);
}

/* The registry's size before a change, the legacy form moved first. */
static int workers_load(const struct compute_env *env, uint64_t *count)
{
	int err = workers_count_get(env->ledger, count);
	return err == ASSAY_ENOTFOUND ? workers_migrate(env, count) : err;
}

/* Adds a new address after the count workers_load gave, at the end of
 * the last page or in a new one; the caller checked max_workers. */
static int workers_add(const struct ledger *l, uint64_t count, const uint8_t addr[ADDR_LEN])
{
	uint8_t key[HASH_LEN], page[WORKERS_PAGE_SLOTS * ADDR_LEN];
	uint64_t at = count % WORKERS_PAGE_SLOTS;
	int err = at ? workers_page_get(l, count, count / WORKERS_PAGE_SLOTS, page) : 0;
	memcpy(page + at * ADDR_LEN, addr, ADDR_LEN);
	workers_page_key(count / WORKERS_PAGE_SLOTS, key);
	if (!err)
		err = ledger_put(l, key, page, (at + 1) * ADDR_LEN);
	workers_slot_key(addr, key);
	if (!err)
		err = ledger_put_u64(l, key, count);
	state_meta_key(WORKERS_COUNT, NULL, 0, key);
	return err ? err : ledger_put_u64(l, key, count + 1);
}

/* Takes addr, which exits, out of the paged registry: the last address
 * moves into its place and the count shrinks, a few values whatever the
 * registry's size. Its place must name it, or the state is damaged. */
static int workers_remove(const struct ledger *l, const uint8_t addr[ADDR_LEN])
{
	uint8_t key[HASH_LEN], last_page[WORKERS_PAGE_SLOTS * ADDR_LEN], page[WORKERS_PAGE_SLOTS * ADDR_LEN];
	uint64_t count, at;
	int err = workers_count_get(l, &count);
	workers_slot_key(addr, key);
	if (!err)
		err = named_record(ledger_get_u64(l, key, &at));
	if (!err && (count == 0 || at >= count))
		err = ASSAY_ECORRUPT;
	if (err)
		return err;
	uint64_t last = count - 1, lp = last / WORKERS_PAGE_SLOTS, ap = at / WORKERS_PAGE_SLOTS;
	if ((err = workers_page_get(l, count, lp, last_page)))
		return err;
	uint8_t *here = ap == lp ? last_page : page;
	if (ap != lp && (err = workers_page_get(l, count, ap, page)))
		return err;
	if (memcmp(here + (at % WORKERS_PAGE_SLOTS) * ADDR_LEN, addr, ADDR_LEN) != 0)
		return ASSAY_ECORRUPT; /* its place names another address */
	if (at != last) {
		const uint8_t *moved = last_page + (last % WORKERS_PAGE_SLOTS) * ADDR_LEN;
		memcpy(here + (at % WORKERS_PAGE_SLOTS) * ADDR_LEN, moved, ADDR_LEN);
		workers_slot_key(moved, key);
		if ((err = ledger_put_u64(l, key, at)))
			return err;
		workers_page_key(ap, key);
		if (ap != lp && (err = ledger_put(l, key, page, WORKERS_PAGE_SLOTS * ADDR_LEN)))
			return err;
	}
	/* the last page loses its last address (and goes with its only one) */
	workers_page_key(lp, key);
	size_t left = (size_t)(last % WORKERS_PAGE_SLOTS);
	err = left ? ledger_put(l, key, last_page, left * ADDR_LEN) : ledger_del(l, key);
	workers_slot_key(addr, key);
	if (!err)
		err = ledger_del(l, key);
	state_meta_key(WORKERS_COUNT, NULL, 0, key);
	return err ? err : ledger_put_u64(l, key, last);
}

/* Every registered address, ascending, from either form, reading only: an
 * address twice is damage. *addrs is malloc()ed (NULL when *n = 0); the
 * caller frees it. */
static int workers_sorted(const struct ledger *l, uint8_t **addrs, size_t *n)
{
	uint64_t count;
	*addrs = NULL;
	*n = 0;
	int err = workers_count_get(l, &count);
	if (err == ASSAY_ENOTFOUND) {
		if ((err = index_get(l, WORKERS_LEGACY, ADDR_LEN, addrs, n)))
			return err;
		count = *n;
	} else if (err) {
		return err;
	} else if (count && !(*addrs = malloc((size_t)count * ADDR_LEN))) {
		return ASSAY_ENOMEM;
	} else {
		for (uint64_t p = 0; p * WORKERS_PAGE_SLOTS < count && !err; p++)
			err = workers_page_get(l, count, p, *addrs + p * WORKERS_PAGE_SLOTS * ADDR_LEN);
		if (!err && count)
			qsort(*addrs, (size_t)count, ADDR_LEN, by_addr);
	}
	for (size_t i = 1; i < (size_t)count && !err; i++)
		if (memcmp(*addrs + (i - 1) * ADDR_LEN, *addrs + i * ADDR_LEN, ADDR_LEN) >= 0)
			err = ASSAY_ECORRUPT;
	if (err) {
		free(*addrs);
		*addrs = NULL;
		return err;
	}
	*n = (size_t)count;
	return 0;
}

/* Loads every worker's record into the cache, by address, the first time
 * the end-of-block pass is to draw: a block that draws nothing reads no
 * worker record. Written records are in state by then, and
 * put_worker_cached keeps the cache equal to state from then on. */
static int worker_cache_load(const struct ledger *l, struct worker_cache *cache)
{
	uint8_t *addrs;
	size_t n;
	if (cache->loaded)
		return 0;
	int err = workers_sorted(l, &addrs, &n);
	if (!err && n && !(cache->w = calloc(n, sizeof(*cache->w))))
		err = ASSAY_ENOMEM;
	for (size_t i = 0; i < n && !err; i++, cache->n++)
		err = named_record(compute_get_worker(l, addrs + i * ADDR_LEN, &cache->w[i]));
	free(addrs);
	cache->loaded = !err;
	return err;
}

/* The bond of a worker filed as due comes back if the rule of §1.1 holds
 * now: unbonding, no job in flight, its unbond height reached. */
static int worker_exit_if_due(const struct compute_env *env, const uint8_t addr[ADDR_LEN])
{
	struct worker_record w;
	int err = named_record(compute_get_worker(env->ledger, addr, &w));
	if (err || w.status != WORKER_UNBONDING || w.jobs_in_flight || env->height < w.unbond_height)
		return err;
	if ((err = ledger_credit(env->ledger, w.addr, w.bond)))
		return err;
	w.bond = 0;
	w.status = WORKER_EXITED;
	if ((err = put_worker(env->ledger, &w)))
		return err;
	return workers_remove(env->ledger, addr); /* its place is free for another (compute.md §8) */
}

/* The end of block env->height: reads and deletes its due entries. */
static int workers_release_due(const struct compute_env *env)
{
	const struct ledger *l = env->ledger;
	uint8_t key[HASH_LEN], addr[ADDR_LEN];
	uint64_t count;
	workers_due_key(env->height, NULL, key);
	int err = ledger_get_u64(l, key, &count);
	if (err == ASSAY_ENOTFOUND)
		return 0;
	if (!err)
		err = ledger_del(l, key);
	for (uint64_t i = 0; i < count && !err; i++) {
		workers_due_key(env->height, &i, key);
		if (!(err = named_record(ledger_get_exact(l, key, addr, ADDR_LEN))) && !(err = ledger_del(l, key)))
			err = worker_exit_if_due(env, addr);
	}
	return err;
}

/* Reads only, so that the RPC can list a legacy chain's workers from a view. */
int compute_list_workers(const struct ledger *l, int (*fn)(void *arg, const struct worker_record *w),
			 void *arg)
{
	uint8_t *addrs;
	size_t n;
	int err = workers_sorted(l, &addrs, &n);
	for (size_t i = 0; i < n && !err; i++) {
		struct worker_record w;
		err = named_record(compute_get_worker(l, addrs + i * ADDR_LEN, &w));
		if (!err && w.status != WORKER_EXITED) /* the legacy form still lists them */
			err = fn(arg, &w);
	}
	free(addrs);
	return err;
}

void compute_job_id(const uint8_t sender[ADDR_LEN], uint64_t nonce, uint8_t job_id[HASH_LEN])
{
	uint8_t in[ADDR_LEN + 8];
	memcpy(in, sender, ADDR_LEN);
	le64_put(in + ADDR_LEN, nonce);
	hash_tagged("assay/job", in, sizeof(in), job_id);
}

/* ---- amounts ---- */

/* floor(amount * bps / 10^4) with a 128-bit intermediate: never wraps. */
static uint64_t bps_of(uint64_t amount, uint32_t bps)
{
	return (uint64_t)((unsigned __int128)amount * bps / BPS);
}

uint64_t compute_job_lock(const struct compute_params *p, uint64_t reward)
{
	return bps_of(reward, p->bond_reward_bps);
}

/* Takes bps of the slot's lock from its worker's bond and frees the lock:
 * to_submitter_bps of the amount to the submitter, the rest to
 * LEDGER_BURN_ADDR. A missed deadline passes 0 so that nobody, and least a
 * submitter who censored the worker, profits from it (compute.md §10).
 * Marks one failed assignment and releases it from jobs_in_flight. */
static int slash_worker(const struct compute_env *env, struct worker_cache *cache, const struct job_slot *s,
			const uint8_t submitter[ADDR_LEN], uint32_t bps, uint32_t to_submitter_bps)
{
	struct worker_record w;
	int err = named_record(compute_get_worker(env->ledger, s->worker, &w));
	if (err)
		return err;
	uint64_t amount = bps_of(s->lock, bps);
	if (amount > w.bond)
		amount = w.bond; /* cannot happen while locked <= bond; keeps amounts sound */
	uint64_t to_submitter = bps_of(amount, to_submitter_bps);
	w.bond -= amount;
	w.locked = w.locked > s->lock ? w.locked - s->lock : 0;
	if (w.locked > w.bond)
		w.locked = w.bond;
	if (amount_add(w.slashed_total, amount, &w.slashed_total))
		w.slashed_total = UINT64_MAX; /* a statistic; saturating is harmless */
	w.jobs_failed++;
	if (w.jobs_in_flight && !--w.jobs_in_flight && (err = workers_due_idle(env, &w)))
		return err;
	if ((err = put_worker_cached(env->ledger, cache, &w)))
		return err;
	if (submitter && (err = ledger_credit(env->ledger, submitter, to_submitter)))
		return err;
	return ledger_credit(env->ledger, LEDGER_BURN_ADDR, amount - to_submitter);
}

/* Adjusts a worker's in-flight count, frees the assignment's lock and
 * counts a paid job. */
static int worker_release(const struct compute_env *env, struct worker_cache *cache, const struct job_slot *s,
			  int paid)
{
	struct worker_record w;
	int err = named_record(compute_get_worker(env->ledger, s->worker, &w));
	if (err)
		return err;
	if (w.jobs_in_flight && !--w.jobs_in_flight && (err = workers_due_idle(env, &w)))
		return err;
	w.locked = w.locked > s->lock ? w.locked - s->lock : 0;
	if (paid)
		w.jobs_done++;
	return put_worker_cached(env->ledger, cache, &w);
}

/* ---- job helpers ---- */

static int slot_live(const struct job_slot *s)
{
	return s->state >= SLOT_ASSIGNED && s->state <= SLOT_VERIFIED;
}

/* A slot holds a commitment that a root can be tested against. */
static int slot_committed(const struct job_slot *s)
{
	return s->state >= SLOT_COMMITTED && s->state <= SLOT_VERIFIED;
}

static struct job_slot *find_slot(struct job_record *j, const uint8_t addr[ADDR_LEN])
{
	for (unsigned i = 0; i < j->spec.redundancy; i++)
		if (j->slots[i].state != SLOT_EMPTY && memcmp(j->slots[i].worker, addr, ADDR_LEN) == 0)
			return &j->slots[i];
	return NULL;
}

static int job_terminal(const struct job_record *j)
{
	return j->state >= JOB_PAID;
}

/* ---- displacement from a full live list (compute.md §1.3) ----
 * A live job no worker has committed to (every slot empty or assigned) can
 * be displaced by a job that pays more than COMPUTE_DISPLACE_BUMP_PCT above
 * it, when max_live_jobs are live: the list is scarce, and holding a place
 * must cost what others would pay for it, not only the fee of a submit
 * (every escrow comes back to a job no worker did). The cheapest such job
 * is found by the end-of-block pass, which reads every live job anyway,
 * and kept in JOBS_CHEAPEST; a submit reads that one key, so finding it
 * costs nothing per transaction, and one is displaced at most per block. */
#define COMPUTE_DISPLACE_BUMP_PCT 10
static const char JOBS_CHEAPEST[] = "compute/jobs/cheapest"; /* job_id; absent: none */

static int job_displaceable(const struct job_record *j)
{
	if (job_terminal(j) || j->state == JOB_VERIFIED)
		return 0;
	for (unsigned i = 0; i < j->spec.redundancy && i < JOB_MAX_REDUNDANCY; i++)
		if (j->slots[i].state != SLOT_EMPTY && j->slots[i].state != SLOT_ASSIGNED)
			return 0;
	return 1;
}

/* What the end-of-block pass found: the displaceable job paying least, the
 * newest of those paying as little (older jobs keep their place first). */
struct displace_pick {
	int have;
	uint8_t id[HASH_LEN];
	uint64_t reward;
};

static void displace_consider(struct displace_pick *pick, const struct job_record *j)
{
	if (!pick || !job_displaceable(j) || (pick->have && j->spec.reward > pick->reward))
		return;
	pick->have = 1;
	memcpy(pick->id, j->id, HASH_LEN);
	pick->reward = j->spec.reward;
}

static int displace_put(const struct ledger *l, const struct displace_pick *pick)
{
	uint8_t key[HASH_LEN];
	state_key(NS_META, JOBS_CHEAPEST, strlen(JOBS_CHEAPEST), key);
	return pick->have ? ledger_put(l, key, pick->id, HASH_LEN) : ledger_del(l, key);
}

/* ---- output availability hooks (avail.h, docs/compute.md §15) ---- */

/* Every slot that passed its spot-check has uploaded its whole output as
 * chunks (failed slots need not). */
static int job_uploaded(const struct job_record *j)
{
	uint32_t tiles = kernel_tile_count(&j->spec.shape);
	for (unsigned i = 0; i < j->spec.redundancy; i++)
		if (j->slots[i].state == SLOT_VERIFIED && j->slots[i].uploaded_tiles < tiles)
			return 0;
	return 1;
}

/* When slot s may upload, and from which height its window counts: the
 * one rule, avail_slot_open (avail.c), which the node's chunk store applies
 * too. */
static int slot_upload_open(const struct job_record *j, const struct job_slot *s, uint64_t *from)
{
	return avail_slot_open(j, (unsigned)(s - j->slots), from);
}
/* ---- end of output availability hooks ---- */

/* The state a non-terminal job is in, from its slots (docs/compute.md §1).
 * Failed slots (after a root was opened) do not count; a job whose slots
 * all failed stays committed and is refunded by the end-of-block pass. */
static void job_update_state(struct job_record *j, uint64_t height, const struct compute_params *p)
{
	if (job_terminal(j) || j->state == JOB_VERIFIED)
		return;
	int empty = 0, assigned = 0, verified = 0, pending = 0;
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		empty += j->slots[i].state == SLOT_EMPTY;
		assigned += j->slots[i].state == SLOT_ASSIGNED;
		verified += j->slots[i].state == SLOT_VERIFIED;
		pending += j->slots[i].state == SLOT_COMMITTED || j->slots[i].state == SLOT_CHALLENGED;
	}
	if (empty)
		j->state = JOB_OPEN;
	else if (assigned)
		j->state = JOB_ASSIGNED;
	else if (!pending && verified && job_uploaded(j)) { /* avail: whole output uploaded */
		j->state = JOB_VERIFIED;
		j->verified_height = height;
		j->payout_height = height + p->dispute_window;
	} else
		j->state = JOB_COMMITTED;
}

/* The job's challenge phase starts again: no root is open yet, a slot was
 * emptied, and its new worker must commit before any root is opened
 * (compute.md §1). The salt, once opened, stays, but the new worker will
 * know it when it commits: the next challenge waits for the later beacon. */
static void job_unseal(struct job_record *j)
{
	if (j->salt_posted)
		j->salt_posted = SALT_OPENED_LATE;
	j->sealed_height = 0;
	j->challenge_height = 0;
	memset(j->challenge_beacon, 0, HASH_LEN);
	for (unsigned i = 0; i < j->spec.redundancy; i++)
		if (j->slots[i].state == SLOT_CHALLENGED) {
			j->slots[i].state = SLOT_COMMITTED;
			j->slots[i].challenge_height = 0;
		}
}

/* Slots flagged in `failing` were proven wrong or missed a deadline (their
 * workers already slashed). Each is excluded from the job. Once the job is
 * verified, while some other slot has opened its root, or once any slot
 * (a failing or failed one included) has uploaded part of its output, a
 * failed slot is not drawn again: its new worker could copy that output.
 * Nor is it once the challenge is fixed while another slot still waits on
 * it: the redraw would draw that slot a new challenge, so a worker whose
 * sampled tiles are wrong could have a Sybil slot fail and try again
 * (compute.md §1.2). Otherwise it is emptied at `height` and redrawn, and
 * the challenge phase starts again. */
static void slots_fail(struct job_record *j, const int failing[JOB_MAX_REDUNDANCY], uint64_t height)
{
	int opened = 0, waiting = 0;
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		const struct job_slot *s = &j->slots[i];
		opened |= (!failing[i] && s->state == SLOT_VERIFIED) || s->uploaded_tiles > 0;
		waiting |= !failing[i] && (s->state == SLOT_COMMITTED || s->state == SLOT_CHALLENGED);
	}
	int keep_challenge = j->challenge_height && waiting;
	int redraw = 0;
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		struct job_slot *s = &j->slots[i];
		if (!failing[i])
			continue;
		if (j->excluded_count < JOB_MAX_EXCLUDED)
			memcpy(j->excluded[j->excluded_count++], s->worker, ADDR_LEN);
		if (j->state == JOB_VERIFIED || opened || keep_challenge) {
			s->state = SLOT_FAILED;
			continue;
		}
		memset(s, 0, sizeof(*s));
		s->assigned_height = height; /* drawn challenge_delay blocks later */
		redraw = 1;
	}
	if (redraw)
		job_unseal(j);
}

/* A root proven wrong (a revealed or disputed tile under it is wrong):
 * every slot of the job that committed to that same root is slashed and
 * fails, whether or not it has opened it yet (compute.md §6.3). */
static int slash_root(const struct compute_env *env, struct worker_cache *cache, struct job_record *j,
		      const uint8_t root[HASH_LEN], unsigned *count)
{
	int failing[JOB_MAX_REDUNDANCY] = {0}, err = 0;
	*count = 0;
	for (unsigned i = 0; i < j->spec.redundancy && !err; i++) {
		struct job_slot *s = &j->slots[i];
		uint8_t c[HASH_LEN];
		if (!slot_committed(s))
			continue;
		kernel_root_commitment(root, s->worker, c);
		if (memcmp(c, s->commitment, HASH_LEN) != 0)
			continue;
		failing[i] = 1;
		(*count)++;
		err = slash_worker(env, cache, s, j->submitter, env->params->slash_bps,
				   env->params->slash_submitter_bps);
	}
	if (!err)
		slots_fail(j, failing, env->height);
	return err;
}

/* Returns the escrow and what is left of the check escrow to the submitter
 * and releases every live slot. */
static int job_refund(const struct compute_env *env, struct worker_cache *cache, struct job_record *j,
		      uint8_t final_state)
{
	uint64_t back;
	if (amount_add(j->escrow, j->check_escrow, &back))
		return ASSAY_EOVERFLOW; /* both were debited from balances: cannot happen */
	int err = ledger_credit(env->ledger, j->submitter, back);
	j->escrow = 0;
	j->check_escrow = 0;
	for (unsigned i = 0; i < j->spec.redundancy && !err; i++)
		if (slot_live(&j->slots[i]))
			err = worker_release(env, cache, &j->slots[i], 0);
	j->state = final_state;
	return err;
}

/* Pays a checking transaction's fee back from the job's check escrow, up
 * to the fee the chain's rule asks for the gas it used (compute.md §6.4). */
static int refund_check_fee(const struct compute_env *env, struct job_record *j, const uint8_t to[ADDR_LEN],
			    uint64_t fee, uint64_t gas_used)
{
	unsigned __int128 due = (unsigned __int128)gas_used * env->gas_price + env->min_fee;
	uint64_t pay = fee;
	if (due < pay)
		pay = (uint64_t)due;
	if (j->check_escrow < pay)
		pay = j->check_escrow;
	j->check_escrow -= pay;
	return ledger_credit(env->ledger, to, pay);
}

/* Loads a job's inputs for checking: blobs are read from state. in_data[]
 * entries are malloc()ed; the caller frees them with src_free. */
static int src_open(const struct ledger *l, const struct job_spec *spec, struct kernel_src *src)
{
	memset(src, 0, sizeof(*src));
	if (spec->input_kind == JOB_INPUT_SEED) {
		src->from_seed = 1;
		memcpy(src->seed, spec->seed, HASH_LEN);
		return 0;
	}
	for (unsigned i = 0; i < kernel_input_count(&spec->shape); i++) {
		uint8_t key[HASH_LEN], *val;
		size_t len;
		state_key(NS_BLOB, spec->blobs[i], HASH_LEN, key);
		int err = ledger_get(l, key, &val, &len);
		if (!err && len != kernel_input_bytes(&spec->shape, i)) {
			free(val);
			err = ASSAY_EINVALID;
		}
		if (err) {
			for (unsigned q = 0; q < i; q++)
				free((void *)src->data[q]);
			return err;
		}
		src->data[i] = val;
	}
	return 0;
}

static void src_close(struct kernel_src *src)
{
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		free((void *)src->data[i]);
}

/* Gas units of checking tile proof t (docs/compute.md §6): a revealed one,
 * or a disputed one (mlp disputes recompute). */
static uint64_t tile_units(const struct job_shape *s, const struct tile_proof *t, int dispute)
{
	uint64_t bytes = (uint64_t)t->tile_len + t->pre_len;
	return dispute ? compute_dispute_tile_units(s, t->index, bytes, t->depth)
		       : compute_tile_units(s, t->index, bytes, t->depth);
}

static int charge(const struct compute_env *env, unsigned __int128 units, uint64_t gas_limit,
		  struct compute_result *res)
{
	uint64_t gas;
	if (compute_check_gas(env->params->gas_per_check_unit, units, &gas) != 0 || gas > gas_limit)
		return reject(res, ASSAY_EGAS, "checking needs %llu gas, limit %llu", (unsigned long long)gas,
			      (unsigned long long)gas_limit);
	res->gas_used = gas;
	return 0;
}

/* The leaf of proof t of tile t->index into leaf: 0, ASSAY_EINVALID for a
 * tile or pre-activations of the wrong length, or ASSAY_ENOMEM (ours). An
 * mlp leaf binds the tile's pre-activation digest P_i (docs/compute.md §3):
 * a reveal carries the pre-activations it hashes to (their digest in
 * `digest` where the caller has it already), a dispute the 32-byte digest
 * itself. A matmul leaf is left to the caller where leaf is NULL (the
 * lengths are still checked). */
static int proof_leaf(const struct job_shape *s, const struct tile_proof *t, int dispute,
		      const uint8_t *digest, uint8_t *leaf)
{
	if (t->index >= kernel_tile_count(s) || t->tile_len != kernel_tile_bytes(s, t->index))
		return ASSAY_EINVALID;
	if (s->kind != JOB_MLP_I8) {
		if (t->pre_len)
			return ASSAY_EINVALID;
		if (leaf)
			kernel_tile_leaf(t->index, t->tile, t->tile_len, leaf);
		return 0;
	}
	uint8_t own[HASH_LEN];
	if (dispute ? t->pre_len != HASH_LEN : t->pre_len != mlp_tile_pre_bytes(s, t->index))
		return ASSAY_EINVALID;
	if (dispute) {
		digest = t->pre;
	} else if (!digest) {
		mlp_pre_digest(t->pre, t->pre_len, own);
		digest = own;
	}
	return mlp_tile_leaf(t->index, t->tile, t->tile_len, digest, leaf) ? ASSAY_ENOMEM : 0;
}

/* 0 if proof t verifies against root; ASSAY_ENOMEM is ours, any other code
 * a wrong proof. */
static int proof_ok(const struct job_shape *s, const struct tile_proof *t, const uint8_t root[HASH_LEN],
		    int dispute)
{
	uint8_t leaf[HASH_LEN];
	int err = proof_leaf(s, t, dispute, NULL, leaf);
	if (err)
		return err;
	return merkle_verify(leaf, t->index, kernel_tile_count(s), t->path, t->depth, root) ? ASSAY_ESIG : 0;
}

/* The pre-activation digests of an mlp reveal's tiles, two at a time where
 * two in a row carry pre-activations of one length (the most hashing a
 * reveal check does: docs/compute.md §6.1a); have[i] is 0 for a tile whose
 * length proof_leaf will refuse. */
static void reveal_digests(const struct job_shape *s, const struct job_reveal_payload *p,
			   uint8_t (*digest)[HASH_LEN], uint8_t *have)
{
	uint32_t prev = UINT32_MAX; /* a tile waiting for a partner */
	for (uint32_t i = 0; i < p->count; i++) {
		const struct tile_proof *t = &p->tiles[i];
		have[i] = t->index < kernel_tile_count(s) && t->pre_len == mlp_tile_pre_bytes(s, t->index);
		if (!have[i])
			continue;
		if (prev != UINT32_MAX && p->tiles[prev].pre_len == t->pre_len) {
			mlp_pre_digest2(p->tiles[prev].pre, t->pre, t->pre_len, digest[prev], digest[i]);
			prev = UINT32_MAX;
		} else {
			if (prev != UINT32_MAX)
				mlp_pre_digest(p->tiles[prev].pre, p->tiles[prev].pre_len, digest[prev]);
			prev = i;
		}
	}
	if (prev != UINT32_MAX)
		mlp_pre_digest(p->tiles[prev].pre, p->tiles[prev].pre_len, digest[prev]);
}

/* proof_ok of every tile of a reveal into verdict[], the Merkle paths
 * verified as one batch (merkle_verify_batch: each verdict is the one
 * proof_ok would give, the hashes its paths share above where they meet
 * computed once). */
static void reveal_proofs(const struct job_shape *s, const struct job_reveal_payload *p, int verdict[])
{
	struct merkle_claim claims[JOB_MAX_SAMPLES];
	uint8_t digest[JOB_MAX_SAMPLES][HASH_LEN], have[JOB_MAX_SAMPLES] = {0};
	uint32_t of[JOB_MAX_SAMPLES] = {0};
	uint8_t ok[JOB_MAX_SAMPLES];
	size_t n = 0;
	int mlp = s->kind == JOB_MLP_I8;
	if (mlp)
		reveal_digests(s, p, digest, have);
	for (uint32_t i = 0; i < p->count; i++) {
		const struct tile_proof *t = &p->tiles[i];
		if ((verdict[i] = proof_leaf(s, t, 0, have[i] ? digest[i] : NULL, mlp ? claims[n].leaf : NULL)) != 0)
			continue;
		claims[n].index = t->index;
		claims[n].path = t->path;
		claims[n].depth = t->depth;
		of[n++] = i;
	}
	for (size_t q = 0; !mlp && q < n; q++) { /* matmul leaves, two at a time where two have one length */
		const struct tile_proof *a = &p->tiles[of[q]], *b = q + 1 < n ? &p->tiles[of[q + 1]] : NULL;
		if (b && b->tile_len == a->tile_len) {
			kernel_tile_leaf2(a->index, a->tile, b->index, b->tile, a->tile_len, claims[q].leaf,
					  claims[q + 1].leaf);
			q++;
		} else {
			kernel_tile_leaf(a->index, a->tile, a->tile_len, claims[q].leaf);
		}
	}
	merkle_verify_batch(claims, n, kernel_tile_count(s), p->root, ok);
	for (size_t q = 0; q < n; q++)
		verdict[of[q]] = ok[q] ? 0 : ASSAY_ESIG;
}

/* ---- transactions ---- */

int compute_apply_register(const struct compute_env *env, const struct worker_register_payload *p,
			   const uint8_t sender[20], struct compute_result *res)
{
	memset(res, 0, sizeof(*res));
	struct worker_record w;
	int err = compute_get_worker(env->ledger, sender, &w);
	int fresh = err == ASSAY_ENOTFOUND;
	if (err && !fresh)
		return err;
	if (!fresh && w.status == WORKER_UNBONDING)
		return reject(res, ASSAY_EINVALID, "worker is unbonding; wait for the bond's return");
	/* A new or exited worker bonds at least min_bond; an active one tops
	 * up by any amount, zero to change only its endpoint, also when slashes
	 * left it below min_bond: it is then not drawn (compute.md §5, §7.1). */
	int joining = fresh || w.status == WORKER_EXITED;
	uint64_t bond = joining ? 0 : w.bond;
	if (amount_add(bond, p->bond, &bond))
		return reject(res, ASSAY_EOVERFLOW, "bond overflows");
	if (joining && bond < env->params->min_bond)
		return reject(res, ASSAY_EINVALID, "bond %llu below min_bond %llu",
			      (unsigned long long)bond, (unsigned long long)env->params->min_bond);
	if (joining) { /* an exited worker left the registry: it joins again */
		uint64_t n;
		if ((err = workers_load(env, &n)))
			return err;
		if (n >= env->params->max_workers)
			return reject(res, ASSAY_EFULL, "worker registry full (%llu)", (unsigned long long)n);
		if (fresh) {
			memset(&w, 0, sizeof(w));
			memcpy(w.addr, sender, ADDR_LEN);
		}
		if ((err = workers_add(env->ledger, n, sender)))
			return err;
	}
	if ((err = ledger_debit(env->ledger, sender, p->bond)))
		return reject(res, err, "balance too low for a bond of %llu", (unsigned long long)p->bond);
	if (joining)
		w.registered_height = env->height;
	w.bond = bond;
	w.status = WORKER_ACTIVE;
	w.unbond_height = 0;
	memcpy(w.endpoint, p->endpoint, sizeof(w.endpoint));
	memcpy(w.backend, p->backend, sizeof(w.backend));
	return put_worker(env->ledger, &w);
}

int compute_apply_unbond(const struct compute_env *env, const uint8_t sender[20], struct compute_result *res)
{
	memset(res, 0, sizeof(*res));
	struct worker_record w;
	int err = compute_get_worker(env->ledger, sender, &w);
	if (err == ASSAY_ENOTFOUND || (!err && w.status != WORKER_ACTIVE))
		return reject(res, ASSAY_EINVALID, "not an active worker");
	if (err)
		return err;
	w.status = WORKER_UNBONDING;
	w.unbond_height = env->height + env->params->unbond_delay;
	if ((err = put_worker(env->ledger, &w)))
		return err;
	return workers_due_add(env->ledger, w.unbond_height, sender); /* read by that block's end */
}

/* Depth of the tile tree of `tiles` leaves: the length of every audit path. */
static uint64_t tree_depth(uint32_t tiles)
{
	uint64_t depth = 0;
	while (((uint64_t)1 << depth) < tiles)
		depth++;
	return depth;
}

/* Bytes of tile 0's reveal: its output and, for mlp, its pre-activations. */
static uint64_t reveal_tile_bytes(const struct job_shape *s)
{
	return kernel_tile_bytes(s, 0) + (s->kind == JOB_MLP_I8 ? mlp_tile_pre_bytes(s, 0) : 0);
}

/* Units of checking one worst-case tile: tile 0 is never an edge tile, so it
 * is the largest and costliest (as tile_units() counts). */
static unsigned __int128 worst_tile_units(const struct job_shape *s)
{
	return compute_tile_units(s, 0, reveal_tile_bytes(s), tree_depth(kernel_tile_count(s)));
}

/* The same for a dispute of it (its proof carries P_i, not the z's). */
static unsigned __int128 worst_dispute_units(const struct job_shape *s)
{
	return compute_dispute_tile_units(s, 0, kernel_leaf_bytes(s, 0), tree_depth(kernel_tile_count(s)));
}

/* Units of a worst-case reveal of k tiles. */
static unsigned __int128 worst_reveal_units(const struct job_shape *s, uint64_t k)
{
	return worst_tile_units(s) * k + compute_reveal_fixed_units(s);
}

static uint64_t challenged_count(const struct job_spec *spec)
{
	uint32_t tiles = kernel_tile_count(&spec->shape);
	return spec->samples < tiles ? spec->samples : tiles;
}

uint64_t compute_reveal_max_bytes(const struct job_spec *spec)
{
	const struct job_shape *s = &spec->shape;
	uint64_t tile_max = kernel_tile_bytes(s, 0); /* tile 0 is never an edge tile */
	uint64_t pre_max = s->kind == JOB_MLP_I8 ? mlp_tile_pre_bytes(s, 0) : 0;
	uint64_t depth = tree_depth(kernel_tile_count(s));
	/* job id, root, count, then per tile: index u32, length varint, bytes,
	 * pre length varint, pre-activations, depth varint, path. Shapes pass
	 * kernel_shape_check first, so this stays far below 2^64. */
	return challenged_count(spec) * (4 + 9 + tile_max + 9 + pre_max + 9 + 32 * depth) + 32 + 32 + 9;
}

/* A full live list: displaces the job the last end-of-block pass found
 * cheapest (JOBS_CHEAPEST) for one paying reward, if it is still live, no
 * worker has committed to it, and reward is more than
 * COMPUTE_DISPLACE_BUMP_PCT above its own. The displaced job is refunded
 * whole (escrow and check escrow, its assigned workers' locks freed, no
 * slash) and leaves the list; the note says so. Else the rejection says
 * what it would take. */
static int displace(const struct compute_env *env, uint64_t reward, uint64_t live, struct compute_result *res)
{
	uint8_t key[HASH_LEN], id[HASH_LEN];
	size_t len;
	struct job_record v;
	state_key(NS_META, JOBS_CHEAPEST, strlen(JOBS_CHEAPEST), key);
	int err = ledger_get_into(env->ledger, key, id, HASH_LEN, &len);
	if (err == ASSAY_ELIMIT || (!err && len != HASH_LEN))
		err = ASSAY_ECORRUPT;
	if (!err && (err = compute_get_job(env->ledger, id, &v)) == ASSAY_ENOTFOUND)
		err = ASSAY_ECORRUPT; /* the pass named a job that is not stored */
	if (err == ASSAY_ENOTFOUND || (!err && !job_displaceable(&v)))
		return reject(res, ASSAY_EFULL,
			      "too many live jobs (%llu), and none can be displaced in this block (only one no worker "
			      "has committed to, found at the end of the last block)",
			      (unsigned long long)live);
	if (err)
		return err;
	if ((unsigned __int128)reward * 100 <= (unsigned __int128)v.spec.reward * (100 + COMPUTE_DISPLACE_BUMP_PCT))
		return reject(res, ASSAY_EFULL,
			      "too many live jobs (%llu): a new job displaces the cheapest open one (reward %llu) "
			      "only by paying more than %d%% above it",
			      (unsigned long long)live, (unsigned long long)v.spec.reward, COMPUTE_DISPLACE_BUMP_PCT);
	if ((err = job_refund(env, NULL, &v, JOB_REFUNDED)) || (err = jobs_unlink(env->ledger, v.id)) ||
	    (err = put_job(env->ledger, &v)) || (err = ledger_del(env->ledger, key)))
		return err;
	char hex[2 * HASH_LEN + 1];
	hex_encode(v.id, HASH_LEN, hex);
	snprintf(res->error, sizeof(res->error), "displaced job %s (reward %llu), refunded", hex,
		 (unsigned long long)v.spec.reward);
	return 0;
}

/* Refuses a job whose reveal no worker could get mined: a tile over
 * TILE_MAX_BYTES, a worst-case reveal (k of the largest tiles with the
 * deepest proofs) over the chain's transaction size, or its checking gas
 * over the block gas limit or the per-block reveal budget. Otherwise every
 * honest worker drawn for it would be slashed for a missed reveal. */
static int reveal_fits(const struct compute_env *env, const struct job_spec *spec, char *why, size_t whylen)
{
	const struct job_shape *s = &spec->shape;
	uint64_t tile_max = kernel_tile_bytes(s, 0); /* tile 0 is never an edge tile */
	uint64_t pre_max = s->kind == JOB_MLP_I8 ? mlp_tile_pre_bytes(s, 0) : 0;
	if (tile_max > TILE_MAX_BYTES || pre_max > TILE_MAX_PRE_BYTES || kernel_leaf_bytes(s, 0) > AVAIL_CHUNK_MAX_BYTES) {
		snprintf(why, whylen, "a tile is %llu bytes with %llu of pre-activations, limits %u and %u",
			 (unsigned long long)tile_max, (unsigned long long)pre_max, TILE_MAX_BYTES, TILE_MAX_PRE_BYTES);
		return ASSAY_ELIMIT;
	}
	uint64_t k = challenged_count(spec);
	uint64_t bytes = compute_reveal_max_bytes(spec);
	if (env->max_tx_bytes && bytes + COMPUTE_REVEAL_TX_OVERHEAD > env->max_tx_bytes) {
		snprintf(why, whylen, "a reveal of %llu tiles may take %llu bytes, above max_tx_bytes %llu",
			 (unsigned long long)k, (unsigned long long)bytes,
			 (unsigned long long)env->max_tx_bytes);
		return ASSAY_ELIMIT;
	}
	uint64_t gas;
	int over = compute_check_gas(env->params->gas_per_check_unit, worst_reveal_units(s, k), &gas) != 0;
	if (env->max_block_gas && (over || gas > env->max_block_gas)) {
		snprintf(why, whylen, "checking a reveal may cost %llu gas, above max_block_gas %llu",
			 (unsigned long long)gas, (unsigned long long)env->max_block_gas);
		return ASSAY_ELIMIT;
	}
	if (over || gas > env->params->reveal_block_gas) {
		snprintf(why, whylen, "checking a reveal may cost %llu gas, above reveal_block_gas %llu",
			 (unsigned long long)gas, (unsigned long long)env->params->reveal_block_gas);
		return ASSAY_ELIMIT;
	}
	return 0;
}

int compute_check_escrow(const struct compute_env *env, const struct job_spec *spec, uint64_t *amount)
{
	uint64_t reveal_gas, dispute_gas;
	*amount = UINT64_MAX;
	if (compute_check_gas(env->params->gas_per_check_unit, worst_reveal_units(&spec->shape, challenged_count(spec)),
			      &reveal_gas) ||
	    compute_check_gas(env->params->gas_per_check_unit, worst_dispute_units(&spec->shape) * 2, &dispute_gas))
		return ASSAY_EOVERFLOW;
	unsigned __int128 total =
		((unsigned __int128)reveal_gas * env->gas_price + env->min_fee) * spec->redundancy +
		(unsigned __int128)dispute_gas * env->gas_price + env->min_fee;
	if (total > UINT64_MAX)
		return ASSAY_EOVERFLOW;
	*amount = (uint64_t)total;
	return 0;
}

int compute_apply_submit(const struct compute_env *env, const struct job_spec *spec, const uint8_t sender[20],
			 uint64_t nonce, struct compute_result *res)
{
	const struct compute_params *prm = env->params;
	struct job_record j;
	memset(res, 0, sizeof(*res));
	memset(&j, 0, sizeof(j));
	j.spec = *spec;
	char why[100];
	int err = kernel_shape_check(&j.spec.shape, prm->max_dim, prm->max_output_bytes, why, sizeof(why));
	if (err)
		return reject(res, err, "bad job shape: %s", why);
	if (j.spec.samples < prm->samples_k || j.spec.samples > JOB_MAX_SAMPLES)
		return reject(res, ASSAY_EINVALID, "samples k=%u outside [%u, %u]", j.spec.samples,
			      prm->samples_k, JOB_MAX_SAMPLES);
	if (j.spec.reward < prm->min_reward)
		return reject(res, ASSAY_EINVALID, "reward %llu below min_reward %llu",
			      (unsigned long long)j.spec.reward, (unsigned long long)prm->min_reward);
	uint64_t least = compute_least_deadline(prm);
	if (j.spec.deadline_blocks < least || j.spec.deadline_blocks > prm->max_deadline_blocks)
		return reject(res, ASSAY_EINVALID, "deadline %u blocks outside [%llu, %u]",
			      j.spec.deadline_blocks, (unsigned long long)least, prm->max_deadline_blocks);
	if ((err = reveal_fits(env, &j.spec, why, sizeof(why))))
		return reject(res, err, "job cannot be revealed: %s", why);
	uint64_t check, cost;
	if (compute_check_escrow(env, &j.spec, &check) || amount_add(j.spec.reward, check, &cost))
		return reject(res, ASSAY_EOVERFLOW, "checking this job would cost more than 2^64 base units");
	if (avail_output_bytes(&j.spec.shape) > (unsigned __int128)prm->upload_window * prm->chunk_budget_bytes)
		return reject(res, ASSAY_ELIMIT, "output cannot be uploaded within upload_window blocks of chunk budget");
	if (j.spec.input_kind == JOB_INPUT_BLOBS) {
		struct kernel_src src;
		if ((err = src_open(env->ledger, &j.spec, &src)))
			return reject(res, assay_err_is_local(err) ? err : ASSAY_ENOTFOUND,
				      "input blobs missing or of the wrong size");
		src_close(&src);
	}
	compute_job_id(sender, nonce, j.id);
	struct job_record old;
	err = compute_get_job(env->ledger, j.id, &old);
	if (err == 0)
		return reject(res, ASSAY_EEXISTS, "job already exists");
	if (err != ASSAY_ENOTFOUND)
		return err; /* a failed read must not pass for an absent job */
	struct jobs_list live;
	if ((err = jobs_load(env->ledger, &live)))
		return err;
	if (live.count >= prm->max_live_jobs && (err = displace(env, j.spec.reward, live.count, res)) != 0)
		return err;
	if ((err = ledger_debit(env->ledger, sender, cost)))
		return reject(res, err, "balance too low to escrow the reward and the checking fees (%llu)",
			      (unsigned long long)cost);
	memcpy(j.submitter, sender, ADDR_LEN);
	j.state = JOB_OPEN;
	j.submit_height = env->height;
	j.deadline_height = env->height + j.spec.deadline_blocks;
	j.escrow = j.spec.reward;
	j.check_escrow = check;
	for (unsigned i = 0; i < j.spec.redundancy; i++)
		j.slots[i].assigned_height = env->height; /* empty since: drawn challenge_delay later */
	memcpy(res->job_id, j.id, HASH_LEN);
	if ((err = put_job(env->ledger, &j)))
		return err;
	return jobs_append(env->ledger, j.id);
}

static int load_live_job(const struct compute_env *env, const uint8_t id[HASH_LEN], struct job_record *j,
			 struct compute_result *res)
{
	int err = compute_get_job(env->ledger, id, j);
	if (err == ASSAY_ENOTFOUND)
		return reject(res, err, "no such job");
	if (err)
		return err;
	if (job_terminal(j))
		return reject(res, ASSAY_EINVALID, "job is %s", compute_job_state_name(j->state));
	return 0;
}

int compute_apply_commit(const struct compute_env *env, const struct job_commit_payload *p, const uint8_t sender[20],
			struct compute_result *res)
{
	struct job_record j;
	memset(res, 0, sizeof(*res));
	int err = load_live_job(env, p->job_id, &j, res);
	if (err)
		return err;
	struct job_slot *s = find_slot(&j, sender);
	if (!s)
		return reject(res, ASSAY_EINVALID, "sender is not assigned to this job");
	if (s->state != SLOT_ASSIGNED)
		return reject(res, ASSAY_EINVALID, "already committed");
	if (env->height > s->assigned_height + env->params->commit_window)
		return reject(res, ASSAY_EINVALID, "commit window closed at height %llu",
			      (unsigned long long)(s->assigned_height + env->params->commit_window));
	memcpy(s->commitment, p->commitment, HASH_LEN);
	s->commit_height = env->height;
	s->state = SLOT_COMMITTED;
	job_update_state(&j, env->height, env->params);
	/* The last commitment seals the job: its challenge beacon is that of
	 * block sealed_height + challenge_delay (compute.md §4). */
	if (j.state == JOB_COMMITTED && !j.sealed_height)
		j.sealed_height = env->height;
	return put_job(env->ledger, &j);
}

int compute_apply_salt(const struct compute_env *env, const struct job_salt_payload *p, struct compute_result *res)
{
	struct job_record j;
	memset(res, 0, sizeof(*res));
	int err = load_live_job(env, p->job_id, &j, res);
	if (err)
		return err;
	if (j.salt_posted)
		return reject(res, ASSAY_EEXISTS, "salt already opened");
	uint8_t h[HASH_LEN];
	kernel_salt_hash(p->salt, h);
	if (memcmp(h, j.spec.salt_hash, HASH_LEN) != 0)
		return reject(res, ASSAY_EINVALID, "salt does not match the job's salt_hash");
	/* Only after the last commit (a salt known earlier would let a worker
	 * that also knows the beacon pick its root), and within the window. */
	if (!j.sealed_height || env->height <= j.sealed_height)
		return reject(res, ASSAY_EINVALID, "not every slot has committed yet");
	if (j.challenge_height || env->height > j.sealed_height + env->params->salt_window)
		return reject(res, ASSAY_EINVALID, "salt window closed at height %llu",
			      (unsigned long long)(j.sealed_height + env->params->salt_window));
	memcpy(j.salt, p->salt, HASH_LEN);
	/* After block c + d its beacon is known: a salt opened then would give
	 * its holder the challenge it makes before choosing to open it (or to
	 * let the job draw afresh), so it waits for the later beacon too. */
	j.salt_posted = env->height > j.sealed_height + env->params->challenge_delay ? SALT_OPENED_LATE : SALT_OPENED;
	return put_job(env->ledger, &j);
}

/* Everything about a reveal that the state before it decides (docs/compute.md
 * §7.5): the sender's challenged slot in its reveal window, the root opening
 * its commitment, the challenged indices, the gas and the proofs. What is
 * left after it is the check of the tiles themselves, which either verifies
 * the slot or slashes it: a reveal that passes here takes the slot out of
 * SLOT_CHALLENGED, so each challenged slot admits at most one. j, *slot and
 * seed are filled for the apply. */
static int reveal_admit(const struct compute_env *env, const struct job_reveal_payload *p, const uint8_t sender[20],
			uint64_t gas_limit, struct job_record *j, struct job_slot **slot, uint8_t seed[HASH_LEN],
			struct compute_result *res)
{
	/* one no block can hold would wait in every mempool for good */
	if (gas_limit > env->params->reveal_block_gas)
		return reject(res, ASSAY_ELIMIT, "gas_limit %llu above reveal_block_gas %llu: no block holds it",
			      (unsigned long long)gas_limit, (unsigned long long)env->params->reveal_block_gas);
	int err = load_live_job(env, p->job_id, j, res);
	if (err)
		return err;
	struct job_slot *s = find_slot(j, sender);
	if (!s)
		return reject(res, ASSAY_EINVALID, "sender is not assigned to this job");
	if (s->state == SLOT_COMMITTED)
		return reject(res, ASSAY_EINVALID, "challenge not fixed yet (every slot must commit, then %u blocks)",
			      env->params->challenge_delay);
	if (s->state != SLOT_CHALLENGED)
		return reject(res, ASSAY_EINVALID, "nothing to reveal in slot state %s",
			      compute_slot_state_name(s->state));
	if (env->height > s->challenge_height + env->params->reveal_window)
		return reject(res, ASSAY_EINVALID, "reveal window closed at height %llu",
			      (unsigned long long)(s->challenge_height + env->params->reveal_window));
	uint8_t c[HASH_LEN];
	kernel_root_commitment(p->root, sender, c);
	if (memcmp(c, s->commitment, HASH_LEN) != 0)
		return reject(res, ASSAY_ESIG, "root does not open the slot's commitment");
	kernel_challenge_seed(j->challenge_beacon, j->salt_posted ? j->salt : NULL, j->id, sender, p->root, seed);
	const struct job_shape *shape = &j->spec.shape;
	uint32_t want[JOB_MAX_SAMPLES];
	uint32_t nwant = kernel_challenge_indices(seed, j->spec.samples, kernel_tile_count(shape), want);
	for (uint32_t a = 0; a < p->count; a++)
		for (uint32_t b = a + 1; b < p->count; b++)
			if (p->tiles[a].index == p->tiles[b].index)
				return reject(res, ASSAY_EINVALID, "tile %u revealed twice", p->tiles[a].index);
	if (p->count != nwant)
		return reject(res, ASSAY_EINVALID, "%u tiles revealed, %u challenged", p->count, nwant);
	unsigned __int128 units = 0;
	for (uint32_t i = 0; i < p->count; i++) {
		if (p->tiles[i].index != want[i])
			return reject(res, ASSAY_EINVALID, "tile %u revealed where tile %u was challenged",
				      p->tiles[i].index, want[i]);
		units += tile_units(shape, &p->tiles[i], 0);
	}
	if (p->count)
		units += compute_reveal_fixed_units(shape);
	if ((err = charge(env, units, gas_limit, res)))
		return err;
	int verdict[JOB_MAX_SAMPLES];
	reveal_proofs(shape, p, verdict);
	for (uint32_t i = 0; i < p->count; i++) { /* the first bad tile in the reveal's order decides */
		if (verdict[i] == ASSAY_ENOMEM)
			return verdict[i];
		if (verdict[i])
			return reject(res, ASSAY_ESIG, "tile %u: length, pre-activations or Merkle proof do not match the root",
				      p->tiles[i].index);
	}
	*slot = s;
	return 0;
}

int compute_admit_reveal(const struct compute_env *env, const struct job_reveal_payload *p, const uint8_t sender[20],
			 uint64_t gas_limit, struct compute_result *res)
{
	struct job_record j;
	struct job_slot *s;
	uint8_t seed[HASH_LEN];
	memset(res, 0, sizeof(*res));
	return reveal_admit(env, p, sender, gas_limit, &j, &s, seed, res);
}

int compute_apply_reveal(const struct compute_env *env, const struct job_reveal_payload *p, const uint8_t sender[20],
			uint64_t gas_limit, uint64_t fee, struct compute_result *res)
{
	struct job_record j;
	struct job_slot *s;
	uint8_t seed[HASH_LEN];
	memset(res, 0, sizeof(*res));
	int err = reveal_admit(env, p, sender, gas_limit, &j, &s, seed, res);
	if (err)
		return err;
	const struct job_shape *shape = &j.spec.shape;
	struct kernel_src src;
	if ((err = src_open(env->ledger, &j.spec, &src)))
		return reject(res, err, "job inputs unavailable");
	int wrong = -1;
	/* mlp: one context draws r_l and computes W_l . r_l for every tile */
	mlp_check_t *mc = shape->kind == JOB_MLP_I8 && p->count ? mlp_check_create(shape, &src, seed) : NULL;
	if (shape->kind == JOB_MLP_I8 && p->count && !mc)
		err = ASSAY_ENOMEM;
	/* matmul: all tiles at once, the rows two of them share expanded once;
	 * the first tile in the reveal's order that is not correct decides */
	int verdict[JOB_MAX_SAMPLES] = {0};
	if (!mc && !err) {
		uint32_t idx[JOB_MAX_SAMPLES];
		const uint8_t *tiles[JOB_MAX_SAMPLES];
		size_t lens[JOB_MAX_SAMPLES];
		for (uint32_t i = 0; i < p->count; i++) {
			idx[i] = p->tiles[i].index;
			tiles[i] = p->tiles[i].tile;
			lens[i] = p->tiles[i].tile_len;
		}
		kernel_check_tiles(shape, &src, seed, p->count, idx, tiles, lens, verdict);
	}
	for (uint32_t i = 0; i < p->count && wrong < 0 && !err; i++) {
		const struct tile_proof *t = &p->tiles[i];
		int ck = mc ? mlp_check_tile(mc, t->index, t->tile, t->tile_len, t->pre, t->pre_len) : verdict[i];
		if (ck == ASSAY_EINVALID)
			wrong = (int)i;
		else
			err = ck;
	}
	mlp_check_destroy(mc);
	src_close(&src);
	if (err)
		return err;
	memcpy(s->root, p->root, HASH_LEN);
	memcpy(s->challenge_seed, seed, HASH_LEN);
	if (wrong >= 0) {
		/* The proof binds this wrong tile to the root: every slot that
		 * committed to it is slashed. */
		unsigned n;
		if ((err = slash_root(env, NULL, &j, p->root, &n)))
			return err;
		snprintf(res->error, sizeof(res->error), "tile %u is wrong: %u worker(s) with this root slashed",
			 p->tiles[wrong].index, n);
	} else {
		s->state = SLOT_VERIFIED;
		s->reveal_height = env->height;
		if ((err = refund_check_fee(env, &j, sender, fee, res->gas_used)))
			return err;
	}
	job_update_state(&j, env->height, env->params);
	return put_job(env->ledger, &j);
}

int compute_apply_dispute(const struct compute_env *env, const struct job_dispute_payload *p, const uint8_t sender[20],
			 uint64_t gas_limit, uint64_t fee, struct compute_result *res)
{
	struct job_record j;
	memset(res, 0, sizeof(*res));
	int err = load_live_job(env, p->job_id, &j, res);
	if (err)
		return err;
	const struct job_shape *shape = &j.spec.shape;
	struct job_slot *slot[2] = {NULL, NULL};
	unsigned __int128 units = 0;
	for (unsigned i = 0; i < p->parties; i++) {
		slot[i] = find_slot(&j, p->worker[i]);
		/* only an opened root can be disputed: a verified slot's */
		if (!slot[i] || slot[i]->state != SLOT_VERIFIED)
			return reject(res, ASSAY_EINVALID, "named worker has no opened root in this job");
		if (p->index >= kernel_tile_count(shape))
			return reject(res, ASSAY_EINVALID, "tile %u out of range", p->index);
		units += tile_units(shape, &p->proof[i], 1);
	}
	if (p->parties == 2) {
		if (slot[0] == slot[1])
			return reject(res, ASSAY_EINVALID, "a dispute between two workers names two workers");
		/* mlp: the leaves may differ in the digest P_i alone (a wrong
		 * pre-activation under a right output), which only a dispute
		 * settles: the root is wrong though the tile is not */
		if (p->proof[0].tile_len == p->proof[1].tile_len &&
		    memcmp(p->proof[0].tile, p->proof[1].tile, p->proof[0].tile_len) == 0 &&
		    p->proof[0].pre_len == p->proof[1].pre_len &&
		    (!p->proof[0].pre_len || memcmp(p->proof[0].pre, p->proof[1].pre, p->proof[0].pre_len) == 0))
			return reject(res, ASSAY_EINVALID, "the two tiles agree: nothing to dispute");
	}
	if ((err = charge(env, units, gas_limit, res)))
		return err;
	for (unsigned i = 0; i < p->parties; i++) {
		int bad = proof_ok(shape, &p->proof[i], slot[i]->root, 1);
		if (bad == ASSAY_ENOMEM)
			return bad;
		if (bad)
			return reject(res, ASSAY_ESIG, "tile, digest or Merkle proof does not match the worker's root");
	}
	struct account acct;
	if ((err = ledger_get_account(env->ledger, sender, &acct)))
		return err;
	if (acct.balance < env->params->dispute_bond)
		return reject(res, ASSAY_EBALANCE, "balance below the dispute bond %llu",
			      (unsigned long long)env->params->dispute_bond);
	/* Vectors from this block's beacon: the tile was fixed at commit time. */
	uint8_t vin[HASH_LEN + HASH_LEN + 4], vseed[HASH_LEN];
	memcpy(vin, env->beacon, HASH_LEN);
	memcpy(vin + HASH_LEN, j.id, HASH_LEN);
	le32_put(vin + 2 * HASH_LEN, p->index);
	hash_tagged("assay/dispute", vin, sizeof(vin), vseed);
	struct kernel_src src;
	if ((err = src_open(env->ledger, &j.spec, &src)))
		return reject(res, err, "job inputs unavailable");
	int wrong[2] = {0, 0};
	for (unsigned i = 0; i < p->parties && !err; i++) {
		/* mlp: the output and the digest P_i, both of which the leaf commits */
		int c = shape->kind == JOB_MLP_I8
				? mlp_recompute_tile_digest(shape, &src, p->index, p->proof[i].tile, p->proof[i].tile_len,
							    p->proof[i].pre)
				: kernel_check_tile(shape, &src, vseed, p->index, p->proof[i].tile, p->proof[i].tile_len);
		if (c == ASSAY_EINVALID)
			wrong[i] = 1;
		else
			err = c;
	}
	src_close(&src);
	if (err)
		return err;
	if (!wrong[0] && !wrong[1]) {
		/* A correct tile was disputed: the bond goes to the worker it accused. */
		if ((err = ledger_transfer(env->ledger, sender, p->worker[0], env->params->dispute_bond)))
			return err;
		snprintf(res->error, sizeof(res->error),
			 "tile %u is correct: dispute bond forfeited to the worker", p->index);
		return 0;
	}
	int was_verified = j.state == JOB_VERIFIED;
	uint8_t roots[2][HASH_LEN];
	for (unsigned i = 0; i < p->parties; i++)
		memcpy(roots[i], slot[i]->root, HASH_LEN);
	unsigned slashed = 0;
	for (unsigned i = 0; i < p->parties; i++) {
		unsigned n;
		if (wrong[i] && (err = slash_root(env, NULL, &j, roots[i], &n)))
			return err;
		if (wrong[i])
			slashed += n;
	}
	if ((err = refund_check_fee(env, &j, sender, fee, res->gas_used)))
		return err;
	snprintf(res->error, sizeof(res->error), "tile %u is wrong: %u worker(s) with this root slashed", p->index,
		 slashed);
	int left = 0, live = 0;
	for (unsigned i = 0; i < j.spec.redundancy; i++) {
		left += j.slots[i].state == SLOT_VERIFIED;
		live += j.slots[i].state != SLOT_FAILED;
	}
	if ((was_verified && !left) || !live) {
		if ((err = job_refund(env, NULL, &j, JOB_FAILED)))
			return err;
		if ((err = jobs_unlink(env->ledger, j.id)))
			return err;
	} else {
		job_update_state(&j, env->height, env->params);
	}
	return put_job(env->ledger, &j);
}

int compute_apply_blob(const struct compute_env *env, const struct blob_payload *p, struct compute_result *res)
{
	memset(res, 0, sizeof(*res));
	if (p->len > env->params->max_blob_bytes)
		return reject(res, ASSAY_ELIMIT, "blob of %zu bytes over max_blob_bytes", p->len);
	uint8_t h[HASH_LEN], key[HASH_LEN], *val;
	size_t len;
	sha256(p->data, p->len, h);
	if (memcmp(h, p->hash, HASH_LEN) != 0)
		return reject(res, ASSAY_EINVALID, "blob bytes do not match their hash");
	state_key(NS_BLOB, h, HASH_LEN, key);
	int err = ledger_get(env->ledger, key, &val, &len);
	if (!err) {
		free(val);
		return reject(res, ASSAY_EEXISTS, "blob already stored");
	}
	if (err != ASSAY_ENOTFOUND)
		return err;
	return ledger_put(env->ledger, key, p->data, p->len);
}

/* avail: job_chunks (docs/compute.md §15.4). The chunks' bytes were checked
 * against root by the node that holds them (avail_chunk_check); what state
 * records is how far, in tile order, the slot's output is uploaded. */
/* job_chunks is decided by the state before it entirely (docs/compute.md
 * §15.4): the checks run on a copy of the job record, which the apply then
 * writes; one that passes here cannot fail. */
static int chunks_admit(const struct compute_env *env, const struct job_chunks_payload *p, const uint8_t sender[20],
			struct job_record *j, struct compute_result *res)
{
	/* one no block can hold would wait in every mempool for good */
	if (avail_chunks_declared(p) > env->params->chunk_budget_bytes)
		return reject(res, ASSAY_ELIMIT, "chunks of %llu bytes, above chunk_budget_bytes %llu: no block holds them",
			      (unsigned long long)avail_chunks_declared(p),
			      (unsigned long long)env->params->chunk_budget_bytes);
	int err = load_live_job(env, p->job_id, j, res);
	if (err)
		return err;
	struct job_slot *s = find_slot(j, sender);
	if (!s)
		return reject(res, ASSAY_EINVALID, "sender is not assigned to this job");
	uint64_t from;
	if (!slot_upload_open(j, s, &from))
		return reject(res, ASSAY_EINVALID, "uploads open once the slot's root is opened and its spot-check passed");
	if (memcmp(s->root, p->root, HASH_LEN) != 0)
		return reject(res, ASSAY_EINVALID, "chunks are for another root than the slot's");
	if (env->height > from + env->params->upload_window)
		return reject(res, ASSAY_EINVALID, "upload window closed at height %llu",
			      (unsigned long long)(from + env->params->upload_window));
	for (uint32_t i = 0; i < p->count; i++) {
		const struct avail_ref *f = &p->refs[i];
		if (f->first_tile != s->uploaded_tiles)
			return reject(res, ASSAY_EINVALID, "chunk %u starts at tile %u, next to upload is %u", i,
				      f->first_tile, s->uploaded_tiles);
		uint64_t want = avail_run_bytes(&j->spec.shape, f->first_tile, f->tile_count);
		if (want == UINT64_MAX)
			return reject(res, ASSAY_EINVALID, "chunk %u: tiles past the job's last", i);
		if (want != f->data_len)
			return reject(res, ASSAY_EINVALID, "chunk %u declares %u bytes, its tiles hold %llu", i,
				      f->data_len, (unsigned long long)want);
		s->uploaded_tiles += f->tile_count;
	}
	return 0;
}

int compute_admit_chunks(const struct compute_env *env, const struct job_chunks_payload *p, const uint8_t sender[20],
			 struct compute_result *res)
{
	struct job_record j;
	memset(res, 0, sizeof(*res));
	return chunks_admit(env, p, sender, &j, res);
}

int compute_apply_chunks(const struct compute_env *env, const struct job_chunks_payload *p,
			 const uint8_t sender[20], struct compute_result *res)
{
	struct job_record j;
	memset(res, 0, sizeof(*res));
	int err = chunks_admit(env, p, sender, &j, res);
	if (err)
		return err;
	job_update_state(&j, env->height, env->params);
	return put_job(env->ledger, &j);
}

/* ---- end of block ---- */

/* A worker's weight in a draw for job j (docs/compute.md §5): its free
 * bond if it is eligible, else 0. */
static uint64_t draw_weight(const struct compute_params *prm, const struct job_record *j,
			    const struct worker_record *w, uint64_t lock)
{
	const uint8_t *a = w->addr;
	uint64_t free_bond = w->bond - (w->locked < w->bond ? w->locked : w->bond);
	int ok = w->status == WORKER_ACTIVE && w->bond >= prm->min_bond && free_bond >= lock && free_bond > 0 &&
		 w->jobs_in_flight < prm->max_jobs_per_worker && memcmp(a, j->submitter, ADDR_LEN) != 0;
	for (unsigned s = 0; s < j->spec.redundancy && ok; s++)
		ok = !(j->slots[s].state != SLOT_EMPTY && memcmp(j->slots[s].worker, a, ADDR_LEN) == 0);
	for (unsigned e = 0; e < j->excluded_count && ok; e++)
		ok = memcmp(j->excluded[e], a, ADDR_LEN) != 0;
	return ok ? free_bond : 0;
}

/* Whether job j, every slot empty, can have all of them drawn now: as many
 * eligible workers as slots. Its slots are drawn together or not at all
 * (docs/compute.md §5): one drawn alone, with a slot nobody can take, would
 * compute and commit for a job that cannot seal, and hold its place in
 * the live list past displacement (§1.3). */
static int draws_fill(const struct compute_env *env, const struct job_record *j, const struct worker_cache *cache)
{
	uint64_t lock = compute_job_lock(env->params, j->spec.reward);
	unsigned eligible = 0;
	for (size_t i = 0; i < cache->n && eligible < j->spec.redundancy; i++)
		eligible += draw_weight(env->params, j, &cache->w[i], lock) > 0;
	return eligible >= j->spec.redundancy;
}

/* Draws one worker for slot `slot` of job j, weighted by free bond, among
 * the eligible (docs/compute.md §5). 0 and *chosen set, or ASSAY_ENOTFOUND. */
static int draw_worker(const struct compute_env *env, const struct job_record *j, unsigned slot,
		       const struct worker_cache *cache, uint8_t chosen[ADDR_LEN])
{
	const struct compute_params *prm = env->params;
	size_t n = cache->n;
	uint64_t lock = compute_job_lock(prm, j->spec.reward);
	uint64_t *weight = calloc(n ? n : 1, sizeof(uint64_t));
	if (!weight)
		return ASSAY_ENOMEM;
	unsigned __int128 total = 0;
	for (size_t i = 0; i < n; i++) {
		weight[i] = draw_weight(prm, j, &cache->w[i], lock);
		total += weight[i];
	}
	if (total == 0) {
		free(weight);
		return ASSAY_ENOTFOUND;
	}
	/* x uniform below the largest multiple of total under 2^128. */
	unsigned __int128 rem = (-total) % total, x = 0;
	for (uint32_t attempt = 0;; attempt++) {
		uint8_t in[2 * HASH_LEN + 1 + 4], h[HASH_LEN];
		memcpy(in, env->beacon, HASH_LEN);
		memcpy(in + HASH_LEN, j->id, HASH_LEN);
		in[2 * HASH_LEN] = (uint8_t)slot;
		le32_put(in + 2 * HASH_LEN + 1, attempt);
		hash_tagged("assay/assign", in, sizeof(in), h);
		x = (unsigned __int128)le64_get(h + 8) << 64 | le64_get(h);
		if (rem == 0 || x < (unsigned __int128)0 - rem)
			break;
	}
	x %= total;
	size_t pick = 0;
	for (size_t i = 0; i < n; i++) {
		if (x < weight[i]) {
			pick = i;
			break;
		}
		x -= weight[i];
	}
	memcpy(chosen, cache->w[pick].addr, ADDR_LEN);
	free(weight);
	return 0;
}

static int worker_take(const struct ledger *l, struct worker_cache *cache, const uint8_t addr[ADDR_LEN],
		       uint64_t lock)
{
	struct worker_record w;
	int err = named_record(compute_get_worker(l, addr, &w));
	if (err)
		return err;
	w.jobs_in_flight++;
	w.locked += lock; /* draw_worker saw at least lock of free bond */
	return put_worker_cached(l, cache, &w);
}

static int pay_out(const struct compute_env *env, struct worker_cache *cache, struct job_record *j)
{
	const struct job_slot *first = NULL;
	unsigned n = 0, agree = 1;
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		const struct job_slot *s = &j->slots[i];
		if (s->state != SLOT_VERIFIED)
			continue;
		if (!first)
			first = s;
		else if (memcmp(first->root, s->root, HASH_LEN) != 0)
			agree = 0;
		n++;
	}
	/* Roots that still disagree at payout prove nothing about who is
	 * wrong: nobody is paid, the submitter gets the escrow back. */
	if (!n || !agree)
		return job_refund(env, cache, j, JOB_FAILED);
	uint64_t share = j->escrow / n, extra = j->escrow - share * n;
	int err = ledger_credit(env->ledger, j->submitter, j->check_escrow); /* checking left unspent */
	j->check_escrow = 0;
	for (unsigned i = 0; i < j->spec.redundancy && !err; i++) {
		struct job_slot *s = &j->slots[i];
		if (s->state != SLOT_VERIFIED)
			continue;
		err = ledger_credit(env->ledger, s->worker, share + extra);
		extra = 0;
		if (!err)
			err = worker_release(env, cache, s, 1);
	}
	j->escrow = 0;
	j->state = JOB_PAID;
	return err;
}

/* Fixes the job's challenge (compute.md §4): the beacon of block c + d (c
 * the sealing commit), then the salt; without a salt by the end of the
 * salt window, the beacon of block c + d + salt_window and no salt. A salt
 * opened before this seal was public when the last worker committed, so it
 * is kept but waits for that later beacon as if there were none. */
static void job_challenge(const struct compute_env *env, struct job_record *j)
{
	const struct compute_params *prm = env->params;
	uint64_t h = env->height, c = j->sealed_height;
	if (!c || j->challenge_height || j->state != JOB_COMMITTED)
		return;
	if (h == c + prm->challenge_delay)
		memcpy(j->challenge_beacon, env->beacon, HASH_LEN);
	int fixed = 0;
	if (h >= c + prm->challenge_delay && j->salt_posted == SALT_OPENED)
		fixed = 1;
	else if (j->salt_posted != SALT_OPENED && h >= c + prm->challenge_delay + prm->salt_window) {
		memcpy(j->challenge_beacon, env->beacon, HASH_LEN);
		fixed = 1;
	}
	if (!fixed)
		return;
	j->challenge_height = h;
	for (unsigned i = 0; i < j->spec.redundancy; i++)
		if (j->slots[i].state == SLOT_COMMITTED) {
			j->slots[i].state = SLOT_CHALLENGED;
			j->slots[i].challenge_height = h;
		}
}

static int end_job(const struct compute_env *env, const uint8_t id[HASH_LEN], struct worker_cache *cache,
		   struct displace_pick *pick)
{
	const struct compute_params *prm = env->params;
	uint64_t h = env->height;
	struct job_record j;
	int err = named_record(compute_get_job(env->ledger, id, &j)); /* listed in the jobs index */
	if (err)
		return err;
	if (j.state == JOB_VERIFIED && h >= j.payout_height)
		err = pay_out(env, cache, &j);
	if (err)
		return err;
	/* Slot deadlines are judged before the job's own deadline, so a worker
	 * that committed and then kept quiet is slashed even when the job
	 * expires in the same block (compute.md §1.1). Missed deadlines are
	 * burned: nobody gains from a worker's silence. */
	if (!job_terminal(&j)) {
		int missed_commit[JOB_MAX_REDUNDANCY] = {0}, missed_reveal[JOB_MAX_REDUNDANCY] = {0};
		int missed_upload[JOB_MAX_REDUNDANCY] = {0}; /* avail */
		int any_commit = 0, any_reveal = 0, any_upload = 0;
		uint32_t tiles = kernel_tile_count(&j.spec.shape);
		for (unsigned i = 0; i < j.spec.redundancy && !err; i++) {
			struct job_slot *s = &j.slots[i];
			if (s->state == SLOT_ASSIGNED && h > s->assigned_height + prm->commit_window) {
				err = slash_worker(env, cache, s, j.submitter, prm->missed_deadline_slash_bps, 0);
				missed_commit[i] = any_commit = 1;
			} else if (s->state == SLOT_CHALLENGED && h > s->challenge_height + prm->reveal_window) {
				/* Not revealing is treated as revealing a wrong tile, or a
				 * cheater would keep the difference between the two slashes. */
				err = slash_worker(env, cache, s, j.submitter, prm->slash_bps, 0);
				missed_reveal[i] = any_reveal = 1;
			}
			/* avail: a root whose output was not uploaded in time is
			 * treated as a wrong result, and burned: nobody gains from
			 * a withheld or censored upload (compute.md §15.5) */
			uint64_t from;
			if (!err && !missed_reveal[i] && slot_upload_open(&j, s, &from) && s->uploaded_tiles < tiles &&
			    h > from + prm->upload_window) {
				err = slash_worker(env, cache, s, j.submitter, prm->slash_bps, 0);
				missed_upload[i] = any_upload = 1;
			}
		}
		/* in the order of compute.md §1.1: a reveal missed while another
		 * slot's root is open fails for good before that slot's own missed
		 * upload can empty it and hide that the root was opened */
		if (!err && any_commit)
			slots_fail(&j, missed_commit, h);
		if (!err && any_reveal)
			slots_fail(&j, missed_reveal, h);
		if (!err && any_upload)
			slots_fail(&j, missed_upload, h);
		if (!err) {
			job_update_state(&j, h, prm);
			job_challenge(env, &j);
		}
	}
	if (!err && !job_terminal(&j) && j.state != JOB_VERIFIED && h > j.deadline_height)
		err = job_refund(env, cache, &j, JOB_REFUNDED);
	if (!err && !job_terminal(&j)) {
		/* A slot is filled only while its commit, challenge, salt and
		 * reveal windows end by the job's deadline: assigned at h, it is
		 * judged at the latest at h + commit_window + challenge_delay +
		 * salt_window + reveal_window + upload_window + 1 <= deadline +
		 * 1, the block that would refund the job, and slot checks run
		 * first (avail: the upload window counts from the reveal). */
		int time_left = h + (uint64_t)prm->commit_window + prm->challenge_delay + prm->salt_window +
					prm->reveal_window + prm->upload_window + 1 <=
				j.deadline_height;
		uint64_t lock = compute_job_lock(prm, j.spec.reward);
		int all_empty = 1, due = 0;
		for (unsigned i = 0; i < j.spec.redundancy; i++) {
			all_empty &= j.slots[i].state == SLOT_EMPTY;
			due |= j.slots[i].state == SLOT_EMPTY && h >= j.slots[i].assigned_height + prm->challenge_delay;
		}
		/* the workers are read only for a slot the loop below would draw */
		int drawable = due && time_left && j.state != JOB_VERIFIED;
		if (drawable)
			err = worker_cache_load(env->ledger, cache);
		if (!err && drawable && all_empty)
			drawable = draws_fill(env, &j, cache); /* together or not at all */
		for (unsigned i = 0; i < j.spec.redundancy && !err && drawable; i++) {
			struct job_slot *s = &j.slots[i];
			/* drawn with a beacon challenge_delay blocks after the slot
			 * emptied, which nobody knew then (compute.md §5) */
			if (s->state != SLOT_EMPTY || h < s->assigned_height + prm->challenge_delay)
				continue;
			uint8_t chosen[ADDR_LEN];
			int d = draw_worker(env, &j, i, cache, chosen);
			if (d == ASSAY_ENOTFOUND)
				break;
			if ((err = d))
				break;
			memset(s, 0, sizeof(*s));
			memcpy(s->worker, chosen, ADDR_LEN);
			s->state = SLOT_ASSIGNED;
			s->assigned_height = h;
			s->lock = lock;
			err = worker_take(env->ledger, cache, chosen, lock);
		}
		int waiting = 0, live = 0;
		for (unsigned i = 0; i < j.spec.redundancy; i++) {
			waiting |= j.slots[i].state == SLOT_EMPTY;
			live |= j.slots[i].state != SLOT_FAILED;
		}
		if (!err && ((waiting && j.excluded_count >= JOB_MAX_EXCLUDED) || !live))
			err = job_refund(env, cache, &j, JOB_FAILED); /* too many failed workers */
		if (!err && !job_terminal(&j))
			job_update_state(&j, h, prm);
	}
	if (!err && job_terminal(&j))
		err = jobs_unlink(env->ledger, j.id);
	if (!err)
		err = put_job(env->ledger, &j);
	if (!err)
		displace_consider(pick, &j);
	return err;
}

struct end_jobs_ctx {
	const struct compute_env *env;
	struct worker_cache *cache;
	struct displace_pick pick;
};

static int end_listed_job(void *arg, const uint8_t id[HASH_LEN])
{
	struct end_jobs_ctx *c = arg;
	return end_job(c->env, id, c->cache, &c->pick);
}

int compute_end_block(const struct compute_env *env)
{
	struct worker_cache cache = {NULL, 0, 0};
	struct end_jobs_ctx ctx = {env, &cache, {0}};
	struct jobs_list live;
	uint64_t registered;
	int err = jobs_load(env->ledger, &live);
	if (!err)
		err = workers_load(env, &registered); /* the legacy registry moved, once */
	/* in submission order, each job that ends unlinking itself: the jobs
	 * listed when the pass began, as the draws' order requires (§5) */
	if (!err)
		err = jobs_walk(env->ledger, &live, end_listed_job, &ctx);
	if (!err)
		err = displace_put(env->ledger, &ctx.pick);
	/* Bonds of unbonding workers return once nothing they did can still be
	 * disputed (no job in flight) and the delay has passed: those filed as
	 * due at this height are the only ones that can be. */
	if (!err)
		err = workers_release_due(env);
	free(cache.w);
	return err;
}

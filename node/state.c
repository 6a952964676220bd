/* Committed state over LevelDB and the in-memory sparse Merkle tree (see
 * state.h). The tree holds SHA256(value) per key; values stay on disk and in
 * LevelDB's cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "node/state.h"

/* Committed values held in memory, so execution rarely reads LevelDB: an
 * open-addressing table filled while the tree is built at start and kept
 * current as blocks commit. Values over STATE_CACHE_VALUE_MAX bytes (code,
 * blobs) and anything past STATE_CACHE_BYTES stay on disk only; a miss
 * falls through to LevelDB, so the cache never changes an answer. */
#define STATE_CACHE_VALUE_MAX 1024
#define STATE_CACHE_BYTES (512u << 20)

struct cache_slot {
	uint8_t key[HASH_LEN];
	uint8_t state;  /* CACHE_EMPTY, CACHE_LIVE, CACHE_GONE (tombstone) */
	uint32_t len;
	uint8_t *val;
};

enum { CACHE_EMPTY = 0, CACHE_LIVE = 1, CACHE_GONE = 2 };

struct state {
	store_t *store;
	smt_t *tree;
	struct cache_slot *cache;
	size_t cache_cap, cache_used; /* used counts live and tombstones */
	uint8_t seed[LEDGER_HASH_SEED_LEN]; /* where keys go in the cache (ledger_slot_hash) */
	size_t cache_bytes;
	uint64_t fault_at;    /* test hook: this read (counted from arming) fails; 0: never */
	uint64_t fault_reads; /* reads since arming */
	int fault_code;
};

struct staged_entry {
	uint8_t key[HASH_LEN];
	const uint8_t *val; /* new value (NULL: deleted), the overlay's own bytes */
	size_t len;
	int had_old;  /* key was in the tree before staging */
	uint8_t old_hash[HASH_LEN];
};

static size_t cache_find(const uint8_t seed[LEDGER_HASH_SEED_LEN], const struct cache_slot *slots, size_t cap,
			 const uint8_t key[HASH_LEN])
{
	size_t i = (size_t)ledger_slot_hash(seed, key) & (cap - 1), tomb = SIZE_MAX;
	while (slots[i].state != CACHE_EMPTY) {
		if (slots[i].state == CACHE_LIVE && memcmp(slots[i].key, key, HASH_LEN) == 0)
			return i;
		if (slots[i].state == CACHE_GONE && tomb == SIZE_MAX)
			tomb = i;
		i = (i + 1) & (cap - 1);
	}
	return tomb != SIZE_MAX ? tomb : i;
}

/* Rehashes the live slots, dropping tombstones, into a table twice the
 * size, or of the same size when under half of it is live: a deleted key
 * leaves a tombstone, and a table that doubled whenever tombstones filled
 * it would grow with every key ever deleted, not with the keys held (a
 * contract that sets slots in one block and deletes them in the next
 * would grow it on every node for a few thousand gas a key). */
static int cache_grow(state_t *s)
{
	size_t live = 0;
	for (size_t i = 0; i < s->cache_cap; i++)
		live += s->cache[i].state == CACHE_LIVE;
	size_t ncap = s->cache_cap == 0 ? 4096 : (live + 1) * 2 > s->cache_cap ? s->cache_cap * 2 : s->cache_cap;
	struct cache_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return ASSAY_ENOMEM;
	size_t used = 0;
	for (size_t i = 0; i < s->cache_cap; i++) {
		if (s->cache[i].state != CACHE_LIVE)
			continue;
		ns[cache_find(s->seed, ns, ncap, s->cache[i].key)] = s->cache[i];
		used++;
	}
	free(s->cache);
	s->cache = ns;
	s->cache_cap = ncap;
	s->cache_used = used;
	return 0;
}

/* Remembers key = val, or forgets key when the value is not cacheable. A
 * value of the length held is copied over the old one: committing a block
 * rewrites accounts, and they keep their size. */
static void cache_set(state_t *s, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	struct cache_slot *c = s->cache ? &s->cache[cache_find(s->seed, s->cache, s->cache_cap, key)] : NULL;
	size_t held = c && c->state == CACHE_LIVE ? c->len : 0; /* a live slot from cache_find is key's */
	int cacheable =
		val && len <= STATE_CACHE_VALUE_MAX && s->cache_bytes - held + len <= STATE_CACHE_BYTES;
	if (c && c->state == CACHE_LIVE) {
		if (cacheable && c->len == len) {
			memcpy(c->val, val, len);
			return;
		}
		s->cache_bytes -= c->len;
		free(c->val);
		c->val = NULL;
		c->state = CACHE_GONE;
	}
	if (!cacheable)
		return;
	if ((s->cache_used + 1) * 4 > s->cache_cap * 3 && cache_grow(s) < 0)
		return;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, val, len);
	c = &s->cache[cache_find(s->seed, s->cache, s->cache_cap, key)];
	if (c->state == CACHE_EMPTY)
		s->cache_used++;
	memcpy(c->key, key, HASH_LEN);
	c->state = CACHE_LIVE;
	c->val = copy;
	c->len = (uint32_t)len;
	s->cache_bytes += len;
}

static int load_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	state_t *s = arg;
	uint8_t h[HASH_LEN];
	if (klen != 1 + HASH_LEN) {
		/* not a record we write: skipped, it is in no state root (a
		 * record it was cut from shows as a state that does not match
		 * the tip, which -reindex rebuilds) */
		log_warn("state: skipping a stored key of %zu bytes under the state prefix (damage)", klen);
		return 0;
	}
	sha256(val, vlen, h);
	cache_set(s, key + 1, val, vlen);
	return smt_update(s->tree, key + 1, h);
}

state_t *state_open(store_t *store, char *err, size_t errlen)
{
	state_t *s = calloc(1, sizeof(*s));
	if (!s || !(s->tree = smt_new())) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	s->store = store;
	ledger_hash_seed_get(s->seed);
	const uint8_t prefix = STORE_P_STATE;
	int rc = store_iterate(store, &prefix, 1, load_entry, s);
	if (rc) {
		snprintf(err, errlen, "cannot load state: %s", assay_strerror(rc));
		state_close(s);
		return NULL;
	}
	return s;
}

void state_close(state_t *s)
{
	if (!s)
		return;
	smt_free(s->tree);
	for (size_t i = 0; i < s->cache_cap; i++)
		free(s->cache[i].val);
	free(s->cache);
	free(s);
}

void state_fail_read(state_t *s, uint64_t nth, int code)
{
	s->fault_at = nth;
	s->fault_reads = 0;
	s->fault_code = code;
}

static int ro_get(void *ctx, const uint8_t key[HASH_LEN], uint8_t **val, size_t *len)
{
	state_t *s = ctx;
	if (s->fault_at && ++s->fault_reads == s->fault_at)
		return s->fault_code;
	if (s->cache) {
		const struct cache_slot *c = &s->cache[cache_find(s->seed, s->cache, s->cache_cap, key)];
		if (c->state == CACHE_LIVE) {
			*val = malloc(c->len ? c->len : 1);
			if (!*val)
				return ASSAY_ENOMEM;
			memcpy(*val, c->val, c->len);
			*len = c->len;
			return 0;
		}
	}
	return store_get_state(s->store, key, val, len);
}

/* The same without an allocation when the value cache holds it (the
 * database's reads allocate anyway). */
static int ro_get_into(void *ctx, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len)
{
	state_t *s = ctx;
	if (s->cache && !s->fault_at) {
		const struct cache_slot *c = &s->cache[cache_find(s->seed, s->cache, s->cache_cap, key)];
		if (c->state == CACHE_LIVE) {
			*len = c->len;
			if (c->len > cap)
				return ASSAY_ELIMIT;
			memcpy(buf, c->val, c->len);
			return 0;
		}
	}
	uint8_t *val;
	int err = ro_get(ctx, key, &val, len);
	if (err)
		return err;
	if (*len <= cap)
		memcpy(buf, val, *len);
	free(val);
	return *len <= cap ? 0 : ASSAY_ELIMIT;
}

static int ro_put(void *ctx, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	return ASSAY_EINVALID;
}

static int ro_del(void *ctx, const uint8_t key[HASH_LEN])
{
	return ASSAY_EINVALID;
}

static size_t ro_snapshot(void *ctx)
{
	return 0;
}

static void ro_revert(void *ctx, size_t snap)
{
}

static const struct ledger_ops ro_ops = {ro_get, ro_put, ro_del, ro_snapshot, ro_revert, ro_get_into};

struct ledger state_ledger(state_t *s)
{
	return (struct ledger){&ro_ops, s};
}

void state_root(state_t *s, uint8_t root[HASH_LEN])
{
	smt_root(s->tree, root);
}

size_t state_count(state_t *s)
{
	return smt_count(s->tree);
}

size_t state_cache_slots(const state_t *s)
{
	return s->cache_cap;
}

smt_t *state_tree(state_t *s)
{
	return s->tree;
}

struct stage_ctx {
	state_t *s;
	struct state_staged *st;
	size_t cap;
};

static int stage_one(void *arg, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	struct stage_ctx *c = arg;
	struct state_staged *st = c->st;
	if (st->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct staged_entry *ne = realloc(st->entries, ncap * sizeof(*ne));
		if (!ne)
			return ASSAY_ENOMEM;
		st->entries = ne;
		c->cap = ncap;
	}
	struct staged_entry *e = &st->entries[st->n++];
	memcpy(e->key, key, HASH_LEN);
	e->val = val;
	e->len = val ? len : 0;
	if (!val) {
		e->had_old = smt_get(c->s->tree, key, e->old_hash) == 0;
		return e->had_old ? smt_remove(c->s->tree, key) : 0;
	}
	uint8_t h[HASH_LEN];
	sha256(val, len, h);
	return smt_replace(c->s->tree, key, h, e->old_hash, &e->had_old);
}

int state_stage(state_t *s, ledger_mem_t *overlay, struct state_staged *st, uint8_t root[HASH_LEN])
{
	struct stage_ctx c = {s, st, ledger_mem_count(overlay)};
	memset(st, 0, sizeof(*st));
	st->entries = malloc((c.cap ? c.cap : 1) * sizeof(*st->entries)); /* one entry per key written */
	if (!st->entries)
		return ASSAY_ENOMEM;
	int rc = ledger_mem_foreach(overlay, stage_one, &c);
	if (rc) {
		state_unstage(s, st);
		state_staged_free(st);
		return rc;
	}
	smt_root(s->tree, root);
	return 0;
}

void state_staged_to_batch(const struct state_staged *st, store_batch_t *b)
{
	for (size_t i = 0; i < st->n; i++)
		store_batch_put_state(b, st->entries[i].key, st->entries[i].val, st->entries[i].len);
}

void state_staged_committed(state_t *s, const struct state_staged *st)
{
	for (size_t i = 0; i < st->n; i++)
		cache_set(s, st->entries[i].key, st->entries[i].val, st->entries[i].len);
}

void state_unstage(state_t *s, struct state_staged *st)
{
	for (size_t i = st->n; i-- > 0;) {
		struct staged_entry *e = &st->entries[i];
		if (e->had_old)
			smt_update(s->tree, e->key, e->old_hash);
		else
			smt_remove(s->tree, e->key);
	}
}

void state_staged_free(struct state_staged *st)
{
	free(st->entries);
	memset(st, 0, sizeof(*st));
}

/* State keys, the account record and the in-memory ledger (see ledger.h).
 * ledger_mem is an open-addressing hash table keyed by the 32-byte state key
 * (already uniformly distributed, so its first 8 bytes are the hash) plus an
 * undo log: every write first records the slot's previous contents, and
 * revert replays the log backwards to the snapshot's length. A slot whose
 * first write is reverted becomes a tombstone rather than empty: after a
 * rehash, keys written before it may sit later on its probe chain. Values
 * live in an arena of chunks freed with the overlay, not one allocation per
 * write: a value once written stays until then, as it would in the undo log
 * anyway (a reverted write's bytes excepted, which gas bounds). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/ledger.h"

const uint8_t LEDGER_BURN_ADDR[ADDR_LEN];

void state_key(uint8_t ns, const void *id, size_t n, uint8_t key[HASH_LEN])
{
	sha256_2(&ns, 1, id, n, key);
}

void state_meta_key(const char *name, const uint8_t *suffix, size_t n, uint8_t key[HASH_LEN])
{
	uint8_t id[128];
	size_t len = strlen(name);
	assert(len <= 64 && n <= 64);
	memcpy(id, name, len);
	if (n)
		memcpy(id + len, suffix, n);
	state_key(NS_META, id, len + n, key);
}

void account_encode(const struct account *a, uint8_t out[ACCOUNT_BYTES])
{
	le64_put(out, a->balance);
	le64_put(out + 8, a->nonce);
	memcpy(out + 16, a->code_hash, HASH_LEN);
}

int account_decode(struct account *a, const uint8_t *p, size_t n)
{
	if (n != ACCOUNT_BYTES)
		return ASSAY_EDECODE;
	a->balance = le64_get(p);
	a->nonce = le64_get(p + 8);
	memcpy(a->code_hash, p + 16, HASH_LEN);
	return 0;
}

int ledger_get_into(const struct ledger *l, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len)
{
	if (l->ops->get_into)
		return l->ops->get_into(l->ctx, key, buf, cap, len);
	uint8_t *val;
	int err = ledger_get(l, key, &val, len);
	if (err)
		return err;
	if (*len <= cap)
		memcpy(buf, val, *len);
	free(val);
	return *len <= cap ? 0 : ASSAY_ELIMIT;
}

int ledger_get_exact(const struct ledger *l, const uint8_t key[HASH_LEN], uint8_t *val, size_t n)
{
	size_t len;
	int err = ledger_get_into(l, key, val, n, &len);
	if (err == ASSAY_ELIMIT || (!err && len != n))
		return ASSAY_ECORRUPT;
	return err;
}

int ledger_get_u64(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t *v)
{
	uint8_t val[8];
	int err = ledger_get_exact(l, key, val, sizeof(val));
	*v = err ? 0 : le64_get(val);
	return err;
}

int ledger_put_u64(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t v)
{
	uint8_t val[8];
	le64_put(val, v);
	return ledger_put(l, key, val, sizeof(val));
}

int ledger_get_account_at(const struct ledger *l, const uint8_t key[HASH_LEN], struct account *a)
{
	uint8_t val[ACCOUNT_BYTES];
	size_t len;
	memset(a, 0, sizeof(*a));
	int err = ledger_get_into(l, key, val, sizeof(val), &len); /* no allocation per read */
	if (err == ASSAY_ENOTFOUND)
		return 0;
	/* A stored value that is not an account (longer, or of another
	 * length) is a damaged database, not a verdict (protocol §5.4). */
	if (err == ASSAY_ELIMIT)
		return ASSAY_ECORRUPT;
	if (err)
		return err;
	return account_decode(a, val, len) ? ASSAY_ECORRUPT : 0;
}

int ledger_put_account_at(const struct ledger *l, const uint8_t key[HASH_LEN], const struct account *a)
{
	static const uint8_t zero[HASH_LEN];
	uint8_t enc[ACCOUNT_BYTES];
	if (a->balance == 0 && a->nonce == 0 && memcmp(a->code_hash, zero, HASH_LEN) == 0)
		return ledger_del(l, key);
	account_encode(a, enc);
	return ledger_put(l, key, enc, sizeof(enc));
}

int ledger_credit_at(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t amount)
{
	struct account a;
	int err = ledger_get_account_at(l, key, &a);
	if (err)
		return err;
	if (amount_add(a.balance, amount, &a.balance))
		return ASSAY_EOVERFLOW;
	return ledger_put_account_at(l, key, &a);
}

int ledger_debit_at(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t amount)
{
	struct account a;
	int err = ledger_get_account_at(l, key, &a);
	if (err)
		return err;
	if (amount_sub(a.balance, amount, &a.balance))
		return ASSAY_EBALANCE;
	return ledger_put_account_at(l, key, &a);
}

int ledger_get_account(const struct ledger *l, const uint8_t addr[ADDR_LEN], struct account *a)
{
	uint8_t key[HASH_LEN];
	state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
	return ledger_get_account_at(l, key, a);
}

int ledger_put_account(const struct ledger *l, const uint8_t addr[ADDR_LEN], const struct account *a)
{
	uint8_t key[HASH_LEN];
	state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
	return ledger_put_account_at(l, key, a);
}

int ledger_credit(const struct ledger *l, const uint8_t addr[ADDR_LEN], uint64_t amount)
{
	uint8_t key[HASH_LEN];
	state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
	return ledger_credit_at(l, key, amount);
}

int ledger_debit(const struct ledger *l, const uint8_t addr[ADDR_LEN], uint64_t amount)
{
	uint8_t key[HASH_LEN];
	state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
	return ledger_debit_at(l, key, amount);
}

int ledger_transfer(const struct ledger *l, const uint8_t from[ADDR_LEN], const uint8_t to[ADDR_LEN],
		    uint64_t amount)
{
	size_t snap = ledger_snapshot(l);
	int err = ledger_debit(l, from, amount);
	if (!err)
		err = ledger_credit(l, to, amount);
	if (err)
		ledger_revert(l, snap);
	return err;
}

/* --- in-memory ledger --- */

struct mem_slot {
	uint8_t key[HASH_LEN];
	uint8_t used;    /* slot holds a key (written at least once) */
	uint8_t present; /* key has a value (0: deleted) */
	uint8_t tomb;    /* unused, but probing continues past it; key kept */
	const uint8_t *val; /* in the arena */
	size_t len;
};

struct mem_undo {
	size_t slot;     /* index into the table */
	uint8_t used, present;
	const uint8_t *val; /* previous value, in the arena */
	size_t len;
};

/* One block of the value arena; the newest is the list's head. */
struct mem_chunk {
	struct mem_chunk *next;
	size_t used, cap;
	uint8_t data[];
};

/* The first chunk is small (the VM makes an overlay per call); each next
 * one doubles up to the cap, so a block's thousands of writes take a
 * handful of allocations. A value larger than a chunk gets its own. */
#define MEM_CHUNK_FIRST 1024
#define MEM_CHUNK_MAX (256u << 10)

struct ledger_mem {
	struct ledger base;
	int has_base;
	struct mem_slot *slots;
	size_t cap, count; /* count: used slots */
	size_t ntomb;      /* tombstone slots; they count towards the load */
	struct mem_undo *undo;
	size_t nundo, undocap;
	struct mem_chunk *arena; /* value bytes of every write; freed with m */
	size_t next_chunk;       /* size of the next chunk to allocate */
	uint64_t rehash_moves;   /* slots and undo entries rehashes walked */
	uint8_t seed[LEDGER_HASH_SEED_LEN]; /* where keys go (ledger_slot_hash), fixed at creation */
};

static uint8_t hash_seed[LEDGER_HASH_SEED_LEN];

void ledger_hash_seed(const uint8_t seed[LEDGER_HASH_SEED_LEN])
{
	memcpy(hash_seed, seed, LEDGER_HASH_SEED_LEN);
}

void ledger_hash_seed_get(uint8_t seed[LEDGER_HASH_SEED_LEN])
{
	memcpy(seed, hash_seed, LEDGER_HASH_SEED_LEN);
}

uint64_t ledger_slot_hash(const uint8_t seed[LEDGER_HASH_SEED_LEN], const uint8_t key[HASH_LEN])
{
	_Static_assert(LEDGER_HASH_SEED_LEN == crypto_shorthash_siphash24_KEYBYTES, "a SipHash key");
	uint8_t out[crypto_shorthash_siphash24_BYTES];
	crypto_shorthash_siphash24(out, key, HASH_LEN, seed);
	return le64_get(out);
}

/* Room for len value bytes in m's arena (len 0 included: a non-NULL
 * pointer), or NULL when out of memory. */
static uint8_t *arena_alloc(ledger_mem_t *m, size_t len)
{
	struct mem_chunk *c = m->arena;
	if (c && c->cap - c->used >= len) {
		uint8_t *p = c->data + c->used;
		c->used += len;
		return p;
	}
	size_t cap = len > m->next_chunk ? len : m->next_chunk;
	c = malloc(sizeof(*c) + (cap ? cap : 1));
	if (!c)
		return NULL;
	c->used = len;
	c->cap = cap;
	if (len > m->next_chunk && m->arena) {
		/* its own chunk, behind the head, whose room stays in use */
		c->next = m->arena->next;
		m->arena->next = c;
	} else {
		c->next = m->arena;
		m->arena = c;
		if (m->next_chunk < MEM_CHUNK_MAX)
			m->next_chunk *= 2;
	}
	return c->data;
}

ledger_mem_t *ledger_mem_new(const struct ledger *base)
{
	ledger_mem_t *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (base) {
		m->base = *base;
		m->has_base = 1;
	}
	m->cap = 64;
	m->next_chunk = MEM_CHUNK_FIRST;
	ledger_hash_seed_get(m->seed);
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void ledger_mem_free(ledger_mem_t *m)
{
	if (!m)
		return;
	while (m->arena) {
		struct mem_chunk *next = m->arena->next;
		free(m->arena);
		m->arena = next;
	}
	free(m->undo);
	free(m->slots);
	free(m);
}

static size_t find_slot(const uint8_t seed[LEDGER_HASH_SEED_LEN], const struct mem_slot *slots, size_t cap,
			const uint8_t key[HASH_LEN])
{
	size_t i = (size_t)ledger_slot_hash(seed, key) & (cap - 1);
	while ((slots[i].used || slots[i].tomb) && memcmp(slots[i].key, key, HASH_LEN) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Rehashes the used slots, dropping tombstones, into a table of ncap
 * slots (a power of two above the load). Slot indices change, so the undo
 * log is remapped; every entry in it names a used slot, since reverting a
 * slot's first write also removes the entries after it. */
static int rehash(ledger_mem_t *m, size_t ncap)
{
	struct mem_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return ASSAY_ENOMEM;
	size_t *map = malloc(m->cap * sizeof(*map));
	if (!map) {
		free(ns);
		return ASSAY_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].used)
			continue;
		size_t j = find_slot(m->seed, ns, ncap, m->slots[i].key);
		ns[j] = m->slots[i];
		map[i] = j;
	}
	for (size_t u = 0; u < m->nundo; u++)
		m->undo[u].slot = map[m->undo[u].slot];
	m->rehash_moves += m->cap + ncap + m->nundo;
	free(map);
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	m->ntomb = 0;
	return 0;
}

/* Twice the size, or the same size when tombstones made up most of the
 * load. A rehash walks the undo log as well as the table, so the table is
 * also kept at least as large as the log: the writes until the next rehash
 * (a quarter of the table at least) then pay for it. Without that, a
 * contract that writes one key many times to lengthen the log, then keeps
 * writing fresh keys in calls that revert, has tombstones force a same-size
 * rehash of a small table every few dozen writes, each one walking the
 * whole log: seconds of a block for a fee's worth of gas. */
static int grow(ledger_mem_t *m)
{
	size_t ncap = m->cap;
	if ((m->count + 1) * 2 > ncap || m->nundo > ncap) {
		if (ncap > SIZE_MAX / 2 / sizeof(struct mem_slot))
			return ASSAY_ENOMEM;
		ncap *= 2;
	}
	return rehash(m, ncap);
}

int ledger_mem_reserve(ledger_mem_t *m, size_t nkeys)
{
	size_t ncap = m->cap;
	while ((m->count + m->ntomb + nkeys) * 4 > ncap * 3) {
		if (ncap > SIZE_MAX / 2 / sizeof(struct mem_slot))
			return ASSAY_ENOMEM;
		ncap *= 2;
	}
	return ncap == m->cap ? 0 : rehash(m, ncap);
}

static int mem_get(void *ctx, const uint8_t key[HASH_LEN], uint8_t **val, size_t *len)
{
	ledger_mem_t *m = ctx;
	struct mem_slot *s = &m->slots[find_slot(m->seed, m->slots, m->cap, key)];
	if (s->used) {
		if (!s->present)
			return ASSAY_ENOTFOUND;
		*val = malloc(s->len ? s->len : 1);
		if (!*val)
			return ASSAY_ENOMEM;
		memcpy(*val, s->val, s->len);
		*len = s->len;
		return 0;
	}
	if (m->has_base)
		return ledger_get(&m->base, key, val, len);
	return ASSAY_ENOTFOUND;
}

static int mem_get_into(void *ctx, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len)
{
	ledger_mem_t *m = ctx;
	struct mem_slot *s = &m->slots[find_slot(m->seed, m->slots, m->cap, key)];
	if (s->used) {
		if (!s->present)
			return ASSAY_ENOTFOUND;
		*len = s->len;
		if (s->len > cap)
			return ASSAY_ELIMIT;
		memcpy(buf, s->val, s->len);
		return 0;
	}
	if (m->has_base)
		return ledger_get_into(&m->base, key, buf, cap, len);
	return ASSAY_ENOTFOUND;
}

static int mem_write(ledger_mem_t *m, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len,
		     int present)
{
	if (len > LEDGER_VALUE_MAX)
		return ASSAY_ELIMIT;
	if ((m->count + m->ntomb + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return ASSAY_ENOMEM;
	if (m->nundo == m->undocap) {
		size_t ncap = m->undocap ? m->undocap * 2 : 64;
		struct mem_undo *nu = realloc(m->undo, ncap * sizeof(*nu));
		if (!nu)
			return ASSAY_ENOMEM;
		m->undo = nu;
		m->undocap = ncap;
	}
	uint8_t *copy = NULL;
	if (present) {
		copy = arena_alloc(m, len);
		if (!copy)
			return ASSAY_ENOMEM;
		if (len)
			memcpy(copy, val, len);
	}
	size_t i = find_slot(m->seed, m->slots, m->cap, key);
	struct mem_slot *s = &m->slots[i];
	m->undo[m->nundo++] = (struct mem_undo){i, s->used, s->present, s->val, s->len};
	if (!s->used) {
		if (s->tomb) {
			s->tomb = 0;
			m->ntomb--;
		}
		memcpy(s->key, key, HASH_LEN);
		s->used = 1;
		m->count++;
	}
	s->present = (uint8_t)present;
	s->val = copy;
	s->len = present ? len : 0;
	return 0;
}

static int mem_put(void *ctx, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	return mem_write(ctx, key, val, len, 1);
}

static int mem_del(void *ctx, const uint8_t key[HASH_LEN])
{
	return mem_write(ctx, key, NULL, 0, 0);
}

static size_t mem_snapshot(void *ctx)
{
	return ((ledger_mem_t *)ctx)->nundo;
}

static void mem_revert(void *ctx, size_t snap)
{
	ledger_mem_t *m = ctx;
	assert(snap <= m->nundo); /* a snapshot of this overlay, not yet reverted past */
	while (m->nundo > snap) {
		struct mem_undo *u = &m->undo[--m->nundo];
		struct mem_slot *s = &m->slots[u->slot];
		if (s->used && !u->used) {
			/* Not emptied: after a rehash, keys written earlier may
			 * lie beyond this slot on their probe chains. */
			m->count--;
			s->tomb = 1;
			m->ntomb++;
		}
		s->used = u->used;
		s->present = u->present;
		s->val = u->val;
		s->len = u->len;
	}
}

static const struct ledger_ops mem_ops = {mem_get, mem_put, mem_del, mem_snapshot, mem_revert, mem_get_into};

struct ledger ledger_mem_ledger(ledger_mem_t *m)
{
	return (struct ledger){&mem_ops, m};
}

size_t ledger_mem_count(const ledger_mem_t *m)
{
	return m->count;
}

static int cmp_slot_ptr(const void *a, const void *b)
{
	const struct mem_slot *x = *(const struct mem_slot *const *)a;
	const struct mem_slot *y = *(const struct mem_slot *const *)b;
	return memcmp(x->key, y->key, HASH_LEN);
}

uint64_t ledger_mem_rehash_moves(const ledger_mem_t *m)
{
	return m->rehash_moves;
}

size_t ledger_mem_longest_run(const ledger_mem_t *m)
{
	size_t longest = 0, run = 0;
	for (size_t i = 0; i < 2 * m->cap; i++) { /* twice round: a run may wrap */
		const struct mem_slot *sl = &m->slots[i & (m->cap - 1)];
		run = sl->used || sl->tomb ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	return longest < m->cap ? longest : m->cap;
}

int ledger_mem_foreach(ledger_mem_t *m, ledger_mem_visit_fn fn, void *arg)
{
	struct mem_slot **order = malloc((m->count ? m->count : 1) * sizeof(*order));
	if (!order)
		return ASSAY_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			order[n++] = &m->slots[i];
	qsort(order, n, sizeof(*order), cmp_slot_ptr);
	int err = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = fn(arg, order[i]->key, order[i]->present ? order[i]->val : NULL, order[i]->len);
	free(order);
	return err;
}

void ledger_amount_format(uint64_t units, char out[LEDGER_AMOUNT_STR_MAX])
{
	snprintf(out, LEDGER_AMOUNT_STR_MAX, "%llu.%09llu ASY (%llu)", (unsigned long long)(units / 1000000000ull),
		 (unsigned long long)(units % 1000000000ull), (unsigned long long)units);
}

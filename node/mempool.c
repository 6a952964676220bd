/* Mempool (see mempool.h). Each sender has a queue of pending transactions
 * with consecutive nonces starting at its committed nonce; a hash index maps
 * txids to entries. Block selection merges the senders' queues through a
 * max-heap on fee per encoded byte, which keeps every sender's nonces in
 * order; eviction takes the lowest fee per byte among the queues' tails.
 * Per byte, since the pool and a block are bounded in bytes as well as in
 * count: by its fee alone a large transaction outbid small ones paying
 * hundreds of times more for each byte they take. A sender
 * whose queue a block emptied stays, idle, until the next block, since it
 * is likely to send again: its record and state key are not made anew. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/tx_rules.h"
#include "core/error.h"
#include "node/mempool.h"

struct mp_entry {
	struct tx tx; /* tx.payload points at payload[] below */
	uint8_t txid[HASH_LEN];
	size_t bytes;  /* encoded size */
	uint64_t cost; /* fee + value moved */
	struct mp_sender *sender;
	uint8_t payload[]; /* the entry and its payload are one allocation */
};

struct mp_sender {
	uint8_t addr[ADDR_LEN];
	uint8_t key[HASH_LEN];   /* the account's state key, hashed once */
	uint64_t base_nonce;     /* nonce of queue[0] (the committed nonce) */
	struct mp_entry **queue; /* by nonce, consecutive */
	size_t n, cap;
	size_t pos;              /* index in mempool.senders */
	int idle;                /* empty since the last block: dropped at the next */
};

struct mempool {
	chain_t *chain;
	size_t max_txs, max_bytes;
	size_t count, bytes;
	/* txid index: open addressing, tombstones as (void*)1 */
	struct mp_entry **index;
	size_t index_cap, index_used;
	struct mp_sender **senders; /* dense, for iteration */
	size_t nsenders, senders_cap;
	struct mp_sender **by_addr; /* open addressing on the address, tombstones SENDER_TOMB */
	size_t by_addr_cap, by_addr_used;
	/* At most the lowest fee per byte of any queue's last entry, as a fee
	 * over a size (0 over 1: unknown). Set exactly when make_room looks at
	 * every queue, lowered as entries become last ones; a full pool refuses
	 * a rate at or below it at once. */
	uint64_t tail_floor_fee;
	size_t tail_floor_bytes;
	uint64_t state_checks; /* transactions checked against the state (mempool_state_checks) */
};

#define SENDER_TOMB ((struct mp_sender *)1)

int mempool_rate_below(uint64_t fee_a, uint64_t bytes_a, uint64_t fee_b, uint64_t bytes_b)
{
	return (unsigned __int128)fee_a * bytes_b < (unsigned __int128)fee_b * bytes_a;
}

static int entry_below(const struct mp_entry *a, const struct mp_entry *b)
{
	return mempool_rate_below(a->tx.fee, a->bytes, b->tx.fee, b->bytes);
}

/* e has become the last entry of its queue: the floor follows it down. */
static void tail_floor_lower(struct mempool *m, const struct mp_entry *e)
{
	if (mempool_rate_below(e->tx.fee, e->bytes, m->tail_floor_fee, m->tail_floor_bytes)) {
		m->tail_floor_fee = e->tx.fee;
		m->tail_floor_bytes = e->bytes;
	}
}

#define TOMB ((struct mp_entry *)1)

mempool_t *mempool_new(chain_t *chain, size_t max_txs, size_t max_bytes)
{
	mempool_t *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->chain = chain;
	m->tail_floor_bytes = 1;
	m->max_txs = max_txs;
	m->max_bytes = max_bytes;
	m->index_cap = 1024;
	m->index = calloc(m->index_cap, sizeof(*m->index));
	m->by_addr_cap = 256;
	m->by_addr = calloc(m->by_addr_cap, sizeof(*m->by_addr));
	if (!m->index || !m->by_addr) {
		free(m->index);
		free(m->by_addr);
		free(m);
		return NULL;
	}
	return m;
}

static void entry_free(struct mp_entry *e)
{
	free(e);
}

/* A copy of t in one allocation with its payload; NULL when out of memory. */
static struct mp_entry *entry_new(const struct tx *t)
{
	struct mp_entry *e = malloc(sizeof(*e) + t->payload_len);
	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->tx = *t;
	e->tx.payload = t->payload_len ? e->payload : NULL;
	if (t->payload_len)
		memcpy(e->payload, t->payload, t->payload_len);
	return e;
}

void mempool_free(mempool_t *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nsenders; i++) {
		for (size_t j = 0; j < m->senders[i]->n; j++)
			entry_free(m->senders[i]->queue[j]);
		free(m->senders[i]->queue);
		free(m->senders[i]);
	}
	free(m->senders);
	free(m->by_addr);
	free(m->index);
	free(m);
}

static size_t index_find(const mempool_t *m, const uint8_t txid[HASH_LEN], int for_insert)
{
	size_t mask = m->index_cap - 1, i = (size_t)le64_get(txid) & mask, tomb = SIZE_MAX;
	for (;;) {
		struct mp_entry *e = m->index[i];
		if (!e)
			return for_insert && tomb != SIZE_MAX ? tomb : i;
		if (e == TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
		} else if (memcmp(e->txid, txid, HASH_LEN) == 0) {
			return i;
		}
		i = (i + 1) & mask;
	}
}

/* Rehashes when live entries and tombstones fill half the table: at twice
 * the size if live entries alone fill a quarter, else at the same size, so
 * the table tracks what is pending, not everything ever admitted. */
static int index_grow(mempool_t *m)
{
	size_t ncap = (m->count + 1) * 4 > m->index_cap ? m->index_cap * 2 : m->index_cap;
	struct mp_entry **old = m->index;
	size_t ocap = m->index_cap;
	m->index = calloc(ncap, sizeof(*m->index));
	if (!m->index) {
		m->index = old;
		return ASSAY_ENOMEM;
	}
	m->index_cap = ncap;
	m->index_used = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i] && old[i] != TOMB) {
			m->index[index_find(m, old[i]->txid, 1)] = old[i];
			m->index_used++;
		}
	}
	free(old);
	return 0;
}

static int index_put(mempool_t *m, struct mp_entry *e)
{
	if ((m->index_used + 1) * 2 > m->index_cap && index_grow(m) < 0)
		return ASSAY_ENOMEM;
	size_t i = index_find(m, e->txid, 1);
	if (!m->index[i])
		m->index_used++;
	m->index[i] = e;
	return 0;
}

static void index_del(mempool_t *m, const uint8_t txid[HASH_LEN])
{
	size_t i = index_find(m, txid, 0);
	if (m->index[i] && m->index[i] != TOMB)
		m->index[i] = TOMB;
}

const struct tx *mempool_get(mempool_t *m, const uint8_t txid[HASH_LEN])
{
	struct mp_entry *e = m->index[index_find(m, txid, 0)];
	return e && e != TOMB ? &e->tx : NULL;
}

static size_t addr_slot(const mempool_t *m, const uint8_t addr[ADDR_LEN], int for_insert)
{
	size_t mask = m->by_addr_cap - 1, i = (size_t)le64_get(addr) & mask, tomb = SIZE_MAX;
	for (;;) {
		struct mp_sender *s = m->by_addr[i];
		if (!s)
			return for_insert && tomb != SIZE_MAX ? tomb : i;
		if (s == SENDER_TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
		} else if (memcmp(s->addr, addr, ADDR_LEN) == 0) {
			return i;
		}
		i = (i + 1) & mask;
	}
}

static struct mp_sender *sender_find(mempool_t *m, const uint8_t addr[ADDR_LEN])
{
	struct mp_sender *s = m->by_addr[addr_slot(m, addr, 0)];
	return s == SENDER_TOMB ? NULL : s;
}

static int senders_rehash(mempool_t *m, size_t ncap)
{
	struct mp_sender **nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return ASSAY_ENOMEM;
	free(m->by_addr);
	m->by_addr = nt;
	m->by_addr_cap = ncap;
	m->by_addr_used = m->nsenders;
	for (size_t i = 0; i < m->nsenders; i++)
		m->by_addr[addr_slot(m, m->senders[i]->addr, 1)] = m->senders[i];
	return 0;
}

static struct mp_sender *sender_add(mempool_t *m, const uint8_t addr[ADDR_LEN], const uint8_t key[HASH_LEN],
				    uint64_t nonce)
{
	if (m->nsenders == m->senders_cap) {
		size_t ncap = m->senders_cap ? m->senders_cap * 2 : 64;
		struct mp_sender **ns = realloc(m->senders, ncap * sizeof(*ns));
		if (!ns)
			return NULL;
		m->senders = ns;
		m->senders_cap = ncap;
	}
	if ((m->by_addr_used + 1) * 2 > m->by_addr_cap &&
	    senders_rehash(m, (m->nsenders + 1) * 4 > m->by_addr_cap ? m->by_addr_cap * 2 : m->by_addr_cap) < 0)
		return NULL;
	struct mp_sender *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->addr, addr, ADDR_LEN);
	memcpy(s->key, key, HASH_LEN);
	s->base_nonce = nonce;
	s->pos = m->nsenders;
	m->senders[m->nsenders++] = s;
	size_t slot = addr_slot(m, addr, 1);
	if (!m->by_addr[slot])
		m->by_addr_used++;
	m->by_addr[slot] = s;
	return s;
}

static void sender_drop_if_empty(mempool_t *m, struct mp_sender *s)
{
	if (s->n)
		return;
	m->senders[s->pos] = m->senders[--m->nsenders];
	m->senders[s->pos]->pos = s->pos;
	m->by_addr[addr_slot(m, s->addr, 0)] = SENDER_TOMB;
	free(s->queue);
	free(s);
}

/* Removes queue entries from position `from` to the end (later nonces
 * cannot stay once an earlier one is gone). */
static void sender_truncate(mempool_t *m, struct mp_sender *s, size_t from)
{
	while (s->n > from) {
		struct mp_entry *e = s->queue[--s->n];
		index_del(m, e->txid);
		m->count--;
		m->bytes -= e->bytes;
		entry_free(e);
	}
	if (s->n)
		tail_floor_lower(m, s->queue[s->n - 1]); /* a new last entry */
}

/* Removes the first k entries (included in a block). */
static void sender_pop_front(mempool_t *m, struct mp_sender *s, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		struct mp_entry *e = s->queue[i];
		index_del(m, e->txid);
		m->count--;
		m->bytes -= e->bytes;
		entry_free(e);
	}
	memmove(s->queue, s->queue + k, (s->n - k) * sizeof(*s->queue));
	s->n -= k;
	s->base_nonce += k;
}

size_t mempool_sender_txs(mempool_t *m, const uint8_t addr[ADDR_LEN], const struct tx **out, size_t max)
{
	struct mp_sender *s = sender_find(m, addr);
	size_t k = 0;
	for (; s && k < s->n && k < max; k++)
		out[k] = &s->queue[k]->tx;
	return k;
}

uint64_t mempool_next_nonce(mempool_t *m, const uint8_t addr[ADDR_LEN])
{
	struct mp_sender *s = sender_find(m, addr);
	if (s)
		return s->base_nonce + s->n;
	struct account a;
	struct ledger l = chain_ledger(m->chain);
	if (ledger_get_account(&l, addr, &a) < 0)
		return 0;
	return a.nonce;
}

/* A heap of senders keyed by the fee per byte of their entry queue[next]:
 * a max-heap of each one's next unselected entry (mempool_select), a
 * min-heap of each one's last entry still kept (make_room). */
struct heap_item {
	struct mp_sender *s;
	size_t next;
};

static const struct mp_entry *item_entry(const struct heap_item *h)
{
	return h->s->queue[h->next];
}

/* lowest: whether a goes above b in a min-heap, else in a max-heap. */
static int item_first(const struct heap_item *a, const struct heap_item *b, int lowest)
{
	return lowest ? entry_below(item_entry(a), item_entry(b)) : entry_below(item_entry(b), item_entry(a));
}

/* lowest: a min-heap, else a max-heap. */
static void heap_sift_down(struct heap_item *h, size_t n, size_t i, int lowest)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, top = i;
		if (l < n && item_first(&h[l], &h[top], lowest))
			top = l;
		if (r < n && item_first(&h[r], &h[top], lowest))
			top = r;
		if (top == i)
			return;
		struct heap_item t = h[i];
		h[i] = h[top];
		h[top] = t;
		i = top;
	}
}

#define KEEP_NONE SIZE_MAX /* make_room: every entry of that queue goes */

/* Room for `added` more transactions and `bytes` more bytes once `freed`
 * leave (a replacement's old entry), by evicting the last entries of
 * queues (they leave no nonce gap) with the lowest fee per byte, each
 * paying less per byte than `fee` over `bytes`, none of own's. Planned first: either every eviction needed is
 * made and 0 returned, or none and ASSAY_EFULL (or ASSAY_ENOMEM), so a
 * transaction refused for want of room evicts nothing. O(senders + evicted
 * x log senders), and a rate at or below the tail floor is refused at once. */
static int make_room(mempool_t *m, const struct mp_sender *own, uint64_t fee, size_t added, size_t freed,
		     size_t bytes, char *err, size_t errlen)
{
	size_t count = m->count, total = m->bytes - freed;
	if (count + added <= m->max_txs && total + bytes <= m->max_bytes)
		return 0;
	if (!mempool_rate_below(m->tail_floor_fee, m->tail_floor_bytes, fee, bytes)) {
		snprintf(err, errlen, "mempool full: fee too low (per byte) to evict anything");
		return ASSAY_EFULL;
	}
	struct heap_item *h = malloc((m->nsenders ? m->nsenders : 1) * sizeof(*h));
	if (!h)
		return ASSAY_ENOMEM;
	size_t nh = 0, all;
	for (size_t i = 0; i < m->nsenders; i++)
		if (m->senders[i]->n)
			h[nh++] = (struct heap_item){m->senders[i], m->senders[i]->n - 1};
	all = nh;
	for (size_t i = nh / 2; i-- > 0;)
		heap_sift_down(h, nh, i, 1);
	m->tail_floor_fee = nh ? item_entry(&h[0])->tx.fee : 0;
	m->tail_floor_bytes = nh ? item_entry(&h[0])->bytes : 1;
	int rc = 0;
	while (count + added > m->max_txs || total + bytes > m->max_bytes) {
		if (!nh || !mempool_rate_below(item_entry(&h[0])->tx.fee, item_entry(&h[0])->bytes, fee, bytes) ||
		    h[0].s == own) {
			snprintf(err, errlen, "mempool full: fee too low (per byte) to evict anything");
			rc = ASSAY_EFULL;
			break;
		}
		count--;
		total -= h[0].s->queue[h[0].next]->bytes;
		if (h[0].next-- == 0) { /* kept past the heap's end, for the evictions below */
			struct heap_item t = {h[0].s, KEEP_NONE};
			h[0] = h[--nh];
			h[nh] = t;
		}
		heap_sift_down(h, nh, 0, 1);
	}
	for (size_t i = 0; !rc && i < all; i++) {
		size_t keep = h[i].next == KEEP_NONE ? 0 : h[i].next + 1;
		if (keep < h[i].s->n) {
			sender_truncate(m, h[i].s, keep);
			sender_drop_if_empty(m, h[i].s);
		}
	}
	free(h);
	return rc;
}

/* Whether the transaction at queue position slot of s can be judged by its
 * admission rules on the committed state: not behind a pending reveal or
 * upload of the same sender, which may be what makes it valid (docs/protocol.md §9). */
static int admission_on_committed(const struct mp_sender *s, size_t slot)
{
	for (size_t i = 0; s && i < slot && i < s->n; i++)
		if (exec_kind_admits(s->queue[i]->tx.kind))
			return 0;
	return 1;
}

/* checked: the caller ran tx_rules_check and computed txid (else both are
 * done here, the signature only when check_sig). ready (may be NULL): the
 * caller's last check, after every one of ours and before t takes a place;
 * nonzero refuses t with that code. */
static int admit(mempool_t *m, const struct tx *t, int check_sig, const uint8_t *checked_txid,
		 mempool_ready_fn ready, void *ready_ctx, uint8_t txid_out[HASH_LEN], char *err,
		 size_t errlen)
{
	uint8_t txid[HASH_LEN], addr[ADDR_LEN];
	int rc;
	if (checked_txid) {
		memcpy(txid, checked_txid, HASH_LEN);
	} else {
		const struct genesis *g = chain_genesis(m->chain);
		if ((rc = tx_rules_check(&g->params, g->hash, t, check_sig, err, errlen)) != 0)
			return rc;
		tx_id(t, txid);
	}
	if (txid_out)
		memcpy(txid_out, txid, HASH_LEN);
	if (mempool_get(m, txid)) {
		snprintf(err, errlen, "transaction already in the mempool");
		return ASSAY_EEXISTS;
	}
	uint64_t cost;
	m->state_checks++;
	if (tx_rules_cost(t, &cost) < 0) {
		snprintf(err, errlen, "amount plus fee overflows");
		return ASSAY_EOVERFLOW;
	}
	tx_sender_addr(t, addr);
	struct mp_sender *s = sender_find(m, addr);
	uint8_t key[HASH_LEN];
	if (s)
		memcpy(key, s->key, HASH_LEN);
	else
		state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
	struct account acct;
	struct ledger l = chain_ledger(m->chain);
	if ((rc = ledger_get_account_at(&l, key, &acct)) < 0) {
		snprintf(err, errlen, "state read failed");
		return rc;
	}
	if (s && !s->n)
		s->base_nonce = acct.nonce; /* an idle sender: its queue starts at the committed nonce */
	uint64_t base = s ? s->base_nonce : acct.nonce;
	size_t pending = s ? s->n : 0;
	if (t->nonce < acct.nonce) {
		snprintf(err, errlen, "nonce %llu already used (account nonce is %llu)",
			 (unsigned long long)t->nonce, (unsigned long long)acct.nonce);
		return ASSAY_ENONCE;
	}
	if (t->nonce > base + pending) {
		snprintf(err, errlen, "nonce gap: nonce %llu, next expected %llu",
			 (unsigned long long)t->nonce, (unsigned long long)(base + pending));
		return ASSAY_ENONCE;
	}
	size_t slot = (size_t)(t->nonce - base);
	int replace = slot < pending;
	/* protocol §5.2 step 1: a reveal or upload that cannot succeed is invalid */
	const struct genesis *g = chain_genesis(m->chain);
	if (admission_on_committed(s, slot) &&
	    (rc = exec_tx_admissible(&g->params, &g->compute, &l, chain_height(m->chain) + 1, t, err, errlen)) != 0)
		return rc;
	/* policy (protocol §9): a transaction the committed state says would
	 * fail for want of the gas it needs first (a new account, a blob) */
	if ((rc = exec_tx_gas_check(&l, t, err, errlen)) != 0)
		return rc;
	if (replace) {
		struct mp_entry *old = s->queue[slot];
		unsigned __int128 need = (unsigned __int128)old->tx.fee * (100 + MEMPOOL_REPLACE_BUMP_PCT) / 100;
		if ((unsigned __int128)t->fee < need || t->fee <= old->tx.fee) {
			snprintf(err, errlen,
				 "a transaction with nonce %llu is pending; a replacement must pay at least "
				 "%d%% more fee",
				 (unsigned long long)t->nonce, MEMPOOL_REPLACE_BUMP_PCT);
			return ASSAY_EFEE;
		}
	} else if (pending >= MEMPOOL_MAX_PER_SENDER) {
		snprintf(err, errlen, "sender has %d pending transactions (limit)", MEMPOOL_MAX_PER_SENDER);
		return ASSAY_EFULL;
	}
	/* Funds: the committed balance must cover every pending cost in order. */
	unsigned __int128 total = cost;
	for (size_t i = 0; i < pending; i++)
		if (i != slot)
			total += s->queue[i]->cost;
	if (total > acct.balance) {
		char has[LEDGER_AMOUNT_STR_MAX], needs[LEDGER_AMOUNT_STR_MAX];
		ledger_amount_format(acct.balance, has);
		ledger_amount_format(total > UINT64_MAX ? UINT64_MAX : (uint64_t)total, needs);
		snprintf(err, errlen, "insufficient balance: has %s, pending transactions need %s", has, needs);
		return ASSAY_EBALANCE;
	}
	if (ready && (rc = ready(ready_ctx, t, err, errlen)) != 0)
		return rc;
	size_t bytes = tx_encoded_len(t); /* counted: no buffer per admission */
	/* Capacity: evict cheaper transactions from the tails of queues. A
	 * replacement frees its old entry's bytes and adds no entry, but is
	 * bound as much: a small transaction replaced by a large one must not
	 * grow the pool past max_bytes. */
	size_t freed = replace && s ? s->queue[slot]->bytes : 0, added = replace ? 0 : 1; /* replace: s is set */
	if ((rc = make_room(m, s, t->fee, added, freed, bytes, err, errlen)) != 0)
		return rc;
	/* Room in the index first, so that nothing below can fail after the
	 * queues change (index_put then never grows). */
	if ((m->index_used + 1) * 2 > m->index_cap && index_grow(m) < 0)
		return ASSAY_ENOMEM;
	struct mp_entry *e = entry_new(t);
	if (!e)
		return ASSAY_ENOMEM;
	memcpy(e->txid, txid, HASH_LEN);
	e->bytes = bytes;
	e->cost = cost;
	if (!s && !(s = sender_add(m, addr, key, acct.nonce))) {
		entry_free(e);
		return ASSAY_ENOMEM;
	}
	if (replace) {
		struct mp_entry *old = s->queue[slot];
		index_del(m, old->txid);
		m->count--;
		m->bytes -= old->bytes;
		entry_free(old);
		s->queue[slot] = e;
	} else {
		if (s->n == s->cap) {
			size_t ncap = s->cap ? s->cap * 2 : 4;
			struct mp_entry **nq = realloc(s->queue, ncap * sizeof(*nq));
			if (!nq) {
				entry_free(e);
				sender_drop_if_empty(m, s);
				return ASSAY_ENOMEM;
			}
			s->queue = nq;
			s->cap = ncap;
		}
		s->queue[s->n++] = e;
	}
	if (slot + 1 >= s->n)
		tail_floor_lower(m, e); /* a new last entry */
	e->sender = s;
	s->idle = 0;
	if (index_put(m, e) < 0) {
		/* Undo: the entry is the last in its queue or a replacement. */
		if (!replace)
			s->n--;
		entry_free(e);
		return ASSAY_ENOMEM;
	}
	m->count++;
	m->bytes += bytes;
	return 0;
}

int mempool_add(mempool_t *m, const struct tx *t, uint8_t txid_out[HASH_LEN], char *err, size_t errlen)
{
	return admit(m, t, 1, NULL, NULL, NULL, txid_out, err, errlen);
}

int mempool_add_verified(mempool_t *m, const struct tx *t, uint8_t txid_out[HASH_LEN], char *err,
			 size_t errlen)
{
	return admit(m, t, 0, NULL, NULL, NULL, txid_out, err, errlen);
}

int mempool_add_checked(mempool_t *m, const struct tx *t, const uint8_t txid[HASH_LEN], char *err,
			size_t errlen)
{
	return admit(m, t, 0, txid, NULL, NULL, NULL, err, errlen);
}

int mempool_add_checked_when(mempool_t *m, const struct tx *t, const uint8_t txid[HASH_LEN],
			     mempool_ready_fn ready, void *ctx, char *err, size_t errlen)
{
	return admit(m, t, 0, txid, ready, ctx, NULL, err, errlen);
}

uint64_t mempool_state_checks(const mempool_t *m)
{
	return m->state_checks;
}

size_t mempool_select(mempool_t *m, const struct tx **out, size_t max)
{
	return mempool_select_ids(m, out, NULL, max);
}

size_t mempool_select_ids(mempool_t *m, const struct tx **out, uint8_t (*txids)[HASH_LEN], size_t max)
{
	struct heap_item *h = malloc((m->nsenders ? m->nsenders : 1) * sizeof(*h));
	size_t n = 0, k = 0;
	if (!h)
		return 0;
	for (size_t i = 0; i < m->nsenders; i++)
		if (m->senders[i]->n)
			h[n++] = (struct heap_item){m->senders[i], 0};
	for (size_t i = n / 2; i-- > 0;)
		heap_sift_down(h, n, i, 0);
	while (n && k < max) {
		const struct mp_entry *e = h[0].s->queue[h[0].next];
		if (txids)
			memcpy(txids[k], e->txid, HASH_LEN);
		out[k++] = &e->tx;
		if (++h[0].next == h[0].s->n)
			h[0] = h[--n];
		heap_sift_down(h, n, 0, 0);
	}
	free(h);
	return k;
}

void mempool_remove(mempool_t *m, const uint8_t txid[HASH_LEN])
{
	struct mp_entry *e = m->index[index_find(m, txid, 0)];
	if (!e || e == TOMB)
		return;
	struct mp_sender *s = e->sender;
	for (size_t i = 0; i < s->n; i++) {
		if (s->queue[i] == e) {
			sender_truncate(m, s, i);
			break;
		}
	}
	sender_drop_if_empty(m, s);
}

/* Re-fits every queue to the new committed state: included or stale nonces
 * leave from the front, and a queue whose costs the balance no longer covers
 * is cut where the money runs out. */
void mempool_on_block(mempool_t *m, const struct block *blk)
{
	const struct genesis *g = chain_genesis(m->chain);
	struct ledger l = chain_ledger(m->chain);
	for (size_t i = 0; i < m->nsenders;) {
		struct mp_sender *s = m->senders[i];
		struct account a;
		if (ledger_get_account_at(&l, s->key, &a) < 0) {
			i++;
			continue;
		}
		if (a.nonce > s->base_nonce) {
			uint64_t k = a.nonce - s->base_nonce;
			sender_pop_front(m, s, k > s->n ? s->n : (size_t)k);
			if (a.nonce > s->base_nonce)
				s->base_nonce = a.nonce;
		} else if (a.nonce < s->base_nonce) {
			sender_truncate(m, s, 0); /* cannot happen without a reorg */
			s->base_nonce = a.nonce;
		}
		/* A reveal or upload the block made invalid (its slot revealed,
		 * its window closed) would hold the sender's queue forever.
		 * Judged up to the sender's first such kind, which later ones
		 * may depend on (admission_on_committed). */
		for (size_t j = 0; j < s->n; j++) {
			if (!exec_kind_admits(s->queue[j]->tx.kind))
				continue;
			if (exec_tx_admissible(&g->params, &g->compute, &l, chain_height(m->chain) + 1,
					       &s->queue[j]->tx, NULL, 0) != 0)
				sender_truncate(m, s, j);
			break;
		}
		unsigned __int128 total = 0;
		for (size_t j = 0; j < s->n; j++) {
			total += s->queue[j]->cost;
			if (total > a.balance) {
				sender_truncate(m, s, j);
				break;
			}
		}
		if (!s->n && s->idle) {
			sender_drop_if_empty(m, s);
			continue; /* slot i now holds another sender */
		}
		s->idle = !s->n; /* kept for one block: it may send again */
		i++;
	}
	(void)blk;
}

size_t mempool_size(const mempool_t *m) { return m->count; }
size_t mempool_bytes(const mempool_t *m) { return m->bytes; }
size_t mempool_max_txs(const mempool_t *m) { return m->max_txs; }

/* The state as the execution layers see it (docs/protocol.md §5): one 256-bit
 * key space, key = SHA256(namespace || id), values as canonical bytes, read
 * and written through a small interface with nested snapshots so a reverted
 * call undoes exactly its own writes. node/state.c implements it over LevelDB
 * and the sparse Merkle tree; ledger_mem here is an in-memory implementation
 * that can also overlay another ledger (a block's pending writes) and serves
 * unit tests of the VM and the compute protocol. Also: the account record. */
#ifndef ASSAY_CORE_LEDGER_H
#define ASSAY_CORE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"
#include "core/sha256.h"

enum state_ns {
	NS_ACCOUNT = 0x01,   /* id: 20-byte address -> struct account */
	NS_CODE = 0x02,      /* id: 32-byte code hash -> contract bytecode */
	NS_STORAGE = 0x03,   /* id: address || 32-byte slot -> contract storage */
	NS_VALIDATOR = 0x04, /* id: 32-byte pubkey -> validator record */
	NS_WORKER = 0x05,    /* id: 20-byte address -> worker record */
	NS_JOB = 0x06,       /* id: 32-byte job id -> job record */
	NS_PARAM = 0x07,     /* id: parameter name -> value */
	NS_BLOB = 0x08,      /* id: 32-byte blob hash -> blob metadata */
	NS_META = 0x09,      /* id: module-defined singleton names (indexes, counters) */
};

/* Hard cap on one stored value; larger data goes in blobs. */
#define LEDGER_VALUE_MAX (1u << 20)

void state_key(uint8_t ns, const void *id, size_t n, uint8_t key[HASH_LEN]);
/* state_key(NS_META, name || suffix): a module's named value, or one of a
 * family of them (suffix at most 64 bytes; name at most 64). */
void state_meta_key(const char *name, const uint8_t *suffix, size_t n, uint8_t key[HASH_LEN]);

struct ledger_ops {
	/* *val is malloc()ed; the caller frees. ASSAY_ENOTFOUND if absent. */
	int (*get)(void *ctx, const uint8_t key[HASH_LEN], uint8_t **val, size_t *len);
	int (*put)(void *ctx, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len);
	int (*del)(void *ctx, const uint8_t key[HASH_LEN]);
	/* Marks a point to come back to; revert undoes every write since. */
	size_t (*snapshot)(void *ctx);
	void (*revert)(void *ctx, size_t snap);
	/* Optional (NULL: get and a copy): the value into buf, room for cap
	 * bytes, without an allocation; *len its length. ASSAY_ELIMIT (buf
	 * untouched) when it is longer than cap. For the fixed-size records
	 * read on every transaction (accounts). */
	int (*get_into)(void *ctx, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len);
};

struct ledger {
	const struct ledger_ops *ops;
	void *ctx;
};

static inline int ledger_get(const struct ledger *l, const uint8_t key[HASH_LEN], uint8_t **val,
			     size_t *len)
{
	return l->ops->get(l->ctx, key, val, len);
}
int ledger_get_into(const struct ledger *l, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len);
/* A stored value of exactly n bytes into val: 0, ASSAY_ENOTFOUND, or
 * ASSAY_ECORRUPT for one of another length (damage: the rules write each
 * such value at its size), or another local failure. */
int ledger_get_exact(const struct ledger *l, const uint8_t key[HASH_LEN], uint8_t *val, size_t n);
/* A stored u64 (8 bytes LE), as ledger_get_exact; *v = 0 on failure. */
int ledger_get_u64(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t *v);
int ledger_put_u64(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t v);
static inline int ledger_put(const struct ledger *l, const uint8_t key[HASH_LEN], const uint8_t *val,
			     size_t len)
{
	return l->ops->put(l->ctx, key, val, len);
}
static inline int ledger_del(const struct ledger *l, const uint8_t key[HASH_LEN])
{
	return l->ops->del(l->ctx, key);
}
static inline size_t ledger_snapshot(const struct ledger *l)
{
	return l->ops->snapshot(l->ctx);
}
static inline void ledger_revert(const struct ledger *l, size_t snap)
{
	l->ops->revert(l->ctx, snap);
}

/* Account record: balance, nonce, code hash (zero for plain accounts).
 * Encoding: u64 balance || u64 nonce || 32 code_hash. An absent account reads
 * as all zero; an account that returns to all zero is deleted. */
struct account {
	uint64_t balance;
	uint64_t nonce;
	uint8_t code_hash[HASH_LEN];
};
#define ACCOUNT_BYTES (8 + 8 + HASH_LEN)

void account_encode(const struct account *a, uint8_t out[ACCOUNT_BYTES]);
/* ASSAY_EDECODE for bytes that are not an account (untrusted input: a
 * proof's value); the state readers below say ASSAY_ECORRUPT instead, since
 * a stored value that is not one is a damaged database (protocol §5.4). */
int account_decode(struct account *a, const uint8_t *p, size_t n);
int ledger_get_account(const struct ledger *l, const uint8_t addr[ADDR_LEN], struct account *a);
int ledger_put_account(const struct ledger *l, const uint8_t addr[ADDR_LEN], const struct account *a);
/* balance += amount (ASSAY_EOVERFLOW) / balance -= amount (ASSAY_EBALANCE). */
int ledger_credit(const struct ledger *l, const uint8_t addr[ADDR_LEN], uint64_t amount);
int ledger_debit(const struct ledger *l, const uint8_t addr[ADDR_LEN], uint64_t amount);
/* The same by state key (state_key(NS_ACCOUNT, addr, ...)), for a caller
 * that touches one account several times: its key is hashed once. */
int ledger_get_account_at(const struct ledger *l, const uint8_t key[HASH_LEN], struct account *a);
int ledger_put_account_at(const struct ledger *l, const uint8_t key[HASH_LEN], const struct account *a);
int ledger_credit_at(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t amount);
int ledger_debit_at(const struct ledger *l, const uint8_t key[HASH_LEN], uint64_t amount);
/* Debit then credit; nothing changes on error. */
int ledger_transfer(const struct ledger *l, const uint8_t from[ADDR_LEN], const uint8_t to[ADDR_LEN],
		    uint64_t amount);

/* Burned amounts are credited to this address, whose key nobody has
 * (all zero), so total supply stays countable: supply = sum of balances +
 * escrows + bonds, and burns are visible as this account's balance. */
extern const uint8_t LEDGER_BURN_ADDR[ADDR_LEN];

/* Checked u64 arithmetic for amounts. */
static inline int amount_add(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_add_overflow(a, b, out) ? -1 : 0;
}
static inline int amount_sub(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_sub_overflow(a, b, out) ? -1 : 0;
}

/* An amount for the person who reads a message: ASY with nine decimals, base
 * units (10^9 per ASY) in parentheses: "1.500000000 ASY (1500000000)".
 * Longest: 21 + 4 + 2 + 20 digits and the NUL, rounded up. */
#define LEDGER_AMOUNT_STR_MAX 64
void ledger_amount_format(uint64_t units, char out[LEDGER_AMOUNT_STR_MAX]);

/* Where a state key goes in the node's hash tables (ledger_mem's slots, the
 * state's read cache): SipHash-2-4 of the whole key under a per-process
 * secret. Keys are hashes, but some are grindable (a contract picks its
 * storage slots freely), so a table indexed by the key's own bytes would let
 * a sender pile thousands of keys onto one probe chain and make a block cost
 * minutes to execute. The secret only places keys in memory: nothing a
 * table returns depends on it (ledger_mem_foreach sorts by key). */
#define LEDGER_HASH_SEED_LEN 16
/* Sets the secret for the tables created after it (each keeps its own copy);
 * the node calls it once at start with random bytes. Until then it is all
 * zero, for tools and tests that face no one. */
void ledger_hash_seed(const uint8_t seed[LEDGER_HASH_SEED_LEN]);
/* The secret in force now, for a table being created. */
void ledger_hash_seed_get(uint8_t seed[LEDGER_HASH_SEED_LEN]);
uint64_t ledger_slot_hash(const uint8_t seed[LEDGER_HASH_SEED_LEN], const uint8_t key[HASH_LEN]);

/* In-memory ledger. With a base, reads fall through to it for keys this one
 * has not written (a deleted key reads as absent), so it serves as a block's
 * overlay of pending writes. Opaque; create/destroy pair. */
typedef struct ledger_mem ledger_mem_t;
ledger_mem_t *ledger_mem_new(const struct ledger *base);
void ledger_mem_free(ledger_mem_t *m);
/* Room for nkeys more keys without the table growing on the way (a block
 * knows roughly how many it will write). 0 or ASSAY_ENOMEM, which leaves m
 * as it was: a hint, so a caller may go on and let the table grow. */
int ledger_mem_reserve(ledger_mem_t *m, size_t nkeys);
/* A struct ledger that reads and writes m. */
struct ledger ledger_mem_ledger(ledger_mem_t *m);
/* Visits every written key in key order: val NULL for a deletion. */
typedef int (*ledger_mem_visit_fn)(void *arg, const uint8_t key[HASH_LEN], const uint8_t *val,
				   size_t len);
int ledger_mem_foreach(ledger_mem_t *m, ledger_mem_visit_fn fn, void *arg);
size_t ledger_mem_count(const ledger_mem_t *m);
/* The longest run of occupied slots in m's table (a probe can walk no
 * further): for tests of the placement above. */
size_t ledger_mem_longest_run(const ledger_mem_t *m);
/* The table slots and undo entries m's rehashes have walked so far: for
 * tests that the work stays in proportion to the writes. */
uint64_t ledger_mem_rehash_moves(const ledger_mem_t *m);

#endif

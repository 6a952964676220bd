/* Unit tests for core/ledger.c: ledger_mem against a naive model over long
 * random sequences of put/del/get/snapshot/revert (nested snapshots, table
 * growth in the middle of them), the overlay over a base ledger, account
 * helpers, and transfer atomicity and overflow. Not for: node/state.c. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/ledger.h"
#include "tests/unit/test.h"

/* Deterministic generator so a failure reproduces (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

#define NKEYS 600   /* enough distinct keys to grow the table several times */
#define VAL_MAX 40
#define MAX_SNAPS 64

struct model_entry {
	uint8_t written; /* key was put or deleted since creation */
	uint8_t present;
	uint8_t len;
	uint8_t val[VAL_MAX];
};

struct model {
	struct model_entry e[NKEYS];
};

static uint8_t keys[NKEYS][HASH_LEN];

static int model_check(ledger_mem_t *m, const struct model *md)
{
	struct ledger l = ledger_mem_ledger(m);
	int bad = 0;
	size_t written = 0;
	for (int k = 0; k < NKEYS; k++) {
		uint8_t *val = NULL;
		size_t len = 0;
		int err = ledger_get(&l, keys[k], &val, &len);
		const struct model_entry *e = &md->e[k];
		written += e->written;
		if (e->present) {
			bad += err != 0 || len != e->len || memcmp(val, e->val, len) != 0;
		} else {
			bad += err != ASSAY_ENOTFOUND;
		}
		if (!err)
			free(val);
	}
	bad += ledger_mem_count(m) != written;
	return bad;
}

static void test_against_model(void)
{
	for (int k = 0; k < NKEYS; k++)
		state_key(NS_STORAGE, &k, sizeof(k), keys[k]);
	int bad = 0;
	for (int run = 0; run < 20; run++) {
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(m);
		static struct model md, saved[MAX_SNAPS];
		size_t snaps[MAX_SNAPS];
		int nsnaps = 0;
		memset(&md, 0, sizeof(md));
		/* Key range grows with the run so later runs grow the table while
		 * snapshots are open. */
		int range = 50 + run * 30 > NKEYS ? NKEYS : 50 + run * 30;
		for (int step = 0; step < 3000; step++) {
			uint64_t r = rnd();
			int k = (int)((r >> 8) % (uint64_t)range);
			struct model_entry *e = &md.e[k];
			switch (r % 16) {
			case 0: case 1: case 2: case 3: case 4: case 5: case 6: {
				uint8_t val[VAL_MAX];
				size_t len = (r >> 32) % VAL_MAX;
				for (size_t i = 0; i < len; i++)
					val[i] = (uint8_t)rnd();
				bad += ledger_put(&l, keys[k], val, len) != 0;
				e->written = e->present = 1;
				e->len = (uint8_t)len;
				memcpy(e->val, val, len);
				break;
			}
			case 7: case 8: case 9:
				bad += ledger_del(&l, keys[k]) != 0;
				e->written = 1;
				e->present = 0;
				break;
			case 10: case 11: case 12:
				if (nsnaps < MAX_SNAPS) {
					snaps[nsnaps] = ledger_snapshot(&l);
					saved[nsnaps++] = md;
				}
				break;
			case 13: case 14:
				if (nsnaps) {
					/* Back to a random open snapshot; later ones close. */
					int to = (int)((r >> 16) % (uint64_t)nsnaps);
					ledger_revert(&l, snaps[to]);
					md = saved[to];
					nsnaps = to;
				}
				break;
			default:
				bad += model_check(m, &md);
				break;
			}
		}
		bad += model_check(m, &md);
		/* Revert everything still open. */
		if (nsnaps) {
			ledger_revert(&l, snaps[0]);
			md = saved[0];
			bad += model_check(m, &md);
		}
		ledger_mem_free(m);
	}
	CHECK(bad == 0);
	if (bad)
		fprintf(stderr, "  %d mismatches against the model\n", bad);
}

/* Values of every size side by side in the overlay's arena: small ones
 * filling its chunks, some larger than a chunk (their own, behind the one
 * being filled) and some larger than the largest chunk; each reads back
 * intact after the others, after the table is reserved larger, and after a
 * revert to a point among them. */
static void fill_value(uint8_t *v, size_t len, int k)
{
	for (size_t i = 0; i < len; i++)
		v[i] = (uint8_t)(k * 31 + i * 7);
}

static int values_intact(const struct ledger *l, const size_t *lens, int nkeys)
{
	static uint8_t want[400000];
	int bad = 0;
	for (int k = 0; k < nkeys; k++) {
		uint8_t *val = NULL;
		size_t len = 0;
		fill_value(want, lens[k], k);
		int err = ledger_get(l, keys[k], &val, &len);
		bad += err != 0 || len != lens[k] || memcmp(val, want, len) != 0;
		if (!err)
			free(val);
	}
	return bad;
}

static void test_values_of_every_size(void)
{
	static uint8_t v[400000];
	enum { N = 300 };
	size_t lens[N];
	for (int k = 0; k < N; k++)
		state_key(NS_STORAGE, &k, sizeof(k), keys[k]);
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	size_t snap = 0;
	int bad = 0;
	for (int k = 0; k < N; k++) {
		lens[k] = k % 50 == 49 ? 300000 : k % 7 == 6 ? 1500 + (size_t)k * 300 : (size_t)(k % 60);
		fill_value(v, lens[k], k);
		bad += ledger_put(&l, keys[k], v, lens[k]) != 0;
		if (k == N / 2) {
			snap = ledger_snapshot(&l);
			bad += values_intact(&l, lens, k + 1);
			/* a table made larger with writes to undo: they still undo */
			bad += ledger_mem_reserve(m, 5000) != 0;
			bad += values_intact(&l, lens, k + 1);
		}
	}
	bad += values_intact(&l, lens, N);
	ledger_revert(&l, snap);
	bad += values_intact(&l, lens, N / 2 + 1);
	bad += ledger_mem_count(m) != N / 2 + 1;
	for (int k = N / 2 + 1; k < N; k++) { /* reverted: absent again */
		uint8_t *val;
		size_t len;
		bad += ledger_get(&l, keys[k], &val, &len) != ASSAY_ENOTFOUND;
	}
	ledger_mem_free(m);
	CHECK(bad == 0);
}

struct visit {
	int n;
	int deletions;
	int ordered;
	uint8_t last[HASH_LEN];
};

static int visit_fn(void *arg, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	struct visit *v = arg;
	if (v->n && memcmp(v->last, key, HASH_LEN) >= 0)
		v->ordered = 0;
	memcpy(v->last, key, HASH_LEN);
	v->n++;
	v->deletions += val == NULL;
	(void)len;
	return 0;
}

static void test_overlay(void)
{
	ledger_mem_t *base = ledger_mem_new(NULL);
	struct ledger lb = ledger_mem_ledger(base);
	uint8_t k1[HASH_LEN], k2[HASH_LEN], k3[HASH_LEN], *val;
	size_t len;
	state_key(NS_PARAM, "a", 1, k1);
	state_key(NS_PARAM, "b", 1, k2);
	state_key(NS_PARAM, "c", 1, k3);
	CHECK(ledger_put(&lb, k1, (const uint8_t *)"base1", 5) == 0);
	CHECK(ledger_put(&lb, k2, (const uint8_t *)"base2", 5) == 0);

	ledger_mem_t *ov = ledger_mem_new(&lb);
	struct ledger lo = ledger_mem_ledger(ov);
	/* Reads fall through. */
	CHECK(ledger_get(&lo, k1, &val, &len) == 0 && len == 5 && memcmp(val, "base1", 5) == 0);
	free(val);
	size_t snap = ledger_snapshot(&lo);
	/* Writes and deletions stay in the overlay. */
	CHECK(ledger_put(&lo, k1, (const uint8_t *)"over1", 5) == 0);
	CHECK(ledger_del(&lo, k2) == 0);
	CHECK(ledger_put(&lo, k3, (const uint8_t *)"new3", 4) == 0);
	CHECK(ledger_get(&lo, k1, &val, &len) == 0 && memcmp(val, "over1", 5) == 0);
	free(val);
	CHECK(ledger_get(&lo, k2, &val, &len) == ASSAY_ENOTFOUND);
	CHECK(ledger_get(&lb, k1, &val, &len) == 0 && memcmp(val, "base1", 5) == 0);
	free(val);
	CHECK(ledger_get(&lb, k2, &val, &len) == 0);
	free(val);
	CHECK(ledger_get(&lb, k3, &val, &len) == ASSAY_ENOTFOUND);
	/* foreach visits the overlay's own writes, in key order. */
	struct visit v = {.ordered = 1};
	CHECK(ledger_mem_foreach(ov, visit_fn, &v) == 0);
	CHECK(v.n == 3 && v.deletions == 1 && v.ordered);
	/* Revert: reads fall through again. */
	ledger_revert(&lo, snap);
	CHECK(ledger_mem_count(ov) == 0);
	CHECK(ledger_get(&lo, k2, &val, &len) == 0 && memcmp(val, "base2", 5) == 0);
	free(val);
	CHECK(ledger_get(&lo, k3, &val, &len) == ASSAY_ENOTFOUND);
	/* Values over the cap are refused. */
	uint8_t *big = calloc(1, LEDGER_VALUE_MAX + 1);
	CHECK(ledger_put(&lo, k3, big, LEDGER_VALUE_MAX + 1) == ASSAY_ELIMIT);
	CHECK(ledger_put(&lo, k3, big, LEDGER_VALUE_MAX) == 0);
	free(big);
	ledger_mem_free(ov);
	ledger_mem_free(base);
}

static void test_accounts(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	uint8_t a[ADDR_LEN] = {1}, b[ADDR_LEN] = {2}, key[HASH_LEN], *val;
	size_t len;
	struct account acc;
	/* Absent reads as zero. */
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 0 && acc.nonce == 0);
	/* Encoding layout: u64 balance, u64 nonce, code hash. */
	acc.balance = 0x0102030405060708ull;
	acc.nonce = 9;
	memset(acc.code_hash, 0xcc, HASH_LEN);
	uint8_t enc[ACCOUNT_BYTES];
	account_encode(&acc, enc);
	CHECK(enc[0] == 0x08 && enc[7] == 0x01 && enc[8] == 9 && enc[16] == 0xcc);
	struct account back;
	CHECK(account_decode(&back, enc, ACCOUNT_BYTES) == 0);
	CHECK(back.balance == acc.balance && back.nonce == 9);
	CHECK(account_decode(&back, enc, ACCOUNT_BYTES - 1) == ASSAY_EDECODE);
	CHECK(ledger_put_account(&l, a, &acc) == 0);
	CHECK(ledger_get_account(&l, a, &back) == 0 && back.balance == acc.balance);
	/* An account back to all zero is deleted. */
	memset(&acc, 0, sizeof(acc));
	CHECK(ledger_put_account(&l, a, &acc) == 0);
	state_key(NS_ACCOUNT, a, ADDR_LEN, key);
	CHECK(ledger_get(&l, key, &val, &len) == ASSAY_ENOTFOUND);

	/* Credit, debit, overflow, insufficient funds. */
	CHECK(ledger_credit(&l, a, 100) == 0);
	CHECK(ledger_debit(&l, a, 101) == ASSAY_EBALANCE);
	CHECK(ledger_debit(&l, a, 40) == 0);
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 60);
	CHECK(ledger_credit(&l, b, UINT64_MAX - 5) == 0);
	CHECK(ledger_credit(&l, b, 6) == ASSAY_EOVERFLOW);
	CHECK(ledger_get_account(&l, b, &acc) == 0 && acc.balance == UINT64_MAX - 5);

	/* Transfer: success, and failures that change nothing. */
	CHECK(ledger_transfer(&l, a, b, 5) == 0);
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 55);
	CHECK(ledger_get_account(&l, b, &acc) == 0 && acc.balance == UINT64_MAX);
	CHECK(ledger_transfer(&l, a, b, 1) == ASSAY_EOVERFLOW); /* debit done, credit fails */
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 55);
	CHECK(ledger_get_account(&l, b, &acc) == 0 && acc.balance == UINT64_MAX);
	CHECK(ledger_transfer(&l, a, b, 56) == ASSAY_EBALANCE);
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 55);
	/* To oneself: balance unchanged. */
	CHECK(ledger_transfer(&l, a, a, 55) == 0);
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 55);
	/* A failed transfer inside an open snapshot leaves that snapshot usable. */
	size_t snap = ledger_snapshot(&l);
	CHECK(ledger_credit(&l, a, 1) == 0);
	CHECK(ledger_transfer(&l, a, b, 1) == ASSAY_EOVERFLOW);
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 56);
	ledger_revert(&l, snap);
	CHECK(ledger_get_account(&l, a, &acc) == 0 && acc.balance == 55);
	/* Checked arithmetic. */
	uint64_t out;
	CHECK(amount_add(UINT64_MAX, 1, &out) != 0);
	CHECK(amount_add(UINT64_MAX - 1, 1, &out) == 0 && out == UINT64_MAX);
	CHECK(amount_sub(0, 1, &out) != 0);
	CHECK(amount_sub(5, 5, &out) == 0 && out == 0);
	/* Amounts in error messages: ASY first, exact units beside them. */
	char text[LEDGER_AMOUNT_STR_MAX];
	ledger_amount_format(12500000000ull, text);
	CHECK(strcmp(text, "12.500000000 ASY (12500000000)") == 0);
	ledger_amount_format(UINT64_MAX, text);
	CHECK(strcmp(text, "18446744073.709551615 ASY (18446744073709551615)") == 0);
	ledger_mem_free(m);
}

/* Keys alike in the bytes a sender can grind cheaply (here all of the
 * first eight) spread over the table: a table indexed by them put 20,000
 * such keys on one probe chain, so every insert and read walked it (a block
 * of ground contract storage slots cost minutes). Where a key goes depends
 * on the whole key and on the process's secret. */
static void test_grindable_keys_spread(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	uint8_t key[HASH_LEN];
	memset(key, 0, sizeof(key));
	for (uint32_t i = 0; i < 20000; i++) {
		memset(key, 0xab, 8);
		le32_put(key + 8, i);
		CHECK(ledger_put(&l, key, (const uint8_t *)"v", 1) == 0);
	}
	size_t run = ledger_mem_longest_run(m);
	CHECK(run < 200);
	for (uint32_t i = 0; i < 20000; i += 997) { /* and every one reads back */
		uint8_t *val;
		size_t len;
		le32_put(key + 8, i);
		CHECK(ledger_get(&l, key, &val, &len) == 0 && len == 1);
		free(val);
	}
	ledger_mem_free(m);

	uint8_t zero[LEDGER_HASH_SEED_LEN] = {0}, other[LEDGER_HASH_SEED_LEN] = {7};
	le32_put(key + 8, 1);
	uint64_t under_zero = ledger_slot_hash(zero, key);
	CHECK(under_zero != ledger_slot_hash(other, key));
	key[31] ^= 1; /* the last byte counts too */
	CHECK(under_zero != ledger_slot_hash(zero, key));
	/* a table keeps the secret it was made with */
	ledger_hash_seed(other);
	uint8_t got[LEDGER_HASH_SEED_LEN];
	ledger_hash_seed_get(got);
	CHECK(memcmp(got, other, sizeof(got)) == 0);
	m = ledger_mem_new(NULL);
	l = ledger_mem_ledger(m);
	CHECK(ledger_put(&l, key, (const uint8_t *)"w", 1) == 0);
	ledger_hash_seed(zero);
	uint8_t *val;
	size_t len;
	CHECK(ledger_get(&l, key, &val, &len) == 0 && len == 1 && val[0] == 'w');
	free(val);
	ledger_mem_free(m);
}

/* A long undo log and many reverted first writes (a contract that writes
 * one key over and over, then calls children that write fresh keys and
 * revert) leave tombstones that make the table rehash; each rehash walks
 * the log too. The table used to rehash at its small size every few dozen
 * writes, each time over the whole log: here about 1,700 walks of the log
 * for 230,000 writes, seconds of a block for one transaction. The work of
 * all rehashes stays a small multiple of the writes. */
static void test_reverted_writes_rehash_in_proportion(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	uint8_t key[HASH_LEN];
	memset(key, 0x11, sizeof(key));
	uint64_t writes = 0;
	for (uint32_t i = 0; i < 150000; i++, writes++)
		CHECK(ledger_put(&l, key, (const uint8_t *)&i, sizeof(i)) == 0);
	for (uint32_t i = 0; i < 5000; i++) {
		size_t snap = ledger_snapshot(&l);
		for (uint32_t j = 0; j < 16; j++, writes++) {
			memset(key, 0x22, sizeof(key));
			le32_put(key, i);
			le32_put(key + 4, j);
			CHECK(ledger_put(&l, key, (const uint8_t *)"v", 1) == 0);
		}
		ledger_revert(&l, snap);
	}
	CHECK(ledger_mem_count(m) == 1);
	CHECK(ledger_mem_rehash_moves(m) <= 16 * writes);
	uint8_t *val;
	size_t len;
	memset(key, 0x11, sizeof(key));
	CHECK(ledger_get(&l, key, &val, &len) == 0 && len == 4 && le32_get(val) == 149999);
	free(val);
	ledger_mem_free(m);
}

int main(void)
{
	RUN(test_against_model);
	RUN(test_values_of_every_size);
	RUN(test_overlay);
	RUN(test_accounts);
	RUN(test_grindable_keys_spread);
	RUN(test_reverted_writes_rehash_in_proportion);
	return test_report("test_ledger");
}

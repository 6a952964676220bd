/* Unit tests of the committed state (node/state.h) over a real LevelDB
 * store: values staged, written and committed block by block read back the
 * same through the value cache and from a fresh open, with the same root;
 * and the cache's table stays as large as the values it holds, however
 * many keys were deleted before (a deleted key leaves a tombstone).
 * Not for: what the values mean (test_chain, test_exec). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/ledger.h"
#include "node/state.h"
#include "node/store.h"
#include "node_fixture.h"
#include "test.h"

#define KEYS_PER_BLOCK 1000
#define CHURN_BLOCKS 120 /* blocks that create KEYS_PER_BLOCK keys, then as many that delete them */
#define CACHE_SLOTS_FIRST 4096 /* the table's first size (node/state.c) */

static struct fixture fx;
static store_t *store;
static state_t *state;

static void open_state(void)
{
	char path[300], err[256];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	store = store_open(path, err, sizeof(err));
	CHECK(store != NULL);
	state = store ? state_open(store, err, sizeof(err)) : NULL;
	if (!state)
		fprintf(stderr, "state_open: %s\n", err);
	CHECK(state != NULL);
}

static void close_state(void)
{
	state_close(state);
	store_close(store);
	state = NULL;
	store = NULL;
}

/* The state key of test key number k. */
static void key_of(uint64_t k, uint8_t key[HASH_LEN])
{
	uint8_t id[8];
	le64_put(id, k);
	state_key(NS_ACCOUNT, id, sizeof(id), key);
}

/* The value key k holds after `round`: its length changes with the round. */
static size_t value_of(uint64_t k, unsigned round, uint8_t *val)
{
	size_t len = (k + round) % 40; /* empty values too */
	for (size_t i = 0; i < len; i++)
		val[i] = (uint8_t)(k * 31 + round + i);
	return len;
}

/* Stages the overlay's writes, writes them as chain.c does and commits them. */
static void commit(ledger_mem_t *ov)
{
	struct state_staged st;
	uint8_t root[HASH_LEN];
	CHECK_EQ_INT(state_stage(state, ov, &st, root), 0);
	store_batch_t *b = store_batch_new();
	CHECK(b != NULL);
	state_staged_to_batch(&st, b);
	CHECK_EQ_INT(store_write(store, b, 1), 0);
	store_batch_free(b);
	state_staged_committed(state, &st);
	state_staged_free(&st);
}

/* One block writing keys [from, to): their round's values, or deletions. */
static void block(uint64_t from, uint64_t to, unsigned round, int del)
{
	struct ledger base = state_ledger(state);
	ledger_mem_t *ov = ledger_mem_new(&base);
	CHECK(ov != NULL);
	struct ledger l = ledger_mem_ledger(ov);
	for (uint64_t k = from; k < to; k++) {
		uint8_t key[HASH_LEN], val[64];
		key_of(k, key);
		if (del)
			CHECK_EQ_INT(ledger_del(&l, key), 0);
		else
			CHECK_EQ_INT(ledger_put(&l, key, val, value_of(k, round, val)), 0);
	}
	commit(ov);
	ledger_mem_free(ov);
}

/* Keys [from, to) hold their round's values; [gone, from) none. */
static void check_values(uint64_t gone, uint64_t from, uint64_t to, unsigned round)
{
	struct ledger l = state_ledger(state);
	int wrong = 0;
	for (uint64_t k = gone; k < to; k++) {
		uint8_t key[HASH_LEN], want[64], *val = NULL;
		size_t len = 0, wlen = value_of(k, round, want);
		key_of(k, key);
		int rc = ledger_get(&l, key, &val, &len);
		if (k < from)
			wrong += rc != ASSAY_ENOTFOUND;
		else
			wrong += rc != 0 || len != wlen || memcmp(val, want, wlen) != 0;
		free(val);
	}
	CHECK_EQ_INT(wrong, 0);
}

/* Keys created in one block and deleted in the next, block after block:
 * the cache's table stays at the size of the keys held at once. Before,
 * it doubled whenever tombstones filled it, growing with every key ever
 * deleted. */
static void test_deleted_keys_leave_no_growth(void)
{
	uint64_t next = 0;
	for (unsigned r = 0; r < CHURN_BLOCKS; r++) {
		block(next, next + KEYS_PER_BLOCK, r, 0);
		check_values(next, next, next + KEYS_PER_BLOCK, r);
		block(next, next + KEYS_PER_BLOCK, r, 1);
		next += KEYS_PER_BLOCK;
	}
	CHECK_EQ_U64(state_count(state), 0);
	CHECK_EQ_U64(state_cache_slots(state), CACHE_SLOTS_FIRST);
	check_values(0, next, next, 0);
}

/* Values that change length, keys that come and go: what the cache
 * answers is what a fresh open reads from disk, with the same root. */
static void test_cache_matches_disk(void)
{
	enum { KEYS = 3000 };
	uint8_t root[HASH_LEN], reopened[HASH_LEN];
	for (unsigned r = 1; r <= 6; r++)
		block(0, KEYS, r, 0);
	block(0, KEYS / 3, 0, 1); /* the first third goes */
	check_values(0, KEYS / 3, KEYS, 6);
	state_root(state, root);
	close_state();
	open_state();
	check_values(0, KEYS / 3, KEYS, 6);
	state_root(state, reopened);
	CHECK_EQ_MEM(root, reopened, HASH_LEN);
	CHECK_EQ_U64(state_count(state), KEYS - KEYS / 3);
}

int main(void)
{
	fixture_init(&fx);
	open_state();
	RUN(test_deleted_keys_leave_no_growth);
	RUN(test_cache_matches_disk);
	close_state();
	fixture_free(&fx);
	return test_report("test_state");
}

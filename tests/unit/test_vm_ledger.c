/* The VM's journaling rests on ledger_mem's snapshot/revert: this checks it
 * against a model under random puts, deletes, nested snapshots and reverts,
 * with keys chosen to collide in the hash table and to force rehashes
 * (a revert once broke probe chains after a grow). Not for: the ledger's
 * account helpers (core's own tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/ledger.h"
#include "tests/unit/test.h"

#define MODEL_KEYS 300
#define MODEL_SNAPS 8

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	return test_xorshift(&rng);
}

static int check_all(const struct ledger *l, uint8_t keys[][32], const int *model)
{
	for (int i = 0; i < MODEL_KEYS; i++) {
		uint8_t *v;
		size_t n;
		int got = -1;
		if (ledger_get(l, keys[i], &v, &n) == 0) {
			memcpy(&got, v, sizeof(got));
			free(v);
		}
		if (got != model[i])
			return 0;
	}
	return 1;
}

static void test_model(void)
{
	static uint8_t keys[MODEL_KEYS][32];
	static int model[MODEL_KEYS], saved[MODEL_SNAPS][MODEL_KEYS];
	int failures = 0;
	for (int trial = 0; trial < 400 && !failures; trial++) {
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(m);
		for (int i = 0; i < MODEL_KEYS; i++) {
			/* few distinct low bits, near the table's wrap-around */
			uint64_t low = rnd() % 8 + (rnd() % 2 ? 60 : 0) + 64 * (rnd() % 4);
			memset(keys[i], 0, 32);
			le64_put(keys[i], low);
			keys[i][8] = (uint8_t)i;
			keys[i][9] = (uint8_t)(i >> 8);
			model[i] = -1;
		}
		size_t snaps[MODEL_SNAPS];
		int ns = 0, nops = 50 + (int)(rnd() % 400);
		for (int op = 0; op < nops && !failures; op++) {
			int r = (int)(rnd() % 100), k = (int)(rnd() % MODEL_KEYS);
			if (r < 60) {
				int v = (int)(rnd() % 1000);
				ledger_put(&l, keys[k], (const uint8_t *)&v, sizeof(v));
				model[k] = v;
			} else if (r < 70) {
				ledger_del(&l, keys[k]);
				model[k] = -1;
			} else if (r < 85 && ns < MODEL_SNAPS) {
				snaps[ns] = ledger_snapshot(&l);
				memcpy(saved[ns++], model, sizeof(model));
			} else if (ns > 0) {
				ledger_revert(&l, snaps[--ns]);
				memcpy(model, saved[ns], sizeof(model));
			}
			if (!check_all(&l, keys, model))
				failures++;
		}
		size_t live = 0;
		for (int i = 0; i < MODEL_KEYS; i++)
			live += model[i] >= 0;
		CHECK(ledger_mem_count(m) >= live);
		ledger_mem_free(m);
	}
	CHECK(failures == 0);
}

/* A reverted first write over a base reads the base again. */
static void test_overlay_revert(void)
{
	ledger_mem_t *base = ledger_mem_new(NULL);
	struct ledger bl = ledger_mem_ledger(base);
	uint8_t key[32] = {5};
	ledger_put(&bl, key, (const uint8_t *)"base", 4);
	ledger_mem_t *top = ledger_mem_new(&bl);
	struct ledger tl = ledger_mem_ledger(top);
	size_t snap = ledger_snapshot(&tl);
	ledger_put(&tl, key, (const uint8_t *)"top", 3);
	ledger_revert(&tl, snap);
	uint8_t *v;
	size_t n;
	CHECK(ledger_get(&tl, key, &v, &n) == 0 && n == 4 && memcmp(v, "base", 4) == 0);
	free(v);
	CHECK(ledger_mem_count(top) == 0);
	ledger_mem_free(top);
	ledger_mem_free(base);
}

int main(void)
{
	RUN(test_model);
	RUN(test_overlay_revert);
	return test_report("test_vm_ledger");
}

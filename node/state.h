/* The committed state: values in LevelDB under the 's' prefix, and their
 * sparse Merkle tree in memory (rebuilt from LevelDB at start). A block's
 * pending writes live in a ledger_mem overlay on top of state_ledger();
 * state_stage applies them to the tree to learn the new root, and then the
 * chain either writes them into the block's batch or unstages them.
 * Not for: deciding what a transaction does (chain.c and the layers below). */
#ifndef ASSAY_NODE_STATE_H
#define ASSAY_NODE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/ledger.h"
#include "node/smt.h"
#include "node/store.h"

typedef struct state state_t;

/* Loads every state entry into the tree. NULL on failure, message in err. */
state_t *state_open(store_t *store, char *err, size_t errlen);
void state_close(state_t *s);
/* Read-only view of the committed state (writes fail with ASSAY_EINVALID). */
struct ledger state_ledger(state_t *s);
void state_root(state_t *s, uint8_t root[HASH_LEN]);
size_t state_count(state_t *s);
/* Slots of the in-memory value cache's table: bounded by the values held,
 * not by the keys ever deleted (for tests and metrics). */
size_t state_cache_slots(const state_t *s);
smt_t *state_tree(state_t *s);
/* Fault injection for tests of local failures (tests/unit/test_exec_faults.c):
 * the nth read of the committed state from now on returns code instead of
 * its value (once); nth 0 disarms. Nothing outside the tests arms it. */
void state_fail_read(state_t *s, uint64_t nth, int code);

/* Writes of one overlay applied to the tree but not yet to disk. */
struct state_staged {
	size_t n;
	struct staged_entry *entries; /* opaque to callers */
};

/* Applies the overlay's writes to the tree, in key order, and gives the new
 * root. st refers to the overlay's values instead of copying them: the
 * overlay must stay, unwritten, until st is freed. */
int state_stage(state_t *s, ledger_mem_t *overlay, struct state_staged *st, uint8_t root[HASH_LEN]);
/* Puts the staged values into b (they are durable once b is written). */
void state_staged_to_batch(const struct state_staged *st, store_batch_t *b);
/* The batch holding the staged values was written: reads now see them. */
void state_staged_committed(state_t *s, const struct state_staged *st);
/* Takes the staged writes back out of the tree (the block was rejected). */
void state_unstage(state_t *s, struct state_staged *st);
void state_staged_free(struct state_staged *st);

#endif

/* The mempool: transactions admitted but not yet in a block (docs/protocol.md
 * §9 describes the policy). Admission checks the signature, chain, fee floor,
 * nonce and funds against the committed state plus the sender's pending
 * transactions; selection for a block takes the best fee per byte first
 * while keeping each sender's nonces in order, and a full pool evicts the
 * lowest fee per byte. Bounded by count and bytes. Policy, not
 * consensus: nothing here decides whether a block is valid. */
#ifndef ASSAY_NODE_MEMPOOL_H
#define ASSAY_NODE_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tx.h"
#include "node/chain.h"

typedef struct mempool mempool_t;

#define MEMPOOL_DEFAULT_MAX_TXS 50000
#define MEMPOOL_DEFAULT_MAX_BYTES (64u << 20)
/* Most transactions one sender may have waiting (a nonce window). */
#define MEMPOOL_MAX_PER_SENDER 1000
/* A replacement (same sender and nonce) must pay this much more, in percent. */
#define MEMPOOL_REPLACE_BUMP_PCT 10

mempool_t *mempool_new(chain_t *chain, size_t max_txs, size_t max_bytes);
void mempool_free(mempool_t *m);

/* Whether fee_a over bytes_a is below fee_b over bytes_b, exactly: how the
 * pool and blocks rank transactions (fee per encoded byte, protocol §9). */
int mempool_rate_below(uint64_t fee_a, uint64_t bytes_a, uint64_t fee_b, uint64_t bytes_b);
/* Admits t (copied). 0 ok; ASSAY_EEXISTS if already there; otherwise the
 * reason is in err. txid_out may be NULL. */
int mempool_add(mempool_t *m, const struct tx *t, uint8_t txid_out[HASH_LEN], char *err, size_t errlen);
/* Like mempool_add with the signature already checked by the caller. */
int mempool_add_verified(mempool_t *m, const struct tx *t, uint8_t txid_out[HASH_LEN], char *err,
			 size_t errlen);
/* Like mempool_add_verified for a transaction whose stateless rules
 * (tx_rules_check) the caller has checked, signature included, and whose
 * id it computed (txid): neither is done again. */
int mempool_add_checked(mempool_t *m, const struct tx *t, const uint8_t txid[HASH_LEN], char *err,
			size_t errlen);
/* mempool_add_checked with the caller's own last check: ready(ctx, t, err,
 * errlen) runs after every check of the mempool's and before t takes a
 * place; nonzero refuses t with that code and err (nothing admitted). For
 * a transaction admitted only once something else is here (a job_chunks
 * and its chunks, node_chunks.c): ready sees only what the mempool would
 * admit, and the mempool's checks run once. */
typedef int (*mempool_ready_fn)(void *ctx, const struct tx *t, char *err, size_t errlen);
int mempool_add_checked_when(mempool_t *m, const struct tx *t, const uint8_t txid[HASH_LEN],
			     mempool_ready_fn ready, void *ctx, char *err, size_t errlen);
/* How many times a transaction has been checked against the state and its
 * sender's queue since the pool was made: what a test reads to show that
 * an admission checks once. */
uint64_t mempool_state_checks(const mempool_t *m);
/* Candidates for the next block in order (pointers into the pool; valid
 * until the pool changes). Returns the count written (<= max). */
size_t mempool_select(mempool_t *m, const struct tx **out, size_t max);
/* The same with each candidate's id into txids (room for max), for
 * chain_build_block_ids. */
size_t mempool_select_ids(mempool_t *m, const struct tx **out, uint8_t (*txids)[HASH_LEN], size_t max);
/* After a block: drops what it included and what no longer fits the state. */
void mempool_on_block(mempool_t *m, const struct block *blk);
/* Removes one transaction (e.g. one the producer found invalid). */
void mempool_remove(mempool_t *m, const uint8_t txid[HASH_LEN]);
const struct tx *mempool_get(mempool_t *m, const uint8_t txid[HASH_LEN]);
/* The pending transactions of the sender at addr, in nonce order from its
 * committed nonce (pointers into the pool; valid until the pool changes).
 * Returns the count written (<= max). */
size_t mempool_sender_txs(mempool_t *m, const uint8_t addr[ADDR_LEN], const struct tx **out, size_t max);
/* Next nonce for addr counting its pending transactions. */
uint64_t mempool_next_nonce(mempool_t *m, const uint8_t addr[ADDR_LEN]);
size_t mempool_size(const mempool_t *m);
size_t mempool_bytes(const mempool_t *m);
size_t mempool_max_txs(const mempool_t *m);

#endif

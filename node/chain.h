/* The chain: validates and applies blocks (docs/protocol.md §4–6), builds
 * blocks as a proposer, keeps the tip, receipts and the tx index, and
 * rebuilds the state from stored blocks (-reindex). Every block is committed
 * to LevelDB in one WriteBatch: block, height index, tx index, receipts,
 * state and tip together. Time comes in as an argument; nothing here reads a
 * clock. The rules themselves are consensus/'s (header.h, tx_rules.h,
 * exec.h); this is their storage. A local failure (assay_err_is_local)
 * leaves the tip, the state and the receipts as they were (protocol §5.4).
 * Not for: networking, RPC or block timing (node main loop). */
#ifndef ASSAY_NODE_CHAIN_H
#define ASSAY_NODE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/receipt.h"
#include "consensus/bft/valset.h"
#include "consensus/tx_rules.h" /* what every caller checks a transaction with */
#include "core/block.h"
#include "core/ledger.h"
#include "node/genesis.h"
#include "node/state.h"
#include "node/store.h"

typedef struct chain chain_t;

/* Opens (creating if needed) the chain database in dir for genesis g (the
 * chain keeps its own copy). Refuses a database of another chain. */
chain_t *chain_open(const char *dir, const struct genesis *g, char *err, size_t errlen);
/* The same for chain_reindex next, the only call it is fit for: a state
 * that does not match the tip's root, or a damaged reindex record, is what
 * the reindex repairs, so neither refuses the open here as it does above. */
chain_t *chain_open_for_reindex(const char *dir, const struct genesis *g, char *err, size_t errlen);
void chain_close(chain_t *c);

const struct genesis *chain_genesis(const chain_t *c);
uint64_t chain_height(const chain_t *c);
const struct block_header *chain_tip(const chain_t *c);
void chain_tip_hash(const chain_t *c, uint8_t hash[HASH_LEN]);
state_t *chain_state(chain_t *c);
store_t *chain_store(chain_t *c);
/* Read-only ledger of the committed state. */
struct ledger chain_ledger(chain_t *c);

/* Builds the next block from candidate transactions in order, skipping those
 * that are invalid at their turn (their index goes to skipped[] if not NULL,
 * which has room for n). Signs as proposer with sk, computes the beacon, the
 * state root and the tx root. The block's last_commit is the stored commit of
 * the tip. The caller frees blk with block_free. A local failure
 * (assay_err_is_local) returns its code with no block built and nothing
 * skipped: the transaction was not at fault (protocol §5.4). */
int chain_build_block(chain_t *c, const struct tx *const *txs, size_t n, uint64_t time_ms,
		      const uint8_t sk[SECKEY_LEN], struct block *blk, size_t *skipped, size_t *nskipped,
		      char *err, size_t errlen);
/* The same with each candidate's id at hand (txids[i] = tx_id(txs[i]),
 * which the caller vouches for: the mempool's): applying the block built
 * then takes them for its tx index instead of hashing every transaction
 * again. txids NULL: chain_build_block. */
int chain_build_block_ids(chain_t *c, const struct tx *const *txs, const uint8_t (*txids)[HASH_LEN], size_t n,
			  uint64_t time_ms, const uint8_t sk[SECKEY_LEN], struct block *blk, size_t *skipped,
			  size_t *nskipped, char *err, size_t errlen);
/* Validates blk fully against the tip and commits it with commit (the
 * precommits for blk itself, kept until the next block carries them; may be
 * NULL when unknown). now_ms bounds how far ahead its time may be. A local
 * failure returns its code and leaves tip, state and receipts untouched;
 * it is no verdict on the block (protocol §5.4). */
int chain_apply_block(chain_t *c, const struct block *blk, const struct commit *commit,
		      uint64_t now_ms, char *err, size_t errlen);

/* The header rules of blk against the tip, without executing it (protocol
 * §4.4–4.5: parent, time, validators, proposer, the proposer's beacon
 * proof, last_commit, tx_root): what only a validator can make, checked
 * before a block from a peer is kept waiting for anything. Errors as
 * chain_apply_block's. */
int chain_check_header(chain_t *c, const struct block *blk, uint64_t now_ms, char *err, size_t errlen);

/* Executes blk against the tip without committing it (a BFT VALIDATE):
 * every rule chain_apply_block checks but the commit. On success the result
 * is kept like a block built here, so applying the same block next costs no
 * second execution. Errors as chain_apply_block's. */
int chain_check_block(chain_t *c, const struct block *blk, uint64_t now_ms, char *err, size_t errlen);

/* A block built or checked here (chain_build_block, chain_check_block)
 * stays staged in the state tree until it is applied. This takes it back
 * out, so that the tree is the tip's committed state again (what a proof
 * of the state must be against); applying that block later executes it
 * again. */
void chain_drop_staged(chain_t *c);

/* The commit held for the tip (nsigs 0: none, e.g. the tip came by block sync). */
const struct commit *chain_tip_commit(const chain_t *c);
/* A commit for the tip learnt after it was connected (a synced node that
 * gathered the validators' precommits from gossip, docs/consensus.md §10):
 * checked as the next block's last_commit would be, then kept and stored so
 * the node can propose on the tip. 0; ASSAY_EEXISTS when a valid one is held
 * already (or the tip is genesis); the check's error; a local failure. */
int chain_set_tip_commit(chain_t *c, const struct commit *cm, char *err, size_t errlen);
/* The tip's commit widened by precommits that came after the decision:
 * cm is for the same block and round as the commit held and carries more
 * signatures; checked as the next block's last_commit would be, then kept
 * and stored in its place, so the next block this node builds names those
 * validators too (docs/consensus.md §10, "Late precommits"). 0;
 * ASSAY_EEXISTS when no commit is held or cm is not wider; the check's
 * error; a local failure. */
int chain_widen_tip_commit(chain_t *c, const struct commit *cm, char *err, size_t errlen);
/* Whether cm is a commit of some block at tip + 1 by that height's set:
 * more than 2/3 of its stake signed precommits for cm->block_hash (what
 * the block after it carries in last_commit). 0, the rule it breaks, or a
 * local failure. */
int chain_check_next_commit(chain_t *c, const struct commit *cm, char *err, size_t errlen);
/* The validator set of height (with its proposer priorities) as the state
 * at the tip keeps it (protocol §10.1: from tip + 1 - evidence_max_age to
 * tip + 2). 0, ASSAY_ENOTFOUND, or a local failure; *vs is malloc()ed
 * (bft_valset_free). */
int chain_validator_set(chain_t *c, uint64_t height, struct bft_valset *vs);

/* Signs a precommit for (height, round, hash) as one validator. */
void chain_sign_commit(const chain_t *c, const uint8_t sk[SECKEY_LEN], uint64_t height,
		       const uint8_t hash[HASH_LEN], struct commit *out);

/* Reads stored data; malloc()ed results the caller frees. */
int chain_get_block(chain_t *c, const uint8_t hash[HASH_LEN], struct block *blk);
int chain_get_block_at(chain_t *c, uint64_t height, struct block *blk);
int chain_get_block_raw_at(chain_t *c, uint64_t height, uint8_t **enc, size_t *len);
/* The committed transaction txid, where it is and (r not NULL) its receipt,
 * all zero when the database holds none. ASSAY_ENOTFOUND; ASSAY_ECORRUPT for
 * a record that does not decode; or another local failure. */
int chain_get_tx(chain_t *c, const uint8_t txid[HASH_LEN], struct tx *t, uint64_t *height,
		 uint32_t *index, struct receipt *r);

/* Rebuilds the state by replaying every stored block from genesis up to the
 * highest one the database holds, checking each state root. A marker
 * written with the state's removal names the target, so an interrupted
 * reindex never lowers the chain: the next open finds it pending and
 * chain_reindex_resume finishes it (docs/storage.md, "Reindex"). progress
 * is called after each block; a nonzero return stops the replay with
 * ASSAY_ECANCELED, leaving it pending. */
int chain_reindex(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err, size_t errlen);
int chain_reindex_resume(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err, size_t errlen);
/* Nonzero while a reindex is unfinished (its target height in *target):
 * the tip is then below the chain the database holds, and the node must
 * resume the reindex before it builds, accepts or serves blocks. */
int chain_reindex_pending(const chain_t *c, uint64_t *target);

/* An optional writer of extra records into each block's batch (the
 * -addrindex of node/rpc_extra.c), called after the block's own records:
 * what it puts commits with the block, and a failure it leaves on the batch
 * (out of memory) fails the block's write as a local failure. NULL: none. */
typedef void (*chain_batch_hook_fn)(void *arg, const struct block *blk, store_batch_t *b);
void chain_set_batch_hook(chain_t *c, chain_batch_hook_fn fn, void *arg);

/* Threads that check a block's signatures while it executes (node/sigcheck.h). */
void chain_set_verify_threads(chain_t *c, int nthreads);
/* The signature cache to consult before verifying a block's signatures
 * (node/sigcache.h); it must outlive c. NULL (the default): none. */
struct sigcache;
void chain_set_sigcache(chain_t *c, struct sigcache *cache);


#endif

/* Execution of a block's transactions over a struct ledger (protocol §5):
 * the one table of transaction kinds (name, decode, check, apply), the fee
 * and nonce rules of §5.2, receipts, the end of block (§5.3). Pure: height,
 * time, beacon and proposer come in through struct exec_ctx. Not for:
 * header rules (consensus/header.h), storage or threads (node/). */
#ifndef ASSAY_CONSENSUS_EXEC_H
#define ASSAY_CONSENSUS_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/compute.h"
#include "consensus/params.h"
#include "consensus/receipt.h"
#include "consensus/validators.h"
#include "core/block.h"
#include "core/ledger.h"
#include "core/tx.h"
#include "vm/vm.h"

/* A transaction's payload decoded once, by its kind's decoder; pointers in
 * it point into the transaction's payload, which must outlive it. */
struct tx_decoded {
	uint64_t value; /* what the tx moves out of the sender besides the fee */
	union {
		struct transfer_payload transfer;
		struct vm_deploy_payload deploy;
		struct vm_call_payload call;
		struct worker_register_payload reg;
		struct job_spec submit;
		struct job_commit_payload commit;
		struct job_reveal_payload reveal; /* ~10 KiB */
		struct job_dispute_payload dispute;
		struct blob_payload blob;
		uint64_t amount;              /* validator_bond, validator_unbond */
		struct bft_evidence evidence;
		struct job_salt_payload salt;
		struct job_chunks_payload chunks;
	} u;
};

/* What one block's execution runs in. */
struct exec_ctx {
	const struct chain_params *params;
	const struct compute_params *compute;
	const uint8_t *chain_id;      /* HASH_LEN bytes */
	struct ledger l;              /* the block's overlay: writes land here */
	uint8_t proposer_addr[ADDR_LEN]; /* fees go here */
	uint8_t proposer_key[HASH_LEN];  /* its state key, hashed once per block */
	uint8_t sender_key[HASH_LEN];    /* state key of the sender of the transaction
					  * being executed, hashed once per transaction */
	uint64_t height, time_ms;
	const uint8_t *beacon;        /* this block's, HASH_LEN bytes */
	const struct commit *last_commit; /* the block's, for downtime (protocol §10.4); NULL: none */
};

/* Sets x up for the block whose header is hd over ledger l; every pointer
 * argument must outlive x. x->last_commit starts NULL: a caller executing
 * a whole block sets it to the block's last_commit. */
void exec_ctx_init(struct exec_ctx *x, const struct chain_params *params, const struct compute_params *compute,
		   const uint8_t chain_id[HASH_LEN], const struct ledger *l, const struct block_header *hd);

struct exec_kind {
	const char *name; /* as tx_kind_name() */
	/* Decodes t's payload into d (d->value included); 0 or a decode error. */
	int (*decode)(const struct tx *t, struct tx_decoded *d);
	/* Further stateless checks of the decoded payload; NULL: none. */
	int (*check)(const struct tx_decoded *d, char *err, size_t errlen);
	/* The kind's effects, inside a snapshot exec_tx reverts on error; fills
	 * rc (error text, gas, created, events). */
	int (*apply)(struct exec_ctx *x, const struct tx *t, const struct tx_decoded *d,
		     const uint8_t sender[ADDR_LEN], struct receipt *rc);
	/* A compute kind's call into consensus/compute (NULL for the others). */
	int (*compute)(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
		       const uint8_t sender[ADDR_LEN], struct compute_result *res);
	/* The kind's rules that the state before it decides and whose failure
	 * makes the transaction invalid rather than failed (protocol §5.2 step
	 * 1); NULL: none. Writes nothing. */
	int (*admit)(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
		     const uint8_t sender[ADDR_LEN], struct compute_result *res);
};

/* The entry of an enabled kind (protocol §3), or NULL. */
const struct exec_kind *exec_kind_of(unsigned kind);

/* protocol §5.2: applies t (whose signature the caller checks) on x->l.
 * Returns 0 when t is included, with rc saying whether it succeeded (a
 * failed one still paid its fee); a rule error (<0) when t cannot be
 * included at all (stateless checks, nonce, funds for its cost), with x->l
 * unchanged by t only if the caller snapshots around it; or a local failure
 * (assay_err_is_local, protocol §5.4): the caller must abandon the whole
 * block, never record a receipt for it. rc needs receipt_free either way. */
int exec_tx(struct exec_ctx *x, const struct tx *t, struct receipt *rc, char *err, size_t errlen);
/* protocol §5.2 step 1, the kind's part: whether t, executed at height on
 * state l, passes its kind's admission rule (job_reveal, job_chunks:
 * compute.md §7.5, §15.4). 0; a rule error with a message, which makes t
 * invalid (the mempool refuses it, exec_tx returns it); or a local failure.
 * Kinds without a rule return 0 without decoding. The mempool calls it on
 * the committed state with height = tip + 1. */
int exec_tx_admissible(const struct chain_params *params, const struct compute_params *compute,
		       const struct ledger *l, uint64_t height, const struct tx *t, char *err, size_t errlen);
/* The gas a blob of len bytes pays (protocol §5.2): VM_GAS_NEW_KEY for its
 * key and VM_GAS_STORAGE_BYTE a byte, what a contract pays to store as
 * much. */
uint64_t exec_blob_gas(size_t len);
/* The gas a job_submit whose payload (the job's spec) is spec_len bytes,
 * with r slots, pays for the record the state keeps for good (protocol
 * §5.2): VM_GAS_NEW_KEY for its key and VM_GAS_STORAGE_BYTE for each byte
 * the record can grow to (compute_job_record_max_bytes). Contracts pay it
 * too (vm_job_host.job_submit_gas). */
uint64_t exec_job_gas(size_t spec_len, unsigned r);
/* ASSAY_EGAS, with the reason in err, when t would fail on l for want of
 * gas it needs before anything else: a transfer that creates its
 * recipient's account without VM_GAS_NEW_KEY, a blob without
 * exec_blob_gas, a job_submit without exec_job_gas (protocol §5.2); 0 otherwise, or a local read failure.
 * For the mempool's policy (protocol §9). */
int exec_tx_gas_check(const struct ledger *l, const struct tx *t, char *err, size_t errlen);
/* 1 if transactions of this kind have admission rules (exec_tx_admissible
 * may refuse them), else 0. A mempool judges a transaction on the committed
 * state only while no earlier pending one of its sender has such a kind:
 * those can make it valid (a worker's next job_chunks continues its last). */
int exec_kind_admits(unsigned kind);
/* Every transaction of blk in order, then the block gas limit and the end of
 * block: receipts[i] for blk->txs[i] (room for blk->ntx). 0, a rule error
 * (the block is invalid), or a local failure. */
int exec_block(struct exec_ctx *x, const struct block *blk, struct receipt *receipts, char *err,
	       size_t errlen);
/* Chunk tile bytes a transaction takes of its block's chunk_budget_bytes:
 * a job_chunks transaction's declared bytes, 0 for any other
 * (docs/compute.md §15.4; chunks do not count against block gas). */
uint64_t exec_tx_chunk_bytes(const struct tx *t);
/* protocol §5.3, shared by building and applying. */
int exec_end_block(struct exec_ctx *x, char *err, size_t errlen);

/* What the job_status host call tells a contract about a job in state
 * job_state (enum job_state): an enum vm_job_state value. Verified means
 * paid, past its dispute window (docs/contracts.md §5). */
uint32_t exec_job_vm_state(uint8_t job_state);

/* A job_reveal's gas counts against the compute parameter reveal_block_gas,
 * not max_block_gas (docs/compute.md §6.4): ordinary transactions cannot
 * fill the room a reveal needs. */
static inline int exec_in_reveal_lane(const struct tx *t)
{
	return t->kind == TX_JOB_REVEAL;
}

#endif

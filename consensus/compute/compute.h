/* Execution of the compute protocol (docs/compute.md): the
 * compute transaction kinds (worker_register .. blob) applied to state, the
 * end-of-block pass (assignment, challenges, deadlines, slashes, payouts,
 * refunds), and read access to worker and job records for RPC. Pure: height,
 * time and the beacon come in through struct compute_env. Not for: signature,
 * fee and nonce handling (the node does those) or JSON. */
#ifndef ASSAY_COMPUTE_H
#define ASSAY_COMPUTE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/compute_codec.h"
#include "consensus/compute/kernels.h"
#include "consensus/compute/mlp.h"
#include "core/error.h"
#include "core/ledger.h"
#include "core/tx.h"

/* The most max_output_bytes may be: with max_dim <= KERNEL_MAX_K no output
 * is larger (docs/compute.md §2), and a client bounds what a node says of a
 * job by it. */
#define COMPUTE_OUTPUT_BYTES_CAP (1ull << 34)

/* Chain parameters of the compute protocol (genesis "compute": {name: value};
 * defaults and their reasons in docs/compute.md §8). */
struct compute_params {
	uint32_t samples_k;                 /* least k a job may ask for */
	uint32_t max_dim;                   /* largest m, n, k, batch or width */
	uint64_t max_output_bytes;          /* largest output of one job, <= COMPUTE_OUTPUT_BYTES_CAP */
	uint32_t reveal_window;             /* blocks after the challenge to reveal */
	uint32_t dispute_window;            /* blocks from verification to payout */
	uint32_t commit_window;             /* blocks from assignment to commit */
	uint64_t min_reward;                /* least reward of a job, base units */
	uint64_t min_bond;                  /* least bond of an eligible worker */
	uint64_t max_blob_bytes;            /* largest blob (<= LEDGER_VALUE_MAX) */
	uint32_t slash_bps;                 /* share of the assignment's lock slashed for a wrong root or missed reveal */
	uint32_t slash_submitter_bps;       /* share of a wrong-root slash paid to the submitter; rest burned */
	uint32_t missed_deadline_slash_bps; /* share of the lock slashed (burned) for a missed commit */
	uint64_t gas_per_check_unit;        /* gas per unit of checking work */
	uint64_t dispute_bond;              /* forfeited to the worker by a wrong dispute */
	uint32_t bond_reward_bps;           /* each assignment locks reward * this / 10^4 of the bond */
	uint32_t max_live_jobs;             /* jobs not yet paid, failed or refunded */
	uint32_t max_workers;               /* registered workers */
	uint32_t max_jobs_per_worker;       /* assignments in flight per worker */
	uint32_t max_deadline_blocks;       /* longest deadline a job may ask */
	uint32_t unbond_delay;              /* blocks from worker_unbond to the bond's return */
	uint32_t challenge_delay;           /* d >= 2: challenges and draws use the beacon d blocks later */
	uint32_t salt_window;               /* blocks after the last commit for the submitter's job_salt */
	uint64_t reveal_block_gas;          /* per-block gas of job_reveal, apart from max_block_gas */
	/* output availability (docs/compute.md §15) */
	uint32_t upload_window;             /* blocks from the job's last root to its whole output uploaded */
	uint64_t chunk_budget_bytes;        /* chunk tile bytes one block may reference */
	uint32_t chunk_retention_blocks;    /* blocks nodes keep chunks after the job's end */
};

void compute_params_default(struct compute_params *p);

/* Units of checking work one revealed tile costs (docs/compute.md §6): the
 * kernel's check units, its bytes (output and mlp pre-activations) / 64 and
 * its path of depth hashes, plus one. The chain meters them; the worker and
 * the CLI size their gas limits with the same sum. */
static inline uint64_t compute_tile_units(const struct job_shape *s, uint32_t index, uint64_t tile_len,
					  uint64_t depth)
{
	return kernel_check_units(s, index) + tile_len / 64 + depth + 1;
}

/* Units a reveal costs once, whatever its tiles: mlp's W_l . r_l. */
static inline uint64_t compute_reveal_fixed_units(const struct job_shape *s)
{
	return s->kind == JOB_MLP_I8 ? mlp_check_fixed_units(s) : 0;
}

/* Units of checking one disputed tile: as compute_tile_units, but mlp's
 * dispute recomputes the tile's rows through every layer. */
static inline uint64_t compute_dispute_tile_units(const struct job_shape *s, uint32_t index, uint64_t tile_len,
						  uint64_t depth)
{
	uint64_t kernel = s->kind == JOB_MLP_I8 ? mlp_recompute_units(s, index) : kernel_check_units(s, index);
	return kernel + tile_len / 64 + depth + 1;
}

/* Gas of checking tile work (docs/compute.md §6): units x gas_per_check_unit,
 * exact. The one formula the chain meters reveals and disputes with, and the
 * worker and the CLI set gas limits by. 0, or ASSAY_EOVERFLOW when it does
 * not fit in 64 bits (*gas is then UINT64_MAX, above every gas limit).
 * Inline so that a client links it without the state machine. */
static inline int compute_check_gas(uint64_t gas_per_check_unit, unsigned __int128 units, uint64_t *gas)
{
	/* units is a sum of at most 2^32 u64 terms and gas_per_check_unit is at
	 * most 2^20 (compute_params_set): the product never wraps 128 bits */
	unsigned __int128 g = units * gas_per_check_unit;
	*gas = g > UINT64_MAX ? UINT64_MAX : (uint64_t)g;
	return g > UINT64_MAX ? ASSAY_EOVERFLOW : 0;
}
/* The least deadline_blocks a job may ask for (compute.md §1.1): the
 * assignment delay, a commit window, the challenge delay, the salt window,
 * a reveal window and an upload window (avail, compute.md §15.5), plus two
 * blocks, so that a job drawn at once can be judged before it expires. */
static inline uint64_t compute_least_deadline(const struct compute_params *p)
{
	return (uint64_t)p->commit_window + p->reveal_window + p->salt_window + 2 * (uint64_t)p->challenge_delay +
	       p->upload_window + 2;
}

/* Sets one parameter by name (the field names above). 0, ASSAY_EARG for an
 * unknown name, ASSAY_ELIMIT for a value out of its range. */
int compute_params_set(struct compute_params *p, const char *name, uint64_t value);

struct compute_env {
	const struct ledger *ledger;
	const struct compute_params *params;
	uint64_t height, time_ms;
	uint8_t beacon[32]; /* this block's beacon */
	/* The chain's transaction and block-gas limits: a job whose reveal could
	 * not fit them is refused at submit (compute.md §4). 0: no such limit. */
	uint64_t max_tx_bytes;
	uint64_t max_block_gas;
	/* The chain's fee rule (min_fee + gas x gas_price): the checking a job
	 * causes is priced with it at submit (compute.md §6.4). */
	uint64_t min_fee, gas_price;
};

struct compute_result {
	uint64_t gas_used;
	char error[160];    /* why a tx failed, or what a successful one caused (a slash) */
	uint8_t job_id[32]; /* job_submit: the new job's id */
};

/* Applies one compute-kind transaction (worker_register .. blob). The node
 * has checked the signature, debited the fee and bumped the nonce, and wraps
 * this in a snapshot that it reverts if an error is returned (res->error says
 * why). gas_limit bounds the checking work (docs/compute.md §6); exceeding it
 * is ASSAY_EGAS. A reveal whose proofs hold but whose tile is wrong, and a
 * dispute of a correct tile, return 0: their slash or forfeit must stand. */
int compute_apply_tx(const struct compute_env *env, const struct tx *t, const uint8_t sender[20],
		     uint64_t gas_limit, struct compute_result *res);
/* (compute_apply_tx decodes through the one table of kinds, so it is
 * defined beside it in consensus/exec.c.) */
/* The same, one function per kind, on a payload already decoded (the
 * chain's table of kinds in consensus/exec.c calls these). A local failure
 * (assay_err_is_local: a failed ledger read, out of memory) is returned as
 * it is, never dressed up as a rule violation (docs/protocol.md §5.4). */
int compute_apply_register(const struct compute_env *env, const struct worker_register_payload *p,
			   const uint8_t sender[20], struct compute_result *res);
int compute_apply_unbond(const struct compute_env *env, const uint8_t sender[20], struct compute_result *res);
/* nonce: the sender's nonce of the submit, from which the job id derives. */
int compute_apply_submit(const struct compute_env *env, const struct job_spec *spec, const uint8_t sender[20],
			 uint64_t nonce, struct compute_result *res);
int compute_apply_commit(const struct compute_env *env, const struct job_commit_payload *p,
			 const uint8_t sender[20], struct compute_result *res);
/* fee: the transaction's fee, refunded from the job's check_escrow when the
 * check passes (reveal) or proves a tile wrong (dispute). */
int compute_apply_reveal(const struct compute_env *env, const struct job_reveal_payload *p,
			 const uint8_t sender[20], uint64_t gas_limit, uint64_t fee, struct compute_result *res);
/* The part of a reveal's rules the state before it decides (compute.md §7.5,
 * §10): the sender's slot of the job is challenged and in its reveal window,
 * the root opens its commitment, the tiles are the challenged ones, the gas
 * fits gas_limit, the proofs hold. 0 when they do; otherwise the rule error
 * (res->error says why) that makes the transaction invalid (refused by the
 * mempool, a block holding it rejected), or a local failure. Writes
 * nothing. compute_apply_reveal runs the same checks first. */
int compute_admit_reveal(const struct compute_env *env, const struct job_reveal_payload *p,
			 const uint8_t sender[20], uint64_t gas_limit, struct compute_result *res);
int compute_apply_dispute(const struct compute_env *env, const struct job_dispute_payload *p,
			  const uint8_t sender[20], uint64_t gas_limit, uint64_t fee, struct compute_result *res);
int compute_apply_salt(const struct compute_env *env, const struct job_salt_payload *p, struct compute_result *res);
/* What a job costs its submitter beyond the reward: the fees of r worst-case
 * reveals and of one two-party dispute under the chain's fee rule
 * (compute.md §6.4). ASSAY_EOVERFLOW if it does not fit 64 bits. */
/* The most bytes a reveal of spec's job can take (k of the largest tiles
 * with the deepest proofs, their pre-activations for mlp). job_submit
 * refuses a job whose reveal plus COMPUTE_REVEAL_TX_OVERHEAD (the
 * transaction's own fields) is over max_tx_bytes. */
#define COMPUTE_REVEAL_TX_OVERHEAD 200
uint64_t compute_reveal_max_bytes(const struct job_spec *spec);
int compute_check_escrow(const struct compute_env *env, const struct job_spec *spec, uint64_t *amount);
/* The bond one assignment of a job with this reward locks. */
uint64_t compute_job_lock(const struct compute_params *p, uint64_t reward);
int compute_apply_blob(const struct compute_env *env, const struct blob_payload *p, struct compute_result *res);
/* job_chunks (kind 13, docs/compute.md §15.4): the sender's slot uploads
 * chunks in tile order. The node has checked that it holds the chunks. */
struct job_chunks_payload;
int compute_apply_chunks(const struct compute_env *env, const struct job_chunks_payload *p,
			 const uint8_t sender[20], struct compute_result *res);
/* Every rule of job_chunks, which the state before it decides entirely
 * (compute.md §15.4): as compute_admit_reveal, for the chunk budget. */
int compute_admit_chunks(const struct compute_env *env, const struct job_chunks_payload *p,
			 const uint8_t sender[20], struct compute_result *res);
/* Called once per block after its transactions: payouts after the dispute
 * window, refunds of expired jobs, missed commit and reveal deadlines (slash,
 * reassign), challenges for commits of earlier blocks, assignment of open
 * slots, release of unbonded workers. 0, or an error for corrupt state. */
int compute_end_block(const struct compute_env *env);

/* job_id of a job_submit: H_tag("assay/job", sender || u64 LE nonce). */
void compute_job_id(const uint8_t sender[ADDR_LEN], uint64_t nonce, uint8_t job_id[HASH_LEN]);
/* Read access for RPC and the rules. ASSAY_ENOTFOUND if absent,
 * ASSAY_ECORRUPT for a stored record that does not decode (protocol §5.4). */
int compute_get_job(const struct ledger *l, const uint8_t job_id[32], struct job_record *out);
int compute_get_worker(const struct ledger *l, const uint8_t addr[20], struct worker_record *out);
/* Visits live (not yet paid, failed or refunded) jobs in submission order;
 * a non-zero return from fn stops the walk and is returned. */
int compute_list_jobs(const struct ledger *l, int (*fn)(void *arg, const struct job_record *j),
		      void *arg);
/* Visits every registered worker in address order. */
int compute_list_workers(const struct ledger *l, int (*fn)(void *arg, const struct worker_record *w),
			 void *arg);
const char *compute_job_state_name(unsigned state);
const char *compute_slot_state_name(unsigned state);
const char *compute_worker_status_name(unsigned status);

#endif

/* The contract VM as the node and the CLI see it (docs/contracts.md):
 * payload codecs of TX_DEPLOY and TX_CALL, applying them to a struct ledger
 * with gas and journaling, read-only queries, the code validator and the
 * calldata convention. Pure: no clock, I/O or randomness.
 * Not for: the instruction set's internals (vm_internal.h) or text (asm.h). */
#ifndef ASSAY_VM_VM_H
#define ASSAY_VM_VM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/ledger.h"

/* Gas per state key a call creates (storage_set of an absent slot;
 * transfer or call_contract value to an account that is not there), and
 * what a plain transfer that creates its recipient's account pays
 * (protocol §5.2): a key costs the node, beyond its value bytes, its
 * 32-byte key on disk and, for good, the state tree's leaf (96 bytes) and
 * branch node (about 48) in memory, about 176 bytes at the 64 gas a byte
 * storage pays; without it a block's gas made up to about 490,000 accounts
 * (call_contract at 2,000 each), and 10,000 plain transfers a block made
 * as many accounts at the bare min_fee. */
#define VM_GAS_NEW_KEY 11264
/* Gas per byte of state written, by a contract (storage values, events,
 * code) or by a blob transaction (protocol §5.2): state is kept for good,
 * so a block's gas (max_block_gas 10^9) writes at most about 15 MiB of it. */
#define VM_GAS_STORAGE_BYTE 64

/* Job states as the job_status host call reports them to contracts; the
 * compute layer maps its own job record onto these. */
enum vm_job_state {
	VM_JOB_PENDING = 0,  /* submitted, assigned or being checked */
	VM_JOB_VERIFIED = 1, /* paid: its dispute window has passed (docs/contracts.md §5) */
	VM_JOB_FAILED = 2,   /* expired or slashed without a replacement */
};

struct vm_job_host {              /* optional; provided by the compute layer later */
	void *ctx;
	int (*job_status)(void *ctx, const uint8_t job_id[32], uint32_t *state);
	int (*job_submit)(void *ctx, const uint8_t payer[20], const uint8_t *payload, size_t n,
			  uint8_t job_id[32]);
	/* the gas a job_submit of payload pays for the record it stores (0
	 * when the payload is no job spec: job_submit then refuses it);
	 * NULL: none */
	uint64_t (*job_submit_gas)(void *ctx, const uint8_t *payload, size_t n);
};

struct vm_env {
	const struct ledger *ledger;
	uint64_t height, time_ms;
	const struct vm_job_host *jobs;   /* NULL: job host calls unavailable */
};

/* data: the bytes the contract passed to the emit host call, opaque here
 * (the standard contracts start theirs with a 4-byte event selector). */
struct vm_event {
	uint8_t contract[20]; /* emitter */
	uint8_t *data;        /* malloc()ed, freed by vm_result_free */
	size_t len;
};

struct vm_result {
	int status;            /* 0 ok or ASSAY_E* (EGAS, ETRAP, EREVERT, EINVALID...) */
	uint64_t gas_used;
	uint8_t *ret; size_t ret_len;          /* return data (malloc()ed) */
	struct vm_event *events; size_t nevents; /* only if status == 0 */
	uint8_t contract[20];  /* deploy: the new contract's address */
	char error[160];       /* human message: "out of gas", "division by zero at pc 12" ... */
};
void vm_result_free(struct vm_result *r);

/* TX_DEPLOY payload: varint-length code bytes, u64 value (sent to the new
 * contract), varint-length init calldata bytes. */
struct vm_deploy_payload {
	const uint8_t *code; size_t code_len;
	uint64_t value;
	const uint8_t *calldata; size_t calldata_len;
};
/* Pointers point into in. 0, ASSAY_EDECODE or ASSAY_ELIMIT. */
int vm_deploy_payload_decode(struct vm_deploy_payload *p, const uint8_t *in, size_t n);
void vm_deploy_payload_encode(const struct vm_deploy_payload *p, struct buf *b);

/* TX_CALL payload: contract address(20), u64 value, varint-length calldata. */
struct vm_call_payload {
	uint8_t to[20];
	uint64_t value;
	const uint8_t *calldata; size_t calldata_len;
};
int vm_call_payload_decode(struct vm_call_payload *p, const uint8_t *in, size_t n);
void vm_call_payload_encode(const struct vm_call_payload *p, struct buf *b);

/* Both return res->status (0 or a negative ASSAY_E*) and fill res, which the
 * caller releases with vm_result_free. On failure every state change of the
 * call has been reverted already. Deploy stores the code, moves value to the
 * new contract and, when the init calldata is not empty, runs the code with
 * r3 = 1 (the init convention of docs/contracts.md §6). */
/* The gas a deploy of code_len bytes pays before its init code runs
 * (docs/contracts.md §4): what a client adds its init budget to. */
uint64_t vm_deploy_base_gas(size_t code_len);
int vm_apply_deploy(const struct vm_env *env, const uint8_t sender[20], uint64_t sender_nonce,
		    uint64_t gas_limit, const uint8_t *payload, size_t n, struct vm_result *res);
int vm_apply_call(const struct vm_env *env, const uint8_t sender[20], uint64_t gas_limit,
		  const uint8_t *payload, size_t n, struct vm_result *res);
/* The same on a payload already decoded (consensus/exec decodes each
 * payload once, for the stateless checks and execution alike). */
int vm_apply_deploy_payload(const struct vm_env *env, const uint8_t sender[20], uint64_t sender_nonce,
			    uint64_t gas_limit, const struct vm_deploy_payload *p, struct vm_result *res);
int vm_apply_call_payload(const struct vm_env *env, const uint8_t sender[20], uint64_t gas_limit,
			  const struct vm_call_payload *p, struct vm_result *res);
/* Read-only: runs on an overlay that is thrown away. */
int vm_query(const struct vm_env *env, const uint8_t caller[20], const uint8_t to[20],
	     const uint8_t *calldata, size_t n, uint64_t gas_limit, struct vm_result *res);

/* Calldata: 4-byte selector (first 4 bytes of SHA256(method)) then each
 * argument fixed-width: integer -> u64 LE, bech32m address -> 20 bytes,
 * "0x" + 64 hex digits -> 32 bytes; and raw bytes as they are, with no
 * length: "bytes:" + hex digits (any length), or "0x" + an even number of
 * hex digits no fixed-width form takes (more than 16, not 64). 0, or
 * ASSAY_EARG with err filled (ASSAY_ENOMEM). */
#define VM_CALLDATA_BYTES_PREFIX "bytes:"
int vm_calldata_build(const char *method, const char *const *args, int nargs, struct buf *out,
		      char *err, size_t errlen);
/* The selector of a method name, as a little-endian u32 (what a contract
 * compares the first four calldata bytes with after a 4-byte load). */
uint32_t vm_selector(const char *method);

/* Deploy-time validation: 0, or ASSAY_EINVALID / ASSAY_ELIMIT with a
 * message such as "unknown opcode 0xee at pc 3". */
int vm_validate(const uint8_t *code, size_t n, char *err, size_t errlen);
/* Contract address: first 20 bytes of H_tag("assay/contract",
 * deployer(20) || u64 LE nonce). */
void vm_contract_address(const uint8_t deployer[20], uint64_t nonce, uint8_t out[20]);
/* Code hash under which code is stored: H_tag("assay/code", code). */
void vm_code_hash(const uint8_t *code, size_t n, uint8_t out[32]);

#endif

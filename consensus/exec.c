/* Block execution and the table of transaction kinds (see exec.h;
 * docs/protocol.md §5). A local failure (assay_err_is_local) anywhere below
 * a transaction ends the block's execution with that code: it never becomes
 * a failed receipt, which would write our fault into the state (§5.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/exec.h"
#include "consensus/tx_rules.h"
#include "core/error.h"
#include "vm/vm.h"

void exec_ctx_init(struct exec_ctx *x, const struct chain_params *params, const struct compute_params *compute,
		   const uint8_t chain_id[HASH_LEN], const struct ledger *l, const struct block_header *hd)
{
	memset(x, 0, sizeof(*x));
	x->params = params;
	x->compute = compute;
	x->chain_id = chain_id;
	x->l = *l;
	address_from_pubkey(hd->proposer, x->proposer_addr);
	state_key(NS_ACCOUNT, x->proposer_addr, ADDR_LEN, x->proposer_key);
	x->height = hd->height;
	x->time_ms = hd->time_ms;
	x->beacon = hd->beacon;
}

/* The compute protocol's view of a block at height over l; time and beacon
 * are left zero for the caller that has them. */
static void compute_env_at(const struct chain_params *params, const struct compute_params *compute,
			   const struct ledger *l, uint64_t height, struct compute_env *env)
{
	memset(env, 0, sizeof(*env));
	env->ledger = l;
	env->params = compute;
	env->height = height;
	env->max_tx_bytes = params->max_tx_bytes;
	env->max_block_gas = params->max_block_gas;
	env->min_fee = params->min_fee;
	env->gas_price = params->gas_price;
}

static void compute_env_of(const struct exec_ctx *x, struct compute_env *env)
{
	compute_env_at(x->params, x->compute, &x->l, x->height, env);
	env->time_ms = x->time_ms;
	memcpy(env->beacon, x->beacon, HASH_LEN);
}

/* A successful compute transaction can still have consequences worth a
 * line (a slash it proved); they travel as an event from the sender. */
static int add_note(struct receipt *rc, const uint8_t from[ADDR_LEN], const char *note)
{
	struct receipt_event *ev = realloc(rc->events, (rc->nevents + 1) * sizeof(*ev));
	if (!ev)
		return ASSAY_ENOMEM;
	rc->events = ev;
	ev = &rc->events[rc->nevents];
	memcpy(ev->contract, from, ADDR_LEN);
	ev->len = strlen(note);
	ev->data = malloc(ev->len + 1);
	if (!ev->data)
		return ASSAY_ENOMEM;
	memcpy(ev->data, note, ev->len + 1);
	rc->nevents++;
	return 0;
}

/* A job in JOB_VERIFIED can still be disputed and end JOB_FAILED with its
 * escrow refunded (compute.md §1, step 6), so a contract sees it verified
 * only once it is paid: a contract that paid out on the spot check alone
 * could not undo that payment, and the refund would then be stranded. */
uint32_t exec_job_vm_state(uint8_t job_state)
{
	switch (job_state) {
	case JOB_PAID:
		return VM_JOB_VERIFIED;
	case JOB_FAILED:
	case JOB_REFUNDED:
		return VM_JOB_FAILED;
	default:
		return VM_JOB_PENDING;
	}
}

/* Job host calls for contracts (contracts.md §host calls), on the block's
 * live overlay: a contract reads a job's state, or submits a job paid from
 * its own balance exactly as a job_submit transaction from it would be. */
static int job_status_host(void *ctx, const uint8_t job_id[32], uint32_t *state)
{
	const struct exec_ctx *x = ctx;
	struct job_record j;
	int rc = compute_get_job(&x->l, job_id, &j);
	if (rc)
		return rc;
	*state = exec_job_vm_state(j.state);
	return 0;
}

static uint64_t job_submit_gas_host(void *ctx, const uint8_t *payload, size_t n)
{
	struct job_spec spec;
	(void)ctx;
	return compute_spec_decode(&spec, payload, n) ? 0 : exec_job_gas(n, spec.redundancy);
}

static int job_submit_host(void *ctx, const uint8_t payer[20], const uint8_t *payload, size_t n,
			   uint8_t job_id[32])
{
	const struct exec_ctx *x = ctx;
	struct account acct;
	struct compute_env env;
	struct compute_result res;
	struct job_spec spec;
	int rc = ledger_get_account(&x->l, payer, &acct);
	if (rc)
		return rc;
	if ((rc = compute_spec_decode(&spec, payload, n)) != 0)
		return rc;
	compute_env_of(x, &env);
	/* the job id derives from the contract's own nonce */
	if ((rc = compute_apply_submit(&env, &spec, payer, acct.nonce, &res)) != 0)
		return rc;
	if ((rc = ledger_get_account(&x->l, payer, &acct)) != 0)
		return rc;
	acct.nonce++;
	if ((rc = ledger_put_account(&x->l, payer, &acct)) != 0)
		return rc;
	memcpy(job_id, res.job_id, HASH_LEN);
	return 0;
}

/* ---- the kinds: decode, check, apply (protocol §3, §5.2) ---- */

static int decode_transfer(const struct tx *t, struct tx_decoded *d)
{
	int rc = transfer_decode(&d->u.transfer, t->payload, t->payload_len);
	d->value = rc ? 0 : d->u.transfer.amount;
	return rc;
}

_Static_assert(CHAIN_GAS_NEW_ACCOUNT == VM_GAS_NEW_KEY, "a key costs the same however it is made");

uint64_t exec_blob_gas(size_t len)
{
	return VM_GAS_NEW_KEY + (uint64_t)len * VM_GAS_STORAGE_BYTE;
}

uint64_t exec_job_gas(size_t spec_len, unsigned r)
{
	return VM_GAS_NEW_KEY + (uint64_t)compute_job_record_max_bytes(spec_len, r) * VM_GAS_STORAGE_BYTE;
}

/* The gas t needs on l before anything else of it runs (protocol §5.2),
 * into *need: a transfer of a positive amount to an address with no
 * account creates it and pays VM_GAS_NEW_KEY, as a contract's transfer
 * does; a blob pays exec_blob_gas, what a contract pays to store as many
 * bytes, and a job_submit exec_job_gas for its record; others nothing.
 * Every node keeps those keys and bytes for good: at the bare min_fee a
 * block of transfers made 10,000 keys for 0.01 ASY, a 1 MiB blob cost
 * 0.000001 ASY, and a job record (refunded whole when no worker does the
 * job) its fee alone. ASSAY_EGAS, with the reason in why,
 * when t's gas_limit is below it (the transaction fails, its fee spent;
 * the mempool refuses it first, exec_tx_gas_check); else 0, or a local
 * failure of the read. d is t decoded. */
static int upfront_gas(const struct ledger *l, const struct tx *t, const struct tx_decoded *d, uint64_t *need,
		       char *why, size_t whylen)
{
	*need = 0;
	if (t->kind == TX_BLOB) {
		*need = exec_blob_gas(d->u.blob.len);
		if (t->gas_limit >= *need)
			return 0;
		snprintf(why, whylen,
			 "out of gas: storing a blob of %zu bytes needs gas_limit %llu (%d a byte and %d for its "
			 "key; this one has %llu)",
			 d->u.blob.len, (unsigned long long)*need, VM_GAS_STORAGE_BYTE, VM_GAS_NEW_KEY,
			 (unsigned long long)t->gas_limit);
		return ASSAY_EGAS;
	}
	if (t->kind == TX_JOB_SUBMIT) {
		*need = exec_job_gas(t->payload_len, d->u.submit.redundancy);
		if (t->gas_limit >= *need)
			return 0;
		snprintf(why, whylen,
			 "out of gas: the record of this job needs gas_limit %llu (%d a byte of the %zu it can grow to "
			 "and %d for its key; this one has %llu)",
			 (unsigned long long)*need, VM_GAS_STORAGE_BYTE,
			 compute_job_record_max_bytes(t->payload_len, d->u.submit.redundancy), VM_GAS_NEW_KEY,
			 (unsigned long long)t->gas_limit);
		return ASSAY_EGAS;
	}
	if (t->kind != TX_TRANSFER || d->u.transfer.amount == 0)
		return 0; /* nothing sent makes no account */
	uint8_t key[HASH_LEN], none;
	size_t len;
	state_key(NS_ACCOUNT, d->u.transfer.to, ADDR_LEN, key);
	int rc = ledger_get_into(l, key, &none, 0, &len); /* ASSAY_ELIMIT: there */
	if (rc != ASSAY_ENOTFOUND)
		return rc == ASSAY_ELIMIT ? 0 : rc;
	*need = VM_GAS_NEW_KEY;
	if (t->gas_limit >= *need)
		return 0;
	snprintf(why, whylen,
		 "out of gas: the recipient has no account, and a transfer that creates one needs "
		 "gas_limit %d (this one has %llu)",
		 VM_GAS_NEW_KEY, (unsigned long long)t->gas_limit);
	return ASSAY_EGAS;
}

/* Fails a kind's apply for upfront_gas: its receipt or result says why and
 * used the whole gas_limit. *need: what it uses when it goes on. */
static int apply_upfront_gas(const struct ledger *l, const struct tx *t, const struct tx_decoded *d,
			     uint64_t *need, uint64_t *gas_used, char *why, size_t whylen)
{
	int rc = upfront_gas(l, t, d, need, why, whylen);
	if (rc == ASSAY_EGAS)
		*gas_used = t->gas_limit;
	else if (rc)
		snprintf(why, whylen, "state read failed: %s", assay_strerror(rc));
	return rc;
}

static int apply_transfer(struct exec_ctx *x, const struct tx *t, const struct tx_decoded *d,
			  const uint8_t sender[ADDR_LEN], struct receipt *rc)
{
	(void)sender; /* x->sender_key is its key */
	uint8_t to_key[HASH_LEN];
	uint64_t need;
	int err = apply_upfront_gas(&x->l, t, d, &need, &rc->gas_used, rc->error, sizeof(rc->error));
	if (err)
		return err;
	rc->gas_used = need;
	state_key(NS_ACCOUNT, d->u.transfer.to, ADDR_LEN, to_key);
	/* exec_tx reverts the whole apply on error: a debit without its
	 * credit never stays. */
	err = ledger_debit_at(&x->l, x->sender_key, d->u.transfer.amount);
	if (!err)
		err = ledger_credit_at(&x->l, to_key, d->u.transfer.amount);
	if (err)
		snprintf(rc->error, sizeof(rc->error), "transfer failed: %s", assay_strerror(err));
	return err;
}

static int decode_deploy(const struct tx *t, struct tx_decoded *d)
{
	int rc = vm_deploy_payload_decode(&d->u.deploy, t->payload, t->payload_len);
	d->value = rc ? 0 : d->u.deploy.value;
	return rc;
}

static int check_deploy(const struct tx_decoded *d, char *err, size_t errlen)
{
	char verr[160];
	int rc = vm_validate(d->u.deploy.code, d->u.deploy.code_len, verr, sizeof(verr));
	if (rc)
		snprintf(err, errlen, "invalid contract code: %s", verr);
	return rc;
}

static int decode_call(const struct tx *t, struct tx_decoded *d)
{
	int rc = vm_call_payload_decode(&d->u.call, t->payload, t->payload_len);
	d->value = rc ? 0 : d->u.call.value;
	return rc;
}

/* The receipt of a contract run: gas, error or events (moved out of res). */
static int vm_receipt(struct vm_result *res, int err, struct receipt *rc)
{
	rc->gas_used = res->gas_used;
	if (err) {
		snprintf(rc->error, sizeof(rc->error), "%s", res->error[0] ? res->error : assay_strerror(err));
		vm_result_free(res);
		return err;
	}
	size_t n = res->nevents < RECEIPT_MAX_EVENTS ? res->nevents : RECEIPT_MAX_EVENTS;
	if (n && (rc->events = calloc(n, sizeof(*rc->events))) == NULL)
		err = ASSAY_ENOMEM; /* a receipt without its events would differ from others' */
	for (size_t i = 0; i < n && !err; i++) {
		memcpy(rc->events[i].contract, res->events[i].contract, ADDR_LEN);
		rc->events[i].data = res->events[i].data; /* moved */
		rc->events[i].len = res->events[i].len;
		res->events[i].data = NULL;
		rc->nevents = i + 1;
	}
	vm_result_free(res);
	return err;
}

static struct vm_env vm_env_of(struct exec_ctx *x, struct vm_job_host *jobs)
{
	*jobs = (struct vm_job_host){x, job_status_host, job_submit_host, job_submit_gas_host};
	return (struct vm_env){&x->l, x->height, x->time_ms, jobs};
}

/* Deploy and call run on the view decoded for the stateless checks. */
static int apply_deploy(struct exec_ctx *x, const struct tx *t, const struct tx_decoded *d,
			const uint8_t sender[ADDR_LEN], struct receipt *rc)
{
	struct vm_job_host jobs;
	struct vm_env env = vm_env_of(x, &jobs);
	struct vm_result res;
	int err = vm_apply_deploy_payload(&env, sender, t->nonce, t->gas_limit, &d->u.deploy, &res);
	if (!err) {
		memcpy(rc->created, res.contract, ADDR_LEN);
		rc->created_len = ADDR_LEN;
	}
	return vm_receipt(&res, err, rc);
}

static int apply_call(struct exec_ctx *x, const struct tx *t, const struct tx_decoded *d,
		      const uint8_t sender[ADDR_LEN], struct receipt *rc)
{
	struct vm_job_host jobs;
	struct vm_env env = vm_env_of(x, &jobs);
	struct vm_result res;
	int err = vm_apply_call_payload(&env, sender, t->gas_limit, &d->u.call, &res);
	return vm_receipt(&res, err, rc);
}

static int decode_register(const struct tx *t, struct tx_decoded *d)
{
	int rc = compute_register_decode(&d->u.reg, t->payload, t->payload_len);
	d->value = rc ? 0 : d->u.reg.bond;
	return rc;
}

static int decode_unbond(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return t->payload_len ? ASSAY_EDECODE : 0; /* takes no payload */
}

static int decode_submit(const struct tx *t, struct tx_decoded *d)
{
	int rc = compute_spec_decode(&d->u.submit, t->payload, t->payload_len);
	d->value = rc ? 0 : d->u.submit.reward;
	return rc;
}

static int decode_commit(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return compute_commit_decode(&d->u.commit, t->payload, t->payload_len);
}

static int decode_reveal(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return compute_reveal_decode(&d->u.reveal, t->payload, t->payload_len);
}

static int decode_dispute(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return compute_dispute_decode(&d->u.dispute, t->payload, t->payload_len);
}

static int decode_salt(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return compute_salt_decode(&d->u.salt, t->payload, t->payload_len);
}

static int decode_blob(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return compute_blob_decode(&d->u.blob, t->payload, t->payload_len);
}

static int decode_chunks(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return avail_chunks_decode(&d->u.chunks, t->payload, t->payload_len);
}

/* The compute kinds (docs/compute.md), on the decoded payload: one
 * adapter per kind for the table's compute entry. */
static int compute_register(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			    const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	(void)t;
	return compute_apply_register(env, &d->u.reg, sender, res);
}

static int compute_unbond(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			  const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	(void)t;
	(void)d;
	return compute_apply_unbond(env, sender, res);
}

static int compute_submit(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			  const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	uint64_t need;
	memset(res, 0, sizeof(*res));
	int rc = apply_upfront_gas(env->ledger, t, d, &need, &res->gas_used, res->error, sizeof(res->error));
	if (!rc && (rc = compute_apply_submit(env, &d->u.submit, sender, t->nonce, res)) == 0)
		res->gas_used = need;
	return rc;
}

static int compute_commit(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			  const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	(void)t;
	return compute_apply_commit(env, &d->u.commit, sender, res);
}

static int compute_reveal(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			  const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	return compute_apply_reveal(env, &d->u.reveal, sender, t->gas_limit, t->fee, res);
}

static int compute_dispute(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			   const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	return compute_apply_dispute(env, &d->u.dispute, sender, t->gas_limit, t->fee, res);
}

static int compute_salt(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	(void)t;
	(void)sender; /* anyone holding the salt may open it */
	return compute_apply_salt(env, &d->u.salt, res);
}

static int compute_blob(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	(void)sender;
	uint64_t need;
	memset(res, 0, sizeof(*res));
	int rc = apply_upfront_gas(env->ledger, t, d, &need, &res->gas_used, res->error, sizeof(res->error));
	if (!rc && (rc = compute_apply_blob(env, &d->u.blob, res)) == 0)
		res->gas_used = need;
	return rc;
}

static int compute_chunks(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			  const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	(void)t;
	return compute_apply_chunks(env, &d->u.chunks, sender, res);
}

/* The admission rules of the kinds whose failure is decidable before they
 * run (protocol §5.2 step 1, compute.md §7.5, §15.4). */
static int admit_reveal(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	return compute_admit_reveal(env, &d->u.reveal, sender, t->gas_limit, res);
}

static int admit_chunks(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			const uint8_t sender[ADDR_LEN], struct compute_result *res)
{
	(void)t;
	return compute_admit_chunks(env, &d->u.chunks, sender, res);
}

/* The receipt of a compute kind. */
static int apply_compute(struct exec_ctx *x, const struct tx *t, const struct tx_decoded *d,
			 const uint8_t sender[ADDR_LEN], struct receipt *rc)
{
	struct compute_env env;
	struct compute_result res;
	compute_env_of(x, &env);
	int err = exec_kind_of(t->kind)->compute(&env, t, d, sender, &res);
	rc->gas_used = res.gas_used;
	if (err)
		snprintf(rc->error, sizeof(rc->error), "%s", res.error[0] ? res.error : assay_strerror(err));
	else if (t->kind == TX_JOB_SUBMIT) {
		memcpy(rc->created, res.job_id, HASH_LEN);
		rc->created_len = HASH_LEN;
	}
	if (!err && res.error[0]) /* what a successful reveal or dispute caused */
		err = add_note(rc, sender, res.error);
	return err;
}

/* The validator kinds (protocol §10.3): consensus/validators.c. */
static int decode_bond(const struct tx *t, struct tx_decoded *d)
{
	int rc = validators_amount_decode(t->payload, t->payload_len, &d->u.amount);
	d->value = rc ? 0 : d->u.amount; /* moves out of the balance into the bond */
	return rc;
}

static int decode_vunbond(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return validators_amount_decode(t->payload, t->payload_len, &d->u.amount);
}

static int decode_unjail(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	return t->payload_len ? ASSAY_EDECODE : 0; /* takes no payload */
}

static int decode_evidence(const struct tx *t, struct tx_decoded *d)
{
	d->value = 0;
	int rc = bft_evidence_decode(&d->u.evidence, t->payload, t->payload_len);
	return rc ? ASSAY_EDECODE : 0;
}

static struct validators_ctx validators_ctx_of(const struct exec_ctx *x)
{
	return (struct validators_ctx){&x->l, x->params, x->chain_id, x->height};
}

static int apply_validator(struct exec_ctx *x, const struct tx *t, const struct tx_decoded *d,
			   const uint8_t sender[ADDR_LEN], struct receipt *rc)
{
	struct validators_ctx vc = validators_ctx_of(x);
	char note[160] = "";
	int err;
	switch (t->kind) {
	case TX_VALIDATOR_BOND:
		err = validators_apply_bond(&vc, t->sender, x->sender_key, d->u.amount, rc->error, sizeof(rc->error));
		break;
	case TX_VALIDATOR_UNBOND:
		err = validators_apply_unbond(&vc, t->sender, d->u.amount, rc->error, sizeof(rc->error));
		break;
	case TX_VALIDATOR_UNJAIL:
		err = validators_apply_unjail(&vc, t->sender, rc->error, sizeof(rc->error));
		break;
	default:
		err = validators_apply_evidence(&vc, &d->u.evidence, rc->error, sizeof(rc->error), note,
						sizeof(note));
		break;
	}
	if (err && !rc->error[0])
		snprintf(rc->error, sizeof(rc->error), "%s", assay_strerror(err));
	if (!err && note[0])
		err = add_note(rc, sender, note);
	return err;
}

/* Indexed by kind; a NULL name: not enabled on this chain. */
static const struct exec_kind kinds[TX_KIND_COUNT] = {
	[TX_TRANSFER] = {"transfer", decode_transfer, NULL, apply_transfer, NULL, NULL},
	[TX_DEPLOY] = {"deploy", decode_deploy, check_deploy, apply_deploy, NULL, NULL},
	[TX_CALL] = {"call", decode_call, NULL, apply_call, NULL, NULL},
	[TX_VALIDATOR_BOND] = {"validator_bond", decode_bond, NULL, apply_validator, NULL, NULL},
	[TX_VALIDATOR_UNBOND] = {"validator_unbond", decode_vunbond, NULL, apply_validator, NULL, NULL},
	[TX_WORKER_REGISTER] = {"worker_register", decode_register, NULL, apply_compute, compute_register, NULL},
	[TX_WORKER_UNBOND] = {"worker_unbond", decode_unbond, NULL, apply_compute, compute_unbond, NULL},
	[TX_JOB_SUBMIT] = {"job_submit", decode_submit, NULL, apply_compute, compute_submit, NULL},
	[TX_JOB_COMMIT] = {"job_commit", decode_commit, NULL, apply_compute, compute_commit, NULL},
	[TX_JOB_REVEAL] = {"job_reveal", decode_reveal, NULL, apply_compute, compute_reveal, admit_reveal},
	[TX_JOB_DISPUTE] = {"job_dispute", decode_dispute, NULL, apply_compute, compute_dispute, NULL},
	[TX_BLOB] = {"blob", decode_blob, NULL, apply_compute, compute_blob, NULL},
	[TX_EVIDENCE] = {"evidence", decode_evidence, NULL, apply_validator, NULL, NULL},
	[TX_VALIDATOR_UNJAIL] = {"validator_unjail", decode_unjail, NULL, apply_validator, NULL, NULL},
	[TX_JOB_SALT] = {"job_salt", decode_salt, NULL, apply_compute, compute_salt, NULL},
	[TX_JOB_CHUNKS] = {"job_chunks", decode_chunks, NULL, apply_compute, compute_chunks, admit_chunks},
};

const struct exec_kind *exec_kind_of(unsigned kind)
{
	return kind < TX_KIND_COUNT && kinds[kind].name ? &kinds[kind] : NULL;
}

/* Declared in compute/compute.h: the compute protocol's own tests and
 * fuzzer apply a transaction from its bytes; it goes through this table
 * like everything else, so there is one dispatch on the kind. */
int compute_apply_tx(const struct compute_env *env, const struct tx *t, const uint8_t sender[20],
		     uint64_t gas_limit, struct compute_result *res)
{
	const struct exec_kind *k = exec_kind_of(t->kind);
	struct tx_decoded d;
	struct tx limited = *t;
	memset(res, 0, sizeof(*res));
	if (!k || !k->compute) {
		snprintf(res->error, sizeof(res->error), "not a compute transaction kind");
		return ASSAY_EARG;
	}
	int rc = k->decode(t, &d);
	if (rc) {
		snprintf(res->error, sizeof(res->error), "malformed %s payload", k->name);
		return ASSAY_EDECODE;
	}
	limited.gas_limit = gas_limit;
	return k->compute(env, &limited, &d, sender, res);
}

/* ---- one transaction, one block ---- */

/* The kind's admission rule on the decoded payload; 0 for kinds without one. */
static int admit_decoded(const struct compute_env *env, const struct tx *t, const struct tx_decoded *d,
			 const uint8_t sender[ADDR_LEN], char *err, size_t errlen)
{
	const struct exec_kind *k = exec_kind_of(t->kind);
	struct compute_result res;
	if (!k || !k->admit)
		return 0;
	int e = k->admit(env, t, d, sender, &res);
	if (!e)
		return 0;
	if (assay_err_is_local(e))
		return assay_fail(err, errlen, e, "state read failed: %s", assay_strerror(e));
	return assay_fail(err, errlen, e, "%s cannot succeed: %s", k->name,
			  res.error[0] ? res.error : assay_strerror(e));
}

int exec_tx_gas_check(const struct ledger *l, const struct tx *t, char *err, size_t errlen)
{
	const struct exec_kind *k = exec_kind_of(t->kind);
	struct tx_decoded d;
	uint64_t need;
	if ((t->kind != TX_TRANSFER && t->kind != TX_BLOB && t->kind != TX_JOB_SUBMIT) || !k || k->decode(t, &d))
		return 0; /* a malformed payload is the stateless rules' to refuse */
	int rc = upfront_gas(l, t, &d, &need, err, errlen);
	if (rc && rc != ASSAY_EGAS)
		return assay_fail(err, errlen, rc, "state read failed: %s", assay_strerror(rc));
	return rc;
}

int exec_kind_admits(unsigned kind)
{
	const struct exec_kind *k = exec_kind_of(kind);
	return k && k->admit;
}

int exec_tx_admissible(const struct chain_params *params, const struct compute_params *compute,
		       const struct ledger *l, uint64_t height, const struct tx *t, char *err, size_t errlen)
{
	const struct exec_kind *k = exec_kind_of(t->kind);
	struct tx_decoded d;
	struct compute_env env;
	uint8_t sender[ADDR_LEN];
	if (!k || !k->admit)
		return 0; /* no decode for the kinds without a rule: the mempool asks for every queued tx */
	if (k->decode(t, &d))
		return assay_fail(err, errlen, ASSAY_EDECODE, "malformed %s payload", k->name);
	tx_sender_addr(t, sender);
	compute_env_at(params, compute, l, height, &env);
	return admit_decoded(&env, t, &d, sender, err, errlen);
}

int exec_tx(struct exec_ctx *x, const struct tx *t, struct receipt *rc, char *err, size_t errlen)
{
	struct tx_decoded d;
	uint8_t sender[ADDR_LEN];
	struct account acct;
	uint64_t cost;
	memset(rc, 0, sizeof(*rc));
	int e = tx_rules_check_decoded(x->params, x->chain_id, t, 0, &d, err, errlen);
	if (e)
		return e;
	tx_sender_addr(t, sender);
	state_key(NS_ACCOUNT, sender, ADDR_LEN, x->sender_key);
	if ((e = ledger_get_account_at(&x->l, x->sender_key, &acct)) != 0)
		return assay_fail(err, errlen, e, "state read failed: %s", assay_strerror(e));
	if (t->nonce != acct.nonce)
		return assay_fail(err, errlen, ASSAY_ENONCE, "nonce %llu, expected %llu",
				  (unsigned long long)t->nonce, (unsigned long long)acct.nonce);
	if (amount_add(t->fee, d.value, &cost) || acct.balance < cost) {
		char has[LEDGER_AMOUNT_STR_MAX], needs[LEDGER_AMOUNT_STR_MAX];
		ledger_amount_format(acct.balance, has);
		ledger_amount_format(cost, needs);
		return assay_fail(err, errlen, ASSAY_EBALANCE, "insufficient balance: has %s, needs %s", has, needs);
	}
	if (acct.nonce == UINT64_MAX)
		return assay_fail(err, errlen, ASSAY_ENONCE, "account nonce exhausted");
	/* A kind's failure that the state already decides makes the transaction
	 * invalid, before its fee is taken (protocol §5.2 step 1): it cannot
	 * take a budget's room by failing (compute.md §10). */
	if (exec_kind_admits(t->kind)) {
		struct compute_env env;
		compute_env_of(x, &env);
		if ((e = admit_decoded(&env, t, &d, sender, err, errlen)) != 0)
			return e;
	}
	acct.balance -= t->fee;
	acct.nonce++;
	if ((e = ledger_put_account_at(&x->l, x->sender_key, &acct)) != 0 ||
	    (e = ledger_credit_at(&x->l, x->proposer_key, t->fee)) != 0)
		return assay_fail(err, errlen, e, "fee payment failed: %s", assay_strerror(e));
	size_t snap = ledger_snapshot(&x->l);
	e = exec_kind_of(t->kind)->apply(x, t, &d, sender, rc);
	if (e == 0) {
		rc->ok = 1;
		return 0;
	}
	ledger_revert(&x->l, snap);
	if (assay_err_is_local(e))
		return assay_fail(err, errlen, e, "local failure while executing: %s", rc->error);
	for (size_t i = 0; i < rc->nevents; i++) /* a failed transaction keeps no events */
		free(rc->events[i].data);
	free(rc->events);
	rc->events = NULL;
	rc->nevents = 0;
	return 0;
}

uint64_t exec_tx_chunk_bytes(const struct tx *t)
{
	struct job_chunks_payload p;
	if (t->kind != TX_JOB_CHUNKS || avail_chunks_decode(&p, t->payload, t->payload_len))
		return 0;
	return avail_chunks_declared(&p);
}

int exec_end_block(struct exec_ctx *x, char *err, size_t errlen)
{
	struct compute_env env;
	compute_env_of(x, &env);
	int rc = compute_end_block(&env);
	if (rc)
		return assay_fail(err, errlen, rc, "compute end of block failed: %s", assay_strerror(rc));
	struct validators_ctx vc = validators_ctx_of(x);
	return validators_end_block(&vc, x->last_commit, err, errlen);
}

static unsigned long long sat64(unsigned __int128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (unsigned long long)v;
}

int exec_block(struct exec_ctx *x, const struct block *blk, struct receipt *receipts, char *err,
	       size_t errlen)
{
	/* 128-bit sums of at most 2^32 gas limits of 64 bits: they cannot wrap,
	 * whatever max_block_gas allows a limit to be (a proposer that sends its
	 * own transactions gets their fees back, so large limits cost nothing) */
	unsigned __int128 gas = 0, reveal_gas = 0;
	uint64_t chunk_bytes = 0;
	int rc;
	for (size_t i = 0; i < blk->ntx; i++) {
		char terr[160];
		const struct tx *t = &blk->txs[i];
		if ((rc = exec_tx(x, t, &receipts[i], terr, sizeof(terr))) < 0)
			return assay_fail(err, errlen, rc, "transaction %zu %s: %s", i,
					  assay_err_is_local(rc) ? "not executed" : "invalid", terr);
		if (exec_in_reveal_lane(t))
			reveal_gas += t->gas_limit;
		else
			gas += t->gas_limit;
		chunk_bytes += exec_tx_chunk_bytes(t);
	}
	if (gas > x->params->max_block_gas)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "block gas %llu above the limit", sat64(gas));
	if (reveal_gas > x->compute->reveal_block_gas)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "reveal gas %llu above reveal_block_gas",
				  sat64(reveal_gas));
	if (chunk_bytes > x->compute->chunk_budget_bytes)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "block chunk bytes %llu above chunk_budget_bytes",
				  (unsigned long long)chunk_bytes);
	return exec_end_block(x, err, errlen);
}

/* RPC methods of the compute protocol (docs/rpc.md "Compute"): jobs, workers
 * and blobs read from the committed state, and the parameters a worker or a
 * client needs to build compute transactions. Read-only: nothing here changes
 * state; workers and clients submit through sendrawtransaction. Not for: the
 * rules themselves (consensus/compute). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/compute.h"
#include "core/error.h"
#include "node/node.h"

static json_t *hexj(const uint8_t *p, size_t len)
{
	char *s = malloc(2 * len + 1);
	if (!s)
		return json_null();
	hex_encode(p, len, s);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static json_t *addrj(const struct node *n, const uint8_t addr[ADDR_LEN])
{
	char text[ADDR_STR_MAX];
	address_encode(n->genesis.net, addr, text);
	return json_string(text);
}

/* A height that has not happened yet (0 in the record) reads as null. */
static json_t *heightj(uint64_t h)
{
	return h ? json_integer((json_int_t)h) : json_null();
}

static int hash_param(json_t *v, uint8_t out[HASH_LEN], const char *what, struct rpc_error *e)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != 2 * HASH_LEN ||
	    hex_decode(json_string_value(v), out, HASH_LEN) != HASH_LEN)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected %s (64 hex digits)", what);
	return 0;
}

static int addr_param(const struct node *n, json_t *v, uint8_t addr[ADDR_LEN], struct rpc_error *e)
{
	enum network net;
	if (!json_is_string(v) || address_decode(json_string_value(v), &net, addr) < 0 || net != n->genesis.net)
		return rpc_fail(e, RPC_INVALID_PARAMS, "expected an address of this network (%s1...)",
				network_hrp(n->genesis.net));
	return 0;
}

static const char *kind_name(unsigned kind)
{
	return kind == JOB_MATMUL_I8 ? "matmul-i8" : kind == JOB_MLP_I8 ? "mlp-i8" : "unknown";
}

static json_t *worker_json(const struct node *n, const struct worker_record *w)
{
	return json_pack("{s:o,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:s,s:s}", "address", addrj(n, w->addr), "status",
			 compute_worker_status_name(w->status), "bond", (json_int_t)w->bond, "locked",
			 (json_int_t)w->locked, "jobs_in_flight",
			 (json_int_t)w->jobs_in_flight, "jobs_done", (json_int_t)w->jobs_done, "jobs_failed",
			 (json_int_t)w->jobs_failed, "slashed_total", (json_int_t)w->slashed_total,
			 "registered_height", (json_int_t)w->registered_height, "unbond_height",
			 heightj(w->unbond_height), "endpoint", w->endpoint, "backend", w->backend);
}

static json_t *job_json(struct node *n, const struct job_record *j)
{
	const struct job_spec *sp = &j->spec;
	const struct job_shape *s = &sp->shape;
	static const uint8_t zero[HASH_LEN];
	json_t *o = json_pack("{s:o,s:o,s:s,s:s,s:I,s:I}", "job_id", hexj(j->id, HASH_LEN), "submitter",
			      addrj(n, j->submitter), "kind", kind_name(s->kind), "state",
			      compute_job_state_name(j->state), "m", (json_int_t)s->m, "n", (json_int_t)s->n);
	if (s->kind == JOB_MATMUL_I8) {
		json_object_set_new(o, "k", json_integer(s->k));
	} else {
		json_t *dims = json_array(), *shifts = json_array();
		for (unsigned l = 0; l <= s->layers; l++)
			json_array_append_new(dims, json_integer(s->dims[l]));
		for (unsigned l = 0; l < s->layers; l++)
			json_array_append_new(shifts, json_integer(s->shifts[l]));
		json_object_set_new(o, "layers", json_integer(s->layers));
		json_object_set_new(o, "dims", dims);
		json_object_set_new(o, "shifts", shifts);
	}
	json_object_set_new(o, "tile_rows", json_integer(s->tile_rows));
	json_object_set_new(o, "tile_cols", json_integer(s->tile_cols));
	json_object_set_new(o, "tiles", json_integer(kernel_tile_count(s)));
	json_object_set_new(o, "output_bytes", json_integer((json_int_t)kernel_output_bytes(s)));
	if (sp->input_kind == JOB_INPUT_SEED) {
		json_object_set_new(o, "input", json_string("seed"));
		json_object_set_new(o, "seed", hexj(sp->seed, HASH_LEN));
	} else {
		json_t *blobs = json_array();
		for (unsigned i = 0; i < kernel_input_count(s); i++)
			json_array_append_new(blobs, hexj(sp->blobs[i], HASH_LEN));
		json_object_set_new(o, "input", json_string("blobs"));
		json_object_set_new(o, "blobs", blobs);
	}
	json_object_set_new(o, "samples", json_integer(sp->samples));
	json_object_set_new(o, "redundancy", json_integer(sp->redundancy));
	json_object_set_new(o, "reward", json_integer((json_int_t)sp->reward));
	json_object_set_new(o, "deadline_blocks", json_integer(sp->deadline_blocks));
	json_object_set_new(o, "submit_height", json_integer((json_int_t)j->submit_height));
	json_object_set_new(o, "deadline_height", json_integer((json_int_t)j->deadline_height));
	json_object_set_new(o, "escrow", json_integer((json_int_t)j->escrow));
	json_object_set_new(o, "verified_height", heightj(j->verified_height));
	json_object_set_new(o, "payout_height", heightj(j->payout_height));
	json_object_set_new(o, "check_escrow", json_integer((json_int_t)j->check_escrow));
	json_object_set_new(o, "salt_hash", hexj(sp->salt_hash, HASH_LEN));
	json_object_set_new(o, "sealed_height", heightj(j->sealed_height));
	json_object_set_new(o, "challenge_height", heightj(j->challenge_height));
	json_object_set_new(o, "challenge_beacon",
			    j->challenge_height ? hexj(j->challenge_beacon, HASH_LEN) : json_null());
	json_object_set_new(o, "salt", j->salt_posted ? hexj(j->salt, HASH_LEN) : json_null());
	struct ledger l = chain_ledger(n->chain);
	json_t *slots = json_array();
	for (unsigned i = 0; i < sp->redundancy && i < JOB_MAX_REDUNDANCY; i++) {
		const struct job_slot *sl = &j->slots[i];
		json_t *so = json_pack("{s:i,s:s}", "slot", (int)i, "state", compute_slot_state_name(sl->state));
		if (sl->state != SLOT_EMPTY) {
			struct worker_record w;
			json_object_set_new(so, "worker", addrj(n, sl->worker));
			json_object_set_new(so, "endpoint",
					    compute_get_worker(&l, sl->worker, &w) == 0 ? json_string(w.endpoint)
											: json_null());
			json_object_set_new(so, "assigned_height", heightj(sl->assigned_height));
			json_object_set_new(so, "commit_height", heightj(sl->commit_height));
			json_object_set_new(so, "challenge_height", heightj(sl->challenge_height));
			json_object_set_new(so, "reveal_height", heightj(sl->reveal_height));
			/* the root and its challenge are known once the reveal opened it */
			int committed = sl->commit_height != 0, opened = memcmp(sl->root, zero, HASH_LEN) != 0;
			json_object_set_new(so, "lock", json_integer((json_int_t)sl->lock));
			json_object_set_new(so, "commitment", committed ? hexj(sl->commitment, HASH_LEN) : json_null());
			json_object_set_new(so, "root", opened ? hexj(sl->root, HASH_LEN) : json_null());
			json_object_set_new(so, "challenge_seed", opened ? hexj(sl->challenge_seed, HASH_LEN) : json_null());
			json_object_set_new(so, "uploaded_tiles", json_integer((json_int_t)sl->uploaded_tiles));
		}
		json_array_append_new(slots, so);
	}
	json_object_set_new(o, "slots", slots);
	json_t *excluded = json_array();
	for (unsigned i = 0; i < j->excluded_count && i < JOB_MAX_EXCLUDED; i++)
		json_array_append_new(excluded, addrj(n, j->excluded[i]));
	json_object_set_new(o, "excluded", excluded);
	/* The canonical record (docs/compute.md §8), so that a worker or client
	 * decodes exactly what the chain holds with compute_job_decode. */
	struct buf rec;
	buf_init(&rec);
	compute_job_encode(j, &rec);
	json_object_set_new(o, "record", rec.oom ? json_null() : hexj(rec.data, rec.len));
	buf_free(&rec);
	return o;
}

static int m_getjob(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t id[HASH_LEN];
	struct job_record j;
	if (hash_param(rpc_param(params, 0), id, "a job id", e) < 0)
		return -1;
	struct ledger l = chain_ledger(n->chain);
	int rc = compute_get_job(&l, id, &j);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no such job");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the job: %s", assay_strerror(rc));
	*result = job_json(n, &j);
	json_object_set_new(*result, "height", json_integer((json_int_t)chain_height(n->chain)));
	return 0;
}

struct list_filter {
	struct node *n;
	int state;                   /* -1: any */
	int by_submitter, by_worker; /* filters given */
	uint8_t submitter[ADDR_LEN], worker[ADDR_LEN];
	json_t *out;
};

static int list_job(void *arg, const struct job_record *j)
{
	struct list_filter *f = arg;
	if (f->state >= 0 && j->state != f->state)
		return 0;
	if (f->by_submitter && memcmp(j->submitter, f->submitter, ADDR_LEN) != 0)
		return 0;
	if (f->by_worker) {
		int found = 0;
		for (unsigned i = 0; i < j->spec.redundancy && i < JOB_MAX_REDUNDANCY; i++)
			found |= j->slots[i].state != SLOT_EMPTY &&
				 memcmp(j->slots[i].worker, f->worker, ADDR_LEN) == 0;
		if (!found)
			return 0;
	}
	json_array_append_new(f->out, job_json(f->n, j));
	return 0;
}

/* listjobs [{"state": S, "submitter": A, "worker": A}] or positional
 * [STATE [SUBMITTER [WORKER]]] where null or "" skips a filter. */
static int m_listjobs(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct list_filter f = {.n = n, .state = -1};
	json_t *state, *submitter, *worker;
	json_t *first = rpc_param(params, 0);
	if (json_is_object(params) || json_is_object(first)) {
		json_t *o = json_is_object(params) ? params : first;
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v)
			if (strcmp(k, "state") != 0 && strcmp(k, "submitter") != 0 && strcmp(k, "worker") != 0)
				return rpc_fail(e, RPC_INVALID_PARAMS,
						"unknown filter \"%.40s\" (listjobs takes state, submitter, worker)", k);
		state = json_object_get(o, "state");
		submitter = json_object_get(o, "submitter");
		worker = json_object_get(o, "worker");
	} else {
		state = first;
		submitter = rpc_param(params, 1);
		worker = rpc_param(params, 2);
	}
	if (state && !json_is_null(state) && !(json_is_string(state) && !*json_string_value(state))) {
		for (unsigned s = 0; s < JOB_STATE_COUNT && json_is_string(state); s++)
			if (strcmp(json_string_value(state), compute_job_state_name(s)) == 0)
				f.state = (int)s;
		if (f.state < 0)
			return rpc_fail(e, RPC_INVALID_PARAMS,
					"state must be one of open, assigned, committed, verified, paid, failed, refunded");
	}
	if (submitter && !json_is_null(submitter) && !(json_is_string(submitter) && !*json_string_value(submitter))) {
		if (addr_param(n, submitter, f.submitter, e) < 0)
			return -1;
		f.by_submitter = 1;
	}
	if (worker && !json_is_null(worker) && !(json_is_string(worker) && !*json_string_value(worker))) {
		if (addr_param(n, worker, f.worker, e) < 0)
			return -1;
		f.by_worker = 1;
	}
	f.out = json_array();
	struct ledger l = chain_ledger(n->chain);
	int rc = compute_list_jobs(&l, list_job, &f);
	if (rc) {
		json_decref(f.out);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot list jobs: %s", assay_strerror(rc));
	}
	*result = f.out;
	return 0;
}

static int m_getworker(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t addr[ADDR_LEN];
	struct worker_record w;
	if (addr_param(n, rpc_param(params, 0), addr, e) < 0)
		return -1;
	struct ledger l = chain_ledger(n->chain);
	int rc = compute_get_worker(&l, addr, &w);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "not a registered worker");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the worker: %s", assay_strerror(rc));
	*result = worker_json(n, &w);
	return 0;
}

struct worker_list {
	struct node *n;
	json_t *out;
};

static int list_worker(void *arg, const struct worker_record *w)
{
	struct worker_list *wl = arg;
	json_array_append_new(wl->out, worker_json(wl->n, w));
	return 0;
}

static int m_listworkers(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	struct worker_list wl = {n, json_array()};
	struct ledger l = chain_ledger(n->chain);
	int rc = compute_list_workers(&l, list_worker, &wl);
	if (rc) {
		json_decref(wl.out);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot list workers: %s", assay_strerror(rc));
	}
	*result = wl.out;
	return 0;
}

static int m_getblob(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	uint8_t hash[HASH_LEN], key[HASH_LEN], *val;
	size_t len;
	if (hash_param(rpc_param(params, 0), hash, "a blob hash", e) < 0)
		return -1;
	struct ledger l = chain_ledger(n->chain);
	state_key(NS_BLOB, hash, HASH_LEN, key);
	int rc = ledger_get(&l, key, &val, &len);
	if (rc == ASSAY_ENOTFOUND)
		return rpc_fail(e, RPC_NOT_FOUND, "no such blob");
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "cannot read the blob: %s", assay_strerror(rc));
	*result = json_pack("{s:o,s:I,s:o}", "hash", hexj(hash, HASH_LEN), "size", (json_int_t)len, "data",
			    hexj(val, len));
	free(val);
	return 0;
}

/* What a worker or a client needs to build compute transactions: the compute
 * parameters and the fee rule (fee >= min_fee + gas_limit * gas_price). */
static int m_getcomputeparams(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	struct node *n = ctx;
	const struct compute_params *c = &n->genesis.compute;
	const struct chain_params *p = &n->genesis.params;
	*result = json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "samples_k",
		(json_int_t)c->samples_k, "max_dim", (json_int_t)c->max_dim, "max_output_bytes",
		(json_int_t)c->max_output_bytes, "commit_window", (json_int_t)c->commit_window, "reveal_window",
		(json_int_t)c->reveal_window, "dispute_window", (json_int_t)c->dispute_window, "min_reward",
		(json_int_t)c->min_reward, "min_bond", (json_int_t)c->min_bond, "max_blob_bytes",
		(json_int_t)c->max_blob_bytes, "slash_bps", (json_int_t)c->slash_bps, "slash_submitter_bps",
		(json_int_t)c->slash_submitter_bps, "missed_deadline_slash_bps",
		(json_int_t)c->missed_deadline_slash_bps, "gas_per_check_unit", (json_int_t)c->gas_per_check_unit,
		"dispute_bond", (json_int_t)c->dispute_bond, "bond_reward_bps", (json_int_t)c->bond_reward_bps,
		"max_live_jobs", (json_int_t)c->max_live_jobs, "max_workers", (json_int_t)c->max_workers,
		"max_jobs_per_worker", (json_int_t)c->max_jobs_per_worker, "max_deadline_blocks",
		(json_int_t)c->max_deadline_blocks, "unbond_delay", (json_int_t)c->unbond_delay);
	json_object_set_new(*result, "challenge_delay", json_integer((json_int_t)c->challenge_delay));
	json_object_set_new(*result, "salt_window", json_integer((json_int_t)c->salt_window));
	json_object_set_new(*result, "reveal_block_gas", json_integer((json_int_t)c->reveal_block_gas));
	json_object_set_new(*result, "upload_window", json_integer((json_int_t)c->upload_window));
	json_object_set_new(*result, "chunk_budget_bytes", json_integer((json_int_t)c->chunk_budget_bytes));
	json_object_set_new(*result, "chunk_retention_blocks", json_integer((json_int_t)c->chunk_retention_blocks));
	json_object_set_new(*result, "min_fee", json_integer((json_int_t)p->min_fee));
	json_object_set_new(*result, "gas_price", json_integer((json_int_t)p->gas_price));
	json_object_set_new(*result, "max_tx_bytes", json_integer((json_int_t)p->max_tx_bytes));
	json_object_set_new(*result, "max_block_gas", json_integer((json_int_t)p->max_block_gas));
	json_object_set_new(*result, "network", json_string(n->genesis.network_name));
	return 0;
}

/* The chain parameters of the genesis (consensus/params.h, docs/protocol.md
 * §8) with the chain's identity: what a client needs to sign for this chain
 * and to pay the fee floor (fee >= min_fee + gas_limit x gas_price). */
static int m_getchainparams(void *ctx, json_t *params, json_t **result, struct rpc_error *e)
{
	(void)params;
	struct node *n = ctx;
	const struct chain_params *p = &n->genesis.params;
	*result = json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "chain", n->genesis.chain,
			    "network", n->genesis.network_name, "hrp", network_hrp(n->genesis.net), "chain_id",
			    hexj(n->genesis.hash, HASH_LEN), "block_time_ms", (json_int_t)p->block_time_ms,
			    "max_block_txs", (json_int_t)p->max_block_txs, "max_block_bytes",
			    (json_int_t)p->max_block_bytes, "max_tx_bytes", (json_int_t)p->max_tx_bytes,
			    "max_block_gas", (json_int_t)p->max_block_gas, "min_fee", (json_int_t)p->min_fee,
			    "gas_price", (json_int_t)p->gas_price, "max_future_ms", (json_int_t)p->max_future_ms);
	if (!*result)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	/* the validator and BFT timeout parameters (protocol §8, §10) */
	const struct {
		const char *name;
		uint64_t value;
	} more[] = {
		{"min_validator_bond", p->min_validator_bond}, {"unbonding_period", p->unbonding_period},
		{"evidence_max_age", p->evidence_max_age},     {"evidence_slash_bps", p->evidence_slash_bps},
		{"jail_blocks", p->jail_blocks},               {"downtime_window", p->downtime_window},
		{"downtime_max_missed", p->downtime_max_missed}, {"timeout_propose_ms", p->timeout_propose_ms},
		{"timeout_propose_delta_ms", p->timeout_propose_delta_ms}, {"timeout_prevote_ms", p->timeout_prevote_ms},
		{"timeout_prevote_delta_ms", p->timeout_prevote_delta_ms},
		{"timeout_precommit_ms", p->timeout_precommit_ms},
		{"timeout_precommit_delta_ms", p->timeout_precommit_delta_ms},
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		json_object_set_new(*result, more[i].name, json_integer((json_int_t)more[i].value));
	return 0;
}

static const struct rpc_method compute_methods[] = {
	{"getjob", m_getjob, "getjob JOB_ID - a compute job: spec, state, escrow, slots with heights, roots and challenges"},
	{"listjobs", m_listjobs, "listjobs [STATE [SUBMITTER [WORKER]]] - live jobs in submission order, filtered"},
	{"getworker", m_getworker, "getworker ADDRESS - a compute worker's bond, status, counters and endpoint"},
	{"listworkers", m_listworkers, "listworkers - registered compute workers in address order"},
	{"getblob", m_getblob, "getblob HASH - a stored blob's bytes as hex"},
	{"getcomputeparams", m_getcomputeparams, "getcomputeparams - compute parameters and the fee rule"},
	{"getchainparams", m_getchainparams, "getchainparams - the chain's id, network and parameters (fee rule, limits)"},
};

void node_register_compute_rpc(struct node *n)
{
	rpc_register(n->rpc, compute_methods, sizeof(compute_methods) / sizeof(compute_methods[0]), n);
	rpc_set_named_params(n->rpc, "listjobs"); /* its filters may be one object (docs/rpc.md) */
}

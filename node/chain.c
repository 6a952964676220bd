/* Block validation, execution and commitment (see chain.h). Rules cite
 * docs/protocol.md. Execution of one block happens on a ledger_mem overlay
 * over the committed state; the overlay's writes become the new state only
 * if every check passes, in the same LevelDB batch as the block itself. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/merkle.h"
#include "core/vrf.h"
#include "consensus/compute/compute.h"
#include "consensus/compute/compute_codec.h"
#include "node/chain.h"
#include "vm/vm.h"

#define META_TIP "tip"
#define META_TIP_COMMIT "tipcommit"
#define META_CHAIN_ID "chain_id"
#define META_NETWORK "network"
/* Present while a reindex is under way: the block it replays up to and that
 * block's commit (docs/storage.md, "Reindex"). */
#define META_REINDEX "reindex"

/* A block this node built and executed, kept so that applying it does not
 * execute it a second time. */
struct built_block {
	int valid;
	uint8_t hash[HASH_LEN];
	ledger_mem_t *overlay;
	struct state_staged staged;
	struct receipt *receipts;
	size_t nreceipts;
};

struct chain {
	store_t *store;
	state_t *state;
	struct genesis g;
	struct block_header tip;
	uint8_t tip_hash[HASH_LEN];
	struct commit tip_commit; /* precommits for the tip, for the next block */
	uint8_t validators_hash[HASH_LEN];
	uint64_t total_stake;
	int verify_threads;
	struct built_block built;
	int reindexing;                /* META_REINDEX was found or written */
	uint64_t reindex_target;       /* height the reindex replays up to */
	struct commit reindex_commit;  /* commit of the target block, if known */
};

void receipt_free(struct receipt *r)
{
	for (size_t i = 0; i < r->nevents; i++)
		free(r->events[i].data);
	free(r->events);
	memset(r, 0, sizeof(*r));
}

/* docs/protocol.md §6.2: u8 ok, bytes error, u64 gas_used, bytes created,
 * varint n, n × (20 contract, bytes data). */
void receipt_encode(const struct receipt *r, struct buf *b)
{
	buf_put_u8(b, r->ok);
	buf_put_bytes(b, r->error, strlen(r->error));
	buf_put_u64(b, r->gas_used);
	buf_put_bytes(b, r->created, r->created_len);
	buf_put_varint(b, r->nevents);
	for (size_t i = 0; i < r->nevents; i++) {
		buf_put(b, r->events[i].contract, ADDR_LEN);
		buf_put_bytes(b, r->events[i].data, r->events[i].len);
	}
}

int receipt_decode(struct receipt *r, const uint8_t *p, size_t n)
{
	struct reader rd;
	size_t len;
	memset(r, 0, sizeof(*r));
	rd_init(&rd, p, n);
	r->ok = rd_u8(&rd);
	const uint8_t *e = rd_bytes(&rd, &len, RECEIPT_ERROR_MAX - 1);
	if (e)
		memcpy(r->error, e, len);
	r->gas_used = rd_u64(&rd);
	const uint8_t *cr = rd_bytes(&rd, &len, HASH_LEN);
	if (cr) {
		memcpy(r->created, cr, len);
		r->created_len = (uint8_t)len;
	}
	uint64_t nev = rd_count(&rd, RECEIPT_MAX_EVENTS);
	if (!rd.err && nev) {
		r->events = calloc((size_t)nev, sizeof(*r->events));
		if (!r->events)
			return ASSAY_ENOMEM;
	}
	for (size_t i = 0; i < nev && !rd.err; i++) {
		rd_copy(&rd, r->events[i].contract, ADDR_LEN);
		const uint8_t *d = rd_bytes(&rd, &len, LEDGER_VALUE_MAX);
		if (d) {
			r->events[i].data = malloc(len ? len : 1);
			if (!r->events[i].data)
				return ASSAY_ENOMEM;
			memcpy(r->events[i].data, d, len);
			r->events[i].len = len;
			r->nevents = i + 1;
		}
	}
	int rc = rd_finish(&rd);
	if (rc)
		receipt_free(r);
	return rc;
}

static int load_reindex_marker(chain_t *c);

static void built_clear(chain_t *c)
{
	struct built_block *bb = &c->built;
	if (!bb->valid)
		return;
	state_unstage(c->state, &bb->staged);
	state_staged_free(&bb->staged);
	ledger_mem_free(bb->overlay);
	for (size_t i = 0; i < bb->nreceipts; i++)
		receipt_free(&bb->receipts[i]);
	free(bb->receipts);
	memset(bb, 0, sizeof(*bb));
}

static void validators_hash(const struct genesis *g, uint8_t out[HASH_LEN])
{
	struct buf b;
	buf_init(&b);
	buf_put_varint(&b, g->nvalidators);
	for (size_t i = 0; i < g->nvalidators; i++) {
		buf_put(&b, g->validators[i].pubkey, PUBKEY_LEN);
		buf_put_u64(&b, g->validators[i].stake);
	}
	hash_tagged("assay/validators", b.data, b.len, out);
	buf_free(&b);
}

static int genesis_copy(struct genesis *dst, const struct genesis *src)
{
	*dst = *src;
	dst->allocs = malloc((src->nallocs ? src->nallocs : 1) * sizeof(*dst->allocs));
	dst->validators = malloc((src->nvalidators ? src->nvalidators : 1) * sizeof(*dst->validators));
	if (!dst->allocs || !dst->validators) {
		free(dst->allocs);
		free(dst->validators);
		memset(dst, 0, sizeof(*dst));
		return ASSAY_ENOMEM;
	}
	memcpy(dst->allocs, src->allocs, src->nallocs * sizeof(*dst->allocs));
	memcpy(dst->validators, src->validators, src->nvalidators * sizeof(*dst->validators));
	return 0;
}

/* The genesis block: height 0, no transactions, the initial state. */
static int genesis_block(chain_t *c, ledger_mem_t *ov, struct block *blk)
{
	struct ledger l = ledger_mem_ledger(ov);
	for (size_t i = 0; i < c->g.nallocs; i++) {
		int rc = ledger_credit(&l, c->g.allocs[i].addr, c->g.allocs[i].amount);
		if (rc)
			return rc;
	}
	block_init(blk);
	struct block_header *h = &blk->hdr;
	memcpy(h->chain_id, c->g.hash, HASH_LEN);
	h->height = 0;
	h->time_ms = c->g.time_ms;
	block_tx_root(blk, h->tx_root);
	commit_hash(&blk->last_commit, h->last_commit_hash);
	memcpy(h->validators_hash, c->validators_hash, HASH_LEN);
	hash_tagged("assay/beacon", c->g.hash, HASH_LEN, h->beacon);
	return 0;
}

static void put_tip(store_batch_t *b, const uint8_t hash[HASH_LEN], const struct commit *commit)
{
	store_batch_put_meta(b, META_TIP, hash, HASH_LEN);
	struct buf cb;
	buf_init(&cb);
	if (commit)
		commit_encode(commit, &cb);
	store_batch_put_meta(b, META_TIP_COMMIT, cb.data, cb.len);
	buf_free(&cb);
}

static int load_header(chain_t *c, const uint8_t hash[HASH_LEN], struct block_header *h)
{
	struct block blk;
	int rc = chain_get_block(c, hash, &blk);
	if (rc)
		return rc;
	*h = blk.hdr;
	block_free(&blk);
	return 0;
}

/* Writes the genesis block and state into an empty database. */
static int init_genesis(chain_t *c, int fresh_db, char *err, size_t errlen)
{
	ledger_mem_t *ov = ledger_mem_new(NULL);
	struct block blk;
	struct state_staged st;
	int rc;
	if (!ov)
		return ASSAY_ENOMEM;
	rc = genesis_block(c, ov, &blk);
	if (rc) {
		ledger_mem_free(ov);
		snprintf(err, errlen, "genesis: %s", assay_strerror(rc));
		return rc;
	}
	rc = state_stage(c->state, ov, &st, blk.hdr.state_root);
	if (rc) {
		ledger_mem_free(ov);
		block_free(&blk);
		snprintf(err, errlen, "genesis state: %s", assay_strerror(rc));
		return rc;
	}
	uint8_t hash[HASH_LEN];
	block_hash(&blk, hash);
	store_batch_t *b = store_batch_new();
	struct buf enc;
	buf_init(&enc);
	block_encode(&blk, &enc);
	if (fresh_db) {
		store_batch_put_block(b, hash, 0, enc.data, enc.len);
		store_batch_put_meta(b, META_CHAIN_ID, c->g.hash, HASH_LEN);
		store_batch_put_meta(b, META_NETWORK, c->g.network_name, strlen(c->g.network_name));
	}
	state_staged_to_batch(&st, b);
	put_tip(b, hash, NULL);
	rc = store_write(chain_store(c), b, 1);
	store_batch_free(b);
	buf_free(&enc);
	if (!rc)
		state_staged_committed(c->state, &st);
	state_staged_free(&st);
	ledger_mem_free(ov);
	if (rc) {
		block_free(&blk);
		snprintf(err, errlen, "cannot write genesis: %s", assay_strerror(rc));
		return rc;
	}
	c->tip = blk.hdr;
	memcpy(c->tip_hash, hash, HASH_LEN);
	commit_free(&c->tip_commit);
	block_free(&blk);
	return 0;
}

chain_t *chain_open(const char *dir, const struct genesis *g, char *err, size_t errlen)
{
	chain_t *c = calloc(1, sizeof(*c));
	uint8_t *val = NULL;
	size_t len;
	if (!c || genesis_copy(&c->g, g) < 0) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	validators_hash(&c->g, c->validators_hash);
	for (size_t i = 0; i < c->g.nvalidators; i++)
		c->total_stake += c->g.validators[i].stake;
	c->verify_threads = 1;
	c->store = store_open(dir, err, errlen);
	if (!c->store)
		goto fail;
	int fresh = store_get_meta(c->store, META_CHAIN_ID, &val, &len) == ASSAY_ENOTFOUND;
	if (!fresh) {
		if (len != HASH_LEN || memcmp(val, c->g.hash, HASH_LEN) != 0) {
			char theirs[16] = "?";
			uint8_t *net = NULL;
			size_t nl;
			if (store_get_meta(c->store, META_NETWORK, &net, &nl) == 0 && nl < sizeof(theirs)) {
				memcpy(theirs, net, nl);
				theirs[nl] = 0;
			}
			free(net);
			char theirs_id[17] = "?", ours_id[17];
			if (len == HASH_LEN)
				hex_encode(val, 8, theirs_id);
			hex_encode(c->g.hash, 8, ours_id);
			snprintf(err, errlen,
				 "the data directory holds another chain (network \"%s\", chain id %s...); this "
				 "node runs network \"%s\" (%s, chain id %s...): use another -datadir",
				 theirs, theirs_id, c->g.network_name, c->g.chain, ours_id);
			free(val);
			goto fail;
		}
		free(val);
		val = NULL;
	}
	c->state = state_open(c->store, err, errlen);
	if (!c->state)
		goto fail;
	if (fresh) {
		if (init_genesis(c, 1, err, errlen) < 0)
			goto fail;
		return c;
	}
	if (store_get_meta(c->store, META_TIP, &val, &len) < 0 || len != HASH_LEN) {
		snprintf(err, errlen, "database has no tip record: run with -reindex");
		goto fail;
	}
	memcpy(c->tip_hash, val, HASH_LEN);
	free(val);
	val = NULL;
	if (load_header(c, c->tip_hash, &c->tip) < 0) {
		snprintf(err, errlen, "cannot read the tip block: the database is damaged (-reindex)");
		goto fail;
	}
	if (store_get_meta(c->store, META_TIP_COMMIT, &val, &len) == 0 && len) {
		struct reader r;
		rd_init(&r, val, len);
		if (commit_read(&c->tip_commit, &r) < 0 || rd_finish(&r) < 0)
			commit_free(&c->tip_commit);
	}
	free(val);
	if (load_reindex_marker(c) < 0) {
		snprintf(err, errlen, "the reindex record is damaged: run with -reindex");
		goto fail;
	}
	uint8_t root[HASH_LEN];
	state_root(c->state, root);
	if (c->reindexing && memcmp(root, c->tip.state_root, HASH_LEN) != 0) {
		/* Killed after the reindex dropped the state (with its marker,
		 * in one batch) and before the genesis state was written. */
		if (init_genesis(c, 0, err, errlen) < 0)
			goto fail;
		state_root(c->state, root);
	}
	if (memcmp(root, c->tip.state_root, HASH_LEN) != 0) {
		snprintf(err, errlen, "state does not match the tip's state root: run with -reindex");
		goto fail;
	}
	return c;
fail:
	chain_close(c);
	return NULL;
}

void chain_close(chain_t *c)
{
	if (!c)
		return;
	built_clear(c);
	state_close(c->state);
	store_close(c->store);
	commit_free(&c->tip_commit);
	commit_free(&c->reindex_commit);
	genesis_free(&c->g);
	free(c);
}

const struct genesis *chain_genesis(const chain_t *c) { return &c->g; }
uint64_t chain_height(const chain_t *c) { return c->tip.height; }
const struct block_header *chain_tip(const chain_t *c) { return &c->tip; }
void chain_tip_hash(const chain_t *c, uint8_t hash[HASH_LEN]) { memcpy(hash, c->tip_hash, HASH_LEN); }
state_t *chain_state(chain_t *c) { return c->state; }
store_t *chain_store(chain_t *c) { return c->store; }
struct ledger chain_ledger(chain_t *c) { return state_ledger(c->state); }
void chain_set_verify_threads(chain_t *c, int n) { c->verify_threads = n < 1 ? 1 : n; }

/* Decodes t's payload by kind (protocol §3) and gives what it moves out of
 * the sender besides the fee; for a deploy also the code. 0, or the
 * decoder's error. Kinds without a payload of their own move nothing. */
static int payload_value(const struct tx *t, uint64_t *value, const uint8_t **code, size_t *code_len)
{
	const uint8_t *p = t->payload;
	size_t n = t->payload_len;
	int rc = 0;
	*value = 0;
	switch (t->kind) {
	case TX_TRANSFER: {
		struct transfer_payload tp;
		if ((rc = transfer_decode(&tp, p, n)) == 0)
			*value = tp.amount;
		break;
	}
	case TX_DEPLOY: {
		struct vm_deploy_payload dp;
		if ((rc = vm_deploy_payload_decode(&dp, p, n)) == 0) {
			*value = dp.value;
			if (code) {
				*code = dp.code;
				*code_len = dp.code_len;
			}
		}
		break;
	}
	case TX_CALL: {
		struct vm_call_payload cp;
		if ((rc = vm_call_payload_decode(&cp, p, n)) == 0)
			*value = cp.value;
		break;
	}
	case TX_JOB_SUBMIT: {
		struct job_spec spec;
		if ((rc = compute_spec_decode(&spec, p, n)) == 0)
			*value = spec.reward;
		break;
	}
	case TX_WORKER_REGISTER: {
		struct worker_register_payload wr;
		if ((rc = compute_register_decode(&wr, p, n)) == 0)
			*value = wr.bond;
		break;
	}
	case TX_WORKER_UNBOND:
		rc = n ? ASSAY_EDECODE : 0; /* takes no payload */
		break;
	case TX_JOB_COMMIT: {
		struct job_commit_payload cm;
		rc = compute_commit_decode(&cm, p, n);
		break;
	}
	case TX_JOB_REVEAL: {
		struct job_reveal_payload rv;
		rc = compute_reveal_decode(&rv, p, n);
		break;
	}
	case TX_JOB_DISPUTE: {
		struct job_dispute_payload dp;
		rc = compute_dispute_decode(&dp, p, n);
		break;
	}
	case TX_BLOB: {
		struct blob_payload bl;
		rc = compute_blob_decode(&bl, p, n);
		break;
	}
	default:
		break;
	}
	return rc;
}

int chain_tx_cost(const struct tx *t, uint64_t *cost)
{
	uint64_t value;
	*cost = t->fee;
	if (payload_value(t, &value, NULL, NULL) != 0)
		return 0; /* undecodable: refused by chain_check_tx before it matters */
	return amount_add(*cost, value, cost) ? ASSAY_EOVERFLOW : 0;
}

static int kind_enabled(unsigned kind)
{
	switch (kind) {
	case TX_TRANSFER:
	case TX_DEPLOY:
	case TX_CALL:
	case TX_WORKER_REGISTER:
	case TX_WORKER_UNBOND:
	case TX_JOB_SUBMIT:
	case TX_JOB_COMMIT:
	case TX_JOB_REVEAL:
	case TX_JOB_DISPUTE:
	case TX_BLOB:
		return 1;
	default: /* validator_bond, validator_unbond, evidence: the BFT engine's */
		return 0;
	}
}

/* The payload of each enabled kind must decode; deployed code must pass the
 * VM's validator (contracts.md §5), so broken code costs its sender nothing. */
static int check_payload(const struct tx *t, char *err, size_t errlen)
{
	const uint8_t *code = NULL;
	size_t code_len = 0;
	uint64_t value;
	char verr[160];
	int rc = payload_value(t, &value, &code, &code_len);
	if (rc) {
		snprintf(err, errlen, "malformed %s payload: %s", tx_kind_name(t->kind), assay_strerror(rc));
		return rc;
	}
	if (t->kind == TX_DEPLOY && (rc = vm_validate(code, code_len, verr, sizeof(verr))) != 0)
		snprintf(err, errlen, "invalid contract code: %s", verr);
	return rc;
}

/* docs/protocol.md §5.1: stateless validity. */
int chain_check_tx(const chain_t *c, const struct tx *t, int check_sig, char *err, size_t errlen)
{
	const struct chain_params *p = &c->g.params;
	if (memcmp(t->chain_id, c->g.hash, HASH_LEN) != 0) {
		snprintf(err, errlen, "wrong chain_id: transaction is for another network");
		return ASSAY_ECHAIN;
	}
	if (t->kind >= TX_KIND_COUNT || !kind_enabled(t->kind)) {
		snprintf(err, errlen, "transaction kind %s is not enabled on this chain", tx_kind_name(t->kind));
		return ASSAY_EINVALID;
	}
	if (t->payload_len + 200 > p->max_tx_bytes) {
		snprintf(err, errlen, "transaction too large (%zu payload bytes; limit %u bytes in all)",
			 t->payload_len, p->max_tx_bytes);
		return ASSAY_ELIMIT;
	}
	if (t->gas_limit > p->max_block_gas) {
		snprintf(err, errlen, "gas_limit %llu above the block gas limit %llu",
			 (unsigned long long)t->gas_limit, (unsigned long long)p->max_block_gas);
		return ASSAY_ELIMIT;
	}
	uint64_t need;
	if (chain_min_fee(p, t->gas_limit, &need) < 0 || t->fee < need) {
		snprintf(err, errlen, "fee %llu below the minimum %llu (min_fee + gas_limit x gas_price)",
			 (unsigned long long)t->fee, (unsigned long long)need);
		return ASSAY_EFEE;
	}
	int rc = check_payload(t, err, errlen);
	if (rc)
		return rc;
	uint64_t cost;
	if (chain_tx_cost(t, &cost) < 0) {
		snprintf(err, errlen, "amount plus fee overflows");
		return ASSAY_EOVERFLOW;
	}
	if (check_sig && tx_verify_sig(t) < 0) {
		snprintf(err, errlen, "bad signature");
		return ASSAY_ESIG;
	}
	return 0;
}

struct exec_ctx {
	chain_t *c;
	struct ledger l;
	uint8_t proposer_addr[ADDR_LEN];
	uint64_t height, time_ms;
	const uint8_t *beacon;
};

static void compute_env_of(const struct exec_ctx *x, struct compute_env *env)
{
	env->ledger = &x->l;
	env->params = &x->c->g.compute;
	env->height = x->height;
	env->time_ms = x->time_ms;
	memcpy(env->beacon, x->beacon, HASH_LEN);
	env->max_tx_bytes = x->c->g.params.max_tx_bytes;
	env->max_block_gas = x->c->g.params.max_block_gas;
}

/* A successful compute transaction can still have consequences worth a
 * line (a slash it proved); they travel as an event from the sender. */
static void add_note(struct receipt *rc, const uint8_t from[ADDR_LEN], const char *note)
{
	struct receipt_event *ev = realloc(rc->events, (rc->nevents + 1) * sizeof(*ev));
	if (!ev)
		return;
	rc->events = ev;
	ev = &rc->events[rc->nevents];
	memcpy(ev->contract, from, ADDR_LEN);
	ev->len = strlen(note);
	ev->data = malloc(ev->len + 1);
	if (!ev->data)
		return;
	memcpy(ev->data, note, ev->len + 1);
	rc->nevents++;
}

/* A job in JOB_VERIFIED can still be disputed and end JOB_FAILED with its
 * escrow refunded (compute.md §1, step 6), so a contract sees it verified
 * only once it is paid: a contract that paid out on the spot check alone
 * could not undo that payment, and the refund would then be stranded. */
uint32_t chain_job_vm_state(uint8_t job_state)
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
	*state = chain_job_vm_state(j.state);
	return 0;
}

static int job_submit_host(void *ctx, const uint8_t payer[20], const uint8_t *payload, size_t n,
			   uint8_t job_id[32])
{
	const struct exec_ctx *x = ctx;
	struct account acct;
	struct compute_env env;
	struct compute_result res;
	struct tx t;
	int rc = ledger_get_account(&x->l, payer, &acct);
	if (rc)
		return rc;
	memset(&t, 0, sizeof(t));
	memcpy(t.chain_id, x->c->g.hash, HASH_LEN);
	t.kind = TX_JOB_SUBMIT;
	t.nonce = acct.nonce; /* the job id derives from the contract's own nonce */
	t.payload = (uint8_t *)payload;
	t.payload_len = n;
	compute_env_of(x, &env);
	rc = compute_apply_tx(&env, &t, payer, 0, &res);
	if (rc)
		return rc;
	if ((rc = ledger_get_account(&x->l, payer, &acct)) != 0)
		return rc;
	acct.nonce++;
	if ((rc = ledger_put_account(&x->l, payer, &acct)) != 0)
		return rc;
	memcpy(job_id, res.job_id, HASH_LEN);
	return 0;
}

/* Kind-specific effects, inside a snapshot the caller reverts on error. */
static int exec_kind(struct exec_ctx *x, const struct tx *t, const uint8_t sender[ADDR_LEN],
		     struct receipt *rc)
{
	switch (t->kind) {
	case TX_TRANSFER: {
		struct transfer_payload tp;
		int err = transfer_decode(&tp, t->payload, t->payload_len);
		if (!err)
			err = ledger_transfer(&x->l, sender, tp.to, tp.amount);
		if (err)
			snprintf(rc->error, sizeof(rc->error), "transfer failed: %s", assay_strerror(err));
		return err;
	}
	case TX_DEPLOY:
	case TX_CALL: {
		struct vm_job_host jobs = {x, job_status_host, job_submit_host};
		struct vm_env env = {&x->l, x->height, x->time_ms, &jobs};
		struct vm_result res;
		int err = t->kind == TX_DEPLOY
				  ? vm_apply_deploy(&env, sender, t->nonce, t->gas_limit, t->payload, t->payload_len, &res)
				  : vm_apply_call(&env, sender, t->gas_limit, t->payload, t->payload_len, &res);
		rc->gas_used = res.gas_used;
		if (err) {
			snprintf(rc->error, sizeof(rc->error), "%s", res.error[0] ? res.error : assay_strerror(err));
		} else {
			if (t->kind == TX_DEPLOY) {
				memcpy(rc->created, res.contract, ADDR_LEN);
				rc->created_len = ADDR_LEN;
			}
			size_t n = res.nevents < RECEIPT_MAX_EVENTS ? res.nevents : RECEIPT_MAX_EVENTS;
			if (n && (rc->events = calloc(n, sizeof(*rc->events))) != NULL) {
				for (size_t i = 0; i < n; i++) {
					memcpy(rc->events[i].contract, res.events[i].contract, ADDR_LEN);
					rc->events[i].data = res.events[i].data; /* moved */
					rc->events[i].len = res.events[i].len;
					res.events[i].data = NULL;
				}
				rc->nevents = n;
			}
		}
		vm_result_free(&res);
		return err;
	}
	case TX_WORKER_REGISTER:
	case TX_WORKER_UNBOND:
	case TX_JOB_SUBMIT:
	case TX_JOB_COMMIT:
	case TX_JOB_REVEAL:
	case TX_JOB_DISPUTE:
	case TX_BLOB: {
		struct compute_env env;
		struct compute_result res;
		compute_env_of(x, &env);
		int err = compute_apply_tx(&env, t, sender, t->gas_limit, &res);
		rc->gas_used = res.gas_used;
		if (err)
			snprintf(rc->error, sizeof(rc->error), "%s", res.error[0] ? res.error : assay_strerror(err));
		else if (t->kind == TX_JOB_SUBMIT) {
			memcpy(rc->created, res.job_id, HASH_LEN);
			rc->created_len = HASH_LEN;
		}
		if (!err && res.error[0]) /* what a successful reveal or dispute caused */
			add_note(rc, sender, res.error);
		return err;
	}
	default:
		snprintf(rc->error, sizeof(rc->error), "kind not enabled");
		return ASSAY_EINVALID;
	}
}

/* docs/protocol.md §5.2. Returns <0 if t cannot be included at all (nonce or
 * funds for its cost); 0 if included, with rc saying whether it succeeded. */
static int exec_tx(struct exec_ctx *x, const struct tx *t, struct receipt *rc, char *err, size_t errlen)
{
	uint8_t sender[ADDR_LEN];
	struct account acct;
	uint64_t cost;
	memset(rc, 0, sizeof(*rc));
	tx_sender_addr(t, sender);
	int e = ledger_get_account(&x->l, sender, &acct);
	if (e) {
		snprintf(err, errlen, "state read failed: %s", assay_strerror(e));
		return e;
	}
	if (t->nonce != acct.nonce) {
		snprintf(err, errlen, "nonce %llu, expected %llu", (unsigned long long)t->nonce,
			 (unsigned long long)acct.nonce);
		return ASSAY_ENONCE;
	}
	if (chain_tx_cost(t, &cost) < 0 || acct.balance < cost) {
		snprintf(err, errlen, "insufficient balance: has %llu, needs %llu",
			 (unsigned long long)acct.balance, (unsigned long long)cost);
		return ASSAY_EBALANCE;
	}
	if (acct.nonce == UINT64_MAX) {
		snprintf(err, errlen, "account nonce exhausted");
		return ASSAY_ENONCE;
	}
	acct.balance -= t->fee;
	acct.nonce++;
	if ((e = ledger_put_account(&x->l, sender, &acct)) != 0 ||
	    (e = ledger_credit(&x->l, x->proposer_addr, t->fee)) != 0) {
		snprintf(err, errlen, "fee payment failed: %s", assay_strerror(e));
		return e;
	}
	size_t snap = ledger_snapshot(&x->l);
	if (exec_kind(x, t, sender, rc) == 0) {
		rc->ok = 1;
	} else {
		ledger_revert(&x->l, snap);
		for (size_t i = 0; i < rc->nevents; i++)
			free(rc->events[i].data);
		free(rc->events);
		rc->events = NULL;
		rc->nevents = 0;
	}
	return 0;
}

/* End-of-block processing shared by building and applying (protocol §5.3). */
static int end_block(struct exec_ctx *x, char *err, size_t errlen)
{
	struct compute_env env;
	compute_env_of(x, &env);
	int rc = compute_end_block(&env);
	if (rc)
		snprintf(err, errlen, "compute end of block failed: %s", assay_strerror(rc));
	return rc;
}

static unsigned varint_len(uint64_t v)
{
	unsigned n = 1;
	while (v >>= 7)
		n++;
	return n;
}

static void beacon_alpha(const uint8_t chain_id[HASH_LEN], uint64_t height,
			 const uint8_t parent_beacon[HASH_LEN], uint8_t alpha[HASH_LEN + 8 + HASH_LEN])
{
	memcpy(alpha, chain_id, HASH_LEN);
	le64_put(alpha + HASH_LEN, height);
	memcpy(alpha + HASH_LEN + 8, parent_beacon, HASH_LEN);
}

static void beacon_from(const uint8_t parent_beacon[HASH_LEN], const uint8_t beta[VRF_OUTPUT_LEN],
			uint8_t out[HASH_LEN])
{
	hash_tagged2("assay/beacon", parent_beacon, HASH_LEN, beta, VRF_OUTPUT_LEN, out);
}

static int is_validator(const chain_t *c, const uint8_t pk[PUBKEY_LEN], uint64_t *stake)
{
	for (size_t i = 0; i < c->g.nvalidators; i++) {
		if (memcmp(c->g.validators[i].pubkey, pk, PUBKEY_LEN) == 0) {
			if (stake)
				*stake = c->g.validators[i].stake;
			return 1;
		}
	}
	return 0;
}

void chain_sign_commit(const chain_t *c, const uint8_t sk[SECKEY_LEN], uint64_t height,
		       const uint8_t hash[HASH_LEN], struct commit *out)
{
	uint8_t msg[HASH_LEN];
	memset(out, 0, sizeof(*out));
	out->height = height;
	memcpy(out->block_hash, hash, HASH_LEN);
	out->sigs = calloc(1, sizeof(*out->sigs));
	if (!out->sigs)
		return;
	out->nsigs = 1;
	memcpy(out->sigs[0].validator, sk + 32, PUBKEY_LEN);
	vote_sighash(c->g.hash, VOTE_PRECOMMIT, height, 0, hash, msg);
	sig_sign(sk, msg, HASH_LEN, out->sigs[0].sig);
}

/* docs/protocol.md §4.3: precommits of more than 2/3 of the stake. */
static int check_commit(const chain_t *c, const struct commit *cm, uint64_t height,
			const uint8_t hash[HASH_LEN], char *err, size_t errlen)
{
	if (cm->height != height || memcmp(cm->block_hash, hash, HASH_LEN) != 0) {
		snprintf(err, errlen, "commit is for another block");
		return ASSAY_EINVALID;
	}
	unsigned __int128 power = 0; /* total stake is below 2^63 (genesis) */
	uint8_t msg[HASH_LEN];
	vote_sighash(c->g.hash, VOTE_PRECOMMIT, height, cm->round, hash, msg);
	for (uint32_t i = 0; i < cm->nsigs; i++) {
		uint64_t stake;
		for (uint32_t j = 0; j < i; j++) {
			if (memcmp(cm->sigs[i].validator, cm->sigs[j].validator, PUBKEY_LEN) == 0) {
				snprintf(err, errlen, "commit names a validator twice");
				return ASSAY_EINVALID;
			}
		}
		if (!is_validator(c, cm->sigs[i].validator, &stake)) {
			snprintf(err, errlen, "commit signed by a non-validator");
			return ASSAY_EINVALID;
		}
		if (sig_verify(cm->sigs[i].validator, msg, HASH_LEN, cm->sigs[i].sig) < 0) {
			snprintf(err, errlen, "commit has a bad precommit signature");
			return ASSAY_ESIG;
		}
		power += stake;
	}
	if (power * 3 <= (unsigned __int128)c->total_stake * 2) {
		snprintf(err, errlen, "commit has %llu of %llu stake, needs more than 2/3",
			 (unsigned long long)(uint64_t)power, (unsigned long long)c->total_stake);
		return ASSAY_EINVALID;
	}
	return 0;
}

static void free_receipts(struct receipt *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		receipt_free(&r[i]);
	free(r);
}

int chain_build_block(chain_t *c, const struct tx *const *txs, size_t n, uint64_t time_ms,
		      const uint8_t sk[SECKEY_LEN], struct block *blk, size_t *skipped, size_t *nskipped,
		      char *err, size_t errlen)
{
	const struct chain_params *p = &c->g.params;
	struct ledger ro = chain_ledger(c);
	built_clear(c);
	block_init(blk);
	if (nskipped)
		*nskipped = 0;
	ledger_mem_t *ov = ledger_mem_new(&ro);
	struct receipt *receipts = calloc(n ? n : 1, sizeof(*receipts));
	if (!ov || !receipts) {
		ledger_mem_free(ov);
		free(receipts);
		return ASSAY_ENOMEM;
	}
	struct block_header *hd = &blk->hdr;
	memcpy(hd->chain_id, c->g.hash, HASH_LEN);
	hd->height = c->tip.height + 1;
	hd->time_ms = time_ms > c->tip.time_ms ? time_ms : c->tip.time_ms + 1;
	memcpy(hd->prev_hash, c->tip_hash, HASH_LEN);
	memcpy(hd->validators_hash, c->validators_hash, HASH_LEN);
	memcpy(hd->proposer, sk + 32, PUBKEY_LEN);
	uint8_t alpha[HASH_LEN + 8 + HASH_LEN], beta[VRF_OUTPUT_LEN];
	beacon_alpha(c->g.hash, hd->height, c->tip.beacon, alpha);
	int rc = vrf_prove(sk, alpha, sizeof(alpha), hd->beacon_proof);
	if (!rc)
		rc = vrf_proof_to_hash(hd->beacon_proof, beta);
	if (rc) {
		snprintf(err, errlen, "cannot compute the beacon: %s", assay_strerror(rc));
		goto fail;
	}
	beacon_from(c->tip.beacon, beta, hd->beacon);
	if (hd->height > 1 && (rc = check_commit(c, &c->tip_commit, c->tip.height, c->tip_hash, err, errlen)) < 0) {
		/* A node that synced its tip from peers holds no commit for it
		 * until the next block brings one: it cannot propose on it. */
		snprintf(err, errlen, "no valid commit known for the tip (height %llu): cannot propose on it",
			 (unsigned long long)c->tip.height);
		goto fail;
	}
	if (c->tip_commit.nsigs || hd->height > 1) {
		blk->last_commit = c->tip_commit;
		blk->last_commit.sigs = NULL;
		if (c->tip_commit.nsigs) {
			blk->last_commit.sigs = malloc(c->tip_commit.nsigs * sizeof(struct commit_sig));
			if (!blk->last_commit.sigs) {
				rc = ASSAY_ENOMEM;
				goto fail;
			}
			memcpy(blk->last_commit.sigs, c->tip_commit.sigs,
			       c->tip_commit.nsigs * sizeof(struct commit_sig));
		}
	}
	commit_hash(&blk->last_commit, hd->last_commit_hash);

	struct exec_ctx x = {c, ledger_mem_ledger(ov), {0}, hd->height, hd->time_ms, hd->beacon};
	address_from_pubkey(hd->proposer, x.proposer_addr);
	/* Exact size: header, the tx count (at its widest), each tx with its
	 * length prefix, and the commit as it will be encoded. */
	struct buf tb;
	buf_init(&tb);
	commit_encode(&blk->last_commit, &tb);
	uint64_t gas = 0, bytes = HEADER_BYTES + varint_len(p->max_block_txs) + tb.len;
	for (size_t i = 0; i < n; i++) {
		const struct tx *t = txs[i];
		char terr[160];
		buf_reset(&tb);
		tx_encode(t, &tb);
		uint64_t tx_bytes = varint_len(tb.len) + tb.len;
		int full = blk->ntx >= p->max_block_txs || bytes + tx_bytes > p->max_block_bytes ||
			   gas + t->gas_limit > p->max_block_gas;
		size_t snap = ledger_snapshot(&x.l);
		if (full || chain_check_tx(c, t, 0, terr, sizeof(terr)) < 0 ||
		    exec_tx(&x, t, &receipts[blk->ntx], terr, sizeof(terr)) < 0) {
			ledger_revert(&x.l, snap);
			if (skipped)
				skipped[(*nskipped)++] = i;
			continue;
		}
		if (block_add_tx(blk, t) < 0) {
			buf_free(&tb);
			rc = ASSAY_ENOMEM;
			goto fail;
		}
		gas += t->gas_limit;
		bytes += tx_bytes;
	}
	buf_free(&tb);
	rc = end_block(&x, err, errlen);
	if (rc)
		goto fail;
	block_tx_root(blk, hd->tx_root);
	rc = state_stage(c->state, ov, &c->built.staged, hd->state_root);
	if (rc) {
		snprintf(err, errlen, "state update failed: %s", assay_strerror(rc));
		goto fail;
	}
	c->built.valid = 1;
	c->built.overlay = ov;
	c->built.receipts = receipts;
	c->built.nreceipts = blk->ntx;
	block_hash(blk, c->built.hash);
	return 0;
fail:
	ledger_mem_free(ov);
	free_receipts(receipts, n);
	block_free(blk);
	return rc;
}

/* Parallel signature verification. Threads take chunks of VERIFY_CHUNK
 * transactions from a shared counter until none are left, so the work
 * balances itself: the thread executing a block joins in when it is done. */
#define VERIFY_MAX_THREADS 64
#define VERIFY_CHUNK 16

struct verify_pool {
	const struct tx *txs;
	size_t n;
	uint8_t *bad;            /* bad[i] set for each failing signature */
	size_t next;             /* next unclaimed index (atomic) */
	int any_bad;             /* atomic */
	int helpers;
	pthread_t tids[VERIFY_MAX_THREADS];
	int started[VERIFY_MAX_THREADS];
};

static void *verify_work(void *arg)
{
	struct verify_pool *p = arg;
	for (;;) {
		size_t from = __atomic_fetch_add(&p->next, VERIFY_CHUNK, __ATOMIC_RELAXED);
		if (from >= p->n)
			return NULL;
		size_t to = from + VERIFY_CHUNK < p->n ? from + VERIFY_CHUNK : p->n;
		for (size_t i = from; i < to; i++) {
			p->bad[i] = tx_verify_sig(&p->txs[i]) != 0;
			if (p->bad[i])
				__atomic_store_n(&p->any_bad, 1, __ATOMIC_RELAXED);
		}
	}
}

/* Starts `helpers` threads on the signatures of txs[0..n). */
static void verify_start(struct verify_pool *p, const struct tx *txs, size_t n, int helpers, uint8_t *bad)
{
	memset(p, 0, sizeof(*p));
	p->txs = txs;
	p->n = n;
	p->bad = bad;
	if (n < 2 * VERIFY_CHUNK)
		helpers = 0; /* not worth a thread */
	p->helpers = helpers < VERIFY_MAX_THREADS ? helpers : VERIFY_MAX_THREADS;
	for (int i = 0; i < p->helpers; i++)
		p->started[i] = pthread_create(&p->tids[i], NULL, verify_work, p) == 0;
}

/* This thread verifies what is left, then joins the helpers; ASSAY_ESIG if
 * any signature failed. */
static int verify_finish(struct verify_pool *p)
{
	verify_work(p);
	for (int i = 0; i < p->helpers; i++)
		if (p->started[i])
			pthread_join(p->tids[i], NULL);
	p->helpers = 0;
	return __atomic_load_n(&p->any_bad, __ATOMIC_RELAXED) ? ASSAY_ESIG : 0;
}

int chain_verify_sigs(const struct tx *txs, size_t n, int nthreads, uint8_t *bad)
{
	struct verify_pool pool;
	verify_start(&pool, txs, n, nthreads - 1, bad);
	return verify_finish(&pool);
}

/* Executes blk on a fresh overlay, checking every rule; on success the
 * overlay's writes are staged in the tree and returned with the receipts. */
/* A block's signature checks in flight: started before execution, finished
 * just before the block is written, so the helpers' checking overlaps both
 * execution and the work of building the block's batch. */
struct sig_check {
	struct verify_pool pool;
	uint8_t *bad; /* NULL when not running */
	size_t n;
};

/* Waits for every check; 0, or ASSAY_ESIG with the first bad index in err. */
static int sig_check_finish(struct sig_check *sc, char *err, size_t errlen)
{
	if (!sc->bad)
		return 0;
	int rc = verify_finish(&sc->pool);
	if (rc) {
		size_t i = 0;
		while (i < sc->n && !sc->bad[i])
			i++;
		snprintf(err, errlen, "transaction %zu has a bad signature", i);
	}
	free(sc->bad);
	sc->bad = NULL;
	return rc;
}

static int execute_block(chain_t *c, const struct block *blk, uint64_t now_ms, ledger_mem_t **ovp,
			 struct state_staged *st, struct receipt **rcp, struct sig_check *sc, char *err,
			 size_t errlen)
{
	const struct chain_params *p = &c->g.params;
	const struct block_header *hd = &blk->hdr;
	uint8_t h[HASH_LEN];
	int rc;
	if (memcmp(hd->chain_id, c->g.hash, HASH_LEN) != 0) {
		snprintf(err, errlen, "block is for another chain");
		return ASSAY_ECHAIN;
	}
	if (hd->height != c->tip.height + 1 || memcmp(hd->prev_hash, c->tip_hash, HASH_LEN) != 0) {
		snprintf(err, errlen, "block %llu does not extend the tip %llu",
			 (unsigned long long)hd->height, (unsigned long long)c->tip.height);
		return hd->height <= c->tip.height ? ASSAY_EEXISTS : ASSAY_ENOTFOUND;
	}
	if (hd->time_ms <= c->tip.time_ms) {
		snprintf(err, errlen, "block time is not after its parent's");
		return ASSAY_EINVALID;
	}
	if (now_ms != UINT64_MAX && hd->time_ms > now_ms + p->max_future_ms) {
		snprintf(err, errlen, "block time is %llu ms in the future",
			 (unsigned long long)(hd->time_ms - now_ms));
		return ASSAY_EINVALID;
	}
	if (memcmp(hd->validators_hash, c->validators_hash, HASH_LEN) != 0) {
		snprintf(err, errlen, "wrong validators_hash");
		return ASSAY_EINVALID;
	}
	if (!is_validator(c, hd->proposer, NULL)) {
		snprintf(err, errlen, "proposer is not a validator");
		return ASSAY_EINVALID;
	}
	if (blk->ntx > p->max_block_txs) {
		snprintf(err, errlen, "block has %zu transactions; limit %u", blk->ntx, p->max_block_txs);
		return ASSAY_ELIMIT;
	}
	/* Signatures are checked by helper threads from here on, while this
	 * thread checks the header's proofs and executes the block (on an
	 * overlay, thrown away if any signature fails); this thread then helps
	 * with whatever is left, just before the block is written. */
	ledger_mem_t *ov = NULL;
	struct receipt *receipts = NULL;
	sc->n = blk->ntx;
	sc->bad = calloc(blk->ntx ? blk->ntx : 1, 1);
	if (!sc->bad)
		return ASSAY_ENOMEM;
	verify_start(&sc->pool, blk->txs, blk->ntx, c->verify_threads - 1, sc->bad);
	uint8_t alpha[HASH_LEN + 8 + HASH_LEN], beta[VRF_OUTPUT_LEN];
	beacon_alpha(c->g.hash, hd->height, c->tip.beacon, alpha);
	if (vrf_verify(hd->proposer, alpha, sizeof(alpha), hd->beacon_proof, beta) < 0) {
		snprintf(err, errlen, "bad beacon proof");
		rc = ASSAY_ESIG;
		goto fail;
	}
	beacon_from(c->tip.beacon, beta, h);
	if (memcmp(h, hd->beacon, HASH_LEN) != 0) {
		snprintf(err, errlen, "wrong beacon");
		rc = ASSAY_EINVALID;
		goto fail;
	}
	commit_hash(&blk->last_commit, h);
	if (memcmp(h, hd->last_commit_hash, HASH_LEN) != 0) {
		snprintf(err, errlen, "last_commit_hash does not match last_commit");
		rc = ASSAY_EINVALID;
		goto fail;
	}
	if (hd->height == 1) {
		static const uint8_t zero[HASH_LEN];
		if (blk->last_commit.nsigs || blk->last_commit.height || blk->last_commit.round ||
		    memcmp(blk->last_commit.block_hash, zero, HASH_LEN) != 0) {
			snprintf(err, errlen, "block 1 must carry an empty last_commit");
			rc = ASSAY_EINVALID;
			goto fail;
		}
	} else if ((rc = check_commit(c, &blk->last_commit, hd->height - 1, c->tip_hash, err, errlen)) < 0) {
		goto fail;
	}
	block_tx_root(blk, h);
	if (memcmp(h, hd->tx_root, HASH_LEN) != 0) {
		snprintf(err, errlen, "tx_root does not match the transactions");
		rc = ASSAY_EINVALID;
		goto fail;
	}
	struct ledger ro = chain_ledger(c);
	ov = ledger_mem_new(&ro);
	receipts = calloc(blk->ntx ? blk->ntx : 1, sizeof(*receipts));
	if (!ov || !receipts) {
		rc = ASSAY_ENOMEM;
		goto fail;
	}
	struct exec_ctx x = {c, ledger_mem_ledger(ov), {0}, hd->height, hd->time_ms, hd->beacon};
	address_from_pubkey(hd->proposer, x.proposer_addr);
	uint64_t gas = 0;
	for (size_t i = 0; i < blk->ntx; i++) {
		char terr[160];
		const struct tx *t = &blk->txs[i];
		if ((rc = chain_check_tx(c, t, 0, terr, sizeof(terr))) < 0 ||
		    (rc = exec_tx(&x, t, &receipts[i], terr, sizeof(terr))) < 0) {
			snprintf(err, errlen, "transaction %zu invalid: %s", i, terr);
			goto fail;
		}
		gas += t->gas_limit;
	}
	if (gas > p->max_block_gas) {
		snprintf(err, errlen, "block gas %llu above the limit", (unsigned long long)gas);
		rc = ASSAY_ELIMIT;
		goto fail;
	}
	if ((rc = end_block(&x, err, errlen)) < 0)
		goto fail;
	rc = state_stage(c->state, ov, st, h);
	if (rc) {
		snprintf(err, errlen, "state update failed: %s", assay_strerror(rc));
		goto fail;
	}
	if (memcmp(h, hd->state_root, HASH_LEN) != 0) {
		state_unstage(c->state, st);
		state_staged_free(st);
		snprintf(err, errlen, "state_root does not match the state after the block");
		rc = ASSAY_EINVALID;
		goto fail;
	}
	*ovp = ov;
	*rcp = receipts;
	return 0;
fail:;
	char ignored[8];
	sig_check_finish(sc, ignored, sizeof(ignored)); /* joins the helpers */
	ledger_mem_free(ov);
	free_receipts(receipts, blk->ntx);
	return rc;
}

int chain_apply_block(chain_t *c, const struct block *blk, const struct commit *commit,
		      uint64_t now_ms, char *err, size_t errlen)
{
	uint8_t hash[HASH_LEN];
	ledger_mem_t *ov = NULL;
	struct state_staged st;
	struct receipt *receipts = NULL;
	int rc;
	block_hash(blk, hash);
	int built_here = c->built.valid && memcmp(c->built.hash, hash, HASH_LEN) == 0;
	if (commit && (rc = check_commit(c, commit, blk->hdr.height, hash, err, errlen)) < 0) {
		if (!built_here)
			built_clear(c);
		return rc;
	}
	struct buf enc;
	buf_init(&enc);
	block_encode(blk, &enc);
	if (enc.len > c->g.params.max_block_bytes) {
		snprintf(err, errlen, "block is %zu bytes; limit %llu", enc.len,
			 (unsigned long long)c->g.params.max_block_bytes);
		buf_free(&enc);
		built_clear(c); /* even our own: a block over the limit must not stay staged */
		return ASSAY_ELIMIT;
	}
	struct sig_check sc = {.bad = NULL};
	uint8_t body_root[HASH_LEN], body_commit[HASH_LEN];
	int own = built_here;
	if (own) {
		/* Same header; the body must be the one the header commits to,
		 * and its last_commit must hold, as for any other block. */
		char cerr[160];
		block_tx_root(blk, body_root);
		commit_hash(&blk->last_commit, body_commit);
		own = memcmp(body_root, blk->hdr.tx_root, HASH_LEN) == 0 &&
		      memcmp(body_commit, blk->hdr.last_commit_hash, HASH_LEN) == 0 &&
		      (blk->hdr.height <= 1 ||
		       check_commit(c, &blk->last_commit, blk->hdr.height - 1, c->tip_hash, cerr, sizeof(cerr)) == 0);
	}
	if (own) {
		/* Our own block: executed when it was built. */
		ov = c->built.overlay;
		st = c->built.staged;
		receipts = c->built.receipts;
		memset(&c->built, 0, sizeof(c->built));
	} else {
		built_clear(c);
		rc = execute_block(c, blk, now_ms, &ov, &st, &receipts, &sc, err, errlen);
		if (rc) {
			buf_free(&enc);
			return rc;
		}
	}
	store_batch_t *b = store_batch_new();
	store_batch_put_block(b, hash, blk->hdr.height, enc.data, enc.len);
	state_staged_to_batch(&st, b);
	struct buf rb;
	buf_init(&rb);
	for (size_t i = 0; i < blk->ntx; i++) {
		uint8_t txid[HASH_LEN], key[1 + HASH_LEN];
		tx_id(&blk->txs[i], txid);
		store_batch_put_tx_index(b, txid, blk->hdr.height, (uint32_t)i);
		key[0] = STORE_P_RECEIPT;
		memcpy(key + 1, txid, HASH_LEN);
		buf_reset(&rb);
		receipt_encode(&receipts[i], &rb);
		store_batch_put(b, key, sizeof(key), rb.data, rb.len);
	}
	buf_free(&rb);
	put_tip(b, hash, commit);
	rc = sig_check_finish(&sc, err, errlen);
	if (rc) {
		store_batch_free(b);
		buf_free(&enc);
		free_receipts(receipts, blk->ntx);
		ledger_mem_free(ov);
		state_unstage(c->state, &st);
		state_staged_free(&st);
		return rc;
	}
	rc = store_write(c->store, b, 1);
	store_batch_free(b);
	buf_free(&enc);
	free_receipts(receipts, blk->ntx);
	ledger_mem_free(ov);
	if (rc) {
		state_unstage(c->state, &st);
		state_staged_free(&st);
		snprintf(err, errlen, "database write failed: %s", assay_strerror(rc));
		return rc;
	}
	state_staged_committed(c->state, &st);
	state_staged_free(&st);
	c->tip = blk->hdr;
	memcpy(c->tip_hash, hash, HASH_LEN);
	commit_free(&c->tip_commit);
	if (commit) {
		c->tip_commit = *commit;
		c->tip_commit.sigs = malloc((commit->nsigs ? commit->nsigs : 1) * sizeof(struct commit_sig));
		if (c->tip_commit.sigs)
			memcpy(c->tip_commit.sigs, commit->sigs, commit->nsigs * sizeof(struct commit_sig));
		else
			c->tip_commit.nsigs = 0;
	}
	return 0;
}

static struct block_limits limits_of(const chain_t *c)
{
	return (struct block_limits){c->g.params.max_block_txs, c->g.params.max_tx_bytes};
}

int chain_get_block(chain_t *c, const uint8_t hash[HASH_LEN], struct block *blk)
{
	uint8_t *enc;
	size_t len;
	int rc = store_get_block(c->store, hash, &enc, &len);
	if (rc)
		return rc;
	struct block_limits lim = limits_of(c);
	rc = block_decode(blk, enc, len, &lim);
	free(enc);
	return rc;
}

int chain_get_block_raw_at(chain_t *c, uint64_t height, uint8_t **enc, size_t *len)
{
	uint8_t hash[HASH_LEN];
	if (height > c->tip.height)
		return ASSAY_ENOTFOUND;
	int rc = store_get_hash_at(c->store, height, hash);
	if (rc)
		return rc;
	return store_get_block(c->store, hash, enc, len);
}

int chain_get_block_at(chain_t *c, uint64_t height, struct block *blk)
{
	uint8_t hash[HASH_LEN];
	if (height > c->tip.height)
		return ASSAY_ENOTFOUND;
	int rc = store_get_hash_at(c->store, height, hash);
	return rc ? rc : chain_get_block(c, hash, blk);
}

int chain_get_tx(chain_t *c, const uint8_t txid[HASH_LEN], struct tx *t, uint64_t *height,
		 uint32_t *index, struct receipt *r)
{
	struct block blk;
	int rc = store_get_tx_index(c->store, txid, height, index);
	if (rc)
		return rc;
	if (*height > c->tip.height)
		return ASSAY_ENOTFOUND; /* indexed by a block later undone by -reindex */
	rc = chain_get_block_at(c, *height, &blk);
	if (rc)
		return rc;
	if (*index >= blk.ntx) {
		block_free(&blk);
		return ASSAY_EIO;
	}
	rc = tx_copy(t, &blk.txs[*index]);
	block_free(&blk);
	if (rc || !r)
		return rc;
	uint8_t key[1 + HASH_LEN], *val;
	size_t len;
	key[0] = STORE_P_RECEIPT;
	memcpy(key + 1, txid, HASH_LEN);
	memset(r, 0, sizeof(*r));
	if (store_get(c->store, key, sizeof(key), &val, &len) == 0) {
		receipt_decode(r, val, len);
		free(val);
	}
	return 0;
}

struct key_list {
	uint8_t (*keys)[1 + HASH_LEN];
	size_t n, cap;
};

static int collect_state_key(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct key_list *kl = arg;
	if (klen != 1 + HASH_LEN)
		return 0;
	if (kl->n == kl->cap) {
		size_t ncap = kl->cap ? kl->cap * 2 : 1024;
		void *nk = realloc(kl->keys, ncap * sizeof(*kl->keys));
		if (!nk)
			return ASSAY_ENOMEM;
		kl->keys = nk;
		kl->cap = ncap;
	}
	memcpy(kl->keys[kl->n++], key, klen);
	return 0;
}

/* The reindex marker (docs/storage.md, "Reindex"): u64 target height, then
 * the target block's commit as the tip record holds it (may be empty). */
static int put_reindex_marker(store_batch_t *b, uint64_t target, const struct commit *cm)
{
	struct buf mb;
	buf_init(&mb);
	buf_put_u64(&mb, target);
	commit_encode(cm, &mb);
	int rc = mb.oom ? ASSAY_ENOMEM : 0;
	if (!rc)
		store_batch_put_meta(b, META_REINDEX, mb.data, mb.len);
	buf_free(&mb);
	return rc;
}

/* Reads the marker into c; 0 when there is none. */
static int load_reindex_marker(chain_t *c)
{
	uint8_t *val = NULL;
	size_t len;
	int rc = store_get_meta(c->store, META_REINDEX, &val, &len);
	if (rc == ASSAY_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	struct reader r;
	rd_init(&r, val, len);
	commit_free(&c->reindex_commit);
	c->reindex_target = rd_u64(&r);
	rc = commit_read(&c->reindex_commit, &r);
	if (!rc)
		rc = rd_finish(&r);
	free(val);
	if (rc) {
		commit_free(&c->reindex_commit);
		return ASSAY_ECORRUPT;
	}
	c->reindexing = 1;
	return 0;
}

int chain_reindex_pending(const chain_t *c, uint64_t *target)
{
	if (c->reindexing && target)
		*target = c->reindex_target;
	return c->reindexing;
}

/* The highest height from `from` up whose block the height index holds: a
 * database damaged by an older, unsafe reindex has blocks above its tip. */
static uint64_t highest_stored(chain_t *c, uint64_t from)
{
	uint8_t hash[HASH_LEN];
	while (from < UINT64_MAX && store_get_hash_at(c->store, from + 1, hash) == 0)
		from++;
	return from;
}

/* Replays stored blocks from the tip + 1 up to the marker's target, then
 * removes the marker. Each block commits with its own batch, so a kill at
 * any moment leaves a consistent prefix and the marker to resume from. */
static int reindex_replay(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err,
			  size_t errlen)
{
	uint64_t target = c->reindex_target;
	int rc = 0;
	for (uint64_t h = c->tip.height + 1; !rc && h <= target; h++) {
		struct block blk;
		uint8_t hash[HASH_LEN];
		rc = store_get_hash_at(c->store, h, hash);
		if (!rc)
			rc = chain_get_block(c, hash, &blk);
		if (rc) {
			snprintf(err, errlen, "block %llu is missing or damaged: %s", (unsigned long long)h,
				 assay_strerror(rc));
			return rc == ASSAY_ENOTFOUND ? ASSAY_ECORRUPT : rc;
		}
		char berr[256];
		const struct commit *cm = h == target && c->reindex_commit.nsigs ? &c->reindex_commit : NULL;
		rc = chain_apply_block(c, &blk, cm, UINT64_MAX, berr, sizeof(berr));
		block_free(&blk);
		if (rc) {
			snprintf(err, errlen, "block %llu fails validation: %s", (unsigned long long)h, berr);
			return rc;
		}
		if (progress && progress(h, target) != 0) {
			snprintf(err, errlen, "reindex stopped at block %llu of %llu; the next start resumes it",
				 (unsigned long long)h, (unsigned long long)target);
			return ASSAY_ECANCELED;
		}
	}
	store_batch_t *b = store_batch_new();
	if (!b)
		return ASSAY_ENOMEM;
	store_batch_put_meta(b, META_REINDEX, NULL, 0); /* NULL deletes */
	rc = store_write(c->store, b, 1);
	store_batch_free(b);
	if (rc) {
		snprintf(err, errlen, "cannot finish the reindex: %s", assay_strerror(rc));
		return rc;
	}
	c->reindexing = 0;
	commit_free(&c->reindex_commit);
	return 0;
}

int chain_reindex_resume(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err, size_t errlen)
{
	if (!c->reindexing)
		return 0;
	built_clear(c);
	return reindex_replay(c, progress, err, errlen);
}

int chain_reindex(chain_t *c, int (*progress)(uint64_t height, uint64_t tip), char *err, size_t errlen)
{
	/* The target is the highest block this database has ever held: the
	 * marker's, if an earlier reindex was interrupted, else the tip (or
	 * above it, for a database an older version left behind). */
	uint64_t target = c->reindexing ? c->reindex_target : c->tip.height;
	target = highest_stored(c, target);
	struct commit last = {0};
	if (c->reindexing && target == c->reindex_target) {
		last = c->reindex_commit;
		memset(&c->reindex_commit, 0, sizeof(c->reindex_commit));
	} else if (target == c->tip.height) {
		last = c->tip_commit;
		memset(&c->tip_commit, 0, sizeof(c->tip_commit));
	}
	built_clear(c);
	/* Drop the state and write the marker in one batch, then rebuild the
	 * state from genesis by replaying blocks up to the target. */
	struct key_list kl = {0};
	const uint8_t prefix = STORE_P_STATE;
	int rc = store_iterate(c->store, &prefix, 1, collect_state_key, &kl);
	if (!rc) {
		store_batch_t *b = store_batch_new();
		if (!b)
			rc = ASSAY_ENOMEM;
		for (size_t i = 0; b && i < kl.n; i++)
			store_batch_del(b, kl.keys[i], sizeof(kl.keys[i]));
		if (b && !(rc = put_reindex_marker(b, target, &last)))
			rc = store_write(c->store, b, 1);
		store_batch_free(b);
	}
	free(kl.keys);
	if (rc) {
		commit_free(&last);
		snprintf(err, errlen, "cannot clear the state: %s", assay_strerror(rc));
		return rc;
	}
	commit_free(&c->reindex_commit);
	c->reindex_commit = last;
	c->reindex_target = target;
	c->reindexing = 1;
	state_close(c->state);
	c->state = state_open(c->store, err, errlen);
	if (!c->state)
		return ASSAY_EIO;
	rc = init_genesis(c, 0, err, errlen);
	return rc ? rc : reindex_replay(c, progress, err, errlen);
}

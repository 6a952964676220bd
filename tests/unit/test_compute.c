/* Tests of the compute protocol (consensus/compute/compute.h) on ledger_mem:
 * payload and record codecs, parameters, and whole job flows block by block:
 * honest payout with the salt and the check escrow, the challenge without
 * a salt, a wrong tile caught by sampling, every slot of a wrong root
 * slashed, copied commitments that open for nobody, client disputes (wrong
 * and correct tiles), r = 2 with differing roots, missed deadlines burned,
 * per-assignment bond locks, expiry, bad input, conservation of supply
 * over random sequences, and the live-jobs list's cost, order and
 * migration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/compute.h"
#include "consensus/exec.h"
#include "vm/vm.h"
#include "core/error.h"
#include "core/merkle.h"
#include "tests/unit/test.h"

#define UNIT 1000000000ull /* 1 ASY */
#define START_BALANCE (100000 * UNIT)

struct chain {
	ledger_mem_t *mem;
	struct ledger l;
	struct compute_params p;
	uint64_t h;     /* height of the block being built */
	uint64_t nonce; /* one counter for all senders keeps job ids unique */
	uint64_t max_tx_bytes, max_block_gas; /* the chain's limits; 0: none */
	uint64_t min_fee, gas_price;          /* the chain's fee rule */
	uint64_t fee;                         /* the fee the next transactions carry */
};

static uint8_t SUB[ADDR_LEN], W1[ADDR_LEN], W2[ADDR_LEN], W3[ADDR_LEN], DIS[ADDR_LEN];
static const uint8_t *ALL[] = {SUB, W1, W2, W3, DIS};
#define NALL 5
static const uint8_t SALT[HASH_LEN] = {0x5a, 0x17, 0x99}; /* the submitter's secret */

/* The gas a reveal or dispute carries here: the most any transaction may
 * (max_block_gas, the default reveal_block_gas). */
#define REVEAL_GAS 1000000000ull

static void chain_init(struct chain *c)
{
	memset(SUB, 0x11, ADDR_LEN);
	memset(W1, 0x21, ADDR_LEN);
	memset(W2, 0x22, ADDR_LEN);
	memset(W3, 0x23, ADDR_LEN);
	memset(DIS, 0x31, ADDR_LEN);
	memset(c, 0, sizeof(*c));
	c->mem = ledger_mem_new(NULL);
	c->l = ledger_mem_ledger(c->mem);
	compute_params_default(&c->p);
	c->p.samples_k = 4;
	c->p.commit_window = 3;
	c->p.reveal_window = 3;
	c->p.dispute_window = 5;
	c->p.unbond_delay = 2;
	c->p.challenge_delay = 2;
	c->p.salt_window = 2;
	c->p.upload_window = 3;
	c->h = 1;
	c->nonce = 0;
	for (int i = 0; i < NALL; i++)
		ledger_credit(&c->l, ALL[i], START_BALANCE);
}

/* The beacon of block h: fixed per height, so that a dry run on a fresh
 * chain sees the same draws and challenges. */
static void beacon_at(uint64_t h, uint8_t beacon[HASH_LEN])
{
	uint8_t in[8];
	le64_put(in, h);
	sha256(in, sizeof(in), beacon);
}

static void env_of(const struct chain *c, struct compute_env *env)
{
	memset(env, 0, sizeof(*env));
	env->ledger = &c->l;
	env->params = &c->p;
	env->height = c->h;
	env->time_ms = c->h * 1000;
	env->max_tx_bytes = c->max_tx_bytes;
	env->max_block_gas = c->max_block_gas;
	env->min_fee = c->min_fee;
	env->gas_price = c->gas_price;
	beacon_at(c->h, env->beacon);
}

/* As the node does: the tx runs in a snapshot, reverted on error. */
static int apply(struct chain *c, uint8_t kind, const uint8_t *sender, struct buf *payload,
		 uint64_t gas, struct compute_result *res)
{
	struct tx t;
	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.nonce = c->nonce++;
	t.fee = c->fee;
	t.payload = payload->data;
	t.payload_len = payload->len;
	struct compute_env env;
	env_of(c, &env);
	size_t snap = ledger_snapshot(&c->l);
	int err = compute_apply_tx(&env, &t, sender, gas, res);
	if (err)
		ledger_revert(&c->l, snap);
	buf_free(payload);
	return err;
}

static int end_block(struct chain *c)
{
	struct compute_env env;
	env_of(c, &env);
	int err = compute_end_block(&env);
	c->h++;
	return err;
}

static uint64_t balance(struct chain *c, const uint8_t *a)
{
	struct account acct;
	ledger_get_account(&c->l, a, &acct);
	return acct.balance;
}

static int sum_jobs(void *arg, const struct job_record *j)
{
	*(unsigned __int128 *)arg += j->escrow + (unsigned __int128)j->check_escrow;
	return 0;
}

static int sum_bonds(void *arg, const struct worker_record *w)
{
	*(unsigned __int128 *)arg += w->bond;
	return 0;
}

/* Balances (the burn address included) + escrows and check escrows of live
 * jobs + bonds. Terminal jobs hold neither, so the live list covers all. */
static unsigned __int128 supply(struct chain *c)
{
	unsigned __int128 s = balance(c, LEDGER_BURN_ADDR);
	for (int i = 0; i < NALL; i++)
		s += balance(c, ALL[i]);
	compute_list_jobs(&c->l, sum_jobs, &s);
	compute_list_workers(&c->l, sum_bonds, &s);
	return s;
}

static int reg(struct chain *c, const uint8_t *w, uint64_t bond)
{
	struct worker_register_payload p = {.bond = bond};
	strcpy(p.endpoint, "tcp://127.0.0.1:9000");
	strcpy(p.backend, "cpu");
	struct buf b;
	buf_init(&b);
	compute_register_encode(&p, &b);
	struct compute_result res;
	return apply(c, TX_WORKER_REGISTER, w, &b, 0, &res);
}

static struct job_spec small_spec(uint8_t r, uint64_t reward)
{
	struct job_spec s;
	memset(&s, 0, sizeof(s));
	s.shape = (struct job_shape){.kind = JOB_MATMUL_I8, .m = 32, .n = 24, .k = 40,
				     .tile_rows = 8, .tile_cols = 8};
	s.input_kind = JOB_INPUT_SEED;
	memset(s.seed, 0x5a, HASH_LEN);
	s.samples = 4;
	s.redundancy = r;
	s.reward = reward;
	s.deadline_blocks = 40;
	kernel_salt_hash(SALT, s.salt_hash);
	return s;
}

static int submit(struct chain *c, const struct job_spec *s, uint8_t job_id[HASH_LEN], struct compute_result *res)
{
	struct buf b;
	buf_init(&b);
	compute_spec_encode(s, &b);
	int err = apply(c, TX_JOB_SUBMIT, SUB, &b, exec_job_gas(b.len, s->redundancy), res);
	if (!err)
		memcpy(job_id, res->job_id, HASH_LEN);
	return err;
}

static int post_salt(struct chain *c, const uint8_t *from, const uint8_t job_id[HASH_LEN],
		     const uint8_t salt[HASH_LEN], struct compute_result *res)
{
	struct job_salt_payload p;
	memcpy(p.job_id, job_id, HASH_LEN);
	memcpy(p.salt, salt, HASH_LEN);
	struct buf b;
	buf_init(&b);
	compute_salt_encode(&p, &b);
	return apply(c, TX_JOB_SALT, from, &b, 0, res);
}

/* A worker's view of a job: its output (maybe corrupted), leaves and root;
 * for mlp its pre-activations and their digests, which the leaves bind. */
struct work {
	struct job_shape shape;
	uint8_t *out;
	uint8_t *pre;                 /* mlp: whole-job pre-activations (mlp.h) */
	uint8_t (*digests)[HASH_LEN]; /* mlp: every tile's P_i */
	uint64_t out_len;
	uint8_t (*leaves)[HASH_LEN];
	uint8_t root[HASH_LEN], output_hash[HASH_LEN];
};

/* (Re)builds w's digests, leaves and root from its output and pre. */
static void work_recommit(struct work *w)
{
	free(w->leaves);
	free(w->digests);
	w->digests = NULL;
	if (w->pre)
		CHECK(mlp_pre_digests(&w->shape, w->pre, &w->digests) == 0);
	CHECK(kernel_commit_pre(&w->shape, w->out, (const uint8_t(*)[HASH_LEN])w->digests, &w->leaves, w->root,
				w->output_hash) == 0);
}

/* Computes the job; corrupts the tiles whose bit is set in bad_tiles by
 * adding delta to one entry of each. */
static void work_do_by(struct chain *c, const uint8_t job_id[HASH_LEN], uint64_t bad_tiles, int32_t delta,
		       struct work *w)
{
	struct job_record j;
	CHECK(compute_get_job(&c->l, job_id, &j) == 0);
	w->shape = j.spec.shape;
	struct kernel_src src = {.from_seed = 1};
	memcpy(src.seed, j.spec.seed, HASH_LEN);
	uint8_t *in[KERNEL_MAX_INPUTS];
	CHECK(kernel_src_load(&src, &w->shape, in) == 0);
	w->pre = NULL;
	w->digests = NULL;
	if (w->shape.kind == JOB_MLP_I8) {
		CHECK(mlp_compute_ref(&w->shape, in, &w->out, &w->pre) == 0);
		w->out_len = kernel_output_bytes(&w->shape);
	} else {
		CHECK(kernel_compute_ref(&w->shape, in, &w->out, &w->out_len) == 0);
	}
	for (unsigned i = 0; i < kernel_input_count(&w->shape); i++)
		free(in[i]);
	for (uint32_t t = 0; t < kernel_tile_count(&w->shape); t++) {
		if (!(bad_tiles >> t & 1))
			continue;
		uint32_t r0, c0, nr, nc;
		kernel_tile_rect(&w->shape, t, &r0, &c0, &nr, &nc);
		if (w->shape.kind == JOB_MLP_I8)
			w->out[(size_t)(r0 + nr - 1) * w->shape.n + c0] += (uint8_t)delta; /* one entry */
		else
			((int32_t *)w->out)[(size_t)(r0 + nr - 1) * w->shape.n + c0] += delta; /* one entry */
	}
	w->leaves = NULL;
	work_recommit(w);
}

static void work_do(struct chain *c, const uint8_t job_id[HASH_LEN], uint64_t bad_tiles, struct work *w)
{
	work_do_by(c, job_id, bad_tiles, 1, w);
}

static void work_free(struct work *w)
{
	free(w->out);
	free(w->leaves);
	free(w->pre);
	free(w->digests);
}

static int commit_raw(struct chain *c, const uint8_t *worker, const uint8_t job_id[HASH_LEN],
		      const uint8_t commitment[HASH_LEN])
{
	struct job_commit_payload p;
	memcpy(p.job_id, job_id, HASH_LEN);
	memcpy(p.commitment, commitment, HASH_LEN);
	struct buf b;
	buf_init(&b);
	compute_commit_encode(&p, &b);
	struct compute_result res;
	return apply(c, TX_JOB_COMMIT, worker, &b, 0, &res);
}

static int commit(struct chain *c, const uint8_t *worker, const uint8_t job_id[HASH_LEN], const struct work *w)
{
	uint8_t cm[HASH_LEN];
	kernel_root_commitment(w->root, worker, cm);
	return commit_raw(c, worker, job_id, cm);
}

/* Storage behind one tile_proof. */
struct proof_buf {
	uint8_t tile[8 * 8 * 4];
	uint8_t pre[4096]; /* mlp: the tile's pre-activations */
	uint8_t path[MERKLE_MAX_DEPTH][HASH_LEN];
};

/* A reveal's proof of tile idx (mlp: with its pre-activations), or a
 * dispute's (mlp: with its digest P_i). */
static void make_proof_as(const struct work *w, uint32_t idx, struct proof_buf *pb, struct tile_proof *tp,
			  int dispute)
{
	uint32_t n = kernel_tile_count(&w->shape);
	kernel_tile_extract(&w->shape, w->out, idx, pb->tile);
	tp->index = idx;
	tp->tile = pb->tile;
	tp->tile_len = kernel_tile_bytes(&w->shape, idx);
	tp->pre = NULL;
	tp->pre_len = 0;
	if (w->pre && dispute) {
		tp->pre = w->digests[idx];
		tp->pre_len = HASH_LEN;
	} else if (w->pre) {
		CHECK(mlp_tile_pre_bytes(&w->shape, idx) <= sizeof(pb->pre));
		mlp_tile_pre_extract(&w->shape, w->pre, idx, pb->pre);
		tp->pre = pb->pre;
		tp->pre_len = (size_t)mlp_tile_pre_bytes(&w->shape, idx);
	}
	merkle_proof((const uint8_t(*)[HASH_LEN])w->leaves, n, idx, pb->path, &tp->depth);
	tp->path = (const uint8_t(*)[HASH_LEN])pb->path;
}

static void make_proof(const struct work *w, uint32_t idx, struct proof_buf *pb, struct tile_proof *tp)
{
	make_proof_as(w, idx, pb, tp, 0);
}

static void make_dispute_proof(const struct work *w, uint32_t idx, struct proof_buf *pb, struct tile_proof *tp)
{
	make_proof_as(w, idx, pb, tp, 1);
}

enum reveal_twist {
	REVEAL_OK,
	REVEAL_WRONG_INDEX,
	REVEAL_DUPLICATE,
	REVEAL_BAD_PROOF,
	REVEAL_SHORT,
	REVEAL_OTHER_ROOT,
	REVEAL_BAD_PRE, /* mlp: one pre-activation byte of the first tile changed */
};

/* The challenge seed of a worker's slot for the root w opens: derived
 * from the job's challenge beacon and salt, as the worker derives it. */
static void seed_for(struct chain *c, const uint8_t job_id[HASH_LEN], const uint8_t *worker, const struct work *w,
		     uint8_t seed[HASH_LEN])
{
	struct job_record j;
	compute_get_job(&c->l, job_id, &j);
	kernel_challenge_seed(j.challenge_beacon, j.salt_posted ? j.salt : NULL, job_id, worker, w->root, seed);
}

/* Challenged indices of a worker's slot for the root w opens. */
static uint32_t challenged(struct chain *c, const uint8_t job_id[HASH_LEN], const uint8_t *worker,
			   const struct work *w, uint32_t *idx)
{
	struct job_record j;
	uint8_t seed[HASH_LEN];
	compute_get_job(&c->l, job_id, &j);
	seed_for(c, job_id, worker, w, seed);
	return kernel_challenge_indices(seed, j.spec.samples, kernel_tile_count(&j.spec.shape), idx);
}

/* A job_chunks transaction from slot's worker naming tiles [first, first +
 * count) under root (the chunks' bytes are the node's to hold; state sees
 * only the references, docs/compute.md §15.4). */
static int upload_run(struct chain *c, const uint8_t job_id[HASH_LEN], const uint8_t *worker,
		      const uint8_t root[HASH_LEN], const struct job_shape *s, uint32_t first, uint32_t count)
{
	struct job_chunks_payload p;
	memset(&p, 0, sizeof(p));
	memcpy(p.job_id, job_id, HASH_LEN);
	memcpy(p.root, root, HASH_LEN);
	p.count = 1;
	p.refs[0].first_tile = first;
	p.refs[0].tile_count = count;
	uint64_t bytes = avail_run_bytes(s, first, count);
	p.refs[0].data_len = bytes == UINT64_MAX ? 0 : (uint32_t)bytes;
	struct buf b;
	buf_init(&b);
	avail_chunks_encode(&p, &b);
	struct compute_result res;
	return apply(c, TX_JOB_CHUNKS, worker, &b, 0, &res);
}

/* What every honest worker does once its reveal opened its root: upload
 * the whole output (compute.md §15). */
static int auto_upload = 1; /* reveal() uploads after a good reveal, as the worker does; 0 in the upload tests */

static void upload_open_slots(struct chain *c, const uint8_t job_id[HASH_LEN])
{
	struct job_record j;
	if (!auto_upload || compute_get_job(&c->l, job_id, &j))
		return;
	uint32_t tiles = kernel_tile_count(&j.spec.shape);
	for (unsigned i = 0; i < j.spec.redundancy; i++)
		if (j.slots[i].state == SLOT_VERIFIED && j.slots[i].uploaded_tiles < tiles)
			upload_run(c, job_id, j.slots[i].worker, j.slots[i].root, &j.spec.shape, j.slots[i].uploaded_tiles,
				   tiles - j.slots[i].uploaded_tiles);
}

static int admit_only; /* reveal() asks compute_admit_reveal instead of applying */

static int reveal(struct chain *c, const uint8_t *worker, const uint8_t job_id[HASH_LEN], const struct work *w,
		  enum reveal_twist twist, uint64_t gas, struct compute_result *res)
{
	static struct job_reveal_payload p;
	static struct proof_buf pb[JOB_MAX_SAMPLES];
	uint32_t idx[JOB_MAX_SAMPLES];
	uint32_t n = challenged(c, job_id, worker, w, idx);
	uint32_t tiles = kernel_tile_count(&w->shape);
	memcpy(p.job_id, job_id, HASH_LEN);
	memcpy(p.root, w->root, HASH_LEN);
	p.count = n;
	for (uint32_t i = 0; i < n; i++)
		make_proof(w, idx[i], &pb[i], &p.tiles[i]);
	if (twist == REVEAL_WRONG_INDEX)
		make_proof(w, (idx[0] + 1) % tiles == idx[1] ? (idx[0] + 2) % tiles : (idx[0] + 1) % tiles, &pb[0],
			   &p.tiles[0]);
	if (twist == REVEAL_DUPLICATE)
		p.tiles[1] = p.tiles[0];
	if (twist == REVEAL_BAD_PROOF)
		pb[0].path[0][0] ^= 1;
	if (twist == REVEAL_SHORT)
		p.count--;
	if (twist == REVEAL_OTHER_ROOT)
		p.root[0] ^= 1;
	if (twist == REVEAL_BAD_PRE)
		pb[0].pre[0] ^= 1;
	if (admit_only) {
		struct compute_env env;
		env_of(c, &env);
		return compute_admit_reveal(&env, &p, worker, gas, res);
	}
	struct buf b;
	buf_init(&b);
	compute_reveal_encode(&p, &b);
	int rc = apply(c, TX_JOB_REVEAL, worker, &b, gas, res);
	if (rc == 0)
		upload_open_slots(c, job_id);
	return rc;
}

static int dispute1(struct chain *c, const uint8_t *from, const uint8_t job_id[HASH_LEN], const uint8_t *worker,
		    const struct work *w, uint32_t idx, struct compute_result *res)
{
	struct job_dispute_payload p;
	struct proof_buf pb;
	memset(&p, 0, sizeof(p));
	memcpy(p.job_id, job_id, HASH_LEN);
	p.index = idx;
	p.parties = 1;
	memcpy(p.worker[0], worker, ADDR_LEN);
	make_dispute_proof(w, idx, &pb, &p.proof[0]);
	struct buf b;
	buf_init(&b);
	compute_dispute_encode(&p, &b);
	return apply(c, TX_JOB_DISPUTE, from, &b, REVEAL_GAS, res);
}

static struct job_record job(struct chain *c, const uint8_t id[HASH_LEN])
{
	struct job_record j;
	memset(&j, 0, sizeof(j));
	CHECK(compute_get_job(&c->l, id, &j) == 0);
	return j;
}

static struct worker_record worker(struct chain *c, const uint8_t *a)
{
	struct worker_record w;
	memset(&w, 0, sizeof(w));
	CHECK(compute_get_worker(&c->l, a, &w) == 0);
	return w;
}

/* Ends blocks until no slot of the job is empty (at most 20). */
static void until_assigned(struct chain *c, const uint8_t id[HASH_LEN])
{
	for (int i = 0; i < 20; i++) {
		struct job_record j = job(c, id);
		int empty = 0;
		for (unsigned s = 0; s < j.spec.redundancy; s++)
			empty |= j.slots[s].state == SLOT_EMPTY;
		if (!empty)
			return;
		CHECK(end_block(c) == 0);
	}
	CHECK(!"job never assigned");
}

/* Ends blocks until the job's challenge is fixed (at most 20). */
static void until_challenged(struct chain *c, const uint8_t id[HASH_LEN])
{
	for (int i = 0; i < 20 && !job(c, id).challenge_height; i++)
		CHECK(end_block(c) == 0);
	CHECK(job(c, id).challenge_height != 0);
}

/* Ends blocks while the job's state is (or, with until, is not yet) state,
 * at most WAIT_BLOCKS of them: a job a regression leaves stuck fails the
 * test rather than hanging it. */
#define WAIT_BLOCKS 1000
static void blocks_while(struct chain *c, const uint8_t id[HASH_LEN], int state, int until)
{
	int n = 0;
	while (((int)job(c, id).state == state) != until && n++ < WAIT_BLOCKS)
		CHECK(end_block(c) == 0);
	CHECK(n <= WAIT_BLOCKS);
}

/* 1 if tile t is among a worker's challenged tiles for root w. */
static int is_challenged(struct chain *c, const uint8_t id[HASH_LEN], const uint8_t *wk, const struct work *w,
			 uint32_t t)
{
	uint32_t idx[JOB_MAX_SAMPLES], n = challenged(c, id, wk, w, idx);
	for (uint32_t i = 0; i < n; i++)
		if (idx[i] == t)
			return 1;
	return 0;
}

static void test_codecs(void)
{
	struct job_spec s = small_spec(2, 5 * UNIT), s2;
	s.shape = (struct job_shape){.kind = JOB_MLP_I8, .m = 9, .n = 4, .layers = 2, .dims = {8, 6, 4},
				     .shifts = {3, 4}, .tile_rows = 2, .tile_cols = 4};
	s.input_kind = JOB_INPUT_BLOBS;
	for (int i = 0; i < 5; i++)
		memset(s.blobs[i], i + 1, HASH_LEN);
	struct buf b;
	buf_init(&b);
	compute_spec_encode(&s, &b);
	CHECK(compute_spec_decode(&s2, b.data, b.len) == 0);
	CHECK_EQ_MEM(s2.salt_hash, s.salt_hash, HASH_LEN);
	struct buf b2;
	buf_init(&b2);
	compute_spec_encode(&s2, &b2);
	CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	CHECK(compute_spec_decode(&s2, b.data, b.len - 1) != 0);
	b.data[0] = 7; /* unknown kind */
	CHECK(compute_spec_decode(&s2, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);
	buf_free(&b2);

	struct worker_register_payload r = {.bond = 7}, r2;
	strcpy(r.endpoint, "host:1");
	strcpy(r.backend, "cpu");
	buf_init(&b);
	compute_register_encode(&r, &b);
	CHECK(compute_register_decode(&r2, b.data, b.len) == 0);
	CHECK(r2.bond == 7 && strcmp(r2.endpoint, "host:1") == 0 && strcmp(r2.backend, "cpu") == 0);
	b.data[b.len - 1] = 'X'; /* backend names are lower case */
	CHECK(compute_register_decode(&r2, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);

	/* commit and salt: 64 bytes each, job id first */
	struct job_commit_payload cm = {{1}, {2}}, cm2;
	struct job_salt_payload sl = {{3}, {4}}, sl2;
	buf_init(&b);
	compute_commit_encode(&cm, &b);
	CHECK(b.len == 64 && compute_commit_decode(&cm2, b.data, b.len) == 0 && cm2.commitment[0] == 2);
	CHECK(compute_commit_decode(&cm2, b.data, b.len - 1) != 0);
	buf_free(&b);
	buf_init(&b);
	compute_salt_encode(&sl, &b);
	CHECK(b.len == 64 && compute_salt_decode(&sl2, b.data, b.len) == 0 && sl2.salt[0] == 4);
	buf_free(&b);

	struct worker_record w = {.bond = 9, .locked = 4, .status = WORKER_ACTIVE, .jobs_in_flight = 2}, w2;
	memset(w.addr, 3, ADDR_LEN);
	strcpy(w.backend, "opencl");
	buf_init(&b);
	compute_worker_encode(&w, &b);
	CHECK(compute_worker_decode(&w2, b.data, b.len) == 0);
	CHECK(w2.bond == 9 && w2.locked == 4 && w2.jobs_in_flight == 2 && strcmp(w2.backend, "opencl") == 0);
	buf_free(&b);
	w.locked = 10; /* more locked than bonded: corrupt */
	buf_init(&b);
	compute_worker_encode(&w, &b);
	CHECK(compute_worker_decode(&w2, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);

	struct job_record j, j2;
	memset(&j, 0, sizeof(j));
	j.spec = small_spec(3, 9);
	j.state = JOB_COMMITTED;
	j.slots[2].state = SLOT_CHALLENGED;
	j.slots[2].challenge_height = 77;
	j.slots[2].lock = 5;
	j.check_escrow = 11;
	j.sealed_height = 70;
	j.challenge_height = 77;
	j.salt_posted = 1;
	j.salt[0] = 8;
	j.excluded_count = 1;
	memset(j.excluded[0], 9, ADDR_LEN);
	buf_init(&b);
	compute_job_encode(&j, &b);
	CHECK(compute_job_decode(&j2, b.data, b.len) == 0);
	buf_init(&b2);
	compute_job_encode(&j2, &b2);
	CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	CHECK(j2.slots[2].challenge_height == 77 && j2.excluded[0][5] == 9 && j2.slots[2].lock == 5);
	CHECK(j2.check_escrow == 11 && j2.sealed_height == 70 && j2.salt_posted == 1 && j2.salt[0] == 8);
	buf_free(&b);
	buf_free(&b2);
	/* salt_posted is 0, 1 or 2 (opened before the job was sealed again) */
	for (uint8_t v = SALT_OPENED_LATE; v <= SALT_OPENED_LATE + 1; v++) {
		j.salt_posted = v;
		buf_init(&b);
		compute_job_encode(&j, &b);
		CHECK_EQ_INT(compute_job_decode(&j2, b.data, b.len), v == SALT_OPENED_LATE ? 0 : ASSAY_EDECODE);
		buf_free(&b);
	}
}

static void test_params(void)
{
	struct compute_params p;
	compute_params_default(&p);
	CHECK(p.samples_k == 66 && p.slash_bps == 10000);
	CHECK(p.challenge_delay == 2 && p.salt_window == 10 && p.reveal_block_gas == 1000000000ull);
	/* k = 66 catches f = 10% wrong tiles with >= 99.9%: 0.9^66 < 10^-3 */
	double miss = 1;
	for (uint32_t i = 0; i < p.samples_k; i++)
		miss *= 0.9;
	CHECK(miss < 0.001);
	CHECK(compute_params_set(&p, "samples_k", 32) == 0 && p.samples_k == 32);
	CHECK(compute_params_set(&p, "min_bond", 5) == 0 && p.min_bond == 5);
	CHECK(compute_params_set(&p, "slash_bps", 10001) == ASSAY_ELIMIT);
	CHECK(compute_params_set(&p, "challenge_delay", 1) == ASSAY_ELIMIT); /* the next block is not enough */
	CHECK(compute_params_set(&p, "challenge_delay", 3) == 0 && p.challenge_delay == 3);
	CHECK(compute_params_set(&p, "salt_window", 0) == ASSAY_ELIMIT);
	CHECK(compute_params_set(&p, "no_such_param", 1) == ASSAY_EARG);
	CHECK(strcmp(compute_job_state_name(JOB_PAID), "paid") == 0);
	CHECK(strcmp(compute_job_state_name(99), "unknown") == 0);
	CHECK(compute_job_lock(&p, 7 * UNIT) == 7 * UNIT);
}

/* A job_submit pays for the record it leaves in the state for good
 * (protocol.md §5.2): exec_job_gas, counted on the most bytes the record
 * can grow to, which is what compute_job_encode writes with the excluded
 * list full. One gas short, it fails and nothing is kept. */
static void test_submit_record_gas(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	for (uint8_t r = 1; r <= JOB_MAX_REDUNDANCY; r++) {
		struct job_spec spec = small_spec(r, 7 * UNIT);
		struct buf b;
		buf_init(&b);
		compute_spec_encode(&spec, &b);
		size_t spec_len = b.len;
		uint64_t need = exec_job_gas(spec_len, r);
		CHECK_EQ_U64(need, VM_GAS_NEW_KEY + VM_GAS_STORAGE_BYTE * compute_job_record_max_bytes(spec_len, r));
		uint64_t before = balance(&c, SUB);
		CHECK(apply(&c, TX_JOB_SUBMIT, SUB, &b, need - 1, &res) == ASSAY_EGAS);
		CHECK(strstr(res.error, "out of gas: the record of this job needs gas_limit") != NULL);
		CHECK_EQ_U64(res.gas_used, need - 1);
		CHECK_EQ_U64(balance(&c, SUB), before);
		CHECK(submit(&c, &spec, id, &res) == 0);
		CHECK_EQ_U64(res.gas_used, need);
		struct job_record j = job(&c, id);
		j.excluded_count = JOB_MAX_EXCLUDED; /* the most it can hold */
		buf_init(&b);
		compute_job_encode(&j, &b);
		CHECK_EQ_U64(b.len, compute_job_record_max_bytes(spec_len, r));
		buf_free(&b);
	}
	ledger_mem_free(c.mem);
}

static void test_honest_flow(void)
{
	struct chain c;
	chain_init(&c);
	c.min_fee = 1000;
	c.gas_price = 1;
	struct compute_result res;
	uint8_t id[HASH_LEN];
	unsigned __int128 s0 = supply(&c);
	uint64_t bond = 200 * UNIT, reward = 7 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	struct job_spec spec = small_spec(1, reward);
	CHECK(submit(&c, &spec, id, &res) == 0);
	struct job_record j = job(&c, id);
	/* the checking is priced at submit: one worst-case reveal (4 tiles of
	 * 2*16*40 + 64 + 4 + depth 4 + 1 units) and one two-party dispute */
	uint64_t tile = 2 * 16 * 40 + 64 + 4 + 4 + 1, check = (4 * tile + 1000) + (2 * tile + 1000);
	CHECK_EQ_U64(j.check_escrow, check);
	CHECK(j.state == JOB_OPEN);
	CHECK_EQ_U64(balance(&c, SUB), START_BALANCE - reward - check);
	/* Drawn challenge_delay blocks after the submit (h1), with the beacon
	 * of that later block. */
	CHECK(end_block(&c) == 0); /* h1 */
	CHECK(end_block(&c) == 0); /* h2 */
	CHECK(job(&c, id).state == JOB_OPEN);
	CHECK(end_block(&c) == 0); /* h3: assigned */
	j = job(&c, id);
	CHECK(j.state == JOB_ASSIGNED && memcmp(j.slots[0].worker, W1, ADDR_LEN) == 0 && j.slots[0].lock == reward);
	struct worker_record wr = worker(&c, W1);
	CHECK(wr.jobs_in_flight == 1 && wr.locked == reward);
	struct work w;
	work_do(&c, id, 0, &w);
	CHECK(post_salt(&c, SUB, id, SALT, &res) == ASSAY_EINVALID); /* nothing committed yet */
	CHECK(commit(&c, W2, id, &w) == ASSAY_EINVALID); /* not assigned */
	CHECK(commit(&c, W1, id, &w) == 0);              /* h4: seals the job */
	CHECK(commit(&c, W1, id, &w) == ASSAY_EINVALID); /* twice */
	j = job(&c, id);
	CHECK(j.state == JOB_COMMITTED && j.sealed_height == 4);
	/* the salt cannot ride in the sealing block itself */
	CHECK(post_salt(&c, SUB, id, SALT, &res) == ASSAY_EINVALID);
	CHECK(reveal(&c, W1, id, &w, REVEAL_OK, REVEAL_GAS, &res) == ASSAY_EINVALID); /* no challenge yet */
	CHECK(end_block(&c) == 0); /* h4 */
	uint8_t wrong_salt[HASH_LEN] = {1};
	CHECK(post_salt(&c, DIS, id, wrong_salt, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "salt_hash") != NULL);
	CHECK(post_salt(&c, DIS, id, SALT, &res) == 0); /* h5: anyone holding it may open it */
	CHECK(post_salt(&c, DIS, id, SALT, &res) == ASSAY_EEXISTS);
	CHECK(end_block(&c) == 0); /* h5 */
	CHECK(job(&c, id).slots[0].state == SLOT_COMMITTED);
	CHECK(end_block(&c) == 0); /* h6 = sealed + challenge_delay: challenge fixed */
	j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_CHALLENGED && j.slots[0].challenge_height == 6 && j.challenge_height == 6);
	uint8_t beacon6[HASH_LEN], seed[HASH_LEN], want_seed[HASH_LEN];
	beacon_at(6, beacon6);
	CHECK_EQ_MEM(j.challenge_beacon, beacon6, HASH_LEN);
	seed_for(&c, id, W1, &w, seed);
	kernel_challenge_seed(beacon6, SALT, id, W1, w.root, want_seed);
	CHECK_EQ_MEM(seed, want_seed, HASH_LEN);
	/* Bad reveals change nothing. */
	CHECK(reveal(&c, W1, id, &w, REVEAL_WRONG_INDEX, REVEAL_GAS, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "challenged") != NULL);
	CHECK(reveal(&c, W1, id, &w, REVEAL_DUPLICATE, REVEAL_GAS, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "twice") != NULL);
	CHECK(reveal(&c, W1, id, &w, REVEAL_BAD_PROOF, REVEAL_GAS, &res) == ASSAY_ESIG);
	CHECK(reveal(&c, W1, id, &w, REVEAL_SHORT, REVEAL_GAS, &res) == ASSAY_EINVALID);
	CHECK(reveal(&c, W1, id, &w, REVEAL_OTHER_ROOT, REVEAL_GAS, &res) == ASSAY_ESIG);
	CHECK(strstr(res.error, "commitment") != NULL);
	CHECK(reveal(&c, W1, id, &w, REVEAL_OK, 100, &res) == ASSAY_EGAS);
	CHECK(job(&c, id).slots[0].state == SLOT_CHALLENGED);
	/* Gas: per 8x8 tile at K = 40: 2*(8+8)*40 + 64 + 256/64 + depth + 1,
	 * where depth is 4 for tiles 0..7 and 3 for 8..11 of a 12-leaf tree. */
	uint32_t idx[JOB_MAX_SAMPLES], nidx = challenged(&c, id, W1, &w, idx);
	uint64_t want_gas = 0;
	for (uint32_t i = 0; i < nidx; i++)
		want_gas += 2 * 16 * 40 + 64 + 4 + (idx[i] < 8 ? 4 : 3) + 1;
	/* The reveal's fee comes back from the check escrow, up to the chain's
	 * fee for the gas it used: a fee above that is the worker's choice. */
	c.fee = want_gas + 1000 + 77;
	uint64_t w1_before = balance(&c, W1);
	/* a gas_limit no block's reveal budget holds: refused, it would wait
	 * in every mempool for good */
	CHECK_EQ_INT(reveal(&c, W1, id, &w, REVEAL_OK, c.p.reveal_block_gas + 1, &res), ASSAY_ELIMIT);
	CHECK(strstr(res.error, "reveal_block_gas") != NULL);
	CHECK(reveal(&c, W1, id, &w, REVEAL_OK, REVEAL_GAS, &res) == 0);
	c.fee = 0;
	CHECK(nidx == 4 && res.gas_used == want_gas);
	CHECK_EQ_U64(balance(&c, W1), w1_before + want_gas + 1000);
	j = job(&c, id);
	CHECK(j.state == JOB_VERIFIED && j.verified_height == 7 && j.payout_height == 12);
	CHECK(j.slots[0].commit_height == 4 && j.slots[0].reveal_height == 7);
	CHECK_EQ_MEM(j.slots[0].root, w.root, HASH_LEN);
	CHECK_EQ_MEM(j.slots[0].challenge_seed, want_seed, HASH_LEN);
	CHECK_EQ_U64(j.check_escrow, check - want_gas - 1000);
	CHECK(supply(&c) == s0);
	while (c.h < 12) {
		CHECK(job(&c, id).state == JOB_VERIFIED);
		CHECK(end_block(&c) == 0);
	}
	CHECK(end_block(&c) == 0); /* h12: payout */
	j = job(&c, id);
	CHECK(j.state == JOB_PAID && j.escrow == 0 && j.check_escrow == 0);
	CHECK_EQ_U64(balance(&c, W1), START_BALANCE - bond + reward + want_gas + 1000);
	/* the unspent checking budget went back to the submitter */
	CHECK_EQ_U64(balance(&c, SUB), START_BALANCE - reward - want_gas - 1000);
	wr = worker(&c, W1);
	CHECK(wr.jobs_in_flight == 0 && wr.jobs_done == 1 && wr.bond == bond && wr.locked == 0);
	CHECK(supply(&c) == s0);
	/* A paid job is off the live list and refuses further txs. */
	CHECK(dispute1(&c, DIS, id, W1, &w, 0, &res) == ASSAY_EINVALID);
	/* Unbond: the bond comes back after the delay. */
	struct buf b;
	buf_init(&b);
	CHECK(apply(&c, TX_WORKER_UNBOND, W1, &b, 0, &res) == 0);
	CHECK(end_block(&c) == 0);
	CHECK(worker(&c, W1).status == WORKER_UNBONDING);
	CHECK(end_block(&c) == 0);
	CHECK(end_block(&c) == 0);
	CHECK(worker(&c, W1).status == WORKER_EXITED);
	CHECK_EQ_U64(balance(&c, W1), START_BALANCE + reward + want_gas + 1000);
	CHECK(supply(&c) == s0);
	work_free(&w);
	ledger_mem_free(c.mem);
}

/* Runs a job from submission to its challenge; the workers compute with
 * the given corruptions and commit in one block; with_salt: the submitter
 * opens its salt in the next. Returns at the first block a reveal may be in. */
static void to_challenge(struct chain *c, uint8_t id[HASH_LEN], const struct job_spec *spec, struct work *w,
			 const uint64_t *bad, int with_salt)
{
	struct compute_result res;
	CHECK(submit(c, spec, id, &res) == 0);
	until_assigned(c, id);
	struct job_record j = job(c, id);
	for (unsigned i = 0; i < spec->redundancy; i++) {
		CHECK(j.slots[i].state == SLOT_ASSIGNED);
		work_do(c, id, bad[i], &w[i]);
		CHECK(commit(c, j.slots[i].worker, id, &w[i]) == 0);
	}
	CHECK(end_block(c) == 0);
	if (with_salt)
		CHECK(post_salt(c, SUB, id, SALT, &res) == 0);
	until_challenged(c, id);
}

/* Without the salt by the end of its window the challenge takes the beacon
 * of block sealed + challenge_delay + salt_window and no salt, and a salt
 * sent after that window is refused. */
static void test_challenge_without_salt(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	struct job_spec spec = small_spec(1, 5 * UNIT);
	struct work w[1];
	uint64_t bad[1] = {0};
	to_challenge(&c, id, &spec, w, bad, 0);
	struct job_record j = job(&c, id);
	uint64_t sealed = j.sealed_height;
	CHECK(j.challenge_height == sealed + c.p.challenge_delay + c.p.salt_window && !j.salt_posted);
	uint8_t b[HASH_LEN], seed[HASH_LEN], want[HASH_LEN];
	beacon_at(j.challenge_height, b);
	CHECK_EQ_MEM(j.challenge_beacon, b, HASH_LEN);
	seed_for(&c, id, W1, &w[0], seed);
	kernel_challenge_seed(b, NULL, id, W1, w[0].root, want);
	CHECK_EQ_MEM(seed, want, HASH_LEN);
	CHECK(post_salt(&c, SUB, id, SALT, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "window") != NULL);
	CHECK(reveal(&c, W1, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(job(&c, id).state == JOB_VERIFIED);
	work_free(&w[0]);
	ledger_mem_free(c.mem);
}

/* A salt opened after block c + d, when that block's beacon is known,
 * would show its holder the challenge it makes before the holder chooses
 * to open it or to let the job draw afresh at c + d + salt_window (two
 * draws for a worker it colludes with): it is kept, but the challenge waits
 * for the later beacon as if there were none. A salt opened by block c + d
 * is used with the beacon of c + d. */
static void test_late_salt_waits(void)
{
	for (int late = 0; late <= 1; late++) {
		struct chain c;
		chain_init(&c);
		c.p.salt_window = 5; /* room after c + d */
		struct compute_result res;
		uint8_t id[HASH_LEN];
		CHECK(reg(&c, W1, 200 * UNIT) == 0);
		struct job_spec spec = small_spec(1, 5 * UNIT);
		struct work w[1];
		CHECK(submit(&c, &spec, id, &res) == 0);
		until_assigned(&c, id);
		work_do(&c, id, 0, &w[0]);
		CHECK(commit(&c, W1, id, &w[0]) == 0);
		CHECK(end_block(&c) == 0);
		uint64_t sealed = job(&c, id).sealed_height;
		CHECK(sealed != 0);
		while (c.h < sealed + c.p.challenge_delay + (uint64_t)late)
			CHECK(end_block(&c) == 0);
		CHECK(post_salt(&c, SUB, id, SALT, &res) == 0);
		CHECK_EQ_INT(job(&c, id).salt_posted, late ? SALT_OPENED_LATE : SALT_OPENED);
		until_challenged(&c, id);
		struct job_record j = job(&c, id);
		uint64_t want_h = sealed + c.p.challenge_delay + (late ? c.p.salt_window : 0);
		CHECK_EQ_U64(j.challenge_height, want_h);
		uint8_t b[HASH_LEN], seed[HASH_LEN], want[HASH_LEN];
		beacon_at(want_h, b);
		CHECK_EQ_MEM(j.challenge_beacon, b, HASH_LEN);
		seed_for(&c, id, W1, &w[0], seed);
		kernel_challenge_seed(b, SALT, id, W1, w[0].root, want);
		CHECK_EQ_MEM(seed, want, HASH_LEN);
		CHECK(reveal(&c, W1, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
		CHECK(job(&c, id).state == JOB_VERIFIED);
		work_free(&w[0]);
		ledger_mem_free(c.mem);
	}
}

/* By a dry run on a fresh chain (same heights, so the same draws and the
 * same challenge beacon): the worker of slot `slot` and a tile whose
 * corruption its own challenge then misses. That is the grinding of a
 * worker that knows the challenge beacon and salt at commit time, which is
 * what the delay and the salt deny it on chain; here it finds the cheats
 * that only a dispute can catch. */
static uint32_t find_hidden(const struct job_spec *spec, unsigned slot, int with_salt, uint8_t worker_out[ADDR_LEN])
{
	struct chain c;
	chain_init(&c);
	uint8_t id[HASH_LEN];
	struct work w[JOB_MAX_REDUNDANCY];
	uint64_t none[JOB_MAX_REDUNDANCY] = {0};
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	CHECK(reg(&c, W2, 200 * UNIT) == 0);
	to_challenge(&c, id, spec, w, none, with_salt);
	struct job_record j = job(&c, id);
	memcpy(worker_out, j.slots[slot].worker, ADDR_LEN);
	uint32_t hidden = UINT32_MAX, tiles = kernel_tile_count(&spec->shape);
	for (uint32_t t = 0; t < tiles && hidden == UINT32_MAX; t++) {
		struct work bad;
		work_do(&c, id, 1ull << t, &bad);
		if (!is_challenged(&c, id, worker_out, &bad, t))
			hidden = t;
		work_free(&bad);
	}
	for (unsigned i = 0; i < spec->redundancy; i++)
		work_free(&w[i]);
	ledger_mem_free(c.mem);
	return hidden;
}

static void test_wrong_tile_sampled(void)
{
	struct chain c;
	chain_init(&c);
	c.p.slash_bps = 5000;
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT, reward = 5 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	unsigned __int128 s0 = supply(&c);
	struct job_spec spec = small_spec(1, reward);
	struct work w[1];
	uint64_t bad[1] = {~0ull}; /* every tile wrong: any sample catches it */
	to_challenge(&c, id, &spec, w, bad, 1);
	uint64_t sub_before = balance(&c, SUB);
	CHECK(reveal(&c, W1, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(strstr(res.error, "slashed") != NULL);
	/* half of this job's lock (= reward), half of that to the submitter */
	uint64_t slash = reward / 2, to_sub = slash / 2;
	struct worker_record wr = worker(&c, W1);
	CHECK(wr.bond == bond - slash && wr.slashed_total == slash && wr.jobs_failed == 1);
	CHECK(wr.jobs_in_flight == 0 && wr.locked == 0);
	CHECK_EQ_U64(balance(&c, SUB), sub_before + to_sub);
	CHECK_EQ_U64(balance(&c, LEDGER_BURN_ADDR), slash - to_sub);
	struct job_record j = job(&c, id);
	CHECK(j.state == JOB_OPEN && j.excluded_count == 1 && j.slots[0].state == SLOT_EMPTY);
	CHECK(j.sealed_height == 0 && j.challenge_height == 0 && j.salt_posted); /* a new challenge phase */
	CHECK(supply(&c) == s0);
	/* Reassigned challenge_delay blocks later: W1 is excluded, W2 gets it. */
	CHECK(reg(&c, W2, bond) == 0);
	CHECK(end_block(&c) == 0);
	CHECK(job(&c, id).slots[0].state == SLOT_EMPTY);
	until_assigned(&c, id);
	j = job(&c, id);
	CHECK(j.state == JOB_ASSIGNED && memcmp(j.slots[0].worker, W2, ADDR_LEN) == 0);
	CHECK_EQ_INT(j.salt_posted, SALT_OPENED_LATE);
	/* W2 knew the salt when it committed: its challenge waits for the
	 * beacon salt_window blocks later, as if there were no salt */
	struct work w2;
	work_do(&c, id, 0, &w2);
	CHECK(commit(&c, W2, id, &w2) == 0);
	CHECK(post_salt(&c, SUB, id, SALT, &res) == ASSAY_EEXISTS);
	until_challenged(&c, id);
	j = job(&c, id);
	CHECK_EQ_U64(j.challenge_height, j.sealed_height + c.p.challenge_delay + c.p.salt_window);
	uint8_t b[HASH_LEN];
	beacon_at(j.challenge_height, b);
	CHECK_EQ_MEM(j.challenge_beacon, b, HASH_LEN);
	CHECK(reveal(&c, W2, id, &w2, REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK_EQ_INT(job(&c, id).slots[0].state, SLOT_VERIFIED);
	work_free(&w2);
	work_free(&w[0]);
	ledger_mem_free(c.mem);
}

/* r = 2 and both slots committed the same wrong root (a copier's, or two
 * cheaters'): when one reveal proves it wrong, every slot that committed
 * it is slashed, whether or not it has opened it. */
static void test_wrong_root_slashes_all(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT, reward = 6 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	CHECK(reg(&c, W2, bond) == 0);
	unsigned __int128 s0 = supply(&c);
	struct job_spec spec = small_spec(2, reward);
	struct work w[2];
	uint64_t bad[2] = {~0ull, ~0ull};
	to_challenge(&c, id, &spec, w, bad, 1);
	struct job_record j = job(&c, id);
	CHECK(reveal(&c, j.slots[0].worker, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(strstr(res.error, "2 worker(s)") != NULL);
	for (int i = 0; i < 2; i++) {
		struct worker_record wr = worker(&c, i ? W2 : W1);
		CHECK(wr.bond == bond - reward && wr.jobs_failed == 1 && wr.locked == 0 && wr.jobs_in_flight == 0);
	}
	j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_EMPTY && j.slots[1].state == SLOT_EMPTY && j.excluded_count == 2);
	CHECK(supply(&c) == s0);
	work_free(&w[0]);
	work_free(&w[1]);
	ledger_mem_free(c.mem);
}

/* A challenge once fixed is never drawn again while a slot waits on it.
 * W1's sampled tiles are wrong; its Sybil W2 reveals a root proven wrong
 * (or would miss its reveal) so that a redraw unseals the job and W1 gets
 * a new challenge: W2 fails for good instead, and W1 keeps its challenge,
 * reveals under it and is caught. Had both failed, they would have been
 * redrawn together (nobody left waiting on the old challenge). */
static void test_sybil_failure_keeps_challenge(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT, reward = 6 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	CHECK(reg(&c, W2, bond) == 0);
	CHECK(reg(&c, W3, bond) == 0); /* someone a redraw could take */
	struct job_spec spec = small_spec(2, reward);
	struct work w[2];
	uint64_t bad[2] = {~0ull, ~0ull ^ 1}; /* two different wrong roots */
	to_challenge(&c, id, &spec, w, bad, 1);
	struct job_record j = job(&c, id);
	uint64_t challenged = j.challenge_height;
	uint8_t beacon[HASH_LEN];
	memcpy(beacon, j.challenge_beacon, HASH_LEN);
	CHECK(reveal(&c, j.slots[1].worker, id, &w[1], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(strstr(res.error, "slashed") != NULL);
	j = job(&c, id);
	CHECK_EQ_INT(j.slots[1].state, SLOT_FAILED);
	CHECK_EQ_INT(j.slots[0].state, SLOT_CHALLENGED);
	CHECK_EQ_U64(j.challenge_height, challenged);
	CHECK_EQ_U64(j.slots[0].challenge_height, challenged);
	CHECK_EQ_MEM(j.challenge_beacon, beacon, HASH_LEN);
	CHECK(reveal(&c, j.slots[0].worker, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(strstr(res.error, "slashed") != NULL);
	j = job(&c, id);
	/* nobody waits on the old challenge now: the last failed slot is redrawn */
	CHECK_EQ_INT(j.slots[0].state, SLOT_EMPTY);
	CHECK_EQ_INT(j.slots[1].state, SLOT_FAILED);
	CHECK(j.challenge_height == 0 && j.excluded_count == 2);
	for (int i = 0; i < 2; i++)
		CHECK_EQ_U64(worker(&c, i ? W2 : W1).bond, bond - reward);
	work_free(&w[0]);
	work_free(&w[1]);
	ledger_mem_free(c.mem);
}

/* Copying before the commit is useless: a commitment binds the root to its
 * worker, so another slot's commitment opens for nobody else, and no root
 * is opened (no reveal accepted) until every slot has committed. */
static void test_copied_commitment(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	CHECK(reg(&c, W2, 200 * UNIT) == 0);
	struct job_spec spec = small_spec(2, 6 * UNIT);
	CHECK(submit(&c, &spec, id, &res) == 0);
	until_assigned(&c, id);
	struct job_record j = job(&c, id);
	const uint8_t *honest = j.slots[0].worker, *copier = j.slots[1].worker;
	struct work w;
	work_do(&c, id, 0, &w);
	CHECK(commit(&c, honest, id, &w) == 0);
	CHECK(end_block(&c) == 0);
	/* The honest slot cannot open its root while the other is uncommitted. */
	CHECK(reveal(&c, honest, id, &w, REVEAL_OK, REVEAL_GAS, &res) == ASSAY_EINVALID);
	/* The copier commits the honest commitment's bytes as they are ... */
	j = job(&c, id);
	CHECK(commit_raw(&c, copier, id, j.slots[0].commitment) == 0);
	CHECK(end_block(&c) == 0);
	CHECK(post_salt(&c, SUB, id, SALT, &res) == 0);
	until_challenged(&c, id);
	/* ... which no root opens for it: not even the honest one. */
	CHECK(reveal(&c, honest, id, &w, REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(reveal(&c, copier, id, &w, REVEAL_OK, REVEAL_GAS, &res) == ASSAY_ESIG);
	CHECK(strstr(res.error, "commitment") != NULL);
	/* It keeps quiet and is slashed at the end of its window: burned. */
	uint64_t sub_before = balance(&c, SUB);
	blocks_while(&c, id, JOB_VERIFIED, 1);
	j = job(&c, id);
	CHECK(j.slots[1].state == SLOT_FAILED && j.slots[0].state == SLOT_VERIFIED); /* no redraw: a root is open */
	CHECK(worker(&c, copier).bond == 200 * UNIT - 6 * UNIT);
	CHECK(balance(&c, SUB) == sub_before);
	blocks_while(&c, id, JOB_VERIFIED, 0);
	CHECK(job(&c, id).state == JOB_PAID);
	CHECK(balance(&c, honest) == START_BALANCE - 200 * UNIT + 6 * UNIT);
	work_free(&w);
	ledger_mem_free(c.mem);
}

/* An mlp job of 8 tiles of 3 batch rows, 4 of them sampled. */
static struct job_spec mlp_spec(uint64_t reward)
{
	struct job_spec spec = small_spec(1, reward);
	spec.shape = (struct job_shape){.kind = JOB_MLP_I8, .m = 24, .n = 10, .layers = 2, .dims = {20, 16, 10},
					.shifts = {6, 5}, .tile_rows = 3, .tile_cols = 10};
	return spec;
}

static void client_dispute(int mlp)
{
	struct chain c;
	struct compute_result res;
	uint8_t id[HASH_LEN], wk[ADDR_LEN];
	uint64_t bond = 200 * UNIT, reward = 5 * UNIT;
	struct job_spec spec = mlp ? mlp_spec(reward) : small_spec(1, reward);
	uint32_t tiles = kernel_tile_count(&spec.shape);
	uint32_t hidden = find_hidden(&spec, 0, 1, wk);
	CHECK(hidden < tiles);
	/* The same job with the hidden corruption committed. */
	chain_init(&c);
	CHECK(reg(&c, W1, bond) == 0);
	CHECK(reg(&c, W2, bond) == 0);
	unsigned __int128 s0 = supply(&c);
	struct work w[1];
	uint64_t bad[1] = {1ull << hidden};
	to_challenge(&c, id, &spec, w, bad, 1);
	CHECK(!is_challenged(&c, id, wk, &w[0], hidden)); /* same beacons, same challenge */
	/* Before the root is opened nothing can be disputed. */
	CHECK(dispute1(&c, SUB, id, wk, &w[0], hidden, &res) == ASSAY_EINVALID);
	CHECK(reveal(&c, wk, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(job(&c, id).state == JOB_VERIFIED);
	/* A correct tile disputed: the disputer's bond goes to the worker. */
	uint32_t fine = hidden == 0 ? 1 : 0;
	uint64_t wk_before = balance(&c, wk);
	CHECK(dispute1(&c, DIS, id, wk, &w[0], fine, &res) == 0);
	CHECK(strstr(res.error, "forfeited") != NULL);
	CHECK(balance(&c, DIS) == START_BALANCE - c.p.dispute_bond);
	CHECK(balance(&c, wk) == wk_before + c.p.dispute_bond);
	CHECK(job(&c, id).state == JOB_VERIFIED);
	if (mlp) {
		/* an mlp dispute proves the leaf with the tile's P_i: another
		 * digest does not prove, and costs no bond */
		w[0].digests[hidden][0] ^= 1;
		CHECK(dispute1(&c, SUB, id, wk, &w[0], hidden, &res) == ASSAY_ESIG);
		w[0].digests[hidden][0] ^= 1;
	}
	/* The hidden wrong tile: slash (the whole lock) and refund. */
	uint64_t sub_before = balance(&c, SUB);
	CHECK(dispute1(&c, SUB, id, wk, &w[0], hidden, &res) == 0);
	CHECK(strstr(res.error, "slashed") != NULL);
	struct job_record j = job(&c, id);
	CHECK(j.state == JOB_FAILED && j.escrow == 0 && j.check_escrow == 0);
	CHECK(worker(&c, wk).bond == bond - reward);
	/* the escrow back and half the slash (this chain prices checking at 0) */
	CHECK_EQ_U64(balance(&c, SUB), sub_before + reward + reward / 2);
	CHECK_EQ_U64(balance(&c, SUB), START_BALANCE + reward / 2);
	CHECK(supply(&c) == s0);
	/* Terminal: nothing more happens at the old payout height. */
	for (int i = 0; i < 8; i++)
		CHECK(end_block(&c) == 0);
	CHECK(balance(&c, wk) == wk_before + c.p.dispute_bond);
	CHECK(worker(&c, wk).jobs_in_flight == 0 && worker(&c, wk).locked == 0);
	work_free(&w[0]);
	ledger_mem_free(c.mem);
}

/* A dispute proves a wrong tile by recomputing it; for mlp its proof
 * carries the tile's P_i from the chunks (docs/compute.md §6.3). */
static void test_client_dispute(void)
{
	client_dispute(0);
	client_dispute(1);
}

/* Adds delta to an int32 LE word. */
static void add_i32(uint8_t *p, int32_t delta)
{
	le32_put(p, (uint32_t)((int32_t)le32_get(p) + delta));
}

/* mlp reveals carry every sampled tile's pre-activations (docs/compute.md
 * §5.2). Ones that do not hash to the leaf's P_i are refused as a bad proof
 * (nothing slashed, the slot may still reveal); a committed z that is wrong
 * but requantizes to the right output is caught by Freivalds and slashes;
 * an honest reveal passes for the gas of the Freivalds check, far below
 * recomputing its tiles. */
static void test_mlp_reveal_pre(void)
{
	for (int cheat = 0; cheat < 2; cheat++) {
		struct chain c;
		chain_init(&c);
		c.p.gas_per_check_unit = 1;
		struct compute_result res;
		uint8_t id[HASH_LEN];
		uint64_t bond = 200 * UNIT;
		CHECK(reg(&c, W1, bond) == 0);
		struct job_spec spec = mlp_spec(4 * UNIT);
		spec.samples = 8; /* every tile */
		CHECK(submit(&c, &spec, id, &res) == 0);
		until_assigned(&c, id);
		struct work w;
		work_do(&c, id, 0, &w);
		if (cheat) {
			/* tile 5, layer 2: the first z whose +1 leaves the output as it is */
			uint8_t *z = w.pre + 4ull * spec.shape.m * 16 + 4ull * 15 * 10;
			struct kernel_src src = {.from_seed = 1};
			memcpy(src.seed, spec.seed, HASH_LEN);
			uint8_t bias[40];
			kernel_src_read(&src, &w.shape, 4, 0, bias, sizeof(bias));
			int done = 0;
			for (uint32_t j = 0; j < 30 && !done; j++) {
				int64_t v = (int32_t)le32_get(z + 4 * j) + (int64_t)(int32_t)le32_get(bias + 4 * (j % 10));
				if (kernel_requant(v, 5, 0) == kernel_requant(v + 1, 5, 0)) {
					add_i32(z + 4 * j, 1);
					done = 1;
				}
			}
			CHECK(done);
			work_recommit(&w);
		}
		CHECK(commit(&c, W1, id, &w) == 0);
		CHECK(end_block(&c) == 0);
		CHECK(post_salt(&c, SUB, id, SALT, &res) == 0);
		until_challenged(&c, id);
		CHECK(reveal(&c, W1, id, &w, REVEAL_BAD_PRE, REVEAL_GAS, &res) == ASSAY_ESIG);
		CHECK(job(&c, id).slots[0].state == SLOT_CHALLENGED);
		CHECK(reveal(&c, W1, id, &w, REVEAL_OK, REVEAL_GAS, &res) == 0);
		if (cheat) {
			CHECK(strstr(res.error, "tile 5 is wrong") != NULL);
			CHECK(worker(&c, W1).bond == bond - 4 * UNIT);
		} else {
			CHECK(job(&c, id).slots[0].state == SLOT_VERIFIED);
			/* 8 tiles: the Freivalds check's units, not a recompute's (the
			 * gap grows with the widths: O(d_in + d_out) against d_in d_out
			 * per row) */
			uint64_t fixed = mlp_check_fixed_units(&w.shape), recompute = 0;
			for (uint32_t t = 0; t < 8; t++)
				recompute += mlp_recompute_units(&w.shape, t);
			CHECK(res.gas_used > fixed && res.gas_used < recompute / 2); /* 6346 vs 15840 at these widths */
		}
		work_free(&w);
		ledger_mem_free(c.mem);
	}
}

static void test_redundancy(void)
{
	struct chain c;
	chain_init(&c);
	c.p.slash_bps = 5000;
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT, reward = 6 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	CHECK(reg(&c, W2, bond) == 0);
	unsigned __int128 s0 = supply(&c);
	struct job_spec spec = small_spec(2, reward);
	uint32_t tiles = kernel_tile_count(&spec.shape);
	/* The second slot's worker corrupts one tile its challenge misses. */
	uint8_t honest[ADDR_LEN], cheat[ADDR_LEN];
	uint32_t hidden = find_hidden(&spec, 1, 1, cheat);
	find_hidden(&spec, 0, 1, honest);
	CHECK(hidden < tiles);
	struct work w[2];
	struct job_record j;
	uint64_t bad[2] = {0, 1ull << hidden};
	to_challenge(&c, id, &spec, w, bad, 1);
	CHECK(reveal(&c, honest, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(reveal(&c, cheat, id, &w[1], REVEAL_OK, REVEAL_GAS, &res) == 0);
	j = job(&c, id);
	CHECK(j.state == JOB_VERIFIED);
	CHECK(memcmp(j.slots[0].root, j.slots[1].root, HASH_LEN) != 0);
	/* Equal tiles cannot be disputed against each other. */
	struct job_dispute_payload p;
	struct proof_buf pb[2];
	memset(&p, 0, sizeof(p));
	memcpy(p.job_id, id, HASH_LEN);
	p.parties = 2;
	memcpy(p.worker[0], honest, ADDR_LEN);
	memcpy(p.worker[1], cheat, ADDR_LEN);
	p.index = hidden == 0 ? 1 : 0;
	make_dispute_proof(&w[0], p.index, &pb[0], &p.proof[0]);
	make_dispute_proof(&w[1], p.index, &pb[1], &p.proof[1]);
	struct buf b;
	buf_init(&b);
	compute_dispute_encode(&p, &b);
	CHECK(apply(&c, TX_JOB_DISPUTE, DIS, &b, REVEAL_GAS, &res) == ASSAY_EINVALID);
	p.index = hidden;
	make_dispute_proof(&w[0], p.index, &pb[0], &p.proof[0]);
	make_dispute_proof(&w[1], p.index, &pb[1], &p.proof[1]);
	buf_init(&b);
	compute_dispute_encode(&p, &b);
	CHECK(apply(&c, TX_JOB_DISPUTE, DIS, &b, REVEAL_GAS, &res) == 0);
	CHECK(worker(&c, cheat).bond == bond - reward / 2);
	CHECK(worker(&c, honest).bond == bond);
	CHECK(balance(&c, DIS) == START_BALANCE);
	j = job(&c, id);
	CHECK(j.state == JOB_VERIFIED && j.slots[1].state == SLOT_FAILED);
	blocks_while(&c, id, JOB_VERIFIED, 0);
	j = job(&c, id);
	CHECK(j.state == JOB_PAID);
	CHECK(balance(&c, honest) == START_BALANCE - bond + reward);
	CHECK(balance(&c, cheat) == START_BALANCE - bond);
	CHECK(supply(&c) == s0);
	work_free(&w[0]);
	work_free(&w[1]);
	ledger_mem_free(c.mem);
}

/* Corrupts one pre-activation of tile t in w (its first row's z_1), not
 * its output, and rebuilds the root. */
static void corrupt_pre(struct work *w, uint32_t t)
{
	uint32_t r0, c0, nr, nc;
	kernel_tile_rect(&w->shape, t, &r0, &c0, &nr, &nc);
	w->pre[4ull * r0 * w->shape.dims[1]] ^= 1;
	work_recommit(w);
}

/* The mlp job of two slots up to the challenge, slot `cheat_slot`'s
 * worker having corrupted the pre-activations of tile *t (its output
 * right), a tile its own challenge then misses (found by a dry run, as
 * find_hidden). */
static void mlp_pre_cheat(struct chain *c, uint8_t id[HASH_LEN], const struct job_spec *spec, struct work w[2],
			  unsigned cheat_slot, uint32_t *t)
{
	*t = UINT32_MAX;
	for (int dry = 1; dry >= 0; dry--) {
		struct compute_result res;
		chain_init(c);
		CHECK(reg(c, W1, 200 * UNIT) == 0);
		CHECK(reg(c, W2, 200 * UNIT) == 0);
		CHECK(submit(c, spec, id, &res) == 0);
		until_assigned(c, id);
		struct job_record j = job(c, id);
		for (unsigned i = 0; i < 2; i++)
			work_do(c, id, 0, &w[i]);
		if (!dry)
			corrupt_pre(&w[cheat_slot], *t);
		for (unsigned i = 0; i < 2; i++)
			CHECK(commit(c, j.slots[i].worker, id, &w[i]) == 0);
		CHECK(end_block(c) == 0);
		CHECK(post_salt(c, SUB, id, SALT, &res) == 0);
		until_challenged(c, id);
		if (!dry)
			return;
		for (uint32_t k = 0; k < kernel_tile_count(&spec->shape) && *t == UINT32_MAX; k++) {
			struct work bad;
			work_do(c, id, 0, &bad);
			corrupt_pre(&bad, k);
			if (!is_challenged(c, id, j.slots[cheat_slot].worker, &bad, k))
				*t = k;
			work_free(&bad);
		}
		CHECK(*t != UINT32_MAX);
		for (unsigned i = 0; i < 2; i++)
			work_free(&w[i]);
		ledger_mem_free(c->mem);
	}
}

/* mlp, r = 2: a worker that commits a wrong pre-activation under a right
 * output has a root of its own though its tiles equal the honest ones.
 * The two-party dispute of the tile whose leaves differ (by the digest P_i
 * alone) recomputes the tile's pre-activations: the cheat is slashed, the
 * honest worker paid; a one-party dispute of the cheat there does the same.
 * Before, such a dispute was refused ("the two tiles agree") and the roots
 * disagreed at payout: the job failed, the honest worker went unpaid and
 * the cheat kept its bond. */
static void test_mlp_wrong_preactivation_disputed(void)
{
	for (int parties = 2; parties >= 1; parties--) {
		struct chain c;
		struct compute_result res;
		uint8_t id[HASH_LEN];
		uint64_t bond = 200 * UNIT, reward = 6 * UNIT;
		struct job_spec spec = mlp_spec(reward);
		spec.redundancy = 2;
		struct work w[2];
		uint32_t t;
		mlp_pre_cheat(&c, id, &spec, w, 1, &t);
		struct job_record j = job(&c, id);
		uint8_t honest[ADDR_LEN], cheat[ADDR_LEN];
		memcpy(honest, j.slots[0].worker, ADDR_LEN);
		memcpy(cheat, j.slots[1].worker, ADDR_LEN);
		CHECK(memcmp(w[0].out, w[1].out, w[0].out_len) == 0);
		CHECK(reveal(&c, honest, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
		CHECK(reveal(&c, cheat, id, &w[1], REVEAL_OK, REVEAL_GAS, &res) == 0);
		j = job(&c, id);
		CHECK(j.state == JOB_VERIFIED && memcmp(j.slots[0].root, j.slots[1].root, HASH_LEN) != 0);
		struct job_dispute_payload p;
		struct proof_buf pb[2];
		memset(&p, 0, sizeof(p));
		memcpy(p.job_id, id, HASH_LEN);
		p.parties = (uint8_t)parties;
		p.index = t;
		memcpy(p.worker[0], parties == 2 ? honest : cheat, ADDR_LEN);
		make_dispute_proof(parties == 2 ? &w[0] : &w[1], t, &pb[0], &p.proof[0]);
		if (parties == 2) {
			memcpy(p.worker[1], cheat, ADDR_LEN);
			make_dispute_proof(&w[1], t, &pb[1], &p.proof[1]);
		}
		struct buf b;
		buf_init(&b);
		compute_dispute_encode(&p, &b);
		CHECK(apply(&c, TX_JOB_DISPUTE, DIS, &b, REVEAL_GAS, &res) == 0);
		CHECK(strstr(res.error, "slashed") != NULL);
		CHECK(worker(&c, cheat).bond < bond);
		CHECK(worker(&c, honest).bond == bond);
		CHECK(balance(&c, DIS) == START_BALANCE);
		j = job(&c, id);
		CHECK(j.state == JOB_VERIFIED && j.slots[1].state == SLOT_FAILED);
		blocks_while(&c, id, JOB_VERIFIED, 0);
		CHECK(job(&c, id).state == JOB_PAID);
		CHECK(balance(&c, honest) == START_BALANCE - bond + reward);
		work_free(&w[0]);
		work_free(&w[1]);
		ledger_mem_free(c.mem);
	}
}

/* r = 2: agreeing honest workers share the reward; roots that still
 * disagree at payout (nobody disputed) pay nobody and refund the submitter. */
static void test_roots_at_payout(void)
{
	for (int diverge = 0; diverge < 2; diverge++) {
		struct chain c;
		struct compute_result res;
		uint8_t id[HASH_LEN], cheat[ADDR_LEN];
		struct job_spec spec = small_spec(2, 6 * UNIT + 1);
		uint32_t hidden = find_hidden(&spec, 1, 1, cheat);
		chain_init(&c);
		CHECK(reg(&c, W1, 200 * UNIT) == 0);
		CHECK(reg(&c, W2, 200 * UNIT) == 0);
		unsigned __int128 s0 = supply(&c);
		struct work w[2];
		uint64_t bad[2] = {0, diverge ? 1ull << hidden : 0};
		to_challenge(&c, id, &spec, w, bad, 1);
		struct job_record j = job(&c, id);
		CHECK(reveal(&c, j.slots[0].worker, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
		CHECK(job(&c, id).state == JOB_COMMITTED);
		CHECK(reveal(&c, j.slots[1].worker, id, &w[1], REVEAL_OK, REVEAL_GAS, &res) == 0);
		CHECK(job(&c, id).state == JOB_VERIFIED);
		blocks_while(&c, id, JOB_VERIFIED, 0);
		uint64_t workers_now = balance(&c, W1) + balance(&c, W2);
		if (diverge) {
			CHECK(job(&c, id).state == JOB_FAILED);
			CHECK(balance(&c, SUB) == START_BALANCE);
			CHECK(workers_now == 2 * (START_BALANCE - 200 * UNIT));
		} else {
			CHECK(job(&c, id).state == JOB_PAID);
			/* 6 ASY + 1 unit split in two: the odd unit to the first slot. */
			CHECK(balance(&c, j.slots[0].worker) == START_BALANCE - 200 * UNIT + 3 * UNIT + 1);
			CHECK(balance(&c, j.slots[1].worker) == START_BALANCE - 200 * UNIT + 3 * UNIT);
		}
		CHECK(worker(&c, W1).jobs_in_flight == 0 && worker(&c, W2).jobs_in_flight == 0);
		CHECK(supply(&c) == s0);
		work_free(&w[0]);
		work_free(&w[1]);
		ledger_mem_free(c.mem);
	}
}

/* Missed deadlines cost the assignment's lock and are burned: the
 * submitter gains nothing from a worker's silence (a censor could cause
 * it), and the slot is drawn again. */
static void test_missed_deadlines(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT, reward = 5 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	unsigned __int128 s0 = supply(&c);
	struct job_spec spec = small_spec(1, reward);
	spec.deadline_blocks = 60;
	CHECK(submit(&c, &spec, id, &res) == 0);
	uint64_t sub_after_submit = balance(&c, SUB);
	until_assigned(&c, id);
	uint64_t assigned = job(&c, id).slots[0].assigned_height;
	CHECK(reg(&c, W2, bond) == 0);
	while (c.h <= assigned + c.p.commit_window + 1) /* judged at the end of the block after the window */
		CHECK(end_block(&c) == 0);
	CHECK(job(&c, id).slots[0].state == SLOT_EMPTY); /* W1 missed it */
	CHECK(worker(&c, W1).bond == bond - reward / 100 && worker(&c, W1).locked == 0);
	CHECK_EQ_U64(balance(&c, LEDGER_BURN_ADDR), reward / 100);
	until_assigned(&c, id);
	struct job_record j = job(&c, id);
	CHECK(j.state == JOB_ASSIGNED && memcmp(j.slots[0].worker, W2, ADDR_LEN) == 0);
	struct work w;
	work_do(&c, id, 0, &w);
	CHECK(commit(&c, W1, id, &w) == ASSAY_EINVALID);
	/* W2 commits but never reveals: the whole lock, burned; redrawn (no
	 * root is open), nobody is left, so it waits and expires. */
	CHECK(commit(&c, W2, id, &w) == 0);
	for (int n = 0; job(&c, id).slots[0].state != SLOT_EMPTY && n < WAIT_BLOCKS; n++)
		CHECK(end_block(&c) == 0);
	CHECK(job(&c, id).slots[0].state == SLOT_EMPTY);
	CHECK(worker(&c, W2).bond == bond - reward);
	CHECK_EQ_U64(balance(&c, LEDGER_BURN_ADDR), reward / 100 + reward);
	CHECK(balance(&c, SUB) == sub_after_submit);
	CHECK(job(&c, id).state == JOB_OPEN);
	CHECK(supply(&c) == s0);
	/* Expiry: the escrow and the check escrow go back. */
	blocks_while(&c, id, JOB_OPEN, 0);
	CHECK(job(&c, id).state == JOB_REFUNDED);
	CHECK(c.h == 1 + 60 + 2); /* refunded at the first block past the deadline */
	CHECK_EQ_U64(balance(&c, SUB), START_BALANCE);
	CHECK(supply(&c) == s0);
	work_free(&w);
	ledger_mem_free(c.mem);
}

/* Each assignment locks bond_reward_bps x reward of the worker's bond for
 * that job alone: a worker takes only jobs its free bond covers, and six
 * caught jobs cost six locks, not shrinking shares of one bond. */
static void test_bond_locks(void)
{
	struct chain c;
	chain_init(&c);
	c.p.max_jobs_per_worker = 64;
	struct compute_result res;
	uint64_t reward = 50 * UNIT, bond = 300 * UNIT; /* covers six locks of 50 */
	CHECK(reg(&c, W1, bond) == 0);
	struct job_spec spec = small_spec(1, reward);
	uint8_t ids[7][HASH_LEN];
	for (int i = 0; i < 7; i++)
		CHECK(submit(&c, &spec, ids[i], &res) == 0);
	until_assigned(&c, ids[0]);
	struct worker_record wr = worker(&c, W1);
	CHECK(wr.jobs_in_flight == 6 && wr.locked == 6 * reward);
	CHECK(job(&c, ids[6]).slots[0].state == SLOT_EMPTY); /* its free bond covers no seventh */
	/* W1 cheats on all six and is caught on each. */
	struct work w[6];
	for (int i = 0; i < 6; i++) {
		work_do(&c, ids[i], ~0ull, &w[i]);
		CHECK(commit(&c, W1, ids[i], &w[i]) == 0);
	}
	CHECK(end_block(&c) == 0);
	for (int i = 0; i < 6; i++)
		CHECK(post_salt(&c, SUB, ids[i], SALT, &res) == 0);
	until_challenged(&c, ids[5]);
	for (int i = 0; i < 6; i++) {
		CHECK(reveal(&c, W1, ids[i], &w[i], REVEAL_OK, REVEAL_GAS, &res) == 0);
		CHECK(strstr(res.error, "slashed") != NULL);
		work_free(&w[i]);
	}
	wr = worker(&c, W1);
	CHECK_EQ_U64(wr.slashed_total, 6 * reward);
	CHECK_EQ_U64(wr.bond, bond - 6 * reward);
	CHECK(wr.locked == 0 && wr.jobs_failed == 6 && wr.jobs_in_flight == 0);
	ledger_mem_free(c.mem);
}

static int reg_at(struct chain *c, const uint8_t *w, uint64_t bond, const char *endpoint,
		  struct compute_result *res)
{
	struct worker_register_payload p = {.bond = bond};
	snprintf(p.endpoint, sizeof(p.endpoint), "%s", endpoint);
	strcpy(p.backend, "cpu");
	struct buf b;
	buf_init(&b);
	compute_register_encode(&p, &b);
	return apply(c, TX_WORKER_REGISTER, w, &b, 0, res);
}

/* compute.md §7.1: min_bond binds a new or exited worker's bond; an active
 * worker that slashes left below it still tops up by any amount, zero to
 * move its endpoint (assay-worker re-registers so, §13 step 3), and is not
 * drawn while below (§5). */
static void test_active_worker_below_min_bond(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint64_t min = c.p.min_bond, reward = 60 * UNIT, bond = min + 50 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	struct job_spec spec = small_spec(1, reward);
	uint8_t id[HASH_LEN];
	CHECK(submit(&c, &spec, id, &res) == 0);
	until_assigned(&c, id);
	struct work w;
	work_do(&c, id, ~0ull, &w); /* caught: the lock of 60 is slashed */
	CHECK(commit(&c, W1, id, &w) == 0);
	CHECK(end_block(&c) == 0);
	CHECK(post_salt(&c, SUB, id, SALT, &res) == 0);
	until_challenged(&c, id);
	CHECK(reveal(&c, W1, id, &w, REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(strstr(res.error, "slashed") != NULL);
	work_free(&w);
	struct worker_record wr = worker(&c, W1);
	CHECK(wr.status == WORKER_ACTIVE && wr.bond == bond - reward && wr.bond < min);
	uint64_t bal = balance(&c, W1);
	CHECK_EQ_INT(reg_at(&c, W1, 0, "http://10.0.0.2:29450", &res), 0);
	wr = worker(&c, W1);
	CHECK(strcmp(wr.endpoint, "http://10.0.0.2:29450") == 0 && wr.bond == bond - reward);
	CHECK_EQ_INT(reg_at(&c, W1, UNIT, "http://10.0.0.2:29450", &res), 0); /* a top-up short of min_bond */
	CHECK_EQ_U64(worker(&c, W1).bond, bond - reward + UNIT);
	CHECK_EQ_U64(balance(&c, W1), bal - UNIT);
	/* Still below min_bond: not drawn for a new job. */
	CHECK(submit(&c, &spec, id, &res) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(end_block(&c) == 0);
	CHECK(job(&c, id).slots[0].state == SLOT_EMPTY);
	/* Exited, it joins again only with min_bond, as a new worker does. */
	struct buf none;
	buf_init(&none);
	CHECK(apply(&c, TX_WORKER_UNBOND, W1, &none, 0, &res) == 0);
	for (int i = 0; i <= (int)c.p.unbond_delay; i++)
		CHECK(end_block(&c) == 0);
	CHECK(worker(&c, W1).status == WORKER_EXITED);
	CHECK_EQ_INT(reg_at(&c, W1, min - 1, "http://10.0.0.2:29450", &res), ASSAY_EINVALID);
	CHECK(strstr(res.error, "min_bond") != NULL);
	CHECK_EQ_INT(reg_at(&c, W2, min - 1, "http://10.0.0.3:29450", &res), ASSAY_EINVALID);
	CHECK_EQ_INT(reg_at(&c, W1, min, "http://10.0.0.2:29450", &res), 0);
	ledger_mem_free(c.mem);
}

/* A job no reveal of which could be mined is refused at submit: otherwise
 * honest workers drawn for it are slashed for missing the reveal. */
static void test_unrevealable_jobs_refused(void)
{
	struct chain c;
	chain_init(&c);
	c.max_tx_bytes = 1u << 20;
	c.max_block_gas = 1000000000ull;
	struct compute_result res;
	uint8_t id[HASH_LEN];
	struct job_spec spec = small_spec(1, 5 * UNIT);
	CHECK(submit(&c, &spec, id, &res) == 0); /* small jobs still pass */
	spec = small_spec(1, 5 * UNIT);
	spec.shape.m = spec.shape.n = 1024;
	spec.shape.k = 1;
	spec.shape.tile_rows = spec.shape.tile_cols = 1024; /* one 4 MiB tile */
	CHECK(submit(&c, &spec, id, &res) == ASSAY_ELIMIT);
	CHECK(strstr(res.error, "tile") != NULL);
	spec.shape.tile_rows = spec.shape.tile_cols = 256; /* 16 tiles of 256 KiB */
	spec.samples = 16;
	CHECK(submit(&c, &spec, id, &res) == ASSAY_ELIMIT);
	CHECK(strstr(res.error, "max_tx_bytes") != NULL);
	spec = small_spec(1, 5 * UNIT);
	c.max_block_gas = 10;
	CHECK(submit(&c, &spec, id, &res) == ASSAY_ELIMIT);
	CHECK(strstr(res.error, "max_block_gas") != NULL);
	c.max_block_gas = 1000000000ull;
	c.p.reveal_block_gas = 10; /* the reveals' own budget */
	CHECK(submit(&c, &spec, id, &res) == ASSAY_ELIMIT);
	CHECK(strstr(res.error, "reveal_block_gas") != NULL);
	ledger_mem_free(c.mem);
}

/* A worker that commits and then keeps quiet is slashed even when the job
 * expires in the very block its reveal window closes, and no slot is handed
 * out once its windows could not end by the deadline. */
static void test_no_escape_at_deadline(void)
{
	struct chain c;
	chain_init(&c);
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	CHECK(end_block(&c) == 0);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	struct job_spec spec = small_spec(1, 5 * UNIT);
	spec.deadline_blocks = (uint32_t)compute_least_deadline(&c.p); /* the least allowed */
	spec.deadline_blocks--;
	CHECK(submit(&c, &spec, id, &res) == ASSAY_EINVALID);
	spec.deadline_blocks++;
	CHECK(submit(&c, &spec, id, &res) == 0);
	until_assigned(&c, id);
	struct job_record j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_ASSIGNED);
	/* Commit as late as allowed, never open the salt, never reveal. */
	while (c.h < j.slots[0].assigned_height + c.p.commit_window)
		CHECK(end_block(&c) == 0);
	struct work w;
	work_do(&c, id, 0, &w);
	CHECK(commit(&c, W1, id, &w) == 0);
	uint64_t bond_before = worker(&c, W1).bond;
	while (job(&c, id).state != JOB_REFUNDED && c.h < j.deadline_height + 5)
		CHECK(end_block(&c) == 0);
	CHECK(job(&c, id).state == JOB_REFUNDED);
	CHECK(worker(&c, W1).bond < bond_before); /* slashed, not released */
	work_free(&w);

	/* Submitted with the least deadline, a job whose first chance of a
	 * worker comes too late is refunded without anyone being drawn. */
	CHECK(submit(&c, &spec, id, &res) == 0);
	uint64_t late = c.h + c.p.challenge_delay + 2;
	CHECK(reg(&c, W2, 200 * UNIT) == 0);
	c.h = late; /* skip blocks: too little time is left at the first draw */
	j = job(&c, id);
	while (job(&c, id).state != JOB_REFUNDED && c.h < j.deadline_height + 5) {
		CHECK(end_block(&c) == 0);
		CHECK(job(&c, id).slots[0].state == SLOT_EMPTY || job(&c, id).state == JOB_REFUNDED);
	}
	CHECK(job(&c, id).state == JOB_REFUNDED);
	ledger_mem_free(c.mem);
}

static void test_bad_input(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	struct job_spec spec = small_spec(1, 5 * UNIT);
	spec.shape.k = 5000;
	CHECK(submit(&c, &spec, id, &res) == ASSAY_ELIMIT);
	CHECK(strstr(res.error, "max_dim") != NULL);
	spec = small_spec(1, 10);
	CHECK(submit(&c, &spec, id, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "min_reward") != NULL);
	spec = small_spec(1, 5 * UNIT);
	spec.samples = 1;
	CHECK(submit(&c, &spec, id, &res) == ASSAY_EINVALID);
	spec = small_spec(1, START_BALANCE + 1);
	CHECK(submit(&c, &spec, id, &res) == ASSAY_EBALANCE);
	spec = small_spec(1, 5 * UNIT);
	spec.input_kind = JOB_INPUT_BLOBS;
	CHECK(submit(&c, &spec, id, &res) == ASSAY_ENOTFOUND);
	CHECK(reg(&c, W1, 1) == ASSAY_EINVALID); /* below min_bond */
	CHECK(balance(&c, SUB) == START_BALANCE && balance(&c, W1) == START_BALANCE);
	struct job_record j;
	CHECK(compute_get_job(&c.l, id, &j) == ASSAY_ENOTFOUND);
	/* Blobs: hash must match; then a blob-input job is accepted. */
	uint8_t a[32 * 40], bt[24 * 40];
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(bt); i++)
		bt[i] = (uint8_t)(i * 13);
	struct blob_payload bl = {.data = a, .len = sizeof(a)};
	struct buf b;
	buf_init(&b);
	compute_blob_encode(&bl, &b);
	CHECK(apply(&c, TX_BLOB, SUB, &b, exec_blob_gas(sizeof(a)), &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "hash") != NULL);
	sha256(a, sizeof(a), bl.hash);
	/* it pays 64 gas a byte and 11,264 for its key: one short fails */
	buf_init(&b);
	compute_blob_encode(&bl, &b);
	CHECK_EQ_U64(exec_blob_gas(sizeof(a)), 11264 + 64 * sizeof(a));
	CHECK(apply(&c, TX_BLOB, SUB, &b, exec_blob_gas(sizeof(a)) - 1, &res) == ASSAY_EGAS);
	CHECK(strstr(res.error, "out of gas") != NULL);
	CHECK_EQ_U64(res.gas_used, exec_blob_gas(sizeof(a)) - 1);
	buf_init(&b);
	compute_blob_encode(&bl, &b);
	CHECK(apply(&c, TX_BLOB, SUB, &b, exec_blob_gas(sizeof(a)), &res) == 0);
	CHECK_EQ_U64(res.gas_used, exec_blob_gas(sizeof(a)));
	buf_init(&b);
	compute_blob_encode(&bl, &b);
	CHECK(apply(&c, TX_BLOB, SUB, &b, exec_blob_gas(sizeof(a)), &res) == ASSAY_EEXISTS);
	c.p.max_blob_bytes = 100;
	bl.data = bt;
	bl.len = sizeof(bt);
	sha256(bt, sizeof(bt), bl.hash);
	buf_init(&b);
	compute_blob_encode(&bl, &b);
	CHECK(apply(&c, TX_BLOB, SUB, &b, exec_blob_gas(sizeof(bt)), &res) == ASSAY_ELIMIT);
	c.p.max_blob_bytes = LEDGER_VALUE_MAX;
	buf_init(&b);
	compute_blob_encode(&bl, &b);
	CHECK(apply(&c, TX_BLOB, SUB, &b, exec_blob_gas(sizeof(bt)), &res) == 0);
	sha256(a, sizeof(a), spec.blobs[0]);
	sha256(bt, sizeof(bt), spec.blobs[1]);
	CHECK(submit(&c, &spec, id, &res) == 0);
	/* A blob job verifies like a seed job: checking reads the blobs. */
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	until_assigned(&c, id);
	struct work w;
	memset(&w, 0, sizeof(w)); /* no pre or digests: work_free frees them */
	w.shape = spec.shape;
	uint8_t *in[KERNEL_MAX_INPUTS] = {a, bt};
	CHECK(kernel_compute_ref(&w.shape, in, &w.out, &w.out_len) == 0);
	CHECK(kernel_commit(&w.shape, w.out, &w.leaves, w.root, w.output_hash) == 0);
	CHECK(commit(&c, W1, id, &w) == 0);
	until_challenged(&c, id);
	CHECK(reveal(&c, W1, id, &w, REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(job(&c, id).state == JOB_VERIFIED);
	work_free(&w);
	buf_init(&b);
	CHECK(apply(&c, TX_WORKER_UNBOND, W2, &b, 0, &res) == ASSAY_EINVALID);
	buf_init(&b);
	buf_put_u8(&b, 1);
	CHECK(apply(&c, TX_JOB_COMMIT, W1, &b, 0, &res) == ASSAY_EDECODE);
	buf_init(&b);
	buf_put_u8(&b, 1);
	CHECK(apply(&c, TX_JOB_SALT, W1, &b, 0, &res) == ASSAY_EDECODE);
	buf_init(&b);
	CHECK(apply(&c, TX_TRANSFER, W1, &b, 0, &res) == ASSAY_EARG);
	ledger_mem_free(c.mem);
}

static void test_late_reveal(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	struct job_spec spec = small_spec(1, 5 * UNIT);
	struct work w[1];
	uint64_t bad[1] = {0};
	to_challenge(&c, id, &spec, w, bad, 1);
	struct job_record j = job(&c, id);
	c.h = j.slots[0].challenge_height + c.p.reveal_window + 1; /* past the window, before end_block */
	CHECK(reveal(&c, W1, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "window") != NULL);
	work_free(&w[0]);
	ledger_mem_free(c.mem);
}

/* An mlp-i8 job with k >= tiles (every tile revealed), honest then with one
 * output byte wrong; the worker unbonds while it holds the job and gets its
 * bond back only after the job is paid. */
static void test_mlp_flow(void)
{
	for (int cheat = 0; cheat < 2; cheat++) {
		struct chain c;
		chain_init(&c);
		struct compute_result res;
		uint8_t id[HASH_LEN];
		uint64_t bond = 200 * UNIT;
		CHECK(reg(&c, W1, bond) == 0);
		unsigned __int128 s0 = supply(&c);
		struct job_spec spec = small_spec(1, 4 * UNIT);
		spec.shape = (struct job_shape){.kind = JOB_MLP_I8, .m = 12, .n = 10, .layers = 2,
						.dims = {20, 16, 10}, .shifts = {6, 5}, .tile_rows = 3, .tile_cols = 10};
		CHECK(submit(&c, &spec, id, &res) == 0);
		until_assigned(&c, id);
		struct buf b;
		buf_init(&b);
		CHECK(apply(&c, TX_WORKER_UNBOND, W1, &b, 0, &res) == 0); /* still owes this job */
		struct work w;
		work_do(&c, id, 0, &w);
		if (cheat) {
			w.out[17] ^= 1;
			work_recommit(&w);
		}
		CHECK(commit(&c, W1, id, &w) == 0);
		CHECK(end_block(&c) == 0);
		CHECK(post_salt(&c, SUB, id, SALT, &res) == 0);
		until_challenged(&c, id);
		uint32_t idx[JOB_MAX_SAMPLES];
		CHECK(challenged(&c, id, W1, &w, idx) == 4 && idx[0] == 0 && idx[3] == 3);
		CHECK(reveal(&c, W1, id, &w, REVEAL_OK, REVEAL_GAS, &res) == 0);
		if (cheat) {
			CHECK(strstr(res.error, "slashed") != NULL);
			CHECK(job(&c, id).state == JOB_OPEN);
			CHECK(worker(&c, W1).bond == bond - 4 * UNIT);
		} else {
			CHECK(job(&c, id).state == JOB_VERIFIED);
		}
		for (int i = 0; i < 8; i++) {
			CHECK(worker(&c, W1).status == WORKER_UNBONDING || job(&c, id).state >= JOB_PAID ||
			      cheat);
			CHECK(end_block(&c) == 0);
		}
		struct worker_record wr = worker(&c, W1);
		CHECK(wr.status == WORKER_EXITED && wr.bond == 0 && wr.jobs_in_flight == 0);
		if (!cheat) {
			CHECK(job(&c, id).state == JOB_PAID);
			CHECK(balance(&c, W1) == START_BALANCE + 4 * UNIT);
		} else {
			CHECK(balance(&c, W1) == START_BALANCE - 4 * UNIT);
		}
		CHECK(supply(&c) == s0);
		work_free(&w);
		ledger_mem_free(c.mem);
	}
}

/* Draws follow free bond: with bonds 1 : 3, about a quarter of 200
 * single-worker jobs go to the smaller bond (deterministic beacons, so no
 * flakiness). */
static void test_assignment_weight(void)
{
	struct chain c;
	chain_init(&c);
	c.p.max_jobs_per_worker = 1000;
	c.p.bond_reward_bps = 0; /* no locks: weights stay 1 : 3 through the draws */
	struct compute_result res;
	CHECK(reg(&c, W1, 100 * UNIT) == 0);
	CHECK(reg(&c, W2, 300 * UNIT) == 0);
	uint8_t ids[200][HASH_LEN];
	struct job_spec spec = small_spec(1, 100 * UNIT);
	for (int i = 0; i < 200; i++)
		CHECK(submit(&c, &spec, ids[i], &res) == 0);
	until_assigned(&c, ids[199]);
	int to_w1 = 0, to_w2 = 0;
	for (int i = 0; i < 200; i++) {
		struct job_record j = job(&c, ids[i]);
		to_w1 += memcmp(j.slots[0].worker, W1, ADDR_LEN) == 0;
		to_w2 += memcmp(j.slots[0].worker, W2, ADDR_LEN) == 0;
	}
	CHECK(to_w1 + to_w2 == 200);
	CHECK(to_w1 > 30 && to_w1 < 70);
	CHECK(worker(&c, W1).jobs_in_flight == (uint32_t)to_w1);
	/* With locks, a job whose lock is above W1's free bond goes to W2 only. */
	c.p.bond_reward_bps = 10000;
	spec.reward = 200 * UNIT;
	uint8_t big[HASH_LEN];
	CHECK(submit(&c, &spec, big, &res) == 0);
	until_assigned(&c, big);
	CHECK(memcmp(job(&c, big).slots[0].worker, W2, ADDR_LEN) == 0);
	ledger_mem_free(c.mem);
}

/* Registration tops up an active bond; a dispute names only opened roots. */
static void test_early_dispute_and_registration(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	CHECK(reg(&c, W1, 5 * UNIT) == 0); /* top-up */
	CHECK(worker(&c, W1).bond == bond + 5 * UNIT);
	CHECK(balance(&c, W1) == START_BALANCE - bond - 5 * UNIT);
	CHECK(reg(&c, W2, bond) == 0);
	unsigned __int128 s0 = supply(&c);
	struct job_spec spec = small_spec(1, 5 * UNIT);
	CHECK(submit(&c, &spec, id, &res) == 0);
	until_assigned(&c, id);
	struct job_record j = job(&c, id);
	uint8_t first[ADDR_LEN];
	memcpy(first, j.slots[0].worker, ADDR_LEN);
	struct work w;
	work_do(&c, id, ~0ull, &w); /* everything wrong */
	CHECK(commit(&c, first, id, &w) == 0);
	/* Committed, root not opened: nothing to dispute yet. */
	CHECK(dispute1(&c, SUB, id, first, &w, 2, &res) == ASSAY_EINVALID);
	CHECK(strstr(res.error, "opened") != NULL);
	CHECK(supply(&c) == s0);
	work_free(&w);
	ledger_mem_free(c.mem);
}

/* job_chunks (docs/compute.md §15.4): only the slot's worker, only once
 * its reveal opened its root, only that root, in tile order, inside the
 * tiles, with the tiles' byte count; a job verifies only once every
 * verified slot has uploaded its whole output. */
static void test_upload_rules(void)
{
	struct chain c;
	chain_init(&c);
	auto_upload = 0;
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	CHECK(reg(&c, W2, bond) == 0);
	struct job_spec spec = small_spec(2, 4 * UNIT);
	struct work w[2];
	uint64_t bad[2] = {0, 0};
	to_challenge(&c, id, &spec, w, bad, 1);
	struct job_record j = job(&c, id);
	uint8_t a[ADDR_LEN], b[ADDR_LEN];
	memcpy(a, j.slots[0].worker, ADDR_LEN);
	memcpy(b, j.slots[1].worker, ADDR_LEN);
	uint32_t tiles = kernel_tile_count(&w[0].shape);
	CHECK_EQ_INT(tiles, 12);
	/* the root is not open yet: nothing of the output may be public */
	CHECK_EQ_INT(upload_run(&c, id, a, w[0].root, &w[0].shape, 0, 4), ASSAY_EINVALID);
	CHECK(reveal(&c, a, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK_EQ_INT(upload_run(&c, id, DIS, w[0].root, &w[0].shape, 0, 4), ASSAY_EINVALID); /* not its slot */
	uint8_t other[HASH_LEN];
	memcpy(other, w[0].root, HASH_LEN);
	other[0] ^= 1;
	CHECK_EQ_INT(upload_run(&c, id, a, other, &w[0].shape, 0, 4), ASSAY_EINVALID);          /* another root */
	CHECK_EQ_INT(upload_run(&c, id, a, w[0].root, &w[0].shape, 1, 4), ASSAY_EINVALID);      /* not in order */
	CHECK_EQ_INT(upload_run(&c, id, a, w[0].root, &w[0].shape, 0, tiles + 1), ASSAY_EINVALID); /* range */
	{ /* more bytes than a block's chunk budget: no block holds it */
		uint64_t budget = c.p.chunk_budget_bytes;
		c.p.chunk_budget_bytes = avail_run_bytes(&w[0].shape, 0, 5) - 1;
		CHECK_EQ_INT(upload_run(&c, id, a, w[0].root, &w[0].shape, 0, 5), ASSAY_ELIMIT);
		c.p.chunk_budget_bytes = budget;
	}
	CHECK_EQ_INT(upload_run(&c, id, a, w[0].root, &w[0].shape, 0, 5), 0);
	CHECK_EQ_INT(job(&c, id).slots[0].uploaded_tiles, 5);
	CHECK_EQ_INT(upload_run(&c, id, a, w[0].root, &w[0].shape, 0, 5), ASSAY_EINVALID); /* the same again */
	{ /* a byte count that is not the tiles' */
		struct job_chunks_payload p;
		memset(&p, 0, sizeof(p));
		memcpy(p.job_id, id, HASH_LEN);
		memcpy(p.root, w[0].root, HASH_LEN);
		p.count = 1;
		p.refs[0] = (struct avail_ref){5, 1, 255, {0}};
		struct buf pb;
		buf_init(&pb);
		avail_chunks_encode(&p, &pb);
		CHECK_EQ_INT(apply(&c, TX_JOB_CHUNKS, a, &pb, 0, &res), ASSAY_EINVALID);
	}
	CHECK_EQ_INT(upload_run(&c, id, b, w[1].root, &w[1].shape, 0, tiles), ASSAY_EINVALID); /* b not opened */
	CHECK(reveal(&c, b, id, &w[1], REVEAL_OK, REVEAL_GAS, &res) == 0);
	j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_VERIFIED && j.slots[1].state == SLOT_VERIFIED);
	CHECK(j.state == JOB_COMMITTED); /* spot-checked, but the output is not all there */
	CHECK_EQ_INT(upload_run(&c, id, a, w[0].root, &w[0].shape, 5, tiles - 5), 0);
	CHECK(job(&c, id).state == JOB_COMMITTED);
	CHECK_EQ_INT(upload_run(&c, id, b, w[1].root, &w[1].shape, 0, tiles), 0);
	j = job(&c, id);
	CHECK(j.state == JOB_VERIFIED && j.verified_height == c.h && j.payout_height == c.h + c.p.dispute_window);
	CHECK_EQ_INT(upload_run(&c, id, b, w[1].root, &w[1].shape, tiles, 1), ASSAY_EINVALID); /* past the end */
	auto_upload = 1;
	work_free(&w[0]);
	work_free(&w[1]);
	ledger_mem_free(c.mem);
}

/* The admission rules (compute.md §7.5, §10): every way a reveal fails
 * before its tiles are checked is decided by compute_admit_reveal, which
 * writes nothing, and a slot that has revealed admits no second reveal;
 * job_chunks likewise. */
static void test_reveal_admission(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN], other_id[HASH_LEN];
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	CHECK(reg(&c, W2, 200 * UNIT) == 0);
	struct job_spec spec = small_spec(2, 4 * UNIT);
	struct work w[2];
	uint64_t bad[2] = {0, 0};
	to_challenge(&c, id, &spec, w, bad, 1);
	struct job_record j = job(&c, id);
	uint8_t a[ADDR_LEN], b[ADDR_LEN];
	memcpy(a, j.slots[0].worker, ADDR_LEN);
	memcpy(b, j.slots[1].worker, ADDR_LEN);
	admit_only = 1;
	CHECK_EQ_INT(reveal(&c, DIS, id, &w[0], REVEAL_OK, REVEAL_GAS, &res), ASSAY_EINVALID); /* not its job */
	CHECK(strstr(res.error, "not assigned") != NULL);
	CHECK_EQ_INT(reveal(&c, a, id, &w[0], REVEAL_OK, 1, &res), ASSAY_EGAS);
	CHECK_EQ_INT(reveal(&c, a, id, &w[0], REVEAL_BAD_PROOF, REVEAL_GAS, &res), ASSAY_ESIG);
	CHECK_EQ_INT(reveal(&c, a, id, &w[0], REVEAL_WRONG_INDEX, REVEAL_GAS, &res), ASSAY_EINVALID);
	CHECK_EQ_INT(reveal(&c, a, id, &w[0], REVEAL_SHORT, REVEAL_GAS, &res), ASSAY_EINVALID);
	memcpy(other_id, id, HASH_LEN);
	other_id[0] ^= 1;
	CHECK_EQ_INT(reveal(&c, a, other_id, &w[0], REVEAL_OK, REVEAL_GAS, &res), ASSAY_ENOTFOUND);
	CHECK_EQ_INT(reveal(&c, a, id, &w[0], REVEAL_OK, REVEAL_GAS, &res), 0);
	CHECK(res.gas_used > 0);
	j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_CHALLENGED && j.slots[1].state == SLOT_CHALLENGED); /* nothing written */
	admit_only = 0;
	CHECK_EQ_INT(reveal(&c, a, id, &w[0], REVEAL_OK, REVEAL_GAS, &res), 0);
	admit_only = 1;
	/* the same reveal again: the slot is no longer challenged */
	CHECK_EQ_INT(reveal(&c, a, id, &w[0], REVEAL_OK, REVEAL_GAS, &res), ASSAY_EINVALID);
	CHECK(strstr(res.error, "nothing to reveal") != NULL);
	CHECK_EQ_INT(reveal(&c, b, id, &w[1], REVEAL_OK, REVEAL_GAS, &res), 0);
	admit_only = 0;
	{ /* job_chunks: a stranger, and b before its root is open */
		struct job_chunks_payload p;
		struct compute_env env;
		memset(&p, 0, sizeof(p));
		memcpy(p.job_id, id, HASH_LEN);
		memcpy(p.root, w[1].root, HASH_LEN);
		p.count = 1;
		p.refs[0] = (struct avail_ref){0, 1, (uint32_t)avail_run_bytes(&w[1].shape, 0, 1), {0}};
		env_of(&c, &env);
		CHECK_EQ_INT(compute_admit_chunks(&env, &p, DIS, &res), ASSAY_EINVALID);
		CHECK_EQ_INT(compute_admit_chunks(&env, &p, b, &res), ASSAY_EINVALID);
		CHECK(strstr(res.error, "uploads open") != NULL);
		CHECK(reveal(&c, b, id, &w[1], REVEAL_OK, REVEAL_GAS, &res) == 0); /* uploads b's output too */
		p.refs[0].first_tile = kernel_tile_count(&w[1].shape); /* b has uploaded everything */
		CHECK_EQ_INT(compute_admit_chunks(&env, &p, b, &res), ASSAY_EINVALID);
	}
	work_free(&w[0]);
	work_free(&w[1]);
	ledger_mem_free(c.mem);
}

/* The withholding worker: committed, root opened, spot-check passed,
 * output never uploaded. Past the upload window it loses its slash (the
 * whole lock at the defaults), every unit of it burned, and leaves the
 * job; nobody else can take it, so the escrow goes back at the deadline. */
static void test_missed_upload(void)
{
	struct chain c;
	chain_init(&c);
	auto_upload = 0;
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT, reward = 5 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	unsigned __int128 s0 = supply(&c);
	uint64_t sub0 = balance(&c, SUB);
	struct job_spec spec = small_spec(1, reward);
	struct work w;
	uint64_t bad = 0;
	to_challenge(&c, id, &spec, &w, &bad, 1);
	CHECK(reveal(&c, W1, id, &w, REVEAL_OK, REVEAL_GAS, &res) == 0);
	uint64_t opened = c.h;
	CHECK(job(&c, id).slots[0].state == SLOT_VERIFIED && job(&c, id).state == JOB_COMMITTED);
	uint64_t burned = balance(&c, LEDGER_BURN_ADDR), sub = balance(&c, SUB), lock = job(&c, id).slots[0].lock;
	CHECK(lock > 0);
	while (c.h <= opened + c.p.upload_window) {
		CHECK(end_block(&c) == 0);
		CHECK_EQ_U64(worker(&c, W1).bond, bond);
	}
	CHECK_EQ_INT(upload_run(&c, id, W1, w.root, &w.shape, 0, 3), ASSAY_EINVALID); /* too late */
	CHECK(end_block(&c) == 0);
	uint64_t slashed = bond - worker(&c, W1).bond;
	CHECK(slashed > 0 && slashed <= lock);
	CHECK_EQ_U64(balance(&c, LEDGER_BURN_ADDR), burned + slashed); /* all of it burned */
	CHECK_EQ_U64(balance(&c, SUB), sub);                         /* nothing to the submitter */
	struct job_record j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_EMPTY && j.excluded_count == 1 && memcmp(j.excluded[0], W1, ADDR_LEN) == 0);
	for (int i = 0; i < 100 && !(job(&c, id).state >= JOB_PAID); i++)
		CHECK(end_block(&c) == 0);
	CHECK(job(&c, id).state == JOB_REFUNDED);
	CHECK(balance(&c, SUB) >= sub0 - 1000 * 10 && balance(&c, SUB) > sub + reward - 1); /* escrow back */
	CHECK(supply(&c) == s0);
	auto_upload = 1;
	work_free(&w);
	ledger_mem_free(c.mem);
}

/* A slot proven wrong after it opened its root and uploaded its output is
 * not drawn again, though no other slot is open: its new worker could copy
 * that output, fix the disputed tile and be paid for almost no compute
 * (compute.md §1.2). The other slot goes on with its own challenge; had it
 * failed too it would not be redrawn either, the output being there. */
static void failed_uploaded_slot(int other_reveals)
{
	struct chain c;
	struct compute_result res;
	uint8_t id[HASH_LEN], wk[ADDR_LEN];
	struct job_spec spec = small_spec(2, 6 * UNIT);
	uint32_t hidden = find_hidden(&spec, 0, 1, wk);
	CHECK(hidden < kernel_tile_count(&spec.shape));
	chain_init(&c);
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	CHECK(reg(&c, W2, 200 * UNIT) == 0);
	struct work w[2];
	uint64_t bad[2] = {1ull << hidden, 0};
	to_challenge(&c, id, &spec, w, bad, 1);
	CHECK(reveal(&c, wk, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0); /* and uploads it all */
	struct job_record j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_VERIFIED && j.slots[0].uploaded_tiles == kernel_tile_count(&spec.shape));
	CHECK(j.slots[1].state == SLOT_CHALLENGED);
	uint64_t challenged = j.slots[1].challenge_height;
	CHECK(reg(&c, W3, 200 * UNIT) == 0); /* someone a redraw could take */
	CHECK(dispute1(&c, SUB, id, wk, &w[0], hidden, &res) == 0);
	CHECK(strstr(res.error, "slashed") != NULL);
	j = job(&c, id);
	CHECK_EQ_INT(j.slots[0].state, SLOT_FAILED);
	CHECK_EQ_INT(j.slots[1].state, SLOT_CHALLENGED);
	CHECK_EQ_U64(j.slots[1].challenge_height, challenged);
	if (other_reveals) {
		CHECK(reveal(&c, j.slots[1].worker, id, &w[1], REVEAL_OK, REVEAL_GAS, &res) == 0);
		blocks_while(&c, id, JOB_PAID, 1);
		CHECK_EQ_INT(job(&c, id).state, JOB_PAID);
		CHECK_EQ_INT(job(&c, id).slots[0].state, SLOT_FAILED);
	} else {
		/* slot 1 misses its reveal: slot 0's output is on chain, so no
		 * redraw; no slot is left and the job fails */
		blocks_while(&c, id, JOB_COMMITTED, 0);
		j = job(&c, id);
		CHECK_EQ_INT(j.slots[1].state, SLOT_FAILED);
		CHECK_EQ_INT(j.state, JOB_FAILED);
	}
	work_free(&w[0]);
	work_free(&w[1]);
	ledger_mem_free(c.mem);
}

static void test_failed_uploaded_slot_not_redrawn(void)
{
	failed_uploaded_slot(1);
	failed_uploaded_slot(0);
}

/* Missed deadlines of two kinds in one block are applied in the order of
 * compute.md §1.1: commits, then reveals, then uploads. Slot 0 opened its
 * root and did not upload in time; slot 1 never revealed; both windows end
 * in the same block. Slot 1 fails first, while slot 0's root is open, so it
 * is not drawn again (its new worker could copy the opened output); then
 * slot 0 fails with no other root open, and is emptied for a redraw. */
static void test_missed_deadlines_in_order(void)
{
	struct chain c;
	chain_init(&c);
	auto_upload = 0;
	c.p.reveal_window = 20;
	c.p.upload_window = 10;
	struct compute_result res;
	uint8_t id[HASH_LEN];
	uint64_t bond = 200 * UNIT;
	CHECK(reg(&c, W1, bond) == 0);
	CHECK(reg(&c, W2, bond) == 0);
	struct job_spec spec = small_spec(2, 6 * UNIT);
	spec.deadline_blocks = 400;
	struct work w[2];
	uint64_t bad[2] = {0, 0};
	to_challenge(&c, id, &spec, w, bad, 1);
	struct job_record j = job(&c, id);
	CHECK(j.slots[0].state == SLOT_CHALLENGED && j.slots[1].state == SLOT_CHALLENGED);
	uint64_t challenged = j.slots[1].challenge_height;
	while (c.h < challenged + c.p.reveal_window - c.p.upload_window)
		CHECK(end_block(&c) == 0);
	CHECK(reveal(&c, j.slots[0].worker, id, &w[0], REVEAL_OK, REVEAL_GAS, &res) == 0);
	CHECK(job(&c, id).slots[0].state == SLOT_VERIFIED);
	uint64_t from = 0;
	j = job(&c, id);
	CHECK(avail_slot_open(&j, 0, &from) && from + c.p.upload_window == challenged + c.p.reveal_window);
	while (c.h <= challenged + c.p.reveal_window) { /* both windows end at challenged + reveal_window */
		CHECK(end_block(&c) == 0);
		j = job(&c, id);
		CHECK(j.slots[0].state == SLOT_VERIFIED && j.slots[1].state == SLOT_CHALLENGED);
	}
	CHECK(end_block(&c) == 0); /* the first block past both */
	j = job(&c, id);
	CHECK_EQ_INT(j.slots[1].state, SLOT_FAILED);
	CHECK_EQ_INT(j.slots[0].state, SLOT_EMPTY); /* nothing of it uploaded */
	CHECK_EQ_U64(j.excluded_count, 2);
	auto_upload = 1;
	work_free(&w[0]);
	work_free(&w[1]);
	ledger_mem_free(c.mem);
}

static void test_random_supply(void)
{
	struct chain c;
	chain_init(&c);
	c.p.slash_submitter_bps = 3333;
	c.p.slash_bps = 7000;
	c.min_fee = 100;
	c.gas_price = 1;
	uint64_t rs = 12345;
	unsigned __int128 s0 = supply(&c);
	uint8_t ids[64][HASH_LEN];
	int nids = 0, ok = 1;
	const uint8_t *workers[] = {W1, W2, W3};
	struct compute_result res;
	for (int step = 0; step < 800; step++) {
		rs = rs * 6364136223846793005ull + 1442695040888963407ull;
		unsigned op = (unsigned)(rs >> 33) % 11;
		if (op >= 2 && op <= 5)
			op = 2; /* working is the common step */
		const uint8_t *wk = workers[(rs >> 40) % 3];
		c.fee = (rs >> 24) % 50000;
		if (op == 0) {
			reg(&c, wk, (150 + (rs >> 50) % 100) * UNIT);
		} else if (op == 1 && nids < 64) {
			struct job_spec spec = small_spec(1 + (uint8_t)((rs >> 45) % 3), (1 + (rs >> 52) % 9) * UNIT);
			if (submit(&c, &spec, ids[nids], &res) == 0)
				nids++;
		} else if (op == 2 && nids) {
			/* A worker does its assigned job, honestly or not. */
			const uint8_t *jid = ids[(rs >> 20) % nids];
			struct job_record j;
			compute_get_job(&c.l, jid, &j);
			struct job_slot *s = NULL;
			for (unsigned i = 0; i < j.spec.redundancy; i++)
				if (j.slots[i].state == SLOT_ASSIGNED || j.slots[i].state == SLOT_CHALLENGED)
					s = &j.slots[i];
			if (s && j.state < JOB_PAID) {
				struct work w;
				/* the same output at commit and at reveal: a cheater is
				 * one by job and worker, not by the step */
				uint64_t bad = (jid[0] ^ s->worker[0]) % 3 == 0 ? 0x5555ull << (jid[1] % 8) : 0;
				work_do(&c, jid, bad, &w);
				if (s->state == SLOT_ASSIGNED)
					commit(&c, s->worker, jid, &w);
				else
					reveal(&c, s->worker, jid, &w, REVEAL_OK, REVEAL_GAS, &res);
				upload_open_slots(&c, jid);
				work_free(&w);
			}
		} else if (op == 6 && (rs >> 59) == 0) {
			struct buf b;
			buf_init(&b);
			apply(&c, TX_WORKER_UNBOND, wk, &b, 0, &res);
		} else if (op == 7 && nids) {
			post_salt(&c, wk, ids[(rs >> 20) % nids], SALT, &res);
		} else {
			CHECK(end_block(&c) == 0);
		}
		ok &= supply(&c) == s0;
	}
	CHECK(ok);
	/* The sequence did exercise slashes and payouts. */
	CHECK(balance(&c, LEDGER_BURN_ADDR) > 0);
	uint64_t done = 0;
	for (int i = 0; i < 3; i++) {
		struct worker_record w;
		if (compute_get_worker(&c.l, workers[i], &w) == 0) {
			done += w.jobs_done;
			CHECK(w.locked <= w.bond);
		}
	}
	CHECK(done > 0);
	ledger_mem_free(c.mem);
}

/* ---- the live-jobs list (compute.md §8) ---- */

/* A ledger that counts the key and value bytes of every read and write. */
static struct ledger_ops counting_ops;
static const struct ledger_ops *inner_ops;
static long ledger_bytes;

static int counting_get(void *ctx, const uint8_t key[HASH_LEN], uint8_t **val, size_t *len)
{
	int rc = inner_ops->get(ctx, key, val, len);
	ledger_bytes += HASH_LEN + (rc ? 0 : (long)*len);
	return rc;
}

static int counting_get_into(void *ctx, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len)
{
	int rc = inner_ops->get_into(ctx, key, buf, cap, len);
	ledger_bytes += HASH_LEN + (rc ? 0 : (long)*len);
	return rc;
}

static int counting_put(void *ctx, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	ledger_bytes += HASH_LEN + (long)len;
	return inner_ops->put(ctx, key, val, len);
}

static int counting_del(void *ctx, const uint8_t key[HASH_LEN])
{
	ledger_bytes += HASH_LEN;
	return inner_ops->del(ctx, key);
}

static void counting_on(struct chain *c)
{
	inner_ops = c->l.ops;
	counting_ops = *c->l.ops;
	counting_ops.get = counting_get;
	counting_ops.get_into = inner_ops->get_into ? counting_get_into : NULL;
	counting_ops.put = counting_put;
	counting_ops.del = counting_del;
	c->l.ops = &counting_ops;
}

/* The bytes one job_submit moves with n jobs already live, and the bytes
 * one job's expiry adds to its block (that block less the one before,
 * where no job ends: the pass reads every live job in both). */
static void list_costs(unsigned n, long *submit_bytes, long *end_bytes)
{
	struct chain c;
	chain_init(&c);
	counting_on(&c);
	struct job_spec lasting = small_spec(1, c.p.min_reward), quick = lasting;
	lasting.deadline_blocks = 1000;
	uint8_t id[HASH_LEN];
	struct compute_result res;
	for (unsigned i = 0; i < n; i++)
		CHECK(submit(&c, &lasting, id, &res) == 0);
	ledger_bytes = 0;
	CHECK(submit(&c, &quick, id, &res) == 0);
	*submit_bytes = ledger_bytes;
	uint64_t deadline = job(&c, id).deadline_height;
	while (c.h < deadline)
		CHECK(end_block(&c) == 0);
	ledger_bytes = 0;
	CHECK(end_block(&c) == 0); /* h = deadline: not yet expired */
	long before = ledger_bytes;
	CHECK_EQ_INT(job(&c, id).state, JOB_OPEN);
	ledger_bytes = 0;
	CHECK(end_block(&c) == 0);
	CHECK_EQ_INT(job(&c, id).state, JOB_REFUNDED);
	*end_bytes = ledger_bytes - before;
	ledger_mem_free(c.mem);
}

/* A job's slots are drawn together or not at all: with one eligible
 * worker a two-slot job draws nobody (before, the one worker was drawn,
 * computed and committed for a job that could never seal, and the job
 * held its place in the live list past displacement); once a second worker
 * registers, both slots are drawn in the same block. A redraw of one slot
 * still draws alone. */
static void test_slots_drawn_together(void)
{
	struct chain c;
	chain_init(&c);
	struct compute_result res;
	uint8_t id[HASH_LEN];
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	struct job_spec s = small_spec(2, 5 * UNIT);
	CHECK(submit(&c, &s, id, &res) == 0);
	for (int b = 0; b < 6; b++)
		CHECK(end_block(&c) == 0);
	struct job_record j = job(&c, id);
	CHECK_EQ_INT(j.slots[0].state, SLOT_EMPTY);
	CHECK_EQ_INT(j.slots[1].state, SLOT_EMPTY);
	struct worker_record w;
	CHECK(compute_get_worker(&c.l, W1, &w) == 0);
	CHECK_EQ_U64(w.jobs_in_flight, 0);
	CHECK(reg(&c, W2, 200 * UNIT) == 0);
	CHECK(end_block(&c) == 0);
	j = job(&c, id);
	CHECK_EQ_INT(j.slots[0].state, SLOT_ASSIGNED);
	CHECK_EQ_INT(j.slots[1].state, SLOT_ASSIGNED);
	CHECK_EQ_U64(j.slots[0].assigned_height, j.slots[1].assigned_height);
	ledger_mem_free(c.mem);
}

/* A full live list is not held by jobs nobody works on: the cheapest job no
 * worker has committed to, found at the end of a block, is displaced and
 * refunded by a job paying more than 10% above it, one a block; a job a
 * worker has committed to never is. Before, the list held max_live_jobs
 * jobs until their deadlines (up to max_deadline_blocks) and every escrow
 * came back, so a few submits' fees shut everyone else out. */
static void test_displacement(void)
{
	struct chain c;
	chain_init(&c);
	c.p.max_live_jobs = 3;
	struct compute_result res;
	uint8_t id[5][HASH_LEN];
	/* no worker: nothing is drawn, every slot stays empty */
	struct job_spec s = small_spec(1, 5 * UNIT);
	CHECK(submit(&c, &s, id[0], &res) == 0);
	s.reward = 2 * UNIT;
	CHECK(submit(&c, &s, id[1], &res) == 0);
	s.reward = 2 * UNIT;
	CHECK(submit(&c, &s, id[2], &res) == 0);
	/* full, and no end of block has picked a job yet */
	s.reward = 100 * UNIT;
	CHECK(submit(&c, &s, id[3], &res) == ASSAY_EFULL);
	CHECK(strstr(res.error, "none can be displaced in this block") != NULL);
	CHECK(end_block(&c) == 0);
	/* the cheapest is 2 ASY, twice: the newer (id[2]) goes first; 10% more is not enough */
	s.reward = 2 * UNIT + 2 * UNIT / 10;
	CHECK(submit(&c, &s, id[3], &res) == ASSAY_EFULL);
	CHECK(strstr(res.error, "more than 10% above it") != NULL);
	s.reward = 2 * UNIT + 2 * UNIT / 10 + 1;
	struct job_record j, n3;
	CHECK(compute_get_job(&c.l, id[2], &j) == 0);
	uint64_t back = j.escrow + j.check_escrow, before = balance(&c, SUB);
	CHECK(submit(&c, &s, id[3], &res) == 0);
	CHECK(strstr(res.error, "displaced job") != NULL);
	CHECK(compute_get_job(&c.l, id[2], &j) == 0);
	CHECK_EQ_INT(j.state, JOB_REFUNDED);
	CHECK_EQ_U64(j.escrow + j.check_escrow, 0);
	/* its escrow came back, the new job's went in */
	CHECK(compute_get_job(&c.l, id[3], &n3) == 0);
	CHECK_EQ_U64(balance(&c, SUB), before + back - (n3.escrow + n3.check_escrow));
	/* one a block */
	s.reward = 50 * UNIT;
	CHECK(submit(&c, &s, id[4], &res) == ASSAY_EFULL);
	CHECK(end_block(&c) == 0);
	CHECK(submit(&c, &s, id[4], &res) == 0); /* id[1], 2 ASY, goes now */
	CHECK(compute_get_job(&c.l, id[1], &j) == 0);
	CHECK_EQ_INT(j.state, JOB_REFUNDED);
	CHECK(compute_get_job(&c.l, id[0], &j) == 0);
	CHECK_EQ_INT(j.state, JOB_OPEN);
	ledger_mem_free(c.mem);

	/* A job a worker has committed to is never displaced, however little it
	 * pays; one only assigned is, and its worker's lock comes back. */
	chain_init(&c);
	c.p.max_live_jobs = 2;
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	struct job_spec cheap = small_spec(1, 1 * UNIT);
	struct work w[1];
	uint64_t bad[1] = {0};
	to_challenge(&c, id[0], &cheap, w, bad, 0);
	s = small_spec(1, 2 * UNIT);
	CHECK(submit(&c, &s, id[1], &res) == 0);
	for (int b = 0; b <= (int)c.p.challenge_delay; b++)
		CHECK(end_block(&c) == 0);
	CHECK_EQ_INT(job(&c, id[1]).slots[0].state, SLOT_ASSIGNED);
	struct worker_record wr;
	CHECK(compute_get_worker(&c.l, W1, &wr) == 0);
	CHECK_EQ_U64(wr.jobs_in_flight, 2);
	s.reward = 100 * UNIT;
	CHECK(submit(&c, &s, id[2], &res) == 0);
	CHECK_EQ_INT(job(&c, id[1]).state, JOB_REFUNDED);
	CHECK(job(&c, id[0]).state != JOB_REFUNDED);
	CHECK(compute_get_worker(&c.l, W1, &wr) == 0);
	CHECK_EQ_U64(wr.jobs_in_flight, 1);
	work_free(&w[0]);
	ledger_mem_free(c.mem);
}

/* A submission and a job's end read and write a few small values whatever
 * the number of live jobs: the list was one value of every id, read and
 * rewritten whole by each (128 KB at 4,096 jobs, kept per version by the
 * block's overlay). */
static void test_live_list_cost_flat(void)
{
	long submit_few, end_few, submit_many, end_many;
	list_costs(10, &submit_few, &end_few);
	list_costs(4000, &submit_many, &end_many);
	printf("     bytes per job_submit: %ld (10 live) %ld (4000 live); per job end: %ld / %ld\n",
	       submit_few, submit_many, end_few, end_many);
	CHECK(submit_many <= 2 * submit_few);
	CHECK(end_many <= 2 * end_few);
	CHECK(end_few > 0);
}

static void meta_key(const char *name, const uint8_t *id, uint8_t key[HASH_LEN])
{
	uint8_t text[64];
	size_t n = strlen(name);
	memcpy(text, name, n);
	if (id)
		memcpy(text + n, id, HASH_LEN);
	state_key(NS_META, text, n + (id ? HASH_LEN : 0), key);
}

/* Puts c's live list into the legacy form (compute.md §8), ids in order:
 * one value, no list and no links. */
static void to_legacy(struct chain *c, uint8_t (*ids)[HASH_LEN], size_t n)
{
	uint8_t key[HASH_LEN];
	for (size_t i = 0; i < n; i++) {
		meta_key("compute/jobs/link", ids[i], key);
		CHECK(ledger_del(&c->l, key) == 0);
	}
	meta_key("compute/jobs/list", NULL, key);
	CHECK(ledger_del(&c->l, key) == 0);
	if (!n)
		return;
	struct buf b;
	buf_init(&b);
	buf_put_varint(&b, n);
	buf_put(&b, ids, n * HASH_LEN);
	meta_key("compute/jobs", NULL, key);
	CHECK(ledger_put(&c->l, key, b.data, b.len) == 0);
	buf_free(&b);
}

static int fold_entry(void *arg, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	uint8_t h[HASH_LEN], *acc = arg;
	if (!val)
		return 0; /* a deletion: the key is absent */
	sha256_2(key, HASH_LEN, val, len, h);
	for (int i = 0; i < HASH_LEN; i++)
		acc[i] ^= h[i];
	return 0;
}

/* The whole state, in an order-free digest. */
static void state_digest(struct chain *c, uint8_t out[HASH_LEN])
{
	memset(out, 0, HASH_LEN);
	CHECK(ledger_mem_foreach(c->mem, fold_entry, out) == 0);
}

#define LIST_MAX 128
struct id_list {
	uint8_t ids[LIST_MAX][HASH_LEN];
	size_t n;
};

static int collect_id(void *arg, const struct job_record *j)
{
	struct id_list *l = arg;
	if (l->n < LIST_MAX)
		memcpy(l->ids[l->n], j->id, HASH_LEN);
	l->n++;
	return 0;
}

/* A random step's work: from a job picked by rs on, the first with a slot
 * assigned or challenged has its worker commit or reveal (wrong for some
 * pairs of job and worker), unless rs says it keeps quiet (one time in
 * quiet_one_in). */
static void work_some_slot(struct chain *c, const uint8_t (*ids)[HASH_LEN], int nids, uint64_t rs,
			   unsigned quiet_one_in)
{
	const uint8_t *jid = NULL;
	struct job_record j;
	struct job_slot *s = NULL;
	struct compute_result res;
	for (int k = 0, first = (int)((rs >> 20) % nids); k < nids && !s; k++) {
		jid = ids[(first + k) % nids];
		j = job(c, jid);
		for (unsigned i = 0; i < j.spec.redundancy && j.state < JOB_PAID; i++)
			if (j.slots[i].state == SLOT_ASSIGNED || j.slots[i].state == SLOT_CHALLENGED)
				s = &j.slots[i];
	}
	if (!s || (rs >> 58) % quiet_one_in == 0)
		return;
	struct work w;
	uint64_t bad = (jid[0] ^ s->worker[0]) % 4 == 0 ? 0x5555ull << (jid[1] % 8) : 0;
	work_do(c, jid, bad, &w);
	if (s->state == SLOT_ASSIGNED)
		commit(c, s->worker, jid, &w);
	else
		reveal(c, s->worker, jid, &w, REVEAL_OK, REVEAL_GAS, &res);
	work_free(&w);
}

/* One step of a random sequence on c; ids[] the jobs submitted so far. */
static void order_step(struct chain *c, uint64_t rs, uint8_t (*ids)[HASH_LEN], int *nids)
{
	const uint8_t *workers[] = {W1, W2, W3};
	const uint8_t *wk = workers[(rs >> 40) % 3];
	struct compute_result res;
	unsigned op = (unsigned)(rs >> 33) % 10;
	if (op == 0) {
		reg(c, wk, (150 + (rs >> 50) % 100) * UNIT);
	} else if (op == 1 && *nids < LIST_MAX) {
		struct job_spec spec = small_spec(1 + (uint8_t)((rs >> 45) % 3), (1 + (rs >> 52) % 9) * UNIT);
		spec.deadline_blocks = (rs >> 56) % 2 ? (uint32_t)compute_least_deadline(&c->p) : 60;
		if (submit(c, &spec, ids[*nids], &res) == 0)
			(*nids)++;
	} else if (op <= 6 && *nids) {
		/* a worker does an assigned job, honestly or not, or keeps quiet */
		work_some_slot(c, (const uint8_t(*)[HASH_LEN])ids, *nids, rs, 8);
	} else if (op == 7 && *nids) {
		post_salt(c, SUB, ids[(rs >> 20) % *nids], SALT, &res);
	} else {
		CHECK(end_block(c) == 0);
	}
}

/* Through a random sequence of submissions, payouts, slashes, failures and
 * expiries, compute_list_jobs gives exactly the reference kept here: the
 * ids in submission order less those whose job has ended. A second chain
 * runs the same steps with its list put back into the legacy form at random
 * points, which the next change or end of block migrates and whose end of
 * block then visits the jobs in the legacy value's order: its state stays
 * equal to the first's, draws and outcomes included. */
static void test_live_list_order(void)
{
	struct chain a, b;
	chain_init(&a);
	chain_init(&b);
	static uint8_t ids[LIST_MAX][HASH_LEN], ids_b[LIST_MAX][HASH_LEN];
	static struct id_list ref, got;
	size_t most_live = 0;
	int nids = 0, nids_b = 0, ok = 1, migrations = 0, compared = 0;
	unsigned ended[JOB_STATE_COUNT] = {0};
	uint64_t rs = 778; /* a sequence that ends jobs every way (checked below) */
	for (int step = 0; step < 1500 && ok; step++) {
		rs = rs * 6364136223846793005ull + 1442695040888963407ull;
		order_step(&a, rs, ids, &nids);
		order_step(&b, rs, ids_b, &nids_b);
		ok &= nids == nids_b && memcmp(ids, ids_b, sizeof(ids)) == 0;
		ref.n = 0;
		memset(ended, 0, sizeof(ended));
		for (int i = 0; i < nids; i++) {
			struct job_record j = job(&a, ids[i]);
			ended[j.state]++;
			if (j.state < JOB_PAID)
				memcpy(ref.ids[ref.n++], ids[i], HASH_LEN);
		}
		most_live = ref.n > most_live ? ref.n : most_live;
		got.n = 0;
		CHECK(compute_list_jobs(&a.l, collect_id, &got) == 0);
		ok &= got.n == ref.n && memcmp(got.ids, ref.ids, ref.n * HASH_LEN) == 0;
		got.n = 0;
		CHECK(compute_list_jobs(&b.l, collect_id, &got) == 0); /* either form */
		ok &= got.n == ref.n && memcmp(got.ids, ref.ids, ref.n * HASH_LEN) == 0;
		/* once b's legacy value has moved into the list */
		uint8_t da[HASH_LEN], db[HASH_LEN], key[HASH_LEN], *val;
		size_t len;
		meta_key("compute/jobs", NULL, key);
		if (ledger_get(&b.l, key, &val, &len) == 0) {
			free(val);
			continue;
		}
		state_digest(&a, da);
		state_digest(&b, db);
		ok &= memcmp(da, db, HASH_LEN) == 0;
		compared++;
		if (ref.n && (rs >> 30) % 8 == 0) {
			to_legacy(&b, ref.ids, ref.n);
			migrations++;
		}
	}
	CHECK(ok);
	CHECK(migrations > 10);
	CHECK(compared > 1000);
	/* the sequence did end jobs every way, and kept many live */
	CHECK(ended[JOB_PAID] > 0);
	CHECK(ended[JOB_FAILED] > 0);
	CHECK(ended[JOB_REFUNDED] > 0);
	CHECK(nids > 60);
	CHECK(most_live > 10);
	ledger_mem_free(a.mem);
	ledger_mem_free(b.mem);
}

/* The list in state is checked as it is followed: a stored count of zero,
 * a listed job without its link, a link of the wrong size, or a legacy
 * value that lists a job twice is damage, ours (protocol §5.4), never a
 * verdict. */
static void test_live_list_damage(void)
{
	for (int what = 0; what < 4; what++) {
		struct chain c;
		chain_init(&c);
		struct job_spec spec = small_spec(1, c.p.min_reward);
		uint8_t id[2][HASH_LEN], key[HASH_LEN], val[72];
		struct compute_result res;
		CHECK(submit(&c, &spec, id[0], &res) == 0);
		CHECK(submit(&c, &spec, id[1], &res) == 0);
		memset(val, 0, sizeof(val));
		if (what == 0) {
			meta_key("compute/jobs/list", NULL, key);
			CHECK(ledger_put(&c.l, key, val, sizeof(val)) == 0);
		} else if (what == 3) {
			uint8_t twice[3][HASH_LEN];
			memcpy(twice[0], id[0], HASH_LEN);
			memcpy(twice[1], id[1], HASH_LEN);
			memcpy(twice[2], id[0], HASH_LEN);
			to_legacy(&c, twice, 3);
		} else {
			meta_key("compute/jobs/link", id[1], key);
			CHECK(what == 1 ? ledger_del(&c.l, key) == 0 : ledger_put(&c.l, key, val, 10) == 0);
		}
		int rc = end_block(&c);
		CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
		CHECK(assay_err_is_local(rc));
		ledger_mem_free(c.mem);
	}
}

/* ---- the worker registry (compute.md §8) ---- */

/* A worker address of the registry tests: i in its first bytes, funded. */
static void pool_addr(struct chain *c, unsigned i, uint8_t a[ADDR_LEN])
{
	memset(a, 0x77, ADDR_LEN);
	le32_put(a, i * 2654435761u); /* registration order is not address order */
	CHECK(ledger_credit(&c->l, a, START_BALANCE) == 0);
}

static int unbond(struct chain *c, const uint8_t *w)
{
	struct buf none;
	struct compute_result res;
	buf_init(&none);
	return apply(c, TX_WORKER_UNBOND, w, &none, 0, &res);
}

/* With n workers registered: the bytes of one more registration, of an end
 * of block that has no job, and of the end of block that returns one
 * unbonding worker's bond. */
static void registry_costs(unsigned n, long *reg_bytes, long *end_bytes, long *release_bytes)
{
	struct chain c;
	chain_init(&c);
	c.p.max_workers = n + 1;
	counting_on(&c);
	uint8_t a[ADDR_LEN], first[ADDR_LEN];
	for (unsigned i = 0; i < n; i++) {
		pool_addr(&c, i, a);
		CHECK(reg(&c, a, 200 * UNIT) == 0);
	}
	memcpy(first, a, ADDR_LEN);
	CHECK(end_block(&c) == 0);
	pool_addr(&c, n, a);
	ledger_bytes = 0;
	CHECK(reg(&c, a, 200 * UNIT) == 0);
	*reg_bytes = ledger_bytes;
	CHECK(end_block(&c) == 0);
	ledger_bytes = 0;
	CHECK(end_block(&c) == 0);
	*end_bytes = ledger_bytes;
	CHECK(unbond(&c, first) == 0);
	while (c.h < worker(&c, first).unbond_height)
		CHECK(end_block(&c) == 0);
	ledger_bytes = 0;
	CHECK(end_block(&c) == 0);
	*release_bytes = ledger_bytes;
	CHECK_EQ_INT(worker(&c, first).status, WORKER_EXITED);
	ledger_mem_free(c.mem);
}

/* A registration, an end of block with nothing to draw, and the one that
 * returns a bond read and write a few small values whatever the number of
 * workers. Before, a registration read and rewrote the whole sorted index
 * (20 bytes a worker: one block of 50,000 registrations copied tens of
 * GB), and every end of block read every worker record, for ever. */
static void test_registry_cost_flat(void)
{
	long reg_few, end_few, rel_few, reg_many, end_many, rel_many;
	registry_costs(10, &reg_few, &end_few, &rel_few);
	registry_costs(2000, &reg_many, &end_many, &rel_many);
	printf("     bytes per registration: %ld (10 workers) %ld (2000); per idle end of block: %ld / %ld; "
	       "per bond returned: %ld / %ld\n",
	       reg_few, reg_many, end_few, end_many, rel_few, rel_many);
	CHECK(reg_many <= 2 * reg_few);
	CHECK(end_many <= 2 * end_few);
	CHECK(rel_many <= 2 * rel_few);
	CHECK(rel_few > end_few);
}

#define POOL 40
/* The outcome of test_registry_order's sequence, exited workers leaving
 * the registry (compute.md §8): a pin against unintended change. */
#define REGISTRY_OUTCOME "045fcb8c162d0db3525fe7b7d678c513927e246fc7563c74c90ef1f4dc3cd5eb"
#define REG_JOBS 256

/* The key of the registry's name || suffix (compute.md §8). */
static void registry_key(const char *name, const uint8_t *suffix, size_t n, uint8_t key[HASH_LEN])
{
	uint8_t text[64];
	size_t len = strlen(name);
	memcpy(text, name, len);
	if (n)
		memcpy(text + len, suffix, n);
	state_key(NS_META, text, len + n, key);
}

/* Puts c's registry into the legacy form (compute.md §8): one value of the
 * n addresses (every one that ever registered, exited ones too),
 * ascending, and no pages, places, count or due list, as a chain before
 * the pages had it (its unbonding workers in no due list). On a
 * chain in the legacy form already this rewrites the same value. */
static void registry_to_legacy(struct chain *c, const uint8_t (*addrs)[ADDR_LEN], size_t n)
{
	uint8_t key[HASH_LEN], s[16];
	for (uint64_t p = 0; p * 16 < n; p++) {
		le64_put(s, p);
		registry_key("compute/workers/page", s, 8, key);
		ledger_del(&c->l, key);
	}
	for (size_t i = 0; i < n; i++) {
		registry_key("compute/workers/slot", addrs[i], ADDR_LEN, key);
		ledger_del(&c->l, key);
	}
	registry_key("compute/workers/count", NULL, 0, key);
	ledger_del(&c->l, key);
	for (uint64_t h = c->h; h <= c->h + c->p.unbond_delay; h++) {
		uint8_t val[8];
		size_t len;
		le64_put(s, h);
		registry_key("compute/workers/due", s, 8, key);
		if (ledger_get_into(&c->l, key, val, sizeof(val), &len) != 0)
			continue;
		ledger_del(&c->l, key);
		for (uint64_t i = 0; i < le64_get(val); i++) {
			le64_put(s + 8, i);
			registry_key("compute/workers/due", s, 16, key);
			ledger_del(&c->l, key);
		}
	}
	if (!n)
		return;
	struct buf b;
	buf_init(&b);
	buf_put_varint(&b, n);
	buf_put(&b, addrs, n * ADDR_LEN);
	registry_key("compute/workers", NULL, 0, key);
	CHECK(ledger_put(&c->l, key, b.data, b.len) == 0);
	buf_free(&b);
}

struct registry_run {
	struct chain c;
	uint8_t pool[POOL][ADDR_LEN];
	uint8_t ids[REG_JOBS][HASH_LEN];
	int nids;
};

static void registry_run_init(struct registry_run *r)
{
	chain_init(&r->c);
	r->c.p.max_workers = POOL / 2; /* some registrations find the registry full */
	r->c.p.unbond_delay = 3;
	r->nids = 0;
	uint64_t rs = 4242;
	for (unsigned i = 0; i < POOL; i++) {
		for (unsigned b = 0; b < ADDR_LEN; b++) {
			rs = rs * 6364136223846793005ull + 1442695040888963407ull;
			r->pool[i][b] = (uint8_t)(rs >> 56);
		}
		CHECK(ledger_credit(&r->c.l, r->pool[i], START_BALANCE) == 0);
	}
}

/* One step of a random sequence: registrations (new, top-up, rejoin,
 * refused), unbonds, submissions, work done or not, blocks. */
static void registry_step(struct registry_run *r, uint64_t rs)
{
	struct chain *c = &r->c;
	const uint8_t *wk = r->pool[(rs >> 40) % POOL];
	struct compute_result res;
	unsigned op = (unsigned)(rs >> 33) % 12;
	if (op <= 1) {
		reg(c, wk, (100 + (rs >> 50) % 150) * UNIT);
	} else if (op == 2) {
		unbond(c, wk);
	} else if (op <= 4 && r->nids < REG_JOBS) {
		struct job_spec spec = small_spec(1 + (uint8_t)((rs >> 45) % 3), (1 + (rs >> 52) % 9) * UNIT);
		spec.deadline_blocks = (rs >> 56) % 2 ? (uint32_t)compute_least_deadline(&c->p) : 60;
		if (submit(c, &spec, r->ids[r->nids], &res) == 0)
			r->nids++;
	} else if (op <= 6 && r->nids) {
		work_some_slot(c, (const uint8_t(*)[HASH_LEN])r->ids, r->nids, rs, 4);
	} else if (op == 7 && r->nids) {
		post_salt(c, SUB, r->ids[(rs >> 20) % r->nids], SALT, &res);
	} else {
		CHECK(end_block(c) == 0);
	}
}

/* What the rules decided, in one digest: every job record (its draws),
 * every worker record and every balance. The registry's own layout is
 * not in it. */
static void registry_outcome(struct registry_run *r, uint8_t out[HASH_LEN])
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < r->nids; i++) {
		struct job_record j = job(&r->c, r->ids[i]);
		compute_job_encode(&j, &b);
	}
	for (unsigned i = 0; i < POOL; i++) {
		struct worker_record w;
		if (compute_get_worker(&r->c.l, r->pool[i], &w) == 0)
			compute_worker_encode(&w, &b);
		buf_put_u64(&b, balance(&r->c, r->pool[i]));
	}
	buf_put_u64(&b, balance(&r->c, SUB));
	buf_put_u64(&b, balance(&r->c, LEDGER_BURN_ADDR));
	CHECK(!b.oom);
	sha256(b.data, b.len, out);
	buf_free(&b);
}

struct addr_list {
	uint8_t a[POOL][ADDR_LEN];
	size_t n;
};

static int collect_addr(void *arg, const struct worker_record *w)
{
	struct addr_list *l = arg;
	if (l->n < POOL)
		memcpy(l->a[l->n], w->addr, ADDR_LEN);
	l->n++;
	return 0;
}

/* Through a random sequence of registrations, unbonds, draws, slashes,
 * payouts and bond returns, a chain whose registry is in pages decides
 * exactly what the same chain does with its registry put back into the
 * legacy form at random points (which the next registration or end of
 * block migrates: the draws then take its pages' addresses sorted, and
 * unbonding workers are due from the migration), and what the legacy
 * registry decided before the pages existed: the final outcome is pinned
 * to the digest the code of the legacy index gave for this sequence.
 * compute_list_workers lists the registered addresses ascending in either
 * form. */
static void test_registry_order(void)
{
	static struct registry_run a, b;
	registry_run_init(&a);
	registry_run_init(&b);
	static struct addr_list got, want, all;
	int ok = 1, migrations = 0, waited = 0, exits = 0, full = 0;
	int was_unbonding[POOL] = {0};
	uint64_t rs = 9001;
	for (int step = 0; step < 3000 && ok; step++) {
		rs = rs * 6364136223846793005ull + 1442695040888963407ull;
		registry_step(&a, rs);
		registry_step(&b, rs);
		uint8_t da[HASH_LEN], db[HASH_LEN];
		registry_outcome(&a, da);
		registry_outcome(&b, db);
		ok &= memcmp(da, db, HASH_LEN) == 0 && a.nids == b.nids;
		/* the reference: the pool's registered addresses that have not
		 * exited, ascending (all: with those that exited, as the legacy
		 * form kept them) */
		want.n = all.n = 0;
		for (unsigned i = 0; i < POOL; i++) {
			struct worker_record w;
			if (compute_get_worker(&a.c.l, a.pool[i], &w) != 0)
				continue;
			for (struct addr_list *l = &all; l; l = l == &all && w.status != WORKER_EXITED ? &want : NULL) {
				size_t at = l->n++;
				while (at && memcmp(l->a[at - 1], w.addr, ADDR_LEN) > 0) {
					memcpy(l->a[at], l->a[at - 1], ADDR_LEN);
					at--;
				}
				memcpy(l->a[at], w.addr, ADDR_LEN);
			}
			waited += w.status == WORKER_UNBONDING && a.c.h > w.unbond_height;
			exits += was_unbonding[i] && w.status == WORKER_EXITED;
			was_unbonding[i] = w.status == WORKER_UNBONDING;
		}
		full += want.n == a.c.p.max_workers;
		got.n = 0;
		CHECK(compute_list_workers(&a.c.l, collect_addr, &got) == 0);
		ok &= got.n == want.n && memcmp(got.a, want.a, want.n * ADDR_LEN) == 0;
		got.n = 0;
		CHECK(compute_list_workers(&b.c.l, collect_addr, &got) == 0); /* either form */
		ok &= got.n == want.n && memcmp(got.a, want.a, want.n * ADDR_LEN) == 0;
		if (all.n && (rs >> 30) % 16 == 0) {
			registry_to_legacy(&b.c, (const uint8_t(*)[ADDR_LEN])all.a, all.n);
			migrations++;
		}
	}
	CHECK(ok);
	CHECK(migrations > 50);
	/* the sequence drew, waited on busy unbonding workers, returned bonds
	 * and filled the registry */
	CHECK(waited > 0);
	CHECK(exits > 5);
	CHECK(full > 0);
	CHECK(a.nids > 100);
	uint8_t digest[HASH_LEN];
	registry_outcome(&a, digest);
	char hex[2 * HASH_LEN + 1];
	for (int i = 0; i < HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	printf("     outcome %s, %d migrations, %d jobs\n", hex, migrations, a.nids);
	CHECK(strcmp(hex, REGISTRY_OUTCOME) == 0);
	ledger_mem_free(a.c.mem);
	ledger_mem_free(b.c.mem);
}

/* The registry in state is checked as it is read: a count of the wrong
 * size, a page missing or of the wrong length, an address twice, a legacy
 * value out of order, or a registered address without its record is
 * damage, ours (protocol §5.4), never a verdict on the block or a
 * registration. */
static void test_registry_damage(void)
{
	for (int what = 0; what < 6; what++) {
		struct chain c;
		chain_init(&c);
		CHECK(reg(&c, W1, 200 * UNIT) == 0);
		CHECK(reg(&c, W2, 200 * UNIT) == 0);
		uint8_t key[HASH_LEN], s[8];
		if (what == 0) {
			registry_key("compute/workers/count", NULL, 0, key);
			CHECK(ledger_put(&c.l, key, s, 3) == 0);
		} else if (what == 1 || what == 2 || what == 5) {
			uint8_t twice[2 * ADDR_LEN];
			memcpy(twice, W1, ADDR_LEN);
			memcpy(twice + ADDR_LEN, W1, ADDR_LEN);
			le64_put(s, 0);
			registry_key("compute/workers/page", s, 8, key);
			if (what == 1)
				CHECK(ledger_del(&c.l, key) == 0);
			else
				CHECK(ledger_put(&c.l, key, twice, what == 2 ? 2 * ADDR_LEN : ADDR_LEN) == 0);
		} else if (what == 3) {
			uint8_t down[2][ADDR_LEN];
			memcpy(down[0], W2, ADDR_LEN);
			memcpy(down[1], W1, ADDR_LEN);
			registry_to_legacy(&c, (const uint8_t(*)[ADDR_LEN])down, 2);
		} else {
			state_key(NS_WORKER, W2, ADDR_LEN, key);
			CHECK(ledger_del(&c.l, key) == 0);
		}
		struct job_spec spec = small_spec(1, c.p.min_reward);
		uint8_t id[HASH_LEN];
		struct compute_result res;
		CHECK(submit(&c, &spec, id, &res) == 0);
		c.h += c.p.challenge_delay; /* its slot is due a draw */
		CHECK_EQ_INT(end_block(&c), ASSAY_ECORRUPT);
		CHECK_EQ_INT(compute_list_workers(&c.l, sum_bonds, &(unsigned __int128){0}), ASSAY_ECORRUPT);
		if (what != 2 && what != 4) /* it reads the count and the last page */
			CHECK_EQ_INT(reg(&c, W3, 200 * UNIT), ASSAY_ECORRUPT);
		ledger_mem_free(c.mem);
	}
}

/* A worker whose bond came back leaves the registry (compute.md §8): its
 * place takes another worker, so max_workers bounds the workers bonded at
 * once, not every address that ever registered; before, a full registry
 * of exited workers refused every new one for good. The one that left
 * rejoins as a new registration would, and finds the registry full. */
static void test_exit_frees_registry_place(void)
{
	struct chain c;
	chain_init(&c);
	c.p.max_workers = 2;
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	CHECK(reg(&c, W2, 200 * UNIT) == 0);
	CHECK_EQ_INT(reg(&c, W3, 200 * UNIT), ASSAY_EFULL);
	CHECK(unbond(&c, W1) == 0);
	for (unsigned i = 0; i <= c.p.unbond_delay; i++)
		CHECK(end_block(&c) == 0);
	struct worker_record w;
	CHECK(compute_get_worker(&c.l, W1, &w) == 0 && w.status == WORKER_EXITED && w.bond == 0);
	CHECK(balance(&c, W1) == START_BALANCE);
	CHECK(reg(&c, W3, 200 * UNIT) == 0);
	CHECK_EQ_INT(reg(&c, W1, 200 * UNIT), ASSAY_EFULL);
	struct addr_list listed = {.n = 0};
	CHECK(compute_list_workers(&c.l, collect_addr, &listed) == 0);
	CHECK(listed.n == 2 && memcmp(listed.a[0], W2, ADDR_LEN) == 0 && memcmp(listed.a[1], W3, ADDR_LEN) == 0);
	/* W2 leaves too: W1 rejoins, keeping its record's history */
	CHECK(unbond(&c, W2) == 0);
	for (unsigned i = 0; i <= c.p.unbond_delay; i++)
		CHECK(end_block(&c) == 0);
	CHECK(reg(&c, W1, 200 * UNIT) == 0);
	CHECK(compute_get_worker(&c.l, W1, &w) == 0 && w.status == WORKER_ACTIVE && w.bond == 200 * UNIT);
	listed.n = 0;
	CHECK(compute_list_workers(&c.l, collect_addr, &listed) == 0);
	CHECK(listed.n == 2 && memcmp(listed.a[0], W1, ADDR_LEN) == 0 && memcmp(listed.a[1], W3, ADDR_LEN) == 0);
	ledger_mem_free(c.mem);

	/* a place that names another address, or none, is damage when the
	 * worker exits: ours (protocol §5.4), not a verdict */
	for (int what = 0; what < 2; what++) {
		chain_init(&c);
		CHECK(reg(&c, W1, 200 * UNIT) == 0);
		CHECK(reg(&c, W2, 200 * UNIT) == 0);
		uint8_t key[HASH_LEN], at[8];
		registry_key("compute/workers/slot", W1, ADDR_LEN, key);
		le64_put(at, 1); /* W2's */
		CHECK((what ? ledger_del(&c.l, key) : ledger_put(&c.l, key, at, sizeof(at))) == 0);
		CHECK(unbond(&c, W1) == 0);
		int rc = 0;
		for (unsigned i = 0; i <= c.p.unbond_delay && !rc; i++)
			rc = end_block(&c);
		CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
		ledger_mem_free(c.mem);
	}
}

int main(void)
{
	keys_init();
	RUN(test_codecs);
	RUN(test_params);
	RUN(test_submit_record_gas);
	RUN(test_honest_flow);
	RUN(test_challenge_without_salt);
	RUN(test_late_salt_waits);
	RUN(test_wrong_tile_sampled);
	RUN(test_wrong_root_slashes_all);
	RUN(test_copied_commitment);
	RUN(test_client_dispute);
	RUN(test_redundancy);
	RUN(test_roots_at_payout);
	RUN(test_mlp_wrong_preactivation_disputed);
	RUN(test_missed_deadlines);
	RUN(test_bond_locks);
	RUN(test_active_worker_below_min_bond);
	RUN(test_bad_input);
	RUN(test_unrevealable_jobs_refused);
	RUN(test_no_escape_at_deadline);
	RUN(test_late_reveal);
	RUN(test_mlp_flow);
	RUN(test_mlp_reveal_pre);
	RUN(test_assignment_weight);
	RUN(test_early_dispute_and_registration);
	RUN(test_upload_rules);
	RUN(test_missed_upload);
	RUN(test_missed_deadlines_in_order);
	RUN(test_failed_uploaded_slot_not_redrawn);
	RUN(test_sybil_failure_keeps_challenge);
	RUN(test_reveal_admission);
	RUN(test_random_supply);
	RUN(test_live_list_cost_flat);
	RUN(test_live_list_order);
	RUN(test_live_list_damage);
	RUN(test_displacement);
	RUN(test_slots_drawn_together);
	RUN(test_registry_cost_flat);
	RUN(test_registry_order);
	RUN(test_registry_damage);
	RUN(test_exit_frees_registry_place);
	return test_report("test_compute");
}

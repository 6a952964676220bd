/* Error injection (docs/protocol.md §5.4): the Nth read of the committed
 * state fails (ASSAY_EIO or ASSAY_ENOMEM, in turn) while a block is applied
 * or built, swept over N until the operation succeeds. Every failing case
 * must return that local code, leave the tip, the state root and the
 * receipts as they were, and the same block must then apply (or build to the
 * same block) as if nothing had happened. The block carries a transfer, a
 * contract call that reads storage and emits an event, and a worker's
 * registration in a block whose end assigns it a job, so the ledger, VM and
 * compute paths (transactions and end of block) are all swept. */
#include "consensus/compute/compute_codec.h"
#include "core/error.h"
#include "node/chain.h"
#include "vm/asm.h"
#include "vm/vm.h"
#include "node_fixture.h"
#include "test.h"

static struct fixture fx;
static chain_t *prod, *val; /* the proposer's node and a validator's node */
static uint8_t contract[ADDR_LEN];

#define GAS 200000

static chain_t *open_at(const char *sub)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/%s", fx.dir, sub);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	if (!c)
		fprintf(stderr, "chain_open: %s\n", err);
	return c;
}

static void signed_tx(struct tx *t, int from, uint64_t nonce, uint8_t kind, const struct buf *payload)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, fx.g.hash, HASH_LEN);
	t->nonce = nonce;
	memcpy(t->sender, fx.pk[from], PUBKEY_LEN);
	t->gas_limit = GAS;
	t->fee = fx.g.params.min_fee + GAS * fx.g.params.gas_price;
	t->kind = kind;
	CHECK(tx_set_payload(t, payload->data, payload->len) == 0);
	tx_sign(t, fx.sk[from]);
}

/* Stores one byte at slot 0x100, reads it back, emits it. */
static const char contract_text[] = ".text\n"
				    "\tmovi r5, 0x300\n\tmovi r6, 0x55\n\tst8 [r5 + 0], r6\n"
				    "\tmovi r1, 0x100\n\tmovi r2, 0x400\n\tmovi r3, 1\n\tsys storage_get\n"
				    "\tmovi r1, 0x100\n\tmovi r2, 0x300\n\tmovi r3, 1\n\tsys storage_set\n"
				    "\tmovi r1, 0x300\n\tmovi r2, 1\n\tsys emit\n"
				    "\tmovi r1, 0x8000\n\tmovi r2, 0\n\tsys return\n";

static void deploy_tx(struct tx *t, int from, uint64_t nonce)
{
	struct buf code, b;
	char err[200];
	uint8_t init = 1;
	buf_init(&code);
	buf_init(&b);
	CHECK(vm_asm_assemble(contract_text, "fault", &code, err, sizeof(err)) == 0);
	struct vm_deploy_payload p = {code.data, code.len, 0, &init, 1};
	vm_deploy_payload_encode(&p, &b);
	signed_tx(t, from, nonce, TX_DEPLOY, &b);
	buf_free(&code);
	buf_free(&b);
}

static void call_tx(struct tx *t, int from, uint64_t nonce)
{
	struct buf b;
	uint8_t cd[4] = {1, 2, 3, 4};
	buf_init(&b);
	struct vm_call_payload p;
	memcpy(p.to, contract, ADDR_LEN);
	p.value = 0;
	p.calldata = cd;
	p.calldata_len = sizeof(cd);
	vm_call_payload_encode(&p, &b);
	signed_tx(t, from, nonce, TX_CALL, &b);
	buf_free(&b);
}

static void register_tx(struct tx *t, int from, uint64_t nonce)
{
	struct worker_register_payload w;
	struct buf b;
	memset(&w, 0, sizeof(w));
	w.bond = fx.g.compute.min_bond;
	strcpy(w.endpoint, "127.0.0.1:1");
	strcpy(w.backend, "cpu");
	buf_init(&b);
	compute_register_encode(&w, &b);
	signed_tx(t, from, nonce, TX_WORKER_REGISTER, &b);
	buf_free(&b);
}

/* A small matmul job from a seed, at the least reward. */
static void submit_tx(struct tx *t, int from, uint64_t nonce)
{
	struct job_spec spec;
	struct buf b;
	memset(&spec, 0, sizeof(spec));
	spec.shape = (struct job_shape){.kind = JOB_MATMUL_I8, .m = 64, .n = 64, .k = 40,
					.tile_rows = 8, .tile_cols = 8};
	spec.input_kind = JOB_INPUT_SEED;
	memset(spec.seed, 0x5a, HASH_LEN);
	spec.samples = fx.g.compute.samples_k;
	spec.redundancy = 1;
	spec.reward = fx.g.compute.min_reward;
	spec.deadline_blocks = 120; /* >= the least deadline at the defaults (106) */
	buf_init(&b);
	compute_spec_encode(&spec, &b);
	signed_tx(t, from, nonce, TX_JOB_SUBMIT, &b);
	buf_free(&b);
}

static void transfer_tx(struct tx *t, int from, uint64_t nonce)
{
	fixture_transfer(&fx, t, from, fx.addr[7], 12345, nonce, 1000);
}

/* Builds on prod from txs and applies the block to both chains. */
static void produce(const struct tx *txs, size_t n, uint64_t time_ms)
{
	const struct tx *ptrs[8];
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN];
	size_t nskipped = 0, skipped[8];
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &txs[i];
	int rc = chain_build_block(prod, ptrs, n, time_ms, fx.sk[0], &blk, skipped, &nskipped, err, sizeof(err));
	if (rc)
		fprintf(stderr, "build: %s\n", err);
	CHECK(rc == 0 && nskipped == 0);
	if (rc)
		return;
	block_hash(&blk, hash);
	chain_sign_commit(prod, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK(chain_apply_block(prod, &blk, &cm, time_ms, err, sizeof(err)) == 0);
	rc = chain_apply_block(val, &blk, &cm, time_ms, err, sizeof(err));
	if (rc)
		fprintf(stderr, "apply: %s\n", err);
	CHECK(rc == 0);
	commit_free(&cm);
	block_free(&blk);
}

static int fault_code(uint64_t n)
{
	return n % 2 ? ASSAY_EIO : ASSAY_ENOMEM;
}

/* What must hold after a failed operation: nothing moved. */
static void check_unchanged(chain_t *c, uint64_t height, const uint8_t tip[HASH_LEN], const struct tx *txs,
			    size_t n)
{
	uint8_t now[HASH_LEN], root[HASH_LEN];
	chain_tip_hash(c, now);
	state_root(chain_state(c), root);
	CHECK(chain_height(c) == height);
	CHECK_EQ_MEM(now, tip, HASH_LEN);
	CHECK_EQ_MEM(root, chain_tip(c)->state_root, HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		uint8_t txid[HASH_LEN];
		struct tx got;
		uint64_t h;
		uint32_t idx;
		struct receipt r;
		tx_id(&txs[i], txid);
		CHECK(chain_get_tx(c, txid, &got, &h, &idx, &r) == ASSAY_ENOTFOUND);
	}
}

static void test_apply_sweep(void)
{
	struct tx txs[3];
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN], tip[HASH_LEN];
	const struct tx *ptrs[3] = {&txs[0], &txs[1], &txs[2]};
	transfer_tx(&txs[0], 1, 1);
	call_tx(&txs[1], 2, 0);
	register_tx(&txs[2], 3, 0);
	CHECK(chain_build_block(prod, ptrs, 3, 5000, fx.sk[0], &blk, NULL, NULL, err, sizeof(err)) == 0);
	CHECK(blk.ntx == 3);
	block_hash(&blk, hash);
	chain_sign_commit(prod, fx.sk[0], blk.hdr.height, hash, &cm);
	uint64_t height = chain_height(val);
	chain_tip_hash(val, tip);
	uint64_t n;
	int rc = -1;
	for (n = 1; n < 10000; n++) {
		state_fail_read(chain_state(val), n, fault_code(n));
		rc = chain_apply_block(val, &blk, &cm, 5000, err, sizeof(err));
		state_fail_read(chain_state(val), 0, 0);
		if (rc == 0)
			break;
		if (!assay_err_is_local(rc) || rc != fault_code(n))
			fprintf(stderr, "read %llu failed: rc %d (%s)\n", (unsigned long long)n, rc, err);
		CHECK(rc == fault_code(n));
		check_unchanged(val, height, tip, txs, 3);
	}
	fprintf(stderr, "apply: %llu state reads swept\n", (unsigned long long)n - 1);
	CHECK(rc == 0);
	CHECK(n > 5); /* the block did read the state: the sweep meant something */
	CHECK(chain_height(val) == height + 1);
	struct job_record j;
	uint8_t job_id[HASH_LEN];
	struct ledger vl = chain_ledger(val);
	compute_job_id(fx.addr[6], 0, job_id);
	CHECK(compute_get_job(&vl, job_id, &j) == 0 && j.state == JOB_ASSIGNED);
	for (int i = 0; i < 3; i++) {
		uint8_t txid[HASH_LEN];
		struct tx got;
		uint64_t h;
		uint32_t idx;
		struct receipt r;
		tx_id(&txs[i], txid);
		CHECK(chain_get_tx(val, txid, &got, &h, &idx, &r) == 0);
		CHECK(r.ok == 1);
		if (i == 1)
			CHECK(r.nevents == 1);
		tx_free(&got);
		receipt_free(&r);
	}
	/* The proposer's copy of the same block still applies from its cache. */
	CHECK(chain_apply_block(prod, &blk, &cm, 5000, err, sizeof(err)) == 0);
	commit_free(&cm);
	block_free(&blk);
	for (int i = 0; i < 3; i++)
		tx_free(&txs[i]);
}

static void test_build_sweep(void)
{
	struct tx txs[3];
	struct block ref, blk;
	char err[256];
	uint8_t ref_hash[HASH_LEN], hash[HASH_LEN], tip[HASH_LEN];
	const struct tx *ptrs[3] = {&txs[0], &txs[1], &txs[2]};
	size_t skipped[3], nskipped;
	transfer_tx(&txs[0], 1, 2);
	call_tx(&txs[1], 4, 0);
	register_tx(&txs[2], 5, 0);
	/* The block a fault-free build makes, to compare with. */
	CHECK(chain_build_block(prod, ptrs, 3, 6000, fx.sk[0], &ref, NULL, NULL, err, sizeof(err)) == 0);
	CHECK(ref.ntx == 3);
	block_hash(&ref, ref_hash);
	uint64_t height = chain_height(prod);
	chain_tip_hash(prod, tip);
	uint64_t n;
	int rc = -1;
	for (n = 1; n < 10000; n++) {
		state_fail_read(chain_state(prod), n, fault_code(n));
		rc = chain_build_block(prod, ptrs, 3, 6000, fx.sk[0], &blk, skipped, &nskipped, err, sizeof(err));
		state_fail_read(chain_state(prod), 0, 0);
		if (rc == 0)
			break;
		if (rc != fault_code(n))
			fprintf(stderr, "read %llu failed: rc %d (%s)\n", (unsigned long long)n, rc, err);
		CHECK(rc == fault_code(n));
		CHECK(nskipped == 0);
		check_unchanged(prod, height, tip, txs, 3);
	}
	fprintf(stderr, "build: %llu state reads swept\n", (unsigned long long)n - 1);
	CHECK(rc == 0);
	CHECK(n > 5);
	/* The first build that met no fault is the fault-free one: no
	 * transaction skipped for a failure that was ours. */
	CHECK(blk.ntx == 3 && nskipped == 0);
	block_hash(&blk, hash);
	CHECK_EQ_MEM(hash, ref_hash, HASH_LEN);
	struct commit cm;
	chain_sign_commit(prod, fx.sk[0], blk.hdr.height, hash, &cm);
	CHECK(chain_apply_block(prod, &blk, &cm, 6000, err, sizeof(err)) == 0);
	CHECK(chain_apply_block(val, &blk, &cm, 6000, err, sizeof(err)) == 0);
	uint8_t a[HASH_LEN], b[HASH_LEN];
	state_root(chain_state(prod), a);
	state_root(chain_state(val), b);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	commit_free(&cm);
	block_free(&blk);
	block_free(&ref);
	for (int i = 0; i < 3; i++)
		tx_free(&txs[i]);
}

/* No batch for the block (out of memory): refused as a local failure,
 * nothing written; the same block then applies. */
static void test_no_batch(void)
{
	struct tx t;
	struct block blk;
	struct commit cm;
	char err[256];
	uint8_t hash[HASH_LEN], tip[HASH_LEN];
	const struct tx *ptrs[1] = {&t};
	transfer_tx(&t, 1, 3);
	CHECK(chain_build_block(prod, ptrs, 1, 7000, fx.sk[0], &blk, NULL, NULL, err, sizeof(err)) == 0);
	block_hash(&blk, hash);
	chain_sign_commit(prod, fx.sk[0], blk.hdr.height, hash, &cm);
	uint64_t height = chain_height(val);
	chain_tip_hash(val, tip);
	store_fail_next_batch(1);
	CHECK(chain_apply_block(val, &blk, &cm, 7000, err, sizeof(err)) == ASSAY_ENOMEM);
	store_fail_next_batch(0);
	check_unchanged(val, height, tip, &t, 1);
	CHECK(chain_apply_block(val, &blk, &cm, 7000, err, sizeof(err)) == 0);
	/* The proposer's own block, from its cache, takes the same path. */
	chain_tip_hash(prod, tip);
	store_fail_next_batch(1);
	CHECK(chain_apply_block(prod, &blk, &cm, 7000, err, sizeof(err)) == ASSAY_ENOMEM);
	store_fail_next_batch(0);
	check_unchanged(prod, height, tip, &t, 1);
	CHECK(chain_apply_block(prod, &blk, &cm, 7000, err, sizeof(err)) == 0);
	uint8_t a[HASH_LEN], b[HASH_LEN];
	state_root(chain_state(prod), a);
	state_root(chain_state(val), b);
	CHECK_EQ_MEM(a, b, HASH_LEN);
	commit_free(&cm);
	block_free(&blk);
	tx_free(&t);
}

int main(void)
{
	fixture_init(&fx);
	prod = open_at("prod");
	val = open_at("val");
	if (!prod || !val)
		return test_report("test_exec_faults");
	/* Block 1 deploys the contract (its init call sets the slot), so
	 * that block 2's call reads contract, code and storage from the
	 * committed state, and submits a job. */
	struct tx t[2];
	deploy_tx(&t[0], 1, 0);
	uint8_t sender[ADDR_LEN];
	tx_sender_addr(&t[0], sender);
	vm_contract_address(sender, 0, contract);
	submit_tx(&t[1], 6, 0); /* block 3 assigns it to the worker it registers */
	produce(t, 2, 2000);
	tx_free(&t[0]);
	tx_free(&t[1]);
	produce(t, 0, 3000); /* slots are drawn challenge_delay (2) blocks after the submit */
	RUN(test_apply_sweep);
	RUN(test_build_sweep);
	RUN(test_no_batch);
	chain_close(prod);
	chain_close(val);
	fixture_free(&fx);
	return test_report("test_exec_faults");
}

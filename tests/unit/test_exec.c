/* Unit tests for consensus/exec.c without a chain or a database: a block's
 * transactions executed over an in-memory ledger (fees, nonces, a failed
 * transaction that still pays), the job states contracts see, and a ledger
 * wrapper whose Nth read fails: exec_tx must return that local failure
 * (protocol §5.4), never a receipt, also when the read is a contract's
 * (storage, or a job through the job_status host call). */
#include <stdint.h>
#include <string.h>

#include "consensus/exec.h"
#include "core/error.h"
#include "core/keys.h"
#include "tests/unit/test.h"
#include "vm/asm.h"
#include "vm/vm.h"

static struct chain_params params;
static struct compute_params cparams;
static uint8_t chain_id[HASH_LEN];
static uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN], addr[ADDR_LEN];
static struct block_header hdr;
static uint8_t proposer_addr[ADDR_LEN];

/* Wraps a ledger; the fail_at-th get (counted from 1) returns fail_code. */
struct faulty {
	struct ledger base;
	unsigned long gets, fail_at;
	int fail_code;
};

static int f_get(void *ctx, const uint8_t key[HASH_LEN], uint8_t **val, size_t *len)
{
	struct faulty *f = ctx;
	if (++f->gets == f->fail_at)
		return f->fail_code;
	return ledger_get(&f->base, key, val, len);
}
static int f_put(void *ctx, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	return ledger_put(&((struct faulty *)ctx)->base, key, val, len);
}
static int f_del(void *ctx, const uint8_t key[HASH_LEN])
{
	return ledger_del(&((struct faulty *)ctx)->base, key);
}
static size_t f_snapshot(void *ctx)
{
	return ledger_snapshot(&((struct faulty *)ctx)->base);
}
static void f_revert(void *ctx, size_t snap)
{
	ledger_revert(&((struct faulty *)ctx)->base, snap);
}
static const struct ledger_ops faulty_ops = {f_get, f_put, f_del, f_snapshot, f_revert, NULL};

/* A transfer to the address of twenty 9s, paying the floor for gas. */
static void transfer(struct tx *t, uint64_t nonce, uint64_t amount, uint64_t gas)
{
	struct transfer_payload tp;
	struct buf b;
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, chain_id, HASH_LEN);
	memcpy(t->sender, pk, PUBKEY_LEN);
	t->nonce = nonce;
	t->fee = 1000 + gas;
	t->gas_limit = gas;
	t->kind = TX_TRANSFER;
	memset(tp.to, 9, ADDR_LEN);
	tp.amount = amount;
	buf_init(&b);
	transfer_encode(&tp, &b);
	CHECK(tx_set_payload(t, b.data, b.len) == 0);
	buf_free(&b);
	tx_sign(t, sk);
}

static uint64_t balance(const struct ledger *l, const uint8_t a[ADDR_LEN])
{
	struct account acct;
	CHECK(ledger_get_account(l, a, &acct) == 0);
	return acct.balance;
}

static void test_transfers(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	uint8_t to[ADDR_LEN];
	memset(to, 9, ADDR_LEN);
	const uint64_t create_fee = 1000 + VM_GAS_NEW_KEY;
	CHECK(ledger_credit(&l, addr, 100000) == 0);
	struct exec_ctx x;
	exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hdr);
	struct tx t;
	struct receipt r;
	char err[200];
	/* Creating the recipient's account takes VM_GAS_NEW_KEY: one gas short
	 * fails, fee and nonce spent, and makes no account. */
	transfer(&t, 0, 4000, VM_GAS_NEW_KEY - 1);
	CHECK(exec_tx(&x, &t, &r, err, sizeof(err)) == 0 && r.ok == 0);
	CHECK(strstr(r.error, "out of gas") && strstr(r.error, "11264"));
	CHECK_EQ_U64(r.gas_used, VM_GAS_NEW_KEY - 1);
	receipt_free(&r);
	tx_free(&t);
	CHECK_EQ_U64(balance(&l, addr), 100000 - create_fee + 1);
	CHECK_EQ_U64(balance(&l, to), 0);
	/* Nothing sent makes no account, so needs no gas. */
	transfer(&t, 1, 0, 0);
	CHECK(exec_tx(&x, &t, &r, err, sizeof(err)) == 0 && r.ok == 1 && r.gas_used == 0);
	receipt_free(&r);
	tx_free(&t);
	transfer(&t, 2, 4000, VM_GAS_NEW_KEY);
	CHECK(exec_tx(&x, &t, &r, err, sizeof(err)) == 0 && r.ok == 1);
	CHECK_EQ_U64(r.gas_used, VM_GAS_NEW_KEY);
	receipt_free(&r);
	tx_free(&t);
	uint64_t left = 100000 - (create_fee - 1) - 1000 - create_fee - 4000;
	CHECK_EQ_U64(balance(&l, addr), left);
	CHECK_EQ_U64(balance(&l, to), 4000);
	/* The account is there now: no gas needed. */
	transfer(&t, 3, 1000, 0);
	CHECK(exec_tx(&x, &t, &r, err, sizeof(err)) == 0 && r.ok == 1 && r.gas_used == 0);
	receipt_free(&r);
	left -= 2000;
	CHECK_EQ_U64(balance(&l, addr), left);
	CHECK_EQ_U64(balance(&l, to), 5000);
	/* The same nonce again: not includable. */
	CHECK(exec_tx(&x, &t, &r, err, sizeof(err)) == ASSAY_ENONCE);
	receipt_free(&r);
	tx_free(&t);
	/* Funds for fee and amount are checked before anything moves. */
	transfer(&t, 4, left - 999, 0);
	CHECK(exec_tx(&x, &t, &r, err, sizeof(err)) == ASSAY_EBALANCE);
	receipt_free(&r);
	tx_free(&t);
	CHECK_EQ_U64(balance(&l, addr), left);
	ledger_mem_free(m);
}

/* The mempool's policy check (protocol §9) says the same as execution. */
static void test_transfer_gas_check(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	uint8_t to[ADDR_LEN];
	memset(to, 9, ADDR_LEN);
	struct tx t;
	char err[200];
	transfer(&t, 0, 1, VM_GAS_NEW_KEY - 1);
	CHECK_EQ_INT(exec_tx_gas_check(&l, &t, err, sizeof(err)), ASSAY_EGAS);
	CHECK(strstr(err, "gas_limit 11264") != NULL);
	tx_free(&t);
	transfer(&t, 0, 1, VM_GAS_NEW_KEY);
	CHECK_EQ_INT(exec_tx_gas_check(&l, &t, err, sizeof(err)), 0);
	tx_free(&t);
	transfer(&t, 0, 0, 0);
	CHECK_EQ_INT(exec_tx_gas_check(&l, &t, err, sizeof(err)), 0);
	tx_free(&t);
	CHECK(ledger_credit(&l, to, 1) == 0);
	transfer(&t, 0, 1, 0);
	CHECK_EQ_INT(exec_tx_gas_check(&l, &t, err, sizeof(err)), 0);
	tx_free(&t);
	ledger_mem_free(m);
}

static void test_local_failure_is_no_receipt(void)
{
	unsigned long n;
	int rc = -1;
	for (n = 1; n < 100; n++) {
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger ml = ledger_mem_ledger(m);
		CHECK(ledger_credit(&ml, addr, 100000) == 0);
		struct faulty f = {ml, 0, n, n % 2 ? ASSAY_EIO : ASSAY_ENOMEM};
		struct ledger l = {&faulty_ops, &f};
		struct exec_ctx x;
		exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hdr);
		struct tx t;
		struct receipt r;
		char err[200];
		transfer(&t, 0, 4000, VM_GAS_NEW_KEY); /* the new account's read fails too */
		rc = exec_tx(&x, &t, &r, err, sizeof(err));
		CHECK(rc == 0 || rc == f.fail_code);
		CHECK(rc != 0 || r.ok == 1); /* never a failed receipt */
		receipt_free(&r);
		tx_free(&t);
		ledger_mem_free(m);
		if (rc == 0)
			break;
	}
	CHECK(rc == 0 && n > 2);
}

static void signed_tx(struct tx *t, uint64_t nonce, uint8_t kind, const struct buf *payload)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, chain_id, HASH_LEN);
	memcpy(t->sender, pk, PUBKEY_LEN);
	t->nonce = nonce;
	t->gas_limit = 100000;
	t->fee = 1000 + t->gas_limit;
	t->kind = kind;
	CHECK(tx_set_payload(t, payload->data, payload->len) == 0);
	tx_sign(t, sk);
}

/* Reads storage slot 0, then asks for the state of job 0 (there is none:
 * the call then fails, a rule outcome). */
static const char job_reader[] = ".text\n"
				 "\tmovi r1, 0x100\n\tmovi r2, 0x200\n\tmovi r3, 8\n\tsys storage_get\n"
				 "\tmovi r1, 0x100\n\tsys job_status\n"
				 "\tmovi r1, 0x8000\n\tmovi r2, 0\n\tsys return\n";

/* Deploys job_reader on base (funded here) and signs, into *call, a call
 * of it by key 1; the contract's address into contract. */
static void job_reader_call(struct ledger *base, struct tx *call, uint8_t contract[ADDR_LEN])
{
	struct exec_ctx x;
	struct receipt r;
	struct tx t;
	struct buf code, b;
	char err[200];
	CHECK(ledger_credit(base, addr, 10000000) == 0);
	buf_init(&code);
	buf_init(&b);
	CHECK(vm_asm_assemble(job_reader, "job_reader", &code, err, sizeof(err)) == 0);
	struct vm_deploy_payload dp = {code.data, code.len, 0, NULL, 0};
	vm_deploy_payload_encode(&dp, &b);
	signed_tx(&t, 0, TX_DEPLOY, &b);
	exec_ctx_init(&x, &params, &cparams, chain_id, base, &hdr);
	CHECK(exec_tx(&x, &t, &r, err, sizeof(err)) == 0 && r.ok == 1 && r.created_len == ADDR_LEN);
	struct vm_call_payload cp = {{0}, 0, NULL, 0};
	memcpy(cp.to, r.created, ADDR_LEN);
	memcpy(contract, r.created, ADDR_LEN);
	receipt_free(&r);
	tx_free(&t);
	buf_reset(&b);
	vm_call_payload_encode(&cp, &b);
	signed_tx(call, 1, TX_CALL, &b);
	buf_free(&b);
	buf_free(&code);
}

static void test_contract_reads_fail_locally(void)
{
	ledger_mem_t *base_mem = ledger_mem_new(NULL);
	struct ledger base = ledger_mem_ledger(base_mem);
	struct exec_ctx x;
	struct receipt r;
	struct tx t;
	uint8_t contract[ADDR_LEN];
	char err[200];
	job_reader_call(&base, &t, contract);
	/* A run without faults counts the reads and gives the verdict. */
	unsigned long reads = 0;
	for (unsigned long n = 0; n == 0 || n <= reads; n++) {
		struct faulty f = {base, 0, n, n % 2 ? ASSAY_EIO : ASSAY_ENOMEM};
		struct ledger fl = {&faulty_ops, &f};
		ledger_mem_t *ov = ledger_mem_new(&fl);
		struct ledger ol = ledger_mem_ledger(ov);
		exec_ctx_init(&x, &params, &cparams, chain_id, &ol, &hdr);
		int rc = exec_tx(&x, &t, &r, err, sizeof(err));
		if (n == 0) {
			reads = f.gets;
			CHECK(rc == 0 && r.ok == 0 && strstr(r.error, "job_status") != NULL);
		} else {
			if (rc != f.fail_code)
				fprintf(stderr, "read %lu of %lu: rc %d, receipt ok %d '%s'\n", n, reads, rc, r.ok,
					r.error);
			CHECK(rc == f.fail_code);
		}
		receipt_free(&r);
		ledger_mem_free(ov);
	}
	CHECK(reads > 3);
	tx_free(&t);
	ledger_mem_free(base_mem);
}

static void test_end_block_local_failure(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct faulty f = {ledger_mem_ledger(m), 0, 1, ASSAY_EIO};
	struct ledger l = {&faulty_ops, &f};
	struct exec_ctx x;
	char err[200];
	exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hdr);
	CHECK(exec_end_block(&x, err, sizeof(err)) == ASSAY_EIO);
	f.fail_at = 0;
	CHECK(exec_end_block(&x, err, sizeof(err)) == 0);
	ledger_mem_free(m);
}

/* A stored record that does not decode is a damaged database, a local
 * failure (protocol §5.4): never an invalid-block verdict and never a
 * failed receipt, whichever rule reads it. */
static void put_raw(const struct ledger *l, uint8_t ns, const void *id, size_t idlen, const void *val, size_t n)
{
	uint8_t key[HASH_LEN];
	state_key(ns, id, idlen, key);
	CHECK(ledger_put(l, key, val, n) == 0);
}

static const uint8_t junk[3] = {0xde, 0xad, 0x01};

/* The jobs index lists one id whose record is junk, or the index itself is;
 * an index lists a job or a worker that has no record at all. */
static void test_damaged_compute_state_is_local(void)
{
	static const char idx_jobs[] = "compute/jobs", idx_workers[] = "compute/workers";
	uint8_t id[HASH_LEN], index[1 + HASH_LEN], windex[1 + ADDR_LEN];
	memset(id, 0x61, HASH_LEN);
	index[0] = 1;
	memcpy(index + 1, id, HASH_LEN);
	windex[0] = 1;
	memcpy(windex + 1, addr, ADDR_LEN);
	for (int what = 0; what < 4; what++) {
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(m);
		if (what == 0) {
			put_raw(&l, NS_META, idx_jobs, strlen(idx_jobs), index, sizeof(index));
			put_raw(&l, NS_JOB, id, HASH_LEN, junk, sizeof(junk));
		} else if (what == 1) {
			put_raw(&l, NS_META, idx_jobs, strlen(idx_jobs), junk, sizeof(junk));
		} else if (what == 2) {
			put_raw(&l, NS_META, idx_jobs, strlen(idx_jobs), index, sizeof(index));
		} else {
			put_raw(&l, NS_META, idx_workers, strlen(idx_workers), windex, sizeof(windex));
		}
		struct compute_env env;
		memset(&env, 0, sizeof(env));
		env.ledger = &l;
		env.params = &cparams;
		env.height = hdr.height;
		int rc = compute_end_block(&env);
		CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
		CHECK(assay_err_is_local(rc));
		struct exec_ctx x;
		char err[200];
		exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hdr);
		CHECK_EQ_INT(exec_end_block(&x, err, sizeof(err)), ASSAY_ECORRUPT);
		ledger_mem_free(m);
	}
}

/* A transaction that reads a damaged record stops the block: no receipt. */
static void expect_local(const struct ledger *l, const struct tx *t)
{
	struct exec_ctx x;
	struct receipt r;
	char err[200];
	exec_ctx_init(&x, &params, &cparams, chain_id, l, &hdr);
	int rc = exec_tx(&x, t, &r, err, sizeof(err));
	CHECK_EQ_INT(rc, ASSAY_ECORRUPT);
	receipt_free(&r);
}

static void test_damaged_records_in_a_tx_are_local(void)
{
	struct tx t;
	struct buf b;
	buf_init(&b);
	/* The sender's worker record: junk, or well-formed with locked > bond
	 * (compute.md §8); worker_unbond reads it. */
	signed_tx(&t, 0, TX_WORKER_UNBOND, &b);
	for (int form = 0; form < 2; form++) {
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(m);
		CHECK(ledger_credit(&l, addr, 10000000) == 0);
		if (form == 0) {
			put_raw(&l, NS_WORKER, addr, ADDR_LEN, junk, sizeof(junk));
		} else {
			struct worker_record w;
			memset(&w, 0, sizeof(w));
			memcpy(w.addr, addr, ADDR_LEN);
			w.status = WORKER_ACTIVE;
			w.bond = 10;
			w.locked = 11;
			strcpy(w.backend, "cpu");
			struct buf wb;
			buf_init(&wb);
			compute_worker_encode(&w, &wb);
			put_raw(&l, NS_WORKER, addr, ADDR_LEN, wb.data, wb.len);
			buf_free(&wb);
		}
		expect_local(&l, &t);
		ledger_mem_free(m);
	}
	tx_free(&t);
	/* An account value of the wrong length: the sender's (shorter) or the
	 * recipient's of a transfer (longer). */
	uint8_t to[ADDR_LEN], longer[ACCOUNT_BYTES + 1];
	memset(to, 9, ADDR_LEN);
	memset(longer, 0, sizeof(longer));
	transfer(&t, 0, 10, 0);
	for (int whose = 0; whose < 2; whose++) {
		ledger_mem_t *m = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(m);
		if (whose == 0) {
			put_raw(&l, NS_ACCOUNT, addr, ADDR_LEN, junk, sizeof(junk));
		} else {
			CHECK(ledger_credit(&l, addr, 10000000) == 0);
			put_raw(&l, NS_ACCOUNT, to, ADDR_LEN, longer, sizeof(longer));
		}
		expect_local(&l, &t);
		struct account a;
		CHECK_EQ_INT(ledger_get_account(&l, whose ? to : addr, &a), ASSAY_ECORRUPT);
		ledger_mem_free(m);
	}
	tx_free(&t);
	buf_free(&b);
}

/* A contract's code record of another version, whose code no longer
 * validates or that is missing, and a job record junk when a contract asks
 * for its state. */
static void test_damaged_contract_state_is_local(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger base = ledger_mem_ledger(m);
	struct tx t;
	uint8_t to[ADDR_LEN];
	job_reader_call(&base, &t, to);
	struct account contract;
	CHECK(ledger_get_account(&base, to, &contract) == 0);
	static const uint8_t v2[] = {2, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t ragged[] = {1, 0x10, 0x20, 0x30}; /* 3 bytes of code: not whole instructions */
	static const uint8_t zero_id[HASH_LEN];
	for (int what = 0; what < 4; what++) {
		ledger_mem_t *ov = ledger_mem_new(&base);
		struct ledger l = ledger_mem_ledger(ov);
		uint8_t code_key[HASH_LEN];
		state_key(NS_CODE, contract.code_hash, HASH_LEN, code_key);
		if (what == 0)
			put_raw(&l, NS_CODE, contract.code_hash, HASH_LEN, v2, sizeof(v2));
		else if (what == 1)
			put_raw(&l, NS_CODE, contract.code_hash, HASH_LEN, ragged, sizeof(ragged));
		else if (what == 2) /* job_status asks for job 0 */
			put_raw(&l, NS_JOB, zero_id, HASH_LEN, junk, sizeof(junk));
		else /* the account names code that is not stored */
			CHECK(ledger_del(&l, code_key) == 0);
		expect_local(&l, &t);
		ledger_mem_free(ov);
	}
	tx_free(&t);
	ledger_mem_free(m);
}

/* Four transfers of gas_limit 2^62 from the block's own proposer (its fees
 * come back to it): their limits sum to 2^64, which a 64-bit sum wraps to
 * 0. The block is over max_block_gas whatever the wrap (protocol §4.5). */
static void test_block_gas_does_not_wrap(void)
{
	const uint64_t big = 1ull << 62;
	struct chain_params p = params;
	p.max_block_gas = big; /* above the genesis ceiling: exec_block must not rely on it */
	struct block_header own = hdr;
	memcpy(own.proposer, pk, PUBKEY_LEN);
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	CHECK(ledger_credit(&l, addr, big + 1000000) == 0);
	struct block blk;
	block_init(&blk);
	blk.hdr = own;
	struct tx t[4];
	for (int i = 0; i < 4; i++) {
		transfer(&t[i], (uint64_t)i, 1, 0);
		t[i].gas_limit = big;
		t[i].fee = p.min_fee + big * p.gas_price;
		tx_sign(&t[i], sk);
		CHECK(block_add_tx(&blk, &t[i]) == 0);
	}
	struct exec_ctx x;
	struct receipt rcs[4];
	char err[200];
	memset(rcs, 0, sizeof(rcs));
	exec_ctx_init(&x, &p, &cparams, chain_id, &l, &own);
	CHECK_EQ_INT(exec_block(&x, &blk, rcs, err, sizeof(err)), ASSAY_ELIMIT);
	CHECK(strstr(err, "block gas") != NULL);
	for (int i = 0; i < 4; i++) {
		CHECK(rcs[i].ok == 1); /* each transaction alone is valid */
		receipt_free(&rcs[i]);
		tx_free(&t[i]);
	}
	block_free(&blk);
	ledger_mem_free(m);
}

static void test_job_vm_state(void)
{
	CHECK(exec_job_vm_state(JOB_OPEN) == VM_JOB_PENDING);
	CHECK(exec_job_vm_state(JOB_VERIFIED) == VM_JOB_PENDING); /* still disputable */
	CHECK(exec_job_vm_state(JOB_PAID) == VM_JOB_VERIFIED);
	CHECK(exec_job_vm_state(JOB_FAILED) == VM_JOB_FAILED);
	CHECK(exec_job_vm_state(JOB_REFUNDED) == VM_JOB_FAILED);
}

/* A reveal or upload the state already decides cannot succeed (here: no
 * such job) is invalid, not failed (protocol §5.2 step 1, compute.md §10):
 * exec_tx returns the rule error before the fee is taken, so the sender
 * keeps its balance and nonce and a block holding it is rejected; the
 * mempool's entry point says the same. A transfer is not asked. */
static void test_unrevealable_is_invalid(void)
{
	ledger_mem_t *m = ledger_mem_new(NULL);
	struct ledger l = ledger_mem_ledger(m);
	CHECK(ledger_credit(&l, addr, 10000000) == 0);
	struct exec_ctx x;
	exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hdr);
	struct job_reveal_payload rp;
	struct job_chunks_payload cp;
	memset(&rp, 0, sizeof(rp));
	memset(&cp, 0, sizeof(cp));
	memset(rp.job_id, 0x77, HASH_LEN);
	memset(cp.job_id, 0x77, HASH_LEN);
	cp.count = 1;
	cp.refs[0].tile_count = 1;
	cp.refs[0].data_len = 256;
	struct buf b;
	struct tx t[2];
	buf_init(&b);
	compute_reveal_encode(&rp, &b);
	signed_tx(&t[0], 0, TX_JOB_REVEAL, &b);
	buf_reset(&b);
	avail_chunks_encode(&cp, &b);
	signed_tx(&t[1], 0, TX_JOB_CHUNKS, &b);
	buf_free(&b);
	char err[200];
	struct receipt r;
	for (int i = 0; i < 2; i++) {
		err[0] = 0;
		CHECK_EQ_INT(exec_tx(&x, &t[i], &r, err, sizeof(err)), ASSAY_ENOTFOUND);
		CHECK(strstr(err, "cannot succeed: no such job") != NULL);
		receipt_free(&r);
		CHECK_EQ_INT(exec_tx_admissible(&params, &cparams, &l, hdr.height, &t[i], err, sizeof(err)),
			     ASSAY_ENOTFOUND);
		CHECK_EQ_U64(balance(&l, addr), 10000000); /* no fee taken */
		struct account a;
		CHECK(ledger_get_account(&l, addr, &a) == 0 && a.nonce == 0);
		struct block blk;
		block_init(&blk);
		blk.hdr = hdr;
		CHECK(block_add_tx(&blk, &t[i]) == 0);
		struct receipt rcs[1];
		memset(rcs, 0, sizeof(rcs));
		CHECK_EQ_INT(exec_block(&x, &blk, rcs, err, sizeof(err)), ASSAY_ENOTFOUND);
		CHECK(strstr(err, "invalid") != NULL);
		receipt_free(&rcs[0]);
		block_free(&blk);
	}
	CHECK(exec_kind_admits(TX_JOB_REVEAL) && exec_kind_admits(TX_JOB_CHUNKS));
	CHECK(!exec_kind_admits(TX_TRANSFER) && !exec_kind_admits(TX_JOB_SALT) && !exec_kind_admits(TX_JOB_DISPUTE));
	CHECK(!exec_kind_admits(TX_KIND_COUNT));
	/* A kind without an admission rule passes without being looked at. */
	struct tx tr;
	transfer(&tr, 0, 1, 0);
	CHECK_EQ_INT(exec_tx_admissible(&params, &cparams, &l, hdr.height, &tr, err, sizeof(err)), 0);
	tx_free(&tr);
	tx_free(&t[0]);
	tx_free(&t[1]);
	ledger_mem_free(m);
}

int main(void)
{
	uint8_t seed[SEED_LEN], ppk[PUBKEY_LEN], psk[SECKEY_LEN];
	keys_init();
	memset(seed, 3, sizeof(seed));
	key_from_seed(seed, pk, sk);
	address_from_pubkey(pk, addr);
	memset(seed, 4, sizeof(seed));
	key_from_seed(seed, ppk, psk);
	memset(chain_id, 0x42, sizeof(chain_id));
	chain_params_default(&params, 1);
	compute_params_default(&cparams);
	hdr.height = 7;
	hdr.time_ms = 7000;
	memcpy(hdr.proposer, ppk, PUBKEY_LEN);
	address_from_pubkey(ppk, proposer_addr);
	RUN(test_transfers);
	RUN(test_transfer_gas_check);
	RUN(test_local_failure_is_no_receipt);
	RUN(test_contract_reads_fail_locally);
	RUN(test_end_block_local_failure);
	RUN(test_damaged_compute_state_is_local);
	RUN(test_damaged_records_in_a_tx_are_local);
	RUN(test_damaged_contract_state_is_local);
	RUN(test_block_gas_does_not_wrap);
	RUN(test_job_vm_state);
	RUN(test_unrevealable_is_invalid);
	return test_report("test_exec");
}

// fuzz-sources: consensus/compute/*.c consensus/*.c consensus/bft/*.c vm/*.c core/*.c
/* libFuzzer target for the compute protocol. Selector 0-7 (first byte mod
 * 16): a payload or record decoder must accept or refuse any input without a
 * crash, and what it accepts must re-encode to the same bytes. Selector
 * 8-15: the rest is a compute transaction (job_salt included) applied, then a block ended, on a
 * prepared chain (a worker challenged on a job): no crash, and supply
 * (balances + escrows + bonds) unchanged. Built with -DFUZZ_DRIVER, a main()
 * feeds it mutations of valid inputs so that `make check` runs it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/compute.h"
#include "consensus/compute/compute_codec.h"
#include "core/merkle.h"

static void same(const struct buf *b, const uint8_t *p, size_t n)
{
	if (b->len != n || memcmp(b->data, p, n) != 0)
		abort(); /* accepted but not canonical */
}

/* ---- the prepared chain ---- */

static ledger_mem_t *base_mem;
static struct ledger base;
static struct compute_params params;
static uint8_t who[3][ADDR_LEN]; /* submitter, worker, a third party */
static uint8_t job_id[HASH_LEN];
static uint64_t height;
static unsigned __int128 supply0;
static struct buf valid_reveal; /* the worker's correct reveal, for seeds */

static void env_at(const struct ledger *l, uint64_t h, struct compute_env *env)
{
	memset(env, 0, sizeof(*env));
	env->ledger = l;
	env->params = &params;
	env->height = h;
	le64_put(env->beacon, h);
	env->min_fee = 10; /* the check escrow is then not zero */
	env->gas_price = 1;
}

static int add_escrow(void *arg, const struct job_record *j)
{
	*(unsigned __int128 *)arg += j->escrow + (unsigned __int128)j->check_escrow;
	return 0;
}

static int add_bond(void *arg, const struct worker_record *w)
{
	*(unsigned __int128 *)arg += w->bond;
	return 0;
}

static unsigned __int128 supply(const struct ledger *l)
{
	unsigned __int128 s = 0;
	struct account a;
	for (int i = 0; i < 3; i++) {
		ledger_get_account(l, who[i], &a);
		s += a.balance;
	}
	ledger_get_account(l, LEDGER_BURN_ADDR, &a);
	s += a.balance;
	compute_list_jobs(l, add_escrow, &s);
	compute_list_workers(l, add_bond, &s);
	return s;
}

static void must(int ok)
{
	if (!ok)
		abort();
}

static int run_tx(const struct ledger *l, uint8_t kind, const uint8_t *sender, const uint8_t *p, size_t n,
		  uint64_t nonce)
{
	struct tx t;
	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.nonce = nonce;
	t.payload = (uint8_t *)p;
	t.payload_len = n;
	struct compute_env env;
	struct compute_result res;
	env_at(l, height, &env);
	size_t snap = ledger_snapshot(l);
	int err = compute_apply_tx(&env, &t, sender, 1000000000ull /* max_block_gas: the most a tx may carry */, &res);
	if (err)
		ledger_revert(l, snap);
	return err;
}

static void end_block(const struct ledger *l)
{
	struct compute_env env;
	env_at(l, height, &env);
	must(compute_end_block(&env) == 0);
	height++;
}

static void prepare(void)
{
	if (base_mem)
		return;
	compute_params_default(&params);
	params.samples_k = 2;
	params.commit_window = 2;
	params.reveal_window = 2;
	params.dispute_window = 2;
	params.salt_window = 2;
	params.upload_window = 2; /* the short deadline below holds */
	base_mem = ledger_mem_new(NULL);
	base = ledger_mem_ledger(base_mem);
	for (int i = 0; i < 3; i++) {
		memset(who[i], 0x40 + i, ADDR_LEN);
		ledger_credit(&base, who[i], 1000000000000000ull);
	}
	height = 1;
	struct buf b;
	buf_init(&b);
	struct worker_register_payload reg = {.bond = 200000000000ull};
	strcpy(reg.backend, "cpu");
	compute_register_encode(&reg, &b);
	must(run_tx(&base, TX_WORKER_REGISTER, who[1], b.data, b.len, 0) == 0);
	buf_reset(&b);
	struct job_spec spec = {.shape = {.kind = JOB_MATMUL_I8, .m = 8, .n = 8, .k = 8, .tile_rows = 4, .tile_cols = 4},
				.samples = 2, .redundancy = 1, .reward = 5000000, .deadline_blocks = 30};
	static const uint8_t salt[HASH_LEN] = {0x5a};
	kernel_salt_hash(salt, spec.salt_hash);
	compute_spec_encode(&spec, &b);
	must(run_tx(&base, TX_JOB_SUBMIT, who[0], b.data, b.len, 0) == 0);
	compute_job_id(who[0], 0, job_id);
	struct job_record j;
	do /* drawn challenge_delay blocks after the submit */
		end_block(&base);
	while (compute_get_job(&base, job_id, &j) == 0 && j.slots[0].state == SLOT_EMPTY);
	must(j.slots[0].state == SLOT_ASSIGNED);
	/* The worker computes, commits, the submitter opens its salt, and the
	 * challenge is fixed challenge_delay blocks after the commit. */
	struct kernel_src src = {.from_seed = 1};
	uint8_t *in[KERNEL_MAX_INPUTS], *out, (*leaves)[HASH_LEN];
	uint64_t olen;
	must(kernel_src_load(&src, &spec.shape, in) == 0);
	must(kernel_compute_ref(&spec.shape, in, &out, &olen) == 0);
	struct job_commit_payload cp;
	uint8_t root[HASH_LEN], oh[HASH_LEN], seed[HASH_LEN];
	memcpy(cp.job_id, job_id, HASH_LEN);
	must(kernel_commit(&spec.shape, out, &leaves, root, oh) == 0);
	kernel_root_commitment(root, who[1], cp.commitment);
	buf_reset(&b);
	compute_commit_encode(&cp, &b);
	must(run_tx(&base, TX_JOB_COMMIT, who[1], b.data, b.len, 1) == 0);
	end_block(&base);
	struct job_salt_payload sp;
	memcpy(sp.job_id, job_id, HASH_LEN);
	memcpy(sp.salt, salt, HASH_LEN);
	buf_reset(&b);
	compute_salt_encode(&sp, &b);
	must(run_tx(&base, TX_JOB_SALT, who[2], b.data, b.len, 0) == 0);
	end_block(&base);
	end_block(&base);
	must(compute_get_job(&base, job_id, &j) == 0 && j.slots[0].state == SLOT_CHALLENGED && j.salt_posted);
	static struct job_reveal_payload rv;
	static uint8_t tiles[4][64], paths[4][MERKLE_MAX_DEPTH][HASH_LEN];
	uint32_t idx[4];
	kernel_challenge_seed(j.challenge_beacon, j.salt, job_id, who[1], root, seed);
	rv.count = kernel_challenge_indices(seed, 2, 4, idx);
	memcpy(rv.job_id, job_id, HASH_LEN);
	memcpy(rv.root, root, HASH_LEN);
	for (uint32_t i = 0; i < rv.count; i++) {
		kernel_tile_extract(&spec.shape, out, idx[i], tiles[i]);
		rv.tiles[i].index = idx[i];
		rv.tiles[i].tile = tiles[i];
		rv.tiles[i].tile_len = 64;
		merkle_proof((const uint8_t(*)[HASH_LEN])leaves, 4, idx[i], paths[i], &rv.tiles[i].depth);
		rv.tiles[i].path = (const uint8_t(*)[HASH_LEN])paths[i];
	}
	buf_init(&valid_reveal);
	compute_reveal_encode(&rv, &valid_reveal);
	supply0 = supply(&base);
	/* Sanity: the seed reveal is accepted (so mutations start from a path
	 * that reaches the Merkle and Freivalds checks). */
	ledger_mem_t *m = ledger_mem_new(&base);
	struct ledger l = ledger_mem_ledger(m);
	must(run_tx(&l, TX_JOB_REVEAL, who[1], valid_reveal.data, valid_reveal.len, 3) == 0);
	must(compute_get_job(&l, job_id, &j) == 0 && j.slots[0].state == SLOT_VERIFIED && j.state == JOB_COMMITTED);
	/* ... and the job is verified once the whole output is uploaded (compute.md §15) */
	struct job_chunks_payload up = {.count = 1};
	memcpy(up.job_id, job_id, HASH_LEN);
	memcpy(up.root, root, HASH_LEN);
	up.refs[0] = (struct avail_ref){0, 4, 256, {0}};
	buf_reset(&b);
	avail_chunks_encode(&up, &b);
	must(run_tx(&l, TX_JOB_CHUNKS, who[1], b.data, b.len, 4) == 0);
	must(compute_get_job(&l, job_id, &j) == 0 && j.state == JOB_VERIFIED);
	ledger_mem_free(m);
	buf_free(&b);
	free(in[0]);
	free(in[1]);
	free(out);
	free(leaves);
}

/* Applies one transaction on an overlay of the prepared chain, ends the
 * block, checks conservation, and drops the overlay. */
static void apply_one(uint8_t sel, const uint8_t *p, size_t n)
{
	prepare();
	ledger_mem_t *m = ledger_mem_new(&base);
	must(m != NULL);
	struct ledger l = ledger_mem_ledger(m);
	uint8_t kind = sel % 8 == 7 ? TX_JOB_SALT : (uint8_t)(TX_WORKER_REGISTER + sel % 8);
	const uint8_t *sender = who[(sel / 8) % 3];
	uint64_t h = height;
	run_tx(&l, kind, sender, p, n, 9);
	end_block(&l);
	height = h;
	must(supply(&l) == supply0);
	ledger_mem_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (data[0] % 16 >= 8) {
		if (n >= 1)
			apply_one(p[0], p + 1, n - 1);
		return 0;
	}
	struct buf b;
	buf_init(&b);
	switch (data[0] % 8) {
	case 0: {
		struct job_spec s;
		if (compute_spec_decode(&s, p, n) == 0) {
			compute_spec_encode(&s, &b);
			same(&b, p, n);
		}
		break;
	}
	case 1: {
		struct worker_register_payload w;
		if (compute_register_decode(&w, p, n) == 0) {
			compute_register_encode(&w, &b);
			same(&b, p, n);
		}
		break;
	}
	case 2: {
		struct job_commit_payload c;
		struct job_salt_payload sl;
		if (compute_commit_decode(&c, p, n) == 0) {
			compute_commit_encode(&c, &b);
			same(&b, p, n);
		}
		buf_reset(&b);
		if (compute_salt_decode(&sl, p, n) == 0) {
			compute_salt_encode(&sl, &b);
			same(&b, p, n);
		}
		break;
	}
	case 3: {
		static struct job_reveal_payload v;
		if (compute_reveal_decode(&v, p, n) == 0) {
			compute_reveal_encode(&v, &b);
			same(&b, p, n);
		}
		break;
	}
	case 4: {
		struct job_dispute_payload d;
		if (compute_dispute_decode(&d, p, n) == 0) {
			compute_dispute_encode(&d, &b);
			same(&b, p, n);
		}
		break;
	}
	case 5: {
		struct blob_payload bl;
		if (compute_blob_decode(&bl, p, n) == 0) {
			compute_blob_encode(&bl, &b);
			same(&b, p, n);
		}
		break;
	}
	case 6: {
		struct worker_record w;
		if (compute_worker_decode(&w, p, n) == 0) {
			compute_worker_encode(&w, &b);
			same(&b, p, n);
		}
		break;
	}
	default: {
		struct job_record j;
		if (compute_job_decode(&j, p, n) == 0) {
			compute_job_encode(&j, &b);
			same(&b, p, n);
		}
		break;
	}
	}
	buf_free(&b);
	return 0;
}

#ifdef FUZZ_DRIVER
#include <stdio.h>

/* Seeds: one valid encoding per decoder, then random byte mutations of them. */
int main(void)
{
	struct buf seeds[8];
	for (int i = 0; i < 8; i++) {
		buf_init(&seeds[i]);
		buf_put_u8(&seeds[i], (uint8_t)i);
	}
	struct job_spec s = {.shape = {.kind = JOB_MLP_I8, .m = 9, .n = 4, .layers = 2, .dims = {8, 6, 4},
				       .shifts = {3, 4}, .tile_rows = 2, .tile_cols = 4},
			     .samples = 4, .redundancy = 2, .reward = 99, .deadline_blocks = 70};
	compute_spec_encode(&s, &seeds[0]);
	struct worker_register_payload w = {.bond = 5};
	strcpy(w.endpoint, "h:1");
	strcpy(w.backend, "cpu");
	compute_register_encode(&w, &seeds[1]);
	struct job_commit_payload c = {{1}, {2}};
	compute_commit_encode(&c, &seeds[2]);
	static struct job_reveal_payload v;
	uint8_t tile[16] = {7}, pre[24] = {5}, path[2][HASH_LEN] = {{9}};
	v.count = 2;
	/* an mlp-shaped reveal: output bytes, then pre-activations */
	for (int i = 0; i < 2; i++)
		v.tiles[i] = (struct tile_proof){(uint32_t)i, tile, sizeof(tile), pre, sizeof(pre),
						 (const uint8_t(*)[HASH_LEN])path, 2};
	compute_reveal_encode(&v, &seeds[3]);
	struct job_dispute_payload d = {.parties = 2, .index = 3};
	d.proof[0] = d.proof[1] = v.tiles[0];
	d.proof[1].pre_len = HASH_LEN > sizeof(pre) ? sizeof(pre) : HASH_LEN; /* a digest-sized field */
	compute_dispute_encode(&d, &seeds[4]);
	struct blob_payload bl = {.data = tile, .len = sizeof(tile)};
	compute_blob_encode(&bl, &seeds[5]);
	struct worker_record wr = {.status = WORKER_ACTIVE, .bond = 3};
	compute_worker_encode(&wr, &seeds[6]);
	struct job_record j;
	memset(&j, 0, sizeof(j));
	j.spec = s;
	j.excluded_count = 1;
	compute_job_encode(&j, &seeds[7]);
	uint64_t rs = 88172645463325252ull;
	static uint8_t in[1 << 16];
	long runs = 0;
	/* Apply path: the worker's valid reveal (selector 8, kind reveal = 5 + 4,
	 * sender = the worker: 4 + 8), then mutations of it. */
	prepare();
	struct buf ap;
	buf_init(&ap);
	buf_put_u8(&ap, 8);
	buf_put_u8(&ap, 4 + 8);
	buf_put(&ap, valid_reveal.data, valid_reveal.len);
	for (int t = 0; t < 3000; t++, runs++) {
		size_t n = ap.len;
		memcpy(in, ap.data, n);
		if (t) {
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			size_t at = 2 + rs % (n - 2);
			in[at] = (uint8_t)(rs >> 32);
			if (rs % 7 == 0)
				in[1] = (uint8_t)(rs >> 40); /* another kind or sender */
		}
		LLVMFuzzerTestOneInput(in, n);
	}
	buf_free(&ap);
	for (int i = 0; i < 8; i++) {
		LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
		for (int t = 0; t < 20000; t++, runs++) {
			size_t n = seeds[i].len;
			memcpy(in, seeds[i].data, n);
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			int flips = 1 + (int)(rs % 3);
			for (int f = 0; f < flips; f++) {
				rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
				in[1 + rs % (n - 1)] = (uint8_t)(rs >> 32);
			}
			rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
			if (rs % 5 == 0)
				n = 1 + (size_t)(rs >> 20) % n; /* truncation */
			LLVMFuzzerTestOneInput(in, n);
		}
		buf_free(&seeds[i]);
	}
	printf("fuzz_compute: %ld mutated inputs, no crash, canonical round trips\n", runs);
	return 0;
}
#endif

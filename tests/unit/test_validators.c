/* Unit tests for consensus/validators.c through the one table of kinds
 * (exec_tx, exec_end_block) over an in-memory ledger: bonds and unbonds
 * taking effect at h+2, the unbonding period and its release, evidence
 * (valid, bad, duplicate, too old, unknown offender) slashing bond and
 * unbonding stake, downtime jailing, unjail, the refusal to empty the set,
 * and genesis compatibility with the fixed-set proposer order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/exec.h"
#include "core/error.h"
#include "core/keys.h"
#include "tests/unit/test.h"

#define NKEYS 4
#define UNIT VALIDATOR_POWER_UNIT
#define FUNDS (1000000ull * UNIT)

static struct chain_params params;
static struct compute_params cparams;
static uint8_t chain_id[HASH_LEN];
static uint8_t pk[NKEYS][PUBKEY_LEN], sk[NKEYS][SECKEY_LEN], addr[NKEYS][ADDR_LEN];
static uint64_t nonce[NKEYS];
static ledger_mem_t *mem;
static struct ledger l;
static uint64_t height; /* of the last block run */

static uint64_t balance(int i)
{
	struct account a;
	CHECK(ledger_get_account(&l, addr[i], &a) == 0);
	return a.balance;
}

static uint64_t burned(void)
{
	struct account a;
	CHECK(ledger_get_account(&l, LEDGER_BURN_ADDR, &a) == 0);
	return a.balance;
}

static struct validator_record record(int i)
{
	struct validator_record r;
	int rc = validators_get(&l, pk[i], &r);
	CHECK(rc == 0 || rc == ASSAY_ENOTFOUND);
	return r;
}

/* Power of key i in the set of height h (0: not in it). */
static uint64_t power_at(uint64_t h, int i)
{
	struct bft_valset vs;
	CHECK(validators_set_at(&l, h, &vs) == 0);
	int at = bft_valset_find(&vs, pk[i]);
	uint64_t p = at >= 0 ? vs.v[at].power : 0;
	bft_valset_free(&vs);
	return p;
}

/* A fresh world: every key funded, keys 0..nval-1 genesis validators with
 * the given stakes. */
static void world(uint32_t nval, const uint64_t *stakes)
{
	if (mem)
		ledger_mem_free(mem);
	mem = ledger_mem_new(NULL);
	l = ledger_mem_ledger(mem);
	height = 0;
	struct bft_validator vals[NKEYS];
	memset(vals, 0, sizeof(vals));
	for (int i = 0; i < NKEYS; i++) {
		CHECK(ledger_credit(&l, addr[i], FUNDS) == 0);
		nonce[i] = 0;
	}
	for (uint32_t i = 0; i < nval; i++) {
		memcpy(vals[i].pubkey, pk[i], PUBKEY_LEN);
		vals[i].power = stakes[i];
	}
	char err[160];
	CHECK(validators_genesis(&l, vals, nval, err, sizeof(err)) == 0);
}

static void make_tx(struct tx *t, int from, uint8_t kind, const void *payload, size_t n)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->chain_id, chain_id, HASH_LEN);
	memcpy(t->sender, pk[from], PUBKEY_LEN);
	t->nonce = nonce[from];
	t->fee = params.min_fee;
	t->kind = kind;
	CHECK(tx_set_payload(t, payload, n) == 0);
	tx_sign(t, sk[from]);
}

/* Runs one block of the given transactions (signers: the commit of the
 * previous block; NULL: every member of the previous height's set). ok[i]
 * gets each receipt's outcome; every transaction must be includable. */
static void block(struct tx *txs, size_t n, int *ok, const int *signers, int nsigners)
{
	struct block_header hd;
	uint8_t beacon[HASH_LEN] = {7};
	memset(&hd, 0, sizeof(hd));
	hd.height = ++height;
	memcpy(hd.proposer, pk[0], PUBKEY_LEN);
	memcpy(hd.beacon, beacon, HASH_LEN);
	struct exec_ctx x;
	exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hd);
	struct commit cm;
	struct commit_sig sigs[NKEYS];
	memset(&cm, 0, sizeof(cm));
	cm.height = height - 1;
	cm.sigs = sigs;
	if (height >= 2) {
		if (signers) {
			for (int i = 0; i < nsigners; i++)
				memcpy(sigs[cm.nsigs++].validator, pk[signers[i]], PUBKEY_LEN);
		} else {
			for (int i = 0; i < NKEYS; i++)
				if (power_at(height - 1, i))
					memcpy(sigs[cm.nsigs++].validator, pk[i], PUBKEY_LEN);
		}
		x.last_commit = &cm;
	}
	char err[200];
	for (size_t i = 0; i < n; i++) {
		struct receipt rc;
		int e = exec_tx(&x, &txs[i], &rc, err, sizeof(err));
		CHECK_EQ_INT(e, 0);
		if (e)
			fprintf(stderr, "  tx %zu: %s\n", i, err);
		else if (!rc.ok)
			fprintf(stderr, "  (tx %zu failed as expected or not: %s)\n", i, rc.error);
		if (ok)
			ok[i] = e == 0 && rc.ok;
		for (int k = 0; k < NKEYS; k++)
			if (memcmp(txs[i].sender, pk[k], PUBKEY_LEN) == 0 && e == 0)
				nonce[k]++;
		receipt_free(&rc);
		tx_free(&txs[i]);
	}
	CHECK_EQ_INT(exec_end_block(&x, err, sizeof(err)), 0);
}

static void empty_blocks(int count)
{
	for (int i = 0; i < count; i++)
		block(NULL, 0, NULL, NULL, 0);
}

/* One transaction in a block of its own: its receipt's outcome. */
static int one(int from, uint8_t kind, const void *payload, size_t n)
{
	struct tx t;
	int ok = 0;
	make_tx(&t, from, kind, payload, n);
	block(&t, 1, &ok, NULL, 0);
	return ok;
}

static int amount_tx(int from, uint8_t kind, uint64_t amount)
{
	uint8_t p[8];
	le64_put(p, amount);
	return one(from, kind, p, sizeof(p));
}

/* Encoded duplicate-vote evidence by key i at (h, round 0, prevote). */
static void evidence_of(int i, uint64_t h, struct buf *b)
{
	struct bft_vote a, c;
	struct bft_evidence ev;
	memset(&a, 0, sizeof(a));
	a.type = VOTE_PREVOTE;
	a.height = h;
	a.has_value = 1;
	memset(a.value, 0x11, HASH_LEN);
	memcpy(a.validator, pk[i], PUBKEY_LEN);
	c = a;
	memset(c.value, 0x22, HASH_LEN);
	bft_vote_sign(chain_id, sk[i], &a);
	bft_vote_sign(chain_id, sk[i], &c);
	CHECK(bft_evidence_make(&ev, &a, &c) == 0);
	buf_init(b);
	bft_evidence_encode(&ev, b);
}

static int evidence_tx(int from, int offender, uint64_t h)
{
	struct buf b;
	evidence_of(offender, h, &b);
	int ok = one(from, TX_EVIDENCE, b.data, b.len);
	buf_free(&b);
	return ok;
}

/* With no transactions the sets are the genesis set stepped once per
 * height from zero priorities: the proposer order of a fixed set (what
 * chains before this module computed, docs/consensus.md §4). */
static void test_genesis_compatible(void)
{
	const uint64_t stakes[3] = {1, 2, 3};
	world(3, stakes);
	struct bft_validator vals[3];
	for (int i = 0; i < 3; i++) {
		memcpy(vals[i].pubkey, pk[i], PUBKEY_LEN);
		vals[i].power = stakes[i];
		CHECK_EQ_U64(record(i).bond, stakes[i] * UNIT);
	}
	struct bft_valset fixed;
	char err[160];
	CHECK(bft_valset_init(&fixed, vals, 3, err, sizeof(err)) == 0);
	for (uint64_t h = 1; h <= 12; h++) {
		struct bft_valset vs;
		CHECK(validators_set_at(&l, h, &vs) == 0);
		CHECK_EQ_U64(vs.n, 3);
		CHECK_EQ_U64(vs.total, 6);
		CHECK_EQ_U64(vs.proposer, fixed.proposer);
		for (uint32_t i = 0; i < vs.n; i++)
			CHECK_EQ_INT(vs.v[i].priority, fixed.v[i].priority);
		bft_valset_free(&vs);
		bft_valset_step(&fixed);
		empty_blocks(1); /* block h writes the set of h + 2 */
	}
	bft_valset_free(&fixed);
	/* a height beyond tip + 2 is not known */
	struct bft_valset vs;
	CHECK(validators_set_at(&l, height + 3, &vs) == ASSAY_ENOTFOUND);
}

static void test_bond_takes_effect_at_h_plus_2(void)
{
	const uint64_t stakes[1] = {1000};
	world(1, stakes);
	empty_blocks(2);
	uint64_t before = balance(1);
	/* below min_validator_bond: failed, only the fee spent */
	CHECK(!amount_tx(1, TX_VALIDATOR_BOND, params.min_validator_bond - 1));
	CHECK_EQ_U64(balance(1), before - params.min_fee);
	CHECK_EQ_U64(record(1).bond, 0);
	/* more than the balance: not includable at all */
	struct tx t;
	uint8_t p[8];
	le64_put(p, FUNDS);
	make_tx(&t, 1, TX_VALIDATOR_BOND, p, 8);
	struct exec_ctx x;
	struct block_header hd;
	memset(&hd, 0, sizeof(hd));
	hd.height = height + 1;
	exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hd);
	struct receipt rc;
	char err[200];
	CHECK(exec_tx(&x, &t, &rc, err, sizeof(err)) == ASSAY_EBALANCE);
	receipt_free(&rc);
	tx_free(&t);

	before = balance(1);
	uint64_t bond = 2 * params.min_validator_bond;
	CHECK(amount_tx(1, TX_VALIDATOR_BOND, bond));
	uint64_t h = height;
	CHECK_EQ_U64(balance(1), before - bond - params.min_fee);
	CHECK_EQ_U64(record(1).bond, bond);
	CHECK_EQ_U64(power_at(h + 1, 1), 0);
	CHECK_EQ_U64(power_at(h + 2, 1), bond / UNIT);
	/* it entered with priority -1.125 x total, then one step */
	struct bft_valset s1, s2;
	CHECK(validators_set_at(&l, h + 1, &s1) == 0);
	CHECK(validators_set_at(&l, h + 2, &s2) == 0);
	int64_t total = (int64_t)s2.total;
	int at = bft_valset_find(&s2, pk[1]), old = bft_valset_find(&s2, pk[0]);
	CHECK(at >= 0 && old >= 0);
	struct bft_valset want;
	struct bft_validator v[2];
	memcpy(v, s2.v, sizeof(v));
	v[at].priority = -(total + total / 8);
	v[old].priority = s1.v[0].priority;
	want.n = 2;
	want.v = v;
	want.total = s2.total;
	bft_valset_step(&want);
	CHECK_EQ_INT(s2.v[at].priority, want.v[at].priority);
	CHECK_EQ_INT(s2.v[old].priority, want.v[old].priority);
	CHECK_EQ_U64(s2.proposer, want.proposer);
	bft_valset_free(&s1);
	bft_valset_free(&s2);
	/* a second bond adds power from h' + 2 */
	CHECK(amount_tx(1, TX_VALIDATOR_BOND, UNIT));
	CHECK_EQ_U64(power_at(height + 1, 1), bond / UNIT);
	CHECK_EQ_U64(power_at(height + 2, 1), bond / UNIT + 1);
}

static void test_unbond_period_and_release(void)
{
	const uint64_t stakes[2] = {1000, 1000};
	world(2, stakes);
	empty_blocks(2);
	uint64_t before = balance(1);
	CHECK(!amount_tx(1, TX_VALIDATOR_UNBOND, 1000 * UNIT + 1)); /* more than the bond */
	CHECK(!amount_tx(2, TX_VALIDATOR_UNBOND, UNIT));            /* no bond at all */
	CHECK(amount_tx(1, TX_VALIDATOR_UNBOND, 400 * UNIT));
	uint64_t h = height;
	CHECK_EQ_U64(power_at(h + 1, 1), 1000);
	CHECK_EQ_U64(power_at(h + 2, 1), 600);
	struct validator_record r = record(1);
	CHECK_EQ_U64(r.bond, 600 * UNIT);
	CHECK_EQ_U64(r.nunbonding, 1);
	CHECK_EQ_U64(r.unbonding[0].amount, 400 * UNIT);
	CHECK_EQ_U64(r.unbonding[0].release_height, h + params.unbonding_period);
	/* everything else: out of the set at h'' + 2 */
	CHECK(amount_tx(1, TX_VALIDATOR_UNBOND, 600 * UNIT));
	uint64_t h2 = height;
	CHECK_EQ_U64(power_at(h2 + 1, 1), 600);
	CHECK_EQ_U64(power_at(h2 + 2, 1), 0);
	uint64_t fees = 2 * params.min_fee + params.min_fee; /* the refused unbond paid too */
	/* locked until the end of block h + unbonding_period */
	while (height < h + params.unbonding_period - 1)
		empty_blocks(1);
	CHECK_EQ_U64(balance(1), before - fees);
	empty_blocks(1);
	CHECK_EQ_U64(balance(1), before - fees + 400 * UNIT);
	while (height < h2 + params.unbonding_period)
		empty_blocks(1);
	CHECK_EQ_U64(balance(1), before - fees + 1000 * UNIT);
	struct validator_record gone;
	CHECK(validators_get(&l, pk[1], &gone) == ASSAY_ENOTFOUND); /* nothing left: deleted */
}

static void test_never_empty(void)
{
	const uint64_t stakes[1] = {1000};
	world(1, stakes);
	empty_blocks(2);
	/* the last validator equivocating is slashed but stays in */
	CHECK(evidence_tx(1, 0, height));
	CHECK(!record(0).jailed);
	CHECK_EQ_U64(record(0).bond, 950 * UNIT);
	CHECK_EQ_U64(power_at(height + 2, 0), 950);
	CHECK(!amount_tx(0, TX_VALIDATOR_UNBOND, 950 * UNIT)); /* would leave no validator */
	CHECK_EQ_U64(record(0).bond, 950 * UNIT);
	CHECK(amount_tx(0, TX_VALIDATOR_UNBOND, 949 * UNIT)); /* one unit of power stays */
	CHECK_EQ_U64(power_at(height + 2, 0), 1);
	CHECK(!amount_tx(0, TX_VALIDATOR_UNBOND, UNIT / 2)); /* below one unit: out, refused */
	/* a last validator missing every commit is not jailed either */
	int none[1] = {0};
	for (uint32_t i = 0; i < params.downtime_max_missed + 2; i++)
		block(NULL, 0, NULL, none, 0);
	CHECK(!record(0).jailed);
}

static void test_evidence(void)
{
	const uint64_t stakes[3] = {1000, 1000, 1000};
	world(3, stakes);
	empty_blocks(5);
	uint64_t h_ev = height - 1;
	/* stake unbonding when the evidence lands is slashed too */
	CHECK(amount_tx(2, TX_VALIDATOR_UNBOND, 200 * UNIT));
	uint64_t b0 = burned();
	uint64_t before = balance(3);
	CHECK(evidence_tx(3, 2, h_ev)); /* anyone may send it */
	CHECK_EQ_U64(balance(3), before - params.min_fee);
	uint64_t h = height;
	struct validator_record r = record(2);
	uint64_t bond_slash = 800 * UNIT * params.evidence_slash_bps / 10000;
	uint64_t unb_slash = 200 * UNIT * params.evidence_slash_bps / 10000;
	CHECK_EQ_U64(r.bond, 800 * UNIT - bond_slash);
	CHECK_EQ_U64(r.unbonding[0].amount, 200 * UNIT - unb_slash);
	CHECK_EQ_U64(burned() - b0, bond_slash + unb_slash); /* slashed coins are burned */
	CHECK(r.jailed);
	CHECK_EQ_U64(r.jailed_until, h + params.jail_blocks);
	CHECK(power_at(h + 1, 2) > 0); /* jailed from h + 2 */
	CHECK_EQ_U64(power_at(h + 2, 2), 0);
	/* the same evidence again, or other evidence of that height: failed */
	CHECK(!evidence_tx(3, 2, h_ev));
	CHECK_EQ_U64(record(2).bond, 800 * UNIT - bond_slash);
	/* bad signatures */
	struct buf b;
	evidence_of(1, h_ev, &b);
	b.data[b.len - 1] ^= 1;
	CHECK(!one(3, TX_EVIDENCE, b.data, b.len));
	buf_free(&b);
	/* a malformed record is not includable (stateless decode) */
	struct tx t;
	uint8_t junk[5] = {1, 2, 3, 4, 5};
	make_tx(&t, 3, TX_EVIDENCE, junk, sizeof(junk));
	struct exec_ctx x;
	struct block_header hd;
	struct receipt rc;
	char err[200];
	memset(&hd, 0, sizeof(hd));
	hd.height = height + 1;
	exec_ctx_init(&x, &params, &cparams, chain_id, &l, &hd);
	CHECK(exec_tx(&x, &t, &rc, err, sizeof(err)) == ASSAY_EDECODE);
	receipt_free(&rc);
	tx_free(&t);
	/* an offender that was no validator at that height */
	CHECK(!evidence_tx(0, 3, h_ev));
	/* a future height */
	CHECK(!evidence_tx(0, 1, height + 5));
	/* too old: more than evidence_max_age behind */
	uint64_t old = height;
	while (height < old + params.evidence_max_age + 1)
		empty_blocks(1);
	CHECK(!evidence_tx(0, 1, old));
	CHECK(!record(1).jailed);
	/* within the age: accepted */
	CHECK(evidence_tx(0, 1, height - 2));
	CHECK(record(1).jailed);
}

static void test_downtime_and_unjail(void)
{
	const uint64_t stakes[3] = {1000, 1000, 1000};
	world(3, stakes);
	empty_blocks(2);
	int signers[2] = {0, 1}; /* key 2 never signs */
	uint32_t limit = params.downtime_max_missed;
	for (uint32_t i = 0; i < limit; i++)
		block(NULL, 0, NULL, signers, 2);
	CHECK(!record(2).jailed); /* exactly the limit missed: still in */
	/* signing once clears one miss from the window only when the window wraps;
	 * one more miss jails */
	block(NULL, 0, NULL, signers, 2);
	struct validator_record r = record(2);
	CHECK(r.jailed);
	CHECK_EQ_U64(r.bond, 1000 * UNIT); /* no slash */
	uint64_t h = height;
	CHECK(power_at(h + 1, 2) > 0);
	CHECK_EQ_U64(power_at(h + 2, 2), 0);
	/* unjail: not before jail_blocks */
	CHECK(!one(2, TX_VALIDATOR_UNJAIL, NULL, 0));
	CHECK(!one(1, TX_VALIDATOR_UNJAIL, NULL, 0)); /* not jailed */
	while (height + 1 < h + params.jail_blocks)
		empty_blocks(1);
	CHECK(one(2, TX_VALIDATOR_UNJAIL, NULL, 0));
	CHECK(!record(2).jailed);
	CHECK_EQ_U64(power_at(height + 1, 2), 0);
	CHECK_EQ_U64(power_at(height + 2, 2), 1000);
	/* a payload is malformed */
	uint8_t x = 0;
	struct tx t;
	make_tx(&t, 2, TX_VALIDATOR_UNJAIL, &x, 1);
	struct exec_ctx xc;
	struct block_header hd;
	struct receipt rc;
	char err[200];
	memset(&hd, 0, sizeof(hd));
	hd.height = height + 1;
	exec_ctx_init(&xc, &params, &cparams, chain_id, &l, &hd);
	CHECK(exec_tx(&xc, &t, &rc, err, sizeof(err)) == ASSAY_EDECODE);
	receipt_free(&rc);
	tx_free(&t);
}

static void test_unjail_needs_min_bond(void)
{
	const uint64_t stakes[3] = {1000, 1000, 1000};
	world(3, stakes);
	empty_blocks(3);
	CHECK(evidence_tx(0, 2, height)); /* jailed, 5% slashed: 950 ASY left */
	uint64_t h = height;
	while (height + 1 < h + params.jail_blocks)
		empty_blocks(1);
	CHECK(!one(2, TX_VALIDATOR_UNJAIL, NULL, 0)); /* 950 < min_validator_bond (1000) */
	CHECK(record(2).jailed);
	CHECK(amount_tx(2, TX_VALIDATOR_BOND, 50 * UNIT)); /* a jailed validator may top up */
	CHECK(one(2, TX_VALIDATOR_UNJAIL, NULL, 0));
	CHECK_EQ_U64(power_at(height + 2, 2), 1000);
}

/* An unbond and a bond in one block never leave the set, so they keep the
 * downtime window: the next miss past the limit jails. */
static void test_rebond_keeps_window(void)
{
	const uint64_t stakes[3] = {1000, 1000, 1000};
	world(3, stakes);
	empty_blocks(2);
	int signers[2] = {0, 1}; /* key 2 never signs */
	for (uint32_t i = 0; i < params.downtime_max_missed; i++)
		block(NULL, 0, NULL, signers, 2);
	CHECK(!record(2).jailed);
	struct tx txs[2];
	uint8_t p[8];
	le64_put(p, 1000 * UNIT);
	make_tx(&txs[0], 2, TX_VALIDATOR_UNBOND, p, sizeof(p));
	nonce[2]++;
	make_tx(&txs[1], 2, TX_VALIDATOR_BOND, p, sizeof(p));
	nonce[2]--; /* block() counts both */
	int ok[2];
	block(txs, 2, ok, signers, 2);
	CHECK(ok[0] && ok[1]);
	CHECK(record(2).jailed); /* the block's own miss is one past the limit */
}

/* A validator that left the set and comes back starts with a clean window;
 * a jailed record with no stake left is deleted once it could be unjailed. */
static void test_entry_clears_window_and_spent_records_go(void)
{
	const uint64_t stakes[3] = {1000, 1000, 1000};
	world(3, stakes);
	empty_blocks(2);
	int signers[2] = {0, 1};
	for (uint32_t i = 0; i < params.downtime_max_missed; i++)
		block(NULL, 0, NULL, signers, 2);
	CHECK(amount_tx(2, TX_VALIDATOR_UNBOND, 1000 * UNIT)); /* out from h + 2 */
	CHECK(record(2).missed_bytes > 0);
	empty_blocks(3);
	CHECK_EQ_U64(power_at(height + 1, 2), 0);
	CHECK(record(2).missed_bytes > 0); /* not a member: nothing asked of it */
	CHECK(amount_tx(2, TX_VALIDATOR_BOND, 1000 * UNIT));
	CHECK_EQ_U64(power_at(height + 2, 2), 1000);
	CHECK_EQ_U64(record(2).missed_bytes, 0); /* cleared as it enters */
	block(NULL, 0, NULL, signers, 2);
	block(NULL, 0, NULL, signers, 2);
	CHECK(!record(2).jailed);

	/* key 1 is jailed by evidence and unbonds everything it has left */
	CHECK(evidence_tx(0, 1, height));
	uint64_t until = record(1).jailed_until;
	CHECK(amount_tx(1, TX_VALIDATOR_UNBOND, record(1).bond));
	uint64_t release = record(1).unbonding[record(1).nunbonding - 1].release_height;
	uint64_t gone = release > until ? release : until;
	while (height + 1 < gone)
		empty_blocks(1);
	CHECK(record(1).jailed); /* still something to hold */
	uint8_t *pks;
	size_t n;
	CHECK(validators_list(&l, &pks, &n) == 0);
	free(pks);
	empty_blocks(1);
	struct validator_record r;
	CHECK_EQ_INT(validators_get(&l, pk[1], &r), ASSAY_ENOTFOUND);
	size_t after;
	CHECK(validators_list(&l, &pks, &after) == 0);
	free(pks);
	CHECK_EQ_U64(after, n - 1);
	/* a new bond starts a fresh record, at min_validator_bond */
	CHECK(!amount_tx(1, TX_VALIDATOR_BOND, 10 * UNIT));
	CHECK(amount_tx(1, TX_VALIDATOR_BOND, 1000 * UNIT));
	CHECK_EQ_U64(power_at(height + 2, 1), 1000);
}

/* Reads and writes of the record index, counted by a ledger in front of
 * the test's. */
static struct ledger_ops counting_ops;
static const struct ledger_ops *inner_ops;
static uint8_t index_key[HASH_LEN];
static int index_reads, index_writes;

static int counting_get(void *ctx, const uint8_t key[HASH_LEN], uint8_t **val, size_t *len)
{
	index_reads += memcmp(key, index_key, HASH_LEN) == 0;
	return inner_ops->get(ctx, key, val, len);
}

static int counting_get_into(void *ctx, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len)
{
	index_reads += memcmp(key, index_key, HASH_LEN) == 0;
	return inner_ops->get_into(ctx, key, buf, cap, len);
}

static int counting_put(void *ctx, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	index_writes += memcmp(key, index_key, HASH_LEN) == 0;
	return inner_ops->put(ctx, key, val, len);
}

static int counting_del(void *ctx, const uint8_t key[HASH_LEN])
{
	index_writes += memcmp(key, index_key, HASH_LEN) == 0;
	return inner_ops->del(ctx, key);
}

/* The index (up to 30000 keys, read and copied whole) is read once per
 * block, by the end of block's one pass over the records (unbonding
 * released and the next set gathered together), and by a record's write
 * only when the record comes or goes: not when one that stays is written
 * (a bond on it, an unbond that leaves it, its unbonding released). The
 * records and sets are the same either way (the other cases check them). */
static void test_index_read_once_per_block(void)
{
	const uint64_t stakes[2] = {1000, 1000};
	world(2, stakes);
	static const char name[] = "validators/index";
	state_key(NS_META, name, strlen(name), index_key);
	inner_ops = l.ops;
	counting_ops = *l.ops;
	counting_ops.get = counting_get;
	counting_ops.get_into = inner_ops->get_into ? counting_get_into : NULL;
	counting_ops.put = counting_put;
	counting_ops.del = counting_del;
	l.ops = &counting_ops;
	index_reads = index_writes = 0;
	empty_blocks(3);
	CHECK_EQ_INT(index_reads, 3);
	index_reads = 0;
	CHECK(amount_tx(0, TX_VALIDATOR_BOND, UNIT)); /* an existing record, more bond */
	CHECK_EQ_INT(index_reads, 1);
	CHECK(amount_tx(1, TX_VALIDATOR_UNBOND, UNIT)); /* still bonded: counts the set once */
	index_reads = 0;
	empty_blocks((int)params.unbonding_period + 2); /* the unbonding released */
	CHECK_EQ_U64(record(1).nunbonding, 0);
	CHECK_EQ_INT(index_reads, (int)params.unbonding_period + 2);
	CHECK_EQ_INT(index_writes, 0);
	CHECK(amount_tx(2, TX_VALIDATOR_BOND, params.min_validator_bond)); /* a new record */
	CHECK_EQ_INT(index_writes, 1);
	uint8_t *pks;
	size_t n;
	CHECK(validators_list(&l, &pks, &n) == 0);
	CHECK_EQ_U64(n, 3);
	free(pks);
	l.ops = inner_ops;
}

int main(void)
{
	chain_params_default(&params, 1);
	params.unbonding_period = 12;
	params.evidence_max_age = 10;
	params.jail_blocks = 6;
	params.downtime_window = 10;
	params.downtime_max_missed = 4;
	compute_params_default(&cparams);
	memset(chain_id, 0xc1, HASH_LEN);
	for (int i = 0; i < NKEYS; i++) {
		uint8_t seed[SEED_LEN];
		memset(seed, 0x40 + i, sizeof(seed));
		key_from_seed(seed, pk[i], sk[i]);
		address_from_pubkey(pk[i], addr[i]);
	}
	RUN(test_genesis_compatible);
	RUN(test_bond_takes_effect_at_h_plus_2);
	RUN(test_unbond_period_and_release);
	RUN(test_never_empty);
	RUN(test_evidence);
	RUN(test_downtime_and_unjail);
	RUN(test_unjail_needs_min_bond);
	RUN(test_rebond_keeps_window);
	RUN(test_entry_clears_window_and_spent_records_go);
	RUN(test_index_read_once_per_block);
	ledger_mem_free(mem);
	return test_report("test_validators");
}

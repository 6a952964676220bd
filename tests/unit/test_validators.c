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

/* Reads and writes of the record index (its legacy value and its record
 * count), and the bytes of every read and write, counted by a ledger in
 * front of the test's. */
static struct ledger_ops counting_ops;
static const struct ledger_ops *inner_ops;
static uint8_t index_keys[2][HASH_LEN];
static int index_reads, index_writes;
static long ledger_reads; /* every get */
static long ledger_bytes; /* key and value bytes of every get, put and del */

static int is_index_key(const uint8_t key[HASH_LEN])
{
	return memcmp(key, index_keys[0], HASH_LEN) == 0 || memcmp(key, index_keys[1], HASH_LEN) == 0;
}

static int counting_get(void *ctx, const uint8_t key[HASH_LEN], uint8_t **val, size_t *len)
{
	index_reads += is_index_key(key);
	ledger_reads++;
	int rc = inner_ops->get(ctx, key, val, len);
	ledger_bytes += HASH_LEN + (rc ? 0 : (long)*len);
	return rc;
}

static int counting_get_into(void *ctx, const uint8_t key[HASH_LEN], uint8_t *buf, size_t cap, size_t *len)
{
	index_reads += is_index_key(key);
	ledger_reads++;
	int rc = inner_ops->get_into(ctx, key, buf, cap, len);
	ledger_bytes += HASH_LEN + (rc ? 0 : (long)*len);
	return rc;
}

static int counting_put(void *ctx, const uint8_t key[HASH_LEN], const uint8_t *val, size_t len)
{
	index_writes += is_index_key(key);
	ledger_bytes += HASH_LEN + (long)len;
	return inner_ops->put(ctx, key, val, len);
}

static int counting_del(void *ctx, const uint8_t key[HASH_LEN])
{
	index_writes += is_index_key(key);
	ledger_bytes += HASH_LEN;
	return inner_ops->del(ctx, key);
}

static void counting_on(void)
{
	static const char legacy[] = "validators/index", records[] = "validators/records";
	state_key(NS_META, legacy, strlen(legacy), index_keys[0]);
	state_key(NS_META, records, strlen(records), index_keys[1]);
	inner_ops = l.ops;
	counting_ops = *l.ops;
	counting_ops.get = counting_get;
	counting_ops.get_into = inner_ops->get_into ? counting_get_into : NULL;
	counting_ops.put = counting_put;
	counting_ops.del = counting_del;
	l.ops = &counting_ops;
}

/* The index (up to 30000 keys, read and copied whole) is not read by the
 * end of block, which looks only at the records due at its height
 * (protocol §10.4), nor by a record's write unless the record comes or goes
 * or, before the active count is first written, changes whether it is
 * active. The records and sets are the same either way (the other cases
 * check them). */
static void test_index_not_read_per_block(void)
{
	const uint64_t stakes[2] = {1000, 1000};
	world(2, stakes);
	counting_on();
	index_reads = index_writes = 0;
	empty_blocks(3);
	CHECK_EQ_INT(index_reads, 0);
	CHECK(amount_tx(0, TX_VALIDATOR_BOND, UNIT));   /* an existing record, more bond */
	CHECK(amount_tx(1, TX_VALIDATOR_UNBOND, UNIT)); /* still bonded */
	empty_blocks((int)params.unbonding_period + 2); /* the unbonding released */
	CHECK_EQ_U64(record(1).nunbonding, 0);
	/* until the active count is first written, its absence reads as the
	 * (genesis-sized) legacy index's length: once per block with changes,
	 * the record count's absence saying the index is in that form */
	CHECK_EQ_INT(index_reads, 6);
	CHECK_EQ_INT(index_writes, 0);
	CHECK(amount_tx(2, TX_VALIDATOR_BOND, params.min_validator_bond)); /* a new record */
	CHECK_EQ_INT(index_writes, 2); /* moved into slots: legacy value deleted, count written */
	index_reads = 0;
	CHECK(amount_tx(0, TX_VALIDATOR_BOND, UNIT));
	CHECK(amount_tx(2, TX_VALIDATOR_UNBOND, UNIT));
	empty_blocks((int)params.unbonding_period + 2);
	CHECK_EQ_U64(record(2).nunbonding, 0);
	CHECK_EQ_INT(index_reads, 0);
	uint8_t *pks;
	size_t n;
	CHECK(validators_list(&l, &pks, &n) == 0);
	CHECK_EQ_U64(n, 3);
	free(pks);
	l.ops = inner_ops;
}

/* ---- many records, through the functions themselves ---- */

static uint8_t bulk_pk(uint32_t i, uint8_t out[PUBKEY_LEN])
{
	memset(out, 0, PUBKEY_LEN);
	out[0] = 0x80 | (uint8_t)(i >> 16); /* apart from the real keys' */
	out[1] = (uint8_t)(i >> 8);
	out[2] = (uint8_t)i;
	out[31] = 0x5a;
	return out[0];
}

static struct validators_ctx ctx_at(uint64_t h)
{
	return (struct validators_ctx){&l, &params, chain_id, h};
}

/* One call of a kind's effect as exec does it: undone unless it succeeds;
 * a local failure fails the test. 1: it succeeded. */
#define APPLY(call)                                 \
	({                                          \
		size_t snap_ = ledger_snapshot(&l); \
		char msg[200];                      \
		(void)msg;                          \
		int rc_ = (call);                   \
		CHECK(!assay_err_is_local(rc_));    \
		if (rc_)                            \
			ledger_revert(&l, snap_);   \
		rc_ == 0;                           \
	})

static void bond_bulk(uint64_t h, uint32_t i, uint64_t amount)
{
	uint8_t bpk[PUBKEY_LEN], baddr[ADDR_LEN], bkey[HASH_LEN];
	struct validators_ctx vc = ctx_at(h);
	bulk_pk(i, bpk);
	address_from_pubkey(bpk, baddr);
	state_key(NS_ACCOUNT, baddr, ADDR_LEN, bkey);
	CHECK(ledger_credit(&l, baddr, amount) == 0);
	CHECK(APPLY(validators_apply_bond(&vc, bpk, bkey, amount, msg, sizeof(msg))));
}

static void end_at(uint64_t h, const struct commit *cm)
{
	struct validators_ctx vc = ctx_at(h);
	char err[200];
	CHECK_EQ_INT(validators_end_block(&vc, cm, err, sizeof(err)), 0);
}

/* A chain with nbulk bonded records beside genesis keys 0 (power 5000) and
 * 1 (1000), at height 3 with the bonds in its sets. */
static void bulk_world(uint32_t nbulk)
{
	const uint64_t stakes[2] = {5000, 1000};
	world(2, stakes);
	for (uint32_t i = 0; i < nbulk; i++)
		bond_bulk(1, i, 1000 * UNIT);
	end_at(1, NULL);
	end_at(2, NULL);
	end_at(3, NULL);
}

/* The end of block reads what changed and the set, not every record: the
 * same reads with 20 records as with 2000 (more than BFT_MAX_VALIDATORS),
 * in a block without changes, one with an unbond and the one releasing it.
 * (Downtime, which reads each member of the set, is left out here.) */
static void test_reads_do_not_grow_with_records(void)
{
	static const uint32_t sizes[2] = {20, 2000};
	long reads[2][3];
	for (int s = 0; s < 2; s++) {
		bulk_world(sizes[s]);
		counting_on();
		uint64_t h = 4;
		ledger_reads = 0;
		end_at(h++, NULL);
		reads[s][0] = ledger_reads;
		struct validators_ctx vc = ctx_at(h);
		CHECK(APPLY(validators_apply_unbond(&vc, pk[0], UNIT, msg, sizeof(msg))));
		ledger_reads = 0;
		end_at(h++, NULL);
		reads[s][1] = ledger_reads;
		while (h < 5 + params.unbonding_period)
			end_at(h++, NULL);
		uint64_t before = balance(0);
		ledger_reads = 0;
		end_at(h++, NULL);
		reads[s][2] = ledger_reads;
		CHECK_EQ_U64(balance(0), before + UNIT);
		l.ops = inner_ops;
	}
	for (int k = 0; k < 3; k++) {
		CHECK_EQ_U64((uint64_t)reads[1][k], (uint64_t)reads[0][k]);
		CHECK(reads[1][k] < 40);
	}
}

/* A record coming or going costs the same few small reads and writes with
 * 200 records as with 5000 (protocol §10.2): the index is not read and
 * rewritten whole, which let one block of bonds, or the end of one block
 * releasing many unbonded records, copy gigabytes. The bulk keys share
 * their first bytes, as keys ground for it would, so an index bucketed by
 * key prefix fails too. Added: the bond of a new record. Removed: an end of
 * block deleting NGONE records whose whole bonds were unbonded, less the
 * end of a block before it without changes. */
static void test_index_change_cost_does_not_grow(void)
{
	enum { NGONE = 20 };
	static const uint32_t sizes[2] = {200, 5000};
	long added[2], removed[2];
	for (int s = 0; s < 2; s++) {
		bulk_world(sizes[s]);
		counting_on();
		uint64_t h = 4;
		ledger_bytes = 0;
		bond_bulk(h, sizes[s], 1000 * UNIT);
		added[s] = ledger_bytes;
		struct validators_ctx vc = ctx_at(h);
		for (uint32_t i = 0; i < NGONE; i++) {
			uint8_t bpk[PUBKEY_LEN];
			bulk_pk(i, bpk);
			CHECK(APPLY(validators_apply_unbond(&vc, bpk, 1000 * UNIT, msg, sizeof(msg))));
		}
		while (h < 3 + params.unbonding_period)
			end_at(h++, NULL);
		ledger_bytes = 0;
		end_at(h++, NULL);
		long plain = ledger_bytes;
		uint8_t *pks;
		size_t before, after;
		CHECK(validators_list(&l, &pks, &before) == 0);
		free(pks);
		ledger_bytes = 0;
		end_at(h++, NULL); /* h = 4 + unbonding_period: the releases */
		removed[s] = (ledger_bytes - plain) / NGONE;
		CHECK(validators_list(&l, &pks, &after) == 0);
		free(pks);
		CHECK_EQ_U64(after, before - NGONE);
		l.ops = inner_ops;
		fprintf(stderr, "  %u records: %ld bytes per record added, %ld per record removed\n",
			sizes[s], added[s], removed[s]);
	}
	/* the whole index at 5000 records is 160 KB, read and written */
	CHECK(added[1] <= added[0] + added[0] / 4);
	CHECK(removed[1] <= removed[0] + removed[0] / 4);
	CHECK(added[1] < 2048);
	CHECK(removed[1] < 2048);
}

/* The reference: what the rules of §10.4 say from a full scan of the
 * records, as the end of block computed it before the due-height index. */
struct snap_rec {
	uint8_t pk[PUBKEY_LEN];
	struct validator_record r;
	uint64_t balance;
};

static size_t scan_all(struct snap_rec **out)
{
	uint8_t *pks;
	size_t n;
	CHECK(validators_list(&l, &pks, &n) == 0);
	struct snap_rec *v = calloc(n ? n : 1, sizeof(*v));
	CHECK(v != NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t a[ADDR_LEN];
		struct account acc;
		memcpy(v[i].pk, pks + i * PUBKEY_LEN, PUBKEY_LEN);
		CHECK(validators_get(&l, v[i].pk, &v[i].r) == 0);
		address_from_pubkey(v[i].pk, a);
		CHECK(ledger_get_account(&l, a, &acc) == 0);
		v[i].balance = acc.balance;
	}
	free(pks);
	*out = v;
	return n;
}

static int power_desc(const void *a, const void *b)
{
	const struct bft_validator *x = a, *y = b;
	if (x->power != y->power)
		return x->power > y->power ? -1 : 1;
	return memcmp(x->pubkey, y->pubkey, PUBKEY_LEN);
}

static int by_pubkey_ref(const void *a, const void *b)
{
	return memcmp(((const struct bft_validator *)a)->pubkey, ((const struct bft_validator *)b)->pubkey,
		      PUBKEY_LEN);
}

/* After the end of block h: every record compared with its state before
 * it (releases credited, spent ones gone), and S_{h+2}'s members and
 * powers with W from a full scan. */
static void check_against_reference(uint64_t h, const struct snap_rec *pre, size_t npre)
{
	struct snap_rec *post;
	size_t npost = scan_all(&post), j = 0;
	for (size_t i = 0; i < npre; i++) {
		const struct validator_record *a = &pre[i].r;
		uint64_t due = 0;
		uint32_t kept = 0;
		for (uint32_t e = 0; e < a->nunbonding; e++)
			if (a->unbonding[e].release_height <= h)
				due += a->unbonding[e].amount;
			else
				kept++;
		int gone = j == npost || memcmp(post[j].pk, pre[i].pk, PUBKEY_LEN) != 0;
		int spent = a->bond == 0 && kept == 0 && (!a->jailed || h >= a->jailed_until);
		CHECK_EQ_INT(gone, spent);
		uint8_t ad[ADDR_LEN];
		struct account acc;
		address_from_pubkey(pre[i].pk, ad);
		CHECK(ledger_get_account(&l, ad, &acc) == 0);
		CHECK_EQ_U64(acc.balance, pre[i].balance + due);
		if (gone)
			continue;
		const struct validator_record *b = &post[j++].r;
		CHECK_EQ_U64(b->bond, a->bond);
		CHECK_EQ_U64(b->nunbonding, kept);
		for (uint32_t e = 0, f = 0; e < a->nunbonding; e++)
			if (a->unbonding[e].release_height > h) {
				CHECK_EQ_U64(b->unbonding[f].amount, a->unbonding[e].amount);
				CHECK_EQ_U64(b->unbonding[f++].release_height,
					     a->unbonding[e].release_height);
			}
		CHECK(!(b->jailed && b->bond == 0 && b->nunbonding == 0 && h >= b->jailed_until));
	}
	CHECK_EQ_U64(j, npost); /* no record appeared */
	struct bft_validator *w = calloc(npost ? npost : 1, sizeof(*w));
	size_t k = 0;
	for (size_t i = 0; i < npost; i++)
		if (!post[i].r.jailed && post[i].r.bond >= UNIT) {
			memcpy(w[k].pubkey, post[i].pk, PUBKEY_LEN);
			w[k++].power = post[i].r.bond / UNIT;
		}
	struct bft_valset cur, next;
	CHECK(validators_set_at(&l, h + 1, &cur) == 0);
	CHECK(validators_set_at(&l, h + 2, &next) == 0);
	if (k == 0) { /* W empty: the set kept */
		CHECK_EQ_U64(next.n, cur.n);
		for (uint32_t i = 0; i < next.n && i < cur.n; i++)
			CHECK(memcmp(next.v[i].pubkey, cur.v[i].pubkey, PUBKEY_LEN) == 0);
	} else {
		if (k > BFT_MAX_VALIDATORS) {
			qsort(w, k, sizeof(*w), power_desc);
			k = BFT_MAX_VALIDATORS;
			qsort(w, k, sizeof(*w), by_pubkey_ref);
		}
		CHECK_EQ_U64(next.n, k);
		for (uint32_t i = 0; i < next.n && i < k; i++) {
			CHECK(memcmp(next.v[i].pubkey, w[i].pubkey, PUBKEY_LEN) == 0);
			CHECK_EQ_U64(next.v[i].power, w[i].power);
		}
	}
	bft_valset_free(&cur);
	bft_valset_free(&next);
	free(w);
	free(post);
}

static int by_key_ref(const void *a, const void *b)
{
	return memcmp(a, b, PUBKEY_LEN);
}

/* validators_list against the records themselves: every key with a record,
 * of the real keys and the first nbulk bulk ones, ascending. */
static void check_list(uint32_t nbulk)
{
	uint8_t *want = malloc(((size_t)NKEYS + nbulk) * PUBKEY_LEN), *pks;
	size_t k = 0, n;
	CHECK(want != NULL);
	for (uint32_t i = 0; i < NKEYS + nbulk; i++) {
		uint8_t key[PUBKEY_LEN];
		struct validator_record r;
		if (i < NKEYS)
			memcpy(key, pk[i], PUBKEY_LEN);
		else
			bulk_pk(i - NKEYS, key);
		int rc = validators_get(&l, key, &r);
		CHECK(rc == 0 || rc == ASSAY_ENOTFOUND);
		if (rc == 0)
			memcpy(want + k++ * PUBKEY_LEN, key, PUBKEY_LEN);
	}
	qsort(want, k, PUBKEY_LEN, by_key_ref);
	CHECK(validators_list(&l, &pks, &n) == 0);
	CHECK_EQ_U64(n, k);
	CHECK(n != k || n == 0 || memcmp(pks, want, n * PUBKEY_LEN) == 0);
	free(pks);
	free(want);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Randomized bonds, unbonds (partial, whole, up to VALIDATOR_MAX_UNBONDING
 * entries), evidence, downtime, unjails and new records over many blocks
 * and more active records than BFT_MAX_VALIDATORS, with ties in power: each
 * end of block against the full-scan reference. */
static void test_incremental_matches_full_scan(void)
{
	const uint32_t nbulk = 1100;
	const uint64_t stakes[NKEYS] = {1000, 1000, 1000, 1000};
	world(NKEYS, stakes);
	check_list(0); /* the index in its genesis form */
	for (uint32_t i = 0; i < nbulk; i++) {
		bond_bulk(1, i, (1000 + rnd(3)) * UNIT);
		if (i == 0)
			check_list(1); /* moved into its slots */
	}
	uint32_t next_bulk = nbulk;
	int failed_before = test_failed;
	struct commit_sig *sigs = calloc(BFT_MAX_VALIDATORS, sizeof(*sigs));
	CHECK(sigs != NULL);
	for (uint64_t h = 1; h <= 160; h++) {
		struct validators_ctx vc = ctx_at(h);
		uint32_t nops = rnd(8);
		for (uint32_t o = 0; o < nops; o++) {
			uint32_t kind = rnd(7), i = rnd(next_bulk);
			uint8_t bpk[PUBKEY_LEN], bkey[HASH_LEN], baddr[ADDR_LEN];
			const uint8_t *who = bpk;
			int real = rnd(4) == 0;
			int ki = (int)rnd(NKEYS);
			if (real)
				who = pk[ki];
			else
				bulk_pk(i, bpk);
			address_from_pubkey(who, baddr);
			state_key(NS_ACCOUNT, baddr, ADDR_LEN, bkey);
			struct validator_record r;
			validators_get(&l, who, &r);
			uint64_t amount = (1 + rnd(3)) * UNIT;
			switch (kind) {
			case 0: /* bond, maybe enough to come back */
				CHECK(ledger_credit(&l, baddr, 2000 * UNIT) == 0);
				APPLY(validators_apply_bond(&vc, who, bkey, rnd(2) ? amount : 1000 * UNIT,
							    msg, sizeof(msg)));
				break;
			case 1: /* unbond some */
				APPLY(validators_apply_unbond(&vc, who, amount, msg, sizeof(msg)));
				break;
			case 2: /* unbond the whole bond */
				if (r.bond)
					APPLY(validators_apply_unbond(&vc, who, r.bond, msg, sizeof(msg)));
				break;
			case 3: /* evidence against a real key */
				if (h > 2) {
					struct buf b;
					struct bft_evidence ev;
					evidence_of(ki, h - 1 - rnd(2), &b);
					CHECK(bft_evidence_decode(&ev, b.data, b.len) == 0);
					APPLY(validators_apply_evidence(&vc, &ev, msg, sizeof(msg), msg,
									sizeof(msg)));
					buf_free(&b);
				}
				break;
			case 4:
				APPLY(validators_apply_unjail(&vc, who, msg, sizeof(msg)));
				break;
			case 5: /* a new record */
				bond_bulk(h, next_bulk++, (1000 + rnd(2)) * UNIT);
				break;
			default: /* the same key unbonds every block up to the entry limit */
				vc.height = h;
				APPLY(validators_apply_unbond(&vc, pk[3], UNIT / 2, msg, sizeof(msg)));
				break;
			}
		}
		/* the commit of h - 1: every member but a lazy few */
		struct commit cm;
		memset(&cm, 0, sizeof(cm));
		cm.height = h - 1;
		cm.sigs = sigs;
		struct bft_valset prev;
		if (h >= 2 && validators_set_at(&l, h - 1, &prev) == 0) {
			for (uint32_t i = 0; i < prev.n; i++)
				if (prev.v[i].pubkey[2] % 37 != (h / 40) % 37 &&
				    memcmp(prev.v[i].pubkey, pk[1], 8))
					memcpy(sigs[cm.nsigs++].validator, prev.v[i].pubkey, PUBKEY_LEN);
			bft_valset_free(&prev);
		}
		struct snap_rec *pre;
		size_t npre = scan_all(&pre);
		end_at(h, &cm);
		check_against_reference(h, pre, npre);
		check_list(next_bulk);
		free(pre);
		if (h % 40 == 0)
			fprintf(stderr, "  height %llu: %zu records\n", (unsigned long long)h, npre);
		if (test_failed > failed_before)
			break; /* the first block that differs says it */
	}
	free(sigs);
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
	RUN(test_index_not_read_per_block);
	RUN(test_reads_do_not_grow_with_records);
	RUN(test_index_change_cost_does_not_grow);
	RUN(test_incremental_matches_full_scan);
	ledger_mem_free(mem);
	return test_report("test_validators");
}

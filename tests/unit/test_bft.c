/* Tests of consensus/bft: the validator set's proposer priority against
 * sequences worked by hand, the message codecs and each malformed form, vote
 * sets and evidence, each upon-rule of the engine in isolation, a
 * one-validator chain, and a seeded simulation of 4-7 validators over a lossy,
 * reordering network with equivocating validators (safety and liveness), and
 * with too many of them (a fork, caught as evidence). By hand:
 * ASSAY_BFT_SEEDS=N runs N seeds (default 1000), ASSAY_BFT_SEED=S only seed
 * S, ASSAY_BFT_DEBUG=1 prints each node's end state, ASSAY_BFT_TRACE=I what
 * node I receives and outputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/bft/bft.h"
#include "core/error.h"
#include "tests/unit/bft_fixture.h"
#include "test.h"

static const uint8_t CHAIN[HASH_LEN] = {0xc4, 0xa1};

/* ---- signing as a test validator (keys and signatures: bft_fixture.h) ---- */

static void sign_vote_as(uint32_t i, struct bft_vote *v)
{
	test_sign_vote(CHAIN, i, v);
}

static void sign_proposal_as(uint32_t i, struct bft_proposal *p)
{
	test_sign_proposal(CHAIN, i, p);
}

static struct bft_vote mk_vote(uint8_t type, uint64_t height, uint32_t round, const uint8_t *value, uint32_t who)
{
	return test_vote(CHAIN, type, height, round, value, who);
}

static struct bft_proposal mk_prop(uint64_t height, uint32_t round, uint32_t pol, const uint8_t *value, uint32_t who)
{
	return test_proposal(CHAIN, height, round, pol, value, who);
}

static void make_valset(struct bft_valset *vs, uint32_t n, const uint64_t *powers)
{
	struct bft_validator *v = calloc(n ? n : 1, sizeof(*v));
	CHECK(v != NULL);
	for (uint32_t i = 0; v && i < n; i++) {
		test_key(i, v[i].pubkey);
		v[i].power = powers ? powers[i] : 1;
	}
	char err[128];
	int rc = v ? bft_valset_init(vs, v, n, err, sizeof(err)) : -1;
	CHECK(rc == 0);
	free(v);
}

/* ---- validator set and proposer priority ---- */

static void test_valset_priority_123(void)
{
	/* Powers 1, 2, 3 (A < B < C), total 6, worked by hand: each step adds
	 * the power, the highest (ties: lower key) proposes and loses 6.
	 *   init (0,0,0)   -> (1,2,3)  C -> (1,2,-3)
	 *   (2,4,0)  B -> (2,-2,0)      (3,0,3) tie A,C: A -> (-3,0,3)
	 *   (-2,2,6) C -> (-2,2,0)      (-1,4,3) B -> (-1,-2,3)
	 *   (0,0,6)  C -> (0,0,0)       and again from the start. */
	uint64_t powers[3] = {1, 2, 3};
	struct bft_valset vs;
	make_valset(&vs, 3, powers);
	const uint32_t want[12] = {2, 1, 0, 2, 1, 2, 2, 1, 0, 2, 1, 2};
	const int64_t prio_after[6][3] = {{1, 2, -3}, {2, -2, 0}, {-3, 0, 3}, {-2, 2, 0}, {-1, -2, 3}, {0, 0, 0}};
	for (int i = 0; i < 12; i++) {
		if (i > 0)
			bft_valset_step(&vs);
		CHECK(vs.proposer == want[i]);
		if (i < 6)
			for (int j = 0; j < 3; j++)
				CHECK(vs.v[j].priority == prio_after[i][j]);
	}
	bft_valset_free(&vs);
}

static void test_valset_equal_and_order(void)
{
	/* Keys given out of order are sorted; equal powers rotate in key order. */
	struct bft_validator v[4];
	memset(v, 0, sizeof(v));
	for (uint32_t i = 0; i < 4; i++) {
		test_key(3 - i, v[i].pubkey);
		v[i].power = 5;
	}
	struct bft_valset vs;
	CHECK(bft_valset_init(&vs, v, 4, NULL, 0) == 0);
	CHECK(vs.total == 20);
	for (uint32_t i = 0; i < 8; i++) {
		if (i > 0)
			bft_valset_step(&vs);
		CHECK(vs.proposer == i % 4);
	}
	uint8_t pk[PUBKEY_LEN];
	test_key(2, pk);
	CHECK(bft_valset_find(&vs, pk) == 2);
	pk[5] = 1;
	CHECK(bft_valset_find(&vs, pk) == -1);
	bft_valset_free(&vs);
}

static void test_valset_rescale_and_centre(void)
{
	uint64_t powers[2] = {1, 1};
	struct bft_valset vs;
	make_valset(&vs, 2, powers);
	/* (10,-30): diff 40 > window 2x2 = 4, ratio ceil(40/4) = 10 -> (1,-3);
	 * sum -2, floor(-2/2) = -1 -> (2,-2); + power -> (3,-1); A -> (1,-1). */
	vs.v[0].priority = 10;
	vs.v[1].priority = -30;
	bft_valset_step(&vs);
	CHECK(vs.proposer == 0);
	CHECK(vs.v[0].priority == 1 && vs.v[1].priority == -1);
	/* (0,-3): no rescale (3 <= 4); floor(-3/2) = -2 -> (2,-1); -> (3,0); A -> (1,0). */
	vs.v[0].priority = 0;
	vs.v[1].priority = -3;
	bft_valset_step(&vs);
	CHECK(vs.proposer == 0);
	CHECK(vs.v[0].priority == 1 && vs.v[1].priority == 0);
	/* (-7,9): diff 16 > 4, ratio 4 -> (-1,2) (truncation toward zero);
	 * floor(1/2) = 0; -> (0,3); B -> (0,1). */
	vs.v[0].priority = -7;
	vs.v[1].priority = 9;
	bft_valset_step(&vs);
	CHECK(vs.proposer == 1);
	CHECK(vs.v[0].priority == 0 && vs.v[1].priority == 1);
	bft_valset_free(&vs);
}

static void test_valset_rejects(void)
{
	struct bft_validator v[2];
	memset(v, 0, sizeof(v));
	test_key(0, v[0].pubkey);
	test_key(1, v[1].pubkey);
	v[0].power = 1;
	v[1].power = 0;
	struct bft_valset vs;
	char err[128] = "";
	CHECK(bft_valset_init(&vs, v, 0, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(bft_valset_init(&vs, v, 2, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "zero power") != NULL);
	v[1].power = BFT_MAX_TOTAL_POWER;
	CHECK(bft_valset_init(&vs, v, 2, err, sizeof(err)) == ASSAY_EINVALID);
	v[1].power = 2;
	test_key(0, v[1].pubkey);
	CHECK(bft_valset_init(&vs, v, 2, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "repeated") != NULL);
	CHECK(bft_power_quorum(3, 4) && !bft_power_quorum(2, 3) && bft_power_quorum(7, 10));
	CHECK(bft_power_one_third(2, 4) && !bft_power_one_third(1, 3));
}

/* ---- codecs ---- */

static void expect_all_prefixes_fail(const struct buf *b, int is_vote)
{
	for (size_t n = 0; n < b->len; n++) {
		struct bft_vote v;
		struct bft_proposal p;
		int rc = is_vote ? bft_vote_decode(&v, b->data, n) : bft_proposal_decode(&p, b->data, n);
		CHECK(rc == ASSAY_EDECODE);
	}
}

static void test_vote_codec(void)
{
	uint8_t value[HASH_LEN];
	memset(value, 0x42, HASH_LEN);
	for (int nil = 0; nil < 2; nil++) {
		struct bft_vote v = mk_vote(VOTE_PRECOMMIT, 7, 3, nil ? NULL : value, 2), w;
		struct buf b;
		buf_init(&b);
		bft_vote_encode(&v, &b);
		CHECK(b.len == (nil ? BFT_VOTE_MAX_BYTES - HASH_LEN : BFT_VOTE_MAX_BYTES));
		CHECK(bft_vote_decode(&w, b.data, b.len) == 0);
		CHECK(memcmp(&v, &w, sizeof(v)) == 0);
		expect_all_prefixes_fail(&b, 1);
		buf_put_u8(&b, 0); /* trailing byte */
		CHECK(bft_vote_decode(&w, b.data, b.len) == ASSAY_EDECODE);
		b.len--;
		uint8_t save = b.data[0];
		for (int t = 0; t < 256; t += 3) { /* only 1 and 2 are types */
			b.data[0] = (uint8_t)t;
			CHECK(bft_vote_decode(&w, b.data, b.len) == (t == 1 || t == 2 ? 0 : ASSAY_EDECODE));
		}
		b.data[0] = save;
		b.data[13] = 2; /* has_value is 0 or 1 */
		CHECK(bft_vote_decode(&w, b.data, b.len) == ASSAY_EDECODE);
		b.data[13] = nil ? 0 : 1;
		le32_put(b.data + 9, BFT_MAX_ROUND + 1u);
		CHECK(bft_vote_decode(&w, b.data, b.len) == ASSAY_EDECODE);
		le32_put(b.data + 9, BFT_MAX_ROUND);
		CHECK(bft_vote_decode(&w, b.data, b.len) == 0);
		buf_free(&b);
	}
	/* a block vote for the all-zero hash would sign nil's bytes: rejected */
	struct bft_vote z = mk_vote(VOTE_PREVOTE, 1, 0, value, 0), w;
	memset(z.value, 0, HASH_LEN);
	struct buf b;
	buf_init(&b);
	bft_vote_encode(&z, &b);
	CHECK(bft_vote_decode(&w, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);
}

static void test_vote_sighash_is_protocol(void)
{
	/* Precommits sign exactly protocol §4.3's bytes, so a commit made of
	 * them passes the block check; nil signs the all-zero hash. */
	uint8_t value[HASH_LEN], want[HASH_LEN], got[HASH_LEN];
	memset(value, 0x17, HASH_LEN);
	struct bft_vote v = mk_vote(VOTE_PRECOMMIT, 9, 4, value, 1);
	vote_sighash(CHAIN, VOTE_PRECOMMIT, 9, 4, value, want);
	bft_vote_sighash(CHAIN, &v, got);
	CHECK_EQ_MEM(got, want, HASH_LEN);
	static const uint8_t zero[HASH_LEN];
	struct bft_vote n = mk_vote(VOTE_PREVOTE, 9, 4, NULL, 1);
	vote_sighash(CHAIN, VOTE_PREVOTE, 9, 4, zero, want);
	bft_vote_sighash(CHAIN, &n, got);
	CHECK_EQ_MEM(got, want, HASH_LEN);

	/* Ed25519 through msg.c */
	uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN], seed[SEED_LEN] = {3};
	key_from_seed(seed, pk, sk);
	memcpy(v.validator, pk, PUBKEY_LEN);
	bft_vote_sign(CHAIN, sk, &v);
	CHECK(bft_vote_verify(CHAIN, &v) == 0);
	vote_sighash(CHAIN, VOTE_PRECOMMIT, 9, 4, value, want);
	CHECK(sig_verify(pk, want, HASH_LEN, v.sig) == 0);
	v.round++;
	CHECK(bft_vote_verify(CHAIN, &v) == ASSAY_ESIG);
	struct bft_proposal p = mk_prop(9, 4, BFT_POL_NONE, value, 0);
	memcpy(p.proposer, pk, PUBKEY_LEN);
	bft_proposal_sign(CHAIN, sk, &p);
	CHECK(bft_proposal_verify(CHAIN, &p) == 0);
	p.pol_round = 1; /* pol_round is signed */
	CHECK(bft_proposal_verify(CHAIN, &p) == ASSAY_ESIG);
}

static void test_proposal_codec(void)
{
	uint8_t value[HASH_LEN];
	memset(value, 0x33, HASH_LEN);
	const uint32_t pols[2] = {BFT_POL_NONE, 2};
	for (int k = 0; k < 2; k++) {
		struct bft_proposal p = mk_prop(5, 3, pols[k], value, 1), q;
		struct buf b;
		buf_init(&b);
		bft_proposal_encode(&p, &b);
		CHECK(b.len == BFT_PROPOSAL_BYTES);
		CHECK(bft_proposal_decode(&q, b.data, b.len) == 0);
		CHECK(memcmp(&p, &q, sizeof(p)) == 0);
		CHECK(le32_get(b.data + 12) == pols[k]); /* -1 is 0xffffffff */
		expect_all_prefixes_fail(&b, 0);
		buf_put_u8(&b, 9);
		CHECK(bft_proposal_decode(&q, b.data, b.len) == ASSAY_EDECODE);
		buf_free(&b);
	}
	struct bft_proposal bad[4];
	for (int i = 0; i < 4; i++)
		bad[i] = mk_prop(5, 3, 1, value, 1);
	bad[0].pol_round = 3;                 /* POL round not below the round */
	bad[1].pol_round = 7;
	bad[2].round = BFT_MAX_ROUND + 1u;
	memset(bad[3].value, 0, HASH_LEN);    /* no block */
	for (int i = 0; i < 4; i++) {
		struct buf b;
		buf_init(&b);
		bft_proposal_encode(&bad[i], &b);
		struct bft_proposal q;
		CHECK(bft_proposal_decode(&q, b.data, b.len) == ASSAY_EDECODE);
		buf_free(&b);
	}
}

static void test_evidence_codec(void)
{
	uint8_t v1[HASH_LEN], v2[HASH_LEN];
	memset(v1, 1, HASH_LEN);
	memset(v2, 2, HASH_LEN);
	struct bft_vote x = mk_vote(VOTE_PREVOTE, 4, 1, v2, 3), y = mk_vote(VOTE_PREVOTE, 4, 1, v1, 3);
	struct bft_evidence ev, back;
	CHECK(bft_evidence_make(&ev, &x, &y) == 0);
	struct bft_evidence ev2;
	CHECK(bft_evidence_make(&ev2, &y, &x) == 0);
	CHECK(memcmp(&ev, &ev2, sizeof(ev)) == 0); /* one order whatever the input order */
	struct buf b;
	buf_init(&b);
	bft_evidence_encode(&ev, &b);
	CHECK(b.data[0] == BFT_EVIDENCE_DUPLICATE_VOTE);
	CHECK(bft_evidence_decode(&back, b.data, b.len) == 0);
	CHECK(memcmp(&ev, &back, sizeof(ev)) == 0);
	for (size_t n = 0; n < b.len; n++)
		CHECK(bft_evidence_decode(&back, b.data, n) != 0);
	buf_put_u8(&b, 0);
	CHECK(bft_evidence_decode(&back, b.data, b.len) == ASSAY_EDECODE);
	b.len--;
	b.data[0] = 2;
	CHECK(bft_evidence_decode(&back, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);

	/* wrong order, or not a conflict at all */
	struct bft_evidence swapped = {ev.b, ev.a};
	buf_init(&b);
	bft_evidence_encode(&swapped, &b);
	CHECK(bft_evidence_decode(&back, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);
	struct bft_vote other = mk_vote(VOTE_PREVOTE, 4, 1, v2, 2);
	struct bft_vote later = mk_vote(VOTE_PREVOTE, 4, 2, v2, 3);
	struct bft_vote pc = mk_vote(VOTE_PRECOMMIT, 4, 1, v2, 3);
	CHECK(bft_evidence_make(&back, &x, &x) == ASSAY_EINVALID);
	CHECK(bft_evidence_make(&back, &y, &other) == ASSAY_EINVALID);
	CHECK(bft_evidence_make(&back, &y, &later) == ASSAY_EINVALID);
	CHECK(bft_evidence_make(&back, &y, &pc) == ASSAY_EINVALID);
	struct bft_evidence same = {y, y};
	buf_init(&b);
	bft_evidence_encode(&same, &b);
	CHECK(bft_evidence_decode(&back, b.data, b.len) == ASSAY_EINVALID);
	buf_free(&b);
	/* a vote for nil conflicts with a vote for a block */
	struct bft_vote nil = mk_vote(VOTE_PREVOTE, 4, 1, NULL, 3);
	CHECK(bft_evidence_make(&back, &nil, &x) == 0);
}

/* ---- vote sets ---- */

static void test_voteset(void)
{
	uint64_t powers[4] = {1, 2, 3, 4};
	struct bft_valset vals;
	make_valset(&vals, 4, powers);
	struct bft_voteset s;
	CHECK(bft_voteset_init(&s, 6, 2, VOTE_PRECOMMIT, 4) == 0);
	uint8_t a[HASH_LEN], b[HASH_LEN];
	memset(a, 0xa, HASH_LEN);
	memset(b, 0xb, HASH_LEN);
	struct bft_evidence ev;
	int got;
	struct bft_vote v0 = mk_vote(VOTE_PRECOMMIT, 6, 2, a, 0);
	CHECK(bft_voteset_add(&s, 0, 1, &v0, &ev, &got) == 0 && !got);
	CHECK(bft_voteset_add(&s, 0, 1, &v0, &ev, &got) == ASSAY_EEXISTS && !got); /* duplicate */
	CHECK(bft_voteset_power(&s, 1, a) == 1);
	struct bft_vote v0b = mk_vote(VOTE_PRECOMMIT, 6, 2, b, 0);
	CHECK(bft_voteset_add(&s, 0, 1, &v0b, &ev, &got) == 0 && got);
	CHECK(bft_vote_same_value(&ev.a, &v0) || bft_vote_same_value(&ev.b, &v0));
	CHECK(bft_vote_same_value(&ev.a, &v0b) || bft_vote_same_value(&ev.b, &v0b));
	/* the conflicting vote counts for its own value, the validator once in "any" */
	CHECK(bft_voteset_power(&s, 1, b) == 1 && s.power_any == 1);
	CHECK(bft_voteset_add(&s, 0, 1, &v0b, &ev, &got) == ASSAY_EEXISTS && !got);
	CHECK(bft_voteset_get_for(&s, 0, 1, b) != NULL && bft_voteset_get(&s, 0)->value[0] == 0xa);
	struct bft_vote v0n = mk_vote(VOTE_PRECOMMIT, 6, 2, NULL, 0);
	CHECK(bft_voteset_add(&s, 0, 1, &v0n, &ev, &got) == 0 && !got); /* one record is enough */
	/* at most BFT_MAX_EXTRA_VOTES conflicting votes per validator are kept */
	for (uint32_t k = 2; k < BFT_MAX_EXTRA_VOTES + 3; k++) {
		uint8_t other[HASH_LEN];
		memset(other, (int)(0x40 + k), HASH_LEN);
		struct bft_vote vk = mk_vote(VOTE_PRECOMMIT, 6, 2, other, 0);
		CHECK(bft_voteset_add(&s, 0, 1, &vk, &ev, &got) == (k < BFT_MAX_EXTRA_VOTES ? 0 : ASSAY_ELIMIT));
	}
	CHECK(s.ntallies == 1 + BFT_MAX_EXTRA_VOTES);
	CHECK(bft_voteset_power(&s, 0, NULL) == 1);
	struct bft_vote wrong = mk_vote(VOTE_PREVOTE, 6, 2, a, 1);
	CHECK(bft_voteset_add(&s, 1, 2, &wrong, &ev, &got) == ASSAY_EINVALID);
	wrong = mk_vote(VOTE_PRECOMMIT, 6, 3, a, 1);
	CHECK(bft_voteset_add(&s, 1, 2, &wrong, &ev, &got) == ASSAY_EINVALID);
	struct bft_vote v1 = mk_vote(VOTE_PRECOMMIT, 6, 2, NULL, 1), v3 = mk_vote(VOTE_PRECOMMIT, 6, 2, a, 3);
	CHECK(bft_voteset_add(&s, 1, 2, &v1, &ev, &got) == 0);
	CHECK(bft_voteset_add(&s, 3, 4, &v3, &ev, &got) == 0);
	CHECK(bft_voteset_power(&s, 1, a) == 5 && bft_voteset_power(&s, 0, NULL) == 3 && s.power_any == 7);
	struct commit c;
	CHECK(bft_voteset_commit(&s, &vals, a, &c) == 0);
	CHECK(c.nsigs == 2 && c.height == 6 && c.round == 2);
	CHECK(memcmp(c.sigs[0].validator, vals.v[0].pubkey, PUBKEY_LEN) == 0);
	CHECK(memcmp(c.sigs[1].sig, v3.sig, SIG_LEN) == 0);
	commit_free(&c);
	CHECK(bft_voteset_commit(&s, &vals, b, &c) == 0); /* the equivocator's second vote signs for b */
	CHECK(c.nsigs == 1 && memcmp(c.sigs[0].sig, v0b.sig, SIG_LEN) == 0);
	commit_free(&c);
	/* full: a value others back displaces a kept vote nobody else backs */
	uint8_t cval[HASH_LEN];
	memset(cval, 0xc, HASH_LEN);
	struct bft_vote v2c = mk_vote(VOTE_PRECOMMIT, 6, 2, cval, 2), v0c = mk_vote(VOTE_PRECOMMIT, 6, 2, cval, 0);
	CHECK(bft_voteset_add(&s, 2, 3, &v2c, &ev, &got) == 0);
	uint32_t ntallies = s.ntallies;
	CHECK(bft_voteset_add(&s, 0, 1, &v0c, &ev, &got) == 0);
	CHECK(bft_voteset_power(&s, 1, cval) == 4 && s.ntallies == ntallies);
	CHECK(bft_voteset_get_for(&s, 0, 1, cval) != NULL);
	uint8_t junk[HASH_LEN];
	memset(junk, 0x42, HASH_LEN);
	/* one of the two values only validator 0 backed lost its count; nil (3) kept it */
	CHECK(bft_voteset_power(&s, 1, b) + bft_voteset_power(&s, 1, junk) == 1);
	CHECK(bft_voteset_power(&s, 0, NULL) == 3);
	bft_voteset_free(&s);

	/* the height table refuses rounds beyond the window, before allocating */
	struct bft_height_votes hv;
	bft_height_votes_init(&hv, 6, 4);
	struct bft_vote far = mk_vote(VOTE_PREVOTE, 6, 3 + BFT_MAX_ROUNDS_AHEAD + 1, a, 2);
	CHECK(bft_height_votes_add(&hv, 3, 2, 3, &far, &ev, &got) == ASSAY_ELIMIT);
	CHECK(hv.nrounds == 0);
	far.round--;
	CHECK(bft_height_votes_add(&hv, 3, 2, 3, &far, &ev, &got) == 0);
	CHECK(bft_height_votes_get(&hv, far.round, VOTE_PREVOTE)->power_any == 3);
	CHECK(bft_height_votes_get(&hv, far.round, VOTE_PRECOMMIT)->power_any == 0);
	CHECK(bft_height_votes_get(&hv, 1, VOTE_PREVOTE) == NULL);
	struct bft_vote other_h = mk_vote(VOTE_PREVOTE, 7, 0, a, 2);
	CHECK(bft_height_votes_add(&hv, 3, 2, 3, &other_h, &ev, &got) == ASSAY_EINVALID);
	bft_height_votes_free(&hv);
	bft_valset_free(&vals);
}

/* ---- an engine with a recording node around it ---- */

/* The node side of one validator: signs with fake_sign and keeps a
 * sign-state that counts any attempt to sign twice or backwards. */
struct node_ctx {
	uint32_t idx;
	int byzantine;  /* signs anything it is asked to */
	int refuse;     /* the sign-state refuses everything */
	int signed_any[3];
	uint64_t signed_h[3];
	uint32_t signed_r[3];
	int violations; /* engine asked to sign twice for one (h, r, kind) */
};

static int sign_state_ok(struct node_ctx *n, int kind, uint64_t height, uint32_t round)
{
	if (n->byzantine)
		return 1;
	if (n->signed_any[kind] &&
	    !(height > n->signed_h[kind] || (height == n->signed_h[kind] && round > n->signed_r[kind]))) {
		n->violations++;
		return 0;
	}
	n->signed_any[kind] = 1;
	n->signed_h[kind] = height;
	n->signed_r[kind] = round;
	return 1;
}

static int ctx_sign_vote(void *c, const struct bft_vote *v, uint8_t sig[SIG_LEN])
{
	struct node_ctx *n = c;
	if (n->refuse || !sign_state_ok(n, v->type, v->height, v->round))
		return -1;
	uint8_t h[HASH_LEN];
	bft_vote_sighash(CHAIN, v, h);
	fake_sign(v->validator, h, sig);
	return 0;
}

static int ctx_sign_proposal(void *c, const struct bft_proposal *p, uint8_t sig[SIG_LEN])
{
	struct node_ctx *n = c;
	if (n->refuse || !sign_state_ok(n, 0, p->height, p->round))
		return -1;
	uint8_t h[HASH_LEN];
	bft_proposal_sighash(CHAIN, p, h);
	fake_sign(p->proposer, h, sig);
	return 0;
}

#define H_MAX_OUT 512
struct harness {
	bft_engine_t *e;
	struct node_ctx ctx;
	struct bft_valset vals;
	struct bft_output out[H_MAX_OUT];
	int nout;
};

static void h_open(struct harness *h, uint32_t n, uint32_t self)
{
	memset(h, 0, sizeof(*h));
	make_valset(&h->vals, n, NULL);
	h->ctx.idx = self;
	struct bft_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.chain_id, CHAIN, HASH_LEN);
	cfg.height = 1;
	bft_timeouts_local(&cfg.timeouts);
	cfg.is_validator = 1;
	test_key(self, cfg.self);
	struct bft_ops ops = {&h->ctx, ctx_sign_vote, ctx_sign_proposal, fake_verify};
	char err[128];
	h->e = bft_create(&cfg, &h->vals, &ops, err, sizeof(err));
	CHECK(h->e != NULL);
	CHECK(bft_start(h->e) == 0);
}

static void h_drain(struct harness *h)
{
	struct bft_output o;
	while (bft_next_output(h->e, &o)) {
		if (h->nout < H_MAX_OUT)
			h->out[h->nout++] = o;
		else
			bft_output_free(&o);
	}
}

static void h_clear(struct harness *h)
{
	h_drain(h);
	for (int i = 0; i < h->nout; i++)
		bft_output_free(&h->out[i]);
	h->nout = 0;
}

static void h_close(struct harness *h)
{
	h_clear(h);
	CHECK(h->ctx.violations == 0);
	bft_destroy(h->e);
	bft_valset_free(&h->vals);
}

static int h_count(struct harness *h, enum bft_output_kind kind)
{
	h_drain(h);
	int n = 0;
	for (int i = 0; i < h->nout; i++)
		n += h->out[i].kind == kind;
	return n;
}

static const struct bft_output *h_last(struct harness *h, enum bft_output_kind kind)
{
	h_drain(h);
	for (int i = h->nout - 1; i >= 0; i--)
		if (h->out[i].kind == kind)
			return &h->out[i];
	return NULL;
}

/* Our vote of type in round, if the engine cast one (since the last clear). */
static const struct bft_vote *h_vote(struct harness *h, uint8_t type, uint32_t round)
{
	h_drain(h);
	const struct bft_vote *found = NULL;
	int n = 0;
	for (int i = 0; i < h->nout; i++) {
		const struct bft_vote *v = &h->out[i].vote;
		if (h->out[i].kind == BFT_OUT_VOTE && v->type == type && v->round == round &&
		    v->validator[0] == h->ctx.idx + 1) {
			found = v;
			n++;
		}
	}
	CHECK(n <= 1);
	return found;
}

static int is_value(const struct bft_vote *v, const uint8_t *value)
{
	if (!v)
		return 0;
	if (!value)
		return !v->has_value;
	return v->has_value && memcmp(v->value, value, HASH_LEN) == 0;
}

static int h_vote_in(struct harness *h, uint8_t type, uint64_t height, uint32_t round, const uint8_t *value,
		     uint32_t who)
{
	struct bft_vote v = mk_vote(type, height, round, value, who);
	return bft_on_vote(h->e, &v);
}

static int h_prop_in(struct harness *h, uint64_t height, uint32_t round, uint32_t pol, const uint8_t *value,
		     uint32_t who)
{
	struct bft_proposal p = mk_prop(height, round, pol, value, who);
	return bft_on_proposal(h->e, &p);
}

static uint8_t VA[HASH_LEN] = {0xa1, 1}, VB[HASH_LEN] = {0xb2, 2};

/* With 4 validators of power 1, the proposer of round r at height 1 is r mod 4. */
static void test_rule_proposal_prevote(void)
{
	struct harness h;
	h_open(&h, 4, 3);
	uint8_t pk[PUBKEY_LEN];
	CHECK(bft_proposer(h.e, 0, pk) == 0 && pk[0] == 1);
	CHECK(bft_proposer(h.e, 2, pk) == 0 && pk[0] == 3);
	CHECK(h_count(&h, BFT_OUT_GET_VALUE) == 0);
	const struct bft_output *t = h_last(&h, BFT_OUT_TIMEOUT);
	CHECK(t && t->step == BFT_STEP_PROPOSE && t->delay_ms == 500);
	/* line 22: a value is prevoted only once the node says it is valid */
	CHECK(h_prop_in(&h, 1, 0, BFT_POL_NONE, VA, 1) == ASSAY_EINVALID); /* not the proposer */
	struct bft_proposal bad = mk_prop(1, 0, BFT_POL_NONE, VA, 0);
	bad.sig[3] ^= 1;
	CHECK(bft_on_proposal(h.e, &bad) == ASSAY_ESIG);
	bad = mk_prop(1, 0, BFT_POL_NONE, VA, 9);
	CHECK(bft_on_proposal(h.e, &bad) == ASSAY_ENOTFOUND);
	CHECK(h_prop_in(&h, 1, 0, BFT_POL_NONE, VA, 0) == 0);
	const struct bft_output *val = h_last(&h, BFT_OUT_VALIDATE);
	CHECK(val && memcmp(val->value, VA, HASH_LEN) == 0);
	CHECK(h_vote(&h, VOTE_PREVOTE, 0) == NULL);
	CHECK(bft_on_validity(h.e, 1, VA, 1) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 0), VA));
	/* replays change nothing */
	CHECK(h_prop_in(&h, 1, 0, BFT_POL_NONE, VA, 0) == ASSAY_EEXISTS);
	CHECK(bft_on_timeout(h.e, BFT_STEP_PROPOSE, 1, 0) == ASSAY_EEXISTS);
	CHECK(bft_on_validity(h.e, 1, VA, 1) == 0);
	CHECK(h_count(&h, BFT_OUT_VOTE) == 1);
	CHECK(bft_step(h.e) == BFT_STEP_PREVOTE);
	h_close(&h);

	/* an invalid value gets a nil prevote */
	h_open(&h, 4, 3);
	CHECK(h_prop_in(&h, 1, 0, BFT_POL_NONE, VB, 0) == 0);
	CHECK(bft_on_validity(h.e, 1, VB, 0) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 0), NULL));
	h_close(&h);
}

static void test_rule_timeouts(void)
{
	struct harness h;
	h_open(&h, 4, 3);
	CHECK(bft_on_timeout(h.e, BFT_STEP_PROPOSE, 1, 0) == 0); /* line 57 */
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 0), NULL));
	CHECK(bft_on_timeout(h.e, BFT_STEP_PROPOSE, 1, 0) == ASSAY_EEXISTS);
	/* line 34: 2/3 prevotes of any kind start the prevote timer, once */
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, VA, 0) == 0);
	CHECK(h_count(&h, BFT_OUT_TIMEOUT) == 1);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, VB, 1) == 0);
	const struct bft_output *t = h_last(&h, BFT_OUT_TIMEOUT);
	CHECK(t && t->step == BFT_STEP_PREVOTE && t->delay_ms == 200);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, VB, 2) == 0);
	CHECK(h_count(&h, BFT_OUT_TIMEOUT) == 2);
	CHECK(h_vote(&h, VOTE_PRECOMMIT, 0) == NULL);
	CHECK(bft_on_timeout(h.e, BFT_STEP_PREVOTE, 1, 0) == 0); /* line 61 */
	CHECK(is_value(h_vote(&h, VOTE_PRECOMMIT, 0), NULL));
	/* line 47: 2/3 precommits of any kind start the precommit timer */
	CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 0, VA, 0) == 0);
	CHECK(h_count(&h, BFT_OUT_TIMEOUT) == 2);
	CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 0, VB, 1) == 0);
	t = h_last(&h, BFT_OUT_TIMEOUT);
	CHECK(t && t->step == BFT_STEP_PRECOMMIT && t->round == 0);
	CHECK(bft_on_timeout(h.e, BFT_STEP_PRECOMMIT, 1, 0) == 0); /* line 65 */
	CHECK(bft_round(h.e) == 1 && bft_step(h.e) == BFT_STEP_PROPOSE);
	t = h_last(&h, BFT_OUT_TIMEOUT);
	CHECK(t && t->step == BFT_STEP_PROPOSE && t->round == 1 && t->delay_ms == 600); /* grows per round */
	CHECK(bft_on_timeout(h.e, BFT_STEP_PRECOMMIT, 1, 0) == ASSAY_EEXISTS);
	CHECK(bft_on_timeout(h.e, BFT_STEP_PREVOTE, 1, 0) == ASSAY_EEXISTS);
	CHECK(bft_round(h.e) == 1);
	h_close(&h);

	/* line 44: 2/3 nil prevotes give a nil precommit without waiting */
	h_open(&h, 4, 3);
	CHECK(bft_on_timeout(h.e, BFT_STEP_PROPOSE, 1, 0) == 0);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, NULL, 0) == 0);
	CHECK(h_vote(&h, VOTE_PRECOMMIT, 0) == NULL);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, NULL, 2) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PRECOMMIT, 0), NULL));
	h_close(&h);
}

/* Round 0: prevote VA, 2/3 prevote VA -> lock on VA (line 36). Leaves the
 * engine in round 1 through nil precommits and the precommit timeout. */
static void lock_on_va(struct harness *h, uint32_t self)
{
	CHECK(h_prop_in(h, 1, 0, BFT_POL_NONE, VA, 0) == (self == 0 ? ASSAY_EEXISTS : 0));
	bft_on_validity(h->e, 1, VA, 1);
	for (uint32_t i = 0; i < 4; i++)
		if (i != self && i != (self + 1) % 4)
			CHECK(h_vote_in(h, VOTE_PREVOTE, 1, 0, VA, i) == 0);
	uint8_t v[HASH_LEN];
	CHECK(is_value(h_vote(h, VOTE_PRECOMMIT, 0), VA));
	CHECK(bft_locked(h->e, v) == 0 && memcmp(v, VA, HASH_LEN) == 0);
	CHECK(bft_valid(h->e, v) == 0 && memcmp(v, VA, HASH_LEN) == 0);
	for (uint32_t i = 0; i < 4; i++)
		if (i != self && i != (self + 1) % 4)
			CHECK(h_vote_in(h, VOTE_PRECOMMIT, 1, 0, NULL, i) == 0);
	CHECK(bft_on_timeout(h->e, BFT_STEP_PRECOMMIT, 1, 0) == 0);
	CHECK(bft_round(h->e) == 1);
}

static void test_rule_lock_unlock(void)
{
	struct harness h;
	h_open(&h, 4, 3);
	lock_on_va(&h, 3);
	/* round 1: a fresh proposal for VB is refused while locked on VA */
	CHECK(h_prop_in(&h, 1, 1, BFT_POL_NONE, VB, 1) == 0);
	CHECK(bft_on_validity(h.e, 1, VB, 1) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 1), NULL));
	for (uint32_t i = 0; i < 3; i++)
		CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 1, NULL, i) == 0);
	CHECK(bft_on_timeout(h.e, BFT_STEP_PRECOMMIT, 1, 1) == 0);
	CHECK(bft_round(h.e) == 2);
	/* round 2: VB re-proposed with POL round 1; without 2/3 prevotes for VB
	 * in round 1 the rule waits (line 28 needs them) */
	CHECK(h_prop_in(&h, 1, 2, 1, VB, 2) == 0);
	CHECK(h_vote(&h, VOTE_PREVOTE, 2) == NULL);
	/* the proof of lock arrives: locked round 0 <= 1, so VB is prevoted (unlock) */
	for (uint32_t i = 0; i < 2; i++)
		CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 1, VB, i) == 0);
	CHECK(h_vote(&h, VOTE_PREVOTE, 2) == NULL);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 1, VB, 2) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 2), VB));
	uint8_t v[HASH_LEN];
	CHECK(bft_locked(h.e, v) == 0 && memcmp(v, VA, HASH_LEN) == 0); /* the lock moves only at line 36 */
	/* 2/3 prevotes for VB in round 2: lock moves to (VB, 2) */
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 2, VB, 0) == 0);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 2, VB, 1) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PRECOMMIT, 2), VB));
	CHECK(bft_locked(h.e, v) == 2 && memcmp(v, VB, HASH_LEN) == 0);
	h_close(&h);

	/* 2/3 prevotes of mixed values lock nothing */
	h_open(&h, 4, 3);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 1, NULL, 0) == 0);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 1, NULL, 1) == 0); /* f+1 in round 1: skip there */
	CHECK(bft_round(h.e) == 1);
	for (uint32_t i = 0; i < 3; i++)
		CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, VB, i) == 0); /* POL for VB in round 0 */
	CHECK(h_prop_in(&h, 1, 1, BFT_POL_NONE, VA, 1) == 0);
	CHECK(bft_on_validity(h.e, 1, VA, 1) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 1), VA));
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 1, VA, 2) == 0); /* +0,+1 were nil: 2/3 any, not VA */
	CHECK(bft_locked(h.e, NULL) == -1);
	h_close(&h);
}

static void test_rule_pol_reproposal(void)
{
	/* We are validator 1, the proposer of round 1. Locked on VA in round 0,
	 * we re-propose VA with POL round 0 and ask the node for nothing. */
	struct harness h;
	h_open(&h, 4, 1);
	lock_on_va(&h, 1);
	CHECK(h_count(&h, BFT_OUT_GET_VALUE) == 0);
	const struct bft_output *p = h_last(&h, BFT_OUT_PROPOSAL);
	CHECK(p && p->proposal.round == 1 && p->proposal.pol_round == 0 &&
	      memcmp(p->proposal.value, VA, HASH_LEN) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 1), VA)); /* our own re-proposal, line 28 */
	/* a rebroadcast carries the proof of lock along with the proposal */
	h_clear(&h);
	CHECK(bft_rebroadcast(h.e) == 0);
	int pol_votes = 0;
	h_drain(&h);
	for (int i = 0; i < h.nout; i++)
		pol_votes += h.out[i].kind == BFT_OUT_VOTE && h.out[i].vote.round == 0 &&
			     h.out[i].vote.type == VOTE_PREVOTE && is_value(&h.out[i].vote, VA);
	CHECK(pol_votes >= 3);
	CHECK(h_count(&h, BFT_OUT_PROPOSAL) == 1);
	h_close(&h);

	/* As proposer with no valid value we ask the node, then propose its value. */
	h_open(&h, 4, 0);
	const struct bft_output *g = h_last(&h, BFT_OUT_GET_VALUE);
	CHECK(g && g->height == 1 && g->round == 0);
	CHECK(bft_on_value(h.e, 1, 1, VB) == ASSAY_EEXISTS); /* stale round */
	CHECK(bft_on_value(h.e, 1, 0, VB) == 0);
	p = h_last(&h, BFT_OUT_PROPOSAL);
	CHECK(p && p->proposal.pol_round == BFT_POL_NONE && memcmp(p->proposal.value, VB, HASH_LEN) == 0);
	CHECK(is_value(h_vote(&h, VOTE_PREVOTE, 0), VB));
	CHECK(bft_on_value(h.e, 1, 0, VA) == ASSAY_EEXISTS); /* one proposal per round */
	CHECK(h_count(&h, BFT_OUT_PROPOSAL) == 1);
	h_close(&h);
}

static void test_rule_round_skip(void)
{
	struct harness h;
	h_open(&h, 4, 3);
	/* f+1 = more than 1/3 of 4: one validator in round 5 is not enough */
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 5, NULL, 0) == 0);
	CHECK(bft_round(h.e) == 0);
	CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 5, VA, 1) == 0);
	CHECK(bft_round(h.e) == 5 && bft_step(h.e) == BFT_STEP_PROPOSE);
	/* beyond the stored window: not kept, but it still counts for the skip */
	uint32_t far = 5 + BFT_MAX_ROUNDS_AHEAD + 20;
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, far, NULL, 2) == 0);
	CHECK(bft_round(h.e) == 5);
	struct bft_vote bad = mk_vote(VOTE_PREVOTE, 1, far, NULL, 0);
	bad.sig[0] ^= 1;
	CHECK(bft_on_vote(h.e, &bad) == ASSAY_ESIG); /* a forged far vote moves nothing */
	CHECK(bft_round(h.e) == 5);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, far + 3, NULL, 0) == 0);
	CHECK(bft_round(h.e) == far);
	/* beyond BFT_MAX_ROUND_JUMP: dropped unread */
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, far + BFT_MAX_ROUND_JUMP + 1, NULL, 0) == ASSAY_ELIMIT);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, far + BFT_MAX_ROUND_JUMP + 1, NULL, 1) == ASSAY_ELIMIT);
	CHECK(bft_round(h.e) == far);
	/* far heights are refused; unknown signers too */
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 3, 0, NULL, 0) == ASSAY_ELIMIT);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, far, NULL, 9) == ASSAY_ENOTFOUND);
	h_close(&h);
}

static void test_rule_decide_and_evidence(void)
{
	struct harness h;
	h_open(&h, 4, 3);
	CHECK(h_prop_in(&h, 1, 0, BFT_POL_NONE, VA, 0) == 0);
	/* a proposal for the next height is kept until we get there */
	struct bft_proposal next = mk_prop(2, 0, BFT_POL_NONE, VB, 1);
	CHECK(bft_on_proposal(h.e, &next) == 0);
	/* equivocation inside the height */
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, VA, 2) == 0);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, VB, 2) == 0);
	const struct bft_output *ev = h_last(&h, BFT_OUT_EVIDENCE);
	CHECK(ev && ev->evidence.a.validator[0] == 3 && bft_evidence_make(&(struct bft_evidence){0}, &ev->evidence.a,
									&ev->evidence.b) == 0);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, NULL, 2) == 0);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 0, VB, 2) == ASSAY_EEXISTS);
	CHECK(h_count(&h, BFT_OUT_EVIDENCE) == 1);
	/* move to round 2 first: line 49 decides in any round */
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 2, NULL, 0) == 0);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 1, 2, NULL, 1) == 0);
	CHECK(bft_round(h.e) == 2);
	for (uint32_t i = 0; i < 3; i++)
		CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 0, VA, i) == 0);
	CHECK(h_count(&h, BFT_OUT_DECIDE) == 0); /* the value is not known valid yet */
	CHECK(bft_on_validity(h.e, 1, VA, 1) == 0);
	const struct bft_output *d = h_last(&h, BFT_OUT_DECIDE);
	CHECK(d && d->height == 1 && d->round == 0 && memcmp(d->value, VA, HASH_LEN) == 0);
	CHECK(d && d->commit.nsigs == 3 && d->commit.round == 0);
	for (uint32_t i = 0; d && i < d->commit.nsigs; i++) {
		uint8_t sh[HASH_LEN];
		vote_sighash(CHAIN, VOTE_PRECOMMIT, 1, 0, VA, sh);
		CHECK(fake_verify(NULL, d->commit.sigs[i].validator, sh, d->commit.sigs[i].sig) == 0);
	}
	CHECK(bft_height(h.e) == 2 && bft_round(h.e) == 0);
	/* the buffered proposal for height 2 is taken now */
	const struct bft_output *val = h_last(&h, BFT_OUT_VALIDATE);
	CHECK(val && val->height == 2 && memcmp(val->value, VB, HASH_LEN) == 0);
	/* a late precommit of height 1 that contradicts the commit is evidence */
	CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 0, VA, 0) == ASSAY_EEXISTS);
	CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 0, VB, 1) == 0);
	ev = h_last(&h, BFT_OUT_EVIDENCE);
	CHECK(ev && ev->height == 1 && ev->evidence.a.validator[0] == 2);
	CHECK(h_count(&h, BFT_OUT_EVIDENCE) == 2);
	CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 0, NULL, 1) == ASSAY_EEXISTS);
	CHECK(h_count(&h, BFT_OUT_EVIDENCE) == 2);
	CHECK(h_vote_in(&h, VOTE_PREVOTE, 0, 0, NULL, 1) == ASSAY_EEXISTS); /* older heights */
	h_close(&h);
}

static void test_refused_signature(void)
{
	/* A sign-state that refuses: the engine moves on without sending. */
	struct harness h;
	h_open(&h, 4, 3);
	h.ctx.refuse = 1;
	CHECK(bft_on_timeout(h.e, BFT_STEP_PROPOSE, 1, 0) == 0);
	CHECK(h_count(&h, BFT_OUT_VOTE) == 0);
	CHECK(bft_step(h.e) == BFT_STEP_PREVOTE);
	h_close(&h);
}

/* ---- a one-validator chain, with real Ed25519 signatures ---- */

struct solo {
	uint8_t sk[SECKEY_LEN];
};

static int solo_sign_vote(void *c, const struct bft_vote *v, uint8_t sig[SIG_LEN])
{
	struct bft_vote w = *v;
	bft_vote_sign(CHAIN, ((struct solo *)c)->sk, &w);
	memcpy(sig, w.sig, SIG_LEN);
	return 0;
}

static int solo_sign_proposal(void *c, const struct bft_proposal *p, uint8_t sig[SIG_LEN])
{
	struct bft_proposal q = *p;
	bft_proposal_sign(CHAIN, ((struct solo *)c)->sk, &q);
	memcpy(sig, q.sig, SIG_LEN);
	return 0;
}

static int ed_verify(void *c, const uint8_t pk[PUBKEY_LEN], const uint8_t h[HASH_LEN], const uint8_t sig[SIG_LEN])
{
	(void)c;
	return sig_verify(pk, h, HASH_LEN, sig);
}

static void test_one_validator(void)
{
	struct solo s;
	struct bft_validator v;
	memset(&v, 0, sizeof(v));
	uint8_t seed[SEED_LEN] = {0x51};
	key_from_seed(seed, v.pubkey, s.sk);
	v.power = 10;
	struct bft_valset vals;
	CHECK(bft_valset_init(&vals, &v, 1, NULL, 0) == 0);
	struct bft_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.chain_id, CHAIN, HASH_LEN);
	cfg.height = 1;
	bft_timeouts_local(&cfg.timeouts);
	cfg.is_validator = 1;
	memcpy(cfg.self, v.pubkey, PUBKEY_LEN);
	struct bft_ops ops = {&s, solo_sign_vote, solo_sign_proposal, ed_verify};
	bft_engine_t *e = bft_create(&cfg, &vals, &ops, NULL, 0);
	CHECK(e && bft_start(e) == 0);
	uint64_t decided = 0;
	int validate_asked = 0;
	for (int steps = 0; e && steps < 1000 && decided < 20; steps++) {
		struct bft_output o;
		if (!bft_next_output(e, &o))
			break;
		if (o.kind == BFT_OUT_GET_VALUE) {
			uint8_t value[HASH_LEN];
			sha256(&o.height, sizeof(o.height), value);
			CHECK(bft_on_value(e, o.height, o.round, value) == 0);
		} else if (o.kind == BFT_OUT_DECIDE) {
			CHECK(o.height == decided + 1 && o.round == 0);
			CHECK(o.commit.nsigs == 1);
			uint8_t sh[HASH_LEN];
			vote_sighash(CHAIN, VOTE_PRECOMMIT, o.height, 0, o.value, sh);
			CHECK(sig_verify(v.pubkey, sh, HASH_LEN, o.commit.sigs[0].sig) == 0);
			decided = o.height;
		} else if (o.kind == BFT_OUT_VALIDATE) {
			validate_asked++; /* its own value is never sent back for checking */
		}
		bft_output_free(&o);
	}
	CHECK(decided == 20);
	CHECK(validate_asked == 0);
	CHECK(e && bft_height(e) == 21);
	bft_destroy(e);
	bft_valset_free(&vals);
}

/* ---- the simulation ---- */

#define SIM_MAX_N 7
#define SIM_MAX_H 200       /* heights recorded per seed */
#define SIM_SYNC_BATCH 8    /* commits sent at once to a node that is behind */
#define SIM_K 3             /* heights every honest node must decide after the heal */
#define SIM_MSG_MAX 160     /* >= BFT_PROPOSAL_BYTES and BFT_VOTE_MAX_BYTES */

enum { EV_DELIVER, EV_TIMER, EV_TICK, EV_SYNC, EV_STATUS };

static int sim_trace = -1; /* ASSAY_BFT_TRACE=node: print what it receives and does */

struct sim_event {
	uint64_t t, seq;      /* ordered by time, then by when it was scheduled */
	uint8_t kind, to, from, is_vote;
	uint8_t step;         /* EV_TIMER */
	uint64_t height;
	uint32_t round;
	uint16_t len;
	uint8_t bytes[SIM_MSG_MAX]; /* EV_DELIVER: the encoded message */
};

struct sim_decision {
	int have;
	uint8_t value[HASH_LEN];
	uint32_t round, nsigs;
	struct commit_sig sigs[SIM_MAX_N];
};

struct sim_node {
	bft_engine_t *e;
	struct node_ctx ctx;
	int byz;
	uint64_t decided_to; /* highest height decided */
	struct sim_decision dec[SIM_MAX_H + 2];
};

struct sim {
	uint64_t rng, now, seq;
	uint32_t n, honest_rank[SIM_MAX_N];
	struct bft_valset vals;
	struct sim_node node[SIM_MAX_N];
	struct sim_event *heap;
	size_t nheap, capheap;
	uint32_t loss_pct, max_delay;
	uint64_t heal_t, tick_ms;
	int fork_mode;
	int split;            /* faulty ones split the honest in two groups, else equivocate at random */
	int have_agreed[SIM_MAX_H + 2];
	uint8_t agreed[SIM_MAX_H + 2][HASH_LEN];
	/* results */
	int forks, evidence_ok, evidence_bad, commit_bad, decode_bad, local_fail;
	uint64_t delivered;
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rng_next(s) % n);
}

static int ev_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static struct sim_event *sim_push(struct sim *s, uint64_t at)
{
	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? s->capheap * 2 : 1024;
		s->heap = realloc(s->heap, s->capheap * sizeof(*s->heap));
		if (!s->heap)
			abort();
	}
	size_t i = s->nheap++;
	struct sim_event ev;
	memset(&ev, 0, offsetof(struct sim_event, bytes));
	ev.t = at;
	ev.seq = s->seq++;
	while (i > 0 && ev_before(&ev, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = ev;
	/* the caller fills the rest in place: find it again by seq */
	return &s->heap[i];
}

static void sim_pop(struct sim *s, struct sim_event *out)
{
	*out = s->heap[0];
	struct sim_event last = s->heap[--s->nheap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && ev_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap)
		s->heap[i] = last;
}

/* One message from -> to through the lossy, delaying network. */
static void sim_send(struct sim *s, uint32_t from, uint32_t to, int is_vote, const struct bft_vote *v,
		     const struct bft_proposal *p)
{
	if (from == to)
		return;
	if (s->now < s->heal_t && rng_below(&s->rng, 100) < s->loss_pct)
		return;
	struct buf b;
	buf_init(&b);
	if (is_vote)
		bft_vote_encode(v, &b);
	else
		bft_proposal_encode(p, &b);
	struct sim_event *ev = sim_push(s, s->now + 1 + rng_below(&s->rng, s->max_delay));
	ev->kind = EV_DELIVER;
	ev->from = (uint8_t)from;
	ev->to = (uint8_t)to;
	ev->is_vote = (uint8_t)is_vote;
	ev->len = (uint16_t)b.len;
	memcpy(ev->bytes, b.data, b.len);
	buf_free(&b);
}

static void sim_value(uint64_t tag, uint64_t height, uint32_t round, uint32_t who, uint8_t out[HASH_LEN])
{
	uint64_t m[4] = {tag, height, round, who};
	sha256(m, sizeof(m), out);
	if (out[0] == 0xee)
		out[0] = 0x01; /* 0xee marks values the simulated nodes judge invalid */
}

static void resign_vote(uint32_t who, struct bft_vote *v)
{
	sign_vote_as(who, v);
}

/* What an equivocating validator sends to one peer in place of m: either
 * the split attack (each half of the honest nodes is shown its own value in
 * rounds a faulty validator proposes, nil elsewhere) or, per message and
 * peer at random, the real one, a conflicting one, both or nothing. */
static void byz_send(struct sim *s, uint32_t from, uint32_t to, int is_vote, const struct bft_vote *v,
		     const struct bft_proposal *p)
{
	struct sim_node *bn = &s->node[from];
	if (s->split) {
		/* Split the honest nodes in two groups and show each its own value. */
		if (s->node[to].byz || (is_vote ? v->height : p->height) != bft_height(bn->e)) {
			sim_send(s, from, to, is_vote, v, p);
			return;
		}
		uint32_t g = s->honest_rank[to] % 2;
		uint32_t round = is_vote ? v->round : p->round;
		uint8_t pk[PUBKEY_LEN];
		int ours = bft_proposer(bn->e, round, pk) == 0 && s->node[pk[0] - 1].byz;
		uint8_t val[HASH_LEN];
		sim_value(0xf0f0, bft_height(bn->e), round, g, val);
		if (is_vote) {
			struct bft_vote w = *v;
			w.has_value = (uint8_t)ours;
			memcpy(w.value, ours ? val : (const uint8_t[HASH_LEN]){0}, HASH_LEN);
			resign_vote(from, &w);
			sim_send(s, from, to, 1, &w, NULL);
		} else {
			struct bft_proposal q = *p;
			q.pol_round = BFT_POL_NONE;
			memcpy(q.value, val, HASH_LEN);
			sign_proposal_as(from, &q);
			sim_send(s, from, to, 0, NULL, &q);
		}
		return;
	}
	uint32_t choice = rng_below(&s->rng, 100);
	int send_orig = choice < 45 || (choice >= 70 && choice < 85);
	int send_other = choice >= 45 && choice < 85;
	if (send_orig)
		sim_send(s, from, to, is_vote, v, p);
	if (!send_other)
		return;
	if (is_vote) {
		struct bft_vote w = *v;
		w.has_value = (uint8_t)(rng_below(&s->rng, 3) != 0);
		memset(w.value, 0, HASH_LEN);
		if (w.has_value)
			sim_value(rng_next(&s->rng), v->height, v->round, from, w.value);
		resign_vote(from, &w);
		sim_send(s, from, to, 1, &w, NULL);
	} else {
		struct bft_proposal q = *p;
		sim_value(rng_next(&s->rng), p->height, p->round, from, q.value);
		if (rng_below(&s->rng, 4) == 0)
			q.value[0] = 0xee; /* an invalid block */
		if (rng_below(&s->rng, 2) == 0 || q.round == 0)
			q.pol_round = BFT_POL_NONE;
		else
			q.pol_round = rng_below(&s->rng, q.round);
		sign_proposal_as(from, &q);
		sim_send(s, from, to, 0, NULL, &q);
	}
}

static void sim_broadcast(struct sim *s, uint32_t from, int is_vote, const struct bft_vote *v,
			  const struct bft_proposal *p)
{
	for (uint32_t to = 0; to < s->n; to++) {
		if (to == from)
			continue;
		if (s->node[from].byz)
			byz_send(s, from, to, is_vote, v, p);
		else
			sim_send(s, from, to, is_vote, v, p);
	}
}

static void sim_record_decision(struct sim *s, uint32_t i, const struct bft_output *o)
{
	struct sim_node *nd = &s->node[i];
	/* the commit must carry more than 2/3 of the power, each signature valid */
	uint64_t power = 0;
	for (uint32_t k = 0; k < o->commit.nsigs; k++) {
		uint8_t sh[HASH_LEN];
		vote_sighash(CHAIN, VOTE_PRECOMMIT, o->height, o->round, o->value, sh);
		int idx = bft_valset_find(&s->vals, o->commit.sigs[k].validator);
		if (idx < 0 || fake_verify(NULL, o->commit.sigs[k].validator, sh, o->commit.sigs[k].sig) != 0)
			s->commit_bad++;
		else
			power += s->vals.v[idx].power;
	}
	if (!bft_power_quorum(power, s->vals.total) || o->height != nd->decided_to + 1)
		s->commit_bad++;
	nd->decided_to = o->height;
	if (o->height > SIM_MAX_H)
		return;
	struct sim_decision *d = &nd->dec[o->height];
	d->have = 1;
	memcpy(d->value, o->value, HASH_LEN);
	d->round = o->round;
	d->nsigs = o->commit.nsigs < SIM_MAX_N ? o->commit.nsigs : SIM_MAX_N;
	memcpy(d->sigs, o->commit.sigs, d->nsigs * sizeof(d->sigs[0]));
	if (nd->byz)
		return;
	if (!s->have_agreed[o->height]) {
		s->have_agreed[o->height] = 1;
		memcpy(s->agreed[o->height], o->value, HASH_LEN);
	} else if (memcmp(s->agreed[o->height], o->value, HASH_LEN) != 0) {
		s->forks++;
	}
}

static void sim_outputs(struct sim *s, uint32_t i)
{
	struct sim_node *nd = &s->node[i];
	struct bft_output o;
	while (bft_next_output(nd->e, &o)) {
		int rc = 0;
		if (sim_trace == (int)i)
			fprintf(stderr, "t %llu node %u out kind %d h%llu r%u step %d vote t%d r%u %s%02x prop r%u pol %d %02x\n",
				(unsigned long long)s->now, i, o.kind, (unsigned long long)o.height, o.round, o.step,
				o.vote.type, o.vote.round, o.vote.has_value ? "val" : "nil", o.vote.value[0],
				o.proposal.round, (int)o.proposal.pol_round, o.proposal.value[0]);
		switch (o.kind) {
		case BFT_OUT_PROPOSAL:
			sim_broadcast(s, i, 0, NULL, &o.proposal);
			break;
		case BFT_OUT_VOTE:
			sim_broadcast(s, i, 1, &o.vote, NULL);
			break;
		case BFT_OUT_TIMEOUT: {
			struct sim_event *ev = sim_push(s, s->now + o.delay_ms);
			ev->kind = EV_TIMER;
			ev->to = (uint8_t)i;
			ev->step = (uint8_t)o.step;
			ev->height = o.height;
			ev->round = o.round;
			break;
		}
		case BFT_OUT_GET_VALUE: {
			uint8_t value[HASH_LEN];
			sim_value(s->rng ^ 0x77, o.height, o.round, i, value);
			rc = bft_on_value(nd->e, o.height, o.round, value);
			break;
		}
		case BFT_OUT_VALIDATE:
			rc = bft_on_validity(nd->e, o.height, o.value, o.value[0] != 0xee);
			break;
		case BFT_OUT_DECIDE:
			sim_record_decision(s, i, &o);
			break;
		case BFT_OUT_EVIDENCE: {
			if (nd->byz)
				break;
			int who = bft_valset_find(&s->vals, o.evidence.a.validator);
			uint8_t ha[HASH_LEN], hb[HASH_LEN];
			bft_vote_sighash(CHAIN, &o.evidence.a, ha);
			bft_vote_sighash(CHAIN, &o.evidence.b, hb);
			struct bft_evidence check;
			if (who < 0 || !s->node[who].byz || bft_evidence_make(&check, &o.evidence.a, &o.evidence.b) ||
			    fake_verify(NULL, o.evidence.a.validator, ha, o.evidence.a.sig) ||
			    fake_verify(NULL, o.evidence.b.validator, hb, o.evidence.b.sig))
				s->evidence_bad++;
			else
				s->evidence_ok++;
			break;
		}
		}
		if (rc == ASSAY_ENOMEM)
			s->local_fail++;
		bft_output_free(&o);
	}
}

/* Block sync, crudely: a node that hears a peer is at a lower height sends
 * it the commits of the next few heights, in order (each is read from the
 * sender's record when it arrives: a record never changes once written). */
static void sim_sync(struct sim *s, uint32_t i, uint32_t to, uint64_t height)
{
	if (s->now < s->heal_t && rng_below(&s->rng, 100) < s->loss_pct)
		return;
	uint64_t at = s->now + 1 + rng_below(&s->rng, s->max_delay);
	for (uint64_t h = height; h < height + SIM_SYNC_BATCH && h <= SIM_MAX_H && s->node[i].dec[h].have; h++) {
		struct sim_event *ev = sim_push(s, at + (h - height));
		ev->kind = EV_SYNC;
		ev->from = (uint8_t)i;
		ev->to = (uint8_t)to;
		ev->height = h;
	}
}

/* Each tick a node tells its peers its height, as a gossip layer would. */
static void sim_status(struct sim *s, uint32_t i)
{
	for (uint32_t to = 0; to < s->n; to++) {
		if (to == i || (s->now < s->heal_t && rng_below(&s->rng, 100) < s->loss_pct))
			continue;
		struct sim_event *ev = sim_push(s, s->now + 1 + rng_below(&s->rng, s->max_delay));
		ev->kind = EV_STATUS;
		ev->from = (uint8_t)i;
		ev->to = (uint8_t)to;
		ev->height = bft_height(s->node[i].e);
	}
}

static void sim_deliver_commit(struct sim *s, const struct sim_event *ev)
{
	const struct sim_decision *d = &s->node[ev->from].dec[ev->height];
	struct commit c = {ev->height, d->round, {0}, d->nsigs, (struct commit_sig *)d->sigs};
	memcpy(c.block_hash, d->value, HASH_LEN);
	struct buf b;
	buf_init(&b);
	commit_encode(&c, &b); /* through the protocol's commit encoding */
	struct reader r;
	rd_init(&r, b.data, b.len);
	struct commit back;
	if (commit_read(&back, &r) != 0 || rd_finish(&r) != 0) {
		s->decode_bad++;
	} else {
		int rc = bft_on_commit(s->node[ev->to].e, &back);
		if (rc == ASSAY_ENOMEM)
			s->local_fail++;
		else if (rc != 0 && rc != ASSAY_EEXISTS)
			s->commit_bad++; /* an honest node's commit is always acceptable */
		commit_free(&back);
	}
	buf_free(&b);
}

static void sim_deliver(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *nd = &s->node[ev->to];
	int rc;
	s->delivered++;
	if (ev->is_vote) {
		struct bft_vote v;
		if (bft_vote_decode(&v, ev->bytes, ev->len) != 0) {
			s->decode_bad++;
			return;
		}
		rc = bft_on_vote(nd->e, &v);
		if (sim_trace >= 0 && ev->to == sim_trace)
			fprintf(stderr, "t %llu node %u <- %u vote t%d h%llu r%u %s rc %d (at h%llu r%u s%d)\n",
				(unsigned long long)s->now, ev->to, ev->from, v.type, (unsigned long long)v.height,
				v.round, v.has_value ? "val" : "nil", rc, (unsigned long long)bft_height(nd->e),
				bft_round(nd->e), bft_step(nd->e));
	} else {
		struct bft_proposal p;
		if (bft_proposal_decode(&p, ev->bytes, ev->len) != 0) {
			s->decode_bad++;
			return;
		}
		rc = bft_on_proposal(nd->e, &p);
		if (sim_trace >= 0 && ev->to == sim_trace)
			fprintf(stderr, "t %llu node %u <- %u prop h%llu r%u pol %d %02x rc %d (at h%llu r%u s%d locked %d valid %d)\n",
				(unsigned long long)s->now, ev->to, ev->from, (unsigned long long)p.height, p.round,
				(int)p.pol_round, p.value[0], rc, (unsigned long long)bft_height(nd->e), bft_round(nd->e),
				bft_step(nd->e), (int)bft_locked(nd->e, NULL), (int)bft_valid(nd->e, NULL));
	}
	if (rc == ASSAY_ENOMEM)
		s->local_fail++;
}

struct sim_result {
	int safe, live, evidence_ok, evidence_bad, commit_bad, violations, broken;
	int forked;
	uint64_t heights, delivered;
};

/* One seeded run. fork_mode: nbyz >= n/3 validators split the honest ones. */
static struct sim_result sim_run(uint64_t seed, int fork_mode)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->rng = seed * 0x2545f4914f6cdd1dull + 1;
	s->fork_mode = fork_mode;
	uint32_t n, nbyz;
	struct bft_validator v[SIM_MAX_N];
	memset(v, 0, sizeof(v));
	if (fork_mode) {
		n = (seed & 1) ? 7 : 4;
		nbyz = (n + 2) / 3; /* 2 of 4, 3 of 7: at least a third */
		s->loss_pct = 0;
		s->max_delay = 40;
		s->heal_t = 0;
		s->tick_ms = 150;
	} else {
		n = 4 + rng_below(&s->rng, 4);
		nbyz = rng_below(&s->rng, 4) == 0 ? 0 : (n - 1) / 3;
		s->loss_pct = rng_below(&s->rng, 31);
		s->max_delay = 20 + rng_below(&s->rng, 300);
		s->heal_t = 2000 + rng_below(&s->rng, 3000);
		s->tick_ms = 700;
		s->split = rng_below(&s->rng, 2);
	}
	s->split |= fork_mode;
	s->n = n;
	uint64_t total = 0;
	for (uint32_t i = 0; i < n; i++) {
		test_key(i, v[i].pubkey);
		v[i].power = fork_mode ? 1 : 1 + rng_below(&s->rng, 10);
		total += v[i].power;
	}
	/* choose the faulty ones; outside fork mode they hold less than 1/3 */
	uint64_t byz_power = 0;
	for (uint32_t k = 0; k < nbyz; k++) {
		uint32_t i = rng_below(&s->rng, n);
		while (s->node[i].byz)
			i = (i + 1) % n;
		if (!fork_mode && (byz_power + v[i].power) * 3 >= total)
			continue;
		s->node[i].byz = 1;
		byz_power += v[i].power;
	}
	CHECK(bft_valset_init(&s->vals, v, n, NULL, 0) == 0);
	uint32_t rank = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct sim_node *nd = &s->node[i];
		if (!nd->byz)
			s->honest_rank[i] = rank++;
		nd->ctx.idx = i;
		nd->ctx.byzantine = nd->byz;
		struct bft_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		memcpy(cfg.chain_id, CHAIN, HASH_LEN);
		cfg.height = 1;
		bft_timeouts_local(&cfg.timeouts);
		cfg.is_validator = 1;
		test_key(i, cfg.self);
		struct bft_ops ops = {&nd->ctx, ctx_sign_vote, ctx_sign_proposal, fake_verify};
		nd->e = bft_create(&cfg, &s->vals, &ops, NULL, 0);
		if (!nd->e)
			abort();
		struct sim_event *ev = sim_push(s, rng_below(&s->rng, (uint32_t)s->tick_ms));
		ev->kind = EV_TICK;
		ev->to = (uint8_t)i;
	}
	for (uint32_t i = 0; i < n; i++) {
		bft_start(s->node[i].e);
		sim_outputs(s, i);
	}
	uint64_t target = fork_mode ? 4 : 0, limit = s->heal_t + (fork_mode ? 60000 : 120000);
	int healed = fork_mode;
	struct sim_result res;
	memset(&res, 0, sizeof(res));
	for (;;) {
		uint64_t lowest = UINT64_MAX, highest = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (s->node[i].byz)
				continue;
			if (s->node[i].decided_to < lowest)
				lowest = s->node[i].decided_to;
			if (s->node[i].decided_to > highest)
				highest = s->node[i].decided_to;
		}
		if (!s->nheap || s->now > limit || highest >= SIM_MAX_H) {
			res.live = 0;
			break;
		}
		if (healed && lowest >= target) {
			res.live = 1;
			break;
		}
		struct sim_event ev;
		sim_pop(s, &ev);
		s->now = ev.t;
		if (!healed && s->now >= s->heal_t) {
			healed = 1;
			target = highest + SIM_K;
		}
		struct sim_node *nd = &s->node[ev.to];
		if (ev.kind == EV_DELIVER) {
			sim_deliver(s, &ev);
		} else if (ev.kind == EV_SYNC) {
			sim_deliver_commit(s, &ev);
		} else if (ev.kind == EV_STATUS) {
			if (ev.height < bft_height(nd->e))
				sim_sync(s, ev.to, ev.from, ev.height);
		} else if (ev.kind == EV_TIMER) {
			bft_on_timeout(nd->e, (enum bft_step)ev.step, ev.height, ev.round);
		} else {
			bft_rebroadcast(nd->e);
			sim_status(s, ev.to);
			struct sim_event *t = sim_push(s, s->now + s->tick_ms);
			t->kind = EV_TICK;
			t->to = ev.to;
		}
		sim_outputs(s, ev.to);
	}
	if (getenv("ASSAY_BFT_DEBUG")) {
		fprintf(stderr, "seed %llu n %u loss %u delay %u heal %llu now %llu target %llu heap %zu\n",
			(unsigned long long)seed, n, s->loss_pct, s->max_delay, (unsigned long long)s->heal_t,
			(unsigned long long)s->now, (unsigned long long)target, s->nheap);
		for (uint32_t i = 0; i < n; i++)
			fprintf(stderr, "  node %u byz %d power %llu decided %llu height %llu round %u step %d\n", i,
				s->node[i].byz, (unsigned long long)s->vals.v[i].power,
				(unsigned long long)s->node[i].decided_to, (unsigned long long)bft_height(s->node[i].e),
				bft_round(s->node[i].e), bft_step(s->node[i].e));
	}
	res.safe = s->forks == 0;
	res.forked = s->forks > 0;
	res.evidence_ok = s->evidence_ok;
	res.evidence_bad = s->evidence_bad;
	res.commit_bad = s->commit_bad;
	res.broken = s->decode_bad + s->local_fail;
	res.delivered = s->delivered;
	for (uint32_t i = 0; i < n; i++) {
		if (!s->node[i].byz) {
			res.violations += s->node[i].ctx.violations;
			res.heights += s->node[i].decided_to;
		}
		bft_destroy(s->node[i].e);
	}
	bft_valset_free(&s->vals);
	free(s->heap);
	free(s);
	return res;
}

static void test_simulation(void)
{
	unsigned long seeds = 1000;
	const char *env = getenv("ASSAY_BFT_SEEDS");
	if (getenv("ASSAY_BFT_TRACE"))
		sim_trace = atoi(getenv("ASSAY_BFT_TRACE"));
	if (env && *env)
		seeds = strtoul(env, NULL, 10);
	unsigned long unsafe = 0, dead = 0, bad = 0;
	uint64_t heights = 0, delivered = 0, evidence = 0;
	if (getenv("ASSAY_BFT_SEED"))
		seeds = 1;
	unsigned long first = getenv("ASSAY_BFT_SEED") ? strtoul(getenv("ASSAY_BFT_SEED"), NULL, 10) : 1;
	for (unsigned long seed = first; seed < first + seeds; seed++) {
		struct sim_result r = sim_run(seed, 0);
		if (!r.safe || !r.live || r.evidence_bad || r.commit_bad || r.violations || r.broken) {
			if (unsafe + dead + bad < 10)
				fprintf(stderr, "seed %lu: safe %d live %d evidence_bad %d commit_bad %d violations %d broken %d\n",
					seed, r.safe, r.live, r.evidence_bad, r.commit_bad, r.violations, r.broken);
			unsafe += !r.safe;
			dead += !r.live;
			bad += (r.evidence_bad || r.commit_bad || r.violations || r.broken);
		}
		heights += r.heights;
		delivered += r.delivered;
		evidence += (uint64_t)r.evidence_ok;
	}
	fprintf(stderr, "simulation: %lu seeds, %llu honest decisions, %llu messages, %llu evidence records\n", seeds,
		(unsigned long long)heights, (unsigned long long)delivered, (unsigned long long)evidence);
	CHECK(unsafe == 0);
	CHECK(dead == 0);
	CHECK(bad == 0);
}

static void test_simulation_fork(void)
{
	/* With at least a third of the power equivocating, two honest groups
	 * can decide different values: the engine cannot stop that, but an
	 * honest node sees the double signatures and reports them. */
	int seeds = 40, forked = 0, caught = 0, wrong = 0;
	for (int seed = 1; seed <= seeds; seed++) {
		struct sim_result r = sim_run((uint64_t)seed, 1);
		forked += r.forked;
		caught += r.forked && r.evidence_ok > 0;
		wrong += r.evidence_bad + r.violations + r.broken;
	}
	fprintf(stderr, "fork simulation: %d seeds, %d forked, %d of them caught as evidence\n", seeds, forked,
		caught);
	CHECK(forked > seeds / 2);
	CHECK(caught == forked);
	CHECK(wrong == 0);
}

/* A flood of valid-looking, correctly signed votes from one validator (less
 * than a third of the power, so no round skip): far-future rounds, many
 * values per round, and the next height. What the engine keeps stays
 * within the bounds of docs/consensus.md §5, and the engine stays where it
 * was. */
static void test_vote_flood_bounded(void)
{
	struct harness h;
	h_open(&h, 4, 1);
	h_clear(&h);
	uint32_t refused = 0;
	for (uint32_t r = 0; r < 3000; r++) {
		for (uint8_t k = 0; k < 6; k++) {
			uint8_t val[HASH_LEN] = {0x77, k, (uint8_t)r, (uint8_t)(r >> 8)};
			refused += h_vote_in(&h, VOTE_PREVOTE, 1, r, val, 3) != 0;
			refused += h_vote_in(&h, VOTE_PRECOMMIT, 1, r, k ? val : NULL, 3) != 0;
		}
		h_clear(&h);
	}
	for (uint32_t r = 0; r < 6000; r++)
		refused += h_vote_in(&h, VOTE_PREVOTE, 2, r, VA, 3) != 0;
	h_clear(&h);
	CHECK_EQ_U64(bft_round(h.e), 0);
	CHECK_EQ_U64(bft_height(h.e), 1);
	/* rounds 0..8 stored, 2 kinds, the first vote and 3 conflicting ones each;
	 * the next height's messages up to BFT_MAX_FUTURE_PER_SIGNER */
	size_t stored = bft_stored_messages(h.e);
	CHECK(stored <= (BFT_MAX_ROUNDS_AHEAD + 1) * 2 * (1 + BFT_MAX_EXTRA_VOTES) + BFT_MAX_FUTURE_PER_SIGNER);
	CHECK(stored >= BFT_MAX_FUTURE_PER_SIGNER);
	CHECK(refused > 0);
	/* far-ahead votes that do not raise the signer's round are no news
	 * (the node neither logs nor relays them) */
	uint8_t other[HASH_LEN] = {0x78, 9};
	CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 1, 2999, other, 3), ASSAY_EEXISTS);
	CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 1, 3000, other, 3), 0);
	/* the round's tallies stay readable and honest: one voter, power 1 */
	const struct bft_voteset *pv = bft_votes(h.e, 0, VOTE_PREVOTE);
	CHECK(pv && pv->power_any == 1);
	CHECK_EQ_U64(bft_total_power(h.e), 4);
	CHECK(bft_votes(h.e, 5000, VOTE_PREVOTE) == NULL);
	h_close(&h);
}

/* Messages for the next height are kept only from members of the set with
 * signatures that verify, at most BFT_MAX_FUTURE_PER_SIGNER each: anyone
 * else's are refused before they are kept (the node logs and relays what
 * is kept), a forged signature with ASSAY_ESIG, an outsider's good one
 * with ASSAY_ELIMIT (it may join at that height). A proposal is kept only
 * from its round's proposer, one a round: else any member could make every
 * node keep blocks of its own, pushing out the one being decided. What was
 * kept is taken up at the next height. */
static void test_future_from_members_only(void)
{
	struct harness h;
	h_open(&h, 4, 3);
	h_clear(&h);
	size_t before = bft_stored_messages(h.e);
	struct bft_vote v = mk_vote(VOTE_PREVOTE, 2, 0, VA, 9); /* key 9: no member */
	CHECK_EQ_INT(bft_on_vote(h.e, &v), ASSAY_ELIMIT);
	struct bft_proposal p = mk_prop(2, 0, BFT_POL_NONE, VA, 9);
	CHECK_EQ_INT(bft_on_proposal(h.e, &p), ASSAY_ELIMIT);
	v.sig[0] ^= 1; /* forged: refused as such, whoever it names */
	CHECK_EQ_INT(bft_on_vote(h.e, &v), ASSAY_ESIG);
	v = mk_vote(VOTE_PREVOTE, 2, 0, VA, 1);
	v.sig[0] ^= 1;
	CHECK_EQ_INT(bft_on_vote(h.e, &v), ASSAY_ESIG);
	p = mk_prop(2, 0, BFT_POL_NONE, VA, 1);
	p.sig[0] ^= 1;
	CHECK_EQ_INT(bft_on_proposal(h.e, &p), ASSAY_ESIG);
	static const uint8_t zero_value[HASH_LEN];
	p = mk_prop(2, 0, BFT_POL_NONE, zero_value, 1);
	CHECK_EQ_INT(bft_on_proposal(h.e, &p), ASSAY_EINVALID);
	v = mk_vote(VOTE_PREVOTE, 2, BFT_MAX_ROUND_JUMP + 1, VA, 1);
	CHECK_EQ_INT(bft_on_vote(h.e, &v), ASSAY_ELIMIT);
	CHECK_EQ_U64(bft_stored_messages(h.e), before);
	/* a proposal only from the proposer of that round of height 2: one
	 * of the four, once a round (a second is equivocation), and only
	 * rounds up to BFT_MAX_ROUNDS_AHEAD */
	int proposers = 0, who = -1;
	for (int i = 0; i < 4; i++) {
		int rc = h_prop_in(&h, 2, 0, BFT_POL_NONE, VB, i);
		CHECK(rc == 0 || rc == ASSAY_ELIMIT);
		if (rc == 0) {
			proposers++;
			who = i;
		}
	}
	CHECK_EQ_INT(proposers, 1);
	uint8_t vc[HASH_LEN] = {0x77, 1};
	CHECK_EQ_INT(h_prop_in(&h, 2, 0, BFT_POL_NONE, vc, who), ASSAY_ELIMIT);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(h_prop_in(&h, 2, BFT_MAX_ROUNDS_AHEAD + 1, BFT_POL_NONE, VB, i), ASSAY_ELIMIT);
	CHECK_EQ_U64(bft_stored_messages(h.e), before + 1);
	/* a member's: kept, up to its share */
	uint32_t share = BFT_MAX_FUTURE_PER_SIGNER - (who == 1); /* a proposal counts too */
	for (uint32_t r = 0; r < share; r++)
		CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 2, r, VA, 1), 0);
	CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 2, share, VA, 1), ASSAY_ELIMIT);
	CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 2, 0, VA, 1), ASSAY_EEXISTS);
	CHECK_EQ_U64(bft_stored_messages(h.e), before + share + 1);
	/* height 1 decided: height 2 takes up what was kept (validator 1's
	 * prevote of round 0 is among the round's votes) */
	CHECK(h_prop_in(&h, 1, 0, BFT_POL_NONE, VA, 0) == 0);
	CHECK(bft_on_validity(h.e, 1, VA, 1) == 0);
	for (uint32_t i = 0; i < 3; i++)
		CHECK(h_vote_in(&h, VOTE_PRECOMMIT, 1, 0, VA, i) == 0);
	CHECK_EQ_U64(bft_height(h.e), 2);
	const struct bft_voteset *pv = bft_votes(h.e, 0, VOTE_PREVOTE);
	CHECK(pv && pv->power_any >= 1);
	/* the kept proposal was its round's: taken, so now known */
	CHECK_EQ_INT(h_prop_in(&h, 2, 0, BFT_POL_NONE, VB, who), ASSAY_EEXISTS);
	for (int i = 0; i < 4; i++)
		if (i != who)
			CHECK_EQ_INT(h_prop_in(&h, 2, 0, BFT_POL_NONE, VB, i), ASSAY_EINVALID);
	/* and the share is counted afresh for height 3 */
	CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 3, 0, VA, 1), 0);
	h_close(&h);
}

/* The faulty third of the largest set, each filling its share of the
 * next-height buffer, leaves room for everyone else's messages. */
static void test_future_share_for_all(void)
{
	struct harness h;
	h_open(&h, BFT_MAX_VALIDATORS, 0);
	h_clear(&h);
	uint32_t faulty = BFT_MAX_VALIDATORS / 3;
	for (uint32_t who = 1; who <= faulty; who++)
		for (uint32_t r = 0; r < BFT_MAX_FUTURE_PER_SIGNER; r++)
			CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 2, r, VA, who), 0);
	CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 2, BFT_MAX_FUTURE_PER_SIGNER, VA, faulty), ASSAY_ELIMIT);
	for (uint32_t who = faulty + 1; who < BFT_MAX_VALIDATORS; who++) {
		CHECK_EQ_INT(h_vote_in(&h, VOTE_PREVOTE, 2, 0, VA, who), 0);
		CHECK_EQ_INT(h_vote_in(&h, VOTE_PRECOMMIT, 2, 0, VA, who), 0);
	}
	CHECK_EQ_INT(h_vote_in(&h, VOTE_PRECOMMIT, 2, 0, VA, BFT_MAX_VALIDATORS - 1), ASSAY_EEXISTS);
	h_close(&h);
}

static const struct test_case tests[] = {
	TEST(test_valset_priority_123),
	TEST(test_valset_equal_and_order),
	TEST(test_valset_rescale_and_centre),
	TEST(test_valset_rejects),
	TEST(test_vote_codec),
	TEST(test_vote_sighash_is_protocol),
	TEST(test_proposal_codec),
	TEST(test_evidence_codec),
	TEST(test_voteset),
	TEST(test_rule_proposal_prevote),
	TEST(test_rule_timeouts),
	TEST(test_rule_lock_unlock),
	TEST(test_rule_pol_reproposal),
	TEST(test_rule_round_skip),
	TEST(test_rule_decide_and_evidence),
	TEST(test_refused_signature),
	TEST(test_one_validator),
	TEST(test_vote_flood_bounded),
	TEST(test_future_from_members_only),
	TEST(test_future_share_for_all),
	TEST(test_simulation),
	TEST(test_simulation_fork),
};

int main(void)
{
	return test_main("test_bft", keys_init, tests, TEST_COUNT(tests));
}

/* The Tendermint state machine (docs/consensus.md §2): every input first
 * records what it brings (ingest_*), then run_rules applies the upon-rules
 * of Algorithm 1 until none fires, so a rule sees the same state whatever
 * order the inputs came in. Own messages are counted as if received. Not
 * for: anything with a clock, a socket or a file (the node drives this). */
#include "consensus/bft/bft.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct prop_slot {
	struct bft_proposal p;
	int8_t validity; /* 1 valid, -1 invalid, 0 asked the node and waiting */
};

struct round_props {
	uint32_t n;
	struct prop_slot slot[BFT_MAX_PROPOSALS_PER_ROUND];
};

struct future_msg {
	uint8_t is_vote;
	struct bft_vote vote;
	struct bft_proposal proposal;
};

/* Where one validator's buffered next-height messages are in e->future, so
 * that a new one is compared with its signer's few, not with all of them. */
struct future_by {
	uint32_t n;
	uint32_t at[BFT_MAX_FUTURE_PER_SIGNER];
};

struct round_power {
	int64_t round;
	uint64_t power;
};

/* Index of what was signed last, for the in-engine double-sign guard. */
enum { SIGNED_PROPOSAL = 0, SIGNED_PREVOTE = 1, SIGNED_PRECOMMIT = 2 };

struct bft_engine {
	struct bft_config cfg;
	struct bft_ops ops;
	int self;                 /* our index in the set, or -1 */
	struct bft_valset base;   /* priorities giving round 0's proposer of this height */
	struct bft_valset cursor; /* base stepped cursor_round times */
	uint32_t cursor_round;
	uint32_t *proposers;      /* proposers[r] for r < nproposers (this height) */
	uint32_t nproposers;

	uint64_t height;
	uint32_t round;
	enum bft_step step;
	int64_t locked_round; /* -1: none */
	uint8_t locked_value[HASH_LEN];
	int64_t valid_round;  /* -1: none */
	uint8_t valid_value[HASH_LEN];
	/* once-per-round flags: Algorithm 1's "for the first time" */
	int prevote_timer_set, precommit_timer_set, lock_rule_done, awaiting_value;

	struct bft_height_votes votes;
	struct round_props **props; /* by round, NULL where none arrived */
	uint32_t nprops;
	int64_t *max_round;       /* per validator: highest round it sent at this height, -1 */
	struct round_power *scratch; /* n entries, for the round-skip rule */
	int skip_dirty;           /* max_round changed since the skip rule last looked */

	struct future_msg *future; /* messages for height + 1, grown on demand */
	uint32_t nfuture, capfuture;
	struct future_by *future_by; /* per validator: the ones it signed */

	int have_last;            /* the previous height's decision, for rebroadcast and evidence */
	struct bft_proposal last_proposal;
	struct commit last_commit;
	uint8_t *last_evidence;   /* per validator: evidence already given against its last precommit */

	int signed_any[3];
	uint64_t signed_height[3];
	uint32_t signed_round[3];

	struct bft_output *out;   /* queue: out[head .. nout-1] */
	size_t head, nout, cap;
	int fault;                /* sticky ASSAY_ENOMEM */
};

static const uint8_t zero_hash[HASH_LEN];

void bft_timeouts_default(struct bft_timeouts *t)
{
	*t = (struct bft_timeouts){3000, 500, 1000, 500, 1000, 500};
}

void bft_timeouts_local(struct bft_timeouts *t)
{
	*t = (struct bft_timeouts){500, 100, 200, 100, 200, 100};
}

uint64_t bft_timeout_ms(const struct bft_timeouts *t, enum bft_step step, uint32_t round)
{
	switch (step) {
	case BFT_STEP_PROPOSE:
		return t->propose_ms + t->propose_delta_ms * round;
	case BFT_STEP_PREVOTE:
		return t->prevote_ms + t->prevote_delta_ms * round;
	default:
		return t->precommit_ms + t->precommit_delta_ms * round;
	}
}

/* ---- outputs ---- */

static struct bft_output *push(bft_engine_t *e, enum bft_output_kind kind)
{
	if (e->fault)
		return NULL;
	if (e->nout == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct bft_output *grown = realloc(e->out, cap * sizeof(*grown));
		if (!grown) {
			e->fault = ASSAY_ENOMEM;
			return NULL;
		}
		e->out = grown;
		e->cap = cap;
	}
	struct bft_output *o = &e->out[e->nout++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->height = e->height;
	o->round = e->round;
	return o;
}

static void push_timeout(bft_engine_t *e, enum bft_step step)
{
	struct bft_output *o = push(e, BFT_OUT_TIMEOUT);
	if (o) {
		o->step = step;
		o->delay_ms = bft_timeout_ms(&e->cfg.timeouts, step, e->round);
	}
}

static void push_evidence(bft_engine_t *e, const struct bft_evidence *ev)
{
	struct bft_output *o = push(e, BFT_OUT_EVIDENCE);
	if (o) {
		o->height = ev->a.height;
		o->round = ev->a.round;
		o->evidence = *ev;
	}
}

int bft_next_output(bft_engine_t *e, struct bft_output *out)
{
	if (e->head == e->nout) {
		e->head = e->nout = 0;
		return 0;
	}
	*out = e->out[e->head++];
	return 1;
}

size_t bft_outputs_queued(const bft_engine_t *e)
{
	return e->nout - e->head;
}

void bft_output_free(struct bft_output *out)
{
	commit_free(&out->commit);
}

/* ---- proposer of each round ---- */

static int proposer_of(bft_engine_t *e, uint32_t round, uint32_t *idx)
{
	if (round < e->nproposers) {
		*idx = e->proposers[round];
		return 0;
	}
	if (round > e->round && round - e->round > BFT_MAX_ROUNDS_AHEAD)
		return ASSAY_ELIMIT;
	uint32_t *grown = realloc(e->proposers, ((size_t)round + 1) * sizeof(*grown));
	if (!grown)
		return e->fault = ASSAY_ENOMEM;
	e->proposers = grown;
	while (e->cursor_round < round) {
		bft_valset_step(&e->cursor);
		e->cursor_round++;
		e->proposers[e->cursor_round] = e->cursor.proposer;
	}
	e->nproposers = round + 1;
	*idx = e->proposers[round];
	return 0;
}

int bft_proposer(bft_engine_t *e, uint32_t round, uint8_t pubkey[PUBKEY_LEN])
{
	uint32_t idx;
	int rc = proposer_of(e, round, &idx);
	if (rc == 0)
		memcpy(pubkey, e->base.v[idx].pubkey, PUBKEY_LEN);
	return rc;
}

/* Round 0 of a height: the proposer cache restarts from base. */
static int reset_proposers(bft_engine_t *e)
{
	bft_valset_free(&e->cursor);
	if (bft_valset_copy(&e->cursor, &e->base))
		return e->fault = ASSAY_ENOMEM;
	e->cursor_round = 0;
	e->nproposers = 1;
	e->proposers[0] = e->base.proposer;
	return 0;
}

/* ---- stored proposals ---- */

static struct round_props *props_at(const bft_engine_t *e, uint32_t round)
{
	return round < e->nprops ? e->props[round] : NULL;
}

static struct round_props *props_get(bft_engine_t *e, uint32_t round)
{
	if (round >= e->nprops) {
		struct round_props **grown = realloc(e->props, ((size_t)round + 1) * sizeof(*grown));
		if (!grown)
			return NULL;
		memset(grown + e->nprops, 0, (size_t)(round + 1 - e->nprops) * sizeof(*grown));
		e->props = grown;
		e->nprops = round + 1;
	}
	if (!e->props[round])
		e->props[round] = calloc(1, sizeof(**e->props));
	return e->props[round];
}

static void props_free(bft_engine_t *e)
{
	for (uint32_t r = 0; r < e->nprops; r++)
		free(e->props[r]);
	free(e->props);
	e->props = NULL;
	e->nprops = 0;
}

static const struct bft_voteset *votes_at(const bft_engine_t *e, uint32_t round, uint8_t type)
{
	return bft_height_votes_get(&e->votes, round, type);
}

static uint64_t power_for(const struct bft_voteset *s, int has_value, const uint8_t *value)
{
	return s ? bft_voteset_power(s, has_value, value) : 0;
}

/* Prevote and precommit power behind value in round: what decides which
 * proposal keeps a slot when a faulty proposer sends too many. */
static uint64_t slot_weight(const bft_engine_t *e, uint32_t round, const uint8_t value[HASH_LEN])
{
	return power_for(votes_at(e, round, VOTE_PREVOTE), 1, value) +
	       power_for(votes_at(e, round, VOTE_PRECOMMIT), 1, value);
}

/* The verdict on value known from any stored proposal: 1, -1, 0 asked and
 * waiting, 2 never seen (the node must be asked). */
static int verdict_of(const bft_engine_t *e, const uint8_t value[HASH_LEN])
{
	int seen = 0;
	for (uint32_t r = 0; r < e->nprops; r++) {
		const struct round_props *rp = e->props[r];
		for (uint32_t i = 0; rp && i < rp->n; i++) {
			if (memcmp(rp->slot[i].p.value, value, HASH_LEN) != 0)
				continue;
			if (rp->slot[i].validity)
				return rp->slot[i].validity;
			seen = 1;
		}
	}
	return seen ? 0 : 2;
}

/* Stores p (checked); validity 1 for our own. 0, ASSAY_EEXISTS, ASSAY_ELIMIT (no room). */
static int store_proposal(bft_engine_t *e, const struct bft_proposal *p, int own)
{
	struct round_props *rp = props_get(e, p->round);
	if (!rp)
		return e->fault = ASSAY_ENOMEM;
	int verdict = own ? 1 : verdict_of(e, p->value);
	uint32_t at = rp->n;
	if (rp->n == BFT_MAX_PROPOSALS_PER_ROUND) {
		uint64_t want = slot_weight(e, p->round, p->value);
		uint32_t weakest = 0;
		uint64_t weakest_w = UINT64_MAX;
		for (uint32_t i = 0; i < rp->n; i++) {
			uint64_t w = slot_weight(e, p->round, rp->slot[i].p.value);
			if (w < weakest_w) {
				weakest_w = w;
				weakest = i;
			}
		}
		if (weakest_w >= want)
			return ASSAY_ELIMIT;
		at = weakest;
	} else {
		rp->n++;
	}
	rp->slot[at].p = *p;
	rp->slot[at].validity = (int8_t)(verdict == 2 ? 0 : verdict);
	if (verdict == 2) {
		struct bft_output *o = push(e, BFT_OUT_VALIDATE);
		if (o) {
			o->round = p->round;
			memcpy(o->value, p->value, HASH_LEN);
		}
	}
	return 0;
}

static void saw_round(bft_engine_t *e, uint32_t idx, uint32_t round)
{
	if ((int64_t)round > e->max_round[idx]) {
		e->max_round[idx] = round;
		e->skip_dirty = 1;
	}
}

/* ---- signing our own messages ---- */

/* The engine's own guard under the node's sign-state: never sign a message
 * kind twice for one (height, round), nor for an earlier one. */
static int may_sign(bft_engine_t *e, int kind, uint64_t height, uint32_t round)
{
	if (!e->signed_any[kind])
		return 1;
	return height > e->signed_height[kind] ||
	       (height == e->signed_height[kind] && round > e->signed_round[kind]);
}

static void mark_signed(bft_engine_t *e, int kind, uint64_t height, uint32_t round)
{
	e->signed_any[kind] = 1;
	e->signed_height[kind] = height;
	e->signed_round[kind] = round;
}

static void cast_vote(bft_engine_t *e, uint8_t type, int has_value, const uint8_t *value)
{
	if (e->self < 0)
		return;
	int kind = type == VOTE_PREVOTE ? SIGNED_PREVOTE : SIGNED_PRECOMMIT;
	if (!may_sign(e, kind, e->height, e->round))
		return;
	struct bft_vote v;
	memset(&v, 0, sizeof(v));
	v.type = type;
	v.height = e->height;
	v.round = e->round;
	v.has_value = has_value ? 1 : 0;
	if (has_value)
		memcpy(v.value, value, HASH_LEN);
	memcpy(v.validator, e->cfg.self, PUBKEY_LEN);
	if (e->ops.sign_vote(e->ops.ctx, &v, v.sig) != 0)
		return; /* refused by the sign-state: stay silent this step */
	mark_signed(e, kind, e->height, e->round);
	struct bft_evidence ev;
	int got_ev;
	int rc = bft_height_votes_add(&e->votes, e->round, (uint32_t)e->self, e->base.v[e->self].power, &v, &ev,
				      &got_ev);
	if (rc == ASSAY_ENOMEM)
		e->fault = rc;
	saw_round(e, (uint32_t)e->self, e->round);
	struct bft_output *o = push(e, BFT_OUT_VOTE);
	if (o)
		o->vote = v;
}

static void cast_proposal(bft_engine_t *e, const uint8_t value[HASH_LEN], uint32_t pol_round)
{
	if (!may_sign(e, SIGNED_PROPOSAL, e->height, e->round))
		return;
	struct bft_proposal p;
	memset(&p, 0, sizeof(p));
	p.height = e->height;
	p.round = e->round;
	p.pol_round = pol_round;
	memcpy(p.value, value, HASH_LEN);
	memcpy(p.proposer, e->cfg.self, PUBKEY_LEN);
	if (e->ops.sign_proposal(e->ops.ctx, &p, p.sig) != 0)
		return;
	mark_signed(e, SIGNED_PROPOSAL, e->height, e->round);
	store_proposal(e, &p, 1);
	saw_round(e, (uint32_t)e->self, e->round);
	struct bft_output *o = push(e, BFT_OUT_PROPOSAL);
	if (o)
		o->proposal = p;
}

/* ---- rounds and heights ---- */

/* StartRound(round) of Algorithm 1. Every node, the proposer too, sets the
 * propose timer: the proposer's node may never supply a value. */
static void start_round(bft_engine_t *e, uint32_t round)
{
	e->round = round;
	e->step = BFT_STEP_PROPOSE;
	e->prevote_timer_set = e->precommit_timer_set = e->lock_rule_done = e->awaiting_value = 0;
	uint32_t pidx;
	if (proposer_of(e, round, &pidx))
		return;
	if (e->self >= 0 && pidx == (uint32_t)e->self) {
		if (e->valid_round >= 0) {
			cast_proposal(e, e->valid_value, (uint32_t)e->valid_round);
		} else {
			e->awaiting_value = 1;
			push(e, BFT_OUT_GET_VALUE);
		}
	}
	push_timeout(e, BFT_STEP_PROPOSE);
}

static int ingest_proposal(bft_engine_t *e, const struct bft_proposal *p);
static int ingest_vote(bft_engine_t *e, const struct bft_vote *v);

static int new_height(bft_engine_t *e)
{
	e->height++;
	bft_height_votes_free(&e->votes);
	bft_height_votes_init(&e->votes, e->height, e->base.n);
	props_free(e);
	for (uint32_t i = 0; i < e->base.n; i++)
		e->max_round[i] = -1;
	e->skip_dirty = 0;
	e->locked_round = e->valid_round = -1;
	memset(e->locked_value, 0, HASH_LEN);
	memset(e->valid_value, 0, HASH_LEN);
	bft_valset_step(&e->base);
	if (reset_proposers(e))
		return e->fault;
	start_round(e, 0);
	/* What arrived early is now current; anything not taken is dropped. */
	struct future_msg *early = e->future;
	uint32_t nearly = e->nfuture;
	e->future = NULL;
	e->nfuture = e->capfuture = 0;
	memset(e->future_by, 0, (size_t)e->base.n * sizeof(*e->future_by));
	for (uint32_t i = 0; i < nearly && !e->fault; i++) {
		if (early[i].is_vote)
			ingest_vote(e, &early[i].vote);
		else
			ingest_proposal(e, &early[i].proposal);
	}
	free(early);
	return e->fault;
}

/* Decides value in round. p: its proposal when we hold it (else the output
 * carries a zero proposal); c: a commit handed in, else one is built from
 * our precommits. */
static void decide(bft_engine_t *e, uint32_t round, const uint8_t value[HASH_LEN], const struct bft_proposal *p,
		   const struct commit *c)
{
	struct bft_output *o = push(e, BFT_OUT_DECIDE);
	if (!o)
		return;
	o->round = round;
	memcpy(o->value, value, HASH_LEN);
	if (p)
		o->proposal = *p;
	int rc;
	if (c) {
		o->commit = *c;
		o->commit.sigs = malloc((size_t)(c->nsigs ? c->nsigs : 1) * sizeof(struct commit_sig));
		rc = o->commit.sigs ? 0 : ASSAY_ENOMEM;
		if (!rc)
			memcpy(o->commit.sigs, c->sigs, (size_t)c->nsigs * sizeof(struct commit_sig));
		else
			memset(&o->commit, 0, sizeof(o->commit));
	} else {
		rc = bft_voteset_commit(votes_at(e, round, VOTE_PRECOMMIT), &e->base, value, &o->commit);
	}
	if (rc) {
		e->fault = ASSAY_ENOMEM;
		return;
	}
	commit_free(&e->last_commit);
	e->last_commit = o->commit;
	e->last_commit.sigs = malloc((size_t)(o->commit.nsigs ? o->commit.nsigs : 1) * sizeof(struct commit_sig));
	if (!e->last_commit.sigs) {
		memset(&e->last_commit, 0, sizeof(e->last_commit));
		e->fault = ASSAY_ENOMEM;
		return;
	}
	memcpy(e->last_commit.sigs, o->commit.sigs, (size_t)o->commit.nsigs * sizeof(struct commit_sig));
	e->last_proposal = o->proposal; /* height 0 when we never saw it */
	e->have_last = 1;
	memset(e->last_evidence, 0, e->base.n);
	new_height(e);
}

/* The round-skip rule: the highest round r above ours that validators with
 * more than 1/3 of the power have reached (sent a message at r or later).
 * At least one of them is correct, so r is a live round. -1 if none. */
static int64_t skip_target(bft_engine_t *e)
{
	uint32_t m = 0;
	for (uint32_t i = 0; i < e->base.n; i++) {
		if (e->max_round[i] > (int64_t)e->round)
			e->scratch[m++] = (struct round_power){e->max_round[i], e->base.v[i].power};
	}
	/* insertion sort, highest round first: m is at most n and this runs
	 * only when some validator's round went up */
	for (uint32_t i = 1; i < m; i++) {
		struct round_power x = e->scratch[i];
		uint32_t j = i;
		for (; j > 0 && e->scratch[j - 1].round < x.round; j--)
			e->scratch[j] = e->scratch[j - 1];
		e->scratch[j] = x;
	}
	uint64_t acc = 0;
	for (uint32_t i = 0; i < m; i++) {
		acc += e->scratch[i].power;
		if (bft_power_one_third(acc, e->base.total))
			return e->scratch[i].round;
	}
	return -1;
}

/* Applies the first upon-rule of Algorithm 1 that fires: 1 if one did. */
static int rule_once(bft_engine_t *e)
{
	uint64_t total = e->base.total;
	if (e->skip_dirty) { /* line 55: f+1 messages of a higher round */
		e->skip_dirty = 0;
		int64_t target = skip_target(e);
		if (target > (int64_t)e->round) {
			start_round(e, (uint32_t)target);
			return 1;
		}
	}
	struct round_props *rp = props_at(e, e->round);
	const struct bft_voteset *pv = votes_at(e, e->round, VOTE_PREVOTE);
	if (e->step == BFT_STEP_PROPOSE && rp) {
		for (uint32_t i = 0; i < rp->n; i++) {
			const struct prop_slot *s = &rp->slot[i];
			int ok;
			if (s->p.pol_round == BFT_POL_NONE) { /* line 22 */
				if (s->validity == 0)
					continue;
				ok = s->validity > 0 &&
				     (e->locked_round < 0 || memcmp(e->locked_value, s->p.value, HASH_LEN) == 0);
			} else { /* line 28: a re-proposal with its proof-of-lock round */
				uint32_t vr = s->p.pol_round;
				if (vr >= e->round ||
				    !bft_power_quorum(power_for(votes_at(e, vr, VOTE_PREVOTE), 1, s->p.value), total) ||
				    s->validity == 0)
					continue;
				ok = s->validity > 0 && (e->locked_round <= (int64_t)vr ||
							 memcmp(e->locked_value, s->p.value, HASH_LEN) == 0);
			}
			cast_vote(e, VOTE_PREVOTE, ok, s->p.value);
			e->step = BFT_STEP_PREVOTE;
			return 1;
		}
	}
	if (e->step == BFT_STEP_PREVOTE && !e->prevote_timer_set && pv && bft_power_quorum(pv->power_any, total)) {
		e->prevote_timer_set = 1; /* line 34 */
		push_timeout(e, BFT_STEP_PREVOTE);
		return 1;
	}
	if (e->step >= BFT_STEP_PREVOTE && !e->lock_rule_done && rp && pv) { /* line 36 */
		for (uint32_t i = 0; i < rp->n; i++) {
			const struct prop_slot *s = &rp->slot[i];
			if (s->validity <= 0 || !bft_power_quorum(bft_voteset_power(pv, 1, s->p.value), total))
				continue;
			e->lock_rule_done = 1;
			if (e->step == BFT_STEP_PREVOTE) {
				memcpy(e->locked_value, s->p.value, HASH_LEN);
				e->locked_round = e->round;
				cast_vote(e, VOTE_PRECOMMIT, 1, s->p.value);
				e->step = BFT_STEP_PRECOMMIT;
			}
			memcpy(e->valid_value, s->p.value, HASH_LEN);
			e->valid_round = e->round;
			return 1;
		}
	}
	if (e->step == BFT_STEP_PREVOTE && pv && bft_power_quorum(bft_voteset_power(pv, 0, NULL), total)) {
		cast_vote(e, VOTE_PRECOMMIT, 0, NULL); /* line 44 */
		e->step = BFT_STEP_PRECOMMIT;
		return 1;
	}
	const struct bft_voteset *pc = votes_at(e, e->round, VOTE_PRECOMMIT);
	if (!e->precommit_timer_set && pc && bft_power_quorum(pc->power_any, total)) {
		e->precommit_timer_set = 1; /* line 47 */
		push_timeout(e, BFT_STEP_PRECOMMIT);
		return 1;
	}
	for (uint32_t r = 0; r < e->nprops; r++) { /* line 49: decide, in any round */
		const struct round_props *any = e->props[r];
		const struct bft_voteset *c = votes_at(e, r, VOTE_PRECOMMIT);
		for (uint32_t i = 0; any && c && i < any->n; i++) {
			if (any->slot[i].validity > 0 &&
			    bft_power_quorum(bft_voteset_power(c, 1, any->slot[i].p.value), total)) {
				struct bft_proposal p = any->slot[i].p; /* decide frees the slots */
				decide(e, r, p.value, &p, NULL);
				return 1;
			}
		}
	}
	return 0;
}

static int run_rules(bft_engine_t *e)
{
	while (!e->fault && rule_once(e))
		;
	return e->fault;
}

/* ---- inputs ---- */

static int check_sig(bft_engine_t *e, const uint8_t pubkey[PUBKEY_LEN], const uint8_t hash[HASH_LEN],
		     const uint8_t sig[SIG_LEN])
{
	return e->ops.verify(e->ops.ctx, pubkey, hash, sig) == 0 ? 0 : ASSAY_ESIG;
}

/* The proposer of round `round` of the next height: new_height steps the
 * set once, then each round steps it again (proposer_of). */
static int next_height_proposer(bft_engine_t *e, uint32_t round, uint32_t *idx)
{
	struct bft_valset vs;
	if (bft_valset_copy(&vs, &e->base))
		return e->fault = ASSAY_ENOMEM;
	for (uint32_t r = 0; r <= round; r++)
		bft_valset_step(&vs);
	*idx = vs.proposer;
	bft_valset_free(&vs);
	return 0;
}

/* A message for the next height, kept until the engine gets there. Only
 * one signed by a member of this height's set, with a signature that
 * verifies, is kept (and then logged and relayed by the node): the set of
 * the next height is this one's stepped, since a change to it rebuilds the
 * engine (bft_create). A forged signature is ASSAY_ESIG, whoever it names.
 * A good one from outside the set is ASSAY_ELIMIT rather than
 * ASSAY_ENOTFOUND, as a validator that joins at the next height is not in
 * this set yet. Each member keeps at most BFT_MAX_FUTURE_PER_SIGNER, so
 * that the faulty third cannot crowd out the others (the buffer holds that
 * many for every member of the largest set); a proposal only from that
 * round's proposer, one a round, rounds 0 to BFT_MAX_ROUNDS_AHEAD. */
static int buffer_future(bft_engine_t *e, int is_vote, const struct bft_vote *v, const struct bft_proposal *p)
{
	const uint8_t *signer = is_vote ? v->validator : p->proposer;
	if ((is_vote ? v->round : p->round) > BFT_MAX_ROUND_JUMP)
		return ASSAY_ELIMIT; /* the next height starts at round 0 */
	int idx = bft_valset_find(&e->base, signer);
	const struct future_by *by = idx >= 0 ? &e->future_by[idx] : NULL;
	for (uint32_t i = 0; by && i < by->n; i++) {
		const struct future_msg *f = &e->future[by->at[i]];
		if (f->is_vote == is_vote && (is_vote ? memcmp(&f->vote, v, sizeof(*v)) == 0
						      : memcmp(&f->proposal, p, sizeof(*p)) == 0))
			return ASSAY_EEXISTS;
		/* one proposal per round (only its proposer's are kept): a
		 * second is equivocation, and each carries a block the node
		 * keeps and logs */
		if (!is_vote && !f->is_vote && f->proposal.round == p->round)
			return ASSAY_ELIMIT;
	}
	if (!is_vote) {
		/* only the proposer of that round of the next height, and only
		 * rounds it can reach soon: anyone else's proposal would make
		 * the node keep (and log) a block of theirs, pushing out the one
		 * being decided */
		if (p->round > BFT_MAX_ROUNDS_AHEAD)
			return ASSAY_ELIMIT;
		uint32_t want;
		int rc = next_height_proposer(e, p->round, &want);
		if (rc)
			return rc;
		if (memcmp(e->base.v[want].pubkey, p->proposer, PUBKEY_LEN) != 0)
			return ASSAY_ELIMIT; /* no points: the next set could differ (bft_create) */
	}
	uint8_t h[HASH_LEN];
	if (is_vote)
		bft_vote_sighash(e->cfg.chain_id, v, h);
	else
		bft_proposal_sighash(e->cfg.chain_id, p, h);
	int rc = check_sig(e, signer, h, is_vote ? v->sig : p->sig);
	if (rc)
		return rc;
	if (idx < 0 || e->nfuture == BFT_MAX_FUTURE_MSGS || by->n == BFT_MAX_FUTURE_PER_SIGNER)
		return ASSAY_ELIMIT;
	if (e->nfuture == e->capfuture) {
		uint32_t cap = e->capfuture ? e->capfuture * 2 : 16;
		if (cap > BFT_MAX_FUTURE_MSGS)
			cap = BFT_MAX_FUTURE_MSGS;
		struct future_msg *grown = realloc(e->future, (size_t)cap * sizeof(*grown));
		if (!grown)
			return e->fault = ASSAY_ENOMEM;
		e->future = grown;
		e->capfuture = cap;
	}
	e->future_by[idx].at[e->future_by[idx].n++] = e->nfuture;
	struct future_msg *f = &e->future[e->nfuture++];
	memset(f, 0, sizeof(*f));
	f->is_vote = (uint8_t)is_vote;
	if (is_vote)
		f->vote = *v;
	else
		f->proposal = *p;
	return 0;
}

static int ingest_proposal(bft_engine_t *e, const struct bft_proposal *p)
{
	if (p->height < e->height)
		return ASSAY_EEXISTS;
	if (p->height - e->height > 1)
		return ASSAY_ELIMIT;
	if (p->round > BFT_MAX_ROUND || (p->pol_round != BFT_POL_NONE && p->pol_round >= p->round) ||
	    memcmp(p->value, zero_hash, HASH_LEN) == 0)
		return ASSAY_EINVALID;
	if (p->height != e->height)
		return buffer_future(e, 0, NULL, p);
	if ((uint64_t)p->round > (uint64_t)e->round + BFT_MAX_ROUND_JUMP)
		return ASSAY_ELIMIT;
	uint32_t pidx;
	int rc = proposer_of(e, p->round, &pidx);
	if (rc)
		return rc;
	if (memcmp(e->base.v[pidx].pubkey, p->proposer, PUBKEY_LEN) != 0)
		return bft_valset_find(&e->base, p->proposer) < 0 ? ASSAY_ENOTFOUND : ASSAY_EINVALID;
	const struct round_props *rp = props_at(e, p->round);
	for (uint32_t i = 0; rp && i < rp->n; i++) {
		if (memcmp(&rp->slot[i].p, p, sizeof(*p)) == 0)
			return ASSAY_EEXISTS;
	}
	uint8_t h[HASH_LEN];
	bft_proposal_sighash(e->cfg.chain_id, p, h);
	if ((rc = check_sig(e, p->proposer, h, p->sig)))
		return rc;
	saw_round(e, pidx, p->round);
	return store_proposal(e, p, 0);
}

/* A precommit for the height just decided: evidence if it contradicts a
 * precommit of the same validator in our commit. */
static int check_last_commit(bft_engine_t *e, const struct bft_vote *v)
{
	if (!e->have_last || v->type != VOTE_PRECOMMIT || v->round != e->last_commit.round)
		return ASSAY_EEXISTS;
	if (v->has_value && memcmp(v->value, e->last_commit.block_hash, HASH_LEN) == 0)
		return ASSAY_EEXISTS;
	int idx = bft_valset_find(&e->base, v->validator);
	if (idx < 0)
		return ASSAY_ENOTFOUND;
	const struct commit_sig *cs = NULL;
	for (uint32_t i = 0; i < e->last_commit.nsigs; i++) {
		if (memcmp(e->last_commit.sigs[i].validator, v->validator, PUBKEY_LEN) == 0)
			cs = &e->last_commit.sigs[i];
	}
	if (!cs || e->last_evidence[idx])
		return ASSAY_EEXISTS;
	uint8_t h[HASH_LEN];
	bft_vote_sighash(e->cfg.chain_id, v, h);
	int rc = check_sig(e, v->validator, h, v->sig);
	if (rc)
		return rc;
	struct bft_vote mine;
	memset(&mine, 0, sizeof(mine));
	mine.type = VOTE_PRECOMMIT;
	mine.height = e->last_commit.height;
	mine.round = e->last_commit.round;
	mine.has_value = 1;
	memcpy(mine.value, e->last_commit.block_hash, HASH_LEN);
	memcpy(mine.validator, cs->validator, PUBKEY_LEN);
	memcpy(mine.sig, cs->sig, SIG_LEN);
	struct bft_evidence ev;
	if (bft_evidence_make(&ev, &mine, v) == 0) {
		e->last_evidence[idx] = 1;
		push_evidence(e, &ev);
	}
	return 0;
}

static int ingest_vote(bft_engine_t *e, const struct bft_vote *v)
{
	if ((v->type != VOTE_PREVOTE && v->type != VOTE_PRECOMMIT) || v->round > BFT_MAX_ROUND ||
	    (v->has_value && memcmp(v->value, zero_hash, HASH_LEN) == 0))
		return ASSAY_EINVALID;
	if (v->height + 1 == e->height)
		return check_last_commit(e, v);
	if (v->height < e->height)
		return ASSAY_EEXISTS;
	if (v->height - e->height == 1)
		return buffer_future(e, 1, v, NULL);
	if (v->height != e->height)
		return ASSAY_ELIMIT;
	if ((uint64_t)v->round > (uint64_t)e->round + BFT_MAX_ROUND_JUMP)
		return ASSAY_ELIMIT;
	int idx = bft_valset_find(&e->base, v->validator);
	if (idx < 0)
		return ASSAY_ENOTFOUND;
	const struct bft_voteset *s = votes_at(e, v->round, v->type);
	const struct bft_vote *have = s ? bft_voteset_get_for(s, (uint32_t)idx, v->has_value, v->value) : NULL;
	if (have)
		return ASSAY_EEXISTS; /* signatures are deterministic: same vote, nothing new */
	uint8_t h[HASH_LEN];
	bft_vote_sighash(e->cfg.chain_id, v, h);
	int rc = check_sig(e, v->validator, h, v->sig);
	if (rc)
		return rc;
	int raised = (int64_t)v->round > e->max_round[idx];
	saw_round(e, (uint32_t)idx, v->round);
	struct bft_evidence ev;
	int got_ev;
	rc = bft_height_votes_add(&e->votes, e->round, (uint32_t)idx, e->base.v[idx].power, v, &ev, &got_ev);
	if (got_ev)
		push_evidence(e, &ev);
	/* Too far ahead, or too many conflicting: not stored, but it counted
	 * for the round skip, and is news (logged, relayed) only when it raised
	 * its signer's round: else one validator could sign such votes without
	 * end, each logged by every node. */
	if (rc == ASSAY_ELIMIT)
		return raised ? 0 : ASSAY_EEXISTS;
	if (rc == ASSAY_ENOMEM)
		return e->fault = rc;
	return rc;
}

int bft_on_proposal(bft_engine_t *e, const struct bft_proposal *p)
{
	if (e->fault)
		return e->fault;
	int rc = ingest_proposal(e, p);
	int frc = run_rules(e);
	return frc ? frc : rc;
}

int bft_on_vote(bft_engine_t *e, const struct bft_vote *v)
{
	if (e->fault)
		return e->fault;
	int rc = ingest_vote(e, v);
	int frc = run_rules(e);
	return frc ? frc : rc;
}

int bft_on_timeout(bft_engine_t *e, enum bft_step step, uint64_t height, uint32_t round)
{
	if (e->fault)
		return e->fault;
	if (height != e->height || round != e->round)
		return ASSAY_EEXISTS;
	if (step == BFT_STEP_PROPOSE && e->step == BFT_STEP_PROPOSE) {
		cast_vote(e, VOTE_PREVOTE, 0, NULL); /* line 57 */
		e->step = BFT_STEP_PREVOTE;
	} else if (step == BFT_STEP_PREVOTE && e->step == BFT_STEP_PREVOTE) {
		cast_vote(e, VOTE_PRECOMMIT, 0, NULL); /* line 61 */
		e->step = BFT_STEP_PRECOMMIT;
	} else if (step == BFT_STEP_PRECOMMIT) {
		start_round(e, round + 1); /* line 65 */
	} else {
		return ASSAY_EEXISTS;
	}
	return run_rules(e);
}

int bft_on_value(bft_engine_t *e, uint64_t height, uint32_t round, const uint8_t value[HASH_LEN])
{
	if (e->fault)
		return e->fault;
	if (memcmp(value, zero_hash, HASH_LEN) == 0)
		return ASSAY_EINVALID;
	if (height != e->height || round != e->round || !e->awaiting_value || e->step != BFT_STEP_PROPOSE)
		return ASSAY_EEXISTS;
	e->awaiting_value = 0;
	cast_proposal(e, value, BFT_POL_NONE);
	return run_rules(e);
}

int bft_on_validity(bft_engine_t *e, uint64_t height, const uint8_t value[HASH_LEN], int valid)
{
	if (e->fault)
		return e->fault;
	if (height != e->height)
		return ASSAY_EEXISTS;
	for (uint32_t r = 0; r < e->nprops; r++) {
		struct round_props *rp = e->props[r];
		for (uint32_t i = 0; rp && i < rp->n; i++) {
			if (memcmp(rp->slot[i].p.value, value, HASH_LEN) == 0 && rp->slot[i].validity == 0)
				rp->slot[i].validity = valid ? 1 : -1;
		}
	}
	return run_rules(e);
}

/* Queues the prevotes for value in round: the proof-of-lock a peer needs
 * to accept a re-proposal (line 28). */
static void relay_prevotes(bft_engine_t *e, uint32_t round, const uint8_t value[HASH_LEN])
{
	const struct bft_voteset *s = votes_at(e, round, VOTE_PREVOTE);
	for (uint32_t i = 0; s && i < s->n; i++) {
		const struct bft_vote *v = bft_voteset_get_for(s, i, 1, value);
		if (!v)
			continue;
		struct bft_output *o = push(e, BFT_OUT_VOTE);
		if (o) {
			o->round = round;
			o->vote = *v;
		}
	}
}

int bft_rebroadcast(bft_engine_t *e)
{
	if (e->fault)
		return e->fault;
	const struct round_props *rp = props_at(e, e->round);
	for (uint32_t i = 0; rp && i < rp->n; i++) {
		struct bft_output *o = push(e, BFT_OUT_PROPOSAL);
		if (o)
			o->proposal = rp->slot[i].p;
		if (rp->slot[i].p.pol_round != BFT_POL_NONE)
			relay_prevotes(e, rp->slot[i].p.pol_round, rp->slot[i].p.value);
	}
	if (e->valid_round >= 0 && (uint32_t)e->valid_round != e->round)
		relay_prevotes(e, (uint32_t)e->valid_round, e->valid_value);
	/* our votes of the last rounds too: a peer still in an earlier round
	 * may lack exactly those to time out of it */
	uint32_t from = e->round > BFT_REBROADCAST_ROUNDS ? e->round - BFT_REBROADCAST_ROUNDS : 0;
	for (uint32_t r = from; e->self >= 0 && r <= e->round; r++) {
		for (uint8_t type = VOTE_PREVOTE; type <= VOTE_PRECOMMIT; type++) {
			const struct bft_voteset *s = votes_at(e, r, type);
			const struct bft_vote *mine = s ? bft_voteset_get(s, (uint32_t)e->self) : NULL;
			struct bft_output *o = mine ? push(e, BFT_OUT_VOTE) : NULL;
			if (o) {
				o->round = r;
				o->vote = *mine;
			}
		}
	}
	if (e->have_last) {
		struct bft_output *o = e->last_proposal.height ? push(e, BFT_OUT_PROPOSAL) : NULL;
		if (o) {
			o->height = e->last_proposal.height;
			o->proposal = e->last_proposal;
		}
		for (uint32_t i = 0; i < e->last_commit.nsigs; i++) {
			o = push(e, BFT_OUT_VOTE);
			if (!o)
				break;
			struct bft_vote *v = &o->vote;
			v->type = VOTE_PRECOMMIT;
			v->height = o->height = e->last_commit.height;
			v->round = o->round = e->last_commit.round;
			v->has_value = 1;
			memcpy(v->value, e->last_commit.block_hash, HASH_LEN);
			memcpy(v->validator, e->last_commit.sigs[i].validator, PUBKEY_LEN);
			memcpy(v->sig, e->last_commit.sigs[i].sig, SIG_LEN);
		}
	}
	return e->fault;
}

int bft_on_commit(bft_engine_t *e, const struct commit *c)
{
	if (e->fault)
		return e->fault;
	if (c->height < e->height)
		return ASSAY_EEXISTS;
	if (c->height != e->height)
		return ASSAY_ELIMIT;
	if (c->round > BFT_MAX_ROUND || c->nsigs > e->base.n || memcmp(c->block_hash, zero_hash, HASH_LEN) == 0)
		return ASSAY_EINVALID;
	uint8_t *seen = calloc(e->base.n, 1);
	if (!seen)
		return e->fault = ASSAY_ENOMEM;
	uint8_t h[HASH_LEN];
	vote_sighash(e->cfg.chain_id, VOTE_PRECOMMIT, c->height, c->round, c->block_hash, h);
	uint64_t power = 0;
	int rc = 0;
	for (uint32_t i = 0; i < c->nsigs && !rc; i++) {
		int idx = bft_valset_find(&e->base, c->sigs[i].validator);
		if (idx < 0)
			rc = ASSAY_ENOTFOUND;
		else if (seen[idx])
			rc = ASSAY_EINVALID; /* one signature per validator (protocol §4.3) */
		else if ((rc = check_sig(e, c->sigs[i].validator, h, c->sigs[i].sig)) == 0)
			power += e->base.v[idx].power;
		if (idx >= 0)
			seen[idx] = 1;
	}
	free(seen);
	if (rc)
		return rc;
	if (!bft_power_quorum(power, e->base.total))
		return ASSAY_EINVALID;
	const struct round_props *rp = props_at(e, c->round);
	struct bft_proposal p, *have = NULL;
	for (uint32_t i = 0; rp && i < rp->n; i++) {
		if (memcmp(rp->slot[i].p.value, c->block_hash, HASH_LEN) == 0) {
			p = rp->slot[i].p;
			have = &p;
		}
	}
	decide(e, c->round, c->block_hash, have, c);
	return run_rules(e);
}

/* ---- lifetime and state ---- */

bft_engine_t *bft_create(const struct bft_config *cfg, const struct bft_valset *vals, const struct bft_ops *ops,
			 char *err, size_t errlen)
{
	if (cfg->height == 0 || !ops->verify || (cfg->is_validator && (!ops->sign_vote || !ops->sign_proposal))) {
		assay_fail(err, errlen, ASSAY_EARG, "bft: height 0 or a missing callback");
		return NULL;
	}
	int self = -1;
	if (cfg->is_validator && (self = bft_valset_find(vals, cfg->self)) < 0) {
		assay_fail(err, errlen, ASSAY_EARG, "bft: our key is not in the validator set");
		return NULL;
	}
	bft_engine_t *e = calloc(1, sizeof(*e));
	if (!e) {
		assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	e->ops = *ops;
	e->self = self;
	e->height = cfg->height;
	e->locked_round = e->valid_round = -1;
	bft_height_votes_init(&e->votes, e->height, vals->n);
	int ok = bft_valset_copy(&e->base, vals) == 0;
	e->proposers = ok ? malloc(sizeof(*e->proposers)) : NULL;
	e->max_round = malloc((size_t)vals->n * sizeof(*e->max_round));
	e->scratch = malloc((size_t)vals->n * sizeof(*e->scratch));
	e->last_evidence = calloc(vals->n, 1);
	e->future_by = calloc(vals->n ? vals->n : 1, sizeof(*e->future_by));
	if (!ok || !e->proposers || !e->max_round || !e->scratch || !e->last_evidence || !e->future_by ||
	    reset_proposers(e)) {
		bft_destroy(e);
		assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < vals->n; i++)
		e->max_round[i] = -1;
	return e;
}

void bft_destroy(bft_engine_t *e)
{
	if (!e)
		return;
	for (size_t i = e->head; i < e->nout; i++)
		bft_output_free(&e->out[i]);
	free(e->out);
	bft_height_votes_free(&e->votes);
	props_free(e);
	bft_valset_free(&e->base);
	bft_valset_free(&e->cursor);
	commit_free(&e->last_commit);
	free(e->proposers);
	free(e->max_round);
	free(e->scratch);
	free(e->last_evidence);
	free(e->future);
	free(e->future_by);
	free(e);
}

int bft_start(bft_engine_t *e)
{
	return bft_start_at(e, 0);
}

int bft_start_at(bft_engine_t *e, uint32_t round)
{
	if (e->fault)
		return e->fault;
	start_round(e, round);
	return run_rules(e);
}

uint64_t bft_height(const bft_engine_t *e)
{
	return e->height;
}

uint32_t bft_round(const bft_engine_t *e)
{
	return e->round;
}

enum bft_step bft_step(const bft_engine_t *e)
{
	return e->step;
}

int64_t bft_locked(const bft_engine_t *e, uint8_t value[HASH_LEN])
{
	if (value)
		memcpy(value, e->locked_value, HASH_LEN);
	return e->locked_round;
}

int64_t bft_valid(const bft_engine_t *e, uint8_t value[HASH_LEN])
{
	if (value)
		memcpy(value, e->valid_value, HASH_LEN);
	return e->valid_round;
}

const struct bft_voteset *bft_votes(const bft_engine_t *e, uint32_t round, uint8_t type)
{
	return votes_at(e, round, type);
}

uint64_t bft_total_power(const bft_engine_t *e)
{
	return e->base.total;
}

int bft_round_proposal(const bft_engine_t *e, uint32_t round, uint32_t i, struct bft_proposal *p, int *validity)
{
	const struct round_props *rp = props_at(e, round);
	if (!rp || i >= rp->n)
		return 0;
	*p = rp->slot[i].p;
	if (validity)
		*validity = rp->slot[i].validity;
	return 1;
}

static size_t voteset_stored(const struct bft_voteset *s)
{
	size_t k = 0;
	for (uint32_t i = 0; s && i < s->n; i++)
		k += (s->state[i] != 0) + (s->nextra ? s->nextra[i] : 0);
	return k;
}

size_t bft_stored_messages(const bft_engine_t *e)
{
	size_t k = e->nfuture;
	for (uint32_t r = 0; r < e->votes.nrounds; r++) {
		const struct bft_round_votes *rv = e->votes.rounds[r];
		if (rv)
			k += voteset_stored(&rv->prevotes) + voteset_stored(&rv->precommits);
	}
	for (uint32_t r = 0; r < e->nprops; r++)
		k += e->props[r] ? e->props[r]->n : 0;
	return k;
}

/* The node's BFT driver (see consensus.h): the engine's outputs turned into
 * p2p messages, libevent timers, block building and checking and connected
 * blocks, and the sign-state file that keeps a restarted validator from
 * signing against what it signed before. Not for: the rules of the
 * algorithm (consensus/bft/bft.c) or of blocks (chain.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "node/consensus.h"
#include "node/node.h"
#include "node/txaccept.h"

/* Steps as the sign-state orders them within one (height, round). */
enum sign_step { SIGN_PROPOSAL = 0, SIGN_PREVOTE = 1, SIGN_PRECOMMIT = 2 };

/* The last signature released (docs/consensus.md §10). */
struct signstate {
	int any;                  /* 0: nothing signed yet */
	uint64_t height;
	uint32_t round;
	uint32_t step;            /* enum sign_step */
	uint8_t hash[HASH_LEN];   /* what was signed; all zero for nil */
};

struct candidate {
	int used;
	uint64_t seq;             /* insertion order, for eviction */
	uint8_t hash[HASH_LEN];
	struct block blk;
};

struct timer_arg {
	struct consensus *cs;
	enum bft_step step;
	uint64_t height;
	uint32_t round;
};

struct consensus {
	struct node *n;
	bft_engine_t *e;
	struct bft_config cfg;
	struct bft_valset vs;             /* the set stepped to vs_height (proposer of its round 0) */
	uint64_t vs_height;
	struct event *timer[3];           /* one per step: a newer timeout replaces an older one */
	struct timer_arg targ[3];
	struct event *value_ev;           /* a GET_VALUE answered once the block time has passed */
	uint64_t value_height;
	uint32_t value_round;
	struct event *rebroadcast_ev;
	struct event *restart_ev;         /* the engine is behind the chain: restart it */
	uint64_t next_block_ms;           /* earliest time for our next block (-blocktime) */
	struct candidate cands[CONSENSUS_MAX_CANDIDATES];
	uint64_t cand_seq;
	int sign_fd;
	struct signstate last;
	int pumping;                      /* guards the output loop against re-entry */
	int halted;                       /* consensus_halt ran: nothing more is done */
	uint64_t decided;
};

/* ---- the sign-state file ---- */

static int signstate_load(struct consensus *cs, const char *path, char *err, size_t errlen)
{
	cs->sign_fd = open(path, O_RDWR | O_CREAT, 0600);
	if (cs->sign_fd < 0)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot open %s: %s", path, strerror(errno));
	char text[256];
	ssize_t got = pread(cs->sign_fd, text, sizeof(text) - 1, 0);
	if (got < 0)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot read %s: %s", path, strerror(errno));
	text[got] = 0;
	memset(&cs->last, 0, sizeof(cs->last));
	if (got == 0)
		return 0;
	char hex[2 * HASH_LEN + 1];
	unsigned long long h;
	unsigned r, s;
	if (sscanf(text, "%llu %u %u %64s", &h, &r, &s, hex) != 4 || s > SIGN_PRECOMMIT ||
	    hex_decode(hex, cs->last.hash, HASH_LEN) != HASH_LEN)
		return assay_fail(err, errlen, ASSAY_ECORRUPT,
				  "%s is corrupt: refusing to sign without knowing what was signed (move it away only "
				  "if this key never signed on another machine)", path);
	cs->last.any = 1;
	cs->last.height = h;
	cs->last.round = r;
	cs->last.step = s;
	return 0;
}

/* 0 when (height, round, step, hash) may be signed: above the last
 * signature, or the very same thing again; it is then written and fsynced
 * before the caller releases the signature. */
static int signstate_allow(struct consensus *cs, uint64_t height, uint32_t round, uint32_t step,
			   const uint8_t hash[HASH_LEN])
{
	const struct signstate *l = &cs->last;
	if (l->any) {
		int cmp = height != l->height ? (height < l->height ? -1 : 1)
			  : round != l->round ? (round < l->round ? -1 : 1)
			  : step != l->step   ? (step < l->step ? -1 : 1)
					      : 0;
		if (cmp < 0 || (cmp == 0 && memcmp(hash, l->hash, HASH_LEN) != 0)) {
			log_warn("consensus: refused to sign step %u at height %llu round %u: already signed step %u at "
				 "height %llu round %u (DATADIR/signstate)", step, (unsigned long long)height, round,
				 l->step, (unsigned long long)l->height, l->round);
			return ASSAY_EEXISTS;
		}
		if (cmp == 0)
			return 0;
	}
	char hex[2 * HASH_LEN + 1], text[256];
	hex_encode(hash, HASH_LEN, hex);
	int len = snprintf(text, sizeof(text), "%llu %u %u %s\n", (unsigned long long)height, round, step, hex);
	if (pwrite(cs->sign_fd, text, (size_t)len, 0) != len || ftruncate(cs->sign_fd, len) != 0 ||
	    fsync(cs->sign_fd) != 0) {
		log_error("consensus: cannot write DATADIR/signstate: %s; not signing", strerror(errno));
		return ASSAY_EIO;
	}
	cs->last.any = 1;
	cs->last.height = height;
	cs->last.round = round;
	cs->last.step = step;
	memcpy(cs->last.hash, hash, HASH_LEN);
	return 0;
}

static int op_sign_vote(void *ctx, const struct bft_vote *v, uint8_t sig[SIG_LEN])
{
	struct consensus *cs = ctx;
	int rc = signstate_allow(cs, v->height, v->round, v->type == VOTE_PREVOTE ? SIGN_PREVOTE : SIGN_PRECOMMIT,
				 v->value);
	if (rc)
		return rc;
	struct bft_vote copy = *v;
	bft_vote_sign(cs->cfg.chain_id, cs->n->key_sk, &copy);
	memcpy(sig, copy.sig, SIG_LEN);
	return 0;
}

static int op_sign_proposal(void *ctx, const struct bft_proposal *p, uint8_t sig[SIG_LEN])
{
	struct consensus *cs = ctx;
	int rc = signstate_allow(cs, p->height, p->round, SIGN_PROPOSAL, p->value);
	if (rc)
		return rc;
	struct bft_proposal copy = *p;
	bft_proposal_sign(cs->cfg.chain_id, cs->n->key_sk, &copy);
	memcpy(sig, copy.sig, SIG_LEN);
	return 0;
}

static int op_verify(void *ctx, const uint8_t pubkey[PUBKEY_LEN], const uint8_t sighash[HASH_LEN],
		     const uint8_t sig[SIG_LEN])
{
	(void)ctx;
	return sig_verify(pubkey, sighash, HASH_LEN, sig) == 0 ? 0 : ASSAY_ESIG;
}

/* ---- candidate blocks ---- */

static struct candidate *cand_find(struct consensus *cs, const uint8_t hash[HASH_LEN])
{
	for (int i = 0; i < CONSENSUS_MAX_CANDIDATES; i++)
		if (cs->cands[i].used && memcmp(cs->cands[i].hash, hash, HASH_LEN) == 0)
			return &cs->cands[i];
	return NULL;
}

/* Takes blk (moved: the caller no longer frees it). */
static void cand_put(struct consensus *cs, struct block *blk, const uint8_t hash[HASH_LEN])
{
	if (cand_find(cs, hash)) {
		block_free(blk);
		return;
	}
	struct candidate *slot = &cs->cands[0];
	for (int i = 0; i < CONSENSUS_MAX_CANDIDATES; i++) {
		if (!cs->cands[i].used) {
			slot = &cs->cands[i];
			break;
		}
		if (cs->cands[i].seq < slot->seq)
			slot = &cs->cands[i];
	}
	if (slot->used)
		block_free(&slot->blk);
	slot->used = 1;
	slot->seq = ++cs->cand_seq;
	memcpy(slot->hash, hash, HASH_LEN);
	slot->blk = *blk;
	block_init(blk);
}

/* Drops candidates at or below height. */
static void cand_prune(struct consensus *cs, uint64_t height)
{
	for (int i = 0; i < CONSENSUS_MAX_CANDIDATES; i++)
		if (cs->cands[i].used && cs->cands[i].blk.hdr.height <= height) {
			block_free(&cs->cands[i].blk);
			cs->cands[i].used = 0;
		}
}

/* ---- the output loop ---- */

static void pump(struct consensus *cs);
static void submit_evidence(struct consensus *cs, const struct bft_evidence *ev);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct timer_arg *ta = arg;
	(void)fd;
	(void)what;
	if (!ta->cs->e || ta->cs->halted)
		return;
	bft_on_timeout(ta->cs->e, ta->step, ta->height, ta->round);
	pump(ta->cs);
}

static void add_timer(struct event *ev, uint64_t delay_ms)
{
	struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
	event_add(ev, &tv);
}

/* Builds our block for (value_height, value_round) and hands it in. */
static void on_value(evutil_socket_t fd, short what, void *arg)
{
	struct consensus *cs = arg;
	struct node *n = cs->n;
	(void)fd;
	(void)what;
	if (!cs->e || cs->halted || n->aborted || bft_height(cs->e) != cs->value_height || bft_round(cs->e) != cs->value_round)
		return;
	if (chain_height(n->chain) + 1 != cs->value_height)
		return; /* the chain is not there yet (the block came by sync): restart will follow */
	size_t cap = chain_genesis(n->chain)->params.max_block_txs;
	const struct tx **cand = malloc((cap ? cap : 1) * sizeof(*cand));
	if (!cand) {
		node_abort(n, ASSAY_ENOMEM, "consensus: out of memory");
		return;
	}
	size_t k = mempool_select(n->mempool, cand, cap);
	struct block blk;
	char err[256], what_s[320];
	uint64_t now = node_now_ms();
	uint64_t parent = chain_tip(n->chain)->time_ms;
	int rc = chain_build_block(n->chain, cand, k, now > parent ? now : parent + 1, n->key_sk, &blk, NULL, NULL,
				   err, sizeof(err));
	free(cand);
	if (rc) {
		snprintf(what_s, sizeof(what_s), "consensus: cannot build block %llu: %s",
			 (unsigned long long)cs->value_height, err);
		if (assay_err_is_local(rc))
			node_abort(n, rc, what_s);
		else
			log_warn("%s", what_s); /* not proposing this round; the round times out */
		return;
	}
	uint8_t hash[HASH_LEN];
	block_hash(&blk, hash);
	cand_put(cs, &blk, hash);
	bft_on_value(cs->e, cs->value_height, cs->value_round, hash);
	pump(cs);
}

static void broadcast_proposal(struct consensus *cs, const struct bft_proposal *p)
{
	struct candidate *c = cand_find(cs, p->value);
	if (!c || !cs->n->net)
		return;
	struct buf b;
	buf_init(&b);
	bft_proposal_encode(p, &b);
	block_encode(&c->blk, &b);
	if (!b.oom)
		net_broadcast_consensus(cs->n->net, 0, b.data, b.len);
	buf_free(&b);
}

static void broadcast_vote(struct consensus *cs, const struct bft_vote *v)
{
	if (!cs->n->net)
		return;
	struct buf b;
	buf_init(&b);
	bft_vote_encode(v, &b);
	if (!b.oom)
		net_broadcast_consensus(cs->n->net, 1, b.data, b.len);
	buf_free(&b);
}

static void validate(struct consensus *cs, const struct bft_output *o)
{
	struct node *n = cs->n;
	struct candidate *c = cand_find(cs, o->value);
	char err[256];
	if (!c)
		return; /* never seen its block: no verdict, the round times out */
	if (c->blk.hdr.height != chain_height(n->chain) + 1) {
		bft_on_validity(cs->e, o->height, o->value, 0);
		return;
	}
	int rc = node_chunks_check_proposal(n, &c->blk, err, sizeof(err)); /* avail: compute.md §15.4 */
	if (rc == ASSAY_EUNAVAIL) {
		log_info("consensus: proposed block %llu waits for its chunks: %s", (unsigned long long)o->height, err);
		return; /* not yet judged: no verdict, the round times out */
	}
	if (!rc)
		rc = chain_check_block(n->chain, &c->blk, node_now_ms(), err, sizeof(err));
	if (assay_err_is_local(rc)) {
		log_error("consensus: cannot check block %llu: %s", (unsigned long long)o->height, err);
		return; /* our failure is no verdict on the block */
	}
	if (rc)
		log_warn("consensus: proposed block %llu is invalid: %s", (unsigned long long)o->height, err);
	bft_on_validity(cs->e, o->height, o->value, rc == 0);
}

/* Whether the set the engine moved on to for height h (its own, stepped
 * once: docs/consensus.md §4) is the chain's set of h; then cs->vs becomes
 * it. When bonds, unbonds or jails changed the set, it is not, and the
 * engine must be rebuilt with the stored one (protocol §10.1). A failure
 * to read says no, and the restart reports it. */
static int valset_follows(struct consensus *cs, uint64_t h)
{
	struct bft_valset stored, stepped;
	if (h != cs->vs_height + 1 || chain_validator_set(cs->n->chain, h, &stored) != 0)
		return 0;
	if (bft_valset_copy(&stepped, &cs->vs) != 0) {
		bft_valset_free(&stored);
		return 0;
	}
	bft_valset_step(&stepped);
	int same = stored.n == stepped.n && stored.total == stepped.total && stored.proposer == stepped.proposer &&
		   memcmp(stored.v, stepped.v, stored.n * sizeof(*stored.v)) == 0;
	bft_valset_free(&stepped);
	if (same) {
		bft_valset_free(&cs->vs);
		cs->vs = stored;
		cs->vs_height = h;
	} else {
		bft_valset_free(&stored);
	}
	return same;
}

static void decide(struct consensus *cs, const struct bft_output *o)
{
	struct node *n = cs->n;
	struct candidate *c = cand_find(cs, o->value);
	char err[256];
	uint64_t now = node_now_ms();
	cs->decided++;
	cs->next_block_ms = now + n->blocktime_ms;
	if (!c) {
		log_warn("consensus: decided height %llu without its block; waiting for block sync",
			 (unsigned long long)o->height);
		return;
	}
	if (chain_height(n->chain) + 1 == o->height) {
		int rc = node_connect_block(n, &c->blk, &o->commit, NODE_BLOCK_PRODUCED, err, sizeof(err));
		if (rc && !assay_err_is_local(rc))
			log_error("consensus: decided block %llu does not apply: %s", (unsigned long long)o->height, err);
	}
	cand_prune(cs, o->height);
	if (chain_height(n->chain) + 1 != bft_height(cs->e) || !valset_follows(cs, bft_height(cs->e)))
		event_active(cs->restart_ev, EV_TIMEOUT, 0);
}

static void handle_output(struct consensus *cs, const struct bft_output *o)
{
	if (o->kind == BFT_OUT_PROPOSAL)
		log_debugc(LOG_CAT_CONSENSUS, "consensus: proposing at height %llu round %u",
			   (unsigned long long)o->proposal.height, o->proposal.round);
	else if (o->kind == BFT_OUT_VOTE)
		log_debugc(LOG_CAT_CONSENSUS, "consensus: %s at height %llu round %u for %s",
			   o->vote.type == VOTE_PREVOTE ? "prevote" : "precommit", (unsigned long long)o->vote.height,
			   o->vote.round, o->vote.has_value ? "a block" : "nil");
	else if (o->kind == BFT_OUT_DECIDE)
		log_debugc(LOG_CAT_CONSENSUS, "consensus: decided height %llu", (unsigned long long)o->height);
	switch (o->kind) {
	case BFT_OUT_PROPOSAL:
		broadcast_proposal(cs, &o->proposal);
		break;
	case BFT_OUT_VOTE:
		broadcast_vote(cs, &o->vote);
		break;
	case BFT_OUT_TIMEOUT: {
		struct timer_arg *ta = &cs->targ[o->step];
		ta->step = o->step;
		ta->height = o->height;
		ta->round = o->round;
		uint64_t delay = o->delay_ms;
		if (o->step == BFT_STEP_PROPOSE)
			delay += cs->n->blocktime_ms; /* the proposer waits out the block time first */
		add_timer(cs->timer[o->step], delay);
		break;
	}
	case BFT_OUT_GET_VALUE: {
		uint64_t now = node_now_ms();
		cs->value_height = o->height;
		cs->value_round = o->round;
		add_timer(cs->value_ev, cs->next_block_ms > now ? cs->next_block_ms - now : 0);
		break;
	}
	case BFT_OUT_VALIDATE:
		validate(cs, o);
		break;
	case BFT_OUT_DECIDE:
		decide(cs, o);
		break;
	case BFT_OUT_EVIDENCE:
		submit_evidence(cs, &o->evidence);
		break;
	}
}

static void pump(struct consensus *cs)
{
	if (cs->pumping || !cs->e || cs->halted)
		return;
	cs->pumping = 1;
	struct bft_output o;
	while (cs->e && bft_next_output(cs->e, &o) == 1) {
		if (!cs->halted)
			handle_output(cs, &o);
		bft_output_free(&o);
	}
	cs->pumping = 0;
}

/* ---- the engine per height ---- */

/* The set of height h, with its proposer priorities, as the state keeps it
 * (docs/protocol.md §10.1); whether our key votes in it. */
static int valset_at(struct consensus *cs, uint64_t h, char *err, size_t errlen)
{
	struct node *n = cs->n;
	bft_valset_free(&cs->vs);
	int rc = chain_validator_set(n->chain, h, &cs->vs);
	if (rc)
		return assay_fail(err, errlen, rc == ASSAY_ENOTFOUND ? ASSAY_ECORRUPT : rc,
				  "no validator set for height %llu: %s", (unsigned long long)h, assay_strerror(rc));
	cs->vs_height = h;
	int member = n->has_key && bft_valset_find(&cs->vs, n->key_pk) >= 0;
	if (member != cs->cfg.is_validator)
		log_info("consensus: %s the validator set at height %llu", member ? "in" : "not in",
			 (unsigned long long)h);
	cs->cfg.is_validator = member;
	if (member)
		memcpy(cs->cfg.self, n->key_pk, PUBKEY_LEN);
	return 0;
}

/* Two conflicting votes the engine saw become an evidence transaction
 * (docs/protocol.md §10.3) from this node's key, paying the fee floor. */
static void submit_evidence(struct consensus *cs, const struct bft_evidence *ev)
{
	struct node *n = cs->n;
	char hex[65], err[256];
	hex_encode(ev->a.validator, PUBKEY_LEN, hex);
	log_warn("consensus: validator %s signed two votes at height %llu round %u", hex,
		 (unsigned long long)ev->a.height, ev->a.round);
	if (!n->has_key) {
		log_warn("consensus: no key to submit the evidence with (-validator)");
		return;
	}
	struct tx t;
	struct buf pb, tb;
	uint8_t addr[ADDR_LEN], txid[HASH_LEN];
	enum txaccept_stage stage;
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	memset(&t, 0, sizeof(t));
	buf_init(&pb);
	buf_init(&tb);
	bft_evidence_encode(ev, &pb);
	address_from_pubkey(n->key_pk, addr);
	memcpy(t.chain_id, n->genesis.hash, HASH_LEN);
	memcpy(t.sender, n->key_pk, PUBKEY_LEN);
	t.nonce = mempool_next_nonce(n->mempool, addr);
	t.fee = p->min_fee;
	t.kind = TX_EVIDENCE;
	int rc = pb.oom ? ASSAY_ENOMEM : tx_set_payload(&t, pb.data, pb.len);
	if (!rc) {
		tx_sign(&t, n->key_sk);
		tx_encode(&t, &tb);
		rc = tb.oom ? ASSAY_ENOMEM : txaccept_submit(n, tb.data, tb.len, TXACCEPT_FROM_CLIENT, txid, &stage,
								err, sizeof(err));
	}
	if (rc && rc != ASSAY_EEXISTS)
		log_warn("consensus: evidence transaction refused: %s", rc == ASSAY_ENOMEM ? "out of memory" : err);
	else
		log_info("consensus: evidence transaction submitted");
	tx_free(&t);
	buf_free(&pb);
	buf_free(&tb);
}

static int engine_start(struct consensus *cs, char *err, size_t errlen)
{
	uint64_t h = chain_height(cs->n->chain) + 1;
	for (int i = 0; i < 3; i++)
		event_del(cs->timer[i]);
	event_del(cs->value_ev);
	bft_destroy(cs->e);
	cs->e = NULL;
	cand_prune(cs, h - 1);
	int rc = valset_at(cs, h, err, errlen);
	if (rc)
		return rc;
	cs->cfg.height = h;
	struct bft_ops ops = {cs, op_sign_vote, op_sign_proposal, op_verify};
	cs->e = bft_create(&cs->cfg, &cs->vs, &ops, err, errlen);
	if (!cs->e)
		return ASSAY_ENOMEM;
	/* Restarted after signing at this height: rounds up to the last signed
	 * one are spent (the sign-state refuses them), so begin after it. */
	uint32_t first = 0;
	if (cs->last.any && cs->last.height == h && cs->last.round < UINT32_MAX)
		first = cs->last.round + 1;
	if (first)
		log_info("consensus: signed in round %u of height %llu before the restart: starting at round %u",
			 cs->last.round, (unsigned long long)h, first);
	rc = bft_start_at(cs->e, first);
	pump(cs);
	return rc;
}

static void on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct consensus *cs = arg;
	char err[256];
	(void)fd;
	(void)what;
	if (cs->n->aborted || cs->halted)
		return;
	if (engine_start(cs, err, sizeof(err)) < 0)
		node_abort(cs->n, ASSAY_ENOMEM, "consensus: cannot restart the engine");
}

static void on_rebroadcast(evutil_socket_t fd, short what, void *arg)
{
	struct consensus *cs = arg;
	(void)fd;
	(void)what;
	if (!cs->e || cs->halted)
		return;
	bft_rebroadcast(cs->e);
	pump(cs);
}

int consensus_start(struct node *n, char *err, size_t errlen)
{
	struct consensus *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	cs->n = n;
	cs->sign_fd = -1;
	n->consensus = cs;
	memcpy(cs->cfg.chain_id, n->genesis.hash, HASH_LEN);
	/* the chain's timeouts (docs/protocol.md §8) */
	const struct chain_params *cp = &n->genesis.params;
	cs->cfg.timeouts = (struct bft_timeouts){cp->timeout_propose_ms, cp->timeout_propose_delta_ms,
						 cp->timeout_prevote_ms, cp->timeout_prevote_delta_ms,
						 cp->timeout_precommit_ms, cp->timeout_precommit_delta_ms};
	/* A key may enter the set later by bonding: its sign-state is kept
	 * from the start. Whether it votes is decided per height (valset_at). */
	char path[1200];
	snprintf(path, sizeof(path), "%s/signstate", n->cfg.datadir);
	int rc = n->has_key ? signstate_load(cs, path, err, errlen) : 0;
	if (rc)
		goto fail;
	for (int i = 0; i < 3; i++) {
		cs->targ[i].cs = cs;
		cs->timer[i] = evtimer_new(n->base, on_timer, &cs->targ[i]);
	}
	cs->value_ev = evtimer_new(n->base, on_value, cs);
	cs->restart_ev = evtimer_new(n->base, on_restart, cs);
	cs->rebroadcast_ev = event_new(n->base, -1, EV_PERSIST, on_rebroadcast, cs);
	if (!cs->timer[0] || !cs->timer[1] || !cs->timer[2] || !cs->value_ev || !cs->restart_ev ||
	    !cs->rebroadcast_ev) {
		rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		goto fail;
	}
	add_timer(cs->rebroadcast_ev, CONSENSUS_REBROADCAST_MS);
	if (n->rpc)
		node_register_consensus_rpc(n);
	cs->next_block_ms = node_now_ms();
	if ((rc = engine_start(cs, err, errlen)) < 0)
		goto fail;
	if (n->has_key && !cs->cfg.is_validator)
		log_warn("validator key is not in this chain's validator set at height %llu: following until it is",
			 (unsigned long long)cs->cfg.height);
	if (cs->cfg.is_validator) {
		char addr[ADDR_STR_MAX];
		uint8_t a[ADDR_LEN];
		address_from_pubkey(n->key_pk, a);
		address_encode(n->genesis.net, a, addr);
		log_info("consensus: validator %s of %u, a block every %llu ms at most, from height %llu", addr,
			 cs->vs.n, (unsigned long long)n->blocktime_ms, (unsigned long long)cs->cfg.height);
	}
	return 0;
fail:
	consensus_stop(n);
	return rc;
}

void consensus_halt(struct node *n)
{
	struct consensus *cs = n->consensus;
	if (!cs)
		return;
	cs->halted = 1;
	for (int i = 0; i < 3; i++)
		if (cs->timer[i])
			event_del(cs->timer[i]);
	if (cs->value_ev)
		event_del(cs->value_ev);
	if (cs->restart_ev)
		event_del(cs->restart_ev);
	if (cs->rebroadcast_ev)
		event_del(cs->rebroadcast_ev);
}

void consensus_stop(struct node *n)
{
	struct consensus *cs = n->consensus;
	if (!cs)
		return;
	for (int i = 0; i < 3; i++)
		if (cs->timer[i])
			event_free(cs->timer[i]);
	if (cs->value_ev)
		event_free(cs->value_ev);
	if (cs->restart_ev)
		event_free(cs->restart_ev);
	if (cs->rebroadcast_ev)
		event_free(cs->rebroadcast_ev);
	bft_destroy(cs->e);
	bft_valset_free(&cs->vs);
	cand_prune(cs, UINT64_MAX);
	if (cs->sign_fd >= 0)
		close(cs->sign_fd);
	free(cs);
	n->consensus = NULL;
}

static int on_proposal_msg(struct consensus *cs, const uint8_t *p, size_t len)
{
	struct node *n = cs->n;
	struct bft_proposal pr;
	if (len < BFT_PROPOSAL_BYTES || bft_proposal_decode(&pr, p, BFT_PROPOSAL_BYTES) != 0)
		return ASSAY_EDECODE;
	uint64_t h = bft_height(cs->e);
	if (pr.height < h)
		return ASSAY_EEXISTS;
	if (pr.height > h + 1)
		return ASSAY_ELIMIT;
	if (cand_find(cs, pr.value))
		return bft_on_proposal(cs->e, &pr);
	const struct chain_params *cp = &chain_genesis(n->chain)->params;
	struct block_limits lim = {cp->max_block_txs, cp->max_tx_bytes};
	struct block blk;
	uint8_t hash[HASH_LEN];
	if (len - BFT_PROPOSAL_BYTES > cp->max_block_bytes)
		return ASSAY_EINVALID;
	int rc = block_decode(&blk, p + BFT_PROPOSAL_BYTES, len - BFT_PROPOSAL_BYTES, &lim);
	if (rc)
		return assay_err_is_local(rc) ? rc : ASSAY_EDECODE;
	block_hash(&blk, hash);
	if (memcmp(hash, pr.value, HASH_LEN) != 0 || blk.hdr.height != pr.height) {
		block_free(&blk);
		return ASSAY_EINVALID;
	}
	/* the signature first: a block is kept only under a proposal that verifies */
	if (bft_proposal_verify(cs->cfg.chain_id, &pr) != 0) {
		block_free(&blk);
		return ASSAY_ESIG;
	}
	cand_put(cs, &blk, hash);
	return bft_on_proposal(cs->e, &pr);
}

int consensus_on_message(struct node *n, int is_vote, const uint8_t *p, size_t len)
{
	struct consensus *cs = n->consensus;
	if (!cs || !cs->e || cs->halted || n->aborted)
		return ASSAY_EEXISTS;
	int rc;
	if (is_vote) {
		struct bft_vote v;
		if (bft_vote_decode(&v, p, len) != 0)
			return ASSAY_EDECODE;
		rc = bft_on_vote(cs->e, &v);
	} else {
		rc = on_proposal_msg(cs, p, len);
	}
	if (rc == ASSAY_ENOMEM) {
		node_abort(n, rc, "consensus: out of memory in the engine");
		return rc;
	}
	pump(cs);
	return rc;
}

void consensus_on_block_connected(struct node *n, uint64_t height)
{
	struct consensus *cs = n->consensus;
	if (cs && cs->e && !cs->halted && height >= bft_height(cs->e) && !n->aborted) {
		cs->next_block_ms = node_now_ms() + n->blocktime_ms;
		event_active(cs->restart_ev, EV_TIMEOUT, 0);
	}
}

void consensus_info(struct node *n, struct consensus_info *info)
{
	struct consensus *cs = n->consensus;
	memset(info, 0, sizeof(*info));
	if (!cs || !cs->e)
		return;
	info->running = 1;
	info->height = bft_height(cs->e);
	info->round = bft_round(cs->e);
	info->step = bft_step(cs->e);
	info->is_validator = cs->cfg.is_validator;
	info->locked_round = bft_locked(cs->e, NULL);
	info->valid_round = bft_valid(cs->e, NULL);
	bft_proposer(cs->e, info->round, info->proposer);
	info->decided = cs->decided;
}

/* The node's BFT driver (see consensus.h): the engine's outputs turned into
 * p2p messages, libevent timers, block building and checking and connected
 * blocks; the write-ahead log of the engine's inputs (node/conswal.h) that a
 * restarted validator replays, and the sign-state file that keeps it from
 * signing against what it signed before; the tip's commit gathered from
 * gossip after block sync; figures and evidence for the rest of the node.
 * Not for: the rules of the algorithm (consensus/bft/bft.c) or of blocks
 * (chain.c). */
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
#include "consensus/params.h"
#include "net/msg.h"
#include "net/net.h"
#include "node/consensus.h"
#include "node/conswal.h"
#include "node/node.h"
#include "node/producer.h"
#include "node/sigcache.h"
#include "node/signstate.h"
#include "node/txaccept.h"

/* A proposal carries its whole block in one message (docs/consensus.md §9):
 * the protocol's block ceiling leaves room for the proposal beside it. */
_Static_assert(CHAIN_MAX_BLOCK_BYTES + BFT_PROPOSAL_BYTES <= NET_MAX_OBJECT,
	       "a largest block and its proposal must fit one p2p message");

struct candidate {
	int used;
	uint64_t seq;             /* insertion order, for eviction */
	uint64_t seen_ms;         /* when its proposal (or our GET_VALUE answer) arrived: proposal-to-commit time */
	uint8_t hash[HASH_LEN];
	struct block blk;
};

/* Values of a height, in the order noted (malloc()ed, grown as needed). */
struct value_at {
	uint64_t height;
	uint8_t hash[HASH_LEN];
};
struct value_list {
	struct value_at *v;
	size_t n, cap;
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
	signstate_t *sign;                /* DATADIR/signstate (a node with a key) */
	int pumping;                      /* guards the output loop against re-entry */
	int halted;                       /* consensus_halt ran: nothing more is done */
	uint64_t decided;

	conswal_t *wal;                   /* DATADIR/consensus.wal (validators only) */
	int replaying;                    /* feeding the WAL back: nothing is logged again */
	struct conswal_rec *signed_recs;  /* SIGNED records of the engine's height: replay re-signs exactly these */
	size_t nsigned, capsigned;
	uint64_t replayed;                /* records replayed at the last engine start */
	const struct conswal_rec *replay_rest; /* while replaying: the records not yet fed */
	size_t replay_rest_n;
	int rebuilds;                     /* rebuilds in a row (see engine_result) */
	uint64_t last_rebuild_ms;
	int wal_full;                     /* this height's log reached CONSENSUS_WAL_MAX_BYTES */
	int rebuild_pending;              /* ASSAY_ENOMEM seen: restart_ev rebuilds the engine */
	/* Proposals the engine waits for a verdict on, which the node gives
	 * later. The engine asks for a value's verdict only once a height, so
	 * none may be dropped: each list holds every one (value_note). */
	struct value_list pending;        /* VALIDATE came before the block (after a replay): judged when it comes */
	struct value_list unavail;        /* the block's chunks not all held: judged again as chunks arrive */
	struct value_list unjudged;       /* no verdict in the log replayed: judged once the replay is over */
	/* precommits for the tip gathered while the chain holds no commit for it (block sync) */
	struct tip_sig { uint32_t round; uint8_t validator[PUBKEY_LEN]; uint8_t sig[SIG_LEN]; } *tip_sigs;
	size_t ntip_sigs;
	uint64_t tip_sigs_height;         /* 0: none gathered */
	struct commit decided_commit;     /* a height the engine decided without its block (nsigs 0: none) */
	struct bft_valset tip_vs;         /* the set of tip_sigs_height */
	/* evidence the engine reported and this node submitted, newest last */
	struct bft_evidence evidence[CONSENSUS_MAX_EVIDENCE];
	size_t nevidence;
	uint64_t evidence_seen;
	/* figures (consensus_metrics) */
	uint64_t rounds_hist[CONSENSUS_ROUND_BUCKETS + 1]; /* heights decided in 1, 2, 3, 4-5, 6-10, 11+ rounds */
	uint64_t latency_sum_ms, latency_count, latency_last_ms;
	struct missed { uint8_t pubkey[PUBKEY_LEN]; uint64_t missed; } *missed;
	size_t nmissed;
	uint64_t doublesigned;            /* -testdoublesign: conflicting votes sent */
	uint64_t rebuilt;                 /* engine rebuilds from the WAL since start */
	uint64_t test_enomem_every;       /* tests only: see consensus_start */
	uint64_t test_msgs;
};

static const uint64_t round_bounds[CONSENSUS_ROUND_BUCKETS] = {1, 2, 3, 5, 10};

/* ---- the write-ahead log ---- */

static int signed_has(const struct consensus *cs, uint64_t height, uint32_t round, uint32_t step,
		      const uint8_t hash[HASH_LEN])
{
	for (size_t i = 0; i < cs->nsigned; i++) {
		const struct conswal_rec *r = &cs->signed_recs[i];
		if (r->height == height && r->round == round && r->step == step && memcmp(r->value, hash, HASH_LEN) == 0)
			return 1;
	}
	return 0;
}

/* Remembers a SIGNED record (when there is memory for it: a missing one only
 * costs a replay the chance to re-sign it, the sign-state still decides). */
static void signed_add(struct consensus *cs, const struct conswal_rec *r)
{
	if (cs->nsigned == cs->capsigned) {
		size_t cap = cs->capsigned ? cs->capsigned * 2 : 16;
		struct conswal_rec *grown = realloc(cs->signed_recs, cap * sizeof(*grown));
		if (!grown)
			return;
		cs->signed_recs = grown;
		cs->capsigned = cap;
	}
	cs->signed_recs[cs->nsigned] = *r;
	memset(&cs->signed_recs[cs->nsigned].commit, 0, sizeof(struct commit));
	cs->signed_recs[cs->nsigned].block = NULL;
	cs->signed_recs[cs->nsigned].block_len = 0;
	cs->nsigned++;
}

/* Whether this height's inputs are logged: a key in the height's set. */
static int wal_on(const struct consensus *cs)
{
	return cs->wal && cs->cfg.is_validator;
}

/* Appends an input before the engine sees it (not while replaying: it is in
 * the file already). A write that fails stops the node: a validator that
 * cannot log its inputs would come back from a crash without its lock. */
static int wal_log(struct consensus *cs, const struct conswal_rec *r)
{
	if (!wal_on(cs) || cs->replaying)
		return 0;
	int rc = conswal_append(cs->wal, r);
	if (rc) {
		char what[200];
		snprintf(what, sizeof(what), "consensus: write failed for DATADIR/consensus.wal: %s",
			 rc == ASSAY_ENOMEM ? "out of memory" : strerror(errno));
		node_abort(cs->n, rc, what);
		return rc;
	}
	return 0;
}

/* Where a peer's message went in the log: its offset and end. */
struct wal_mark {
	uint64_t at, end;
};

/* A peer's proposal or vote, logged before the engine sees it: 0,
 * ASSAY_ELIMIT when the height's log is full (the message is not taken),
 * ASSAY_EIO. *mark: where it went, for wal_unlog_refused. */
static int wal_log_peer(struct consensus *cs, const struct conswal_rec *r, struct wal_mark *mark)
{
	mark->at = mark->end = cs->wal ? conswal_size(cs->wal) : 0;
	if (!wal_on(cs) || cs->replaying)
		return 0;
	if (mark->at > CONSENSUS_WAL_MAX_BYTES) {
		if (!cs->wal_full)
			log_warn("consensus: DATADIR/consensus.wal holds %llu bytes for height %llu: taking no more "
				 "messages from peers at this height", (unsigned long long)mark->at,
				 (unsigned long long)bft_height(cs->e));
		cs->wal_full = 1;
		return ASSAY_ELIMIT;
	}
	if (wal_log(cs, r))
		return ASSAY_EIO;
	mark->end = conswal_size(cs->wal);
	return 0;
}

/* The engine's answer to a logged peer message: one it did not take (any
 * code but 0; ASSAY_ENOMEM aside) changed nothing in it, so its record comes
 * off the end of the log again, and repeated, stale and refused messages do
 * not grow the file. Only when nothing was appended after it. */
static void wal_unlog_refused(struct consensus *cs, const struct wal_mark *mark, int rc)
{
	if (!wal_on(cs) || cs->replaying || rc == 0 || rc == ASSAY_ENOMEM || mark->end == mark->at ||
	    conswal_size(cs->wal) != mark->end)
		return;
	if (conswal_truncate(cs->wal, mark->at) != 0)
		log_warn("consensus: cannot cut DATADIR/consensus.wal back: %s", strerror(errno));
}

/* What every signature goes through: the inputs that led to it durable in
 * the WAL, the sign-state, then a SIGNED record. While replaying, exactly
 * what the WAL says was signed before is signed again (the same bytes:
 * Ed25519 is deterministic); anything else meets the sign-state as live. */
static int sign_guard(struct consensus *cs, uint64_t height, uint32_t round, uint32_t step,
		      const uint8_t hash[HASH_LEN])
{
	char hex[2 * HASH_LEN + 1];
	hex_encode(hash, HASH_LEN, hex);
	/* Below the sign-state's last signature only the log knows what was
	 * signed; at or above it (the very last one, or a sign-state file older
	 * than the log) the sign-state decides as for a new signature. */
	if (cs->replaying && signed_has(cs, height, round, step, hash) &&
	    signstate_cmp(cs->sign, height, round, step) < 0) {
		log_debugc(LOG_CAT_CONSENSUS, "consensus: signing step %u at height %llu round %u: %s (again, replayed)", step,
			  (unsigned long long)height, round, hex);
		return 0;
	}
	if (cs->wal && conswal_sync(cs->wal) != 0) {
		/* what the log holds may be lost: signing on it could contradict
		 * a lock the log no longer shows, so the node stops */
		char msg[200];
		snprintf(msg, sizeof(msg), "cannot fsync DATADIR/consensus.wal: %s; not signing", strerror(errno));
		node_abort(cs->n, ASSAY_EIO, msg);
		return ASSAY_EIO;
	}
	int rc = signstate_allow(cs->sign, height, round, step, hash);
	if (rc == ASSAY_EIO) {
		/* what it would sign cannot be recorded (a full disk, most
		 * likely): the node stops and says why, rather than go on
		 * refusing every signature in silence */
		char msg[200];
		snprintf(msg, sizeof(msg), "cannot write DATADIR/signstate: %s; not signing", strerror(errno));
		node_abort(cs->n, ASSAY_EIO, msg);
		return rc;
	}
	if (rc)
		return rc;
	struct conswal_rec r;
	memset(&r, 0, sizeof(r));
	r.kind = CONSWAL_SIGNED;
	r.height = height;
	r.round = round;
	r.step = (uint8_t)step;
	memcpy(r.value, hash, HASH_LEN);
	log_debugc(LOG_CAT_CONSENSUS, "consensus: signing step %u at height %llu round %u: %s", step, (unsigned long long)height, round,
		  hex);
	/* not fsynced for itself: only the inputs must be durable before a
	 * signature; this record saves a replay a refusal, and the sign-state
	 * holds the last signature anyway */
	if (cs->wal && conswal_append_lazy(cs->wal, &r) != 0)
		log_warn("consensus: cannot append to DATADIR/consensus.wal (signing on: the sign-state holds)");
	signed_add(cs, &r);
	return 0;
}

static void broadcast_vote(struct consensus *cs, const struct bft_vote *v);

/* -testdoublesign: a second vote of the same (height, round, type) for
 * something else, signed past the sign-state on purpose and sent at once. */
static void double_sign(struct consensus *cs, const struct bft_vote *v)
{
	struct bft_vote other = *v;
	if (other.has_value) {
		other.has_value = 0;
		memset(other.value, 0, HASH_LEN);
	} else {
		other.has_value = 1;
		sha256_2("assay/testdoublesign", 20, &v->round, sizeof(v->round), other.value);
	}
	bft_vote_sign(cs->cfg.chain_id, cs->n->key_sk, &other);
	cs->doublesigned++;
	broadcast_vote(cs, &other);
}

static int op_sign_vote(void *ctx, const struct bft_vote *v, uint8_t sig[SIG_LEN])
{
	struct consensus *cs = ctx;
	uint8_t value[HASH_LEN];
	signstate_vote_value(v, value);
	int rc = sign_guard(cs, v->height, v->round, v->type == VOTE_PREVOTE ? SIGNSTATE_PREVOTE : SIGNSTATE_PRECOMMIT,
			    value);
	if (rc)
		return rc;
	struct bft_vote copy = *v;
	bft_vote_sign(cs->cfg.chain_id, cs->n->key_sk, &copy);
	memcpy(sig, copy.sig, SIG_LEN);
	if (cs->n->cfg.testdoublesign && !cs->replaying)
		double_sign(cs, &copy);
	return 0;
}

static int op_sign_proposal(void *ctx, const struct bft_proposal *p, uint8_t sig[SIG_LEN])
{
	struct consensus *cs = ctx;
	uint8_t value[HASH_LEN];
	signstate_proposal_value(cs->cfg.chain_id, p, value);
	int rc = sign_guard(cs, p->height, p->round, SIGNSTATE_PROPOSAL, value);
	if (rc)
		return rc;
	struct bft_proposal copy = *p;
	bft_proposal_sign(cs->cfg.chain_id, cs->n->key_sk, &copy);
	memcpy(sig, copy.sig, SIG_LEN);
	return 0;
}

/* Every consensus signature goes through the node's signature cache: the
 * node checks a vote on arrival (before logging it), the engine again when
 * it takes it, and a next-height one once more when that height starts. */
static int op_verify(void *ctx, const uint8_t pubkey[PUBKEY_LEN], const uint8_t sighash[HASH_LEN],
		     const uint8_t sig[SIG_LEN])
{
	struct consensus *cs = ctx;
	return sigcache_verify_msg(cs->n->sigcache, pubkey, sighash, sig);
}

static int vote_verify(struct consensus *cs, const struct bft_vote *v)
{
	uint8_t h[HASH_LEN];
	bft_vote_sighash(cs->cfg.chain_id, v, h);
	return op_verify(cs, v->validator, h, v->sig);
}

static int proposal_verify(struct consensus *cs, const struct bft_proposal *pr)
{
	uint8_t h[HASH_LEN];
	bft_proposal_sighash(cs->cfg.chain_id, pr, h);
	return op_verify(cs, pr->proposer, h, pr->sig);
}

/* ---- candidate blocks ---- */

static struct candidate *cand_find(struct consensus *cs, const uint8_t hash[HASH_LEN])
{
	for (int i = 0; i < CONSENSUS_MAX_CANDIDATES; i++)
		if (cs->cands[i].used && memcmp(cs->cands[i].hash, hash, HASH_LEN) == 0)
			return &cs->cands[i];
	return NULL;
}

/* Takes blk (moved: the caller no longer frees it). A free slot, else the
 * oldest block for a later height than the engine's, else, for a block of
 * the engine's height, the oldest: a block for a later height takes at most
 * half the slots and never pushes out one of the height being decided (it
 * is dropped instead, and asked for again when its height comes). */
static void cand_put(struct consensus *cs, struct block *blk, const uint8_t hash[HASH_LEN])
{
	if (cand_find(cs, hash)) {
		block_free(blk);
		return;
	}
	uint64_t now_h = cs->e ? bft_height(cs->e) : 0;
	struct candidate *slot = NULL, *old_ahead = NULL, *old_now = NULL;
	int ahead = 0;
	for (int i = 0; i < CONSENSUS_MAX_CANDIDATES; i++) {
		struct candidate *c = &cs->cands[i];
		if (!c->used) {
			slot = slot ? slot : c;
		} else if (c->blk.hdr.height > now_h) {
			ahead++;
			old_ahead = !old_ahead || c->seq < old_ahead->seq ? c : old_ahead;
		} else {
			old_now = !old_now || c->seq < old_now->seq ? c : old_now;
		}
	}
	int later = blk->hdr.height > now_h;
	if (later && ahead >= CONSENSUS_MAX_CANDIDATES / 2)
		slot = old_ahead;
	else if (!slot)
		slot = old_ahead ? old_ahead : later ? NULL : old_now;
	if (!slot) {
		block_free(blk);
		return;
	}
	if (slot->used)
		block_free(&slot->blk);
	slot->used = 1;
	slot->seq = ++cs->cand_seq;
	slot->seen_ms = node_now_ms();
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

/* ---- engine failures, decisions counted, evidence kept ---- */

/* ASSAY_ENOMEM leaves the engine refusing everything: it is rebuilt from
 * the WAL (engine_start at the same height replays it). More than
 * CONSENSUS_MAX_REBUILDS in a row — each within CONSENSUS_REBUILD_QUIET_MS
 * of the one before, with no decision between — and the node gives up.
 * Other codes pass through. */
static int engine_result(struct consensus *cs, int rc)
{
	if (rc != ASSAY_ENOMEM || cs->rebuild_pending)
		return rc; /* inputs until the rebuild are in the log: it replays them */
	uint64_t now = node_now_ms();
	if (now - cs->last_rebuild_ms > CONSENSUS_REBUILD_QUIET_MS)
		cs->rebuilds = 0; /* the last rebuild worked for a while */
	cs->last_rebuild_ms = now;
	if (!wal_on(cs) || ++cs->rebuilds > CONSENSUS_MAX_REBUILDS) {
		node_abort(cs->n, rc, "consensus: out of memory in the engine");
		return rc;
	}
	log_error("consensus: out of memory in the engine: rebuilding it from DATADIR/consensus.wal");
	cs->rebuilt++;
	cs->rebuild_pending = 1;
	event_active(cs->restart_ev, EV_TIMEOUT, 0);
	return rc;
}

static int commit_has_signer(const struct commit *c, const uint8_t validator[PUBKEY_LEN])
{
	for (uint32_t i = 0; i < c->nsigs; i++)
		if (memcmp(c->sigs[i].validator, validator, PUBKEY_LEN) == 0)
			return 1;
	return 0;
}

/* Per validator of vs: one more missed vote when c lacks its precommit.
 * Validators that joined are added; those that left keep their count. */
static void count_missed(struct consensus *cs, const struct bft_valset *vs, const struct commit *c)
{
	for (uint32_t v = 0; v < vs->n; v++) {
		const uint8_t *pk = vs->v[v].pubkey;
		size_t i = 0;
		while (i < cs->nmissed && memcmp(cs->missed[i].pubkey, pk, PUBKEY_LEN) != 0)
			i++;
		if (i == cs->nmissed) {
			struct missed *grown = realloc(cs->missed, (cs->nmissed + 1) * sizeof(*grown));
			if (!grown)
				return; /* a figure, not worth failing for */
			cs->missed = grown;
			memcpy(cs->missed[i].pubkey, pk, PUBKEY_LEN);
			cs->missed[i].missed = 0;
			cs->nmissed++;
		}
		cs->missed[i].missed += !commit_has_signer(c, pk);
	}
}

/* Missed votes as the chain records them: height h - 1 counted when block
 * h, decided, carries its commit in last_commit, against the set of h - 1
 * (what the downtime rule reads, docs/protocol.md §10.4). The engine's own
 * commit of a height holds only its first quorum; the proposer of the next
 * block adds the precommits that came later (widen_tip_commit), so that
 * commit would count a validator that signs every height, only later than
 * the others, as missing most of them. */
static void count_recorded(struct consensus *cs, const struct block *blk)
{
	struct bft_valset vs;
	if (blk->hdr.height < 2 || chain_validator_set(cs->n->chain, blk->hdr.height - 1, &vs) != 0)
		return; /* genesis has no commit; a set not read costs only a figure */
	count_missed(cs, &vs, &blk->last_commit);
	bft_valset_free(&vs);
}

/* Figures for a decided height: rounds it took, proposal-to-commit time
 * (seen_ms: when its proposal arrived, 0 unknown), and, when its block is
 * held, the validators its last_commit lacks. */
static void count_decision(struct consensus *cs, const struct bft_output *o, const struct candidate *c,
			   uint64_t now)
{
	size_t b = 0;
	while (b < CONSENSUS_ROUND_BUCKETS && (uint64_t)o->round + 1 > round_bounds[b])
		b++;
	cs->rounds_hist[b]++;
	uint64_t seen_ms = c ? c->seen_ms : 0;
	if (seen_ms && now >= seen_ms) {
		cs->latency_last_ms = now - seen_ms;
		cs->latency_sum_ms += cs->latency_last_ms;
		cs->latency_count++;
	}
	if (c)
		count_recorded(cs, &c->blk);
	cs->rebuilds = 0;
}

/* Counts evidence the engine reported: 1 when it is new here, 0 when the
 * same record came before (a replay after a rebuild or restart reports it
 * again), so it is submitted once. */
static int keep_evidence(struct consensus *cs, const struct bft_evidence *ev)
{
	cs->evidence_seen++;
	for (size_t i = 0; i < cs->nevidence; i++)
		if (memcmp(&cs->evidence[i], ev, sizeof(*ev)) == 0)
			return 0;
	if (cs->nevidence == CONSENSUS_MAX_EVIDENCE) {
		memmove(&cs->evidence[0], &cs->evidence[1], (CONSENSUS_MAX_EVIDENCE - 1) * sizeof(*ev));
		cs->nevidence--;
	}
	cs->evidence[cs->nevidence++] = *ev;
	return 1;
}

/* Starts the log of height h: HEIGHT h, START first, then the records of
 * height h the file holds already (inputs for h that came while the engine
 * was below it, SIGNED records of h), in their order. cs->signed_recs
 * becomes the SIGNED records of h. *carried, when not NULL, receives the
 * carried records (the caller frees them) for a fresh engine to replay.
 * Any failure stops the node (node_abort): a file it cannot read back is
 * left as it is, never replaced. */
static int wal_rotate(struct consensus *cs, uint64_t h, uint32_t first, struct conswal_rec **carried, size_t *ncarried)
{
	struct conswal_rec *recs = NULL, *out = NULL;
	size_t n = 0, k = 0;
	char err[256];
	int saved = EIO;
	if (carried) {
		*carried = NULL;
		*ncarried = 0;
	}
	if (!wal_on(cs))
		return 0; /* a follower keeps no log */
	int rc = conswal_read(cs->wal, &recs, &n, err, sizeof(err));
	if (rc) {
		/* What it cannot read may be records of h, SIGNED ones among
		 * them: a new file without them would let a restart sign
		 * against them. The damaged file stays for a person to look at,
		 * the log is broken (conswal_read) and the node stops, so nothing
		 * more is signed. */
		char what[400];
		snprintf(what, sizeof(what),
			 "consensus: cannot read DATADIR/consensus.wal back to start height %llu (%s)",
			 (unsigned long long)h, err);
		node_abort(cs->n, rc, what);
		return rc;
	}
	out = calloc(n + 2, sizeof(*out));
	if (!out) {
		rc = ASSAY_ENOMEM;
		goto done;
	}
	out[0].kind = CONSWAL_HEIGHT;
	out[0].height = h;
	memcpy(out[0].value, cs->cfg.chain_id, HASH_LEN);
	out[1].kind = CONSWAL_START;
	out[1].height = h;
	out[1].round = first;
	k = 2;
	cs->nsigned = 0;
	cs->wal_full = 0;
	for (size_t i = 1; i < n; i++) {
		if (recs[i].height != h || recs[i].kind == CONSWAL_START || recs[i].kind == CONSWAL_HEIGHT)
			continue;
		out[k] = recs[i];
		memset(&recs[i].commit, 0, sizeof(recs[i].commit)); /* moved */
		recs[i].block = NULL;
		recs[i].block_len = 0;
		if (out[k].kind == CONSWAL_SIGNED)
			signed_add(cs, &out[k]);
		k++;
	}
	rc = conswal_rewrite(cs->wal, out, k);
	saved = errno;
	if (!rc && carried) {
		*carried = out;
		*ncarried = k;
		out = NULL;
		k = 0;
	}
done:
	conswal_recs_free(recs, n);
	conswal_recs_free(out, k);
	if (rc) {
		char what[200];
		snprintf(what, sizeof(what), "consensus: write failed for DATADIR/consensus.wal: %s",
			 rc == ASSAY_ENOMEM ? "out of memory" : strerror(saved));
		node_abort(cs->n, rc, what);
	}
	return rc;
}

/* ---- the output loop ---- */

static void pump(struct consensus *cs);
static void submit_evidence(struct consensus *cs, const struct bft_evidence *ev);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct timer_arg *ta = arg;
	(void)fd;
	(void)what;
	struct consensus *cs = ta->cs;
	if (!cs->e || cs->halted)
		return;
	struct conswal_rec r;
	memset(&r, 0, sizeof(r));
	r.kind = CONSWAL_TIMEOUT;
	r.height = ta->height;
	r.round = ta->round;
	r.step = (uint8_t)ta->step;
	/* a timer of another round changes nothing: not worth a record */
	if (ta->height == bft_height(cs->e) && ta->round == bft_round(cs->e) && wal_log(cs, &r))
		return;
	engine_result(cs, bft_on_timeout(cs->e, ta->step, ta->height, ta->round));
	pump(cs);
}

static void add_timer(struct event *ev, uint64_t delay_ms)
{
	struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
	event_add(ev, &tv);
}

static void widen_tip_commit(struct consensus *cs);

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
	widen_tip_commit(cs);
	if (n->aborted)
		return;
	struct block blk;
	char err[256], what_s[320];
	uint64_t now = node_now_ms();
	uint64_t parent = chain_tip(n->chain)->time_ms;
	int rc = producer_build_block(n->chain, n->mempool, now > parent ? now : parent + 1, n->key_sk, &blk,
				      err, sizeof(err));
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
	/* logged with the block itself: a validator that crashes after
	 * deciding it, before connecting it, gets it back from the replay */
	struct buf enc;
	buf_init(&enc);
	block_encode(&blk, &enc);
	cand_put(cs, &blk, hash);
	if (enc.oom) {
		buf_free(&enc);
		node_abort(n, ASSAY_ENOMEM, "consensus: out of memory");
		return;
	}
	struct conswal_rec r;
	memset(&r, 0, sizeof(r));
	r.kind = CONSWAL_VALUE;
	r.height = cs->value_height;
	r.round = cs->value_round;
	memcpy(r.value, hash, HASH_LEN);
	r.block = enc.data; /* borrowed */
	r.block_len = enc.len;
	rc = wal_log(cs, &r);
	buf_free(&enc);
	if (rc)
		return;
	engine_result(cs, bft_on_value(cs->e, cs->value_height, cs->value_round, hash));
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

/* Hands the node's verdict on value (height) to the engine, logged first. */
static void give_verdict(struct consensus *cs, uint64_t height, const uint8_t value[HASH_LEN], int valid)
{
	struct conswal_rec r;
	memset(&r, 0, sizeof(r));
	r.kind = CONSWAL_VALIDITY;
	r.height = height;
	r.valid = valid ? 1 : 0;
	memcpy(r.value, value, HASH_LEN);
	if (wal_log(cs, &r))
		return;
	engine_result(cs, bft_on_validity(cs->e, height, value, valid));
}

/* Notes value (height) at the end of l, once; values of lower heights (over)
 * are dropped. Every value is kept, however many: one dropped would never be
 * judged, the engine asking once a height. They are bounded by the
 * proposals the engine stores for the height. Out of memory stops the node:
 * our failure is no verdict. */
static void value_note(struct consensus *cs, struct value_list *l, uint64_t height, const uint8_t value[HASH_LEN])
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].height == height && memcmp(l->v[i].hash, value, HASH_LEN) == 0)
			return;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].height >= height)
			l->v[k++] = l->v[i];
	l->n = k;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : CONSENSUS_MAX_CANDIDATES;
		struct value_at *grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown) {
			node_abort(cs->n, ASSAY_ENOMEM, "consensus: out of memory noting a proposal to judge");
			return;
		}
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n].height = height;
	memcpy(l->v[l->n].hash, value, HASH_LEN);
	l->n++;
}

/* The values of l, moved to the caller (who frees .v); l is left empty. */
static struct value_list value_take_all(struct value_list *l)
{
	struct value_list all = *l;
	memset(l, 0, sizeof(*l));
	return all;
}

static void validate_value(struct consensus *cs, uint64_t height, const uint8_t value[HASH_LEN])
{
	struct node *n = cs->n;
	struct candidate *c = cand_find(cs, value);
	char err[256];
	if (!c) {
		/* never seen its block (a proposal replayed from the WAL): no verdict
		 * until a peer sends the block again (on_proposal_msg) */
		value_note(cs, &cs->pending, height, value);
		return;
	}
	if (c->blk.hdr.height != chain_height(n->chain) + 1) {
		give_verdict(cs, height, value, 0);
		return;
	}
	int rc = node_chunks_check_proposal(n, &c->blk, err, sizeof(err)); /* avail: compute.md §15.4 */
	if (rc == ASSAY_EUNAVAIL) {
		log_info("consensus: proposed block %llu waits for its chunks: %s", (unsigned long long)height, err);
		/* not yet judged: no verdict now; the engine does not ask again
		 * this height, so the chunks' arrival does (consensus_on_chunk) */
		value_note(cs, &cs->unavail, height, value);
		return;
	}
	if (!rc)
		rc = chain_check_block(n->chain, &c->blk, node_now_ms(), err, sizeof(err));
	if (assay_err_is_local(rc)) {
		log_error("consensus: cannot check block %llu: %s", (unsigned long long)height, err);
		return; /* our failure is no verdict on the block */
	}
	if (rc)
		log_warn("consensus: proposed block %llu is invalid: %s", (unsigned long long)height, err);
	give_verdict(cs, height, value, rc == 0);
}

/* A block arrived for a proposal whose VALIDATE found none. */
static void pending_take(struct consensus *cs, const uint8_t value[HASH_LEN])
{
	struct value_list *l = &cs->pending;
	for (size_t i = 0; i < l->n; i++) {
		if (memcmp(l->v[i].hash, value, HASH_LEN) != 0)
			continue;
		uint64_t height = l->v[i].height; /* a block hash names one height: one entry */
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
		l->n--;
		if (cs->e && height == bft_height(cs->e))
			validate_value(cs, height, value); /* may note it again */
		return;
	}
}

void consensus_on_chunk(struct node *n, const uint8_t chunk[HASH_LEN])
{
	struct consensus *cs = n->consensus;
	int judged = 0;
	if (!cs)
		return;
	/* taken out, as validate_value notes again what is still short */
	struct value_list all = value_take_all(&cs->unavail);
	for (size_t i = 0; i < all.n; i++) {
		const struct value_at *p = &all.v[i];
		if (!cs->e || cs->halted || p->height != bft_height(cs->e))
			continue; /* the height is over */
		const struct candidate *c = cand_find(cs, p->hash);
		/* judged again once the chunk completes its block; a block no
		 * longer held goes to validate_value, which waits for it */
		if (c && node_chunks_completes(n, &c->blk, chunk) != 1) {
			value_note(cs, &cs->unavail, p->height, p->hash);
			continue;
		}
		validate_value(cs, p->height, p->hash); /* notes it again if still short */
		judged = 1;
	}
	free(all.v);
	/* the verdict's votes and timeouts are only queued by the engine: sent
	 * and set now, as after every other input */
	if (judged)
		pump(cs);
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

static void cand_from_record(struct consensus *cs, const struct conswal_rec *r);

/* A validator's log holds the block of every proposal it took (logged with
 * it) and of its own: the decided block, if the candidates lost it, comes
 * back from there. NULL when it is not there either. */
static struct candidate *cand_from_wal(struct consensus *cs, const uint8_t value[HASH_LEN])
{
	struct conswal_rec *recs;
	size_t n;
	char err[160];
	if (!wal_on(cs) || conswal_read(cs->wal, &recs, &n, err, sizeof(err)) != 0)
		return NULL;
	for (size_t i = 0; i < n && !cand_find(cs, value); i++)
		if ((recs[i].kind == CONSWAL_PROPOSAL && memcmp(recs[i].proposal.value, value, HASH_LEN) == 0) ||
		    (recs[i].kind == CONSWAL_VALUE && memcmp(recs[i].value, value, HASH_LEN) == 0))
			cand_from_record(cs, &recs[i]);
	conswal_recs_free(recs, n);
	return cand_find(cs, value);
}

static void decide(struct consensus *cs, const struct bft_output *o)
{
	struct node *n = cs->n;
	struct candidate *c = cand_find(cs, o->value);
	if (!c && (c = cand_from_wal(cs, o->value)) != NULL)
		log_info("consensus: decided height %llu: its block taken back from the consensus log",
			 (unsigned long long)o->height);
	char err[256];
	uint64_t now = node_now_ms();
	cs->decided++;
	/* The next block is due a block time after this one's timestamp, not
	 * after the decision, so the voting does not add to every interval; a
	 * timestamp ahead of our clock counts as now (a skewed proposer must not
	 * slow the chain down). */
	uint64_t made_ms = c && c->blk.hdr.time_ms < now ? c->blk.hdr.time_ms : now;
	cs->next_block_ms = made_ms + n->blocktime_ms;
	count_decision(cs, o, c, now);
	if (!c) {
		/* kept, so that the block, when sync brings it, joins the chain
		 * with this commit (consensus_known_commit) */
		commit_free(&cs->decided_commit);
		commit_copy(&cs->decided_commit, &o->commit);
		log_warn("consensus: decided height %llu without its block; waiting for block sync",
			 (unsigned long long)o->height);
		if (n->net)
			net_block_wait_retry(n->net); /* one may be buffered, waiting for this commit */
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
	else if (!cs->replaying)
		wal_rotate(cs, o->height + 1, 0, NULL, NULL);
}

/* A VALIDATE while replaying. When the log holds the node's verdict on
 * value (height) further on, the engine gets that verdict there, where it
 * got it first, and the block is not judged again: judged again, it can
 * come out otherwise (a timestamp that was too far ahead of the clock and
 * no longer is, chunks that have arrived since) or at another point among
 * the inputs (at once, where the first verdict waited for its block or its
 * chunks), and the engine would take another path than the one its
 * signatures followed, a lock it never had included (docs/consensus.md
 * §11). Without such a record (the crash came first) it is judged once the
 * replay is over, a new input logged after the replayed ones. */
static void replay_validate(struct consensus *cs, uint64_t height, const uint8_t value[HASH_LEN])
{
	for (size_t i = 0; i < cs->replay_rest_n; i++) {
		const struct conswal_rec *r = &cs->replay_rest[i];
		if (r->kind == CONSWAL_VALIDITY && r->height == height && memcmp(r->value, value, HASH_LEN) == 0)
			return;
	}
	/* Every one is noted, however many: one judged here, at once, would
	 * reach the engine at another point among the inputs than any verdict
	 * before the crash, and unlogged (nothing is logged while replaying). */
	value_note(cs, &cs->unjudged, height, value);
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
		if (!cs->replaying)
			broadcast_proposal(cs, &o->proposal);
		break;
	case BFT_OUT_VOTE:
		if (!cs->replaying)
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
		if (cs->replaying)
			replay_validate(cs, o->height, o->value);
		else
			validate_value(cs, o->height, o->value);
		break;
	case BFT_OUT_DECIDE:
		decide(cs, o);
		break;
	case BFT_OUT_EVIDENCE:
		if (keep_evidence(cs, &o->evidence))
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

/* A PROPOSAL or VALUE record's block back among the candidates (when it
 * decodes and is the block the record names). */
static void cand_from_record(struct consensus *cs, const struct conswal_rec *r)
{
	const uint8_t *want = r->kind == CONSWAL_PROPOSAL ? r->proposal.value : r->value;
	if (!r->block_len || cand_find(cs, want))
		return;
	const struct chain_params *cp = &chain_genesis(cs->n->chain)->params;
	struct block_limits lim = {cp->max_block_txs, cp->max_tx_bytes};
	struct block blk;
	uint8_t hash[HASH_LEN];
	if (block_decode(&blk, r->block, r->block_len, &lim) != 0)
		return;
	block_hash(&blk, hash);
	if (memcmp(hash, want, HASH_LEN) != 0) {
		block_free(&blk);
		return;
	}
	cand_put(cs, &blk, hash);
}

/* Feeds records into the engine as inputs, outputs handled in replay mode
 * (nothing sent again, nothing logged again). */
static void replay(struct consensus *cs, const struct conswal_rec *recs, size_t n)
{
	cs->replaying = 1;
	for (size_t i = 0; i < n && cs->e && !cs->halted; i++) {
		cs->replay_rest = recs + i + 1;
		cs->replay_rest_n = n - i - 1;
		if (recs[i].kind == CONSWAL_HEIGHT || recs[i].kind == CONSWAL_SIGNED)
			continue;
		if (recs[i].kind == CONSWAL_PROPOSAL || recs[i].kind == CONSWAL_VALUE)
			cand_from_record(cs, &recs[i]);
		int rc = engine_result(cs, conswal_feed(cs->e, &recs[i]));
		cs->replayed++;
		pump(cs);
		if (rc == ASSAY_ENOMEM)
			break;
	}
	cs->replaying = 0;
	cs->replay_rest = NULL;
	cs->replay_rest_n = 0;
	struct value_list all = value_take_all(&cs->unjudged);
	for (size_t i = 0; i < all.n; i++) {
		const struct value_at *p = &all.v[i];
		if (cs->e && !cs->halted && p->height == bft_height(cs->e)) {
			validate_value(cs, p->height, p->hash);
			pump(cs);
		}
	}
	free(all.v);
}

/* The engine for the chain's next height h, fresh. A validator's WAL for h
 * is replayed into it, so it comes back in the round, step and lock it had;
 * without one (a new height, or the file lost) it starts at round 0, or
 * after the last round its sign-state shows signed at h. */
static int engine_start(struct consensus *cs, char *err, size_t errlen)
{
	uint64_t h = chain_height(cs->n->chain) + 1;
	for (int i = 0; i < 3; i++)
		event_del(cs->timer[i]);
	event_del(cs->value_ev);
	bft_destroy(cs->e);
	cs->e = NULL;
	cs->rebuild_pending = 0;
	cand_prune(cs, h - 1);
	cs->pending.n = cs->unavail.n = cs->unjudged.n = 0;
	int rc = valset_at(cs, h, err, errlen);
	if (rc)
		return rc;
	cs->cfg.height = h;
	struct bft_ops ops = {cs, op_sign_vote, op_sign_proposal, op_verify};
	cs->e = bft_create(&cs->cfg, &cs->vs, &ops, err, errlen);
	if (!cs->e)
		return ASSAY_ENOMEM;
	cs->replayed = 0;
	if (wal_on(cs)) {
		struct conswal_rec *recs = NULL;
		size_t n = 0;
		rc = conswal_read(cs->wal, &recs, &n, err, errlen);
		if (rc)
			return rc;
		int current = n > 0 && recs[0].height == h && memcmp(recs[0].value, cs->cfg.chain_id, HASH_LEN) == 0;
		if (current && (n < 2 || recs[1].kind != CONSWAL_START)) /* START is always the second */
			current = 0;
		if (current) {
			cs->nsigned = 0;
			for (size_t i = 1; i < n; i++)
				if (recs[i].kind == CONSWAL_SIGNED && recs[i].height == h)
					signed_add(cs, &recs[i]);
			log_info("consensus: replaying %zu records of height %llu from DATADIR/consensus.wal", n - 1,
				 (unsigned long long)h);
			replay(cs, recs + 1, n - 1);
			conswal_recs_free(recs, n);
			/* what it had signed but maybe never sent goes out now, to
			 * the peers already connected (rebuild), or with the next
			 * rebroadcast (start) */
			if (cs->e && !cs->halted) {
				bft_rebroadcast(cs->e);
				pump(cs);
			}
			log_info("consensus: replayed: round %u, step %d, locked round %lld",
				 cs->e ? bft_round(cs->e) : 0, cs->e ? (int)bft_step(cs->e) : 0,
				 cs->e ? (long long)bft_locked(cs->e, NULL) : -1LL);
			return 0;
		}
		size_t held = 0;
		for (size_t i = 1; i < n; i++)
			held += recs[i].height == h;
		conswal_recs_free(recs, n);
		/* Signed at h with no log of it (the file was lost): rounds up to
		 * the last signed one are spent (the sign-state refuses them). */
		uint32_t first = 0;
		const struct signstate_last *last = cs->sign ? signstate_last(cs->sign) : NULL;
		if (last && last->any && last->height == h && last->round < UINT32_MAX && !held)
			first = last->round + 1;
		if (first)
			log_info("consensus: signed in round %u of height %llu with no log of it: starting at round %u",
				 last->round, (unsigned long long)h, first);
		struct conswal_rec *carried;
		size_t ncarried;
		if ((rc = wal_rotate(cs, h, first, &carried, &ncarried)) != 0)
			return assay_fail(err, errlen, rc, "cannot write DATADIR/consensus.wal");
		replay(cs, carried + 1, ncarried - 1);
		conswal_recs_free(carried, ncarried);
		return 0;
	}
	/* A follower: no log, nothing signed. */
	rc = bft_start_at(cs->e, 0);
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
	int rc = engine_start(cs, err, sizeof(err));
	if (rc < 0) {
		char why[320];
		snprintf(why, sizeof(why), "consensus: cannot restart the engine: %s", err);
		node_abort(cs->n, rc, why);
	}
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
	int rc = 0;
	if (n->cfg.testdoublesign) {
		const char *testing = getenv("ASSAY_TESTING");
		int local = strcmp(n->genesis.network_name, "dev") == 0 || strcmp(n->genesis.network_name, "local") == 0;
		if (!local || !testing || strcmp(testing, "1") != 0) {
			rc = assay_fail(err, errlen, ASSAY_EARG,
					"-testdoublesign makes this validator equivocate: only on a dev or local network "
					"with ASSAY_TESTING=1 in the environment");
			goto fail;
		}
		log_warn("consensus: -testdoublesign: this validator signs two conflicting votes in every round");
	}
	/* Tests only: ASSAY_TEST_ENGINE_ENOMEM=N (with ASSAY_TESTING=1) answers
	 * every Nth message from a peer as if the engine had run out of memory
	 * on it, so the rebuild from the WAL runs in a live node. */
	const char *testing = getenv("ASSAY_TESTING"), *every = getenv("ASSAY_TEST_ENGINE_ENOMEM");
	if (testing && strcmp(testing, "1") == 0 && every && n->has_key) {
		cs->test_enomem_every = strtoull(every, NULL, 10);
		if (cs->test_enomem_every)
			log_warn("consensus: ASSAY_TEST_ENGINE_ENOMEM: every %llu-th message fails as out of memory",
				 (unsigned long long)cs->test_enomem_every);
	}
	snprintf(path, sizeof(path), "%s/signstate", n->cfg.datadir);
	rc = n->has_key ? signstate_open(path, &cs->sign, err, errlen) : 0;
	if (rc)
		goto fail;
	if (n->has_key) { /* kept from the start, as the sign-state: the key may enter the set later */
		struct conswal_rec *recs;
		size_t nrecs;
		snprintf(path, sizeof(path), "%s/consensus.wal", n->cfg.datadir);
		cs->wal = conswal_open(path, &recs, &nrecs, &rc, err, errlen);
		if (!cs->wal)
			goto fail;
		conswal_recs_free(recs, nrecs);
	}
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
	signstate_close(cs->sign);
	if (cs->wal) {
		conswal_sync(cs->wal);
		conswal_close(cs->wal);
	}
	free(cs->signed_recs);
	free(cs->tip_sigs);
	bft_valset_free(&cs->tip_vs);
	commit_free(&cs->decided_commit);
	free(cs->missed);
	free(cs->pending.v);
	free(cs->unavail.v);
	free(cs->unjudged.v);
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
	/* logged with the block it names, so that a replay has the block too */
	struct conswal_rec r;
	memset(&r, 0, sizeof(r));
	r.kind = CONSWAL_PROPOSAL;
	r.height = pr.height;
	r.proposal = pr;
	r.block = (uint8_t *)(p + BFT_PROPOSAL_BYTES); /* borrowed */
	r.block_len = len - BFT_PROPOSAL_BYTES;
	struct wal_mark mark;
	int rc;
	const struct candidate *have = cand_find(cs, pr.value);
	if (have) {
		if (proposal_verify(cs, &pr) != 0)
			return ASSAY_ESIG;
		struct buf blk_enc;
		buf_init(&blk_enc);
		if (!r.block_len) { /* a bare proposal for a block we hold */
			block_encode(&have->blk, &blk_enc);
			if (blk_enc.oom) {
				buf_free(&blk_enc);
				return ASSAY_EIO;
			}
			r.block = blk_enc.data;
			r.block_len = blk_enc.len;
		}
		rc = wal_log_peer(cs, &r, &mark);
		buf_free(&blk_enc);
		if (rc)
			return rc;
		rc = bft_on_proposal(cs->e, &pr);
		wal_unlog_refused(cs, &mark, rc);
		return rc;
	}
	const struct chain_params *cp = &chain_genesis(n->chain)->params;
	struct block_limits lim = {cp->max_block_txs, cp->max_tx_bytes};
	struct block blk;
	uint8_t hash[HASH_LEN];
	if (len - BFT_PROPOSAL_BYTES > cp->max_block_bytes)
		return ASSAY_EINVALID;
	rc = block_decode(&blk, p + BFT_PROPOSAL_BYTES, len - BFT_PROPOSAL_BYTES, &lim);
	if (rc)
		return assay_err_is_local(rc) ? rc : ASSAY_EDECODE;
	block_hash(&blk, hash);
	if (memcmp(hash, pr.value, HASH_LEN) != 0 || blk.hdr.height != pr.height) {
		block_free(&blk);
		return ASSAY_EINVALID;
	}
	if (proposal_verify(cs, &pr) != 0) {
		block_free(&blk);
		return ASSAY_ESIG;
	}
	if ((rc = wal_log_peer(cs, &r, &mark)) != 0) {
		block_free(&blk);
		return rc;
	}
	rc = bft_on_proposal(cs->e, &pr);
	wal_unlog_refused(cs, &mark, rc);
	/* A block is kept only under a proposal the engine took (or already
	 * had): anyone's signed proposal would otherwise push the one being
	 * decided out of the CONSENSUS_MAX_CANDIDATES slots. What the engine
	 * asked of it meanwhile waits in its queue (pump), so it finds the
	 * block there. */
	if (rc != 0 && rc != ASSAY_EEXISTS) {
		block_free(&blk);
		return rc;
	}
	cand_put(cs, &blk, hash);
	pending_take(cs, hash);
	return rc;
}

/* A precommit for the tip. While the chain holds no commit for it (the tip
 * came by block sync; validators repeat the last height's precommits every
 * CONSENSUS_REBROADCAST_MS): kept, and once those of one round hold more
 * than 2/3 of the power they become the tip's commit, so this node can
 * propose on the tip (docs/consensus.md §10, "Block sync"). With a commit
 * held: kept when it is of the commit's round and by a validator the
 * commit lacks (a precommit that came after the decision), to widen the
 * commit when this node builds on the tip (widen_tip_commit). */
static void gather_tip_precommit(struct consensus *cs, const struct bft_vote *v)
{
	struct node *n = cs->n;
	uint8_t tip[HASH_LEN];
	chain_tip_hash(n->chain, tip);
	const struct commit *held = chain_tip_commit(n->chain);
	if (v->type != VOTE_PRECOMMIT || !v->has_value || v->height != chain_height(n->chain) ||
	    memcmp(v->value, tip, HASH_LEN) != 0)
		return;
	if (held->nsigs && (v->round != held->round || commit_has_signer(held, v->validator)))
		return;
	/* the tip's own set, which a bond may have changed at the next height */
	const struct bft_valset *vs = &cs->tip_vs;
	if (cs->tip_sigs_height != v->height) {
		free(cs->tip_sigs);
		cs->tip_sigs = NULL;
		cs->ntip_sigs = 0;
		cs->tip_sigs_height = 0;
		bft_valset_free(&cs->tip_vs);
		if (chain_validator_set(n->chain, v->height, &cs->tip_vs) != 0)
			return;
		cs->tip_sigs_height = v->height;
	}
	size_t cap = (size_t)vs->n * CONSENSUS_TIP_ROUNDS;
	if (!cs->tip_sigs && !(cs->tip_sigs = calloc(cap ? cap : 1, sizeof(*cs->tip_sigs))))
		return;
	if (bft_valset_find(vs, v->validator) < 0 || cs->ntip_sigs == cap)
		return;
	/* each validator fills at most CONSENSUS_TIP_ROUNDS slots, so the
	 * honest ones always have room */
	size_t mine = 0;
	for (size_t i = 0; i < cs->ntip_sigs; i++) {
		if (memcmp(cs->tip_sigs[i].validator, v->validator, PUBKEY_LEN) != 0)
			continue;
		if (cs->tip_sigs[i].round == v->round || ++mine == CONSENSUS_TIP_ROUNDS)
			return;
	}
	if (vote_verify(cs, v) != 0)
		return;
	struct tip_sig *t = &cs->tip_sigs[cs->ntip_sigs++];
	t->round = v->round;
	memcpy(t->validator, v->validator, PUBKEY_LEN);
	memcpy(t->sig, v->sig, SIG_LEN);
	if (held->nsigs)
		return; /* for widen_tip_commit */
	uint64_t power = 0;
	uint32_t k = 0;
	for (size_t i = 0; i < cs->ntip_sigs; i++)
		if (cs->tip_sigs[i].round == v->round) {
			power += vs->v[bft_valset_find(vs, cs->tip_sigs[i].validator)].power;
			k++;
		}
	if (!bft_power_quorum(power, vs->total))
		return;
	struct commit c = {v->height, v->round, {0}, k, calloc(k, sizeof(struct commit_sig))};
	if (!c.sigs)
		return;
	memcpy(c.block_hash, tip, HASH_LEN);
	k = 0;
	/* in validator order, as a commit the engine builds */
	for (uint32_t vi = 0; vi < vs->n; vi++)
		for (size_t i = 0; i < cs->ntip_sigs; i++)
			if (cs->tip_sigs[i].round == v->round &&
			    memcmp(cs->tip_sigs[i].validator, vs->v[vi].pubkey, PUBKEY_LEN) == 0) {
				memcpy(c.sigs[k].validator, cs->tip_sigs[i].validator, PUBKEY_LEN);
				memcpy(c.sigs[k].sig, cs->tip_sigs[i].sig, SIG_LEN);
				k++;
			}
	char err[256];
	int rc = chain_set_tip_commit(n->chain, &c, err, sizeof(err));
	if (rc == 0)
		log_info("consensus: learnt the commit of the tip (height %llu, round %u) from gossip: can propose on it",
			 (unsigned long long)c.height, c.round);
	else if (assay_err_is_local(rc))
		node_abort(n, rc, err);
	else if (rc != ASSAY_EEXISTS)
		log_warn("consensus: gathered precommits for the tip do not make a commit: %s", err);
	commit_free(&c);
	cs->ntip_sigs = 0;
}

/* Before this node builds on the tip: the precommits for it that came
 * after the decision (gather_tip_precommit) join the tip's commit, which
 * becomes the new block's last_commit. The engine decides on the first
 * quorum; without them the validators whose precommits arrive last would
 * be missing from every commit but those they build themselves, and the
 * downtime rule (docs/protocol.md §10.4) would jail a validator that signs
 * every block, only slower than the others. */
static void widen_tip_commit(struct consensus *cs)
{
	struct node *n = cs->n;
	const struct commit *held = chain_tip_commit(n->chain);
	if (!held->nsigs || !cs->ntip_sigs || cs->tip_sigs_height != chain_height(n->chain))
		return;
	const struct bft_valset *vs = &cs->tip_vs;
	struct commit c = {held->height, held->round, {0}, 0, calloc(vs->n ? vs->n : 1, sizeof(struct commit_sig))};
	if (!c.sigs)
		return; /* out of memory: the commit as it is still serves */
	memcpy(c.block_hash, held->block_hash, HASH_LEN);
	/* in validator order, as a commit the engine builds */
	for (uint32_t vi = 0; vi < vs->n; vi++) {
		const uint8_t *pk = vs->v[vi].pubkey, *sig = NULL;
		for (uint32_t i = 0; i < held->nsigs && !sig; i++)
			if (memcmp(held->sigs[i].validator, pk, PUBKEY_LEN) == 0)
				sig = held->sigs[i].sig;
		for (size_t i = 0; i < cs->ntip_sigs && !sig; i++)
			if (cs->tip_sigs[i].round == held->round && memcmp(cs->tip_sigs[i].validator, pk, PUBKEY_LEN) == 0)
				sig = cs->tip_sigs[i].sig;
		if (sig) {
			memcpy(c.sigs[c.nsigs].validator, pk, PUBKEY_LEN);
			memcpy(c.sigs[c.nsigs].sig, sig, SIG_LEN);
			c.nsigs++;
		}
	}
	char err[256];
	uint32_t before = held->nsigs;
	int rc = chain_widen_tip_commit(n->chain, &c, err, sizeof(err));
	if (rc == 0)
		log_debugc(LOG_CAT_CONSENSUS, "consensus: the commit of height %llu widened from %u to %u precommits",
			   (unsigned long long)c.height, before, c.nsigs);
	else if (assay_err_is_local(rc))
		node_abort(n, rc, err);
	else if (rc != ASSAY_EEXISTS)
		log_warn("consensus: late precommits for the tip do not widen its commit: %s", err);
	commit_free(&c);
	cs->ntip_sigs = 0;
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
		uint64_t h = bft_height(cs->e);
		if (v.height + 1 == h)
			gather_tip_precommit(cs, &v);
		struct wal_mark mark;
		if (wal_on(cs) && (v.height == h || v.height == h + 1)) {
			/* logged only for the heights whose votes change the
			 * engine's state, with a signature that verifies (forged
			 * votes must not grow the file) */
			if (vote_verify(cs, &v) != 0)
				return ASSAY_ESIG;
			struct conswal_rec r;
			memset(&r, 0, sizeof(r));
			r.kind = CONSWAL_VOTE;
			r.height = v.height;
			r.vote = v;
			if ((rc = wal_log_peer(cs, &r, &mark)) != 0)
				return rc;
			rc = bft_on_vote(cs->e, &v);
			wal_unlog_refused(cs, &mark, rc);
		} else {
			rc = bft_on_vote(cs->e, &v);
		}
	} else {
		rc = on_proposal_msg(cs, p, len);
	}
	if (rc == 0 && cs->test_enomem_every && ++cs->test_msgs % cs->test_enomem_every == 0)
		rc = ASSAY_ENOMEM;
	if (engine_result(cs, rc) == ASSAY_ENOMEM)
		return ASSAY_EIO; /* our failure, not the peer's */
	pump(cs);
	return rc;
}

/* What the engine's precommits say of value at its height: 1 with *out
 * when those of one round hold more than 2/3 of the power for it (its
 * commit); ASSAY_EINVALID when those of a round do for another value (it
 * is not the block committed there); else 0 (also out of memory: not
 * known, then). */
static int engine_commit(struct consensus *cs, const uint8_t value[HASH_LEN], struct commit *out)
{
	int other = 0;
	for (uint32_t r = 0; r <= bft_round(cs->e) + BFT_MAX_ROUNDS_AHEAD; r++) {
		const struct bft_voteset *pc = bft_votes(cs->e, r, VOTE_PRECOMMIT);
		for (uint32_t t = 0; pc && t < pc->ntallies; t++) {
			const struct bft_tally *tl = &pc->tallies[t];
			if (!tl->has_value || !bft_power_quorum(tl->power, cs->vs.total))
				continue;
			if (memcmp(tl->value, value, HASH_LEN) == 0)
				return bft_voteset_commit(pc, &cs->vs, value, out) == 0;
			other = 1;
		}
	}
	return other ? ASSAY_EINVALID : 0;
}

/* The tip (height, from block sync) may already have more than 2/3 of
 * the precommits in the engine, which could not decide it without the
 * proposal: they are the tip's commit. */
static void commit_from_engine(struct consensus *cs, uint64_t height)
{
	uint8_t tip[HASH_LEN];
	char err[256];
	struct commit c;
	chain_tip_hash(cs->n->chain, tip);
	if (engine_commit(cs, tip, &c) != 1)
		return;
	int rc = chain_set_tip_commit(cs->n->chain, &c, err, sizeof(err));
	if (rc == 0)
		log_info("consensus: block %llu came by sync; its commit (round %u) was in the engine's precommits",
			 (unsigned long long)height, c.round);
	else if (assay_err_is_local(rc))
		node_abort(cs->n, rc, err);
	commit_free(&c);
}

int consensus_known_commit(struct node *n, uint64_t height, const uint8_t hash[HASH_LEN], struct commit *out)
{
	struct consensus *cs = n->consensus;
	if (!cs || cs->halted)
		return 0;
	const struct commit *d = &cs->decided_commit;
	if (d->nsigs && d->height == height) {
		if (memcmp(d->block_hash, hash, HASH_LEN) != 0)
			return ASSAY_EINVALID;
		return commit_copy(out, d) == 0;
	}
	return cs->e && bft_height(cs->e) == height ? engine_commit(cs, hash, out) : 0;
}

void consensus_on_block_connected(struct node *n, uint64_t height)
{
	struct consensus *cs = n->consensus;
	if (!cs || !cs->e || cs->halted || n->aborted || height < bft_height(cs->e))
		return;
	cs->next_block_ms = node_now_ms() + n->blocktime_ms;
	/* A block of the engine's own height from block sync, with its commit
	 * known: the engine decides it from the commit (keeping the messages it
	 * holds for the next height, and the commit to repeat), else it is
	 * restarted at the next height. */
	if (height == bft_height(cs->e) && !chain_tip_commit(n->chain)->nsigs)
		commit_from_engine(cs, height);
	const struct commit *c = chain_tip_commit(n->chain);
	if (height == bft_height(cs->e) && c->nsigs && c->height == height && !cs->pumping) {
		struct conswal_rec r;
		memset(&r, 0, sizeof(r));
		r.kind = CONSWAL_COMMIT;
		r.height = height;
		r.commit = *c; /* borrowed: not freed here */
		if (wal_log(cs, &r))
			return;
		int rc = engine_result(cs, bft_on_commit(cs->e, c));
		pump(cs);
		if (rc == 0 && cs->e && bft_height(cs->e) == height + 1)
			return;
	}
	event_active(cs->restart_ev, EV_TIMEOUT, 0);
}

static void votes_info(const bft_engine_t *e, uint32_t round, uint8_t type, struct consensus_votes *out)
{
	const struct bft_voteset *vs = bft_votes(e, round, type);
	memset(out, 0, sizeof(*out));
	if (!vs)
		return;
	out->any = vs->power_any;
	for (uint32_t i = 0; i < vs->n; i++)
		out->voters += vs->state[i] != 0;
	for (uint32_t t = 0; t < vs->ntallies; t++) {
		const struct bft_tally *tl = &vs->tallies[t];
		if (!tl->has_value) {
			out->nil = tl->power;
			continue;
		}
		/* keep the CONSENSUS_INFO_VALUES with most power, sorted */
		uint32_t at = out->nvalues;
		while (at > 0 && out->values[at - 1].power < tl->power)
			at--;
		if (at >= CONSENSUS_INFO_VALUES)
			continue;
		uint32_t last = out->nvalues < CONSENSUS_INFO_VALUES ? out->nvalues : CONSENSUS_INFO_VALUES - 1;
		memmove(&out->values[at + 1], &out->values[at], (last - at) * sizeof(out->values[0]));
		memcpy(out->values[at].value, tl->value, HASH_LEN);
		out->values[at].power = tl->power;
		if (out->nvalues < CONSENSUS_INFO_VALUES)
			out->nvalues++;
	}
}

void consensus_info(struct node *n, struct consensus_info *info)
{
	struct consensus *cs = n->consensus;
	memset(info, 0, sizeof(*info));
	if (!cs || !cs->e)
		return;
	const bft_engine_t *e = cs->e;
	info->running = 1;
	info->outputs_queued = bft_outputs_queued(e);
	info->height = bft_height(e);
	info->round = bft_round(e);
	info->step = bft_step(e);
	info->is_validator = cs->cfg.is_validator;
	info->locked_round = bft_locked(e, info->locked_value);
	info->valid_round = bft_valid(e, info->valid_value);
	bft_proposer(cs->e, info->round, info->proposer);
	info->decided = cs->decided;
	info->total_power = bft_total_power(e);
	struct bft_proposal p;
	int validity = 0;
	info->proposal_pol_round = -1;
	if (bft_round_proposal(e, info->round, 0, &p, &validity)) {
		info->has_proposal = 1;
		memcpy(info->proposal, p.value, HASH_LEN);
		info->proposal_pol_round = p.pol_round == BFT_POL_NONE ? -1 : (int64_t)p.pol_round;
		info->proposal_validity = validity;
	}
	votes_info(e, info->round, VOTE_PREVOTE, &info->prevotes);
	votes_info(e, info->round, VOTE_PRECOMMIT, &info->precommits);
	info->evidence = cs->evidence_seen;
	info->wal_bytes = cs->wal ? conswal_size(cs->wal) : 0;
	info->replayed = cs->replayed;
	info->doublesigned = cs->doublesigned;
	info->rebuilt = cs->rebuilt;
}

void consensus_metrics(struct node *n, struct evbuffer *out)
{
	struct consensus *cs = n->consensus;
	if (!cs || !cs->e)
		return;
	evbuffer_add_printf(out,
			    "# HELP assay_consensus_height Height the consensus engine is deciding.\n"
			    "# TYPE assay_consensus_height gauge\nassay_consensus_height %llu\n"
			    "# HELP assay_consensus_round Round of that height.\n"
			    "# TYPE assay_consensus_round gauge\nassay_consensus_round %u\n"
			    "# HELP assay_consensus_step Step of that round (0 propose, 1 prevote, 2 precommit).\n"
			    "# TYPE assay_consensus_step gauge\nassay_consensus_step %d\n"
			    "# HELP assay_consensus_evidence_total Duplicate-vote evidence the engine reported.\n"
			    "# TYPE assay_consensus_evidence_total counter\nassay_consensus_evidence_total %llu\n"
			    "# HELP assay_consensus_heights_decided_total Heights this node decided, by the rounds each took.\n"
			    "# TYPE assay_consensus_heights_decided_total counter\n",
			    (unsigned long long)bft_height(cs->e), bft_round(cs->e), (int)bft_step(cs->e),
			    (unsigned long long)cs->evidence_seen);
	static const char *const labels[CONSENSUS_ROUND_BUCKETS + 1] = {"1", "2", "3", "4-5", "6-10", "11+"};
	for (size_t b = 0; b <= CONSENSUS_ROUND_BUCKETS; b++)
		evbuffer_add_printf(out, "assay_consensus_heights_decided_total{rounds=\"%s\"} %llu\n", labels[b],
				    (unsigned long long)cs->rounds_hist[b]);
	evbuffer_add_printf(out,
			    "# HELP assay_consensus_proposal_to_commit_seconds_total Seconds from the arrival of each "
			    "decided proposal to its decision, summed over assay_consensus_heights_timed_total.\n"
			    "# TYPE assay_consensus_proposal_to_commit_seconds_total counter\n"
			    "assay_consensus_proposal_to_commit_seconds_total %llu.%03llu\n"
			    "# HELP assay_consensus_heights_timed_total Decided heights whose proposal this node saw arrive.\n"
			    "# TYPE assay_consensus_heights_timed_total counter\nassay_consensus_heights_timed_total %llu\n"
			    "# HELP assay_consensus_last_proposal_to_commit_seconds The same time for the last height timed.\n"
			    "# TYPE assay_consensus_last_proposal_to_commit_seconds gauge\n"
			    "assay_consensus_last_proposal_to_commit_seconds %llu.%03llu\n"
			    "# HELP assay_consensus_missed_votes_total Heights whose commit, as the next decided block's "
			    "last_commit records it, lacks the validator's precommit.\n"
			    "# TYPE assay_consensus_missed_votes_total counter\n",
			    (unsigned long long)(cs->latency_sum_ms / 1000), (unsigned long long)(cs->latency_sum_ms % 1000),
			    (unsigned long long)cs->latency_count, (unsigned long long)(cs->latency_last_ms / 1000),
			    (unsigned long long)(cs->latency_last_ms % 1000));
	for (size_t i = 0; i < cs->nmissed; i++) {
		char addr[ADDR_STR_MAX];
		uint8_t a[ADDR_LEN];
		address_from_pubkey(cs->missed[i].pubkey, a);
		address_encode(n->genesis.net, a, addr);
		evbuffer_add_printf(out, "assay_consensus_missed_votes_total{validator=\"%s\"} %llu\n", addr,
				    (unsigned long long)cs->missed[i].missed);
	}
}

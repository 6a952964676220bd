/* Tests of the node's consensus glue (node/consensus.c) with the real engine
 * on a four-validator chain, fed messages as peers would send them: a
 * proposal for the next height is kept only from that round's proposer, so
 * a faulty validator cannot fill the node's candidate slots and its
 * consensus log with blocks of its own, pushing out the block being decided
 * (after which every node decided a block it no longer held); and a log
 * damaged under a running validator stops it at the next rotation instead
 * of being replaced; and a proposal found unavailable is judged once its
 * chunks arrive; and a restart replays the verdicts it logged instead of
 * judging the blocks again, and judges every proposal that had none once
 * the replay is over; and precommits that come after the decision
 * join the commit of the node's next block, and the missed votes it shows
 * count that commit, not the engine's first quorum. Not for: the engine's
 * rules (test_bft), the log's format (test_consensus_wal). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "consensus/bft/voteset.h"
#include "consensus/compute/avail.h"
#include "core/error.h"
#include "core/log.h"
#include "node/consensus.h"
#include "node/node.h"
#include "node/sigcache.h"
#include "node/store.h"
#include "test.h"
#include "node_fixture.h"

static struct fixture fx;
static int self_key = 3; /* the validator node's key (open_node_in) */

static int key_index(const uint8_t pk[PUBKEY_LEN])
{
	for (int i = 0; i < FIX_KEYS; i++)
		if (memcmp(fx.pk[i], pk, PUBKEY_LEN) == 0)
			return i;
	return -1;
}

/* A proposal with its block, as a peer sends it: consensus_on_message's code. */
static int send_proposal(struct node *n, uint64_t height, uint32_t round, const struct block *blk, int who)
{
	struct bft_proposal p;
	memset(&p, 0, sizeof(p));
	p.height = height;
	p.round = round;
	p.pol_round = BFT_POL_NONE;
	block_hash(blk, p.value);
	memcpy(p.proposer, fx.pk[who], PUBKEY_LEN);
	bft_proposal_sign(fx.g.hash, fx.sk[who], &p);
	struct buf b;
	buf_init(&b);
	bft_proposal_encode(&p, &b);
	block_encode(blk, &b);
	int rc = consensus_on_message(n, 0, b.data, b.len);
	buf_free(&b);
	return rc;
}

static int send_vote_at(struct node *n, uint64_t height, uint8_t type, const uint8_t value[HASH_LEN], int who)
{
	struct bft_vote v;
	memset(&v, 0, sizeof(v));
	v.type = type;
	v.height = height;
	v.has_value = 1;
	memcpy(v.value, value, HASH_LEN);
	memcpy(v.validator, fx.pk[who], PUBKEY_LEN);
	bft_vote_sign(fx.g.hash, fx.sk[who], &v);
	struct buf b;
	buf_init(&b);
	bft_vote_encode(&v, &b);
	int rc = consensus_on_message(n, 1, b.data, b.len);
	buf_free(&b);
	return rc;
}

static int send_vote(struct node *n, uint8_t type, const uint8_t value[HASH_LEN], int who)
{
	return send_vote_at(n, 1, type, value, who);
}

/* Height 1's round 0 proposer sends its block b1 (hash h1), taken by the
 * node; returns the proposer's key index. */
static int propose_b1(struct node *n, struct block *b1, uint8_t h1[HASH_LEN])
{
	struct consensus_info info;
	consensus_info(n, &info);
	int prop = key_index(info.proposer);
	CHECK(info.height == 1 && prop >= 0);
	char err[256];
	CHECK(chain_build_block(n->chain, NULL, 0, node_now_ms(), fx.sk[prop], b1, NULL, NULL, err, sizeof(err)) == 0);
	block_hash(b1, h1);
	CHECK_EQ_INT(send_proposal(n, 1, 0, b1, prop), 0);
	return prop;
}

/* Prevotes, then precommits, of validators 0 to 2 for value at height 1,
 * round 0: a quorum. A validator node adds its own votes, so a late third
 * peer's is for a height decided (ASSAY_EEXISTS). */
static void votes_for(struct node *n, const uint8_t value[HASH_LEN])
{
	for (int type = VOTE_PREVOTE; type <= VOTE_PRECOMMIT; type++)
		for (int i = 0; i < 3; i++) {
			int rc = send_vote(n, (uint8_t)type, value, i);
			CHECK(rc == 0 || rc == ASSAY_EEXISTS);
		}
}

static int commit_has_key(const struct commit *cm, const uint8_t pk[PUBKEY_LEN])
{
	for (uint32_t i = 0; i < cm->nsigs; i++)
		if (memcmp(cm->sigs[i].validator, pk, PUBKEY_LEN) == 0)
			return 1;
	return 0;
}

/* A node of a chain of four equal validators: validator 3 (with its
 * consensus log) when validator, else a follower; the others are peers.
 * Its data directory is dir, made fresh when dir is empty (it is then
 * filled in, for a restart on the same one). */
static chain_t *open_node_in(struct node *n, int validator, char dir[300])
{
	free(fx.g.validators);
	fx.g.validators = calloc(4, sizeof(*fx.g.validators));
	for (int i = 0; i < 4; i++) {
		memcpy(fx.g.validators[i].pubkey, fx.pk[i], PUBKEY_LEN);
		fx.g.validators[i].stake = 10;
	}
	fx.g.nvalidators = 4;
	genesis_finish(&fx.g);
	char path[400], err[256];
	static int nodes;
	if (!dir[0]) {
		snprintf(dir, 300, "%s/node%d", fx.dir, ++nodes); /* a fresh one each */
		CHECK(mkdir(dir, 0700) == 0);
	}
	snprintf(path, sizeof(path), "%s/chain", dir);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(c != NULL);
	memset(n, 0, sizeof(*n));
	n->chain = c;
	n->mempool = mempool_new(c, 100, 1u << 20);
	CHECK(genesis_copy(&n->genesis, &fx.g) == 0);
	snprintf(n->cfg.datadir, sizeof(n->cfg.datadir), "%s", dir);
	n->base = event_base_new();
	static const uint8_t salt[SIGCACHE_SALT_LEN] = {1};
	n->sigcache = sigcache_new(1024, salt);
	if (validator) {
		n->has_key = 1;
		memcpy(n->key_pk, fx.pk[self_key], PUBKEY_LEN);
		memcpy(n->key_sk, fx.sk[self_key], SECKEY_LEN);
	}
	CHECK(consensus_start(n, err, sizeof(err)) == 0);
	return c;
}

static chain_t *open_node(struct node *n, int validator)
{
	char dir[300] = "";
	return open_node_in(n, validator, dir);
}

static void close_node(struct node *n)
{
	consensus_stop(n);
	sigcache_free(n->sigcache);
	mempool_free(n->mempool);
	chain_close(n->chain);
	event_base_free(n->base);
	genesis_free(&n->genesis);
}

/* Height 1's proposer sends block B. Each round of height 2 up to
 * BFT_MAX_ROUNDS_AHEAD is proposed by its proposer (9 blocks for a later
 * height: they take at most half the candidate slots, never B's); a faulty
 * validator then sends a proposal for each round with a block of its own:
 * refused (ASSAY_ELIMIT, no points) and not logged. The votes for B then
 * decide it and the node connects it. peers: how many of the four are
 * peers (3 when the node is validator 3, 4 when it follows). */
static void next_height_proposals(int peers)
{
	struct node n;
	chain_t *c = open_node(&n, peers == 3);
	struct consensus_info info;
	struct block b1;
	uint8_t h1[HASH_LEN];
	int prop = propose_b1(&n, &b1, h1);

	/* who proposes the rounds of height 2: the one each round takes */
	int next_of[BFT_MAX_ROUNDS_AHEAD + 1];
	for (uint32_t r = 0; r <= BFT_MAX_ROUNDS_AHEAD; r++) {
		next_of[r] = -1;
		struct block junk = b1;
		junk.hdr.height = 2;
		junk.hdr.time_ms = 5000 + r;
		for (int who = 0; who < peers && next_of[r] < 0; who++) {
			junk.hdr.time_ms += 100; /* another block each try */
			int rc = send_proposal(&n, 2, r, &junk, who);
			CHECK(rc == 0 || rc == ASSAY_ELIMIT);
			if (rc == 0)
				next_of[r] = who;
		}
	}
	consensus_info(&n, &info);
	uint64_t wal = info.wal_bytes;
	/* a faulty validator floods every round it does not propose */
	int bad = (prop + 1) % peers;
	for (uint32_t r = 0; r <= BFT_MAX_ROUNDS_AHEAD; r++) {
		struct block junk = b1;
		junk.hdr.height = 2;
		junk.hdr.time_ms = 777 + r;
		/* not its round, or its round's one proposal is in already */
		CHECK_EQ_INT(send_proposal(&n, 2, r, &junk, bad), ASSAY_ELIMIT);
	}
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.wal_bytes, wal); /* nothing refused was logged */
	votes_for(&n, h1);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.height, 2);
	CHECK_EQ_U64(chain_height(c), 1); /* decided with its block, and connected */
	block_free(&b1);
	close_node(&n);
}

static void test_next_height_proposals_validator(void)
{
	next_height_proposals(3);
}

static void test_next_height_proposals_follower(void)
{
	next_height_proposals(4);
}

/* A validator whose candidate slots lost the block being decided (here:
 * two proposals of each later round of the same height from its round's
 * proposer push out round 0's B, the oldest) takes it back from
 * its consensus log when the votes decide B, and connects it, instead of
 * waiting for a block sync that nobody can serve. */
static void test_decided_block_back_from_the_log(void)
{
	struct node n;
	chain_t *c = open_node(&n, 1);
	struct consensus_info info;
	struct block b1;
	uint8_t h1[HASH_LEN];
	propose_b1(&n, &b1, h1);
	int later = 0;
	for (uint32_t r = 1; r <= BFT_MAX_ROUNDS_AHEAD; r++)
		for (int who = 0; who < 3; who++)
			for (int copy = 0; copy < 2; copy++) { /* a faulty proposer's two */
				struct block other = b1;
				other.hdr.time_ms += 1000 * r + 10 * who + copy;
				int rc = send_proposal(&n, 1, r, &other, who);
				CHECK(rc == 0 || rc == ASSAY_EINVALID); /* another's round */
				later += rc == 0;
			}
	CHECK(later >= CONSENSUS_MAX_CANDIDATES - 1); /* enough to push B out */
	votes_for(&n, h1);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.height, 2);
	CHECK_EQ_U64(chain_height(c), 1);
	block_free(&b1);
	close_node(&n);
}

/* Encodes a chunk of tile `first` of the made-up job 0x42 (root 0x43) into
 * b, and puts it in the chunk store under its hash as chunkstore_accept
 * would (docs/storage.md §4: the chain holds no such job to check it
 * against, and availability only asks whether it is held). */
static void chunk_made_up(uint32_t first, struct buf *b, uint8_t hash[HASH_LEN])
{
	static const uint8_t data[64] = {7};
	struct avail_chunk ch = {.first_tile = first, .tile_count = 1, .data = data, .data_len = sizeof(data)};
	memset(ch.job_id, 0x42, HASH_LEN);
	memset(ch.root, 0x43, HASH_LEN);
	buf_init(b);
	avail_chunk_encode(&ch, b);
	avail_chunk_hash(b->data, b->len, hash);
}

static void chunk_store_put(chain_t *c, const struct buf *enc, const uint8_t hash[HASH_LEN])
{
	uint8_t key[1 + HASH_LEN] = {STORE_P_CHUNK};
	memcpy(key + 1, hash, HASH_LEN);
	store_batch_t *b = store_batch_new();
	CHECK(b != NULL);
	store_batch_put(b, key, sizeof(key), enc->data, enc->len);
	CHECK_EQ_INT(store_write(chain_store(c), b, 0), 0);
	store_batch_free(b);
}

/* Height 1's proposer, a key other than this node's own (3). */
static int other_proposer(struct node *n)
{
	struct consensus_info info;
	consensus_info(n, &info);
	int prop = key_index(info.proposer);
	CHECK(info.height == 1 && prop >= 0 && prop != 3);
	return prop;
}

/* Height 1's proposer prop proposes a block whose job_chunks t (from key 5,
 * not the job's worker: the block is invalid) names count chunks of
 * `tiles` tiles each from tile 0, hash[i] the i-th, of (job_id, root), each
 * of data_len bytes; the node holds none and keeps the proposal unjudged. */
static void block_naming(struct node *n, int prop, uint64_t time_ms, const uint8_t job_id[HASH_LEN],
			 const uint8_t root[HASH_LEN], uint8_t (*hash)[HASH_LEN], uint32_t count, uint32_t tiles,
			 uint32_t data_len, struct tx *t, struct block *b1)
{
	struct job_chunks_payload p;
	memset(&p, 0, sizeof(p));
	memcpy(p.job_id, job_id, HASH_LEN);
	memcpy(p.root, root, HASH_LEN);
	p.count = count;
	for (uint32_t i = 0; i < count; i++) { /* count chunks of `tiles` tiles from tile 0 */
		p.refs[i] = (struct avail_ref){i * tiles, tiles, data_len, {0}};
		memcpy(p.refs[i].chunk_hash, hash[i], HASH_LEN);
	}
	fixture_chunks_tx(&fx, t, fx.pk[5], fx.sk[5], 100000, &p);
	char err[256];
	CHECK(chain_build_block(n->chain, NULL, 0, time_ms, fx.sk[prop], b1, NULL, NULL, err, sizeof(err)) == 0);
	CHECK(block_add_tx(b1, t) == 0);
	block_tx_root(b1, b1->hdr.tx_root);
}

/* The same block, proposed by prop in round 0 of height 1, where the node
 * keeps it unjudged. */
static void propose_naming(struct node *n, int prop, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
			   uint8_t (*hash)[HASH_LEN], uint32_t count, uint32_t tiles, uint32_t data_len, struct tx *t,
			   struct block *b1)
{
	block_naming(n, prop, node_now_ms(), job_id, root, hash, count, tiles, data_len, t, b1);
	uint8_t h1[HASH_LEN];
	block_hash(b1, h1);
	CHECK_EQ_INT(send_proposal(n, 1, 0, b1, prop), 0);
	struct consensus_info info;
	consensus_info(n, &info);
	CHECK(info.has_proposal && memcmp(info.proposal, h1, HASH_LEN) == 0);
	CHECK_EQ_INT(info.proposal_validity, 0); /* unavailable: not judged */
	CHECK_EQ_U64(info.prevotes.voters, 0);
}

/* The same as a peer or a worker delivers the chunks: through the one
 * accept path (node_chunks_accept), which stores each and then tells the
 * engine (consensus_on_chunk). The first leaves the proposal unjudged;
 * the second has it judged and voted on at once. Without that call the
 * proposal would wait for the next round's proposal or the height's end. */
static void test_accepted_chunk_completes_proposal(void)
{
	struct node n;
	chain_t *c = open_node(&n, 1);
	struct consensus_info info;
	int prop = other_proposer(&n);
	struct fixture_job oj;
	CHECK_EQ_INT(fixture_job_put(c, &oj, 0x52, fx.addr[6]), 0);
	struct buf enc[2];
	uint8_t hash[2][HASH_LEN], got[HASH_LEN];
	char err[256];
	for (uint32_t i = 0; i < 2; i++) {
		fixture_job_chunk(&oj, i, 1, &enc[i]);
		avail_chunk_hash(enc[i].data, enc[i].len, hash[i]);
	}
	struct tx t;
	struct block b1;
	propose_naming(&n, prop, oj.j.id, oj.j.slots[0].root, hash, 2, 1, 256, &t, &b1);
	CHECK_EQ_INT(node_chunks_accept(&n, enc[0].data, enc[0].len, got, err, sizeof(err)), 0);
	CHECK_EQ_MEM(got, hash[0], HASH_LEN);
	consensus_info(&n, &info);
	CHECK_EQ_INT(info.proposal_validity, 0); /* one of two */
	CHECK_EQ_U64(info.prevotes.voters, 0);
	CHECK_EQ_INT(node_chunks_accept(&n, enc[1].data, enc[1].len, got, err, sizeof(err)), 0);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.height, 1);
	CHECK_EQ_INT(info.proposal_validity, -1); /* judged: t is not the worker's */
	CHECK_EQ_U64(info.prevotes.voters, 1);    /* its own prevote, sent */
	block_free(&b1);
	tx_free(&t);
	buf_free(&enc[0]);
	buf_free(&enc[1]);
	close_node(&n);
}

/* A proposal's chunk is taken though chunks cut from it already hold all
 * its tiles: anyone who got the worker's chunk can cut valid sub-chunks
 * and send them first, and the store refuses a chunk nothing names whose
 * tiles it holds. A proposal has no commit and is never the waiting block,
 * so its chunks were refused as covered: the validator asked again, was
 * refused again, and could never find the proposal available. */
static void test_proposal_chunk_taken_past_cut_ones(void)
{
	struct node n;
	chain_t *c = open_node(&n, 1);
	struct consensus_info info;
	int prop = other_proposer(&n);
	struct fixture_job oj;
	CHECK_EQ_INT(fixture_job_put(c, &oj, 0x53, fx.addr[6]), 0);
	struct buf whole, cut[2];
	uint8_t hash[1][HASH_LEN], got[HASH_LEN];
	char err[256];
	fixture_job_chunk(&oj, 0, 2, &whole);
	avail_chunk_hash(whole.data, whole.len, hash[0]);
	fixture_job_chunk(&oj, 0, 1, &cut[0]);
	fixture_job_chunk(&oj, 1, 1, &cut[1]);
	struct tx t;
	struct block b1;
	propose_naming(&n, prop, oj.j.id, oj.j.slots[0].root, hash, 1, 2, 512, &t, &b1);
	consensus_info(&n, &info);
	CHECK_EQ_INT(info.proposal_validity, 0); /* waits for its chunk */
	for (int i = 0; i < 2; i++) /* cut from it, named by nothing */
		CHECK_EQ_INT(node_chunks_accept(&n, cut[i].data, cut[i].len, got, err, sizeof(err)), 0);
	CHECK_EQ_INT(node_chunks_accept(&n, whole.data, whole.len, got, err, sizeof(err)), 0);
	CHECK_EQ_MEM(got, hash[0], HASH_LEN);
	consensus_info(&n, &info);
	CHECK_EQ_INT(info.proposal_validity, -1); /* judged: t is not the worker's */
	CHECK_EQ_U64(info.prevotes.voters, 1);
	block_free(&b1);
	tx_free(&t);
	buf_free(&whole);
	buf_free(&cut[0]);
	buf_free(&cut[1]);
	close_node(&n);
}

/* A proposal by prop naming two made-up chunks (chunk_made_up) of a job
 * the chain does not hold: unjudged until both are stored, then invalid. */
struct made_up {
	struct buf enc[2];
	uint8_t hash[2][HASH_LEN];
	struct tx t;
	struct block b1;
};

static void propose_made_up(struct node *n, int prop, struct made_up *mu)
{
	uint8_t job_id[HASH_LEN], root[HASH_LEN];
	chunk_made_up(0, &mu->enc[0], mu->hash[0]);
	chunk_made_up(1, &mu->enc[1], mu->hash[1]);
	memset(job_id, 0x42, HASH_LEN);
	memset(root, 0x43, HASH_LEN);
	propose_naming(n, prop, job_id, root, mu->hash, 2, 1, 64, &mu->t, &mu->b1);
}

static void made_up_free(struct made_up *mu)
{
	block_free(&mu->b1);
	tx_free(&mu->t);
	buf_free(&mu->enc[0]);
	buf_free(&mu->enc[1]);
}

/* A proposal whose block names chunks the validator does not hold gets no
 * verdict and no prevote; each chunk that arrives and leaves it short
 * changes nothing; the one that completes it has the block judged, and the
 * engine has the verdict and votes on it within the same height (here nil:
 * the block's job_chunks names a job that does not exist). It used to stay
 * unjudged for the whole height, the engine asking only once. */
static void test_unavailable_proposal_judged_when_chunks_arrive(void)
{
	struct node n;
	chain_t *c = open_node(&n, 1);
	struct consensus_info info;
	int prop = other_proposer(&n);
	uint8_t other[HASH_LEN] = {0x99};
	struct made_up mu;
	propose_made_up(&n, prop, &mu);

	consensus_on_chunk(&n, other); /* a chunk it does not name */
	chunk_store_put(c, &mu.enc[0], mu.hash[0]);
	consensus_on_chunk(&n, mu.hash[0]); /* one of two */
	consensus_info(&n, &info);
	CHECK_EQ_INT(info.proposal_validity, 0);
	CHECK_EQ_U64(info.prevotes.voters, 0);

	chunk_store_put(c, &mu.enc[1], mu.hash[1]);
	consensus_on_chunk(&n, mu.hash[1]); /* the last */
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.height, 1);
	CHECK_EQ_INT(info.proposal_validity, -1);
	CHECK_EQ_U64(info.prevotes.voters, 1); /* its own prevote */
	CHECK_EQ_U64(info.prevotes.nil, 10);
	CHECK_EQ_U64(info.outputs_queued, 0); /* sent, not left in the engine's queue */
	made_up_free(&mu);
	close_node(&n);
}

/* A proposal judged invalid for a timestamp just too far ahead of the
 * clock gets a nil prevote; the prevotes of three peers for it lock
 * nothing (it is invalid). The validator crashes; by the time it restarts
 * the clock has caught up with the timestamp. The replay hands the engine
 * the logged verdict, not a new one: it used to judge the block again,
 * find it valid, and lock on it (with a precommit for it signed after the
 * restart), a lock the validator never had. */
static void test_replay_keeps_the_logged_verdict(void)
{
	struct node n;
	char dir[300] = "";
	chain_t *c = open_node_in(&n, 1, dir);
	struct consensus_info info;
	int prop = other_proposer(&n);
	const uint64_t margin_ms = 1500; /* beyond max_future_ms at the first check, within it after the wait */
	const uint64_t max_future_ms = chain_genesis(c)->params.max_future_ms;
	uint64_t block_time = node_now_ms() + max_future_ms + margin_ms;
	struct block b1;
	uint8_t h1[HASH_LEN];
	char err[256];
	CHECK(chain_build_block(c, NULL, 0, block_time, fx.sk[prop], &b1, NULL, NULL, err, sizeof(err)) == 0);
	block_hash(&b1, h1);
	struct block other; /* built after b1, so the chain does not hold b1 as its own block, checked */
	CHECK(chain_build_block(c, NULL, 0, node_now_ms(), fx.sk[prop], &other, NULL, NULL, err, sizeof(err)) == 0);
	block_free(&other);
	CHECK_EQ_INT(send_proposal(&n, 1, 0, &b1, prop), 0);
	consensus_info(&n, &info);
	CHECK_EQ_INT(info.proposal_validity, -1); /* in the future */
	CHECK_EQ_U64(info.prevotes.voters, 1);    /* its own, nil */
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(send_vote(&n, VOTE_PREVOTE, h1, i), 0);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.prevotes.any, 40);
	CHECK_EQ_INT(info.locked_round, -1);
	CHECK_EQ_U64(info.precommits.voters, 0);
	close_node(&n); /* as kill -9 would: everything was written */

	while (node_now_ms() + max_future_ms < block_time + 100)
		usleep(50 * 1000);
	c = open_node_in(&n, 1, dir);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.height, 1);
	CHECK_EQ_U64(info.round, 0);
	CHECK_EQ_INT(info.proposal_validity, -1); /* the logged verdict */
	CHECK_EQ_INT(info.locked_round, -1);
	CHECK_EQ_U64(info.precommits.voters, 0); /* nothing new signed */
	char path[400], line[200] = {0};
	snprintf(path, sizeof(path), "%s/signstate", dir);
	FILE *f = fopen(path, "r");
	CHECK(f && fgets(line, sizeof(line), f));
	if (f)
		fclose(f);
	CHECK(strncmp(line, "1 0 1 ", 6) == 0); /* still the nil prevote */
	block_free(&b1);
	close_node(&n);
}

/* A proposal that had no verdict when the validator stopped (its block's
 * chunks were missing) is judged at the restart, once the replay is over
 * and found no verdict for it in the log (the engine asks only once a
 * height), and that verdict is logged like any new input. */
static void test_replay_judges_what_had_no_verdict(void)
{
	struct node n;
	char dir[300] = "";
	chain_t *c = open_node_in(&n, 1, dir);
	struct consensus_info info;
	int prop = other_proposer(&n);
	struct made_up mu;
	propose_made_up(&n, prop, &mu); /* unjudged */
	chunk_store_put(c, &mu.enc[0], mu.hash[0]);
	chunk_store_put(c, &mu.enc[1], mu.hash[1]);
	close_node(&n);

	open_node_in(&n, 1, dir);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.height, 1);
	CHECK_EQ_INT(info.proposal_validity, -1); /* judged now: no such job */
	CHECK_EQ_U64(info.prevotes.voters, 1);    /* its own nil prevote */
	uint64_t replayed = info.replayed;
	close_node(&n);
	/* that verdict was logged, after the records replayed: the next
	 * restart replays it (the nil prevote's SIGNED record is not counted) */
	open_node_in(&n, 1, dir);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.replayed, replayed + 1);
	CHECK_EQ_INT(info.proposal_validity, -1);
	CHECK_EQ_U64(info.prevotes.voters, 1);
	made_up_free(&mu);
	close_node(&n);
}

enum { NPROP = CONSENSUS_MAX_CANDIDATES + 1 };

/* NPROP proposals at height 1, each of its round's proposer (the first
 * rounds, up to BFT_MAX_PROPOSALS_PER_ROUND each), each a block naming the
 * made-up chunks of mu (filled here), which the node does not hold: none is
 * judged. blk[i] was proposed in round_of[i] by who_of[i]. */
static void propose_unavailable(struct node *n, struct made_up *mu, struct block blk[NPROP], uint32_t round_of[NPROP],
				int who_of[NPROP])
{
	uint8_t job_id[HASH_LEN], root[HASH_LEN];
	chunk_made_up(0, &mu->enc[0], mu->hash[0]);
	chunk_made_up(1, &mu->enc[1], mu->hash[1]);
	memset(job_id, 0x42, HASH_LEN);
	memset(root, 0x43, HASH_LEN);
	int k = 0;
	uint64_t now = node_now_ms();
	for (uint32_t r = 0; r <= BFT_MAX_ROUNDS_AHEAD && k < NPROP; r++)
		for (int who = 0; who < 3 && k < NPROP; who++)
			for (uint32_t copy = 0; copy < BFT_MAX_PROPOSALS_PER_ROUND && k < NPROP; copy++) {
				struct tx t;
				block_naming(n, who, now + (uint64_t)k, job_id, root, mu->hash, 2, 1, 64, &t, &blk[k]);
				tx_free(&t);
				int rc = send_proposal(n, 1, r, &blk[k], who);
				CHECK(rc == 0 || rc == ASSAY_EINVALID); /* another's round */
				if (rc) {
					block_free(&blk[k]);
					break;
				}
				round_of[k] = r;
				who_of[k++] = who;
			}
	CHECK_EQ_INT(k, NPROP);
	struct consensus_info info;
	consensus_info(n, &info);
	CHECK_EQ_U64(info.prevotes.voters, 0); /* no verdict yet: nothing signed */
}

static void unavailable_free(struct made_up *mu, struct block blk[NPROP])
{
	for (int i = 0; i < NPROP; i++)
		block_free(&blk[i]);
	buf_free(&mu->enc[0]);
	buf_free(&mu->enc[1]);
}

/* More proposals without a verdict at a crash than CONSENSUS_MAX_CANDIDATES:
 * the restart's replay notes every one and judges it once the replay is
 * over, logging each verdict. The ninth used to find no room to be noted
 * and was judged at once, in the middle of the replay, where the validator
 * had no verdict before the crash, and its verdict was never logged. The
 * first block, pushed out of the candidates by the ninth as the replay put
 * them back, is judged when its proposer sends it again. */
static void test_replay_judges_every_value_without_verdict(void)
{
	struct node n;
	char dir[300] = "";
	chain_t *c = open_node_in(&n, 1, dir);
	struct made_up mu;
	struct block blk[NPROP];
	uint32_t round_of[NPROP];
	int who_of[NPROP];
	propose_unavailable(&n, &mu, blk, round_of, who_of);
	chunk_store_put(c, &mu.enc[0], mu.hash[0]);
	chunk_store_put(c, &mu.enc[1], mu.hash[1]);
	close_node(&n); /* as kill -9 would */

	open_node_in(&n, 1, dir);
	struct consensus_info info;
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.height, 1);
	uint64_t replayed = info.replayed;
	int rc = send_proposal(&n, 1, round_of[0], &blk[0], who_of[0]); /* sent again */
	CHECK(rc == 0 || rc == ASSAY_EEXISTS);
	close_node(&n);
	/* every verdict was logged after the records replayed: the next restart
	 * replays them all (and judges nothing anew) */
	open_node_in(&n, 1, dir);
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.replayed, replayed + NPROP);
	unavailable_free(&mu, blk);
	close_node(&n);
}

/* More unavailable proposals at one height than CONSENSUS_MAX_CANDIDATES
 * (a faulty proposer's among them): each is judged once its chunks arrive.
 * The ninth used to push the first out of the node's list, so the first
 * was never judged (the engine asks once a height) and the validator could
 * not vote for it all height. Its block, pushed out of the candidates too,
 * is judged when its proposer sends it again. */
static void test_every_unavailable_proposal_judged(void)
{
	struct node n;
	char dir[300] = "";
	chain_t *c = open_node_in(&n, 1, dir);
	struct made_up mu;
	struct block blk[NPROP];
	uint32_t round_of[NPROP];
	int who_of[NPROP];
	propose_unavailable(&n, &mu, blk, round_of, who_of);
	chunk_store_put(c, &mu.enc[0], mu.hash[0]);
	consensus_on_chunk(&n, mu.hash[0]);
	chunk_store_put(c, &mu.enc[1], mu.hash[1]);
	consensus_on_chunk(&n, mu.hash[1]);
	int rc = send_proposal(&n, 1, round_of[0], &blk[0], who_of[0]); /* sent again */
	CHECK(rc == 0 || rc == ASSAY_EEXISTS);
	close_node(&n);
	/* the log holds a verdict on each: HEIGHT aside, START, the proposals
	 * and one VALIDITY record per proposal (SIGNED ones are not counted) */
	open_node_in(&n, 1, dir);
	struct consensus_info info;
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.replayed, 1 + 2 * NPROP);
	unavailable_free(&mu, blk);
	close_node(&n);
}

/* A node whose key proposes height 2 (self_key is set to it; the caller
 * sets it back to 3) decides height 1 on its own precommit and two peers'
 * (peer[0], peer[1]); the last peer's (peer[2]) comes after the decision.
 * Returns the chain; b1 is height 1's block. */
static chain_t *decide_with_one_late(struct node *n, int peer[3], struct block *b1)
{
	chain_t *c = open_node(n, 0); /* a follower, to read who proposes height 2 */
	struct bft_valset vs;
	CHECK_EQ_INT(chain_validator_set(c, 2, &vs), 0);
	int next = key_index(vs.v[vs.proposer].pubkey);
	bft_valset_free(&vs);
	close_node(n);
	CHECK(next >= 0 && next < 4);
	self_key = next;
	c = open_node(n, 1);
	struct consensus_info info;
	consensus_info(n, &info);
	int prop = key_index(info.proposer), np = 0;
	CHECK(prop >= 0 && prop != self_key);
	for (int i = 0; i < 4; i++)
		if (i != self_key)
			peer[np++] = i;
	uint8_t h1[HASH_LEN];
	char err[256];
	CHECK(chain_build_block(c, NULL, 0, node_now_ms(), fx.sk[prop], b1, NULL, NULL, err, sizeof(err)) == 0);
	block_hash(b1, h1);
	CHECK_EQ_INT(send_proposal(n, 1, 0, b1, prop), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(send_vote(n, VOTE_PREVOTE, h1, peer[i]), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ_INT(send_vote(n, VOTE_PRECOMMIT, h1, peer[i]), 0);
	CHECK_EQ_U64(chain_height(c), 1); /* decided on its own precommit and two others */
	CHECK_EQ_U64(chain_tip_commit(c)->nsigs, 3);
	send_vote(n, VOTE_PRECOMMIT, h1, peer[2]); /* the last one, after the decision */
	return c;
}

/* Precommits that arrive after the decision join the commit the node
 * builds its next block on: the engine decides on the first quorum, and the
 * validator whose precommit came last used to be missing from the block's
 * last_commit, so the downtime rule counted a validator that signs every
 * height, only later than the others, as down. */
static void test_late_precommits_widen_the_commit(void)
{
	struct node n;
	int peer[3];
	struct block b1;
	chain_t *c = decide_with_one_late(&n, peer, &b1);
	uint8_t h1[HASH_LEN];
	char err[256];
	block_hash(&b1, h1);
	send_vote(&n, VOTE_PRECOMMIT, h1, peer[2]); /* again: kept once */
	CHECK_EQ_U64(chain_tip_commit(c)->nsigs, 3); /* until the node builds on the tip */
	/* a wider commit with a signature that does not verify is refused */
	struct commit bad;
	CHECK(commit_copy(&bad, chain_tip_commit(c)) == 0);
	struct commit_sig *more = realloc(bad.sigs, 4 * sizeof(*more));
	CHECK(more != NULL);
	if (more) {
		bad.sigs = more;
		memcpy(bad.sigs[3].validator, fx.pk[peer[2]], PUBKEY_LEN);
		memset(bad.sigs[3].sig, 0x5a, SIG_LEN);
		bad.nsigs = 4;
		CHECK_EQ_INT(chain_widen_tip_commit(c, &bad, err, sizeof(err)), ASSAY_ESIG);
		bad.nsigs = 3;
		CHECK_EQ_INT(chain_widen_tip_commit(c, &bad, err, sizeof(err)), ASSAY_EEXISTS); /* not wider */
	}
	commit_free(&bad);
	CHECK_EQ_U64(chain_tip_commit(c)->nsigs, 3);
	struct consensus_info info;
	consensus_info(&n, &info);
	CHECK(info.height == 2 && key_index(info.proposer) == self_key);
	for (int i = 0; i < 3; i++) /* the block time (0 here) has passed: the node builds block 2 */
		event_base_loop(n.base, EVLOOP_NONBLOCK);
	consensus_info(&n, &info);
	CHECK(info.has_proposal); /* its block 2, whose last_commit is the tip's commit */
	const struct commit *cm = chain_tip_commit(c);
	CHECK_EQ_U64(cm->nsigs, 4);
	for (int i = 0; i < 3; i++)
		CHECK(commit_has_key(cm, fx.pk[peer[i]]));
	self_key = 3;
	block_free(&b1);
	close_node(&n);
}

/* The figure assay_consensus_missed_votes_total{validator} of key `who`,
 * read from the node's /metrics text; -1 when it is not listed. */
static long long missed_votes(struct node *n, int who)
{
	struct evbuffer *out = evbuffer_new();
	CHECK(out != NULL);
	if (!out)
		return -1;
	consensus_metrics(n, out);
	size_t len = evbuffer_get_length(out);
	char *text = calloc(len + 1, 1);
	CHECK(text != NULL);
	long long got = -1;
	if (text) {
		evbuffer_copyout(out, text, len);
		char addr[ADDR_STR_MAX], want[200];
		uint8_t a[ADDR_LEN];
		address_from_pubkey(fx.pk[who], a);
		address_encode(n->genesis.net, a, addr);
		snprintf(want, sizeof(want), "assay_consensus_missed_votes_total{validator=\"%s\"} ", addr);
		const char *at = strstr(text, want);
		if (at)
			got = strtoll(at + strlen(want), NULL, 10);
	}
	free(text);
	evbuffer_free(out);
	return got;
}

/* All four validators sign every height, one of them last, after the
 * decision: the missed votes the node shows count what the chain records
 * (block 2's last_commit, widened by the late precommit), so nobody missed
 * height 1. The figure used to count the engine's commit, its first quorum,
 * and showed the slowest validator missing every height it was last. */
static void test_missed_votes_count_what_the_chain_records(void)
{
	struct node n;
	int peer[3];
	struct block b1;
	chain_t *c = decide_with_one_late(&n, peer, &b1);
	for (int i = 0; i < 3; i++) /* the node builds block 2 on the widened commit */
		event_base_loop(n.base, EVLOOP_NONBLOCK);
	struct consensus_info info;
	consensus_info(&n, &info);
	CHECK(info.height == 2 && info.has_proposal);
	CHECK_EQ_U64(chain_tip_commit(c)->nsigs, 4);
	uint8_t h2[HASH_LEN];
	memcpy(h2, info.proposal, HASH_LEN);
	for (int type = VOTE_PREVOTE; type <= VOTE_PRECOMMIT; type++)
		for (int i = 0; i < 3; i++) {
			int rc = send_vote_at(&n, 2, (uint8_t)type, h2, peer[i]);
			CHECK(rc == 0 || rc == ASSAY_EEXISTS); /* the last precommit comes after the decision */
		}
	CHECK_EQ_U64(chain_height(c), 2); /* block 2 decided and connected */
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(missed_votes(&n, i), 0);
	self_key = 3;
	block_free(&b1);
	close_node(&n);
}

/* A sign-state that cannot be written (here its temporary file's name is
 * taken by a directory; in practice a full disk) stops the node at the
 * first signature instead of leaving it silent for good. */
static void test_unwritable_signstate_stops_the_node(void)
{
	struct node n;
	chain_t *c = open_node(&n, 1);
	int prop = other_proposer(&n);
	char path[400];
	snprintf(path, sizeof(path), "%s/signstate.tmp", n.cfg.datadir);
	CHECK(mkdir(path, 0700) == 0);
	struct block b1;
	char err[256];
	CHECK(chain_build_block(c, NULL, 0, node_now_ms(), fx.sk[prop], &b1, NULL, NULL, err, sizeof(err)) == 0);
	log_set_stderr(0);
	send_proposal(&n, 1, 0, &b1, prop); /* valid: the node would prevote it */
	log_set_stderr(1);
	CHECK(n.aborted);
	struct consensus_info info;
	consensus_info(&n, &info);
	CHECK_EQ_U64(info.prevotes.voters, 0); /* nothing signed */
	CHECK(rmdir(path) == 0);
	block_free(&b1);
	close_node(&n);
}

/* The whole of a file, malloc()ed (the caller frees), its length in *len. */
static uint8_t *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(*len + 1);
	CHECK(p && fread(p, 1, *len, f) == *len);
	fclose(f);
	return p;
}

/* The log of a running validator damaged behind its back (one byte of the
 * chain id in its first record, as a disk that lost a write would leave
 * it): the rotation after the next decision cannot read it back. It used to
 * start the next height with an empty log, dropping every record it could
 * not read (the SIGNED ones with them); now the node stops, and the file
 * is left as it was, with what was appended before the decision. */
static void test_rotation_keeps_an_unreadable_log(void)
{
	struct node n;
	chain_t *c = open_node(&n, 1);
	struct block b1;
	uint8_t h1[HASH_LEN];
	propose_b1(&n, &b1, h1);
	char path[400];
	snprintf(path, sizeof(path), "%s/consensus.wal", n.cfg.datadir);
	size_t len = 0, at = 0;
	uint8_t *img = read_whole(path, &len);
	while (img && at + HASH_LEN <= len && memcmp(img + at, n.genesis.hash, HASH_LEN) != 0)
		at++;
	CHECK(img && at + HASH_LEN <= len); /* the HEIGHT record's chain id */
	if (img && at + HASH_LEN <= len) {
		img[at] ^= 0x5a;
		FILE *f = fopen(path, "r+b");
		CHECK(f != NULL);
		if (f) {
			fseek(f, (long)at, SEEK_SET);
			fputc(img[at], f);
			fclose(f);
		}
	}
	char logpath[400];
	snprintf(logpath, sizeof(logpath), "%s/debug.log", n.cfg.datadir);
	CHECK(log_open_file(logpath) == 0);
	log_set_stderr(0);
	votes_for(&n, h1);
	log_set_stderr(1);
	log_close_file();
	CHECK_EQ_U64(chain_height(c), 1); /* decided and connected */
	CHECK(n.aborted);
	size_t log_len = 0;
	char *log = (char *)read_whole(logpath, &log_len);
	if (log) {
		log[log_len] = 0;
		/* says what failed: the read, not a write */
		CHECK(strstr(log, "cannot read DATADIR/consensus.wal back to start height 2") != NULL);
	}
	free(log);
	size_t now_len = 0;
	uint8_t *now = read_whole(path, &now_len);
	CHECK(now && img && now_len >= len);
	if (now && img && now_len >= len)
		CHECK_EQ_MEM(now, img, len); /* not rewritten */
	free(now);
	free(img);
	block_free(&b1);
	close_node(&n);
}

static const struct test_case tests[] = {
	TEST(test_next_height_proposals_validator),
	TEST(test_next_height_proposals_follower),
	TEST(test_decided_block_back_from_the_log),
	TEST(test_rotation_keeps_an_unreadable_log),
	TEST(test_unavailable_proposal_judged_when_chunks_arrive),
	TEST(test_accepted_chunk_completes_proposal),
	TEST(test_proposal_chunk_taken_past_cut_ones),
	TEST(test_replay_keeps_the_logged_verdict),
	TEST(test_replay_judges_what_had_no_verdict),
	TEST(test_replay_judges_every_value_without_verdict),
	TEST(test_every_unavailable_proposal_judged),
	TEST(test_late_precommits_widen_the_commit),
	TEST(test_missed_votes_count_what_the_chain_records),
	TEST(test_unwritable_signstate_stops_the_node),
};

static int setup(void)
{
	keys_init();
	fixture_init(&fx);
	return 0;
}

int main(void)
{
	int rc = test_main("test_node_consensus", setup, tests, TEST_COUNT(tests));
	fixture_free(&fx);
	return rc;
}

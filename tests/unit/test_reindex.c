/* Unit tests for an interrupted -reindex (node/chain.c, docs/storage.md
 * "Reindex"): a replay stopped partway leaves the reindex pending, a reopen
 * sees it, resuming or reindexing again comes back at the full tip with
 * the same hash, state root and tip commit, and nothing is forgotten; and
 * a state damaged on disk, which refuses the open and says to reindex, is
 * repaired by the reindex it asks for; a reindex whose first batch fails
 * keeps the tip's commit. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "node/chain.h"
#include "node/store.h"
#include "node_fixture.h"
#include "test.h"

#define BLOCKS 30
#define STOP_AT 10

static struct fixture fx;
static chain_t *ch;
static uint8_t tip_hash[HASH_LEN], tip_root[HASH_LEN];

static void open_chain(void)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	ch = chain_open(path, &fx.g, err, sizeof(err));
	if (!ch)
		fprintf(stderr, "chain_open: %s\n", err);
	CHECK(ch != NULL);
}

static int produce(const struct tx *t, uint64_t time_ms)
{
	const struct tx *ptrs[1] = {t};
	return fixture_produce(&fx, ch, ptrs, t ? 1 : 0, time_ms, time_ms);
}

static int stop_at(uint64_t h, uint64_t tip)
{
	(void)tip;
	return h >= STOP_AT;
}

/* The tip is tip_hash at height, with the state tip_root, no reindex pending. */
static void check_tip(const char *when, uint64_t height)
{
	uint8_t hash[HASH_LEN], root[HASH_LEN];
	chain_tip_hash(ch, hash);
	state_root(chain_state(ch), root);
	if (chain_height(ch) != height)
		fprintf(stderr, "%s:\n", when);
	CHECK_EQ_U64(chain_height(ch), height);
	CHECK_EQ_MEM(hash, tip_hash, HASH_LEN);
	CHECK_EQ_MEM(root, tip_root, HASH_LEN);
	CHECK(!chain_reindex_pending(ch, NULL));
}

static void check_full_tip(const char *when)
{
	check_tip(when, BLOCKS);
}

static void test_build(void)
{
	for (uint64_t i = 0; i < BLOCKS; i++) {
		struct tx t;
		fixture_transfer(&fx, &t, 1, fx.addr[2], 1000 + i, i, 100000);
		CHECK(produce(&t, 2000 + 1000 * i) == 0);
		tx_free(&t);
	}
	CHECK(chain_height(ch) == BLOCKS);
	chain_tip_hash(ch, tip_hash);
	state_root(chain_state(ch), tip_root);
}

static void test_stopped_reindex_resumes(void)
{
	char err[256];
	uint64_t target = 0;
	CHECK_EQ_INT(chain_reindex(ch, stop_at, err, sizeof(err)), ASSAY_ECANCELED);
	CHECK_EQ_U64(chain_height(ch), STOP_AT);
	CHECK(chain_reindex_pending(ch, &target) && target == BLOCKS);
	chain_close(ch);
	open_chain(); /* as after a kill: the marker is on disk */
	CHECK_EQ_U64(chain_height(ch), STOP_AT);
	CHECK(chain_reindex_pending(ch, &target) && target == BLOCKS);
	CHECK(chain_reindex_resume(ch, NULL, err, sizeof(err)) == 0);
	check_full_tip("resumed");
	chain_close(ch);
	open_chain();
	check_full_tip("reopened after resume");
}

static void test_reindex_again_after_a_stop(void)
{
	char err[256];
	CHECK_EQ_INT(chain_reindex(ch, stop_at, err, sizeof(err)), ASSAY_ECANCELED);
	chain_close(ch);
	open_chain();
	/* A second -reindex replays up to the highest block, not the lowered tip. */
	CHECK(chain_reindex(ch, NULL, err, sizeof(err)) == 0);
	check_full_tip("second reindex");
}

static void test_chain_goes_on(void)
{
	/* The tip commit travelled through the marker: the validator can
	 * propose on the tip again. */
	CHECK(produce(NULL, 2000 + 1000 * BLOCKS) == 0);
	CHECK(chain_height(ch) == BLOCKS + 1);
}

/* A reindex whose first batch (the state's removal and the marker) fails
 * changes nothing, on disk or in memory: the tip keeps its commit, so a
 * second try carries it through the marker and the validator can propose
 * on the tip afterwards. It used to be freed on that path, and the retry
 * then wrote a marker without it. Both starts: from a plain tip, and from
 * an interrupted reindex, whose marker's commit is the one at stake. */
static void test_failed_first_batch_keeps_the_commit(void)
{
	char err[256];
	for (int pending = 0; pending < 2; pending++) {
		uint64_t height = chain_height(ch), target = 0;
		if (pending)
			CHECK_EQ_INT(chain_reindex(ch, stop_at, err, sizeof(err)), ASSAY_ECANCELED);
		else
			CHECK(chain_tip_commit(ch)->nsigs > 0);
		log_set_stderr(0);
		store_fail_next_batch(1);
		CHECK(chain_reindex(ch, NULL, err, sizeof(err)) != 0);
		store_fail_next_batch(0);
		log_set_stderr(1);
		CHECK(strstr(err, "cannot clear the state") != NULL);
		CHECK_EQ_INT(chain_reindex_pending(ch, &target), pending);
		if (!pending)
			CHECK(chain_tip_commit(ch)->nsigs > 0);
		CHECK_EQ_INT(chain_reindex(ch, NULL, err, sizeof(err)), 0);
		CHECK_EQ_U64(chain_height(ch), height);
		CHECK(chain_tip_commit(ch)->nsigs > 0);
		CHECK(produce(NULL, 2000 + 1000 * (height + 1)) == 0); /* proposes on it */
		CHECK_EQ_U64(chain_height(ch), height + 1);
	}
	chain_tip_hash(ch, tip_hash);
	state_root(chain_state(ch), tip_root);
}

static int first_key(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	memcpy(arg, key, klen < 33 ? klen : 33);
	return 1;
}

/* The damaged database is refused by a plain open ("run with -reindex")
 * and opened for reindex, which rebuilds it: ch is the reindexed chain, or
 * NULL after a failed CHECK. */
static void refused_then_reindexed(void)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	log_set_stderr(0);
	ch = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(ch == NULL && strstr(err, "-reindex") != NULL);
	ch = chain_open_for_reindex(path, &fx.g, err, sizeof(err));
	log_set_stderr(1);
	CHECK(ch != NULL);
	if (ch)
		CHECK_EQ_INT(chain_reindex(ch, NULL, err, sizeof(err)), 0);
}

/* One state record deleted behind the chain's back: chain_open refuses
 * ("run with -reindex"); chain_open_for_reindex opens, and the reindex puts
 * back the state of the same tip. So does a damaged reindex record. */
static void test_damaged_state_reindexed(void)
{
	char err[256], path[300];
	uint8_t hash[HASH_LEN], root[HASH_LEN];
	chain_tip_hash(ch, tip_hash);
	state_root(chain_state(ch), tip_root);
	uint64_t height = chain_height(ch);
	chain_close(ch);
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	for (int damage = 0; damage < 2; damage++) {
		store_t *s = store_open(path, err, sizeof(err));
		CHECK(s != NULL);
		if (!s)
			return;
		store_batch_t *b = store_batch_new();
		uint8_t key[33] = {0};
		const uint8_t prefix = STORE_P_STATE;
		CHECK(store_iterate(s, &prefix, 1, first_key, key) == 0 && key[0] == STORE_P_STATE);
		store_batch_del(b, key, sizeof(key));
		if (damage == 1)
			store_batch_put_meta(b, "reindex", "junk", 4);
		CHECK_EQ_INT(store_write(s, b, 1), 0);
		store_batch_free(b);
		store_close(s);

		refused_then_reindexed();
		if (!ch)
			return;
		chain_tip_hash(ch, hash);
		state_root(chain_state(ch), root);
		CHECK_EQ_U64(chain_height(ch), height);
		CHECK_EQ_MEM(hash, tip_hash, HASH_LEN);
		CHECK_EQ_MEM(root, tip_root, HASH_LEN);
		chain_close(ch);
	}
	open_chain(); /* and it opens as it should again */
}

/* Writes b (then frees it) straight into the closed chain's database, as
 * damage or a repair behind its back. */
static void write_raw(store_batch_t *b)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ_INT(store_write(s, b, 1), 0);
		store_close(s);
	}
	store_batch_free(b);
}

/* The first state key of the closed chain's database, into key (33 bytes). */
static void first_state_key(uint8_t key[33])
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	const uint8_t prefix = STORE_P_STATE;
	memset(key, 0, 33);
	if (s) {
		CHECK(store_iterate(s, &prefix, 1, first_key, key) == 0 && key[0] == STORE_P_STATE);
		store_close(s);
	}
}

/* Damage on top of an interrupted reindex: the marker is on disk and a
 * state record of the partly rebuilt state is gone. The open does not
 * write a genesis over what is there (it used to: a "genesis" tip whose
 * block was never stored, after which no open, -reindex included, could
 * read the tip); plain open refuses, -reindex rebuilds. */
static void test_interrupted_reindex_damaged(void)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	CHECK_EQ_INT(chain_reindex(ch, stop_at, err, sizeof(err)), ASSAY_ECANCELED);
	chain_close(ch);
	uint8_t key[33];
	first_state_key(key);
	store_batch_t *b = store_batch_new();
	store_batch_del(b, key, sizeof(key));
	write_raw(b);
	refused_then_reindexed();
	if (!ch)
		return;
	check_tip("reindexed after damage on an interrupted reindex", BLOCKS + 1);
	chain_close(ch);
	open_chain();
	check_tip("reopened", BLOCKS + 1);
}

/* A database whose chain id record is gone is not taken for a new one: a
 * genesis written over it replaced committed blocks. */
static void test_missing_chain_id(void)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/chaindata", fx.dir);
	chain_close(ch);
	store_batch_t *b = store_batch_new();
	store_batch_put_meta(b, "chain_id", NULL, 0); /* NULL deletes */
	write_raw(b);
	log_set_stderr(0);
	ch = chain_open(path, &fx.g, err, sizeof(err));
	log_set_stderr(1);
	CHECK(ch == NULL && strstr(err, "no chain id") != NULL);
	b = store_batch_new(); /* put it back for what follows */
	store_batch_put_meta(b, "chain_id", fx.g.hash, HASH_LEN);
	write_raw(b);
	open_chain();
	check_tip("chain id put back", BLOCKS + 1);
}

/* A key under the state prefix that is no state record (34 bytes): the
 * open skips it (it is in no state root) rather than fail every start,
 * -reindex included, with an I/O error. */
static void test_stray_state_key(void)
{
	chain_close(ch);
	uint8_t key[34] = {STORE_P_STATE, 0x42};
	store_batch_t *b = store_batch_new();
	store_batch_put(b, key, sizeof(key), "x", 1);
	write_raw(b);
	log_set_stderr(0);
	open_chain();
	log_set_stderr(1);
	check_tip("with a stray state key", BLOCKS + 1);
}

/* A fresh chain (genesis only) under fx.dir/name, closed; its path into
 * path. The commit of its tip, signed by the validator, into cm, when cm
 * is not NULL: a record the open decodes. */
static void fresh_chain(const char *name, char *path, size_t plen, struct buf *cm)
{
	char err[256];
	snprintf(path, plen, "%s/%s", fx.dir, name);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	if (cm) {
		struct commit commit;
		uint8_t hash[HASH_LEN];
		chain_tip_hash(c, hash);
		chain_sign_commit(c, fx.sk[0], 0, hash, &commit);
		buf_init(cm);
		commit_encode(&commit, cm);
		commit_free(&commit);
	}
	chain_close(c);
}

/* The tip's commit record cannot be read: the open stops, plain or for
 * -reindex. It used to go on without the commit, as at a tip that has none;
 * so did a record that does not decode. */
static void test_unreadable_tip_commit(void)
{
	char err[256], path[300];
	static const char key[] = "mtipcommit"; /* 'm' || META_TIP_COMMIT */
	struct buf cm;
	fresh_chain("tipcommit-io", path, sizeof(path), &cm);
	CHECK_EQ_INT(fixture_damage_on_disk(path, key, strlen(key), cm.data, cm.len), 0);
	log_set_stderr(0);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(c == NULL && strstr(err, "cannot read the tip's commit record") != NULL);
	chain_close(c);
	c = chain_open_for_reindex(path, &fx.g, err, sizeof(err));
	CHECK(c == NULL && strstr(err, "cannot read the tip's commit record") != NULL);
	chain_close(c);
	log_set_stderr(1);

	fresh_chain("tipcommit-junk", path, sizeof(path), NULL);
	store_t *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s) {
		store_batch_t *b = store_batch_new();
		store_batch_put_meta(b, "tipcommit", cm.data, cm.len - 1); /* cut short */
		CHECK_EQ_INT(store_write(s, b, 1), 0);
		store_batch_free(b);
		store_close(s);
	}
	c = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(c == NULL && strstr(err, "commit record is damaged") != NULL);
	chain_close(c);
	buf_free(&cm);
}

/* The reindex record cannot be read: -reindex stops rather than start
 * over without its target and commit (what it does with a record that
 * reads but does not decode). */
static void test_unreadable_reindex_record(void)
{
	char err[256], path[300];
	static const char key[] = "mreindex"; /* 'm' || META_REINDEX */
	struct buf cm, marker;
	fresh_chain("reindex-io", path, sizeof(path), &cm);
	buf_init(&marker);
	buf_put_u64(&marker, 0);
	buf_put(&marker, cm.data, cm.len);
	CHECK_EQ_INT(fixture_damage_on_disk(path, key, strlen(key), marker.data, marker.len), 0);
	log_set_stderr(0);
	chain_t *c = chain_open_for_reindex(path, &fx.g, err, sizeof(err));
	log_set_stderr(1);
	CHECK(c == NULL && strstr(err, "cannot read the reindex record") != NULL);
	chain_close(c);
	buf_free(&marker);
	buf_free(&cm);
}

/* The height index above the tip cannot be read: the reindex stops rather
 * than take it for the end of the stored blocks, which made the target the
 * tip and left the blocks above out of the chain. */
static void test_unreadable_height_index(void)
{
	char err[256], path[300];
	uint8_t key[9] = {STORE_P_HEIGHT, 0, 0, 0, 0, 0, 0, 0, 1}, hash[HASH_LEN];
	fresh_chain("height-io", path, sizeof(path), NULL);
	for (size_t i = 0; i < sizeof(hash); i++)
		hash[i] = (uint8_t)(0xa5 ^ (i * 37));
	CHECK_EQ_INT(fixture_damage_on_disk(path, key, sizeof(key), hash, sizeof(hash)), 0);
	chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
	CHECK(c != NULL); /* the open does not read above the tip */
	if (!c)
		return;
	log_set_stderr(0);
	CHECK_EQ_INT(chain_reindex(c, NULL, err, sizeof(err)), ASSAY_EIO);
	log_set_stderr(1);
	CHECK(strstr(err, "cannot read the height index at 1") != NULL);
	CHECK(!chain_reindex_pending(c, NULL)); /* nothing written */
	chain_close(c);
}

/* Block 0's height record cannot be read: a database without its chain id
 * record stops the open saying so (it said the database holds blocks,
 * which a read that failed does not show), and the reindex's genesis step
 * stops saying so (it said the stored block 0 is another). */
static void test_unreadable_block0_index(void)
{
	char err[256], path[300];
	uint8_t key[9] = {STORE_P_HEIGHT, 0, 0, 0, 0, 0, 0, 0, 0}, genesis_hash[HASH_LEN];
	for (int no_id = 0; no_id < 2; no_id++) {
		fresh_chain(no_id ? "block0-io-noid" : "block0-io", path, sizeof(path), NULL);
		chain_t *c = chain_open(path, &fx.g, err, sizeof(err));
		CHECK(c != NULL);
		if (!c)
			return;
		chain_tip_hash(c, genesis_hash);
		chain_close(c);
		if (no_id) {
			store_t *s = store_open(path, err, sizeof(err));
			CHECK(s != NULL);
			if (!s)
				return;
			store_batch_t *b = store_batch_new();
			store_batch_put_meta(b, "chain_id", NULL, 0); /* NULL deletes */
			store_batch_put_meta(b, "tip", NULL, 0);
			CHECK_EQ_INT(store_write(s, b, 1), 0);
			store_batch_free(b);
			store_close(s);
		}
		CHECK_EQ_INT(fixture_damage_on_disk(path, key, sizeof(key), genesis_hash, HASH_LEN), 0);
		log_set_stderr(0);
		c = chain_open(path, &fx.g, err, sizeof(err));
		if (no_id) {
			CHECK(c == NULL &&
			      strstr(err, "cannot read the tip record or block 0's height record") != NULL);
		} else {
			CHECK(c != NULL); /* the open does not read it */
			if (c)
				CHECK_EQ_INT(chain_reindex(c, NULL, err, sizeof(err)), ASSAY_EIO);
			CHECK(strstr(err, "cannot read block 0's height record") != NULL);
		}
		log_set_stderr(1);
		chain_close(c);
	}
}

int main(void)
{
	fixture_init(&fx);
	open_chain();
	RUN(test_build);
	RUN(test_stopped_reindex_resumes);
	RUN(test_reindex_again_after_a_stop);
	RUN(test_chain_goes_on);
	RUN(test_damaged_state_reindexed);
	RUN(test_interrupted_reindex_damaged);
	RUN(test_missing_chain_id);
	RUN(test_stray_state_key);
	RUN(test_failed_first_batch_keeps_the_commit);
	RUN(test_unreadable_tip_commit);
	RUN(test_unreadable_reindex_record);
	RUN(test_unreadable_height_index);
	RUN(test_unreadable_block0_index);
	chain_close(ch);
	fixture_free(&fx);
	return test_report("test_reindex");
}

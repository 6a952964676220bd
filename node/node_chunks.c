/* The node's side of output availability (docs/compute.md §15): the one
 * path that accepts a chunk (from RPC or a peer), the availability check of
 * a peer's block with the retry once its chunks arrive, the mempool policy
 * for job_chunks transactions, the p2p callbacks for chunks, and pruning
 * every NODE_CHUNKS_PRUNE_EVERY blocks. What waits for chunks (the block, the parked
 * transactions) is kept in the store as well as here, so that a node killed
 * while waiting takes it up again when it restarts (docs/storage.md §4).
 * Not for: the rules (consensus/compute/avail.h) or the storage layout
 * (chunkstore.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "consensus/compute/compute.h"
#include "core/error.h"
#include "core/log.h"
#include "net/msg.h"
#include "net/net.h"
#include "node/chunkstore.h"
#include "node/consensus.h"
#include "node/node.h"
#include "node/txaccept.h"

/* net/ does not include the rules, so the two limits meet here: every chunk
 * the node accepts fits one p2p message. */
_Static_assert(AVAIL_CHUNK_MAX_ENCODED <= NET_MAX_CHUNK, "a largest chunk must fit a chunk message");

/* Missing chunks asked for at once (a block may name more: the rest are
 * asked when the block is retried); each is remembered as wanted. */
#define NODE_CHUNKS_MISSING_MAX NODE_CHUNKS_ASKED_MAX

static void pending_free(struct node *n)
{
	free(n->avail_pending);
	n->avail_pending = NULL;
	n->avail_pending_len = 0;
}

/* Our failure to keep a record of the chunks' own (a chunk, the waiting
 * block, the parked transactions, a prune). Out of memory nothing was
 * written, and what the record held is taken up again (fetched from a
 * peer, or after a restart). A failed write is another matter: the store
 * refuses every write after it (store_write), so the next block could not
 * be kept either, and the node stops now, naming the cause. */
static void write_failed(struct node *n, int rc, const char *what)
{
	char msg[300];
	snprintf(msg, sizeof(msg), "avail: %s: %s", what, assay_strerror(rc));
	if (rc == ASSAY_ENOMEM)
		log_warn("%s", msg);
	else
		node_abort(n, rc, msg);
}

/* The waiting block's record follows n->avail_pending (NULL: deleted). */
static void pending_save(struct node *n)
{
	int rc = chunkstore_save_waiting(chain_store(n->chain), CHUNKSTORE_WAITING_BLOCK, n->avail_pending,
					 n->avail_pending_len);
	if (rc)
		write_failed(n, rc, "cannot keep the waiting block in the store");
}

/* The block is no longer waiting: connected, or the chain moved on. */
static void pending_drop(struct node *n)
{
	pending_free(n);
	pending_save(n);
}

/* The parked transactions' record follows n->avail_parked: each as u32 LE
 * length || encoded tx; none deletes it. */
static void parked_save(struct node *n)
{
	struct buf rec;
	buf_init(&rec);
	for (size_t i = 0; i < n->avail_nparked; i++) {
		buf_put_u32(&rec, (uint32_t)n->avail_parked[i].len);
		buf_put(&rec, n->avail_parked[i].data, n->avail_parked[i].len);
	}
	int rc = rec.oom ? ASSAY_ENOMEM
			 : chunkstore_save_waiting(chain_store(n->chain), CHUNKSTORE_WAITING_TXS,
						   n->avail_nparked ? rec.data : NULL, rec.len);
	if (rc)
		write_failed(n, rc, "cannot keep the parked transactions in the store");
	buf_free(&rec);
}

/* The waiting block's record: u32 LE length || the encoded block || its
 * commit (commit_encode), which it came with (a peer's block joins the
 * chain only with one: node_net.c). 0 with *blk and *cm, else not ours. */
static int pending_decode(struct node *n, struct block *blk, struct commit *cm)
{
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	struct block_limits lim = {p->max_block_txs, p->max_tx_bytes};
	const uint8_t *rec = n->avail_pending;
	size_t len = n->avail_pending_len;
	if (len < 4 || le32_get(rec) > len - 4 || block_decode(blk, rec + 4, le32_get(rec), &lim) != 0)
		return ASSAY_EDECODE;
	struct reader r;
	rd_init(&r, rec + 4 + le32_get(rec), len - 4 - le32_get(rec));
	if (commit_read(cm, &r) < 0 || rd_finish(&r) < 0) {
		commit_free(cm);
		block_free(blk);
		return ASSAY_EDECODE;
	}
	return 0;
}

static void retry_pending(struct node *n)
{
	if (!n->avail_pending)
		return;
	struct block blk;
	struct commit cm;
	uint8_t missing[1][HASH_LEN];
	size_t nmissing;
	char err[256];
	if (pending_decode(n, &blk, &cm) != 0) {
		pending_drop(n);
		return;
	}
	if (blk.hdr.height != chain_height(n->chain) + 1) {
		block_free(&blk);
		commit_free(&cm);
		pending_drop(n); /* the chain moved on without it */
		return;
	}
	int rc = chunkstore_check_block(chain_store(n->chain), &blk, missing, 1, &nmissing, err, sizeof(err));
	if (rc == 0) {
		log_info("avail: chunks of block %llu arrived; connecting it",
			 (unsigned long long)blk.hdr.height);
		rc = node_connect_block(n, &blk, &cm, NODE_BLOCK_PEER, err, sizeof(err));
		/* the record goes once the block joined the chain (done already
		 * by the connect's own retry_pending) or was refused for good;
		 * after our own failure (the node stops) it stays, to be taken
		 * up at the next start */
		if (!assay_err_is_local(rc))
			pending_drop(n);
		if (rc && !assay_err_is_local(rc))
			log_warn("avail: block %llu not applied: %s", (unsigned long long)blk.hdr.height,
				 err);
		if (!rc && n->net)
			net_on_tip_changed(n->net); /* sync goes on from the new tip */
	}
	block_free(&blk);
	commit_free(&cm);
}

/* Whether parked transaction i has sender's public key (0 when it does
 * not decode, which parked_save never writes). */
static int parked_from(struct node *n, size_t i, const uint8_t sender[PUBKEY_LEN])
{
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	struct tx t;
	if (tx_decode(&t, n->avail_parked[i].data, n->avail_parked[i].len, p->max_tx_bytes) != 0)
		return 0;
	int same = memcmp(t.sender, sender, PUBKEY_LEN) == 0;
	tx_free(&t);
	return same;
}

static void parked_drop(struct node *n, size_t i)
{
	buf_free(&n->avail_parked[i]);
	memmove(n->avail_parked + i, n->avail_parked + i + 1,
		(n->avail_nparked - i - 1) * sizeof(*n->avail_parked));
	n->avail_nparked--;
}

/* A job_chunks transaction that arrived before its chunks is parked and
 * its chunks asked for; each chunk that arrives offers the parked ones to
 * the mempool again, so that a proposer that heard of the transaction
 * first still includes it (the network does not ask for a refused
 * transaction again). Only one the mempool would admit but for its chunks
 * gets here (node.h), and one sender holds at most
 * NODE_CHUNKS_PARKED_PER_SENDER of the places: without the first anyone
 * could fill them with junk, without the second one worker could. */
static void park(struct node *n, const struct tx *t, const uint8_t (*missing)[HASH_LEN], size_t nmissing)
{
	if (n->avail_unparking)
		return; /* it is parked already */
	if (!n->avail_parked && !(n->avail_parked = calloc(NODE_CHUNKS_PARKED_MAX, sizeof(*n->avail_parked))))
		return;
	struct buf enc;
	buf_init(&enc);
	tx_encode(t, &enc);
	if (enc.oom) {
		buf_free(&enc);
		return;
	}
	size_t mine = 0, oldest = n->avail_nparked;
	for (size_t i = 0; i < n->avail_nparked; i++) {
		const struct buf *b = &n->avail_parked[i];
		if (b->len == enc.len && memcmp(b->data, enc.data, enc.len) == 0) {
			buf_free(&enc); /* the same bytes again (another peer, a retry) */
			return;
		}
		if (parked_from(n, i, t->sender) && mine++ == 0)
			oldest = i;
	}
	if (mine >= NODE_CHUNKS_PARKED_PER_SENDER)
		parked_drop(n, oldest);
	else if (n->avail_nparked == NODE_CHUNKS_PARKED_MAX)
		parked_drop(n, 0);
	n->avail_parked[n->avail_nparked++] = enc;
	parked_save(n);
	log_info("avail: a job_chunks transaction waits for %zu chunk(s)", nmissing);
	if (n->net)
		net_request_chunks(n->net, (const uint8_t(*)[32])missing, nmissing);
}

static void unpark(struct node *n)
{
	size_t keep = 0;
	n->avail_unparking = 1;
	for (size_t i = 0; i < n->avail_nparked; i++) {
		struct buf *b = &n->avail_parked[i];
		uint8_t txid[HASH_LEN];
		enum txaccept_stage stage;
		char err[256];
		int rc = txaccept_submit(n, b->data, b->len, TXACCEPT_FROM_PEER, txid, &stage, err,
					 sizeof(err));
		if (rc == ASSAY_EUNAVAIL)
			n->avail_parked[keep++] = *b; /* still waiting */
		else
			buf_free(b); /* admitted (and relayed), or refused for good */
	}
	size_t before = n->avail_nparked;
	n->avail_nparked = keep;
	n->avail_unparking = 0;
	if (keep != before)
		parked_save(n);
}

/* Whether encoded transaction or block bytes name chunk h (a job_chunks
 * reference). */
static int tx_names(const struct tx *t, const uint8_t h[HASH_LEN])
{
	struct job_chunks_payload p;
	if (t->kind != TX_JOB_CHUNKS || avail_chunks_decode(&p, t->payload, t->payload_len))
		return 0;
	for (uint32_t i = 0; i < p.count; i++)
		if (memcmp(p.refs[i].chunk_hash, h, HASH_LEN) == 0)
			return 1;
	return 0;
}

static int asked_has(const struct node *n, const uint8_t h[HASH_LEN])
{
	for (size_t i = 0; i < n->avail_nasked; i++)
		if (memcmp(n->avail_asked[i], h, HASH_LEN) == 0)
			return 1;
	return 0;
}

/* Remembers that chunk h was asked of peers for a block or proposal being
 * checked, over the oldest remembered; once, however often the block is
 * checked again. */
static void asked_add(struct node *n, const uint8_t h[HASH_LEN])
{
	if (asked_has(n, h))
		return;
	memcpy(n->avail_asked[n->avail_asked_next], h, HASH_LEN);
	n->avail_asked_next = (n->avail_asked_next + 1) % NODE_CHUNKS_ASKED_MAX;
	if (n->avail_nasked < NODE_CHUNKS_ASKED_MAX)
		n->avail_nasked++;
}

/* How far chunk h is needed here (chunkstore_accept's `needed`): named by
 * the waiting block, which its commit says the validators finalized, it
 * is taken past every per-root bound; named only by a parked transaction,
 * which is not mined yet, or asked for a proposal being judged (which has
 * no commit and is never the waiting block), it has the smaller allowance
 * of CHUNKSTORE_PARKED_FACTOR beyond CHUNKSTORE_ROOT_FACTOR, and is taken
 * though chunks cut from it already hold its tiles: refused, a validator
 * that got the cut ones first could never find the proposal available. */
static enum chunkstore_need need_of(struct node *n, const uint8_t h[HASH_LEN])
{
	const struct chain_params *p = &chain_genesis(n->chain)->params;
	int found = 0;
	struct block blk;
	struct commit cm;
	if (n->avail_pending && pending_decode(n, &blk, &cm) == 0) {
		for (size_t i = 0; i < blk.ntx && !found; i++)
			found = tx_names(&blk.txs[i], h);
		block_free(&blk);
		commit_free(&cm);
	}
	if (found)
		return CHUNKSTORE_NEED_BLOCK;
	for (size_t i = 0; i < n->avail_nparked && !found; i++) {
		struct tx t;
		if (tx_decode(&t, n->avail_parked[i].data, n->avail_parked[i].len, p->max_tx_bytes) == 0) {
			found = tx_names(&t, h);
			tx_free(&t);
		}
	}
	return found || asked_has(n, h) ? CHUNKSTORE_NEED_PARKED : CHUNKSTORE_NEED_NONE;
}

int node_chunks_accept(struct node *n, const uint8_t *enc, size_t len, uint8_t hash[HASH_LEN], char *err,
		       size_t errlen)
{
	struct ledger l = chain_ledger(n->chain);
	/* under the free-space floor a chunk is refused, not written: its write
	 * could fail and stop the node; ASSAY_EFULL is our limit (no points) */
	int rc = node_check_free_space(n, err, errlen);
	if (rc) {
		memset(hash, 0, HASH_LEN);
		return rc;
	}
	avail_chunk_hash(enc, len, hash); /* once: how it is needed, then the store's key */
	rc = chunkstore_accept_hashed(chain_store(n->chain), &l, enc, len, hash, need_of(n, hash), err,
				      errlen);
	if (rc == ASSAY_EDECODE)
		memset(hash, 0, HASH_LEN);
	if (rc) {
		if (assay_err_is_local(rc))
			write_failed(n, rc, err);
		return rc;
	}
	if (n->net)
		net_announce_chunk(n->net, hash);
	retry_pending(n);
	if (n->avail_nparked)
		unpark(n);
	consensus_on_chunk(n, hash);
	return 0;
}

/* node_chunks_mark, and 0, ASSAY_ENOMEM (the marks owed) or the failure
 * that stopped the node. */
static int mark_block(struct node *n, const struct block *blk)
{
	struct ledger l = chain_ledger(n->chain);
	size_t dropped = 0;
	int rc = chunkstore_mark_block(chain_store(n->chain), &l, blk, &dropped);
	if (rc == ASSAY_ENOMEM) {
		n->avail_marks_owed = blk->hdr.height;
		log_warn("avail: cannot mark the chunks of block %llu: %s; marked before the next block",
			 (unsigned long long)blk->hdr.height, assay_strerror(rc));
		return rc;
	}
	if (rc) {
		node_abort(n, rc, "avail: marking the chunks a block names failed");
		return rc;
	}
	n->avail_marks_owed = 0;
	if (dropped)
		log_info("avail: dropped %zu chunk(s) no block named of an uploaded output", dropped);
	return 0;
}

void node_chunks_mark(struct node *n, const struct block *blk)
{
	mark_block(n, blk);
}

int node_chunks_mark_owed(struct node *n, char *err, size_t errlen)
{
	uint64_t height = n->avail_marks_owed;
	if (!height)
		return 0;
	struct block blk;
	int rc = chain_get_block_at(n->chain, height, &blk);
	if (rc)
		return assay_fail(err, errlen, rc == ASSAY_ENOTFOUND ? ASSAY_ECORRUPT : rc,
				  "avail: cannot read block %llu to mark its chunks: %s",
				  (unsigned long long)height, assay_strerror(rc));
	rc = mark_block(n, &blk);
	block_free(&blk);
	if (rc == ASSAY_ENOMEM)
		return assay_fail(err, errlen, rc, "avail: cannot mark the chunks of block %llu: %s",
				  (unsigned long long)height, assay_strerror(rc));
	return rc ? assay_fail(err, errlen, rc, "avail: marking the chunks a block names failed") : 0;
}

int node_chunks_exempt(uint64_t height, uint64_t best, uint64_t retention, int committed)
{
	return committed && height + retention < best;
}

/* Whether blk, which came with a commit (chain_apply_block checks it
 * before the block joins), is far enough below the best height known to
 * skip the availability check. */
static int older_than_retention(struct node *n, const struct block *blk)
{
	struct net_sync_status st = {0};
	if (n->net)
		net_sync_status(n->net, &st);
	uint64_t best = st.target > chain_height(n->chain) ? st.target : chain_height(n->chain);
	return node_chunks_exempt(blk->hdr.height, best, chain_genesis(n->chain)->compute.chunk_retention_blocks, 1);
}

/* Whether a block from a peer that waits for chunks may be kept, and its
 * chunks asked for: cm, the commit it came with, holds for it (more than
 * 2/3 of the next height's stake precommitted its hash). Without that,
 * anyone could have the node keep a block of theirs in place of the real
 * one and hunt for chunks that no one has. 0, or why not (or a local
 * failure). */
static int may_wait(struct node *n, const struct block *blk, const struct commit *cm, char *err, size_t errlen)
{
	uint8_t hash[HASH_LEN];
	block_hash(blk, hash);
	int rc = chain_check_next_commit(n->chain, cm, err, errlen);
	if (rc == 0 && memcmp(cm->block_hash, hash, HASH_LEN) != 0)
		rc = assay_fail(err, errlen, ASSAY_EINVALID, "its commit is for another block");
	return rc;
}

static int check_block(struct node *n, const struct block *blk, const struct commit *cm, char *err, size_t errlen)
{
	int keep = cm != NULL;
	if (keep && older_than_retention(n, blk))
		return 0;
	uint8_t(*missing)[HASH_LEN] = malloc(NODE_CHUNKS_MISSING_MAX * HASH_LEN);
	size_t nmissing = 0;
	if (!missing)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	int rc = chunkstore_check_block(chain_store(n->chain), blk, missing, NODE_CHUNKS_MISSING_MAX,
					&nmissing, err, errlen);
	int next = blk->hdr.height == chain_height(n->chain) + 1;
	if (rc == ASSAY_EUNAVAIL && keep && next && (rc = may_wait(n, blk, cm, err, errlen)) == 0)
		rc = assay_fail(err, errlen, ASSAY_EUNAVAIL, "%zu referenced chunk(s) not received", nmissing);
	if (rc == ASSAY_EUNAVAIL && keep && next) {
		struct buf b;
		buf_init(&b);
		buf_put_u32(&b, 0);
		block_encode(blk, &b);
		if (!b.oom)
			le32_put(b.data, (uint32_t)(b.len - 4));
		commit_encode(cm, &b);
		if (!b.oom) {
			pending_free(n);
			n->avail_pending = buf_take(&b, &n->avail_pending_len);
			pending_save(n);
		}
		buf_free(&b);
	}
	if (rc == ASSAY_EUNAVAIL) {
		for (size_t i = 0; i < nmissing && i < NODE_CHUNKS_MISSING_MAX; i++)
			asked_add(n, missing[i]);
		if (n->net)
			net_request_chunks(n->net, (const uint8_t(*)[32])missing,
					   nmissing < NODE_CHUNKS_MISSING_MAX ? nmissing
									      : NODE_CHUNKS_MISSING_MAX);
		log_info("avail: block %llu waits for %zu chunk(s)", (unsigned long long)blk->hdr.height,
			 nmissing);
	}
	free(missing);
	return rc;
}

int node_chunks_check_block(struct node *n, const struct block *blk, const struct commit *cm, char *err,
			    size_t errlen)
{
	return check_block(n, blk, cm, err, errlen);
}

int node_chunks_check_proposal(struct node *n, const struct block *blk, char *err, size_t errlen)
{
	return check_block(n, blk, NULL, err, errlen);
}

int node_chunks_completes(struct node *n, const struct block *blk, const uint8_t chunk[HASH_LEN])
{
	int named = 0;
	for (size_t i = 0; i < blk->ntx && !named; i++)
		named = tx_names(&blk->txs[i], chunk);
	if (!named)
		return 0;
	uint8_t missing[1][HASH_LEN];
	size_t nmissing;
	char err[128];
	int rc = chunkstore_check_block(chain_store(n->chain), blk, missing, 0, &nmissing, err, sizeof(err));
	if (assay_err_is_local(rc))
		return rc;
	return rc != ASSAY_EUNAVAIL; /* held, or held and contradicting: either way judged now */
}

int node_chunks_tx_ready(struct node *n, const struct tx *t, char *err, size_t errlen)
{
	if (t->kind != TX_JOB_CHUNKS)
		return 0;
	struct block one;
	uint8_t missing[AVAIL_MAX_REFS][HASH_LEN];
	size_t nmissing;
	block_init(&one);
	one.ntx = 1;
	one.txs = (struct tx *)t;
	int rc = chunkstore_check_block(chain_store(n->chain), &one, missing, AVAIL_MAX_REFS, &nmissing, err,
					errlen);
	if (rc == ASSAY_EUNAVAIL) {
		snprintf(err, errlen,
			 "%zu referenced chunk(s) not held by this node: submit them first (submitjobchunk)",
			 nmissing);
		park(n, t, (const uint8_t(*)[HASH_LEN])missing, nmissing);
	}
	return rc;
}

void node_chunks_block_connected(struct node *n, uint64_t height)
{
	size_t pruned = 0;
	struct ledger l = chain_ledger(n->chain);
	int rc = height % NODE_CHUNKS_PRUNE_EVERY != 0
			 ? 0
			 : chunkstore_prune(chain_store(n->chain), &l, &chain_genesis(n->chain)->compute,
					    height, &pruned);
	if (rc)
		write_failed(n, rc, "pruning chunks failed");
	else if (pruned)
		log_info("avail: pruned %zu chunk(s) past chunk_retention_blocks", pruned);
	if (n->avail_pending)
		retry_pending(n);
}

/* Marks the tip block's chunks again (node_chunks_mark) and takes up the
 * records of what waited before a restart (pending_save, parked_save): a
 * block still at the next height waits again, or connects
 * when its chunks all arrived meanwhile; the transactions are offered to
 * the mempool again, and those whose chunks are still missing stay parked.
 * A read that fails is no record: it stops the start. */
int node_chunks_restore(struct node *n, char *err, size_t errlen)
{
	store_t *s = chain_store(n->chain);
	uint8_t *rec;
	size_t len;
	/* the tip block's marks are written after its block, in a batch of
	 * their own: a process that died between the two left them out. Each
	 * earlier block's were written before the next block's (synced) one. */
	struct block tip;
	int rc = chain_height(n->chain) > 0 ? chain_get_block_at(n->chain, chain_height(n->chain), &tip) : 1;
	if (rc < 0)
		return assay_fail(err, errlen, rc, "avail: cannot read the tip block to mark its chunks: %s",
				  assay_strerror(rc));
	if (rc == 0) {
		node_chunks_mark(n, &tip); /* out of memory: owed, marked before the next block */
		block_free(&tip);
		if (n->aborted)
			return assay_fail(err, errlen, ASSAY_EIO,
					  "avail: marking the tip block's chunks failed");
	}
	rc = chunkstore_load_waiting(s, CHUNKSTORE_WAITING_BLOCK, &rec, &len);
	if (rc && rc != ASSAY_ENOTFOUND)
		return assay_fail(err, errlen, rc,
				  "avail: cannot read the block kept waiting for its chunks: %s",
				  assay_strerror(rc));
	if (rc == 0) {
		n->avail_pending = rec;
		n->avail_pending_len = len;
		log_info("avail: a block kept from before the restart waits for its chunks");
		retry_pending(n); /* drops it when the chain is past it */
	}
	rc = chunkstore_load_waiting(s, CHUNKSTORE_WAITING_TXS, &rec, &len);
	if (rc == ASSAY_ENOTFOUND)
		return 0;
	if (rc)
		return assay_fail(err, errlen, rc,
				  "avail: cannot read the transactions kept waiting for their chunks: %s",
				  assay_strerror(rc));
	size_t at = 0, count = 0;
	while (len - at >= 4 && le32_get(rec + at) <= len - at - 4) {
		at += 4 + le32_get(rec + at);
		count++;
	}
	if (count > NODE_CHUNKS_PARKED_MAX || at != len ||
	    !(n->avail_parked = calloc(NODE_CHUNKS_PARKED_MAX, sizeof(*n->avail_parked)))) {
		free(rec); /* not ours, or no memory: what a restart without it has */
		return 0;
	}
	for (at = 0; at < len; at += 4 + le32_get(rec + at)) {
		struct buf *b = &n->avail_parked[n->avail_nparked++];
		buf_init(b);
		buf_put(b, rec + at + 4, le32_get(rec + at));
	}
	free(rec);
	log_info("avail: %zu job_chunks transaction(s) kept from before the restart", n->avail_nparked);
	unpark(n);
	return 0;
}

void node_chunks_free(struct node *n)
{
	pending_free(n);
	for (size_t i = 0; i < n->avail_nparked; i++)
		buf_free(&n->avail_parked[i]);
	free(n->avail_parked);
	n->avail_parked = NULL;
	n->avail_nparked = 0;
}

/* Block codec and hashes (see block.h; docs/protocol.md §4). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block.h"
#include "core/error.h"
#include "core/merkle.h"

/* Smallest encoded transaction: every fixed field and an empty payload. */
#define BLOCK_TX_MIN_BYTES (HASH_LEN + 8 + PUBKEY_LEN + 8 + 8 + 1 + 1 + SIG_LEN)

void block_header_encode(const struct block_header *h, struct buf *b)
{
	buf_put_u32(b, h->version);
	buf_put(b, h->chain_id, HASH_LEN);
	buf_put_u64(b, h->height);
	buf_put_u64(b, h->time_ms);
	buf_put(b, h->prev_hash, HASH_LEN);
	buf_put(b, h->tx_root, HASH_LEN);
	buf_put(b, h->state_root, HASH_LEN);
	buf_put(b, h->last_commit_hash, HASH_LEN);
	buf_put(b, h->validators_hash, HASH_LEN);
	buf_put(b, h->proposer, PUBKEY_LEN);
	buf_put(b, h->beacon, HASH_LEN);
	buf_put(b, h->beacon_proof, VRF_PROOF_LEN);
}

int block_header_read(struct block_header *h, struct reader *r)
{
	size_t start = r->pos;
	rd_field(r, "version");
	h->version = rd_u32(r);
	rd_field(r, "chain_id");
	rd_copy(r, h->chain_id, HASH_LEN);
	rd_field(r, "height");
	h->height = rd_u64(r);
	rd_field(r, "time_ms");
	h->time_ms = rd_u64(r);
	rd_field(r, "prev_hash");
	rd_copy(r, h->prev_hash, HASH_LEN);
	rd_field(r, "tx_root");
	rd_copy(r, h->tx_root, HASH_LEN);
	rd_field(r, "state_root");
	rd_copy(r, h->state_root, HASH_LEN);
	rd_field(r, "last_commit_hash");
	rd_copy(r, h->last_commit_hash, HASH_LEN);
	rd_field(r, "validators_hash");
	rd_copy(r, h->validators_hash, HASH_LEN);
	rd_field(r, "proposer");
	rd_copy(r, h->proposer, PUBKEY_LEN);
	rd_field(r, "beacon");
	rd_copy(r, h->beacon, HASH_LEN);
	rd_field(r, "beacon_proof");
	rd_copy(r, h->beacon_proof, VRF_PROOF_LEN);
	rd_field(r, "version");
	if (!r->err && h->version != BLOCK_VERSION)
		rd_fail(r, ASSAY_EDECODE, start, "unknown block version");
	rd_field(r, NULL);
	return r->err;
}

void block_header_hash(const struct block_header *h, uint8_t out[HASH_LEN])
{
	uint8_t enc[HEADER_BYTES];
	struct buf b = {.data = enc, .len = 0, .cap = sizeof(enc)};
	block_header_encode(h, &b);
	hash_tagged("assay/block", b.data, b.len, out);
}

void commit_encode(const struct commit *c, struct buf *b)
{
	buf_put_u64(b, c->height);
	buf_put_u32(b, c->round);
	buf_put(b, c->block_hash, HASH_LEN);
	buf_put_varint(b, c->nsigs);
	for (uint32_t i = 0; i < c->nsigs; i++) {
		buf_put(b, c->sigs[i].validator, PUBKEY_LEN);
		buf_put(b, c->sigs[i].sig, SIG_LEN);
	}
}

int commit_read(struct commit *c, struct reader *r)
{
	memset(c, 0, sizeof(*c));
	rd_field(r, "commit height");
	c->height = rd_u64(r);
	rd_field(r, "commit round");
	c->round = rd_u32(r);
	rd_field(r, "commit block_hash");
	rd_copy(r, c->block_hash, HASH_LEN);
	rd_field(r, "commit signature count");
	size_t count_pos = r->pos;
	uint64_t n = rd_count(r, COMMIT_MAX_SIGS);
	if (r->err)
		return r->err;
	if (n > rd_left(r) / (PUBKEY_LEN + SIG_LEN))
		return rd_fail(r, ASSAY_EDECODE, count_pos, "more signatures than the input holds");
	rd_field(r, "commit signatures");
	if (n) {
		c->sigs = calloc((size_t)n, sizeof(*c->sigs));
		if (!c->sigs)
			return r->err = ASSAY_ENOMEM;
	}
	c->nsigs = (uint32_t)n;
	for (uint32_t i = 0; i < c->nsigs; i++) {
		rd_copy(r, c->sigs[i].validator, PUBKEY_LEN);
		rd_copy(r, c->sigs[i].sig, SIG_LEN);
	}
	rd_field(r, NULL);
	if (r->err)
		commit_free(c);
	return r->err;
}

void commit_hash(const struct commit *c, uint8_t out[HASH_LEN])
{
	struct buf b;
	buf_init(&b);
	commit_encode(c, &b);
	buf_require(&b, "a commit");
	hash_tagged("assay/commit", b.data, b.len, out);
	buf_free(&b);
}

void commit_free(struct commit *c)
{
	free(c->sigs);
	memset(c, 0, sizeof(*c));
}

int commit_copy(struct commit *dst, const struct commit *src)
{
	*dst = *src;
	dst->sigs = malloc((src->nsigs ? src->nsigs : 1) * sizeof(struct commit_sig));
	if (!dst->sigs) {
		memset(dst, 0, sizeof(*dst));
		return ASSAY_ENOMEM;
	}
	memcpy(dst->sigs, src->sigs, src->nsigs * sizeof(struct commit_sig));
	return 0;
}

void block_init(struct block *blk)
{
	memset(blk, 0, sizeof(*blk));
	blk->hdr.version = BLOCK_VERSION;
}

void block_free(struct block *blk)
{
	for (size_t i = 0; i < blk->ntx; i++)
		tx_free(&blk->txs[i]);
	free(blk->txs);
	commit_free(&blk->last_commit);
	memset(blk, 0, sizeof(*blk));
}

void block_encode(const struct block *blk, struct buf *b)
{
	block_header_encode(&blk->hdr, b);
	buf_put_varint(b, blk->ntx);
	struct buf tb;
	buf_init(&tb);
	for (size_t i = 0; i < blk->ntx; i++) {
		buf_reset(&tb);
		tx_encode(&blk->txs[i], &tb);
		buf_put_bytes(b, tb.data, tb.len);
	}
	buf_free(&tb);
	commit_encode(&blk->last_commit, b);
}

int block_decode(struct block *blk, const uint8_t *p, size_t n, const struct block_limits *lim)
{
	return block_decode_err(blk, p, n, lim, NULL, 0);
}

int block_read_commit(const uint8_t *p, size_t n, const struct block_limits *lim, struct block_header *hdr,
		      struct commit *c)
{
	struct reader r;
	memset(c, 0, sizeof(*c));
	rd_init(&r, p, n);
	block_header_read(hdr, &r);
	uint64_t ntx = rd_count(&r, lim->max_txs < BLOCK_MAX_TXS_HARD ? lim->max_txs : BLOCK_MAX_TXS_HARD);
	for (uint64_t i = 0; i < ntx && !r.err; i++) {
		size_t tlen;
		rd_bytes(&r, &tlen, TX_MAX_BYTES_HARD);
	}
	if (!r.err && commit_read(c, &r) == 0 && rd_finish(&r) == 0)
		return 0;
	commit_free(c);
	return r.err ? r.err : ASSAY_EDECODE;
}

int block_decode_err(struct block *blk, const uint8_t *p, size_t n, const struct block_limits *lim, char *err,
		     size_t errlen)
{
	struct reader r, tr;
	size_t bad_tx = SIZE_MAX; /* the transaction that failed, if one did: tr tells why */
	block_init(blk);
	rd_init(&r, p, n);
	block_header_read(&blk->hdr, &r);
	rd_field(&r, "transaction count");
	size_t count_pos = r.pos;
	uint64_t ntx = rd_count(&r, lim->max_txs < BLOCK_MAX_TXS_HARD ? lim->max_txs : BLOCK_MAX_TXS_HARD);
	if (r.err)
		goto fail;
	/* Each transaction takes at least its length prefix and a tx with an
	 * empty payload, so a count the input cannot hold is refused before
	 * allocating for it (as commit_read does for signatures). */
	if (ntx > rd_left(&r) / (1 + BLOCK_TX_MIN_BYTES)) {
		rd_fail(&r, ASSAY_EDECODE, count_pos, "more transactions than the input holds");
		goto fail;
	}
	if (ntx) {
		blk->txs = calloc((size_t)ntx, sizeof(*blk->txs));
		if (!blk->txs) {
			r.err = ASSAY_ENOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < ntx; i++) {
		size_t tlen;
		rd_field(&r, "transaction length");
		const uint8_t *tp = rd_bytes(&r, &tlen, TX_MAX_BYTES_HARD);
		if (!tp)
			goto fail;
		/* Exactly the tlen bytes are one transaction (tx_decode's rules), read
		 * in place so that a message gives offsets in the block. */
		rd_init(&tr, p, (size_t)(tp - p) + tlen);
		tr.pos = (size_t)(tp - p);
		int rc = tx_read(&blk->txs[i], &tr, lim->max_tx_payload);
		if (rc == 0 && (rc = rd_finish(&tr)) != 0)
			tx_free(&blk->txs[i]);
		if (rc) {
			bad_tx = i;
			r.err = rc;
			goto fail;
		}
		blk->ntx = i + 1;
	}
	if (commit_read(&blk->last_commit, &r))
		goto fail;
	if (rd_finish(&r)) {
		rd_fail(&r, ASSAY_EDECODE, r.pos, "trailing bytes");
		goto fail;
	}
	return 0;
fail:;
	int rc = r.err ? r.err : ASSAY_EDECODE;
	if (err) {
		char why[160];
		rd_describe(bad_tx != SIZE_MAX ? &tr : &r, why, sizeof(why));
		if (rc == ASSAY_ENOMEM)
			snprintf(err, errlen, "malformed block: %s", assay_strerror(rc));
		else if (bad_tx != SIZE_MAX)
			snprintf(err, errlen, "malformed block: transaction %zu: %s", bad_tx, why);
		else
			snprintf(err, errlen, "malformed block: %s", why);
	}
	block_free(blk);
	return rc;
}

int block_add_tx(struct block *blk, const struct tx *t)
{
	struct tx *grown = realloc(blk->txs, (blk->ntx + 1) * sizeof(*grown));
	if (!grown)
		return ASSAY_ENOMEM;
	blk->txs = grown;
	if (tx_copy(&blk->txs[blk->ntx], t) < 0)
		return ASSAY_ENOMEM;
	blk->ntx++;
	return 0;
}

void block_tx_root(const struct block *blk, uint8_t out[HASH_LEN])
{
	uint8_t (*leaves)[HASH_LEN] = NULL;
	if (blk->ntx) {
		leaves = malloc(blk->ntx * HASH_LEN);
		if (!leaves)
			abort(); /* a root cannot be "unknown"; allocation of n*32 bytes */
	}
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < blk->ntx; i++) {
		buf_reset(&b);
		tx_encode(&blk->txs[i], &b);
		buf_require(&b, "a transaction of the tx root");
		merkle_leaf_hash(b.data, b.len, leaves[i]);
	}
	buf_free(&b);
	merkle_root((const uint8_t(*)[HASH_LEN])leaves, blk->ntx, out);
	free(leaves);
}

void block_hash(const struct block *blk, uint8_t out[HASH_LEN])
{
	block_header_hash(&blk->hdr, out);
}

int block_header_peek(const uint8_t *p, size_t n, uint8_t hash[HASH_LEN], uint64_t *height)
{
	if (n < HEADER_BYTES)
		return ASSAY_EDECODE;
	hash_tagged("assay/block", p, HEADER_BYTES, hash);
	if (height)
		*height = le64_get(p + 4 + HASH_LEN); /* after version and chain_id */
	return 0;
}

void vote_sighash(const uint8_t chain_id[HASH_LEN], uint8_t type, uint64_t height, uint32_t round,
		  const uint8_t block_hash[HASH_LEN], uint8_t out[HASH_LEN])
{
	uint8_t msg[HASH_LEN + 1 + 8 + 4 + HASH_LEN];
	memcpy(msg, chain_id, HASH_LEN);
	msg[HASH_LEN] = type;
	le64_put(msg + HASH_LEN + 1, height);
	le32_put(msg + HASH_LEN + 9, round);
	memcpy(msg + HASH_LEN + 13, block_hash, HASH_LEN);
	hash_tagged("assay/vote", msg, sizeof(msg), out);
}

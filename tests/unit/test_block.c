/* Unit tests for core/block.c: blocks round-trip bit for bit; decoding
 * refuses truncation, trailing bytes, a wrong version, non-minimal counts,
 * counts over the limits and counts the input cannot hold; header hash,
 * tx root and commit signatures over the block hash. */
#include <stdlib.h>

#include "core/error.h"
#include "core/block.h"
#include "core/merkle.h"
#include "tests/unit/test.h"

static const struct block_limits limits = {.max_txs = 100, .max_tx_payload = 4096};

static uint8_t val_pk[4][PUBKEY_LEN], val_sk[4][SECKEY_LEN];

static void make_block(struct block *blk, size_t ntx, uint32_t nsigs)
{
	block_init(blk);
	struct block_header *h = &blk->hdr;
	memset(h->chain_id, 0xc1, HASH_LEN);
	h->height = 42;
	h->time_ms = 1700000000123ull;
	memset(h->prev_hash, 0xa1, HASH_LEN);
	memset(h->state_root, 0xa3, HASH_LEN);
	memset(h->validators_hash, 0xa5, HASH_LEN);
	memcpy(h->proposer, val_pk[0], PUBKEY_LEN);
	memset(h->beacon, 0xa7, HASH_LEN);
	memset(h->beacon_proof, 0xa8, VRF_PROOF_LEN);
	for (size_t i = 0; i < ntx; i++) {
		struct tx t;
		memset(&t, 0, sizeof(t));
		memcpy(t.chain_id, h->chain_id, HASH_LEN);
		t.nonce = i;
		memcpy(t.sender, val_pk[i % 4], PUBKEY_LEN);
		t.fee = 10 * i;
		t.kind = (uint8_t)(i % TX_KIND_COUNT);
		uint8_t payload[300];
		memset(payload, (int)i, sizeof(payload));
		CHECK(tx_set_payload(&t, payload, (i * 37) % sizeof(payload)) == 0);
		tx_sign(&t, val_sk[i % 4]);
		CHECK(block_add_tx(blk, &t) == 0);
		tx_free(&t);
	}
	block_tx_root(blk, h->tx_root);
	struct commit *c = &blk->last_commit;
	c->height = 41;
	c->round = 2;
	memset(c->block_hash, 0xa1, HASH_LEN);
	c->nsigs = nsigs;
	c->sigs = nsigs ? calloc(nsigs, sizeof(*c->sigs)) : NULL;
	for (uint32_t i = 0; i < nsigs; i++) {
		memcpy(c->sigs[i].validator, val_pk[i % 4], PUBKEY_LEN);
		sig_sign(val_sk[i % 4], c->block_hash, HASH_LEN, c->sigs[i].sig);
	}
	commit_hash(c, h->last_commit_hash);
}

static void encode(const struct block *blk, struct buf *b)
{
	buf_init(b);
	block_encode(blk, b);
}

static void test_round_trip(void)
{
	static const size_t ntxs[] = {0, 1, 7, 100};
	static const uint32_t nsigs[] = {0, 1, 4, 3};
	for (size_t k = 0; k < 4; k++) {
		struct block blk, d;
		struct buf b, b2;
		make_block(&blk, ntxs[k], nsigs[k]);
		encode(&blk, &b);
		CHECK(block_decode(&d, b.data, b.len, &limits) == 0);
		encode(&d, &b2);
		CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
		CHECK(d.ntx == ntxs[k] && d.last_commit.nsigs == nsigs[k]);
		uint8_t h1[HASH_LEN], h2[HASH_LEN];
		block_hash(&blk, h1);
		block_hash(&d, h2);
		CHECK_EQ_MEM(h1, h2, HASH_LEN);
		block_tx_root(&d, h2);
		CHECK_EQ_MEM(d.hdr.tx_root, h2, HASH_LEN);
		for (size_t i = 0; i < d.ntx; i++)
			CHECK(tx_verify_sig(&d.txs[i]) == 0);
		for (uint32_t i = 0; i < d.last_commit.nsigs; i++)
			CHECK(sig_verify(d.last_commit.sigs[i].validator, d.last_commit.block_hash,
					 HASH_LEN, d.last_commit.sigs[i].sig) == 0);
		block_free(&blk);
		block_free(&d);
		buf_free(&b);
		buf_free(&b2);
	}
}

static void test_hashes(void)
{
	struct block blk;
	make_block(&blk, 5, 2);
	/* Header hash is H_tag("assay/block", header encoding), HEADER_BYTES long. */
	struct buf b;
	buf_init(&b);
	block_header_encode(&blk.hdr, &b);
	CHECK(b.len == HEADER_BYTES);
	uint8_t want[HASH_LEN], got[HASH_LEN];
	hash_tagged("assay/block", b.data, b.len, want);
	block_header_hash(&blk.hdr, got);
	CHECK_EQ_MEM(want, got, HASH_LEN);
	buf_free(&b);
	/* The hash and height read off a whole encoded block are its
	 * header's; a buffer shorter than a header has none. */
	buf_init(&b);
	block_encode(&blk, &b);
	memset(got, 0, sizeof(got));
	uint64_t height = 0;
	CHECK(block_header_peek(b.data, b.len, got, &height) == 0);
	CHECK_EQ_MEM(want, got, HASH_LEN);
	CHECK_EQ_U64(height, blk.hdr.height);
	CHECK(block_header_peek(b.data, HEADER_BYTES - 1, got, &height) == ASSAY_EDECODE);
	buf_free(&b);
	/* The tx root is the RFC 6962 root over leaf(encoding of each tx). */
	uint8_t leaves[5][HASH_LEN];
	for (int i = 0; i < 5; i++) {
		buf_init(&b);
		tx_encode(&blk.txs[i], &b);
		merkle_leaf_hash(b.data, b.len, leaves[i]);
		buf_free(&b);
	}
	merkle_root((const uint8_t(*)[HASH_LEN])leaves, 5, want);
	CHECK_EQ_MEM(blk.hdr.tx_root, want, HASH_LEN);
	/* Every header field changes the hash. */
	uint8_t base[HASH_LEN];
	block_hash(&blk, base);
	blk.hdr.beacon_proof[VRF_PROOF_LEN - 1] ^= 1;
	block_hash(&blk, got);
	CHECK(memcmp(base, got, HASH_LEN) != 0);
	blk.hdr.beacon_proof[VRF_PROOF_LEN - 1] ^= 1;
	blk.hdr.height++;
	block_hash(&blk, got);
	CHECK(memcmp(base, got, HASH_LEN) != 0);
	block_free(&blk);
}

static void test_rejects(void)
{
	struct block blk, d;
	struct buf b;
	make_block(&blk, 3, 2);
	encode(&blk, &b);
	/* Every proper prefix, and a trailing byte. */
	int accepted = 0;
	for (size_t n = 0; n < b.len; n++) {
		if (block_decode(&d, b.data, n, &limits) == 0) {
			accepted++;
			block_free(&d);
		}
	}
	CHECK(accepted == 0);
	uint8_t *longer = malloc(b.len + 1);
	memcpy(longer, b.data, b.len);
	longer[b.len] = 0;
	CHECK(block_decode(&d, longer, b.len + 1, &limits) == ASSAY_EDECODE);
	free(longer);
	/* Wrong version. */
	b.data[0] = BLOCK_VERSION + 1;
	CHECK(block_decode(&d, b.data, b.len, &limits) == ASSAY_EDECODE);
	b.data[0] = BLOCK_VERSION;
	/* More transactions than the chain allows; payload over the limit. */
	struct block_limits two = {.max_txs = 2, .max_tx_payload = 4096};
	CHECK(block_decode(&d, b.data, b.len, &two) == ASSAY_ELIMIT);
	struct block_limits small = {.max_txs = 100, .max_tx_payload = 10};
	CHECK(block_decode(&d, b.data, b.len, &small) == ASSAY_ELIMIT);
	CHECK(block_decode(&d, b.data, b.len, &limits) == 0);
	block_free(&d);
	buf_free(&b);
	block_free(&blk);

	/* Non-minimal tx count: 0 written as 80 00. */
	make_block(&blk, 0, 0);
	encode(&blk, &b);
	CHECK(b.data[HEADER_BYTES] == 0);
	struct buf nm;
	buf_init(&nm);
	buf_put(&nm, b.data, HEADER_BYTES);
	buf_put_u8(&nm, 0x80);
	buf_put(&nm, b.data + HEADER_BYTES, b.len - HEADER_BYTES);
	CHECK(block_decode(&d, nm.data, nm.len, &limits) == ASSAY_EDECODE);
	buf_free(&nm);

	/* A count the input cannot hold is refused. */
	buf_init(&nm);
	buf_put(&nm, b.data, HEADER_BYTES);
	buf_put_varint(&nm, BLOCK_MAX_TXS_HARD);
	struct block_limits hard = {.max_txs = BLOCK_MAX_TXS_HARD, .max_tx_payload = 4096};
	CHECK(block_decode(&d, nm.data, nm.len, &hard) == ASSAY_EDECODE);
	buf_free(&nm);

	/* Commit: more signatures than COMMIT_MAX_SIGS, and more than fit. */
	size_t commit_at = HEADER_BYTES + 1;
	buf_init(&nm);
	buf_put(&nm, b.data, commit_at + 8 + 4 + HASH_LEN);
	buf_put_varint(&nm, COMMIT_MAX_SIGS + 1);
	CHECK(block_decode(&d, nm.data, nm.len, &limits) == ASSAY_ELIMIT);
	buf_reset(&nm);
	buf_put(&nm, b.data, commit_at + 8 + 4 + HASH_LEN);
	buf_put_varint(&nm, 2);
	buf_put(&nm, b.data, PUBKEY_LEN + SIG_LEN); /* room for one only */
	CHECK(block_decode(&d, nm.data, nm.len, &limits) == ASSAY_EDECODE);
	buf_free(&nm);
	buf_free(&b);
	block_free(&blk);
}

static void expect_block_error(const uint8_t *p, size_t n, const char *want)
{
	struct block blk;
	char err[200] = "";
	CHECK(block_decode_err(&blk, p, n, &limits, err, sizeof(err)) != 0);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "error \"%s\", want \"%s\"\n", err, want);
	CHECK(strcmp(err, want) == 0);
}

/* A refusal gives the offset in the block, the field and, inside a
 * transaction, which one. */
static void test_decode_messages(void)
{
	struct block blk;
	struct buf b;
	make_block(&blk, 1, 1);
	encode(&blk, &b);
	buf_put_u8(&b, 7);
	char want[120];
	snprintf(want, sizeof(want), "malformed block: trailing bytes at offset %zu", b.len - 1);
	expect_block_error(b.data, b.len, want);
	expect_block_error(b.data, 40, "malformed block: truncated at offset 36 (height)");
	/* Transaction 0 starts after the header, the count (1 byte) and its
	 * length (2 bytes: it is over 127 bytes); its kind is 88 bytes in. */
	size_t kind_at = HEADER_BYTES + 1 + 2 + 88;
	CHECK(b.data[kind_at] == blk.txs[0].kind);
	b.data[kind_at] = 0xee;
	snprintf(want, sizeof(want), "malformed block: transaction 0: unknown transaction kind at offset %zu (kind)",
		 kind_at);
	expect_block_error(b.data, b.len - 1, want);
	buf_free(&b);
	block_free(&blk);
}

/* block_read_commit finds the header and last_commit block_decode finds,
 * over the same framing, without the transactions: truncation, trailing
 * bytes and a count over the limit are refused as by block_decode. */
static void test_read_commit(void)
{
	struct block blk, d;
	struct buf b;
	make_block(&blk, 7, 3);
	encode(&blk, &b);
	struct block_header h;
	struct commit c;
	CHECK(block_read_commit(b.data, b.len, &limits, &h, &c) == 0);
	CHECK(block_decode(&d, b.data, b.len, &limits) == 0);
	CHECK(h.height == d.hdr.height && memcmp(h.last_commit_hash, d.hdr.last_commit_hash, HASH_LEN) == 0);
	uint8_t h1[HASH_LEN], h2[HASH_LEN];
	commit_hash(&c, h1);
	commit_hash(&d.last_commit, h2);
	CHECK_EQ_MEM(h1, h2, HASH_LEN);
	CHECK(c.nsigs == 3 && memcmp(c.sigs[2].sig, d.last_commit.sigs[2].sig, SIG_LEN) == 0);
	commit_free(&c);
	block_free(&d);
	for (size_t cut = 0; cut < b.len; cut += 97)
		CHECK(block_read_commit(b.data, cut, &limits, &h, &c) != 0);
	buf_put_u8(&b, 0); /* a trailing byte */
	CHECK(block_read_commit(b.data, b.len, &limits, &h, &c) == ASSAY_EDECODE);
	const struct block_limits few = {.max_txs = 6, .max_tx_payload = 4096};
	CHECK_EQ_INT(block_read_commit(b.data, b.len - 1, &few, &h, &c), ASSAY_ELIMIT);
	buf_free(&b);
	block_free(&blk);
}

int main(void)
{
	if (keys_init() < 0)
		return 99;
	for (int i = 0; i < 4; i++)
		key_generate(val_pk[i], val_sk[i]);
	RUN(test_round_trip);
	RUN(test_hashes);
	RUN(test_rejects);
	RUN(test_decode_messages);
	RUN(test_read_commit);
	return test_report("test_block");
}

/* Codecs, sign bytes and Ed25519 checks of BFT messages (docs/consensus.md
 * §3). Decoders follow protocol §1: truncation, trailing bytes, unknown enum
 * values and non-canonical forms are ASSAY_EDECODE. Not for: consensus
 * decisions (bft.c) or counting votes (voteset.c). */
#include "consensus/bft/msg.h"

#include <string.h>

#include "core/error.h"

static const uint8_t zero_hash[HASH_LEN];

static int is_zero(const uint8_t h[HASH_LEN])
{
	return memcmp(h, zero_hash, HASH_LEN) == 0;
}

/* The encoding into out (BFT_VOTE_MAX_BYTES at most): its length. */
static size_t vote_bytes(const struct bft_vote *v, uint8_t out[BFT_VOTE_MAX_BYTES])
{
	size_t n = 0;
	out[n++] = v->type;
	le64_put(out + n, v->height);
	n += 8;
	le32_put(out + n, v->round);
	n += 4;
	out[n++] = v->has_value ? 1 : 0;
	if (v->has_value) {
		memcpy(out + n, v->value, HASH_LEN);
		n += HASH_LEN;
	}
	memcpy(out + n, v->validator, PUBKEY_LEN);
	n += PUBKEY_LEN;
	memcpy(out + n, v->sig, SIG_LEN);
	return n + SIG_LEN;
}

void bft_vote_encode(const struct bft_vote *v, struct buf *b)
{
	uint8_t bytes[BFT_VOTE_MAX_BYTES];
	buf_put(b, bytes, vote_bytes(v, bytes));
}

int bft_vote_read(struct bft_vote *v, struct reader *r)
{
	memset(v, 0, sizeof(*v));
	v->type = rd_u8(r);
	v->height = rd_u64(r);
	v->round = rd_u32(r);
	uint8_t has = rd_u8(r);
	if (r->err)
		return r->err;
	if ((v->type != VOTE_PREVOTE && v->type != VOTE_PRECOMMIT) || v->round > BFT_MAX_ROUND || has > 1)
		return r->err = ASSAY_EDECODE;
	v->has_value = has;
	if (has) {
		rd_copy(r, v->value, HASH_LEN);
		/* the all-zero hash is nil's sign bytes: one meaning, one encoding */
		if (!r->err && is_zero(v->value))
			return r->err = ASSAY_EDECODE;
	}
	rd_copy(r, v->validator, PUBKEY_LEN);
	rd_copy(r, v->sig, SIG_LEN);
	return r->err;
}

int bft_vote_decode(struct bft_vote *v, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	int rc = bft_vote_read(v, &r);
	return rc ? rc : rd_finish(&r);
}

void bft_proposal_encode(const struct bft_proposal *pr, struct buf *b)
{
	buf_put_u64(b, pr->height);
	buf_put_u32(b, pr->round);
	buf_put_u32(b, pr->pol_round);
	buf_put(b, pr->value, HASH_LEN);
	buf_put(b, pr->proposer, PUBKEY_LEN);
	buf_put(b, pr->sig, SIG_LEN);
}

int bft_proposal_decode(struct bft_proposal *pr, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	memset(pr, 0, sizeof(*pr));
	pr->height = rd_u64(&r);
	pr->round = rd_u32(&r);
	pr->pol_round = rd_u32(&r);
	rd_copy(&r, pr->value, HASH_LEN);
	rd_copy(&r, pr->proposer, PUBKEY_LEN);
	rd_copy(&r, pr->sig, SIG_LEN);
	int rc = rd_finish(&r);
	if (rc)
		return rc;
	if (pr->round > BFT_MAX_ROUND || (pr->pol_round != BFT_POL_NONE && pr->pol_round >= pr->round) ||
	    is_zero(pr->value))
		return ASSAY_EDECODE;
	return 0;
}

int bft_vote_same_value(const struct bft_vote *x, const struct bft_vote *y)
{
	if (x->has_value != y->has_value)
		return 0;
	return !x->has_value || memcmp(x->value, y->value, HASH_LEN) == 0;
}

/* Compares two votes by encoding, the canonical order of evidence. On
 * the stack: a comparison that could fail for want of memory would turn
 * our own trouble into a verdict on the evidence (protocol.md §5.4). */
static int vote_cmp(const struct bft_vote *x, const struct bft_vote *y)
{
	uint8_t bx[BFT_VOTE_MAX_BYTES], by[BFT_VOTE_MAX_BYTES];
	size_t nx = vote_bytes(x, bx), ny = vote_bytes(y, by);
	int c = memcmp(bx, by, nx < ny ? nx : ny);
	if (c == 0 && nx != ny)
		c = nx < ny ? -1 : 1;
	return c;
}

static int conflicting(const struct bft_vote *x, const struct bft_vote *y)
{
	return x->type == y->type && x->height == y->height && x->round == y->round &&
	       memcmp(x->validator, y->validator, PUBKEY_LEN) == 0 && !bft_vote_same_value(x, y);
}

int bft_evidence_make(struct bft_evidence *ev, const struct bft_vote *x, const struct bft_vote *y)
{
	if (!conflicting(x, y))
		return ASSAY_EINVALID;
	int c = vote_cmp(x, y);
	ev->a = c < 0 ? *x : *y;
	ev->b = c < 0 ? *y : *x;
	return 0;
}

void bft_evidence_encode(const struct bft_evidence *ev, struct buf *b)
{
	buf_put_u8(b, BFT_EVIDENCE_DUPLICATE_VOTE);
	bft_vote_encode(&ev->a, b);
	bft_vote_encode(&ev->b, b);
}

int bft_evidence_decode(struct bft_evidence *ev, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	memset(ev, 0, sizeof(*ev));
	uint8_t kind = rd_u8(&r);
	if (!r.err && kind != BFT_EVIDENCE_DUPLICATE_VOTE)
		return ASSAY_EDECODE;
	if (!r.err)
		bft_vote_read(&ev->a, &r);
	if (!r.err)
		bft_vote_read(&ev->b, &r);
	int rc = rd_finish(&r);
	if (rc)
		return rc;
	if (!conflicting(&ev->a, &ev->b))
		return ASSAY_EINVALID;
	if (vote_cmp(&ev->a, &ev->b) >= 0)
		return ASSAY_EDECODE; /* not in canonical order */
	return 0;
}

void bft_vote_sighash(const uint8_t chain_id[HASH_LEN], const struct bft_vote *v, uint8_t out[HASH_LEN])
{
	vote_sighash(chain_id, v->type, v->height, v->round, v->has_value ? v->value : zero_hash, out);
}

void bft_proposal_sighash(const uint8_t chain_id[HASH_LEN], const struct bft_proposal *pr,
			  uint8_t out[HASH_LEN])
{
	uint8_t msg[HASH_LEN + 8 + 4 + 4 + HASH_LEN];
	memcpy(msg, chain_id, HASH_LEN);
	le64_put(msg + HASH_LEN, pr->height);
	le32_put(msg + HASH_LEN + 8, pr->round);
	le32_put(msg + HASH_LEN + 12, pr->pol_round);
	memcpy(msg + HASH_LEN + 16, pr->value, HASH_LEN);
	hash_tagged("assay/proposal", msg, sizeof(msg), out);
}

void bft_vote_sign(const uint8_t chain_id[HASH_LEN], const uint8_t sk[SECKEY_LEN], struct bft_vote *v)
{
	uint8_t h[HASH_LEN];
	bft_vote_sighash(chain_id, v, h);
	sig_sign(sk, h, HASH_LEN, v->sig);
}

int bft_vote_verify(const uint8_t chain_id[HASH_LEN], const struct bft_vote *v)
{
	uint8_t h[HASH_LEN];
	bft_vote_sighash(chain_id, v, h);
	return sig_verify(v->validator, h, HASH_LEN, v->sig);
}

void bft_proposal_sign(const uint8_t chain_id[HASH_LEN], const uint8_t sk[SECKEY_LEN], struct bft_proposal *pr)
{
	uint8_t h[HASH_LEN];
	bft_proposal_sighash(chain_id, pr, h);
	sig_sign(sk, h, HASH_LEN, pr->sig);
}

int bft_proposal_verify(const uint8_t chain_id[HASH_LEN], const struct bft_proposal *pr)
{
	uint8_t h[HASH_LEN];
	bft_proposal_sighash(chain_id, pr, h);
	return sig_verify(pr->proposer, h, HASH_LEN, pr->sig);
}

int bft_evidence_verify(const uint8_t chain_id[HASH_LEN], const struct bft_evidence *ev)
{
	if (bft_vote_verify(chain_id, &ev->a) || bft_vote_verify(chain_id, &ev->b))
		return ASSAY_ESIG;
	return 0;
}

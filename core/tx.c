/* Transaction codec and signing (see tx.h; docs/protocol.md §3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tx.h"

static const char *const kind_names[TX_KIND_COUNT] = {
	"transfer", "deploy", "call", "validator_bond", "validator_unbond",
	"worker_register", "worker_unbond", "job_submit", "job_commit",
	"job_reveal", "job_dispute", "blob", "evidence", "validator_unjail",
	"job_salt", "job_chunks",
};

const char *tx_kind_name(unsigned kind)
{
	return kind < TX_KIND_COUNT ? kind_names[kind] : "unknown";
}

int tx_kind_from_name(const char *name)
{
	for (int i = 0; i < TX_KIND_COUNT; i++)
		if (strcmp(kind_names[i], name) == 0)
			return i;
	return -1;
}

void tx_free(struct tx *t)
{
	free(t->payload);
	t->payload = NULL;
	t->payload_len = 0;
}

int tx_set_payload(struct tx *t, const void *p, size_t n)
{
	uint8_t *copy = NULL;
	if (n) {
		copy = malloc(n);
		if (!copy)
			return ASSAY_ENOMEM;
		memcpy(copy, p, n);
	}
	free(t->payload);
	t->payload = copy;
	t->payload_len = n;
	return 0;
}

int tx_copy(struct tx *dst, const struct tx *src)
{
	*dst = *src;
	dst->payload = NULL;
	dst->payload_len = 0;
	return tx_set_payload(dst, src->payload, src->payload_len);
}

void tx_encode_unsigned(const struct tx *t, struct buf *b)
{
	buf_put(b, t->chain_id, HASH_LEN);
	buf_put_u64(b, t->nonce);
	buf_put(b, t->sender, PUBKEY_LEN);
	buf_put_u64(b, t->fee);
	buf_put_u64(b, t->gas_limit);
	buf_put_u8(b, t->kind);
	buf_put_bytes(b, t->payload, t->payload_len);
}

void tx_encode(const struct tx *t, struct buf *b)
{
	tx_encode_unsigned(t, b);
	buf_put(b, t->sig, SIG_LEN);
}

size_t tx_encoded_len(const struct tx *t)
{
	return HASH_LEN + 8 + PUBKEY_LEN + 8 + 8 + 1 + buf_varint_len(t->payload_len) + t->payload_len + SIG_LEN;
}

int tx_read(struct tx *t, struct reader *r, size_t payload_max)
{
	memset(t, 0, sizeof(*t));
	rd_field(r, "chain_id");
	rd_copy(r, t->chain_id, HASH_LEN);
	rd_field(r, "nonce");
	t->nonce = rd_u64(r);
	rd_field(r, "sender");
	rd_copy(r, t->sender, PUBKEY_LEN);
	rd_field(r, "fee");
	t->fee = rd_u64(r);
	rd_field(r, "gas_limit");
	t->gas_limit = rd_u64(r);
	rd_field(r, "kind");
	t->kind = rd_u8(r);
	if (!r->err && t->kind >= TX_KIND_COUNT)
		rd_fail(r, ASSAY_EDECODE, r->pos - 1, "unknown transaction kind");
	size_t plen;
	rd_field(r, "payload");
	const uint8_t *p = rd_bytes(r, &plen, payload_max);
	rd_field(r, "signature");
	rd_copy(r, t->sig, SIG_LEN);
	rd_field(r, NULL);
	if (r->err) {
		memset(t, 0, sizeof(*t));
		return r->err;
	}
	if (tx_set_payload(t, p, plen) < 0) {
		memset(t, 0, sizeof(*t));
		return ASSAY_ENOMEM;
	}
	return 0;
}

int tx_decode(struct tx *t, const uint8_t *p, size_t n, size_t payload_max)
{
	return tx_decode_err(t, p, n, payload_max, NULL, 0);
}

int tx_decode_err(struct tx *t, const uint8_t *p, size_t n, size_t payload_max, char *err, size_t errlen)
{
	if (n > TX_MAX_BYTES_HARD) {
		memset(t, 0, sizeof(*t));
		if (err)
			snprintf(err, errlen, "malformed transaction: %zu bytes, over the hard limit of %u", n,
				 (unsigned)TX_MAX_BYTES_HARD);
		return ASSAY_ELIMIT;
	}
	struct reader r;
	rd_init(&r, p, n);
	int rc = tx_read(t, &r, payload_max);
	if (rc == 0) {
		rc = rd_finish(&r);
		if (rc)
			tx_free(t);
	}
	if (rc && err) {
		char why[160];
		if (rc == ASSAY_ENOMEM)
			snprintf(why, sizeof(why), "%s", assay_strerror(rc));
		else
			rd_describe(&r, why, sizeof(why));
		snprintf(err, errlen, "malformed transaction: %s", why);
	}
	return rc;
}

/* Allocation policy (docs/architecture.md): a function that returns int
 * reports ASSAY_ENOMEM; one that cannot (a hash the protocol names, used in
 * a hundred places) aborts with a message, because a hash of a truncated
 * encoding would be a silently wrong txid or signature message. */
/* Encodings of up to HASH_ENCODING_STACK bytes (a transfer's is 206) are
 * made on the stack: a txid or a signature check then costs no allocation. */
#define HASH_ENCODING_STACK 384

static void hash_encoding(const struct tx *t, int with_sig, const char *tag, uint8_t out[HASH_LEN])
{
	/* the widest encoding: the fixed fields, a 10-byte length, payload, signature */
	size_t most = HASH_LEN + 8 + PUBKEY_LEN + 8 + 8 + 1 + 10 + t->payload_len + SIG_LEN;
	uint8_t stack[HASH_ENCODING_STACK];
	struct buf b;
	buf_init(&b);
	if (most <= sizeof(stack)) {
		b.data = stack; /* never grows past its cap, so never reallocated */
		b.cap = sizeof(stack);
	}
	if (with_sig)
		tx_encode(t, &b);
	else
		tx_encode_unsigned(t, &b);
	buf_require(&b, tag);
	hash_tagged(tag, b.data, b.len, out);
	if (b.data != stack)
		buf_free(&b);
}

void tx_sighash(const struct tx *t, uint8_t out[HASH_LEN])
{
	hash_encoding(t, 0, "assay/tx", out);
}

void tx_id(const struct tx *t, uint8_t out[HASH_LEN])
{
	hash_encoding(t, 1, "assay/txid", out);
}

void tx_sign(struct tx *t, const uint8_t sk[SECKEY_LEN])
{
	uint8_t h[HASH_LEN];
	tx_sighash(t, h);
	sig_sign(sk, h, HASH_LEN, t->sig);
}

int tx_verify_sig(const struct tx *t)
{
	uint8_t h[HASH_LEN];
	tx_sighash(t, h);
	return sig_verify(t->sender, h, HASH_LEN, t->sig);
}

void tx_sender_addr(const struct tx *t, uint8_t addr[ADDR_LEN])
{
	address_from_pubkey(t->sender, addr);
}

void transfer_encode(const struct transfer_payload *tp, struct buf *b)
{
	buf_put(b, tp->to, ADDR_LEN);
	buf_put_u64(b, tp->amount);
}

int transfer_decode(struct transfer_payload *tp, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	rd_copy(&r, tp->to, ADDR_LEN);
	tp->amount = rd_u64(&r);
	return rd_finish(&r);
}

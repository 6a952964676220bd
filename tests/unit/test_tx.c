/* Unit tests for core/tx.c: every kind round-trips bit for bit; decoding
 * refuses truncation, trailing bytes, non-minimal lengths, unknown kinds,
 * payloads over the limit and oversized input; signing covers every field
 * but the signature; the transfer payload codec. */
#include <stdlib.h>

#include <sodium.h>

#include "core/error.h"
#include "core/tx.h"
#include "tests/unit/test.h"

#define PAYLOAD_MAX 1024

static uint8_t sk[SECKEY_LEN];

static void make_tx(struct tx *t, unsigned kind, size_t payload_len)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < HASH_LEN; i++)
		t->chain_id[i] = (uint8_t)(0xc0 + i);
	t->nonce = 0x0102030405060708ull + kind;
	memcpy(t->sender, sk + SEED_LEN, PUBKEY_LEN);
	t->fee = 1000 + kind;
	t->gas_limit = kind ? 50000 : 0;
	t->kind = (uint8_t)kind;
	uint8_t *p = malloc(payload_len + 1);
	for (size_t i = 0; i < payload_len; i++)
		p[i] = (uint8_t)(i * 13 + kind);
	CHECK(tx_set_payload(t, p, payload_len) == 0);
	free(p);
	tx_sign(t, sk);
}

static void test_round_trip_every_kind(void)
{
	for (unsigned kind = 0; kind < TX_KIND_COUNT; kind++) {
		static const size_t lens[] = {0, 1, 127, 128, PAYLOAD_MAX};
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			struct tx t, d;
			struct buf b, b2;
			make_tx(&t, kind, lens[li]);
			buf_init(&b);
			buf_init(&b2);
			tx_encode(&t, &b);
			CHECK_EQ_U64(tx_encoded_len(&t), b.len); /* 127 and 128: one and two length bytes */
			CHECK(tx_decode(&d, b.data, b.len, PAYLOAD_MAX) == 0);
			tx_encode(&d, &b2);
			CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
			CHECK(d.kind == kind && d.payload_len == lens[li] && d.nonce == t.nonce);
			CHECK(tx_verify_sig(&d) == 0);
			uint8_t id1[HASH_LEN], id2[HASH_LEN];
			tx_id(&t, id1);
			tx_id(&d, id2);
			CHECK_EQ_MEM(id1, id2, HASH_LEN);
			tx_free(&t);
			tx_free(&d);
			buf_free(&b);
			buf_free(&b2);
		}
	}
	/* Kind names round-trip. */
	for (int kind = 0; kind < TX_KIND_COUNT; kind++)
		CHECK(tx_kind_from_name(tx_kind_name((unsigned)kind)) == kind);
	CHECK(tx_kind_from_name("mint") == -1);
	CHECK(strcmp(tx_kind_name(TX_KIND_COUNT), "unknown") == 0);
}

static void test_rejects(void)
{
	struct tx t, d;
	struct buf b;
	make_tx(&t, TX_CALL, 200);
	buf_init(&b);
	tx_encode(&t, &b);
	/* Every proper prefix is refused. */
	int accepted = 0;
	for (size_t n = 0; n < b.len; n++) {
		int err = tx_decode(&d, b.data, n, PAYLOAD_MAX);
		accepted += err == 0;
		if (err == 0)
			tx_free(&d);
		else
			CHECK(d.payload == NULL); /* left empty on error */
	}
	CHECK(accepted == 0);
	/* A trailing byte. */
	uint8_t *longer = malloc(b.len + 1);
	memcpy(longer, b.data, b.len);
	longer[b.len] = 0;
	CHECK(tx_decode(&d, longer, b.len + 1, PAYLOAD_MAX) == ASSAY_EDECODE);
	free(longer);
	/* Payload over the limit: ELIMIT, exact limit fine. */
	CHECK(tx_decode(&d, b.data, b.len, 199) == ASSAY_ELIMIT);
	CHECK(tx_decode(&d, b.data, b.len, 200) == 0);
	tx_free(&d);
	/* Unknown kinds. */
	size_t kind_at = HASH_LEN + 8 + PUBKEY_LEN + 8 + 8;
	CHECK(b.data[kind_at] == TX_CALL);
	b.data[kind_at] = TX_KIND_COUNT;
	CHECK(tx_decode(&d, b.data, b.len, PAYLOAD_MAX) == ASSAY_EDECODE);
	b.data[kind_at] = 0xff;
	CHECK(tx_decode(&d, b.data, b.len, PAYLOAD_MAX) == ASSAY_EDECODE);
	b.data[kind_at] = TX_CALL;
	buf_free(&b);
	tx_free(&t);

	/* Non-minimal payload length: 5 written as 85 00. */
	make_tx(&t, TX_BLOB, 5);
	buf_init(&b);
	tx_encode(&t, &b);
	struct buf nm;
	buf_init(&nm);
	buf_put(&nm, b.data, kind_at + 1);
	buf_put_u8(&nm, 0x85);
	buf_put_u8(&nm, 0x00);
	buf_put(&nm, b.data + kind_at + 2, b.len - kind_at - 2);
	CHECK(nm.len == b.len + 1);
	CHECK(tx_decode(&d, nm.data, nm.len, PAYLOAD_MAX) == ASSAY_EDECODE);
	buf_free(&nm);
	buf_free(&b);
	tx_free(&t);

	/* Input over the hard ceiling is refused before it is read. */
	uint8_t *huge = calloc(1, TX_MAX_BYTES_HARD + 1);
	CHECK(tx_decode(&d, huge, TX_MAX_BYTES_HARD + 1, TX_MAX_BYTES_HARD) == ASSAY_ELIMIT);
	free(huge);
}

static void test_signing(void)
{
	struct tx t;
	make_tx(&t, TX_TRANSFER, 28);
	CHECK(tx_verify_sig(&t) == 0);
	uint8_t sh1[HASH_LEN], sh2[HASH_LEN], id1[HASH_LEN], id2[HASH_LEN];
	tx_sighash(&t, sh1);
	tx_id(&t, id1);
	CHECK(memcmp(sh1, id1, HASH_LEN) != 0);
	/* The sighash is H_tag("assay/tx", unsigned encoding). */
	struct buf b;
	buf_init(&b);
	tx_encode_unsigned(&t, &b);
	hash_tagged("assay/tx", b.data, b.len, sh2);
	CHECK_EQ_MEM(sh1, sh2, HASH_LEN);
	buf_free(&b);
	/* Changing the signature changes the id but not the sighash. */
	t.sig[0] ^= 1;
	tx_sighash(&t, sh2);
	tx_id(&t, id2);
	CHECK_EQ_MEM(sh1, sh2, HASH_LEN);
	CHECK(memcmp(id1, id2, HASH_LEN) != 0);
	CHECK(tx_verify_sig(&t) == ASSAY_ESIG);
	t.sig[0] ^= 1;
	/* Every signed field is covered. */
	struct tx c;
#define MUTATE(stmt)                                   \
	do {                                           \
		CHECK(tx_copy(&c, &t) == 0);           \
		stmt;                                  \
		CHECK(tx_verify_sig(&c) == ASSAY_ESIG); \
		tx_free(&c);                           \
	} while (0)
	MUTATE(c.chain_id[5] ^= 1);
	MUTATE(c.nonce++);
	MUTATE(c.fee++);
	MUTATE(c.gas_limit++);
	MUTATE(c.kind = TX_CALL);
	MUTATE(c.payload[27] ^= 1);
	MUTATE(c.payload_len--);
	MUTATE(c.sender[0] ^= 1);
#undef MUTATE
	/* tx_copy is deep. */
	CHECK(tx_copy(&c, &t) == 0);
	CHECK(c.payload != t.payload && memcmp(c.payload, t.payload, t.payload_len) == 0);
	tx_free(&c);
	/* Sender address. */
	uint8_t addr[ADDR_LEN], want[ADDR_LEN];
	tx_sender_addr(&t, addr);
	address_from_pubkey(t.sender, want);
	CHECK_EQ_MEM(addr, want, ADDR_LEN);
	tx_free(&t);
}

static void test_transfer_payload(void)
{
	struct transfer_payload tp = {.amount = 123456789012345ull}, back;
	for (int i = 0; i < ADDR_LEN; i++)
		tp.to[i] = (uint8_t)i;
	struct buf b;
	buf_init(&b);
	transfer_encode(&tp, &b);
	CHECK(b.len == ADDR_LEN + 8);
	CHECK(transfer_decode(&back, b.data, b.len) == 0);
	CHECK(back.amount == tp.amount && memcmp(back.to, tp.to, ADDR_LEN) == 0);
	CHECK(transfer_decode(&back, b.data, b.len - 1) == ASSAY_EDECODE);
	buf_put_u8(&b, 0);
	CHECK(transfer_decode(&back, b.data, b.len) == ASSAY_EDECODE);
	buf_free(&b);
}

static void expect_decode_error(const uint8_t *p, size_t n, const char *want)
{
	struct tx t;
	char err[200] = "";
	CHECK(tx_decode_err(&t, p, n, PAYLOAD_MAX, err, sizeof(err)) != 0);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "error \"%s\", want \"%s\"\n", err, want);
	CHECK(strcmp(err, want) == 0);
}

/* A refusal names the byte offset and the field: chain_id 0, nonce 32,
 * sender 40, fee 72, gas_limit 80, kind 88, payload length 89. */
static void test_decode_messages(void)
{
	struct tx t;
	struct buf b;
	make_tx(&t, 0, 10);
	buf_init(&b);
	tx_encode(&t, &b);
	buf_put_u8(&b, 0);
	char want[100];
	snprintf(want, sizeof(want), "malformed transaction: trailing bytes at offset %zu", b.len - 1);
	expect_decode_error(b.data, b.len, want);
	expect_decode_error(b.data, 75, "malformed transaction: truncated at offset 72 (fee)");
	b.data[88] = 0xee;
	expect_decode_error(b.data, b.len - 1, "malformed transaction: unknown transaction kind at offset 88 (kind)");
	b.data[88] = 0;
	b.data[89] = 0xff; /* payload length 0xff 0x00 (its first payload byte): not minimal */
	expect_decode_error(b.data, b.len - 1, "malformed transaction: non-minimal varint at offset 89 (payload)");
	struct tx ok;
	CHECK(tx_decode_err(&ok, b.data, 60, PAYLOAD_MAX, NULL, 0) == ASSAY_EDECODE); /* err may be NULL */
	buf_free(&b);
	tx_free(&t);
}

int main(void)
{
	uint8_t pk[PUBKEY_LEN];
	if (keys_init() < 0)
		return 99;
	key_generate(pk, sk);
	RUN(test_round_trip_every_kind);
	RUN(test_rejects);
	RUN(test_signing);
	RUN(test_transfer_payload);
	RUN(test_decode_messages);
	return test_report("test_tx");
}

/* Transactions (docs/protocol.md §3): the signed envelope common to every
 * kind, its canonical codec, signing hash and id, and the payload of the one
 * kind that core itself understands (transfer). Payloads of other kinds are
 * opaque bytes here; the layer that executes a kind owns its payload codec.
 * Not for: validation against state (node/chain.c). */
#ifndef ASSAY_CORE_TX_H
#define ASSAY_CORE_TX_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/keys.h"
#include "core/sha256.h"

enum tx_kind {
	TX_TRANSFER = 0,
	TX_DEPLOY = 1,
	TX_CALL = 2,
	TX_VALIDATOR_BOND = 3,
	TX_VALIDATOR_UNBOND = 4,
	TX_WORKER_REGISTER = 5,
	TX_WORKER_UNBOND = 6,
	TX_JOB_SUBMIT = 7,
	TX_JOB_COMMIT = 8,
	TX_JOB_REVEAL = 9,
	TX_JOB_DISPUTE = 10,
	TX_BLOB = 11,
	TX_EVIDENCE = 12,
	TX_VALIDATOR_UNJAIL = 13,
	TX_JOB_SALT = 14,
	TX_JOB_CHUNKS = 15, /* output chunks uploaded (docs/compute.md §15.4) */
	TX_KIND_COUNT
};

/* Hard ceiling on any encoded transaction, whatever the chain parameters
 * say: decoders refuse larger input before looking at it. */
#define TX_MAX_BYTES_HARD (4u << 20)

struct tx {
	uint8_t chain_id[HASH_LEN];  /* genesis hash: no replay across networks */
	uint64_t nonce;              /* sender's account nonce, from 0 */
	uint8_t sender[PUBKEY_LEN];  /* Ed25519 public key */
	uint64_t fee;                /* base units paid to the block proposer */
	uint64_t gas_limit;          /* for VM and compute checks; 0 for transfers */
	uint8_t kind;                /* enum tx_kind */
	uint8_t *payload;            /* malloc()ed; owned by the tx */
	size_t payload_len;
	uint8_t sig[SIG_LEN];        /* over tx_sighash() */
};

const char *tx_kind_name(unsigned kind);
/* -1 if unknown */
int tx_kind_from_name(const char *name);

void tx_free(struct tx *t);
/* Deep copy; 0 or ASSAY_ENOMEM. */
int tx_copy(struct tx *dst, const struct tx *src);
/* Sets the payload (copied). */
int tx_set_payload(struct tx *t, const void *p, size_t n);

void tx_encode(const struct tx *t, struct buf *b);
void tx_encode_unsigned(const struct tx *t, struct buf *b);
/* tx_encode's length, counted rather than encoded (the size fees are
 * weighed by: docs/protocol.md §9). */
size_t tx_encoded_len(const struct tx *t);
/* Decodes exactly one transaction occupying all of p[0..n). payload_max bounds
 * the payload (ASSAY_ELIMIT beyond). On error t is left empty. */
int tx_decode(struct tx *t, const uint8_t *p, size_t n, size_t payload_max);
/* The same, and on failure writes a message naming the byte offset and the
 * field, e.g. "malformed transaction: trailing bytes at offset 123" or
 * "malformed transaction: truncated at offset 80 (fee)" (err may be NULL). */
int tx_decode_err(struct tx *t, const uint8_t *p, size_t n, size_t payload_max, char *err, size_t errlen);
/* Reads one transaction from r (for block bodies); same rules. */
int tx_read(struct tx *t, struct reader *r, size_t payload_max);

/* H_tag("assay/tx", unsigned encoding): what the sender signs. */
void tx_sighash(const struct tx *t, uint8_t out[HASH_LEN]);
/* H_tag("assay/txid", full encoding): the transaction id. */
void tx_id(const struct tx *t, uint8_t out[HASH_LEN]);
void tx_sign(struct tx *t, const uint8_t sk[SECKEY_LEN]);
/* 0 if the signature verifies for t->sender. */
int tx_verify_sig(const struct tx *t);
/* Sender's address (first 20 bytes of SHA256(sender)). */
void tx_sender_addr(const struct tx *t, uint8_t addr[ADDR_LEN]);

/* Transfer payload: recipient address, amount. */
struct transfer_payload {
	uint8_t to[ADDR_LEN];
	uint64_t amount;
};
void transfer_encode(const struct transfer_payload *tp, struct buf *b);
int transfer_decode(struct transfer_payload *tp, const uint8_t *p, size_t n);

#endif

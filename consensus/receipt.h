/* Receipts: the outcome of one included transaction as every node records
 * it (docs/protocol.md §6.2), and their canonical encoding. Pure data and
 * codec. Not for: where receipts are stored (node/chain.c) or their JSON
 * form (node RPC). */
#ifndef ASSAY_CONSENSUS_RECEIPT_H
#define ASSAY_CONSENSUS_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/keys.h"
#include "core/sha256.h"

#define RECEIPT_ERROR_MAX 160  /* bytes of the error text, with its NUL */
#define RECEIPT_MAX_EVENTS 256 /* events kept per receipt; more are dropped */

struct receipt_event {
	uint8_t contract[ADDR_LEN]; /* emitter */
	uint8_t *data;              /* malloc()ed */
	size_t len;
};

/* The outcome of one included transaction. A failed one still paid its fee. */
struct receipt {
	uint8_t ok;
	char error[RECEIPT_ERROR_MAX];
	uint64_t gas_used;
	uint8_t created[HASH_LEN]; /* deploy: contract address (20 bytes); job_submit: job id */
	uint8_t created_len;       /* 0, 20 or 32 */
	size_t nevents;
	struct receipt_event *events;
};

/* Frees the events and zeroes r. */
void receipt_free(struct receipt *r);
/* receipt_free on each of r[0..n), then free(r); NULL is fine. */
void receipts_free(struct receipt *r, size_t n);
/* Appends the encoding; an allocation failure shows as b->oom. */
void receipt_encode(const struct receipt *r, struct buf *b);
/* 0, ASSAY_EDECODE / ASSAY_ELIMIT for bad bytes, or ASSAY_ENOMEM; r's events
 * are malloc()ed (receipt_free). On error r holds nothing to free. */
int receipt_decode(struct receipt *r, const uint8_t *p, size_t n);

#endif

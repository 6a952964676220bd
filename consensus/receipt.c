/* Receipt codec (see receipt.h; docs/protocol.md §6.2). A decoder of stored
 * bytes: every length is bounded before it allocates. Not for: storage. */
#include <stdlib.h>
#include <string.h>

#include "consensus/receipt.h"
#include "core/error.h"
#include "core/ledger.h"

void receipt_free(struct receipt *r)
{
	for (size_t i = 0; i < r->nevents; i++)
		free(r->events[i].data);
	free(r->events);
	memset(r, 0, sizeof(*r));
}

void receipts_free(struct receipt *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		receipt_free(&r[i]);
	free(r);
}

/* docs/protocol.md §6.2: u8 ok, bytes error, u64 gas_used, bytes created,
 * varint n, n × (20 contract, bytes data). */
void receipt_encode(const struct receipt *r, struct buf *b)
{
	buf_put_u8(b, r->ok);
	buf_put_bytes(b, r->error, strlen(r->error));
	buf_put_u64(b, r->gas_used);
	buf_put_bytes(b, r->created, r->created_len);
	buf_put_varint(b, r->nevents);
	for (size_t i = 0; i < r->nevents; i++) {
		buf_put(b, r->events[i].contract, ADDR_LEN);
		buf_put_bytes(b, r->events[i].data, r->events[i].len);
	}
}

int receipt_decode(struct receipt *r, const uint8_t *p, size_t n)
{
	struct reader rd;
	size_t len;
	int rc = 0;
	memset(r, 0, sizeof(*r));
	rd_init(&rd, p, n);
	r->ok = rd_u8(&rd);
	const uint8_t *e = rd_bytes(&rd, &len, RECEIPT_ERROR_MAX - 1);
	if (e)
		memcpy(r->error, e, len);
	r->gas_used = rd_u64(&rd);
	const uint8_t *cr = rd_bytes(&rd, &len, HASH_LEN);
	if (cr) {
		memcpy(r->created, cr, len);
		r->created_len = (uint8_t)len;
	}
	uint64_t nev = rd_count(&rd, RECEIPT_MAX_EVENTS);
	if (!rd.err && nev && !(r->events = calloc((size_t)nev, sizeof(*r->events))))
		rc = ASSAY_ENOMEM;
	for (size_t i = 0; i < nev && !rd.err && !rc; i++) {
		rd_copy(&rd, r->events[i].contract, ADDR_LEN);
		const uint8_t *d = rd_bytes(&rd, &len, LEDGER_VALUE_MAX);
		if (!d)
			break;
		r->events[i].data = malloc(len ? len : 1);
		if (!r->events[i].data) {
			rc = ASSAY_ENOMEM;
			break;
		}
		memcpy(r->events[i].data, d, len);
		r->events[i].len = len;
		r->nevents = i + 1;
	}
	if (!rc)
		rc = rd_finish(&rd);
	if (rc)
		receipt_free(r); /* also frees an events array none of whose entries were filled */
	return rc;
}

/* libFuzzer target for tx_decode (and the transfer payload codec): no input
 * may crash the decoder, a refusal carries a message, and whatever decodes
 * must re-encode to exactly the input bytes (docs/protocol.md §1: every
 * consensus object round-trips).
 * fuzz-sources: core/buf.c core/error.c core/sha256.c core/keys.c core/network.c core/bech32.c core/tx.c
 */
#include <stdlib.h>
#include <string.h>

#include "core/tx.h"

/* Payloads up to this size are accepted, so large ones are exercised too. */
#define FUZZ_TX_PAYLOAD_MAX (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tx t;
	char err[200] = "";
	int rc = tx_decode_err(&t, data, size, FUZZ_TX_PAYLOAD_MAX, err, sizeof(err));
	if (rc != 0 && strncmp(err, "malformed transaction: ", 23) != 0)
		abort(); /* a refusal always says what was wrong */
	if (rc == 0) {
		struct buf b;
		buf_init(&b);
		tx_encode(&t, &b);
		if (b.len != size || memcmp(b.data, data, size) != 0)
			abort(); /* decoded, but not canonical */
		uint8_t h[HASH_LEN];
		tx_sighash(&t, h);
		tx_id(&t, h);
		buf_free(&b);
		tx_free(&t);
	}
	struct transfer_payload tp;
	if (transfer_decode(&tp, data, size) == 0) {
		struct buf b;
		buf_init(&b);
		transfer_encode(&tp, &b);
		if (b.len != size || memcmp(b.data, data, size) != 0)
			abort();
		buf_free(&b);
	}
	return 0;
}

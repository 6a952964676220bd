/* libFuzzer target for bech32m_decode5, bech32m_decode and address_decode:
 * arbitrary text must never crash them, and whatever decodes must re-encode
 * to the input in lower case (upper-case input is valid bech32m).
 * fuzz-sources: core/buf.c core/error.c core/sha256.c core/keys.c core/network.c core/bech32.c
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/bech32.h"
#include "core/keys.h"

/* Longer inputs are all invalid (90-character limit); a little beyond it
 * still exercises the length checks. */
#define FUZZ_TEXT_MAX 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[FUZZ_TEXT_MAX + 1], lower[FUZZ_TEXT_MAX + 1], again[FUZZ_TEXT_MAX + 1];
	char hrp[FUZZ_TEXT_MAX + 1];
	uint8_t values[FUZZ_TEXT_MAX], bytes[FUZZ_TEXT_MAX];
	size_t n;
	if (size > FUZZ_TEXT_MAX || memchr(data, 0, size))
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	for (size_t i = 0; i <= size; i++)
		lower[i] = (char)tolower((unsigned char)text[i]);

	if (bech32m_decode5(text, hrp, sizeof(hrp), values, sizeof(values), &n) == 0) {
		if (bech32m_encode5(hrp, values, n, again, sizeof(again)) != 0 ||
		    strcmp(again, lower) != 0)
			abort();
	}
	if (bech32m_decode(text, hrp, sizeof(hrp), bytes, sizeof(bytes), &n) == 0) {
		if (bech32m_encode(hrp, bytes, n, again, sizeof(again)) != 0 ||
		    strcmp(again, lower) != 0)
			abort();
	}
	enum network net;
	uint8_t addr[ADDR_LEN];
	if (address_decode(text, &net, addr) == 0) {
		char out[ADDR_STR_MAX];
		address_encode(net, addr, out);
		if (strcmp(out, lower) != 0)
			abort();
	}
	return 0;
}

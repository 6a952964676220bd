// fuzz-sources: consensus/receipt.c core/buf.c core/error.c
/* libFuzzer target for receipt_decode (docs/protocol.md §6.2): no input may
 * crash it or leak, and what decodes re-encodes to bytes that decode to the
 * same receipt (an error text with a NUL in it shortens once, then stays).
 * Built with -DFUZZ_DRIVER, a main() feeds it mutations of a valid receipt
 * so that `make check` runs it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_receipt(const struct receipt *a, const struct receipt *b)
{
	if (a->ok != b->ok || strcmp(a->error, b->error) != 0 || a->gas_used != b->gas_used ||
	    a->created_len != b->created_len || memcmp(a->created, b->created, a->created_len) != 0 ||
	    a->nevents != b->nevents)
		return 0;
	for (size_t i = 0; i < a->nevents; i++)
		if (memcmp(a->events[i].contract, b->events[i].contract, ADDR_LEN) != 0 ||
		    a->events[i].len != b->events[i].len ||
		    memcmp(a->events[i].data, b->events[i].data, a->events[i].len) != 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receipt r, back;
	if (receipt_decode(&r, data, size) != 0)
		return 0;
	struct buf b;
	buf_init(&b);
	receipt_encode(&r, &b);
	if (b.oom || receipt_decode(&back, b.data, b.len) != 0 || !same_receipt(&r, &back))
		abort(); /* what decoded must survive its own encoding */
	receipt_free(&back);
	receipt_free(&r);
	buf_free(&b);
	return 0;
}

#ifdef FUZZ_DRIVER
#include "tests/fuzz/fuzz_mutate.h"

/* A valid receipt with two events, then random byte mutations of it. */
int main(void)
{
	uint8_t d1[] = {1, 2, 3}, d2[] = {9};
	struct receipt_event ev[2] = {{{0}, d1, sizeof(d1)}, {{7}, d2, sizeof(d2)}};
	struct receipt r = {.ok = 1, .gas_used = 4242, .created_len = ADDR_LEN, .nevents = 2, .events = ev};
	strcpy(r.error, "tile 3 is wrong: worker slashed");
	struct buf seed;
	buf_init(&seed);
	receipt_encode(&r, &seed);
	int rc = fuzz_mutate(&seed, 12345, 20000, "fuzz_receipt");
	buf_free(&seed);
	return rc;
}
#endif

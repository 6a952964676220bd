// fuzz-sources: consensus/*.c consensus/bft/*.c consensus/compute/*.c vm/*.c core/*.c
/* libFuzzer target for the validator record codec (docs/protocol.md §10.2):
 * no input may crash it, and what decodes re-encodes to exactly the bytes
 * it came from (a record has one encoding, or two nodes would hash two
 * state roots). Built with -DFUZZ_DRIVER, a main() feeds it mutations of a
 * valid record so that `make check` runs it too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/validators.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct validator_record r;
	if (validator_record_decode(&r, data, size) != 0)
		return 0;
	struct buf b;
	buf_init(&b);
	validator_record_encode(&r, &b);
	if (b.oom || b.len != size || memcmp(b.data, data, size) != 0)
		abort(); /* one encoding per record */
	buf_free(&b);
	return 0;
}

#ifdef FUZZ_DRIVER
#include "tests/fuzz/fuzz_mutate.h"

/* A record with two unbonding entries and a missed bitmap, then random
 * byte mutations of it. */
int main(void)
{
	struct validator_record r;
	memset(&r, 0, sizeof(r));
	r.bond = 1000000000000ull;
	r.jailed = 1;
	r.jailed_until = 77;
	r.nunbonding = 2;
	r.unbonding[0] = (struct validator_unbonding){5, 10};
	r.unbonding[1] = (struct validator_unbonding){6, 11};
	r.missed_bytes = 13;
	r.missed[3] = 0x81;
	struct buf seed;
	buf_init(&seed);
	validator_record_encode(&r, &seed);
	int rc = fuzz_mutate(&seed, 4242, 20000, "fuzz_validators");
	buf_free(&seed);
	return rc;
}
#endif

/* The FUZZ_DRIVER main()'s loop for the fuzz targets whose seed is one
 * valid encoding (fuzz_receipt.c, fuzz_validators.c): the seed itself, then
 * rounds of it cut or grown by up to two bytes with one to four bytes
 * changed, from a fixed srand seed so that `make check` runs the same
 * inputs each time (fuzz_mutate); and the loop of the targets fed several
 * text seeds (fuzz_mutate_text). */
#ifndef ASSAY_FUZZ_MUTATE_H
#define ASSAY_FUZZ_MUTATE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the mutations of seed and prints "NAME: ROUNDS mutations, no
 * crash". 0, or 1 when the seed did not encode or memory ran out. */
static inline int fuzz_mutate(const struct buf *seed, unsigned rand_seed, int rounds, const char *name)
{
	if (seed->oom)
		return 1;
	uint8_t *m = malloc(seed->len + 16);
	if (!m)
		return 1;
	srand(rand_seed);
	LLVMFuzzerTestOneInput(seed->data, seed->len);
	for (int round = 0; round < rounds; round++) {
		size_t n = seed->len - (size_t)(rand() % 3) + (size_t)(rand() % 3);
		memcpy(m, seed->data, seed->len);
		for (size_t i = seed->len; i < n; i++)
			m[i] = (uint8_t)rand();
		for (int k = rand() % 4; k >= 0; k--)
			m[(size_t)rand() % n] = (uint8_t)rand();
		LLVMFuzzerTestOneInput(m, n);
	}
	free(m);
	printf("%s: %d mutations, no crash\n", name, rounds);
	return 0;
}

/* The FUZZ_DRIVER main()'s loop for targets fed text bodies (fuzz_rpc_reply.c,
 * fuzz_rpc_json.c): each seed itself, then rounds-1 copies with one to four
 * edits (a random byte, a cut, or a byte of alphabet), from a fixed
 * xorshift64 state so that `make check` runs the same inputs each time.
 * Seeds must be shorter than FUZZ_TEXT_MAX. Prints "NAME: N runs, no crash". */
#define FUZZ_TEXT_MAX 4096

static inline void fuzz_mutate_text(const char *const *seeds, size_t nseeds, int rounds, const char *alphabet,
				    const char *name)
{
	static uint8_t in[FUZZ_TEXT_MAX];
	uint64_t rs = 88172645463325252ull;
	size_t na = strlen(alphabet);
	unsigned long runs = 0;
	for (size_t s = 0; s < nseeds; s++) {
		size_t n = strlen(seeds[s]);
		for (int round = 0; round < rounds; round++, runs++) {
			memcpy(in, seeds[s], n);
			size_t len = n;
			int edits = round ? 1 + (int)(rs % 4) : 0;
			for (int e = 0; e < edits; e++) {
				rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
				size_t at = (size_t)(rs >> 8) % len;
				switch (rs % 3) {
				case 0:
					in[at] = (uint8_t)(rs >> 32);
					break;
				case 1:
					len = at + 1;
					break; /* cut short */
				default:
					in[at] = (uint8_t)alphabet[(rs >> 40) % na];
					break;
				}
			}
			LLVMFuzzerTestOneInput(in, len);
		}
	}
	printf("%s: %lu runs, no crash\n", name, runs);
}

#endif

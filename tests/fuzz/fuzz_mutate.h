/* The FUZZ_DRIVER main()'s loop for the fuzz targets whose seed is one
 * valid encoding (fuzz_receipt.c, fuzz_validators.c): the seed itself, then
 * rounds of it cut or grown by up to two bytes with one to four bytes
 * changed, from a fixed srand seed so that `make check` runs the same
 * inputs each time. Not for: targets that mix several seeds. */
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

#endif

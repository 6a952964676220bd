/* The ChaCha keystream: the block function of RFC 8439 (constants, 256-bit
 * key, 32-bit block counter, 96-bit nonce, here all zero) with a chosen even
 * number of rounds, in portable C and on 8 (AVX2) or 16 (AVX-512) blocks at
 * once, chosen at run time; every path gives the same bytes. Compute jobs
 * expand their seeded inputs with it (docs/compute.md §2). Not for
 * encryption: there is no nonce to set and nothing is XORed. */
#ifndef ASSAY_CORE_CHACHA_H
#define ASSAY_CORE_CHACHA_H

#include <stddef.h>
#include <stdint.h>

#define CHACHA_KEY_LEN 32
#define CHACHA_BLOCK_LEN 64

enum chacha_level {
	CHACHA_PORTABLE = 0, /* one block at a time */
	CHACHA_AVX2 = 1,     /* 8 blocks per pass */
	CHACHA_AVX512 = 2,   /* 16 blocks per pass */
};

/* out[0..n) = the keystream of key from block `block` on (n need not be a
 * whole number of blocks; the last block is cut). rounds: even, 2..20
 * (20 is RFC 8439's ChaCha20). The counter must not pass 2^32 - 1: the
 * caller keeps block + n / 64 below 2^32. */
void chacha_keystream(const uint8_t key[CHACHA_KEY_LEN], unsigned rounds, uint32_t block, uint8_t *out,
		      size_t n);

/* The same on the fastest path at or below max_level (tests, benchmarks). */
void chacha_keystream_at(const uint8_t key[CHACHA_KEY_LEN], unsigned rounds, uint32_t block, uint8_t *out,
			 size_t n, int max_level);

/* The same bytes in another order: each whole unit of CHACHA_SLICE_UNIT
 * bytes (16 blocks, counted from `block`) word-sliced, word w of the unit's
 * block b at byte 4 (16 w + b) of the unit, as sixteen blocks side by side
 * in vector lanes leave them; a last part of under a unit in plain order.
 * A permutation within each unit, so a sum over bytes that puts every
 * operand in this order (a dot product of two rows of whole units) equals
 * the sum in plain order; it saves the AVX2 and AVX-512 paths their transposes. */
#define CHACHA_SLICE_UNIT (16 * CHACHA_BLOCK_LEN)
void chacha_keystream_sliced_at(const uint8_t key[CHACHA_KEY_LEN], unsigned rounds, uint32_t block,
				uint8_t *out, size_t n, int max_level);

/* out = plain in that order: each whole unit of plain's n bytes
 * word-sliced, the rest copied (out and plain do not overlap). */
void chacha_slice(const uint8_t *plain, uint8_t *out, size_t n);

/* The path chacha_keystream_at takes on this CPU for max_level. */
int chacha_level(int max_level);

#endif

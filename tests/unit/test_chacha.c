/* Unit tests for core/chacha.c: at 20 rounds the keystream is RFC 8439's
 * ChaCha20 (its all-zero test vector, and libsodium's independent ChaCha20
 * from any block on, every length up to 2100 bytes); every SIMD path gives
 * the portable path's bytes at 8, 12 and 20 rounds for every start block
 * and length, across the 8- and 16-block passes and their cut tails; and
 * the ChaCha8 stream the compute jobs use (docs/compute.md §2) has a fixed
 * regression hash. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/chacha.h"
#include "core/sha256.h"
#include "tests/unit/test.h"

static const int levels[] = {CHACHA_PORTABLE, CHACHA_AVX2, CHACHA_AVX512};

static void test_rfc8439_zero(void)
{
	/* RFC 8439 Appendix A.1, test vector #1: key, nonce and counter 0 */
	static const char *want = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
				  "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586";
	uint8_t key[CHACHA_KEY_LEN] = {0}, out[64];
	char hex[129];
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		chacha_keystream_at(key, 20, 0, out, sizeof(out), levels[l]);
		hex_encode(out, sizeof(out), hex);
		CHECK(strcmp(hex, want) == 0);
	}
}

/* libsodium's ChaCha20 (IETF: 32-bit counter, 96-bit nonce) from block ic. */
static void sodium_stream(const uint8_t key[CHACHA_KEY_LEN], uint32_t ic, uint8_t *out, size_t n)
{
	static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
	memset(out, 0, n);
	crypto_stream_chacha20_ietf_xor_ic(out, out, n, nonce, ic, key);
}

static void test_against_sodium(void)
{
	CHECK(sodium_init() >= 0);
	uint8_t key[CHACHA_KEY_LEN];
	for (int i = 0; i < CHACHA_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	const size_t max = 2100;
	uint8_t *want = malloc(max), *got = malloc(max);
	int same = 1;
	for (size_t n = 0; n <= max; n += (n < 140 ? 1 : 37)) {
		uint32_t ic = (uint32_t)(n * 2654435761u) % 100000;
		sodium_stream(key, ic, want, n);
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
			memset(got, 0xa5, max);
			chacha_keystream_at(key, 20, ic, got, n, levels[l]);
			same &= memcmp(got, want, n) == 0;
			same &= n == max || got[n] == 0xa5; /* nothing past n */
		}
	}
	CHECK(same);
	free(want);
	free(got);
}

static void test_paths_agree(void)
{
	uint8_t key[CHACHA_KEY_LEN];
	for (int i = 0; i < CHACHA_KEY_LEN; i++)
		key[i] = (uint8_t)(0xf0 ^ i);
	const size_t max = 40 * CHACHA_BLOCK_LEN + 17;
	uint8_t *ref = malloc(max), *got = malloc(max);
	static const unsigned rounds[] = {8, 12, 20};
	int same = 1;
	for (size_t r = 0; r < 3; r++)
		for (uint32_t block = 0; block < 40; block += 3)
			for (size_t n = 0; n <= max; n += 29) {
				chacha_keystream_at(key, rounds[r], block, ref, n, CHACHA_PORTABLE);
				for (size_t l = 1; l < sizeof(levels) / sizeof(levels[0]); l++) {
					chacha_keystream_at(key, rounds[r], block, got, n, levels[l]);
					same &= memcmp(got, ref, n) == 0;
				}
				/* a stream read in two parts is the stream */
				if (n >= 2 * CHACHA_BLOCK_LEN) {
					size_t first = (n / 2) & ~(size_t)(CHACHA_BLOCK_LEN - 1);
					chacha_keystream(key, rounds[r], block, got, first);
					chacha_keystream(key, rounds[r], block + (uint32_t)(first / CHACHA_BLOCK_LEN),
							 got + first, n - first);
					same &= memcmp(got, ref, n) == 0;
				}
			}
	CHECK(same);
	/* the path each cap gives is at most the cap */
	for (int cap = CHACHA_PORTABLE; cap <= CHACHA_AVX512; cap++)
		CHECK(chacha_level(cap) <= cap);
	free(ref);
	free(got);
}

/* The word-sliced stream at every level is the plain stream with each
 * whole 16-block unit permuted (word w of the unit's block b at 4 (16 w +
 * b)) and the rest plain: even and odd unit counts (the AVX-512 path takes
 * two at a time), tails, requests under a unit, any start block. */
static void test_sliced(void)
{
	uint8_t key[CHACHA_KEY_LEN];
	for (int i = 0; i < CHACHA_KEY_LEN; i++)
		key[i] = (uint8_t)(0x3c + 7 * i);
	const size_t max = 5 * CHACHA_SLICE_UNIT + 100;
	uint8_t *plain = malloc(max), *want = malloc(max), *got = malloc(max);
	static const size_t ns[] = {0, 63, 1023, 1024, 1025, 2048, 3072, 4096 + 64, 5 * 1024 + 100};
	int same = 1;
	for (uint32_t block = 0; block < 40; block += 13)
		for (size_t q = 0; q < sizeof(ns) / sizeof(ns[0]); q++) {
			size_t n = ns[q];
			chacha_keystream_at(key, 8, block, plain, n, CHACHA_PORTABLE);
			memcpy(want, plain, n);
			for (size_t u = 0; u + CHACHA_SLICE_UNIT <= n; u += CHACHA_SLICE_UNIT)
				for (int b = 0; b < 16; b++)
					for (int w = 0; w < 16; w++)
						memcpy(want + u + 4 * (16 * w + b), plain + u + 4 * (16 * b + w), 4);
			memset(got, 0xa5, max);
			chacha_slice(plain, got, n); /* the same order, from the plain stream */
			same &= memcmp(got, want, n) == 0 && (n == max || got[n] == 0xa5);
			for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
				memset(got, 0xa5, max);
				chacha_keystream_sliced_at(key, 8, block, got, n, levels[l]);
				same &= memcmp(got, want, n) == 0 && (n == max || got[n] == 0xa5);
			}
		}
	CHECK(same);
	free(plain);
	free(want);
	free(got);
}

/* ChaCha8, key 00 01 .. 1f, blocks 0..63: the regression hash that
 * docs/compute.md's input vectors rest on. */
static void test_chacha8_vector(void)
{
	uint8_t key[CHACHA_KEY_LEN], out[64 * CHACHA_BLOCK_LEN], h[HASH_LEN];
	char hex[2 * HASH_LEN + 1];
	for (int i = 0; i < CHACHA_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	chacha_keystream(key, 8, 0, out, sizeof(out));
	sha256(out, sizeof(out), h);
	hex_encode(h, HASH_LEN, hex);
	CHECK(strcmp(hex, "576441913b79b309d1576783edffcb3179dd0927e187aeb25c710bd7b348a20e") == 0);
}

int main(void)
{
	RUN(test_rfc8439_zero);
	RUN(test_against_sodium);
	RUN(test_paths_agree);
	RUN(test_sliced);
	RUN(test_chacha8_vector);
	return test_report("test_chacha");
}

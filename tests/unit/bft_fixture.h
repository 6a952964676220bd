/* Shared set-up for the tests of consensus/bft and of what feeds it (the
 * consensus write-ahead log): validator keys that sort as their index, and a
 * cheap deterministic stand-in for Ed25519. Not for: tests of real
 * signatures (test_keys.c). */
#ifndef ASSAY_TEST_BFT_FIXTURE_H
#define ASSAY_TEST_BFT_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "consensus/bft/bft.h"

/* Validator i's key: sorted the same way as i. */
static inline void test_key(uint32_t i, uint8_t pk[PUBKEY_LEN])
{
	memset(pk, 0, PUBKEY_LEN);
	pk[0] = (uint8_t)(i + 1);
	pk[1] = 0x5a;
}

/* sig = H(pubkey || sighash) || zeros: unforgeable enough for a simulation
 * whose faulty nodes only ever sign as themselves, and a thousand times
 * cheaper than Ed25519. */
static inline void fake_sign(const uint8_t pk[PUBKEY_LEN], const uint8_t h[HASH_LEN], uint8_t sig[SIG_LEN])
{
	memset(sig, 0, SIG_LEN);
	sha256_2(pk, PUBKEY_LEN, h, HASH_LEN, sig);
}

/* The bft verify callback for fake_sign's signatures. */
static inline int fake_verify(void *ctx, const uint8_t pk[PUBKEY_LEN], const uint8_t h[HASH_LEN],
			      const uint8_t sig[SIG_LEN])
{
	(void)ctx;
	uint8_t want[SIG_LEN];
	fake_sign(pk, h, want);
	return memcmp(want, sig, SIG_LEN) == 0 ? 0 : -1;
}

#endif

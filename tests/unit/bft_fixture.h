/* Shared set-up for the tests of consensus/bft and of what feeds it (the
 * consensus write-ahead log): validator keys that sort as their index, and a
 * cheap deterministic stand-in for Ed25519, and votes and proposals signed
 * with it. Not for: tests of real
 * signatures (test_keys.c). */
#ifndef ASSAY_TEST_BFT_FIXTURE_H
#define ASSAY_TEST_BFT_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "consensus/bft/bft.h"

/* Validator i's key: sorted the same way as i (up to a set of 1024). */
static inline void test_key(uint32_t i, uint8_t pk[PUBKEY_LEN])
{
	memset(pk, 0, PUBKEY_LEN);
	if (i < 255) {
		pk[0] = (uint8_t)(i + 1);
		pk[1] = 0x5a;
	} else { /* above key 254's (0xff 0x5a) */
		pk[0] = 0xff;
		pk[1] = 0x5b;
		pk[2] = (uint8_t)((i - 255) >> 8);
		pk[3] = (uint8_t)(i - 255);
	}
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

/* v signed by validator who on chain (its key set, then fake_sign over
 * the vote's sighash). */
static inline void test_sign_vote(const uint8_t chain[HASH_LEN], uint32_t who, struct bft_vote *v)
{
	uint8_t h[HASH_LEN];
	test_key(who, v->validator);
	bft_vote_sighash(chain, v, h);
	fake_sign(v->validator, h, v->sig);
}

/* The same for a proposal. */
static inline void test_sign_proposal(const uint8_t chain[HASH_LEN], uint32_t who, struct bft_proposal *p)
{
	uint8_t h[HASH_LEN];
	test_key(who, p->proposer);
	bft_proposal_sighash(chain, p, h);
	fake_sign(p->proposer, h, p->sig);
}

/* A signed vote of type for value (NULL: nil) at height and round. */
static inline struct bft_vote test_vote(const uint8_t chain[HASH_LEN], uint8_t type, uint64_t height,
					uint32_t round, const uint8_t *value, uint32_t who)
{
	struct bft_vote v;
	memset(&v, 0, sizeof(v));
	v.type = type;
	v.height = height;
	v.round = round;
	if (value) {
		v.has_value = 1;
		memcpy(v.value, value, HASH_LEN);
	}
	test_sign_vote(chain, who, &v);
	return v;
}

/* A signed proposal of value with proof-of-lock round pol (BFT_POL_NONE:
 * none). */
static inline struct bft_proposal test_proposal(const uint8_t chain[HASH_LEN], uint64_t height, uint32_t round,
						uint32_t pol, const uint8_t *value, uint32_t who)
{
	struct bft_proposal p;
	memset(&p, 0, sizeof(p));
	p.height = height;
	p.round = round;
	p.pol_round = pol;
	memcpy(p.value, value, HASH_LEN);
	test_sign_proposal(chain, who, &p);
	return p;
}

#endif

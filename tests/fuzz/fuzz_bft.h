/* Shared set-up for the fuzz targets that drive a BFT engine
 * (fuzz_bft_msg.c, fuzz_conswal.c): signatures that verify by their first
 * byte, so that mutations reach the rules without forging Ed25519, and a
 * 4-validator engine at height 1. Not for: the unit tests' keys
 * (tests/unit/bft_fixture.h). */
#ifndef ASSAY_FUZZ_BFT_H
#define ASSAY_FUZZ_BFT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/bft/bft.h"

/* Any signature whose first byte is 0x5a verifies. */
static inline int fuzz_bft_verify(void *ctx, const uint8_t pk[PUBKEY_LEN], const uint8_t h[HASH_LEN],
				  const uint8_t sig[SIG_LEN])
{
	(void)ctx;
	(void)pk;
	(void)h;
	return sig[0] == 0x5a ? 0 : -1;
}

static inline int fuzz_bft_sign_vote(void *ctx, const struct bft_vote *v, uint8_t sig[SIG_LEN])
{
	(void)ctx;
	(void)v;
	memset(sig, 0x5a, SIG_LEN);
	return 0;
}

static inline int fuzz_bft_sign_prop(void *ctx, const struct bft_proposal *p, uint8_t sig[SIG_LEN])
{
	(void)ctx;
	(void)p;
	memset(sig, 0x5a, SIG_LEN);
	return 0;
}

/* An engine at height 1 of chain over 4 validators whose keys are 1..4 in
 * their first byte, validator i with powers[i]; we are the one whose key
 * starts with self. vals is filled (the caller frees it after the engine).
 * Aborts when either cannot be made. */
static inline bft_engine_t *fuzz_bft_engine(const uint8_t chain[HASH_LEN], const uint64_t powers[4], uint8_t self,
					    struct bft_valset *vals)
{
	struct bft_validator v[4];
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 4; i++) {
		v[i].pubkey[0] = (uint8_t)(i + 1);
		v[i].power = powers[i];
	}
	if (bft_valset_init(vals, v, 4, NULL, 0))
		abort();
	struct bft_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.chain_id, chain, HASH_LEN);
	cfg.height = 1;
	bft_timeouts_local(&cfg.timeouts);
	cfg.is_validator = 1;
	cfg.self[0] = self;
	struct bft_ops ops = {NULL, fuzz_bft_sign_vote, fuzz_bft_sign_prop, fuzz_bft_verify};
	bft_engine_t *e = bft_create(&cfg, vals, &ops, NULL, 0);
	if (!e)
		abort();
	return e;
}

#endif

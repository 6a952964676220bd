/* ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381), built on libsodium's ed25519
 * group operations; gives the chain's unbiasable beacon (docs/protocol.md §4.4).
 * Keys are ordinary Ed25519 keys (keys.h layout). */
#ifndef ASSAY_CORE_VRF_H
#define ASSAY_CORE_VRF_H

#include <stddef.h>
#include <stdint.h>

#define VRF_PROOF_LEN 80
#define VRF_OUTPUT_LEN 64

/* 0 ok, ASSAY_EINVALID if the key is unusable. */
int vrf_prove(const uint8_t sk[64], const void *alpha, size_t n, uint8_t proof[VRF_PROOF_LEN]);
/* 0 if proof is valid for pk and alpha, writing beta; else ASSAY_ESIG. */
int vrf_verify(const uint8_t pk[32], const void *alpha, size_t n,
	       const uint8_t proof[VRF_PROOF_LEN], uint8_t beta[VRF_OUTPUT_LEN]);
/* beta from a proof without verifying (only for proofs already verified). */
int vrf_proof_to_hash(const uint8_t proof[VRF_PROOF_LEN], uint8_t beta[VRF_OUTPUT_LEN]);

#endif

/* ECVRF placeholder until the RFC 9381 implementation lands. */
#include "core/error.h"
#include "core/vrf.h"
int vrf_prove(const uint8_t sk[64], const void *alpha, size_t n, uint8_t proof[VRF_PROOF_LEN]) { return ASSAY_EINVALID; }
int vrf_verify(const uint8_t pk[32], const void *alpha, size_t n, const uint8_t proof[VRF_PROOF_LEN], uint8_t beta[VRF_OUTPUT_LEN]) { return ASSAY_ESIG; }
int vrf_proof_to_hash(const uint8_t proof[VRF_PROOF_LEN], uint8_t beta[VRF_OUTPUT_LEN]) { return ASSAY_ESIG; }

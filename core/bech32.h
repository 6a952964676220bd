/* Bech32m (BIP-350) encoding of arbitrary byte strings under a human-readable
 * part. Used for addresses; knows nothing of what the bytes mean. */
#ifndef ASSAY_CORE_BECH32_H
#define ASSAY_CORE_BECH32_H

#include <stddef.h>
#include <stdint.h>

/* Encodes data (8-bit bytes, regrouped to 5 bits) as hrp1...; out must hold
 * strlen(hrp) + 1 + ceil(n*8/5) + 6 + 1 bytes. 0 ok, ASSAY_EARG if too long. */
int bech32m_encode(const char *hrp, const uint8_t *data, size_t n, char *out, size_t outcap);
/* Decodes bech32m text (all lower or all upper case, <= 90 chars), writing the
 * lower-case hrp (hrpcap bytes) and the 8-bit data (at most datacap bytes).
 * 0 ok, ASSAY_EDECODE on any error, including a bech32 (not -m) checksum and
 * non-zero padding bits. */
int bech32m_decode(const char *text, char *hrp, size_t hrpcap, uint8_t *data, size_t datacap,
		   size_t *n);
/* Lower-level: 5-bit values in and out, for the BIP-350 test vectors. */
int bech32m_encode5(const char *hrp, const uint8_t *values, size_t n, char *out, size_t outcap);
int bech32m_decode5(const char *text, char *hrp, size_t hrpcap, uint8_t *values, size_t cap,
		    size_t *n);

#endif
